"""One run as the project file keeps it: settings, per-epoch history, outcome, test scores.

``RunRecord`` is the one shape of a run for everything that writes or reads one: the train action
(CLI and GUI), the recovery copy of an interrupted run, the runs table and the CSV export.
``to_dict``/``from_dict`` read and write the project file's ``runs`` entries exactly as earlier
versions did; keys this version does not know are kept and written back unchanged.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

TEST_KEYS = ("loss", "accuracy", "mae", "mse")
_KNOWN = ("id", "started", "dataset", "training", "status", "message", "epochs", "duration",
          "history", "test")


def timestamp(seconds: float | None = None) -> str:
    """Local time as the project file writes it: ``2026-12-02T03:04:05``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() if seconds is None
                                                             else seconds))


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


@dataclass
class RunRecord:
    id: int = 1
    started: str = ""
    dataset: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # TrainConfig.to_dict()
    status: str = "completed"  # completed | stopped | early_stopped | nan | failed | interrupted
    message: str = ""
    epochs: int = 0  # full epochs trained
    duration: float | None = None  # seconds of training (None: not known, e.g. interrupted)
    history: dict[str, list[float]] = field(default_factory=dict)  # per epoch, Keras log names
    test: dict[str, float] | None = None  # scores on the test split
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer versions, kept as read

    @classmethod
    def create(cls, config, dataset: str, result, test: dict[str, Any] | None = None,
               started: float | None = None, run_id: int = 1) -> RunRecord:
        """The record of a finished ``TrainingResult`` trained with ``config`` (a TrainConfig)."""
        scores = None
        if test:
            scores = {k: float(v) for k, v in test.items() if k in TEST_KEYS}
        return cls(
            id=int(run_id), started=timestamp(started), dataset=str(dataset),
            training=config.to_dict(), status=result.status, message=result.message,
            epochs=int(result.epochs_completed), duration=round(float(result.duration), 3),
            history={k: [float(v) for v in vs] for k, vs in result.history.items()},
            test=scores,
        )

    @property
    def epochs_in_history(self) -> int:
        return max((len(v) for v in self.history.values()), default=0)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "started": self.started, "dataset": self.dataset,
            "training": dict(self.training), "status": self.status, "message": self.message,
            "epochs": self.epochs,
        }
        if self.duration is not None:
            data["duration"] = self.duration
        data["history"] = {k: list(v) for k, v in self.history.items()}
        if self.test is not None:
            data["test"] = dict(self.test)
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], index: int = 0) -> RunRecord:
        """Read any ``runs`` entry an earlier version wrote; missing fields get neutral values
        (``index``: the entry's position, for a run without an id)."""
        history: dict[str, list[float]] = {}
        raw_history = data.get("history")
        if isinstance(raw_history, dict):
            for key, values in raw_history.items():
                if isinstance(values, list):
                    history[str(key)] = [_number(v, math.nan) for v in values]
        test = data.get("test")
        try:
            run_id = int(data.get("id", index + 1))
        except (TypeError, ValueError):
            run_id = index + 1
        duration = data.get("duration")
        return cls(
            id=run_id,
            started=str(data.get("started", "")),
            dataset=str(data.get("dataset", "")),
            training=dict(data["training"]) if isinstance(data.get("training"), dict) else {},
            status=str(data.get("status", "completed")),
            message=str(data.get("message") or ""),
            epochs=int(_number(data.get("epochs"), 0)),
            duration=None if duration is None else _number(duration, 0.0),
            history=history,
            test={str(k): _number(v, math.nan) for k, v in test.items()}
            if isinstance(test, dict) else None,
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )


def next_run_id(runs: list[dict[str, Any]]) -> int:
    """The id of the next run of a project: one more than the largest id it holds (the window,
    the CLI and sweeps all number runs here; an entry without a readable id counts by position)."""
    return max((RunRecord.from_dict(r, i).id for i, r in enumerate(runs) if isinstance(r, dict)),
               default=0) + 1
