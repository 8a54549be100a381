"""How a trained classifier does on a dataset's test split: ``workbench evaluate``.

The report is ``core.evaluation.classification_report``, the one the evaluation tab shows.
"""

from __future__ import annotations

from workbench.actions.errors import ActionError
from workbench.core.evaluation import ClassifierReport, adapt_inputs, classify, model_input_shape
from workbench.i18n import _


def evaluate(model, dataset) -> ClassifierReport:
    """Loss, accuracy, confusion matrix, per class and probabilities of ``model`` on the test
    split of ``dataset`` (ActionError when they do not fit each other)."""
    if dataset.task != "classification":
        raise ActionError(_("{name} is a regression dataset; evaluate reports "
                            "classification accuracy").format(name=dataset.name))
    if len(dataset.x_test) == 0:
        raise ActionError(_("{name} has no test split").format(name=dataset.name))
    try:
        x = adapt_inputs(dataset.x_test, model_input_shape(model))  # streamed when lazy
    except ValueError as exc:
        raise ActionError(_("the dataset does not fit this model: {exc}").format(
                              exc=exc)) from None
    outputs = model.outputs[0].shape[-1]
    if outputs is not None and outputs > 1 and outputs < dataset.num_classes:
        raise ActionError(_("the model has {outputs} outputs but {name} has "
                            "{num_classes} classes").format(
                              outputs=outputs, name=dataset.name, num_classes=dataset.num_classes))
    try:
        return classify(model, x, dataset.y_test)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
