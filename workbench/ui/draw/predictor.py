"""The names the Draw tab's bars show (the engine predicts: ``core.inference.Predictor`` runs
there). No Qt here."""

from __future__ import annotations


def class_names_for(dataset, count: int) -> list[str]:
    """The dataset's class names when they fit the model's output size, else "0".."count-1"."""
    names = list(getattr(dataset, "class_names", None) or [])
    if len(names) == count:
        return [str(n) for n in names]
    return [str(i) for i in range(count)]
