"""kill -9 during a run's final save (#24): no run is lost and nothing stray is left.

Each round trains a small project (``workbench train --json --out OUT``) and, once its final save
has begun (the folder ``OUT/NAME.backup/final`` it writes the ``.keras`` and the project in
appears), kills it with SIGKILL at a random moment of the save: the ``.keras`` and the project
being written and renamed into OUT, the backup being removed (the save's length, to the backup's
removal, is measured first on a run left alone; the kills fall in 1.25 times that). Then, as a
user would: if ``OUT/NAME.backup`` is there, ``train --resume`` it. A round passes when OUT ends
holding the trained project (with the run's every epoch) and a ``.keras`` that loads, and nothing
else.

    python benchmarks/bench_kill_save.py [--kills 20] [--seed 0] [--epochs 2]

Prints one line per kill and the figure: kills, runs lost, stray files left.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def workbench(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", *args], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def make_project(folder: Path, epochs: int) -> Path:
    with np.load(ROOT / "resources" / "datasets" / "mnist-10k.npz") as data:
        x, y = data["x"], data["y"]
    pick = np.random.default_rng(0).permutation(len(x))[:600]
    np.savez(folder / "digits.npz", x_train=x[pick[:500]], y_train=y[pick[:500]],
             x_test=x[pick[500:]], y_test=y[pick[500:]])
    project = json.loads((ROOT / "resources" / "templates" / "mnist-mlp.json").read_text())
    project["dataset"] = str(folder / "digits.npz")
    project["training"]["epochs"] = epochs
    path = folder / "p.json"
    path.write_text(json.dumps(project))
    return path


def train_until_the_save(project: Path, out: Path, epochs: int) -> tuple[subprocess.Popen,
                                                                          float]:
    """A run started and watched until its final save begins: the process and that moment."""
    proc = workbench("train", str(project), "--json", "--out", str(out))
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "epoch_end" and event["epoch"] == epochs - 1:
            break
    staging = out / "p.backup" / "final"
    while not staging.exists() and proc.poll() is None:
        time.sleep(0.0005)
    if proc.poll() is not None and proc.returncode != 0:
        raise SystemExit(f"the run failed: {proc.stderr.read().strip()}")
    return proc, time.perf_counter()


def results_whole(out: Path, epochs: int, keras) -> bool:
    try:
        record = json.loads((out / "p.json").read_text())["runs"][-1]
        keras.models.load_model(out / "p.keras", compile=False)
    except Exception:  # noqa: BLE001 - any way of not being whole
        return False
    return record.get("epochs") == epochs and len(record["history"]["loss"]) == epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-kill-save-") as tmp:
        folder = Path(tmp)
        project = make_project(folder, args.epochs)
        proc, last = train_until_the_save(project, folder / "alone", args.epochs)
        while (folder / "alone" / "p.backup").exists() and proc.poll() is None:
            time.sleep(0.0005)
        window = 1.25 * (time.perf_counter() - last)
        proc.communicate()
        if proc.returncode != 0 or not results_whole(folder / "alone", args.epochs, keras):
            raise SystemExit("the run left alone did not save its results")
        print(f"final save begun -> backup removed, × 1.25: {window * 1000:.0f} ms (the kill "
              "window)")
        kills = lost = stray = resumed = tries = 0
        while kills < args.kills and tries < 3 * args.kills:
            tries += 1
            out = folder / f"out-{tries}"
            proc, last = train_until_the_save(project, out, args.epochs)
            delay = rng.uniform(0, window)
            time.sleep(max(0.0, delay - (time.perf_counter() - last)))
            if proc.poll() is not None:  # it finished first: not a kill
                proc.communicate()
                continue
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1
            left = sorted(p.name for p in out.iterdir()) if out.exists() else []
            if (out / "p.backup").exists():
                again = workbench("train", str(project), "--json", "--out", str(out),
                                  "--resume", str(out / "p.backup"))
                _, err = again.communicate()
                resumed += 1
                if again.returncode != 0:
                    print(f"  resume failed: {err.strip()}")
            whole = results_whole(out, args.epochs, keras)
            extra = sorted(set(p.name for p in out.iterdir()) - {"p.json", "p.keras"}) \
                if out.exists() else []
            lost += not whole
            stray += len(extra)
            print(f"kill {kills:2d} at {delay * 1000:4.0f} ms: left {left or 'nothing'}; "
                  f"{'whole' if whole else 'LOST'}{'; stray ' + str(extra) if extra else ''}")
        print(f"{kills} kills during the final save: {lost} runs lost, {stray} stray files; "
              f"{resumed} went on with --resume, {kills - resumed} were already whole")


if __name__ == "__main__":
    main()
