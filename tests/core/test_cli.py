"""The ``workbench`` command: stdout, stderr and exit code, as users see them.

Run in this process (the ``cli`` fixture: ``workbench.cli.main`` with file descriptors 1 and 2
captured) except where the process is the point: TensorFlow's start-up noise, a reader that goes
away. ``run`` (a process of its own) and ``assert_one_line_error`` serve the other CLI test files.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "resources" / "templates"


def run(*args, cwd=None):
    """``python -m workbench ARGS`` in a process of its own, as a user runs it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=300)


def assert_one_line_error(proc, *words):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_summary_json_contract():
    proc = run("summary", TEMPLATES / "mnist-cnn.json", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["total_params"] == 121_930
    assert out["layers"][3] == {"class_name": "Conv2D", "output_shape": [26, 26, 32],
                                "params": 320}
    assert proc.stderr == ""  # no TensorFlow start-up noise


def test_summary_text_and_invalid_model(cli, tmp_path):
    proc = cli("summary", TEMPLATES / "mnist-mlp.json")
    assert proc.returncode == 0 and "Total params: 101,770" in proc.stdout
    bad = {"format": "workbench/1", "model": {"input_shape": [784], "layers": [
        {"class_name": "Dense", "config": {"units": 8}},
        {"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3}}]}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    proc = cli("summary", path, "--json")
    assert proc.returncode == 2
    out = json.loads(proc.stdout)
    assert out["error_index"] == 1 and out["layers"][0]["params"] == 6280
    assert_one_line_error(proc, "layer 2 (Conv2D)", "needs an image")


@pytest.mark.parametrize("content, words", [
    ('{"format": "workbench/1", "model": {"input_sh', "not valid JSON"),
    ("\x00\x01garbage", "not valid JSON"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "layers": '
     '[{"class_name": "Magic", "config": {}}]}}', "unknown layer type 'Magic'"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "layers": '
     '[{"class_name": "Dense", "config": {"units": -5}}]}}', "units must be at least 1"),
    ('{"format": "workbench/1", "model": {"input_shape": [3, 3, 1], "layers": '
     '[{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [5, 5]}}]}}',
     "larger than its input"),
    ('{"format": "workbench/1", "model": {"input_shape": [4, 4], "layers": '
     '[{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3}}]}}',
     "needs an image"),
    ('{"format": "workbench/9", "model": {}}', "newer Workbench"),
    ('[1, 2, 3]', "not a Workbench project"),
])
def test_bad_projects_give_one_readable_line(cli, tmp_path, content, words):
    path = tmp_path / "p.json"
    path.write_text(content)
    for command in (["summary", path], ["train", path, "--epochs", "1"]):
        assert_one_line_error(cli(*command), words)


def test_missing_files(cli, tmp_path):
    assert_one_line_error(cli("summary", tmp_path / "nope.json"), "no such file")
    assert_one_line_error(cli("evaluate", tmp_path / "nope.keras", "--dataset",
                              "mnist-embedded"), "no such file")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a model")
    assert_one_line_error(cli("evaluate", corrupt, "--dataset", "mnist-embedded"), "corrupt.keras")
    assert_one_line_error(cli("train", TEMPLATES / "mnist-mlp.json", "--dataset",
                              tmp_path / "none.npz"), "none.npz")


def test_dataset_of_the_wrong_shape(cli, tmp_path):
    np.savez(tmp_path / "wide.npz", x_train=np.random.rand(40, 5).astype("float32"),
             y_train=np.arange(40) % 2)
    proc = cli("train", TEMPLATES / "mnist-cnn.json", "--dataset", tmp_path / "wide.npz")
    assert_one_line_error(proc, "(5,)", "(28, 28)")


def test_train_evaluate_predict_export(cli, tiny, tmp_path):
    out = tmp_path / "out"
    proc = cli("train", tiny / "mlp.json", "--json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [ln["event"] for ln in lines] == ["epoch_end", "epoch_end", "done"]
    assert lines[0]["epoch"] == 0 and {"loss", "accuracy", "val_loss"} <= set(lines[0]["logs"])
    done = lines[-1]
    model = Path(done["model"])
    assert model.exists() and model.suffix == ".keras"
    assert done["test_accuracy"] > 0.5
    saved = json.loads(Path(done["project"]).read_text())
    assert saved["runs"][-1]["epochs"] == 2 and len(saved["runs"][-1]["history"]["loss"]) == 2

    proc = cli("evaluate", model, "--dataset", tiny / "digits.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) == {"loss", "accuracy", "confusion_matrix"}
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 100
    assert report["accuracy"] == pytest.approx(np.trace(cm) / 100)

    from PIL import Image

    with np.load(ROOT / "resources" / "datasets" / "mnist-10k.npz") as data:
        seven = data["x"][data["y"] == 7][5]
    Image.fromarray(255 - seven).resize((200, 200)).save(tmp_path / "seven.png")  # dark on light
    Image.fromarray(np.zeros((50, 50), np.uint8) + 255).save(tmp_path / "blank.png")
    proc = cli("predict", model, tmp_path / "seven.png", tmp_path / "seven.png", "--json")
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert len(answers) == 2 and len(answers[0]["probabilities"]) == 10
    assert sum(answers[0]["probabilities"]) == pytest.approx(1, abs=1e-3)
    assert answers[0]["predicted"] == int(np.argmax(answers[0]["probabilities"]))
    assert_one_line_error(cli("predict", model, tmp_path / "blank.png"), "blank")
    assert_one_line_error(cli("predict", model, tmp_path / "missing.png"), "missing.png")

    # The trained weights lie beside the written project, where export looks for them.
    assert model == Path(done["project"]).with_suffix(".keras")
    proc = cli("export", done["project"], "--keras", tmp_path / "exported.keras", "--json")
    assert proc.returncode == 0, proc.stderr
    checked = json.loads(proc.stdout)
    assert {"path", "bytes", "max_abs_diff", "agreement", "latency_ms"} <= set(checked)
    assert checked["bytes"] == (tmp_path / "exported.keras").stat().st_size
    assert checked["max_abs_diff"] < 1e-6 and checked["agreement"] == 1.0
    proc = cli("export", model, "--python", tmp_path / "from_model.py", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["max_abs_diff"] < 1e-5
    assert_one_line_error(cli("export", tiny / "mlp.json", "--keras", tmp_path / "x.keras"),
                          "no trained weights", "train it first")

    script = tmp_path / "train_model.py"
    proc = cli("export", tiny / "mlp.json", "--python", script)
    assert proc.returncode == 0, proc.stderr
    compile(script.read_text(), str(script), "exec")
    assert "keras.layers.Dense(units=128, activation='relu')" in script.read_text()


def test_evaluate_matches_keras_on_a_functional_two_branch_model(cli, tiny, tmp_path):
    from workbench.core.datasets import load_dataset
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    keras.utils.set_random_seed(1)
    inputs = keras.Input((28, 28), name="image")
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(32, activation="relu")(flat)
    conv = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Reshape((28, 28, 1))(inputs))
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    merged = keras.layers.Concatenate()([dense, pooled])
    outputs = keras.layers.Dense(10, activation="softmax")(merged)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    data = load_dataset(str(tiny / "digits.npz"))
    model.fit(data.x_train, data.y_train, epochs=2, verbose=0)
    path = tmp_path / "functional.keras"
    model.save(path)
    expected = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)

    proc = cli("evaluate", path, "--dataset", tiny / "digits.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert report["loss"] == pytest.approx(expected["loss"], rel=1e-4)


def test_dataset_json_contract(cli, tiny):
    proc = cli("dataset", tiny / "digits.npz", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert set(info) == {"name", "task", "input_shape", "classes", "train_counts",
                         "test_counts"}
    assert info["task"] == "classification" and info["input_shape"] == [28, 28]
    assert len(info["classes"]) == len(info["train_counts"]) == 10
    assert sum(info["train_counts"]) == 400 and sum(info["test_counts"]) == 100
    proc = cli("dataset", "mnist-embedded")
    assert proc.returncode == 0 and "8,000 training and 2,000 test samples" in proc.stdout
    assert_one_line_error(cli("dataset", tiny / "missing.npz"), "missing.npz")


def test_a_reader_that_goes_away_is_not_an_error():
    """`workbench dataset mnist-embedded | head -1`: the pipe closes before the output is out."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: every write fails with a broken pipe
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "workbench", "dataset", "mnist-embedded"],
                          stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                          timeout=300)
    os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == ""
