"""Datasets for training: built-in names, downloads and the user's own files, as numpy arrays
(a big folder or .npz as ``lazy.Samples``, read when used).

Importing this package never imports TensorFlow; loaders that need Keras import it when called.
"""

from workbench.core.datasets.dataset import Dataset, DatasetError, labels_look_one_hot, one_hot
from workbench.core.datasets.registry import (
    DEFAULT_DATASET,
    dataset_names,
    describe,
    load_dataset,
)

__all__ = [
    "DEFAULT_DATASET",
    "Dataset",
    "DatasetError",
    "dataset_names",
    "describe",
    "labels_look_one_hot",
    "load_dataset",
    "one_hot",
]
