"""The Evaluation tab and ``workbench evaluate`` report one loss: the compiled loss the weights
were trained with (regularisation penalties included), not the crossentropy of the probabilities.
The tab's evaluation is the engine's: a dataset file of the user's goes there once, by its hash."""

from types import SimpleNamespace

import numpy as np
import pytest

from workbench.actions.evaluate import evaluate
from workbench.core.build import build_model, compile_model
from workbench.core.datasets import load_dataset
from workbench.core.spec import ModelSpec, TrainConfig
from workbench.ui.engine_link import EngineLink
from workbench.ui.evaluation.worker import EvaluationRequest, EvaluationWorker

SPEC = {"input_shape": [6], "layers": [
    {"class_name": "Dense", "config": {"units": 8, "activation": "relu",
                                        "kernel_regularizer": {"class_name": "L2",
                                                               "config": {"l2": 0.5}}}},
    {"class_name": "Dense", "config": {"units": 3, "activation": "softmax"}},
]}


@pytest.fixture
def data_file(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, size=40)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    return path


def test_the_tab_reports_the_loss_the_cli_reports(qtbot, data_file, app_engine, monkeypatch):
    from workbench.engine import datacache

    data = load_dataset(data_file)
    spec = ModelSpec.from_dict(SPEC)
    config = TrainConfig(loss="sparse_categorical_crossentropy")
    model = build_model(spec)
    compile_model(model, config)  # as the train action compiles it, and the saved .keras holds
    cli = evaluate(model, data)

    sent = []
    real_send = datacache.send
    monkeypatch.setattr(datacache, "send",
                        lambda *a, **k: sent.append(real_send(*a, **k)) or sent[-1])
    link = EngineLink()
    worker = EvaluationWorker(SimpleNamespace(engine=link))
    results, failures = [], []
    worker.finished.connect(results.append)
    worker.failed.connect(lambda _token, message: failures.append(message))
    weights = [w.copy() for w in model.get_weights()]
    try:
        for token in (1, 2):
            worker.submit(EvaluationRequest(token=token, epoch=0, model={"spec": SPEC,
                                                                          "weights": weights},
                                            dataset=data, dataset_name=str(data_file),
                                            loss=config.loss))
            qtbot.waitUntil(lambda n=token: len(results) + len(failures) == n, timeout=60000)
    finally:
        worker.close()
        link.deleteLater()
    assert not failures
    tab = results[-1]
    assert tab.accuracy == pytest.approx(cli.accuracy)
    assert tab.loss_name == "sparse_categorical_crossentropy"  # the tab names it
    assert tab.loss == pytest.approx(cli.loss, rel=1e-5)
    # the L2 penalty is part of the loss Keras reported while training; the tab used to show
    # only the crossentropy of the probabilities
    plain = -np.log(np.clip(tab.outputs[np.arange(40), data.y_test], 1e-7, 1)).mean()
    assert tab.loss - plain > 0.01
    # The file went to the engine by its hash, once: the second evaluation named it only.
    assert len(sent) == 1 and sent[0][1] == data_file.stat().st_size


def test_a_folder_dataset_goes_to_the_engine_once(qtbot, tmp_path, monkeypatch):
    """A folder of images is packed, hashed and sent once; the next epochs' evaluations name it
    by its hash (a walk of the folder, not a packing of it, says it did not change)."""
    from PIL import Image

    from workbench.engine import datacache

    root = tmp_path / "shapes"
    rng = np.random.default_rng(0)
    for name in ("circle", "square", "triangle"):
        (root / name).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 255, (10, 12), dtype=np.uint8)).save(
                root / name / f"{i}.png")
    data = load_dataset(str(root))
    spec = {"input_shape": list(data.input_shape), "layers": [
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 3, "activation": "softmax"}}]}
    weights = [np.full((120, 3), 0.01, np.float32), np.array([0.0, 1.0, 0.0], np.float32)]
    packed = []
    real_pack = datacache.pack_folder
    monkeypatch.setattr(datacache, "pack_folder",
                        lambda *a: packed.append(a[0]) or real_pack(*a))
    link = EngineLink()
    worker = EvaluationWorker(SimpleNamespace(engine=link))
    results, failures = [], []
    worker.finished.connect(results.append)
    worker.failed.connect(lambda _token, message: failures.append(message))
    try:
        for token in (1, 2):
            worker.submit(EvaluationRequest(token, 0, {"spec": spec, "weights": weights}, data,
                                            str(root)))
            qtbot.waitUntil(lambda n=token: len(results) + len(failures) == n, timeout=60000)
    finally:
        worker.close()
        link.deleteLater()
    assert not failures and len(packed) == 1
    np.testing.assert_array_equal(results[-1].y_true, data.y_test)
    assert results[-1].y_pred.tolist() == [1] * len(data.y_test)  # the bias wins
