"""What each layer outputs for one input: feature maps as image grids, dense units as bars.

The outputs come from the engine (``activations`` about the views' model), asked without waiting;
an answer for an input or weights no longer shown is dropped."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QTimer
from PyQt5.QtGui import QTransform
from PyQt5.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core import introspection, palette
from workbench.core.catalogue import passes_through
from workbench.core.run_text import percent
from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu, image_table

ROW_HEIGHT = 190
FEATURE_MAPS = pg.ColorMap(*palette.VIRIDIS)


class ActivationsView(QWidget):
    """Choose a test image (or the digit drawn on the canvas) and see every layer's answer."""

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.digit: np.ndarray | None = None  # the digit drawn on the canvas, preprocessed
        self._generation = 0
        self.rows: list[tuple[str, str, tuple]] = []  # (layer name, kind, shape) as drawn

        self.source = QComboBox(self, objectName="activationsSource")
        self.source.addItems([_("test image"), _("digit drawn on the canvas")])
        self.source.model().item(1).setEnabled(False)
        self.source.currentIndexChanged.connect(self._on_input_changed)
        self.index = QSpinBox(self, objectName="activationsIndex")
        self.index.setRange(0, 0)
        self.index.setKeyboardTracking(False)
        self.index.valueChanged.connect(self._on_input_changed)
        self.info = QLabel(self)
        controls = QHBoxLayout()
        controls.addWidget(QLabel(_("Input")))
        controls.addWidget(self.source)
        controls.addWidget(QLabel("#"))
        controls.addWidget(self.index)
        controls.addWidget(self.info, 1)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("activationsView")
        self.view.setBackground("w")
        self.drawn: list[tuple[str, np.ndarray]] = []  # each row's title and values, as shown
        add_save_menu(self.view, "activations", lambda: image_table(self.drawn))
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.scroll, 1)

        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.update_activations)
        self._stale = True
        state.bus.digit_drawn.connect(self._on_digit_drawn)
        state.data.loaded.connect(self._on_dataset_changed)
        self._on_dataset_changed()

    # Events --------------------------------------------------------------------------------------

    def on_weights_changed(self) -> None:
        self._schedule()

    def reset(self) -> None:
        self._generation += 1  # an answer on its way is not for what is shown now
        self.view.clear()
        self.drawn = []
        self.rows = []
        self.info.setText("")

    def _on_dataset_changed(self) -> None:
        dataset = self.state.data.dataset
        self.index.setRange(0, max(0, len(dataset.x_test) - 1) if dataset is not None else 0)
        self._schedule()

    def _on_digit_drawn(self, digit) -> None:
        self.digit = None if digit is None else np.asarray(digit, dtype=np.float32)
        self.source.model().item(1).setEnabled(self.digit is not None)
        if self.source.currentIndex() == 1:
            self._schedule()

    def _on_input_changed(self, *_args) -> None:
        self._schedule()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._stale:
            self._timer.start()

    def _schedule(self) -> None:
        self._stale = True
        if self.isVisible():
            self._timer.start()  # coalesces a burst of changes into one pass

    # Computing and drawing -----------------------------------------------------------------------

    def current_input(self) -> tuple[np.ndarray | None, str]:
        dataset = self.state.data.dataset
        if self.source.currentIndex() == 1 and self.digit is not None:
            return self.digit, _("the digit drawn on the canvas")
        if dataset is None or len(dataset.x_test) == 0:
            return None, ""
        i = min(self.index.value(), len(dataset.x_test) - 1)
        label = ""
        if dataset.is_classification:
            label = _(" (true class {name})").format(
                name=dataset.class_names[int(dataset.y_test[i])])
        return dataset.x_test[i], _("test image #{index}{label}").format(index=i, label=label)

    def update_activations(self) -> None:
        self._stale = False
        trained = self.state.trained
        sample, what = self.current_input()
        if not trained.has_model or sample is None:
            self.reset()
            self.info.setText(_("Train the model to see what each layer does with an input.")
                              if not trained.has_model else
                              _("No input: the dataset is still loading."))
            return
        self._generation += 1
        request = self._generation
        sample = np.asarray(sample, np.float32)
        asked = trained.ask("activations", {"sample": sample},
                            lambda reply, error: self._on_arrived(request, sample, what, reply,
                                                                  error))
        if asked:
            self.info.setText(_("working… ({what})").format(what=what))

    def _on_arrived(self, request: int, sample: np.ndarray, what: str, reply: dict | None,
                    error: str) -> None:
        if request != self._generation:
            return
        if reply is None:
            self.reset()
            self.info.setText(error)
            return
        self.info.setText(_("showing {what}").format(what=what))
        self._draw(sample, list(zip(reply["names"], reply["outputs"])), reply["classes"])

    def _draw(self, sample: np.ndarray, outputs: list, classes: dict[str, str]) -> None:
        self.view.clear()
        self.rows = []
        self.drawn = []
        # Layers that only move numbers around, or act only while training, output the previous
        # layer's values for one input: they get no row of their own.
        shown = [(name, np.asarray(a)) for name, a in outputs
                 if not passes_through(classes.get(name, ""))]
        self._add_image_row(_("input"), sample, grey=True)
        for i, (name, act) in enumerate(shown):
            kind = classes.get(name, "")
            last = i == len(shown) - 1
            title = _("{name} · {kind} · output {shape}").format(name=name, kind=kind,
                                                                 shape=tuple(act.shape))
            if act.ndim == 3:  # (H, W, C) feature maps
                # About four times wider than tall: fills a row of the scroll area.
                cols = max(1, math.ceil(math.sqrt(act.shape[-1] * 4 * act.shape[0]
                                                  / max(act.shape[1], 1))))
                grid = introspection.activation_grid(act, cols=cols, normalize=True)
                self._add_image_row(title, grid)
                self.rows.append((name, "feature maps", act.shape))
            elif act.ndim == 2:  # (steps, features), e.g. an LSTM's sequence
                self._add_image_row(title, act.T)
                self.rows.append((name, "sequence", act.shape))
            else:
                self._add_bars(title, act.reshape(-1), last)
                self.rows.append((name, "probabilities" if last else "units", act.shape))
        self.view.setMinimumHeight(ROW_HEIGHT * (len(shown) + 1))

    def _add_image_row(self, title: str, picture: np.ndarray, grey: bool = False) -> None:
        plot = self.view.addPlot()
        plot.setTitle(title, color="#222")
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        a = np.asarray(picture, dtype=np.float32)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim == 1:
            side = math.isqrt(a.size - 1) + 1 if a.size else 1
            a = np.pad(a, (0, side * side - a.size)).reshape(side, side)
        self.drawn.append((title, a))
        image = pg.ImageItem(axisOrder="row-major")
        image.setTransform(QTransform().translate(-0.5, -0.5))
        finite = a[np.isfinite(a)]
        hi = float(finite.max()) if finite.size else 1.0
        lo = float(finite.min()) if finite.size else 0.0
        if grey:
            image.setImage(a, levels=(min(lo, 0.0), max(hi, 1e-6)))
        else:
            image.setImage(a, levels=(min(lo, 0.0), hi if hi > min(lo, 0.0) else 1.0))
            image.setColorMap(FEATURE_MAPS)
        plot.addItem(image)
        self.view.nextRow()

    def _add_bars(self, title: str, values: np.ndarray, last: bool) -> None:
        self.drawn.append((title, values))
        plot = self.view.addPlot()
        plot.setTitle(title, color="#222")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            plot.getAxis(side).setPen(pg.mkPen("#555"))
            plot.getAxis(side).setTextPen(pg.mkPen("#222"))
        n = len(values)
        brush = "#31a354" if last else "#3182bd"
        plot.addItem(pg.BarGraphItem(x=np.arange(n), height=values, width=0.8, brush=brush,
                                     pen=None))
        dataset = self.state.data.dataset
        if last and dataset is not None and dataset.is_classification and (
                n == dataset.num_classes):
            plot.getAxis("bottom").setTicks([[(i, c) for i, c in enumerate(dataset.class_names)],
                                             []])
            best = int(np.argmax(values))
            plot.setTitle(_("{title} — answer: {name} ({p})").format(
                title=title, name=dataset.class_names[best], p=percent(values[best], 0)),
                color="#222")
        plot.setXRange(-0.6, n - 0.4, padding=0)
        self.view.nextRow()

    def row_kinds(self) -> list[str]:
        return [kind for _name, kind, _shape in self.rows]

