"""New, Open (projects and Keras models) and the trained weights saved beside a project.

A model file is read here (``core.safe_io``) and imported by the engine (``open_model``,
``open_weights``); the window never loads Keras. Its answer comes later, on the GUI thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5 import sip

from workbench.core.project import FORMAT, Project, ProjectError, load_project, weights_path
from workbench.core.run_text import last_weights, record_epochs
from workbench.core.safe_io import FileRefused, check_fits_memory, read_bytes
from workbench.core.spec import ModelSpec, TrainConfig
from workbench.engine.files import as_bytes
from workbench.i18n import _

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def read_model_file(path: Path) -> bytes:
    """A model file's bytes for the engine, read safely (a regular file, FIFOs and devices
    refused at once; one that fits the memory twice over: here and in the engine)."""
    what = ".keras model file" if path.suffix.lower() == ".keras" else "legacy .h5 model file"
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_bytes says why it cannot be read
    check_fits_memory(path, 2 * size, "the model file")
    return read_bytes(path, "model", what)


def file_body(path: Path, data: bytes) -> dict:
    """A request's file: its bytes, its name (the suffix says its format) and where it is (the
    engine's lines name it so)."""
    return {"file": as_bytes(data), "name": path.name, "where": str(path)}


class OpenMixin:
    """Part of ProjectActions: what replaces the open project."""

    def new_project(self) -> bool:
        from workbench.core.templates import DEFAULT_TEMPLATE, load_template

        if self._blocked_by_training() or not self.maybe_save():
            return False
        self.state.replace_project(load_template(DEFAULT_TEMPLATE))
        return True

    def open_dialog(self) -> bool:
        if self._blocked_by_training():
            return False
        path = self.ask_open_path(str(self.start_folder()))
        return self.open_path(path) if path else False

    def open_recent(self, path: str) -> bool:
        if not Path(path).exists():
            self._forget(path)
            self.warn(_("{path} no longer exists; it was removed from the recent files.").format(
                path=path))
            return False
        return self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a project (.json) or a Keras model (.keras, .h5). Nothing changes on failure."""
        if self._blocked_by_training():
            return False
        path = Path(path)
        if weights_path(path.resolve()) in self._weights_writes.values():
            self.finish_writes()  # a Save of this project is still writing its weights
        if path.suffix.lower() in MODEL_SUFFIXES:
            return self._open_model(path)
        try:
            project = load_project(path)
        except ProjectError as exc:
            self.warn(_("The project could not be opened.\n\n{exc}").format(exc=exc))
            return False
        if not self.maybe_save():
            return False
        self.state.replace_project(project, path.resolve())
        self._remember(path)
        note = ""
        if project.migrated_from is not None:
            note = _(" (converted from format {old}; saving writes {new})").format(
                old=project.migrated_from, new=FORMAT)
        self._status(_("Opened {path}{note}").format(path=path, note=note))
        self._load_weights_beside(path.resolve())
        self.opened.emit(str(path))
        return True

    def _load_weights_beside(self, path: Path) -> None:
        """The trained weights saved with the project, if their architecture is the spec's: the
        file's bytes go to the engine, which loads them safely and checks they fit the spec."""
        keras_path = weights_path(path)
        if not keras_path.exists():  # a FIFO or a folder there: read_model_file says what it is
            return
        if not self.state.engine.loaded:
            self._pending_weights = path  # picked up when the engine is ready
            return
        self._pending_weights = None
        try:
            data = read_model_file(keras_path)
        except FileRefused as exc:
            self.warn(_("The project opened, but its trained weights were not loaded.\n\n{exc}")
                      .format(exc=exc))
            return
        project = self.state.project
        spec = self.state.spec.to_dict()

        def done(reply: dict | None, error: str) -> None:
            if sip.isdeleted(self.window) or self.state.project is not project or (
                    self.state.path != path):
                return  # another project came meanwhile: these weights are not its
            if error:
                self.warn(_("The project opened, but its trained weights were not "
                            "loaded.\n\n{error}").format(error=error))
            elif not reply["fits"]:
                self._status(_("{name} holds another architecture than the project's model; "
                               "its weights were not loaded").format(name=keras_path.name), 15_000)
            else:
                self._adopt_saved_weights(path, reply["weights"], spec)

        self.state.engine.ask("open_weights", {**file_body(keras_path, data), "spec": spec},
                              done)

    def _adopt_saved_weights(self, path: Path, weights: list, spec: dict) -> None:
        # The weights saved are those of the last run that trained (which epoch, which run).
        # Counted as the run counted them (a continued run's go on; a stop's are partial).
        last = next((r for r in reversed(self.state.project.runs)
                     if any(record_epochs(r)[1:])), None)
        (epoch, partial), run = (last_weights(last), int(last.get("id", 0))) if last else (
            (0, False), None)
        self.state.trained.set_weights(epoch, [np.array(w) for w in weights], spec, run=run,
                                       partial=partial)
        self._status(_("Opened {name} with its trained weights ({name2})").format(
            name=path.name, name2=weights_path(path).name))

    def _on_engine_ready(self) -> None:
        if self._pending_weights is not None and self._pending_weights == self.state.path:
            self._load_weights_beside(self._pending_weights)

    def _open_model(self, path: Path) -> bool:
        """A Keras model: its bytes go to the engine, which imports it (safely); Sequential
        stacks and plain graphs become editable, other models open read-only when it answers
        (``opened``). False when it cannot be asked (the engine still starting, a file refused)."""
        if not self.state.engine.loaded:
            self.inform(_("The engine is still starting; open the model in a moment."))
            return False
        try:
            data = read_model_file(path)
        except FileRefused as exc:
            self.warn(_("The model could not be opened.\n\n{exc}").format(exc=exc))
            return False
        self._opening = token = object()  # a newer Open drops this one's answer
        project = self.state.project
        self._status(_("Opening {name}…").format(name=path.name), 0)

        def done(reply: dict | None, error: str) -> None:
            if sip.isdeleted(self.window) or self._opening is not token:
                return
            self._opening = None
            if self.state.project is not project:
                self._status(_("{name} was not opened: another project came meanwhile").format(
                    name=path.name))
                return
            if error:
                self._status("")
                self.warn(_("The model could not be opened.\n\n{error}").format(error=error))
            else:
                self._adopt_model(path, reply)

        self.state.engine.ask("open_model", file_body(path, data), done)
        return True

    def _adopt_model(self, path: Path, imported: dict) -> None:
        """The engine's answer to ``open_model``: the model becomes the open project."""
        if self._blocked_by_training() or not self.maybe_save():
            self._status("")
            return
        dataset = self.state.project.dataset
        name = path.stem
        weights = [np.array(w) for w in imported["weights"]]
        if imported["editable"]:
            spec = ModelSpec.from_dict(imported["spec"])
            training = imported.get("training")
            project = Project(spec, TrainConfig.from_dict(training) if training else
                              TrainConfig(), dataset, name=name)
            self.state.replace_project(project, None)
            self.state.trained.set_weights(0, weights, spec.to_dict())
            self._status(_("Opened {name} as an editable model with its trained weights; "
                           "Save to keep it as a project").format(name=path.name))
        else:
            kind = imported["kind"]
            project = Project(ModelSpec(tuple(imported["input_shape"]), []), TrainConfig(),
                              dataset, name=name,
                              description=f"Read-only {kind} model from {path}")
            read_only = _("read-only: {kind} model").format(kind=kind)
            self.state.replace_project(project, None, read_only=read_only)
            self.state.trained.set_trained_model(imported["plain"], weights)
            self.read_only_label.setText(read_only)
            self.read_only_label.setToolTip(
                _("{name} cannot be edited here ({imported}); it can be evaluated, inspected "
                  "and tested by drawing.").format(name=path.name, imported=imported['reason']))
            self.read_only_label.show()
            self._status(f"{read_only}: {imported['reason']}", 20_000)
        self.state.mark_unsaved()
        self._remember(path)
        self.opened.emit(str(path))

    def _on_project_replaced(self) -> None:
        self.read_only_label.hide()
        self._run_logs = {}
        self.recovery.clear()

