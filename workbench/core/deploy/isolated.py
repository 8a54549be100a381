"""Run what can crash the process in a child process instead.

Two native failures were measured with TensorFlow 2.21 / ai-edge-litert 2.3, both killing the
whole process (a segfault or an abort, no Python exception): the TFLite int8 calibrator on some
graphs, and LiteRT's default CPU delegate (XNNPACK) preparing some int8 graphs ("double free",
an int8 GRU). In the app that would close the window. So the int8 conversion runs in a child
Python, and before a ``.tflite`` is loaded here a child loads it and runs one sample, first with
the default delegate, then without it; the parent uses the first that survived.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from workbench.core.deploy import DeployError
from workbench.i18n import _

CHILD_TIMEOUT_S = 900

_PROBE = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
options = {}
if sys.argv[2] == "builtin":
    options["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
interpreter = Interpreter(model_path=sys.argv[1], **options)
interpreter.allocate_tensors()
first = interpreter.get_input_details()[0]
interpreter.set_tensor(first["index"], np.zeros(first["shape"], first["dtype"]))
interpreter.invoke()
"""


def _env() -> dict:
    """The child imports this same ``workbench`` (a worktree's, not an installed one)."""
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _died(code: int) -> str:
    if code < 0:
        try:
            return f"it crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"it crashed (signal {-code})"
    return f"it failed (exit code {code})"


def _run(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                              env=_env(), timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DeployError(_("it took more than {child_timeout_s} s and was stopped").format(
                              child_timeout_s=CHILD_TIMEOUT_S)) from None


def safe_resolver(path: str | os.PathLike) -> str:
    """``"default"`` or ``"builtin"``: the LiteRT op resolver that loads and runs ``path``
    without crashing (DeployError when neither does)."""
    reasons = []
    for resolver in ("default", "builtin"):
        proc = _run(["-c", _PROBE, str(path), resolver])
        if proc.returncode == 0:
            return resolver
        reasons.append(_died(proc.returncode))
    raise DeployError(_("{path}: the LiteRT interpreter cannot run it ({reasons}): "
                        "export it as TFLite float32 or ONNX instead").format(
                          path=path, reasons=reasons[-1]))


def write_tflite_in_child(model, path: str | os.PathLike, quantize: str | None,
                          representative: np.ndarray | None) -> None:
    """``tflite.write_tflite`` in a child Python: a converter crash becomes a DeployError."""
    with tempfile.TemporaryDirectory(prefix="workbench-tflite-") as folder:
        saved = Path(folder) / "model.keras"
        model.save(saved)
        samples = Path(folder) / "samples.npy"
        np.save(samples, np.zeros((0,), np.float32) if representative is None
                else np.asarray(representative, np.float32))
        proc = _run(["-m", "workbench.core.deploy.tflite", str(saved), str(samples), str(path),
                     quantize or "float32"])
    if proc.returncode == 0:
        return
    Path(path).unlink(missing_ok=True)
    if proc.returncode == 2 and proc.stdout.strip():  # the child's own readable DeployError
        raise DeployError(proc.stdout.strip().splitlines()[-1])
    raise DeployError(_("the TFLite converter could not quantise this model to "
                        "{quantize} ({died}): export it as TFLite float32/float16 or "
                        "ONNX instead").format(
                          quantize=quantize, died=_died(proc.returncode)))
