"""Evaluate the trained weights on the test split in a task of the task runner, newest only.

The GUI thread submits a request (the trained spec, a copy of the weights, the test arrays); the
evaluation task builds its own Keras model, loads those weights, predicts the test split in
batches and hands back a plain-numpy result (delivered on the GUI thread, then signalled). A
request that arrives while one is being computed replaces any waiting one, so a run of fast epochs
costs one evaluation per idle moment, not one per epoch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core import evaluation
from workbench.core.errors import reason_lines
from workbench.ui.tasks import Task, TaskRunner

IDLE_EXIT_S = 1.0  # an idle evaluation thread ends after this long
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
    external: Any = None  # a model opened from a file: its plain config (or the Keras model)
    curve_x: np.ndarray | None = None  # 1-D regression: the inputs of the fitted curve
    loss: Any = None  # the Keras loss the weights were trained with (the loss the CLI reports)


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
    loss_name: str = ""  # the Keras loss ``loss`` is ("": the crossentropy of the probabilities)


def summarise(request: EvaluationRequest, outputs: np.ndarray, seconds: float,
              curve_y: np.ndarray | None = None,
              report: evaluation.ClassifierReport | None = None) -> EvaluationResult:
    """Turn raw model outputs on the test split into everything the panel shows: the one
    report of core.evaluation, ``report`` when it was made by ``classify`` as
    ``workbench evaluate`` makes it (same loss)."""
    result = EvaluationResult(request.token, request.epoch, request.task, outputs,
                              np.asarray(request.y), seconds, curve_y=curve_y)
    if request.task == "regression":
        if np.size(outputs) == np.size(request.y) and len(request.y):
            regression = evaluation.regression_report(request.y, outputs)
            result.mse, result.mae = regression["mse"], regression["mae"]
        return result
    if report is None:
        report = evaluation.classification_report(outputs, request.y, request.num_classes)
    result.outputs = report.probabilities.astype(np.float32)
    result.y_true = report.labels
    result.y_pred = report.predicted
    result.confusion = report.confusion
    result.accuracy = report.accuracy
    result.loss = report.loss
    result.per_class = report.per_class
    result.pairs = report.pairs
    result.wrong = report.wrong
    return result


class _Relay(QObject):
    """The worker's signals (emitted on the GUI thread, as the task runner delivers)."""

    finished = pyqtSignal(object)  # EvaluationResult
    failed = pyqtSignal(int, str)  # (token, readable message)


class EvaluationWorker:
    """Evaluations as one task of the task runner; ``submit`` from the GUI thread, results by
    signal. Only the newest request that has not been started on is kept.

    The model lives inside the task: built from the spec (or from the plain config of a model
    opened from a file) on the task's thread, loaded with copies of the weights, and gone when the
    task ends after ``IDLE_EXIT_S`` without requests; nothing outlives a closed window.
    """

    def __init__(self, parent: QObject | None = None):
        self.relay = _Relay()
        self.finished = self.relay.finished
        self.failed = self.relay.failed
        self.runner = TaskRunner(parent)
        self._task: Task | None = None
        self._closed = False
        self._submitted = 0  # sequence numbers: the newest submitted and the newest answered
        self._answered = 0

    @property
    def busy(self) -> bool:
        """A request is waiting or being computed (its answer not yet delivered)."""
        return self._answered < self._submitted

    def submit(self, request: EvaluationRequest) -> None:
        if self._closed or self.runner.closed:
            return
        if request.external is not None and not isinstance(request.external, dict):
            # Sent as plain data; the task builds its own copy (the original stays on this side).
            request = replace(request, external=_plain_model(request.external),
                              weights=request.weights if request.weights is not None
                              else [w.copy() for w in request.external.get_weights()])
        self._submitted += 1
        self._send([("evaluate", (self._submitted, request))])

    def _send(self, messages: list) -> None:
        if self._task is None:
            self._task = self.runner.start(_evaluate_requests, name="evaluation",
                                           on_partial=self._on_answer,
                                           on_finished=self._on_task_ended)
        for key, message in messages:
            self._task.send(message, key=key)

    def _on_answer(self, answer: tuple) -> None:
        seq, kind, payload = answer
        self._answered = max(self._answered, seq)
        if self._closed:
            return
        if kind == "done":
            self.finished.emit(payload)
        else:
            self.failed.emit(*payload)

    def _on_task_ended(self, task: Task) -> None:
        if task is not self._task:
            return
        self._task = None
        left = task.take_messages()  # sent while the idle task was ending
        if task.status == "failed":
            self._answered = self._submitted
        if left and not self._closed:
            self._send(left)

    def close(self, wait: float = 0.0) -> None:
        self._closed = True
        if wait > 0:
            self.runner.shutdown(wait)
        else:
            self.runner.cancel_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every request is answered (for benchmarks), delivering on this thread."""
        end = time.monotonic() + timeout
        while self.busy and time.monotonic() < end:
            task = self._task
            if task is None:
                break
            task.join(0.005)
            self.runner.deliver()
        return not self.busy

    def compute(self, request: EvaluationRequest) -> EvaluationResult:
        """Evaluate one request here, on the calling thread, with a model of its own."""
        return _compute(request, _ModelCache())


class _ModelCache:
    """The model of one evaluation task, touched only by that task's thread."""

    def __init__(self) -> None:
        self.model = None
        self.key: Any = None

    def model_for(self, request: EvaluationRequest):
        from workbench.core.build import build_model
        from workbench.core.spec import ModelSpec

        if request.external is not None:
            key = ("external", json.dumps(request.external, sort_keys=True, default=str))
            if key != self.key:
                self.model, self.key = _model_from_plain(request.external), key
        else:
            key = json.dumps([request.spec, request.loss], sort_keys=True, default=str)
            if key != self.key:
                self.model = build_model(ModelSpec.from_dict(request.spec), name="evaluation")
                if request.loss is not None:  # scored by the loss it was trained with
                    self.model.compile(loss=request.loss)
                self.key = key
        if request.weights is not None:
            self.model.set_weights(request.weights)
        return self.model


def _evaluate_requests(state, idle_exit_s: float = IDLE_EXIT_S) -> None:
    """The evaluation task: answer requests until idle for ``idle_exit_s`` seconds."""
    cache = _ModelCache()
    for seq, request in state.requests(idle_exit_s):
        try:
            result = _compute(request, cache)
        except Exception as exc:  # noqa: BLE001 - reported to the user, the task goes on
            cache.key = None  # a failed build or load leaves no half-usable model behind
            state.set_partial_result((seq, "failed", (request.token, _readable(exc))))
        else:
            state.set_partial_result((seq, "done", result))


def _compute(request: EvaluationRequest, cache: _ModelCache) -> EvaluationResult:
    start = time.perf_counter()
    model = cache.model_for(request)
    shape = evaluation.model_input_shape(model)
    x = evaluation.adapt_inputs(request.x, shape)  # a big folder's samples: read in chunks
    if request.task == "classification":  # the report `workbench evaluate` prints, its loss too
        report = evaluation.classify(model, x, request.y, num_classes=request.num_classes)
        result = summarise(request, report.probabilities, time.perf_counter() - start,
                           report=report)
        compiled = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
        result.loss_name = compiled if isinstance(compiled, str) else ""
        return result
    outputs = evaluation.predict_outputs(model, x)
    curve_y = None
    if request.curve_x is not None:
        curve_y = evaluation.predict_outputs(model, evaluation.adapt_inputs(request.curve_x, shape))
    return summarise(request, outputs, time.perf_counter() - start, curve_y)


def _plain_model(model) -> dict:
    from workbench.core.modelio import model_to_plain

    return model_to_plain(model)


def _model_from_plain(config: dict):
    from workbench.core.modelio import model_from_plain

    return model_from_plain(config)


def _readable(exc: BaseException) -> str:
    first = reason_lines(exc)[0]
    if isinstance(exc, ValueError):
        return f"Cannot evaluate: {first}"
    return f"Evaluation failed: {first}"
