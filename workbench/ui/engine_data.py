"""The window's dataset as an engine request names it: a built-in by its name; the project's own
file or folder sent once by its content's hash (engine/datacache.py); arrays the window holds
that no file has (a subset made in this session, labels changed in place) sent as an ``.npz`` of
exactly those arrays. Blocking (hashing, sending): call it off the GUI thread. No TensorFlow.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from workbench.core.datasets import dataset_names
from workbench.core.datasets.splits import is_lazy
from workbench.engine import datacache


def dataset_body(engine, name: str, dataset, as_loaded: bool) -> dict:
    """``{"dataset": name[, "dataset_hash"]}`` for a ``train`` request of ``engine`` (a client:
    ``request`` is used to send what it lacks). ``as_loaded``: ``dataset`` is the project's
    dataset just as ``name`` loads (else its arrays are sent). DataCacheError, EngineError."""
    if as_loaded and name in dataset_names():
        return {"dataset": name}
    if as_loaded and Path(name).exists():
        digest, _ = datacache.send(engine.request, name)
        return {"dataset": name, "dataset_hash": digest}
    if any(is_lazy(x) for x in (dataset.x_train, dataset.x_test)):
        raise datacache.DataCacheError(f"{name} changed since it was opened: open it again")
    with tempfile.TemporaryDirectory(prefix="workbench-data-") as folder:
        path = Path(folder) / "dataset.npz"
        arrays = {"x_train": dataset.x_train, "y_train": dataset.y_train,
                  "x_test": dataset.x_test, "y_test": dataset.y_test}
        if dataset.class_names:
            arrays["class_names"] = np.asarray(dataset.class_names, dtype=str)
        np.savez(path, **arrays)
        digest, _ = datacache.send(engine.request, path)
    return {"dataset": name, "dataset_hash": digest}
