"""The Weights tab: what each layer has learned, epoch by epoch, and what it does to one input.

Weights come from ``state.trained.weights_history`` ((epoch, weights) pairs of the run, bounded);
which layers hold which of them, and the model's input shape, from the engine (its ``layers``
request about the views' model, asked once per architecture, without waiting). Drawing is numpy +
pyqtgraph on the GUI thread: even a 784 → 256 Dense layer tiles into one image in a few
milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QTransform
from PyQt5.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core import introspection, palette
from workbench.core.run_text import weights_text
from workbench.core.weight_layers import WeightedLayer, image_shape_for
from workbench.i18n import N_, _
from workbench.ui.plot_export import add_save_menu, image_table
from workbench.ui.previous_model import PreviousModelNotice
from workbench.ui.weights.activations import ActivationsView

DIVERGING = pg.ColorMap(*palette.DIVERGING)  # blue − / white 0 / red +
HIST_BINS = 40
READING_TEXT = N_("Reading the model's layers…")
EMPTY_TEXT = N_("Train the model (or open a trained .keras) to see its weights: each epoch's "
                "weights stay here to scrub through.")


def style_plot(plot: pg.PlotItem) -> None:
    for side in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen("#555"))
        axis.setTextPen(pg.mkPen("#222"))
    plot.hideButtons()
    plot.setMenuEnabled(False)


def image_plot(layout: pg.GraphicsLayout, row: int, col: int) -> tuple[pg.PlotItem, pg.ImageItem]:
    plot = layout.addPlot(row=row, col=col)
    style_plot(plot)
    plot.invertY(True)
    plot.setAspectLocked(True)
    plot.setDefaultPadding(0.01)
    image = pg.ImageItem(axisOrder="row-major")
    image.setTransform(QTransform().translate(-0.5, -0.5))
    plot.addItem(image)
    return plot, image


class WeightsView(QWidget):
    """Layer and epoch choosers above one GraphicsLayoutWidget: the main picture, the bias and
    the two histograms."""

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.layers: list[WeightedLayer] = []
        self._layers_key = None
        self._layers_asked = None  # the architecture whose layers the engine is asked for
        self._input_shape: tuple = ()
        self._chosen: tuple[int, int] | None = None  # (layer index, mode) to show once known
        self._follow_latest = True
        self.shown: dict = {}  # what is drawn now (tests and the status line read it)

        self.layer_combo = QComboBox(self, objectName="weightsLayer")
        self.layer_combo.setMinimumContentsLength(20)
        self.layer_combo.currentIndexChanged.connect(self._on_layer_changed)
        self.mode_combo = QComboBox(self, objectName="weightsMode")
        self.mode_combo.addItems([_("unit images"), _("kernel heatmap")])
        self.mode_combo.setToolTip(_("Dense layers on image input: each unit's incoming weights "
                                     "as a picture, or the whole kernel as one heatmap"))
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.epoch_slider = QSlider(Qt.Horizontal, self, objectName="weightsEpoch")
        self.epoch_slider.setRange(0, 0)
        self.epoch_slider.setPageStep(1)
        self.epoch_slider.valueChanged.connect(self._on_epoch_changed)
        self.epoch_label = QLabel("", self)
        self.epoch_label.setMinimumWidth(170)
        # Two rows: in one, the choosers made the tab 830 px wide (more than a 1024 px window
        # leaves it beside the builder).
        layer_row = QHBoxLayout()
        layer_row.addWidget(QLabel(_("Layer")))
        layer_row.addWidget(self.layer_combo, 1)
        layer_row.addWidget(self.mode_combo)
        epoch_row = QHBoxLayout()
        epoch_row.addWidget(QLabel(_("Epoch")))
        epoch_row.addWidget(self.epoch_slider, 1)
        epoch_row.addWidget(self.epoch_label)
        controls = QVBoxLayout()
        controls.setSpacing(2)
        controls.addLayout(layer_row)
        controls.addLayout(epoch_row)

        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget(self)
        self.view.setObjectName("weightsView")
        self.view.setBackground("w")
        add_save_menu(self.view, lambda: f"weights-{(self.shown or {}).get('layer', '')}",
                      self._numbers)
        self.main_plot, self.image = image_plot(self.view.ci, 0, 0)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=DIVERGING, interactive=False,
                                   width=16, pen="#555", colorMapMenu=False)
        self.bar.setImageItem(self.image, insert_in=self.main_plot)
        self.bar.axis.setTextPen(pg.mkPen("#222"))
        lower = self.view.ci.addLayout(row=1, col=0)
        self.bias_plot = lower.addPlot(row=0, col=0)
        self.weight_hist_plot = lower.addPlot(row=0, col=1)
        self.bias_hist_plot = lower.addPlot(row=0, col=2)
        for plot, title in ((self.bias_plot, _("bias")),
                            (self.weight_hist_plot, _("weights histogram")),
                            (self.bias_hist_plot, _("bias histogram"))):
            style_plot(plot)
            plot.setMouseEnabled(False, False)
            plot.setTitle(title, color="#222")
        self.bias_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.bias_plot.addItem(self.bias_bars)
        self.bias_plot.setLabel("bottom", _("unit"))
        self.weight_hist = self.weight_hist_plot.plot([], [], stepMode="center", fillLevel=0,
                                                      pen=pg.mkPen("#3182bd"),
                                                      brush=(49, 130, 189, 110))
        self.bias_hist = self.bias_hist_plot.plot([], [], stepMode="center", fillLevel=0,
                                                  pen=pg.mkPen("#e6550d"),
                                                  brush=(230, 85, 13, 110))
        self.view.ci.layout.setRowStretchFactor(0, 3)
        self.view.ci.layout.setRowStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    # Updates from the state ----------------------------------------------------------------------

    def retranslate(self) -> None:
        """After Help ▸ Language: the captions and axes drawn again."""
        self.refresh()

    def refresh(self) -> None:
        """New weights (a new epoch or a new model): update the layer list, slider and picture."""
        self._refresh_layers()
        history = self.state.trained.weights_history
        last = max(0, len(history) - 1)
        at_end = self.epoch_slider.value() >= self.epoch_slider.maximum()
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(0, last)
        if self._follow_latest or at_end and self._follow_latest:
            self.epoch_slider.setValue(last)
        self.epoch_slider.blockSignals(False)
        self.draw()

    def reset(self) -> None:
        self.layers, self._layers_key, self._layers_asked = [], None, None
        self._follow_latest = True
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.blockSignals(False)
        self.epoch_slider.setRange(0, 0)
        self._clear_plots()

    def _refresh_layers(self) -> None:
        """Ask the engine for the layers of a new architecture (drawn when they come)."""
        key = self.state.trained.architecture_key
        if key in (self._layers_key, self._layers_asked):
            return
        self.layers, self._layers_key = [], None  # the old list does not fit the new weights
        asked = self.state.trained.ask("layers", {},
                                       lambda reply, error: self._on_layers(key, reply, error))
        self._layers_asked = key if asked else None

    def _on_layers(self, key, reply: dict | None, error: str) -> None:
        if key != self._layers_asked or key != self.state.trained.architecture_key:
            return  # another architecture came meanwhile
        self._layers_asked = None
        if reply is None:
            self.caption.setText(_("No layers: {reason}").format(reason=error))
            return
        layers = [WeightedLayer(d["name"], d["class_name"], int(d["start"]),
                                tuple(tuple(int(n) for n in shape) for shape in d["shapes"]),
                                bool(d["first"]), int(d["units"])) for d in reply["layers"]]
        self._layers_key = key
        previous = self.layer_combo.currentText().split(" (")[0]
        self.layers = layers
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for layer in layers:
            self.layer_combo.addItem(layer.label)
        names = [layer.name for layer in layers]
        self.layer_combo.setCurrentIndex(names.index(previous) if previous in names else 0)
        self.layer_combo.blockSignals(False)
        self._input_shape = tuple(reply["input_shape"])
        self._apply_choice()
        self.draw()

    def choose(self, index: int, mode: int) -> None:
        """Show layer ``index`` (-1: the last) in ``mode`` (0: unit images, 1: kernel heatmap):
        now, or as soon as the engine has said which layers there are."""
        self._chosen = (index, mode)
        if self.layers:
            self._apply_choice()
            self.draw()

    def _apply_choice(self) -> None:
        if self._chosen is None or not self.layers:
            return
        (index, mode), self._chosen = self._chosen, None
        for combo, value in ((self.layer_combo, index % len(self.layers)),
                             (self.mode_combo, mode)):
            combo.blockSignals(True)
            combo.setCurrentIndex(value)
            combo.blockSignals(False)

    def _on_layer_changed(self, _index: int) -> None:
        self.draw()

    def _on_mode_changed(self, _index: int) -> None:
        self.draw()

    def _on_epoch_changed(self, value: int) -> None:
        # Only the user moves the slider with signals on: follow new epochs again at the end.
        self._follow_latest = value >= self.epoch_slider.maximum()
        self.draw()

    def select_layer(self, name: str) -> None:
        for i, layer in enumerate(self.layers):
            if layer.name == name:
                self.layer_combo.setCurrentIndex(i)
                return
        raise KeyError(name)

    # Drawing -------------------------------------------------------------------------------------

    def current_layer(self) -> WeightedLayer | None:
        i = self.layer_combo.currentIndex()
        return self.layers[i] if 0 <= i < len(self.layers) else None

    def current_weights(self) -> list[np.ndarray] | None:
        layer, history = self.current_layer(), self.state.trained.weights_history
        if layer is None or not history:
            return None
        epoch = min(self.epoch_slider.value(), len(history) - 1)
        return layer.arrays(history[epoch][1])

    def _unit_image_shape(self, layer: WeightedLayer) -> tuple[int, ...] | None:
        if layer.class_name != "Dense" or not layer.first or len(layer.shapes[0]) != 2:
            return None
        dataset = self.state.data.dataset
        candidates = []
        if dataset is not None and dataset.is_image:
            candidates.append(dataset.input_shape)
        candidates.append(self._input_shape)
        return image_shape_for(layer.shapes[0][0], candidates)

    def draw(self) -> None:
        layer, arrays = self.current_layer(), self.current_weights()
        history = self.state.trained.weights_history
        n_epochs = len(history)  # snapshots: a long run keeps an evenly thinned set of epochs
        index = min(self.epoch_slider.value(), max(0, n_epochs - 1))
        external = self.state.trained.is_external
        if n_epochs:
            epoch, last = history[index][0], history[-1][0]
            partial = self.state.trained.partial_epoch
            full = last if partial == last else last + 1
            text = weights_text(epoch, partial == epoch, full)
            self.epoch_label.setText(_("loaded model") if external else text)
        else:
            self.epoch_label.setText("")
        self.epoch_slider.setEnabled(n_epochs > 1)
        if layer is None or arrays is None:
            self._clear_plots()
            return
        kernel = np.asarray(arrays[0], dtype=np.float32)
        bias = np.asarray(arrays[1], dtype=np.float32) if len(arrays) > 1 else None
        unit_shape = self._unit_image_shape(layer)
        self.mode_combo.setVisible(unit_shape is not None)
        lo, hi = introspection.symmetric_limits(kernel)
        if unit_shape is not None and self.mode_combo.currentIndex() == 0:
            picture, caption, axes = self._unit_images(kernel, unit_shape)
            kind = "unit images"
        elif layer.class_name.startswith("Conv") and kernel.ndim == 4:
            picture, caption, axes = self._conv_filters(layer, kernel)
            kind = "filters"
        else:
            picture, caption, axes = self._heatmap(layer, kernel)
            kind = "heatmap"
        # Pictures keep square pixels; a heatmap stretches to use the whole area.
        self.main_plot.setAspectLocked(kind != "heatmap")
        for side in ("left", "bottom"):  # pictures need no axes; a heatmap's say what is where
            self.main_plot.showAxis(side, kind == "heatmap")
        self.image.setImage(picture, autoLevels=False, levels=(lo, hi))
        self.bar.setLevels((lo, hi))
        self.main_plot.setLabel("left", axes[0])
        self.main_plot.setLabel("bottom", axes[1])
        self.main_plot.getAxis("left").setTicks(axes[2] if len(axes) > 2 else None)
        self.main_plot.getAxis("bottom").setTicks(axes[3] if len(axes) > 3 else None)
        h, w = picture.shape[:2]
        self.main_plot.setRange(xRange=(-0.5, w - 0.5), yRange=(-0.5, h - 0.5), padding=0.01)
        self.caption.setText(caption)
        self.shown = {"layer": layer.name, "epoch": epoch, "image": picture, "kernel": kernel,
                      "kind": kind}
        self._draw_bias(bias)
        self._draw_histogram(self.weight_hist, kernel)
        self._draw_histogram(self.bias_hist, bias)

    def _numbers(self):
        """The shown layer's kernel, one row per weight: what feeds it, which unit, the value."""
        if not self.shown:
            return None
        kernel = np.asarray(self.shown["kernel"])
        matrix = kernel.reshape(-1, kernel.shape[-1]) if kernel.ndim > 1 else kernel[None, :]
        return image_table([(self.shown["layer"], matrix)], names=("input", "unit"))

    def _unit_images(self, kernel: np.ndarray, shape: tuple[int, ...]):
        units = introspection.dense_unit_images(kernel, shape)
        n = len(units)
        cols = max(1, math.ceil(math.sqrt(n * 1.6)))  # a bit wider than tall: fits the tab
        picture = introspection.tile_images(units, cols=cols, pad=1, fill=np.nan)
        caption = _("<b>{n} units</b>, each unit's {inputs} incoming weights drawn as a {shape} "
                    "picture (red: this pixel's ink excites the unit, blue: inhibits it, white: "
                    "ignored).").format(n=n, inputs=kernel.shape[0],
                                        shape="×".join(map(str, shape[:2])))
        return picture, caption, ("", "", [[], []], [[], []])

    def _conv_filters(self, layer: WeightedLayer, kernel: np.ndarray):
        filters = introspection.conv_filters(kernel)
        n = len(filters)
        cols = max(1, math.ceil(math.sqrt(n * 1.6)))
        picture = introspection.tile_images(filters, cols=cols, pad=1, fill=np.nan)
        channels = kernel.shape[-2]
        how = (_("on the input image") if channels == 1 or layer.first
               else _("averaged over the {count} input channels").format(count=channels))
        size = "×".join(str(d) for d in kernel.shape[:-2])
        caption = _("<b>{n} filters</b> of {size}, {how}.").format(n=n, size=size, how=how)
        return picture, caption, ("", "", [[], []], [[], []])

    def _heatmap(self, layer: WeightedLayer, kernel: np.ndarray):
        matrix = kernel.reshape(-1, kernel.shape[-1]) if kernel.ndim > 1 else kernel[None, :]
        picture = matrix.T  # rows: this layer's units, columns: what feeds them
        ins, outs = matrix.shape
        names = self._class_names_for(outs, layer)
        left_ticks = None
        if names:
            left_ticks = [[(i, name) for i, name in enumerate(names)], []]
            left = _("class")
            caption = _("<b>Kernel {ins} × {outs}</b>: which input unit votes for which class "
                        "(red: for, blue: against).").format(ins=ins, outs=outs)
        else:
            left = _("unit of {layer}").format(layer=layer.name)
            caption = _("<b>Kernel {shape}</b> as a heatmap: row = unit of this layer, column = "
                        "input it weighs.").format(shape=" × ".join(map(str, kernel.shape)))
        return picture, caption, (left, _("input unit"), left_ticks, None)

    def _class_names_for(self, outs: int, layer: WeightedLayer) -> list[str]:
        dataset = self.state.data.dataset
        if (dataset is None or not dataset.is_classification or layer is not self.layers[-1]
                or outs != dataset.num_classes):
            return []
        return list(dataset.class_names)

    def _draw_bias(self, bias: np.ndarray | None) -> None:
        if bias is None or bias.ndim != 1:
            self.bias_bars.setOpts(x=[], height=[])
            return
        brushes = [pg.mkBrush("#d6604d" if b >= 0 else "#4393c3") for b in bias]
        self.bias_bars.setOpts(x=np.arange(len(bias)), height=bias, width=0.8, brushes=brushes,
                               pen=None)
        self.bias_plot.setXRange(-0.6, len(bias) - 0.4, padding=0)
        self.bias_plot.enableAutoRange(axis="y")

    def _draw_histogram(self, item: pg.PlotDataItem, values: np.ndarray | None) -> None:
        if values is None or values.size == 0:
            item.setData([], [])
            return
        counts, edges = introspection.weight_histogram(values, HIST_BINS)
        item.setData(np.asarray(edges, dtype=np.float64), np.asarray(counts, dtype=np.float64))

    def _clear_plots(self) -> None:
        self.image.clear()
        self.bias_bars.setOpts(x=[], height=[])
        self.weight_hist.setData([], [])
        self.bias_hist.setData([], [])
        if not self.state.trained.weights_history:
            self.caption.setText(_(EMPTY_TEXT))
        elif self._layers_asked is not None:
            self.caption.setText(_(READING_TEXT))
        else:
            self.caption.setText(_("This model has no layers with weights."))
        self.shown = {}


class WeightsPanel(QWidget):
    """Sub-tabs: the weights of a chosen layer, and the activations for one input."""

    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.weights = WeightsView(state, self)
        self.activations = ActivationsView(state, self)
        self.empty = QLabel(_(EMPTY_TEXT), self)
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #777; font-size: 15px; padding: 30px")
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.weights, _("Weights"))
        self.tabs.addTab(self.activations, _("Activations"))
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.tabs)
        self.previous_notice = PreviousModelNotice(state, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.previous_notice)
        layout.addWidget(self.pages, 1)
        self._stale = False
        state.trained.weights_updated.connect(self._on_weights_changed)
        state.project_replaced.connect(self._on_project_replaced)
        state.data.loaded.connect(self._on_weights_changed)
        if state.trained.weights_history:
            self._on_weights_changed()

    def _on_weights_changed(self, *_args) -> None:
        if not self.state.trained.weights_history:
            return
        self.pages.setCurrentIndex(1)
        if self.isVisible():
            self.weights.refresh()
            self._stale = False
        else:
            self._stale = True  # drawn when the tab is shown: hidden tabs cost nothing
        self.activations.on_weights_changed()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.weights.refresh()

    def _on_project_replaced(self) -> None:
        self.weights.reset()
        self.activations.reset()
        self.pages.setCurrentIndex(0)


def main() -> int:
    """Open the Weights tab alone; pass a .keras file to look inside that model."""
    from workbench.ui.application import run_panel

    return run_panel(WeightsPanel, _("Weights"), (1000, 720),
                     show_error=lambda panel, text: panel.empty.setText(text))


if __name__ == "__main__":
    raise SystemExit(main())

