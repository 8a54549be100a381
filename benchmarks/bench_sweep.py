"""Sweep figures (#14), side by side in one run.

1. Overhead: one trial through the sweep (Optuna study in SQLite, suggest, pruning reports, the
   trial's stored attributes; Optuna's own start/complete times) ÷ the same training run alone
   (``actions.train.train``, same model, settings and data). Rounds alternate alone / sweep so
   other load hits both alike; the ratio of the medians is printed (target ≤ 1.05), and beside it
   the whole one-trial sweep (checking the space, which builds the model at its ends, and opening
   the storage too) ÷ the run alone.
2. Two processes on one SQLite storage against one: ``workbench sweep`` processes on the same
   study; trials per minute from the study's own start/complete times (TensorFlow's start-up is
   left out), two processes ÷ one (≈ 2 where each process has a free core: TensorFlow spreads one
   run's work over every core, so on a busy or 2-core machine less).

The load (``uptime``) is printed before and after. ``--threads 1`` runs each sweep process's
TensorFlow on one thread (one process alone takes every core by default).

    python benchmarks/bench_sweep.py           # ~1.5 min on the 2 shared cores
    python benchmarks/bench_sweep.py --quick   # ~1 min: smaller data, fewer rounds and trials
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


class _InsideTheTrial:
    """Times, inside each trial, the training run itself (``actions.train.train`` as the sweep
    calls it) less the sweep's own per-epoch work (reporting to Optuna, asking the pruner): what
    is left of the trial's time is the sweep's cost, measured within one run, so that the load's
    swings from run to run do not enter it."""

    def __init__(self):
        import workbench.actions.sweep as sweep_module

        self.train = self.hooks = self.cpu = 0.0
        real_train, listener = sweep_module.train, sweep_module._TrialListener
        real_hook = listener.on_epoch_end

        def timed_train(*args, **kwargs):
            start, cpu = time.perf_counter(), time.process_time()
            try:
                return real_train(*args, **kwargs)
            finally:
                self.train += time.perf_counter() - start
                self.cpu += time.process_time() - cpu

        def timed_hook(listener_self, epoch, logs):
            start = time.perf_counter()
            try:
                return real_hook(listener_self, epoch, logs)
            finally:
                self.hooks += time.perf_counter() - start

        sweep_module.train = timed_train
        listener.on_epoch_end = timed_hook

    def take(self) -> tuple[float, float]:
        """Seconds of training (without the sweep's epoch hooks) since the last take, and the
        process's CPU seconds in that training (all its threads)."""
        seconds, cpu = self.train - self.hooks, self.cpu
        self.train = self.hooks = self.cpu = 0.0
        return seconds, cpu


def overhead(rounds: int, epochs: int, samples: int
             ) -> tuple[list[float], ...]:
    """Seconds of each round: the run alone, the sweep's trial, the whole one-trial sweep, the
    training inside that trial; then CPU seconds of the run alone and of that training."""
    from workbench.actions.sweep import (
        InProcessTrainer,
        SweepSettings,
        open_study,
        prepare_sweep,
        run_sweep,
    )
    from workbench.actions.train import train
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    project = load_template("mnist-mlp")
    project.training.epochs = epochs
    dataset = load_dataset("mnist-embedded").subset(samples, 500)
    # The space holds the project's own value: the sweep trains exactly what the run alone does.
    space = {"batch_size": {"choices": [project.training.batch_size]}}
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    train(project.model, project.training, dataset, "d")  # warm-up: TensorFlow's first run
    alone, trial, swept, inside = [], [], [], []
    cpu_alone, cpu_trial = [], []  # the process's CPU seconds (all its threads)
    timer = _InsideTheTrial()

    def run_alone():
        start, cpu = time.perf_counter(), time.process_time()
        train(project.model, project.training, dataset, "d")
        alone.append(time.perf_counter() - start)
        cpu_alone.append(time.process_time() - cpu)

    def run_trial(i):
        settings = SweepSettings(trials=1, sampler="grid", pruning=True,
                                 storage=f"sqlite:///{folder / 'bench.db'}", study=f"r{i}")
        timer.take()
        start = time.perf_counter()
        sweep = prepare_sweep(project.model, project.training, dataset, "d", space, settings,
                              folder / "p.json", trainer=InProcessTrainer())
        outcome = run_sweep(sweep, dataset)
        swept.append(time.perf_counter() - start)
        if outcome.trials[0].state != "complete":
            raise SystemExit(f"the sweep's trial did not complete: {outcome.trials[0].message}")
        frozen = open_study(sweep).trials[0]  # Optuna's own times: suggest to the last attribute
        trial.append((frozen.datetime_complete - frozen.datetime_start).total_seconds())
        seconds, cpu = timer.take()
        inside.append(seconds)
        cpu_trial.append(cpu)

    for i in range(rounds):  # alone first, then the sweep first: a drifting load hits both alike
        if i % 2:
            run_trial(i)
            run_alone()
        else:
            run_alone()
            run_trial(i)
    return alone, trial, swept, inside, cpu_alone, cpu_trial


def trials_per_minute(processes: int, trials: int, epochs: int, samples: int,
                      folder: Path, threads: int | None = None) -> float:
    import optuna

    project = json.loads((ROOT / "resources" / "templates" / "mnist-mlp.json").read_text())
    project["training"]["epochs"] = epochs
    data = folder / "digits.npz"
    if not data.exists():  # the same digits for every process: a few thousand of the embedded
        import numpy as np

        from workbench.core.datasets import load_dataset

        digits = load_dataset("mnist-embedded").subset(samples, 500)
        np.savez(data, x_train=digits.x_train, y_train=digits.y_train, x_test=digits.x_test,
                 y_test=digits.y_test)
    project["dataset"] = str(data)
    (folder / "mlp.json").write_text(json.dumps(project))
    (folder / "space.json").write_text(json.dumps({
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}}))
    study = f"p{processes}"
    storage = f"sqlite:///{folder / 'shared.db'}"
    cmd = [sys.executable, "-m", "workbench", "sweep", str(folder / "mlp.json"), "--space",
           str(folder / "space.json"), "--trials", str(trials * processes), "--storage", storage,
           "--study", study, "--no-pruning", "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if threads:  # each process's TensorFlow on that many threads (one process takes every core)
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads))
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


def _uptime() -> str:
    try:
        out = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout
        return out.strip().split("load average", 1)[-1].lstrip("s: ") or out.strip()
    except OSError:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _series(values: list[float]) -> str:
    return f"{', '.join(f'{v:.2f}' for v in values)} s (median {statistics.median(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds, 2 trials a process, 1 epoch, 2,000 digits (~1 min)")
    parser.add_argument("--rounds", type=int, help="overhead rounds (default 4)")
    parser.add_argument("--trials", type=int, help="trials per process (default 4)")
    parser.add_argument("--epochs", type=int, help="epochs per run (default 2)")
    parser.add_argument("--samples", type=int, help="training digits (default 4,000)")
    parser.add_argument("--threads", type=int,
                        help="TensorFlow threads of each sweep process (default: TensorFlow's "
                             "own, every core; 1 shows what sharing the study costs when one "
                             "process cannot fill the machine)")
    args = parser.parse_args()
    quick = {"rounds": 2, "trials": 2, "epochs": 1, "samples": 2000}
    full = {"rounds": 4, "trials": 4, "epochs": 2, "samples": 4000}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    began = time.perf_counter()
    print(f"load average before: {_uptime()} ({os.cpu_count()} CPUs)", flush=True)
    alone, trial, swept, inside, cpu_alone, cpu_trial = overhead(args.rounds, args.epochs,
                                                                 args.samples)
    print(f"MNIST MLP, {args.samples:,} digits, {args.epochs} epoch(s) a run")
    print(f"one run alone          : {_series(alone)}")
    print(f"the same run, a trial  : {_series(trial)}")
    print(f"a whole one-trial sweep: {_series(swept)}")
    print(f"its training, inside   : {_series(inside)}")
    ratio = statistics.median(trial) / statistics.median(alone)
    best = min(trial) / min(alone)  # the least disturbed of each: steadier on a busy machine
    whole = statistics.median(swept) / statistics.median(alone)
    print(f"sweep trial ÷ run alone: {ratio:.3f} (medians; target <= 1.05), {best:.3f} (fastest "
          f"of each); the whole sweep ÷ the run {whole:.3f}")
    own = [t / i for t, i in zip(trial, inside)]
    cost = [t - i for t, i in zip(trial, inside)]
    print(f"a trial ÷ its training : {statistics.median(own):.3f} (timed inside the same trial: "
          f"the sweep's own work {statistics.median(cost) * 1000:.0f} ms a trial)")
    cpu = statistics.median(cpu_trial) / statistics.median(cpu_alone)
    print(f"CPU seconds of the run : alone {_series(cpu_alone)}; in the trial "
          f"{_series(cpu_trial)}: {cpu:.3f} (the same work: other processes' load moves CPU "
          "seconds least)", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-procs-"))
    one = trials_per_minute(1, args.trials, args.epochs, args.samples, folder, args.threads)
    two = trials_per_minute(2, args.trials, args.epochs, args.samples, folder, args.threads)
    threads = (f"{args.threads} TensorFlow thread(s) each" if args.threads else
               "TensorFlow's own threads")
    print(f"trials per minute      : one process {one:.1f}, two processes on one SQLite study "
          f"{two:.1f} ({threads})")
    print(f"two ÷ one              : {two / one:.2f} (≈ 2 where each process has a free core)")
    print(f"load average after : {_uptime()}; {time.perf_counter() - began:.0f} s in all")


if __name__ == "__main__":
    main()
