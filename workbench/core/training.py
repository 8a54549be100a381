"""Run Keras training with a listener and a control: the one loop behind the GUI worker and the CLI.

``run_training`` calls ``model.fit(verbose=0)``; a Keras callback turns batches and epochs into
listener calls with plain Python values, honours stop/pause from ``TrainingControl`` between
batches, stops on a NaN/inf loss naming the epoch and batch, and keeps the last good weights.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core import evaluation
from workbench.core.backup import Backup, BackupError
from workbench.core.compatibility import check_compatibility  # noqa: F401 - its old home
from workbench.core.datasets import one_hot
from workbench.core.datasets.splits import is_lazy, take
from workbench.core.errors import plain_text, reason_lines
from workbench.core.feed import Rows, keras_batches
from workbench.core.spec import TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _


class TrainingError(Exception):
    """A readable reason training could not start or go on."""


class TrainingControl:
    """Thread-safe stop/pause flags, set from any thread, read by the training loop."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._waiting = threading.Event()
        self._cancelled = False

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def cancel(self) -> None:
        """Stop, and skip the work after training too (the test scores): the app is closing."""
        self._cancelled = True
        self.stop()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> float:
        """Block while paused; return the seconds spent waiting (left out of the ETA)."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._waiting.set()
        try:
            self._running.wait()
        finally:
            self._waiting.clear()
        return time.perf_counter() - start

    @property
    def waiting(self) -> bool:
        """True while a pause holds the training loop: every batch before it has been reported."""
        return self._waiting.is_set()


class TrainingListener:
    """Receives training events on the training thread. Every method is optional."""

    wants_weights = False  # send a copy of the weights after every epoch

    def on_warning(self, text: str) -> None:
        """Before training: the loss or output does not fit the labels (``text`` names the fix)."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...

    def on_epoch_begin(self, epoch: int) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...

    def on_partial_epoch_end(self, epoch: int, batches: int, logs: dict[str, float]) -> None:
        """A stop ended epoch ``epoch`` after ``batches`` of its batches. Not a finished epoch:
        it is neither counted in ``epochs_completed`` nor in the history, and ``on_epoch_end`` is
        not called for it (its ``val_*`` figures, if any, are of the part trained)."""

    def on_weights(self, epoch: int, weights: list[np.ndarray]) -> None: ...

    def on_train_end(self, result: TrainingResult) -> None: ...


@dataclass
class TrainingData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


@dataclass
class TrainingResult:
    status: str  # completed | stopped | early_stopped | nan | failed
    message: str = ""
    epochs_completed: int = 0
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch
    duration: float = 0.0
    nan_at: tuple[int, int] | None = None  # (epoch, batch), 1-based epoch
    # Batches trained in an epoch a stop cut short (0: the run ended at an epoch's end).
    partial_batches: int = 0
    # Several workers (core.multiworker): the training samples this worker trained on in the
    # last epoch, its share of every global batch.
    shard_samples: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "stopped", "early_stopped")


# Data preparation -------------------------------------------------------------------------------


def adapt_inputs(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """Reshape samples to the model's input when only the layout differs (28×28 ↔ 784 ↔ 28×28×1).

    The reshaping is evaluation.adapt_inputs; this adds the training-side advice on what to change.
    """
    try:
        return evaluation.adapt_inputs(x, tuple(input_shape))
    except ValueError:
        raise TrainingError(
            _("the dataset's samples have shape {shape} but the model's input is "
              "{input_shape}; set the model's input shape to {shape}").format(
                shape=tuple(x.shape[1:]), input_shape=tuple(input_shape))
        ) from None


def adapt_labels(y: np.ndarray, loss: str, num_classes: int, output_shape) -> np.ndarray:
    """Integer labels become one-hot for categorical losses, and back for sparse ones."""
    if loss in ("categorical_crossentropy", "hinge") and y.ndim == 1 and num_classes:
        return one_hot(y, num_classes)
    if loss == "sparse_categorical_crossentropy" and y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    if loss in ("mean_squared_error", "mean_absolute_error", "huber") and num_classes and (
        output_shape and output_shape[-1] == num_classes and y.ndim == 1
    ):
        return one_hot(y, num_classes)
    return y


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int | None):
    """A seeded random split (Keras's own validation_split takes the last rows, unshuffled)."""
    from workbench.core.datasets.splits import validation_indices

    if fraction <= 0 or len(x) < 2:
        return TrainingData(x, y)
    train, val = validation_indices(len(x), fraction, seed)
    if is_lazy(x):
        return TrainingData(take(x, train), y[train], take(x, val), y[val])
    return TrainingData(Rows(x, train), y[train], Rows(x, val), y[val])  # no copy (core.feed)


def prepare_data(dataset, model_input_shape, config: TrainConfig,
                 output_shape=None) -> TrainingData:
    """Shape the dataset's training split for this model and loss; split off validation.
    Samples decoded as read (a big folder) stay so: ``run_training`` streams them."""
    x = dataset.x_train
    x = adapt_inputs(x if is_lazy(x) else np.asarray(x, dtype=np.float32), model_input_shape)
    y = adapt_labels(np.asarray(dataset.y_train), config.loss, dataset.num_classes, output_shape)
    return split_validation(x, y, config.validation_split, config.seed)


# The loop ---------------------------------------------------------------------------------------


def _floats(logs: dict | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def _make_bridge(keras, listener: TrainingListener, control: TrainingControl, state: dict):
    class _Bridge(keras.callbacks.Callback):
        """Runs on the training thread, between batches."""

        def on_train_begin(self, logs=None):
            state["good_weights"] = self.model.get_weights()
            if listener.wants_weights:  # epoch -1: the weights before training
                listener.on_weights(-1, [w.copy() for w in state["good_weights"]])

        def on_epoch_begin(self, epoch, logs=None):
            if state["epoch"] == 0 and epoch > 0:  # resumed from a backup after ``epoch`` epochs
                state["epochs_completed"] = epoch
                state["history"] = {k: v[:epoch] for k, v in state["history"].items()}
            state["epoch"] = epoch
            state["batches"] = 0
            listener.on_epoch_begin(epoch)

        def on_train_batch_end(self, batch, logs=None):
            values = _floats(logs)
            loss = values.get("loss")
            if loss is not None and not math.isfinite(loss):
                state["nan_at"] = (state["epoch"] + 1, batch + 1)
                self.model.stop_training = True
                return
            state["batches"] = batch + 1
            listener.on_batch_end(state["epoch"], batch, values)
            state["paused_s"] += control.wait_if_paused()
            if control.stop_requested:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if state["nan_at"] is not None:
                return
            values = _floats(logs)
            if any(not math.isfinite(v) for k, v in values.items() if "loss" in k):
                state["nan_at"] = (epoch + 1, 0)
                self.model.stop_training = True
                return
            try:
                values["learning_rate"] = float(self.model.optimizer.learning_rate)
            except (TypeError, ValueError, AttributeError):
                pass
            if state["batches"] < state["steps"]:
                # Keras ends (and validates) the epoch a stop broke off; it is not a full one.
                state["partial_batches"] = state["batches"]
                listener.on_partial_epoch_end(epoch, state["batches"], values)
                return
            state["epochs_completed"] = epoch + 1
            for key, value in values.items():
                state["history"].setdefault(key, []).append(value)
            if state["backup"] is not None:  # before Keras's backup of the epoch (run_training)
                state["backup"].write_history(state["history"])
            listener.on_epoch_end(epoch, values)
            weights = self.model.get_weights()
            state["good_weights"] = weights
            if listener.wants_weights:
                listener.on_weights(epoch, [w.copy() for w in weights])
            if control.stop_requested:  # asked at the epoch's end (a sweep pruning a trial):
                self.model.stop_training = True  # no batch of the next epoch runs

    return _Bridge()


# A regularizer factor from which the penalty, not the learning rate, is the likely culprit.
_LARGE_REGULARIZER = 0.1


def _nan_advice(model) -> str:
    """What to change after a NaN: the learning rate, or first the regularizers when a factor
    is large (a penalty of 1000·Σw² overflows whatever the learning rate)."""
    factors = []
    for layer in model.layers:
        for attr in ("kernel_regularizer", "bias_regularizer", "recurrent_regularizer",
                     "activity_regularizer"):
            regularizer = getattr(layer, attr, None)
            if regularizer is not None:
                config = regularizer.get_config()
                factors += [float(config.get(k) or 0) for k in ("l1", "l2")]
    if factors and max(factors) >= _LARGE_REGULARIZER:
        return (_("Try smaller regularizer factors (the largest is {largest:g}), then a "
                  "lower learning rate.").format(largest=max(factors)))
    return _("Try a lower learning rate.")


def run_training(model, data: TrainingData, config: TrainConfig,
                 listener: TrainingListener | None = None,
                 control: TrainingControl | None = None,
                 backup_dir: Path | None = None) -> TrainingResult:
    """Train a compiled ``model`` on ``data``; never raises for a failure during training.

    The returned result says how it ended; after a NaN the model holds the last good weights
    (those at the end of the last finite epoch). ``backup_dir``: Keras's ``BackupAndRestore``
    keeps the model and optimizer there after every epoch, and this run's history beside them;
    a run started again with the same folder after a kill goes on from the last epoch backed up
    (at most one epoch is lost) and reports the whole run's history.
    """
    _tf, keras = load_tensorflow()
    listener = listener or TrainingListener()
    control = control or TrainingControl()
    state: dict[str, Any] = {
        "epoch": 0, "nan_at": None, "epochs_completed": 0, "history": {}, "paused_s": 0.0,
        "good_weights": None, "batches": 0, "partial_batches": 0,
        "backup": None if backup_dir is None else Backup(backup_dir),
    }
    callbacks = [_make_bridge(keras, listener, control, state)]
    restore = None
    if state["backup"] is not None:
        state["history"] = state["backup"].read_history()
        # After the bridge: an epoch's history is written before its backup, so a kill between
        # the two leaves one epoch too many in the history, which the resumed run cuts off.
        restore = state["backup"].keras_callback(keras)
        callbacks.append(restore)
    has_val = data.x_val is not None and len(data.x_val) > 0
    early = early_stopping(keras, config.early_stopping, has_val)
    if early is not None:
        callbacks.append(early)
    n = len(data.x_train)
    steps = max(1, math.ceil(n / config.batch_size))
    state["steps"] = steps
    listener.on_train_begin({
        "epochs": config.epochs, "steps_per_epoch": steps, "samples": n,
        "batch_size": config.batch_size,
        "validation_samples": len(data.x_val) if has_val else 0,
    })
    start = time.perf_counter()
    result = TrainingResult("completed")
    failure = None
    try:
        inputs = (data.x_train, data.y_train)
        validation = (data.x_val, data.y_val) if has_val else None
        batch_size, shuffle = config.batch_size, config.shuffle
        if is_lazy(data.x_train):  # decoded batch by batch, in parallel with training
            from workbench.core.datasets.lazy import StreamFailure, keras_stream

            failure = StreamFailure()
            inputs = (keras_stream(data.x_train, data.y_train, batch_size,
                                   shuffle=config.shuffle, seed=config.seed, failure=failure),
                      None)
            if has_val:
                validation = keras_stream(data.x_val, data.y_val, batch_size, failure=failure)
            batch_size, shuffle = None, False  # the stream batches and shuffles
            callbacks = [*callbacks, failure.callback()]
        else:  # gathered from the one in-memory array, never copied whole (core.feed)
            tf, _keras = load_tensorflow()
            inputs = (keras_batches(tf, data.x_train, data.y_train, batch_size,
                                    shuffle=config.shuffle, seed=config.seed), None)
            if has_val:
                validation = keras_batches(tf, data.x_val, data.y_val, batch_size)
            batch_size, shuffle = None, False
        model.fit(
            *inputs, validation_data=validation,
            epochs=config.epochs, batch_size=batch_size, shuffle=shuffle,
            callbacks=callbacks, verbose=0,
        )
        if failure is not None and failure.message:  # a damaged image stopped the stream
            result = TrainingResult("failed", message=_("Training stopped: {message}").format(
                                                          message=failure.message))
    except Exception as exc:  # noqa: BLE001 - any failure inside Keras is reported, not raised
        message = (_("Training stopped: {message}").format(message=failure.message)
                   if failure and failure.message
                   else str(exc) if isinstance(exc, BackupError) else _describe_failure(exc))
        result = TrainingResult("failed", message=message)
    if restore is not None and restore.restored_epochs > state["epochs_completed"]:
        # Resumed from a backup of every epoch (killed while it saved its results): none ran.
        state["epochs_completed"] = restore.restored_epochs
        state["history"] = {k: v[:restore.restored_epochs] for k, v in state["history"].items()}
    result.duration = time.perf_counter() - start - state["paused_s"]
    result.epochs_completed = state["epochs_completed"]
    result.history = state["history"]
    result.partial_batches = state["partial_batches"]
    if state["nan_at"] is not None:
        epoch, batch = state["nan_at"]
        where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch}"
        result.status = "nan"
        result.nan_at = state["nan_at"]
        result.message = (
            _("The loss became NaN/infinite at {where}; training stopped and the "
              "weights from the last good epoch were kept. {nan_advice}").format(
                where=where, nan_advice=_nan_advice(model))
        )
        if state["good_weights"] is not None:
            model.set_weights(state["good_weights"])
    elif result.status == "completed":
        if control.stop_requested:
            result.status = "stopped"
            result.message = _("Stopped by the user after {epochs_completed} epoch(s)").format(
                                 epochs_completed=state['epochs_completed'])
            if result.partial_batches:
                result.message += (_(" and {partial_batches} of {steps} batches of "
                                     "epoch {epochs_completed}").format(
                                       partial_batches=result.partial_batches,
                                       steps=steps,
                                       epochs_completed=state['epochs_completed'] + 1))
            result.message += "."
        elif early is not None and early.stopped_epoch > 0:
            result.status, result.message = "early_stopped", early_stop_message(early)
    listener.on_train_end(result)
    return result


def early_stopping(keras, settings: dict | None, has_val: bool):
    """The run's Keras ``EarlyStopping`` (None when off), for both training loops (``fit`` and
    core.multiworker's): ``val_*`` monitors the training figure when there is no validation;
    accuracies must rise, everything else fall."""
    if not settings:
        return None
    monitor = str(settings.get("monitor", "val_loss"))
    if monitor.startswith("val_") and not has_val:
        monitor = monitor[4:]
    return keras.callbacks.EarlyStopping(
        monitor=monitor, patience=int(settings.get("patience", 3)),
        restore_best_weights=bool(settings.get("restore_best_weights", True)),
        mode="max" if "acc" in monitor else "min")


def early_stop_message(early) -> str:
    return _("Early stopping at epoch {stopped_epoch}: {monitor} stopped improving.").format(
               stopped_epoch=early.stopped_epoch + 1, monitor=early.monitor)


def _describe_failure(exc: BaseException) -> str:
    text = plain_text(exc)
    label = re.search(r"Received a label value of (-?\d+) which is outside the valid range of "
                      r"\[0, (\d+)\)", text)
    if label:
        return (_("Training failed: a label is {label} but the last layer has only "
                  "{outputs} outputs. Make the last Dense layer as wide as the number of "
                  "classes.").format(label=label.group(1), outputs=label.group(2)))
    # TensorFlow puts its stack of Python frames first; the reason is the last plain line.
    detail = reason_lines(exc)[-1]
    if isinstance(exc, MemoryError) or "OOM" in text or "out of memory" in text.lower():
        return _("Training ran out of memory; use a smaller batch size or a smaller model.")
    if "shape" in detail.lower():
        return (_("Training failed: the labels do not fit the model's output "
                  "({detail}). Check the last layer's units and the loss.").format(
                    detail=detail))
    return _("Training failed: {detail}").format(detail=detail)
