"""Project files: the contract JSON (``{"format": "workbench/1", "model", "training", "dataset",
"runs"}``), read with one readable error for anything wrong, written atomically.

Older formats are migrated on load (``MIGRATIONS``); a newer format is refused rather than guessed.
Format 0 (the first prototype) wrote ``"format": "workbench"`` or ``"workbench/0"``, kept the model
under ``"spec"`` with layers as ``{"type", "params"}``, the training settings under ``"settings"``
(with ``"lr"`` for the learning rate) and the runs under ``"history"``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.atomic import replacing
from workbench.core.safe_io import SIZE_LIMITS, FileRefused, read_text, shown
from workbench.core.spec import ModelSpec, SpecError, TrainConfig
from workbench.i18n import N_, _

FORMAT = "workbench/1"
FORMAT_VERSION = 1
DEFAULT_DATASET = "mnist-embedded"


class ProjectError(Exception):
    """One readable sentence on why a project cannot be read or written."""


@dataclass
class Project:
    model: ModelSpec
    training: TrainConfig = field(default_factory=TrainConfig)
    dataset: str = DEFAULT_DATASET
    runs: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""
    description: str = ""
    # The format version the file was migrated from (None: it was current). Not written back.
    migrated_from: int | None = field(default=None, compare=False, repr=False)
    # Each run in the window also writes TensorBoard event files beside the project
    # (core.tensorboard.event_folder). Written only when on.
    tensorboard: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "model": self.model.to_dict(),
            "training": self.training.to_dict(),
            "dataset": self.dataset,
            "runs": self.runs,
        }
        if self.name:
            data["name"] = self.name
        if self.description:
            data["description"] = self.description
        if self.tensorboard:
            data["tensorboard"] = True
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Project:
        if not isinstance(data, dict):
            raise ProjectError(_("not a Workbench project: expected a JSON object"))
        version = format_version(data)
        if version > FORMAT_VERSION:
            raise ProjectError(
                _("this project was written by a newer Workbench (format {format}); "
                  "this version reads up to {format2}. Update the Workbench to open it.").format(
                    format=data['format'], format2=FORMAT)
            )
        migrated_from = version if version < FORMAT_VERSION else None
        while version < FORMAT_VERSION:
            data = MIGRATIONS[version](data)
            version += 1
        if "model" not in data:
            raise ProjectError(_("the project has no model"))
        try:
            model = ModelSpec.from_dict(data["model"])
            training = TrainConfig.from_dict(data.get("training"))
        except SpecError as exc:
            raise ProjectError(str(exc)) from None
        dataset = data.get("dataset", DEFAULT_DATASET)
        if not isinstance(dataset, str) or not dataset:
            raise ProjectError(_("the project's dataset must be a name or a path"))
        runs = data.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
            raise ProjectError(_("the project's runs must be a list of objects"))
        name = data.get("name", "")
        description = data.get("description", "")
        tensorboard = data.get("tensorboard", False)
        if not isinstance(tensorboard, bool):
            raise ProjectError(_("the project's tensorboard must be true or false"))
        return cls(model, training, dataset, runs, name if isinstance(name, str) else "",
                   description if isinstance(description, str) else "", migrated_from,
                   tensorboard=tensorboard)

    def copy(self) -> Project:
        return Project.from_dict(json.loads(json.dumps(self.to_dict())))


def format_version(data: dict[str, Any]) -> int:
    """The format version a project dict declares, or ProjectError when it declares none."""
    fmt = data.get("format")
    if fmt == "workbench":  # format 0 wrote no version number
        return 0
    if not isinstance(fmt, str) or not fmt.startswith("workbench/"):
        raise ProjectError(_('not a Workbench project: no "format": "workbench/N" field'))
    number = fmt.split("/", 1)[1]
    if not number.isdigit() or not number.isascii():
        raise ProjectError(_("unknown project format {fmt!r}").format(fmt=fmt))
    return int(number)


# What format 0 meant by an argument a layer left out, where that was not Keras's default (its
# layer table had relu for Conv2D, 64 units, ...). Format 1 means Keras's default, so the migration
# writes these out. Frozen: it describes old files, not today's palette.
_FORMAT_0_DEFAULTS: dict[str, dict[str, Any]] = {
    "Dense": {"units": 64}, "Activation": {"activation": "relu"},
    "Reshape": {"target_shape": [28, 28, 1]}, "Dropout": {"rate": 0.2},
    "GaussianNoise": {"stddev": 0.1}, "SpatialDropout2D": {"rate": 0.2},
    "Conv2D": {"filters": 32, "kernel_size": [3, 3], "activation": "relu"},
    "Conv1D": {"filters": 32, "kernel_size": [3], "activation": "relu"},
    "AveragePooling2D": {"pool_size": [2, 2]},
    "LSTM": {"units": 64}, "GRU": {"units": 64}, "SimpleRNN": {"units": 64},
    "RandomRotation": {"factor": 0.05}, "RandomZoom": {"height_factor": 0.1},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
}


def _layer_0(layer: Any) -> Any:
    if not isinstance(layer, dict):
        return layer
    if "type" in layer and "class_name" not in layer:
        layer = {"class_name": layer.get("type"), "config": layer.get("params", {})}
    config, name = layer.get("config"), layer.get("class_name")
    meant = _FORMAT_0_DEFAULTS.get(name) if isinstance(name, str) else None
    if meant and isinstance(config, (dict, type(None))):
        layer = {**layer, "config": {**meant, **(config or {})}}
    return layer


def _migrate_0(data: dict[str, Any]) -> dict[str, Any]:
    """Format 0 → 1: "spec" → "model" (layers {"type", "params"} → {"class_name", "config"}, with
    the arguments format 0 filled in written out), "settings" → "training" ("lr" →
    "learning_rate"), "history" → "runs"."""
    out = {k: v for k, v in data.items() if k not in ("spec", "settings", "history")}
    out["format"] = "workbench/1"
    model = data.get("model", data.get("spec"))
    if isinstance(model, dict) and isinstance(model.get("layers"), list):
        model = dict(model)
        model["layers"] = [_layer_0(layer) for layer in model["layers"]]
    if model is not None:
        out["model"] = model
    training = data.get("training", data.get("settings"))
    if isinstance(training, dict) and "lr" in training:
        training = {("learning_rate" if k == "lr" else k): v for k, v in training.items()}
    if training is not None:
        out["training"] = training
    if "runs" not in data and "history" in data:
        out["runs"] = data["history"]
    return out


# MIGRATIONS[n] turns a format-n dict into a format-(n+1) dict; from_dict validates the result.
MIGRATIONS = {0: _migrate_0}


def weights_path(project_path: str | os.PathLike) -> Path:
    """Where a project's trained weights live: ``name.keras`` beside ``name.json``."""
    return Path(project_path).with_suffix(".keras")


def load_project(path: str | os.PathLike) -> Project:
    path = Path(path)
    try:  # a regular file of a project's size only: never a FIFO, /dev/zero or a gigabyte
        text = read_text(path, "project", N_("project file"))
    except FileRefused as exc:
        raise ProjectError(str(exc)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            _("{path}: not valid JSON (line {lineno}, column {colno}: {msg})").format(
                path=shown(path), lineno=exc.lineno, colno=exc.colno, msg=exc.msg)
        ) from None
    except RecursionError:
        raise ProjectError(_("{path}: nested too deeply to be a project").format(
                               path=shown(path))) from None
    except ValueError as exc:  # e.g. a number too long to convert
        raise ProjectError(_("{path}: not valid JSON ({exc})").format(
                               path=shown(path), exc=exc)) from None
    try:
        project = Project.from_dict(data)
    except ProjectError as exc:
        raise ProjectError(f"{shown(path)}: {exc}") from None
    if not project.name:
        project.name = path.stem
    project.dataset = _resolved_dataset(project.dataset, path.parent)
    return project


def _is_relative_path(dataset: str) -> bool:
    from workbench.core.datasets import dataset_names

    return dataset not in dataset_names() and not Path(dataset).expanduser().is_absolute()


def _resolved_dataset(dataset: str, folder: Path) -> str:
    """A relative dataset path means beside the project (where a shared folder keeps it), not
    wherever the program happens to run."""
    if not _is_relative_path(dataset):
        return dataset
    beside = folder / dataset
    # absolute, links left as they are: an error then names the file the project names
    return os.path.abspath(beside) if beside.exists() else dataset


def _stored_dataset(dataset: str, folder: Path) -> str:
    """A dataset inside the project's folder is written relative to it, so the folder can move."""
    path = Path(dataset)
    if not path.is_absolute():
        return dataset
    for base in (Path(os.path.abspath(folder)), folder.resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return dataset


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write through a temporary file in the same folder, fsync, then ``os.replace``."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _limit_text(limit: int) -> str:
    return f"{limit / 1e6:g} MB"


def project_text(project: Project, path: str | os.PathLike) -> str:
    """The project file's text for ``path``: indented where that fits the size a project is read
    with, else compact (indenting made a 28 MB project 67 MB, which it then refused to open);
    ProjectError where not even that fits."""
    data = project.to_dict()
    data["dataset"] = _stored_dataset(project.dataset, Path(path).parent)
    limit = SIZE_LIMITS["project"]
    text = json.dumps(data, indent=2) + "\n"
    if len(text) > limit:  # ASCII (json.dumps escapes the rest): characters are bytes
        text = json.dumps(data, separators=(",", ":")) + "\n"
    if len(text) > limit:
        raise ProjectError(_("{path}: the project would be {n_text:.1f} MB, more than "
                             "the {limit_text} a project file may have; remove some of "
                             "its runs").format(
                               path=shown(path), n_text=len(text) / 1e6,
                               limit_text=_limit_text(limit)))
    return text


def check_room_for_run(project: Project, epochs: int, path: str | os.PathLike) -> None:
    """ProjectError, before a run, when the project with the run's record (its model and
    ``epochs`` epochs of history) would be too large to save: said now, not after the run."""
    room = SIZE_LIMITS["project"]
    run = len(json.dumps(project.model.to_dict())) + 4096 + epochs * 8 * 24
    size = len(json.dumps(project.to_dict(), separators=(",", ":"))) + run
    if size > room:
        raise ProjectError(_("{path}: with one more run the project would be over the "
                             "{limit_text} a project file may have; remove some of its "
                             "runs first").format(
                               path=shown(path), limit_text=_limit_text(room)))


def save_project(project: Project, path: str | os.PathLike,
                 place: str | os.PathLike | None = None) -> None:
    """Write ``project`` at ``path``, whole or not at all. ``place``: where the file will be read
    from when it is written elsewhere first (its dataset path is stored relative to there)."""
    try:
        write_atomic(path, project_text(project, place or path))
    except OSError as exc:
        raise ProjectError(_("{path}: cannot be written ({reason})").format(
                               path=path, reason=exc.strerror or exc)) from None
