"""The Evaluation tab's per-class table: precision, recall, F1 and support of each class on the
test split, sortable by any column (numbers sort as numbers)."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from workbench.i18n import _


class _NumberItem(QTableWidgetItem):
    """A table cell that sorts by its number, not by its text."""

    def __init__(self, value: float, text: str):
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)

    def __lt__(self, other):
        if isinstance(other, _NumberItem):
            return self.value < other.value
        return super().__lt__(other)


class PerClassTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 5, parent, objectName="perClassTable")
        self.setHorizontalHeaderLabels(
            [_("class"), _("precision"), _("recall"), "F1", _("support")])  # not translated: F1
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)

    def show_metrics(self, per_class: list[dict], names: list[str]) -> None:
        """One row per class of the report's ``per_class``; the user's sort order is kept."""
        sorting = self.isSortingEnabled()
        self.setSortingEnabled(False)
        self.setRowCount(len(per_class))
        for row, metrics in enumerate(per_class):
            index = int(metrics["class"])
            name = _NumberItem(index, names[index] if index < len(names) else str(index))
            name.setTextAlignment(Qt.AlignLeft | Qt.AlignVCenter)
            self.setItem(row, 0, name)
            for col, key in enumerate(("precision", "recall", "f1"), start=1):
                value = float(metrics[key])
                self.setItem(row, col, _NumberItem(value, f"{value:.3f}"))
            support = int(metrics["support"])
            self.setItem(row, 4, _NumberItem(support, f"{support:,}"))
        self.setSortingEnabled(True)
        if not sorting:
            self.sortItems(0, Qt.AscendingOrder)
