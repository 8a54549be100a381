"""The `Dataset` every loader returns, its error type, and label helpers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from workbench.core.datasets.splits import stratified_pick, take
from workbench.i18n import N_, _

TASKS = (N_("classification"), N_("regression"))  # translated where shown


class DatasetError(Exception):
    """A dataset could not be loaded; the message is one readable sentence for the user."""


@dataclass
class Dataset:
    """Train and test arrays ready for Keras, plus what the UI needs to show them.

    Inputs are float32 (images scaled to [0, 1]; grayscale images have no channel axis):
    numpy arrays, or for a big folder or ``.npz`` ``lazy.Samples``, which read like a read-only
    array (``x[rows]`` decodes just those rows) and which training streams (``splits.is_lazy``).
    Classification labels are int64 class indices; regression targets are float32.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[str] = field(default_factory=list)
    description: str = ""
    notice: str = ""
    # The ``subset`` calls that made this from the loaded dataset, in order ((n_train, n_test,
    # seed) each): an engine that loads the dataset by its name makes the same copy from them.
    subsets: tuple[tuple[int, int, int], ...] = ()

    @classmethod
    def from_splits(cls, name: str, splits, task: str, class_names=(), description: str = ""):
        """From ``((x_train, y_train), (x_test, y_test))``, the shape ``keras.datasets`` uses."""
        (x_train, y_train), (x_test, y_test) = splits
        return cls(name=name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   task=task, class_names=list(class_names), description=description)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(_("task must be one of {tasks}, not {task!r}").format(
                                 tasks=TASKS, task=self.task))
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if len(x) != len(y):
                raise DatasetError(_("x_{split} has {n_x} samples but y_{split} has "
                                     "{n_y}.").format(
                                       split=split, n_x=len(x), n_y=len(y)))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_image(self) -> bool:
        shape = self.input_shape
        return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3))

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"

    def samples(
        self, n: int = 16, split: str = "test", seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n`` example inputs and their labels, spread over the classes where possible."""
        if split not in ("train", "test"):
            raise ValueError(_("split must be 'train' or 'test', not {split!r}").format(
                                 split=split))
        x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
        index = stratified_pick(y, n, seed, stratify=self.is_classification)
        return x[index], y[index]

    def subset(self, n_train: int, n_test: int | None = None, seed: int = 0) -> Dataset:
        """A smaller stratified copy, for tests and quick runs.

        Without ``n_test`` the test split shrinks in the same proportion as the training split.
        """
        if n_test is None:
            ratio = len(self.x_test) / max(len(self.x_train), 1)
            n_test = max(1, round(n_train * ratio))
        stratify = self.is_classification
        train = stratified_pick(self.y_train, n_train, seed, stratify=stratify)
        test = stratified_pick(self.y_test, n_test, seed + 1, stratify=stratify)
        return replace(
            self,
            x_train=take(self.x_train, train),
            y_train=self.y_train[train],
            x_test=take(self.x_test, test),
            y_test=self.y_test[test],
            class_names=list(self.class_names),
            description=_("{description} (subset: {train:,} train / {test:,} test)").format(
                description=self.description, train=len(train), test=len(test)),
            subsets=(*self.subsets, (int(n_train), int(n_test), int(seed))),
        )


def one_hot(y, num_classes: int) -> np.ndarray:
    """Integer labels ``(N,)`` as float32 one-hot rows ``(N, num_classes)``."""
    labels = np.asarray(y).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(_("labels must lie in 0..{last} for {count} classes").format(
                             last=num_classes - 1, count=num_classes))
    encoded = np.zeros((labels.size, num_classes), dtype=np.float32)
    encoded[np.arange(labels.size), labels.astype(np.intp)] = 1.0
    return encoded


def labels_look_one_hot(y) -> bool:
    """True for a 2-D array of 0/1 rows with exactly one 1 each (and at least two columns)."""
    labels = np.asarray(y)
    if labels.ndim != 2 or labels.shape[1] < 2 or labels.shape[0] == 0:
        return False
    if labels.dtype.kind not in "biuf":
        return False
    is_binary = np.isin(labels, (0, 1)).all()
    return bool(is_binary and (labels.sum(axis=1) == 1).all())
