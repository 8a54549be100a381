"""MNIST and Fashion-MNIST: from a local copy when there is one, else downloaded.

Local copies are read with numpy alone (no TensorFlow import, no network): Keras's own cache in
``~/.keras/datasets`` and, for Fashion-MNIST, the Debian package ``dataset-fashion-mnist``. A
download fetches the files ``keras.datasets`` fetches, from the same place, with the same check
(MNIST's published SHA-256), into that same cache, but with urllib alone: the window's process
loads datasets and never imports TensorFlow or Keras (#26). It starts only after a quick check
that the server answers, every read has a timeout, and a file is kept only whole and checked.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import socket
import struct
import tempfile
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from workbench.core.datasets.builtin import DIGIT_NAMES, scale_images
from workbench.core.datasets.dataset import Dataset, DatasetError
from workbench.i18n import N_, _

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
# Where keras.datasets downloads them from, and MNIST's SHA-256 as Keras checks it.
DOWNLOAD_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
MAX_DOWNLOAD_BYTES = 100 << 20  # each file: MNIST's is 11 MB, Fashion-MNIST's 26 MB at most
PROBE_TIMEOUT_S = 3.0
DOWNLOAD_TIMEOUT_S = 30.0

FASHION_CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
MNIST_DESCRIPTION = N_("70,000 MNIST handwritten digits from Keras (60,000 train / 10,000 "
                       "test)")
FASHION_DESCRIPTION = N_(
    "70,000 Fashion-MNIST clothing images in 10 classes (60,000 train / 10,000 test)"
)
EMBEDDED_HINT = N_("Use 'mnist-embedded' (10,000 real digits shipped with the app)")

# idx type codes (http://yann.lecun.com/exdb/mnist/): big-endian numbers after the header.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")  # fmt: skip


def keras_cache_dirs() -> list[Path]:
    """Where Keras keeps downloads: ``$KERAS_HOME`` or ``~/.keras``, and its /tmp fallback."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    return [home / "datasets", Path("/tmp/.keras/datasets")]


def _shown(path: Path) -> str:
    """A path as the user would type it: ``~/.keras/datasets/`` rather than /root/..."""
    with contextlib.suppress(ValueError):
        return f"~/{path.relative_to(Path.home())}/"
    return f"{path}/"


# --- idx files ----------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """One idx array (the MNIST file format), plain or gzip-compressed."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            data = stream.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(_("Could not read {path} ({exc}).").format(
                               path=path, exc=exc)) from None
    if len(data) < 4 or data[0] or data[1] or data[2] not in _IDX_TYPES:
        raise DatasetError(_("{path} is not an idx file (bad header).").format(
                               path=path))
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(_("{path} is truncated.").format(path=path))
    shape = struct.unpack(f">{ndim}I", data[4:header])
    values = np.frombuffer(data, dtype=_IDX_TYPES[data[2]], offset=header)
    if values.size != int(np.prod(shape)):
        raise DatasetError(
            _("{path} should hold {prod} values for shape {shape} but holds {size}.").format(
                path=path, prod=int(np.prod(shape)), shape=shape, size=values.size)
        )
    return values.reshape(shape).astype(values.dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx_folder(folder: Path):
    """``(x_train, y_train), (x_test, y_test)`` from the four standard idx files, or None."""
    paths = [_find_idx(folder, stem) for stem in _IDX_STEMS]
    if None in paths:
        return None
    x_train, y_train, x_test, y_test = (read_idx(path) for path in paths)
    for split, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        if x.ndim != 3 or y.ndim != 1:
            raise DatasetError(
                _("{folder}: {split} images should be 3-D and labels 1-D, not {shape} "
                  "and {shape2}.").format(
                    folder=folder, split=split, shape=x.shape, shape2=y.shape)
            )
        if len(x) != len(y):
            raise DatasetError(
                _("{folder}: {split} images hold {n_x} samples but labels hold {n_y}.").format(
                    folder=folder, split=split, n_x=len(x), n_y=len(y))
            )
    return (x_train, y_train), (x_test, y_test)


# --- downloads ----------------------------------------------------------------------------------


def _server_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the download server opens within ``timeout`` seconds.

    Runs in a daemon thread because name resolution ignores socket timeouts. With a proxy
    configured we cannot tell from here, so we let the download try.
    """
    import urllib.parse
    import urllib.request  # (here: http.client and its kin cost the window's start ~15 ms)

    if urllib.request.getproxies():
        return True
    answered: list[bool] = []
    url = urllib.parse.urlsplit(DOWNLOAD_BASE)
    port = url.port or (443 if url.scheme == "https" else 80)

    def probe() -> None:
        try:
            socket.create_connection((url.hostname, port), timeout=timeout).close()
            answered.append(True)
        except OSError:
            answered.append(False)

    thread = threading.Thread(target=probe, name="dataset-download-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answered and answered[0])


class _NotTheFile(Exception):  # noqa: N818 - reads as what the server sent
    """The server answered with something other than the published file."""


def cache_folder() -> Path:
    """Where a download goes: Keras's cache, or its /tmp fallback where that cannot be made."""
    for folder in keras_cache_dirs():
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
    return keras_cache_dirs()[-1]


def _fetch(name: str, target: Path, sha256: str | None = None) -> None:
    """``DOWNLOAD_BASE + name`` saved as ``target``: whole and checked, or not at all."""
    import urllib.request

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(
                DOWNLOAD_BASE + name, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while block := response.read(1 << 20):
                size += len(block)
                if size > MAX_DOWNLOAD_BYTES:
                    raise _NotTheFile(_("{name} is larger than {size} MB").format(
                        name=name, size=MAX_DOWNLOAD_BYTES >> 20))
                digest.update(block)
                out.write(block)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise _NotTheFile(_("{name} does not match its published SHA-256").format(name=name))
        os.replace(part, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _download(title: str, fetch, advice: str, allow_download: bool):
    """Run ``fetch()``; any failure becomes one DatasetError carrying ``advice``."""
    if not allow_download:
        raise DatasetError(_("{title} is not on this computer and downloading is off. "
                             "{advice}").format(title=title, advice=advice))
    failure = _("Could not download {title} (no internet connection?). {advice}").format(
                  title=title, advice=advice)
    if not _server_reachable():
        raise DatasetError(failure)
    try:
        return fetch()
    except _NotTheFile as exc:
        raise DatasetError(_("Could not download {title}: {reason}. {advice}").format(
            title=title, reason=exc, advice=advice)) from None
    except (OSError, ValueError) as exc:  # urllib's URLError and timeouts are OSErrors
        raise DatasetError(failure) from exc


# --- the two datasets ---------------------------------------------------------------------------


def _mnist_arrays(allow_download: bool):
    for folder in keras_cache_dirs():
        path = folder / "mnist.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as archive:
                    return (archive["x_train"], archive["y_train"]), (
                        archive["x_test"],
                        archive["y_test"],
                    )
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                raise DatasetError(
                    _("{path} is damaged ({exc}); delete it to download MNIST again.").format(
                        path=path, exc=exc)
                ) from None
    cache = _shown(keras_cache_dirs()[0])
    advice = _("{embedded_hint}, or put mnist.npz in {cache}").format(
                 embedded_hint=_(EMBEDDED_HINT), cache=cache)
    target = cache_folder() / "mnist.npz"
    _download("MNIST", lambda: _fetch("mnist.npz", target, MNIST_SHA256), advice + ".",
              allow_download)
    return _mnist_arrays(allow_download=False)


def _fashion_arrays(allow_download: bool) -> tuple[tuple, str]:
    """The arrays and where they came from."""
    for folder in (DEBIAN_FASHION_MNIST, *(d / "fashion-mnist" for d in keras_cache_dirs())):
        arrays = read_idx_folder(folder)
        if arrays is not None:
            return arrays, str(folder)
    cache = _shown(keras_cache_dirs()[0] / "fashion-mnist")
    advice = (
        _("Install it with 'apt-get install dataset-fashion-mnist', or put its four "
          "*-ubyte.gz files in {cache}.").format(cache=cache)
    )
    folder = cache_folder() / "fashion-mnist"

    def fetch() -> None:
        for name in FASHION_FILES:
            if not (folder / name).is_file():  # one fetched before a failure is kept
                _fetch(name, folder / name)

    _download("Fashion-MNIST", fetch, advice, allow_download)
    arrays = read_idx_folder(folder)
    if arrays is None:  # (the files are all there: read_idx_folder read them or raised)
        raise DatasetError(_("Could not read Fashion-MNIST in {folder}.").format(folder=folder))
    return arrays, str(folder)


def _image_dataset(name, arrays, class_names, description) -> Dataset:
    splits = [(scale_images(np.asarray(x)), np.asarray(y).astype(np.int64)) for x, y in arrays]
    return Dataset.from_splits(name, splits, "classification", class_names, description)


def load_mnist(seed: int = 0, allow_download: bool = True) -> Dataset:
    """Keras's MNIST split as published; ``seed`` is unused (nothing random)."""
    del seed
    return _image_dataset("mnist", _mnist_arrays(allow_download), DIGIT_NAMES,
                          _(MNIST_DESCRIPTION))


def load_fashion_mnist(seed: int = 0, allow_download: bool = True) -> Dataset:
    """Fashion-MNIST as published; ``seed`` is unused (nothing random)."""
    del seed
    arrays, source = _fashion_arrays(allow_download)
    description = _("{description}, from {source}").format(
        description=_(FASHION_DESCRIPTION), source=source)
    return _image_dataset("fashion-mnist", arrays, FASHION_CLASS_NAMES, description)
