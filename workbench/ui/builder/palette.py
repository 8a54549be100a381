"""The layer palette: catalogue layer types by category, searchable; a click adds one."""

from __future__ import annotations

from PyQt5.QtCore import QMimeData, Qt, pyqtSignal
from PyQt5.QtGui import QFont
from PyQt5.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.core.catalogue import by_category

# Drag payload from the palette to the layer stack: the Keras class name, as UTF-8.
LAYER_MIME = "application/x-workbench-layer"


class _PaletteTree(QTreeWidget):
    enter_pressed = pyqtSignal(object)  # the current item

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.enter_pressed.emit(self.currentItem())
            return
        super().keyPressEvent(event)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt API
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt API
        data = QMimeData()
        names = [item.data(0, Qt.UserRole) for item in items if item.data(0, Qt.UserRole)]
        if names:
            data.setData(LAYER_MIME, names[0].encode())
            data.setText(names[0])
        return data


class LayerPaletteView(QWidget):
    """Search box over a tree of layer types; ``layer_chosen(class_name)`` on click or Enter."""

    layer_chosen = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit(self, objectName="layerSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = _PaletteTree(self, objectName="layerPalette")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setToolTip("Click a layer to add it after the selected one (or drag it)")
        self.items: dict[str, QTreeWidgetItem] = {}
        bold = QFont(self.font())
        bold.setBold(True)
        for category, types in by_category().items():
            group = QTreeWidgetItem(self.tree, [category])
            group.setFlags(Qt.ItemIsEnabled)
            group.setFont(0, bold)
            group.setForeground(0, self.palette().mid())
            for ltype in types:
                item = QTreeWidgetItem(group, [ltype.class_name])
                item.setData(0, Qt.UserRole, ltype.class_name)
                item.setToolTip(0, f"<b>{ltype.class_name}</b><br>{ltype.help}")
                item.setStatusTip(0, ltype.help)
                self.items[ltype.class_name] = item
        self.tree.expandAll()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

        self.search.textChanged.connect(self._on_search_changed)
        self.search.returnPressed.connect(self._on_search_accepted)
        self.tree.itemClicked.connect(self._on_item_activated)
        # Enter on a focused item; a double-click is already covered by its first click.
        self.tree.enter_pressed.connect(self._on_item_activated)

    def visible_names(self) -> list[str]:
        return [name for name, item in self.items.items() if not item.isHidden()]

    def _on_search_changed(self, text: str) -> None:
        words = text.lower().split()
        for group_index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(group_index)
            any_shown = False
            for i in range(group.childCount()):
                item = group.child(i)
                haystack = f"{item.text(0)} {item.statusTip(0)} {group.text(0)}".lower()
                shown = all(w in haystack for w in words)
                item.setHidden(not shown)
                any_shown = any_shown or shown
            group.setHidden(not any_shown)

    def _on_search_accepted(self) -> None:
        shown = self.visible_names()
        if len(shown) == 1 or (shown and self.search.text().lower() == shown[0].lower()):
            self.layer_chosen.emit(shown[0])

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, Qt.UserRole)
        if name:
            self.layer_chosen.emit(name)
