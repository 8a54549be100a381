"""Run histories as CSV: one row per run and epoch, one column per Keras metric."""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from workbench.core.project import write_atomic


def history_table(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)``: ``run, epoch`` (1-based), then every metric in order of appearance."""
    metrics: list[str] = []
    for run in runs:
        for name in (run.get("history") or {}):
            if name not in metrics:
                metrics.append(name)
    # Keras logs in alphabetical order; a reader wants loss, metrics, validation, learning rate.
    metrics.sort(key=lambda name: (name == "learning_rate", name.startswith("val_"),
                                   name.removeprefix("val_") != "loss"))
    rows: list[list[Any]] = []
    for index, run in enumerate(runs):
        history = run.get("history") or {}
        run_id = run.get("id", index + 1)
        epochs = max((len(v) for v in history.values() if isinstance(v, list)), default=0)
        for epoch in range(epochs):
            row: list[Any] = [run_id, epoch + 1]
            for name in metrics:
                values = history.get(name)
                row.append(values[epoch] if isinstance(values, list) and epoch < len(values)
                           else "")
            rows.append(row)
    return ["run", "epoch", *metrics], rows


def history_csv(runs: list[dict[str, Any]]) -> str:
    header, rows = history_table(runs)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_history_csv(runs: list[dict[str, Any]], path: str | os.PathLike) -> None:
    write_atomic(path, history_csv(runs))
