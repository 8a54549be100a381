"""Weights and activations as drawable arrays: small hand-made cases and a tiny conv model."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core.introspection import (
    activation_grid,
    conv_filters,
    dense_unit_images,
    layer_activations,
    symmetric_limits,
    tile_images,
    weight_histogram,
)

# --- dense units --------------------------------------------------------------------------------


def test_dense_unit_images_reshape_each_units_column():
    kernel = np.arange(6 * 2, dtype=np.float32).reshape(6, 2)  # 6 inputs, 2 units
    images = dense_unit_images(kernel, (2, 3))
    assert images.shape == (2, 2, 3)
    np.testing.assert_array_equal(images[0], [[0, 2, 4], [6, 8, 10]])
    np.testing.assert_array_equal(images[1], [[1, 3, 5], [7, 9, 11]])
    # A copy: changing the result leaves the kernel alone.
    images[0, 0, 0] = 99
    assert kernel[0, 0] == 0


def test_dense_unit_images_shapes():
    kernel = np.random.default_rng(0).normal(size=(784, 16))
    assert dense_unit_images(kernel, (28, 28)).shape == (16, 28, 28)
    assert dense_unit_images(kernel, (28, 28, 1)).shape == (16, 28, 28)
    assert dense_unit_images(kernel, (784,)).shape == (16, 28, 28)
    rgb = np.ones((2 * 2 * 3, 1))
    rgb[::3] = 4.0  # red channel
    np.testing.assert_allclose(dense_unit_images(rgb, (2, 2, 3)), np.full((1, 2, 2), 2.0))


@pytest.mark.parametrize(
    ("shape", "match"),
    [((10, 10), "100 pixels"), ((780,), "not a square"), ((28, 28, 1, 1), "expected")],
)
def test_dense_unit_images_refuses(shape, match):
    with pytest.raises(ValueError, match=match):
        dense_unit_images(np.zeros((784, 4)), shape)
    with pytest.raises(ValueError, match="inputs, units"):
        dense_unit_images(np.zeros(784), (28, 28))


# --- conv filters -------------------------------------------------------------------------------


def test_conv_filters_mean_and_first():
    k = np.zeros((3, 3, 2, 4), np.float32)  # 3x3, 2 input channels, 4 filters
    k[0, 0, 0, 1] = 2.0
    k[0, 0, 1, 1] = 4.0
    k[2, 1, 0, 3] = -1.0
    mean = conv_filters(k)
    assert mean.shape == (4, 3, 3)
    assert mean[1, 0, 0] == 3.0 and mean[3, 2, 1] == -0.5
    first = conv_filters(k, mode="first")
    assert first[1, 0, 0] == 2.0 and first[3, 2, 1] == -1.0
    assert first.flags.c_contiguous
    with pytest.raises(ValueError, match="Unknown mode"):
        conv_filters(k, mode="max")
    with pytest.raises(ValueError, match="kh, kw, in, out"):
        conv_filters(np.zeros((3, 3, 4)))


# --- mosaics ------------------------------------------------------------------------------------


def test_tile_images_layout_by_hand():
    imgs = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    out = tile_images(imgs, cols=2, pad=1, fill=-1)
    expected = np.array(
        [
            [0, 1, -1, 4, 5],
            [2, 3, -1, 6, 7],
            [-1, -1, -1, -1, -1],
            [8, 9, -1, -1, -1],
            [10, 11, -1, -1, -1],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(out, expected)


def test_tile_images_defaults():
    imgs = np.ones((10, 3, 4), np.uint8)
    out = tile_images(imgs)  # 4 columns x 3 rows, NaN between and after
    assert out.shape == (3 * 4 - 1, 4 * 5 - 1)
    assert out.dtype == np.float32
    assert np.isnan(out[3, 0]) and np.isnan(out[0, 4]) and out[0, 0] == 1
    assert np.isnan(out[-1, -1])  # cells 11 and 12 are empty
    assert np.count_nonzero(out == 1) == 10 * 12
    no_pad = tile_images(np.ones((4, 2, 2)), pad=0)
    np.testing.assert_array_equal(no_pad, np.ones((4, 4)))
    assert tile_images(np.zeros((0, 5, 5))).shape == (0, 0)
    assert tile_images(np.ones((3, 2, 2, 3)), cols=3).shape == (2, 8, 3)  # colour images
    with pytest.raises(ValueError, match="stack of images"):
        tile_images(np.zeros((5, 5)))


def test_tile_images_of_a_784_to_256_dense_layer():
    # Its speed (target < 200 ms) is measured in benchmarks/bench_evaluation.py.
    kernel = np.random.default_rng(0).normal(size=(784, 256)).astype(np.float32)
    out = tile_images(dense_unit_images(kernel, (28, 28)))
    assert out.shape == (16 * 29 - 1, 16 * 29 - 1)
    np.testing.assert_array_equal(out[:28, :28], kernel[:, 0].reshape(28, 28))


# --- colour limits and histograms --------------------------------------------------------------


def test_symmetric_limits():
    assert symmetric_limits([-0.5, 0.2, 0.1]) == (-0.5, 0.5)
    assert symmetric_limits(np.array([[0.3, np.nan], [np.inf, -0.1]])) == (-0.3, 0.3)
    assert symmetric_limits(np.zeros(5)) == (-1.0, 1.0)
    assert symmetric_limits(np.full(3, np.nan)) == (-1.0, 1.0)
    assert symmetric_limits([]) == (-1.0, 1.0)
    lo, hi = symmetric_limits(np.float32([2.5]))
    assert type(lo) is float and hi == 2.5


def test_weight_histogram():
    counts, edges = weight_histogram(np.array([0.0, 0.0, 1.0, 2.0, np.nan]), bins=2)
    np.testing.assert_array_equal(counts, [2, 2])
    np.testing.assert_allclose(edges, [0.0, 1.0, 2.0])
    counts, edges = weight_histogram(np.random.default_rng(0).normal(size=(30, 40)))
    assert counts.sum() == 1200 and len(counts) == 50 and len(edges) == 51
    counts, edges = weight_histogram(np.array([np.nan]), bins=4)
    assert counts.sum() == 0 and len(edges) == 5
    counts, _ = weight_histogram(np.full(7, 0.25), bins=3)
    assert counts.sum() == 7


# --- activations ------------------------------------------------------------------------------


def test_activation_grid_shapes():
    maps = np.zeros((5, 6, 3), np.float32)
    maps[..., 1] = 1.0
    grid = activation_grid(maps, pad=1)  # 2 x 2 cells of 5x6
    assert grid.shape == (11, 13)
    np.testing.assert_array_equal(grid[:5, 7:], np.ones((5, 6)))
    assert activation_grid(maps[None]).shape == (11, 13)  # with a batch axis of 1
    flat = activation_grid(np.arange(10.0))
    assert flat.shape == (3, 4) and flat[0, 3] == 3 and np.isnan(flat[2, 3])
    np.testing.assert_array_equal(activation_grid(np.ones((4, 7))), np.ones((4, 7)))


def test_activation_grid_normalize():
    maps = np.stack([np.full((2, 2), 0.1), np.full((2, 2), -10.0), np.zeros((2, 2))], axis=-1)
    grid = activation_grid(maps, cols=3, normalize=True)
    np.testing.assert_allclose(grid[:, :2], 1.0)
    np.testing.assert_allclose(grid[:, 3:5], -1.0)
    np.testing.assert_allclose(grid[:, 6:], 0.0)
    np.testing.assert_allclose(activation_grid(np.array([2.0, -4.0]), normalize=True), [[0.5, -1]])


@pytest.fixture(scope="module")
def keras():
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow()[1]


@pytest.fixture(scope="module")
def conv_model(keras):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="conv"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(4, activation="softmax", name="out"),
        ]
    )


def test_layer_activations_sequential_conv(conv_model):
    x = np.random.default_rng(1).random((8, 8, 1)).astype(np.float32)
    acts = layer_activations(conv_model, x)
    assert [name for name, _ in acts] == ["conv", "pool", "flat", "out"]
    assert [a.shape for _, a in acts] == [(6, 6, 3), (3, 3, 3), (27,), (4,)]
    final = np.asarray(conv_model(x[None], training=False))[0]
    np.testing.assert_allclose(acts[-1][1], final, rtol=1e-5, atol=1e-6)
    # The first layer by hand: a valid 3x3 correlation plus bias, then ReLU.
    kernel, bias = (np.asarray(w) for w in conv_model.get_layer("conv").get_weights())
    by_hand = np.zeros((6, 6, 3), np.float32)
    for i in range(6):
        for j in range(6):
            patch = x[i : i + 3, j : j + 3, :]
            by_hand[i, j] = np.tensordot(patch, kernel, axes=3) + bias
    np.testing.assert_allclose(acts[0][1], np.maximum(by_hand, 0), rtol=1e-5, atol=1e-6)
    assert activation_grid(acts[0][1]).shape == (13, 13)


def test_layer_activations_input_layouts_and_names(conv_model):
    x = np.random.default_rng(2).random((8, 8)).astype(np.float32)
    full = layer_activations(conv_model, x)  # (8, 8) reshaped to (8, 8, 1)
    batched = layer_activations(conv_model, x.reshape(1, 8, 8, 1))
    some = layer_activations(conv_model, x.reshape(64), layer_names=["out", "conv"])
    assert [name for name, _ in some] == ["conv", "out"]  # model order
    np.testing.assert_allclose(some[0][1], full[0][1])
    np.testing.assert_allclose(batched[3][1], full[3][1])
    with pytest.raises(ValueError, match="No layer named 'nope'"):
        layer_activations(conv_model, x, layer_names=["nope"])
    with pytest.raises(ValueError, match="expects samples of shape"):
        layer_activations(conv_model, np.zeros((5, 5)))


def test_layer_activations_follow_new_weights(conv_model):
    x = np.ones((8, 8, 1), np.float32)
    before = layer_activations(conv_model, x, ["out"])[0][1]
    weights = conv_model.get_weights()
    try:
        conv_model.set_weights([np.zeros_like(w) for w in weights])
        after = layer_activations(conv_model, x, ["out"])[0][1]
        np.testing.assert_allclose(after, np.full(4, 0.25), rtol=1e-6)
        assert not np.allclose(before, after)
    finally:
        conv_model.set_weights(weights)


def test_layer_activations_functional_and_unbuilt_sequential(keras):
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(2, name="logits")(hidden)
    functional = keras.Model(inputs, outputs)
    acts = layer_activations(functional, np.ones(4, np.float32))
    assert [(n, a.shape) for n, a in acts] == [("hidden", (3,)), ("logits", (2,))]

    loose = keras.Sequential([keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")])
    acts = layer_activations(loose, np.ones(4, np.float32))
    assert [(n, a.shape) for n, a in acts] == [("a", (3,)), ("b", (2,))]
