"""What the network receives (the 28x28 input, enlarged) and what it answers (probability bars)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.core.run_text import percent
from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu

_BAR = QColor(150, 170, 200)
_TOP_BAR = QColor(40, 110, 200)
_EXPLAINED_BAR = QColor(230, 120, 20)  # the class the "Why" heatmap shows, when not the top one
X_RANGE = 1.18  # the plot's width in probability units: room right of a full bar for its label
LABEL_GAP = 0.01


class InputPreviewView(QLabel):
    """The 28x28 image the network actually receives, enlarged with hard pixel edges."""

    def __init__(self, parent: QWidget | None = None, scale: int = 7):
        super().__init__(parent)
        self.setObjectName("inputPreview")
        self._scale = scale
        side = 28 * scale
        self.setFixedSize(side + 2, side + 2)
        self.setAlignment(Qt.AlignCenter)
        self.setStyleSheet("QLabel { border: 1px solid #b0b0b0; background: #000; color: #888; }")
        self.setToolTip(
            _("The 28×28 input the network receives: the ink cropped, scaled to 20 px, centred "
              "by its centre of mass and shown light on dark, as in MNIST."))
        self.digit: np.ndarray | None = None
        self.show_input(None)

    def show_input(self, digit28: np.ndarray | None) -> None:
        self.digit = None if digit28 is None else np.asarray(digit28, np.float32).reshape(28, 28)
        if self.digit is None:
            self.setPixmap(QPixmap())
            self.setText(_("28 × 28 input"))
            return
        grey = (np.clip(self.digit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        image = QImage(grey.tobytes(), 28, 28, 28, QImage.Format_Grayscale8).copy()
        side = 28 * self._scale
        pixmap = QPixmap.fromImage(image.scaled(side, side, Qt.IgnoreAspectRatio,
                                                Qt.FastTransformation))
        painter = QPainter(pixmap)
        # A faint 4-pixel grid makes the 28x28 resolution obvious without hiding the digit.
        painter.setPen(QColor(255, 255, 255, 28))
        for i in range(4, 28, 4):
            painter.drawLine(i * self._scale, 0, i * self._scale, side)
            painter.drawLine(0, i * self._scale, side, i * self._scale)
        painter.end()
        self.setPixmap(pixmap)


class PredictionView(QWidget):
    """Probability bars for every class and the top class, large; or a hint when there is none."""

    class_clicked = pyqtSignal(int)  # a bar (or its class label) was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("predictionView")
        self.probabilities: np.ndarray | None = None
        self.previous = False  # the bars are an earlier model's answer
        self.class_names: list[str] = []

        self._top = QLabel("–", self, objectName="predictedClass")
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.0) * 3.6)
        font.setBold(True)
        self._top.setFont(font)
        self._top.setMinimumWidth(80)
        self._top.setAlignment(Qt.AlignCenter)
        self._top_prob = QLabel("", self, objectName="predictedProbability")
        prob_font = QFont(self.font())
        prob_font.setPointSizeF(max(prob_font.pointSizeF(), 9.0) * 1.5)
        self._top_prob.setFont(prob_font)
        self._hint = QLabel("", self, objectName="predictionHint")
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet("color: #555;")
        self._note = QLabel("", self)
        self._note.setWordWrap(True)
        self._note.setStyleSheet("color: #8a4b00;")
        self._note.hide()

        self._plot = pg.PlotWidget(self, background="w")
        self._plot.setMinimumSize(200, 150)
        self._plot.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._plot.setMenuEnabled(False)
        add_save_menu(self._plot, "prediction", lambda: None if self.probabilities is None else (
            ["class", "probability"], [[name, f"{p:.6g}"] for name, p in zip(
                self.class_names or map(str, range(len(self.probabilities))),
                self.probabilities)]))
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.hideButtons()
        item = self._plot.getPlotItem()
        item.invertY(True)
        item.showGrid(x=True, y=False, alpha=0.25)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(90, 90, 90))
            axis.setTextPen(pg.mkPen(40, 40, 40))
        ticks = [(v, f"{int(v * 100)}%") for v in (0, 0.25, 0.5, 0.75, 1)]
        item.getAxis("bottom").setTicks([ticks])
        item.getAxis("left").setStyle(tickLength=0)
        self._bars = pg.BarGraphItem(x0=[], y=[], height=0.72, width=[], pen=None, brushes=[])
        item.addItem(self._bars)
        self._labels: list[pg.TextItem] = []
        self._brush, self._top_brush = pg.mkBrush(_BAR), pg.mkBrush(_TOP_BAR)
        self._brushes: list = []
        self._bar_top: int | None = None
        self._explained: int | None = None
        self._explained_brush = pg.mkBrush(_EXPLAINED_BAR)
        self._plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        item.vb.sigResized.connect(lambda *_: self._draw_bars(self.probabilities))

        head = QHBoxLayout()
        head.addWidget(self._top)
        text = QVBoxLayout()
        text.addStretch(1)
        text.addWidget(self._top_prob)
        text.addWidget(self._hint)
        text.addStretch(1)
        head.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self._note)
        layout.addWidget(self._plot, 1)
        self.set_class_names([str(i) for i in range(10)])
        self.show_hint(_("Draw a digit"))

    # API -----------------------------------------------------------------------------------------

    @property
    def hint(self) -> str:
        return self._hint.text() if self.probabilities is None else ""

    @property
    def note(self) -> str:
        """The line under the answer (which model answered, how its output was read)."""
        return self._note.text() if self._note.isVisibleTo(self) else ""

    @property
    def top_class(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    def set_class_names(self, names: list[str]) -> None:
        names = [str(n) for n in names]
        if names == self.class_names:
            return
        self.class_names = names
        n = len(names)
        item = self._plot.getPlotItem()
        item.getAxis("left").setTicks([[(i, name) for i, name in enumerate(names)]])
        for label in self._labels:
            item.removeItem(label)
        self._labels = []
        for i in range(n):
            label = pg.TextItem("", color=(60, 60, 60), anchor=(0, 0.5))
            label.setPos(0, i)
            item.addItem(label)
            self._labels.append(label)
        item.setYRange(-0.6, n - 0.4, padding=0)
        item.setXRange(0, X_RANGE, padding=0)
        if self.probabilities is not None and len(self.probabilities) != n:
            self.probabilities = None
        self._draw_bars(self.probabilities)

    def show_probabilities(self, probs: np.ndarray, class_names: list[str], note: str = "",
                           previous: bool = False) -> None:
        """``previous``: the answer of an earlier version of the model (``note`` says which):
        shown greyed, never as the current model's answer."""
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        self.set_class_names(class_names)
        self.probabilities = probs
        self.previous = previous
        top = int(np.argmax(probs))
        self._top.setText(self.class_names[top])
        self._top.setStyleSheet("color: #9a9a9a;" if previous else "color: #1d4f91;")
        self._top_prob.setText(percent(probs[top]) + (_(" (previous model)") if previous else ""))
        self._top_prob.show()
        self._hint.setText("")
        self._hint.hide()
        self._note.setText(note)
        self._note.setVisible(bool(note))
        self._draw_bars(probs)

    def show_hint(self, text: str) -> None:
        """No prediction: empty bars and a line saying why."""
        self.probabilities = None
        self.previous = False
        self._top.setText("–")
        self._top.setStyleSheet("color: #aaa;")
        self._top_prob.setText("")
        self._top_prob.hide()
        self._hint.setText(text)
        self._hint.show()
        self._note.hide()
        self._draw_bars(None)

    def set_explained(self, index: int | None) -> None:
        """Mark the bar of the class whose evidence the "Why" overlay shows (None: the top)."""
        if index != self._explained:
            self._explained = index
            self._bar_top = -1  # brushes rebuilt
            self._draw_bars(self.probabilities)

    def _on_plot_clicked(self, event) -> None:
        if event.button() != Qt.LeftButton:
            return
        y = self._plot.getPlotItem().vb.mapSceneToView(event.scenePos()).y()
        index = int(round(y))
        if 0 <= index < len(self.class_names):
            self.class_clicked.emit(index)

    def _draw_bars(self, probs: np.ndarray | None) -> None:
        n = len(self.class_names)
        widths = np.zeros(n) if probs is None else np.clip(probs, 0.0, 1.0)
        top = None if probs is None else int(np.argmax(probs))
        if top != self._bar_top or len(self._brushes) != n:
            # Brushes only change with the top class; rebuilding them per update costs ~0.5 ms.
            self._bar_top = top
            self._brushes = [self._top_brush if i == top else
                             self._explained_brush if i == self._explained else self._brush
                             for i in range(n)]
        self._bars.setOpts(x0=np.zeros(n), y=np.arange(n, dtype=float), width=widths,
                           height=0.72, brushes=self._brushes)
        for i, label in enumerate(self._labels):
            if probs is None:
                text = ""
            else:
                text = percent(widths[i]) if widths[i] >= 0.0005 else "0%"
            if label.textItem.toPlainText() != text:
                label.setText(text)
            if probs is not None:
                self._place_label(label, float(widths[i]))

    def _place_label(self, label: pg.TextItem, width: float) -> None:
        """Right of its bar, or inside its end (white) where the plot's right edge would cut it
        ("100.0%" was clipped in a narrow Draw tab)."""
        pixels = self._plot.getPlotItem().vb.width() / X_RANGE
        text = label.textItem.boundingRect().width()
        inside = (X_RANGE - width - LABEL_GAP) * pixels < text and width * pixels > text
        label.setAnchor((1, 0.5) if inside else (0, 0.5))
        label.setColor("w" if inside else (60, 60, 60))
        label.setPos(width - LABEL_GAP if inside else width + LABEL_GAP, label.pos().y())
