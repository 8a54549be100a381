"""The confusion matrix heatmap: true class down, predicted class across, counts in the cells."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QFontMetricsF, QPen, QTransform
from PyQt5.QtWidgets import QGraphicsRectItem, QWidget

from workbench.core import palette
from workbench.core.evaluation import row_percent_label
from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu

MAX_CELL_TEXT = 20  # above this many classes the numbers no longer fit in the cells
MIN_POINTS = 6.0  # smaller cell labels are not drawn (the colour and a click still tell)
CELL_PADDING = 2  # pixels each side of a cell's label

_BLUES = pg.ColorMap(*palette.BLUES)  # white for nothing, deep blue for many


class _CellImage(pg.ImageItem):
    """An ImageItem that reports which cell was clicked (item pixel = matrix cell)."""

    def __init__(self, view: ConfusionMatrixView):
        super().__init__(axisOrder="row-major")
        self._view = view

    def mouseClickEvent(self, ev):  # noqa: N802 - pyqtgraph API
        if ev.button() != Qt.LeftButton or self.image is None:
            return
        pos = ev.pos()
        row, col = int(np.floor(pos.y())), int(np.floor(pos.x()))
        rows, cols = self.image.shape[:2]
        if 0 <= row < rows and 0 <= col < cols:
            ev.accept()
            self._view.select_cell(row, col)


class ConfusionMatrixView(pg.GraphicsLayoutWidget):
    """Heatmap with class names on both axes, a colour bar and the count (or row %) in each cell."""

    cell_clicked = pyqtSignal(int, int)  # (true class, predicted class)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.setBackground("w")
        self.counts: np.ndarray | None = None
        self.normalised = False
        self.selected: tuple[int, int] | None = None
        self._texts: list[pg.TextItem] = []
        self._text_state: dict[int, tuple[str, str]] = {}

        self.plot = self.addPlot()
        self.plot.invertY(True)
        self.plot.setDefaultPadding(0.0)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showAxes(True, showValues=(True, True, False, False), size=20)
        self.plot.setLabel("left", _("true class"))
        self.plot.setLabel("top", _("predicted class"))
        self.plot.getAxis("left").setWidth(52)  # room for the label beside the class names
        self.plot.getAxis("top").setHeight(44)
        for side in ("left", "top", "right", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen("#555"))
            axis.setTextPen(pg.mkPen("#222"))

        self.image = _CellImage(self)
        # Centre cell (0, 0) on the origin so ticks at integers sit in the middle of the cells.
        self.image.setTransform(QTransform().translate(-0.5, -0.5))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), colorMap=_BLUES, interactive=False, width=16,
                                   pen="#555", colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.bar.axis.setTextPen(pg.mkPen("#222"))

        self._text_points = -1.0  # the cell labels' font size now (0: hidden; -1: not fitted)
        self.plot.vb.sigResized.connect(self._fit_texts)

        add_save_menu(self, "confusion-matrix", self.numbers)
        self._highlight = QGraphicsRectItem()
        self._highlight.setPen(QPen(QColor("#e6550d"), 0.08))
        self._highlight.setZValue(20)
        self._highlight.hide()
        self.plot.addItem(self._highlight)

    # Data ----------------------------------------------------------------------------------------

    def set_matrix(self, counts: np.ndarray, class_names: list[str]) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        resized = self.counts is None or self.counts.shape != counts.shape
        self.counts = counts
        self.class_names = list(class_names) + [str(i) for i in range(len(class_names),
                                                                       counts.shape[0])]
        if resized:
            ticks = [(i, name) for i, name in enumerate(self.class_names[: counts.shape[0]])]
            step = max(1, len(ticks) // 30)
            for side in ("left", "top"):
                self.plot.getAxis(side).setTicks([ticks[::step], []])
            for side in ("right", "bottom"):
                self.plot.getAxis(side).setTicks([[], []])
            n = counts.shape[0]
            self.plot.setRange(xRange=(-0.5, n - 0.5), yRange=(-0.5, n - 0.5), padding=0)
            self.prepare(n)
        if self.selected is not None and not (
            self.selected[0] < counts.shape[0] and self.selected[1] < counts.shape[1]
        ):
            self.clear_selection()
        self._redraw()

    def numbers(self):
        """What the cells show (counts, or row percentages), true class down, as a table."""
        if getattr(self, "counts", None) is None:
            return None
        values = self.shown_values()
        header = ["true \\ predicted", *self.class_names]
        return header, [[name, *(f"{v:g}" for v in row)]
                        for name, row in zip(self.class_names, values.tolist())]

    def prepare(self, n: int) -> None:
        """Create the cell labels of an n×n matrix ahead of its first counts."""
        if len(self._texts) != n * n:
            self._make_texts(n)

    def set_normalised(self, normalised: bool) -> None:
        self.normalised = bool(normalised)
        self._redraw()

    def shown_values(self) -> np.ndarray:
        """What the cells show: counts, or row percentages when normalised."""
        if self.counts is None:
            return np.zeros((0, 0))
        if not self.normalised:
            return self.counts.astype(np.float64)
        rows = self.counts.sum(axis=1, keepdims=True)
        return np.divide(100.0 * self.counts, rows, out=np.zeros(self.counts.shape),
                         where=rows > 0)

    def clear(self) -> None:  # noqa: D401 - also QGraphicsView.clear would drop our items
        self.counts = None
        self.image.clear()
        self._make_texts(0)
        self.clear_selection()

    # Selection -----------------------------------------------------------------------------------

    def select_cell(self, true: int, predicted: int) -> None:
        """Highlight one cell and announce it (a click does the same)."""
        if self.counts is None:
            return
        self.selected = (int(true), int(predicted))
        self._highlight.setRect(QRectF(predicted - 0.5, true - 0.5, 1.0, 1.0))
        self._highlight.show()
        self.cell_clicked.emit(int(true), int(predicted))

    def clear_selection(self) -> None:
        self.selected = None
        self._highlight.hide()

    def cell_text(self, true: int, predicted: int) -> str:
        """The text shown in a cell ("" where the matrix has too many classes for numbers)."""
        if not self._texts or self.counts is None:
            return ""
        return self._texts[true * self.counts.shape[0] + predicted].textItem.toPlainText()

    def cell_scene_pos(self, true: int, predicted: int):
        """The scene position of a cell's centre (tests click there)."""
        return self.plot.vb.mapViewToScene(pg.Point(predicted, true))

    # Drawing -------------------------------------------------------------------------------------

    def _make_texts(self, n: int) -> None:
        for item in self._texts:
            self.plot.removeItem(item)
        self._texts = []
        self._text_state: dict[int, tuple[str, str]] = {}
        if n > MAX_CELL_TEXT:
            return
        self._text_points = -1.0
        font = QFont()
        font.setPointSizeF(_largest_points(n))
        for row in range(n):
            for col in range(n):
                text = pg.TextItem("", anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(col, row)
                text.setZValue(10)
                self.plot.addItem(text)
                self._texts.append(text)

    def _redraw(self) -> None:
        if self.counts is None:
            return
        values = self.shown_values()
        top = 100.0 if self.normalised else max(1.0, float(values.max(initial=0.0)))
        self.image.setImage(values, autoLevels=False, levels=(0.0, top))
        self.bar.setLevels((0.0, top))
        if not self._texts:
            return
        n = values.shape[0]
        for row in range(n):
            for col in range(n):
                value = values[row, col]
                text = self._texts[row * n + col]
                if self.normalised:
                    label = row_percent_label(value)
                    label = "" if self.counts[row, col] == 0 and row != col else label
                else:
                    count = int(self.counts[row, col])
                    label = str(count) if count or row == col else ""
                color = "w" if value > 0.55 * top else "#222"
                # TextItem.setText relayouts (~1–2 ms each): touch only cells that changed, so a
                # refresh during training does not stall the GUI thread.
                if self._text_state.get(id(text)) != (label, color):
                    self._text_state[id(text)] = (label, color)
                    text.setText(label, color=color)
        self._fit_texts()

    def cell_pixels(self) -> float:
        """The width of one cell on screen, in pixels."""
        if self.counts is None or not self.counts.shape[0]:
            return 0.0
        return self.plot.vb.width() / self.counts.shape[0]

    def _fit_texts(self) -> None:
        """The largest font (down to MIN_POINTS) whose widest label fits a cell; none where not
        even that fits: at a fixed 9 pt, a narrow window ran "<1%" into "1%" next door."""
        if not self._texts or self.counts is None:
            return
        room = self.cell_pixels() - 2 * CELL_PADDING
        widest = max((label for label, _color in self._text_state.values()), key=len,
                     default="")
        points = _largest_points(self.counts.shape[0])
        font = QFont(self._texts[0].textItem.font())
        while points >= MIN_POINTS:
            font.setPointSizeF(points)
            if QFontMetricsF(font).horizontalAdvance(widest) <= room:
                break
            points -= 1.0
        points = points if points >= MIN_POINTS else 0.0
        if points == self._text_points:
            return
        self._text_points = points
        for text in self._texts:
            if points:
                text.setFont(font)
            text.setVisible(bool(points))

    def shown_font_points(self) -> float:
        """The cell labels' font size (0.0: labels hidden, the cells too narrow for them)."""
        return max(0.0, self._text_points)


def _largest_points(n: int) -> float:
    return 9.0 if n <= 10 else 7.0
