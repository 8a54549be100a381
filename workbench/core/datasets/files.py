"""The user's own data: an ``.npz`` of arrays, or a folder with one sub-folder of images per class.

Every check ends in a DatasetError that names the problem, because the person who made the file
has to fix it and a Keras shape error three steps later would not tell them what.
"""

from __future__ import annotations

import os
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
    open_image,
    open_regular,
    open_zip,
    shown,
)

# Labels 0..MAX_DIRECT_LABEL-1 are class indices as they stand; other integers are renumbered.
MAX_DIRECT_LABEL = 1_000
# The raster formats a class folder's images may have (decoded by content: safe_io.open_image).
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


# --- .npz ---------------------------------------------------------------------------------------


def load_npz(path: Path, seed: int = 0) -> Dataset:
    """Arrays ``x_train, y_train[, x_test, y_test][, class_names]`` from an ``.npz`` file."""
    arrays = read_npz(path)
    try:
        return _npz_dataset(path, arrays, seed)
    except DatasetError as exc:  # every reason names the file it is about
        name = shown(path.name)
        if str(exc).startswith(name):
            raise
        raise DatasetError(f"{name}: {exc}") from None


def _npz_dataset(path: Path, arrays: dict[str, np.ndarray], seed: int) -> Dataset:
    if "x_train" not in arrays and {"x", "y"} <= arrays.keys():
        arrays["x_train"], arrays["y_train"] = arrays.pop("x"), arrays.pop("y")
    for key in ("x_train", "y_train"):
        if key not in arrays:
            found = ", ".join(sorted(arrays)) or "nothing"
            raise DatasetError(f"{path.name} has no '{key}' array (it holds: {found}).")
    has_test = [key in arrays for key in ("x_test", "y_test")]
    if any(has_test) and not all(has_test):
        missing = "x_test" if not has_test[0] else "y_test"
        raise DatasetError(f"{path.name} has a test split without '{missing}'.")

    x_train, y_train = _checked_pair(arrays["x_train"], arrays["y_train"], "train", minimum=2)
    if all(has_test):
        x_test, y_test = _checked_pair(arrays["x_test"], arrays["y_test"], "test", minimum=1)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise DatasetError(
                f"x_test samples have shape {x_test.shape[1:]} "
                f"but x_train samples have {x_train.shape[1:]}."
            )
        if y_test.shape[1:] != y_train.shape[1:]:
            raise DatasetError(
                f"y_test rows have shape {y_test.shape[1:]} "
                f"but y_train rows have {y_train.shape[1:]}."
            )
    else:
        x_test = y_test = None

    class_names = _class_names(arrays.get("class_names"))
    task, labels, class_names = _interpret_labels(
        y_train if y_test is None else np.concatenate([y_train, y_test]), class_names
    )
    if y_test is None:
        # No test split given: hold out 20%, stratified, before anything else looks at the data.
        train, test = stratified_split(
            labels, held_out_size(len(labels)), seed, stratify=task == "classification"
        )
        _check_held_out(path, test, labels, task)
        x_train, x_test = x_train[train], x_train[test]
        y_train, y_test = labels[train], labels[test]
        split = "80/20 split"
    else:
        y_train, y_test = labels[: len(y_train)], labels[len(y_train) :]
        split = "its own test split"
    kind = f"{len(class_names)} classes" if task == "classification" else "regression"
    return Dataset(
        name=str(path),
        x_train=scale_images(x_train),
        y_train=y_train,
        x_test=scale_images(x_test),
        y_test=y_test,
        task=task,
        class_names=class_names,
        description=(
            f"{path.name}: {len(x_train):,} train / {len(x_test):,} test, {kind} ({split})"
        ),
    )


def _check_held_out(path: Path, test, labels: np.ndarray, task: str) -> None:
    """Refuse data too small to hold out any test sample, before a run trains on it and then has
    nothing to score (one sample per class leaves the stratified test split empty)."""
    if len(test):
        return
    _, counts = np.unique(labels, return_counts=True)
    kind = ""
    if task == "classification":
        kind = f" in {len(counts)} classes" + (", one of each," if counts.max() == 1 else "")
    more = ("add images (two or more in each class folder)" if path.is_dir() else
            "add samples (two or more of a class) or give x_test/y_test")
    raise DatasetError(f"{shown(path.name)}: {len(labels)} samples{kind} are too few to hold "
                       f"out a test split; {more}.")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``, after checking what its members declare (safe_io): every
    array's size against the bytes its member holds and the free memory, before inflating any.

    Members stored uncompressed (``np.savez``) are memory-mapped, so an honest large file is
    read page by page instead of copied into memory."""
    try:
        with open_regular(path, "npz", ".npz archive") as stream:
            if stream.read(6) == b"\x93NUMPY":
                raise DatasetError(f"{shown(path.name)} holds a single array, "
                                   "not an .npz archive.")
    except FileRefused as exc:
        raise DatasetError(f"{exc}.") from None
    try:
        with open_zip(path, "npz", ".npz archive") as archive:
            members = check_zip_members(path, archive, ".npz archive")
            headers = {info.filename: _npy_header(path, archive, info) for info in members
                       if info.filename.endswith(".npy")}
            needed = sum(nbytes for _, nbytes, _ in headers.values())
            check_fits_memory(path, needed, "the arrays")
            arrays = {}
            for info in members:
                if info.filename not in headers:
                    continue
                key = info.filename[:-4]
                if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
                    header, _, offset = headers[info.filename]
                    arrays[key] = _mapped(path, archive, info, header, offset)
                else:
                    with archive.open(info) as member:
                        arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
            return arrays
    except FileRefused as exc:
        raise DatasetError(f"{exc}.") from None
    except MemoryError:
        raise DatasetError(f"{shown(path.name)}: its arrays do not fit in memory.") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{shown(path.name)} is not a readable .npz archive "
                           f"({shown(reason)}).") from None


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
        raise DatasetError(f"{shown(path.name)}: '{name}' holds Python objects; only arrays of "
                           "numbers are read (pickles could run code).")
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > info.file_size - offset:
        raise FileRefused(f"{shown(path)}: refused: '{name}' declares a {shape} array of "
                          f"{nbytes:,} bytes but holds only {info.file_size:,}")
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
            raise DatasetError(f"{name} holds {array.dtype} values; it must hold numbers.")
        if array.ndim == 0:
            raise DatasetError(f"{name} is a single number, not an array of samples.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DatasetError(f"{name} contains NaN or infinite values.")
        if array.dtype.kind == "f" and array.dtype.itemsize > 4 and array.size and (
                np.abs(array).max() > np.finfo(np.float32).max):
            raise DatasetError(f"{name} holds values beyond float32's range (up to "
                               f"{float(np.abs(array).max()):.3g}); the model computes in "
                               "float32, so scale them first.")
    if len(x) != len(y):
        raise DatasetError(f"x_{split} has {len(x)} samples but y_{split} has {len(y)}.")
    if len(x) < minimum:
        raise DatasetError(f"x_{split} has {len(x)} samples; at least {minimum} are needed.")
    if y.ndim > 2:
        raise DatasetError(
            f"y_{split} has shape {y.shape}; give one label per sample (N,) "
            "or one row of targets per sample (N, k)."
        )
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    return x, y


def _class_names(names: np.ndarray | None) -> list[str] | None:
    if names is None:
        return None
    if names.ndim != 1 or names.dtype.kind not in "USiu":
        raise DatasetError("class_names must be a 1-D array of names.")
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
            raise DatasetError("Labels must be 0 or more when the file gives class_names.")
        count = int(labels.max()) + 1
    if names is None:
        return "classification", labels, [str(i) for i in range(count)]
    if len(names) < count:
        raise DatasetError(
            f"The labels need {count} classes but class_names lists only {len(names)}."
        )
    return "classification", labels, names


# --- image folders ------------------------------------------------------------------------------


def load_image_folder(folder: Path, seed: int = 0) -> Dataset:
    """One class per sub-folder, each image decoded by Pillow as a raster image by its content
    (safe_io.open_image: never PostScript, a special file or a decompression bomb).

    The folder is grayscale when every image's content is grey (a grey WebP saved as ``.png`` is
    grey too), else colour; every image is decoded to that one mode. Grayscale stays one channel
    (stored without the channel axis, like MNIST); images keep their size when they share one,
    else all are resized to the most common size.
    """
    files = image_files(folder)
    if not files:
        raise DatasetError(
            f"{shown(folder)} has no images in class sub-folders "
            f"(expected {shown(folder.name)}/<class name>/<image>{'|'.join(IMAGE_FORMATS)})."
        )
    if len(files) < 2:
        raise DatasetError(f"{shown(folder)} has images for only one class; "
                           "at least two are needed.")
    images, labels, odd = _decode_images(files)
    (width, height), grayscale, sizes = common_shape(images)
    notices = []
    if sizes > 1:
        notices.append(
            f"Images have {sizes} different sizes; all were resized to {width}x{height}, "
            "the most common size."
        )
    if odd:
        shown_odd = ", ".join(odd[:3]) + (f" and {len(odd) - 3} more" if len(odd) > 3 else "")
        notices.append(f"Decoded by their content, not their name: {shown_odd}.")
    try:
        x = stack_images(images, grayscale, (width, height))
    except MemoryError:
        raise DatasetError(f"{len(images):,} images of {width}x{height} do not fit in "
                           "memory.") from None
    y = np.asarray(labels, dtype=np.int64)
    class_names = list(files)
    train, test = stratified_split(y, held_out_size(len(y)), seed)
    _check_held_out(folder, test, y, "classification")
    colour = "grayscale" if grayscale else "colour"
    return Dataset(
        name=str(folder),
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        task="classification",
        class_names=class_names,
        description=(
            f"{shown(folder.name)}: {len(y):,} {colour} {width}x{height} images in "
            f"{len(class_names)} classes ({len(train):,} train / {len(test):,} test)"
        ),
        notice=" ".join(notices),
    )


def image_files(folder: Path) -> dict[str, list[Path]]:
    """Image files per class folder, sorted, hidden folders skipped. (The exported script
    holds this function too.)"""
    found = {}
    for entry in sorted(os.listdir(folder)):
        class_dir = folder / entry
        if entry.startswith(".") or not class_dir.is_dir():
            continue
        images = [
            Path(root) / name
            for root, dirs, names in sorted(os.walk(class_dir))
            for name in sorted(names)
            if name.lower().endswith(IMAGE_FORMATS)
        ]
        if images:
            found[entry] = images
    return found


# The Pillow formats each file name ending stands for (to name a file whose content differs).
_SUFFIX_FORMATS = {".bmp": "BMP", ".gif": "GIF", ".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG",
                   ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
# Channels of a lossy grey image may differ by rounding; beyond this the image is colour.
_GREY_TOLERANCE = 2


def image_pixels(image) -> np.ndarray:
    """A decoded Pillow image as uint8 (H, W) when its content is grey, else (H, W, 3); alpha
    is dropped, as Keras's decoding does. (The exported script holds this function too.)"""
    if image.mode in _GRAY_MODES:
        return np.asarray(image.convert("L"))
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb)
    spread = pixels.max(axis=-1).astype(np.int16) - pixels.min(axis=-1)
    if not spread.size or spread.max() <= _GREY_TOLERANCE:
        return np.asarray(rgb.convert("L"))
    return pixels


def _decode_images(files: dict[str, list[Path]]):
    """``(arrays, labels, odd)``: each image as ``image_pixels`` gives it; its class index; the
    files whose content is not what their name says."""
    images, labels, odd = [], [], []
    held = 0
    for label, paths in enumerate(files.values()):
        for path in paths:
            try:
                image = open_image(path)
            except FileRefused as exc:
                raise DatasetError(f"{exc}.") from None
            with image:
                if _SUFFIX_FORMATS.get(path.suffix.lower()) != image.format:
                    odd.append(f"{shown(path.name)} is {image.format}")
                pixels = image_pixels(image)
            images.append(pixels)
            labels.append(label)
            held += pixels.nbytes
            if len(images) % 64 == 0:  # the float32 copy will need 4 bytes per pixel value
                try:
                    check_fits_memory(path.parent, 4 * held, "the folder's images")
                except FileRefused as exc:
                    raise DatasetError(f"{exc}.") from None
    return images, labels, odd


def common_shape(images: list[np.ndarray]):
    """``((width, height), grayscale, sizes)``: the folder's most common image size, whether
    every image is grey, how many sizes there are. (The exported script holds this too.)"""
    import collections

    sizes = collections.Counter(image.shape[1::-1] for image in images)
    return sizes.most_common(1)[0][0], all(image.ndim == 2 for image in images), len(sizes)


def stack_images(images: list[np.ndarray], grayscale: bool, size) -> np.ndarray:
    """One float32 array in [0, 1]: every image in the folder's mode, resized to ``size``.
    (The exported script holds this function too.)"""
    from PIL import Image

    width, height = size
    shape = (len(images), height, width) if grayscale else (len(images), height, width, 3)
    x = np.empty(shape, dtype=np.float32)
    for i, pixels in enumerate(images):
        if not grayscale and pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=-1)
        if pixels.shape[:2] != (height, width):
            pixels = np.asarray(Image.fromarray(pixels).resize(
                (width, height), Image.Resampling.BILINEAR))
        x[i] = pixels
    x /= np.float32(255.0)
    return x
