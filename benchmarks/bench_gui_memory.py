"""The window's memory after a run (issue 26: the GUI process's RSS, default project, < 300 MB).

    python benchmarks/bench_gui_memory.py [--epochs 2]

Starts the app's main window offscreen in this process with its real spawned engine, clicks
Train on the default project (the MNIST CNN on the embedded digits) for ``--epochs`` epochs, and
prints, once the run has ended and its weights, curves and views are in the window: the window
process's resident memory (VmRSS) and its peak (VmHWM), the engine process's, whether the window
imported TensorFlow, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def status_mb(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("WORKBENCH_DATA_DIR", "/tmp/bench-gui-memory")
    sys.path.insert(0, str(ROOT))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    from PyQt5.QtCore import QEventLoop, QTimer
    from PyQt5.QtWidgets import QApplication

    from workbench.core.spec import TrainConfig
    from workbench.ui.engine_link import close_shared

    app = QApplication([])  # noqa: F841 - kept alive while the window lives
    from workbench.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    state = window.state

    def wait(condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("timed out")
            loop = QEventLoop()
            QTimer.singleShot(50, loop.quit)
            loop.exec_()

    config = TrainConfig.from_dict(state.training.to_dict())
    config.epochs = args.epochs
    state.set_training(config)
    train = window.training_panel.controls.train_button
    wait(train.isEnabled, 180)
    ended = []
    window.training_panel.training_finished.connect(ended.append)
    train.click()
    wait(lambda: bool(ended), 900)
    for name in ("evaluation_panel", "weights_panel", "draw_panel"):  # the views, as a user looks
        window.tabs.setCurrentWidget(getattr(window, name))
        wait(lambda: True, 0)
        loop = QEventLoop()
        QTimer.singleShot(1500, loop.quit)
        loop.exec_()
    engine_pid = state.engine.engine.pid
    print(f"run: {ended[0].result.status}, {args.epochs} epochs of the default project")
    print(f"window process: RSS {status_mb('self', 'VmRSS'):.0f} MB, "
          f"peak {status_mb('self', 'VmHWM'):.0f} MB (target < 300 MB)")
    print(f"engine process: RSS {status_mb(engine_pid, 'VmRSS'):.0f} MB, "
          f"peak {status_mb(engine_pid, 'VmHWM'):.0f} MB")
    heavy = [m for m in ("tensorflow", "keras", "onnxruntime") if m in sys.modules]
    print(f"window imported: {', '.join(heavy) or 'none of tensorflow, keras, onnxruntime'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    window.training_panel.shutdown()
    state.undo_stack.setClean()
    window.close()
    close_shared()
    os._exit(0)


if __name__ == "__main__":
    main()
