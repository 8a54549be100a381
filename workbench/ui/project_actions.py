"""File menu: New, Open (projects and Keras models), Recent, Save, Save As, Export; autosave,
training checkpoints and the offer to restore after a crash.

A project is saved as its JSON file plus the trained weights beside it (``name.keras``). While the
project has unsaved changes it is autosaved every minute and after every run into this session's
recovery folder (core.recovery); while a run trains, its last and best weights go there after each
epoch. A clean save or close removes them; what an app that crashed left behind is offered back at
the next start.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

from workbench.core import tf_loader
from workbench.core.export import write_history_csv
from workbench.core.project import (
    FORMAT,
    Project,
    ProjectError,
    load_project,
    save_project,
    weights_path,
    write_atomic,
)
from workbench.core.recovery import LAST, Recovery, RecoverySession, find_recoveries
from workbench.core.spec import ModelSpec, TrainConfig

APP_NAME = "Workbench"
MAX_RECENT = 8
AUTOSAVE_MS = 60_000
PROJECT_FILTER = "Workbench projects (*.json)"
OPEN_FILTER = ("Projects and Keras models (*.json *.keras *.h5 *.hdf5);;"
               "Workbench projects (*.json);;Keras models (*.keras *.h5 *.hdf5)")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
# The plots File ▸ Export can write, by their Qt object names (DESIGN.md contracts).
PLOTS = (("lossPlot", "Loss curves"), ("accuracyPlot", "Accuracy curves"),
         ("confusionMatrix", "Confusion matrix"))


def export_plot(widget: QWidget, path: str | Path) -> Path:
    """Write a pyqtgraph widget (or the first one inside ``widget``) as PNG or SVG.

    Raises ValueError when there is no plot to export and OSError when the file cannot be written.
    """
    import pyqtgraph as pg
    from pyqtgraph.exporters import ImageExporter, SVGExporter

    path = Path(path)
    view = widget if isinstance(widget, pg.GraphicsView) else widget.findChild(pg.GraphicsView)
    if view is None:
        raise ValueError("there is no plot to export")
    # A PlotWidget exports its plot (axes, curves, legend); other views their whole scene
    # (the confusion matrix with its colour bar).
    target = view.getPlotItem() if isinstance(view, pg.PlotWidget) else view.scene()
    if path.suffix.lower() == ".svg":
        SVGExporter(target).export(str(path))
    else:
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp"):
            path = path.with_suffix(".png")
        exporter = ImageExporter(target)
        width = int(max(800, exporter.parameters()["width"]))
        exporter.parameters()["width"] = width  # crisp enough to print
        exporter.export(str(path))
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"{path} could not be written")
    return path


def default_data_dir() -> str:
    return QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)


def _end_session(session: RecoverySession, *_args) -> None:
    """When the window goes: a session with nothing unsaved leaves nothing behind."""
    if session.has_autosave():
        session.abandon()  # unsaved work nobody resolved: keep it to offer next time
    else:
        session.close()


class ProjectActions(QObject):
    """The File menu's project and export actions for one main window, and its recovery."""

    saved = pyqtSignal(str)  # path
    opened = pyqtSignal(str)  # path of the project or model file
    autosaved = pyqtSignal(str)  # path of the autosave file

    _offered_this_process = False  # the start-up recovery offer is made once per process

    def __init__(self, window: QMainWindow, settings: QSettings | None = None,
                 data_dir: str | None = None, autosave_ms: int = AUTOSAVE_MS,
                 offer_recovery: bool | None = None):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)
        self.data_dir = data_dir if data_dir is not None else default_data_dir()
        self.recovery = RecoverySession(self.data_dir)
        self.last_warning = ""
        self._run_logs: dict[int, dict[str, float]] = {}
        self._run_training: dict[str, Any] | None = None
        self._run_started = time.time()
        self._pending_weights: Path | None = None
        self._restore_box: QMessageBox | None = None

        self._create_actions()
        self._insert_into(window.file_menu)
        self.read_only_label = QLabel("", window, objectName="readOnlyLabel")
        self.read_only_label.setStyleSheet("color: #a05a00; padding: 0 6px;")
        self.read_only_label.hide()
        window.statusBar().addPermanentWidget(self.read_only_label)

        self.autosave_timer = QTimer(self, interval=autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()
        state = self.state
        state.runs_changed.connect(self._on_runs_changed)
        state.trained.weights_updated.connect(self._on_weights_updated)
        state.busy_changed.connect(self._on_busy_changed)
        state.project_replaced.connect(self._on_project_replaced)
        state.tensorflow.ready.connect(self._on_tensorflow_ready)
        panel = getattr(window, "training_panel", None)
        if panel is not None and hasattr(panel, "training_started"):
            panel.training_started.connect(self._on_training_started)
        window.destroyed.connect(lambda *_a, s=self.recovery: _end_session(s))
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(lambda s=self.recovery: _end_session(s))

        if offer_recovery is None:
            offer_recovery = not ProjectActions._offered_this_process
        if offer_recovery:
            ProjectActions._offered_this_process = True
            QTimer.singleShot(0, self.offer_recovery)

    # Menu ---------------------------------------------------------------------------------------

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _create_actions(self) -> None:
        self.new_action = self._action("&New", self.new_project, QKeySequence.New,
                                       "A new project from the default template")
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.Open,
                                        "Open a project, or a Keras model (.keras, .h5)")
        self.recent_menu = QMenu("Open &Recent", self.window)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.save_action = self._action("&Save", self.save, QKeySequence.Save,
                                        "Save the project and its trained weights")
        self.save_as_action = self._action("Save &As…", self.save_as, QKeySequence("Ctrl+Shift+S"),
                                           "Save the project under a new name")
        self.export_menu = QMenu("&Export", self.window)
        self.export_menu.setObjectName("exportMenu")
        self.export_model_action = self._action(
            "Trained &model (.keras)…", self.export_model,
            tip="The trained Keras model, to use without the Workbench")
        self.export_script_action = self._action(
            "&Python script…", self.export_script,
            tip="A standalone Keras script that builds and trains the same model")
        self.export_menu.addAction(self.export_model_action)
        self.export_menu.addAction(self.export_script_action)
        self.export_menu.addSeparator()
        self.export_plot_actions: dict[str, QAction] = {}
        for name, title in PLOTS:
            action = self._action(f"{title} (PNG/SVG)…", lambda n=name: self.export_plot(n))
            self.export_plot_actions[name] = action
            self.export_menu.addAction(action)
        self.export_menu.addSeparator()
        self.export_csv_action = self._action(
            "Run &history (CSV)…", self.export_history,
            tip="Every run's per-epoch loss and metrics as a spreadsheet")
        self.export_menu.addAction(self.export_csv_action)

    def _insert_into(self, menu: QMenu) -> None:
        """New first, then the template submenu, then Open, Recent, Save, Save As, Export."""
        templates = getattr(self.window, "templates_menu", None)
        actions = menu.actions()
        anchor = templates.menuAction() if templates is not None else None
        if anchor in actions:
            menu.insertAction(anchor, self.new_action)
            index = actions.index(anchor)
            after = actions[index + 1] if index + 1 < len(actions) else None
        else:
            after = actions[0] if actions else None
            menu.insertAction(after, self.new_action)
        items: list[QAction] = [self.open_action, self.recent_menu.menuAction()]
        for action in items:
            menu.insertAction(after, action)
        menu.insertSeparator(after)
        for action in (self.save_action, self.save_as_action, self.export_menu.menuAction()):
            menu.insertAction(after, action)

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [], type=list)
        return [str(v) for v in value if v][:MAX_RECENT]

    def _remember(self, path: Path) -> None:
        path_text = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != path_text]
        self.settings.setValue("recentFiles", [path_text, *files][:MAX_RECENT])
        self.settings.sync()

    def _forget(self, path: str) -> None:
        self.settings.setValue("recentFiles", [f for f in self.recent_files() if f != path])

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.recent_files()
        for number, path in enumerate(files, 1):
            action = menu.addAction(f"&{number}  {Path(path).name}")
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))
        if not files:
            menu.addAction("No recent projects").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear the list", lambda: self.settings.setValue("recentFiles", []))

    # Dialogs: separate methods so tests can answer them ------------------------------------------

    def ask_open_path(self) -> str:
        start = str(self.state.path.parent) if self.state.path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open", start, OPEN_FILTER)
        return path

    def ask_save_path(self, caption: str, suggested: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self.window, caption, suggested, filters)
        return path

    def ask_unsaved(self) -> str:
        """"save", "discard" or "cancel" for the project's unsaved changes."""
        name = self.state.path.name if self.state.path else (self.state.project.name
                                                              or "Untitled")
        answer = QMessageBox.question(
            self.window, APP_NAME, f"“{name}” has unsaved changes. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save,
        )
        return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")

    def ask_restore(self, recovery: Recovery) -> bool | None:
        """True / False to restore or discard now; None when the answer comes later.

        The question is not modal, so an app started by a script is never stuck behind it.
        """
        box = QMessageBox(QMessageBox.Question, APP_NAME,
                          "The Workbench did not close cleanly last time.\n\n"
                          f"Restore {recovery.describe()}?",
                          QMessageBox.NoButton, self.window)
        box.setObjectName("recoveryPrompt")
        restore = box.addButton("Restore", QMessageBox.AcceptRole)
        box.addButton("Discard", QMessageBox.DestructiveRole)
        box.setDefaultButton(restore)
        box.setModal(False)
        box.buttonClicked.connect(
            lambda button: self._on_restore_answer(recovery, button is restore))
        self._restore_box = box
        box.show()
        return None

    def warn(self, text: str) -> None:
        self.last_warning = text
        QMessageBox.warning(self.window, APP_NAME, text)

    def inform(self, text: str) -> None:
        self.last_warning = text
        QMessageBox.information(self.window, APP_NAME, text)

    def _status(self, text: str, ms: int = 10_000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # Unsaved changes -----------------------------------------------------------------------------

    def maybe_save(self) -> bool:
        """Before the project goes (close, New, Open): Save / Discard / Cancel. True: go on."""
        if not self.state.dirty:
            self.recovery.clear()
            return True
        answer = self.ask_unsaved()
        if answer == "save":
            return self.save()
        if answer == "discard":
            self.recovery.clear()
            return True
        return False

    def _blocked_by_training(self) -> bool:
        if self.state.busy:
            self.inform("Stop the training first.")
            return True
        return False

    # New / Open ----------------------------------------------------------------------------------

    def new_project(self) -> bool:
        from workbench.core.templates import DEFAULT_TEMPLATE, load_template

        if self._blocked_by_training() or not self.maybe_save():
            return False
        self.state.replace_project(load_template(DEFAULT_TEMPLATE))
        return True

    def open_dialog(self) -> bool:
        if self._blocked_by_training():
            return False
        path = self.ask_open_path()
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
        if not keras_path.is_file():
            return
        if not tf_loader.is_loaded():
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
        self.state.trained.set_weights(0, [w.copy() for w in model.get_weights()], spec.to_dict())
        self._status(f"Opened {path.name} with its trained weights ({keras_path.name})")

    def _on_tensorflow_ready(self) -> None:
        if self._pending_weights is not None and self._pending_weights == self.state.path:
            self._load_weights_beside(self._pending_weights)

    def _open_model(self, path: Path) -> bool:
        """A Keras model: Sequential stacks become editable, other models open read-only."""
        if not tf_loader.is_loaded():
            self.inform("TensorFlow is still loading; open the model in a moment.")
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

    # Save ----------------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.state.path is None or self.state.read_only:
            return self.save_as()
        return self.save_to(self.state.path)

    def save_as(self) -> bool:
        state = self.state
        if state.path is not None:
            suggested = str(state.path)
        else:
            folder = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
            stem = "".join(c if c.isalnum() or c in "-_ " else "-"
                           for c in (state.project.name or "project")).strip() or "project"
            suggested = str(Path(folder) / f"{stem}.json")
        path = self.ask_save_path("Save project", suggested, PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """The project JSON (atomically), then its trained weights beside it as ``.keras``."""
        path = Path(path).resolve()
        state = self.state
        try:
            save_project(state.project, path)
        except ProjectError as exc:
            self.warn(f"The project was not saved.\n\n{exc}")
            return False
        problem = ""
        model = state.trained.inference_model() if state.trained.weights is not None else None
        if model is not None:
            from workbench.core.modelio import save_model

            try:
                save_model(model, weights_path(path))
            except Exception as exc:  # noqa: BLE001 - Keras and the OS raise many kinds
                problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        state.mark_saved(path)
        self._remember(path)
        self.recovery.clear()
        self.saved.emit(str(path))
        if problem:
            self.warn(f"The project was saved, but its trained weights were not: {problem}")
        else:
            extra = f" and {weights_path(path).name}" if model is not None else ""
            self._status(f"Saved {path}{extra}")
        return True

    # Export --------------------------------------------------------------------------------------

    def _ask_export_path(self, caption: str, suffix: str, filters: str) -> Path | None:
        base = self.state.path.with_suffix("") if self.state.path else Path(
            QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
        ) / (self.state.project.name or "workbench").replace(" ", "-")
        path = self.ask_save_path(caption, f"{base}{suffix}", filters)
        if not path:
            return None
        path = Path(path)
        return path if path.suffix else path.with_suffix(suffix)

    def export_model(self) -> Path | None:
        model = self.state.trained.inference_model()
        if model is None:
            self.inform("There is no trained model yet: train the model first.")
            return None
        path = self._ask_export_path("Export trained model", ".keras", "Keras models (*.keras)")
        if path is None:
            return None
        from workbench.core.modelio import save_model

        try:
            written = save_model(model, path)
        except Exception as exc:  # noqa: BLE001 - OS and Keras errors alike
            self.warn(f"The model was not exported: {exc}")
            return None
        self._status(f"Exported the trained model to {written}")
        return written

    def export_script(self) -> Path | None:
        from workbench.core.codegen import generate_script

        inspection = self.state.inspection
        if inspection is not None and not inspection.ok:
            self.warn(f"Fix the model first: {inspection.error_text()}")
            return None
        path = self._ask_export_path("Export Python script", ".py", "Python scripts (*.py)")
        if path is None:
            return None
        try:
            write_atomic(path, generate_script(self.state.project))
        except OSError as exc:
            self.warn(f"The script was not written: {exc.strerror or exc}")
            return None
        self._status(f"Exported {path.name}: run it with python {path.name}")
        return path

    def export_plot(self, object_name: str) -> Path | None:
        widget = self.window.findChild(QWidget, object_name)
        title = dict(PLOTS).get(object_name, object_name)
        if widget is None:
            self.inform(f"There is no {title.lower()} plot to export.")
            return None
        path = self._ask_export_path(f"Export {title.lower()}", ".png",
                                     "PNG image (*.png);;SVG drawing (*.svg)")
        if path is None:
            return None
        hidden = self._bring_forward(widget)
        try:
            written = export_plot(widget, path)
        except (OSError, ValueError) as exc:
            self.warn(f"The {title.lower()} plot was not exported: {exc}")
            return None
        finally:
            for stack, page in hidden:
                stack.setCurrentWidget(page)
        self._status(f"Exported the {title.lower()} to {written}")
        return written

    @staticmethod
    def _bring_forward(widget: QWidget) -> list[tuple[QWidget, QWidget]]:
        """Show the tab pages holding ``widget`` so it is laid out at its real size (a hidden tab
        exports squashed); returns what to switch back to."""
        switched = []
        child, parent = widget, widget.parentWidget()
        while parent is not None:
            if isinstance(parent, QStackedWidget) and parent.currentWidget() is not child:
                tabs = parent.parentWidget()
                container = tabs if isinstance(tabs, QTabWidget) else parent
                switched.append((container, container.currentWidget()))
                container.setCurrentWidget(child)
            child, parent = parent, parent.parentWidget()
        if switched:
            QApplication.processEvents()
        return switched[::-1]

    def export_history(self) -> Path | None:
        runs = self.state.project.runs
        if not runs:
            self.inform("There are no runs yet: train the model first.")
            return None
        path = self._ask_export_path("Export run history", ".csv", "CSV files (*.csv)")
        if path is None:
            return None
        try:
            write_history_csv(runs, path)
        except OSError as exc:
            self.warn(f"The history was not written: {exc.strerror or exc}")
            return None
        self._status(f"Exported {len(runs)} run(s) to {path}")
        return path

    # Autosave and checkpoints --------------------------------------------------------------------

    def autosave_now(self) -> bool:
        """Write the recovery copy when there is something unsaved (or a run in progress)."""
        state = self.state
        if not state.dirty and not (state.busy and self._run_logs):
            return False
        data = state.project.to_dict()
        partial = self._partial_run()
        if partial is not None:
            data["runs"] = [*data["runs"], partial]
        try:
            self.recovery.write_autosave(data, state.path)
        except OSError as exc:
            self._status(f"Autosave failed: {exc.strerror or exc}")
            return False
        self.autosaved.emit(str(self.recovery.autosave_path))
        return True

    def _partial_run(self) -> dict[str, Any] | None:
        """The run in progress, as far as it got, for the recovery copy."""
        if not self.state.busy or not self._run_logs:
            return None
        history: dict[str, list[float]] = {}
        for epoch in sorted(self._run_logs):
            for key, value in self._run_logs[epoch].items():
                history.setdefault(key, []).append(float(value))
        runs = self.state.project.runs
        return {
            "id": max((int(r.get("id", 0)) for r in runs), default=0) + 1,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self._run_started)),
            "dataset": self.state.project.dataset,
            "training": self._run_training or self.state.training.to_dict(),
            "status": "interrupted",
            "message": "The app ended during this run; recovered from the last checkpoint.",
            "epochs": len(self._run_logs),
            "history": history,
        }

    def _on_runs_changed(self) -> None:
        self._run_logs = {}  # a finished run is in the project now, no longer a partial one
        self.autosave_now()

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            self._run_logs = {}
            self._run_started = time.time()
            self._run_training = self.state.training.to_dict()
            self.recovery.checkpoints.begin_run()

    def _on_training_started(self, _run_id: int) -> None:
        worker = getattr(self.window.training_panel, "worker", None)
        if worker is not None and hasattr(worker, "epoch_ended"):
            worker.epoch_ended.connect(self._on_epoch_ended)

    def _on_epoch_ended(self, epoch: int, logs: dict, *_rest) -> None:
        if self.state.busy:
            self._run_logs[epoch] = {k: float(v) for k, v in logs.items()
                                     if isinstance(v, (int, float))}

    def _on_weights_updated(self, epoch: int) -> None:
        """After each epoch of a run: checkpoint its weights (on a background thread)."""
        state = self.state
        if not state.busy or state.trained.weights is None:
            return
        self.recovery.checkpoints.submit(epoch, state.trained.weights, state.trained.trained_spec,
                                         self._run_logs.get(epoch))
        self.autosave_now()

    # Recovery ------------------------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """Offer what a crashed session left; True when something was restored (synchronously)."""
        found = find_recoveries(self.data_dir, exclude=self.recovery.folder)
        if not found:
            return False
        recovery = found[0]  # the newest; older ones are offered at later starts
        answer = self.ask_restore(recovery)
        if answer is None:
            return False
        return self._on_restore_answer(recovery, answer)

    def _on_restore_answer(self, recovery: Recovery, restore: bool) -> bool:
        self._restore_box = None
        if not restore:
            recovery.discard()
            return False
        if self.state.busy:
            self.inform("Stop the training first, then restore from File ▸ Open.")
            return False
        try:
            project = recovery.project()
        except ProjectError as exc:
            self.warn(f"The autosaved project could not be restored.\n\n{exc}")
            recovery.discard()
            return False
        checkpoint = recovery.checkpoint(LAST)
        origin = recovery.origin
        self.state.replace_project(project, origin)
        self.state.mark_unsaved()
        text = f"Restored {recovery.name}"
        if checkpoint is not None and checkpoint.spec:
            self.state.trained.set_weights(checkpoint.epoch, checkpoint.weights, checkpoint.spec)
            # Keep them safe in this session too, until the project is saved.
            self.recovery.checkpoints.submit(checkpoint.epoch, checkpoint.weights,
                                             checkpoint.spec, checkpoint.logs)
            text += f" with the weights of epoch {checkpoint.epoch + 1}"
        self.autosave_now()
        recovery.discard()
        self._status(f"{text}; save it to keep it", 20_000)
        return True
