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
import time
from typing import Any

import numpy as np

from workbench.core.training import TrainingControl, TrainingListener
from workbench.engine import watch
from workbench.engine.plain import floats, inspection_to_dict, outcome_to_dict
from workbench.engine.protocol import PROTOCOL, new_id
from workbench.engine.server import INLINE, Call, Handler, one_line
from workbench.engine.sources import EngineRequestError
from workbench.engine.sources import build as _build
from workbench.engine.sources import dataset as _dataset
from workbench.engine.sources import keras_bytes as _keras_bytes
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
        self.device: dict | None = None
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


def control(state: EngineState, call: Call) -> dict:
    """``stop``/``pause``/``resume`` the job of request ``body["request"]``."""
    job = state.controls.get(call.body.get("request"))
    if job is None:
        return {"found": False}
    getattr(job, call.message.name)()
    return {"found": True}


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


# --- training and evaluation (the jobs lane) ---------------------------------------------------


class _Streaming(TrainingListener):
    """A TrainingListener that streams every event to the caller (and its watchers: a
    ``watch.RunFeed``) as it happens."""

    def __init__(self, call: Call | watch.RunFeed, weights: bool):
        self.call, self.wants_weights = call, weights

    def on_warning(self, text):
        self.call.emit("warning", {"text": text})

    def on_train_begin(self, info):
        self.call.emit("train_begin", {"info": _plain(info)})

    def on_epoch_begin(self, epoch):
        self.call.emit("epoch_begin", {"epoch": epoch})

    def on_batch_end(self, epoch, batch, logs):
        self.call.emit("batch_end", {"epoch": epoch, "batch": batch, "logs": floats(logs)})

    def on_epoch_end(self, epoch, logs):
        self.call.emit("epoch_end", {"epoch": epoch, "logs": floats(logs)})

    def on_partial_epoch_end(self, epoch, batches, logs):
        self.call.emit("partial_epoch_end", {"epoch": epoch, "batches": batches,
                                             "logs": floats(logs)})

    def on_weights(self, epoch, weights):
        self.call.emit("weights", {"epoch": epoch, "weights": [np.asarray(w) for w in weights]})

    def on_train_end(self, result):
        pass  # the reply carries the result


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def train(state: EngineState, call: Call) -> dict:
    """Train ``spec`` with ``config`` on ``dataset``; streams the listener's events (and the
    weights after each epoch unless ``weights`` is false); replies with the outcome."""
    from workbench.actions.train import train as train_action
    from workbench.core.spec import TrainConfig

    body = call.body
    with state._lock:  # this run is the one in hand (a queued run of the same client, too)
        if state.training is None or state.training["id"] != call.id:
            state.training = _running(call)
        feed = state.training["feed"]
    job = TrainingControl()
    state.controls[call.id] = job
    reply, error = None, ""
    try:
        config = TrainConfig.from_dict(body.get("config") or {})
        dataset = _dataset(body, config.seed)
        listener = _Streaming(feed, bool(body.get("weights", True)))
        run = train_action(body.get("spec"), config, dataset,
                           str(body.get("dataset_name") or body["dataset"]), listener, job,
                           run_id=int(body.get("run_id", 1)),
                           initial_weights=body.get("initial_weights"),
                           continues=body.get("continues"),
                           initial_epoch=int(body.get("initial_epoch", 0)),
                           tensorboard_dir=body.get("tensorboard"))
        reply = outcome_to_dict(run.outcome)
        if body.get("keras_file"):  # a caller on another machine: the trained model as its file
            reply["keras"] = _keras_bytes(run.model)
        with state._lock:  # for a caller whose link drops as the reply is sent (``result``)
            state.results[call.id] = reply, list(feed.epochs)
            for old in list(state.results)[:-KEPT_RESULTS]:
                del state.results[old]
    except BaseException as exc:
        error = one_line(exc)
        raise
    finally:
        state.controls.pop(call.id, None)
        _ended(state, call)
        feed.end(reply, error)
    return reply


KEPT_RESULTS = 2


def result(state: EngineState, call: Call) -> dict:
    """Where the run of request ``body["request"]`` is: ``running``, its ``reply`` once it ended
    (kept for the last runs), else null, and ``epochs``: each epoch ended so far, ``{"epoch",
    "logs"}``."""
    request = call.body.get("request")
    with state._lock:
        running = state.training is not None and state.training["id"] == request
        reply, epochs = state.results.get(request, (None, []))
        if running:
            epochs = list(state.training["feed"].epochs)
    return {"running": running or request in state.controls, "reply": reply, "epochs": epochs}


def _running(call: Call) -> dict:
    title = str(call.body.get("title") or f"run {call.body.get('run_id', 1)}")[:80]
    since = time.strftime("%H:%M")
    return {"id": call.id, "client": call.identity, "title": title, "since": since,
            "feed": watch.RunFeed(call, title, since)}


def _ended(state: EngineState, call: Call) -> None:
    with state._lock:
        if state.training is not None and state.training["id"] == call.id:
            state.training = None


def admit_train(state: EngineState, call: Call, register: bool = True) -> None:
    """On the I/O thread, as a train request (or a dataset for one) arrives: refused at once
    while another client's run is in hand (it would wait behind it unseen); the same client's
    queue as before."""
    with state._lock:
        running = state.training
        if running is None:
            if register:
                state.training = _running(call)
        elif running["client"] != call.identity:
            raise EngineRequestError(_("busy: training {title} for another window since "
                                       "{since}").format(
                                         title=running['title'], since=running['since']))


def check_run(state: EngineState, call: Call) -> dict:
    """Train's checks before a run (``actions.train.preflight``) made here, on the engine's own
    memory and copy of the data: ``problem`` ("" when the run can start)."""
    from workbench.actions.train import preflight
    from workbench.core.inspect import inspect_model
    from workbench.core.spec import ModelSpec, TrainConfig

    spec = ModelSpec.from_dict(call.body.get("spec"))
    config = TrainConfig.from_dict(call.body.get("config") or {})
    return {"problem": preflight(spec, inspect_model(spec), config,
                                 _dataset(call.body, config.seed))}


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
    return {"device": state.wait_device()}


def handlers(state: EngineState) -> dict[str, Handler]:
    from workbench.engine.sweeps import check_space

    def bound(fn):
        return lambda call: fn(state, call)

    table = {"ping": (ping, INLINE), "stop": (control, INLINE), "pause": (control, INLINE),
             "resume": (control, INLINE), "shutdown": (shutdown, INLINE),
             "result": (result, INLINE), "watch": (watch.watch, INLINE),
             "unwatch": (watch.unwatch, INLINE),
             "inspect": (inspect, "inspect"), "check_space": (check_space, "inspect"),
             "train": (train, "jobs"),
             "evaluate": (evaluate, "evaluate"), "check_run": (check_run, "jobs"),
             "has_data": (has_data, "jobs"),
             "put_data": (put_data, "jobs"), "device": (device, "views"),
             "load_model": (load_model, "views"), "set_weights": (set_weights, "views"),
             "predict": (predict, "views"), "release": (release, "views")}
    from workbench.engine import views

    table.update(views.REQUESTS)  # explain, activations, layers, feature space, class pictures
    from workbench.engine import deployed, files

    table.update(files.REQUESTS)  # open_model, open_weights, save_keras, export
    table.update(deployed.REQUESTS)  # Draw's comparison with an exported model
    admits = {"train": bound(admit_train),
              **dict.fromkeys(("check_run", "has_data", "put_data"),
                              lambda call: admit_train(state, call, register=False))}
    return {name: Handler(bound(fn), lane, admits.get(name)) for name, (fn, lane) in table.items()}
