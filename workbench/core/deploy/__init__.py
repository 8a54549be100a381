"""Deployment formats: the trained model as ONNX, TFLite (LiteRT) or a TensorFlow SavedModel, each
written by Keras's own ``model.export`` and run again in its own runtime (onnxruntime, the LiteRT
interpreter, a reloaded SavedModel) so a report can say what the exported file computes.

Qt-free. The converters and runtimes are heavy optional libraries: every module here imports them
inside the functions that need them, so importing this package costs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.i18n import _

FORMATS = ("onnx", "tflite", "saved-model")
QUANTIZE = ("float16", "int8")  # TFLite post-training quantisation; None is float32
TITLES = {"onnx": "ONNX", "tflite": "TFLite", "saved-model": "SavedModel"}


class DeployError(Exception):
    """One readable line: what could not be exported or run, and the way out."""


def format_of(path: str | os.PathLike) -> str:
    """The deployment format a written export has, by its name (a folder is a SavedModel)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".tflite":
        return "tflite"
    if path.is_dir() or suffix == "":
        return "saved-model"
    raise DeployError(_("{path}: not an exported model (expected .onnx, .tflite or a "
                        "SavedModel folder)").format(path=path))


def open_runtime(path: str | os.PathLike):
    """The exported model at ``path`` loaded into its own runtime: a ``Runtime`` (``run(batch)``
    -> outputs). DeployError when the runtime cannot load it."""
    path = Path(path)
    kind = format_of(path)
    if not path.exists():
        raise DeployError(_("{path}: no such file").format(path=path))
    _check_regular_files(path, kind)
    if kind == "onnx":
        from workbench.core.deploy.onnx import OnnxRuntime

        return OnnxRuntime(path)
    if kind == "tflite":
        from workbench.core.deploy.tflite import LiteRTRuntime

        return LiteRTRuntime(path)
    from workbench.core.deploy.savedmodel import SavedModelRuntime

    return SavedModelRuntime(path)


def _check_regular_files(path: Path, kind: str) -> None:
    """Refuse a FIFO, a device or a link to one before a runtime opens it (onnxruntime would
    wait forever on a FIFO): the file itself, or every file of a SavedModel folder."""
    from workbench.core.safe_io import FileRefused, check_regular

    what = _("{format} file").format(format=TITLES[kind])
    files = [path] if kind != "saved-model" else [p for p in path.rglob("*") if not p.is_dir()]
    try:
        for file in files:
            check_regular(file, "model", what)
    except FileRefused as exc:
        raise DeployError(str(exc)) from None
