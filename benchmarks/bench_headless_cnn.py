"""Headless MNIST CNN template on the embedded digits: test accuracy and wall time.

Target: ≥ 98 % test accuracy in ≤ 60 s on a 2-core machine. Runs the real command users run
(`workbench train … --json`) and prints the figures.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "workbench", "train",
             str(ROOT / "resources" / "templates" / "mnist-cnn.json"), "--json", "--out", out],
            capture_output=True, text=True, cwd=ROOT,
        )
        wall = time.perf_counter() - start
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    done = json.loads(proc.stdout.splitlines()[-1])
    print(f"MNIST CNN template, mnist-embedded: test accuracy {done['test_accuracy']:.4f} "
          f"(target ≥ 0.98), training {done['duration']:.1f} s, whole command {wall:.1f} s "
          f"(target ≤ 60 s), {done['epochs']} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
