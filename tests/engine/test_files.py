"""The engine's file requests: a model file sent as bytes is imported there (its hostile-file
checks too, their lines naming the file as the window named it), the trained weights come back as
a ``.keras`` file's bytes, and every export is written and checked there and replied as bytes."""

import io
import tarfile
import zipfile

import numpy as np
import pytest

from tests.engine.conftest import tiny_spec
from workbench.engine.client import EngineError
from workbench.engine.files import as_bytes


def _keras_model(functional_shared: bool = False):
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    if functional_shared:  # a layer used twice: read-only
        inputs = keras.Input((28, 28))
        flat = keras.layers.Flatten()(inputs)
        dense = keras.layers.Dense(784)
        outputs = keras.layers.Dense(10, activation="softmax")(dense(dense(flat)))
        return keras.Model(inputs, outputs)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _file(model, tmp_path, name="model.keras") -> bytes:
    path = tmp_path / name
    model.save(path)
    return path.read_bytes()


def _body(data: bytes, name="model.keras", where="/home/me/model.keras") -> dict:
    return {"file": as_bytes(data), "name": name, "where": where}


def test_open_model_imports_a_sequential_file_as_an_editable_spec_with_its_weights(
        engine, tmp_path):
    model = _keras_model()
    reply = engine.request("open_model", _body(_file(model, tmp_path)), timeout=120)
    assert reply["editable"] and reply["kind"] == "sequential" and reply["reason"] == ""
    assert [layer["class_name"] for layer in reply["spec"]["layers"]] == [
        "Flatten", "Dense", "Dense"]
    assert reply["training"]["loss"] == "sparse_categorical_crossentropy"
    assert reply["input_shape"] == [28, 28]
    for theirs, ours in zip(model.get_weights(), reply["weights"], strict=True):
        np.testing.assert_array_equal(theirs, ours)


def test_open_model_answers_a_model_it_cannot_edit_read_only_with_its_plain_config(
        engine, tmp_path):
    model = _keras_model(functional_shared=True)
    reply = engine.request("open_model", _body(_file(model, tmp_path)), timeout=120)
    assert not reply["editable"] and reply["spec"] is None and "used 2 times" in reply["reason"]
    from workbench.core.modelio import model_from_plain

    rebuilt = model_from_plain(reply["plain"], list(reply["weights"]))
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(rebuilt(x), model(x), atol=1e-6)


def test_a_hostile_or_broken_file_is_one_line_naming_the_file_as_the_window_named_it(
        engine, tmp_path):
    with pytest.raises(EngineError) as error:
        engine.request("open_model", _body(b"not a zip at all"), timeout=60)
    assert str(error.value).startswith("/home/me/model.keras: not a valid .keras file")
    assert "workbench-engine-" not in str(error.value)  # not the engine's temporary copy
    bomb = io.BytesIO()  # a config.json that would inflate to 100 MB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * 100_000_000)
    with pytest.raises(EngineError, match=r"^/home/me/model.keras: refused"):
        engine.request("open_model", _body(bomb.getvalue()), timeout=60)
    assert engine.request("ping", timeout=10)["pid"]  # the engine goes on


def test_open_weights_gives_the_weights_only_when_they_fit_the_spec(engine, tmp_path):
    data = _file(_keras_model(), tmp_path)
    body = _body(data)
    reply = engine.request("open_weights", {**body, "spec": tiny_spec()}, timeout=120)
    assert reply["fits"] and [w.shape for w in reply["weights"]] == [
        (784, 8), (8,), (8, 10), (10,)]
    other = tiny_spec()
    other["layers"][1]["config"]["units"] = 9
    assert engine.request("open_weights", {**body, "spec": other}, timeout=120) == {
        "fits": False}


def test_save_keras_replies_the_trained_model_as_a_keras_files_bytes(engine, tmp_path):
    from workbench.core.modelio import load_model

    weights = [np.full((784, 8), 0.5, np.float32), np.zeros(8, np.float32),
               np.ones((8, 10), np.float32), np.arange(10, dtype=np.float32)]
    reply = engine.request("save_keras", {"spec": tiny_spec(), "weights": weights}, timeout=120)
    path = tmp_path / "saved.keras"
    path.write_bytes(reply["keras"].tobytes())
    for theirs, ours in zip(load_model(path, compile=False).get_weights(), weights, strict=True):
        np.testing.assert_array_equal(theirs, ours)


def _samples(n: int = 40) -> dict:
    rng = np.random.default_rng(1)
    return {"name": "random", "task": "classification", "class_names": [str(i) for i in range(10)],
            "x_test": rng.random((n, 28, 28), dtype=np.float32),
            "y_test": rng.integers(0, 10, n).astype(np.int64)}


def _trained() -> dict:
    rng = np.random.default_rng(2)
    return {"spec": tiny_spec(), "weights": [
        rng.normal(size=s).astype(np.float32) * 0.1 for s in ((784, 8), (8,), (8, 10), (10,))]}


def test_export_keras_is_written_checked_and_replied_as_bytes(engine, tmp_path):
    from workbench.core.modelio import load_model

    reply = engine.request("export", {"kind": "keras", **_trained(), "samples": _samples(),
                                      "name": "out.keras", "where": "/x/out.keras"}, timeout=120)
    report = reply["report"]
    assert report["path"] == "/x/out.keras" and report["samples"] == 40
    assert report["max_abs_diff"] < 1e-5 and report["agreement"] == 1.0
    assert report["bytes"] == len(reply["file"]) and not reply["folder"]
    (tmp_path / "out.keras").write_bytes(reply["file"].tobytes())
    assert len(load_model(tmp_path / "out.keras", compile=False).get_weights()) == 4


def test_export_onnx_runs_in_its_runtime_with_progress_events(engine):
    messages = list(engine.stream("export", {"kind": "onnx", **_trained(), "samples": _samples(),
                                             "name": "out.onnx"}, timeout=300))
    reply = messages[-1]
    assert reply.ok, reply.error
    progress = [m.body["fraction"] for m in messages if m.kind == "event"]
    assert progress and progress[-1] == 1.0
    assert reply.body["report"]["runtime"] == "onnxruntime"
    assert bytes(reply.body["file"][:2]) != b"PK"  # not a zip: a protobuf


def test_export_saved_model_comes_back_as_a_tar_of_its_folder_without_a_manifest(engine):
    reply = engine.request("export", {"kind": "saved-model", **_trained(),
                                      "samples": _samples(), "name": "served"}, timeout=300)
    assert reply["folder"]
    with tarfile.open(fileobj=io.BytesIO(reply["file"].tobytes())) as tar:
        names = tar.getnames()
    assert "saved_model.pb" in names and "workbench-export.json" not in names


def test_export_script_and_report_and_bad_requests(engine, tmp_path):
    from workbench.core.project import Project
    from workbench.core.spec import ModelSpec, TrainConfig

    project = Project(ModelSpec.from_dict(tiny_spec()), TrainConfig(), "mnist-embedded")
    reply = engine.request("export", {"kind": "script", **_trained(), "samples": _samples(),
                                      "project": project.to_dict(), "name": "train.py"},
                           timeout=300)
    assert b"def build_model" in reply["file"].tobytes() and reply["report"]["samples"] == 40
    with pytest.raises(EngineError, match="unknown export kind 'zip'"):
        engine.request("export", {"kind": "zip"}, timeout=30)
    with pytest.raises(EngineError, match="no runs"):
        engine.request("export", {"kind": "report", "project": project.to_dict(),
                                  "name": "r.html", "dataset": "mnist-embedded"}, timeout=120)


def test_a_stop_cancels_an_export_between_its_steps(engine):
    import queue

    heard: queue.SimpleQueue = queue.SimpleQueue()
    call = engine.submit("export", {"kind": "onnx", **_trained(), "samples": _samples(),
                                    "name": "out.onnx"}, on_event=heard.put)
    heard.get(timeout=120)  # its first step began
    assert engine.request("stop", {"request": call.id}, timeout=10) == {"found": True}
    with pytest.raises(EngineError, match="the export was cancelled"):
        call.result(timeout=300)


def test_a_deployed_model_is_opened_from_bytes_answers_digits_and_is_released(engine):
    import os

    reply = engine.request("export", {"kind": "onnx", **_trained(), "samples": _samples(),
                                      "name": "d.onnx"}, timeout=300)
    body = {"file": reply["file"], "name": "d.onnx", "where": "/x/d.onnx", "handle": "dep-1"}
    opened = engine.request("open_deployed", body, timeout=120)
    assert opened == {"runtime": "onnxruntime", "input_shape": [28, 28]}
    folder = engine.engine_state.deployed["dep-1"][1]  # the engine's temporary copy
    digit = np.random.default_rng(3).random((28, 28), dtype=np.float32)
    answer = engine.request("predict_deployed", {"handle": "dep-1", "digit": digit}, timeout=30)
    assert answer["output"].shape == (10,) and answer["latency_ms"] > 0
    from workbench.engine.sources import build

    model = build(("spec", tiny_spec()), _trained()["weights"])
    np.testing.assert_allclose(answer["output"], model(digit[None]).numpy()[0], atol=1e-5)
    assert engine.request("release_deployed", {"handle": "dep-1"}, timeout=30) == {
        "released": True}
    assert not os.path.exists(folder)
    with pytest.raises(EngineError, match="holds no exported model 'dep-1'"):
        engine.request("predict_deployed", {"handle": "dep-1", "digit": digit}, timeout=30)
    with pytest.raises(EngineError, match=r"^/x/bad.onnx: "):  # named as the window names it
        engine.request("open_deployed", {**body, "file": as_bytes(b"not onnx"),
                                         "name": "bad.onnx", "where": "/x/bad.onnx"},
                       timeout=120)
    with pytest.raises(EngineError, match="expected .onnx or .tflite"):
        engine.request("open_deployed", {**body, "name": "d.keras"}, timeout=30)
