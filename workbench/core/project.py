"""Project files: the contract JSON (``{"format": "workbench/1", "model", "training", "dataset",
"runs"}``), read with one readable error for anything wrong, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.spec import ModelSpec, SpecError, TrainConfig

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
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Project:
        if not isinstance(data, dict):
            raise ProjectError("not a Workbench project: expected a JSON object")
        fmt = data.get("format")
        if not isinstance(fmt, str) or not fmt.startswith("workbench/"):
            raise ProjectError('not a Workbench project: no "format": "workbench/N" field')
        try:
            version = int(fmt.split("/", 1)[1])
        except ValueError:
            raise ProjectError(f"unknown project format {fmt!r}") from None
        if version > FORMAT_VERSION:
            raise ProjectError(
                f"this project was written by a newer Workbench (format {fmt}); "
                f"this version reads up to {FORMAT}"
            )
        if "model" not in data:
            raise ProjectError("the project has no model")
        try:
            model = ModelSpec.from_dict(data["model"])
            training = TrainConfig.from_dict(data.get("training"))
        except SpecError as exc:
            raise ProjectError(str(exc)) from None
        dataset = data.get("dataset", DEFAULT_DATASET)
        if not isinstance(dataset, str) or not dataset:
            raise ProjectError("the project's dataset must be a name or a path")
        runs = data.get("runs", [])
        if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
            raise ProjectError("the project's runs must be a list of objects")
        name = data.get("name", "")
        description = data.get("description", "")
        return cls(model, training, dataset, runs, name if isinstance(name, str) else "",
                   description if isinstance(description, str) else "")

    def copy(self) -> Project:
        return Project.from_dict(json.loads(json.dumps(self.to_dict())))


def load_project(path: str | os.PathLike) -> Project:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ProjectError(f"{path}: is a folder, not a project file") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{path}: not a text file (is it a project?)") from None
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise ProjectError(f"{path}: nested too deeply to be a project") from None
    try:
        project = Project.from_dict(data)
    except ProjectError as exc:
        raise ProjectError(f"{path}: {exc}") from None
    if not project.name:
        project.name = path.stem
    return project


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write through a temporary file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_project(project: Project, path: str | os.PathLike) -> None:
    try:
        write_atomic(path, json.dumps(project.to_dict(), indent=2) + "\n")
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be written ({exc.strerror or exc})") from None
