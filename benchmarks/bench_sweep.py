"""Sweep figures (#14), side by side in one run.

1. Overhead: one trial through the sweep (Optuna study in SQLite, suggest, pruning reports, the
   trial's stored attributes) ÷ the same training run alone (``actions.train.train``, same model,
   settings and data). Rounds alternate alone / sweep so other load hits both alike; the ratio of
   the medians is printed (target ≤ 1.05).
2. Two processes on one SQLite storage against one: ``workbench sweep`` processes on the same
   study; trials per minute from the study's own start/complete times (TensorFlow's start-up is
   left out), two processes ÷ one (≈ 2 on a machine with two free cores).

    python benchmarks/bench_sweep.py [--rounds 3] [--trials 4] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def overhead(rounds: int, epochs: int) -> tuple[list[float], list[float]]:
    from workbench.actions.sweep import SweepSettings, prepare_sweep, run_sweep
    from workbench.actions.train import train
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    project = load_template("mnist-mlp")
    project.training.epochs = epochs
    dataset = load_dataset("mnist-embedded").subset(4000, 500)
    # The space holds the project's own value: the sweep trains exactly what the run alone does.
    space = {"batch_size": {"choices": [project.training.batch_size]}}
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    train(project.model, project.training, dataset, "d")  # warm-up: TensorFlow's first run
    alone, swept = [], []
    for i in range(rounds):
        start = time.perf_counter()
        train(project.model, project.training, dataset, "d")
        alone.append(time.perf_counter() - start)
        settings = SweepSettings(trials=1, sampler="grid", pruning=True,
                                 storage=f"sqlite:///{folder / 'bench.db'}", study=f"r{i}")
        start = time.perf_counter()
        sweep = prepare_sweep(project.model, project.training, dataset, "d", space, settings,
                              folder / "p.json")
        run_sweep(sweep, dataset)
        swept.append(time.perf_counter() - start)
    return alone, swept


def trials_per_minute(processes: int, trials: int, epochs: int, folder: Path) -> float:
    import optuna

    project = json.loads((ROOT / "resources" / "templates" / "mnist-mlp.json").read_text())
    project["training"]["epochs"] = epochs
    (folder / "mlp.json").write_text(json.dumps(project))
    (folder / "space.json").write_text(json.dumps({
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}))
    study = f"p{processes}"
    storage = f"sqlite:///{folder / 'shared.db'}"
    cmd = [sys.executable, "-m", "workbench", "sweep", str(folder / "mlp.json"), "--space",
           str(folder / "space.json"), "--trials", str(trials * processes), "--storage", storage,
           "--study", study, "--no-pruning", "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
             for _ in range(processes)]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("a sweep process failed")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    done = [t for t in optuna.load_study(study_name=study, storage=storage).get_trials()
            if t.datetime_complete is not None]
    first = min(t.datetime_start for t in done)
    last = max(t.datetime_complete for t in done)
    return len(done) / ((last - first).total_seconds() / 60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=4, help="trials per process")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    alone, swept = overhead(args.rounds, args.epochs)
    ratio = statistics.median(swept) / statistics.median(alone)
    print(f"one run alone  : {', '.join(f'{s:.2f}' for s in alone)} s "
          f"(median {statistics.median(alone):.2f})")
    print(f"one sweep trial: {', '.join(f'{s:.2f}' for s in swept)} s "
          f"(median {statistics.median(swept):.2f})")
    print(f"sweep overhead : {ratio:.3f} (target <= 1.05)")
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-procs-"))
    one = trials_per_minute(1, args.trials, args.epochs, folder)
    two = trials_per_minute(2, args.trials, args.epochs, folder)
    print(f"one process    : {one:.1f} trials/min")
    print(f"two processes  : {two:.1f} trials/min on one SQLite study")
    print(f"two ÷ one      : {two / one:.2f} (≈ 2 with two free cores)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
