"""The engine's ``evaluate`` (engine/evaluation.py): the CLI's report with the compiled loss, a
regression's errors and fitted curve, the caller's subset of a named dataset, and a model built
once per architecture however many epochs are evaluated."""

import numpy as np
import pytest

from tests.engine.conftest import tiny_spec
from workbench.engine.client import EngineError

LINE = {"input_shape": [1], "layers": [{"class_name": "Dense", "config": {"units": 1}}]}


def test_a_regression_gets_its_errors_and_its_curve(engine):
    from workbench.core.datasets import load_dataset

    data = load_dataset("regression-line")
    weights = [np.array([[2.0]], np.float32), np.array([0.5], np.float32)]
    curve_x = np.linspace(-1, 1, 5, dtype=np.float32).reshape(-1, 1)
    reply = engine.request("evaluate", {"spec": LINE, "weights": weights,
                                        "dataset": "regression-line", "curve_x": curve_x},
                           timeout=120)
    predicted = 2.0 * np.asarray(data.x_test, np.float32).reshape(-1, 1) + 0.5
    assert reply["task"] == "regression"
    np.testing.assert_allclose(reply["outputs"], predicted, rtol=1e-5, atol=1e-6)
    expected = float(np.mean((predicted.ravel() - np.ravel(data.y_test)) ** 2))
    assert reply["mse"] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(reply["curve_y"].ravel(), 2.0 * curve_x.ravel() + 0.5, rtol=1e-5)


def test_the_callers_subset_the_compiled_loss_and_one_build(engine, monkeypatch):
    from workbench.core import build
    from workbench.core.datasets import load_dataset

    builds = []
    original = build.build_model
    monkeypatch.setattr(build, "build_model", lambda *a, **k: builds.append(1) or original(*a,
                                                                                          **k))
    mine = load_dataset("mnist-embedded").subset(200, 40).subset(100)
    weights = [np.full(s, 0.01, np.float32) for s in ((784, 8), (8,), (8, 10), (10,))]
    body = {"spec": tiny_spec(), "weights": weights, "dataset": "mnist-embedded",
            "subset": [list(call) for call in mine.subsets],
            "loss": "sparse_categorical_crossentropy"}
    first = engine.request("evaluate", body, timeout=120)
    np.testing.assert_array_equal(first["labels"], mine.y_test)  # the caller's very samples
    assert first["loss_name"] == "sparse_categorical_crossentropy"
    # Flat weights: every class 0.1, the compiled crossentropy ln 10.
    assert first["loss"] == pytest.approx(np.log(10), rel=1e-4)
    again = engine.request("evaluate", {**body, "weights": [w * 2 for w in weights]},
                           timeout=120)
    assert len(builds) == 1 and again["seconds"] >= 0  # the next epoch: the weights only
    with pytest.raises(EngineError, match="weights do not fit"):
        engine.request("evaluate", {**body, "weights": weights[:2]}, timeout=60)
    with pytest.raises(EngineError, match="subset is a list"):
        engine.request("evaluate", {**body, "subset": ["all"]}, timeout=60)
