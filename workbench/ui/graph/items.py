"""The graph view's scene items: a node per layer (and the input), an edge per inbound name.

A ``NodeItem`` paints its class, name, key settings, output shape and parameter count; a layer
Keras refuses is red, with its reason and a "Fix" button when there is an obvious repair. An
``EdgeItem`` runs from the bottom of its source to the top of its target along the layout's
route; selected, it shows a handle at each end that can be dragged onto another node.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt5.QtCore import QLineF, QPointF, QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainterPath, QPainterPathStroker, QPen
from PyQt5.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsSimpleTextItem

from workbench.i18n import _

NODE_MIN_W, NODE_MAX_W = 150.0, 280.0
PAD = 7.0
RADIUS = 6.0
HANDLE_R = 6.0

CATEGORY_FILL = {
    "Core": "#e8f0fe", "Convolution": "#e6f4ea", "Pooling": "#fef7e0", "Merge": "#f3e8fd",
    "Recurrent": "#fce8e6", "Regularization": "#eceff1", "Normalization": "#e0f7fa",
    "Reshaping": "#fff3e0", "Augmentation": "#f1f8e9",
}
INPUT_FILL = "#f5f5f5"
ERROR_FILL = QColor("#fde4e4")
ERROR_PEN = QColor("#b3261e")
BORDER = QColor("#8a8f98")
SELECTED = QColor("#1a73e8")
EDGE = QColor("#7d838c")
MUTED = QColor("#5f6368")
STALE = QColor("#9a9a9a")


@dataclass
class NodeData:
    """What a node shows; ``index`` is the layer's row (-1: the model input)."""

    name: str
    index: int
    title: str  # the class name (or "Input")
    settings: str  # key settings, e.g. "32 3×3 relu same"
    shape: str  # output shape, "…" while Keras checks
    params: str  # parameter count, "" for the input
    category: str = ""
    error: str = ""
    fix_text: str = ""  # the fix button's tooltip ("" when there is no fix)
    stale: bool = False


def _elide(metrics: QFontMetrics, text: str, width: float) -> str:
    return metrics.elidedText(text, Qt.ElideRight, int(width))


class FixButton(QGraphicsSimpleTextItem):
    """The "Fix" link on a failing node; asks the view to apply the node's repair."""

    def __init__(self, node: NodeItem):
        super().__init__(_("Fix"), node)  # no emoji: the default fonts lack it (a box)
        self.node = node
        font = QFont(node.font)
        font.setBold(True)
        self.setFont(font)
        self.setBrush(QBrush(ERROR_PEN))
        self.setCursor(Qt.PointingHandCursor)
        self.setToolTip(node.data.fix_text)
        self.setAcceptedMouseButtons(Qt.LeftButton)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.contains(event.pos()):
            self.node.fix_clicked()
        event.accept()


class NodeItem(QGraphicsItem):
    def __init__(self, data: NodeData, font: QFont, on_fix=None):
        super().__init__()
        self.data = data
        self.font = font
        self.bold = QFont(font)
        self.bold.setBold(True)
        self._on_fix = on_fix
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        metrics, bold_metrics = QFontMetrics(font), QFontMetrics(self.bold)
        self.line_h = metrics.height() + 1
        head = bold_metrics.horizontalAdvance(data.title) + (
            8 + metrics.horizontalAdvance(data.name) + 12 if data.index >= 0 else 0)
        lines = [head, metrics.horizontalAdvance(data.settings),
                 metrics.horizontalAdvance(f"{data.shape}    {data.params}")]
        self.width = min(NODE_MAX_W, max(NODE_MIN_W, max(lines) + 2 * PAD))
        rows = 2 + (1 if data.settings else 0) + (1 if data.error else 0)
        self.height = rows * self.line_h + 2 * PAD - 2
        self.fix_button: FixButton | None = None
        if data.error and data.fix_text:
            self.fix_button = FixButton(self)
            self.height += self.line_h
        if data.error:
            self.setToolTip(data.error + ("\n" + _("Fix: {fix}").format(fix=data.fix_text)
                                          if data.fix_text else ""))
        else:
            self.setToolTip(f"{data.title} {data.name}".strip())
        if self.fix_button is not None:
            self.fix_button.setPos(-self.width / 2 + PAD, self.height / 2 - PAD - self.line_h)

    # Geometry: the item's origin is its centre --------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(-self.width / 2 - 2, -self.height / 2 - 2, self.width + 4, self.height + 4)

    def rect(self) -> QRectF:
        return QRectF(-self.width / 2, -self.height / 2, self.width, self.height)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.rect(), RADIUS, RADIUS)
        return path

    def top(self, x_offset: float = 0.0) -> QPointF:
        return self.pos() + QPointF(x_offset, -self.height / 2)

    def bottom(self, x_offset: float = 0.0) -> QPointF:
        return self.pos() + QPointF(x_offset, self.height / 2)

    def fix_clicked(self) -> None:
        if self._on_fix is not None:
            self._on_fix(self.data.name)

    # Painting -----------------------------------------------------------------------------------

    def paint(self, painter, _option, _widget=None) -> None:
        data = self.data
        rect = self.rect()
        if data.error:
            fill, pen = ERROR_FILL, QPen(ERROR_PEN, 1.6)
        else:
            fill = QColor(INPUT_FILL if data.index < 0 else CATEGORY_FILL.get(data.category,
                                                                              "#ffffff"))
            pen = QPen(BORDER, 1.0)
        if self.isSelected():
            pen = QPen(SELECTED, 2.6)
        painter.setPen(pen)
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        x, width = rect.left() + PAD, rect.width() - 2 * PAD
        y = rect.top() + PAD
        metrics = QFontMetrics(self.font)
        painter.setFont(self.bold)
        painter.setPen(ERROR_PEN if data.error else Qt.black)
        bold_metrics = QFontMetrics(self.bold)
        title = _elide(bold_metrics, data.title, width)
        painter.drawText(QRectF(x, y, width, self.line_h), Qt.AlignLeft | Qt.AlignVCenter, title)
        if data.index >= 0:
            used = bold_metrics.horizontalAdvance(title) + 8
            painter.setFont(self.font)
            painter.setPen(MUTED)
            painter.drawText(QRectF(x + used, y, max(0.0, width - used), self.line_h),
                             Qt.AlignLeft | Qt.AlignVCenter,
                             _elide(metrics, data.name, max(0.0, width - used)))
        painter.setFont(self.font)
        y += self.line_h
        if data.settings:
            painter.setPen(Qt.black)
            painter.drawText(QRectF(x, y, width, self.line_h), Qt.AlignLeft | Qt.AlignVCenter,
                             _elide(metrics, data.settings, width))
            y += self.line_h
        painter.setPen(STALE if data.stale else Qt.black)
        room = width - metrics.horizontalAdvance(data.params) - 8
        painter.drawText(QRectF(x, y, width, self.line_h), Qt.AlignLeft | Qt.AlignVCenter,
                         _elide(metrics, data.shape, room))
        painter.setPen(STALE if data.stale else MUTED)
        painter.drawText(QRectF(x, y, width, self.line_h), Qt.AlignRight | Qt.AlignVCenter,
                         data.params)
        y += self.line_h
        if data.error:
            painter.setPen(ERROR_PEN)
            painter.drawText(QRectF(x, y, width, self.line_h), Qt.AlignLeft | Qt.AlignVCenter,
                             _elide(metrics, f"⚠ {data.error}", width))


class EndHandle(QGraphicsItem):
    """A draggable end of a selected edge (``end`` is "source" or "target")."""

    def __init__(self, edge: EdgeItem, end: str):
        super().__init__(edge)
        self.edge, self.end = edge, end
        self.setZValue(3)
        self.setCursor(Qt.SizeAllCursor)
        self.setToolTip(_("Drag onto another layer to reconnect"))
        self.setAcceptedMouseButtons(Qt.LeftButton)
        self._line: QGraphicsPathItem | None = None
        self.hide()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        r = HANDLE_R + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter, _option, _widget=None) -> None:
        painter.setPen(QPen(SELECTED, 1.5))
        painter.setBrush(QBrush(Qt.white))
        painter.drawEllipse(QPointF(0, 0), HANDLE_R, HANDLE_R)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        scene = self.scene()
        if scene is None:
            return
        fixed = self.edge.end_point("target" if self.end == "source" else "source")
        path = QPainterPath(fixed)
        path.lineTo(event.scenePos())
        if self._line is None:
            self._line = QGraphicsPathItem()
            self._line.setPen(QPen(SELECTED, 1.5, Qt.DashLine))
            self._line.setZValue(4)
            scene.addItem(self._line)
        self._line.setPath(path)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        scene = self.scene()
        if self._line is not None and scene is not None:
            scene.removeItem(self._line)
        self._line = None
        if scene is None:
            return
        target = next((item for item in scene.items(event.scenePos())
                       if isinstance(item, NodeItem)), None)
        if target is not None:
            self.edge.dropped(self.end, target.data.name)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, source: NodeItem, target: NodeItem, route: list[tuple[float, float]],
                 tail_x: float, head_x: float, on_drop=None):
        super().__init__()
        self.source, self.target = source, target
        self._on_drop = on_drop
        self.setFlag(QGraphicsItem.ItemIsSelectable, True)
        self.setZValue(0)
        self.setToolTip(f"{source.data.name} → {target.data.name}")
        start, end = source.bottom(tail_x), target.top(head_x)
        path = QPainterPath(start)
        middle = [QPointF(x, y) for x, y in route[1:-1]]
        points = [start, *middle, end]
        for a, b in zip(points, points[1:]):
            dy = (b.y() - a.y()) / 2
            path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
        self.setPath(path)
        self._start, self._end = start, end
        self.handles: dict[str, EndHandle] = {}  # made when the edge is first selected
        self._update_pen()

    def _make_handles(self) -> None:
        if not self.handles:
            self.handles = {"source": EndHandle(self, "source"),
                            "target": EndHandle(self, "target")}
            self.handles["source"].setPos(self._start + QPointF(0, HANDLE_R + 2))
            self.handles["target"].setPos(self._end - QPointF(0, HANDLE_R + 4))

    def end_point(self, end: str) -> QPointF:
        return self._start if end == "source" else self._end

    def handle_pos(self, end: str) -> QPointF:
        self._make_handles()
        return self.handles[end].scenePos()

    def dropped(self, end: str, node: str) -> None:
        if self._on_drop is not None:
            self._on_drop(self.source.data.name, self.target.data.name, end, node)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return super().boundingRect().adjusted(-8, -8, 8, 8)

    def _update_pen(self) -> None:
        selected = self.isSelected()
        self.setPen(QPen(SELECTED if selected else EDGE, 2.4 if selected else 1.4))

    def itemChange(self, change, value):  # noqa: N802 - Qt API
        if change == QGraphicsItem.ItemSelectedHasChanged:
            self._update_pen()
            if value:
                self._make_handles()
            for handle in self.handles.values():
                handle.setVisible(bool(value))
        return super().itemChange(change, value)

    def paint(self, painter, option, widget=None) -> None:
        super().paint(painter, option, widget)
        # The arrow head at the target.
        end = self._end
        line = QLineF(end, end - QPointF(0, 9))
        left = line.pointAt(1.0) + QPointF(-4.5, 0)
        right = line.pointAt(1.0) + QPointF(4.5, 0)
        head = QPainterPath(end)
        head.lineTo(left)
        head.lineTo(right)
        head.closeSubpath()
        painter.setBrush(QBrush(self.pen().color()))
        painter.drawPath(head)
