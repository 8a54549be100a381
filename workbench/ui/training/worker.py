"""A training run as a task of the task runner: ``actions.train`` on a worker thread.

Only the task's thread touches the model it trains. Everything the GUI learns arrives as partial
results of plain values and numpy copies, ``(kind, payload)`` pairs: ``started`` (run info),
``batches`` (a chunk of batch points and progress figures), ``epoch`` (epoch, logs, active
seconds), ``weights`` (epoch, copies). Batch points are coalesced and sent at most ~30 times a
second, so a fast model does not flood the GUI thread. The run's ``RunOutcome`` is the task's
result; a run that cannot start or breaks off ends with a failed outcome, never with an exception.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np

from workbench.actions.train import RunOutcome, display_metric, failed_outcome, train
from workbench.core.errors import reason_lines
from workbench.core.spec import ModelSpec, SpecError, TrainConfig
from workbench.core.training import (
    TrainingControl,
    TrainingError,
    TrainingListener,
    TrainingResult,
)
from workbench.ui.tasks import Task, TaskRunner

EMIT_INTERVAL_S = 1 / 30  # at most this often a batch chunk goes to the GUI
# A run waits (at most this long) for the GUI thread to lay out and paint the clicked Train
# before building its model: building is pure Python that holds the GIL, and the click's own
# layout and paint, done while it built, took several times as long (the run's start stall).
SETTLE_TIMEOUT_S = 0.25
# Batch chunk columns: x in epochs (fractional), per-batch loss, per-batch metric (NaN if none).
BATCH_COLUMNS = 3


class TimedControl(TrainingControl):
    """A TrainingControl that also counts the seconds spent paused (left out of rates and ETA)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused_seconds = 0.0
        self.gui_settled = threading.Event()  # set by the GUI once the click is painted

    def wait_if_paused(self) -> float:
        waited = super().wait_if_paused()
        self.paused_seconds += waited
        return waited


class _RunListener(TrainingListener):
    """Runs on the task's thread; turns training events into (coalesced) ``post(kind, payload)``."""

    wants_weights = True

    def __init__(self, post, control: TimedControl, metric: str):
        self._post = post
        self._control = control
        self._metric = metric
        self._steps = 1
        self._samples = 0
        self._batch_size = 1
        self._epochs = 1
        self._pending: list[tuple[float, float, float]] = []
        self._last_emit = 0.0
        self._start = 0.0
        self._epoch_start = 0.0
        self._epoch_paused = 0.0
        self._prev_means: dict[str, float] = {}
        self._last_position = (0, -1)

    def active_seconds(self) -> float:
        return time.perf_counter() - self._start - self._control.paused_seconds

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self._steps = max(1, int(info["steps_per_epoch"]))
        self._samples = int(info["samples"])
        self._batch_size = int(info["batch_size"])
        self._epochs = int(info["epochs"])
        self._start = time.perf_counter()
        self._post("started", dict(info))

    def on_epoch_begin(self, epoch: int) -> None:
        self._prev_means = {}
        self._epoch_start = time.perf_counter()
        self._epoch_paused = self._control.paused_seconds

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

    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        x = epoch + (batch + 1) / self._steps
        loss = self._batch_value("loss", batch, logs.get("loss", math.nan))
        metric = logs.get(self._metric)
        metric = math.nan if metric is None else self._batch_value(self._metric, batch, metric)
        self._pending.append((x, loss, metric))
        self._last_position = (epoch, batch)
        now = time.perf_counter()
        if now - self._last_emit >= EMIT_INTERVAL_S or self._control.paused:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if not self._pending:
            return
        now = time.perf_counter() if now is None else now
        epoch, batch = self._last_position
        epoch_active = now - self._epoch_start - (self._control.paused_seconds - self._epoch_paused)
        epoch_samples = min((batch + 1) * self._batch_size, self._samples)
        self._post("batches", {
            "points": np.array(self._pending, dtype=np.float64).reshape(-1, BATCH_COLUMNS),
            "epoch": epoch,
            "batch": batch,
            "steps": self._steps,
            "epochs": self._epochs,
            "samples_per_s": epoch_samples / epoch_active if epoch_active > 0 else 0.0,
            "elapsed": self.active_seconds(),
        })
        self._pending = []
        self._last_emit = now

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self._flush()
        self._post("epoch", (epoch, dict(logs), self.active_seconds()))

    def on_weights(self, epoch: int, weights: list[np.ndarray]) -> None:
        self._post("weights", (epoch, weights))

    def on_train_end(self, result: TrainingResult) -> None:
        self._flush()


def train_task(state, spec: dict, config: dict, dataset, dataset_name: str, run_id: int,
               control: TimedControl, start=None, devices: int = 1,
               tensorboard=None) -> RunOutcome:
    """The task: one run of ``actions.train``; its ``RunOutcome`` (a failed one on any error).
    ``start``: a ``Continuation`` (weights to go on from) or None for a fresh model;
    ``devices`` > 1: mirrored over that many devices, as ``train --strategy mirrored``."""
    metric = display_metric(getattr(dataset, "task", "classification"))
    post = (lambda kind, payload: state.set_partial_result((kind, payload)))
    started = time.time()
    control.gui_settled.wait(SETTLE_TIMEOUT_S)
    try:
        return _train(post, spec, config, dataset, dataset_name, run_id, control, metric, start,
                      devices, tensorboard)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one readable message
        return failed_outcome(config, dataset_name, _readable(exc), run_id, started, metric)


def _train(post, spec: dict, config: dict, dataset, dataset_name: str, run_id: int,
           control: TimedControl, metric: str, start=None, devices: int = 1,
           tensorboard=None) -> RunOutcome:
    from workbench.core.distribute import mirrored

    model_spec = ModelSpec.from_dict(spec)
    listener = _RunListener(post, control, metric)
    more = {} if start is None else dict(initial_weights=start.weights, continues=start.run,
                                         initial_epoch=start.initial_epoch)
    if devices > 1:
        more["strategy"] = mirrored(devices)
    if tensorboard is not None:
        more["tensorboard_dir"] = tensorboard
    run = train(model_spec, config, dataset, dataset_name, listener, control, run_id, **more)
    outcome, train_config = run.outcome, TrainConfig.from_dict(config)
    restored = outcome.result.status == "early_stopped" and (
        train_config.early_stopping or {}).get("restore_best_weights", True)
    if outcome.weights is not None and (outcome.result.partial_batches or restored):
        # Keep the weights reached (mid-epoch, or restored by early stopping) on the GUI side.
        post("weights", (outcome.result.epochs_completed, outcome.weights))
    return outcome


class TrainingWorker:
    """One run: ``start`` it on a task runner; pause/resume/stop/cancel from the GUI thread.

    ``on_event(kind, payload)`` gets the partial results (see the module), ``on_finished(outcome)``
    the ``RunOutcome`` exactly once, both on the GUI thread.
    """

    def __init__(self, spec: dict, config: dict, dataset, dataset_name: str, run_id: int = 1,
                 start=None, devices: int = 1, tensorboard=None):
        self._args = (spec, config, dataset, dataset_name, run_id)
        self.devices = devices
        self.tensorboard = tensorboard  # a folder for the run's TensorBoard files, or None
        self.start_from = start  # a Continuation, or None: a fresh model
        self.control = TimedControl()
        self.metric = display_metric(getattr(dataset, "task", "classification"))
        self.task: Task | None = None

    def start(self, runner: TaskRunner, on_event, on_finished) -> Task:
        spec, config, dataset, dataset_name, run_id = self._args

        def failed(message: str) -> None:  # only if train_task itself broke: still one outcome
            on_finished(failed_outcome(config, dataset_name, message, run_id, None, self.metric))

        self.task = runner.start(
            train_task, *self._args, self.control, self.start_from, self.devices,
            self.tensorboard, name=f"training-run-{run_id}",
            on_partial=lambda event: on_event(*event), on_result=on_finished, on_error=failed,
            on_cancel=self.control.cancel, describe_error=_readable)
        return self.task

    def run(self) -> RunOutcome:
        """The run on the calling thread (partial results dropped): for tests and scripts."""
        self.control.gui_settled.set()
        return train_task(_Quiet(), *self._args, self.control, self.start_from, self.devices,
                          self.tensorboard)

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    # Thread-safe controls (they only set flags) --------------------------------------------------

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def cancel(self) -> None:
        """Stop as fast as possible: the window is closing, skip the test evaluation."""
        if self.task is not None:
            self.task.cancel()
        else:
            self.control.cancel()


class _Quiet:
    """A task state for a run outside the runner."""

    cancelled = False

    def set_partial_result(self, value) -> None:
        pass


def _readable(exc: BaseException) -> str:
    if isinstance(exc, (SpecError, TrainingError)):
        return f"Training could not start: {exc}"
    detail = reason_lines(exc)[0]
    if isinstance(exc, MemoryError):
        return "Training ran out of memory; use a smaller batch size or a smaller model."
    return f"Training failed: {detail}"
