"""Training throughput of the app's training loop (``core.training.run_training``, fed by
``core.feed``: batches gathered from the one shared array) ÷ plain ``model.fit`` on numpy arrays.

Same template, data, split, batch size, epochs and seed; no GUI. Rounds alternate (plain, ours)
so that load from other processes hits both alike; the ratio of the median seconds per epoch
is printed (target ≥ 0.97), with the load average before and after.

    python benchmarks/bench_feed.py [--template mnist-mlp,mnist-cnn] [--epochs 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def _fresh(project):
    from workbench.core.build import build_model, compile_model, set_seed

    set_seed(project.training.seed)
    model = build_model(project.model)
    compile_model(model, project.training)
    return model


def plain(project, dataset) -> float:
    from workbench.core.training import prepare_data

    model = _fresh(project)
    config = project.training
    data = prepare_data(dataset, project.model.input_shape, config, model.output_shape[1:])
    x, xv = np.asarray(data.x_train), np.asarray(data.x_val)  # what a script would hold
    start = time.perf_counter()
    model.fit(x, data.y_train, validation_data=(xv, data.y_val), epochs=config.epochs,
              batch_size=config.batch_size, shuffle=config.shuffle, verbose=0)
    return time.perf_counter() - start


def ours(project, dataset) -> float:
    from workbench.core.training import prepare_data, run_training

    model = _fresh(project)
    config = project.training
    data = prepare_data(dataset, project.model.input_shape, config, model.output_shape[1:])
    result = run_training(model, data, config)
    assert result.status == "completed", result.message
    return result.duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="mnist-mlp,mnist-cnn")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    print(f"load before {os.getloadavg()[0]:.1f}")
    for key in args.template.split(","):
        project = load_template(key)
        project.training.epochs = args.epochs
        dataset = load_dataset(project.dataset, seed=project.training.seed)
        plain(project, dataset)  # warm-up: imports, first traces
        times: dict[str, list[float]] = {"plain": [], "ours": []}
        for _ in range(args.rounds):
            times["plain"].append(plain(project, dataset))
            times["ours"].append(ours(project, dataset))
        a, b = statistics.median(times["plain"]), statistics.median(times["ours"])
        rounds = ", ".join(f"{p:.1f}/{o:.1f}" for p, o in zip(times["plain"], times["ours"]))
        print(f"{key}: plain fit {a / args.epochs:.2f} s/epoch, run_training "
              f"{b / args.epochs:.2f} s/epoch; throughput ours ÷ plain {a / b:.3f} "
              f"(rounds: {rounds})")
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
