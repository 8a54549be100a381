"""MirroredStrategy on N logical CPU devices (or GPUs) ÷ one device: the same project trained by
``workbench train`` side by side in one run, each in a process of its own (logical devices are
made before TensorFlow starts).

    python benchmarks/bench_distribute.py [--template mnist-cnn] [--epochs 1] [--devices 2]

On a CPU the split costs more than it gains (expect a ratio ≤ 1); the point is that the run is
right: the same global batch, the same accuracy within noise, ``replicas`` in the done event.
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default="mnist-cnn")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--devices", type=int, default=2)
    args = parser.parse_args()
    template = ROOT / "resources" / "templates" / f"{args.template}.json"
    print(f"{args.template}, {args.epochs} epoch(s), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("1 device (no strategy)", train(template, args.epochs, Path(tmp) / "a")),
                (f"mirrored, {args.devices} devices",
                 train(template, args.epochs, Path(tmp) / "b", "--strategy", "mirrored",
                       "--devices", str(args.devices)))]
    for name, done in rows:
        print(f"  {name:26s} replicas {done['replicas']}  training {done['duration']:6.1f} s  "
              f"test accuracy {done.get('test_accuracy', float('nan')):.4f}")
    ratio = rows[0][1]["duration"] / rows[1][1]["duration"]
    print(f"speed, mirrored ÷ one device: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
