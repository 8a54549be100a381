"""The feature space: the penultimate layer's activations as the model computes them, projections
that keep what is apart apart, and class pictures that the model reads as their class."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core import feature_space as fs
from workbench.core.tf_loader import load_tensorflow


@pytest.fixture(scope="module")
def trained_mlp():
    from workbench.core.build import build_model
    from workbench.core.datasets import load_dataset
    from workbench.core.templates import load_template

    keras = load_tensorflow()[1]
    keras.utils.set_random_seed(0)
    data = load_dataset("mnist-embedded").subset(1000, 200)
    model = build_model(load_template("mnist-mlp").model)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=2, batch_size=32, verbose=0)
    return model, data


def test_features_are_what_the_last_layer_receives(trained_mlp, tmp_path):
    from workbench.core.modelio import load_model, save_model

    model, data = trained_mlp
    keras = load_tensorflow()[1]
    feats, outputs = fs.features(model, data.x_test)
    hidden = keras.Model(model.inputs[0], model.layers[-2].output)  # the last Dense's input
    np.testing.assert_allclose(feats, hidden(data.x_test).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outputs, model(data.x_test).numpy(), rtol=1e-5, atol=1e-6)
    # A model opened from a file gives the same numbers (its layers were called several times).
    loaded = load_model(save_model(model, tmp_path / "m.keras"), compile=False)
    np.testing.assert_allclose(fs.features(loaded, data.x_test)[0], feats, rtol=1e-5, atol=1e-5)


def test_features_of_a_graph_model():
    from workbench.core.build import build_model
    from workbench.core.templates import load_template

    model = build_model(load_template("resnet-digits").model)
    x = np.random.default_rng(0).uniform(size=(5, 28, 28)).astype(np.float32)
    feats, outputs = fs.features(model, x)
    assert feats.shape == (5, int(np.prod(model.layers[-1].input.shape[1:])))
    np.testing.assert_allclose(outputs, model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_pca_finds_the_direction_of_largest_spread():
    rng = np.random.default_rng(0)
    t = rng.normal(size=300)
    direction = np.array([3.0, -4.0, 0.0, 0.0]) / 5.0
    points = t[:, None] * 10.0 * direction + rng.normal(scale=0.1, size=(300, 4))
    scores = fs.project(points, "pca")
    assert scores.shape == (300, 2)
    assert abs(np.corrcoef(scores[:, 0], t)[0, 1]) > 0.999
    assert scores[:, 0].std() > 50 * scores[:, 1].std()
    np.testing.assert_array_equal(fs.project(points * 1.0, "pca"), scores)  # no random flips


@pytest.mark.slow  # t-SNE of the test digits: 11-20 s
def test_tsne_keeps_clusters_apart():
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=10.0, size=(3, 20))
    labels = np.repeat(np.arange(3), 25)
    points = centres[labels] + rng.normal(size=(75, 20))
    xy = fs.project(points, "tsne")
    distances = ((xy[:, None] - xy[None]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    assert (labels[distances.argmin(axis=1)] == labels).mean() >= 0.95


def test_umap_is_offered_only_where_installed():
    import importlib.util

    reason = fs.unavailable_projection("umap")
    if importlib.util.find_spec("umap") is None:
        assert "umap-learn" in reason
        with pytest.raises(ValueError, match="umap-learn"):
            fs.project(np.zeros((10, 3)), "umap")
    else:
        assert reason is None
    assert fs.unavailable_projection("pca") is None
    assert "unknown projection" in fs.unavailable_projection("lda")


def test_class_pictures_are_read_as_their_class_and_smoothness_smooths(trained_mlp):
    model, _ = trained_mlp
    pictures = fs.class_pictures(model, steps=100)
    assert pictures.shape == (10, 28, 28)
    assert pictures.min() >= 0.0 and pictures.max() <= 1.0
    read = model(pictures).numpy()
    assert (read.argmax(axis=1) == np.arange(10)).all()

    def roughness(p):
        return np.abs(np.diff(p, axis=1)).mean() + np.abs(np.diff(p, axis=2)).mean()

    rough = fs.class_pictures(model, steps=100, smoothness=0.0)
    assert roughness(pictures) < 0.8 * roughness(rough)
