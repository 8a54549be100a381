"""Deployment exports (ONNX, TFLite, SavedModel), each run in its own runtime beside Keras.

Tiny training (300 samples, one epoch) and 200 test samples: the exported model must compute what
Keras computes, whatever the model has learnt. Conversion takes a second or two per export, so the
trained models are shared by the module.
"""

import numpy as np
import pytest

from workbench.actions.errors import ActionError
from workbench.actions.export import export_deployed
from workbench.actions.train import train
from workbench.core.datasets import load_dataset
from workbench.core.deploy import open_runtime
from workbench.core.modelio import load_model
from workbench.core.templates import load_template
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def data():
    return load_dataset("mnist-embedded").subset(300, 200)


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    trained = {}
    for key in ("mnist-mlp", "mnist-cnn", "lstm-rows"):
        project = load_template(key)
        project.training.epochs = 1
        trained[key] = train(project.model, project.training, data, "d").model
    # A functional two-branch model written by plain Keras, loaded as a user's .keras file.
    _, keras = load_tensorflow()
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    left = keras.layers.Dense(32, activation="relu")(flat)
    right = keras.layers.Dense(16, activation="tanh")(flat)
    merged = keras.layers.Concatenate()([left, right])
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(merged))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("plain") / "two-branch.keras"
    model.save(path)
    trained["two-branch"] = load_model(path, compile=False)
    return trained


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("key", ["mnist-mlp", "mnist-cnn", "lstm-rows", "two-branch"])
def test_float_exports_compute_what_keras_computes(models, data, tmp_path, key, fmt):
    path = tmp_path / f"model.{fmt}"
    steps = []
    report = export_deployed(models[key], fmt, path, data,
                             progress=lambda f, text: steps.append(f))
    assert report.path == str(path) and report.bytes == path.stat().st_size > 1000
    assert report.samples == 200 and report.agreement >= 0.999 and report.max_abs_diff < 1e-4
    assert report.accuracy == report.keras_accuracy and report.latency_ms > 0
    assert report.runtime == {"onnx": "onnxruntime", "tflite": "LiteRT"}[fmt]
    assert steps == sorted(steps) and steps[-1] == 1.0
    # The file runs on its own: loaded again, it gives Keras's answer for a test digit.
    again = open_runtime(path).run(data.x_test[:3])
    np.testing.assert_allclose(again, models[key].predict_on_batch(data.x_test[:3]), atol=1e-4)
    assert [p.name for p in tmp_path.iterdir()] == ["model." + fmt]  # no temporary files left


@pytest.mark.parametrize("key", ["resnet-digits", "inception-block"])
def test_graph_templates_export_with_their_merges(data, tmp_path, key):
    # Add (a residual shortcut) and Concatenate (inception branches) built by the graph build.
    from workbench.core.build import build_seeded_model

    model = build_seeded_model(load_template(key).model, 0)
    for fmt in ("onnx", "tflite"):
        report = export_deployed(model, fmt, tmp_path / f"g.{fmt}", data)
        assert report.agreement >= 0.999 and report.max_abs_diff < 1e-4, fmt


def test_int8_reports_its_accuracy_and_is_smaller(models, data, tmp_path):
    model = models["mnist-cnn"]
    floats = export_deployed(model, "tflite", tmp_path / "f.tflite", data)
    int8 = export_deployed(model, "tflite", tmp_path / "q.tflite", data, quantize="int8")
    assert int8.bytes < floats.bytes / 3
    assert 0 <= int8.accuracy <= 1 and int8.keras_accuracy == floats.keras_accuracy
    assert int8.max_abs_diff > floats.max_abs_diff and int8.agreement > 0.8


def test_int8_of_a_recurrent_model_runs(models, data, tmp_path):
    # The TFLite calibrator crashes the process on a fused LSTM: the export unrolls it.
    report = export_deployed(models["lstm-rows"], "tflite", tmp_path / "q.tflite", data,
                             quantize="int8")
    assert report.agreement > 0.7 and report.max_abs_diff < 0.1 and report.accuracy is not None


def test_int8_that_crashes_litert_s_default_delegate_runs_without_it(data, tmp_path):
    # An int8 GRU makes XNNPACK abort the process ("double free"): a child process tries the
    # file first, and the interpreter here runs it on the builtin kernels.
    _, keras = load_tensorflow()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GRU(8)(inputs))
    model = keras.Model(inputs, outputs)
    report = export_deployed(model, "tflite", tmp_path / "gru.tflite", data, quantize="int8")
    # Untrained, its outputs are nearly uniform: the class agreement says little, the
    # differences do.
    assert report.max_abs_diff < 0.05
    assert open_runtime(tmp_path / "gru.tflite").resolver == "builtin"


def test_a_failure_in_the_conversion_child_is_one_line(models, tmp_path):
    from workbench.core.deploy import DeployError
    from workbench.core.deploy.isolated import write_tflite_in_child

    with pytest.raises(DeployError, match="^int8 needs representative samples"):
        write_tflite_in_child(models["mnist-mlp"], tmp_path / "m.tflite", "int8", None)
    assert not list(tmp_path.iterdir())


def test_float16_halves_the_file(models, data, tmp_path):
    report = export_deployed(models["mnist-mlp"], "tflite", tmp_path / "h", data,
                             quantize="float16")
    assert report.path == str(tmp_path / "h.tflite")  # the suffix is added
    assert report.agreement >= 0.999 and report.max_abs_diff < 1e-3


def test_saved_model_folder_reloads_and_replaces_an_earlier_one(models, data, tmp_path):
    folder = tmp_path / "served"
    first = export_deployed(models["mnist-mlp"], "saved-model", folder, data)
    assert (folder / "saved_model.pb").is_file() and first.max_abs_diff < 1e-5
    again = export_deployed(models["mnist-cnn"], "saved-model", folder, data)
    assert again.agreement == 1.0 and [p.name for p in tmp_path.iterdir()] == ["served"]
    np.testing.assert_allclose(open_runtime(folder).run(data.x_test[:2]),
                               models["mnist-cnn"].predict_on_batch(data.x_test[:2]), atol=1e-5)


def test_a_layer_the_converter_refuses_is_named_and_nothing_is_written(data, tmp_path):
    _, keras = load_tensorflow()
    # RandomFlip is no catalogue layer, so it is not dropped before conversion; tf2onnx cannot
    # convert its random ops.
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.RandomFlip(name="flip")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"an earlier export")
    with pytest.raises(ActionError, match=r"ONNX converter cannot convert layer flip "
                                          r"\(RandomFlip\).*StatelessRandomUniformV2.*"
                                          r"TFLite or SavedModel instead") as caught:
        export_deployed(model, "onnx", path, data)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == b"an earlier export" and len(list(tmp_path.iterdir())) == 1


def test_an_unwritable_path_says_so(models, data, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ActionError, match="cannot be written .*file is a file, not a folder"):
        export_deployed(models["mnist-mlp"], "onnx", blocker / "sub" / "m.onnx", data)
    with pytest.raises(ActionError, match="not a SavedModel folder"):
        export_deployed(models["mnist-mlp"], "saved-model", blocker, data)
    assert blocker.read_text() == "x"


def test_bad_requests(models, data, tmp_path):
    with pytest.raises(ActionError, match="TFLite exports only"):
        export_deployed(models["mnist-mlp"], "onnx", tmp_path / "m.onnx", data, "int8")
    with pytest.raises(ActionError, match="unknown export format"):
        export_deployed(models["mnist-mlp"], "coreml", tmp_path / "m", data)
    with pytest.raises(ActionError, match="does not fit"):
        export_deployed(models["mnist-mlp"], "onnx", tmp_path / "m.onnx",
                        load_dataset("regression-line"))
    assert not list(tmp_path.iterdir())
    _, keras = load_tensorflow()
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    two_heads = keras.Model(inputs, [keras.layers.Dense(10)(flat), keras.layers.Dense(1)(flat)])
    with pytest.raises(ActionError, match="cannot be checked: This model has 2 outputs"):
        export_deployed(two_heads, "onnx", tmp_path / "m.onnx", data)
    assert not list(tmp_path.iterdir())
