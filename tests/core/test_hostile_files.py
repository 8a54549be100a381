"""Hostile files (#19): each one crafted here, small on disk, and refused in one readable line
that names it, or handled within bounds; nothing blocks, runs or eats the machine."""

from __future__ import annotations

import json
import os
import stat
import zipfile

import numpy as np
import pytest

from tests.core import hostile
from workbench.core.datasets import DatasetError, load_dataset
from workbench.core.digits import load_image
from workbench.core.modelio import ModelFileError, check_keras_archive, load_model
from workbench.core.project import ProjectError, load_project, save_project
from workbench.core.safe_io import FileRefused, open_image, shown

# --- special files: nothing blocks, nothing reads forever --------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def test_a_fifo_never_blocks_as_project_image_or_dataset(tmp_path, fifo):
    with pytest.raises(ProjectError, match="named pipe"):
        load_project(fifo)  # without O_NONBLOCK this waits for a writer forever
    png = tmp_path / "pipe.png"
    os.mkfifo(png)
    with pytest.raises(ValueError, match="pipe.png: is a named pipe"):
        load_image(png)
    npz = tmp_path / "pipe.npz"
    os.mkfifo(npz)
    with pytest.raises(DatasetError, match="named pipe"):
        load_dataset(str(npz))
    folder = tmp_path / "classes"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
    from PIL import Image

    Image.new("L", (4, 4)).save(folder / "a" / "0.png")
    os.mkfifo(folder / "b" / "0.png")
    with pytest.raises(DatasetError, match=r"b/0.png: is a named pipe"):
        load_dataset(str(folder))


def test_a_link_to_dev_zero_is_refused_not_read(tmp_path):
    link = tmp_path / "project.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ProjectError, match="is a device"):
        load_project(link)
    keras_link = tmp_path / "model.keras"
    keras_link.symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match="is a device"):
        load_model(keras_link)


def test_a_project_larger_than_a_project_is_refused(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as stream:  # sparse: 100 MB long, nothing on disk
        stream.truncate(100 * 2**20)
    with pytest.raises(ProjectError, match="too large for a project file"):
        load_project(path)


# --- images: raster only, by content, within a pixel limit ---------------------------------------


def test_postscript_named_png_is_never_handed_to_ghostscript(tmp_path, monkeypatch):
    import subprocess

    def no_process(*args, **kwargs):  # Pillow's EPS plugin would start gs here
        raise AssertionError("an external program was started")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    path = tmp_path / "digit.png"
    path.write_bytes(hostile.EPS)
    with pytest.raises(ValueError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: not a PNG/JPEG/BMP/GIF/TIFF/WebP image"


def test_a_12000_square_png_is_refused_before_decoding(tmp_path):
    path = hostile.png_bomb(tmp_path / "bomb.png")
    assert path.stat().st_size < 200_000
    with pytest.raises(FileRefused, match=r"12000×12000 is too large"):
        open_image(path)


def test_a_webp_named_png_is_decoded_by_content_in_the_folders_mode(tmp_path):
    from PIL import Image

    root = tmp_path / "digits"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(
                root / name / f"{i}.png")
    grey = Image.fromarray(np.full((8, 8), 200, np.uint8)).convert("RGB")
    grey.save(root / "b" / "odd.png", format="WEBP", lossless=True)
    data = load_dataset(str(root))
    assert data.input_shape == (8, 8)  # still grayscale: the WebP's content is grey
    assert "odd.png is WEBP" in data.notice
    x = np.concatenate([data.x_train, data.x_test])
    assert np.isclose(x, 200 / 255, atol=1e-6).all(axis=(1, 2)).sum() == 1


# --- archives: checked against what they declare, before inflating -----------------------------


def test_an_npz_bomb_is_refused_by_its_declared_sizes(tmp_path):
    path = hostile.npz_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 3_000_000
    with pytest.raises(DatasetError, match=r"bomb.npz: refused: x_train.npy would inflate "
                                           r"from 2.1 MB to 2.1 GB"):
        load_dataset(str(path))


def test_an_npz_whose_header_claims_a_huge_array_is_refused(tmp_path):
    header = hostile.npy_header((400_000, 1_000_000), "<f8")  # 2.9 TiB, a few bytes stored
    path = hostile.raw_zip(tmp_path / "liar.npz", [("x_train.npy", header + bytes(8), 0,
                                                    len(header) + 8)])
    with pytest.raises(DatasetError, match=r"liar.npz: refused: 'x_train' declares a "
                                           r"\(400000, 1000000\) array"):
        load_dataset(str(path))


def test_an_honest_uncompressed_npz_is_memory_mapped(tmp_path):
    from workbench.core.datasets import files

    x, y = hostile.digit_arrays()
    np.savez(tmp_path / "honest.npz", x_train=x, y_train=y)
    arrays = files.read_npz(tmp_path / "honest.npz")
    assert isinstance(arrays["x_train"], np.memmap)
    np.testing.assert_array_equal(arrays["x_train"], x)
    data = load_dataset(str(tmp_path / "honest.npz"))
    assert len(data.x_train) + len(data.x_test) == 40
    np.savez_compressed(tmp_path / "small.npz", x_train=x, y_train=y)
    np.testing.assert_array_equal(files.read_npz(tmp_path / "small.npz")["x_train"], x)


def test_values_beyond_float32_are_refused_not_trained_as_inf(tmp_path):
    x, y = hostile.digit_arrays()
    np.savez(tmp_path / "big.npz", x_train=x.astype(np.float64) * 1e300, y_train=y)
    with pytest.raises(DatasetError, match="beyond float32's range"):
        load_dataset(str(tmp_path / "big.npz"))


def _keras_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3"}))
        for name, data in members:
            archive.writestr(name, data)
    return path


def test_keras_members_outside_the_archive_are_refused_in_one_line(tmp_path, recwarn):
    path = _keras_zip(tmp_path / "escape.keras", [("config.json", "{}"),
                                                   ("../../evil.txt", "x")])
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    assert "refused: the .keras file holds a member named '../../evil.txt'" in str(caught.value)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_a_keras_config_bomb_is_refused_before_keras_opens_it(tmp_path):
    size = 3500 * 2**20
    path = hostile.raw_zip(tmp_path / "bomb.keras", [
        ("config.json", hostile.deflated(b"{", size), 8, size),
        ("metadata.json", b"{}", 0, 2)])
    assert path.stat().st_size < 5_000_000
    with pytest.raises(ModelFileError, match=r"bomb.keras: refused: .*config.json would "
                                             r"inflate"):
        check_keras_archive(path)


def test_keras_assets_larger_than_allowed_are_refused(tmp_path):
    size = 250 * 2**20
    block = hostile.deflated(b"", size)
    members = [("config.json", b"{}", 0, 2)] + [
        (f"assets/a{i}.bin", block, 8, size) for i in range(5)]
    path = hostile.raw_zip(tmp_path / "assets.keras", members)
    with pytest.raises(ModelFileError, match="refused"):
        check_keras_archive(path)


# --- paths and permissions ---------------------------------------------------------------------


def test_a_relative_dataset_path_resolves_beside_the_project(tmp_path, monkeypatch):
    from workbench.core.templates import load_template

    folder = tmp_path / "shared"
    folder.mkdir()
    x, y = hostile.digit_arrays()
    np.savez(folder / "data.npz", x_train=x, y_train=y)
    project = load_template("mnist-mlp")
    project.dataset = "data.npz"
    save_project(project, folder / "p.json")
    monkeypatch.chdir(tmp_path)  # anywhere but the project's folder
    loaded = load_project(folder / "p.json")
    assert loaded.dataset == str(folder / "data.npz")
    save_project(loaded, folder / "p.json")  # stays relative in the file: the folder can move
    assert json.loads((folder / "p.json").read_text())["dataset"] == "data.npz"


def test_an_overwritten_file_keeps_ordinary_permissions(tmp_path):
    from workbench.core.project import write_atomic

    path = tmp_path / "out.json"
    write_atomic(path, "{}")
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o666 & ~_umask()
    write_atomic(path, "{}")  # mkstemp's 0600 used to stick here
    assert stat.S_IMODE(path.stat().st_mode) == mode
    path.chmod(0o640)
    write_atomic(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def test_names_are_shown_without_control_characters():
    assert shown("digits\n\x1b[31mred") == "digits\\n\\x1b[31mred"
    assert shown("plain näme") == "plain näme"


# --- the CLI under a memory limit: bombs end in one line, not in the kernel's OOM killer -----


def _limited_cli(*args, limit=1536 * 2**20):
    import resource
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, PYTHONPATH=str(root), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120, preexec_fn=cap)


def test_bombs_are_refused_in_one_line_under_a_memory_limit(tmp_path):
    from PIL import Image

    npz = hostile.npz_bomb(tmp_path / "bomb.npz")
    folder = tmp_path / "folder"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        Image.new("L", (4, 4)).save(folder / name / "0.png")
    hostile.png_bomb(folder / "b" / "1.png")
    size = 3500 * 2**20
    model = hostile.raw_zip(tmp_path / "bomb\n\x1b[2J.keras", [
        ("config.json", hostile.deflated(b"{", size), 8, size), ("metadata.json", b"{}", 0, 2)])
    legacy = hostile.h5_bomb(tmp_path / "bomb.h5")
    for args, words in (
        (("dataset", npz), ("bomb.npz: refused", "would inflate")),
        (("dataset", folder), ("1.png: refused: 12000×12000 is too large",)),
        (("summary", model), ("bomb\\n\\x1b[2J.keras: refused", "config.json")),
        (("summary", legacy), ("bomb.h5: refused", "a compression bomb")),
    ):
        proc = _limited_cli(*args)
        assert proc.returncode != 0, proc.stdout
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert all(word in lines[0] for word in words), lines[0]
        assert "\x1b" not in proc.stderr


def test_argparse_errors_are_one_line_with_a_hint(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "workbench", "train"], capture_output=True,
                          text=True, timeout=60, cwd=root,
                          env=dict(os.environ, PYTHONPATH=str(root)))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "workbench train: the following arguments are required: project "
        "(see 'workbench train --help')"]


def test_train_refuses_an_out_that_is_a_file_before_the_first_batch(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from workbench.actions.errors import ActionError
    from workbench.actions.train import check_output_folder

    blocker = tmp_path / "results"
    blocker.write_text("in the way")
    with pytest.raises(ActionError, match="results: is a file, not a folder"):
        check_output_folder(blocker / "deeper")
    assert check_output_folder(tmp_path / "new" / "folder") == tmp_path / "new" / "folder"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "train", root / "resources/templates/mnist-mlp.json",
         "--epochs", "1", "--out", blocker], capture_output=True, text=True, timeout=300,
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(root)))
    assert proc.returncode != 0 and "Epoch" not in proc.stdout
    assert proc.stderr.strip().splitlines() == [
        f"workbench: {blocker}: is a file, not a folder to write the results in"]


# --- what train cannot build, summary refuses too ----------------------------------------------


def _project_file(tmp_path, layers, input_shape=(28, 28, 1)):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"format": "workbench/1", "model": {
        "input_shape": list(input_shape), "layers": layers}}))
    return path


@pytest.mark.parametrize("layers, reason", [
    ([{"class_name": "Dense", "config": {"units": 2}}] * 1000,
     "the model has 1,000 layers; the Workbench builds at most 256"),
    ([{"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 3,
                                          "strides": [10**20, 10**20]}}],
     "strides values must be at most 2,147,483,647"),
    ([{"class_name": "Flatten", "config": {}},
      {"class_name": "Dense", "config": {"units": 10, "kernel_regularizer": {
          "class_name": "L2", "config": {"l2": 1e30}}}}],
     "factors must be numbers from 0 to 1000"),
])
def test_summary_refuses_what_train_cannot_build_in_one_line(tmp_path, capsys, layers, reason):
    from workbench.cli import main

    assert main(["summary", str(_project_file(tmp_path, layers))]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and reason in err[0], err


# --- Keras's refusals, in our words --------------------------------------------------------------


def _edited_keras(tmp_path, name, edit):
    """A real tiny .keras whose config.json ``edit`` changes (the weights stay as saved)."""
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    source = tmp_path / "source.keras"
    model.save(source)
    target = tmp_path / name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config["config"]["layers"][-1])
                data = json.dumps(config).encode()
            new.writestr(info.filename, data)
    return target


def test_a_tfsmlayer_is_refused_as_what_it_is(tmp_path):
    def to_tfsm(layer):
        layer.update(class_name="TFSMLayer", module="keras.layers",
                     config={"filepath": str(tmp_path / "saved"), "name": "dense"})

    with pytest.raises(ModelFileError) as caught:
        load_model(_edited_keras(tmp_path, "tfsm.keras", to_tfsm))
    text = str(caught.value)
    assert "TFSMLayer" in text and "Lambda" not in text and "\n" not in text


def test_weights_that_do_not_fit_are_one_line_that_says_so(tmp_path):
    def wider(layer):
        layer["config"]["units"] = 5

    with pytest.raises(ModelFileError) as caught:
        load_model(_edited_keras(tmp_path, "mismatch.keras", wider))
    text = str(caught.value)
    assert "mismatch.keras: the weights stored in the file do not fit its layers" in text
    assert "\n" not in text and "Example error message" not in text


def test_a_model_too_large_to_train_here_is_refused_by_summary(tmp_path, capsys):
    from workbench.cli import main

    path = _project_file(tmp_path, [{"class_name": "Dense", "config": {"units": 100_000}}],
                         input_shape=(7_000_000,))  # 700 billion parameters: 11 TB to train
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "700,000,100,000 parameters need about" in err[0], err


def test_one_sample_per_class_is_refused_before_training(tmp_path):
    np.savez(tmp_path / "one.npz", x_train=np.random.default_rng(0).random((4, 3)),
             y_train=np.arange(4))
    with pytest.raises(DatasetError, match="4 samples in 4 classes, one of each, are too few"):
        load_dataset(str(tmp_path / "one.npz"))
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "folder" / name).mkdir(parents=True)
        Image.new("L", (4, 4)).save(tmp_path / "folder" / name / "0.png")
    with pytest.raises(DatasetError, match=r"one of each, .*add images \(two or more in each"):
        load_dataset(str(tmp_path / "folder"))


def test_a_fifo_as_sweep_space_or_drawn_samples_never_blocks(tmp_path, fifo):
    from workbench.actions.sweep import SweepError
    from workbench.cli_sweep import _read_space
    from workbench.ui.draw.samples import SampleSetError, load_samples

    with pytest.raises(SweepError, match="named pipe"):
        _read_space(str(fifo))
    samples = tmp_path / "samples.npz"
    os.mkfifo(samples)
    with pytest.raises(SampleSetError, match="named pipe"):
        load_samples(samples)
