"""Special files (#19) through every CLI command that reads a file: a FIFO, a link to /dev/zero or
a folder where a file belongs is refused at once, in the same words everywhere, in one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.core.datasets import DatasetError, describe

TEMPLATE = Path(__file__).resolve().parents[2] / "resources/templates/logistic-regression.json"
WORDS = {"fifo": "is a named pipe (FIFO), not ", "zero": "is a device, not ",
         "dir": "is a folder, not "}


def _special(path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


def _one_line(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


ROLES = [("project", "p.json", "a project file"), ("model", "m.keras", "a .keras model file"),
         ("legacy model", "m.h5", "a legacy .h5 model file"),
         ("dataset", "d.npz", "a .npz archive"), ("search space", "s.json", "a search-space file"),
         ("weights beside the project", "project.keras", "a .keras model file")]


@pytest.mark.parametrize("kind, role, name, article", [
    (kind, *role) for kind in WORDS for role in ROLES
    if not (kind == "dir" and role[0] == "dataset")])  # a folder is a dataset: of class folders
def test_every_command_refuses_a_special_file_in_the_same_words(tmp_path, capsys, kind, role,
                                                                name, article):
    project = tmp_path / "project.json"
    shutil.copy(TEMPLATE, project)
    path = _special(tmp_path / name, kind)
    argv = {"project": ["summary", path], "model": ["summary", path],
            "legacy model": ["summary", path], "dataset": ["dataset", path],
            "search space": ["sweep", project, "--space", path],
            "weights beside the project": ["export", project, "--keras", tmp_path / "o.keras"],
            }[role]
    end = "." if role == "dataset" else ""  # dataset errors are sentences
    assert _one_line(capsys, argv) == (
        f"workbench: {path}: {WORDS[kind]}{article}; only regular files are read{end}")


@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_a_special_dataset_is_refused_as_train_option_project_entry_and_description(
        tmp_path, capsys, kind):
    path = _special(tmp_path / "data", kind)
    reason = f"{path}: {WORDS[kind]}a .npz archive; only regular files are read."
    with pytest.raises(DatasetError) as info:
        describe(str(path))  # the Data settings' tooltip: not "Unknown dataset"
    assert str(info.value) == reason
    project = json.loads(TEMPLATE.read_text())
    project["dataset"] = "data"  # relative: beside the project
    (tmp_path / "p.json").write_text(json.dumps(project))
    out = tmp_path / "out"
    for argv in (["train", tmp_path / "p.json", "--out", out],
                 ["train", TEMPLATE, "--dataset", path, "--out", out],
                 ["export", tmp_path / "p.json", "--python", tmp_path / "s.py"]):
        assert _one_line(capsys, argv) == f"workbench: {reason}"
    assert not out.exists() and not (tmp_path / "s.py").exists()


def test_a_fifo_in_a_class_folder_and_as_a_picture_to_predict(tmp_path, capsys):
    from PIL import Image

    from workbench.core.tf_loader import load_tensorflow

    folder = tmp_path / "digits"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        Image.new("L", (4, 4)).save(folder / name / "0.png")
    os.mkfifo(folder / "b" / "1.png")
    assert _one_line(capsys, ["dataset", folder]) == (
        f"workbench: {folder / 'b' / '1.png'}: is a named pipe (FIFO), not an image; "
        "only regular files are read.")
    keras = load_tensorflow()[1]
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.save(tmp_path / "m.keras")
    for kind in ("fifo", "zero", "dir"):
        picture = _special(tmp_path / f"{kind}.png", kind)
        assert _one_line(capsys, ["predict", tmp_path / "m.keras", picture]) == (
            f"workbench: {picture}: {WORDS[kind]}an image; only regular files are read")


def test_predict_refuses_a_bad_picture_before_it_loads_the_model(tmp_path, capsys):
    picture = _special(tmp_path / "pipe.png", "fifo")
    # the model is never reached (nor TensorFlow started): the picture is read first
    assert _one_line(capsys, ["predict", tmp_path / "absent.keras", picture]) == (
        f"workbench: {picture}: is a named pipe (FIFO), not an image; only regular files are read")


def test_float_labels_for_a_softmax_are_refused_before_the_run_says_it_starts(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "floats.npz", x_train=rng.random((20, 784), dtype=np.float32),
             y_train=rng.random(20, dtype=np.float32))  # regression targets
    project = json.loads(TEMPLATE.read_text())
    project["model"]["input_shape"] = [784]  # a 10-way softmax
    (tmp_path / "p.json").write_text(json.dumps(project))
    assert main(["train", str(tmp_path / "p.json"), "--dataset", str(tmp_path / "floats.npz"),
                 "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert "the model's output does not fit the labels" in err and len(err.splitlines()) == 1
    assert out == "" and not (tmp_path / "out").exists()  # no "Backing up ..." first


@pytest.mark.parametrize("name, what", [("m.onnx", "an ONNX file"), ("m.tflite", "a TFLite file")])
@pytest.mark.parametrize("kind", ["fifo", "zero"])
def test_an_export_to_compare_with_is_never_waited_on(tmp_path, name, what, kind):
    from workbench.core.deploy import DeployError, open_runtime

    path = _special(tmp_path / name, kind)
    with pytest.raises(DeployError) as info:
        open_runtime(path)  # onnxruntime would wait on a FIFO forever
    assert str(info.value) == f"{path}: {WORDS[kind]}{what}; only regular files are read"
    saved = tmp_path / "saved"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"")
    _special(saved / "variables" / "variables.index", kind)
    with pytest.raises(DeployError, match="variables.index: is a"):
        open_runtime(saved)


def test_a_class_folder_linking_around_the_dataset_is_refused(tmp_path):
    from PIL import Image

    folder = tmp_path / "shared" / "digits"
    elsewhere = tmp_path / "elsewhere"
    for name in (folder / "a", elsewhere):
        name.mkdir(parents=True)
        for i in range(3):
            Image.new("L", (4, 4), 50 * i).save(name / f"{i}.png")
    (folder / "b").symlink_to(elsewhere)  # a dataset assembled from another folder: followed
    assert load_dataset_counts(folder) == 6
    for target in ("/", tmp_path, folder):  # the whole disk, a folder around it, itself
        (folder / "b").unlink()
        (folder / "b").symlink_to(target)
        with pytest.raises(DatasetError) as info:
            load_dataset_counts(folder)
        assert str(info.value) == (f"{folder / 'b'}: refused: the class folder links to "
                                   f"{os.path.realpath(target)}, which holds the dataset folder "
                                   "itself.")


def load_dataset_counts(folder) -> int:
    from workbench.core.datasets import load_dataset

    data = load_dataset(str(folder))
    return len(data.y_train) + len(data.y_test)
