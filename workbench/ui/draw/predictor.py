"""The Draw tab's inference: the core ``Predictor`` (shared with ``workbench predict``) and the
names its bars show. No Qt here."""

from __future__ import annotations

from workbench.core.inference import Predictor, model_input_shape  # noqa: F401 - the Draw API


def class_names_for(dataset, count: int) -> list[str]:
    """The dataset's class names when they fit the model's output size, else "0".."count-1"."""
    names = list(getattr(dataset, "class_names", None) or [])
    if len(names) == count:
        return [str(n) for n in names]
    return [str(i) for i in range(count)]
