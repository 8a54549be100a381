"""Live loss and accuracy/MAE curves of the run's history (ui/training/history.py), drawn at most
~30 Hz. Drawing never copies the history: ``setData`` gets views of it, and clip-to-view plus peak
downsampling keep each frame's cost bounded by the plot's width in pixels.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.core import palette
from workbench.ui.plot_export import add_save_menu, plot_table
from workbench.ui.training.history import GrowingArray, RunHistory  # noqa: F401 (re-exported)

REDRAW_INTERVAL_MS = 33  # ~30 Hz
# Drawing may use at most this share of the GUI thread: a frame that costs more than ~2 ms
# stretches the interval (fewer frames, never fewer points). Painting holds the GIL, so every
# millisecond here is one the training thread may wait for between batches: at 0.15 training ran
# at 0.87 of plain fit on 2 cores, at 0.07 at 1.00 (benchmarks/bench_training.py), ~5 frames/s.
DRAW_BUDGET = 0.07
MAX_REDRAW_INTERVAL_S = 0.5

# The run report draws its curves in the same colours. RAW_COLOR is the train colour faded, but
# opaque: alpha blending costs paint time.
TRAIN_COLOR, RAW_COLOR, VAL_COLOR = palette.TRAIN_COLOR, palette.RAW_COLOR, palette.VAL_COLOR
# Faint colours for earlier runs shown under the current one.
COMPARE_COLORS = [(120, 120, 120), (44, 160, 44), (148, 103, 189), (214, 39, 40),
                  (140, 86, 75), (227, 119, 194), (23, 190, 207)]


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
        item.setLabel("bottom", "epoch")
        item.setMenuEnabled(True)
        item.getAxis("left").enableAutoSIPrefix(False)
        # Small and tight: at 1024×700 the 9-pt legend covered a third of the plot. It can be
        # dragged aside (pyqtgraph legends are movable).
        self.legend = item.addLegend(offset=legend_offset, labelTextColor=(40, 40, 40),
                                     brush=pg.mkBrush(255, 255, 255, 200), labelTextSize="8pt",
                                     verSpacing=-6, horSpacing=2)
        self.set_title(title)
        faint = pg.mkPen(RAW_COLOR, width=1)
        self.raw_curve = item.plot(pen=faint, name="train (per batch)")
        self.smooth_curve = item.plot(pen=pg.mkPen(TRAIN_COLOR, width=2), name="train (smoothed)")
        self.val_curve = item.plot(pen=pg.mkPen(VAL_COLOR, width=2), symbol="o", symbolSize=7,
                                   symbolBrush=VAL_COLOR, symbolPen="w", name="validation")
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
            name = f"{label} validation" if is_val else f"{label} train (dashed)"
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
        parts = [f"epoch {x:.2f}", f"y {_fmt(y)}"]
        for name, curve, tol in (("train", self.smooth_curve, tolerance),
                                 ("batch", self.raw_curve, tolerance),
                                 ("val", self.val_curve, max(tolerance, 0.5))):
            value = self._curve_value(curve, x, tol)
            if value is not None:
                parts.append(f"{name} {_fmt(value)}")
        return " · ".join(parts)


class CurvesView(QWidget):
    """The loss plot and the accuracy (or MAE) plot of the current run, plus earlier runs."""

    redrawn = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = RunHistory()
        self.metric = "accuracy"
        # (run id, metric, colour index, history) of an earlier run's curves made ahead, hidden
        self._prepared: tuple | None = None
        self._x_end: float | None = None  # see start_run
        self._fitted_x_end: float | None = None  # the x range _fit_x last set
        self.loss_view = MetricPlotView("lossPlot", "Loss", self)
        self.metric_view = MetricPlotView("accuracyPlot", "Accuracy", self,
                                          legend_offset=(-10, -10))
        self.loss_plot = self.loss_view.plot
        self.accuracy_plot = self.metric_view.plot
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_view, 1)
        layout.addWidget(self.metric_view, 1)
        self._dirty = False
        self.redraw_count = 0
        self._last_redraw = 0.0
        self._frame_cost = 0.0  # CPU seconds: setData plus the paint events that followed
        self._paint_mark = 0.0
        self.min_interval = REDRAW_INTERVAL_MS / 1000
        # Drawing is throttled, data never is: points go into the history as they arrive and this
        # timer draws the latest state at most ~30 times a second, only when something changed.
        self._timer = QTimer(self, interval=REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._on_redraw_timer)

    # The current run ---------------------------------------------------------------------------

    def set_metric(self, metric: str) -> None:
        if metric == self.metric:
            return  # a new title re-lays out both plots: an extra repaint at every run start
        self.metric = metric
        self.metric_view.set_title("Mean absolute error" if metric == "mae" else "Accuracy")
        # Accuracy rises towards the top right, an error falls: keep the legend out of the way.
        self.metric_view.legend.setOffset((-10, 10) if metric == "mae" else (-10, -10))

    def start_run(self, metric: str, steps_per_epoch: int = 100, initial_epoch: int = 0,
                  epochs: int | None = None) -> None:
        """Clear the current curves for a run whose first epoch is ``initial_epoch + 1``.
        ``epochs``: the run's length; while it trains the x axes span all of it (MATLAB's
        training plot does the same): growing with the curves, they were laid out again at
        every frame, a quarter of its cost."""
        self.set_metric(metric)
        self.history.reset(steps_per_epoch, initial_epoch)
        self.loss_view.clear_current()
        self.metric_view.clear_current()
        self._x_end = initial_epoch + epochs if epochs else None
        self._fitted_x_end = None
        self._fit_x()
        self._dirty = False
        self.min_interval = REDRAW_INTERVAL_MS / 1000
        self._timer.start()

    def run_started(self, steps_per_epoch: int, epochs: int | None) -> None:
        """The worker's figures for the run begun with ``start_run``, before its first batch."""
        self.history.set_steps_per_epoch(steps_per_epoch)
        if epochs and self._x_end is not None:
            self._x_end = self.history.offset + epochs
            self._fit_x()

    def add_batches(self, points: np.ndarray) -> None:
        self.history.add_batches(points)
        self._dirty = True

    def add_epoch(self, epoch: int, logs: dict) -> None:
        self.history.add_epoch(epoch, logs, self.metric)
        self._dirty = True

    def show_record(self, record: dict) -> None:
        """Draw a finished run from its record, as the current run (a reopened project): its
        epoch values only, the batches are not kept in the file."""
        history = record.get("history") or {}
        start = _initial_epoch(record)
        self.start_run(self.metric, initial_epoch=start)
        nan = math.nan
        loss = list(history.get("loss") or [])
        for epoch in range(max((len(v or []) for v in history.values()), default=0)):
            logs = {key: values[epoch] for key, values in history.items()
                    if values and epoch < len(values) and values[epoch] is not None}
            self.history.add_epoch(epoch, logs, self.metric)
            if epoch < len(loss):  # the epoch's train value stands in for its batches
                metric = logs.get(self.metric, nan)
                self.history.batches.append([[start + epoch + 1, loss[epoch], loss[epoch], metric,
                                              metric]])
        self._dirty = True
        self.finish_run()

    def _fit_x(self) -> None:
        """While a run of known length trains: x from 0 to its end (or an earlier run's)."""
        if self._x_end is None:
            return
        end = max(self._x_end, self.loss_view.comparison_x_end(),
                  self.metric_view.comparison_x_end())
        if end == self._fitted_x_end:
            return  # each setXRange re-clips every curve of the plot (~4 ms a plot)
        self._fitted_x_end = end
        for view in (self.loss_view, self.metric_view):
            view.plot.getPlotItem().setXRange(0, end, padding=0.02)  # (x auto range off)

    def finish_run(self) -> None:
        self._timer.stop()
        if self._x_end is not None:
            self._x_end = self._fitted_x_end = None
            for view in (self.loss_view, self.metric_view):
                view.plot.getPlotItem().enableAutoRange(x=True)
        self.redraw()

    def _painted_seconds(self) -> float:
        return self.loss_view.plot.paint_seconds + self.metric_view.plot.paint_seconds

    def _on_redraw_timer(self) -> None:
        if not self._dirty:
            return
        now = time.perf_counter()
        if now - self._last_redraw < self.min_interval:
            return
        # The last frame's full cost is known now that its paint events have run.
        cost = self._frame_cost + self._painted_seconds() - self._paint_mark
        self.min_interval = min(MAX_REDRAW_INTERVAL_S,
                                max(REDRAW_INTERVAL_MS / 1000, cost / DRAW_BUDGET))
        self.redraw()

    def redraw(self) -> None:
        start = time.thread_time()
        self._dirty = False
        b, e = self.history.batches, self.history.epochs
        bx, ex = b.column(0), e.column(0)
        # Validation has one point per epoch (few): drop epochs without one (no split).
        val_loss, val_metric = e.column(3), e.column(4)
        has_loss, has_metric = np.isfinite(val_loss), np.isfinite(val_metric)
        self.loss_view.show_current(bx, b.column(1), b.column(2), ex[has_loss], val_loss[has_loss])
        self.metric_view.show_current(bx, b.column(3), b.column(4), ex[has_metric],
                                      val_metric[has_metric])
        self.redraw_count += 1
        self._last_redraw = time.perf_counter()
        self._frame_cost = time.thread_time() - start
        self._paint_mark = self._painted_seconds()
        self.redrawn.emit()

    def point_count(self) -> int:
        return len(self.history.batches)

    # Earlier runs ---------------------------------------------------------------------------------

    def show_earlier_run(self, record: dict, color_index: int) -> None:
        """Draw ``record``'s epochs faintly: a run of the project (``"id"``), or another curve
        set (``"key"``, any hashable, and ``"label"`` for the legend, e.g. "trial 3")."""
        run_id = _key(record)
        if self._prepared == (run_id, self.metric, color_index, str(record.get("history"))):
            self._prepared = None
            self.loss_view.reveal_comparison(run_id)
            self.metric_view.reveal_comparison(run_id)
            self._fit_x()
            return
        if self._prepared is not None and self._prepared[0] == run_id:
            self._prepared = None  # made for another metric: drawn again, shown
        self._draw_earlier_run(record, color_index, shown=True)

    def prepare_earlier_run(self, record: dict, color_index: int) -> None:
        """Make a run's faint curves now, hidden: the run just finished, which the next run
        shows from its first batch on (made then, they cost ~25 ms of GUI thread; shown, ~2)."""
        self._drop_prepared()
        self._draw_earlier_run(record, color_index, shown=False)
        self._prepared = (_key(record), self.metric, color_index,
                          str(record.get("history")))

    def _drop_prepared(self) -> None:
        if self._prepared is not None:
            run_id = self._prepared[0]
            self._prepared = None
            self.hide_earlier_run(run_id)

    def _draw_earlier_run(self, record: dict, color_index: int, shown: bool) -> None:
        run_id = _key(record)
        history = record.get("history") or {}
        color = COMPARE_COLORS[color_index % len(COMPARE_COLORS)]
        label = record.get("label") or f"run {run_id}"
        # A run of the other kind of task has no such metric: only its loss is drawn.
        start = _initial_epoch(record)
        metric_curves = _epoch_curves(history, self.metric, start)
        one = record.get("legend") == "one"
        self.loss_view.set_comparison(run_id, _epoch_curves(history, "loss", start), color, label,
                                      shown, one)
        self.metric_view.set_comparison(run_id, metric_curves, color, label, shown, one)
        self._fit_x()

    def hide_earlier_run(self, run_id: int) -> None:
        if self._prepared is not None and self._prepared[0] == run_id:
            self._prepared = None
        self.loss_view.remove_comparison(run_id)
        self.metric_view.remove_comparison(run_id)

    def shown_earlier_runs(self) -> list:
        return self.loss_view.comparison_ids()

    def legend_labels(self) -> list[str]:
        """The names in the loss plot's legend, top to bottom."""
        return [label.text for _sample, label in self.loss_view.legend.items]

    def set_log_loss(self, on: bool) -> None:
        self.loss_view.set_log_y(on)

    def autoscale(self) -> None:
        for view in (self.loss_view, self.metric_view):
            view.plot.getPlotItem().enableAutoRange()


def _key(record: dict):
    """What an earlier curve set is known by: its ``key``, else the run's id."""
    return record["key"] if "key" in record else int(record.get("id", 0))


def _initial_epoch(record: dict) -> int:
    """Epochs trained before a run (a continued run's record says so; others start at 0)."""
    try:
        return max(0, int(record.get("initial_epoch") or 0))
    except (TypeError, ValueError):
        return 0


def _epoch_curves(history: dict, key: str, start: int = 0
                  ) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    curves = []
    for name, is_val in ((key, False), (f"val_{key}", True)):
        values = np.asarray(history.get(name) or [], dtype=np.float64)
        if len(values):
            x = np.arange(start + 1, start + len(values) + 1, dtype=np.float64)
            curves.append((x, values, is_val))
    return curves
