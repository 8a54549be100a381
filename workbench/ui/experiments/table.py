"""The trials table (``sweepTable``): number, state, value, duration and one column per setting
(choices by name: SGD(momentum=0.9)); sortable by any column (numbers sort as numbers); the best
trial's row is bold and tinted."""

from __future__ import annotations

import json

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QBrush, QColor, QFont
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
)

from workbench.core.sweep_space import choice_text
from workbench.i18n import N_, _

FIXED = [N_("trial"), N_("state"), N_("value"), N_("seconds")]  # shown translated
# A trial's states, as Optuna names them (shown translated).
STATES = (N_("running"), N_("complete"), N_("pruned"), N_("fail"))
BEST_BACKGROUND = QColor(255, 236, 179)


def _cell(value) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        item.setData(Qt.DisplayRole, float(value) if isinstance(value, float) else value)
        if isinstance(value, float):
            item.setToolTip(f"{value:.10g}")  # shown shorter (_Compact)
    else:  # a choice as a person reads it: SGD(momentum=0.9), not its JSON
        item.setData(Qt.DisplayRole, "" if value is None else choice_text(value))
        if not isinstance(value, str) and value is not None:
            item.setToolTip(json.dumps(value))
    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
    return item


def shown(value, column: int) -> str:
    """A number as the table shows it: 4 significant digits for the value and the seconds, 3 for
    a setting (as the status line writes them: 0.000178, not 0.000177746); the exact number
    stays the item's data (sorting, its tooltip, Apply best)."""
    if isinstance(value, float):
        return f"{value:.{4 if column < len(FIXED) else 3}g}"
    return "" if value is None else str(value)


class _Compact(QStyledItemDelegate):
    """Draws and sizes each number as ``shown`` writes it: the columns fit a 1024 px window."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt API
        super().initStyleOption(option, index)
        if isinstance(index.data(), float):
            option.text = shown(index.data(), index.column())


class TrialsTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(FIXED), parent)
        self.setObjectName("sweepTable")
        self.setHorizontalHeaderLabels([_(name) for name in FIXED])
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.verticalHeader().hide()
        # Rows a line of text tall (31 px before): the preset's four trials fit a 1024×700 window.
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setItemDelegate(_Compact(self))
        self.horizontalHeader().setMinimumSectionSize(30)
        self.keys: list[str] = []
        self.best: int | None = None
        self._size_columns()

    def set_keys(self, keys: list[str]) -> None:
        self.keys = list(keys)
        self.setRowCount(0)
        self.setColumnCount(len(FIXED) + len(keys))
        self.setHorizontalHeaderLabels([*(_(name) for name in FIXED), *keys])
        self.best = None
        self._size_columns()

    def _size_columns(self) -> None:
        """Trial, state, value and seconds as wide as their texts, the settings share the rest
        (at 100 px each, "seconds" and the settings scrolled out of a 1024 px window)."""
        header = self.horizontalHeader()
        for column in range(self.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents
                                        if column < len(FIXED) else QHeaderView.Stretch)
            item = self.horizontalHeaderItem(column)
            if item is not None:
                item.setToolTip(item.text())
        header.setStretchLastSection(not self.keys)  # with no settings: "seconds" fills

    def shown_text(self, row: int, column: int) -> str:
        """The cell's text as drawn (tests read it)."""
        return shown(self.item(row, column).data(Qt.DisplayRole), column)

    def row_of(self, number: int) -> int | None:
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None and item.data(Qt.DisplayRole) == number:
                return row
        return None

    def show_trial(self, report) -> None:
        self.setSortingEnabled(False)  # rows move while sorted: fill first, then sort again
        row = self.row_of(report.number)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
        duration = None if report.duration is None else round(report.duration, 2)
        values = [report.number, _(report.state), report.value, duration,
                  *[report.params.get(k) for k in self.keys]]
        for column, value in enumerate(values):
            item = _cell(value)
            if column == 1 and report.message:
                item.setToolTip(report.message)
            self.setItem(row, column, item)
        self.setSortingEnabled(True)
        self._paint_best()

    def set_best(self, number: int | None) -> None:
        self.best = number
        self._paint_best()

    def _paint_best(self) -> None:
        for row in range(self.rowCount()):
            is_best = self.item(row, 0).data(Qt.DisplayRole) == self.best
            for column in range(self.columnCount()):
                item = self.item(row, column)
                if item is None:
                    continue
                font = QFont(item.font())
                font.setBold(is_best)
                item.setFont(font)
                item.setBackground(QBrush(BEST_BACKGROUND) if is_best else QBrush())

    def column_values(self, name: str) -> list:
        column = [*FIXED, *self.keys].index(name)
        return [self.item(row, column).data(Qt.DisplayRole) for row in range(self.rowCount())]
