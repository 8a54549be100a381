"""TFLite: written by Keras (``model.export(format="litert")``), run in the LiteRT interpreter.

The export takes one sample per call (a static batch of 1, as on a phone): with a dynamic batch the
converter turns an LSTM into Select-TF (Flex) ops that the LiteRT interpreter cannot run; with a
fixed batch it uses builtin ops only. Only builtin ops are allowed, so a file that converts runs.
``quantize``: None (float32), ``"float16"`` (weights stored as float16) or ``"int8"`` (weights and
activations as int8, calibrated on a representative set; inputs and outputs stay float32).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from workbench.core.deploy import QUANTIZE, DeployError
from workbench.core.deploy.prepare import convert, inference_model, unrolled
from workbench.core.deploy.quiet import captured
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import N_, _

WAY_OUT = N_("export it as ONNX or SavedModel instead, "
             "or build the model without that layer")  # translated where shown


def write_tflite(model, path: str | os.PathLike, quantize: str | None = None,
                 representative: Iterable[np.ndarray] | None = None) -> None:
    """Write ``model`` as a ``.tflite`` file at ``path`` (which must end in ``.tflite``).

    ``representative``: samples (each without the batch axis) the int8 calibration runs.
    """
    if quantize not in (None, *QUANTIZE):
        raise DeployError(_("unknown quantisation {quantize!r}: use {quantize2}").format(
                              quantize=quantize, quantize2=' or '.join(QUANTIZE)))
    tf, _keras = load_tensorflow()
    source = inference_model(model)
    kwargs: dict = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantize is not None:
        kwargs["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        kwargs["target_spec"]["supported_types"] = [tf.float16]
    elif quantize == "int8":
        samples = np.asarray(list(representative) if representative is not None else [],
                             dtype=np.float32)
        if not len(samples):
            raise DeployError(_("int8 needs representative samples (the training data) to "
                                "calibrate on"))
        source = unrolled(source)
        kwargs["representative_dataset"] = lambda: ([s[None]] for s in samples)
    shape = tuple(source.inputs[0].shape[1:])
    signature = [tf.TensorSpec((1, *shape), tf.float32, name="input")]
    convert(source, path, "litert", "TFLite", _(WAY_OUT), input_signature=signature, **kwargs)


def write_tflite_safely(model, path: str | os.PathLike, quantize: str | None = None,
                        representative: Iterable[np.ndarray] | None = None) -> None:
    """``write_tflite``; int8 (whose calibrator can crash the process) in a child process."""
    if quantize != "int8":
        write_tflite(model, path, quantize, representative)
        return
    from workbench.core.deploy.isolated import write_tflite_in_child

    samples = None if representative is None else np.asarray(list(representative), np.float32)
    write_tflite_in_child(model, path, quantize, samples)


class LiteRTRuntime:
    """A ``.tflite`` file in an ``ai_edge_litert`` interpreter (created once). ``run`` takes any
    batch and feeds it one sample at a time when the file has a fixed batch of 1; one call at a
    time (the interpreter is not thread-safe). A child process tries the file first (see
    ``isolated.safe_resolver``), so a file that crashes the interpreter is refused, not run."""

    runtime = "LiteRT"

    def __init__(self, path: str | os.PathLike):
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as exc:
            raise DeployError(_("running TFLite needs ai-edge-litert ({exc}): pip "
                                "install ai-edge-litert").format(exc=exc)) from None
        from workbench.core.deploy.isolated import safe_resolver

        self.path = Path(path)
        self._lock = threading.Lock()
        # XNNPACK, the default CPU delegate, fails to prepare some int8 graphs (an unrolled
        # LSTM's: an error; a GRU's: a crash); the builtin kernels run them.
        options = {}
        self.resolver = safe_resolver(path)
        if self.resolver == "builtin":
            options["experimental_op_resolver_type"] = \
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            with captured():
                interpreter = Interpreter(model_path=str(path), **options)
                interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise DeployError(_("{path}: the LiteRT interpreter cannot load it ({first})").format(
                                  path=path, first=first[:200])) from None
        self._interpreter = interpreter
        self._in = interpreter.get_input_details()[0]
        self._out = interpreter.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self._in["shape"][1:])
        self.batch = int(self._in["shape"][0])
        self.input_dtype = np.dtype(self._in["dtype"])

    def run(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        interpreter, index, out = self._interpreter, self._in["index"], self._out["index"]
        step = self.batch if self.batch > 0 else len(batch)
        results = []
        with self._lock:
            for start in range(0, len(batch), step):
                interpreter.set_tensor(index, np.ascontiguousarray(batch[start:start + step]))
                interpreter.invoke()
                results.append(interpreter.get_tensor(out).copy())
        return np.concatenate(results) if results else np.zeros((0,), np.float32)

    def close(self) -> None:
        self._interpreter = None


def _child(argv: list[str]) -> int:
    """``python -m workbench.core.deploy.tflite MODEL.keras SAMPLES.npy OUT.tflite QUANTIZE``:
    the conversion for ``isolated.write_tflite_in_child`` (exit 2 + one line: a DeployError)."""
    from workbench.core.modelio import load_model

    saved, samples, out, quantize = argv
    try:
        write_tflite(load_model(saved, compile=False), out,
                     None if quantize == "float32" else quantize, np.load(samples))
    except DeployError as exc:
        print(exc)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_child(sys.argv[1:]))
