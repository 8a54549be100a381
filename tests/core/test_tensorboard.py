"""TensorBoard event files (#28): written by the train action, read back with TensorBoard's own
event reader and compared with the run record; `workbench tensorboard` serves them."""

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from workbench.actions.train import train
from workbench.core.datasets import load_dataset
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.tensorboard import run_folder
from workbench.core.training import TrainingListener

pytest.importorskip("tensorboard", reason="the round trip reads the events with tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

L = LayerSpec.create
ROOT = Path(__file__).resolve().parents[2]


def _read(folder: Path) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def _scalars(events: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, float(np.frombuffer(e.tensor_proto.tensor_content, np.float32)[0])
             if e.tensor_proto.tensor_content else float(e.tensor_proto.float_val[0]))
            for e in events.Tensors(tag)]


class Recorder(TrainingListener):
    wants_weights = False

    def __init__(self):
        self.epochs, self.batches = [], 0

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(epoch)

    def on_batch_end(self, epoch, batch, logs):
        self.batches += 1


@pytest.fixture(scope="module")
def board_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tb")
    digits = load_dataset("mnist-embedded").subset(200, 60)
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=8, activation="relu", name="hid"),
                                L("Dense", units=10, activation="softmax", name="out")])
    config = TrainConfig(epochs=2, batch_size=50, validation_split=0.2)
    inner = Recorder()
    run = train(spec, config, digits, "mnist-embedded", inner, run_id=4,
                tensorboard_dir=folder, tensorboard_batches=True)
    return folder, run, inner


def test_scalars_per_epoch_match_the_run_record(board_run):
    folder, run, inner = board_run
    record = run.outcome.record
    assert inner.epochs == [0, 1]  # the run's own listener still hears every event
    train_events = _read(run_folder(folder, 4) / "train")
    validation = _read(run_folder(folder, 4) / "validation")
    for key, values in record.history.items():
        events, name = (validation, key[4:]) if key.startswith("val_") else (train_events, key)
        got = _scalars(events, f"epoch_{name}")
        assert [s for s, _ in got] == list(range(len(values)))
        np.testing.assert_allclose([v for _, v in got], values, rtol=1e-6)
    # Per batch when asked: one point for each batch the listener heard.
    batch_steps = [s for s, _ in _scalars(train_events, "batch_loss")]
    # 160 training samples in batches of 50: 4 an epoch
    assert batch_steps == list(range(inner.batches)) and inner.batches == 2 * 4
    # The test scores beside the hyperparameters.
    top = _read(run_folder(folder, 4))
    for key, value in record.test.items():
        assert _scalars(top, f"test_{key}") == [(1, pytest.approx(value, rel=1e-6))]


def test_weight_histograms_per_epoch(board_run):
    folder, run, _ = board_run
    events = _read(run_folder(folder, 4) / "train")
    tags = set(events.Tags()["tensors"])
    assert {"hid/kernel", "hid/bias", "out/kernel", "out/bias"} <= tags
    kernels = events.Tensors("out/kernel")
    assert [e.step for e in kernels] == [0, 1]
    # The last histogram is of the final weights: its counts add up to the kernel's size.
    buckets = np.frombuffer(kernels[-1].tensor_proto.tensor_content, np.float64).reshape(-1, 3)
    final = run.outcome.weights[2]
    assert buckets[:, 2].sum() == final.size
    assert buckets[0, 0] == pytest.approx(final.min()) and buckets[-1, 1] == pytest.approx(
        final.max())


def test_hyperparameters_and_graph(board_run):
    folder, run, _ = board_run
    top = _read(run_folder(folder, 4))
    content = top.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    hparams = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind"))
               for k, v in info.hparams.items()}
    training = run.outcome.record.training
    assert hparams["optimizer"] == training["optimizer"]["class_name"]
    assert hparams["learning_rate"] == pytest.approx(
        training["optimizer"]["config"]["learning_rate"])
    assert hparams["batch_size"] == 50 and hparams["epochs"] == 2
    assert hparams["dataset"] == "mnist-embedded" and hparams["params"] == 784 * 8 + 8 + 8 * 10 + 10
    graph = _read(run_folder(folder, 4) / "train").Graph()
    names = " ".join(node.name for node in graph.node)
    assert "MatMul" in " ".join(node.op for node in graph.node) and "hid" in names


def test_train_without_the_package_says_what_to_install(tmp_path, monkeypatch, capsys):
    from workbench import cli

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard: ImportError
    project = ROOT / "resources" / "templates" / "mnist-mlp.json"
    code = cli.main(["train", str(project), "--out", str(tmp_path), "--tensorboard",
                     str(tmp_path / "tb")])
    err = capsys.readouterr().err
    assert code != 0 and "pip install" in err and "tensorboard" in err
    assert err.count("\n") == 1 and not (tmp_path / "tb").exists()


def test_tensorboard_command_serves_the_event_files(board_run, tmp_path):
    folder, _, _ = board_run
    project = tmp_path / "p.json"
    project.write_text((ROOT / "resources" / "templates" / "mnist-mlp.json").read_text())
    missing = subprocess.run([sys.executable, "-m", "workbench", "tensorboard", str(project)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert missing.returncode != 0 and "p.tensorboard" in missing.stderr
    assert missing.stderr.count("\n") == 1
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "tensorboard", str(project),
                             "--logdir", str(folder), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://\S+/", line).group(0)
        for _ in range(50):
            runs = urllib.request.urlopen(url + "data/runs", timeout=10).read().decode()
            if "run-4" in runs:
                break
            time.sleep(0.2)
        assert "run-4/train" in runs and "run-4/validation" in runs
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "I0000" not in proc.stderr.read()  # no TensorFlow log lines on the terminal


def test_the_projects_option_round_trips(tmp_path):
    from workbench.core.project import Project, ProjectError, load_project, save_project
    from workbench.core.tensorboard import event_folder

    project = Project(ModelSpec((4,), [L("Dense", units=2)]))
    save_project(project, tmp_path / "p.json")
    assert "tensorboard" not in (tmp_path / "p.json").read_text()  # off: not written
    project.tensorboard = True
    save_project(project, tmp_path / "p.json")
    assert load_project(tmp_path / "p.json").tensorboard is True
    assert event_folder(tmp_path / "p.json") == tmp_path / "p.tensorboard"
    (tmp_path / "bad.json").write_text('{"format": "workbench/1", "model": {"input_shape": [4], '
                                       '"layers": []}, "tensorboard": "yes"}')
    with pytest.raises(ProjectError, match="tensorboard must be true or false"):
        load_project(tmp_path / "bad.json")


@pytest.mark.slow
def test_train_command_writes_the_runs_event_files(tmp_path, capsys):
    from workbench import cli

    project = ROOT / "resources" / "templates" / "mnist-mlp.json"
    code = cli.main(["train", str(project), "--epochs", "1", "--out", str(tmp_path / "out"),
                     "--tensorboard", str(tmp_path / "tb"), "--json"])
    assert code == 0, capsys.readouterr().err
    epochs = _scalars(_read(tmp_path / "tb" / "run-1" / "validation"), "epoch_accuracy")
    done = [line for line in capsys.readouterr().out.splitlines() if '"epoch_end"' in line]
    import json

    logs = json.loads(done[0])["logs"]
    assert epochs == [(0, pytest.approx(logs["val_accuracy"], rel=1e-6))]


def test_tensorboard_command_without_the_package_says_what_to_add(tmp_path, monkeypatch,
                                                                   capsys):
    from workbench import cli

    project = tmp_path / "p.json"
    project.write_text((ROOT / "resources" / "templates" / "mnist-mlp.json").read_text())
    (tmp_path / "p.tensorboard").mkdir()
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    assert cli.main(["tensorboard", str(project)]) != 0
    err = capsys.readouterr().err
    assert "TensorBoard is not installed: pip install tensorboard" in err
    assert err.count("\n") == 1
