"""The training panel: Train / Pause / Stop with progress, the live curves and the runs table.

This module builds the tab and says whether Train (or Continue) can start; the run itself, from
Train to its record in the project, is ui/training/lifecycle.py's ``RunLifecycle``.
"""
from __future__ import annotations

from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import QSplitter, QVBoxLayout, QWidget

from workbench.actions.train import RunOutcome, display_metric
from workbench.core.runs import RunRecord
from workbench.i18n import _
from workbench.ui.state import ProjectState
from workbench.ui.training.comparison import EarlierRuns
from workbench.ui.training.continuation import continuation, describe
from workbench.ui.training.controls import (
    CHECKING,
    CurveOptionsView,
    ErrorBannerView,
    TrainingControlsView,
    ready_text,
    train_blocker,
)
from workbench.ui.training.curves import CurvesView
from workbench.ui.training.engine_run import EngineRun
from workbench.ui.training.lifecycle import RunLifecycle
from workbench.ui.training.runs import RunsTableView, run_summary


class TrainingPanel(RunLifecycle, QWidget):
    """Curves and runs (the "Training" tab); ``controls`` is the button bar above the tabs."""

    training_started = pyqtSignal(int)  # run id
    training_finished = pyqtSignal(object)  # RunOutcome, once the run's task has ended
    epoch_ended = pyqtSignal(int, dict, float)  # (epoch, Keras logs, active seconds) of the run

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.state = state
        # Work put off out of a run's busiest frames (owned: gone with the panel).
        self._earlier_timer = QTimer(self, singleShot=True, timeout=self._prepare_earlier)
        self.engine_run: EngineRun | None = None  # the run in progress
        self.last_outcome: RunOutcome | None = None
        self._spec_dict: dict | None = None
        self._run_id: int | None = None
        self._paused = False
        self._stopping = False
        self._closing = False
        self.discard_run = False  # closing mid-run, the user chose to discard the run
        self.epochs_done = 0  # full epochs of the run in progress
        # (metric, previous run id, initial epoch) from Train until the run's first batch; see
        # _begin_curves.
        self._curves_pending: tuple[str, int | None, int] | None = None
        self._steps_per_epoch = 100
        self._run_epochs: int | None = None  # the run's length, once it has started
        self._initial_epoch = 0  # epochs trained before the run (Continue): its epochs count on
        self._progress_total = 1
        self._dataset_for = None  # the project dataset name ``state.data.dataset`` was loaded for
        # Train (True: Continue) asked for while Keras checks the newest edit: done once checked.
        self._deferred: bool | None = None

        self.controls = self._build_controls()
        self.curves = CurvesView(self)
        self.runs_table = RunsTableView(self)
        self.banner = ErrorBannerView(self)
        self.banner_label = self.banner.label
        self.earlier = EarlierRuns(state, self.curves, self.runs_table)

        options = CurveOptionsView(self.curves, self)
        self.log_check = options.log_check
        splitter = QSplitter(Qt.Vertical, self)
        splitter.addWidget(self.curves)
        splitter.addWidget(self.runs_table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([520, 150])
        self._splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(options)  # the error banner lies over the plots, not in this layout
        layout.addWidget(splitter, 1)

        for signal in (state.inspection_changed, state.data.failed, state.engine.state_changed,
                       state.training_changed, state.model_changed):
            signal.connect(self._update_enabled)  # (the engine's state: off while it restarts)
        state.sweeping_changed.connect(self._update_enabled)  # no run beside a sweep's trials
        # A failure's message is about the settings it ran with: an edit (the fix) takes it away.
        for signal in (state.training_changed, state.model_changed):
            signal.connect(self._on_settings_edited)
        state.inspection_changed.connect(self._on_inspection_changed)
        state.data.loaded.connect(self._on_dataset_loaded)
        state.trained.weights_updated.connect(self._update_enabled)
        state.runs_changed.connect(self._on_runs_changed)
        state.project_replaced.connect(self._on_project_replaced)
        self._on_runs_changed()
        self._update_enabled()

    # Building ------------------------------------------------------------------------------------

    def _build_controls(self) -> QWidget:
        bar = TrainingControlsView(self.parentWidget())
        self.train_button, self.pause_button = bar.train_button, bar.pause_button
        self.stop_button, self.progress = bar.stop_button, bar.progress
        self.speed_label, self.lr_label, self.hint_label = (bar.speed_label, bar.lr_label,
                                                            bar.hint_label)
        self.continue_button = bar.continue_button
        self.train_button.clicked.connect(lambda: self.start_training())
        self.continue_button.clicked.connect(self.continue_training)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop_training)
        return bar

    def _place_banner(self) -> None:
        self.banner.place_over(self._splitter.geometry())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.banner.isVisible():
            self._place_banner()

    def _on_settings_edited(self) -> None:
        if not self.is_training:
            self.banner.hide()

    # Whether Train can start ---------------------------------------------------------------------

    @property
    def is_training(self) -> bool:
        return self.engine_run is not None

    def train_blocker(self) -> str:
        """Why Train cannot start now ("" when it can)."""
        if self.is_training:
            return _("Training is running.")
        return train_blocker(self.state, self._dataset_for)

    def _checking_only(self, reason: str) -> bool:
        return reason == _(CHECKING) and self.state.inspection is not None \
            and self.state.inspection_pending

    def _on_inspection_changed(self) -> None:
        continue_from, self._deferred = self._deferred, None
        if continue_from is not None and not self.is_training:
            self.start_training(continue_from)

    def _update_enabled(self, *_args) -> None:
        if self._closing:
            return
        reason = self.train_blocker()
        running = self.is_training
        # While Keras checks an edit of a model it has checked before, Train stays clickable
        # (no flicker on every edit): a click then waits for the answer (start_training).
        self.train_button.setEnabled(not reason or self._checking_only(reason))
        self.train_button.setToolTip(reason or _("Train a fresh model from the current settings"))
        start, why_not = (None, reason) if reason else continuation(self.state)
        self.continue_button.setEnabled(start is not None)
        self.continue_button.setToolTip(describe(start) if start else why_not)
        self.pause_button.setEnabled(running and not self._stopping)
        self.stop_button.setEnabled(running and not self._stopping)
        if running:
            text = (_("Stopping after the current batch…") if self._stopping else
                    _("Training — stop it to change the model or its settings."))
        elif reason:
            text = reason
        else:
            text = ready_text(self.state)
        self.hint_label.setText(text)
        self.hint_label.setToolTip(text)
        if not running and not self.lr_label.text().startswith("lr"):  # not translated
            self.lr_label.setText("")

    # State signals -------------------------------------------------------------------------------

    def retranslate(self) -> None:
        """After Help ▸ Language: the hints and buttons built from the state, the runs table."""
        self.earlier.refresh(self.is_training)
        self._update_enabled()

    def _on_dataset_loaded(self) -> None:
        self._dataset_for = self.state.project.dataset
        if not self.is_training and self.state.data.dataset is not None:
            self.curves.set_metric(display_metric(self.state.data.dataset.task))
        self._update_enabled()

    def _on_runs_changed(self) -> None:
        self.earlier.refresh(self.is_training)
        self._update_enabled()

    def _on_project_replaced(self) -> None:
        if self.is_training:
            return
        self.earlier.clear()
        self.curves.start_run(self.curves.metric)
        self.curves.finish_run()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(_("Not started"))
        self.speed_label.setText("")
        self.lr_label.setText("")
        self.banner.hide()
        # A reopened project: its last run with epochs is drawn as the current one.
        last = next((r for r in reversed(self.state.project.runs)
                     if self.earlier.has_curves(int(r.get("id", 0)))), None)
        if last is not None:
            self.curves.show_record(last)
            self.earlier.live_id = int(last.get("id", 0))
            self.earlier.prepare(self.earlier.live_id)
            self.progress.setValue(1)
            self.progress.setFormat(run_summary(RunRecord.from_dict(last)))
        self._on_runs_changed()

    def show_banner(self, text: str) -> None:
        self.banner_label.setText(text)
        self.banner.show()
        self._place_banner()


def controls_and_panel(state: ProjectState, parent: QWidget | None = None
                       ) -> tuple[QWidget, TrainingPanel]:
    """The training panel under its controls, in one widget."""
    box = QWidget(parent)
    panel = TrainingPanel(state, box)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(panel.controls)
    layout.addWidget(panel, 1)
    box.training_panel = panel
    return box, panel


def _close(box: QWidget) -> bool:
    panel = box.training_panel
    if not panel.confirm_close():
        return False
    panel.shutdown()
    return True


def main() -> int:
    """Open the training panel alone, on the default template."""
    from workbench.ui.application import run_panel

    return run_panel(lambda state: controls_and_panel(state)[0], _("Training"), (1000, 720),
                     on_close=_close)


if __name__ == "__main__":
    raise SystemExit(main())
