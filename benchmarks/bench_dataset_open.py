"""Opening a big image folder and a big ``.npz``: the Workbench against
``keras.utils.image_dataset_from_directory``, side by side, each in a fresh child process.

Writes N grey 28×28 PNGs in 10 class folders and the same images as an ``.npz`` (stored, so it
is memory-mapped, and compressed), once, into ``--cache`` (reused by later runs). Each row is
the seconds until the Data tab could show the dataset (counts per class and split, class
names, the first screen of 96 thumbnails decoded) and the peak resident memory of the process.
Keras lists the files when the dataset is made and decodes while it is iterated: its row is the
listing plus one batch of 64, and its memory includes importing TensorFlow (~450 MB), which the
Workbench's open does not need. ``--train`` adds two epochs of a small MLP on the streamed
folder (the Workbench's tf.data pipeline; the second reads the images it kept decoded) and on
Keras's dataset (which decodes every epoch): seconds per epoch and peak memory.

    python benchmarks/bench_dataset_open.py [--images 100000] [--train]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GRID = 96

CHILD = r"""
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
how, path, train = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if how == "keras":
    import keras
started = time.perf_counter()
if how == "keras":
    ds = keras.utils.image_dataset_from_directory(path, color_mode="grayscale",
                                                  image_size=(28, 28), batch_size=64, seed=0)
    next(iter(ds))
    counts, classes = len(ds.file_paths), ds.class_names
else:
    from workbench.actions import explore
    from workbench.core.datasets import load_dataset
    data = load_dataset(path, lazy=None if how == "workbench" else False)
    parts = explore.splits(data, 0.1, 0)
    counts = sum(map(sum, explore.class_counts(data, parts).values()))
    classes = data.class_names
    grid = data.x_train[parts.train[:%(grid)d]]
seconds = time.perf_counter() - started
row = {"seconds": seconds, "images": counts, "classes": len(classes),
       "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if train:
    import keras
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    times = []
    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            times.append(time.perf_counter())
        def on_epoch_end(self, epoch, logs=None):
            times[-1] = time.perf_counter() - times[-1]
    if how == "keras":
        model.fit(ds.map(lambda x, y: (x[..., 0] / 255.0, y)), epochs=2, verbose=0,
                  callbacks=[Clock()])
    else:
        from workbench.core.datasets.lazy import keras_stream
        model.fit(keras_stream(data.x_train, data.y_train, 64, shuffle=True, seed=0),
                  epochs=2, verbose=0, callbacks=[Clock()])
    row["epochs"] = times
    row["train_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(row))
""".replace("%(grid)d", str(GRID))


def make_data(cache: Path, n: int) -> dict[str, Path]:
    """The folder and the two .npz files of ``n`` random 28×28 grey images (made once)."""
    from PIL import Image

    folder, stored, packed = (cache / f"images-{n}", cache / f"images-{n}.npz",
                              cache / f"images-{n}-compressed.npz")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = np.arange(n) % 10
    done = folder / ".complete"
    if not done.exists():
        for i in range(n):
            cls = folder / f"class{y[i]}"
            cls.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x[i]).save(cls / f"{i}.png")
        done.touch()
    if not stored.exists():
        np.savez(stored, x_train=x, y_train=y)
    if not packed.exists():
        np.savez_compressed(packed, x_train=x, y_train=y)
    return {"folder": folder, "npz": stored, "npz-compressed": packed}


def measure(how: str, path: Path, train: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", CHILD, how, str(path), "1" if train else "0"],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/workbench-bench-open"))
    parser.add_argument("--train", action="store_true", help="and one epoch of training")
    args = parser.parse_args(argv)
    paths = make_data(args.cache, args.images)
    cases = [
        ("Workbench, folder (streamed)", "workbench", paths["folder"], args.train),
        ("Keras image_dataset_from_directory", "keras", paths["folder"], args.train),
        ("Workbench, stored .npz (mapped)", "workbench", paths["npz"], False),
        ("Workbench, compressed .npz", "workbench", paths["npz-compressed"], False),
        ("  same, decoded at load (before)", "eager", paths["npz-compressed"], False),
    ]
    load = os.getloadavg()
    print(f"{args.images:,} grey 28×28 images in 10 classes; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'':38}{'open s':>8}{'peak RSS MB':>13}" + (
        f"{'epoch 1 s':>11}{'epoch 2 s':>11}{'RSS MB':>8}" if args.train else ""))
    for label, how, path, train in cases:
        row = measure(how, path, train)
        line = f"{label:38}{row['seconds']:8.2f}{row['rss_mb']:13.0f}"
        if "epochs" in row:
            line += f"{row['epochs'][0]:11.1f}{row['epochs'][1]:11.1f}{row['train_rss_mb']:8.0f}"
        print(line, flush=True)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
