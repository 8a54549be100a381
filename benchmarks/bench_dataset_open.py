"""Opening an image folder: the Workbench's loader against keras.utils.image_dataset_from_directory.

Writes N small grey PNGs in 10 class folders (once, in a temporary folder), then opens the folder
in a fresh child process each way and prints the seconds until the counts and classes are known
and the peak resident memory of that process, side by side.

The Workbench decodes every image (Pillow, through safe_io) into arrays when it opens a folder;
the target for big folders is < 2 s for 100,000 images, streamed (issue #16; not met yet).
Keras only lists the files when the dataset is made and decodes while it is iterated: its row is
the time to list plus one batch, and its memory includes importing TensorFlow (~450 MB).

    python benchmarks/bench_dataset_open.py [--images 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
how, folder = sys.argv[1], sys.argv[2]
if how == "keras":
    import keras
started = time.perf_counter()
if how == "workbench":
    from workbench.core.datasets import load_dataset
    data = load_dataset(folder)
    counts, classes = len(data.y_train) + len(data.y_test), data.class_names
else:
    ds = keras.utils.image_dataset_from_directory(folder, color_mode="grayscale",
                                                  image_size=(28, 28), batch_size=64)
    next(iter(ds))
    counts, classes = len(ds.file_paths), ds.class_names
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, "images": counts, "classes": len(classes)}))
"""


def make_folder(root: Path, n: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = root / f"images-{n}"
    for i in range(n):
        cls = folder / f"class{i % 10}"
        cls.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(cls / f"{i}.png")
    return folder


def measure(how: str, folder: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", CHILD, how, str(folder)], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_folder(Path(tmp), args.images)
        rows = {how: measure(how, folder) for how in ("workbench", "keras")}
    print(f"{args.images:,} grey 28×28 PNGs in 10 class folders")
    print(f"{'':34}{'seconds':>9}{'peak RSS MB':>13}")
    labels = {"workbench": "Workbench load_dataset (decodes)",
              "keras": "Keras image_dataset_from_directory"}
    for how, row in rows.items():
        print(f"{labels[how]:34}{row['seconds']:9.2f}{row['rss_mb']:13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
