"""Everything downstream of a graph spec (#13): training and evaluation through the one use case,
activations by layer name, project files, `workbench summary` on a graph project and on a
functional .keras written by plain Keras (DESIGN.md's --json form)."""

import json

import numpy as np
import pytest

from workbench import cli
from workbench.core import introspection
from workbench.core.build import build_model
from workbench.core.datasets import load_dataset
from workbench.core.project import load_project, save_project
from workbench.core.spec import ModelSpec
from workbench.core.templates import TEMPLATE_DIR, load_template
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def keras():
    return load_tensorflow()[1]


def run_cli(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_graph_template_trains_and_evaluates_through_the_use_cases():
    from workbench.actions.evaluate import evaluate
    from workbench.actions.train import train

    project = load_template("wide-deep")
    project.training.epochs = 1
    dataset = load_dataset("mnist-embedded").subset(200, 50)
    trained = train(project.model, project.training, dataset, "mnist-embedded")
    outcome = trained.outcome
    assert outcome.result.status == "completed", outcome.result
    assert outcome.test is not None and 0.0 <= outcome.test["accuracy"] <= 1.0
    report = evaluate(trained.model, dataset)
    assert report.confusion.sum() == len(dataset.y_test)
    # The weights sent to the GUI's views go into a model built from the same spec.
    views = build_model(project.model, name="views")
    views.set_weights(outcome.weights)
    x = dataset.x_test[:3].reshape((-1, 28, 28)).astype("float32")
    np.testing.assert_allclose(views(x), trained.model(x), atol=1e-6)
    # Activations are chosen by layer name, branches included.
    acts = dict(introspection.layer_activations(views, x[0], ["wide", "deep_2", "classes"]))
    assert acts["wide"].shape == (784,) and acts["deep_2"].shape == (64,)
    assert acts["classes"].shape == (10,)


def test_graph_projects_round_trip_through_files(tmp_path):
    project = load_template("resnet-digits")
    save_project(project, tmp_path / "resnet.json")
    again = load_project(tmp_path / "resnet.json")
    assert again.model.to_dict() == project.model.to_dict()
    saved = json.loads((tmp_path / "resnet.json").read_text())
    add = next(layer for layer in saved["model"]["layers"] if layer["class_name"] == "Add")
    assert add["inbound"] == ["block1_conv2", "stem_pool"] and add["name"] == "block1_add"


def test_summary_json_of_a_graph_project_names_each_node(capsys):
    code, out, err = run_cli(capsys, "summary", TEMPLATE_DIR / "inception-block.json", "--json")
    assert code == 0, err
    data = json.loads(out)
    spec = load_template("inception-block").model
    assert data["total_params"] == build_model(spec).count_params()
    mixed = next(layer for layer in data["layers"] if layer["class_name"] == "Concatenate")
    assert mixed["name"] == "mixed" and mixed["output_shape"] == [13, 13, 40]
    assert mixed["inbound"] == ["branch_1x1", "branch_3x3", "branch_pool_proj"]
    code, out, _ = run_cli(capsys, "summary", TEMPLATE_DIR / "inception-block.json")
    assert code == 0 and "mixed <- branch_1x1, branch_3x3, branch_pool_proj" in out


def test_summary_of_a_functional_keras_file(capsys, keras, tmp_path):
    inputs = keras.Input((8, 8, 1))
    a = keras.layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    b = keras.layers.Conv2D(4, 1, name="b")(inputs)
    merged = keras.layers.Add(name="merged")([a, b])
    odd = keras.layers.LeakyReLU(name="odd")(merged)  # not in the table: summary still works
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(
        keras.layers.Flatten(name="flat")(odd)))
    model.save(tmp_path / "two.keras")
    code, out, err = run_cli(capsys, "summary", tmp_path / "two.keras", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["total_params"] == model.count_params()
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert by_name["merged"]["inbound"] == ["a", "b"]
    assert by_name["merged"]["output_shape"] == [8, 8, 4]
    assert by_name["out"]["params"] == 8 * 8 * 4 * 2 + 2


def test_a_bad_graph_is_one_line_on_the_command_line(capsys, tmp_path):
    bad = {"format": "workbench/1", "model": {"input_shape": [4], "layers": [
        {"class_name": "Dense", "name": "a", "inbound": ["b"], "config": {"units": 2}},
        {"class_name": "Dense", "name": "b", "inbound": ["a"], "config": {"units": 2}}]}}
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(bad))
    code, out, err = run_cli(capsys, "summary", path)
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "form a cycle" in err and "Traceback" not in err


def test_a_graph_with_merge_error_is_invalid_with_exit_2(capsys, tmp_path):
    data = json.loads((TEMPLATE_DIR / "resnet-digits.json").read_text())
    for layer in data["model"]["layers"]:
        if layer.get("name") == "block1_conv2":
            layer["config"]["filters"] = 8  # the skip connection has 16 channels
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "summary", path, "--json")
    assert code == 2
    assert "(14, 14, 8) from 'block1_conv2' and (14, 14, 16) from 'stem_pool'" in err
    assert "1×1 Conv2D with 16 filters" in err and err.count("\n") == 1
    assert ModelSpec.from_dict(data["model"]).layers[5].name == "block1_add"
    assert json.loads(out)["error_index"] == 5


def test_a_graph_project_and_its_weights_come_back_after_a_crash(tmp_path, monkeypatch):
    from workbench.core.recovery import RecoverySession, find_recoveries

    # $WORKBENCH_DATA_DIR (the session's folder) would win over tmp_path: other tests' sessions
    # are there (under pytest-xdist this test once found two recoveries).
    monkeypatch.delenv("WORKBENCH_DATA_DIR", raising=False)

    project = load_template("inception-block")
    model = build_model(project.model)
    session = RecoverySession(tmp_path)
    session.write_autosave(project, None)
    session.checkpoints.submit(0, [w.copy() for w in model.get_weights()],
                               project.model.to_dict(), {"loss": 1.0})
    session.abandon()  # as a crash leaves it
    (recovery,) = find_recoveries(tmp_path)
    again = recovery.project()
    assert again.model.to_dict() == project.model.to_dict()
    checkpoint = recovery.checkpoint()
    rebuilt = build_model(ModelSpec.from_dict(checkpoint.spec))
    rebuilt.set_weights(checkpoint.weights)
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(rebuilt(x), model(x), atol=1e-6)
