"""Export a model for use outside the Workbench, and check each export by running it.

``export_script`` writes the standalone training script (``core.codegen``) and runs its
``build_model()`` with the trained weights; ``export_keras`` saves the trained model as ``.keras``
and reloads the file. Either way the export is run on the dataset's test samples beside the
original and reported as ``{"path", "bytes", "max_abs_diff", "agreement", "latency_ms"}``:
the largest output difference, the share of samples where both pick the same class, and the
median time of one single-sample call of the exported model.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench.actions.errors import ActionError
from workbench.core.evaluation import adapt_inputs, model_input_shape, predict_outputs

CHECK_SAMPLES = 256  # test samples each export is run on
LATENCY_CALLS = 20


@dataclass
class ExportReport:
    path: str
    bytes: int
    max_abs_diff: float
    agreement: float | None  # None for models whose outputs are not class scores
    latency_ms: float

    def to_dict(self) -> dict:
        return asdict(self)


def check_samples(dataset, model, count: int = CHECK_SAMPLES) -> np.ndarray:
    """The first ``count`` test samples of ``dataset``, shaped for ``model``."""
    x = dataset.x_test if len(dataset.x_test) else dataset.x_train
    try:
        return adapt_inputs(np.asarray(x[:count], dtype=np.float32), model_input_shape(model))
    except ValueError as exc:
        raise ActionError(f"the dataset {dataset.name} does not fit this model: {exc}") from None


def trained_model(project_path: str | os.PathLike):
    """The trained model saved beside a project (``name.keras``); ActionError if there is none."""
    from workbench.core.modelio import load_model
    from workbench.core.project import weights_path

    path = weights_path(project_path)
    if not path.is_file():
        raise ActionError(
            f"{project_path} has no trained weights ({path.name} is not beside it): train it "
            f"first (workbench train {project_path}, or Train and Save in the app)")
    return load_model(path, compile=False)


def compare(original, exported_fn, x: np.ndarray, path: Path) -> ExportReport:
    """Run ``exported_fn`` (a batch -> outputs function) beside ``original`` on ``x``."""
    expected = predict_outputs(original, x)
    got = np.concatenate([np.asarray(exported_fn(x[i:i + 512])) for i in range(0, len(x), 512)])
    got = got.reshape(expected.shape)
    diff = float(np.max(np.abs(expected.astype(np.float64) - got))) if expected.size else 0.0
    agreement = None
    if expected.ndim == 2 and expected.shape[1] > 1:
        agreement = float(np.mean(expected.argmax(axis=1) == got.argmax(axis=1)))
    one = x[:1]
    exported_fn(one)  # the first call traces
    times = []
    for _ in range(LATENCY_CALLS):
        start = time.perf_counter()
        exported_fn(one)
        times.append((time.perf_counter() - start) * 1000.0)
    return ExportReport(str(path), path.stat().st_size, diff, agreement,
                        round(float(np.median(times)), 3))


def export_keras(model, path: str | os.PathLike, dataset) -> ExportReport:
    """Save ``model`` as a ``.keras`` file, reload the file and run it beside ``model``."""
    from workbench.core.modelio import ModelFileError, load_model, save_model

    x = check_samples(dataset, model)
    try:
        written = save_model(model, path)
    except OSError as exc:
        raise ActionError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    try:
        reloaded = load_model(written, compile=False)
    except ModelFileError as exc:
        raise ActionError(f"the exported file does not load back: {exc}") from None
    return compare(model, reloaded.predict_on_batch, x, written)


def export_script(project, path: str | os.PathLike, dataset, model=None) -> ExportReport:
    """Write the standalone script for ``project`` and check that its ``build_model()`` computes
    what ``model`` computes with the same weights (``model``: the trained model; without one, the
    project's seeded untrained model)."""
    from workbench.core.build import build_seeded_model
    from workbench.core.codegen import generate_script
    from workbench.core.project import write_atomic

    source = generate_script(project)
    if model is None:
        model = build_seeded_model(project.model, project.training.seed)
    x = check_samples(dataset, model)
    try:
        write_atomic(path, source)
    except OSError as exc:
        raise ActionError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    namespace = {"__name__": "exported_script"}
    # Our own generated code, run without its main(): imports and functions only.
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    theirs = namespace["build_model"]()
    try:
        theirs.set_weights(model.get_weights())
    except ValueError as exc:
        raise ActionError(f"the script's build_model() does not take the model's weights: "
                          f"{exc}") from None
    return compare(model, theirs.predict_on_batch, x, Path(path))
