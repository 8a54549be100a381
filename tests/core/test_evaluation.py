"""Evaluation maths against hand-computed cases, and the full report on small Keras models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.evaluation import (
    adapt_inputs,
    cell_indices,
    class_labels,
    confusion_matrix,
    evaluate_classifier,
    misclassified,
    most_confused_pairs,
    per_class_metrics,
    predict_probabilities,
    regression_report,
    to_probabilities,
)

# Six samples, three classes, worked out by hand:
#   true 0 0 1 1 2 2
#   pred 0 1 1 1 2 0
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])
CM = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])


# --- confusion matrix and metrics -----------------------------------------------------------------


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, CM)


def test_confusion_matrix_rows_are_true_class():
    cm = confusion_matrix([2], [0], 3)
    assert cm[2, 0] == 1 and cm.sum() == 1


def test_confusion_matrix_accepts_whole_floats_and_empty():
    np.testing.assert_array_equal(confusion_matrix([0.0, 1.0], [1.0, 1.0], 2), [[0, 1], [0, 1]])
    np.testing.assert_array_equal(confusion_matrix([], [], 2), np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("t", "p", "match"),
    [
        ([0, 3], [0, 1], "outside"),
        ([0, 1], [0, -1], "outside"),
        ([0, 1], [0], "2 true labels but 1 predictions"),
        ([0.5], [0], "whole class numbers"),
    ],
)
def test_confusion_matrix_rejects_bad_input(t, p, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(t, p, 3)


def test_confusion_matrix_for_10k_matches_a_plain_count():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 10, 10_000), rng.integers(0, 10, 10_000)
    cm = confusion_matrix(t, p, 10)
    assert cm.sum() == 10_000
    assert cm[3, 7] == np.sum((t == 3) & (p == 7))


@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=60),
)
@settings(max_examples=60, deadline=None)
def test_confusion_matrix_matches_counting(pairs):
    t = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    cm = confusion_matrix(np.array(t, dtype=np.int64), np.array(p, dtype=np.int64), 5)
    for i in range(5):
        for j in range(5):
            assert cm[i, j] == sum(1 for a, b in pairs if a == i and b == j)


def test_per_class_metrics_by_hand():
    rows = per_class_metrics(CM)
    assert [r["class"] for r in rows] == [0, 1, 2]
    # class 0: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 1/2
    # class 1: tp 2, predicted 3, support 2 -> P 2/3, R 1,   F1 0.8
    # class 2: tp 1, predicted 1, support 2 -> P 1,   R 1/2, F1 2/3
    expected = [(0.5, 0.5, 0.5, 2), (2 / 3, 1.0, 0.8, 2), (1.0, 0.5, 2 / 3, 2)]
    for row, (precision, recall, f1, support) in zip(rows, expected, strict=True):
        assert row["precision"] == pytest.approx(precision)
        assert row["recall"] == pytest.approx(recall)
        assert row["f1"] == pytest.approx(f1)
        assert row["support"] == support
        assert type(row["support"]) is int and type(row["f1"]) is float


def test_per_class_metrics_zero_over_zero_is_zero(recwarn):
    # Class 1 never occurs and is never predicted; class 2 occurs but is never predicted.
    rows = per_class_metrics([[3, 0, 0], [0, 0, 0], [2, 0, 0]])
    assert rows[1] == {"class": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert rows[2]["precision"] == 0.0 and rows[2]["recall"] == 0.0 and rows[2]["f1"] == 0.0
    assert len(recwarn) == 0


def test_most_confused_pairs():
    cm = np.array([[5, 3, 0], [7, 5, 3], [0, 1, 9]])
    assert most_confused_pairs(cm, k=2) == [(1, 0, 7), (0, 1, 3)]
    # Ties keep (true, predicted) order; zero cells and the diagonal never appear.
    assert most_confused_pairs(cm, k=10) == [(1, 0, 7), (0, 1, 3), (1, 2, 3), (2, 1, 1)]
    assert most_confused_pairs(np.eye(3, dtype=int) * 4) == []
    assert most_confused_pairs(cm, k=0) == []


# --- mistakes ---------------------------------------------------------------------------------


def test_misclassified_most_wrong_first():
    y = np.array([0, 1, 2, 0, 1])
    probs = np.array(
        [
            [0.9, 0.05, 0.05],  # right
            [0.6, 0.3, 0.1],  # wrong, 0.6 sure of 0
            [0.1, 0.1, 0.8],  # right
            [0.05, 0.05, 0.9],  # wrong, 0.9 sure of 2
            [0.2, 0.2, 0.6],  # wrong, 0.6 sure of 2 (tie with sample 1: sample order)
        ]
    )
    idx = misclassified(y, probs)
    np.testing.assert_array_equal(idx, [3, 1, 4])
    assert idx.dtype == np.int64
    # One-hot labels give the same answer.
    np.testing.assert_array_equal(misclassified(np.eye(3)[y], probs), [3, 1, 4])
    assert misclassified([0, 1], np.eye(2)).size == 0


def test_misclassified_single_sigmoid_column():
    y = np.array([1, 0, 1])
    p1 = np.array([[0.9], [0.7], [0.2]])  # sample 1 is 0.7 sure of 1, sample 2 0.8 sure of 0
    np.testing.assert_array_equal(misclassified(y, p1), [2, 1])


def test_cell_indices():
    np.testing.assert_array_equal(cell_indices(Y_TRUE, Y_PRED, 0, 1), [1])
    np.testing.assert_array_equal(cell_indices(Y_TRUE, Y_PRED, 1, 1), [2, 3])
    np.testing.assert_array_equal(cell_indices(Y_TRUE, Y_PRED, 2, 1), [])
    np.testing.assert_array_equal(cell_indices(np.eye(3)[Y_TRUE], Y_PRED, 2, 0), [5])


# --- labels, inputs and outputs ---------------------------------------------------------------


def test_class_labels_forms():
    np.testing.assert_array_equal(class_labels([2, 0, 1]), [2, 0, 1])
    np.testing.assert_array_equal(class_labels([[2], [0]]), [2, 0])
    np.testing.assert_array_equal(class_labels(np.eye(4)[[3, 1]]), [3, 1])
    np.testing.assert_array_equal(class_labels(np.array([1.0, 2.0])), [1, 2])
    with pytest.raises(ValueError, match="neither class numbers"):
        class_labels(np.zeros((2, 2, 2)))


def test_adapt_inputs():
    x = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    assert adapt_inputs(x, (28, 28)) is x
    assert adapt_inputs(x, (None, 28)) is x
    assert adapt_inputs(x, (784,)).shape == (2, 784)
    assert adapt_inputs(x, (28, 28, 1)).shape == (2, 28, 28, 1)
    np.testing.assert_array_equal(adapt_inputs(x, (784,)).reshape(2, 28, 28), x)
    assert adapt_inputs(x.astype(np.uint8), (784,)).dtype == np.float32
    assert adapt_inputs(x, None) is x


@pytest.mark.parametrize("shape", [(32, 32, 3), (10,), (None, 784)])
def test_adapt_inputs_readable_error(shape):
    x = np.zeros((3, 28, 28))
    with pytest.raises(ValueError, match=r"expects samples of shape .* data has samples of shape"):
        adapt_inputs(x, shape)


def test_to_probabilities():
    probs = np.array([[0.2, 0.8], [1.0, 0.0]])
    np.testing.assert_array_equal(to_probabilities(probs), probs)
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    out = to_probabilities(logits)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[1], [1 / 3] * 3)
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(out[0], e / e.sum())
    # Huge logits do not overflow.
    assert np.isfinite(to_probabilities(np.array([[1000.0, -1000.0]]))).all()
    # One sigmoid column becomes [P(0), P(1)]; a logit column goes through the sigmoid first.
    np.testing.assert_allclose(to_probabilities([[0.25]]), [[0.75, 0.25]])
    sig = to_probabilities([[0.0], [2.0]])
    np.testing.assert_allclose(sig[0], [0.5, 0.5])
    np.testing.assert_allclose(sig[1], [1 / (1 + math.e**2), 1 / (1 + math.e**-2)])
    with pytest.raises(ValueError, match="one row of class scores"):
        to_probabilities(np.zeros((2, 3, 4)))


# --- regression ---------------------------------------------------------------------------------


def test_regression_report_by_hand():
    # errors 0, 1, -1, 2 -> MSE 6/4, MAE 4/4; mean 2.5, total SS 5 -> R² 1 - 6/5
    report = regression_report([1, 2, 3, 4], [1, 3, 2, 6])
    assert report == pytest.approx({"mse": 1.5, "mae": 1.0, "r2": -0.2})
    assert regression_report([[1.0], [2.0]], [1.0, 2.0]) == pytest.approx(
        {"mse": 0.0, "mae": 0.0, "r2": 1.0}
    )


def test_regression_report_constant_target_and_columns():
    assert regression_report([3, 3, 3], [3, 3, 3])["r2"] == 1.0
    assert regression_report([3, 3, 3], [3, 4, 3])["r2"] == 0.0
    # Two outputs: R² per column (1.0 and -0.2, as above) averaged.
    t = np.array([[1, 1], [2, 2], [3, 3], [4, 4]], dtype=float)
    p = np.array([[1, 1], [2, 3], [3, 2], [4, 6]], dtype=float)
    assert regression_report(t, p)["r2"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="3 targets but 2 predictions"):
        regression_report([1, 2, 3], [1, 2])


# --- Keras models -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    from workbench.core.tf_loader import load_tensorflow

    return load_tensorflow()[1]


def _fixed_model(keras, input_shape, activation="softmax", compile_loss=None):
    """A model whose prediction is known: class = which quarter of the flat input holds the ink."""
    inputs = keras.Input(input_shape)
    flat = keras.layers.Flatten()(inputs)
    n = int(np.prod(input_shape))
    dense = keras.layers.Dense(4, activation=activation, use_bias=False)
    outputs = dense(flat)
    model = keras.Model(inputs, outputs)
    kernel = np.zeros((n, 4), np.float32)
    for c in range(4):
        kernel[c * n // 4 : (c + 1) * n // 4, c] = 5.0
    dense.set_weights([kernel])
    if compile_loss is not None:
        model.compile(loss=compile_loss, metrics=["accuracy"])
    return model


def _quarter_data(n_per_class=5, shape=(8, 8)):
    n = int(np.prod(shape))
    x, y = [], []
    for c in range(4):
        for _ in range(n_per_class):
            v = np.zeros(n, np.float32)
            v[c * n // 4] = 1.0
            x.append(v.reshape(shape))
            y.append(c)
    return np.array(x), np.array(y)


def test_predict_probabilities_batches_and_reshapes(keras):
    model = _fixed_model(keras, (64,))
    x, y = _quarter_data()  # (20, 8, 8) fed to a (64,) model
    probs = predict_probabilities(model, x, batch_size=3)
    assert probs.shape == (20, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(probs.argmax(axis=1), y)


def test_predict_probabilities_refuses_wrong_size(keras):
    model = _fixed_model(keras, (64,))
    with pytest.raises(ValueError, match=r"expects samples of shape \(64,\)"):
        predict_probabilities(model, np.zeros((2, 7, 7)))


def test_evaluate_uncompiled_softmax_model(keras):
    model = _fixed_model(keras, (8, 8, 1))
    x, y = _quarter_data()
    y[0] = 3  # one deliberate mistake: true 3, predicted 0
    report = evaluate_classifier(model, x, y)
    assert set(report) == {"loss", "accuracy", "confusion_matrix", "per_class", "num_classes"}
    assert report["num_classes"] == 4
    assert report["accuracy"] == pytest.approx(19 / 20)
    cm = np.array(report["confusion_matrix"])
    assert cm[3, 0] == 1 and np.trace(cm) == 19 and cm.sum() == 20
    assert isinstance(report["confusion_matrix"], list)
    # Crossentropy of the probabilities, by hand: the right class gets e^5 / (e^5 + 3).
    p_right = math.exp(5) / (math.exp(5) + 3)
    p_wrong = 1 / (math.exp(5) + 3)
    expected = -(19 * math.log(p_right) + math.log(p_wrong)) / 20
    assert report["loss"] == pytest.approx(expected, rel=1e-4)
    # Class 0: five predicted, four of them right, all four true 0s found.
    assert report["per_class"][0]["precision"] == pytest.approx(4 / 5)
    assert report["per_class"][0]["recall"] == 1.0


def test_evaluate_logit_model_applies_softmax(keras):
    model = _fixed_model(keras, (64,), activation=None)
    x, y = _quarter_data(shape=(64,))
    report = evaluate_classifier(model, x, y)
    p_right = math.exp(5) / (math.exp(5) + 3)
    assert report["loss"] == pytest.approx(-math.log(p_right), rel=1e-4)
    assert report["accuracy"] == 1.0


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_evaluate_compiled_model_uses_its_loss(keras, loss, one_hot):
    model = _fixed_model(keras, (64,), compile_loss=loss)
    x, y = _quarter_data(shape=(64,))
    labels = np.eye(4, dtype=np.float32)[y] if one_hot else y
    report = evaluate_classifier(model, x, labels)
    p_right = math.exp(5) / (math.exp(5) + 3)
    assert report["loss"] == pytest.approx(-math.log(p_right), rel=1e-4)
    assert report["accuracy"] == 1.0


def test_evaluate_with_explicit_loss(keras):
    model = _fixed_model(keras, (64,))
    x, y = _quarter_data(shape=(64,))
    p_right = math.exp(5) / (math.exp(5) + 3)
    report = evaluate_classifier(model, x, y, loss="categorical_crossentropy")
    assert report["loss"] == pytest.approx(-math.log(p_right), rel=1e-4)
    mse = evaluate_classifier(model, x, np.eye(4)[y], loss="mse")["loss"]
    expected = ((1 - p_right) ** 2 + 3 * ((1 - p_right) / 3) ** 2) / 4
    assert mse == pytest.approx(expected, rel=1e-4)


def test_evaluate_binary_sigmoid_model(keras):
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.array([[4.0], [-4.0]], np.float32), np.zeros(1, np.float32)])
    model.compile(loss="binary_crossentropy")
    x = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], np.float32)
    y = np.array([1, 0, 0, 0])  # third sample is wrong
    report = evaluate_classifier(model, x, y)
    assert report["num_classes"] == 2
    assert report["accuracy"] == 0.75
    assert report["confusion_matrix"] == [[2, 1], [0, 1]]
    s = 1 / (1 + math.exp(-4))
    expected = -(3 * math.log(s) + math.log(1 - s)) / 4
    assert report["loss"] == pytest.approx(expected, rel=1e-3)


def test_evaluate_refuses_mismatches(keras):
    model = _fixed_model(keras, (64,))
    x, y = _quarter_data(shape=(64,))
    with pytest.raises(ValueError, match="20 samples but 3 labels"):
        evaluate_classifier(model, x, y[:3])
    with pytest.raises(ValueError, match="labels go up to class 7"):
        evaluate_classifier(model, x, np.full(20, 7))


def test_evaluate_trained_mnist_model(keras):
    from pathlib import Path

    data = np.load(Path(__file__).resolve().parents[2] / "resources/datasets/mnist-10k.npz")
    rng = np.random.default_rng(0)
    idx = rng.permutation(10_000)
    train, test = idx[:1000], idx[1000:1500]
    x = data["x"].astype(np.float32) / 255.0
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    model.fit(x[train].reshape(-1, 784), data["y"][train], epochs=1, verbose=0)
    report = evaluate_classifier(model, x[test], data["y"][test])  # (N, 28, 28) -> (784,)
    keras_loss, keras_acc = model.evaluate(x[test].reshape(-1, 784), data["y"][test], verbose=0)
    assert report["loss"] == pytest.approx(keras_loss, rel=1e-4)
    assert report["accuracy"] == pytest.approx(keras_acc, abs=1e-6)
    assert np.array(report["confusion_matrix"]).sum() == 500
    assert sum(r["support"] for r in report["per_class"]) == 500


def test_evaluate_compiled_loss_includes_regularisation(keras):
    """The compiled path goes through model.evaluate, so the number matches training's val_loss,
    penalties included."""
    inputs = keras.Input((64,))
    dense = keras.layers.Dense(4, activation="softmax", kernel_regularizer="l2", use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = _quarter_data(shape=(64,))
    report = evaluate_classifier(model, x, y)
    assert report["loss"] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    uncompiled = keras.Model(inputs, dense(inputs))
    assert evaluate_classifier(uncompiled, x, y)["loss"] < report["loss"]
