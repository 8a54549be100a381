"""A sweep's trials on the Training tab: the selected trial's curves drawn beside the project's
runs there (``state.overlays``), from the "Show on the Training tab" button or the trials table's
context menu.

``TrialOverlays`` is a part of ``ExperimentsPanel`` (ui/experiments/panel.py): it uses the
panel's ``state``, ``sweep``, ``reports``, ``table``, ``overlay_button`` and
``selected_trial()``.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QMenu

from workbench.i18n import _
from workbench.ui.training.curves import COMPARE_COLORS


class TrialOverlays:
    @staticmethod
    def _trial_record(report) -> dict:
        # One legend line a trial ("trial 3", on its validation curve): the plots here hold many.
        return {"key": report.number, "label": _("trial {number}").format(number=report.number),
                "history": report.history, "legend": "one"}

    def _overlay_key(self, report) -> str:
        return f"{self.sweep.study if self.sweep else ''}#{report.number}"

    def toggle_overlay(self, report=None) -> None:
        """Put a finished trial's curves on the Training tab (or take them off again)."""
        report = report or self.selected_trial()
        if report is None or not report.history:
            return
        key, overlays = self._overlay_key(report), self.state.overlays
        if key in overlays:
            overlays.remove(key)
            return
        overlays.add(key, {"label": _("trial {number}").format(number=report.number),
                           "history": report.history,
                           "color": 1 + report.number % (len(COMPARE_COLORS) - 1)})  # not grey
        self.state.bus.status_message.emit(
            _("Trial {number} is drawn on the Training tab's curves.").format(
                number=report.number))

    def _update_overlay_button(self) -> None:
        report = self.selected_trial()
        can = report is not None and bool(report.history)
        self.overlay_button.setEnabled(can)
        self.overlay_button.setChecked(can and self._overlay_key(report) in self.state.overlays)
        self.overlay_button.setToolTip(
            _("Trial {number}'s curves are drawn on the Training tab; click to take them off")
            .format(number=report.number) if self.overlay_button.isChecked() else
            _("Draw trial {number}'s curves on the Training tab, beside the project's runs")
            .format(number=report.number)
            if can else _("Select a finished trial to draw its curves on the Training tab"))

    def trial_menu(self, report) -> QMenu:
        """The table's context menu for a trial."""
        menu = QMenu(self)
        shown = self._overlay_key(report) in self.state.overlays
        action = menu.addAction(
            (_("Take trial {number} off the Training tab") if shown
             else _("Show trial {number} on the Training tab")).format(number=report.number))
        action.setEnabled(bool(report.history))
        action.triggered.connect(lambda: self.toggle_overlay(report))
        clear = menu.addAction(_("Take every trial off the Training tab"))
        clear.setEnabled(bool(self.state.overlays.records()))
        clear.triggered.connect(self.state.overlays.clear)
        return menu

    def _on_table_menu(self, pos) -> None:
        item = self.table.itemAt(pos)
        report = self.reports.get(self.table.item(item.row(), 0).data(Qt.DisplayRole)) if (
            item is not None) else None
        if report is not None:
            self.trial_menu(report).exec_(self.table.viewport().mapToGlobal(pos))

