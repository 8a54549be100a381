"""Attributions that mean what they say: completeness, finite differences, a patch the network must
find, and Grad-CAM refused (with its reason) where there is no Conv2D."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core import explain as ex
from workbench.core.tf_loader import load_tensorflow


def _keras():
    return load_tensorflow()[1]


def _digit() -> np.ndarray:
    from workbench.core.datasets import load_dataset

    return load_dataset("mnist-embedded").x_test[0].reshape(1, 28, 28).astype(np.float32)


def _template_model(key: str):
    from workbench.core.build import build_model
    from workbench.core.templates import load_template

    return build_model(load_template(key).model)


# --- completeness and gradients -----------------------------------------------------------------


def test_integrated_gradients_sum_to_the_score_difference():
    """Completeness (Sundararajan et al., axiom): sum of attributions = f(x) - f(black)."""
    keras = _keras()
    keras.utils.set_random_seed(3)
    model = _template_model("mnist-cnn")
    x = _digit()
    result = ex.explain(model, x, "integrated-gradients", steps=128)
    difference = result.score - result.baseline_score
    assert abs(difference) > 1e-3  # a difference to be complete about
    assert abs(result.attribution.sum() - difference) <= 0.01 * abs(difference)
    # ... and f is the model's own score: the black image really scores baseline_score.
    black = ex.explain(model, np.zeros_like(x), "gradients", target=result.target)
    assert black.score == pytest.approx(result.baseline_score, rel=1e-4, abs=1e-5)


def test_gradients_match_finite_differences_on_a_tiny_model():
    keras = _keras()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh"),
                              keras.layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(1, 6)).astype(np.float32)
    result = ex.explain(model, x, "gradients", target=2)
    eps = 1e-2
    numeric = np.zeros(6)
    for i in range(6):
        up, down = x.copy(), x.copy()
        up[0, i] += eps
        down[0, i] -= eps
        numeric[i] = (model(up).numpy()[0, 2] - model(down).numpy()[0, 2]) / (2 * eps)
    np.testing.assert_allclose(result.attribution, numeric, rtol=2e-2, atol=1e-4)
    np.testing.assert_allclose(ex.explain(model, x, "gradient-x-input", target=2).attribution,
                               numeric * x[0], rtol=2e-2, atol=1e-4)


def test_a_softmax_output_is_explained_by_its_logits():
    """The score is the value the softmax normalises, and the outputs are still the model's."""
    keras = _keras()
    keras.utils.set_random_seed(2)
    softmax = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    linear = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    linear.set_weights(softmax.get_weights())
    x = np.array([[0.5, -1.0, 2.0, 0.1]], np.float32)
    result = ex.explain(softmax, x, "gradients", target=1)
    kernel = softmax.get_weights()[0]
    np.testing.assert_allclose(result.attribution, kernel[:, 1], rtol=1e-5)
    assert result.score == pytest.approx(float(linear(x).numpy()[0, 1]), rel=1e-5)
    np.testing.assert_allclose(result.outputs, softmax(x).numpy()[0], rtol=1e-5)
    assert softmax.layers[-1].activation.__name__ == "softmax"  # put back after tracing


# --- where the evidence is ----------------------------------------------------------------------

SIDE, PATCH = 12, 3


def _patch_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faint noise with one bright 3x3 patch; the class is the quadrant the patch stands in."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.3, (n, SIDE, SIDE, 1)).astype(np.float32)
    y = rng.integers(0, 4, n)
    corners = np.zeros((n, 2), int)
    half = SIDE // 2
    for i, label in enumerate(y):
        top = (label // 2) * half + rng.integers(0, half - PATCH + 1)
        left = (label % 2) * half + rng.integers(0, half - PATCH + 1)
        x[i, top:top + PATCH, left:left + PATCH, 0] = 1.0
        corners[i] = top, left
    return x, y, corners


@pytest.fixture(scope="module")
def patch_model():
    keras = _keras()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y, _ = _patch_images(1200, seed=0)
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    return model


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_peaks_fall_on_the_patch_that_sets_the_class(patch_model, method):
    x, y, corners = _patch_images(60, seed=1)
    hits = predicted_right = 0
    for image, label, (top, left) in zip(x, y, corners):
        result = ex.explain(patch_model, image[None], method)
        predicted_right += int(result.target == label)
        peak = np.unravel_index(np.argmax(result.heatmap), (SIDE, SIDE))
        hits += int(top <= peak[0] < top + PATCH and left <= peak[1] < left + PATCH)
    assert predicted_right >= 0.9 * len(x)  # the network learnt the task
    assert hits >= 0.9 * len(x), f"{method}: the peak was on the patch for {hits}/{len(x)}"


# --- which model offers what --------------------------------------------------------------------


def test_a_model_without_conv2d_offers_no_gradcam_and_says_why():
    model = _template_model("mnist-mlp")
    reason = ex.available_methods(model)["gradcam"]
    assert reason is not None and "Conv2D" in reason
    with pytest.raises(ex.ExplainError, match="Conv2D"):
        ex.explain(model, _digit(), "gradcam")
    assert ex.available_methods(_template_model("mnist-cnn"))["gradcam"] is None


@pytest.mark.parametrize("key", ["lstm-rows", "resnet-digits", "mnist-mlp"])
def test_every_method_explains_graphs_and_recurrent_models(key):
    model = _template_model(key)
    x = _digit()
    for method, reason in ex.available_methods(model).items():
        if reason is not None:
            continue
        result = ex.explain(model, x, method, steps=8)
        assert result.attribution.shape == (28, 28), method
        assert np.isfinite(result.attribution).all(), method
        assert result.heatmap.shape == (28, 28)
        assert np.abs(result.heatmap).max() <= 1.0 + 1e-6
        assert result.outputs.shape == (10,)


def test_a_flat_input_is_explained_in_its_own_shape_and_shown_square():
    keras = _keras()
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    result = ex.explain(model, _digit().reshape(1, 784), "occlusion")
    assert result.attribution.shape == (784,)
    assert result.heatmap.shape == (28, 28)


def test_a_class_the_model_does_not_have_is_refused():
    model = _template_model("mnist-mlp")
    with pytest.raises(ex.ExplainError, match="classes 0 to 9"):
        ex.explain(model, _digit(), "gradients", target=10)
    with pytest.raises(ex.ExplainError, match="steps"):
        ex.explain(model, _digit(), "integrated-gradients", steps=0)


@pytest.mark.parametrize("key", ["mnist-cnn", "resnet-digits"])
def test_gradcam_of_a_model_opened_from_a_file_is_the_built_ones(key, tmp_path):
    """A loaded Sequential has called its layers several times while Keras rebuilt it; the
    feature maps must still be those of the model that answers."""
    from workbench.core.modelio import load_model, save_model

    model = _template_model(key)
    loaded = load_model(save_model(model, tmp_path / "m.keras"), compile=False)
    x = _digit()
    built = ex.explain(model, x, "gradcam", target=4)
    opened = ex.explain(loaded, x, "gradcam", target=4)
    assert np.abs(built.attribution).max() > 0
    np.testing.assert_allclose(opened.attribution, built.attribution, rtol=1e-4, atol=1e-6)


def test_explainers_of_old_models_are_let_go():
    """The views' model is rebuilt for each architecture; the old ones' traced functions must
    not keep them alive."""
    import gc
    import weakref

    keras = _keras()
    refs = []
    for units in (3, 4, 5, 6, 7):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units)])
        ex.explain(model, np.ones((1, 4), np.float32), "gradients", target=0)
        refs.append(weakref.ref(model))
        del model
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert len(alive) <= ex.KEEP
    assert refs[-1]() is not None  # the latest is kept, traced
