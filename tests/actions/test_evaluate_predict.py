"""The evaluate and predict actions: one report and one reading of outputs for CLI and GUI."""

import numpy as np
import pytest
from PIL import Image

from workbench.actions.errors import ActionError
from workbench.actions.evaluate import evaluate
from workbench.actions.predict import predict_digit, predict_image, read_output
from workbench.actions.train import train
from workbench.core import digits
from workbench.core.datasets import load_dataset
from workbench.core.evaluation import classification_report, predict_outputs
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig

L = LayerSpec.create


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("mnist-embedded").subset(300, 100)
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=16, activation="relu"),
                                L("Dense", units=10, activation="softmax")])
    run = train(spec, TrainConfig(epochs=1, batch_size=50), data, "mnist-embedded")
    return run.model, data


def test_evaluate_is_the_report_of_the_evaluation_tab(trained):
    model, data = trained
    report = evaluate(model, data)
    # The tab's path: raw outputs of a model, then the same report function.
    tab = classification_report(predict_outputs(model, data.x_test), data.y_test, 10)
    np.testing.assert_array_equal(report.confusion, tab.confusion)
    np.testing.assert_array_equal(report.probabilities, tab.probabilities)
    assert report.accuracy == tab.accuracy
    assert report.confusion.sum() == 100 and report.probabilities.shape == (100, 10)
    assert report.accuracy == pytest.approx(np.trace(report.confusion) / 100)
    # A compiled model's loss is Keras's own, as training reported it.
    keras_loss = model.evaluate(data.x_test.reshape(-1, 28, 28), data.y_test, verbose=0,
                                return_dict=True)["loss"]
    assert report.loss == pytest.approx(keras_loss, rel=1e-5)
    assert set(report.summary()) == {"loss", "accuracy", "confusion_matrix", "per_class",
                                     "num_classes"}


def test_evaluate_refuses_what_does_not_fit(trained):
    model, _ = trained
    with pytest.raises(ActionError, match="regression dataset"):
        evaluate(model, load_dataset("regression-line"))
    other = load_dataset("random-classes")
    with pytest.raises(ActionError, match="does not fit this model"):
        evaluate(model, other)


def test_read_output_reads_softmax_logits_and_sigmoid():
    probs, note = read_output(np.array([0.1, 0.9]))
    np.testing.assert_allclose(probs, [0.1, 0.9])
    assert note == ""
    probs, note = read_output(np.array([0.0, 2.0, -1.0]))
    assert probs.sum() == pytest.approx(1.0) and probs.argmax() == 1 and "softmax" in note
    probs, note = read_output(np.array([3.0]))
    assert probs[1] == pytest.approx(1 / (1 + np.exp(-3.0))) and "sigmoid" in note
    with pytest.raises(ValueError, match="not a number"):
        read_output(np.array([np.nan, 1.0]))


def test_predict_image_uses_the_canvas_preprocessing(trained, tmp_path):
    model, data = trained
    with np.load("resources/datasets/mnist-10k.npz") as raw:
        seven = raw["x"][raw["y"] == 7][5]
    path = tmp_path / "seven.png"
    Image.fromarray(255 - seven).resize((200, 200)).save(path)  # dark ink on light paper
    prediction = predict_image(model, path)
    expected = digits.preprocess_digit(digits.load_image(path))
    np.testing.assert_array_equal(prediction.digit, expected)
    same = predict_digit(model, expected)
    np.testing.assert_array_equal(prediction.probabilities, same.probabilities)
    assert prediction.predicted == int(np.argmax(prediction.probabilities))
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(ActionError, match="blank"):
        predict_image(model, tmp_path / "blank.png")
    with pytest.raises(ActionError, match="nope.png"):
        predict_image(model, tmp_path / "nope.png")
