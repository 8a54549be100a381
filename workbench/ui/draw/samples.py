"""The user's own sample set: drawings saved with labels in an ``.npz`` the dataset loader reads.

File layout: ``x`` (N, 28, 28) uint8 (light ink on black, like MNIST), ``y`` (N,) int64 and
``class_names`` (the names the labels index). Every write goes to a temporary file in the same
folder and is then renamed over the old one, so a crash never leaves half a file. No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from workbench.core.appdata import data_dir, legacy_dirs
from workbench.core.atomic import replacing
from workbench.i18n import _

SAMPLES_FILE = "my-digits.npz"  # an unsaved project's (the window's first)
SAMPLES_SUFFIX = "-digits.npz"  # a saved project's, after its file's name
# Below this many samples a training run on the set alone says little (the loader also holds out
# 20% of it for testing).
RECOMMENDED = 50




def samples_location(project_path, app_data_dir: str | os.PathLike | None = None,
                     untitled: str = "") -> Path:
    """Where a project's sample set lives: beside the project file, named after it
    (``digits.json``: ``digits-digits.npz``; a folder may hold several projects, each with its
    own samples), or, for a project not saved yet, in the app's data folder
    (``$WORKBENCH_DATA_DIR`` overrides ``app_data_dir``): the window's first project in
    ``my-digits.npz``, each later one (``untitled``: its key) in a file of its own."""
    if project_path is not None:
        path = Path(project_path)
        return path.with_name(f"{path.stem}{SAMPLES_SUFFIX}")
    if untitled:
        return data_dir(app_data_dir) / f"untitled-{untitled}{SAMPLES_SUFFIX}"
    path = data_dir(app_data_dir) / SAMPLES_FILE
    if not path.exists():  # drawn with an earlier version, which kept them in Qt's folder
        older = [p for d in legacy_dirs(app_data_dir) if (p := d / SAMPLES_FILE).is_file()]
        return older[0] if older else path
    return path


class SampleSetError(Exception):
    """The sample file cannot be read or written; the message is one sentence for the user."""


def load_samples(path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(x, y, class_names)`` of the set at ``path``; an empty set when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.int64), []
    from workbench.core.datasets import DatasetError
    from workbench.core.datasets.files import read_npz

    try:  # the dataset reader's checks: a regular file, no bombs, no pickles
        arrays = read_npz(path)
    except DatasetError as exc:
        raise SampleSetError(_("{name} cannot be read as a sample set ({reason}).").format(
            name=path.name, reason=exc)) from None
    x, y = arrays.get("x"), arrays.get("y")
    if x is None or y is None:
        raise SampleSetError(_("{name} is not a sample set (it has no 'x' and 'y' arrays).")
                             .format(name=path.name))
    bad_type = x.dtype != np.uint8 or y.dtype.kind not in "iu"
    if bad_type or x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
        raise SampleSetError(
            _("{name} holds {x_type} images of shape {x_shape} and {y_type} labels of shape "
              "{y_shape}; a sample set holds (N, 28, 28) uint8 images and (N,) int labels.")
            .format(name=path.name, x_type=x.dtype, x_shape=x.shape[1:], y_type=y.dtype,
                    y_shape=y.shape))
    names = arrays.get("class_names")
    class_names = [str(n) for n in names.tolist()] if names is not None else []
    return x, y.astype(np.int64, copy=False), class_names


def to_uint8(digit28: np.ndarray) -> np.ndarray:
    """A preprocessed float digit in [0, 1] as the uint8 image stored in the set."""
    digit = np.asarray(digit28, dtype=np.float32).reshape(28, 28)
    return (np.clip(digit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def append_sample(path, digit28: np.ndarray, label: int, class_names: list[str]) -> int:
    """Add one sample to the set at ``path`` (created if missing); returns the new count.

    An unreadable existing file is never overwritten: the user's samples come first.
    """
    path = Path(path)
    x, y, names = load_samples(path)
    class_names = [str(n) for n in class_names]
    if names and class_names and names != class_names:
        if len(class_names) < len(names) or class_names[: len(names)] != names:
            raise SampleSetError(
                _("{name} holds samples of the classes {classes}; the current dataset names "
                  "its classes differently.").format(name=path.name, classes=", ".join(names)))
    names = class_names or names
    if not 0 <= int(label) < max(len(names), 1):
        raise SampleSetError(_("Label {label} is not one of the {count} classes.").format(
            label=label, count=len(names)))
    x = np.concatenate([x, to_uint8(digit28)[None]])
    y = np.concatenate([y, np.array([int(label)], np.int64)])
    _write(path, x, y, names)
    return len(x)


def remove_sample(path, index: int) -> int:
    """Delete sample ``index`` from the set; returns the new count."""
    path = Path(path)
    x, y, names = load_samples(path)
    if not 0 <= index < len(x):
        raise SampleSetError(_("There is no sample {number} in {name}.").format(
            number=index + 1, name=path.name))
    x, y = np.delete(x, index, axis=0), np.delete(y, index)
    _write(path, x, y, names)
    return len(x)


def carry_samples(source, target) -> int:
    """Copy the sample set at ``source`` into ``target`` (a project saved elsewhere takes its
    samples along); returns how many samples ``target`` holds after, 0 when there was nothing.

    A set already at ``target`` is kept and the new samples are added after it, when both name
    their classes alike; otherwise SampleSetError and nothing is written. ``target`` is replaced
    atomically; ``source`` is left as it is (the caller removes it once the project is saved).
    """
    source, target = Path(source), Path(target)
    if not source.exists() or source.resolve() == target.resolve():
        return 0
    x, y, names = load_samples(source)
    if len(x) == 0:
        return 0
    old_x, old_y, old_names = load_samples(target)
    if len(old_x):
        if old_names and names and old_names != names:
            raise SampleSetError(
                _("{target} already holds samples of the classes {old}; yours (classes {new}) "
                  "stay in {source}.").format(target=target, old=", ".join(old_names),
                                             new=", ".join(names), source=source))
        x, y = np.concatenate([old_x, x]), np.concatenate([old_y, y])
        names = old_names or names
    _write(target, x, y, names)
    return len(x)


def _write(path: Path, x: np.ndarray, y: np.ndarray, class_names: list[str]) -> None:
    try:
        with replacing(path, suffix=".npz") as tmp, open(tmp, "wb") as stream:
            np.savez_compressed(stream, x=x, y=y, class_names=np.array(class_names, dtype=str))
    except OSError as exc:
        raise SampleSetError(_("Cannot write {name}: {reason}.").format(
            name=path.name, reason=exc.strerror or exc)) from None
