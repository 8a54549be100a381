"""The Evaluation tab and ``workbench evaluate`` report one loss: the compiled loss the weights
were trained with (regularisation penalties included), not the crossentropy of the probabilities."""

import numpy as np
import pytest

from workbench.actions.evaluate import evaluate
from workbench.core.build import build_model, compile_model
from workbench.core.datasets.dataset import Dataset
from workbench.core.spec import ModelSpec, TrainConfig
from workbench.ui.evaluation.worker import EvaluationRequest, EvaluationWorker

SPEC = {"input_shape": [6], "layers": [
    {"class_name": "Dense", "config": {"units": 8, "activation": "relu",
                                        "kernel_regularizer": {"class_name": "L2",
                                                               "config": {"l2": 0.5}}}},
    {"class_name": "Dense", "config": {"units": 3, "activation": "softmax"}},
]}


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 6)).astype("float32")
    y = rng.integers(0, 3, size=40)
    return Dataset(name="tiny", x_train=x, y_train=y, x_test=x, y_test=y, task="classification",
                   class_names=["a", "b", "c"])


def test_the_tab_reports_the_loss_the_cli_reports(qapp, data):
    spec = ModelSpec.from_dict(SPEC)
    config = TrainConfig(loss="sparse_categorical_crossentropy")
    model = build_model(spec)
    compile_model(model, config)  # as the train action compiles it, and the saved .keras holds
    cli = evaluate(model, data)

    request = EvaluationRequest(token=1, epoch=0, x=data.x_test, y=data.y_test,
                                task="classification", num_classes=3,
                                weights=[w.copy() for w in model.get_weights()],
                                spec=SPEC, loss=config.loss)
    worker = EvaluationWorker()
    try:
        tab = worker.compute(request)
    finally:
        worker.close()
    assert tab.accuracy == pytest.approx(cli.accuracy)
    assert tab.loss_name == "sparse_categorical_crossentropy"  # the tab names it
    assert tab.loss == pytest.approx(cli.loss, rel=1e-5)
    # the L2 penalty is part of the loss Keras reported while training; the tab used to show
    # only the crossentropy of the probabilities
    plain = -np.log(np.clip(tab.outputs[np.arange(40), data.y_test], 1e-7, 1)).mean()
    assert tab.loss - plain > 0.01
