"""Start-up: how soon the window is shown, against how long ``import tensorflow`` takes.

    python benchmarks/bench_startup.py [--repeats 5] [--baseline DIR]

Each repeat starts, one after the other on the same machine, a fresh ``python`` that makes the
app's MainWindow (offscreen) and reports its first complete paint and the moment its engine is
ready (Train can be used: the engine's TensorFlow imported, in its own process), and a fresh
``python -c "import tensorflow"``; after one launch of each that is not counted (it writes our
modules' byte code, as an install does, and warms the disk cache). Prints the medians and the
ratio window shown ÷ import tensorflow (target, issue 26: < 0.15), with the machine's load
average before and after.

``--baseline DIR``: a checkout of another commit (e.g. ``git archive 04be89e | tar -x -C DIR``,
main before the engine) whose window is timed in the same repeats, side by side.
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

WINDOW_SCRIPT = """
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PyQt5.QtCore import QEvent, QObject, QTimer
from PyQt5.QtWidgets import QApplication
app = QApplication([])
from workbench.ui.main_window import MainWindow
window = MainWindow()
state = window.state
# The engine's link (since #26), or the window's own TensorFlow loader (before it).
link = getattr(state, "engine", None) or getattr(state, "tensorflow", None)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Paint and obj is window:
            window.removeEventFilter(self)
            QTimer.singleShot(0, painted)  # once the whole paint pass is done
        return False

def painted():
    print("shown", window.isVisible(), flush=True)
    if link.loaded:
        ready()

def ready():
    print("ready", flush=True)
    try:
        from workbench.ui.engine_link import close_shared
        close_shared()  # the spawned engine ends with the window
    except ImportError:
        pass
    os._exit(0)

watcher = FirstPaint()
window.installEventFilter(watcher)
link.ready.connect(ready)
window.show()
app.exec_()
"""


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed_window(tree: Path) -> tuple[float, float]:
    """Seconds from launch to the window's first complete paint, and to its engine ready."""
    env = dict(os.environ, PYTHONPATH=str(tree), QT_QPA_PLATFORM="offscreen",
               WORKBENCH_DATA_DIR=os.environ.get("WORKBENCH_DATA_DIR", "/tmp/bench-startup"))
    # As installed: our modules' byte code cached (TensorFlow's is, from its install); a shell
    # that sets PYTHONDONTWRITEBYTECODE would have every launch compile ~140 modules (~0.25 s).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=tree, env=env)
    painted = ready = None
    for line in proc.stdout:
        if line.startswith("shown"):
            painted = time.perf_counter() - start
            if "True" not in line:
                raise SystemExit("the window was not visible")
        elif line.startswith("ready"):
            ready = time.perf_counter() - start
            break
    proc.wait(60)
    if painted is None or ready is None:
        raise SystemExit(f"{tree}: the window never painted, or its engine never got ready")
    return painted, ready


def timed_import() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a checkout of another commit, timed side by side")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.baseline is not None:
        trees["baseline"] = args.baseline.resolve()
    print(f"load average before: {load()}")
    windows: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for tree in trees.values():
        timed_window(tree)  # not counted: writes the byte code, warms the disk cache
    timed_import()
    imports = []
    for _ in range(args.repeats):  # interleaved: each repeat sees the same machine
        for name, tree in trees.items():
            windows[name].append(timed_window(tree))
        imports.append(timed_import())
    tf_s = statistics.median(imports)
    print(f"python -c 'import tensorflow': {tf_s:.2f} s (median of {args.repeats})")
    for name, times in windows.items():
        shown = statistics.median(t[0] for t in times)
        ready = statistics.median(t[1] for t in times)
        print(f"{name}: window shown {shown:.2f} s, ratio {shown / tf_s:.3f} (target < 0.15); "
              f"TensorFlow ready for the window (Train usable) {ready:.2f} s")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
