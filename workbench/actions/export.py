"""Export a model for use outside the Workbench, and check each export by running it.

``export_script`` writes the standalone training script (``core.codegen``) and runs its
``build_model()`` with the trained weights; ``export_keras`` saves the trained model as ``.keras``
and reloads the file; ``export_deployed`` writes ONNX, TFLite (float32, float16, int8) or a
SavedModel (``core.deploy``) and runs the file in its own runtime. Every export is run on the
dataset's test samples beside the original and reported as ``{"path", "bytes", "max_abs_diff",
"agreement", "latency_ms", "accuracy", "keras_accuracy", "samples"}``: the largest output
difference, the share of samples where both pick the same class, the median time of one
single-sample call of the exported model, and both models' accuracy on those samples.

A file appears at its path only once it has been written and loaded back in its runtime: a
failed export leaves no half-written file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workbench.actions.errors import ActionError
from workbench.core.evaluation import adapt_inputs, model_input_shape, predict_outputs
from workbench.i18n import _

CHECK_SAMPLES = 1000  # test samples each export is run on
REPRESENTATIVE_SAMPLES = 200  # training samples the int8 calibration runs


@dataclass
class ExportReport:
    path: str
    bytes: int
    max_abs_diff: float
    agreement: float | None  # None for models whose outputs are not class scores
    latency_ms: float
    accuracy: float | None = None  # the export's, on the checked samples (None: no labels)
    keras_accuracy: float | None = None  # the original model's on the same samples
    samples: int = 0
    runtime: str = "Keras"

    def to_dict(self) -> dict:
        return asdict(self)


def check_samples(dataset, model, count: int = CHECK_SAMPLES) -> np.ndarray:
    """The first ``count`` test samples of ``dataset``, shaped for ``model``."""
    x = dataset.x_test if len(dataset.x_test) else dataset.x_train
    try:
        return adapt_inputs(np.asarray(x[:count], dtype=np.float32), model_input_shape(model))
    except ValueError as exc:
        raise ActionError(_("the dataset {name} does not fit this model: {exc}").format(
                              name=dataset.name, exc=exc)) from None


def trained_model(project_path: str | os.PathLike):
    """The trained model saved beside a project (``name.keras``); ActionError if there is none."""
    from workbench.core.modelio import load_model
    from workbench.core.project import weights_path

    path = weights_path(project_path)
    if not path.exists():  # a FIFO or a folder there is refused by load_model, in its words
        raise ActionError(
            _("{project_path} has no trained weights ({name} is not beside it): train "
              "it first (workbench train {project_path}, or Train and Save in the app)").format(
                project_path=project_path, name=path.name))
    return load_model(path, compile=False)


def check_labels(dataset, count: int = CHECK_SAMPLES) -> np.ndarray | None:
    """The class numbers of the samples ``check_samples`` takes (None: not a classifier's)."""
    from workbench.core.evaluation import class_labels

    if not dataset.is_classification:
        return None
    y = dataset.y_test if len(dataset.x_test) else dataset.y_train
    try:
        return class_labels(y[:count])
    except ValueError:
        return None


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


def compare(original, exported_fn, x: np.ndarray, path: Path, labels=None, progress=None,
            runtime: str = "Keras", expected: np.ndarray | None = None) -> ExportReport:
    """Run ``exported_fn`` (a batch -> outputs function) beside ``original`` on ``x``."""
    from workbench.core.deploy.verify import check

    if expected is None:
        expected = predict_outputs(original, x)
    try:
        result = check(expected, exported_fn, x, labels, progress)
    except ValueError as exc:
        raise ActionError(_("the export does not compute the model's outputs: {exc}").format(
                              exc=exc)) from None
    return ExportReport(str(path), _size(Path(path)), result.max_abs_diff, result.agreement,
                        result.latency_ms, result.accuracy, result.keras_accuracy,
                        result.samples, runtime)


def export_keras(model, path: str | os.PathLike, dataset) -> ExportReport:
    """Save ``model`` as a ``.keras`` file, reload the file and run it beside ``model``."""
    from workbench.core.modelio import ModelFileError, load_model, save_model

    x = check_samples(dataset, model)
    try:
        written = save_model(model, path)
    except OSError as exc:
        raise ActionError(_("{path}: cannot be written ({reason})").format(
                              path=path, reason=exc.strerror or exc)) from None
    try:
        reloaded = load_model(written, compile=False)
    except ModelFileError as exc:
        raise ActionError(_("the exported file does not load back: {exc}").format(
                              exc=exc)) from None
    return compare(model, reloaded.predict_on_batch, x, written, check_labels(dataset))


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
        raise ActionError(_("{path}: cannot be written ({reason})").format(
                              path=path, reason=exc.strerror or exc)) from None
    namespace = {"__name__": "exported_script"}
    # Our own generated code, run without its main(): imports and functions only.
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    theirs = namespace["build_model"]()
    try:
        theirs.set_weights(model.get_weights())
    except ValueError as exc:
        raise ActionError(_("the script's build_model() does not take the model's "
                            "weights: {exc}").format(exc=exc)) from None
    return compare(model, theirs.predict_on_batch, x, Path(path), check_labels(dataset))


def representative_samples(dataset, model, count: int = REPRESENTATIVE_SAMPLES) -> np.ndarray:
    """``count`` training samples spread over the training split, shaped for ``model``: what
    int8 calibration measures the value ranges on."""
    x = dataset.x_train if len(dataset.x_train) else dataset.x_test
    picked = np.linspace(0, len(x) - 1, num=min(count, len(x))).astype(int) if len(x) else []
    try:
        return adapt_inputs(np.asarray(x[picked], dtype=np.float32), model_input_shape(model))
    except ValueError as exc:
        raise ActionError(_("the dataset {name} does not fit this model: {exc}").format(
                              name=dataset.name, exc=exc)) from None


def export_deployed(model, fmt: str, path: str | os.PathLike, dataset, quantize: str | None = None,
                    progress: Callable[[float, str], None] | None = None,
                    count: int = CHECK_SAMPLES) -> ExportReport:
    """Write ``model`` as ``fmt`` (``core.deploy.FORMATS``: onnx, tflite, saved-model) at
    ``path``, load the file in its own runtime and run it beside ``model`` on ``count`` of the
    dataset's test samples. ``quantize`` (TFLite only): None, "float16" or "int8" (calibrated on
    the training data). ``progress(fraction, text)`` hears how far it is.

    ActionError (one readable line) when the model cannot be exported: the layer a converter
    refuses and the way out, a path that cannot be written, a dataset that does not fit.
    """
    from workbench.core.atomic import replacing
    from workbench.core.deploy import FORMATS, DeployError, open_runtime
    from workbench.core.deploy.savedmodel import replacing_folder

    if fmt not in FORMATS:
        raise ActionError(_("unknown export format {fmt!r}: use one of {formats}").format(
                              fmt=fmt, formats=', '.join(FORMATS)))
    if quantize is not None and fmt != "tflite":
        raise ActionError(_("--quantize applies to TFLite exports only"))
    say = progress or (lambda fraction, text: None)
    path = deployed_path(path, fmt)
    suffix = {"onnx": ".onnx", "tflite": ".tflite"}.get(fmt)
    say(0.02, _("running the model on the test samples"))
    x = check_samples(dataset, model, count)
    labels = check_labels(dataset, count)
    try:
        expected = predict_outputs(model, x)
    except ValueError as exc:  # several outputs
        raise ActionError(_("this model cannot be checked: {exc}").format(exc=exc)) from None
    representative = (representative_samples(dataset, model) if quantize == "int8" else None)
    title = {"onnx": "ONNX", "tflite": "TFLite", "saved-model": "SavedModel"}[fmt]
    if quantize:
        title += f" {quantize}"
    try:
        place = replacing_folder(path) if fmt == "saved-model" else replacing(path, suffix)
        with place as tmp:
            say(0.1, _("converting to {format}").format(format=title))
            _write(model, fmt, tmp, quantize, representative)
            _readable_by_others(tmp)
            say(0.6, _("loading the export in its runtime"))
            runtime = open_runtime(tmp)
            try:
                say(0.7, _("running the export on {count} test samples").format(count=len(x)))
                report = compare(model, runtime.run, x, tmp, labels, runtime=runtime.runtime,
                                 progress=lambda f: say(0.7 + 0.25 * f, _("checking")),
                                 expected=expected)
            finally:
                runtime.close()
        report.path = str(path)  # measured under the temporary name, now renamed
    except DeployError as exc:
        raise ActionError(str(exc)) from None
    except OSError as exc:
        raise ActionError(_("{path}: cannot be written ({reason})").format(
                              path=path, reason=_why_not(path, exc))) from None
    say(1.0, _("done"))
    return report


def deployed_path(path: str | os.PathLike, fmt: str) -> Path:
    """Where an export of ``fmt`` goes when ``path`` is asked: an ONNX or TFLite file gets its
    suffix (``model`` -> ``model.onnx``); a SavedModel is the folder ``path``."""
    path = Path(path)
    suffix = {"onnx": ".onnx", "tflite": ".tflite"}.get(fmt)
    if suffix and path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix) if path.suffix else path.with_suffix(suffix)
    return path


def check_writable(path: Path, folder: bool = False) -> None:
    """ActionError at once when nothing can be written at ``path`` (a file where a folder
    should be; for a SavedModel ``folder``, one we did not write), before an export is made."""
    from workbench.core.deploy import DeployError
    from workbench.core.deploy.savedmodel import check_replaceable

    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ActionError(_("{path}: cannot be written ({reason})").format(
            path=path, reason=_("{path} is a file, not a folder").format(path=blocker)))
    if folder:
        try:
            check_replaceable(path)
        except DeployError as exc:
            raise ActionError(str(exc)) from None


def write_returned(path: str | os.PathLike, data, folder: bool = False) -> Path:
    """Write an export made elsewhere (the engine's bytes) at ``path`` with our rules: a file
    atomically, replacing what was there; a SavedModel (``folder``: a tar of it) swapped in
    beside a folder we wrote before (``replacing_folder``: never one we did not write), its
    members unpacked with tarfile's ``data`` filter. ActionError (one line) when it cannot."""
    import io
    import tarfile

    from workbench.core.atomic import write_bytes
    from workbench.core.deploy import DeployError
    from workbench.core.deploy.savedmodel import replacing_folder

    path = Path(path)
    try:
        if not folder:
            return write_bytes(path, memoryview(data), path.suffix or ".tmp")
        with replacing_folder(path) as tmp:
            with tarfile.open(fileobj=io.BytesIO(memoryview(data)), mode="r:") as tar:
                tar.extractall(tmp, filter="data")
            _readable_by_others(tmp)
        return path
    except DeployError as exc:
        raise ActionError(str(exc)) from None
    except (tarfile.TarError, ValueError) as exc:
        raise ActionError(_("{path}: the export came back damaged ({exc})").format(
            path=path, exc=exc)) from None
    except OSError as exc:
        raise ActionError(_("{path}: cannot be written ({reason})").format(
            path=path, reason=_why_not(path, exc))) from None


def _why_not(path: Path, exc: OSError) -> str:
    """The reason a path cannot be written, in words (a file where a folder should be says so)."""
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        return _("{path} is a file, not a folder").format(path=blocker)
    return exc.strerror or str(exc)


def _readable_by_others(path: Path) -> None:
    """A deployment file is meant to be copied and served: rw-r--r-- (folders rwxr-xr-x), not the
    owner-only mode temporary files are made with."""
    for item in [path, *(path.rglob("*") if path.is_dir() else ())]:
        item.chmod(0o755 if item.is_dir() else 0o644)


def _write(model, fmt: str, path: Path, quantize: str | None, representative) -> None:
    if fmt == "onnx":
        from workbench.core.deploy.onnx import write_onnx

        write_onnx(model, path)
    elif fmt == "tflite":
        from workbench.core.deploy.tflite import write_tflite_safely

        write_tflite_safely(model, path, quantize, representative)
    else:
        from workbench.core.deploy.savedmodel import write_saved_model

        write_saved_model(model, path)
