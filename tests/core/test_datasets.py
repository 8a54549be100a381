"""Dataset registry and loaders: embedded MNIST, synthetic sets, user files, offline downloads."""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.datasets import (
    DEFAULT_DATASET,
    Dataset,
    DatasetError,
    dataset_names,
    describe,
    downloads,
    labels_look_one_hot,
    load_dataset,
    one_hot,
)
from workbench.core.datasets.splits import allocate, stratified_split

REPO = Path(__file__).resolve().parents[2]
RAW_MNIST_COUNTS = np.bincount(np.load(REPO / "resources/datasets/mnist-10k.npz")["y"])


@pytest.fixture(scope="module")
def embedded() -> Dataset:
    return load_dataset("mnist-embedded")


# --- registry -----------------------------------------------------------------------------------


def test_import_does_not_load_tensorflow():
    code = "import workbench.core.datasets, sys; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_default_dataset_loads_without_tensorflow():
    # The GUI loads it at start-up while TensorFlow is still importing in the background.
    code = (
        "import sys; from workbench.core.datasets import load_dataset; "
        "load_dataset('mnist-embedded'); load_dataset('regression-line'); "
        "assert 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_names_and_descriptions():
    names = ["mnist-embedded", "mnist", "fashion-mnist", "fonts", "regression-line",
             "random-classes"]
    assert dataset_names() == names
    assert DEFAULT_DATASET == "mnist-embedded"
    for name in names:
        text = describe(name)
        assert text and "\n" not in text
    assert "10,000" in describe("mnist-embedded")


def test_unknown_name_lists_valid_names():
    with pytest.raises(DatasetError) as error:
        load_dataset("no-such-dataset")
    message = str(error.value)
    assert "no-such-dataset" in message
    assert all(name in message for name in dataset_names())
    with pytest.raises(DatasetError):
        describe("no-such-dataset")


# --- embedded MNIST -----------------------------------------------------------------------------


def test_embedded_shapes_dtypes_and_ranges(embedded):
    assert embedded.name == "mnist-embedded"
    assert embedded.x_train.shape == (8000, 28, 28)
    assert embedded.x_test.shape == (2000, 28, 28)
    assert embedded.x_train.dtype == embedded.x_test.dtype == np.float32
    assert embedded.y_train.dtype == embedded.y_test.dtype == np.int64
    assert embedded.y_train.shape == (8000,)
    assert 0.0 <= embedded.x_train.min() and embedded.x_train.max() <= 1.0
    assert embedded.x_train.max() > 0.9
    assert embedded.task == "classification"
    assert embedded.class_names == [str(d) for d in range(10)]
    assert embedded.input_shape == (28, 28)
    assert embedded.num_classes == 10
    assert embedded.is_image
    assert "8,000 train / 2,000 test" in embedded.description


def test_embedded_split_is_stratified_and_shuffled(embedded):
    train_counts = np.bincount(embedded.y_train, minlength=10)
    test_counts = np.bincount(embedded.y_test, minlength=10)
    # Together the splits hold every digit of the file exactly once per class count.
    np.testing.assert_array_equal(train_counts + test_counts, RAW_MNIST_COUNTS)
    # Each class is split about 80/20.
    np.testing.assert_allclose(test_counts / RAW_MNIST_COUNTS, 0.2, atol=0.01)
    # The file is sorted by class; the splits must not be.
    for labels in (embedded.y_train[:100], embedded.y_test[:100]):
        assert len(np.unique(labels)) == 10
        assert np.any(np.diff(labels) < 0)


def test_embedded_is_deterministic_per_seed(embedded):
    again = load_dataset("mnist-embedded", seed=0)
    np.testing.assert_array_equal(again.y_train, embedded.y_train)
    np.testing.assert_array_equal(again.x_test, embedded.x_test)
    other = load_dataset("mnist-embedded", seed=1)
    assert not np.array_equal(other.y_train, embedded.y_train)


def test_embedded_arrays_are_independent_copies(embedded):
    again = load_dataset("mnist-embedded")
    again.x_train[0] = 0.5
    assert not np.all(embedded.x_train[0] == 0.5)


# --- synthetic ----------------------------------------------------------------------------------


def test_regression_line():
    data = load_dataset("regression-line", seed=3)
    assert data.task == "regression"
    assert data.x_train.shape == data.y_train.shape == (100, 1)
    assert data.x_test.shape == data.y_test.shape == (20, 1)
    assert data.x_train.dtype == data.y_train.dtype == np.float32
    assert data.class_names == [] and data.num_classes == 0
    assert not data.is_image
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    residual = data.y_train - data.x_train
    assert abs(residual.mean()) < 0.05 and 0.05 < residual.std() < 0.15
    np.testing.assert_array_equal(load_dataset("regression-line", seed=3).y_test, data.y_test)


def test_random_classes():
    data = load_dataset("random-classes")
    assert data.task == "classification"
    assert data.x_train.shape == (1000, 100) and data.x_test.shape == (200, 100)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert set(np.unique(data.y_train)) == set(range(10))
    assert data.num_classes == 10 and data.input_shape == (100,)
    assert not data.is_image


# --- .npz files ---------------------------------------------------------------------------------


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 8, 8), dtype=np.uint8)


def test_npz_with_test_split(tmp_path):
    path = tmp_path / "digits.npz"
    y_train = np.arange(30) % 3
    np.savez(
        path,
        x_train=_images(30),
        y_train=y_train,
        x_test=_images(6, seed=1),
        y_test=np.arange(6) % 3,
        class_names=np.array(["cat", "dog", "eel"]),
    )
    data = load_dataset(str(path))
    assert data.name == str(path)
    assert data.x_train.shape == (30, 8, 8) and data.x_test.shape == (6, 8, 8)
    assert data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0
    np.testing.assert_allclose(data.x_train[0] * 255, _images(30)[0], atol=1e-3)
    np.testing.assert_array_equal(data.y_train, y_train)
    assert data.y_train.dtype == np.int64
    assert data.task == "classification"
    assert data.class_names == ["cat", "dog", "eel"]


def test_npz_without_test_split_is_split_80_20_stratified(tmp_path):
    path = tmp_path / "sorted.npz"
    labels = np.repeat(np.arange(4), 25)  # sorted by class, like the embedded file
    np.savez(path, x_train=_images(100), y_train=labels)
    data = load_dataset(path, seed=5)
    assert len(data.x_train) == 80 and len(data.x_test) == 20
    np.testing.assert_array_equal(np.bincount(data.y_test), [5, 5, 5, 5])
    assert data.class_names == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(load_dataset(path, seed=5).y_train, data.y_train)


def test_npz_one_hot_labels_become_integers(tmp_path):
    path = tmp_path / "onehot.npz"
    labels = np.arange(20) % 4
    np.savez(path, x_train=_images(20).reshape(20, -1), y_train=one_hot(labels, 5))
    data = load_dataset(str(path))
    assert data.task == "classification"
    assert data.y_train.ndim == 1 and data.y_train.dtype == np.int64
    assert data.num_classes == 5  # the width of the one-hot rows, even if a class is absent
    assert data.input_shape == (64,)


def test_npz_float_targets_are_regression(tmp_path):
    path = tmp_path / "reg.npz"
    x = np.linspace(0, 1, 50, dtype=np.float64)
    np.savez(path, x_train=x, y_train=2 * x + 0.25)
    data = load_dataset(str(path))
    assert data.task == "regression" and data.class_names == []
    assert data.input_shape == (1,)
    assert data.y_train.dtype == np.float32
    assert len(data.x_train) + len(data.x_test) == 50


def test_npz_whole_float_labels_are_classes(tmp_path):
    path = tmp_path / "floatlabels.npz"
    np.savez(path, x_train=_images(20), y_train=(np.arange(20) % 2).astype(np.float32))
    data = load_dataset(str(path))
    assert data.task == "classification" and data.class_names == ["0", "1"]


def test_npz_negative_labels_are_renumbered(tmp_path):
    path = tmp_path / "signs.npz"
    np.savez(path, x_train=_images(10), y_train=np.array([-1, 1] * 5))
    data = load_dataset(str(path))
    assert data.class_names == ["-1", "1"]
    assert set(np.unique(np.concatenate([data.y_train, data.y_test]))) == {0, 1}


_FOUR = {"x_train": _images(4), "y_train": np.zeros(4)}
_NPZ_PROBLEMS = [
    (
        {"x_train": _images(100), "y_train": np.zeros(90)},
        "x_train has 100 samples but y_train has 90",
    ),
    ({"x_train": _images(1), "y_train": np.zeros(1)}, "at least 2"),
    ({"y_train": np.zeros(3)}, "no 'x_train'"),
    ({"x_train": np.array([[1.0, np.nan]] * 4), "y_train": np.zeros(4)}, "NaN"),
    ({"x_train": np.array(["a", "b"]), "y_train": np.zeros(2)}, "numbers"),
    ({**_FOUR, "x_test": _images(2)}, "without 'y_test'"),
    ({**_FOUR, "x_test": np.zeros((2, 3)), "y_test": np.zeros(2)}, "x_test samples have shape"),
    ({**_FOUR, "y_train": np.arange(4), "class_names": np.array(["a", "b"])}, "lists only 2"),
]


@pytest.mark.parametrize(("arrays", "expected"), _NPZ_PROBLEMS)
def test_npz_problems_are_named(tmp_path, arrays, expected):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=expected) as info:
        load_dataset(str(path))
    assert str(info.value).startswith("bad.npz")  # which file, when several are about


@pytest.mark.parametrize("content", [b"this is not a zip file", b"PK\x03\x04 truncated", b""])
def test_garbage_file_is_a_dataset_error(tmp_path, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="garbage.npz"):
        load_dataset(str(path))


def test_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(DatasetError, match="single array"):
        load_dataset(str(path))


# --- image folders ------------------------------------------------------------------------------


def _write_images(root: Path, classes, count, size=(12, 10), mode="L", sizes=None) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(count):
            w, h = sizes[i % len(sizes)] if sizes else size
            shape = (h, w) if mode == "L" else (h, w, 3)
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels, mode=mode).save(root / c / f"{i}.png")


def test_image_folder_grayscale(tmp_path):
    root = tmp_path / "shapes"
    _write_images(root, ["circle", "square", "triangle"], count=10)
    (root / "notes.txt").write_text("not a class")
    data = load_dataset(str(root))
    assert data.class_names == ["circle", "square", "triangle"]
    assert data.x_train.shape == (24, 10, 12) and data.x_test.shape == (6, 10, 12)
    assert data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0
    assert data.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.y_test), [2, 2, 2])
    assert data.is_image and data.notice == ""


def test_image_folder_pixels_survive_unchanged(tmp_path):
    from PIL import Image

    root = tmp_path / "two"
    for name, value in (("dark", 10), ("light", 250)):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (4, 4), value).save(root / name / f"{i}.png")
    data = load_dataset(str(root))
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    np.testing.assert_allclose(x[y == 0], 10 / 255, atol=1e-6)
    np.testing.assert_allclose(x[y == 1], 250 / 255, atol=1e-6)


def test_image_folder_colour_and_mixed_sizes(tmp_path):
    root = tmp_path / "colour"
    _write_images(root, ["a", "b"], count=5, mode="RGB", sizes=[(16, 16), (16, 16), (9, 7)])
    data = load_dataset(str(root))
    assert data.input_shape == (16, 16, 3)
    assert data.is_image
    assert "resized to 16x16" in data.notice


def test_image_folder_with_broken_image_names_it(tmp_path):
    root = tmp_path / "broken"
    _write_images(root, ["a", "b"], count=2)
    (root / "b" / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match="bad.png"):
        load_dataset(str(root))


@pytest.mark.parametrize("layout", ["empty", "files-only", "one-class"])
def test_image_folder_without_usable_images(tmp_path, layout):
    root = tmp_path / "data"
    root.mkdir()
    if layout == "files-only":
        (root / "readme.txt").write_text("nothing here")
        (root / "empty-class").mkdir()
    if layout == "one-class":
        _write_images(root / "sub", ["only"], count=3)
        root = root / "sub"
    with pytest.raises(DatasetError, match="no images|only one class"):
        load_dataset(str(root))


# --- mnist / fashion-mnist ----------------------------------------------------------------------


@pytest.fixture
def empty_keras_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "keras" / "datasets"
    monkeypatch.setattr(downloads, "keras_cache_dirs", lambda: [cache])
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    return cache


def test_keras_cache_dir_follows_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert downloads.keras_cache_dirs()[0] == tmp_path / "datasets"


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_offline_without_download_fails_at_once(empty_keras_cache, monkeypatch, name):
    monkeypatch.setattr(downloads, "_server_reachable", pytest.fail)
    with pytest.raises(DatasetError, match="downloading is off"):
        load_dataset(name, allow_download=False)


def test_offline_mnist_gives_helpful_message(empty_keras_cache, monkeypatch):
    monkeypatch.setattr(downloads, "_server_reachable", lambda: False)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist")
    message = str(error.value)
    assert "Could not download MNIST" in message
    assert "mnist-embedded" in message and "mnist.npz" in message


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server standing in for Keras's download place: ``server / NAME`` is served."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(downloads, "DOWNLOAD_BASE", f"http://127.0.0.1:{httpd.server_port}/")
    yield root
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_a_failed_download_becomes_dataset_error(empty_keras_cache, server):
    # The server answers (the probe passes) but has no such files: 404s.
    with pytest.raises(DatasetError, match="no internet connection.*mnist-embedded"):
        load_dataset("mnist")
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    assert socket.getdefaulttimeout() is None
    assert not [p for p in empty_keras_cache.rglob("*") if p.is_file()]  # nothing half-written


def test_mnist_downloads_keras_file_without_keras(empty_keras_cache, server, monkeypatch, capsys):
    np.savez(server / "mnist.npz", x_train=_images(10), y_train=np.arange(10) % 10,
             x_test=_images(4), y_test=np.arange(4))
    # A file that is not the published one is refused and not kept.
    with pytest.raises(DatasetError, match="mnist.npz does not match its published SHA-256"):
        load_dataset("mnist")
    assert not [p for p in empty_keras_cache.rglob("*") if p.is_file()]
    monkeypatch.setattr(downloads, "MNIST_SHA256",
                        hashlib.sha256((server / "mnist.npz").read_bytes()).hexdigest())
    data = load_dataset("mnist")
    assert capsys.readouterr().out == ""  # stdout carries the CLI's JSON lines
    assert data.x_train.shape == (10, 8, 8) and data.x_train.dtype == np.float32
    assert data.class_names == [str(d) for d in range(10)]
    assert (empty_keras_cache / "mnist.npz").is_file()  # where Keras keeps it: found offline
    assert load_dataset("mnist", allow_download=False).x_test.shape == (4, 8, 8)


def test_fashion_mnist_downloads_its_four_files(empty_keras_cache, server):
    x = np.random.default_rng(1).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    y = np.arange(20) % 10
    _write_idx(server / "train-images-idx3-ubyte", x)
    _write_idx(server / "train-labels-idx1-ubyte", y)
    _write_idx(server / "t10k-images-idx3-ubyte", x[:10])
    _write_idx(server / "t10k-labels-idx1-ubyte", y[:10])
    data = load_dataset("fashion-mnist")
    assert data.x_train.shape == (20, 28, 28) and data.x_test.shape == (10, 28, 28)
    folder = empty_keras_cache / "fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(downloads.FASHION_FILES)
    assert str(folder) in data.description


def test_mnist_from_keras_cache_needs_no_network(empty_keras_cache, monkeypatch):
    monkeypatch.setattr(downloads, "_server_reachable", pytest.fail)
    empty_keras_cache.mkdir(parents=True)
    np.savez(
        empty_keras_cache / "mnist.npz",
        x_train=_images(12),
        y_train=np.arange(12) % 10,
        x_test=_images(5),
        y_test=np.arange(5),
    )
    data = load_dataset("mnist", allow_download=False)
    assert data.x_train.shape == (12, 8, 8) and data.y_test.dtype == np.int64


def _write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_from_debian_folder(empty_keras_cache, tmp_path, monkeypatch, compress):
    folder = tmp_path / "debian" / "fashion-mnist"
    folder.mkdir(parents=True)
    x_train = np.random.default_rng(0).integers(0, 256, (30, 28, 28), dtype=np.uint8)
    y_train = np.arange(30) % 10
    _write_idx(folder / "train-images-idx3-ubyte", x_train, compress)
    _write_idx(folder / "train-labels-idx1-ubyte", y_train, compress)
    _write_idx(folder / "t10k-images-idx3-ubyte", x_train[:10], compress)
    _write_idx(folder / "t10k-labels-idx1-ubyte", y_train[:10], compress)
    monkeypatch.setattr(downloads, "DEBIAN_FASHION_MNIST", folder)
    monkeypatch.setattr(downloads, "_server_reachable", pytest.fail)

    data = load_dataset("fashion-mnist", allow_download=False)
    assert data.x_train.shape == (30, 28, 28) and data.x_test.shape == (10, 28, 28)
    np.testing.assert_allclose(data.x_train * 255, x_train, atol=1e-3)
    np.testing.assert_array_equal(data.y_train, y_train)
    assert data.class_names[0] == "T-shirt/top" and data.class_names[-1] == "Ankle boot"
    assert str(folder) in data.description


def test_idx_with_bad_header_is_a_dataset_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x01\x02\x03\x04 definitely not idx")
    with pytest.raises(DatasetError, match="idx"):
        downloads.read_idx(path)


@pytest.mark.skipif(
    not (downloads.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist is not installed",
)
def test_real_debian_fashion_mnist():
    data = load_dataset("fashion-mnist", allow_download=False)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(data.y_test), [1000] * 10)


# --- samples, subset, helpers -------------------------------------------------------------------


def test_samples_cover_every_class(embedded):
    x, y = embedded.samples(16)
    assert x.shape == (16, 28, 28) and y.shape == (16,)
    assert set(y.tolist()) == set(range(10))
    x_train, _ = embedded.samples(3, split="train", seed=2)
    assert len(x_train) == 3
    np.testing.assert_array_equal(embedded.samples(16)[1], y)
    with pytest.raises(ValueError):
        embedded.samples(4, split="validation")


def test_samples_never_exceed_what_exists():
    data = load_dataset("regression-line")
    x, y = data.samples(500)
    assert len(x) == len(y) == 20


def test_subset_is_small_stratified_copy(embedded):
    small = embedded.subset(200, 50, seed=1)
    assert small.x_train.shape == (200, 28, 28) and small.x_test.shape == (50, 28, 28)
    assert np.bincount(small.y_train, minlength=10).min() >= 15
    assert set(small.y_test.tolist()) == set(range(10))
    assert small.class_names == embedded.class_names and small.task == embedded.task
    assert "subset" in small.description
    assert len(embedded.x_train) == 8000  # the original is untouched
    default_test = embedded.subset(400)
    assert len(default_test.x_test) == 100  # shrinks with the same 80/20 ratio


def test_subset_of_regression_data():
    small = load_dataset("regression-line").subset(10, 5)
    assert small.x_train.shape == (10, 1) and small.y_test.shape == (5, 1)


def test_one_hot_round_trip():
    labels = np.array([2, 0, 1, 2])
    encoded = one_hot(labels, 3)
    assert encoded.dtype == np.float32 and encoded.shape == (4, 3)
    np.testing.assert_array_equal(encoded.argmax(axis=1), labels)
    assert labels_look_one_hot(encoded)
    assert not labels_look_one_hot(labels)
    assert not labels_look_one_hot(encoded * 0.5)
    assert not labels_look_one_hot(np.ones((4, 3)))
    with pytest.raises(ValueError):
        one_hot([3], 3)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12),
    n=st.integers(min_value=0, max_value=500),
)
def test_allocate_is_exact_and_fair(counts, n):
    take = allocate(counts, n)
    counts = np.array(counts)
    assert take.sum() == min(n, counts.sum())
    assert np.all((take >= 0) & (take <= counts))
    if n >= np.count_nonzero(counts):
        assert np.all(take[counts > 0] >= 1)


@given(labels=st.lists(st.integers(0, 4), min_size=2, max_size=60), seed=st.integers(0, 9))
def test_stratified_split_partitions_the_samples(labels, seed):
    y = np.array(labels)
    train, test = stratified_split(y, max(1, len(y) // 5), seed)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(y)))
    assert set(y[train].tolist()) == set(labels)  # every class keeps a training sample
