"""Builder responsiveness: how fast an edit reaches the layer stack.

    python benchmarks/bench_builder.py [--runs 20]

Prints, as medians over the runs (once the app's engine is ready):
- edit → stack refreshed for a 20-layer model (ProjectState.set_layer_param until the stack has
  redrawn from Keras's new inspection, asked of the app's spawned engine, the edit debounce
  included); target < 100 ms;
- inspect_model for a 10-layer model, in this process (the core function the engine calls);
  target < 50 ms;
(Start-up, the window shown ÷ ``import tensorflow``: ``benchmarks/bench_startup.py``.)
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

from workbench.core.spec import LayerSpec, ModelSpec  # noqa: E402


def model_20() -> ModelSpec:
    layers = [LayerSpec.create("Reshape", target_shape=[28, 28, 1]),
              LayerSpec.create("Conv2D", filters=16, padding="same"),
              LayerSpec.create("BatchNormalization"),
              LayerSpec.create("MaxPooling2D"),
              LayerSpec.create("Conv2D", filters=32, padding="same"),
              LayerSpec.create("MaxPooling2D"),
              LayerSpec.create("Flatten")]
    while len(layers) < 19:
        layers.append(LayerSpec.create("Dense", units=64, activation="relu"))
        layers.append(LayerSpec.create("Dropout", rate=0.1))
    layers = layers[:19] + [LayerSpec.create("Dense", units=10, activation="softmax")]
    return ModelSpec((28, 28), layers)


def model_10() -> ModelSpec:
    return ModelSpec((28, 28), model_20().layers[:7] + [
        LayerSpec.create("Dense", units=64, activation="relu"),
        LayerSpec.create("Dropout", rate=0.2),
        LayerSpec.create("Dense", units=10, activation="softmax"),
    ])


def bench_edit(runs: int) -> tuple[float, float]:
    from PyQt5.QtWidgets import QApplication

    from workbench.core.project import Project
    from workbench.ui.builder.panel import BuilderPanel
    from workbench.ui.state import ProjectState

    app = QApplication.instance() or QApplication([])
    spec = model_20()
    assert len(spec.layers) == 20
    state = ProjectState(Project(spec))  # the app's engine, spawned
    while not state.engine.loaded:
        app.processEvents()
        time.sleep(0.01)
    panel = BuilderPanel(state)
    panel.resize(520, 860)
    panel.show()
    state.refresh_inspection()
    while not state.inspection_current:  # Keras answers on the inspection task's thread
        app.processEvents()
    assert state.inspection.ok, state.inspection.error_text()
    app.processEvents()

    done = []
    panel.stack.refreshed.connect(lambda: done.append(time.perf_counter()))
    index = len(spec.layers) - 3  # a Dense layer deep in the model
    assert spec.layers[index].class_name == "Dense"
    edit_ms = []
    for i in range(runs + 2):
        state.select(index)
        done.clear()
        start = time.perf_counter()
        units = 32 + (i % 2) * 32 + i  # a new value every time, so every edit is real
        state.set_layer_param(index, "units", units)
        while not done:
            app.processEvents()
            time.sleep(0.0005)
        if i >= 2:  # the first edits warm up Keras's layer classes
            edit_ms.append((done[0] - start) * 1000)
        # The row shows Keras's new count: (64 inputs + bias) × units.
        assert panel.stack.tree.topLevelItem(index + 1).text(3) == f"{65 * units:,}"

    panel.close()
    from workbench.core.inspect import inspect_model

    small = model_10()
    inspect_model(small)
    inspect_ms = []
    for _ in range(runs):
        start = time.perf_counter()
        report = inspect_model(small)
        inspect_ms.append((time.perf_counter() - start) * 1000)
        assert report.ok
    return statistics.median(edit_ms), statistics.median(inspect_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    edit_ms, inspect_ms = bench_edit(args.runs)
    print(f"edit -> stack refreshed, 20 layers (median of {args.runs}): {edit_ms:6.1f} ms "
          f"(target < 100 ms; includes the edit debounce)")
    print(f"inspect_model, 10 layers        (median of {args.runs}): {inspect_ms:6.1f} ms "
          f"(target < 50 ms)")


if __name__ == "__main__":
    main()
