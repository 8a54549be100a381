"""Datasets that need no download: the embedded MNIST digits and two synthetic sets."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

import numpy as np

import workbench
from workbench.core.datasets.dataset import Dataset, DatasetError
from workbench.core.datasets.splits import stratified_split
from workbench.core.feed import aligned_empty
from workbench.i18n import N_, _

RESOURCES = Path(workbench.__file__).resolve().parent.parent / "resources"
EMBEDDED_MNIST = RESOURCES / "datasets" / "mnist-10k.npz"
DIGIT_NAMES = [str(d) for d in range(10)]

EMBEDDED_TEST_SIZE = 2_000
# The descriptions are translated where they are used (registry.describe, the datasets).
EMBEDDED_DESCRIPTION = N_("10,000 real MNIST digits shipped with the app (8,000 train / 2,000 "
                          "test)")
REGRESSION_LINE_DESCRIPTION = N_(
    "A noisy straight line, y = x + noise: 100 train / 20 test points (regression)"
)
RANDOM_CLASSES_DESCRIPTION = N_(
    "100 random numbers per sample with random labels 0-9 (1,000 train / 200 test): "
    "a model can only memorise"
)


def scale_images(x: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1]; anything else just becomes float32. A new array,
    made in one pass (no float temporary of the same size) and aligned so that training shares
    it with TensorFlow instead of copying it (core.feed)."""
    x = np.asarray(x)
    out = aligned_empty(x.shape, np.float32)
    if x.dtype == np.uint8:
        np.divide(x, np.float32(255.0), out=out)
    else:
        out[...] = x
    return out


@functools.lru_cache(maxsize=4)
def shipped_arrays(path: Path, what: str, tool: str) -> tuple[np.ndarray, np.ndarray]:
    """The raw uint8 images ``x`` and labels ``y`` of a file in resources/, read once per
    process (read-only); a missing or damaged file names the ``tool`` that makes it again."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            x, y = archive["x"], archive["y"]
    except FileNotFoundError:
        raise DatasetError(_("The {what} file {path} is missing; rebuild it with "
                             "'python {tool}'.").format(what=what, path=path, tool=tool)) from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DatasetError(_("The {what} file {path} is damaged ({exc}).").format(
                               what=what, path=path, exc=exc)) from None
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def shipped_dataset(name: str, arrays, n_test: int, seed: int, class_names,
                    description: str) -> Dataset:
    """A shipped set of images split ``n_test`` held out per class in proportion, shuffled by
    ``seed``; pixels as float32 in [0, 1], labels as int64."""
    x, y = arrays
    train, test = stratified_split(y, n_test, seed)
    return Dataset(
        name=name,
        x_train=scale_images(x[train]),
        y_train=y[train].astype(np.int64),
        x_test=scale_images(x[test]),
        y_test=y[test].astype(np.int64),
        task="classification",
        class_names=list(class_names),
        description=description,
    )


def load_mnist_embedded(seed: int = 0) -> Dataset:
    """The 10,000 digits, split 8,000 / 2,000 per class in proportion, shuffled by ``seed``."""
    arrays = shipped_arrays(EMBEDDED_MNIST, _("embedded MNIST"), "tools/make_mnist_embedded.py")
    return shipped_dataset("mnist-embedded", arrays, EMBEDDED_TEST_SIZE, seed, DIGIT_NAMES,
                           _(EMBEDDED_DESCRIPTION))


def regression_line_arrays(seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))``: y = x + 0.1·noise, 100 + 20 points on [0, 1]."""
    rng = np.random.default_rng(seed)

    def points(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        y = x + 0.1 * rng.standard_normal(size=(n, 1))
        return x.astype(np.float32), y.astype(np.float32)

    return points(100), points(20)


def load_regression_line(seed: int = 0) -> Dataset:
    """The classic first Keras example: fit y = x from 100 noisy points."""
    return Dataset.from_splits("regression-line", regression_line_arrays(seed), "regression",
                               description=_(REGRESSION_LINE_DESCRIPTION))


def random_classes_arrays(seed: int = 0):
    """``((x_train, y_train), (x_test, y_test))``: 1,000 + 200 noise vectors, random labels 0-9."""
    rng = np.random.default_rng(seed)

    def samples(n: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.uniform(0.0, 1.0, size=(n, 100)).astype(np.float32)
        return x, rng.integers(0, 10, size=n).astype(np.int64)

    return samples(1_000), samples(200)


def load_random_classes(seed: int = 0) -> Dataset:
    """Noise with random labels: training accuracy can rise, test accuracy stays near 10%."""
    return Dataset.from_splits("random-classes", random_classes_arrays(seed), "classification",
                               DIGIT_NAMES, _(RANDOM_CLASSES_DESCRIPTION))
