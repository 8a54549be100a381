"""Training throughput of a window's run on the engine (its own process, live curves on in the
window) against plain ``model.fit`` in this process.

Same model (a template, the MNIST CNN by default, fresh and seeded each time), same data (the
embedded digits, same validation split), same batch size and epochs. Rounds alternate plain /
engine so that load from other processes hits both alike; the ratio of the medians is printed
(target ≥ 0.97). ``--template mnist-cnn,resnet-digits`` measures the sequential CNN and the
ResNet graph template side by side (their rounds alternate too).
First, a synthetic 50-epoch, 60k-sample feed through the curves shows what the GUI side keeps.

    python benchmarks/bench_training.py [--epochs 3] [--rounds 3] [--template mnist-cnn,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PyQt5.QtCore import QEventLoop  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402


def plain_fit(dataset, project) -> float:
    """Seconds spent in ``model.fit(verbose=0)`` on the same split the engine's run uses."""
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.training import prepare_data

    config = project.training
    set_seed(config.seed)
    model = build_model(project.model)
    compile_model(model, config)
    data = prepare_data(dataset, project.model.input_shape, config, model.output_shape[1:])
    x, x_val = np.asarray(data.x_train), np.asarray(data.x_val)  # arrays, as a script holds
    start = time.perf_counter()
    model.fit(x, data.y_train, validation_data=(x_val, data.y_val),
              epochs=config.epochs, batch_size=config.batch_size, shuffle=config.shuffle,
              verbose=0)
    return time.perf_counter() - start


def engine_fit(app, panel) -> tuple[float, int, int]:
    """Seconds of training the engine reports (fit only), with the window's event loop live."""
    done = []
    loop = QEventLoop()
    panel.training_finished.connect(done.append)
    panel.training_finished.connect(loop.quit)
    redraws = panel.curves.redraw_count
    gui_cpu = time.thread_time()
    if not panel.start_training():
        raise SystemExit(f"Train is blocked: {panel.train_blocker()}")
    loop.exec_()  # the GUI thread idles in its event loop, as in the app
    gui_cpu = time.thread_time() - gui_cpu
    panel.training_finished.disconnect(done.append)
    panel.training_finished.disconnect(loop.quit)
    outcome = done[0]
    if outcome.result.status != "completed":
        raise SystemExit(f"engine run ended {outcome.result.status}: {outcome.result.message}")
    return (outcome.result.duration, panel.curves.point_count(),
            panel.curves.redraw_count - redraws, gui_cpu)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_over_long_run(app) -> None:
    """Feed 50 epochs × 1875 batches (60k samples, batch 32) through the curves in chunks, as the
    engine sends them, redrawing as the timer would; report what the GUI process holds."""
    from workbench.ui.training.curves import CurvesView

    view = CurvesView()
    view.resize(900, 400)
    view.show()
    view.start_run("accuracy", 1875)
    rng = np.random.default_rng(0)
    epochs, steps, chunk = 50, 1875, 60
    marks = [(0, _rss_mib())]
    for epoch in range(epochs):
        for first in range(0, steps, chunk):
            b = np.arange(first, min(first + chunk, steps))
            x = epoch + (b + 1) / steps
            loss = 2 * np.exp(-x / 10) + 0.2 * rng.random(len(b))
            view.add_batches(np.column_stack([x, loss, 1 - loss / 2.5]))
            if first % (chunk * 8) == 0:
                view.redraw()
                app.processEvents()
        view.add_epoch(epoch, {"loss": 0.5, "accuracy": 0.9, "val_loss": 0.4,
                               "val_accuracy": 0.9})
        if epoch + 1 in (10, 25, 50):
            marks.append((epoch + 1, _rss_mib()))
    view.finish_run()
    app.processEvents()
    points = view.point_count()
    capacity = view.history.batches.capacity
    print(f"memory over a synthetic 50-epoch run ({points:,} batch points kept, 5 float64 "
          f"columns; history capacity {capacity:,} rows = {capacity * 40 / 2**20:.1f} MiB):")
    for epoch, rss in marks:
        print(f"  after epoch {epoch:2d}: process RSS {rss:7.1f} MiB")
    view.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--template", default="mnist-cnn",
                        help="template(s) to train, comma-separated, measured side by side in "
                             "alternating rounds (mnist-cnn,resnet-digits)")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv)
    # First, before TensorFlow's allocators are in play, so RSS shows the GUI side alone.
    memory_over_long_run(app)
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template
    from workbench.core.tf_loader import load_tensorflow
    from workbench.ui.training.alone import panel_window

    tf, _ = load_tensorflow()
    keys = [key.strip() for key in args.template.split(",") if key.strip()]
    setups = {}  # template -> (project, dataset, window, panel)
    for key in keys:
        project = load_template(key)
        project.training.epochs = args.epochs
        dataset = load_dataset(project.dataset, seed=project.training.seed or 0)
        window, state, panel = panel_window(project)
        window.resize(1100, 700)
        window.show()
        state.refresh_inspection()
        while not state.inspection_current:  # Keras answers on the inspection task's thread
            app.processEvents()
        state.data.dataset = dataset
        state.data.loaded.emit()
        setups[key] = (project, dataset, window, panel)
        n_train = round(len(dataset.x_train) * (1 - project.training.validation_split))
        print(f"{key}: {len(project.model.layers)} layers, {state.inspection.total_params:,} "
              f"parameters, {n_train:,} training samples, batch {project.training.batch_size},"
              f" {args.epochs} epochs")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for project, dataset, _window, _panel in setups.values():
        plain_fit(dataset.subset(500), project)  # warm-up: first-use costs of TF itself
    plain: dict[str, list[float]] = {key: [] for key in keys}
    engine: dict[str, list[float]] = {key: [] for key in keys}
    for r in range(args.rounds):
        for key, (project, dataset, _window, panel) in setups.items():
            n_train = round(len(dataset.x_train) * (1 - project.training.validation_split))
            samples = n_train * args.epochs
            p = plain_fit(dataset, project)
            w, points, redraws, gui_cpu = engine_fit(app, panel)
            plain[key].append(p)
            engine[key].append(w)
            print(f"  round {r + 1} {key}: plain fit {p:6.2f} s ({samples / p:7.0f} samples/s)"
                  f"   engine + live curves {w:6.2f} s ({samples / w:7.0f} samples/s)   "
                  f"[{points} batch points, {redraws} redraws, GUI thread CPU {gui_cpu:.2f} s]")
    print(f"throughput ratio engine/plain (medians; target ≥ 0.97), "
          f"load average {os.getloadavg()[0]:.1f}:")
    for key in keys:
        ratio = statistics.median(plain[key]) / statistics.median(engine[key])
        print(f"  {key:<16} plain {statistics.median(plain[key]):6.2f} s   engine "
              f"{statistics.median(engine[key]):6.2f} s   ratio {ratio:.3f}   "
              f"(best of each: {min(plain[key]) / min(engine[key]):.3f})")
    for *_rest, panel in setups.values():
        panel.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
