"""Training data fed without copies (core.feed): the split shares the array, TensorFlow shares its
memory, and every row reaches the model once per epoch with its own label."""

import numpy as np
import pytest

from workbench.core.datasets.builtin import scale_images
from workbench.core.feed import ALIGN, Rows, aligned_empty, keras_batches, shared_tensor
from workbench.core.spec import TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.core.training import run_training, split_validation


@pytest.fixture(scope="module")
def tf():
    return load_tensorflow()[0]


def _numbered(n: int) -> np.ndarray:
    """Row i holds the value i everywhere: a batch tells which rows it gathered."""
    x = aligned_empty((n, 3, 2), np.float32)
    x[...] = np.arange(n, dtype=np.float32)[:, None, None]
    return x


def test_scaled_images_are_aligned_and_unchanged():
    pixels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    scaled = scale_images(pixels)
    assert scaled.ctypes.data % ALIGN == 0 and scaled.flags.c_contiguous
    np.testing.assert_array_equal(scaled, pixels.astype(np.float32) / np.float32(255))
    assert scale_images(np.ones((2, 3))).dtype == np.float32


def test_the_validation_split_shares_the_array():
    x, y = _numbered(50), np.arange(50)
    data = split_validation(x, y, 0.2, seed=4)
    assert isinstance(data.x_train, Rows) and data.x_train.array is x
    assert len(data.x_train) + len(data.x_val) == 50 and data.x_train.shape == (40, 3, 2)
    # rows and labels still pair up, and reading a row gives that row's values
    np.testing.assert_array_equal(np.asarray(data.x_val)[:, 0, 0], data.y_val)
    assert data.x_train[3][0, 0] == data.y_train[3]


def test_tensorflow_reads_the_arrays_own_memory(tf):
    x = _numbered(8)
    tensor = shared_tensor(tf, x)
    x[5] = 99.0  # written after: the tensor sees it, so nothing was copied
    assert float(tensor[5, 0, 0]) == 99.0
    unaligned = np.empty(8 * 6 + 1, np.float32)[1:].reshape(8, 3, 2)  # 4 bytes off the boundary
    unaligned[...] = 1.0
    copied = shared_tensor(tf, unaligned)  # TensorFlow cannot share it: a copy, still right
    unaligned[...] = 2.0
    assert float(copied[0, 0, 0]) == 1.0


def test_each_epoch_gives_every_row_once_with_its_label(tf):
    x, y = _numbered(37), np.arange(37) * 10
    rows = Rows(x, np.arange(3, 37))  # 34 rows, as a split leaves them
    stream = keras_batches(tf, rows, y[3:], 8, shuffle=True, seed=1)
    epochs = []
    for _ in range(2):
        seen, labels = [], []
        for inputs, targets in stream:
            assert inputs.shape[1:] == (3, 2)
            seen += list(inputs.numpy()[:, 0, 0].astype(int))
            labels += list(targets.numpy())
        assert sorted(seen) == list(range(3, 37))
        assert labels == [10 * s for s in seen]
        epochs.append(seen)
    assert epochs[0] != epochs[1]  # a new order every epoch
    again = [int(v) for inputs, _ in keras_batches(tf, rows, y[3:], 8, shuffle=True, seed=1)
             for v in inputs.numpy()[:, 0, 0]]
    assert again == epochs[0]  # seeded: the same run again gives the same order
    plain = [int(v) for inputs, _ in keras_batches(tf, x, y, 8) for v in inputs.numpy()[:, 0, 0]]
    assert plain == list(range(37))


def test_training_on_a_read_only_unaligned_array_still_works(tf):
    keras = load_tensorflow()[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    x.setflags(write=False)  # a shipped, read-only array: copied once, as Keras would
    y = (x[:, 0] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    config = TrainConfig(epochs=2, batch_size=16, validation_split=0.25, seed=1)
    model.compile(optimizer="adam", loss=config.loss, metrics=["accuracy"])
    result = run_training(model, split_validation(x, y, 0.25, 1), config)
    assert result.status == "completed" and result.epochs_completed == 2
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
