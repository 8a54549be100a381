"""The graph view's speed on a 30-node residual graph (the input, a batch normalization, a stem,
8 residual blocks of Conv2D → Conv2D → Add, global pooling, dropout and the classifier).

    python benchmarks/bench_graph_view.py [--runs 20]

Prints, as medians (and the worst) over the runs, once the app's engine (spawned) is ready:
- graph view full redraw: every item rebuilt from the spec and its inspection, grandalf's layout
  included (GraphView.redraw); target < 50 ms;
- of which the layout alone (grandalf's Sugiyama layout of the 30 nodes), and a redraw that
  reuses the layout (what an inspection with the same node sizes costs);
- edit → shapes shown in the graph view: a graph edit through the document (undoable step), the
  debounced Keras inspection in the engine and the redraw, until the edited node shows its new
  shape;
  target < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from workbench.core import graph_edit  # noqa: E402
from workbench.core.spec import LayerSpec, ModelSpec  # noqa: E402


def residual_30() -> ModelSpec:
    """30 nodes with the input: built with the same graph edits the view's menus make."""
    def new(class_name: str, **config) -> dict:
        return LayerSpec.create(class_name, **config).to_dict()

    spec = {"input_shape": [28, 28, 1], "layers": [
        new("BatchNormalization"),
        {**new("Conv2D", filters=16, kernel_size=[3, 3], padding="same"), "name": "stem"},
        new("GlobalAveragePooling2D"), new("Dropout", rate=0.2),
        new("Dense", units=10, activation="softmax")]}
    block_in = "stem"
    for _ in range(8):
        spec, i = graph_edit.add_after(spec, block_in, new("Conv2D", filters=16, padding="same"))
        first = graph_edit.layer_names(spec)[i]
        spec, i = graph_edit.add_after(spec, first, new("Conv2D", filters=16, padding="same"))
        second = graph_edit.layer_names(spec)[i]
        spec, i = graph_edit.merge(spec, [block_in, second], new("Add"))
        block_in = graph_edit.layer_names(spec)[i]
    model = ModelSpec.from_dict(spec)
    assert len(model.layers) + 1 == 30, len(model.layers)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from PyQt5.QtWidgets import QApplication, QWidget

    from workbench.core import graph_layout
    from workbench.core.templates import load_template
    from workbench.ui.graph.panel import GraphPanel
    from workbench.ui.state import ProjectState

    app = QApplication.instance() or QApplication(sys.argv)
    host = QWidget()
    project = load_template("mnist-cnn")
    project.model = residual_30()
    state = ProjectState(project, host)  # its inspections asked of the app's spawned engine
    while not state.engine.loaded:
        app.processEvents()
        time.sleep(0.01)
    panel = GraphPanel(state, host)
    host.resize(900, 900)
    panel.resize(900, 900)
    host.show()
    state.refresh_inspection()
    while not state.inspection_current:  # Keras answers in the engine
        app.processEvents()
    app.processEvents()
    view = panel.view
    assert len(view.nodes) == 30 and state.inspection.ok, state.inspection.error_text()

    layouts = []
    original = graph_layout.layered_layout

    def timed_layout(*a, **k):
        t = time.perf_counter()
        result = original(*a, **k)
        layouts.append(time.perf_counter() - t)
        return result

    graph_layout_module = sys.modules["workbench.ui.graph.view"]
    graph_layout_module.layered_layout = timed_layout
    redraws, cached = [], []
    for _ in range(args.runs):
        view._layout_key = None  # noqa: SLF001 - a full redraw: the layout computed again
        t = time.perf_counter()
        view.redraw()
        app.processEvents()  # the paint of the new items
        redraws.append(time.perf_counter() - t)
        t = time.perf_counter()
        view.redraw()  # as after an inspection: same graph, same sizes, the layout reused
        app.processEvents()
        cached.append(time.perf_counter() - t)
    graph_layout_module.layered_layout = original

    edits = []
    names = state.spec.names()
    conv = next(node.name for node in state.spec.graph()
                if node.class_name == "Conv2D" and node.name != "stem")
    for run in range(args.runs):
        filters = 8 + (run % 2) * 8  # 8 / 16 / 8 ...: Keras computes the new shapes each time
        index = names.index(conv)
        wanted = f"(28, 28, {filters})"
        t = time.perf_counter()
        state.set_layer_param(index, "filters", filters)
        deadline = t + 10
        while (view.nodes[conv].data.shape != wanted or state.inspection_pending) \
                and time.perf_counter() < deadline:
            app.processEvents()
        edits.append(time.perf_counter() - t)
        state.undo_stack.clear()

    def line(what: str, values: list[float], target: str) -> str:
        ms = [v * 1000 for v in values]
        return (f"  {what}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms "
                f"({len(ms)} runs){target}")

    print(f"graph view, 30-node residual graph, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(line("full redraw (items + layout + paint)", redraws, "; target < 50 ms"))
    print(line("  of which grandalf's layout", layouts, ""))
    print(line("redraw, layout reused (new shapes, same graph)", cached, ""))
    print(line("edit → shapes shown in the graph view", edits, "; target < 100 ms"))
    state.stop_inspection()


if __name__ == "__main__":
    main()
