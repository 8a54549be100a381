"""Live loss and accuracy/MAE curves of the run's history (ui/training/history.py), drawn at most
~30 Hz, with earlier runs faintly beneath. Drawing never copies the history: ``setData`` gets
views of it, and clip-to-view plus peak downsampling keep each frame's cost bounded by the plot's
width in pixels. Each of the two plots is a ``MetricPlotView`` (ui/training/metric_plot.py).
"""

from __future__ import annotations

import math
import time

import numpy as np
from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QWidget

from workbench.i18n import N_, _
from workbench.ui.training.history import RunHistory
from workbench.ui.training.metric_plot import MetricPlotView

REDRAW_INTERVAL_MS = 33  # ~30 Hz
# Drawing may use at most this share of the GUI thread: a frame that costs more than ~2 ms
# stretches the interval (fewer frames, never fewer points). Painting holds the GIL, so every
# millisecond here is one the training thread may wait for between batches: at 0.15 training ran
# at 0.87 of plain fit on 2 cores, at 0.07 at 1.00 (benchmarks/bench_training.py), ~5 frames/s.
DRAW_BUDGET = 0.07
MAX_REDRAW_INTERVAL_S = 0.5

# Faint colours for earlier runs shown under the current one.
COMPARE_COLORS = [(120, 120, 120), (44, 160, 44), (148, 103, 189), (214, 39, 40),
                  (140, 86, 75), (227, 119, 194), (23, 190, 207)]
METRIC_TITLES = {"accuracy": N_("Accuracy"), "mae": N_("Mean absolute error")}


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
        self.loss_view = MetricPlotView("lossPlot", _("Loss"), self)
        self.metric_view = MetricPlotView("accuracyPlot", _("Accuracy"), self,
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

    def retranslate(self) -> None:
        """After Help ▸ Language: the plots' titles."""
        self.loss_view.set_title(_("Loss"))
        self.metric_view.set_title(_(METRIC_TITLES["mae" if self.metric == "mae" else "accuracy"]))

    def set_metric(self, metric: str) -> None:
        if metric == self.metric:
            return  # a new title re-lays out both plots: an extra repaint at every run start
        self.metric = metric
        self.metric_view.set_title(_(METRIC_TITLES["mae" if metric == "mae" else "accuracy"]))
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
