"""The graph templates (#13): a small ResNet, an Inception-style block, wide & deep. Their
parameter counts are those of the same layers written in plain Keras's functional API."""

import json

import numpy as np
import pytest

from workbench import cli
from workbench.core.build import build_model
from workbench.core.inspect import inspect_model
from workbench.core.templates import TEMPLATE_DIR, load_template, templates
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def kl():
    return load_tensorflow()[1].layers


def plain_resnet(keras, kl):
    x = keras.Input((28, 28))
    stem = kl.MaxPooling2D(2)(kl.Conv2D(16, 3, padding="same", activation="relu")(
        kl.Reshape((28, 28, 1))(x)))
    a = kl.Conv2D(16, 3, padding="same")(kl.Conv2D(16, 3, padding="same", activation="relu")(stem))
    out1 = kl.Activation("relu")(kl.Add()([a, stem]))
    b = kl.Conv2D(32, 3, padding="same")(
        kl.Conv2D(32, 3, strides=2, padding="same", activation="relu")(out1))
    shortcut = kl.Conv2D(32, 1, strides=2, padding="same")(out1)
    out2 = kl.Activation("relu")(kl.Add()([b, shortcut]))
    return keras.Model(x, kl.Dense(10, activation="softmax")(kl.GlobalAveragePooling2D()(out2)))


def plain_inception(keras, kl):
    x = keras.Input((28, 28))
    stem = kl.MaxPooling2D(2)(kl.Conv2D(16, 3, activation="relu")(kl.Reshape((28, 28, 1))(x)))
    b1 = kl.Conv2D(16, 1, padding="same", activation="relu")(stem)
    b3 = kl.Conv2D(16, 3, padding="same", activation="relu")(
        kl.Conv2D(8, 1, padding="same", activation="relu")(stem))
    bp = kl.Conv2D(8, 1, padding="same", activation="relu")(
        kl.MaxPooling2D(3, strides=1, padding="same")(stem))
    mixed = kl.Concatenate()([b1, b3, bp])
    return keras.Model(x, kl.Dense(10, activation="softmax")(kl.GlobalAveragePooling2D()(mixed)))


def plain_wide_deep(keras, kl):
    x = keras.Input((28, 28))
    deep = kl.Dense(64, activation="relu")(kl.Dense(128, activation="relu")(kl.Flatten()(x)))
    joined = kl.Concatenate()([kl.Flatten()(x), deep])
    return keras.Model(x, kl.Dense(10, activation="softmax")(joined))


@pytest.mark.parametrize("key, plain", [("resnet-digits", plain_resnet),
                                        ("inception-block", plain_inception),
                                        ("wide-deep", plain_wide_deep)])
def test_graph_templates_have_plain_keras_parameter_counts(kl, key, plain):
    keras = load_tensorflow()[1]
    project = load_template(key)
    spec = project.model
    assert not spec.is_sequential()
    expected = plain(keras, kl).count_params()
    report = inspect_model(spec)
    assert report.ok, report.error_text()
    assert report.total_params == expected
    model = build_model(spec)
    assert model.count_params() == expected and model.output_shape == (None, 10)
    assert all(info.output_shape is not None for info in report.layers)  # a shape on every node


def layer_rows(model) -> list[tuple]:
    """(class, output shape, params) of every layer but the input, in a comparable order."""
    return sorted((type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
                  for layer in model.layers if type(layer).__name__ != "InputLayer")


@pytest.mark.parametrize("key, plain", [("resnet-digits", plain_resnet),
                                        ("inception-block", plain_inception),
                                        ("wide-deep", plain_wide_deep)])
def test_keras_file_summary_and_script_agree_with_plain_keras(kl, key, plain, tmp_path, capsys):
    """Layer by layer (class, output shape, parameters): the same layers in plain Keras, the
    `.keras` the app writes (read back, computing what the app's model computes), `summary
    --json` on the project and on that file, and the exported script's build_model()."""
    from tests.core.test_codegen import script_namespace
    from workbench.core.codegen import generate_script
    from workbench.core.modelio import load_model, save_model

    keras = load_tensorflow()[1]
    expected = layer_rows(plain(keras, kl))
    project = load_template(key)
    ours = build_model(project.model)
    path = save_model(ours, tmp_path / f"{key}.keras")
    again = load_model(path, compile=False)
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(again(x), ours(x), atol=1e-6)
    script = script_namespace(generate_script(project))["build_model"]()
    assert layer_rows(ours) == layer_rows(again) == layer_rows(script) == expected
    for source in (TEMPLATE_DIR / f"{key}.json", path):
        assert cli.main(["summary", str(source), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["total_params"] == sum(row[2] for row in expected)
        assert sorted((row["class_name"], tuple(row["output_shape"]), row["params"])
                      for row in data["layers"]) == expected, source


def test_graph_templates_are_listed_with_the_others():
    keys = [t.key for t in templates()]
    assert {"resnet-digits", "inception-block", "wide-deep", "mnist-cnn"} <= set(keys)
    assert keys[:2] == ["mnist-mlp", "mnist-cnn"]  # the tutorials' order still comes first


def test_resnet_has_two_residual_blocks_and_global_pooling():
    spec = load_template("resnet-digits").model
    merges = [n for n in spec.graph() if n.class_name == "Add"]
    assert len(merges) == 2
    assert spec.layers[-2].class_name == "GlobalAveragePooling2D"
    inception = load_template("inception-block").model
    concat = next(n for n in inception.graph() if n.class_name == "Concatenate")
    assert len(concat.inbound) == 3
