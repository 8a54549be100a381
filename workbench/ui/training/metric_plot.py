"""One training plot (loss, or accuracy/MAE): the current run's per-batch, smoothed and validation
curves, earlier runs' faint curves beneath them, and a crosshair read-out of the values under the
mouse. ``CurvesView`` (ui/training/curves.py) puts two side by side and decides what they draw.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt5.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.core import palette
from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu, plot_table

# The run report draws its curves in the same colours. RAW_COLOR is the train colour faded, but
# opaque: alpha blending costs paint time.
TRAIN_COLOR, RAW_COLOR, VAL_COLOR = palette.TRAIN_COLOR, palette.RAW_COLOR, palette.VAL_COLOR


def _nearest(x: np.ndarray, y: np.ndarray, at: float, tolerance: float) -> float | None:
    if len(x) == 0:
        return None
    i = int(np.clip(np.searchsorted(x, at), 1, len(x) - 1)) if len(x) > 1 else 0
    if i > 0 and abs(x[i - 1] - at) < abs(x[i] - at):
        i -= 1
    if abs(x[i] - at) > tolerance or not math.isfinite(y[i]):
        return None
    return float(y[i])


def _fmt(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


class TimedPlotWidget(pg.PlotWidget):
    """A PlotWidget that adds up the seconds its paint events take (for the drawing budget)."""

    paint_seconds = 0.0

    def paintEvent(self, event):  # noqa: N802 - Qt API
        start = time.thread_time()  # CPU time: waiting for the GIL is not drawing
        super().paintEvent(event)
        self.paint_seconds += time.thread_time() - start


class MetricPlotView(QWidget):
    """One pyqtgraph plot (loss or accuracy/MAE) with its crosshair read-out underneath."""

    def __init__(self, object_name: str, title: str, parent: QWidget | None = None,
                 legend_offset: tuple[int, int] = (-10, 10)):
        super().__init__(parent)
        self.plot = TimedPlotWidget(self, background="w")
        self.plot.setObjectName(object_name)
        self.plot.setMinimumSize(260, 200)
        item = self.plot.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", _("epoch"))
        item.setMenuEnabled(True)
        item.getAxis("left").enableAutoSIPrefix(False)
        # Small and tight: at 1024×700 the 9-pt legend covered a third of the plot. It can be
        # dragged aside (pyqtgraph legends are movable).
        self.legend = item.addLegend(offset=legend_offset, labelTextColor=(40, 40, 40),
                                     brush=pg.mkBrush(255, 255, 255, 200), labelTextSize="8pt",
                                     verSpacing=-6, horSpacing=2)
        self.set_title(title)
        faint = pg.mkPen(RAW_COLOR, width=1)
        self.raw_curve = item.plot(pen=faint, name=_("train (per batch)"))
        self.smooth_curve = item.plot(pen=pg.mkPen(TRAIN_COLOR, width=2),
                                      name=_("train (smoothed)"))
        self.val_curve = item.plot(pen=pg.mkPen(VAL_COLOR, width=2), symbol="o", symbolSize=7,
                                   symbolBrush=VAL_COLOR, symbolPen="w", name=_("validation"))
        for curve in (self.raw_curve, self.smooth_curve, self.val_curve):
            curve.setZValue(10)
        self._comparisons: dict[int, list[pg.PlotDataItem]] = {}
        self._hidden: dict[int, list[tuple[pg.PlotDataItem, str]]] = {}  # made, not shown yet

        pen = pg.mkPen((90, 90, 90, 160), width=1, style=pg.QtCore.Qt.DashLine)
        self.v_line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.h_line = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (self.v_line, self.h_line):
            line.setVisible(False)
            item.addItem(line, ignoreBounds=True)
        add_save_menu(self.plot, lambda: self.title.lower(), lambda: plot_table(self.plot))
        self.readout = QLabel(" ", self)
        self.readout.setObjectName(f"{object_name}Readout")
        self.readout.setStyleSheet("color: #444; font-size: 11px;")
        self.readout.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self._mouse_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=60,
                                           slot=self._on_mouse_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)

    def set_title(self, title: str) -> None:
        self.title = title
        self.plot.getPlotItem().setTitle(title, color="#222", size="11pt")
        self.plot.getPlotItem().setLabel("left", title)

    def set_log_y(self, on: bool) -> None:
        self.plot.getPlotItem().setLogMode(y=on)
        self.plot.getPlotItem().enableAutoRange()

    @property
    def log_y(self) -> bool:
        return bool(self.plot.getPlotItem().ctrl.logYCheck.isChecked())

    def show_current(self, x, raw, smooth, val_x, val_y) -> None:
        self.raw_curve.setData(x, raw)
        self.smooth_curve.setData(x, smooth)
        self.val_curve.setData(val_x, val_y)
        # pyqtgraph re-fits the auto range while preparing the paint, which asks for a second
        # paint of the same frame; fitting it now makes one paint per frame (~25 % less GUI time).
        self.plot.getPlotItem().getViewBox().prepareForPaint()

    def clear_current(self) -> None:
        empty = np.empty(0)
        for curve in (self.raw_curve, self.smooth_curve, self.val_curve):
            curve.setData(empty, empty)  # (the range is fitted at the paint: no hurry then)
        item = self.plot.getPlotItem()
        if not self.comparison_ids():
            # Nothing left to fit: auto range would keep the axes of what was drawn before (a
            # New project's empty plots showed the last project's epochs and losses).
            item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        item.enableAutoRange()

    def set_comparison(self, run_id, curves: list[tuple[np.ndarray, np.ndarray, bool]],
                       color: tuple[int, int, int], label: str, shown: bool = True,
                       one_entry: bool = False) -> None:
        """Draw an earlier run faintly: ``curves`` are (x, y, is_validation). ``shown=False``
        makes the curves hidden and out of the legend, for ``reveal_comparison`` later (making
        them costs ~10 ms a plot, showing them ~1 ms). ``one_entry``: one legend line, ``label``,
        on the last curve (a sweep's many trials: two lines each filled the plot)."""
        self.remove_comparison(run_id)
        items, hidden = [], []
        item = self.plot.getPlotItem()
        for i, (x, y, is_val) in enumerate(curves):
            pen = pg.mkPen((*color, 110), width=1.5,
                           style=pg.QtCore.Qt.SolidLine if is_val else pg.QtCore.Qt.DashLine)
            kwargs = {"symbol": "o", "symbolSize": 4, "symbolBrush": (*color, 110),
                      "symbolPen": None} if is_val else {}
            # Name both lines: "run 3" alone did not say which was train, which validation.
            name = (_("{label} validation") if is_val else _("{label} train (dashed)")).format(
                label=label)
            if one_entry:
                name = label if i == len(curves) - 1 else None
            curve = item.plot(x, y, pen=pen, name=name if shown else None, **kwargs)
            curve.setZValue(1)
            if not shown:
                curve.setVisible(False)  # (a hidden item does not count for the auto range)
                hidden.append((curve, name))
            items.append(curve)
        self._comparisons[run_id] = items
        if hidden:
            self._hidden[run_id] = hidden

    def reveal_comparison(self, run_id: int) -> None:
        """Show the curves ``set_comparison(..., shown=False)`` made, with their legend entries."""
        for curve, name in self._hidden.pop(run_id, []):
            curve.setVisible(True)
            if name:
                self.legend.addItem(curve, name)

    def remove_comparison(self, run_id: int) -> None:
        self._hidden.pop(run_id, None)
        for curve in self._comparisons.pop(run_id, []):
            self.plot.getPlotItem().removeItem(curve)

    def comparison_x_end(self) -> float:
        """The last epoch of the earlier runs drawn here (0 without any)."""
        return max((float(c.xData[-1]) for items in self._comparisons.values() for c in items
                    if c.xData is not None and len(c.xData)), default=0.0)

    def comparison_ids(self) -> list[int]:
        """The runs drawn faintly (not those made ahead and still hidden)."""
        return [run_id for run_id in self._comparisons if run_id not in self._hidden]

    def _curve_value(self, curve: pg.PlotDataItem, at: float, tolerance: float) -> float | None:
        x, y = curve.xData, curve.yData  # the original data, before log/downsampling
        if x is None or y is None:
            return None
        return _nearest(np.asarray(x), np.asarray(y), at, tolerance)

    def _on_mouse_moved(self, event) -> None:
        pos = event[0]
        item = self.plot.getPlotItem()
        if not item.sceneBoundingRect().contains(pos):
            return
        point = item.vb.mapSceneToView(pos)
        self.v_line.setPos(point.x())
        self.h_line.setPos(point.y())
        self.v_line.setVisible(True)
        self.h_line.setVisible(True)
        self.readout.setText(self.describe(point.x(), point.y()))

    def describe(self, x: float, y_view: float) -> str:
        """The read-out text for a mouse position (x in epochs, y in view coordinates)."""
        view = self.plot.getPlotItem().vb.viewRange()[0]
        tolerance = max((view[1] - view[0]) / 50, 1e-9)
        y = 10 ** y_view if self.log_y else y_view
        epoch = _("epoch")
        parts = [f"{epoch} {x:.2f}", f"y {_fmt(y)}"]
        for name, curve, tol in ((_("train"), self.smooth_curve, tolerance),
                                 (_("batch"), self.raw_curve, tolerance),
                                 (_("val"), self.val_curve, max(tolerance, 0.5))):
            value = self._curve_value(curve, x, tol)
            if value is not None:
                parts.append(f"{name} {_fmt(value)}")
        return " · ".join(parts)
