"""Deployment: per-sample latency of the MNIST CNN in Keras and in the exported files' runtimes,
and what int8 quantisation costs in accuracy, side by side in one run.

    python benchmarks/bench_deploy.py [--epochs 1] [--calls 300]

Trains the CNN template on the embedded MNIST training split, exports it with
``actions.export.export_deployed`` (ONNX, TFLite float32 / float16 / int8), then times one-sample
calls on real test digits, median of ``--calls``:
- Keras through a ``tf.function`` with a fixed signature (``core.inference.Predictor``, what the
  Draw tab uses), and ``model.predict_on_batch`` for reference;
- onnxruntime (CPU) on the ``.onnx``; the LiteRT interpreter on each ``.tflite``.
Accuracy of each on the whole test split (2,000 digits), file size, and the change int8 makes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def median_ms(fn, samples: np.ndarray, calls: int) -> float:
    fn(samples[:1])  # warm-up (traces, allocates)
    times = []
    for i in range(calls):
        one = samples[i % len(samples)][None]
        start = time.perf_counter()
        fn(one)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    from workbench.actions.export import export_deployed
    from workbench.actions.train import train
    from workbench.core.datasets import load_dataset
    from workbench.core.deploy import open_runtime
    from workbench.core.inference import Predictor
    from workbench.core.templates import load_template
    from workbench.core.training import TrainingListener

    data = load_dataset("mnist-embedded")
    project = load_template("mnist-cnn")
    project.training.epochs = args.epochs
    start = time.perf_counter()
    model = train(project.model, project.training, data, "mnist-embedded",
                  TrainingListener()).model
    print(f"MNIST CNN trained {args.epochs} epoch(s) on {len(data.x_train):,} digits in "
          f"{time.perf_counter() - start:.0f} s; timing {args.calls} single-digit calls each, "
          f"accuracy on {len(data.x_test):,} test digits\n")
    x_test = data.x_test.astype(np.float32)
    y_test = np.asarray(data.y_test).reshape(-1)

    predictor = Predictor()
    rows = [("Keras, tf.function (Draw tab)", lambda b: predictor(model, b), None),
            ("Keras, predict_on_batch", model.predict_on_batch, None)]
    folder = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    exports = {}
    for title, fmt, quantize, name in (("onnxruntime, ONNX", "onnx", None, "cnn.onnx"),
                                       ("LiteRT, TFLite float32", "tflite", None, "cnn.tflite"),
                                       ("LiteRT, TFLite float16", "tflite", "float16",
                                        "cnn-f16.tflite"),
                                       ("LiteRT, TFLite int8", "tflite", "int8",
                                        "cnn-int8.tflite")):
        start = time.perf_counter()
        report = export_deployed(model, fmt, folder / name, data, quantize)
        exports[title] = (report, time.perf_counter() - start)
        runtime = open_runtime(report.path)
        rows.append((title, runtime.run, report))

    keras_accuracy = None
    print(f"{'':32} {'ms/sample':>10} {'vs Keras':>9} {'accuracy':>9} {'change':>8} "
          f"{'same class':>10} {'size KB':>8} {'export s':>8}")
    baseline = None
    for title, fn, report in rows:
        ms = median_ms(fn, x_test, args.calls)
        outputs = np.concatenate([np.asarray(fn(x_test[i:i + 500])) for i in
                                  range(0, len(x_test), 500)])
        predicted = outputs.argmax(axis=1)
        accuracy = float(np.mean(predicted == y_test))
        if baseline is None:
            baseline, keras_accuracy, keras_predicted = ms, accuracy, predicted
        same = float(np.mean(predicted == keras_predicted))
        size = f"{report.bytes / 1024:8.0f}" if report else f"{'':8}"
        took = f"{exports[title][1]:8.1f}" if report else f"{'':8}"
        print(f"{title:32} {ms:10.3f} {baseline / ms:8.1f}x {accuracy:9.2%} "
              f"{(accuracy - keras_accuracy) * 100:+7.2f}p {same:10.2%} {size} {took}")
    print("\n(vs Keras: how many times faster than the tf.function call; change: accuracy points "
          "against Keras)")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    raise SystemExit(main())
