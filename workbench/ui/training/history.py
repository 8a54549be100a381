"""The run's points on the GUI side: batch and epoch rows in growable arrays, smoothed.

Memory over a long run: each history array doubles its capacity when full, so a 50-epoch run over
60k samples (~94k batch points × 5 float64 columns ≈ 4 MB) reallocates only ~10 times and the GUI
holds nothing else per point. Drawing never copies the history: ``setData`` gets views of it.
"""

from __future__ import annotations

import math

import numpy as np


class GrowingArray:
    """A 2-D float64 array that grows by rows in amortised O(1) (capacity doubles when full)."""

    def __init__(self, columns: int, capacity: int = 256):
        self._data = np.empty((capacity, columns), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._data.shape[0]

    def append(self, rows) -> None:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self._data.shape[1])
        need = self._size + len(rows)
        if need > self.capacity:
            grown = np.empty((max(need, 2 * self.capacity), self._data.shape[1]), np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size:need] = rows
        self._size = need

    def insert(self, index: int, row) -> None:
        """One row at ``index``, the rows from there moved down by one."""
        self.append(row)  # grows if needed
        self._data[index + 1:self._size] = self._data[index:self._size - 1].copy()
        self._data[index] = row

    def column(self, index: int) -> np.ndarray:
        """A read-only view of one column (no copy); stays valid after later appends."""
        view = self._data[: self._size, index]
        view.flags.writeable = False
        return view

    def clear(self) -> None:
        self._size = 0


class Smoother:
    """Debiased exponential moving average (as TensorBoard's smoothing), updated point by point."""

    def __init__(self, weight: float = 0.9):
        self.weight = weight
        self._value = 0.0
        self._count = 0

    def reset(self, weight: float | None = None) -> None:
        if weight is not None:
            self.weight = weight
        self._value, self._count = 0.0, 0

    def feed(self, values: np.ndarray) -> np.ndarray:
        out = np.empty(len(values), dtype=np.float64)
        w = self.weight
        for i, v in enumerate(values):
            if math.isfinite(v):
                self._count += 1
                self._value = w * self._value + (1 - w) * v
                out[i] = self._value / (1 - w ** self._count)
            else:
                out[i] = math.nan
        return out


def smoothing_weight(steps_per_epoch: int) -> float:
    """About a tenth of an epoch of averaging (at least 5 batches, at most 50)."""
    span = min(50.0, max(5.0, steps_per_epoch / 10))
    return 1 - 2 / (span + 1)


class RunHistory:
    """Every batch and epoch point of the run being trained (GUI side)."""

    # batch columns: x, loss, loss smoothed, metric, metric smoothed
    # epoch columns: x, loss, metric, val_loss, val_metric
    def __init__(self) -> None:
        self.batches = GrowingArray(5)
        self.epochs = GrowingArray(5)
        self._loss_smoother = Smoother()
        self._metric_smoother = Smoother()
        self.offset = 0  # epochs trained before this run (a continued run's curves go on)

    def reset(self, steps_per_epoch: int = 100, offset: int = 0) -> None:
        self.batches.clear()
        self.epochs.clear()
        self.offset = int(offset)
        weight = smoothing_weight(steps_per_epoch)
        self._loss_smoother.reset(weight)
        self._metric_smoother.reset(weight)

    def set_steps_per_epoch(self, steps_per_epoch: int) -> None:
        """The smoothing for the run's real epoch length (known once it starts)."""
        if not len(self.batches):
            weight = smoothing_weight(steps_per_epoch)
            self._loss_smoother.reset(weight)
            self._metric_smoother.reset(weight)

    def add_batches(self, points: np.ndarray) -> None:
        """``points``: rows of (x, loss, metric) from the worker."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        rows = np.empty((len(points), 5))
        rows[:, 0] = points[:, 0] + self.offset
        rows[:, 1] = points[:, 1]
        rows[:, 2] = self._loss_smoother.feed(points[:, 1])
        rows[:, 3] = points[:, 2]
        rows[:, 4] = self._metric_smoother.feed(points[:, 2])
        self.batches.append(rows)

    def add_epoch(self, epoch: int, logs: dict, metric: str) -> None:
        nan = math.nan
        row = [self.offset + epoch + 1, logs.get("loss", nan), logs.get(metric, nan),
               logs.get("val_loss", nan), logs.get(f"val_{metric}", nan)]
        xs = self.epochs.column(0)
        if len(xs) and row[0] < xs[-1]:  # missed on a dropped link, given after later epochs
            self.epochs.insert(int(np.searchsorted(xs, row[0])), row)
        else:
            self.epochs.append(row)
