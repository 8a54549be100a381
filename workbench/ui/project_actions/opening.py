"""New, Open (projects and Keras models) and the trained weights saved beside a project."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication

from workbench.core.project import FORMAT, Project, ProjectError, load_project, weights_path
from workbench.core.run_text import last_weights, record_epochs
from workbench.core.spec import ModelSpec, TrainConfig

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


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
            self.warn(f"{path} no longer exists; it was removed from the recent files.")
            return False
        return self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        """Open a project (.json) or a Keras model (.keras, .h5). Nothing changes on failure."""
        if self._blocked_by_training():
            return False
        path = Path(path)
        if path.suffix.lower() in MODEL_SUFFIXES:
            return self._open_model(path)
        try:
            project = load_project(path)
        except ProjectError as exc:
            self.warn(f"The project could not be opened.\n\n{exc}")
            return False
        if not self.maybe_save():
            return False
        self.state.replace_project(project, path.resolve())
        self._remember(path)
        note = ""
        if project.migrated_from is not None:
            note = (f" (converted from format {project.migrated_from}; saving writes "
                    f"{FORMAT})")
        self._status(f"Opened {path}{note}")
        self._load_weights_beside(path.resolve())
        self.opened.emit(str(path))
        return True

    def _load_weights_beside(self, path: Path) -> None:
        """The trained weights saved with the project, if their architecture is the spec's."""
        keras_path = weights_path(path)
        if not keras_path.exists():  # a FIFO or a folder there: load_model says what it is
            return
        if not self.state.engine.loaded:
            self._pending_weights = path  # picked up when TensorFlow is ready
            return
        self._pending_weights = None
        from workbench.core.modelio import ModelFileError, load_model

        try:
            model = load_model(keras_path, compile=False)
        except ModelFileError as exc:
            self.warn(f"The project opened, but its trained weights were not loaded.\n\n{exc}")
            return
        spec = self.state.spec
        try:
            from workbench.core.importer import ModelImportError, check_weights_fit

            check_weights_fit(spec, model)
        except ModelImportError:
            self._status(f"{keras_path.name} holds another architecture than the project's "
                         "model; its weights were not loaded", 15_000)
            return
        # The weights saved are those of the last run that trained (which epoch, which run).
        # Counted as the run counted them (a continued run's go on; a stop's are partial).
        last = next((r for r in reversed(self.state.project.runs)
                     if any(record_epochs(r)[1:])), None)
        (epoch, partial), run = (last_weights(last), int(last.get("id", 0))) if last else (
            (0, False), None)
        self.state.trained.set_weights(epoch, [w.copy() for w in model.get_weights()],
                                       spec.to_dict(), run=run, partial=partial)
        self._status(f"Opened {path.name} with its trained weights ({keras_path.name})")

    def _on_engine_ready(self) -> None:
        if self._pending_weights is not None and self._pending_weights == self.state.path:
            self._load_weights_beside(self._pending_weights)

    def _open_model(self, path: Path) -> bool:
        """A Keras model: Sequential stacks become editable, other models open read-only."""
        if not self.state.engine.loaded:
            self.inform("The engine is still starting; open the model in a moment.")
            return False
        from workbench.core.importer import import_model_file
        from workbench.core.modelio import ModelFileError

        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            imported = import_model_file(path)
        except ModelFileError as exc:
            self.warn(f"The model could not be opened.\n\n{exc}")
            return False
        finally:
            QApplication.restoreOverrideCursor()
        if not self.maybe_save():
            return False
        dataset = self.state.project.dataset
        name = path.stem
        if imported.editable:
            project = Project(imported.spec, imported.training or TrainConfig(), dataset,
                              name=name)
            self.state.replace_project(project, None)
            self.state.trained.set_weights(0, [w.copy() for w in imported.model.get_weights()],
                                   imported.spec.to_dict())
            self._status(f"Opened {path.name} as an editable model with its trained weights; "
                         "Save to keep it as a project")
        else:
            project = Project(ModelSpec(self._input_shape(imported.model), []), TrainConfig(),
                              dataset, name=name,
                              description=f"Read-only {imported.kind} model from {path}")
            read_only = f"read-only: {imported.kind} model"
            self.state.replace_project(project, None, read_only=read_only)
            self.state.trained.set_trained_model(imported.model)
            self.read_only_label.setText(read_only)
            self.read_only_label.setToolTip(
                f"{path.name} cannot be edited here ({imported.reason}); it can be evaluated, "
                "inspected and tested by drawing.")
            self.read_only_label.show()
            self._status(f"{read_only}: {imported.reason}", 20_000)
        self.state.mark_unsaved()
        self._remember(path)
        self.opened.emit(str(path))
        return True

    @staticmethod
    def _input_shape(model) -> tuple[int, ...]:
        try:
            shape = tuple(model.inputs[0].shape[1:])
        except (AttributeError, IndexError, TypeError, ValueError):
            return (28, 28)
        return shape if shape and all(isinstance(v, int) and v > 0 for v in shape) else (28, 28)

    def _on_project_replaced(self) -> None:
        self.read_only_label.hide()
        self._run_logs = {}
        self.recovery.clear()

