"""Draw-to-prediction latency for the MNIST CNN: preprocessing + inference per canvas update.

A digit is drawn on the real 280x280 canvas with simulated mouse strokes; the canvas is captured
after every stroke segment (what the live prediction sees while the user draws). For each capture
we time ``preprocess_digit`` + one inference, with the three ways of calling Keras side by side:
``model.predict``, a direct ``model(x)`` call and the cached ``tf.function`` the Draw tab uses.
Then the whole Draw-tab update (preprocess, the app's engine's answer, preview, bars) is timed
end to end (``bench_engine_draw.py`` has it beside an in-process engine, and under training).

    python benchmarks/bench_draw.py [--rounds 5]

Targets: median < 10 ms (issue 6; team target < 3 ms), p95 < 25 ms.
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
from PyQt5.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PyQt5.QtGui import QMouseEvent  # noqa: E402
from PyQt5.QtWidgets import QApplication  # noqa: E402


def digit_strokes() -> list[list[tuple[float, float]]]:
    """Mouse positions of a handwritten-looking '2': a curve, a diagonal and a base line."""
    t = np.linspace(np.pi * 1.1, np.pi * 2.25, 26)
    arc = [(140 + 45 * np.cos(a), 95 + 40 * np.sin(a)) for a in t]
    end = arc[-1]
    diag = [(end[0] + (95 - end[0]) * s, end[1] + (205 - end[1]) * s)
            for s in np.linspace(0, 1, 14)[1:]]
    base = [(95 + 100 * s, 205 + 3 * s) for s in np.linspace(0, 1, 10)[1:]]
    return [arc + diag + base]


def capture_segments(canvas, app) -> list[np.ndarray]:
    """Draw with mouse events; the shown image after every segment."""
    frames = []
    for points in digit_strokes():
        def send(kind, p, button, buttons):
            event = QMouseEvent(kind, QPointF(*p), button, buttons, Qt.NoModifier)
            QApplication.sendEvent(canvas, event)

        send(QEvent.MouseButtonPress, points[0], Qt.LeftButton, Qt.LeftButton)
        for p in points[1:]:
            send(QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
            frames.append(canvas.image_array())
        send(QEvent.MouseButtonRelease, points[-1], Qt.LeftButton, Qt.NoButton)
        frames.append(canvas.image_array())
    app.processEvents()
    return frames


def timed(fn, frames, rounds: int) -> list[float]:
    fn(frames[-1])  # warm up (traces the tf.function once)
    times = []
    for _ in range(rounds):
        for frame in frames:
            start = time.perf_counter()
            fn(frame)
            times.append((time.perf_counter() - start) * 1000.0)
    return times


def report(name: str, times: list[float]) -> tuple[float, float]:
    median = statistics.median(times)
    p95 = float(np.percentile(times, 95))
    print(f"  {name:<38} median {median:7.2f} ms   p95 {p95:7.2f} ms   (n={len(times)})")
    return median, p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the drawn frames")
    args = parser.parse_args()

    app = QApplication(sys.argv[:1])
    from workbench.core import digits
    from workbench.core.build import build_model
    from workbench.core.inference import Predictor
    from workbench.core.templates import load_template
    from workbench.core.tf_loader import load_tensorflow
    from workbench.ui.draw.canvas import DrawCanvasView
    from workbench.ui.draw.panel import DrawPanel
    from workbench.ui.state import ProjectState

    load_tensorflow()
    project = load_template("mnist-cnn")
    model = build_model(project.model)
    canvas = DrawCanvasView()
    frames = capture_segments(canvas, app)
    print(f"MNIST CNN ({model.count_params():,} params), {len(frames)} canvas updates of a drawn "
          f"'2' on a {canvas.width()}x{canvas.height()} canvas, {os.cpu_count()} CPU cores\n")

    def prepare(frame):
        digit = digits.preprocess_digit(frame)
        return digits.fit_to_input(digit, model.input_shape)

    predictor = Predictor()
    methods = [
        ("preprocess only", lambda f: prepare(f)),
        ("preprocess + model.predict", lambda f: model.predict(prepare(f), verbose=0)),
        ("preprocess + model(x) direct call", lambda f: np.asarray(model(prepare(f),
                                                                          training=False))),
        ("preprocess + cached tf.function", lambda f: predictor(model, prepare(f))),
    ]
    results = {}
    for name, fn in methods:
        rounds = 1 if "predict" in name else args.rounds
        results[name] = report(name, timed(fn, frames, rounds))

    # End to end through the Draw tab: preprocessing, the engine's answer (the app's engine,
    # spawned: the model mirrored there), the 28x28 preview and the bars.
    state = ProjectState(project)
    panel = DrawPanel(state)
    panel.set_samples_path(Path(os.devnull).parent / "workbench-bench-unused.npz")
    panel.show()
    while not state.engine.loaded:
        app.processEvents()
        time.sleep(0.01)
    state.trained.set_weights(0, model.get_weights(), project.model.to_dict())
    capture_segments(panel.canvas, app)
    while True:  # the engine holds the model once a drawing gets its probabilities
        panel.update_prediction()
        if panel.prediction.probabilities is not None:
            break
        app.processEvents()
        time.sleep(0.01)

    times = []
    for _ in range(args.rounds + 1):  # the first round warms up
        panel.canvas.clear()
        for points in digit_strokes():
            def send(kind, p, button, buttons):
                event = QMouseEvent(kind, QPointF(*p), button, buttons, Qt.NoModifier)
                QApplication.sendEvent(panel.canvas, event)

            send(QEvent.MouseButtonPress, points[0], Qt.LeftButton, Qt.LeftButton)
            for p in points[1:]:
                send(QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
                panel.update_prediction()  # what the debounce timer runs after this segment
                if panel.prediction.probabilities is not None:
                    times.append(panel.last_latency_ms)
            send(QEvent.MouseButtonRelease, points[-1], Qt.LeftButton, Qt.NoButton)
        app.processEvents()
    times = times[len(times) // (args.rounds + 1):]
    results["Draw tab update"] = report("Draw tab update (+ preview + bars)", times)

    fast = results["preprocess + cached tf.function"]
    slow = results["preprocess + model.predict"]
    direct = results["preprocess + model(x) direct call"]
    print(f"\n  tf.function vs model.predict: {slow[0] / fast[0]:.0f}x faster (median); "
          f"vs direct call: {direct[0] / fast[0]:.1f}x")
    median, p95 = results["Draw tab update"]
    ok_issue = median < 10 and p95 < 25
    ok_team = median < 3
    print(f"  Draw tab update: median {median:.2f} ms (issue target < 10: "
          f"{'ok' if ok_issue else 'MISSED'}; team target < 3: {'ok' if ok_team else 'MISSED'}), "
          f"p95 {p95:.2f} ms (target < 25: {'ok' if p95 < 25 else 'MISSED'})")
    return 0 if ok_issue else 1


if __name__ == "__main__":
    sys.exit(main())
