"""The training worker: a QObject that lives in a QThread, builds a fresh model and trains it.

Only this worker touches the model it trains. It talks to the GUI through queued signals carrying
plain values and numpy copies. Batch points are coalesced and sent at most ~30 times a second, so a
fast model does not flood the GUI's event queue (each signal costs the GUI thread a slot call).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot

from workbench.actions.train import RunOutcome, display_metric, failed_outcome, train
from workbench.core.errors import reason_lines
from workbench.core.spec import ModelSpec, SpecError, TrainConfig
from workbench.core.training import (
    TrainingControl,
    TrainingError,
    TrainingListener,
    TrainingResult,
)

EMIT_INTERVAL_S = 1 / 30  # at most this often a batch chunk goes to the GUI
# Batch chunk columns: x in epochs (fractional), per-batch loss, per-batch metric (NaN if none).
BATCH_COLUMNS = 3


class TimedControl(TrainingControl):
    """A TrainingControl that also counts the seconds spent paused (left out of rates and ETA)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused_seconds = 0.0

    def wait_if_paused(self) -> float:
        waited = super().wait_if_paused()
        self.paused_seconds += waited
        return waited


class _SignalListener(TrainingListener):
    """Runs on the worker thread; turns training events into (coalesced) worker signals."""

    wants_weights = True

    def __init__(self, worker: TrainingWorker, control: TimedControl, metric: str):
        self._worker = worker
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
        self._worker.run_started.emit(dict(info))

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
        self._worker.batches_arrived.emit({
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
        self._worker.epoch_ended.emit(epoch, dict(logs), self.active_seconds())

    def on_weights(self, epoch: int, weights: list[np.ndarray]) -> None:
        self._worker.weights_arrived.emit(epoch, weights)

    def on_train_end(self, result: TrainingResult) -> None:
        self._flush()


class TrainingWorker(QObject):
    """Builds, trains and evaluates one run. Move it to a QThread and connect ``run`` to start."""

    run_started = pyqtSignal(dict)  # {"epochs", "steps_per_epoch", "samples", "batch_size", ...}
    batches_arrived = pyqtSignal(object)  # dict with "points" (k×3 array) and progress figures
    epoch_ended = pyqtSignal(int, dict, float)  # (epoch, Keras logs, active seconds so far)
    weights_arrived = pyqtSignal(int, object)  # (epoch, list of numpy copies)
    # A second model of the same spec for the GUI's views, built here so the GUI thread does not
    # stall on it; this worker never touches it after sending it.
    inference_ready = pyqtSignal(object)
    finished = pyqtSignal(object)  # RunOutcome, always exactly once

    def __init__(self, spec: dict, config: dict, dataset, dataset_name: str, run_id: int = 1,
                 inference_warmers: tuple | None = None):
        """``inference_warmers``: None sends no inference model; else each is called with it
        (on this thread, before it is sent)."""
        super().__init__()
        self._spec = spec
        self._inference_warmers = inference_warmers
        self._config = config
        self._dataset = dataset
        self._dataset_name = dataset_name
        self._run_id = run_id
        self.control = TimedControl()
        self.metric = display_metric(getattr(dataset, "task", "classification"))

    # Thread-safe controls (they only set flags) --------------------------------------------------

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    def cancel(self) -> None:
        """Stop as fast as possible: the window is closing, skip the test evaluation."""
        self.control.cancel()

    # The run, on the worker thread ---------------------------------------------------------------

    @pyqtSlot()
    def run(self) -> None:
        started = time.time()
        try:
            outcome = self._train()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable message
            outcome = failed_outcome(self._config, self._dataset_name, _readable(exc),
                                     self._run_id, started, self.metric)
        self.finished.emit(outcome)

    def _prepare_inference(self, spec: ModelSpec) -> None:
        if self._inference_warmers is None:
            return
        from workbench.core.build import build_model

        try:
            model = build_model(spec, name="inference")
        except Exception:  # noqa: BLE001 - the run reports an unbuildable spec itself
            return
        for warm in self._inference_warmers:
            try:
                warm(model)
            except Exception:  # noqa: BLE001 - a view that cannot use the model says so itself
                pass
        self.inference_ready.emit(model)

    def _train(self) -> RunOutcome:
        spec = ModelSpec.from_dict(self._spec)
        # Before the seeded build: building a model draws layer seeds from Python's random.
        self._prepare_inference(spec)
        listener = _SignalListener(self, self.control, self.metric)
        run = train(spec, self._config, self._dataset, self._dataset_name, listener,
                    self.control, self._run_id)
        outcome, config = run.outcome, TrainConfig.from_dict(self._config)
        restored = outcome.result.status == "early_stopped" and (
            config.early_stopping or {}).get("restore_best_weights", True)
        if outcome.weights is not None and (outcome.result.partial_batches or restored):
            # Keep the weights reached (mid-epoch, or restored by early stopping) on the GUI side.
            self.weights_arrived.emit(outcome.result.epochs_completed, outcome.weights)
        return outcome


def _readable(exc: BaseException) -> str:
    if isinstance(exc, (SpecError, TrainingError)):
        return f"Training could not start: {exc}"
    detail = reason_lines(exc)[0]
    if isinstance(exc, MemoryError):
        return "Training ran out of memory; use a smaller batch size or a smaller model."
    return f"Training failed: {detail}"
