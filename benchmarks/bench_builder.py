"""Builder responsiveness and start-up: how fast an edit reaches the layer stack, and the window.

    python benchmarks/bench_builder.py [--runs 20]

Prints, as medians over the runs (after TensorFlow has loaded):
- edit → stack refreshed for a 20-layer model (ProjectState.set_layer_param until the stack has
  redrawn from Keras's new inspection, the edit debounce included); target < 100 ms;
- inspect_model for a 10-layer model; target < 50 ms;
- start-up: time to the MainWindow's first complete paint vs ``python -c "import tensorflow"``, in
  the same run, as a ratio; goal < 0.3 (the window must not wait for TensorFlow); and the time
  until TensorFlow is ready in the window (Train usable).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
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

    from workbench.core.inspect import inspect_model
    from workbench.core.project import Project
    from workbench.core.tf_loader import load_tensorflow
    from workbench.ui.builder.panel import BuilderPanel
    from workbench.ui.state import ProjectState

    load_tensorflow()
    app = QApplication.instance() or QApplication([])
    spec = model_20()
    assert len(spec.layers) == 20
    state = ProjectState(Project(spec))
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

    small = model_10()
    inspect_model(small)
    inspect_ms = []
    for _ in range(runs):
        start = time.perf_counter()
        report = inspect_model(small)
        inspect_ms.append((time.perf_counter() - start) * 1000)
        assert report.ok
    panel.close()
    return statistics.median(edit_ms), statistics.median(inspect_ms)


WINDOW_SCRIPT = """
import os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, {root!r})
from PyQt5.QtCore import QEvent, QObject, QTimer
from PyQt5.QtWidgets import QApplication
app = QApplication([])
from workbench.ui.main_window import MainWindow
window = MainWindow()

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint and obj is window:
            window.removeEventFilter(self)
            QTimer.singleShot(0, painted)  # once the whole paint pass is done
        return False

def painted():
    print("shown", window.isVisible(), flush=True)

def ready():
    print("tensorflow", flush=True)
    os._exit(0)

watcher = FirstPaint()
window.installEventFilter(watcher)
window.state.tensorflow.ready.connect(ready)
window.show()
app.exec_()
"""


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                   check=True)
    return time.perf_counter() - start


def timed_window() -> tuple[float, float]:
    """Seconds from launch to the window's first complete paint, and to TensorFlow ready."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT.format(root=str(ROOT))],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    painted = None
    for line in proc.stdout:
        if line.startswith("shown"):
            painted = time.perf_counter() - start
            if "True" not in line:
                raise SystemExit("the window was not visible")
        elif line.startswith("tensorflow"):
            break
    else:
        raise SystemExit("the window never appeared or TensorFlow never loaded")
    ready = time.perf_counter() - start
    proc.wait()
    if painted is None:
        raise SystemExit("the window never painted")
    return painted, ready


def bench_startup(repeats: int = 3) -> tuple[float, float, float]:
    windows = [timed_window() for _ in range(repeats)]
    tf = [timed([sys.executable, "-c", "import tensorflow"]) for _ in range(repeats)]
    return (statistics.median(w[0] for w in windows), statistics.median(w[1] for w in windows),
            statistics.median(tf))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--startup-repeats", type=int, default=3)
    args = parser.parse_args()
    window_s, ready_s, tf_s = bench_startup(args.startup_repeats)
    edit_ms, inspect_ms = bench_edit(args.runs)
    print(f"edit -> stack refreshed, 20 layers (median of {args.runs}): {edit_ms:6.1f} ms "
          f"(target < 100 ms; includes the edit debounce)")
    print(f"inspect_model, 10 layers        (median of {args.runs}): {inspect_ms:6.1f} ms "
          f"(target < 50 ms)")
    print(f"start-up to a painted window (median of {args.startup_repeats}): {window_s:.2f} s; "
          f"python -c 'import tensorflow': {tf_s:.2f} s; ratio {window_s / tf_s:.2f} (goal < 0.3)")
    print(f"start-up to TensorFlow ready in the window (Train can be used): {ready_s:.2f} s")


if __name__ == "__main__":
    main()
