"""Fixtures of the engine's tests: an engine in a thread of the test process (in-process
transport), and a tiny model and dataset to train for one epoch."""

import pytest

from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.engine.inprocess import InProcessEngine


@pytest.fixture(scope="module")
def engine():
    with InProcessEngine() as running:
        yield running


def tiny_spec() -> dict:
    L = LayerSpec.create
    return ModelSpec((28, 28), [L("Flatten"), L("Dense", units=8, activation="relu"),
                                L("Dense", units=10, activation="softmax")]).to_dict()


def tiny_config(**changes) -> dict:
    config = TrainConfig(epochs=1, batch_size=50, validation_split=0.2, metrics=[], seed=1)
    for key, value in changes.items():
        setattr(config, key, value)
    return config.to_dict()


def tiny_train(**changes) -> dict:
    """A train request's body: 200 embedded digits, one epoch."""
    body = {"spec": tiny_spec(), "config": tiny_config(), "dataset": "mnist-embedded",
            "subset": [200, 50], "download": False}
    body.update(changes)
    return body
