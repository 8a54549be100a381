"""Why a classifier answers what it does for a picture: ``workbench explain`` and the heatmaps.

A picture is read and preprocessed exactly as ``predict`` and the Draw canvas do
(``actions.predict.read_digit``), explained by ``core.explain`` and its outputs read as
probabilities by the same ``read_output``, so all three agree on the answer being explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.actions.errors import ActionError
from workbench.actions.predict import read_digit, read_output
from workbench.core import explain as core
from workbench.core.digits import fit_to_input
from workbench.i18n import _


@dataclass
class ImageExplanation:
    image: str
    digit: np.ndarray  # the 28×28 input the model saw
    explanation: core.Explanation
    probabilities: np.ndarray

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))

    def to_dict(self) -> dict:
        """The CLI's JSON line: ``attribution`` in the model input's shape without the batch."""
        return {"image": self.image, "method": self.explanation.method,
                "target": self.explanation.target, "predicted": self.predicted,
                "probabilities": [round(float(p), 6) for p in self.probabilities],
                "attribution": self.explanation.attribution.astype(np.float32).tolist()}


def load_explained_model(source):
    """A ``.keras`` file, or a project's trained model beside it (ActionError: none)."""
    from workbench.actions.export import trained_model
    from workbench.core.modelio import load_model

    path = Path(source)
    if path.suffix.lower() in (".keras", ".h5", ".hdf5"):
        return load_model(path, compile=False)
    from workbench.core.project import load_project

    load_project(path)  # a project file, or its one-line refusal
    return trained_model(path)


def check_method(model, method: str) -> None:
    """ActionError with the reason when ``model`` does not offer ``method`` (Grad-CAM without a
    Conv2D)."""
    try:
        reason = core.unavailable_reason(model, method)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    if reason is not None:
        raise ActionError(reason)


def explain_digit(model, digit28: np.ndarray, method: str = "gradients",
                  target: int | None = None, steps: int = core.DEFAULT_STEPS,
                  image: str = "") -> ImageExplanation:
    """Explain ``model``'s score for ``target`` (default: its answer) on one preprocessed digit."""
    where = f"{image}: " if image else ""
    try:
        batch = fit_to_input(digit28, core.explainer_for(model).input_shape)
        result = core.explain(model, batch, method, target, steps)
        probabilities, _note = read_output(result.outputs)
    except ValueError as exc:  # ExplainError too
        raise ActionError(f"{where}{exc}") from None
    return ImageExplanation(image, np.asarray(digit28, np.float32), result, probabilities)


def explain_images(model, paths, method: str = "gradients", target: int | None = None,
                   steps: int = core.DEFAULT_STEPS, digits=None) -> list[ImageExplanation]:
    """Each picture file as the canvas would preprocess it (or its given ``digits``), explained."""
    check_method(model, method)
    digits = [read_digit(p) for p in paths] if digits is None else digits
    return [explain_digit(model, d, method, target, steps, str(p)) for p, d in zip(paths, digits)]


# Pictures ---------------------------------------------------------------------------------------

SCALE = 10  # a 28×28 input written as 280×280, as large as the Draw canvas


def heatmap_rgba(heat: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 colours of a heatmap in [-1, 1]: evidence for the class red to yellow,
    against it blue, transparent where there is none (drawn over the input)."""
    h = np.clip(np.asarray(heat, np.float32), -1.0, 1.0)
    pos, neg = np.maximum(h, 0.0), np.maximum(-h, 0.0)
    rgba = np.zeros((*h.shape, 4), np.float32)
    rgba[..., 0] = 255.0 * (pos > 0) + 30.0 * (neg > 0)
    rgba[..., 1] = 200.0 * pos ** 2 + 110.0 * (neg > 0)
    rgba[..., 2] = 255.0 * (neg > 0)
    rgba[..., 3] = 230.0 * np.maximum(pos, neg) ** 0.7
    return rgba.astype(np.uint8)


def composite(digit28: np.ndarray, heat: np.ndarray, scale: int = SCALE) -> np.ndarray:
    """The input in grey with the heatmap over it, enlarged: (28·scale, 28·scale, 3) uint8."""
    grey = np.clip(np.asarray(digit28, np.float32).reshape(heat.shape), 0.0, 1.0) * 160.0
    base = np.repeat(grey[..., None], 3, axis=2)
    colours = heatmap_rgba(heat).astype(np.float32)
    alpha = colours[..., 3:4] / 255.0
    mixed = base * (1.0 - alpha) + colours[..., :3] * alpha
    big = np.repeat(np.repeat(mixed, scale, axis=0), scale, axis=1)
    return (big + 0.5).astype(np.uint8)


def write_heatmap(item: ImageExplanation, folder) -> Path:
    """``IMAGE-STEM.METHOD.png`` in ``folder``; a file already there is never replaced (the next
    free ``-2``, ``-3`` … name is taken instead)."""
    from PIL import Image

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ActionError(_("{folder}: cannot write there ({reason})").format(
                              folder=folder, reason=exc.strerror or exc)) from None
    stem = f"{Path(item.image).stem or 'image'}.{item.explanation.method}"
    picture = composite(item.digit, item.explanation.heatmap)
    for n in range(1, 1000):
        path = folder / (f"{stem}.png" if n == 1 else f"{stem}-{n}.png")
        try:
            with open(path, "xb") as out:
                Image.fromarray(picture).save(out, format="PNG")
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise ActionError(_("{path}: cannot write it ({reason})").format(
                                  path=path, reason=exc.strerror or exc)) from None
    raise ActionError(_("{folder}: too many heatmaps named {stem} already").format(
                          folder=folder, stem=stem))
