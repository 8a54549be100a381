"""Draw's second opinion in the engine: an exported model (ONNX or TFLite) sent as bytes, loaded
into its own runtime here (onnxruntime, or the LiteRT interpreter after a child process has
tried the file: ``core.deploy.isolated``), kept under the window's handle and asked one digit at
a time. ``open_deployed`` runs on the ``files`` lane (the child's trial takes a moment); the
answers on the ``views`` lane, in order with Keras's, about a millisecond each."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench.engine.server import Call
from workbench.engine.sources import EngineRequestError
from workbench.i18n import _

SUFFIXES = (".onnx", ".tflite")


def _handle(body: dict) -> str:
    handle = body.get("handle")
    if not isinstance(handle, str) or not 0 < len(handle) <= 64:
        raise EngineRequestError(_("a model handle is a name of 1 to 64 characters"))
    return handle


def open_deployed(state, call: Call) -> dict:
    """The export in ``file`` (uint8; ``name`` ends in .onnx or .tflite; ``where``: how the
    window names it) loaded into its runtime under ``handle``, called once so the first drawing
    does not wait for the runtime's set-up → ``runtime`` (its name), ``input_shape``."""
    from workbench.core.deploy import DeployError, open_runtime

    body = call.body
    handle = _handle(body)
    name = Path(str(body.get("name") or "")).name
    if Path(name).suffix.lower() not in SUFFIXES:
        raise EngineRequestError(_("{name}: not an exported model (expected .onnx or .tflite)")
                                 .format(name=name or "?"))
    data = body.get("file")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise EngineRequestError(_("the request carries no file (a uint8 array)"))
    _release(state, handle)
    folder = Path(tempfile.mkdtemp(prefix="workbench-deployed-"))
    path = folder / name
    try:
        with open(path, "wb") as out:
            out.write(memoryview(data))
        runtime = open_runtime(path)
    except DeployError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        where = str(body.get("where") or name)
        raise EngineRequestError(str(exc).replace(str(path), where)) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        runtime.run(np.zeros((1, *runtime.input_shape), np.float32))
    except Exception:  # noqa: BLE001 - a shape it cannot take is said at the first drawing
        pass
    state.deployed[handle] = (runtime, folder)
    return {"runtime": runtime.runtime, "input_shape": list(runtime.input_shape)}


def predict_deployed(state, call: Call) -> dict:
    """The export ``handle`` on one preprocessed 28×28 ``digit``, fitted to its input: its raw
    ``output`` (float32, flat) and ``latency_ms``, the runtime's call alone."""
    from workbench.core import digits

    held = state.deployed.get(call.body.get("handle"))
    if held is None:
        raise EngineRequestError(_("the engine holds no exported model {handle!r}").format(
            handle=call.body.get("handle")))
    digit = call.body.get("digit")
    if not isinstance(digit, np.ndarray) or digit.shape != (28, 28):
        raise EngineRequestError(_("predict needs a 28×28 digit array"))
    runtime = held[0]
    try:
        batch = digits.fit_to_input(np.asarray(digit, np.float32), runtime.input_shape)
        start = time.perf_counter()
        output = runtime.run(batch)
        latency = (time.perf_counter() - start) * 1000.0
    except (ValueError, RuntimeError) as exc:
        raise EngineRequestError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                                 ) from None
    return {"output": np.asarray(output, np.float32).reshape(-1), "latency_ms": latency}


def release_deployed(state, call: Call) -> dict:
    return {"released": _release(state, call.body.get("handle"))}


def release_all(state) -> None:
    for handle in list(state.deployed):
        _release(state, handle)


def _release(state, handle) -> bool:
    held = state.deployed.pop(handle, None)
    if held is None:
        return False
    runtime, folder = held
    try:
        runtime.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return True


# The deployed-model requests, name -> (function(state, call), lane).
REQUESTS = {"open_deployed": (open_deployed, "files"),
            "predict_deployed": (predict_deployed, "views"),
            "release_deployed": (release_deployed, "views")}
