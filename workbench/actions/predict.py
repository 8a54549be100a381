"""What a classifier answers for a digit: ``workbench predict`` and the Draw tab's bars.

Both run the digit through ``core.inference.Predictor`` and read the output with
``core.evaluation.read_probabilities``, so a picture gets the same probabilities in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.actions.errors import ActionError
from workbench.core import digits
from workbench.core.evaluation import read_probabilities
from workbench.core.inference import Predictor
from workbench.i18n import _


@dataclass
class Prediction:
    probabilities: np.ndarray  # (C,) float64, sums to 1
    note: str  # "" when the model's own outputs are probabilities (see read_probabilities)
    digit: np.ndarray  # the 28×28 input the model saw

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


def read_output(output) -> tuple[np.ndarray, str]:
    """``(probabilities, note)`` of one digit from the model's raw output for it."""
    v = np.asarray(output, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError(_("The model's output is not a number (NaN or infinite)."))
    probs, note = read_probabilities(v[None, :])
    return probs[0], note


def predict_digit(model, digit28: np.ndarray, predictor: Predictor | None = None) -> Prediction:
    """Run ``model`` on one preprocessed 28×28 digit (ValueError: the model does not take it)."""
    predictor = predictor or Predictor()
    probs, note = read_output(predictor.predict(model, digit28))
    return Prediction(probs, note, np.asarray(digit28, dtype=np.float32))


def read_digit(path) -> np.ndarray:
    """A picture file as the 28×28 digit the draw canvas would make of it (ActionError: it
    cannot be read, or holds no digit). Needs no model: a bad picture is refused at once."""
    try:
        image = digits.load_image(path)
        digit = digits.preprocess_digit(image)
    except (OSError, ValueError) as exc:
        raise ActionError(str(exc)) from None
    if digit is None:
        raise ActionError(_("{path}: no digit found (the image is blank)").format(
                              path=path))
    return digit


def predict_image(model, path, predictor: Predictor | None = None,
                  digit: np.ndarray | None = None) -> Prediction:
    """Load a picture file (or take its ``read_digit``), preprocessed as the draw canvas does,
    and predict it."""
    digit = read_digit(path) if digit is None else digit
    try:
        return predict_digit(model, digit, predictor)
    except ValueError as exc:
        raise ActionError(f"{path}: {exc}") from None
