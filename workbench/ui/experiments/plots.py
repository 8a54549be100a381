"""The sweep's two summary plots, drawn with pyqtgraph: parallel coordinates (one line per
finished trial across an axis per setting and the objective; the best trial thick and red; each
axis labelled with its values: choices by name, ranges at round numbers, log ranges at powers of
ten) and the parameter importances Optuna computed (horizontal bars)."""

from __future__ import annotations

import json
import math

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QFont, QFontMetrics

from workbench.core.sweep_space import choice_text
from workbench.i18n import _
from workbench.ui.plot_export import add_save_menu

BEST_COLOR = (214, 39, 40)
LINE_COLOR = (31, 119, 180)
TICK_COLOR = (60, 60, 60)
MAX_TICKS = 5


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


def _number(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _power(value: float) -> str:
    """5e-4, 1e-2: a log axis's values in one notation."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _round_steps(low: float, high: float, integer: bool) -> list[float]:
    """Round values (steps of 1, 2, 2.5 or 5 times a power of ten) from low to high."""
    raw = (high - low) / (MAX_TICKS - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _with_ends(low: float, high: float, inner: list[float], where) -> list[float]:
    """The range's two ends, and the round values between them not crowding an end."""
    keep = [v for v in inner if 0.15 < where(v) < 0.85]
    if len(keep) > MAX_TICKS - 2:
        keep = keep[::math.ceil(len(keep) / (MAX_TICKS - 2))]
    return [low, *keep, high]


def axis_ticks(body: dict) -> list[tuple[float, str]]:
    """(position 0..1, text) for one setting's axis: choices by name; a range at its ends and
    round values between (powers of ten on a log scale)."""
    if "choices" in body:
        return [(_position(c, body), choice_text(c)) for c in body["choices"]]
    low, high = float(body["low"]), float(body["high"])
    if high == low:
        return [(0.5, _number(low))]
    if body.get("log") and low > 0:
        inner = [10.0 ** d for d in range(math.ceil(math.log10(low)),
                                          math.floor(math.log10(high)) + 1)]
    else:
        integer = isinstance(body["low"], int) and isinstance(body["high"], int)
        inner = _round_steps(low, high, integer)
    values = _with_ends(low, high, inner, lambda v: _position(v, body))
    text = _power if body.get("log") and low < 1e-3 else _number
    return [(_position(v, body), text(v)) for v in values]


def value_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """(position 0..1, text) for the objective's axis: the trials' lowest and highest values
    and round values between."""
    if high <= low:
        return [(0.5, _number(low))]
    values = _with_ends(low, high, _round_steps(low, high, False),
                        lambda v: (v - low) / (high - low))
    return [((v - low) / (high - low), _number(v)) for v in values]


class ParallelCoordinates(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("sweepParallel")
        self.setMenuEnabled(False)
        add_save_menu(self, "sweep-trials", self._numbers)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.getPlotItem().hideAxis("left")
        self.setTitle(_("Parallel coordinates"), color="k", size="9pt")
        self.lines: dict[int, pg.PlotDataItem] = {}
        self.tick_texts: list[list[str]] = []  # per axis, bottom to top
        self.best_number: int | None = None
        self._shown: tuple | None = None  # show_trials' arguments, to label again when resized
        self._room = 0  # pixels a label has between its axis and the next
        self._font = QFont(self.font())
        self._font.setPointSizeF(7.5)
        self._metrics = QFontMetrics(self._font)
        self.getPlotItem().vb.sigResized.connect(self._on_resized)

    def _on_resized(self) -> None:
        if self._shown is not None and abs(self._label_room() - self._room) > 8:
            self.show_trials(*self._shown)

    def _label_room(self) -> int:
        axes = len(self._shown[0]) + 1 if self._shown else 1
        return int(self.getPlotItem().vb.width() / (axes - 0.5)) - 10

    def show_trials(self, space: dict, reports, best: int | None, objective: str) -> None:
        self._shown = (space, list(reports), best, objective)
        self._room = self._label_room()
        self.clear()
        self.lines = {}
        self.tick_texts = []
        self.best_number = best
        keys = list(space)
        done = [r for r in reports if r.state == "complete" and r.value is not None]
        if not keys:
            return
        values = [r.value for r in done]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        axis = self.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, k) for i, k in enumerate([*keys, objective])]])
        ticks = [axis_ticks(space[k]) for k in keys]
        ticks.append(value_ticks(lo, hi) if values else [])
        for i, axis_ticks_ in enumerate(ticks):
            self.addItem(pg.InfiniteLine(i, angle=90, pen=pg.mkPen((170, 170, 170))))
            self._label_axis(i, axis_ticks_)
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
        self.setXRange(-0.05, len(keys) + 0.45, padding=0)  # room for the last axis's labels
        self.setYRange(-0.06, 1.06, padding=0)

    def _numbers(self):
        """The trials the lines stand for: their settings, objective and state."""
        shown = getattr(self, "_shown", None)
        if not shown or not shown[1]:
            return None
        space, reports, _best, objective = shown
        keys = list(space)
        return (["trial", *keys, objective, "state"],
                [[r.number, *(r.params.get(k, "") for k in keys),
                  "" if r.value is None else r.value, r.state]
                 for r in sorted(reports, key=lambda r: r.number)])

    def _label_axis(self, i: int, ticks: list[tuple[float, str]]) -> None:
        """Each value beside its axis, on the right, with a short tick mark."""
        self.tick_texts.append([text for _y, text in sorted(ticks)])
        for y, full in ticks:
            text = self._metrics.elidedText(full, Qt.ElideRight, max(self._room, 40))
            self.addItem(pg.PlotDataItem([i - 0.03, i], [y, y], pen=pg.mkPen((120, 120, 120))))
            label = pg.TextItem(text, color=TICK_COLOR, anchor=(0, 0.5),
                                fill=pg.mkBrush(255, 255, 255, 170))
            label.setFont(self._font)
            label.setPos(i + 0.02, y)
            label.setToolTip(full)
            label.setZValue(5)
            self.addItem(label)


class Importances(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setObjectName("sweepImportances")
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setTitle(_("Importance (Optuna)"), color="k", size="9pt")  # fits at 1024×700
        self.values: dict[str, float] = {}
        add_save_menu(self, "sweep-importances", lambda: (["setting", "importance"], sorted(
            self.values.items(), key=lambda kv: -kv[1])) if self.values else None)

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
