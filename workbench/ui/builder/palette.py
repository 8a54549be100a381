"""The layer palette: catalogue layer types by category, searchable; a click adds one.

While searching, the first match is highlighted; Up/Down in the search box move the highlight and
Enter adds the highlighted layer.
"""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QMimeData, Qt, pyqtSignal
from PyQt5.QtGui import QFont
from PyQt5.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from workbench.core.catalogue import by_category
from workbench.i18n import _

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
        self.search.setPlaceholderText(_("Search layers…"))
        self.search.setClearButtonEnabled(True)
        self.tree = _PaletteTree(self, objectName="layerPalette")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragOnly)
        self.tree.setToolTip(_("Click a layer to add it after the selected one (or drag it)"))
        self.items: dict[str, QTreeWidgetItem] = {}
        bold = QFont(self.font())
        bold.setBold(True)
        for category, types in by_category().items():
            group = QTreeWidgetItem(self.tree, [_(category)])
            group.setFlags(Qt.ItemIsEnabled)
            group.setFont(0, bold)
            group.setForeground(0, self.palette().mid())
            for ltype in types:
                item = QTreeWidgetItem(group, [ltype.class_name])
                item.setData(0, Qt.UserRole, ltype.class_name)
                item.setToolTip(0, f"<b>{ltype.class_name}</b><br>{_(ltype.help)}")
                item.setStatusTip(0, _(ltype.help))
                self.items[ltype.class_name] = item
        self.tree.expandAll()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)

        self.search.textChanged.connect(self._on_search_changed)
        self.search.returnPressed.connect(self._on_search_accepted)
        self.search.installEventFilter(self)
        self.tree.itemClicked.connect(self._on_item_activated)
        # Enter on a focused item; a double-click is already covered by its first click.
        self.tree.enter_pressed.connect(self._on_item_activated)

    def retranslate(self) -> None:
        """After Help ▸ Language: each layer's help (the search reads it too)."""
        for types in by_category().values():
            for ltype in types:
                item = self.items[ltype.class_name]
                item.setToolTip(0, f"<b>{ltype.class_name}</b><br>{_(ltype.help)}")
                item.setStatusTip(0, _(ltype.help))

    def visible_names(self) -> list[str]:
        return [name for name, item in self.items.items() if not item.isHidden()]

    def highlighted(self) -> str | None:
        """The layer type Enter in the search box adds (a visible, current palette item)."""
        item = self.tree.currentItem()
        name = item.data(0, Qt.UserRole) if item is not None else None
        return name if name and not item.isHidden() else None

    def _highlight(self, name: str | None) -> None:
        if name is None:
            self.tree.setCurrentItem(None)
            return
        item = self.items[name]
        self.tree.setCurrentItem(item)
        self.tree.scrollToItem(item)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.search and event.type() == QEvent.KeyPress and event.key() in (
                Qt.Key_Up, Qt.Key_Down):
            shown = self.visible_names()
            if shown:
                current = self.highlighted()
                step = 1 if event.key() == Qt.Key_Down else -1
                i = shown.index(current) + step if current in shown else 0
                self._highlight(shown[max(0, min(i, len(shown) - 1))])
            return True
        return super().eventFilter(obj, event)

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
        shown = self.visible_names()
        exact = [n for n in shown if n.lower() == text.strip().lower()]
        if not words:
            self._highlight(None)
        elif self.highlighted() not in shown or exact:
            self._highlight((exact or shown or [None])[0])

    def _on_search_accepted(self) -> None:
        name = self.highlighted()
        if name is not None and self.search.text().strip():
            self.layer_chosen.emit(name)

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, Qt.UserRole)
        if name:
            self.layer_chosen.emit(name)
