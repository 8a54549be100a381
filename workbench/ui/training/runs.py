"""The runs table: one row per Train, newest first; a tick draws a run under the current one."""

from __future__ import annotations

import math

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from workbench.core.changes import model_changes, summary, training_changes
from workbench.core.run_text import count, epoch_range, epochs_cell, percent, record_epochs
from workbench.core.runs import RunRecord
from workbench.i18n import N_, _
from workbench.ui.training.controls import format_seconds

COLUMNS = (N_("Show"), N_("Run"), N_("Status"), N_("Epochs"), N_("Best val"),
           N_("Final val loss"), N_("Test"), N_("Time"), N_("Changed since the run before"))


def _duration(seconds: float | None) -> str:
    if seconds is None:  # not known (a run recovered after a crash)
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def _finite(values) -> list[float]:
    return [float(v) for v in values or [] if v is not None and math.isfinite(float(v))]


def best_validation(record: RunRecord) -> str:
    """Best validation accuracy for classifiers, lowest validation loss otherwise."""
    history = record.history
    accuracy = _finite(history.get("val_accuracy"))
    if accuracy:
        return _("{accuracy} acc").format(accuracy=percent(max(accuracy)))
    losses = _finite(history.get("val_loss"))
    return _("{loss} loss").format(loss=f"{min(losses):.4g}") if losses else "—"


def final_validation_loss(record: RunRecord) -> str:
    losses = _finite(record.history.get("val_loss"))
    return f"{losses[-1]:.4g}" if losses else "—"


def test_summary(record: RunRecord) -> str:
    test = record.test or {}
    if "accuracy" in test:
        return _("{accuracy} acc").format(accuracy=percent(test["accuracy"]))
    if "mae" in test:
        return f"{test['mae']:.4g} MAE"
    if "loss" in test:
        return _("{loss} loss").format(loss=f"{test['loss']:.4g}")
    return "—"


# Shown translated (_(STATUS_TEXT[status])).
STATUS_TEXT = {"completed": N_("Finished"), "stopped": N_("Stopped"),
               "early_stopped": N_("Early stopping"), "nan": N_("Stopped: loss became NaN"),
               "failed": N_("Failed"), "interrupted": N_("Interrupted")}


def outcome_summary(status: str, epochs: int, test: dict | None,
                    duration: float | None = None, partial: tuple[int, int] | None = None,
                    initial: int = 0) -> str:
    """"Finished · 2 epochs in 0:12 · test accuracy 91.0%"; ``partial``: (batches, steps) of
    the epoch a stop broke off, which the count of full epochs leaves out; ``initial``: epochs
    trained before a continued run ("2 epochs (4–5)")."""
    text = f"{_(STATUS_TEXT.get(status, status))} · {count(epochs, 'epoch')}"
    if initial and epochs:
        text += f" ({epoch_range(initial, epochs)})"
    if partial and partial[0]:
        text += _(" + {batches}/{steps} batches of epoch {epoch}").format(
            batches=partial[0], steps=partial[1], epoch=initial + epochs + 1)
    if duration is not None:
        text += _(" in {time}").format(time=format_seconds(duration))
    test = test or {}
    if "accuracy" in test:
        text += _(" · test accuracy {accuracy}").format(accuracy=percent(test["accuracy"]))
    elif "mae" in test:
        text += _(" · test MAE {mae}").format(mae=f"{test['mae']:.4g}")
    return text


def run_summary(record: RunRecord) -> str:
    """One line on a finished run: "Run 2 · Finished · 2 epochs · test accuracy 91.0%"."""
    initial, epochs, _partial = record_epochs(record.to_dict())
    return _("Run {id} · ").format(id=record.id) + outcome_summary(
        record.status, epochs, record.test, initial=initial)


def run_changes(record: dict, before: dict | None) -> list[str]:
    """What this run did differently from the one before it: dataset, settings, layers."""
    changes = []
    if "continues" in record:  # a run that went on from trained weights
        source = record.get("continues")
        start = int(record.get("initial_epoch") or 0)
        changes.append(_("continues run {run} from epoch {epoch}").format(run=source, epoch=start)
                       if source is not None else _("continues the opened model's weights"))
    if before is None:
        return changes
    if before.get("dataset") != record.get("dataset"):
        changes.append(_("dataset {before} → {after}").format(before=before.get("dataset"),
                                                              after=record.get("dataset")))
    changes += training_changes(before.get("training"), record.get("training"))
    return changes + model_changes(before.get("model"), record.get("model"))


def _epochs_text(record: RunRecord) -> str:
    """"3", or for a continued run where its epochs lie: "3 (5–7)"."""
    initial, epochs, _partial = record_epochs(record.to_dict())
    return epochs_cell(initial, epochs)


def find_run(runs: list[dict], run_id: int) -> dict | None:
    return next((r for r in runs if int(r.get("id", 0)) == run_id), None)


def has_curves(record: dict | None) -> bool:
    """Whether a run has any epoch to draw (a run that failed at its start has none)."""
    history = (record or {}).get("history") or {}
    return any(len(values or []) for values in history.values())


class RunsTableView(QTableWidget):
    """Lists ``project.runs``; ticking a row asks for that run's curves under the current run."""

    run_toggled = pyqtSignal(int, bool)  # (run id, show)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("runsTable")
        self.setHorizontalHeaderLabels([_(name) for name in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        # What changed takes the room the figures leave, elided (its tooltip lists it all): sized
        # to its header it ran off the right of a 1024-pixel window.
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.Stretch)
        header.setMinimumSectionSize(40)
        header.setTextElideMode(Qt.ElideRight)
        self._filling = False
        self.itemChanged.connect(self._on_item_changed)

    def set_runs(self, runs: list[dict], shown: set[int], live_id: int | None) -> None:
        """Rebuild from the project's ``runs`` entries (``live_id``: the run drawn as current)."""
        records = [RunRecord.from_dict(run, index) for index, run in enumerate(runs)]
        self._filling = True
        try:
            self.setRowCount(len(records))
            for row, record in enumerate(reversed(records)):
                index = len(records) - 1 - row
                before = runs[index - 1] if index > 0 else None
                changes = run_changes(runs[index], before)
                run_id = record.id
                check = QTableWidgetItem()
                if run_id == live_id:
                    check.setFlags(Qt.ItemIsEnabled)
                    check.setText(_("current"))
                    check.setToolTip(_("This run's curves are the ones drawn in full"))
                else:
                    check.setFlags(Qt.ItemIsEnabled | Qt.ItemIsUserCheckable)
                    check.setCheckState(Qt.Checked if run_id in shown else Qt.Unchecked)
                    check.setToolTip(
                        _("Draw this run's epoch curves faintly under the current run"))
                check.setData(Qt.UserRole, run_id)
                status = record.status
                cells = [
                    check,
                    QTableWidgetItem(f"#{run_id}"),
                    QTableWidgetItem(_(STATUS_TEXT.get(status, status))),
                    QTableWidgetItem(_epochs_text(record)),
                    QTableWidgetItem(best_validation(record)),
                    QTableWidgetItem(final_validation_loss(record)),
                    QTableWidgetItem(test_summary(record)),
                    QTableWidgetItem(_duration(record.duration)),
                    QTableWidgetItem(summary(changes) if changes else
                                     ("—" if before is None else _("nothing"))),
                ]
                message = record.message
                for column, item in enumerate(cells):
                    if column:
                        item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                        if message:
                            item.setToolTip(message)
                    self.setItem(row, column, item)
                if changes:
                    cells[-1].setToolTip("\n".join(changes))
        finally:
            self._filling = False

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0 or not item.flags() & Qt.ItemIsUserCheckable:
            return
        self.run_toggled.emit(int(item.data(Qt.UserRole)), item.checkState() == Qt.Checked)

    def set_shown(self, run_id: int, shown: bool) -> None:
        """Tick or untick a run's box (emits ``run_toggled`` like a click)."""
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None and int(item.data(Qt.UserRole)) == run_id:
                if item.flags() & Qt.ItemIsUserCheckable:
                    item.setCheckState(Qt.Checked if shown else Qt.Unchecked)
                return
