"""How well a trained model does: predictions, confusion matrix, per-class metrics, mistakes.

Plain numpy on plain arrays: the evaluation tab, ``workbench evaluate``, the Draw tab and
``workbench predict`` read a model's outputs through the same functions, so they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.core.datasets.splits import is_lazy
from workbench.i18n import _

PREDICT_BATCH = 2048  # samples per predict_on_batch call
# Keras clips probabilities by the same epsilon before taking logs in its crossentropy losses.
_EPSILON = 1e-7


# --- counting ---------------------------------------------------------------------------------


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; rows are the true class, columns the prediction."""
    t = _as_index(y_true, _("true labels"))
    p = _as_index(y_pred, "predictions")
    if t.shape != p.shape:
        raise ValueError(_("{labels} true labels but {predictions} predictions.").format(
                             labels=t.size, predictions=p.size))
    for name, v in ((_("true label"), t), (_("prediction"), p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(
                _("A {name} of {value} is outside the {count} classes 0..{last}.").format(
                    name=name, value=int(v.max() if v.max() >= num_classes else v.min()),
                    count=num_classes, last=num_classes - 1)
            )
    # One bincount over pair codes is a single pass, far faster than np.add.at for 10k samples.
    codes = t * num_classes + p
    counts = np.bincount(codes, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def per_class_metrics(cm) -> list[dict]:
    """Precision, recall, F1 and support per class; 0.0 where a ratio would be 0/0."""
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    support = cm.sum(axis=1)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support.astype(np.float64))
    f1 = _ratio(2.0 * precision * recall, precision + recall)
    return [
        {
            "class": i,
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in range(cm.shape[0])
    ]


def row_percent_label(percent: float) -> str:
    """A confusion-matrix row share (the Evaluation tab's cells, the run report's) as a whole
    percentage that never hides a mistake: 0 < p < 1 reads "<1%", 99 < p < 100 reads ">99%"
    (round-half-even made 0.5 % "0%" while 0.49 % read "<1%")."""
    if 0.0 < percent < 1.0:
        return "<1%"
    if 99.0 < percent < 100.0:
        return ">99%"
    return f"{int(percent + 0.5)}%"


def most_confused_pairs(cm, k: int = 5) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true, predicted, count), largest first; no zeros."""
    cm = np.asarray(cm, dtype=np.int64)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = off.ravel()
    # Stable sort on the negated counts keeps ties in (true, predicted) order.
    order = np.argsort(-flat, kind="stable")[: max(k, 0)]
    n = cm.shape[1]
    return [(int(i // n), int(i % n), int(flat[i])) for i in order if flat[i] > 0]


def misclassified(y_true, probs) -> np.ndarray:
    """Indices of wrong predictions, the most confidently wrong first (ties in sample order)."""
    labels = class_labels(y_true)
    probs = np.asarray(probs)
    if probs.ndim == 1 or probs.shape[1] == 1:
        probs = to_probabilities(probs)  # one sigmoid column: P(1) only
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    confidence = probs[wrong, pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")].astype(np.int64)


def cell_indices(y_true, y_pred, true_class: int, pred_class: int) -> np.ndarray:
    """Indices of the samples in one confusion-matrix cell, in sample order."""
    t = class_labels(y_true)
    p = np.asarray(y_pred).reshape(-1)
    return np.flatnonzero((t == true_class) & (p == pred_class)).astype(np.int64)


def regression_report(y_true, y_pred) -> dict:
    """{"mse", "mae", "r2"}; R² is averaged over output columns, as scikit-learn does."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.size != p.size:
        raise ValueError(_("{targets} targets but {predictions} predictions.").format(
                             targets=t.size, predictions=p.size))
    if t.size == 0:
        raise ValueError(_("No samples to evaluate."))
    # (N,), (N, 1) and (N, k) targets all become (N, k).
    p = p.reshape(t.shape)
    t2 = t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(-1, 1)
    p2 = p.reshape(t2.shape)
    err = p2 - t2
    residual = (err**2).sum(axis=0)
    total = ((t2 - t2.mean(axis=0)) ** 2).sum(axis=0)
    # A constant target: perfect predictions score 1, anything else 0 (never inf or NaN).
    safe_total = np.where(total > 0, total, 1.0)
    r2 = np.where(total > 0, 1.0 - residual / safe_total, np.where(residual == 0, 1.0, 0.0))
    return {
        "mse": float((err**2).mean()),
        "mae": float(np.abs(err).mean()),
        "r2": float(r2.mean()),
    }


# --- labels, inputs and outputs -----------------------------------------------------------------


def class_labels(y) -> np.ndarray:
    """Integer class labels from integer labels, (N, 1) columns or one-hot rows."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            _("Labels of shape {shape} are neither class numbers (N,) nor one-hot rows "
              "(N, C).").format(shape=y.shape)
        )
    return _as_index(y, "labels")


def adapt_inputs(x, input_shape) -> np.ndarray:
    """Return ``x`` shaped for a model taking ``input_shape`` (without the batch axis).

    Samples are reshaped when only the layout differs, e.g. (N, 28, 28) for a model that takes
    (784,) or (28, 28, 1); anything else is a ValueError naming both shapes.
    """
    lazy = is_lazy(x)  # samples decoded as read stay so (a big folder): only the view changes
    if not lazy:
        x = np.asarray(x)
    if x.dtype.kind in "biu":
        x = x.astype(np.float32)
    if input_shape is None:
        return x
    shape = tuple(input_shape)
    sample = x.shape[1:]
    if len(sample) == len(shape) and all(
        s is None or s == d for s, d in zip(shape, sample, strict=True)
    ):
        return x
    if None not in shape and math.prod(sample) == math.prod(shape):
        return x.reshaped(shape) if lazy else x.reshape((x.shape[0], *shape))
    raise ValueError(
        _("The model expects samples of shape {expected} but the data has samples of shape "
          "{got} ({values} values each), which cannot be reshaped to fit.").format(
            expected=_fmt(shape), got=_fmt(sample), values=math.prod(sample))
    )


def model_input_shape(model) -> tuple | None:
    """The model's input shape without the batch axis, or None if the model is not built yet."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    if len(inputs) > 1:
        raise ValueError(
            _("This model takes {n_inputs} inputs; evaluation works on single-input "
              "models.").format(n_inputs=len(inputs))
        )
    return tuple(inputs[0].shape[1:])


def predict_outputs(model, x, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """The model's raw outputs for ``x``: one compiled ``predict_on_batch`` call per chunk (far
    less overhead than ``model.predict``), inference mode, no progress bar."""
    x = adapt_inputs(x, model_input_shape(model))
    if len(x) == 0:
        raise ValueError(_("No samples to predict."))
    parts = []
    for start in range(0, len(x), batch_size):
        out = model.predict_on_batch(x[start : start + batch_size])
        if isinstance(out, dict):
            out = list(out.values())
        if isinstance(out, (list, tuple)):
            if len(out) != 1:
                raise ValueError(
                    _("This model has {n_out} outputs; evaluation works on "
                      "single-output models.").format(n_out=len(out))
                )
            out = out[0]
        parts.append(np.asarray(out))
    return np.concatenate(parts, axis=0)


def to_probabilities(outputs) -> np.ndarray:
    """Class probabilities (N, C) from a classifier's outputs (see ``read_probabilities``)."""
    return read_probabilities(outputs)[0]


def read_probabilities(outputs) -> tuple[np.ndarray, str]:
    """``(probabilities (N, C), note)`` from a classifier's outputs: the one reading of a
    classifier's outputs for the evaluation tab, the Draw tab, ``evaluate`` and ``predict``.

    Rows that are already probabilities pass through; logits get a softmax. A single sigmoid
    column (N, 1) becomes the two columns [P(0), P(1)], a logit column through the sigmoid.
    ``note`` says when the numbers are our reading of the model rather than its own ("" if not).
    """
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise ValueError(
            _("The model's output has shape {shape} per sample; a classifier gives one "
              "row of class scores per sample.").format(shape=_fmt(out.shape[1:]))
        )
    if out.shape[1] == 1:
        p = out[:, 0]
        note = ""
        if p.size and (p.min() < 0.0 or p.max() > 1.0):
            p = 1.0 / (1.0 + np.exp(-p))
            note = _("output read as a logit (sigmoid applied)")
        return np.column_stack([1.0 - p, p]), note
    is_prob = out.size == 0 or (
        out.min() >= -1e-6 and np.allclose(out.sum(axis=1), 1.0, rtol=0.0, atol=1e-3))
    if is_prob:
        return np.clip(out, 0.0, 1.0), ""
    shifted = out - out.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True), (_("the last layer has no softmax: probabilities "
                                                "are the softmax of its outputs"))


def predict_probabilities(model, x, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """Class probabilities (N, C) of ``model`` on ``x`` (see ``to_probabilities``)."""
    return to_probabilities(predict_outputs(model, x, batch_size))


# --- the whole report --------------------------------------------------------------------------


@dataclass
class ClassifierReport:
    """Everything shown about a classifier on a test split, from its outputs and the labels."""

    probabilities: np.ndarray  # (N, C) float64
    labels: np.ndarray  # (N,) true class numbers
    predicted: np.ndarray  # (N,) argmax of the probabilities
    confusion: np.ndarray  # (C, C) counts, rows = true class
    accuracy: float
    loss: float  # crossentropy of the probabilities (``evaluate_classifier`` may override it)
    per_class: list[dict]
    pairs: list[tuple[int, int, int]]  # most confused (true, predicted, count), largest first
    wrong: np.ndarray  # misclassified indices, most confident first
    note: str = ""  # see ``read_probabilities``

    @property
    def num_classes(self) -> int:
        return int(self.confusion.shape[0])

    def summary(self) -> dict:
        """The plain-JSON part: loss, accuracy, confusion matrix, per class, number of classes."""
        return {"loss": self.loss, "accuracy": self.accuracy,
                "confusion_matrix": self.confusion.tolist(), "per_class": self.per_class,
                "num_classes": self.num_classes}


def classification_report(outputs, y, num_classes: int = 0, pairs: int = 8) -> ClassifierReport:
    """The one report of a classifier's ``outputs`` on samples labelled ``y`` (class numbers or
    one-hot rows). With ``num_classes`` above the model's outputs, the missing classes get
    probability 0 (so every true class has a row)."""
    labels = class_labels(y)
    outputs = np.asarray(outputs)
    if len(labels) != len(outputs):
        raise ValueError(_("{samples} samples but {labels} labels.").format(
                             samples=len(outputs), labels=len(labels)))
    probs, note = read_probabilities(outputs.reshape(len(outputs), -1))
    n = max(int(num_classes), probs.shape[1], int(labels.max(initial=-1)) + 1)
    if probs.shape[1] < n:
        probs = np.pad(probs, ((0, 0), (0, n - probs.shape[1])))
    predicted = probs.argmax(axis=1)
    cm = confusion_matrix(labels, predicted, n)
    return ClassifierReport(
        probabilities=probs, labels=labels, predicted=predicted, confusion=cm,
        accuracy=float((predicted == labels).mean()) if len(labels) else math.nan,
        loss=cross_entropy(probs, labels), per_class=per_class_metrics(cm),
        pairs=most_confused_pairs(cm, pairs), wrong=misclassified(labels, probs), note=note,
    )


def cross_entropy(probs, labels) -> float:
    """Mean crossentropy of the true classes' probabilities, clipped as Keras clips them."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return math.nan
    picked = np.asarray(probs)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(picked, _EPSILON, 1.0)).mean())


def evaluate_classifier(model, x, y, loss=None, batch_size: int = PREDICT_BATCH) -> dict:
    """Loss, accuracy, confusion matrix and per-class metrics of any single-input Keras classifier
    (``classify(...).summary()``)."""
    return classify(model, x, y, loss, batch_size).summary()


def classify(model, x, y, loss=None, batch_size: int = PREDICT_BATCH,
             num_classes: int = 0) -> ClassifierReport:
    """``classification_report`` of ``model`` on ``x``, ``y`` (the CLI's ``evaluate`` and the
    Evaluation tab both report this; ``num_classes``: the dataset's classes, see there).

    The loss is ``loss`` (a Keras loss name, function or object) when given; else the model's
    compiled loss through ``model.evaluate``, so it matches what training reported (penalties
    included); else the crossentropy of the predicted probabilities.
    """
    x = adapt_inputs(x, model_input_shape(model))
    labels = class_labels(y)
    if len(labels) != len(x):
        raise ValueError(_("{samples} samples but {labels} labels.").format(
                             samples=len(x), labels=len(labels)))
    outputs = predict_outputs(model, x, batch_size)
    classes = max(outputs.reshape(len(outputs), -1).shape[1], 2)  # one sigmoid unit: 2 classes
    if labels.size and labels.max() >= classes:
        raise ValueError(
            _("The labels go up to class {last} but the model predicts only {classes} "
              "classes.").format(last=int(labels.max()), classes=classes)
        )
    report = classification_report(outputs, labels, num_classes)
    report.loss = _loss_value(model, x, y, labels, outputs, report, loss, batch_size)
    return report


def _loss_value(model, x, y, labels, outputs, report, loss, batch_size) -> float:
    if loss is not None:
        from workbench.core.tf_loader import load_tensorflow

        _tf, keras = load_tensorflow()
        try:
            fn = keras.losses.get(loss)
            target = _labels_for_loss(loss, y, labels, outputs.shape)
            value = fn(np.asarray(target, np.float32), outputs.astype(np.float32))
        except Exception as exc:  # noqa: BLE001 - Keras raises many types for a bad pairing
            raise ValueError(
                _("Cannot compute the loss {loss_name!r} for these labels and outputs: "
                  "{exc}").format(loss_name=_loss_name(loss), exc=exc)
            ) from None
        return float(np.mean(np.asarray(value)))
    compiled_loss = getattr(model, "loss", None) if getattr(model, "compiled", False) else None
    if compiled_loss is not None:
        target = _labels_for_loss(compiled_loss, y, labels, outputs.shape)
        try:
            if is_lazy(x):
                from workbench.core.datasets.lazy import StreamFailure, keras_stream

                failure = StreamFailure()
                logs = model.evaluate(keras_stream(x, target, batch_size, failure=failure),
                                      verbose=0, return_dict=True,
                                      callbacks=[failure.callback()])
                if failure.message:  # an image that cannot be read: the report's loss
                    return report.loss
            else:
                logs = model.evaluate(x, target, batch_size=batch_size, verbose=0,
                                      return_dict=True)
            return float(logs["loss"])
        except Exception:  # noqa: BLE001 - a loss we cannot feed falls back to crossentropy
            pass
    return report.loss


def _labels_for_loss(loss, y, labels, output_shape) -> np.ndarray:
    """The labels in the layout a Keras loss expects: numbers for sparse, one-hot for
    categorical, a column for a single sigmoid output."""
    name = _loss_name(loss)
    width = output_shape[1] if len(output_shape) > 1 else 1
    if "sparse" in name:
        return labels
    if width == 1:
        return labels.astype(np.float32)[:, None]
    if "categorical" in name or "kl_divergence" in name or "binary" in name:
        return np.eye(width, dtype=np.float32)[labels]
    return np.asarray(y)


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss.lower()
    for attr in ("name", "__name__"):
        value = getattr(loss, attr, None)
        if isinstance(value, str):
            return value.lower()
    return type(loss).__name__.lower()


# --- helpers ------------------------------------------------------------------------------------


def _as_index(values, what: str) -> np.ndarray:
    v = np.asarray(values).reshape(-1)
    if v.dtype.kind in "iub":
        return v.astype(np.int64)
    if v.dtype.kind == "f" and np.all(np.isfinite(v)) and np.all(v == np.round(v)):
        return v.astype(np.int64)
    raise ValueError(_("The {what} must be whole class numbers (0, 1, 2, ...).").format(
                         what=what))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _fmt(shape) -> str:
    dims = ", ".join("None" if d is None else str(int(d)) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"
