"""The train action: the one path behind `workbench train` and the GUI's Train button."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.actions.train import RunOutcome, train
from workbench.core.datasets import load_dataset
from workbench.core.runs import RunRecord
from workbench.core.spec import LayerSpec, ModelSpec, SpecError, TrainConfig
from workbench.core.training import TrainingControl, TrainingError, TrainingListener

L = LayerSpec.create
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-embedded").subset(300, 100)


def mlp(units=16):
    return ModelSpec((28, 28), [L("Flatten"), L("Dense", units=units, activation="relu"),
                                L("Dense", units=10, activation="softmax")])


def config(**changes):
    cfg = TrainConfig(epochs=1, batch_size=50, validation_split=0.2, metrics=[])
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def test_train_returns_the_model_and_a_plain_data_outcome(digits):
    run = train(mlp(), config(), digits, "mnist-embedded", run_id=3)
    outcome = run.outcome
    assert isinstance(outcome, RunOutcome) and outcome.result.status == "completed"
    # The display metric is compiled in even when the settings list no metric.
    assert outcome.metric == "accuracy" and set(outcome.test) == {"loss", "accuracy"}
    assert isinstance(outcome.record, RunRecord)
    assert outcome.record.id == 3 and outcome.record.epochs == 1
    assert outcome.record.test == outcome.test
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(outcome.record.history)
    # Plain data only: numpy copies of the final weights, not the model's own variables.
    assert all(isinstance(w, np.ndarray) for w in outcome.weights)
    for copy, live in zip(outcome.weights, run.model.get_weights(), strict=True):
        np.testing.assert_array_equal(copy, live)
    outcome.weights[0][...] = 0
    assert run.model.get_weights()[0].any()
    # The model scores on the test split what the outcome says.
    x = digits.x_test.astype("float32")
    pred = run.model.predict(x, verbose=0).argmax(axis=1)
    assert outcome.test["accuracy"] == pytest.approx(float((pred == digits.y_test).mean()))


def test_the_same_seed_trains_the_same_run(digits):
    a = train(mlp(), config(seed=5), digits, "d").outcome
    b = train(mlp().to_dict(), config(seed=5).to_dict(), digits, "d").outcome
    assert a.record.history["loss"] == b.record.history["loss"]


def test_continue_training_from_given_weights(digits):
    first = train(mlp(), config(), digits, "d").outcome
    again = train(mlp(), config(), digits, "d", initial_weights=first.weights,
                  continues=1, initial_epoch=first.record.epochs).outcome
    fresh = train(mlp(), config(), digits, "d").outcome
    # The record says where its weights came from; a fresh run's says nothing of the kind.
    assert again.record.to_dict()["continues"] == 1
    assert again.record.to_dict()["initial_epoch"] == first.record.epochs
    assert "continues" not in fresh.record.to_dict()
    # Continued training starts where the first run ended: its loss is lower than a fresh run's.
    assert again.record.history["loss"][0] < fresh.record.history["loss"][0]
    with pytest.raises(TrainingError, match="do not fit this model"):
        train(mlp(units=8), config(), digits, "d", initial_weights=first.weights)


def test_a_model_that_cannot_start_raises_one_readable_error(digits):
    with pytest.raises(SpecError, match="no layers"):
        train(ModelSpec((28, 28), []), config(), digits, "d")
    with pytest.raises(TrainingError, match="input shape"):
        train(ModelSpec((100,), [L("Dense", units=10, activation="softmax")]), config(),
              digits, "d")
    # Dense after MaxPooling2D: a (13, 13, 10) output for class labels (#18.3), not Keras's raw
    # "Argument `output` must have rank" from inside fit.
    image = ModelSpec((28, 28), [L("Reshape", target_shape=[28, 28, 1]), L("Conv2D", filters=2),
                                 L("MaxPooling2D"), L("Dense", units=10, activation="softmax")])
    with pytest.raises(TrainingError, match=r"output does not fit the labels.*\(13, 13, 10\)"):
        train(image, config(), digits, "d")


def test_warnings_reach_the_listener_and_the_outcome(digits):
    class Warned(TrainingListener):
        texts = []

        def on_warning(self, text):
            self.texts.append(text)

    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=10, activation="relu")])
    outcome = train(spec, config(), digits, "d", Warned()).outcome
    assert Warned.texts == outcome.warnings and any("softmax" in w for w in outcome.warnings)


def test_a_cancelled_run_skips_the_test_scores(digits):
    control = TrainingControl()

    class CancelAtOnce(TrainingListener):
        def on_batch_end(self, epoch, batch, logs):
            control.cancel()

    outcome = train(mlp(), config(epochs=3), digits, "d", CancelAtOnce(), control).outcome
    assert outcome.result.status == "stopped" and outcome.test is None
    assert outcome.result.epochs_completed == 0 and outcome.result.partial_batches == 1


def test_a_stop_before_the_first_batch(digits):
    control = TrainingControl()
    control.stop()
    outcome = train(mlp(), config(), digits, "d", control=control).outcome
    assert outcome.result.status == "stopped" and outcome.record.epochs == 0
    assert outcome.test is None


def test_a_regression_run_reports_mae(digits):
    data = load_dataset("regression-line")
    spec = ModelSpec(data.input_shape, [L("Dense", units=1)])
    cfg = config(loss="mean_squared_error", batch_size=64)
    outcome = train(spec, cfg, data, "regression-line").outcome
    assert outcome.metric == "mae" and {"loss", "mae"} <= set(outcome.test)


def test_the_actions_and_the_cli_never_import_qt():
    code = ("import pkgutil, importlib, sys, workbench.actions, workbench.cli\n"
            "for m in pkgutil.iter_modules(workbench.actions.__path__):\n"
            "    importlib.import_module('workbench.actions.' + m.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('PyQt', 'pyqtgraph'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"
