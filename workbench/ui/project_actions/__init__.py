"""File menu: New, Open (projects and Keras models), Recent, Save, Save As, Export; autosave,
training checkpoints and the offer to restore after a crash.

A project is saved as its JSON file plus the trained weights beside it (``name.keras``) and the
samples drawn in the Draw tab (``name-digits.npz``). While the project has unsaved changes it is
autosaved every minute and after every run into this session's recovery folder (core.recovery);
while a run trains, its last and best weights go there after each epoch. A clean save or close
removes them; what an app that crashed left behind is offered back at the next start.

``ProjectActions`` is put together from one part per concern, each in its own module: the menu
(menu.py), the questions it asks (dialogs.py), New/Open (opening.py), Save (saving.py), Export
(exports.py) and autosave/recovery (autosave.py). They share the attributes set here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, QSettings, QTimer, pyqtSignal
from PyQt5.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox

from workbench.core.recovery import RecoverySession
from workbench.i18n import _
from workbench.ui.checkpoints import CheckpointTask
from workbench.ui.project_actions.autosave import AutosaveMixin, end_session
from workbench.ui.project_actions.dialogs import APP_NAME, DialogsMixin
from workbench.ui.project_actions.exports import ExportMixin, export_plot
from workbench.ui.project_actions.menu import MenuMixin
from workbench.ui.project_actions.opening import OpenMixin
from workbench.ui.project_actions.saving import SaveMixin

__all__ = ["ProjectActions", "export_plot"]

AUTOSAVE_MS = 60_000


class ProjectActions(MenuMixin, DialogsMixin, OpenMixin, SaveMixin, ExportMixin, AutosaveMixin,
                     QObject):
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
        self.data_dir = data_dir  # None: the one app-data folder (core.appdata)
        self.recovery = RecoverySession(self.data_dir)
        # Checkpoints are written by a task of the task runner (joined when the window closes).
        self.checkpoints = CheckpointTask(self.recovery.checkpoints, self)
        self.last_warning = ""
        self._run_logs: dict[int, dict[str, float]] = {}
        self._run_training: dict[str, Any] | None = None
        self._run_started = time.time()
        self._run_seconds = 0.0
        self._pending_weights: Path | None = None
        self._opening: object | None = None  # the Open whose answer the engine owes
        self._weights_writes: dict[str, Path] = {}  # save_keras request id -> where it goes
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
        state.engine.ready.connect(self._on_engine_ready)
        panel = getattr(window, "training_panel", None)
        if panel is not None and hasattr(panel, "epoch_ended"):
            panel.epoch_ended.connect(self._on_epoch_ended)
        window.destroyed.connect(lambda *_a, s=self.recovery: end_session(s))
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(lambda s=self.recovery: end_session(s))

        if offer_recovery is None:
            offer_recovery = not ProjectActions._offered_this_process
        if offer_recovery:
            ProjectActions._offered_this_process = True
            QTimer.singleShot(0, self.offer_recovery)

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
            self.inform(_("Stop the training first."))
            return True
        return False
