"""The document's inspection task: Keras's per-layer shapes and errors for each edited spec,
computed on the task's worker thread (the only thread that creates the inspection's Keras
layers), as ui/document.py asks for them through the task runner."""

from __future__ import annotations

from workbench.ui.tasks import Cancelled, readable_failure

INSPECTION_THREAD = "model-inspection"
INSPECTION_IDLE_S = 30.0  # the task ends after this long without an edit


class _Superseded(Exception):  # noqa: N818 - reads as what happened to the request
    pass


def serve_inspections(state, idle_exit_s: float) -> None:
    """The inspection task (its worker thread): each ``(generation, spec)`` received is answered
    with ``(generation, ModelInspection, "")`` as a partial result (``(generation, None,
    reason)`` when Keras itself fails); one a newer request supersedes is dropped at its next
    layer. Ends after ``idle_exit_s`` without a request, or when cancelled."""
    from workbench.core.inspect import inspect_model

    def check() -> None:
        state.check()
        if state.messages_waiting:
            raise _Superseded()

    for generation, spec in state.requests(idle_exit_s):
        try:
            state.set_partial_result((generation, inspect_model(spec, check=check), ""))
        except _Superseded:
            continue
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - Keras's own failure, said in one line
            state.set_partial_result((generation, None, readable_failure("Checking", exc)))
