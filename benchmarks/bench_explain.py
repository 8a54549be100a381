"""Stroke-to-heatmap latency of the Draw tab's "Why" overlay for the MNIST CNN, per method.

Each round takes an embedded test digit drawn at canvas size (280x280, dark ink on light paper),
and times what the overlay's task does after a stroke: ``preprocess_digit`` + the attribution
(``core.explain``, traced once per model and method) + the heatmap picture. The first call of each
method (its trace) is reported apart. Prints the median and p99 per method and the machine's load
(the CPU is shared: compare figures taken at a similar load).

    python benchmarks/bench_explain.py [--rounds 200] [--train]

Targets (issue 27): gradients < 50 ms, Integrated Gradients with 32 steps < 250 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

TARGETS_MS = {"gradients": 50.0, "integrated-gradients": 250.0}


def canvas_frames(count: int) -> list[np.ndarray]:
    """Embedded test digits as 280x280 drawings: dark ink on light paper, as the canvas gives."""
    from workbench.core.datasets import load_dataset

    x = load_dataset("mnist-embedded").x_test[:count]
    frames = []
    for digit in x:
        big = Image.fromarray((digit.reshape(28, 28) * 255).astype(np.uint8)).resize(
            (280, 280), Image.Resampling.BILINEAR)
        frames.append(255 - np.asarray(big))
    return frames


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--steps", type=int, default=32, help="Integrated Gradients' steps")
    parser.add_argument("--train", action="store_true", help="train one epoch first (the figures "
                        "do not depend on the weights; the heatmaps do)")
    args = parser.parse_args()

    from workbench.core import explain as ex
    from workbench.core.build import build_model
    from workbench.core.digits import fit_to_input, preprocess_digit
    from workbench.core.templates import load_template

    project = load_template("mnist-cnn")
    model = build_model(project.model)
    if args.train:
        from workbench.core.datasets import load_dataset

        data = load_dataset("mnist-embedded")
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=64, verbose=0)
    frames = canvas_frames(min(args.rounds, 1000))
    shape = model.input_shape[1:]
    print(f"MNIST CNN ({model.count_params():,} params), {args.rounds} strokes per method, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'method':<26} {'first call':>10} {'median':>9} {'p99':>9}  target")
    failed = False
    for method in ex.METHODS:
        def stroke(frame, method=method):
            digit = preprocess_digit(frame)
            result = ex.explain(model, fit_to_input(digit, shape), method, steps=args.steps)
            return result.heatmap

        start = time.perf_counter()
        stroke(frames[0])
        first = (time.perf_counter() - start) * 1000
        times = []
        for i in range(args.rounds):
            start = time.perf_counter()
            stroke(frames[i % len(frames)])
            times.append((time.perf_counter() - start) * 1000)
        median, p99 = statistics.median(times), percentile(times, 0.99)
        target = TARGETS_MS.get(method)
        verdict = "" if target is None else f"< {target:.0f} ms " + (
            "met" if median < target else "MISSED")
        failed |= target is not None and median >= target
        name = method + (f" ({args.steps})" if method == "integrated-gradients" else "")
        print(f"{name:<26} {first:>8.1f}ms {median:>7.1f}ms {p99:>7.1f}ms  {verdict}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
