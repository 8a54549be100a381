"""The engine's requests: each a thin call of ``workbench/actions`` or ``workbench/core``.

``handlers(state)`` is the table the server dispatches from: name -> (function, lane). Bodies
are plain JSON and numpy arrays (see docs/engine-protocol.md); a Keras model never leaves the
lane that built it: the views' models live on the ``views`` lane under a handle, training and
evaluation build their own on the ``jobs`` lane.
"""

from __future__ import annotations

import os
import platform
import threading
from typing import Any

import numpy as np

from workbench.core.training import TrainingControl
from workbench.engine import runs, watch
from workbench.engine.plain import inspection_to_dict
from workbench.engine.protocol import PROTOCOL, new_id
from workbench.engine.server import INLINE, Call, Handler
from workbench.engine.sources import EngineRequestError
from workbench.engine.sources import build as _build
from workbench.i18n import _


class EngineState:
    """What the engine holds between requests: the controls of running jobs and the views'
    models (handle -> source, weights; the built models on the views lane only)."""

    def __init__(self) -> None:
        self.controls: dict[str, TrainingControl] = {}  # request id -> its running job's
        self.sources: dict[str, tuple[tuple, list | None]] = {}  # handle -> (source, weights)
        self.models: dict[str, Any] = {}  # handle -> Keras model (views lane only)
        self.deployed: dict[str, tuple] = {}  # handle -> (export's runtime, its temporary folder)
        self.predictor = None
        self.evaluation = None  # the evaluate lane's kept model and dataset (engine.evaluation)
        self.compute_model = None  # (architecture, model) of the compute lane (engine.views)
        self.device: dict | None = None
        self.remote = False  # served to other machines (workbench engine --listen)
        # The run in hand: {"id", "client", "title", "since", "feed" (watch.RunFeed: its events to
        # its caller and watchers, its epochs so far)}; another client's train is refused.
        self.training: dict | None = None
        # The replies (and epochs' logs) of the last runs, by request id: a caller whose link
        # dropped as the reply was sent asks for it again (``result``).
        self.results: dict[str, tuple[dict, list]] = {}
        self._device_ready = threading.Event()
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Import TensorFlow and find the device (run at start, on a thread of its own, so the
        import overlaps the window's first paint)."""
        try:
            self.device = describe_device()
        finally:
            self._device_ready.set()

    def wait_device(self) -> dict:
        if not self._device_ready.is_set():
            self.warm_up()
        return self.device or {"kind": "CPU", "name": "unknown"}

    def cancel_all(self) -> None:
        for control in list(self.controls.values()):
            control.cancel()
        from workbench.engine.deployed import release_all

        release_all(self)  # the exports' temporary copies go with the engine


def describe_device() -> dict:
    """``{"kind": "GPU"|"CPU", "name", "count", "choices"}``: where this engine's TensorFlow
    computes, and what a run can be mirrored over (``core.distribute.device_choices``: [label,
    devices] pairs). Where there is no GPU, TensorFlow starts with its CPU split in two logical
    devices (they cannot be made later), so that a run can be mirrored over two."""
    from workbench.core.distribute import device_choices, split_cpu
    from workbench.core.tf_loader import load_tensorflow

    tf, _keras = load_tensorflow(setup=split_cpu)
    choices = [[label, n] for label, n in device_choices(tf)]
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name")
        except Exception:  # noqa: BLE001 - a name is a nicety
            name = None
        return {"kind": "GPU", "name": name or gpus[0].name, "count": len(gpus),
                "choices": choices}
    return {"kind": "CPU", "name": _cpu_name(), "count": os.cpu_count() or 1,
            "choices": choices}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def device_text(device: dict | None) -> str:
    """"CPU (name)" or "GPU (name)", for a status line."""
    if not device:
        return _("unknown device")
    return f"{device.get('kind', 'CPU')} ({device.get('name', '?')})"


# --- quick requests (the I/O thread) --------------------------------------------------------


def ping(state: EngineState, call: Call) -> dict:
    from workbench.core import tf_loader

    return {"protocol": PROTOCOL, "pid": os.getpid(), "tensorflow": tf_loader.is_loaded(),
            "device": state.device, "training": watch.training(state)}


def shutdown(state: EngineState, call: Call) -> dict:
    state.cancel_all()
    call.server.stop()
    return {}


# --- the builder's inspection (the inspect lane) ----------------------------------------------


class _Superseded(Exception):  # noqa: N818 - reads as what happened to the request
    pass


def inspect(state: EngineState, call: Call) -> dict:
    """The builder's per-edit inspection; one a newer ``inspect`` of the same client supersedes
    stops at its next layer and answers ``superseded`` (what Keras computed stays cached)."""
    from workbench.core.inspect import inspect_model
    from workbench.core.spec import ModelSpec

    def check() -> None:
        if call.superseded:
            raise _Superseded()

    generation = call.body.get("generation")
    try:
        report = inspect_model(ModelSpec.from_dict(call.body.get("spec")), check=check)
    except _Superseded:
        return {"generation": generation, "superseded": True}
    return {"generation": generation, "inspection": inspection_to_dict(report)}


# --- data and evaluation (training: engine/runs.py) -------------------------------------------


def has_data(state: EngineState, call: Call) -> dict:
    from workbench.engine import datacache

    return datacache.has_data(call.body)


def put_data(state: EngineState, call: Call) -> dict:
    from workbench.engine import datacache

    return datacache.put_data(call.body, call.identity)


def evaluate(state: EngineState, call: Call) -> dict:
    """The evaluation report of a model (``handle``, or ``spec``/``plain`` with ``weights``) on
    the test split of ``dataset`` (engine/evaluation.py, on a lane of its own)."""
    from workbench.engine.evaluation import evaluate as evaluate_model

    return evaluate_model(state, call, _source(state, call.body))


# --- the views' models (the views lane) -----------------------------------------------------


def _source(state: EngineState, body: dict) -> tuple[tuple, list | None]:
    handle = body.get("handle")
    if handle is not None:
        if handle not in state.sources:
            raise EngineRequestError(_("the engine holds no model {handle!r}").format(
                                         handle=handle))
        return state.sources[handle]
    if "spec" in body:
        return ("spec", body["spec"]), body.get("weights")
    if "plain" in body:
        return ("plain", body["plain"]), body.get("weights")
    raise EngineRequestError(_("the request gives no model (handle, spec or plain)"))


def load_model(state: EngineState, call: Call) -> dict:
    """Build a model (``spec`` or ``plain``, with ``weights``) and keep it under ``handle`` (the
    caller's name for it, replacing what it named before; a new one if not given). The caller
    may use a handle of its own choosing at once: this lane serves its requests in order."""
    from workbench.core.inference import Predictor

    handle = call.body.get("handle")
    if handle is None:
        handle = new_id()
    elif not isinstance(handle, str) or not 0 < len(handle) <= 64:
        raise EngineRequestError(_("a model handle is a name of 1 to 64 characters"))
    state.sources.pop(handle, None)  # a build that fails leaves no stale model under the name
    state.models.pop(handle, None)
    source, weights = _source(state, {k: v for k, v in call.body.items() if k != "handle"})
    model = _build(source, weights)
    if state.predictor is None:
        state.predictor = Predictor()
    try:
        state.predictor.warm(model)  # the first drawing is then fast
    except ValueError:
        pass  # a model Draw cannot use: its predict says why
    state.sources[handle], state.models[handle] = (source, weights), model
    return {"handle": handle}


def set_weights(state: EngineState, call: Call) -> dict:
    source, _kind = _source(state, call.body)
    weights = call.body.get("weights")
    if not isinstance(weights, list):
        raise EngineRequestError(_("set_weights needs a list of weight arrays"))
    handle = call.body["handle"]
    try:
        state.models[handle].set_weights([np.asarray(w) for w in weights])
    except ValueError:
        raise EngineRequestError(_("the weights do not fit the model")) from None
    state.sources[handle] = (source, weights)
    return {}


def predict(state: EngineState, call: Call) -> dict:
    """Draw's answer: the model ``handle`` on one preprocessed 28×28 ``digit``: its raw
    ``output`` and, read as classes, ``probabilities``, ``predicted`` and ``note`` (or
    ``problem``: why the output is no probabilities, e.g. not a number)."""
    from workbench.actions.predict import read_output

    _source(state, call.body)
    digit = call.body.get("digit")
    if not isinstance(digit, np.ndarray) or digit.shape != (28, 28):
        raise EngineRequestError(_("predict needs a 28×28 digit array"))
    try:  # on this lane's traced call (~1 ms)
        output = state.predictor.predict(state.models[call.body["handle"]], digit)
    except ValueError as exc:  # the model does not take a 28×28 picture
        raise EngineRequestError(str(exc)) from None
    reply: dict[str, Any] = {"output": np.asarray(output, dtype=np.float32)}
    try:
        probabilities, note = read_output(output)
    except ValueError as exc:
        return {**reply, "problem": str(exc)}
    return {**reply, "probabilities": probabilities, "note": note,
            "predicted": int(np.argmax(probabilities))}


def release(state: EngineState, call: Call) -> dict:
    handle = call.body.get("handle")
    state.sources.pop(handle, None)
    return {"released": state.models.pop(handle, None) is not None}


def device(state: EngineState, call: Call) -> dict:
    """Where and with what this engine trains: the device (see ``describe_device``), and
    ``tensorboard``: why its runs cannot write TensorBoard files ("" when they can)."""
    from workbench.core.tensorboard import TensorBoardMissing, require

    try:
        require()
        tensorboard = ""
    except TensorBoardMissing as exc:
        tensorboard = str(exc)
    return {"device": state.wait_device(), "tensorboard": tensorboard}


def handlers(state: EngineState) -> dict[str, Handler]:
    def bound(fn):
        return lambda call: fn(state, call)

    table = {"ping": (ping, INLINE), "shutdown": (shutdown, INLINE),
             "watch": (watch.watch, INLINE), "unwatch": (watch.unwatch, INLINE),
             "inspect": (inspect, "inspect"),
             "evaluate": (evaluate, "evaluate"), "has_data": (has_data, "jobs"),
             "put_data": (put_data, "jobs"), "device": (device, "views"),
             "load_model": (load_model, "views"), "set_weights": (set_weights, "views"),
             "predict": (predict, "views"), "release": (release, "views")}
    from workbench.engine import views

    table.update(views.REQUESTS)  # explain, activations, layers, feature space, class pictures
    from workbench.engine import deployed, files

    table.update(files.REQUESTS)  # open_model, open_weights, save_keras, export
    table.update(deployed.REQUESTS)  # Draw's comparison with an exported model
    from workbench.engine import spec_requests

    table.update(spec_requests.REQUESTS)  # a sweep's space checked, the augmentation preview
    table.update(runs.REQUESTS)  # train, check_run, result, stop, pause, resume, cancel
    admits = runs.admits(state)
    return {name: Handler(bound(fn), lane, admits.get(name)) for name, (fn, lane) in table.items()}
