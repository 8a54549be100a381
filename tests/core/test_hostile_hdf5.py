"""Legacy .h5 models (#19): an HDF5 file is checked dataset by dataset before Keras reads it;
bombs, links to other files and data kept outside the file are refused in one line naming it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests.core import hostile
from workbench.core.modelio import ModelFileError, check_keras_archive, load_model
from workbench.core.safe_hdf5 import check_hdf5
from workbench.core.safe_io import FileRefused


def _refused(path) -> str:
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_a_gzip_bomb_in_an_h5_is_refused_by_its_declared_size(tmp_path):
    path = hostile.h5_bomb(tmp_path / "bomb.h5")
    assert path.stat().st_size < 8_000_000
    assert "from 4.2 MB to 4.3 GB (a compression bomb?)" in _refused(path)
    assert "'model_weights/dense/kernel'" in _refused(path)


def test_a_dataset_that_stores_nothing_but_declares_gigabytes_is_refused(tmp_path):
    path = tmp_path / "sparse.h5"
    with h5py.File(path, "w") as h5:  # unwritten chunks read as fill value: 8 GB of it
        h5.create_dataset("w", shape=(1 << 30,), dtype="float64", chunks=(1 << 16,))
    assert path.stat().st_size < 10_000
    assert "'w' would inflate from 0 bytes to 8.6 GB" in _refused(path)


@pytest.mark.parametrize("make, reason", [
    (lambda h5: h5.__setitem__("w", h5py.ExternalLink("/dev/zero", "/x")),
     "its link 'w' points to another file (/dev/zero)"),
    (lambda h5: h5.create_dataset("w", shape=(10,), dtype="f4",
                                  external=[("/dev/zero", 0, 40)]),
     "its dataset 'w' reads its data from other files"),
])
def test_links_and_data_outside_the_file_are_refused(tmp_path, make, reason):
    path = tmp_path / "outside.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["model_config"] = "{}"
        make(h5)
    assert _refused(path) == f"{path}: refused: {reason}"


def test_a_file_named_h5_that_is_not_hdf5_says_so(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"not hdf5 at all" * 10)
    assert _refused(path) == f"{path}: not a valid legacy .h5 model file (it is not an HDF5 file)"


def test_an_honest_h5_passes_the_check_and_loads(tmp_path):
    from workbench.core.tf_loader import load_tensorflow

    keras = load_tensorflow()[1]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "honest.h5")
    check_hdf5(tmp_path / "honest.h5", "model", "legacy .h5 model file")
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(load_model(tmp_path / "honest.h5").predict(x, verbose=0),
                               model.predict(x, verbose=0))


def test_an_h5_larger_than_free_memory_is_refused(tmp_path, monkeypatch):
    from workbench.core import safe_io

    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("w", data=np.zeros(1000, "float32"))
    monkeypatch.setattr(safe_io, "available_memory", lambda: 2000)  # check_fits_memory reads it
    with pytest.raises(FileRefused, match=r"big.h5: the legacy .h5 model file needs .* of memory"):
        check_hdf5(path, "model", "legacy .h5 model file")


def test_a_legacy_file_whose_weights_do_not_fit_says_so_in_our_words(tmp_path):
    import json

    from workbench.core.tf_loader import load_tensorflow

    keras = load_tensorflow()[1]
    path = tmp_path / "edited.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")]).save(path)
    with h5py.File(path, "a") as h5:
        config = json.loads(h5.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["units"] = 5
        h5.attrs["model_config"] = json.dumps(config)
    assert _refused(path) == (f"{path}: the weights stored in the file do not fit its layers "
                              "(layer dense expects (3, 5), the file holds (3, 2))")
    with h5py.File(path, "a") as h5:
        h5.attrs["model_config"] = "{not json"
    assert _refused(path).startswith(f"{path}: its model description is not valid JSON (")


def test_a_keras_file_whose_weights_are_a_bomb_is_refused_before_keras_reads_them(tmp_path):
    import zipfile

    from workbench.core.tf_loader import load_tensorflow

    keras = load_tensorflow()[1]
    source = tmp_path / "source.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")]).save(source)
    with zipfile.ZipFile(source) as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5", "a") as h5:  # the kernel, sparse: 8 GB
        del h5["layers/dense/vars/0"]
        h5.create_dataset("layers/dense/vars/0", shape=(1 << 30,), dtype="f8", chunks=(1 << 16,))
    path = tmp_path / "sparse.keras"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, (tmp_path / info.filename).read_bytes()
                         if info.filename == "model.weights.h5" else old.read(info))
    reason = (f"{path}: refused: its model.weights.h5 dataset 'layers/dense/vars/0' would "
              "inflate from 0 bytes to 8.6 GB (a compression bomb?)")
    with pytest.raises(ModelFileError) as info:
        check_keras_archive(path)  # ours, before Keras (older Keras has no guard of its own)
    assert str(info.value) == reason
    assert _refused(path) == reason
