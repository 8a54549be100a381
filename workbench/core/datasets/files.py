"""The user's own data as an ``.npz`` of arrays (a folder of images: ``folders.py``).

Every check ends in a DatasetError that names the problem, because the person who made the file
has to fix it and a Keras shape error three steps later would not tell them what.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from workbench.core.datasets.builtin import scale_images
from workbench.core.datasets.dataset import Dataset, DatasetError, labels_look_one_hot
from workbench.core.datasets.splits import held_out_size, stratified_split
from workbench.core.safe_io import (
    FileRefused,
    check_fits_memory,
    check_zip_members,
    open_regular,
    open_zip,
    shown,
)
from workbench.i18n import N_, _

# Labels 0..MAX_DIRECT_LABEL-1 are class indices as they stand; other integers are renumbered.
MAX_DIRECT_LABEL = 1_000
# An .npz whose training inputs as float32 would take more than this is read lazily (its rows
# scaled when read, a stored member left memory-mapped), not copied and converted at load.
LAZY_NPZ_BYTES = 256 << 20


# --- .npz ---------------------------------------------------------------------------------------


def load_npz(path: Path, seed: int = 0, lazy: bool | None = None) -> Dataset:
    """Arrays ``x_train, y_train[, x_test, y_test][, class_names]`` from an ``.npz`` file.

    ``lazy`` (default: when the float32 inputs would exceed ``LAZY_NPZ_BYTES``): the inputs
    stay as the file holds them and rows are scaled when read (``lazy.Samples``); the samples,
    labels and splits are the same either way."""
    arrays = read_npz(path)
    try:
        return _npz_dataset(path, arrays, seed, lazy)
    except DatasetError as exc:  # every reason names the file it is about
        name = shown(path.name)
        if str(exc).startswith(name):
            raise
        raise DatasetError(f"{name}: {exc}") from None


def _npz_dataset(path: Path, arrays: dict[str, np.ndarray], seed: int,
                 lazy: bool | None) -> Dataset:
    if "x_train" not in arrays and {"x", "y"} <= arrays.keys():
        arrays["x_train"], arrays["y_train"] = arrays.pop("x"), arrays.pop("y")
    for key in ("x_train", "y_train"):
        if key not in arrays:
            found = ", ".join(sorted(arrays)) or "nothing"
            raise DatasetError(_("{name} has no '{key}' array (it holds: {found}).").format(
                                   name=path.name, key=key, found=found))
    has_test = [key in arrays for key in ("x_test", "y_test")]
    if any(has_test) and not all(has_test):
        missing = "x_test" if not has_test[0] else "y_test"
        raise DatasetError(_("{name} has a test split without '{missing}'.").format(
                               name=path.name, missing=missing))

    x_train, y_train = _checked_pair(arrays["x_train"], arrays["y_train"], "train", minimum=2)
    if all(has_test):
        x_test, y_test = _checked_pair(arrays["x_test"], arrays["y_test"], "test", minimum=1)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise DatasetError(
                _("x_test samples have shape {shape} but x_train samples have {shape2}.").format(
                    shape=x_test.shape[1:], shape2=x_train.shape[1:])
            )
        if y_test.shape[1:] != y_train.shape[1:]:
            raise DatasetError(
                _("y_test rows have shape {shape} but y_train rows have {shape2}.").format(
                    shape=y_test.shape[1:], shape2=y_train.shape[1:])
            )
    else:
        x_test = y_test = None

    class_names = _class_names(arrays.get("class_names"))
    task, labels, class_names = _interpret_labels(
        y_train if y_test is None else np.concatenate([y_train, y_test]), class_names
    )
    if lazy is None:
        rows = len(x_train) + (0 if x_test is None else len(x_test))
        lazy = 4 * rows * int(np.prod(x_train.shape[1:])) > LAZY_NPZ_BYTES
    scaled = _lazy_rows(path) if lazy else _scaled
    if y_test is None:
        # No test split given: hold out 20%, stratified, before anything else looks at the data.
        train, test = stratified_split(
            labels, held_out_size(len(labels)), seed, stratify=task == "classification"
        )
        _check_held_out(path, test, labels, task)
        x_train, x_test = scaled(x_train, train), scaled(x_train, test)
        y_train, y_test = labels[train], labels[test]
        split = _("80/20 split")
    else:
        x_train, x_test = scaled(x_train), scaled(x_test)
        y_train, y_test = labels[: len(y_train)], labels[len(y_train) :]
        split = _("its own test split")
    kind = (_("{count} classes").format(count=len(class_names)) if task == "classification"
            else _("regression"))
    return Dataset(
        name=str(path),
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        task=task,
        class_names=class_names,
        description=(
            _("{name}: {train:,} train / {test:,} test, {kind} ({split})").format(
                name=path.name, train=len(x_train), test=len(x_test), kind=kind, split=split)
        ),
    )


def _scaled(x: np.ndarray, rows=None) -> np.ndarray:
    return scale_images(x if rows is None else x[rows])


def _lazy_rows(path: Path):
    """``scaled(x[, rows])`` for a lazy load: a view that scales its rows when they are read."""
    from workbench.core.datasets.lazy import ArraySource, Samples

    def scaled(x: np.ndarray, rows=None):
        return Samples(ArraySource(x, path), rows)

    return scaled


def _check_held_out(path: Path, test, labels: np.ndarray, task: str) -> None:
    """Refuse data too small to hold out any test sample, before a run trains on it and then has
    nothing to score (one sample per class leaves the stratified test split empty)."""
    if len(test):
        return
    _classes, counts = np.unique(labels, return_counts=True)
    kind = ""
    if task == "classification":
        kind = _(" in {count} classes").format(count=len(counts)) + (
            _(", one of each,") if counts.max() == 1 else "")
    more = (_("add images (two or more in each class folder)") if path.is_dir() else
            _("add samples (two or more of a class) or give x_test/y_test"))
    raise DatasetError(_("{name}: {n_labels} samples{kind} are too few to hold out a "
                         "test split; {more}.").format(
                           name=shown(path.name), n_labels=len(labels), kind=kind,
                           more=more))


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``, after checking what its members declare (safe_io): every
    array's size against the bytes its member holds and the free memory, before inflating any.

    Members stored uncompressed (``np.savez``) are memory-mapped, so an honest large file is
    read page by page instead of copied into memory."""
    try:
        with open_regular(path, "npz", N_(".npz archive")) as stream:
            if stream.read(6) == b"\x93NUMPY":
                raise DatasetError(_("{name} holds a single array, not an .npz archive.").format(
                                       name=shown(path.name)))
    except FileRefused as exc:
        raise DatasetError(f"{exc}.") from None
    try:
        with open_zip(path, "npz", N_(".npz archive")) as archive:
            members = check_zip_members(path, archive, N_(".npz archive"))
            headers = {info.filename: _npy_header(path, archive, info) for info in members
                       if info.filename.endswith(".npy")}
            needed = sum(nbytes for _, nbytes, _ in headers.values())
            check_fits_memory(path, needed, N_("the arrays"))
            arrays = {}
            for info in members:
                if info.filename not in headers:
                    continue
                key = info.filename[:-4]
                if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
                    header, _size, offset = headers[info.filename]
                    arrays[key] = _mapped(path, archive, info, header, offset)
                else:
                    with archive.open(info) as member:
                        arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
            return arrays
    except FileRefused as exc:
        raise DatasetError(f"{exc}.") from None
    except MemoryError:
        raise DatasetError(_("{name}: its arrays do not fit in memory.").format(
                               name=shown(path.name))) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(_("{name} is not a readable .npz archive ({reason}).").format(
                               name=shown(path.name), reason=shown(reason))) from None


def _npy_header(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    """``(header, nbytes, data_offset)`` of one member, read without inflating its data; a member
    that claims an array larger than the bytes it holds (or holds objects) is refused."""
    fmt = np.lib.format
    with archive.open(info) as member:
        version = fmt.read_magic(member)
        shape, fortran, dtype = (fmt.read_array_header_1_0(member) if version == (1, 0)
                                 else fmt.read_array_header_2_0(member))
        offset = member.tell()
    name = shown(info.filename[:-4])
    if dtype.hasobject:
        raise DatasetError(_("{name}: '{name2}' holds Python objects; only arrays of "
                             "numbers are read (pickles could run code).").format(
                               name=shown(path.name), name2=name))
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > info.file_size - offset:
        raise FileRefused(_("{path}: refused: '{name}' declares a {shape} array of "
                            "{nbytes:,} bytes but holds only {file_size:,}").format(
                              path=shown(path), name=name, shape=shape, nbytes=nbytes,
                              file_size=info.file_size))
    return (shape, fortran, dtype), nbytes, offset


def _mapped(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, header,
            offset: int) -> np.ndarray:
    """A stored (uncompressed) member as a read-only memory map of the file itself."""
    import struct

    shape, fortran, dtype = header
    archive.fp.seek(info.header_offset)
    local = archive.fp.read(30)
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if np.prod(shape, dtype=object) == 0:
        return np.zeros(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=start + offset, shape=shape,
                     order="F" if fortran else "C")


def _checked_pair(x: np.ndarray, y: np.ndarray, split: str, minimum: int):
    """Numbers, no NaN, one label per sample, enough samples; 1-D x becomes one feature."""
    for name, array in ((f"x_{split}", x), (f"y_{split}", y)):
        if array.dtype.kind not in "biuf":
            raise DatasetError(_("{name} holds {dtype} values; it must hold numbers.").format(
                                   name=name, dtype=array.dtype))
        if array.ndim == 0:
            raise DatasetError(_("{name} is a single number, not an array of samples.").format(
                                   name=name))
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DatasetError(_("{name} contains NaN or infinite values.").format(
                                   name=name))
        if array.dtype.kind == "f" and array.dtype.itemsize > 4 and array.size and (
                np.abs(array).max() > np.finfo(np.float32).max):
            raise DatasetError(_("{name} holds values beyond float32's range (up to "
                                 "{max:.3g}); the model computes in float32, so scale "
                                 "them first.").format(
                                   name=name, max=float(np.abs(array).max())))
    if len(x) != len(y):
        raise DatasetError(_("x_{split} has {n_x} samples but y_{split} has {n_y}.").format(
                               split=split, n_x=len(x), n_y=len(y)))
    if len(x) < minimum:
        raise DatasetError(_("x_{split} has {n_x} samples; at least {minimum} are needed.").format(
                               split=split, n_x=len(x), minimum=minimum))
    if y.ndim > 2:
        raise DatasetError(
            _("y_{split} has shape {shape}; give one label per sample (N,) or one row "
              "of targets per sample (N, k).").format(split=split, shape=y.shape)
        )
    for name, array, what in ((f"x_{split}", x, "samples"), (f"y_{split}", y, "rows")):
        if 0 in array.shape[1:]:  # a model cannot take (nor give) an empty sample
            raise DatasetError(_("{name} has shape {shape}: its {what} hold no values.").format(
                                   name=name, shape=array.shape, what=what))
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    return x, y


def _class_names(names: np.ndarray | None) -> list[str] | None:
    if names is None:
        return None
    if names.ndim != 1 or names.dtype.kind not in "USiu":
        raise DatasetError(_("class_names must be a 1-D array of names."))
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names.tolist()]


def _interpret_labels(y: np.ndarray, names: list[str] | None):
    """``(task, labels, class_names)``: class indices (int64) or regression targets (float32).

    Integers and one-hot rows are classes; floats that are all small whole numbers are classes
    saved as floats; any other float is a regression target.
    """
    if y.ndim == 2 and y.shape[1] > 1:
        if not labels_look_one_hot(y):
            return "regression", y.astype(np.float32), []
        labels, count = y.argmax(axis=1).astype(np.int64), y.shape[1]
    else:
        flat = y.reshape(-1)
        whole = flat.dtype.kind in "biu" or bool((flat == np.round(flat)).all())
        small = bool(flat.size) and flat.min() >= 0 and flat.max() < MAX_DIRECT_LABEL
        if flat.dtype.kind == "f" and not (whole and small):
            return "regression", y.astype(np.float32), []
        if not small and names is None:
            # Labels such as -1/1 or 1990/2000 name classes; renumber them 0..k-1.
            values, labels = np.unique(flat, return_inverse=True)
            return "classification", labels.astype(np.int64), [str(v) for v in values.tolist()]
        labels = flat.astype(np.int64)
        if labels.min() < 0:
            raise DatasetError(_("Labels must be 0 or more when the file gives class_names."))
        count = int(labels.max()) + 1
    if names is None:
        return "classification", labels, [str(i) for i in range(count)]
    if len(names) < count:
        raise DatasetError(
            _("The labels need {count} classes but class_names lists only {n_names}.").format(
                count=count, n_names=len(names))
        )
    return "classification", labels, names
