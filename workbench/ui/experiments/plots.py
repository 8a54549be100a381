"""The sweep's two summary plots, drawn with pyqtgraph: parallel coordinates (one line per
finished trial across an axis per setting and the objective; the best trial thick and red) and
the parameter importances Optuna computed (horizontal bars)."""

from __future__ import annotations

import json
import math

import numpy as np
import pyqtgraph as pg

BEST_COLOR = (214, 39, 40)
LINE_COLOR = (31, 119, 180)


def _position(value, body: dict) -> float:
    """Where a value sits on its axis, 0..1 (choices evenly spaced; log ranges on a log scale)."""
    if "choices" in body:
        labels = [json.dumps(c, sort_keys=True) for c in body["choices"]]
        key = json.dumps(value, sort_keys=True)
        n = len(labels)
        return labels.index(key) / (n - 1) if key in labels and n > 1 else 0.5
    low, high = float(body["low"]), float(body["high"])
    if high == low:
        return 0.5
    if body.get("log") and low > 0 and value > 0:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (float(value) - low) / (high - low)


class ParallelCoordinates(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("sweepParallel")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().hideAxis("left")
        self.setTitle("Parallel coordinates", color="k", size="9pt")
        self.lines: dict[int, pg.PlotDataItem] = {}
        self.best_number: int | None = None

    def show_trials(self, space: dict, reports, best: int | None, objective: str) -> None:
        self.clear()
        self.lines = {}
        self.best_number = best
        keys = list(space)
        done = [r for r in reports if r.state == "complete" and r.value is not None]
        if not keys:
            return
        values = [r.value for r in done]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        axis = self.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, k) for i, k in enumerate([*keys, objective])]])
        for i in range(len(keys) + 1):
            self.addItem(pg.InfiniteLine(i, angle=90, pen=pg.mkPen((170, 170, 170))))
        x = np.arange(len(keys) + 1, dtype=float)
        for report in sorted(done, key=lambda r: r.number == best):
            if any(k not in report.params for k in keys):
                continue
            y = [_position(report.params[k], space[k]) for k in keys]
            y.append((report.value - lo) / (hi - lo) if hi > lo else 0.5)
            is_best = report.number == best
            pen = pg.mkPen(BEST_COLOR if is_best else (*LINE_COLOR, 110),
                           width=3 if is_best else 1)
            self.lines[report.number] = self.plot(x, np.array(y), pen=pen)
        self.setXRange(-0.2, len(keys) + 0.2)
        self.setYRange(-0.05, 1.05)


class Importances(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("sweepImportances")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setTitle("Parameter importance (Optuna)", color="k", size="9pt")
        self.values: dict[str, float] = {}

    def show_importances(self, values: dict[str, float]) -> None:
        self.clear()
        self.values = dict(values)
        if not values:
            return
        names = list(values)[::-1]  # most important on top
        heights = [values[n] for n in names]
        self.addItem(pg.BarGraphItem(x0=0, y=np.arange(len(names)), height=0.6,
                                     width=heights, brush=pg.mkBrush(LINE_COLOR)))
        self.getPlotItem().getAxis("left").setTicks([[(i, n) for i, n in enumerate(names)]])
        self.setXRange(0, max(heights) * 1.05 or 1)
        self.setYRange(-0.6, len(names) - 0.4)
