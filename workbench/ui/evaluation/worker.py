"""Evaluate the trained weights on the test split on a thread of its own, newest request only.

The GUI thread submits a request (the trained spec, a copy of the weights, the test arrays); one
Python thread at a time (it ends when idle) uses the worker's own Keras model, loads those
weights, predicts the test split in batches and sends a plain-numpy result back through a queued
Qt signal. A request that arrives
while one is being computed replaces any waiting one, so a run of fast epochs costs one evaluation
per idle moment, not one per epoch.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core import evaluation
from workbench.core.errors import reason_lines

IDLE_EXIT_S = 1.0  # an idle evaluation thread ends after this long
PREDICT_BATCH = 2048  # predict_on_batch per chunk: far less overhead than model.predict
CURVE_POINTS = 200


@dataclass
class EvaluationRequest:
    token: int
    epoch: int
    x: np.ndarray
    y: np.ndarray
    task: str  # classification | regression
    num_classes: int
    weights: list | None = None
    spec: dict | None = None  # a workbench model spec, or None with ``external``
    external: Any = None  # a Keras model opened from a file; only cloned, never run, here
    curve_x: np.ndarray | None = None  # 1-D regression: the inputs of the fitted curve


@dataclass
class EvaluationResult:
    token: int
    epoch: int
    task: str
    outputs: np.ndarray  # class probabilities (N, C) or regression predictions (N, k)
    y_true: np.ndarray
    seconds: float
    y_pred: np.ndarray | None = None
    confusion: np.ndarray | None = None
    loss: float = float("nan")
    accuracy: float = float("nan")
    per_class: list[dict] = field(default_factory=list)
    pairs: list = field(default_factory=list)
    wrong: np.ndarray | None = None  # misclassified test indices, most confident first
    mse: float = float("nan")
    mae: float = float("nan")
    curve_y: np.ndarray | None = None


def predict_batches(model, x: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """All outputs of ``model`` for ``x``; one compiled call per chunk, no progress bar."""
    if len(x) == 0:
        return np.zeros((0, 1), dtype=np.float32)
    parts = [np.asarray(model.predict_on_batch(x[i:i + batch_size]))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts, axis=0)


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> float:
    if len(y) == 0:
        return float("nan")
    picked = probs[np.arange(len(y)), y.astype(np.int64)]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


def summarise(request: EvaluationRequest, outputs: np.ndarray, seconds: float,
              curve_y: np.ndarray | None = None) -> EvaluationResult:
    """Turn raw model outputs on the test split into everything the panel shows."""
    result = EvaluationResult(request.token, request.epoch, request.task, outputs,
                              np.asarray(request.y), seconds, curve_y=curve_y)
    if request.task == "regression":
        if np.size(outputs) == np.size(request.y) and len(request.y):
            report = evaluation.regression_report(request.y, outputs)
            result.mse, result.mae = report["mse"], report["mae"]
        return result
    y = evaluation.class_labels(request.y)
    probs = evaluation.to_probabilities(np.asarray(outputs).reshape(len(outputs), -1))
    n = max(request.num_classes, probs.shape[1], int(y.max(initial=-1)) + 1)
    if probs.shape[1] < n:
        probs = np.pad(probs, ((0, 0), (0, n - probs.shape[1])))
    result.outputs = probs.astype(np.float32)
    result.y_true = y
    result.y_pred = np.argmax(probs, axis=1)
    result.confusion = evaluation.confusion_matrix(y, result.y_pred, n)
    result.accuracy = float(np.mean(result.y_pred == y)) if len(y) else float("nan")
    result.loss = cross_entropy(probs, y)
    result.per_class = evaluation.per_class_metrics(result.confusion)
    result.pairs = evaluation.most_confused_pairs(result.confusion, 8)
    result.wrong = np.asarray(evaluation.misclassified(y, probs), dtype=np.int64)
    return result


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from the evaluation thread arrive queued."""

    finished = pyqtSignal(object)  # EvaluationResult
    failed = pyqtSignal(int, str)  # (token, readable message)


class EvaluationWorker:
    """One evaluation thread with its own model; ``submit`` from the GUI thread, results by signal.

    The relay has no Qt parent: it lives as long as this object (the panel and a running thread
    hold it), so a thread never emits through a relay that Qt has already deleted.
    """

    def __init__(self):
        self.relay = _Relay()
        self.finished = self.relay.finished
        self.failed = self.relay.failed
        self._cond = threading.Condition()
        self._pending: EvaluationRequest | None = None
        self._closed = False
        self._busy = False
        self._thread: threading.Thread | None = None
        # Touched only by the evaluation thread (one at a time, never the GUI thread):
        self._model = None
        self._model_key: Any = None

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._busy or self._pending is not None

    def submit(self, request: EvaluationRequest) -> None:
        with self._cond:
            if self._closed:
                return
            self._pending = request  # replaces a request nobody has started on yet
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="evaluation", daemon=True)
                self._thread.start()
            self._cond.notify()

    def close(self, wait: float = 0.0) -> None:
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify()
            thread = self._thread
        if thread is not None and wait > 0 and thread is not threading.current_thread():
            thread.join(wait)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing is pending or running (for benchmarks and tests)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self.busy:
                return True
            time.sleep(0.005)
        return False

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None and not self._closed:
                    self._cond.wait(IDLE_EXIT_S)
                if self._closed or self._pending is None:
                    # Idle: end the thread (the next submit starts another) so that nothing
                    # outlives a closed window; the model stays cached for the next one.
                    self._thread = None
                    return
                request, self._pending = self._pending, None
                self._busy = True
            try:
                result = self.compute(request)
            except Exception as exc:  # noqa: BLE001 - reported to the user, the thread goes on
                self._emit(self.failed, request.token, _readable(exc))
            else:
                self._emit(self.finished, result)
            finally:
                with self._cond:
                    self._busy = False

    def _emit(self, signal, *args) -> None:
        with self._cond:
            if self._closed:
                return
        try:
            signal.emit(*args)
        except RuntimeError:  # the panel (and its relay) is gone
            self.close()

    # On the evaluation thread only ---------------------------------------------------------------

    def _model_for(self, request: EvaluationRequest):
        from workbench.core.tf_loader import load_tensorflow

        _, keras = load_tensorflow()
        if request.external is not None:
            key = ("external", id(request.external))
            if key != self._model_key:
                from workbench.core.build import LAYER_CONSTRUCTION

                try:
                    # A private copy, so the GUI thread may keep using the original.
                    with LAYER_CONSTRUCTION:
                        model = keras.models.clone_model(request.external)
                except Exception:  # noqa: BLE001 - subclassed models cannot be cloned
                    model = request.external
                self._model, self._model_key = model, key
        else:
            key = json.dumps(request.spec, sort_keys=True, default=str)
            if key != self._model_key:
                from workbench.core.build import build_model
                from workbench.core.spec import ModelSpec

                self._model = build_model(ModelSpec.from_dict(request.spec), name="evaluation")
                self._model_key = key
        if request.weights is not None and self._model is not request.external:
            self._model.set_weights(request.weights)
        return self._model

    def compute(self, request: EvaluationRequest) -> EvaluationResult:
        start = time.perf_counter()
        model = self._model_for(request)
        shape = evaluation.model_input_shape(model)
        x = evaluation.adapt_inputs(np.asarray(request.x, dtype=np.float32), shape)
        outputs = predict_batches(model, x)
        curve_y = None
        if request.curve_x is not None:
            curve_y = predict_batches(model, evaluation.adapt_inputs(request.curve_x, shape))
        return summarise(request, outputs, time.perf_counter() - start, curve_y)


def _readable(exc: BaseException) -> str:
    first = reason_lines(exc)[0]
    if isinstance(exc, ValueError):
        return f"Cannot evaluate: {first}"
    return f"Evaluation failed: {first}"
