"""Inputs that used to load as silently wrong data (#24, points 9-13): deep grey images, a damaged
image met only when the test split is scored, an .npz whose samples hold no values, optimizer
settings that were dropped and strings where booleans go."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from workbench.core.datasets import DatasetError, load_dataset
from workbench.core.datasets import folders as folder_module
from workbench.core.datasets.folders import load_image_folder


def _class_folder(root, pictures):
    """``pictures``: {class name: [array, ...]}, each saved as ``.png`` (or ``.tif`` for floats)."""
    for name, arrays in pictures.items():
        (root / name).mkdir(parents=True)
        for i, array in enumerate(arrays):
            suffix = ".tif" if array.dtype.kind == "f" else ".png"
            Image.fromarray(array).save(root / name / f"{i:02}{suffix}")
    return root


@pytest.mark.parametrize("lazy", [False, True])
def test_16_bit_grey_pngs_are_scaled_by_their_range_not_clipped(tmp_path, lazy):
    rng = np.random.default_rng(0)
    dark = [rng.integers(1000, 20000, (6, 5), dtype=np.uint16) for _ in range(6)]
    bright = [rng.integers(40000, 65536, (6, 5), dtype=np.uint16) for _ in range(6)]
    data = load_image_folder(_class_folder(tmp_path, {"dark": dark, "bright": bright}), lazy=lazy)
    x = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_test)])
    y = np.concatenate([data.y_train, data.y_test])
    bright_class = data.class_names.index("bright")
    assert x[y != bright_class].max() < 20000 / 65535 + 0.01  # not clipped to white
    assert x[y == bright_class].min() > 40000 / 65535 - 0.01
    first = data.x_train[0] if not lazy else data.x_train[[0]][0]
    assert np.ptp(first) > 0  # the picture is still there


def test_float_tiffs_in_0_1_are_scaled_not_black_and_others_refused(tmp_path):
    rng = np.random.default_rng(1)
    pictures = {name: [rng.uniform(low, low + 0.5, (6, 5)).astype(np.float32) for _ in range(5)]
                for name, low in (("a", 0.0), ("b", 0.5))}
    data = load_image_folder(_class_folder(tmp_path / "unit", pictures))
    assert 0.3 < float(np.mean(data.x_train)) < 0.7
    np.testing.assert_allclose(np.sort(np.concatenate([data.x_train, data.x_test]).ravel()),
                               np.sort(np.round(np.concatenate(
                                   [p.ravel() for ps in pictures.values() for p in ps]) * 255)
                                   / 255), atol=1e-6)
    pictures["b"][2] = np.full((6, 5), 300.0, np.float32)  # no range it could be read in
    with pytest.raises(DatasetError, match=r"02\.tif: refused: its values run from 300 to 300"):
        load_image_folder(_class_folder(tmp_path / "beyond", pictures))


def _digits_project(path, dataset, shape):
    project = {"format": "workbench/1", "dataset": str(dataset),
               "model": {"input_shape": list(shape), "layers": [
                   {"class_name": "Flatten", "config": {}},
                   {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]},
               "training": {"epochs": 1, "batch_size": 8, "validation_split": 0.0}}
    path.write_text(json.dumps(project))
    return path


def test_a_damaged_image_in_a_streamed_test_split_is_named(tmp_path, monkeypatch, capfd):
    from workbench.cli import main

    rng = np.random.default_rng(2)
    root = _class_folder(tmp_path / "images", {
        name: [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(20)]
        for name in ("zero", "one")})
    monkeypatch.setattr(folder_module, "LAZY_IMAGES", 10)  # streamed, as a big folder is
    monkeypatch.setattr(folder_module, "SHAPE_SAMPLE", 2)
    data = load_dataset(str(root))
    damaged = data.x_test.source.paths[int(data.x_test.rows[-1])]
    assert damaged not in {data.x_train.source.paths[int(r)] for r in data.x_train.rows}
    with open(damaged, "r+b") as stream:  # a truncated file: its header reads, its pixels not
        stream.truncate(60)
    project = _digits_project(tmp_path / "p.json", root, (8, 8))
    capfd.readouterr()
    assert main(["train", str(project), "--out", str(tmp_path / "out")]) == 0
    out, err = capfd.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "test split was not scored" in lines[0], err
    assert damaged.rsplit("/", 1)[-1] in lines[0] and "damaged image" in lines[0]
    assert "Test: not scored" in out


def test_an_npz_whose_samples_hold_no_values_is_refused_at_load(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x_train=np.zeros((10, 0), np.float32), y_train=np.arange(10) % 2)
    with pytest.raises(DatasetError, match=r"x_train has shape \(10, 0\): its samples hold no"):
        load_dataset(str(path))
    np.savez(path, x_train=np.zeros((10, 3), np.float32), y_train=np.zeros((10, 0)))
    with pytest.raises(DatasetError, match=r"y_train has shape \(10, 0\)"):
        load_dataset(str(path))


# --- optimizer settings and booleans (points 11, 12) ----------------------------------------------


def test_the_optimizer_table_is_keras_own_arguments_and_defaults():
    import inspect

    from workbench.core.optimizers import OPTIMIZER_ARGS
    from workbench.core.spec import OPTIMIZERS
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    assert sorted(OPTIMIZER_ARGS) == sorted(OPTIMIZERS.values())
    for name, table in OPTIMIZER_ARGS.items():
        signature = inspect.signature(getattr(keras.optimizers, name).__init__).parameters
        keras_args = {k: p.default for k, p in signature.items() if k not in ("self", "kwargs")}
        assert table == keras_args, name


def test_a_left_out_learning_rate_is_keras_default_for_that_optimizer():
    from workbench.core.build import make_optimizer
    from workbench.core.spec import TrainConfig

    sgd = TrainConfig.from_dict({"optimizer": {"class_name": "SGD"}})
    assert sgd.learning_rate == 0.01
    assert float(make_optimizer(sgd).learning_rate) == pytest.approx(0.01)
    assert TrainConfig.from_dict({"optimizer": "sgd"}).learning_rate == 0.01
    assert TrainConfig.from_dict({"optimizer": "adam"}).learning_rate == 0.001


def test_every_keras_optimizer_argument_is_kept_and_others_refused_by_name():
    from workbench.core.build import make_optimizer
    from workbench.core.spec import SpecError, TrainConfig

    given = {"class_name": "Adam", "config": {"learning_rate": 0.002, "beta_1": 0.8,
                                              "amsgrad": True, "clipnorm": 1.5,
                                              "weight_decay": 0.01}}
    config = TrainConfig.from_dict({"optimizer": given})
    assert config.to_dict()["optimizer"] == given
    assert TrainConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
    keras_config = make_optimizer(config).get_config()
    assert keras_config["beta_1"] == pytest.approx(0.8) and keras_config["amsgrad"] is True
    assert keras_config["clipnorm"] == 1.5 and keras_config["weight_decay"] == 0.01
    config.optimizer = "sgd"  # switched in the settings: Adam's own arguments do not apply
    assert config.optimizer_dict()["config"] == {
        "learning_rate": 0.002, "momentum": 0.0, "nesterov": False, "clipnorm": 1.5,
        "weight_decay": 0.01}
    for optimizer, words in [
        ({"class_name": "Adam", "config": {"beta1": 0.8}}, "Adam takes no argument 'beta1'"),
        ({"class_name": "Adam", "config": {"momentum": 0.9}}, "no argument 'momentum'"),
        ({"class_name": "Adam", "config": {"beta_1": 2}}, "Adam's beta_1 must be at least 0"),
        ({"class_name": "SGD", "config": {"clipnorm": 1, "clipvalue": 1}}, "only one of"),
        ({"class_name": "AdamW", "config": {"weight_decay": None}}, "weight_decay must be set"),
    ]:
        with pytest.raises(SpecError, match=words):
            TrainConfig.from_dict({"optimizer": optimizer})


@pytest.mark.parametrize("training, words", [
    ({"shuffle": "no"}, "shuffle must be true or false, got 'no'"),
    ({"optimizer": {"class_name": "SGD", "config": {"nesterov": "false"}}},
     "SGD's nesterov must be true or false, got 'false'"),
    ({"optimizer": {"class_name": "Adam", "config": {"amsgrad": 1}}}, "amsgrad must be true"),
    ({"early_stopping": {"restore_best_weights": "yes"}}, "restore_best_weights must be true"),
])
def test_a_string_where_a_boolean_goes_is_refused(training, words):
    from workbench.core.spec import SpecError, TrainConfig

    with pytest.raises(SpecError, match=words):
        TrainConfig.from_dict(training)


def test_an_imported_model_keeps_its_optimizer_settings():
    from workbench.core.importer import training_from_keras
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.003, beta_1=0.8, amsgrad=True), loss="mse")
    config = training_from_keras(model)
    assert config.optimizer_dict() == {"class_name": "Adam", "config": {
        "learning_rate": 0.003, "beta_1": 0.8, "amsgrad": True}}


def test_epochs_on_the_command_line_has_the_project_bound(tmp_path, capfd):
    from workbench.actions.sweep import (
        InProcessTrainer,
        SweepError,
        SweepSettings,
        prepare_sweep,
    )
    from workbench.cli import main
    from workbench.core.datasets import load_dataset
    from workbench.core.spec import TrainConfig

    project = _digits_project(tmp_path / "p.json", "random-classes", (8, 8))
    capfd.readouterr()
    assert main(["train", str(project), "--epochs", "100001", "--out", str(tmp_path)]) == 2
    _, err = capfd.readouterr()
    assert err == ("workbench: --epochs must be at least 1 and at most 100,000, "
                   "got 100001\n")
    assert not list(tmp_path.glob("*.backup"))
    from workbench.core.project import load_project

    loaded = load_project(project)
    with pytest.raises(SweepError, match="--epochs must be at least 1 and at most 100,000"):
        prepare_sweep(loaded.model, TrainConfig(), load_dataset("random-classes"),
                      "random-classes", {"batch_size": {"choices": [8, 16]}},
                      SweepSettings(epochs=10**9), trainer=InProcessTrainer())
