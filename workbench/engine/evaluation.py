"""The ``evaluate`` request: a model's report on a dataset's test split, the one report the CLI's
``workbench evaluate`` prints (``actions.evaluate``) and the Evaluation tab draws.

It runs on the ``evaluate`` lane, so a window's evaluation after each epoch neither waits for the
run in hand (``jobs``) nor holds up Draw (``views``). The lane keeps the last model it built (and
the last dataset it loaded): after each epoch only the weights change, so the model is built and
its predict step traced once per architecture, not once per epoch.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from workbench.actions.errors import ActionError
from workbench.engine.sources import build, dataset
from workbench.i18n import _

LANE = "evaluate"


class _Kept:
    """What the evaluate lane keeps between requests (touched by that lane's thread only)."""

    def __init__(self) -> None:
        self.model_key: str | None = None
        self.model = None
        self.data_key: str | None = None
        self.data = None


def _kept(state) -> _Kept:
    kept = state.evaluation
    if kept is None:
        kept = state.evaluation = _Kept()
    return kept


def _model(found: tuple, body: dict, kept: _Kept):
    """The request's model (``found``: its source and weights) holding its weights; a spec
    compiled with ``loss``, so the report's loss is the compiled loss the run reported (an opened
    ``.keras`` keeps its own)."""
    source, weights = found
    loss = body.get("loss")
    key = json.dumps([source, loss], sort_keys=True, default=str)
    if key != kept.model_key:
        kept.model_key, kept.model = None, None  # a failed build leaves nothing half-made
        model = build(source, None)
        if source[0] == "spec" and isinstance(loss, str):
            model.compile(loss=loss)
        kept.model_key, kept.model = key, model
    if weights is not None:
        try:
            kept.model.set_weights([np.asarray(w) for w in weights])
        except ValueError:
            raise ActionError(_("the weights do not fit the model")) from None
    return kept.model


def _data(body: dict, kept: _Kept):
    key = json.dumps([body.get(k) for k in ("dataset", "dataset_hash", "seed", "subset")],
                     default=str)
    if key != kept.data_key:
        kept.data_key, kept.data = None, None
        seed = body.get("seed", 0)
        data = dataset({k: v for k, v in body.items() if k != "subset"},
                    seed if type(seed) is int else 0)
        kept.data = _subset(data, body.get("subset"))
        kept.data_key = key
    return kept.data


def _subset(data, subset):
    """``data`` cut as the caller's copy was (``subset``: one call's arguments, or the list of
    its ``Dataset.subset`` calls in order)."""
    if not subset:
        return data
    if not isinstance(subset, list) or not all(isinstance(n, (int, list)) for n in subset):
        raise ActionError(_("subset is a list of subset calls (n_train, n_test, seed)"))
    for args in subset if isinstance(subset[0], list) else [subset]:
        data = data.subset(*[int(n) for n in args])
    return data


def evaluate(state, call, found: tuple) -> dict:
    """The report of a model (``handle``, or ``spec``/``plain`` with ``weights``; ``loss``: the
    Keras loss the weights were trained with) on the test split of ``dataset`` (a name, or
    ``dataset_hash`` of a file sent before; ``seed``, ``subset``). A classifier: ``task``
    "classification", ``loss`` (the compiled loss where there is one, as the CLI reports it),
    ``loss_name``, ``accuracy``, ``confusion_matrix``, ``per_class``, ``probabilities``,
    ``labels``, ``predicted``, ``wrong``, ``pairs``, ``note``. A regression: ``task``
    "regression", ``outputs``, ``mse``, ``mae``, and ``curve_y``, the model on ``curve_x`` when
    given (a 1-D input's fitted curve). Both: ``seconds``.

    ``found``: the request's (source, weights), as engine.handlers finds them (a handle's)."""
    from workbench.actions.evaluate import evaluate as evaluate_action

    start = time.perf_counter()
    kept = _kept(state)
    data = _data(call.body, kept)
    model = _model(found, call.body, kept)
    if data.task == "regression":
        reply = _regression(model, data, call.body.get("curve_x"))
    else:
        report = evaluate_action(model, data)
        compiled = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
        reply = {**report.summary(), "task": "classification",
                 "loss_name": compiled if isinstance(compiled, str) else "",
                 "probabilities": report.probabilities.astype(np.float32),
                 "labels": np.asarray(report.labels, dtype=np.int64),
                 "predicted": np.asarray(report.predicted, dtype=np.int64),
                 "wrong": np.asarray(report.wrong, dtype=np.int64),
                 "pairs": [list(map(int, p)) for p in report.pairs], "note": report.note}
    reply["seconds"] = time.perf_counter() - start
    return reply


def _regression(model, data, curve_x) -> dict[str, Any]:
    from workbench.core import evaluation

    try:
        shape = evaluation.model_input_shape(model)
        outputs = evaluation.predict_outputs(model, evaluation.adapt_inputs(data.x_test,
                                                                            shape))
        reply: dict[str, Any] = {"task": "regression",
                                 "outputs": np.asarray(outputs, np.float32),
                                 "mse": float("nan"), "mae": float("nan")}
        y = np.asarray(data.y_test)
        if np.size(outputs) == np.size(y) and len(y):
            scores = evaluation.regression_report(y, outputs)
            reply["mse"], reply["mae"] = float(scores["mse"]), float(scores["mae"])
        if isinstance(curve_x, np.ndarray):
            reply["curve_y"] = np.asarray(evaluation.predict_outputs(
                model, evaluation.adapt_inputs(curve_x, shape)), np.float32)
    except ValueError as exc:
        raise ActionError(_("the dataset does not fit this model: {reason}").format(
            reason=exc)) from None
    return reply

