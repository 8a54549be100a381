"""``train --strategy mirrored``: TensorFlow's MirroredStrategy over logical CPU devices. Once as a
user runs it (a process of its own: logical devices exist only in a process that made them before
TensorFlow's first op); the rest in this process, whose TensorFlow the tests' set-up started with
the CPU split in two as the window does."""

import json

import numpy as np

from tests.core.test_cli import assert_one_line_error, run


def train_json(project, out, *more):
    proc = run("train", project, "--json", "--out", out, "--epochs", "2", *more)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["event"] for line in lines] == ["epoch_end", "epoch_end", "done"]
    return lines[-1]


def test_mirrored_on_two_devices_trains_like_one(tiny, tmp_path):
    two = train_json(tiny / "mlp.json", tmp_path / "two", "--strategy", "mirrored",
                     "--devices", "2")
    assert two["replicas"] == 2 and two["status"] == "completed"
    # The same run on one device, here (this process has no strategy).
    from workbench.actions.train import train
    from workbench.cli import _load_dataset
    from workbench.core.project import load_project

    project = load_project(tiny / "mlp.json")
    project.training.epochs = 2
    one = train(project.model, project.training, _load_dataset(project.dataset, 0), "d").outcome
    assert "replicas" not in one.record.to_dict()
    # The same global batch split over two replicas: the same model within noise.
    assert two["test_accuracy"] > 0.5
    assert abs(two["test_accuracy"] - one.test["accuracy"]) < 0.15
    saved = json.loads(open(two["project"]).read())
    assert saved["runs"][-1]["replicas"] == 2
    # What it saved is a plain model that loads and runs without any strategy.
    import keras

    model = keras.saving.load_model(two["model"])
    assert model.predict(np.zeros((1, 28, 28), np.float32), verbose=0).shape == (1, 10)


def test_strategy_arguments_are_checked_in_one_line(cli, tiny, tmp_path):
    assert_one_line_error(cli("train", tiny / "mlp.json", "--devices", "2"),
                          "--devices needs --strategy mirrored")
    assert_one_line_error(cli("train", tiny / "mlp.json", "--strategy", "mirrored",
                              "--devices", "0"), "at least 1")


def test_mirrored_test_scores_with_a_last_batch_that_does_not_split(cli, tiny, tmp_path):
    # 65 test samples: one batch of 65 over two replicas. Keras's mirrored evaluate failed on it
    # and the run ended without test scores; they come from a plain copy of the weights now.
    rng = np.random.default_rng(0)
    data = tmp_path / "odd.npz"
    np.savez(data, x_train=rng.random((120, 28, 28), dtype=np.float32),
             y_train=rng.integers(0, 10, 120), x_test=rng.random((65, 28, 28), dtype=np.float32),
             y_test=rng.integers(0, 10, 65))
    proc = cli("train", tiny / "mlp.json", "--json", "--out", tmp_path / "out", "--epochs", "1",
               "--dataset", data, "--strategy", "mirrored", "--devices", "2")
    assert proc.returncode == 0, proc.stderr
    done = json.loads(proc.stdout.splitlines()[-1])
    assert done["replicas"] == 2 and 0 <= done["test_accuracy"] <= 1 and done["test_loss"] > 0
