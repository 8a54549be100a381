"""Keras-computed inspection and building: the tutorials' parameter counts, plain-word errors."""


import numpy as np
import pytest

from workbench.core.build import build_model, compile_model, set_seed
from workbench.core.inspect import inspect_model
from workbench.core.spec import LayerSpec, ModelSpec, SpecError, TrainConfig
from workbench.core.templates import load_template, templates
from workbench.core.tf_loader import load_tensorflow

L = LayerSpec.create


def keras_count(input_shape, layers):
    _, keras = load_tensorflow()
    model = keras.Sequential([keras.Input(input_shape), *layers])
    return model.count_params()


def test_tutorial_models_have_keras_parameter_counts():
    _, keras = load_tensorflow()
    kl = keras.layers
    cases = {
        "mnist-mlp": ((28, 28), [kl.Flatten(), kl.Dense(128, activation="relu"), kl.Dropout(0.2),
                                 kl.Dense(10, activation="softmax")], 101_770),
        "mnist-cnn": ((28, 28), [kl.Reshape((28, 28, 1)), kl.Conv2D(32, 3), kl.MaxPooling2D(2),
                                 kl.Conv2D(64, 3), kl.MaxPooling2D(2), kl.Flatten(),
                                 kl.Dense(64), kl.Dense(10)], 121_930),
        "deep-mlp": ((784,), [kl.Dense(256), kl.Dense(128), kl.Dense(64), kl.Dense(32),
                              kl.Dense(10)], 244_522),
        "lstm-rows": ((28, 28), [kl.LSTM(64, return_sequences=True), kl.Flatten(),
                                 kl.Dense(10)], 41_738),
        "linear-regression": ((1,), [kl.Dense(1), kl.Activation("linear")], 2),
        "memorise-random": ((100,), [kl.Dense(100), kl.Dense(10)], 11_110),
        "fonts-logistic": ((1296,), [kl.Dense(5)], 6_485),
        "fonts-one-hidden": ((1296,), [kl.Dense(128), kl.Dense(5)], 166_661),
        "fonts-two-hidden": ((1296,), [kl.Dense(128), kl.Dense(32), kl.Dense(5)], 170_309),
        "fonts-two-hidden-adam": ((1296,), [kl.Dense(128), kl.Dense(32), kl.Dense(5)], 170_309),
    }
    for key, (shape, layers, expected) in cases.items():
        project = load_template(key)
        assert keras_count(shape, layers) == expected
        report = inspect_model(project.model)
        assert report.ok, report.error_text()
        assert report.total_params == expected, key
        assert build_model(project.model).count_params() == expected


def test_every_template_is_valid():
    for template in templates():
        assert inspect_model(template.project().model).ok, template.key


def test_per_layer_shapes_of_the_cnn():
    report = inspect_model(load_template("mnist-cnn").model)
    shapes = [info.output_shape for info in report.layers]
    assert shapes == [(28, 28, 1), (28, 28, 1), (28, 28, 1), (26, 26, 32), (13, 13, 32),
                      (11, 11, 64), (5, 5, 64), (1600,), (64,), (10,)]
    assert [info.params for info in report.layers] == [0, 0, 0, 320, 0, 18496, 0, 0, 102464, 650]


def test_conv_on_flat_input_explains_and_offers_reshape():
    report = inspect_model(ModelSpec((784,), [L("Dense", units=10), L("Conv2D")]))
    assert report.error_index == 1
    assert "needs an image" in report.error and "(10,)" in report.error
    assert report.layers[0].params == 7850  # layers before the error still report
    fixed = inspect_model(ModelSpec((784,), [L("Conv2D")]))
    assert fixed.layers[0].fix.class_name == "Reshape"
    assert fixed.layers[0].fix.config["target_shape"] == [28, 28, 1]
    spec = ModelSpec((784,), [fixed.layers[0].fix, L("Conv2D")])
    assert inspect_model(spec).ok


def test_kernel_bigger_than_input_and_bad_reshape():
    report = inspect_model(ModelSpec((3, 3, 1), [L("Conv2D", kernel_size=[5, 5])]))
    assert "larger than its input" in report.error
    report = inspect_model(ModelSpec((784,), [L("Reshape", target_shape=[28, 27])]))
    assert "784 values" in report.error and "756 values" in report.error
    report = inspect_model(ModelSpec((784,), [L("LSTM")]))
    assert "needs a sequence" in report.error


def test_invalid_parameter_is_reported_at_its_layer():
    report = inspect_model(ModelSpec((784,), [L("Dense", units=4), L("Dense", units=-3)]))
    assert report.error_index == 1 and "units" in report.error
    assert "layer 2 (Dense)" in report.error_text()
    with pytest.raises(SpecError, match="layer 2"):
        build_model(ModelSpec((784,), [L("Dense", units=4), L("Dense", units=-3)]))


def test_repeated_inspection_gives_the_same_answer():
    # The inspection runs on every edit (its speed is measured in benchmarks/bench_builder.py);
    # its stateless scope must not leave anything behind that changes the next answer.
    spec = ModelSpec((28, 28), [L("Reshape", target_shape=[28, 28, 1]), L("Conv2D"),
                                L("BatchNormalization"), L("MaxPooling2D"), L("Conv2D"),
                                L("MaxPooling2D"), L("Flatten"), L("Dense"), L("Dropout"),
                                L("Dense", units=10, activation="softmax")])
    first = inspect_model(spec)
    second = inspect_model(spec)
    assert [i.output_shape for i in first.layers] == [i.output_shape for i in second.layers]
    assert first.total_params == second.total_params == build_model(spec).count_params()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad"])
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "mean_squared_error"])
def test_compile_with_each_optimizer(optimizer, loss):
    _, keras = load_tensorflow()
    cfg = TrainConfig(optimizer=optimizer, learning_rate=0.05, momentum=0.9, nesterov=True,
                      loss=loss)
    model = build_model(ModelSpec((4,), [L("Dense", units=3, activation="softmax")]))
    compile_model(model, cfg)
    assert type(model.optimizer).__name__.lower() == optimizer
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    if optimizer == "sgd":
        assert model.optimizer.momentum == pytest.approx(0.9) and model.optimizer.nesterov


def test_seed_makes_runs_reproducible():
    spec = ModelSpec((4,), [L("Dense", units=3)])
    set_seed(3)
    a = build_model(spec).get_weights()[0]
    set_seed(3)
    b = build_model(spec).get_weights()[0]
    np.testing.assert_array_equal(a, b)


def test_regularizer_reaches_keras():
    spec = ModelSpec((4,), [L("Dense", units=3, kernel_regularizer={"class_name": "L2",
                                                                    "config": {"l2": 0.5}})])
    model = build_model(spec)
    assert float(model.layers[0].kernel_regularizer.l2) == pytest.approx(0.5)


def test_a_seeded_build_repeats_while_other_threads_make_layers():
    """Keras draws layer seeds from Python's global random: another thread inspecting or
    building models (the GUI does, while a run starts) must not change a seeded model."""
    import threading

    from workbench.core.build import build_seeded_model

    spec = load_template("mnist-cnn").model
    expected = build_seeded_model(spec, 3).get_weights()
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            inspect_model(spec)
            build_model(spec, name="other")

    others = [threading.Thread(target=busy) for _ in range(2)]
    for thread in others:
        thread.start()
    try:
        for _ in range(3):
            for got, want in zip(build_seeded_model(spec, 3).get_weights(), expected, strict=True):
                np.testing.assert_array_equal(got, want)
    finally:
        stop.set()
        for thread in others:
            thread.join()
