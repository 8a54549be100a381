"""The engine's file requests: opening a model file, saving the trained weights, exports.

Files cross the wire as bytes (uint8 arrays), never as paths, so an engine on another machine
serves them too: the window reads a ``.keras`` and sends it; the engine writes what it makes
into a temporary folder of its own, checks it there, and replies it as bytes for the window
to write with its own safe-write rules (``core.atomic``, ``core.deploy.savedmodel``). The
hostile-file checks (``core.modelio``, ``core.safe_hdf5``) run here, on the engine's copy;
their lines name the file as the window named it (``where``), not the temporary copy.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from workbench.engine.server import Call
from workbench.engine.sources import EngineRequestError, build, given, keras_bytes
from workbench.engine.sources import dataset as named_dataset
from workbench.i18n import _

FILES_LANE = "files"


class _Cancelled(Exception):  # noqa: N818 - reads as what happened to the export
    pass


def as_bytes(data: bytes | bytearray | memoryview) -> np.ndarray:
    """A file's content as the uint8 array that carries it on the wire."""
    return np.frombuffer(bytes(data), dtype=np.uint8)


def _file_name(body: dict, key: str = "name") -> str:
    name = Path(str(body.get(key) or "")).name
    if not name or name in (".", ".."):
        raise EngineRequestError(_("the request names no file"))
    return name


@contextmanager
def _received(body: dict):
    """The file the request carries (``file``: uint8, ``name``: its name, suffix included),
    written under its own name in a temporary folder; yields (path, how to name it in a line)."""
    data = body.get("file")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise EngineRequestError(_("the request carries no file (a uint8 array)"))
    where = str(body.get("where") or body.get("name") or _("the file"))
    with tempfile.TemporaryDirectory(prefix="workbench-engine-") as folder:
        path = Path(folder) / _file_name(body)
        with open(path, "wb") as out:
            out.write(memoryview(data))
        yield path, where


def _named(text: str, path: Path, where: str) -> str:
    return text.replace(str(path), where)


def _load(path: Path, where: str, compile: bool):
    from workbench.core.modelio import ModelFileError, load_model

    try:
        return load_model(path, compile=compile)
    except ModelFileError as exc:
        raise EngineRequestError(_named(str(exc), path, where)) from None


def _input_shape(model) -> list[int]:
    """A read-only model's input (28×28 when it has none the editor can show)."""
    try:
        shape = tuple(model.inputs[0].shape[1:])
    except (AttributeError, IndexError, TypeError, ValueError):
        return [28, 28]
    if shape and all(isinstance(v, int) and v > 0 for v in shape):
        return list(shape)
    return [28, 28]


def open_model(state, call: Call) -> dict:
    """File ▸ Open of a ``.keras``/``.h5``: the file imported (``core.importer``; safe_mode on,
    the archive and HDF5 checks first) → ``editable``, ``kind``, ``reason`` (why read-only),
    ``spec`` and ``training`` (editable), ``plain`` (Keras's plain config), ``input_shape``,
    ``weights``."""
    from workbench.core.importer import import_model_file
    from workbench.core.modelio import ModelFileError, model_to_plain

    with _received(call.body) as (path, where):
        try:
            imported = import_model_file(path)
        except ModelFileError as exc:
            raise EngineRequestError(_named(str(exc), path, where)) from None
    model = imported.model
    return {"editable": imported.editable, "kind": imported.kind, "reason": imported.reason,
            "spec": imported.spec.to_dict() if imported.spec is not None else None,
            "training": imported.training.to_dict() if imported.training is not None else None,
            "plain": model_to_plain(model), "input_shape": _input_shape(model),
            "weights": [np.asarray(w) for w in model.get_weights()]}


def open_weights(state, call: Call) -> dict:
    """A project's trained weights (the ``.keras`` beside its JSON) for its ``spec``: ``fits``
    and, when a model built from ``spec`` takes them as they are, ``weights``."""
    from workbench.core.importer import ModelImportError, check_weights_fit
    from workbench.core.spec import ModelSpec

    with _received(call.body) as (path, where):
        model = _load(path, where, compile=False)
    try:
        check_weights_fit(ModelSpec.from_dict(call.body.get("spec")), model)
    except ModelImportError:
        return {"fits": False}
    return {"fits": True, "weights": [np.asarray(w) for w in model.get_weights()]}


def _model(body: dict, required: bool = True):
    """The model the body gives (``spec``/``plain`` + ``weights``), built on this lane."""
    if not required and not any(k in body for k in ("spec", "plain")):
        return None
    return build(*given(body))


def save_keras(state, call: Call) -> dict:
    """The trained model (``spec``/``plain`` + ``weights``) as a ``.keras`` file: ``keras``."""
    return {"keras": keras_bytes(_model(call.body))}


# --- exports -------------------------------------------------------------------------------------

EXPORT_KINDS = ("keras", "script", "onnx", "tflite", "saved-model", "report")


def _check_data(body: dict):
    """The samples an export is checked on, sent by the window (``samples``: ``name``, ``task``,
    ``class_names``, ``x_test``/``y_test`` and, for int8, ``x_train``/``y_train``), as the
    dataset the export actions take."""
    from workbench.core.datasets.dataset import Dataset

    data = body.get("samples")
    if not isinstance(data, dict) or not isinstance(data.get("x_test"), np.ndarray):
        raise EngineRequestError(_("the export request carries no samples to check on"))
    x_test, y_test = data["x_test"], data.get("y_test")
    x_train, y_train = data.get("x_train"), data.get("y_train")
    if x_train is None:
        x_train, y_train = x_test[:0], y_test[:0]
    return Dataset(str(data.get("name") or "dataset"), x_train, y_train, x_test, y_test,
                   str(data.get("task") or "classification"),
                   [str(c) for c in data.get("class_names") or []])


def _project(body: dict):
    from workbench.core.project import Project, ProjectError

    try:
        return Project.from_dict(body.get("project"))
    except ProjectError as exc:
        raise EngineRequestError(str(exc)) from None


def _tar(folder: Path) -> np.ndarray:
    """A folder the export wrote, as a tar (without its manifest: the window writes its own)."""
    from workbench.core.deploy.savedmodel import MANIFEST

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for item in sorted(folder.rglob("*")):
            if item.relative_to(folder).as_posix() == MANIFEST:
                continue
            tar.add(item, arcname=item.relative_to(folder).as_posix(), recursive=False)
    return as_bytes(buffer.getbuffer())


def export(state, call: Call) -> dict:
    """File ▸ Export of ``kind`` (``EXPORT_KINDS``): written and checked here (the export
    actions, LiteRT in its own child process), replied as ``file`` (uint8; a SavedModel folder
    as a tar) with the check's ``report``; the report's ``run_id`` and ``notes`` for ``report``.
    Events ``progress`` (``fraction``, ``text``); a ``stop`` of this request cancels it between
    steps."""
    from workbench.core.training import TrainingControl

    kind = call.body.get("kind")
    if kind not in EXPORT_KINDS:
        raise EngineRequestError(_("unknown export kind {kind!r}: one of {kinds}").format(
            kind=kind, kinds=", ".join(EXPORT_KINDS)))
    job = TrainingControl()
    state.controls[call.id] = job
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-export-") as folder:
            if kind == "report":
                return _report(state, call, Path(folder))
            return _export(state, call, kind, Path(folder), job)
    except _Cancelled:
        raise EngineRequestError(_("the export was cancelled")) from None
    finally:
        state.controls.pop(call.id, None)


def _export(state, call: Call, kind: str, folder: Path, job) -> dict:
    from workbench.actions import export as actions

    body = call.body
    dataset = _check_data(body)
    target = folder / _file_name(body)

    def progress(fraction: float, text: str) -> None:
        if job.stop_requested:
            raise _Cancelled()
        call.emit("progress", {"fraction": float(fraction), "text": str(text)})

    if kind == "keras":
        report = actions.export_keras(_model(body), target, dataset)
    elif kind == "script":
        report = actions.export_script(_project(body), target, dataset,
                                       _model(body, required=False))
    else:
        report = actions.export_deployed(_model(body), kind, target, dataset,
                                         body.get("quantize"), progress=progress)
    written = Path(report.path)
    report.path = str(body.get("where") or written.name)
    reply: dict[str, Any] = {"report": report.to_dict(), "name": written.name}
    reply["file"] = _tar(written) if written.is_dir() else as_bytes(written.read_bytes())
    reply["folder"] = written.is_dir()
    return reply


def _report(state, call: Call, folder: Path) -> dict:
    """The HTML report of the project's last run (``actions.report.write_report``) on the named
    ``dataset``, with the trained model when the body gives one."""
    from workbench.actions.report import write_report

    body = call.body
    target = folder / _file_name(body)
    seed = body.get("seed", 0)
    written = write_report(_project(body), target,
                           named_dataset(body, seed if type(seed) is int else 0),
                           _model(body, required=False), None,
                           str(body.get("template_key") or ""))
    return {"file": as_bytes(Path(written.path).read_bytes()), "name": target.name,
            "run_id": written.run_id, "notes": list(written.notes)}


# The file requests, name -> (function(state, call), lane).
REQUESTS = {"open_model": (open_model, FILES_LANE), "open_weights": (open_weights, FILES_LANE),
            "save_keras": (save_keras, FILES_LANE), "export": (export, FILES_LANE)}
