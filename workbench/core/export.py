"""Run histories as CSV: one row per run and epoch, one column per Keras metric (the runs
read as ``RunRecord``s)."""

from __future__ import annotations

import csv
import io
import os
from typing import Any

from workbench.core.project import write_atomic
from workbench.core.runs import RunRecord


def history_table(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)``: ``run, epoch`` (1-based), then every metric in order of appearance."""
    records = [RunRecord.from_dict(run, index) for index, run in enumerate(runs)]
    metrics: list[str] = []
    for record in records:
        for name in record.history:
            if name not in metrics:
                metrics.append(name)
    # Keras logs in alphabetical order; a reader wants loss, metrics, validation, learning rate.
    metrics.sort(key=lambda name: (name == "learning_rate", name.startswith("val_"),
                                   name.removeprefix("val_") != "loss"))
    rows: list[list[Any]] = []
    for record in records:
        for epoch in range(record.epochs_in_history):
            row: list[Any] = [record.id, epoch + 1]
            for name in metrics:
                values = record.history.get(name, [])
                row.append(values[epoch] if epoch < len(values) else "")
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
