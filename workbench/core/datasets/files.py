"""The user's own data: an ``.npz`` of arrays, or a folder with one sub-folder of images per class.

Every check ends in a DatasetError that names the problem, because the person who made the file
has to fix it and a Keras shape error three steps later would not tell them what.
"""

from __future__ import annotations

import collections
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from workbench.core.datasets.builtin import scale_images
from workbench.core.datasets.dataset import Dataset, DatasetError, labels_look_one_hot
from workbench.core.datasets.splits import held_out_size, stratified_split

# Labels 0..MAX_DIRECT_LABEL-1 are class indices as they stand; other integers are renumbered.
MAX_DIRECT_LABEL = 1_000
# The formats Keras's image_dataset_from_directory reads (keras.utils ALLOWLIST_FORMATS).
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


# --- .npz ---------------------------------------------------------------------------------------


def load_npz(path: Path, seed: int = 0) -> Dataset:
    """Arrays ``x_train, y_train[, x_test, y_test][, class_names]`` from an ``.npz`` file."""
    arrays = _read_npz(path)
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


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    # We own the file handle: np.load leaks its own when a damaged zip fails to open.
    try:
        with open(path, "rb") as stream:
            archive = np.load(stream, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise DatasetError(f"{path.name} holds a single array, not an .npz archive.")
            with archive:
                return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path.name} is not a readable .npz archive ({reason}).") from None


def _checked_pair(x: np.ndarray, y: np.ndarray, split: str, minimum: int):
    """Numbers, no NaN, one label per sample, enough samples; 1-D x becomes one feature."""
    for name, array in ((f"x_{split}", x), (f"y_{split}", y)):
        if array.dtype.kind not in "biuf":
            raise DatasetError(f"{name} holds {array.dtype} values; it must hold numbers.")
        if array.ndim == 0:
            raise DatasetError(f"{name} is a single number, not an array of samples.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DatasetError(f"{name} contains NaN or infinite values.")
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
    """One class per sub-folder, decoded by Keras's ``image_dataset_from_directory``.

    Grayscale stays one channel (stored without the channel axis, like MNIST); images keep their
    size when they share one, else all are resized to the most common size.
    """
    files = _image_files(folder)
    if not files:
        raise DatasetError(
            f"{folder} has no images in class sub-folders "
            f"(expected {folder.name}/<class name>/<image>{'|'.join(IMAGE_FORMATS)})."
        )
    if len(files) < 2:
        raise DatasetError(f"{folder} has images for only one class; at least two are needed.")
    sizes, grayscale = _survey(files)
    (width, height), _ = sizes.most_common(1)[0]
    notices = []
    if len(sizes) > 1:
        notices.append(
            f"Images have {len(sizes)} different sizes; all were resized to {width}x{height}, "
            "the most common size."
        )
    x, y, class_names = _decode_with_keras(folder, list(files), grayscale, (height, width))
    train, test = stratified_split(y, held_out_size(len(y)), seed)
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
            f"{folder.name}: {len(y):,} {colour} {width}x{height} images in "
            f"{len(class_names)} classes ({len(train):,} train / {len(test):,} test)"
        ),
        notice=" ".join(notices),
    )


def _image_files(folder: Path) -> dict[str, list[Path]]:
    """Image files per class folder, the way Keras indexes them (sorted, hidden folders skipped)."""
    found = {}
    for entry in sorted(os.listdir(folder)):
        class_dir = folder / entry
        if entry.startswith(".") or not class_dir.is_dir():
            continue
        images = [
            Path(root) / name
            for root, _, names in os.walk(class_dir)
            for name in sorted(names)
            if name.lower().endswith(IMAGE_FORMATS)
        ]
        if images:
            found[entry] = images
    return found


def _survey(files: dict[str, list[Path]]) -> tuple[collections.Counter, bool]:
    """Image sizes ``(width, height)`` with their counts, and whether every image is grayscale.

    Pillow reads only the headers here, so a large folder is surveyed in moments.
    """
    from PIL import Image, UnidentifiedImageError

    sizes: collections.Counter = collections.Counter()
    grayscale = True
    for path in (p for paths in files.values() for p in paths):
        try:
            with Image.open(path) as image:
                sizes[image.size] += 1
                grayscale = grayscale and image.mode in _GRAY_MODES
        except (OSError, UnidentifiedImageError) as exc:
            raise DatasetError(f"{path} is not a readable image ({exc}).") from None
    return sizes, grayscale


def _decode_with_keras(folder: Path, class_names: list[str], grayscale: bool, size):
    from workbench.core.tf_loader import load_tensorflow

    tf, keras = load_tensorflow()
    try:
        images = keras.utils.image_dataset_from_directory(
            str(folder),
            labels="inferred",
            label_mode="int",
            class_names=class_names,
            color_mode="grayscale" if grayscale else "rgb",
            image_size=size,
            batch_size=256,
            shuffle=False,
            verbose=False,
        )
        batches = list(images.as_numpy_iterator())
    except (tf.errors.OpError, ValueError) as exc:
        reason = str(getattr(exc, "message", exc)).strip().splitlines()[0]
        raise DatasetError(f"Could not decode the images in {folder} ({reason}).") from None
    x = np.concatenate([xb for xb, _ in batches]).astype(np.float32) / np.float32(255.0)
    y = np.concatenate([yb for _, yb in batches]).astype(np.int64)
    if grayscale:
        x = x[..., 0]
    return x, y, class_names
