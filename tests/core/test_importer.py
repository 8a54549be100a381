"""Opening Keras models made anywhere: Sequential → editable spec, the rest read-only, no code."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.importer import (
    ModelImportError,
    import_model,
    import_model_file,
    spec_from_keras,
)
from workbench.core.modelio import ModelFileError, load_model, save_model
from workbench.core.templates import load_template, templates


@pytest.fixture(scope="module")
def keras():
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow()[1]


@pytest.mark.parametrize("key", [t.key for t in templates()])
def test_every_template_comes_back_as_the_same_spec(tmp_path, keras, key):
    from workbench.core.build import build_model

    spec = load_template(key).model
    model = build_model(spec)
    path = save_model(model, tmp_path / f"{key}.keras")
    imported = import_model_file(path)
    assert imported.editable, imported.reason
    if spec.is_sequential():
        assert imported.spec == spec
    else:  # a graph comes back as the same graph, its rows in Keras's topological order
        assert imported.spec.same_graph(spec) and imported.kind == "functional"
    for ours, theirs in zip(model.get_weights(), imported.model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_keras_written_model_maps_initializers_regularizers_and_compile(tmp_path, keras):
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(8, 3, padding="same", kernel_initializer="he_normal",
                            kernel_regularizer=keras.regularizers.L2(0.01)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.keras")
    imported = import_model_file(tmp_path / "m.keras")
    assert imported.editable
    spec = imported.spec
    assert spec.input_shape == (28, 28, 1)
    assert [layer.class_name for layer in spec.layers] == [
        "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    conv = spec.layers[0].config
    assert conv["kernel_initializer"] == "he_normal"
    assert conv["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.01}}
    assert conv["padding"] == "same" and conv["kernel_size"] == [3, 3]
    assert spec.layers[1].config["strides"] is None  # Keras's default written out, kept default
    assert spec.layers[3].config["rate"] == pytest.approx(0.3)
    assert imported.training.optimizer == "sgd"
    assert imported.training.learning_rate == 0.05 and imported.training.momentum == 0.9
    assert imported.training.loss == "sparse_categorical_crossentropy"


def test_legacy_h5_sequential_is_editable(tmp_path, keras):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.save(tmp_path / "old.h5")
    imported = import_model_file(tmp_path / "old.h5")
    assert imported.editable, imported.reason
    assert imported.spec.input_shape == (6,)
    assert imported.spec.layers[0].config["units"] == 4
    assert imported.spec.layers[0].config["activation"] == "tanh"


@pytest.mark.parametrize("make, reason", [
    (lambda k: k.Sequential([k.Input((8, 8, 1)), k.layers.Conv2D(4, 3, dilation_rate=2)]),
     "dilation_rate=[2, 2] is not supported"),
    (lambda k: k.Sequential([k.Input((8,)), k.layers.Dense(3, activity_regularizer="l2")]),
     "activity_regularizer=L2"),
    (lambda k: k.Sequential([k.Input((8,)), k.layers.Rescaling(0.5)]),
     "layer 1 (Rescaling): the layer type 'Rescaling' is not one the editor supports"),
    (lambda k: k.Sequential([k.Input((None, 5)), k.layers.LSTM(3)]), "sizes left open"),
    (lambda k: k.Sequential([k.Input((8, 8, 1)), k.layers.RandomRotation((-0.1, 0.2))]),
     "layer 1 (RandomRotation): factor must be a number"),
    (lambda k: k.Sequential([k.Input((5,)), k.layers.Dense(3),
                             k.layers.BatchNormalization(center=False)]),
     "layer 2 (BatchNormalization): center=False"),
])
def test_unsupported_sequential_models_say_why(keras, make, reason):
    model = make(keras)
    with pytest.raises(ModelImportError, match=None) as info:
        spec_from_keras(model)
    assert reason in str(info.value)
    imported = import_model(model)
    assert not imported.editable and reason in imported.reason
    assert imported.model is model


def test_functional_models_open_as_editable_graphs(tmp_path, keras):
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    merged = keras.layers.Concatenate()([keras.layers.Dense(8)(flat), keras.layers.Dense(8)(flat)])
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(merged))
    model.save(tmp_path / "branches.keras")
    imported = import_model_file(tmp_path / "branches.keras")
    assert imported.editable, imported.reason
    assert imported.kind == "functional"
    spec = imported.spec
    assert [layer.class_name for layer in spec.layers] == [
        "Flatten", "Dense", "Dense", "Concatenate", "Dense"]
    assert spec.layers[3].inbound == [spec.layers[1].name, spec.layers[2].name]
    assert spec.layers[2].inbound == [spec.layers[0].name]
    from workbench.core.build import build_model

    rebuilt = build_model(spec)
    rebuilt.set_weights(imported.model.get_weights())
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_functional_models_outside_the_editor_open_read_only_with_the_reason(tmp_path, keras):
    inputs = keras.Input((6,))
    shared = keras.layers.Dense(6)
    twice = keras.Model(inputs, shared(shared(inputs)))
    imported = import_model(twice)
    assert not imported.editable and "used 2 times" in imported.reason
    a, b = keras.Input((3,)), keras.Input((3,))
    two_inputs = keras.Model([a, b], keras.layers.Add()([a, b]))
    assert "2 inputs" in import_model(two_inputs).reason
    odd = keras.Model(inputs, keras.layers.LeakyReLU()(keras.layers.Dense(2)(inputs)))
    reason = import_model(odd).reason
    assert "LeakyReLU" in reason and "not one the editor supports" in reason
    x = np.zeros((2, 6), "float32")
    np.testing.assert_allclose(imported.model.predict(x, verbose=0), twice.predict(x, verbose=0))


def test_a_lambda_model_is_refused_and_never_runs(tmp_path, keras):
    marker = tmp_path / "pwned.txt"
    target = str(marker)  # the closure must hold plain data for Keras to save it
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Lambda(lambda x: (open(target, "w").write("ran"), x)[1]),
        keras.layers.Dense(2),
    ])
    model.save(tmp_path / "evil.keras")
    model.save(tmp_path / "evil.h5")
    assert marker.exists()
    marker.unlink()  # building the model above ran the function once, here, on purpose
    for name in ("evil.keras", "evil.h5"):
        with pytest.raises(ModelFileError) as info:
            load_model(tmp_path / name)
        assert "refused" in str(info.value) and "Lambda" in str(info.value)
        with pytest.raises(ModelFileError, match="refused"):
            import_model_file(tmp_path / name)
        assert not marker.exists()


def _zip_without_a_model() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{not json")
    return buffer.getvalue()


@pytest.mark.parametrize("content, reason", [
    (b"not a zip", "not a valid .keras file"),
    (_zip_without_a_model(), "its model description is not valid JSON"),
])
def test_corrupt_model_files(tmp_path, keras, content, reason):
    path = tmp_path / "broken.keras"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=reason):
        import_model_file(path)


def test_opening_a_compiled_keras_file_prints_nothing(tmp_path, keras):
    """Keras warns that the file's optimizer state does not fit; we never use that state, so
    users must not see the warning.

    In a subprocess: pytest resets warning filters around each test, the app does not.
    """
    import subprocess
    import sys
    from pathlib import Path

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    model.save(tmp_path / "compiled.keras")
    script = ("from workbench.core.importer import import_model_file\n"
              f"print(import_model_file({str(tmp_path / 'compiled.keras')!r}).training.optimizer)")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "sgd"
    assert proc.stderr == ""
