"""In-memory training data fed to Keras without copying it: batches gathered from the one array.

``model.fit(x)`` on a numpy ``x`` converts it into a TensorFlow tensor, a whole copy (and more
while it converts); the seeded validation split took two more (``x[train]``, ``x[val]``). Here a
split is a pair of index arrays (``Rows``), and fit gets a tf.data pipeline that gathers each
batch's rows from a tensor sharing the array's memory through DLPack. TensorFlow shares only
64-byte aligned memory, which ``aligned_empty`` gives (the dataset loaders use it); an array it
cannot share is copied once, as Keras would have.
"""

from __future__ import annotations

import numpy as np

ALIGN = 64  # TensorFlow's EIGEN_MAX_ALIGN_BYTES: a shared buffer must start on this boundary
_SHAREABLE = ("float16", "float32", "float64", "int32", "int64", "uint8", "bool")


def aligned_empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an ``ALIGN``-byte boundary."""
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


class Rows:
    """Rows ``index`` of the in-memory ``array``, not copied: one side of the seeded validation
    split. Reads like a read-only array (``len``, ``shape``, ``x[i]``, ``np.asarray(x)`` copies
    just what is asked); training feeds it with ``keras_batches``."""

    lazy = False

    def __init__(self, array: np.ndarray, index=None):
        self.array = array
        self.index = (np.arange(len(array), dtype=np.int64) if index is None
                      else np.asarray(index, dtype=np.int64).reshape(-1))

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.index), *self.array.shape[1:])

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __getitem__(self, key) -> np.ndarray:
        return self.array[self.index[key]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.array[self.index]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Rows({len(self):,} of {self.array.shape})"


def shared_tensor(tf, array: np.ndarray):
    """A tensor on ``array``'s own memory where TensorFlow can share it, else a copy.

    The tensor keeps the array alive; nothing writes through it (training only gathers rows)."""
    array = np.asarray(array)
    if (array.flags.c_contiguous and array.flags.writeable and array.dtype.name in _SHAREABLE
            and array.ctypes.data % ALIGN == 0 and array.size):
        try:
            return tf.experimental.dlpack.from_dlpack(array.__dlpack__())
        except (BufferError, TypeError, ValueError, AttributeError):  # an older numpy or TF
            pass
    return tf.convert_to_tensor(array)


def keras_batches(tf, x, y, batch_size: int, *, shuffle: bool = False, seed: int | None = None):
    """A ``tf.data.Dataset`` of ``(inputs, labels)`` batches of ``x`` (an array or ``Rows``):
    the row numbers and labels are shuffled (a new order every epoch, seeded), each batch's rows
    are gathered from the shared tensor, and a few batches are prefetched."""
    array, index = (x.array, x.index) if isinstance(x, Rows) else (
        np.asarray(x), np.arange(len(x), dtype=np.int64))
    whole = shared_tensor(tf, array)
    rows = tf.data.Dataset.from_tensor_slices((index, np.asarray(y)))
    if shuffle:
        rows = rows.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
    # The tensor enters as a dataset of its own, by reference (captured by the map's function it
    # would be copied into the pipeline's graph), and tf.data's graph rewrites stay off: they
    # serialise the pipeline, which copies the tensor too. Under a distribution strategy Keras
    # rewrites it anyway (one copy, as fit(x) made).
    data = tf.data.Dataset.zip((rows.batch(batch_size),
                                tf.data.Dataset.from_tensors(whole).repeat()))
    data = data.map(lambda batch, source: (tf.gather(source, batch[0]), batch[1]),
                    num_parallel_calls=2, deterministic=True).prefetch(2)
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.autotune.enabled = False
    return data.with_options(options)
