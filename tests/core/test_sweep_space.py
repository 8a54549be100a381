"""A sweep's search space: parsing, validation (one message before any trial), applying a trial."""

import pytest

from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.sweep_space import SpaceError, check_space_builds, parse_space

L = LayerSpec.create


def cnn():
    return ModelSpec((28, 28, 1), [
        L("Conv2D", filters=8, kernel_size=[3, 3]), L("MaxPooling2D"), L("Dropout", rate=0.2),
        L("Flatten"), L("Dense", units=32, activation="relu"), L("Dropout", rate=0.3),
        L("Dense", units=10, activation="softmax")])


def test_training_settings_layer_params_and_dropout_parse_and_apply():
    spec, config = cnn(), TrainConfig(optimizer="sgd", momentum=0.9)
    space = parse_space({
        "learning_rate": {"low": 1e-4, "high": 1e-1, "log": True},
        "batch_size": {"choices": [16, 64]},
        "optimizer": {"choices": ["adam", {"class_name": "SGD",
                                           "config": {"momentum": 0.5}}]},
        "5.units": {"low": 8, "high": 64, "step": 8},
        "1.kernel_size": {"choices": [3, [5, 5]]},
        "dropout": {"low": 0.0, "high": 0.5},
    }, spec, config)
    assert [d.kind for d in space.dimensions] == ["float", "choice", "choice", "int", "choice",
                                                  "float"]
    params = {"learning_rate": 0.01, "batch_size": 64, "optimizer": "adam", "5.units": 16,
              "1.kernel_size": 3, "dropout": 0.4}
    new_spec, new_config = space.apply(spec, config, params)
    assert new_config.optimizer == "adam" and new_config.learning_rate == 0.01
    assert new_config.momentum == 0.0  # a plain name: Keras's own settings
    assert new_config.batch_size == 64
    assert new_spec.layers[4].config["units"] == 16
    assert new_spec.layers[0].config["kernel_size"] == [3, 3]
    assert new_spec.layers[2].config["rate"] == new_spec.layers[5].config["rate"] == 0.4
    assert spec.layers[4].config["units"] == 32 and config.optimizer == "sgd"  # copies only
    # An optimizer object brings its own settings; the project's learning rate stays.
    label = space.dimensions[2].labels()[1]
    momentum = space.dimensions[2].value(label)
    _, sgd = space.apply(spec, config, {"optimizer": momentum})
    assert (sgd.optimizer, sgd.momentum, sgd.learning_rate) == ("sgd", 0.5, 0.001)
    # The grid: every value of each dimension (a float range needs a step).
    assert space.dimensions[3].grid() == [8, 16, 24, 32, 40, 48, 56, 64]
    with pytest.raises(SpaceError, match="learning_rate: a grid needs choices or a step"):
        space.grid()


@pytest.mark.parametrize("data, words", [
    ({}, "empty"),
    ([1, 2], "JSON object"),
    ({"lr": {"low": 0.1, "high": 1}}, "unknown setting 'lr'"),
    ({"learning_rate": {"low": 0.1, "high": 0.01}}, "learning_rate: low (0.1) is more than high"),
    ({"batch_size": {"choices": []}}, "batch_size: choices must be a non-empty list"),
    ({"batch_size": {"choices": [16, 16]}}, "repeat"),
    ({"learning_rate": {"low": 0, "high": 1, "log": True}}, "log scale needs low > 0"),
    ({"learning_rate": {"low": 0.01}}, 'give "low" and "high"'),
    ({"learning_rate": {"low": 0.01, "high": 1, "lg": True}}, "unknown field 'lg'"),
    ({"batch_size": {"low": 1.5, "high": 8}}, "whole numbers"),
    ({"batch_size": {"low": 0, "high": 8}}, "batch_size: 0 is refused: must be at least 1 "
                                            "and at most 1,000,000"),
    ({"optimizer": {"choices": ["adam", "lion"]}}, "'lion' is refused: must be one of"),
    ({"optimizer": {"low": 1, "high": 2}}, "give its values as choices"),
    ({"9.units": {"low": 1, "high": 2}}, "no row 9"),
    ({"dense_1.units": {"low": 1, "high": 2}}, "no layer is named 'dense_1'"),
    ({"5.filters": {"low": 1, "high": 2}}, "layer 5 (Dense) has no parameter 'filters'"),
    ({"5.units": {"low": 0, "high": 8}}, "5.units: 0 is refused: must be at least 1"),
    ({"3.rate": {"low": 0.1, "high": 1.0}}, "3.rate: 1.0 is refused: must be less than 1"),
    ({"5.activation": {"choices": ["relu", "wiggle"]}}, "'wiggle' is refused"),
    ({"dropout": {"low": 0.1, "high": 0.5}, "3.rate": {"low": 0.1, "high": 0.2}},
     "set the same thing"),
])
def test_invalid_spaces_get_one_clear_message(data, words):
    with pytest.raises(SpaceError, match=None) as info:
        parse_space(data, cnn(), TrainConfig())
    message = str(info.value)
    assert words in message and "\n" not in message


def test_dropout_without_dropout_layers_is_refused():
    plain = ModelSpec((4,), [L("Dense", units=2)])
    with pytest.raises(SpaceError, match="no Dropout layer"):
        parse_space({"dropout": {"low": 0.1, "high": 0.5}}, plain)


def test_a_value_keras_refuses_is_found_before_any_trial():
    # 30x30 kernels are fine to the catalogue, but larger than the 28x28 input to Keras.
    space = parse_space({"1.kernel_size": {"choices": [3, [30, 30]]}}, cnn(), TrainConfig())
    with pytest.raises(SpaceError, match=r"1.kernel_size: \[30, 30\] is refused: layer 1"):
        check_space_builds(space, cnn(), TrainConfig())
    fine = parse_space({"5.units": {"low": 4, "high": 64}}, cnn(), TrainConfig())
    check_space_builds(fine, cnn(), TrainConfig())  # no error


def test_the_same_space_names_the_same_study():
    a = parse_space({"batch_size": {"choices": [16, 32]}, "learning_rate": {"low": 0.001,
                                                                            "high": 0.1}}, cnn())
    b = parse_space({"learning_rate": {"low": 0.001, "high": 0.1},
                     "batch_size": {"choices": [16, 32]}}, cnn())
    assert a.canonical() == b.canonical()
