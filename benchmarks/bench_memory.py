"""Peak memory of training on 60k samples: the train action beside plain ``model.fit``.

Each case runs in a fresh interpreter and reports its peak resident memory (``ru_maxrss``):
- ``baseline``: TensorFlow imported, the model built and fitted on 256 samples (TF's own cost);
- ``plain fit``: ``model.fit`` on the float32 arrays, ``validation_split`` 0.1, as a script would;
- ``workbench``: the app's train action (``actions.train``), the dataset loaded by the app.
The figure is (peak − baseline) ÷ the float32 training data (N × 784 × 4 bytes): the target is
≤ 1.5. Fashion-MNIST (Debian ``dataset-fashion-mnist``) when installed, else 60k synthetic
digits of the same shape saved as an ``.npz``. One epoch of the MNIST MLP template.

    python benchmarks/bench_memory.py [--samples 60000] [--template mnist-mlp]
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

CHILD = r"""
import json, os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {root!r})
case, dataset_name, template, samples = {case!r}, {dataset!r}, {template!r}, {samples}
import numpy as np
from workbench.core.templates import load_template
from workbench.core.datasets import load_dataset
from workbench.core.build import build_model, compile_model, set_seed
project = load_template(template)
config = project.training
config.epochs = 1
if case == "baseline":
    set_seed(0)
    model = build_model(project.model)
    compile_model(model, config)
    x = np.random.rand(256, *project.model.input_shape).astype("float32")
    model.fit(x, np.zeros(256, "int64"), epochs=1, verbose=0)
else:
    dataset = load_dataset(dataset_name, seed=0, allow_download=False)
    assert len(dataset.x_train) >= samples, len(dataset.x_train)
    if case == "plain fit":
        x = np.asarray(dataset.x_train[:samples], "float32")
        y = np.asarray(dataset.y_train[:samples])
        del dataset
        set_seed(0)
        model = build_model(project.model)
        compile_model(model, config)
        model.fit(x, y, epochs=1, batch_size=config.batch_size, validation_split=0.1, verbose=0)
    else:
        from workbench.actions.train import train
        from workbench.core.training import TrainingListener
        train(project.model, config, dataset, dataset_name, TrainingListener())
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(case: str, dataset: str, template: str, samples: int) -> float:
    code = CHILD.format(root=str(ROOT), case=case, dataset=dataset, template=template,
                        samples=samples)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def synthetic(samples: int, folder: Path) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    path = folder / "digits60k.npz"
    np.savez(path, x_train=rng.integers(0, 256, (samples, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, samples), x_test=rng.integers(0, 256, (1000, 28, 28),
                                                                         dtype=np.uint8),
             y_test=rng.integers(0, 10, 1000))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--template", default="mnist-mlp")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fashion = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
        dataset = "fashion-mnist" if fashion.exists() else synthetic(args.samples, Path(tmp))
        data_mb = args.samples * 28 * 28 * 4 / 2**20
        print(f"dataset {Path(dataset).name}, {args.samples:,} samples: float32 data "
              f"{data_mb:.0f} MB; template {args.template}; load {os.getloadavg()[0]:.1f}")
        base = run("baseline", dataset, args.template, args.samples)
        print(f"  baseline (TensorFlow + model): peak {base:7.0f} MB")
        for case in ("plain fit", "workbench"):
            peak = run(case, dataset, args.template, args.samples)
            print(f"  {case:28} peak {peak:7.0f} MB   (peak − baseline) ÷ data "
                  f"{(peak - base) / data_mb:.2f}")
        print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
