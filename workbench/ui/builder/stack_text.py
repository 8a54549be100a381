"""The layer stack's texts built from the state: the totals line under the rows, sizes in
bytes, and a graph's wiring beside each row's name (translated when built, see #29)."""

from __future__ import annotations

from workbench.core import graph_edit
from workbench.i18n import _


def format_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return _("{n} bytes").format(n=f"{n:,.0f}") if unit == "bytes" \
                else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def graph_labels(spec) -> list[tuple[str, str]] | None:
    """For a graph, each row's name and "  ← its inputs" (where they are not just the row
    above); None for a plain stack, whose rows stay as they were."""
    data = spec.to_dict()
    if not graph_edit.is_graph(data):
        return None
    try:
        names, inbound = graph_edit.layer_names(data), graph_edit.inbound_names(data)
    except graph_edit.GraphEditError:
        return None
    before = [graph_edit.INPUT, *names]
    return [(name, "" if sources == [before[i]] else f"  ← {', '.join(sources)}")
            for i, (name, sources) in enumerate(zip(names, inbound))]


def totals_text(state, stale: bool) -> tuple[str, str]:
    """The totals line (rich text) and its tooltip: parameters and memory, or why not yet.
    ``stale``: the inspection predates the last model change."""
    report = state.inspection
    tip = ""
    if not state.spec.layers:
        text = _("No layers yet: click a layer type under <b>Layers</b> to add it after the "
                 "selected row, or pick File ▸ New from template.")
    elif report is None:
        text = _("Shapes and parameter counts appear when TensorFlow has loaded…")
    elif stale and report.input_shape != tuple(state.spec.input_shape):
        text = _("Checking with Keras…")
    elif not report.ok:
        known = sum(info.params or 0 for info in report.layers)
        text = _("Parameters so far: {count} · the model cannot be built yet").format(
            count=f"{known:,}")
    else:
        batch = state.training.batch_size
        memory = format_bytes(report.memory_bytes(batch))
        text = _("<b>Total params: {count}</b> · memory ≈ {memory}").format(
            count=f"{report.total_params:,}", memory=memory)
        tip = _("Weights, optimizer state and the activations of one batch of {batch} "
                "(float32)").format(batch=batch)
    if state.checking and report is not None:  # the newest edit's answer is slow
        text += ' <span style="color: #888;">· {}</span>'.format(_("checking…"))
    return text, tip
