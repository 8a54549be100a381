"""Evaluation and weights views: confusion matrix of 10,000 digits, weight grid of a 784→256 layer.

1. The MNIST CNN template predicts all 10,000 embedded digits (written as the test split of an
   .npz, which goes to the engine once by its hash) in the engine's ``evaluate`` request, the
   app's own engine process, from submit to the result arriving on the GUI thread; meanwhile a
   10 ms GUI timer measures the longest stall of the event loop (the GUI must stay responsive).
2. The Weights tab draws the 256 unit images of a 784 → 256 Dense layer (tiling, colour bar,
   bias, histograms, and one repaint).

    python benchmarks/bench_evaluation.py [--rounds 5]

Targets (issue 5): confusion matrix < 1 s, weight grid < 200 ms.
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
from PyQt5.QtCore import QTimer  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402


def bench_confusion(app, rounds: int) -> tuple[list[float], list[float], float]:
    import tempfile
    from types import SimpleNamespace

    from workbench.core.build import build_model
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template
    from workbench.ui.engine_link import EngineLink
    from workbench.ui.evaluation.worker import EvaluationRequest, EvaluationWorker

    dataset = load_dataset("mnist-embedded")
    x = np.concatenate([dataset.x_train, dataset.x_test])
    y = np.concatenate([dataset.y_train, dataset.y_test])
    path = Path(tempfile.mkdtemp(prefix="bench-evaluation-")) / "all-10k.npz"
    np.savez(path, x_train=x[:100], y_train=y[:100], x_test=x, y_test=y)
    data = load_dataset(path)
    spec = load_template("mnist-cnn").model
    weights = build_model(spec).get_weights()
    link = EngineLink()  # the app's engine: a process of its own
    while not link.loaded:
        app.processEvents()
        time.sleep(0.01)
    worker = EvaluationWorker(SimpleNamespace(engine=link))
    results = []
    worker.finished.connect(results.append)
    worker.failed.connect(lambda _t, message: sys.exit(f"evaluation failed: {message}"))

    stalls: list[float] = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        stalls.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=10)
    timer.timeout.connect(tick)
    totals, computes = [], []
    for i in range(rounds + 1):  # the first round sends the data, builds and traces: not counted
        results.clear()
        start = time.perf_counter()
        last[0] = start
        stalls.clear()
        timer.start()
        worker.submit(EvaluationRequest(i, 0, {"spec": spec.to_dict(), "weights": weights},
                                        data, str(path)))
        while not results:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        total = time.perf_counter() - start
        if i:
            totals.append(total)
            computes.append(results[0].seconds)
        assert results[0].confusion.sum() == len(x)
    worker.close()
    return totals, computes, max(stalls) if stalls else 0.0


def bench_weights(app, rounds: int) -> list[float]:
    from workbench.core.build import build_model
    from workbench.core.project import Project
    from workbench.core.spec import LayerSpec, ModelSpec
    from workbench.ui.state import ProjectState
    from workbench.ui.weights.panel import WeightsPanel

    spec = ModelSpec(input_shape=(28, 28), layers=[
        LayerSpec.create("Flatten"),
        LayerSpec.create("Dense", units=256, activation="relu"),
        LayerSpec.create("Dense", units=10, activation="softmax"),
    ])
    state = ProjectState(Project(model=spec))
    panel = WeightsPanel(state)
    panel.resize(1000, 720)
    panel.show()
    weights = build_model(spec).get_weights()
    state.trained.set_weights(0, weights, spec.to_dict())
    view = panel.weights
    end = time.monotonic() + 120
    while not view.shown and time.monotonic() < end:  # the layers come from the engine
        app.processEvents()
        time.sleep(0.005)
    assert view.shown["kind"] == "unit images" and view.shown["kernel"].shape == (784, 256)
    times = []
    for i in range(rounds + 1):
        # A new epoch's weights each time, as during training.
        state.trained.weights_history[-1] = (0, [w * (1.0 + 0.01 * i) for w in weights])
        start = time.perf_counter()
        view.draw()
        view.view.viewport().repaint()
        app.processEvents()
        if i:
            times.append(time.perf_counter() - start)
    panel.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    from workbench.core.tf_loader import load_tensorflow

    load_tensorflow()
    totals, computes, stall = bench_confusion(app, args.rounds)
    median = statistics.median(totals)
    print(f"confusion matrix, MNIST CNN, 10,000 images: median {median:.3f} s "
          f"(compute {statistics.median(computes):.3f} s, best {min(totals):.3f} s) "
          f"— target < 1 s: {median / 1.0:.2f}x of budget")
    print(f"  longest GUI event-loop stall while computing: {stall * 1000:.0f} ms")
    draws = bench_weights(app, args.rounds)
    median = statistics.median(draws)
    print(f"weight grid, Dense 784 → 256 (256 units of 28×28): median {median * 1000:.1f} ms "
          f"(best {min(draws) * 1000:.1f} ms) — target < 200 ms: {median / 0.2:.2f}x of budget")


if __name__ == "__main__":
    main()
