"""The tutorial card: what the tutorial did, what it reported, and ours beside it after a run.

A plain widget fed by the controller (``ui/tutorials/controller.py``): ``show_tutorial`` fills
the text and the buttons, ``show_rows`` the comparison table, ``show_figure`` tutorial H's own
pictures (accuracy every 10 epochs, 32 first-layer units in a 4×8 grid). It never touches the
project itself; its buttons emit signals the controller acts on.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QTransform
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core import introspection, palette
from workbench.core.tutorials import Tutorial
from workbench.i18n import N_, _
from workbench.ui.plot_export import add_save_menu, image_table

DIVERGING = pg.ColorMap(*palette.DIVERGING)  # blue − / white 0 / red +, as the Weights tab draws
# The figure's titles in a smaller type: at pyqtgraph's 9pt the units' title made the figure
# wider than a 400 px dock and both titles were cut at its edge.
TITLE_SIZE = "8pt"
PICTURES = {  # key → button text, and its tooltip
    "curves": (N_("Accuracy curves"), N_("Show the accuracy curves")),
    "confusion": (N_("Confusion matrix"), N_("Show the confusion matrix")),
    "units": (N_("First-layer units"), N_("Show the first-layer units")),
    "output": (N_("Output weights"), N_("Show the output weights")),
    "fit": (N_("Data and fitted line"), N_("Show the data and fitted line")),
}


def _buttons(parent: QWidget, items: list[tuple[str, str, str]], signal, cols: int = 2):
    """A grid of push buttons (object name, text, tooltip), each emitting ``signal(index)``."""
    box = QWidget(parent)
    grid = QGridLayout(box)
    grid.setContentsMargins(0, 0, 0, 0)
    buttons = []
    for i, (name, text, tip) in enumerate(items):
        button = QPushButton(text, box, objectName=name)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False, i=i: signal.emit(i))
        grid.addWidget(button, i // cols, i % cols)
        buttons.append(button)
    return box, buttons


class TutorialCard(QWidget):
    step_requested = pyqtSignal(int)  # open step i of a tutorial with several models (H)
    variant_requested = pyqtSignal(int)  # train variant i (C)
    preset_requested = pyqtSignal(str)  # run the tutorial's sweep preset (C: "optimizers")
    train_requested = pyqtSignal()
    picture_requested = pyqtSignal(str)  # a PICTURES key

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tutorialCard")
        self.tutorial: Tutorial | None = None
        self.title = QLabel(self, objectName="tutorialTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 15px; font-weight: bold")
        self.text = QLabel(self, objectName="tutorialText")
        self.text.setWordWrap(True)
        self.status = QLabel(self, objectName="tutorialStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555")
        self.table = QTableWidget(0, 3, self, objectName="tutorialTable")
        self.table.setHorizontalHeaderLabels(["", _("Tutorial"), _("Ours")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        # Three equal columns, each text wrapped: the first column's longest name took a 420 px
        # dock's width and left the tutorial's figures three cut words a row.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        # Rows as tall as their wrapped texts at the columns' final width (they were cut with
        # an ellipsis: "68 % train / 63 % …"), the table as tall as its rows (the card scrolls).
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeToContents)
        for header in (rows, self.table.horizontalHeader()):  # after the rows follow a width
            header.sectionResized.connect(lambda *_: QTimer.singleShot(0, self._fit_table))
        self.train_button = QPushButton(_("Train"), self, objectName="tutorialTrain")
        self.train_button.setToolTip(_("Train the tutorial's model with its settings"))
        self.train_button.clicked.connect(self.train_requested)
        self.figure = pg.GraphicsLayoutWidget(self)
        self.figure.setObjectName("tutorialFigure")
        self.figure.setBackground("w")
        add_save_menu(self.figure, "tutorial-figure", self._figure_numbers)
        self.figure.setMinimumHeight(440)  # two plots of ~200 px (the accuracy one was ~60)
        self.accuracy_plot = self.figure.addPlot(row=0, col=0, title=_(
            "Accuracy every 10 epochs: <span style='color:#1f77b4'>train</span>, "
            "<span style='color:#d62728'>validation</span>"))
        self.accuracy_plot.setTitle(self.accuracy_plot.titleLabel.text, size=TITLE_SIZE)
        self.accuracy_plot.setLabel("bottom", _("epoch"))
        self.accuracy_plot.setYRange(0, 1)
        self.accuracy_plot.showGrid(y=True, alpha=0.3)
        self.units_plot = self.figure.addPlot(row=1, col=0, title=_("First-layer units"))
        self.units_plot.invertY(True)
        self.units_plot.setAspectLocked(True)
        self.units_plot.hideAxis("left")
        self.units_plot.hideAxis("bottom")
        self.units_image = pg.ImageItem(axisOrder="row-major")
        self.units_image.setTransform(QTransform().translate(-0.5, -0.5))
        self.units_image.setColorMap(DIVERGING)
        self.units_plot.addItem(self.units_image)
        self.figure.hide()
        self.shown: dict = {}  # what the figure draws now (tests read it)

        self._layout = QVBoxLayout(self)
        for widget in (self.title, self.text):
            self._layout.addWidget(widget)
        self._extra: list[QWidget] = []
        self._layout.addWidget(self.train_button)
        self._layout.addWidget(self.status)
        self._layout.addWidget(self.table)
        self._layout.addWidget(self.figure, 3)
        self.step_buttons: list[QPushButton] = []
        self.variant_buttons: list[QPushButton] = []
        self.preset_button: QPushButton | None = None
        self.picture_buttons: dict[str, QPushButton] = {}

    def show_tutorial(self, tutorial: Tutorial) -> None:
        self.tutorial = tutorial
        self.title.setText(_("Tutorial {key}: {title}").format(
            key=tutorial.key, title=html.escape(_(tutorial.title))))
        did, reported = _("What it did."), _("What it reported.")
        self.text.setText(f"<p><b>{html.escape(did)}</b> {html.escape(_(tutorial.did))}</p>"
                          f"<p><b>{html.escape(reported)}</b> "
                          f"{html.escape(_(tutorial.reported))}</p>")
        for widget in self._extra:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self._extra = []
        at = self._layout.indexOf(self.train_button)
        if tutorial.steps:
            # One column, and short texts below: the card fits a dock beside the tabs.
            box, self.step_buttons = _buttons(self, [
                (f"tutorialStep_{s.template}", _(s.title),
                 _("Open this step's model ({template})").format(template=s.template))
                for s in tutorial.steps], self.step_requested, cols=1)
            self._insert(at, box)
            at += 1
        else:
            self.step_buttons = []
        if tutorial.variants:
            box, self.variant_buttons = _buttons(self, [
                (f"tutorialVariant_{i}", _("Train: {variant}").format(variant=_(v.title)),
                 _("Train again with {variant}").format(variant=_(v.title)))
                for i, v in enumerate(tutorial.variants)], self.variant_requested, cols=1)
            self._insert(at, box)
            at += 1
        else:
            self.variant_buttons = []
        self.preset_button = None
        if tutorial.preset == "optimizers":
            self.preset_button = QPushButton(_("Compare 4 optimizers (one sweep)"), self,
                                             objectName="tutorialPreset_optimizers")
            self.preset_button.setToolTip(_("The Experiments tab's Compare optimizers: SGD, "
                                            "SGD + momentum, Adam and RMSprop trained one after "
                                            "another, their curves overlaid there, their "
                                            "accuracy here"))
            self.preset_button.clicked.connect(
                lambda: self.preset_requested.emit(tutorial.preset))
            self._insert(at, self.preset_button)
            at += 1
        items = [(f"tutorialShow_{key}", _(PICTURES[key][0]), _(PICTURES[key][1]))
                 for key in tutorial.pictures]
        signal = _KeySignal(self.picture_requested, list(tutorial.pictures))
        box, buttons = _buttons(self, items, signal, cols=2)
        self.picture_buttons = dict(zip(tutorial.pictures, buttons))
        self._insert(self._layout.indexOf(self.table) + 1, box)
        self.figure.setVisible("units" in tutorial.pictures)
        self.show_figure(None, None)

    def _insert(self, index: int, widget: QWidget) -> None:
        self._layout.insertWidget(index, widget)
        self._extra.append(widget)

    def show_status(self, text: str) -> None:
        self.status.setText(text)

    def _fit_table(self) -> None:
        table = self.table
        table.resizeRowsToContents()
        height = table.horizontalHeader().height() + 2 * table.frameWidth() + sum(
            table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(max(height, 60))

    def show_rows(self, rows: list[tuple[str, str, str]]) -> None:
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(_(value) if c == 0 and value else value)
                item.setToolTip(value)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        self._fit_table()

    def rows(self) -> list[tuple[str, str, str]]:
        """The table as it reads (tests and the README check it)."""
        return [tuple(self.table.item(r, c).text() for c in range(3))
                for r in range(self.table.rowCount())]

    def show_figure(self, every: tuple | None, units: np.ndarray | None) -> None:
        """Tutorial H's pictures: ``every`` = (epochs, train, validation) from
        ``core.tutorials.accuracy_every``; ``units`` a tiled picture of first-layer units."""
        self.accuracy_plot.clear()
        # Accuracy's own scale, epochs from 0 (empty, it showed -0.5 to 1.0 over -0.3 to 1.3).
        self.accuracy_plot.setYRange(0, 1, padding=0.02)
        self.accuracy_plot.setXRange(0, max(every[0]) if every and every[0] else 10,
                                     padding=0.05)  # the last epoch's tick label whole
        self.shown = {"every": every, "units": units}
        if every and every[0]:
            epochs, train, val = every
            self.accuracy_plot.plot(epochs, train, pen=pg.mkPen("#1f77b4", width=2),
                                    symbol="o", symbolSize=5, name=_("train"))
            if val:
                self.accuracy_plot.plot(epochs[:len(val)], val, symbol="s", symbolSize=5,
                                        pen=pg.mkPen("#d62728", width=2), name=_("validation"))
        if units is None:
            self.units_image.clear()
            self.units_plot.setTitle(_("First-layer units (after a run)"), size=TITLE_SIZE)
            return
        lo, hi = introspection.symmetric_limits(units[np.isfinite(units)])
        self.units_image.setImage(units, autoLevels=False, levels=(lo, hi))
        h, w = units.shape[:2]
        self.units_plot.setRange(xRange=(-0.5, w - 0.5), yRange=(-0.5, h - 0.5), padding=0.01)
        self.units_plot.setTitle(_("First-layer units' weights (red excites, blue inhibits)"),
                                 size=TITLE_SIZE)

    def _figure_numbers(self):
        """Accuracy every 10 epochs (epoch, train, validation), then the units' pixels."""
        every, units = self.shown.get("every"), self.shown.get("units")
        rows = []
        if every and every[0]:
            epochs, train, val = every
            rows += [["accuracy", e, f"{t:.6g}", f"{val[i]:.6g}" if i < len(val) else ""]
                     for i, (e, t) in enumerate(zip(epochs, train))]
        if units is not None:
            rows += [[title, r, c, v] for title, r, c, v in
                     image_table([("first-layer units", units)])[1]]
        return (["figure", "epoch or row", "train or column", "validation or value"], rows) \
            if rows else None


class _KeySignal:
    """Adapts ``_buttons``' index signal to a signal that carries the picture's key."""

    def __init__(self, signal, keys: list[str]):
        self._signal, self._keys = signal, keys

    def emit(self, index: int) -> None:
        self._signal.emit(self._keys[index])
