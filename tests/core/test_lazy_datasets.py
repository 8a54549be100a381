"""Big folders and .npz files read lazily (``lazy.Samples``): the same samples, labels and splits
as the eager load, training streamed through tf.data to the same weights, and a damaged image
met mid-training stopping the run with one line that names the file."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from workbench.actions.evaluate import evaluate
from workbench.actions.train import train
from workbench.core.datasets import DatasetError, load_dataset
from workbench.core.datasets.splits import is_lazy
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.training import prepare_data

L = LayerSpec.create


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """36 images in 3 classes, two sizes (the lazy load resizes as the eager one does)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(36):
        cls = root / f"class{i % 3}"
        cls.mkdir(exist_ok=True)
        shape = (12, 10) if i != 7 else (14, 9)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(cls / f"{i:02}.png")
    return root


def spec(shape, classes=3):
    return ModelSpec(shape, [L("Flatten"), L("Dense", units=8, activation="relu"),
                             L("Dense", units=classes, activation="softmax")])


def assert_same(eager, lazy):
    assert not is_lazy(eager.x_train) and is_lazy(lazy.x_train) and is_lazy(lazy.x_test)
    assert lazy.input_shape == eager.input_shape and lazy.class_names == eager.class_names
    for split in ("train", "test"):
        np.testing.assert_array_equal(getattr(lazy, f"y_{split}"), getattr(eager, f"y_{split}"))
        np.testing.assert_array_equal(np.asarray(getattr(lazy, f"x_{split}")),
                                      getattr(eager, f"x_{split}"))
    np.testing.assert_array_equal(lazy.x_train[[4, 1]], eager.x_train[[4, 1]])
    np.testing.assert_array_equal(lazy.x_train[-1], eager.x_train[-1])
    np.testing.assert_array_equal(lazy.x_test[2:5], eager.x_test[2:5])
    small, big = eager.subset(9, 3), lazy.subset(9, 3)
    assert is_lazy(big.x_train)
    np.testing.assert_array_equal(np.asarray(big.x_train), small.x_train)
    config = TrainConfig(validation_split=0.25, seed=4)
    a, b = prepare_data(eager, (120,), config), prepare_data(lazy, (120,), config)
    assert is_lazy(b.x_train) and b.x_train.shape == a.x_train.shape
    np.testing.assert_array_equal(np.asarray(b.x_val), a.x_val)
    np.testing.assert_array_equal(b.y_train, a.y_train)


def test_a_lazy_folder_gives_the_samples_labels_and_splits_of_the_eager_load(folder):
    eager = load_dataset(folder, seed=2, lazy=False)
    lazy = load_dataset(folder, seed=2, lazy=True)
    assert "resized" in lazy.notice and "read as used" in lazy.description
    assert_same(eager, lazy)
    assert lazy.x_train.source.cached.all()  # decoded once, then read from memory


def test_a_lazy_folder_too_big_to_keep_decodes_every_time(folder, monkeypatch):
    from workbench.core.datasets import folders

    monkeypatch.setattr(folders, "CACHE_BYTES", 0)
    lazy = load_dataset(folder, seed=2, lazy=True)
    assert lazy.x_train.source.cache is None
    eager = load_dataset(folder, seed=2)
    np.testing.assert_array_equal(lazy.x_train[[1, 2]], eager.x_train[[1, 2]])


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_a_lazy_npz_gives_the_samples_labels_and_splits_of_the_eager_load(tmp_path, save):
    rng = np.random.default_rng(1)
    save(tmp_path / "d.npz", x_train=rng.integers(0, 256, (40, 12, 10), dtype=np.uint8),
         y_train=np.arange(40) % 3)
    eager = load_dataset(tmp_path / "d.npz", seed=3, lazy=False)
    lazy = load_dataset(tmp_path / "d.npz", seed=3, lazy=True)
    assert isinstance(lazy.x_train.source.array, np.memmap) == (save is np.savez)
    assert_same(eager, lazy)


def test_small_files_stay_eager_and_big_ones_lazy_by_default(folder, tmp_path, monkeypatch):
    from workbench.core.datasets import files, folders

    assert not is_lazy(load_dataset(folder).x_train)
    monkeypatch.setattr(folders, "LAZY_IMAGES", 30)
    assert is_lazy(load_dataset(folder).x_train)
    np.savez(tmp_path / "d.npz", x_train=np.zeros((40, 8), np.uint8), y_train=np.arange(40) % 2)
    assert not is_lazy(load_dataset(tmp_path / "d.npz").x_train)
    monkeypatch.setattr(files, "LAZY_NPZ_BYTES", 40 * 8 * 4 - 1)
    assert is_lazy(load_dataset(tmp_path / "d.npz").x_train)


def test_training_streams_a_lazy_folder_to_the_weights_of_the_eager_run(folder):
    config = TrainConfig(epochs=1, batch_size=8, validation_split=0.25, metrics=[],
                         shuffle=False)
    eager = load_dataset(folder, lazy=False)
    lazy = load_dataset(folder, lazy=True)
    a = train(spec((12, 10)), config, eager, "eager")
    b = train(spec((12, 10)), config, lazy, "lazy")
    assert b.outcome.result.status == "completed"
    assert b.outcome.record.history == a.outcome.record.history
    assert b.outcome.test == pytest.approx(a.outcome.test)
    for mine, theirs in zip(b.outcome.weights, a.outcome.weights, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)
    assert evaluate(b.model, lazy).accuracy == evaluate(b.model, eager).accuracy
    shuffled = train(spec((120,)), TrainConfig(epochs=1, batch_size=8, metrics=[]), lazy, "l")
    assert shuffled.outcome.result.status == "completed" and shuffled.outcome.test


def test_a_damaged_image_met_mid_training_stops_the_run_naming_the_file(folder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    data = load_dataset(copy, lazy=True)
    victim = data.x_train.source.paths[int(data.x_train.rows[20])]
    with open(victim, "r+b") as stream:  # a PNG cut off in its pixels
        stream.truncate(60)
    with pytest.raises(DatasetError, match=re.escape(victim)):
        data.x_train[20]
    run = train(spec((12, 10)), TrainConfig(epochs=1, batch_size=8, metrics=[]), data, "d")
    message = run.outcome.result.message
    assert run.outcome.result.status == "failed"
    assert message.startswith(f"Training stopped: {victim}: ")
    assert "\n" not in message and "Traceback" not in message


_SLOW_DAMAGED_STREAM = """
import time
import numpy as np
from workbench.core.build import build_model, compile_model
from workbench.core.datasets.dataset import DatasetError
from workbench.core.datasets.lazy import Samples
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.training import TrainingData, run_training

class Source:  # 3,000 samples decoded in 2 ms a batch; row 1,234 cannot be read
    path, count, sample_shape = "slow", 3000, (4, 4)
    def read(self, rows):
        time.sleep(0.002)
        if (rows == 1234).any():
            raise DatasetError("slow/1234.png: damaged image.")
        return np.zeros((len(rows), 4, 4), np.float32)

spec = ModelSpec((4, 4), [LayerSpec.create("Flatten"), LayerSpec.create("Dense", units=2)])
config = TrainConfig(epochs=1, batch_size=32, metrics=[], validation_split=0, shuffle=False,
                     loss="sparse_categorical_crossentropy")
model = build_model(spec)
compile_model(model, config)
result = run_training(model, TrainingData(Samples(Source()), np.zeros(3000, np.int64)), config)
print(result.status, result.message)
"""


def test_a_damaged_image_among_many_in_flight_never_hangs_the_run():
    """An error raised inside tf.data's map left its iterator waiting forever for the batches
    still being decoded (the run, or the process at exit, hung): in a child, with a timeout."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _SLOW_DAMAGED_STREAM], capture_output=True,
                          text=True, timeout=240, env=dict(os.environ, PYTHONPATH=str(root)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == (
        "failed Training stopped: slow/1234.png: damaged image.")
