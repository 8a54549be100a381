"""SavedModel (for TF Serving): written by Keras (``model.export(format="tf_saved_model")``),
reloaded with ``tf.saved_model.load`` and run through its ``serve`` endpoint.

A SavedModel is a folder. ``replacing_folder`` writes it beside the target and swaps it in, so a
failed export leaves the old folder (or none), never half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from workbench.core.deploy import DeployError
from workbench.core.deploy.prepare import inference_model
from workbench.core.deploy.quiet import captured
from workbench.core.tf_loader import load_tensorflow


def is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file()


@contextmanager
def replacing_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary folder beside ``path``; when the block succeeds it becomes ``path``.

    ``path`` may be missing, an empty folder or an earlier SavedModel (which is replaced); any other
    folder or file there is refused (we never delete what we did not write).
    """
    path = Path(path)
    if path.exists() and not (path.is_dir() and (is_saved_model(path) or not any(path.iterdir()))):
        raise DeployError(f"{path}: exists and is not a SavedModel folder: choose a new or empty "
                          "folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_saved_model(model, path: str | os.PathLike) -> None:
    """Write ``model``'s inference function as a SavedModel into the (new) folder ``path``."""
    tf, _ = load_tensorflow()
    source = inference_model(model)
    shape = tuple(source.inputs[0].shape[1:])
    with captured() as lines:
        try:
            source.export(str(path), format="tf_saved_model", verbose=False,
                          input_signature=[tf.TensorSpec((None, *shape), tf.float32,
                                                         name="input")])
            failed = None
        except Exception as exc:  # noqa: BLE001
            failed = exc
    if failed is not None:
        text = "\n".join([str(failed), *lines])
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "it failed")
        raise DeployError(f"the SavedModel could not be written: {first[:200]}")


class SavedModelRuntime:
    """A SavedModel folder reloaded by TensorFlow, called through its ``serve`` endpoint."""

    runtime = "TensorFlow (SavedModel)"

    def __init__(self, path: str | os.PathLike):
        tf, _ = load_tensorflow()
        self.path = Path(path)
        if not is_saved_model(self.path):
            raise DeployError(f"{path}: not a SavedModel folder (no saved_model.pb in it)")
        try:
            with captured():
                self._loaded = tf.saved_model.load(str(path))
        except Exception as exc:  # noqa: BLE001
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise DeployError(f"{path}: TensorFlow cannot load it ({first[:200]})") from None
        self._serve = getattr(self._loaded, "serve", None)
        if self._serve is None:
            raise DeployError(f"{path}: the SavedModel has no serve endpoint")
        self._tf = tf

    def run(self, batch: np.ndarray) -> np.ndarray:
        out = self._serve(self._tf.constant(np.asarray(batch, dtype=np.float32)))
        if isinstance(out, dict):
            out = next(iter(out.values()))
        if isinstance(out, (list, tuple)):
            out = out[0]
        return np.asarray(out)

    def close(self) -> None:
        self._loaded = self._serve = None
