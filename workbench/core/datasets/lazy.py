"""Samples read when they are used: a big image folder or ``.npz`` stays on disk (or as its raw
uint8 array) and only the rows asked for are decoded; training streams them through tf.data.

``Samples`` looks like a read-only float32 array to its readers (``len``, ``shape``, ``x[i]``,
``x[rows]``, ``x[a:b]`` give numpy arrays of just those samples), so the Data tab's grid, the
galleries and the exports' check samples read a few rows without knowing. Bulk readers ask
``is_lazy`` and stream instead: training and evaluation (``keras_stream``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from workbench.core.datasets.dataset import DatasetError
from workbench.core.datasets.splits import is_lazy, take  # noqa: F401 - read from here too
from workbench.core.safe_io import FileRefused, check_fits_memory
from workbench.i18n import _

READ_CHUNK = 4096  # rows decoded at a time when everything is asked for


class ArraySource:
    """Rows of a numpy array (often a memory map of an uncompressed ``.npz`` member), scaled to
    float32 as the eager loader scales them (uint8 pixels to [0, 1])."""

    def __init__(self, array: np.ndarray, path):
        self.array, self.path = array, Path(path)
        self.count = len(array)
        self.sample_shape = tuple(int(d) for d in array.shape[1:]) or (1,)

    def read(self, rows: np.ndarray) -> np.ndarray:
        from workbench.core.datasets.builtin import scale_images

        order = np.argsort(rows, kind="stable")  # a memory map reads its pages in file order
        out = np.empty((len(rows), *self.sample_shape), np.float32)
        out[order] = scale_images(np.asarray(self.array[rows[order]])).reshape(
            (len(rows), *self.sample_shape))
        return out


class Samples:
    """A read-only, array-like view of some rows of a source; see the module docstring."""

    lazy = True
    dtype = np.dtype(np.float32)

    def __init__(self, source, rows=None, sample_shape=None):
        self.source = source
        self.rows = (np.arange(source.count, dtype=np.int64) if rows is None
                     else np.asarray(rows, dtype=np.int64).reshape(-1))
        self.sample_shape = tuple(sample_shape or source.sample_shape)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def path(self) -> Path:
        return self.source.path

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self._read(self.rows[[key]])[0]
        rows = self.rows[key]
        if np.ndim(rows) == 0:
            return self._read(np.asarray([rows]))[0]
        return self._read(np.asarray(rows).reshape(-1))

    def take(self, index) -> Samples:
        """The rows ``index`` picks, still lazy (a split of a split)."""
        return Samples(self.source, self.rows[index], self.sample_shape)

    def reshaped(self, sample_shape) -> Samples:
        """The same rows with each sample in another layout of the same values (784 ↔ 28×28)."""
        shape = tuple(int(d) for d in sample_shape)
        if math.prod(shape) != math.prod(self.sample_shape):
            raise ValueError(_("cannot reshape samples of {sample_shape} to {shape}").format(
                                 sample_shape=self.sample_shape, shape=shape))
        return Samples(self.source, self.rows, shape)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        return self.source.read(rows).reshape((len(rows), *self.sample_shape))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Every sample decoded (for a reader that needs them all at once), if they fit."""
        needed = 4 * len(self) * math.prod(self.sample_shape)
        try:
            check_fits_memory(self.path, needed, _("decoding its {count:,} samples").format(
                count=len(self)))
        except FileRefused as exc:
            raise DatasetError(f"{exc}.") from None
        out = np.empty(self.shape, np.float32)
        for start in range(0, len(self), READ_CHUNK):
            out[start:start + READ_CHUNK] = self._read(self.rows[start:start + READ_CHUNK])
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Samples({len(self):,} of {self.sample_shape} from {self.path.name})"


class StreamFailure:
    """The first readable error a stream met (a damaged image), for the run's one-line message
    instead of TensorFlow's wrapped traceback.

    The stream never raises it into TensorFlow: an error inside a tf.data map left the iterator
    waiting forever for its other calls when Keras dropped it (TensorFlow 2.21: the run, or the
    process at exit, hung). The failing batch comes as zeros, ``callback()`` stops training or
    evaluating after that batch, and the caller reports ``message``."""

    def __init__(self) -> None:
        self.message = ""

    def callback(self):
        """A Keras callback that stops ``fit`` / ``evaluate`` once the stream has failed."""
        from workbench.core.tf_loader import load_tensorflow

        _tf, keras = load_tensorflow()
        failure = self

        class StopOnFailure(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if failure.message:
                    self.model.stop_training = True

            def on_test_batch_end(self, batch, logs=None):
                if failure.message:  # fit's validation too: the run stops with it
                    self.model.stop_evaluating = True
                    self.model.stop_training = True

        return StopOnFailure()


def keras_stream(x: Samples, y, batch_size: int, *, shuffle: bool = False,
                 seed: int | None = None, failure: StreamFailure | None = None):
    """A ``tf.data.Dataset`` of ``(inputs, labels)`` batches: the row numbers (and labels) are
    shuffled in memory, each batch is decoded by a ``tf.numpy_function`` in parallel with the
    others and with training, and a few batches are prefetched; memory stays a few batches.
    A sample that cannot be read sets ``failure.message``: pass ``failure.callback()`` to Keras
    and check the message afterwards."""
    from workbench.core.tf_loader import load_tensorflow

    tf, _keras = load_tensorflow()
    failure = failure if failure is not None else StreamFailure()
    positions = np.arange(len(x), dtype=np.int64)
    labels = None if y is None else np.asarray(y)

    def decode(where):
        where = np.asarray(where)
        if not failure.message:
            try:
                return x[where]
            except DatasetError as exc:  # never raised into tf.data: see StreamFailure
                failure.message = failure.message or str(exc)
        return np.zeros((len(where), *x.sample_shape), np.float32)

    def read(where, *label):
        images = tf.numpy_function(decode, [where], tf.float32, stateful=False)
        images.set_shape((None, *x.sample_shape))
        return (images, *label)

    parts = (positions,) if labels is None else (positions, labels)
    data = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle:
        data = data.shuffle(len(positions), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size).map(read, num_parallel_calls=tf.data.AUTOTUNE,
                                      deterministic=True)
    return data.prefetch(tf.data.AUTOTUNE)
