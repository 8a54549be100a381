"""Project files: round trips, atomic saves, migration, refusals, fuzzing; autosave and checkpoints;
CSV and script export; headless training giving the GUI's first-epoch loss."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.core import project as project_module
from workbench.core.export import history_csv, history_table
from workbench.core.project import (
    FORMAT,
    MIGRATIONS,
    Project,
    ProjectError,
    load_project,
    save_project,
    weights_path,
    write_atomic,
)
from workbench.core.recovery import (
    CheckpointWriter,
    RecoverySession,
    find_recoveries,
    read_checkpoint,
    recovery_root,
)
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.templates import load_template, templates

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def tiny_dataset(path: Path, n_train: int = 192, n_test: int = 48) -> Path:
    """Three classes of 8×8 "images" told apart by their brightness: learnable in one epoch."""
    rng = np.random.default_rng(7)
    def make(n):
        y = rng.integers(0, 3, size=n)
        x = (rng.random((n, 8, 8)) * 0.3 + y[:, None, None] * 0.3).astype("float32")
        return x, y.astype("int64")
    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def tiny_project(dataset: Path) -> Project:
    model = ModelSpec((8, 8), [
        LayerSpec.create("Flatten"),
        LayerSpec.create("Dense", units=16, activation="relu"),
        LayerSpec.create("Dense", units=3, activation="softmax"),
    ])
    training = TrainConfig(epochs=1, batch_size=16, validation_split=0.25, seed=3)
    return Project(model, training, str(dataset), name="tiny")


def sample_run() -> dict:
    return {"id": 1, "status": "completed", "epochs": 2, "dataset": "mnist-embedded",
            "history": {"loss": [0.9, 0.5], "accuracy": [0.7, 0.85],
                        "val_loss": [0.8, 0.6], "val_accuracy": [0.75, 0.8]}}


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [t.key for t in templates()])
def test_every_template_survives_save_and_open(tmp_path, key):
    project = load_template(key)
    project.runs.append(sample_run())
    path = tmp_path / f"{key}.json"
    save_project(project, path)
    again = load_project(path)
    assert again.model == project.model
    assert again.training == project.training
    assert again.dataset == project.dataset
    assert again.runs == project.runs
    assert again.name == project.name
    assert again.migrated_from is None
    assert json.loads(path.read_text())["format"] == FORMAT


def test_name_defaults_to_the_file_name(tmp_path):
    project = load_template("mnist-mlp")
    project.name = ""
    save_project(project, tmp_path / "digits.json")
    assert load_project(tmp_path / "digits.json").name == "digits"
    assert weights_path(tmp_path / "digits.json") == tmp_path / "digits.keras"


# --- atomic writes ----------------------------------------------------------------------------


def test_a_crash_between_write_and_replace_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    old = load_template("mnist-mlp")
    save_project(old, path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError(5, "Input/output error (simulated crash)")

    monkeypatch.setattr(project_module.os, "replace", crash)
    new = load_template("mnist-cnn")
    with pytest.raises(ProjectError, match="cannot be written"):
        save_project(new, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]  # no temporary file left behind


def test_a_killed_process_never_leaves_half_a_file(tmp_path):
    """A real process killed (SIGKILL) after writing the temporary file but before replacing."""
    path = tmp_path / "p.json"
    write_atomic(path, json.dumps(load_template("mnist-mlp").to_dict()))
    before = path.read_bytes()
    code = f"""
import os, signal
from workbench.core import project
def die(src, dst):
    os.kill(os.getpid(), signal.SIGKILL)
project.os.replace = die
project.write_atomic({str(path)!r}, "{{" * 100000)
"""
    proc = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True)
    assert proc.returncode == -9
    assert path.read_bytes() == before
    assert load_project(path).model == load_template("mnist-mlp").model


# --- migration and refusals -------------------------------------------------------------------


def format0(project: Project) -> dict:
    """The same project as the first prototype wrote it (see project.py's docstring)."""
    current = project.to_dict()
    training = dict(current["training"])
    training["optimizer"] = project.training.optimizer
    training["lr"] = project.training.learning_rate
    return {
        "format": "workbench",
        "spec": {"input_shape": current["model"]["input_shape"],
                 "layers": [{"type": layer["class_name"], "params": layer["config"]}
                            for layer in current["model"]["layers"]]},
        "settings": training,
        "dataset": current["dataset"],
        "history": current["runs"],
        "name": project.name,
    }


@pytest.mark.parametrize("fmt", ["workbench", "workbench/0"])
def test_format_0_is_migrated(tmp_path, fmt):
    project = load_template("mnist-cnn")
    project.training.learning_rate = 0.01
    project.runs.append(sample_run())
    old = format0(project)
    old["format"] = fmt
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    loaded = load_project(path)
    assert loaded.migrated_from == 0
    assert loaded.model == project.model
    assert loaded.training == project.training
    assert loaded.runs == project.runs
    # Saving writes the current format, which loads without migration.
    save_project(loaded, path)
    assert json.loads(path.read_text())["format"] == FORMAT
    assert load_project(path).migrated_from is None
    assert set(MIGRATIONS) == set(range(project_module.FORMAT_VERSION))


@pytest.mark.parametrize("text, reason", [
    ('{"format": "workbench/2", "model": {}}', "newer Workbench"),
    ('{"format": "workbench/999", "model": {"input_shape": [1]}}', "newer Workbench"),
    ('{"format": "workbench/x", "model": {}}', "unknown project format"),
    ('{"format": "workbench/-1", "model": {}}', "unknown project format"),
    ('{"format": "keras", "model": {}}', "not a Workbench project"),
    ('{"model": {"input_shape": [4], "layers": []}}', "not a Workbench project"),
    ('{"format": "workbench/1"}', "no model"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "layers": [{"class_name": '
     '"Lambda", "config": {}}]}}', "unknown layer type 'Lambda'"),
    ('{"format": "workbench/1", "model": {"input_shape": [4]}, "training": {"epochs": '
     'Infinity}}', "epochs"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "lay', "not valid JSON"),
    ("[1, 2, 3]", "expected a JSON object"),
    ("", "not valid JSON"),
])
def test_bad_files_say_why(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ProjectError, match=re.escape(reason)) as info:
        load_project(path)
    assert str(path) in str(info.value)


def test_binary_and_missing_files(tmp_path):
    binary = tmp_path / "weights.json"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ProjectError, match="not a text file"):
        load_project(binary)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.json")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


# --- fuzzing ----------------------------------------------------------------------------------

_WORDS = ["class_name", "config", "module", "format", "model", "layers", "input_shape", "training",
          "optimizer", "learning_rate", "epochs", "seed", "early_stopping", "patience", "metrics",
          "kernel_regularizer", "kernel_initializer", "units", "l2", "spec", "type", "params",
          "settings", "history", "runs", "lr"]
_VALUES = ["relu", "Dense", "Conv2D", "LSTM", "L2", "L1L2", "Adam", "SGD", "keras.initializers",
           "keras.regularizers", "workbench", "workbench/0", "workbench/1", "workbench/2",
           "val_loss", -1, 0, 1, 28, 0.5, {"class_name": "L2", "config": {"l2": 0.1}},
           {"module": "keras.initializers", "class_name": "HeNormal", "config": {}}]
json_leaf = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
             | st.text(max_size=8) | st.sampled_from(_VALUES))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(_WORDS), inner, max_size=4),
    max_leaves=12,
)
_BASES = [load_template(key).to_dict() for key in ("mnist-mlp", "mnist-cnn", "lstm-rows")]
_BASES.append(format0(load_template("deep-mlp")))


def _paths(obj, prefix=()):
    yield prefix
    items = obj.items() if isinstance(obj, dict) else ()
    if isinstance(obj, list):
        items = enumerate(obj)
    for key, value in items:
        yield from _paths(value, prefix + (key,))


@st.composite
def mutated_projects(draw):
    """A valid project with one to three values somewhere inside replaced by random JSON."""
    data = json.loads(json.dumps(draw(st.sampled_from(_BASES))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(data))))
        value = json.loads(json.dumps(draw(json_value)))
        if not path:
            return value
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return data


def _loads_or_refuses(data) -> None:
    try:
        project = Project.from_dict(data)
    except ProjectError as exc:
        assert str(exc)
        return
    # What loads must also save and load back the same.
    assert Project.from_dict(json.loads(json.dumps(project.to_dict()))).model == project.model


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_projects() | json_value)
@example({"format": "workbench/1", "model": {"input_shape": [4], "layers": [
    {"class_name": "Dense", "config": {"kernel_regularizer": {"class_name": "L2",
                                                              "config": [1]}}}]}})
@example({"format": "workbench/1", "model": {"input_shape": [4], "layers": [
    {"class_name": "Dense", "config": {"kernel_initializer": {"module": None,
                                                              "class_name": "X"}}}]}})
@example({"format": "workbench/1", "model": {"input_shape": [4]},
          "training": {"optimizer": {"class_name": "Adam", "config": [0.1]}}})
@example({"format": "workbench/1", "model": {"input_shape": [4]}, "training": {"epochs": math.nan}})
@example({"format": "workbench/1", "model": {"input_shape": [4]}, "training": {"seed": math.inf}})
@example({"format": "workbench", "spec": {"input_shape": [4], "layers": [{"type": 3}]}})
@example({"format": "workbench/0", "spec": None, "settings": []})
def test_fuzzed_projects_load_or_raise_project_error(data):
    _loads_or_refuses(data)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200) | json_value.map(lambda v: json.dumps(v).encode()))
def test_fuzzed_files_load_or_raise_project_error(tmp_path_factory, content):
    """Any bytes: a project that saves and loads back the same, or one line naming the file;
    never another exception, and the file is left as it was."""
    path = tmp_path_factory.mktemp("fuzz") / "p.json"
    path.write_bytes(content)
    try:
        project = load_project(path)
    except ProjectError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and len(message) > len(f"{path}: ")
        assert "\n" not in message and "Traceback" not in message
    else:
        saved = json.dumps(project.to_dict(), sort_keys=True)
        assert json.dumps(Project.from_dict(json.loads(saved)).to_dict(), sort_keys=True) == saved
    assert path.read_bytes() == content


# --- CSV export -------------------------------------------------------------------------------


def test_history_csv_has_a_row_per_run_and_epoch():
    second = {"id": 2, "history": {"loss": [0.4], "mae": [0.1]}}
    header, rows = history_table([sample_run(), second])
    assert header == ["run", "epoch", "loss", "accuracy", "mae", "val_loss", "val_accuracy"]
    assert rows == [
        [1, 1, 0.9, 0.7, "", 0.8, 0.75],
        [1, 2, 0.5, 0.85, "", 0.6, 0.8],
        [2, 1, 0.4, "", 0.1, "", ""],
    ]
    text = history_csv([sample_run()])
    assert text.splitlines()[0] == "run,epoch,loss,accuracy,val_loss,val_accuracy"
    assert text.splitlines()[2] == "1,2,0.5,0.85,0.6,0.8"
    assert history_csv([]) == "run,epoch\n"


# --- autosave, recovery and checkpoints (core) ------------------------------------------------


def test_recovery_after_a_crash_but_not_after_a_clean_close(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_DATA_DIR", raising=False)
    project = load_template("mnist-mlp")
    project.runs.append(sample_run())

    clean = RecoverySession(tmp_path)
    clean.write_autosave(project, tmp_path / "a.json")
    crashed = RecoverySession(tmp_path)
    crashed.write_autosave(project, tmp_path / "b.json")
    weights = [np.arange(6, dtype="float32").reshape(2, 3), np.ones(3, "float32")]
    crashed.checkpoints.submit(0, weights, project.model.to_dict(), {"val_loss": 0.5})
    crashed.checkpoints.submit(1, [w * 2 for w in weights], project.model.to_dict(),
                               {"val_loss": 0.7})
    assert crashed.checkpoints.flush()

    # While both apps run, neither is offered to a third one.
    assert find_recoveries(tmp_path) == []
    clean.close()
    crashed.abandon()  # what a crash leaves: files, no lock
    found = find_recoveries(tmp_path)
    assert len(found) == 1
    recovery = found[0]
    assert recovery.origin == tmp_path / "b.json"
    restored = recovery.project()
    assert restored.model == project.model and restored.runs == project.runs
    last, best = recovery.checkpoint("last"), recovery.checkpoint("best")
    assert last.epoch == 1 and best.epoch == 0  # val_loss rose in epoch 2
    np.testing.assert_array_equal(last.weights[0], weights[0] * 2)
    np.testing.assert_array_equal(best.weights[0], weights[0])
    assert best.spec == project.model.to_dict()
    assert "epoch 2" in recovery.describe()
    recovery.discard()
    assert find_recoveries(tmp_path) == []
    assert list(recovery_root(tmp_path).iterdir()) == []


def test_data_dir_env_overrides_the_base(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "env"))
    assert recovery_root("/somewhere/else") == tmp_path / "env" / "recovery"


def test_clear_removes_autosave_and_checkpoints(tmp_path):
    session = RecoverySession(tmp_path)
    session.write_autosave(load_template("mnist-mlp"), None)
    session.checkpoints.submit(0, [np.zeros(2)], None, {"loss": 1.0})
    session.checkpoints.flush()
    assert {p.name for p in session.folder.iterdir()} >= {"autosave.json", "last.npz", "best.npz"}
    session.clear()
    assert {p.name for p in session.folder.iterdir()} == {"lock"}
    session.close()
    assert not session.folder.exists()


def test_best_checkpoint_prefers_validation_metrics(tmp_path):
    writer = CheckpointWriter(tmp_path)
    for epoch, logs in enumerate([{"loss": 1.0, "val_accuracy": 0.5},
                                  {"loss": 0.5, "val_accuracy": 0.9},
                                  {"loss": 0.1, "val_accuracy": 0.7}]):
        writer.submit(epoch, [np.full(2, epoch, "float32")], None, logs)
        writer.flush()
    assert read_checkpoint(tmp_path / "best.npz").epoch == 1
    assert read_checkpoint(tmp_path / "last.npz").epoch == 2
    writer.begin_run()
    writer.submit(0, [np.zeros(2)], None, {"val_accuracy": 0.1})
    writer.close()
    assert read_checkpoint(tmp_path / "best.npz").epoch == 0  # a new run ranks its own epochs
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "last.npz").write_bytes(b"PK\x03\x04 truncated")
    assert read_checkpoint(tmp_path / "last.npz") is None


def test_a_failing_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    from workbench.core import recovery

    writer = CheckpointWriter(tmp_path)
    writer.submit(0, [np.zeros(3)], None, {"loss": 1.0})
    writer.flush()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recovery.os, "replace", crash)
    writer.submit(1, [np.ones(3)], None, {"loss": 0.5})
    writer.flush()
    writer.close()
    assert writer.errors and "No space left" in writer.errors[0]
    assert read_checkpoint(tmp_path / "last.npz").epoch == 0


# --- Keras: the exported script, and the CLI against the GUI's path --------------------------


@pytest.fixture(scope="module")
def keras():
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow()[1]


def test_exported_script_builds_the_same_model_and_trains(tmp_path, keras):
    from workbench.core.codegen import generate_script
    from workbench.core.inspect import inspect_model

    project = tiny_project(tiny_dataset(tmp_path / "tiny.npz"))
    project.model.layers.insert(2, LayerSpec.create("Dropout", rate=0.1))
    project.model.layers[1].config["kernel_regularizer"] = {"class_name": "L2",
                                                            "config": {"l2": 0.001}}
    script = tmp_path / "train_tiny.py"
    write_atomic(script, generate_script(project))
    proc = subprocess.run([PYTHON, str(script), "--epochs", "1"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r"^Total params: (\d+)$", proc.stdout, re.MULTILINE)
    assert match, proc.stdout[-2000:]
    expected = inspect_model(project.model).total_params
    assert expected == 8 * 8 * 16 + 16 + 16 * 3 + 3
    assert int(match.group(1)) == expected
    assert "Test:" in proc.stdout


def test_headless_training_matches_the_gui_path(tmp_path, keras):
    """The same saved project trained via core (as the GUI worker does) and via `workbench train`
    gives the same first-epoch loss."""
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.datasets import load_dataset
    from workbench.core.inspect import inspect_model
    from workbench.core.training import prepare_data, run_training

    project = tiny_project(tiny_dataset(tmp_path / "tiny.npz"))
    path = tmp_path / "tiny.json"
    save_project(project, path)

    def core_loss() -> float:
        loaded = load_project(path)
        config = loaded.training
        dataset = load_dataset(loaded.dataset, seed=config.seed or 0)
        set_seed(config.seed)
        model = build_model(loaded.model)
        compile_model(model, config)
        report = inspect_model(loaded.model)
        data = prepare_data(dataset, loaded.model.input_shape, config, report.output_shape)
        result = run_training(model, data, config)
        assert result.status == "completed", result.message
        return result.history["loss"][0]

    first, second = core_loss(), core_loss()
    assert first == pytest.approx(second, rel=1e-6)  # seeded: reproducible

    out = tmp_path / "out"
    proc = subprocess.run(
        [PYTHON, "-m", "workbench", "train", str(path), "--epochs", "1", "--json",
         "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    epoch = next(e for e in events if e["event"] == "epoch_end")
    assert epoch["epoch"] == 0
    assert epoch["logs"]["loss"] == pytest.approx(first, rel=1e-4, abs=1e-5)
    done = events[-1]
    assert done["event"] == "done"
    trained = load_project(done["project"])
    assert trained.model == project.model and len(trained.runs) == 1
    assert Path(done["model"]).is_file()


def test_exported_script_trains_on_the_apps_data_to_the_apps_numbers(tmp_path, keras):
    """Same split of the embedded digits, same validation rows, same seed: after one epoch the
    script's test loss and accuracy are the ones the Workbench's own run reaches."""
    from workbench.core.build import build_seeded_model, compile_model
    from workbench.core.codegen import generate_script
    from workbench.core.datasets import load_dataset
    from workbench.core.training import prepare_data, run_training

    project = Project(
        model=ModelSpec((28, 28), [LayerSpec.create("Flatten"),
                                   LayerSpec.create("Dense", units=32, activation="relu"),
                                   LayerSpec.create("Dropout", rate=0.2),
                                   LayerSpec.create("Dense", units=10, activation="softmax")]),
        training=TrainConfig(epochs=1, batch_size=128, validation_split=0.1, seed=5),
        dataset="mnist-embedded",
    )
    config = project.training
    dataset = load_dataset(project.dataset, seed=config.seed)
    model = build_seeded_model(project.model, config.seed)
    compile_model(model, config)
    data = prepare_data(dataset, project.model.input_shape, config, model.output_shape[1:])
    assert run_training(model, data, config).status == "completed"
    ours = model.evaluate(dataset.x_test, dataset.y_test, verbose=0, return_dict=True)

    script = tmp_path / "exported.py"
    write_atomic(script, generate_script(project))
    proc = subprocess.run([PYTHON, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Test:"))
    theirs = {k: float(v) for k, v in re.findall(r"'(\w+)': (?:np\.float\d+\()?([\d.e-]+)", line)}
    assert theirs["accuracy"] == pytest.approx(ours["accuracy"], abs=1e-3)
    assert theirs["loss"] == pytest.approx(ours["loss"], rel=1e-3)
