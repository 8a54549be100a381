"""The views' requests about a model held under a handle (engine/views.py): each answers what
the same core function says about the same model here, in numpy, and a model or input it cannot
serve is one line (the engine goes on)."""

import numpy as np
import pytest

from tests.engine.conftest import tiny_spec
from workbench.engine.client import EngineError


@pytest.fixture(scope="module")
def cnn(engine, trained_cnn):
    """The trained CNN (one epoch) held by the engine under a handle; the local model beside."""
    engine.request("load_model", {"handle": "views-cnn", "spec": trained_cnn.spec,
                                  "weights": trained_cnn.weights}, timeout=120)
    yield "views-cnn", trained_cnn
    engine.request("release", {"handle": "views-cnn"}, timeout=30)


def a_one() -> np.ndarray:
    digit = np.zeros((28, 28), np.float32)
    digit[5:23, 13:16] = 1.0
    return digit


def test_explain_a_drawn_digit_for_its_answer_and_another_class(engine, cnn):
    from workbench.actions.explain import explain_digit

    handle, trained = cnn
    reply = engine.request("explain", {"handle": handle, "digit": a_one(),
                                       "method": "integrated-gradients", "targets": [None, 3],
                                       "steps": 8}, timeout=120)
    assert reply["offered"]["gradcam"] is None  # a CNN: every method offered
    assert len(reply["heatmaps"]) == 2 and reply["heatmaps"][0].shape == (28, 28)
    assert reply["targets"] == [reply["predicted"], 3]
    assert reply["probabilities"].shape == (10,)
    here = explain_digit(trained.model, a_one(), "integrated-gradients", 3, 8)
    np.testing.assert_allclose(reply["heatmaps"][1], here.explanation.heatmap, atol=1e-4)
    assert reply["predicted"] == here.predicted


def test_explain_a_test_image_in_the_models_layout(engine, cnn):
    from workbench.core import explain

    handle, trained = cnn
    sample = np.asarray(trained.data.x_test[0], np.float32)
    reply = engine.request("explain", {"handle": handle, "sample": sample, "method": "gradcam",
                                       "targets": [int(trained.data.y_test[0])]}, timeout=120)
    here = explain.explain(trained.model, sample[None], "gradcam",
                           int(trained.data.y_test[0]))
    np.testing.assert_allclose(reply["heatmaps"][0], here.heatmap, atol=1e-4)


def test_explain_refuses_a_method_the_model_does_not_offer_and_names_the_others(engine):
    weights = [np.full(s, 0.01, np.float32) for s in ((784, 8), (8,), (8, 10), (10,))]
    engine.request("load_model", {"handle": "views-mlp", "spec": tiny_spec(),
                                  "weights": weights}, timeout=120)
    try:
        reply = engine.request("explain", {"handle": "views-mlp", "digit": a_one(),
                                           "method": "gradcam"}, timeout=60)
        assert "Grad-CAM needs a Conv2D" in reply["refused"] and "heatmaps" not in reply
        assert reply["offered"]["gradients"] is None and reply["offered"]["gradcam"]
        with pytest.raises(EngineError, match="unknown method 'nope'"):
            engine.request("explain", {"handle": "views-mlp", "digit": a_one(),
                                       "method": "nope"}, timeout=60)
        with pytest.raises(EngineError, match="does not fit this model"):
            engine.request("explain", {"handle": "views-mlp", "method": "gradients",
                                       "sample": np.zeros((5, 5), np.float32)}, timeout=60)
    finally:
        engine.request("release", {"handle": "views-mlp"}, timeout=30)
    with pytest.raises(EngineError, match="holds no model 'views-mlp'"):
        engine.request("explain", {"handle": "views-mlp", "digit": a_one()}, timeout=60)


def test_activations_and_layers_are_what_the_model_says_here(engine, cnn):
    from workbench.core.introspection import layer_activations
    from workbench.core.weight_layers import weighted_layers

    handle, trained = cnn
    sample = np.asarray(trained.data.x_test[1], np.float32)
    reply = engine.request("activations", {"handle": handle, "sample": sample}, timeout=60)
    here = layer_activations(trained.model, sample)
    assert reply["names"] == [name for name, _ in here]
    for got, (_name, expected) in zip(reply["outputs"], here, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert reply["classes"][reply["names"][0]] == type(trained.model.layers[0]).__name__

    found = engine.request("layers", {"handle": handle}, timeout=60)
    local = weighted_layers(trained.model)
    assert [layer["name"] for layer in found["layers"]] == [layer.name for layer in local]
    assert [tuple(map(tuple, layer["shapes"])) for layer in found["layers"]] == \
        [layer.shapes for layer in local]
    assert [layer["start"] for layer in found["layers"]] == [layer.start for layer in local]
    assert found["input_shape"] == [28, 28]


def test_feature_space_pca_at_once_and_tsne_through_project(engine, cnn):
    from workbench.core import feature_space

    _handle, trained = cnn
    model = {"spec": trained.spec, "weights": trained.weights}  # a model of the lane's own
    x = np.asarray(trained.data.x_test[:60], np.float32)
    feats, _ = feature_space.features(trained.model, x)
    pca = engine.request("feature_space", {**model, "x": x, "projection": "pca"},
                         timeout=120)
    assert pca["dims"] == feats.shape[1] and "features" not in pca
    np.testing.assert_allclose(pca["xy"], feature_space.pca(feats), atol=1e-3)
    slow = engine.request("feature_space", {**model, "x": x, "projection": "tsne"},
                          timeout=120)
    assert "xy" not in slow and slow["features"].shape == feats.shape
    xy = engine.request("project", {"features": slow["features"], "projection": "tsne"},
                        timeout=300)["xy"]
    assert xy.shape == (60, 2) and np.isfinite(xy).all()
    with pytest.raises(EngineError, match="too few"):
        engine.request("project", {"features": slow["features"][:2], "projection": "pca"})
    with pytest.raises(EngineError, match="unknown projection"):
        engine.request("feature_space", {**model, "x": x, "projection": "mds"})


def test_class_pictures_per_class_on_a_lane_that_leaves_draw_free(engine, cnn, monkeypatch):
    import threading

    from workbench.core import feature_space

    _handle, trained = cnn
    model = {"spec": trained.spec, "weights": trained.weights}
    lanes = []
    original = feature_space.class_pictures
    monkeypatch.setattr(feature_space, "class_pictures", lambda *a, **k: lanes.append(
        threading.current_thread().name) or original(*a, **k))
    pictures = engine.request("class_pictures", {**model, "steps": 4}, timeout=120)["pictures"]
    assert pictures.shape == (10, 28, 28) and 0.0 <= pictures.min() <= pictures.max() <= 1.0
    assert lanes == ["engine-compute"]  # not the views lane, where Draw's answers wait
    np.testing.assert_allclose(pictures, original(trained.model, steps=4), atol=1e-4)
    # The next epoch's weights: the same model of the lane's own, holding them.
    zeros = [np.zeros_like(w) for w in trained.weights]
    flat = engine.request("class_pictures", {**model, "weights": zeros, "steps": 4},
                          timeout=120)["pictures"]
    assert not np.allclose(flat, pictures)
    with pytest.raises(EngineError, match="steps is a whole number"):
        engine.request("class_pictures", {**model, "steps": 0})
    with pytest.raises(EngineError, match="weights do not fit"):
        engine.request("class_pictures", {**model, "weights": zeros[:2]})
