"""The layer stack's tree: drops reorder the spec (or insert a palette layer) instead of moving
items, so the rows always follow the spec."""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QAbstractItemView, QTreeWidget, QWidget

from workbench.ui.builder.palette import LAYER_MIME


class StackTree(QTreeWidget):
    """A tree whose drops reorder the spec (or insert a palette layer) instead of moving items."""

    dropped = pyqtSignal(int, object)  # (insert-before layer index, source layer index or name)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDefaultDropAction(Qt.MoveAction)

    def _drop_index(self, pos) -> int:
        """Layer index a drop at ``pos`` inserts before (0 … number of layers)."""
        item = self.itemAt(pos)
        rows = self.topLevelItemCount()
        if item is None:
            return rows - 1
        row = self.indexOfTopLevelItem(item)
        rect = self.visualItemRect(item)
        if pos.y() > rect.center().y():
            row += 1
        return max(0, row - 1)

    def _accepts(self, event) -> bool:
        return event.source() is self or event.mimeData().hasFormat(LAYER_MIME)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._accepts(event):
            super().dragEnterEvent(event)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._accepts(event):
            super().dragMoveEvent(event)
            event.setDropAction(Qt.MoveAction if event.source() is self else Qt.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        target = self._drop_index(event.pos())
        if event.source() is self:
            source = self.indexOfTopLevelItem(self.currentItem()) - 1
            payload: object = source
        else:
            payload = bytes(event.mimeData().data(LAYER_MIME)).decode()
        # Ignore the drop for Qt (so it moves no items itself); the state redraws the rows.
        event.setDropAction(Qt.IgnoreAction)
        event.accept()
        self.dropped.emit(target, payload)
