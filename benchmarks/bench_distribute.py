"""MirroredStrategy on N logical CPU devices (or GPUs) ÷ one device, and two local worker
processes (``--strategy multi-worker`` on 127.0.0.1) ÷ one: the same project trained by
``workbench train`` side by side in one run, each in a process of its own (logical devices and
the cluster are made before TensorFlow starts).

    python benchmarks/bench_distribute.py [--template mnist-cnn] [--epochs 1] [--devices 2]
                                          [--skip-workers]

On one CPU both splits cost more than they gain (expect ratios ≤ 1: two workers on one machine
share its cores and add an all-reduce over gRPC per batch); the point is that the runs are right:
the same global batch, the same accuracy within noise, ``replicas`` in the done event, the same
weights on both workers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train(template: Path, epochs: int, out: Path, *more: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "workbench", "train", str(template), "--json",
                           "--epochs", str(epochs), "--out", str(out), *more],
                          capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"train {' '.join(more)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout.splitlines()[-1])


def two_workers(template: Path, epochs: int, out: Path) -> dict:
    """Both workers of a two-process cluster on this machine, at once; the chief's done event
    (with ``same_weights``: whether both ended with the same weights)."""
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    workers = ",".join(f"127.0.0.1:{s.getsockname()[1]}" for s in sockets)
    for s in sockets:
        s.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "workbench", "train", str(template),
                               "--json", "--epochs", str(epochs), "--out", str(out / str(i)),
                               "--strategy", "multi-worker", "--workers", workers,
                               "--worker-index", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(2)]
    done = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"train --strategy multi-worker failed: {stderr.strip()}")
        done.append(json.loads(stdout.splitlines()[-1]))
    done[0]["same_weights"] = done[0]["weights_digest"] == done[1]["weights_digest"]
    return done[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="mnist-cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--skip-workers", action="store_true",
                        help="leave out the two local worker processes")
    args = parser.parse_args()
    template = ROOT / "resources" / "templates" / f"{args.template}.json"
    print(f"{args.template}, {args.epochs} epoch(s), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("1 device (no strategy)", train(template, args.epochs, Path(tmp) / "a")),
                (f"mirrored, {args.devices} devices",
                 train(template, args.epochs, Path(tmp) / "b", "--strategy", "mirrored",
                       "--devices", str(args.devices)))]
        if not args.skip_workers:
            rows.append(("2 local workers", two_workers(template, args.epochs, Path(tmp) / "c")))
    for name, done in rows:
        same = f"  same weights {done['same_weights']}" if "same_weights" in done else ""
        print(f"  {name:26s} replicas {done['replicas']}  training {done['duration']:6.1f} s  "
              f"test accuracy {done.get('test_accuracy', float('nan')):.4f}{same}")
    one = rows[0][1]["duration"]
    print(f"speed, mirrored ÷ one device: {one / rows[1][1]['duration']:.2f}")
    if not args.skip_workers:
        print(f"speed, two local workers ÷ one process: {one / rows[2][1]['duration']:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
