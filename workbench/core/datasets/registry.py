"""Dataset names the app knows, and `load_dataset` for a name or a path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from workbench.core.datasets import builtin, downloads, files, folders, fonts
from workbench.core.datasets.dataset import Dataset, DatasetError
from workbench.core.safe_io import FileRefused, check_regular, shown
from workbench.i18n import N_, _

DEFAULT_DATASET = "mnist-embedded"


class _Entry(NamedTuple):
    description: str
    load: Callable[[int, bool], Dataset]


# Insertion order is the order the UI lists them in.
_REGISTRY: dict[str, _Entry] = {
    "mnist-embedded": _Entry(
        builtin.EMBEDDED_DESCRIPTION, lambda seed, _: builtin.load_mnist_embedded(seed)
    ),
    "mnist": _Entry(downloads.MNIST_DESCRIPTION, downloads.load_mnist),
    "fashion-mnist": _Entry(downloads.FASHION_DESCRIPTION, downloads.load_fashion_mnist),
    "fonts": _Entry(fonts.DESCRIPTION, lambda seed, _: fonts.load_fonts(fonts.SHIPPED, seed)),
    "regression-line": _Entry(
        builtin.REGRESSION_LINE_DESCRIPTION, lambda seed, _: builtin.load_regression_line(seed)
    ),
    "random-classes": _Entry(
        builtin.RANDOM_CLASSES_DESCRIPTION, lambda seed, _: builtin.load_random_classes(seed)
    ),
}


def dataset_names() -> list[str]:
    return list(_REGISTRY)


def _unknown(name: str) -> DatasetError:
    valid = ", ".join(_REGISTRY)
    return DatasetError(
        _("Unknown dataset '{name}': use one of {valid}, or the path of an .npz file or of a "
          "folder of class sub-folders of images.").format(name=shown(name), valid=valid)
    )


def _as_path(name_or_path: str | os.PathLike) -> Path:
    return Path(os.fspath(name_or_path)).expanduser()


def _kind(path: Path) -> str | None:
    """"dir", "file" (anything else that exists) or None; DatasetError for a path the system
    cannot even look up (a name too long, a loop of links)."""
    try:
        return "dir" if path.is_dir() else "file" if path.exists() else None
    except OSError as exc:
        raise DatasetError(f"{shown(path)}: {exc.strerror or exc}") from None


def describe(name: str | os.PathLike) -> str:
    """One line for the UI, without loading anything."""
    if isinstance(name, str) and name in _REGISTRY:
        return _(_REGISTRY[name].description)
    path = _as_path(name)
    kind = _kind(path)
    if kind == "dir":
        return _("Images in the class sub-folders of {name}/").format(
                   name=shown(path.name))
    if kind == "file":  # a FIFO or a device is refused in the same words as when it is loaded
        try:
            check_regular(path, "npz", N_(".npz archive"))
        except FileRefused as exc:
            raise DatasetError(f"{exc}.") from None
        return _("Arrays from {name}").format(name=shown(path.name))
    raise _unknown(str(name))


def load_dataset(
    name_or_path: str | os.PathLike, *, seed: int = 0, allow_download: bool = True,
    lazy: bool | None = None,
) -> Dataset:
    """A built-in dataset by name, or the user's ``.npz`` file or image folder by path.

    ``seed`` fixes every shuffle and split; ``allow_download=False`` fails at once (with the
    same advice) instead of trying the network for ``mnist`` and ``fashion-mnist``. ``lazy``
    (a path only; default: by its size) reads the samples when they are used instead of at
    load (``lazy.Samples``).
    """
    if isinstance(name_or_path, str) and name_or_path in _REGISTRY:
        return _REGISTRY[name_or_path].load(seed, allow_download)
    path = _as_path(name_or_path)
    kind = _kind(path)
    if kind == "dir":
        return folders.load_image_folder(path, seed, lazy)
    if kind == "file":  # a FIFO or a device too: load_npz refuses it in one line
        return files.load_npz(path, seed, lazy)
    raise _unknown(str(name_or_path))
