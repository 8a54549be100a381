"""Does the model's output fit the dataset's labels and the loss? Checked while the model is edited.

``output_problem`` says why training cannot work (Keras would fail with a raw shape error, or the
shapes make no sense): the builder shows it at the last layer and Train waits for a fix.
``check_compatibility`` gives advice that does not stop training (softmax, a loss that trains
poorly). Both take plain values: the inspection's output shape, the loss, and the dataset's task,
number of classes and the shape of one label.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.fixes import Fix, insert_fix
from workbench.core.graph import INPUT
from workbench.core.inspect import ModelInspection, format_shape
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.i18n import _

CLASSIFICATION_LOSSES = {
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "hinge",
}
# Losses that compare one score per class with the label (the label made one-hot where needed).
_PER_CLASS_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "hinge")
_REGRESSION_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber")


@dataclass(frozen=True)
class OutputProblem:
    """Why the model's output does not fit, in plain words, and the one-click fix when obvious."""

    message: str
    fix: LayerSpec | None = None
    fix_index: int | None = None  # insert ``fix`` before this layer (on its input)
    repair: Fix | None = None  # the same as a Fix: ``repair.apply(spec)`` (graphs too)


def output_problem(output_shape, loss: str, task: str, num_classes: int,
                   label_shape: tuple[int, ...] = ()) -> str | None:
    """Why a model whose output (without the batch axis) is ``output_shape`` cannot train with
    ``loss`` on the dataset's labels, or None when it can.

    ``label_shape`` is one label's shape: ``()`` for a class number or a single target number,
    ``(k,)`` for k target numbers.
    """
    if output_shape is None:
        return None  # the model cannot be built: the inspection says why
    out = tuple(output_shape)
    shown = format_shape(out)
    if task == "classification":
        k = num_classes
        if loss in _PER_CLASS_LOSSES:
            if len(out) != 1:
                return (_("the model's output is {shown}, but each label is one of {k} "
                          "classes: the last layer must give one score per class, shape "
                          "({k},).").format(shown=shown, k=k))
            units = out[0]
            too_few = units < k if loss == "sparse_categorical_crossentropy" else units != k
            if too_few:
                return (_("the last layer has {units} outputs but the dataset has {k} "
                          "classes; make the last Dense layer {k} units.").format(
                            units=units, k=k))
        elif loss == "binary_crossentropy":
            if out != (1,):
                return (_("binary_crossentropy needs one output (the probability of "
                          "class 1), but the model's output is {shown}: end with Dense 1 "
                          "sigmoid, or use sparse_categorical_crossentropy.").format(
                            shown=shown))
        elif loss in _REGRESSION_LOSSES and out not in ((1,), (k,)):
            return (_("the model's output is {shown}; {loss} on {k} classes needs "
                      "({k},) (one score per class) or (1,).").format(
                        shown=shown, loss=loss, k=k))
    elif task == "regression":
        want = tuple(label_shape) if tuple(label_shape) else (1,)
        if out != want:
            what = _("one number") if want == (1,) else f"{want[0]} numbers"
            return (_("the model's output is {shown}, but each target is {what}: the "
                      "last layer must give {want}.").format(
                        shown=shown, what=what, want=format_shape(want)))
    return None


def label_shape(dataset) -> tuple[int, ...]:
    """One label's shape as ``output_problem`` takes it: () for a class number."""
    return tuple(dataset.y_train.shape[1:]) if dataset.task == "regression" else ()


def flatten_fix(spec: ModelSpec, report: ModelInspection) -> tuple[int, tuple] | None:
    """Where Flatten goes: the first Dense (in topological order) that gets an image or a
    sequence, and what it gets."""
    shapes = {INPUT: tuple(spec.input_shape)}
    shapes.update({info.name: info.output_shape for info in report.layers})
    order = report.order or range(len(spec.layers))
    for i in order:
        info = report.layers[i] if i < len(report.layers) else None
        if info is None or info.output_shape is None or len(info.inbound) != 1:
            continue
        shape = shapes.get(info.inbound[0])
        if spec.layers[i].class_name == "Dense" and shape is not None and len(shape) >= 2:
            return i, tuple(shape)
    return None


def check_output(spec: ModelSpec, report: ModelInspection | None, config: TrainConfig,
                 dataset) -> OutputProblem | None:
    """``output_problem`` for a spec, its inspection and a loaded ``Dataset``, with the fix."""
    if dataset is None or report is None or not report.ok or not spec.layers:
        return None
    output = report.output_shape
    message = output_problem(output, config.loss, dataset.task, dataset.num_classes,
                             label_shape(dataset))
    if message is None:
        return None
    found = flatten_fix(spec, report) if output is not None and len(output) != 1 else None
    if found is None:
        return OutputProblem(message)
    index, gets = found
    what = {2: "a sequence", 3: "an image"}.get(len(gets), f"{len(gets)}-axis values")
    pooling = _(" (or GlobalAveragePooling2D)") if len(gets) == 3 else ""
    message += (_(" Insert Flatten{pooling} before layer {index}, the first Dense, "
                  "which gets {what} {gets}.").format(
                    pooling=pooling, index=index + 1, what=what, gets=format_shape(gets)))
    flatten = LayerSpec.create("Flatten")
    return OutputProblem(message, flatten, index,
                         insert_fix(index, flatten, _("Insert Flatten before layer "
                                                      "{index}").format(index=index + 1)))


def check_compatibility(output_shape, config: TrainConfig, task: str, num_classes: int,
                        last_activation: str | None = None) -> list[str]:
    """Warnings, each with its fix, when the loss or output does not fit the labels."""
    warnings: list[str] = []
    units = output_shape[-1] if output_shape else None
    if task == "classification":
        if config.loss in ("mean_squared_error", "mean_absolute_error", "huber"):
            warnings.append(
                _("{loss} on class labels trains poorly; use "
                  "sparse_categorical_crossentropy with a softmax output.").format(
                    loss=config.loss)
            )
        if config.loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
            if units is not None and units != num_classes:
                warnings.append(
                    _("the last layer has {units} outputs but the dataset has "
                      "{num_classes} classes; make the last Dense layer {num_classes} "
                      "units.").format(units=units, num_classes=num_classes)
                )
            if last_activation not in (None, "softmax"):
                warnings.append(
                    _("the last layer's activation is {last_activation!r}; "
                      "cross-entropy expects probabilities: use softmax on the last "
                      "Dense layer.").format(last_activation=last_activation)
                )
        if config.loss == "binary_crossentropy" and num_classes > 2:
            warnings.append(
                _("binary_crossentropy is for 2 classes; this dataset has "
                  "{num_classes}: use sparse_categorical_crossentropy.").format(
                    num_classes=num_classes)
            )
    elif task == "regression":
        if config.loss in CLASSIFICATION_LOSSES:
            warnings.append(
                _("{loss} is for class labels; this dataset is a regression task: use "
                  "mean_squared_error.").format(loss=config.loss)
            )
        if "accuracy" in config.metrics:
            warnings.append(_("accuracy means nothing for regression; use the mae metric."))
    return warnings
