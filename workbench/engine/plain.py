"""What crosses the engine's wire for our own types: plain dicts and numpy arrays, both ways.

The builder's inspection (``core.inspect.ModelInspection``) and a run's outcome go out as JSON
plus arrays; the window reads them back with the ``*_from_dict`` functions. Nothing Keras here:
the GUI imports this module without TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.core.fixes import Fix
from workbench.core.inspect import LayerInfo, ModelInspection
from workbench.core.spec import LayerSpec


def _shape(shape) -> list | None:
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _fix_to_dict(fix: Fix | None) -> dict | None:
    if fix is None:
        return None
    return {"text": fix.text, "index": fix.index,
            "layer": fix.layer.to_dict() if fix.layer is not None else None,
            "source": fix.source, "target": fix.target, "changes": dict(fix.changes)}


def _fix_from_dict(data: dict | None) -> Fix | None:
    if data is None:
        return None
    layer = LayerSpec.from_dict(data["layer"]) if data.get("layer") is not None else None
    return Fix(data["text"], int(data["index"]), layer, data.get("source"), data.get("target"),
               dict(data.get("changes") or {}))


def inspection_to_dict(report: ModelInspection) -> dict[str, Any]:
    return {
        "input_shape": list(report.input_shape), "error_index": report.error_index,
        "error": report.error, "order": list(report.order),
        "total_params": report.total_params,
        "layers": [{"index": i.index, "class_name": i.class_name, "summary": i.summary,
                    "output_shape": _shape(i.output_shape), "params": i.params,
                    "error": i.error, "name": i.name, "inbound": list(i.inbound),
                    "fix": i.fix.to_dict() if i.fix is not None else None,
                    "repair": _fix_to_dict(i.repair)} for i in report.layers],
    }


def inspection_from_dict(data: dict[str, Any]) -> ModelInspection:
    report = ModelInspection(tuple(data["input_shape"]), error_index=data.get("error_index"),
                             error=data.get("error"), order=list(data.get("order", [])))
    for d in data["layers"]:
        shape = d.get("output_shape")
        report.layers.append(LayerInfo(
            d["index"], d["class_name"], d["summary"],
            tuple(shape) if shape is not None else None, d.get("params"), d.get("error"),
            LayerSpec.from_dict(d["fix"]) if d.get("fix") is not None else None,
            d.get("name", ""), tuple(d.get("inbound", ())), _fix_from_dict(d.get("repair"))))
    return report


def floats(logs: dict | None) -> dict[str, float]:
    return {str(k): float(v) for k, v in (logs or {}).items() if np.ndim(v) == 0}


def outcome_to_dict(outcome) -> dict[str, Any]:
    """An ``actions.train.RunOutcome`` as a reply body: the result, the run's record (as the
    project file writes it), the test scores and the final weights as arrays."""
    result = outcome.result
    return {
        "status": result.status, "message": result.message,
        "epochs_completed": result.epochs_completed, "duration": result.duration,
        "history": {k: [float(v) for v in vs] for k, vs in result.history.items()},
        "nan_at": list(result.nan_at) if result.nan_at else None,
        "partial_batches": result.partial_batches,
        "record": outcome.record.to_dict() if outcome.record is not None else None,
        "test": outcome.test, "metric": outcome.metric, "warnings": list(outcome.warnings),
        "weights": list(outcome.weights or []),
    }


def outcome_from_dict(data: dict[str, Any]):
    """The ``actions.train.RunOutcome`` of a reply ``outcome_to_dict`` made (the window's side)."""
    from workbench.actions.train import RunOutcome
    from workbench.core.runs import RunRecord
    from workbench.core.training import TrainingResult

    nan_at = data.get("nan_at")
    result = TrainingResult(
        str(data.get("status") or "failed"), message=str(data.get("message") or ""),
        epochs_completed=int(data.get("epochs_completed") or 0),
        history={str(k): [float(v) for v in vs] for k, vs in (data.get("history") or {}).items()},
        duration=float(data.get("duration") or 0.0),
        nan_at=tuple(nan_at) if nan_at else None,
        partial_batches=int(data.get("partial_batches") or 0))
    record = data.get("record")
    return RunOutcome(result, RunRecord.from_dict(record) if record is not None else None,
                      data.get("test"), str(data.get("metric") or "accuracy"),
                      list(data.get("weights") or []) or None, list(data.get("warnings") or []))

