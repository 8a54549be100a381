"""What a dataset holds: ``workbench dataset`` (and any view that lists a dataset's contents)."""

from __future__ import annotations

import numpy as np


def _counts(y, classes: int) -> list[int]:
    if not classes:
        return [int(len(y))]  # regression: one number, the sample count
    labels = np.asarray(y).reshape(len(y), -1)
    labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0]
    return np.bincount(labels.astype(np.int64), minlength=classes)[:classes].tolist()


def describe(dataset) -> dict:
    """``{"name", "task", "input_shape", "classes", "train_counts", "test_counts"}``; the counts
    are per class (in the order of ``classes``), or ``[samples]`` for a regression dataset."""
    classes = list(dataset.class_names) if dataset.task == "classification" else []
    return {
        "name": dataset.name,
        "task": dataset.task,
        "input_shape": list(dataset.input_shape),
        "classes": classes,
        "train_counts": _counts(dataset.y_train, len(classes)),
        "test_counts": _counts(dataset.y_test, len(classes)),
    }
