"""The export action: each export written, then run beside the original on test samples."""

import json

import numpy as np
import pytest

from workbench.actions.dataset import describe
from workbench.actions.errors import ActionError
from workbench.actions.export import compare, export_keras, export_script, trained_model
from workbench.actions.train import train
from workbench.core.datasets import load_dataset
from workbench.core.modelio import load_model
from workbench.core.templates import load_template


@pytest.fixture(scope="module")
def trained():
    project = load_template("mnist-mlp")
    project.training.epochs = 1
    data = load_dataset("mnist-embedded").subset(300, 100)
    return project, train(project.model, project.training, data, "d").model, data


def test_export_keras_reloads_the_file_and_runs_it(trained, tmp_path):
    _, model, data = trained
    report = export_keras(model, tmp_path / "m.keras", data)
    assert report.path == str(tmp_path / "m.keras") and report.bytes > 10_000
    assert report.max_abs_diff < 1e-6 and report.agreement == 1.0 and report.latency_ms > 0
    assert set(report.to_dict()) == {"path", "bytes", "max_abs_diff", "agreement", "latency_ms",
                                     "accuracy", "keras_accuracy", "samples", "runtime"}
    assert report.samples == 100 and report.accuracy == report.keras_accuracy
    again = load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


def test_export_script_builds_the_trained_network(trained, tmp_path):
    project, model, data = trained
    report = export_script(project, tmp_path / "train.py", data, model)
    assert report.max_abs_diff < 1e-5 and report.agreement == 1.0
    assert "def build_model" in (tmp_path / "train.py").read_text()


def test_compare_reports_a_export_that_computes_something_else(trained, tmp_path):
    _, model, data = trained
    x = data.x_test[:50]
    path = tmp_path / "f"
    path.write_bytes(b"x")
    report = compare(model, lambda batch: np.roll(model.predict_on_batch(batch), 1, axis=1),
                     x, path)
    assert report.max_abs_diff > 0.1 and report.agreement < 0.5


def test_a_project_without_trained_weights_says_so(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(load_template("mnist-mlp").to_dict()))
    with pytest.raises(ActionError, match="no trained weights .*p.keras.* train it first"):
        trained_model(path)


def test_a_dataset_that_does_not_fit(trained, tmp_path):
    _, model, _ = trained
    with pytest.raises(ActionError, match="does not fit this model"):
        export_keras(model, tmp_path / "m.keras", load_dataset("regression-line"))
    assert not (tmp_path / "m.keras").exists()


def test_describe_dataset():
    info = describe(load_dataset("mnist-embedded"))
    assert set(info) == {"name", "task", "input_shape", "classes", "train_counts", "test_counts"}
    assert info["input_shape"] == [28, 28] and info["classes"] == [str(i) for i in range(10)]
    assert sum(info["train_counts"]) == 8000 and sum(info["test_counts"]) == 2000
    line = describe(load_dataset("regression-line"))
    assert line["task"] == "regression" and line["classes"] == [] and line["train_counts"] == [100]
