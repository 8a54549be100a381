"""Evaluate the trained weights on the test split in the engine (its ``evaluate`` request), newest
only.

The GUI thread submits a request (the trained spec or an opened model's plain config, a copy of
the weights, the loss they were trained with, and the window's dataset by name, or by its hash
once the engine holds the file: ``ui.engine_data``); the engine answers with the one report
``workbench evaluate`` prints (its loss the compiled loss), which comes back on the GUI thread
and is signalled. A request made while one is being computed replaces any waiting one, so a run
of fast epochs costs one evaluation per idle moment, not one per epoch. Never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

from workbench.i18n import _
from workbench.ui.engine_data import EngineData

CURVE_POINTS = 200


@dataclass
class EvaluationRequest:
    token: int
    epoch: int
    model: dict[str, Any]  # ``spec`` (ours) or ``plain`` (an opened .keras), and ``weights``
    dataset: Any  # the window's Dataset (its test split is what is evaluated)
    dataset_name: str  # the name or path it was loaded as
    seed: int = 0  # the seed it was loaded with
    curve_x: np.ndarray | None = None  # 1-D regression: the inputs of the fitted curve
    loss: str | None = None  # the Keras loss the weights were trained with (the CLI's loss)


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


def result_from_reply(request: EvaluationRequest, reply: dict) -> EvaluationResult:
    """The engine's ``evaluate`` reply as what the panel draws."""
    seconds = float(reply.get("seconds", 0.0))
    if reply.get("task") == "regression":
        curve = reply.get("curve_y")
        return EvaluationResult(request.token, request.epoch, "regression",
                                np.asarray(reply["outputs"]), np.asarray(request.dataset.y_test),
                                seconds, mse=float(reply["mse"]), mae=float(reply["mae"]),
                                curve_y=None if curve is None else np.asarray(curve))
    return EvaluationResult(
        request.token, request.epoch, "classification",
        outputs=np.asarray(reply["probabilities"], np.float32),
        y_true=np.asarray(reply["labels"]), seconds=seconds,
        y_pred=np.asarray(reply["predicted"]),
        confusion=np.asarray(reply["confusion_matrix"], np.int64),
        loss=float(reply["loss"]), accuracy=float(reply["accuracy"]),
        per_class=list(reply["per_class"]), pairs=[tuple(p) for p in reply["pairs"]],
        wrong=np.asarray(reply["wrong"], np.int64), loss_name=str(reply.get("loss_name", "")))


class EvaluationWorker(QObject):
    """Evaluations in the engine of ``state`` (``state.engine``: its link, whichever engine the
    window works with now); ``submit`` from the GUI thread, results by signal (on the GUI
    thread). Only the newest request not yet sent is kept."""

    finished = pyqtSignal(object)  # EvaluationResult
    failed = pyqtSignal(int, str)  # (token, readable message)

    def __init__(self, state, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self._link = None  # the link the request in hand went through
        self.data = EngineData(self)
        self._in_flight: EvaluationRequest | None = None
        self._waiting: EvaluationRequest | None = None
        self._ask: str | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        """A request is waiting or being computed (its answer not yet delivered)."""
        return self._in_flight is not None or self._waiting is not None

    def submit(self, request: EvaluationRequest) -> None:
        if self._closed:
            return
        if self._in_flight is not None:
            self._waiting = request  # sent when the one in hand is answered
            return
        self._in_flight = request
        self._link = self.state.engine
        self.data.ensure(self._link, request.dataset, request.dataset_name, request.seed,
                         lambda body, error: self._send(request, body, error))

    def _send(self, request: EvaluationRequest, data: dict | None, error: str) -> None:
        if self._closed or request is not self._in_flight:
            return
        if data is None:
            self._answered(request, None, error)
            return
        body: dict[str, Any] = {**request.model, **data}
        if request.loss is not None:
            body["loss"] = request.loss
        if request.curve_x is not None:
            body["curve_x"] = np.asarray(request.curve_x, np.float32)
        self._ask = self._link.ask("evaluate", body,
                                  lambda reply, why: self._answered(request, reply, why))

    def _answered(self, request: EvaluationRequest, reply: dict | None, error: str) -> None:
        if self._closed or request is not self._in_flight:
            return
        self._in_flight, self._ask = None, None
        if reply is None:
            self.failed.emit(request.token, _("Cannot evaluate: {reason}").format(reason=error))
        else:
            try:
                result = result_from_reply(request, reply)
            except (KeyError, TypeError, ValueError) as exc:
                self.failed.emit(request.token, _("Cannot evaluate: an answer out of shape "
                                                 "({reason})").format(reason=exc))
            else:
                self.finished.emit(result)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self.submit(waiting)

    def close(self) -> None:
        self._closed = True
        if self._link is not None:
            self._link.forget_ask(self._ask)
        self._in_flight = self._waiting = None
        self.data.close()
