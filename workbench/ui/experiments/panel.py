"""The Experiments tab: sweep the project's settings with Optuna and compare the trials.

Top left: what varies (picked by clicking, ui/experiments/space_editor.py), trials, epochs,
sampler, pruning; Run / Stop; the tutorial C preset (SGD, SGD+momentum, Adam, RMSprop on the
current model, a grid of four); "Apply best settings"; "Show on the Training tab" (the selected
trial's curves, "trial N", beside the project's runs there: through ``state.overlays``, also from
the table's context menu). Beside it the trials table (``sweepTable``); below, the running trial's
curves, live (the training tab's CurvesView, each finished trial overlaid faintly), then the
parallel-coordinates plot and Optuna's parameter importances.

The sweep runs as one task of the task runner (ui/experiments/worker.py), each trial trained by
the engine (engine_trainer.py); every finished trial is in the study's storage the moment it
ends, so Stop or closing the window loses none. Runs alone:
``python -m workbench.ui.experiments.panel``.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.actions.sweep import SweepSettings
from workbench.actions.train import display_metric
from workbench.core.sweep_space import choice_text
from workbench.i18n import N_, _, ngettext
from workbench.ui.experiments.engine_trainer import EngineTrainer
from workbench.ui.experiments.plots import Importances, ParallelCoordinates
from workbench.ui.experiments.space_editor import SpaceEditor
from workbench.ui.experiments.table import TrialsTable
from workbench.ui.experiments.trial_overlays import TrialOverlays
from workbench.ui.experiments.worker import start_sweep
from workbench.ui.tasks import TaskRunner
from workbench.ui.training.curves import CurvesView

# Tutorial C: the four optimizers side by side on the current model, each with its own defaults.
OPTIMIZER_PRESET = {"optimizer": {"choices": [
    "sgd", {"class_name": "SGD", "config": {"momentum": 0.9}}, "adam", "rmsprop"]}}
NARROW_TAB = 800  # narrower, the trials table takes a row of its own (see _place_table)
CONTROLS_WIDTH = 380  # the controls' most beside the table
# Optuna's directions, shown translated in the status line.
DIRECTIONS = (N_("maximize"), N_("minimize"))


def params_text(params: dict) -> str:
    """"learning_rate 0.000912, optimizer SGD(momentum=0.9)": a trial's settings to read."""
    return ", ".join(f"{key} {value:.3g}" if isinstance(value, float) else
                     f"{key} {choice_text(value)}" for key, value in params.items())


class ExperimentsPanel(TrialOverlays, QWidget):
    sweep_started = pyqtSignal()
    trial_shown = pyqtSignal(object)  # a TrialReport (finished, or held by the study already)

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("experimentsPanel")
        self.state = state
        self.tasks = TaskRunner(self)
        self.task = None
        self.control = None
        self.sweep = None  # the running or last sweep (actions.sweep.Sweep)
        self.reports: dict[int, object] = {}
        self.best = None
        self.outcome = None

        self.space_editor = SpaceEditor(self)
        self.trials = QSpinBox(self, objectName="sweepTrials", minimum=1, maximum=10_000,
                               value=10)
        self.epochs = QSpinBox(self, objectName="sweepEpochs", minimum=1, maximum=10_000)
        self.sampler = QComboBox(self, objectName="sweepSampler")
        for text, key in ((_("TPE (Optuna's default)"), "tpe"), (_("random"), "random"),
                          (_("grid"), "grid")):
            self.sampler.addItem(text, key)
        self.pruning = QCheckBox(_("prune poor trials (median)"), self,
                                 objectName="sweepPruning", checked=True)
        self.pruning.setToolTip(_("Optuna's median pruner: a trial worse than the median of "
                                  "the finished ones at the same epoch stops at that epoch's "
                                  "end"))
        # Another storage and study: join a sweep that `workbench sweep` processes run elsewhere.
        self.storage = QLineEdit(self, objectName="sweepStorage",
                                 placeholderText=_("SQLite beside the project"))
        self.storage.setToolTip(_("Any Optuna storage URL (sqlite:///…, postgresql://…, "
                                  "mysql+pymysql://…); every process with the same storage and "
                                  "study shares its trials"))
        self.study = QLineEdit(self, objectName="sweepStudy",
                               placeholderText=_("named after the project and what varies"))
        self.study.setToolTip(_("The study's name: the same name in the same storage continues "
                                "(or joins) that study"))
        self.run_button = QPushButton(_("Run sweep"), self, objectName="sweepRun")
        self.stop_button = QPushButton(_("Stop"), self, objectName="sweepStop", enabled=False)
        self.preset_button = QPushButton(_("Compare optimizers"), self,
                                         objectName="sweepPresetOptimizers")
        self.preset_button.setToolTip(_("Tutorial C: SGD, SGD with momentum 0.9, Adam and "
                                        "RMSprop on the current model (a grid of four), "
                                        "overlaid"))
        self.apply_button = QPushButton(_("Apply best settings"), self,
                                        objectName="sweepApplyBest", enabled=False)
        self.apply_button.setToolTip(_("Put the best trial's model and training settings into "
                                       "the project (one step: Edit ▸ Undo takes it back)"))
        # Pressed while the selected trial is drawn there; its text stays put (a longer one
        # widened the window at 1024×700).
        self.overlay_button = QPushButton(_("Show on the Training tab"), self,
                                          objectName="sweepOverlay", enabled=False,
                                          checkable=True)
        self.overlay_button.setToolTip(_("Draw the selected trial's curves on the Training tab, "
                                         "beside the project's runs (click again to take them "
                                         "off)"))
        self.status = QLabel(_("Pick what varies, then Run sweep."), self,
                             objectName="sweepStatus")
        self.status.setWordWrap(True)

        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        # The actions first (visible in a small window), then what varies.
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        column.addLayout(buttons)
        presets = QHBoxLayout()
        presets.addWidget(self.preset_button)
        presets.addWidget(self.apply_button)
        column.addLayout(presets)
        column.addWidget(self.overlay_button)
        column.addWidget(self.status)
        form = QFormLayout()
        form.addRow(_("Trials"), self.trials)
        form.addRow(_("Epochs per trial"), self.epochs)
        form.addRow(_("Sampler"), self.sampler)
        form.addRow("", self.pruning)
        form.addRow(_("Storage"), self.storage)
        form.addRow(_("Study"), self.study)
        column.addLayout(form)
        box = QGroupBox(_("What varies"), left)
        QVBoxLayout(box).addWidget(self.space_editor)
        column.addWidget(box)
        column.addStretch(1)
        scroll = QScrollArea(self)  # a small window scrolls the controls instead of growing
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(260)
        scroll.setMaximumWidth(CONTROLS_WIDTH)

        self.curves = CurvesView(self)
        for view, name in ((self.curves.loss_view, "sweepLossPlot"),
                           (self.curves.metric_view, "sweepAccuracyPlot")):
            view.plot.setObjectName(name)  # the training tab's names stay unique
        self.table = TrialsTable(self)
        self.parallel = ParallelCoordinates(self)
        self.importances = Importances(self)
        plots = QSplitter(Qt.Horizontal, self)
        plots.addWidget(self.parallel)
        plots.addWidget(self.importances)
        top = QSplitter(Qt.Horizontal, self)  # the controls beside the trials table
        top.addWidget(scroll)
        top.addWidget(self.table)
        top.setStretchFactor(1, 1)
        rows = QSplitter(Qt.Vertical, self)  # then the live curves, then the summary plots
        rows.addWidget(top)
        rows.addWidget(self.curves)
        rows.addWidget(plots)
        rows.setSizes([380, 260, 220])
        self._top, self._rows, self.controls = top, rows, scroll
        layout = QVBoxLayout(self)
        layout.addWidget(rows)

        self.run_button.clicked.connect(self.run_sweep)
        self.stop_button.clicked.connect(self.stop)
        self.preset_button.clicked.connect(self.run_optimizer_preset)
        self.apply_button.clicked.connect(self.apply_best)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        self.overlay_button.clicked.connect(lambda: self.toggle_overlay())
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_menu)
        state.overlays.changed.connect(self._update_overlay_button)
        for signal in (state.model_changed, state.training_changed):
            signal.connect(self._on_project_changed)
        state.project_replaced.connect(self._on_project_replaced)
        state.editable_changed.connect(self._update_buttons)  # busy: a run trains
        self._on_project_replaced()
        self._update_buttons()

    # Layout -------------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_table()

    def _place_table(self) -> None:
        """Beside the controls where the tab is wide; in a narrow one (a 1024 px window) a row
        of its own, the tab's whole width: beside them it had ~290 px, "seconds" and every
        setting's column out of sight, sideways."""
        narrow = self.width() < NARROW_TAB
        if narrow and self.table.parent() is self._top:
            self._rows.insertWidget(1, self.table)
            self.controls.setMaximumWidth(16777215)  # the tab's width, as the table below
            QTimer.singleShot(0, self._share_rows)  # once the splitter has its height
        elif not narrow and self.table.parent() is self._rows:
            self._top.addWidget(self.table)
            self._top.setStretchFactor(1, 1)
            self.controls.setMaximumWidth(CONTROLS_WIDTH)

    def _share_rows(self) -> None:
        if self.table.parent() is self._rows:  # controls, trials, live curves, summary plots
            height = sum(self._rows.sizes())
            table, plots = int(height * 0.3), int(height * 0.15)
            curves = max(self.curves.minimumSizeHint().height(), int(height * 0.3))
            self._rows.setSizes([height - table - plots - curves, table, curves, plots])

    # Project --------------------------------------------------------------------------------

    def _on_project_changed(self) -> None:
        if not self.running:
            self.space_editor.set_model(self.state.spec, self.state.training)

    def _on_project_replaced(self) -> None:
        self._on_project_changed()
        self.epochs.setValue(self.state.training.epochs)  # kept through edits (Apply best)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done

    # Running --------------------------------------------------------------------------------

    def run_optimizer_preset(self) -> None:
        """Tutorial C in one click: a grid of the four optimizers, each trained to the end."""
        self.space_editor.set_space(OPTIMIZER_PRESET)
        self.sampler.setCurrentIndex(self.sampler.findData("grid"))
        self.trials.setValue(4)
        self.pruning.setChecked(False)
        self.run_sweep()

    def run_sweep(self) -> None:
        if self.running:
            return
        if self.state.busy:
            self.status.setText(_("Stop the training first: a sweep runs its own trials."))
            return
        dataset = self.state.data.dataset
        if not self.state.engine.loaded or dataset is None:
            self.status.setText(_("Wait for TensorFlow and the dataset to load, then run."))
            return
        space = self.space_editor.space()
        if not space:
            self.status.setText(_("Nothing varies yet: pick a setting and press Add."))
            return
        settings = SweepSettings(trials=self.trials.value(), sampler=self.sampler.currentData(),
                                 pruning=self.pruning.isChecked(), epochs=self.epochs.value(),
                                 storage=self.storage.text().strip() or None,
                                 study=self.study.text().strip() or None)
        metric = display_metric(getattr(dataset, "task", "classification"))
        name = self.state.project.dataset  # (the run's name for the data)
        trainer = EngineTrainer(self.state.engine.engine, self.state.data.name or name, dataset,
                                self.state.data.seed)  # as the window loaded it
        args = (self.state.spec.copy(), self.state.training.copy(), dataset, name, space,
                settings, self.state.path, metric, trainer)
        self.reports, self.best, self.outcome, self.sweep = {}, None, None, None
        self.metric = metric
        self.table.set_keys(list(space))
        for run_id in self.curves.shown_earlier_runs():
            self.curves.hide_earlier_run(run_id)
        self.parallel.show_trials(space, [], None, "value")
        self.importances.show_importances({})
        self.status.setText(_("Checking the search space…"))
        self.sweep_started.emit()
        self.task, self.control = start_sweep(self.tasks, args, self._on_partial,
                                              self._on_result, self._on_error,
                                              self._on_finished)
        self._set_running(True)

    def stop(self) -> None:
        if self.task is not None and not self.task.done:
            self.task.cancel()
            self.status.setText(_("Stopping: the running trial ends within a batch…"))

    def shutdown(self) -> None:
        self.tasks.shutdown()

    def _set_running(self, running: bool) -> None:
        self.state.set_sweeping(running)  # Train waits for the sweep (no run beside its trials)
        self._update_buttons()

    def _update_buttons(self, *_args) -> None:
        running, training = self.state.sweeping, self.state.busy
        for button in (self.run_button, self.preset_button):
            button.setEnabled(not running and not training)
        self.stop_button.setEnabled(running)
        self.apply_button.setEnabled(not running and self.best is not None
                                     and self.state.editable)

    # What the task reports ------------------------------------------------------------------

    def _on_partial(self, message) -> None:
        kind = message[0]
        if kind == "study":
            self.sweep = message[1]
            self.status.setText(_("Study {study} ({direction} {objective}) in {storage}").format(
                study=self.sweep.study, direction=_(self.sweep.direction),
                objective=self.sweep.objective, storage=self.sweep.storage_shown))
        elif kind == "earlier":
            for report in message[1]:
                self._show_trial(report, overlay=False)
        elif kind == "begin":
            _kind, number, params, info = message
            self.curves.start_run(self.metric, info.get("steps_per_epoch", 100),
                                  epochs=info.get("epochs"))
            self.status.setText(_("Trial {number}: {params}").format(number=number,
                                                                     params=params_text(params)))
        elif kind == "batches":
            self.curves.add_batches(message[2])
        elif kind == "epoch":
            self.curves.add_epoch(message[2], message[3])
        elif kind == "trial":
            self._show_trial(message[1])
        elif kind == "importances":
            self.importances.show_importances(message[1])

    def _show_trial(self, report, overlay: bool = True) -> None:
        self.reports[report.number] = report
        self.curves.finish_run()
        if report.history and overlay:
            self.curves.show_earlier_run(self._trial_record(report), report.number)
            many = len(self.curves.shown_earlier_runs()) > 4
            for view in (self.curves.loss_view, self.curves.metric_view):
                columns = 2 if many and view.width() >= 420 else 1  # two fill a narrow plot
                if view.legend.columnCount != columns:
                    view.legend.setColumnCount(columns)
        self.table.show_trial(report)
        self.trial_shown.emit(report)
        done = [r for r in self.reports.values() if r.state == "complete" and r.value is not None]
        if done and self.sweep is not None:
            pick = max if self.sweep.direction == "maximize" else min
            self.best = pick(done, key=lambda r: r.value)
        self.table.set_best(self.best.number if self.best else None)
        if self.sweep is not None:
            self.parallel.show_trials(self.sweep.space.to_dict(), list(self.reports.values()),
                                      self.best.number if self.best else None,
                                      self.sweep.objective)
        self._update_overlay_button()

    def _on_result(self, outcome) -> None:
        self.outcome = outcome
        if outcome.best is not None:  # the study's best, over every process sharing it
            self.best = outcome.best
            self.table.set_best(outcome.best.number)
        if not outcome.trials and outcome.total:
            self.status.setText(_("The study already holds {count} trials: raise Trials to run "
                                  "more, or change what varies for a new study.").format(
                                      count=outcome.total))
        elif outcome.best is not None:
            self.status.setText(_("Best: trial {number}, {objective} {value} with {params} "
                                  "({count} trials in the study)").format(
                number=outcome.best.number, objective=self.sweep.objective,
                value=f"{outcome.best.value:.4f}", params=params_text(outcome.best.params),
                count=outcome.total))
        else:
            self.status.setText(_("No trial finished."))

    def _on_error(self, message: str) -> None:
        self.status.setText(message)

    def _on_finished(self, task) -> None:
        stopped = self.control is not None and self.control.stop_requested  # Stop: an outcome
        if task.status == "cancelled" or (stopped and task.status == "finished"):
            finished = sum(1 for r in self.reports.values() if r.state in ("complete", "pruned"))
            best = f" {self.status.text()}" if self.outcome and self.outcome.best else ""
            self.status.setText(ngettext(
                "Stopped; {count} finished trial is in the study, a new Run goes on from there.",
                "Stopped; {count} finished trials are in the study, a new Run goes on from "
                "there.", finished).format(count=finished) + best)
        self._set_running(False)

    def selected_trial(self):
        """The report of the trial selected in the table, or None."""
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        return self.reports.get(self.table.item(rows.pop(), 0).data(Qt.DisplayRole))

    def _on_row_selected(self) -> None:
        report = self.selected_trial()
        if report is not None and report.history:
            self.curves.show_record(self._trial_record(report))
        self._update_overlay_button()

    # Applying -------------------------------------------------------------------------------

    def apply_best(self) -> None:
        """The best trial's model and settings into the project: one undoable step."""
        if self.best is None or self.sweep is None:
            return
        if not self.state.editable:
            self.status.setText(_("Not applied: {reason}.").format(
                reason=self.state.not_editable_reason))
            return
        spec, config = self.sweep.space.apply(self.sweep.spec, self.sweep.config,
                                              self.best.params)
        config.epochs = self.state.training.epochs if "epochs" not in self.best.params else (
            config.epochs)
        stack = self.state.undo_stack
        stack.beginMacro(_("Apply sweep trial {number}").format(number=self.best.number))
        self.state.set_model(spec, text=N_("Apply sweep settings"))
        self.state.set_training(config)
        stack.endMacro()
        self.status.setText(_("Applied trial {number}'s settings (Edit ▸ Undo takes them "
                              "back).").format(number=self.best.number))


def _close(panel: ExperimentsPanel) -> bool:
    panel.shutdown()  # a running sweep: its trial stopped within a batch, the task joined
    return True


def main() -> int:
    """Open the Experiments tab alone: ``python -m workbench.ui.experiments.panel``."""
    from workbench.ui.application import run_panel

    return run_panel(ExperimentsPanel, _("Experiments"), (1100, 760), on_close=_close)


if __name__ == "__main__":
    raise SystemExit(main())
