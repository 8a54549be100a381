"""ONNX: written by Keras (``model.export(format="onnx")``, through tf2onnx), run in onnxruntime.

``tf2onnx.convert.from_keras`` fails on Keras 3 models (``KeyError: 'keras_tensor_...'``); Keras's
own exporter traces the model's call and hands the function to tf2onnx, which works. tf2onnx does
not raise on an op it cannot convert: it logs the op and writes a graph onnxruntime then rejects.
``write_onnx`` reads those log records and names the layer instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from workbench.core.deploy import DeployError
from workbench.core.deploy.prepare import convert, inference_model
from workbench.core.deploy.quiet import captured
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import N_, _

WAY_OUT = N_("export it as TFLite or SavedModel instead, "
             "or build the model without that layer")  # translated where shown


def _signature(model, batch: int | None):
    tf, _keras = load_tensorflow()
    shape = tuple(model.inputs[0].shape[1:])
    return [tf.TensorSpec((batch, *shape), tf.float32, name="input")]


def write_onnx(model, path: str | os.PathLike) -> None:
    """Write ``model`` (its inference function) as an ONNX file at ``path``; DeployError naming
    the layer when tf2onnx cannot convert it."""
    load_tensorflow()
    source = inference_model(model)
    try:
        convert(source, path, "onnx", "ONNX", _(WAY_OUT),
                lambda text: "Unsupported ops" in text or "is not supported" in text,
                input_signature=_signature(source, None))
    except ImportError as exc:
        raise DeployError(_("ONNX export needs tf2onnx and onnx ({exc}): install them "
                            "with pip install tf2onnx onnx onnxruntime").format(exc=exc)) from None


class OnnxRuntime:
    """An ``.onnx`` file in an onnxruntime session (created once; ``run`` is thread-safe)."""

    runtime = "onnxruntime"

    def __init__(self, path: str | os.PathLike):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DeployError(_("running ONNX needs onnxruntime ({exc}): pip install "
                                "onnxruntime").format(exc=exc)) from None
        self.path = Path(path)
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its warnings are about graph clean-ups
        try:
            with captured():
                self._session = ort.InferenceSession(str(path), options,
                                                     providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise DeployError(_("{path}: onnxruntime cannot load it ({first})").format(
                                  path=path, first=first[:200])) from None
        first_input = self._session.get_inputs()[0]
        self._input = first_input.name
        self.input_shape = tuple(first_input.shape[1:])

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return np.asarray(self._session.run(None, {self._input: batch})[0])

    def close(self) -> None:
        self._session = None
