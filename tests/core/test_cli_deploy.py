"""``workbench export --onnx/--tflite/--saved-model``: the report, and nothing else on the
terminal (the converters' C++ log lines are kept off file descriptor 2)."""

import json

import pytest

from workbench.actions.train import train
from workbench.cli import main
from workbench.core.datasets import load_dataset
from workbench.core.modelio import save_model
from workbench.core.project import save_project, weights_path
from workbench.core.templates import load_template


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deploy-cli")
    project = load_template("mnist-mlp")
    project.training.epochs = 1
    data = load_dataset("mnist-embedded").subset(300, 100)
    model = train(project.model, project.training, data, "d").model
    save_project(project, folder / "mlp.json")
    save_model(model, weights_path(folder / "mlp.json"))
    save_project(project, folder / "untrained.json")
    return folder


def test_onnx_json_report_and_a_quiet_terminal(project, tmp_path, capfd):
    assert main(["export", str(project / "mlp.json"), "--onnx", str(tmp_path / "m.onnx"),
                 "--json"]) == 0
    out, err = capfd.readouterr()
    report = json.loads(out)
    assert {"path", "bytes", "max_abs_diff", "agreement", "latency_ms", "accuracy"} <= set(report)
    assert report["bytes"] == (tmp_path / "m.onnx").stat().st_size
    assert report["agreement"] >= 0.999 and report["samples"] == 1000
    assert err == ""


def test_quantised_tflite_text_report(project, tmp_path, capfd):
    assert main(["export", str(project / "mlp.json"), "--tflite", str(tmp_path / "q.tflite"),
                 "--quantize", "float16"]) == 0
    out, err = capfd.readouterr()
    assert out.startswith(f"Wrote {tmp_path / 'q.tflite'}") and "ran it in LiteRT" in out
    assert "accuracy" in out and "(Keras" in out
    assert err == ""


def test_failures_are_one_line(project, tmp_path, capfd):
    assert main(["export", str(project / "untrained.json"), "--onnx",
                 str(tmp_path / "m.onnx")]) != 0
    _, err = capfd.readouterr()
    assert err.count("\n") == 1 and "train it first" in err
    assert main(["export", str(project / "mlp.json"), "--onnx", str(tmp_path / "m.onnx"),
                 "--quantize", "int8"]) != 0
    _, err = capfd.readouterr()
    assert err.count("\n") == 1 and "--quantize goes with --tflite" in err
    assert not list(tmp_path.iterdir())
