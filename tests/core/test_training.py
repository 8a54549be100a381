"""The training runner: listener events, stop, pause, NaN guard, early stopping, data adaption."""

import threading

import numpy as np
import pytest

from workbench.core.build import build_model, compile_model, set_seed
from workbench.core.datasets import load_dataset
from workbench.core.runs import RunRecord
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.training import (
    TrainingControl,
    TrainingData,
    TrainingError,
    TrainingListener,
    adapt_inputs,
    adapt_labels,
    check_compatibility,
    prepare_data,
    run_training,
)

L = LayerSpec.create


class Recorder(TrainingListener):
    wants_weights = True

    def __init__(self):
        self.events = []
        self.batches = 0
        self.weights = []

    def on_train_begin(self, info):
        self.events.append(("begin", info))

    def on_batch_end(self, epoch, batch, logs):
        self.batches += 1
        assert all(isinstance(v, float) for v in logs.values())

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch", epoch, logs))

    def on_weights(self, epoch, weights):
        self.weights.append(weights)

    def on_train_end(self, result):
        self.events.append(("end", result.status))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-embedded").subset(400, 100)


def mlp(input_shape=(28, 28)):
    return ModelSpec(input_shape, [L("Flatten"), L("Dense", units=16, activation="relu"),
                                   L("Dense", units=10, activation="softmax")])


def make(spec, cfg):
    set_seed(cfg.seed)
    model = build_model(spec)
    compile_model(model, cfg)
    return model


def test_one_epoch_reports_batches_epochs_and_weights(digits):
    cfg = TrainConfig(epochs=2, batch_size=50, validation_split=0.25)
    model = make(mlp(), cfg)
    data = prepare_data(digits, (28, 28), cfg)
    assert len(data.x_val) == 100 and len(data.x_train) == 300
    rec = Recorder()
    result = run_training(model, data, cfg, rec)
    assert result.status == "completed" and result.epochs_completed == 2
    assert rec.batches == 2 * 6
    epochs = [e for e in rec.events if e[0] == "epoch"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(epochs[0][2])
    assert len(result.history["loss"]) == 2
    assert len(rec.weights) == 3  # the weights before training (epoch -1), then each epoch
    assert rec.events[-1] == ("end", "completed")
    record = RunRecord.create(cfg, "mnist-embedded", result, {"loss": 1.0, "accuracy": 0.5})
    assert record.epochs == 2 and record.test["accuracy"] == 0.5
    assert RunRecord.from_dict(record.to_dict()) == record


def test_stop_ends_within_a_batch_and_keeps_weights(digits):
    cfg = TrainConfig(epochs=50, batch_size=10, validation_split=0)
    model = make(mlp(), cfg)
    control = TrainingControl()
    before = model.get_weights()[0].copy()

    class StopAfterThree(TrainingListener):
        n = 0

        def on_batch_end(self, epoch, batch, logs):
            self.n += 1
            if self.n == 3:
                control.stop()

    listener = StopAfterThree()
    result = run_training(model, prepare_data(digits, (28, 28), cfg), cfg, listener, control)
    assert result.status == "stopped"
    assert listener.n == 3
    assert not np.array_equal(model.get_weights()[0], before)


def test_a_stop_mid_epoch_counts_only_the_full_epochs(digits):
    """Stopped after 2 of the 6 batches of epoch 2: 1 epoch completed, not 2; Keras's end of the
    broken-off epoch (with its validation figures) reaches listeners as a partial epoch only."""
    cfg = TrainConfig(epochs=4, batch_size=50, validation_split=0.25)  # 300 samples: 6 batches
    model = make(mlp(), cfg)
    control = TrainingControl()

    class StopInEpochTwo(Recorder):
        def __init__(self):
            super().__init__()
            self.partial = []

        def on_batch_end(self, epoch, batch, logs):
            super().on_batch_end(epoch, batch, logs)
            if (epoch, batch) == (1, 1):
                control.stop()

        def on_partial_epoch_end(self, epoch, batches, logs):
            self.partial.append((epoch, batches, logs))

    listener = StopInEpochTwo()
    result = run_training(model, prepare_data(digits, (28, 28), cfg), cfg, listener, control)
    assert result.status == "stopped"
    assert result.epochs_completed == 1 and result.partial_batches == 2
    assert [e[1] for e in listener.events if e[0] == "epoch"] == [0]
    assert len(result.history["val_loss"]) == 1 and len(listener.weights) == 2
    assert [(e, b) for e, b, _ in listener.partial] == [(1, 2)]
    assert "after 1 epoch(s) and 2 of 6 batches of epoch 2" in result.message
    record = RunRecord.create(cfg, "mnist-embedded", result)
    assert record.epochs == 1 and len(record.history["loss"]) == 1


def test_a_stop_at_the_last_batch_is_a_full_epoch(digits):
    cfg = TrainConfig(epochs=4, batch_size=50, validation_split=0.25)
    model = make(mlp(), cfg)
    control = TrainingControl()

    class StopAtEpochEnd(TrainingListener):
        def on_batch_end(self, epoch, batch, logs):
            if batch == 5:
                control.stop()

    result = run_training(model, prepare_data(digits, (28, 28), cfg), cfg, StopAtEpochEnd(),
                          control)
    assert result.status == "stopped"
    assert result.epochs_completed == 1 and result.partial_batches == 0
    assert result.message == "Stopped by the user after 1 epoch(s)."


def test_a_stop_asked_at_an_epochs_end_runs_no_batch_of_the_next(digits):
    """What a sweep's pruning does: it reads the epoch's validation figure, then stops."""
    cfg = TrainConfig(epochs=4, batch_size=50, validation_split=0.25)
    model = make(mlp(), cfg)
    control = TrainingControl()

    class StopAfterEpochOne(Recorder):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            control.stop()

    listener = StopAfterEpochOne()
    result = run_training(model, prepare_data(digits, (28, 28), cfg), cfg, listener, control)
    assert result.status == "stopped" and result.epochs_completed == 1
    assert listener.batches == 6 and result.partial_batches == 0


def test_pause_blocks_until_resume(digits):
    cfg = TrainConfig(epochs=1, batch_size=100, validation_split=0)
    model = make(mlp(), cfg)
    control = TrainingControl()
    paused = threading.Event()

    class PauseFirst(TrainingListener):
        n = 0

        def on_batch_end(self, epoch, batch, logs):
            self.n += 1
            if self.n == 1:
                control.pause()
                paused.set()

    listener = PauseFirst()
    holder = {}
    thread = threading.Thread(target=lambda: holder.setdefault(
        "r", run_training(model, prepare_data(digits, (28, 28), cfg), cfg, listener, control)))
    thread.start()
    assert paused.wait(30)
    thread.join(0.5)
    assert thread.is_alive() and listener.n == 1 and control.paused
    control.resume()
    thread.join(30)
    assert not thread.is_alive()
    assert holder["r"].status == "completed" and listener.n == 4


def test_nan_guard_names_epoch_and_batch_and_keeps_last_good_weights(digits):
    cfg = TrainConfig(optimizer="sgd", learning_rate=9.0, epochs=3, batch_size=20,
                      validation_split=0, loss="mean_squared_error", metrics=[])
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=64, activation="relu"),
                                L("Dense", units=10)])
    model = make(spec, cfg)
    x = digits.x_train * 1e4  # huge inputs and a high learning rate: the loss explodes
    data = TrainingData(x, np.eye(10, dtype="float32")[digits.y_train])
    result = run_training(model, data, cfg)
    assert result.status == "nan"
    assert result.nan_at is not None
    epoch, batch = result.nan_at
    assert f"epoch {epoch}" in result.message and "learning rate" in result.message
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_early_stopping(digits):
    cfg = TrainConfig(epochs=30, batch_size=50,
                      early_stopping={"monitor": "val_loss", "patience": 1,
                                      "restore_best_weights": True})
    model = make(mlp(), cfg)
    # Validation labels are shuffled: the better the model fits, the worse val_loss gets.
    wrong = np.random.default_rng(0).permutation(digits.y_train)
    data = TrainingData(digits.x_train, digits.y_train, digits.x_train, wrong)
    result = run_training(model, data, cfg)
    assert result.status == "early_stopped"
    assert result.epochs_completed < 10 and "Early stopping" in result.message


def test_failure_inside_keras_is_reported_not_raised(digits):
    cfg = TrainConfig(epochs=1, validation_split=0)
    model = make(ModelSpec((28, 28), [L("Flatten"), L("Dense", units=3,
                                                       activation="softmax")]), cfg)
    data = TrainingData(digits.x_train, digits.y_train)  # labels up to 9, only 3 outputs
    result = run_training(model, data, cfg)
    assert result.status == "failed"
    assert "label is" in result.message and "only 3 outputs" in result.message


def test_adapt_inputs_and_labels():
    x = np.zeros((5, 28, 28), "float32")
    assert adapt_inputs(x, (784,)).shape == (5, 784)
    assert adapt_inputs(x, (28, 28, 1)).shape == (5, 28, 28, 1)
    with pytest.raises(TrainingError, match="input shape"):
        adapt_inputs(x, (100,))
    y = np.array([0, 2, 1])
    assert adapt_labels(y, "categorical_crossentropy", 3, (3,)).shape == (3, 3)
    assert adapt_labels(np.eye(3)[y], "sparse_categorical_crossentropy", 3, (3,)).tolist() == [
        0, 2, 1]


def test_compatibility_warnings_name_the_fix():
    cfg = TrainConfig(loss="mean_squared_error")
    assert any("sparse_categorical_crossentropy" in w
               for w in check_compatibility((10,), cfg, "classification", 10, "softmax"))
    cfg = TrainConfig()
    assert any("10 units" in w for w in check_compatibility((5,), cfg, "classification", 10,
                                                            "softmax"))
    assert any("softmax" in w for w in check_compatibility((10,), cfg, "classification", 10,
                                                           "relu"))
    assert check_compatibility((10,), cfg, "classification", 10, "softmax") == []
    assert any("mean_squared_error" in w for w in check_compatibility((1,), cfg, "regression", 0))


def test_a_nan_from_a_huge_regularizer_blames_the_regularizer(digits):
    cfg = TrainConfig(optimizer="sgd", learning_rate=0.5, epochs=2, batch_size=50,
                      validation_split=0, metrics=[])
    penalty = {"class_name": "L2", "config": {"l2": 1000.0}}
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=32, kernel_regularizer=penalty),
                                L("Dense", units=10, activation="softmax")])
    result = run_training(make(spec, cfg), TrainingData(digits.x_train, digits.y_train), cfg)
    assert result.status == "nan"
    assert "Try smaller regularizer factors (the largest is 1000)" in result.message
