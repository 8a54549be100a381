"""The graph view (``graphView``): the document's model spec drawn as a layered graph.

Redrawn from the spec and its inspection on every change (the view keeps no layer settings);
laid out top to bottom by grandalf's Sugiyama layout (ui/graph/layout.py). Drag the background to
pan, turn the wheel to zoom; click a node to select it (Ctrl+click adds to the selection, for a
merge). Selecting a node selects its layer everywhere (stack, properties), and back. Edits are
asked for by signals; ui/graph/panel.py turns them into undoable document edits.
"""

from __future__ import annotations

from PyQt5.QtCore import QPoint, QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QPainter
from PyQt5.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from workbench.core import graph_edit
from workbench.core.catalogue import CATALOGUE
from workbench.core.graph_layout import layered_layout
from workbench.core.inspect import format_shape
from workbench.i18n import _
from workbench.ui.builder.palette import LAYER_MIME
from workbench.ui.graph.items import EdgeItem, NodeData, NodeItem
from workbench.ui.state import ProjectState

ZOOM_STEP = 1.15
ZOOM_MIN, ZOOM_MAX = 0.2, 3.0
READABLE = 0.8  # the smallest scale Fit uses for a tall graph (text still easy to read)
# After an edit, the redraw waits this long for Keras's answer, so that a quick answer costs one
# redraw, not two (the edit's, then the answer's); a slow one shows the edit first.
EDIT_REDRAW_MS = 60


def node_data(state: ProjectState, stale: bool) -> list[NodeData]:
    """What each node shows: the input first, then the layers in row order."""
    spec = state.spec
    shape = format_shape(tuple(spec.input_shape))
    nodes = [NodeData(graph_edit.INPUT, -1, _("Input"), "", shape, "")]
    report = state.inspection
    names = spec_names(spec)
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        summary = layer.summary()
        settings = summary[len(layer.class_name):].strip()
        ltype = CATALOGUE.get(layer.class_name)
        info = report.layers[i] if report is not None and i < len(report.layers) else None
        fits = info is not None and info.class_name == layer.class_name and \
            info.summary == summary
        data = NodeData(name, i, layer.class_name, settings, "…", "…",
                        ltype.category if ltype is not None else "", stale=stale)
        if fits:
            if info.output_shape is not None:
                data.shape, data.params = format_shape(info.output_shape), f"{info.params:,}"
            elif info.error is None:
                data.shape, data.params = "—", "—"
            if info.error and not stale:
                data.error, data.stale = _(info.error), False
                fix = fix_of(info)
                data.fix_text = fix_text(fix) if fix is not None else ""
        nodes.append(data)
    return nodes


def spec_names(spec) -> list[str]:
    """Each layer's name (its own or ``layer3_dense``), as core/graph.py gives it; "" for all
    when the names clash (the spec is being repaired)."""
    try:
        return spec.names()
    except ValueError:
        return [""] * len(spec.layers)


def spec_edges(spec, names: list[str]) -> list[tuple[str, str]]:
    """(source, target) for every input of every layer, the input included, in row order."""
    edges = []
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        inbound = layer.inbound if layer.inbound is not None else \
            [names[i - 1] if i else graph_edit.INPUT]
        edges += [(source, name) for source in inbound]
    return edges


def fix_of(info):
    """The inspection's one-click repair of a layer (a core ``Fix``), or None."""
    return getattr(info, "repair", None)


def fix_text(fix) -> str:
    """A fix's button label ("Insert Conv2D on 'skip'")."""
    return _(str(getattr(fix, "label", None) or getattr(fix, "text", None) or "Fix"))


class GraphView(QGraphicsView):
    fix_requested = pyqtSignal(str)  # a node's Fix button: its name
    edge_dropped = pyqtSignal(str, str, str, str)  # source, target, dragged end, new node
    context_requested = pyqtSignal(QPoint, object)  # global position, item under it (or None)
    delete_requested = pyqtSignal()
    rename_requested = pyqtSignal(str)  # a layer node double-clicked: its name
    layer_dropped = pyqtSignal(str, str)  # a palette layer dropped on a node: class, node
    redrawn = pyqtSignal()

    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("graphView")
        self.state = state
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setFrameShape(QFrame.NoFrame)
        self.setContextMenuPolicy(Qt.DefaultContextMenu)
        self.setToolTip("")
        self.setAcceptDrops(True)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self._stale = state.inspection is None
        self._updating = False
        self._fit_pending = True
        self._dirty = False
        self._layout_key: tuple | None = None
        self._layout = None
        self._last_selection: set[str] = set()
        self._edit_timer = QTimer(self, singleShot=True, interval=EDIT_REDRAW_MS)
        self._edit_timer.timeout.connect(self._redraw_when_shown)
        self.scene().selectionChanged.connect(self._on_scene_selection_changed)
        state.model_changed.connect(self._on_model_changed)
        state.inspection_changed.connect(self._on_inspection_changed)
        state.checking_changed.connect(self._on_checking_changed)
        state.selection_changed.connect(self._on_selection_changed)
        state.project_replaced.connect(self._on_project_replaced)
        self._dirty = True  # drawn when first shown (a hidden tab costs the start-up nothing)

    # Reading the selection ----------------------------------------------------------------------

    def selected_names(self) -> list[str]:
        """Selected nodes, in the order of the layers (the input first)."""
        order = list(self.nodes)
        picked = [item.data.name for item in self.scene().selectedItems()
                  if isinstance(item, NodeItem)]
        return sorted(picked, key=order.index)

    def select_names(self, names: list[str]) -> None:
        """Select these nodes only; the last becomes the document's selected layer."""
        if self._dirty:
            self.redraw()
        self.state.select(self.nodes[names[-1]].data.index)
        self._updating = True
        try:
            self.scene().clearSelection()
            for name in names:
                self.nodes[name].setSelected(True)
        finally:
            self._updating = False
        self._last_selection = set(self.selected_names())
        self.ensureVisible(self.nodes[names[-1]], 30, 30)

    def selected_edges(self) -> list[tuple[str, str]]:
        return [(item.source.data.name, item.target.data.name)
                for item in self.scene().selectedItems() if isinstance(item, EdgeItem)]

    def current_name(self) -> str:
        """The node of the document's selected layer (the input when none is)."""
        names = spec_names(self.state.spec)
        i = self.state.selected
        return names[i] if 0 <= i < len(names) else graph_edit.INPUT

    # Drawing -------------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Rebuild every item from the spec and its inspection, and lay them out."""
        self._dirty = False
        self._updating = True
        scene = self.scene()
        try:
            kept = set(self.selected_names())
            scene.clear()
            self.nodes.clear()
            self.edges.clear()
            # The last answer, greyed only once the new one is slow in coming (no flicker).
            data = node_data(self.state, self._stale and self.state.checking)
            font = self.font()
            for item_data in data:
                item = NodeItem(item_data, font, self.fix_requested.emit)
                self.nodes[item_data.name] = item
                scene.addItem(item)
            spec = self.state.spec
            edges = [e for e in spec_edges(spec, spec_names(spec)) if e[0] in self.nodes]
            sizes = {name: (item.width, item.height) for name, item in self.nodes.items()}
            key = (tuple(sizes.items()), tuple(edges))
            if key != self._layout_key:  # the same graph at the same sizes: the same layout
                self._layout = layered_layout(list(self.nodes), edges, sizes,
                                              root=graph_edit.INPUT)
                self._layout_key = key
            layout = self._layout
            for name, (x, y) in layout.centres.items():
                self.nodes[name].setPos(x, y)
            tails = self._ports(edges, outgoing=True)
            heads = self._ports(edges, outgoing=False)
            for edge in edges:
                source, target = self.nodes[edge[0]], self.nodes[edge[1]]
                item = EdgeItem(source, target, layout.routes.get(edge, []), tails[edge],
                                heads[edge], self.edge_dropped.emit)
                self.edges[edge] = item
                scene.addItem(item)
            current = self.current_name()
            for name, item in self.nodes.items():
                item.setSelected(name == current or (name in kept and current in kept))
            bounds = scene.itemsBoundingRect().adjusted(-40, -40, 40, 40)
            scene.setSceneRect(bounds)
        finally:
            self._updating = False
        self._last_selection = set(self.selected_names())
        if self._fit_pending and self.isVisible():
            self.fit()
        self.redrawn.emit()

    def _ports(self, edges, outgoing: bool) -> dict[tuple[str, str], float]:
        """Where each edge leaves its source (or enters its target): spread over the node's
        width, in the order of the nodes at the other end, so edges do not cross at a node."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for edge in edges:
            groups.setdefault(edge[0] if outgoing else edge[1], []).append(edge)
        offsets = {}
        for name, group in groups.items():
            group.sort(key=lambda e: self.nodes[e[1] if outgoing else e[0]].pos().x())
            width = self.nodes[name].width * 0.7
            for k, edge in enumerate(group):
                offsets[edge] = -width / 2 + width * (k + 1) / (len(group) + 1)
        return offsets

    def fit(self) -> None:
        """Show the whole graph (never above 1:1); a graph too tall for that at a readable size
        is shown from its top at that size (scroll or zoom out for the rest)."""
        self._fit_pending = False
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        view = self.viewport().rect()
        width, height = view.width() / rect.width(), view.height() / rect.height()
        scale = max(ZOOM_MIN, min(1.0, width, max(height, READABLE)))
        self.scale(scale, scale)
        if rect.height() * scale > view.height():
            self.centerOn(rect.center().x(), rect.top() + view.height() / 2 / scale)
        else:
            self.centerOn(rect.center())

    def zoom(self, factor: float) -> None:
        current = self.transform().m11()
        factor = max(ZOOM_MIN / current, min(ZOOM_MAX / current, factor))
        self.scale(factor, factor)

    def node_rect(self, name: str) -> QRectF:
        item = self.nodes[name]
        return item.mapRectToScene(item.rect())

    # Events --------------------------------------------------------------------------------------

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom(ZOOM_STEP ** steps)
        event.accept()

    # A layer type dragged from the palette onto a node goes after that node.

    def _drop_target(self, event) -> NodeItem | None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            return None
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        return item

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drop_target(event) is not None:
            event.setDropAction(Qt.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt API
        target = self._drop_target(event)
        if target is None:
            event.ignore()
            return
        event.setDropAction(Qt.CopyAction)
        event.accept()
        self.layer_dropped.emit(bytes(event.mimeData().data(LAYER_MIME)).decode(),
                                target.data.name)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        item = self.itemAt(event.pos())
        if isinstance(item, NodeItem) and item.data.index >= 0:
            self.rename_requested.emit(item.data.name)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self.delete_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt API
        item = self.itemAt(event.pos())
        while item is not None and not isinstance(item, (NodeItem, EdgeItem)):
            item = item.parentItem()
        if item is not None and not item.isSelected():
            self.scene().clearSelection()
            item.setSelected(True)
        self.context_requested.emit(event.globalPos(), item)
        event.accept()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._dirty:
            self.redraw()
        if self._fit_pending:
            self.fit()

    # State ---------------------------------------------------------------------------------------

    def _on_model_changed(self) -> None:
        self._stale = True
        if not self.state.inspection_pending:  # Keras will not answer (not loaded yet)
            self._redraw_when_shown()
        elif not self._edit_timer.isActive():
            self._edit_timer.start()

    def _on_inspection_changed(self) -> None:
        self._stale = False
        self._edit_timer.stop()
        self._redraw_when_shown()

    def _on_checking_changed(self, _checking: bool) -> None:
        self._redraw_when_shown()

    def retranslate(self) -> None:
        """After Help ▸ Language: the nodes' texts again."""
        self._redraw_when_shown()

    def _redraw_when_shown(self) -> None:
        """Redraw now if the view is on screen, else when it is shown (a hidden tab costs no
        time on an edit)."""
        if self.isVisible():
            self.redraw()
        else:
            self._dirty = True

    def _on_project_replaced(self) -> None:
        self._fit_pending = True

    def _on_selection_changed(self, index: int) -> None:
        if self._updating:
            return
        name = self.current_name()
        item = self.nodes.get(name)
        if item is None or item.isSelected():
            return
        self._updating = True
        try:
            self.scene().clearSelection()
            item.setSelected(True)
        finally:
            self._updating = False
        self._last_selection = set(self.selected_names())
        self.ensureVisible(item, 30, 30)

    def _on_scene_selection_changed(self) -> None:
        if self._updating:
            return
        names = self.selected_names()
        added = [n for n in names if n not in self._last_selection]
        self._last_selection = set(names)
        if not names:
            return
        current = self.current_name()
        if not added and current in names:
            return
        # The node just clicked (Ctrl+click: the one added) becomes the document's selection.
        index = self.nodes[(added or names)[-1]].data.index
        self._updating = True
        try:
            self.state.select(index)
        finally:
            self._updating = False
