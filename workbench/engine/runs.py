"""The engine's training jobs: ``train`` (streamed as it runs), ``check_run``, ``result``, and the
run's controls (``stop``, ``pause``, ``resume``, ``cancel``).

A run streams the listener's events to its caller. A window asks for ``batch_interval``: the
batches then come coalesced, at most that often, as ``batches`` events that carry what its curves
draw (each batch's own loss and metric taken out of Keras's running means, the position, the
speed and the active seconds, pauses left out), so a fast model does not flood its GUI thread;
the CLI gets one ``batch_end`` per batch. While a pause holds the loop the run says ``paused``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from workbench.core.training import TrainingControl, TrainingListener
from workbench.engine import watch
from workbench.engine.plain import floats, outcome_to_dict
from workbench.engine.server import INLINE, Call, one_line
from workbench.engine.sources import EngineRequestError, keras_bytes
from workbench.engine.sources import dataset as named_dataset
from workbench.i18n import _

# Batch chunk columns: x in epochs (fractional), per-batch loss, per-batch metric (NaN if none).
BATCH_COLUMNS = 3
KEPT_RESULTS = 2  # replies kept for callers whose link dropped (``result``)


class TimedControl(TrainingControl):
    """A TrainingControl that counts the seconds spent paused (left out of rates and ETA) and
    calls ``on_held()`` as a pause starts to hold the loop."""

    def __init__(self) -> None:
        super().__init__()
        self.paused_seconds = 0.0
        self.on_held = None

    def wait_if_paused(self) -> float:
        if self.paused and self.on_held is not None:
            self.on_held()
        waited = super().wait_if_paused()
        self.paused_seconds += waited
        return waited


class RunStream(TrainingListener):
    """Streams a run's events to the caller and its watchers (``call``: a ``watch.RunFeed``; see
    the module); ``interval`` > 0 coalesces its batches into ``batches`` events, else each is a
    ``batch_end``."""

    def __init__(self, call: Call | watch.RunFeed, control: TimedControl, weights: bool,
                 metric: str, interval: float = 0.0):
        self.call, self.control, self.wants_weights = call, control, weights
        self.metric, self.interval = metric, interval
        self._steps = self._samples = self._batch_size = self._epochs = 1
        self._pending: list[tuple[float, float, float]] = []
        self._last_emit = self._start = self._epoch_start = self._epoch_paused = 0.0
        self._prev_means: dict[str, float] = {}
        self._last_position = (0, -1)
        control.on_held = self._held

    def active_seconds(self) -> float:
        return time.perf_counter() - self._start - self.control.paused_seconds

    def _held(self) -> None:
        self._flush()
        self.call.emit("paused", {"elapsed": self.active_seconds()})

    def on_warning(self, text):
        self.call.emit("warning", {"text": text})

    def on_train_begin(self, info):
        self._steps = max(1, int(info["steps_per_epoch"]))
        self._samples, self._batch_size = int(info["samples"]), int(info["batch_size"])
        self._epochs = int(info["epochs"])
        self._start = time.perf_counter()
        self.call.emit("train_begin", {"info": _plain(info)})

    def on_epoch_begin(self, epoch):
        self._prev_means = {}
        self._epoch_start = time.perf_counter()
        self._epoch_paused = self.control.paused_seconds
        self.call.emit("epoch_begin", {"epoch": epoch})

    def _batch_value(self, key: str, batch: int, mean: float) -> float:
        # Keras 3 reports running means over the epoch so far, weighted by samples; take the
        # batch's own value back out of them so the faint curve really is per batch.
        seen = min((batch + 1) * self._batch_size, self._samples)
        before = min(batch * self._batch_size, self._samples)
        size = seen - before
        previous = self._prev_means.get(key)
        self._prev_means[key] = mean
        if batch == 0 or previous is None or size <= 0:
            return mean
        return (mean * seen - previous * before) / size

    def on_batch_end(self, epoch, batch, logs):
        if self.interval <= 0:
            self.call.emit("batch_end", {"epoch": epoch, "batch": batch, "logs": floats(logs)})
            return
        x = epoch + (batch + 1) / self._steps
        loss = self._batch_value("loss", batch, logs.get("loss", math.nan))
        metric = logs.get(self.metric)
        metric = math.nan if metric is None else self._batch_value(self.metric, batch, metric)
        self._pending.append((x, loss, metric))
        self._last_position = (epoch, batch)
        now = time.perf_counter()
        if now - self._last_emit >= self.interval or self.control.paused:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if not self._pending:
            return
        now = time.perf_counter() if now is None else now
        epoch, batch = self._last_position
        active = now - self._epoch_start - (self.control.paused_seconds - self._epoch_paused)
        samples = min((batch + 1) * self._batch_size, self._samples)
        self.call.emit("batches", {
            "points": np.array(self._pending, dtype=np.float64).reshape(-1, BATCH_COLUMNS),
            "epoch": epoch, "batch": batch, "steps": self._steps, "epochs": self._epochs,
            "samples_per_s": samples / active if active > 0 else 0.0,
            "elapsed": self.active_seconds()})
        self._pending = []
        self._last_emit = now

    def on_epoch_end(self, epoch, logs):
        self._flush()
        self.call.emit("epoch_end", {"epoch": epoch, "logs": floats(logs),
                                     "elapsed": self.active_seconds()})

    def on_partial_epoch_end(self, epoch, batches, logs):
        self._flush()
        self.call.emit("partial_epoch_end", {"epoch": epoch, "batches": batches,
                                             "logs": floats(logs)})

    def on_weights(self, epoch, weights):
        self.call.emit("weights", {"epoch": epoch, "weights": [np.asarray(w) for w in weights]})

    def on_train_end(self, result):
        self._flush()  # the reply carries the result


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


def train(state, call: Call) -> dict:
    """Train ``spec`` with ``config`` on ``dataset``; streams the listener's events (and the
    weights after each epoch unless ``weights`` is false); replies with the outcome. With
    ``outcome_on_error`` a run that cannot start or breaks off replies a failed outcome (its
    record, the window's one line) instead of an error."""
    from workbench.actions.train import display_metric

    body = call.body
    with state._lock:  # this run is the one in hand (a queued run of the same client, too)
        if state.training is None or state.training["id"] != call.id:
            state.training = _running(call)
        feed = state.training["feed"]
    job = TimedControl()
    state.controls[call.id] = job
    started, metric, reply, error = time.time(), "accuracy", None, ""
    try:
        from workbench.core.spec import TrainConfig

        config = TrainConfig.from_dict(body.get("config") or {})
        # As the caller loaded it (``seed``: the window's), else with the run's seed.
        dataset = named_dataset(body, body.get("seed", config.seed))
        metric = display_metric(getattr(dataset, "task", "classification"))
        run = _train(state, feed, body, config, dataset, job, metric)
        reply = outcome_to_dict(run.outcome)
        if body.get("keras_file"):  # a caller on another machine: the trained model as its file
            reply["keras"] = keras_bytes(run.model)
    except Exception as exc:
        if not body.get("outcome_on_error"):
            error = one_line(exc)
            raise
        reply = _failed(body, exc, started, metric)
    finally:
        if reply is not None:  # for a caller whose link drops as the reply is sent (``result``)
            with state._lock:
                state.results[call.id] = reply, list(feed.epochs)
                for old in list(state.results)[:-KEPT_RESULTS]:
                    del state.results[old]
        state.controls.pop(call.id, None)
        _ended(state, call)
        feed.end(reply, error)
    return reply


def _train(state, feed, body: dict, config, dataset, job: TimedControl, metric: str):
    from workbench.actions.train import train as train_action

    more: dict[str, Any] = {}
    devices = int(body.get("devices") or 1)
    if devices > 1:  # mirrored over that many devices, as ``train --strategy mirrored``
        from workbench.core.distribute import mirrored

        more["strategy"] = mirrored(devices)
    if body.get("tensorboard"):
        if getattr(state, "remote", False):
            raise EngineRequestError(_("TensorBoard files are written only by an engine on "
                                       "this machine: turn Train ▸ Write TensorBoard files off "
                                       "to train on a remote engine"))
        more["tensorboard_dir"] = str(body["tensorboard"])
    listener = RunStream(feed, job, bool(body.get("weights", True)), metric,
                         float(body.get("batch_interval") or 0.0))
    return train_action(body.get("spec"), config, dataset,
                        str(body.get("dataset_name") or body["dataset"]), listener, job,
                        run_id=int(body.get("run_id", 1)),
                        initial_weights=body.get("initial_weights"),
                        continues=body.get("continues"),
                        initial_epoch=int(body.get("initial_epoch", 0)), **more)


def _failed(body: dict, exc: Exception, started: float, metric: str) -> dict:
    from workbench.actions.train import failed_outcome, failure_message

    outcome = failed_outcome(body.get("config") or {}, str(body.get("dataset_name")
                                                           or body.get("dataset") or ""),
                             failure_message(exc), int(body.get("run_id", 1)), started, metric)
    return outcome_to_dict(outcome)


def control(state, call: Call) -> dict:
    """``stop``/``pause``/``resume``/``cancel`` the job of request ``body["request"]``
    (``cancel``: stop, and skip the test scores: its window is closing)."""
    job = state.controls.get(call.body.get("request"))
    if job is None:
        return {"found": False}
    getattr(job, call.message.name)()
    return {"found": True}


def result(state, call: Call) -> dict:
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


def _ended(state, call: Call) -> None:
    with state._lock:
        if state.training is not None and state.training["id"] == call.id:
            state.training = None


def admit_train(state, call: Call, register: bool = True) -> None:
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
                                       "{since}").format(title=running["title"],
                                                         since=running["since"]))


def check_run(state, call: Call) -> dict:
    """Train's checks before a run (``actions.train.preflight``) made here, on the engine's own
    memory and copy of the data: ``problem`` ("" when the run can start)."""
    from workbench.actions.train import preflight
    from workbench.core.inspect import inspect_model
    from workbench.core.spec import ModelSpec, TrainConfig

    spec = ModelSpec.from_dict(call.body.get("spec"))
    config = TrainConfig.from_dict(call.body.get("config") or {})
    return {"problem": preflight(spec, inspect_model(spec), config,
                                 named_dataset(call.body, call.body.get("seed", config.seed)))}


REQUESTS = {"train": (train, "jobs"), "check_run": (check_run, "jobs"),
            "result": (result, INLINE),
            **dict.fromkeys(("stop", "pause", "resume", "cancel"), (control, INLINE))}


def admits(state) -> dict:
    """The requests refused on arrival while another client's run is in hand."""
    return {"train": lambda call: admit_train(state, call),
            **dict.fromkeys(("check_run", "has_data", "put_data"),
                            lambda call: admit_train(state, call, register=False))}


