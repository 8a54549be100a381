"""Catalogue and spec: the one table, JSON round trips, validation naming layer and parameter."""

import json
import subprocess
import sys

import pytest

from workbench.core.catalogue import CATALOGUE, by_category, layer_type, regularizer
from workbench.core.spec import LayerSpec, ModelSpec, SpecError, TrainConfig

REQUIRED = {
    "Dense", "Dropout", "Flatten", "Reshape", "Activation", "Conv2D", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization", "LSTM", "GRU",
    "SimpleRNN", "RandomRotation", "RandomZoom", "RandomTranslation",
}


def test_catalogue_has_required_layers_with_described_params():
    assert REQUIRED <= set(CATALOGUE)
    for ltype in CATALOGUE.values():
        assert ltype.help and ltype.category
        for param in ltype.params:
            assert param.help, (ltype.class_name, param.name)
            if not param.required:
                assert param.check(param.default) is None, (ltype.class_name, param.name)
    assert sum(len(v) for v in by_category().values()) == len(CATALOGUE)


def test_regularizers_and_initializers_where_keras_has_them():
    dense = layer_type("Dense")
    assert dense.param("kernel_regularizer").kind == "regularizer"
    assert dense.param("kernel_initializer").kind == "initializer"
    assert regularizer("L2", 0.001) == {"class_name": "L2", "config": {"l2": 0.001}}
    assert dense.param("kernel_regularizer").check(regularizer("L1L2", 0.01)) is None
    assert dense.param("kernel_regularizer").check({"class_name": "L3"})


def test_model_spec_round_trip_in_keras_names():
    data = {
        "input_shape": [28, 28],
        "layers": [
            {"class_name": "Flatten", "config": {}},
            {"class_name": "Dense", "config": {"units": 128, "activation": "relu"}},
            {"class_name": "Dropout", "config": {"rate": 0.2}},
            {"class_name": "Dense", "config": {"units": 10, "activation": "softmax",
                                               "kernel_regularizer": regularizer("L2", 0.01)}},
        ],
    }
    spec = ModelSpec.from_dict(data)
    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert spec.layers[1].config["units"] == 128
    assert spec.layers[1].summary() == "Dense 128 relu"
    assert spec.to_dict()["layers"][0]["class_name"] == "Flatten"


def test_spec_accepts_what_keras_serialize_writes():
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    layer = keras.layers.Dense(7, activation="tanh", kernel_initializer="he_normal",
                               kernel_regularizer=keras.regularizers.L2(0.5))
    data = keras.layers.serialize(layer)
    spec = LayerSpec.from_dict({"class_name": data["class_name"],
                                "config": {k: v for k, v in data["config"].items()
                                           if k in ("units", "activation", "kernel_initializer",
                                                    "kernel_regularizer", "name", "dtype")}})
    assert spec.config["units"] == 7
    assert spec.config["kernel_initializer"] == "he_normal"
    assert spec.config["kernel_regularizer"]["class_name"] == "L2"


@pytest.mark.parametrize("layer, param, words", [
    ({"class_name": "Dense", "config": {"units": -3}}, "units", "at least 1"),
    ({"class_name": "Dense", "config": {"units": 2.5}}, "units", "whole number"),
    ({"class_name": "Dropout", "config": {"rate": 1.0}}, "rate", "less than 1"),
    ({"class_name": "Dense", "config": {"units": 2, "activation": "nope"}}, "activation", "one of"),
    ({"class_name": "Conv2D", "config": {"filters": 2, "kernel_size": [0, 3]}}, "kernel_size",
         "at least 1"),
        ({"class_name": "Dense", "config": {}}, "units", "required"),
    ({"class_name": "Dense", "config": {"unitz": 3}}, "unitz", "unknown parameter"),
])
def test_validation_names_layer_and_parameter(layer, param, words):
    data = {"input_shape": [784], "layers": [{"class_name": "Flatten"}, layer]}
    with pytest.raises(SpecError) as info:
        ModelSpec.from_dict(data)
    assert info.value.layer_index == 1
    assert info.value.param == param
    assert "layer 2" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("data, words", [
    ({"layers": []}, "input_shape"),
    ({"input_shape": [0], "layers": []}, "positive"),
    ({"input_shape": [4], "layers": [{"class_name": "Lambda", "config": {}}]}, "unknown layer"),
    ({"input_shape": [4], "layers": "Dense"}, "list"),
    ([1, 2], "object"),
])
def test_bad_model_specs(data, words):
    with pytest.raises(SpecError, match=words):
        ModelSpec.from_dict(data)


def test_train_config_round_trip_and_forms():
    cfg = TrainConfig.from_dict({
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9,
                                                      "nesterov": True}},
        "loss": "mse", "metrics": ["mae"], "epochs": 3, "batch_size": 16,
        "validation_split": 0.2, "early_stopping": {"patience": 2}, "seed": 7,
    })
    assert cfg.optimizer == "sgd" and cfg.momentum == 0.9 and cfg.nesterov
    assert cfg.loss == "mean_squared_error"
    assert cfg.early_stopping == {"monitor": "val_loss", "patience": 2,
                                  "restore_best_weights": True}
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert TrainConfig.from_dict({"optimizer": "rmsprop"}).optimizer == "rmsprop"
    assert TrainConfig.from_dict(None) == TrainConfig()


@pytest.mark.parametrize("data", [
    {"optimizer": "adamax2"}, {"loss": "hingeish"}, {"epochs": 0}, {"batch_size": -1},
    {"validation_split": 1.5}, {"optimizer": {"class_name": "Adam",
                                              "config": {"learning_rate": -1}}},
    {"metrics": ["f1"]}, {"epochs": "ten"},
])
def test_bad_train_configs(data):
    with pytest.raises(SpecError):
        TrainConfig.from_dict(data)


def test_core_never_imports_qt():
    code = (
        "import sys, pkgutil, importlib, workbench.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'workbench.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PyQt5', 'pyqtgraph'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bounds_read_as_numbers_people_write():
    with pytest.raises(SpecError, match=r"batch_size must be at least 1 and at most 1,000,000, "
                                        r"got 1000000000000$"):
        TrainConfig.from_dict({"batch_size": 10**12})
    with pytest.raises(SpecError, match=r"validation_split must be at least 0 and at most 0.9"):
        TrainConfig.from_dict({"validation_split": 5})
