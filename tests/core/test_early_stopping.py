"""One early-stopping rule for both training loops: Keras's EarlyStopping, which the plain loop
hands to fit and core.multiworker drives by hand (it had a copy of the rule of its own)."""

import numpy as np

from workbench.core import multiworker
from workbench.core.spec import TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.core.training import (
    early_stop_message,
    early_stopping,
    run_training,
    split_validation,
)


def _stops_at(early, keras, values) -> int | None:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    early.set_model(model)
    model.stop_training = False
    early.on_train_begin()
    for epoch, value in enumerate(values):
        early.on_epoch_end(epoch, {early.monitor: value})
        if model.stop_training:
            return epoch
    return None


def test_the_monitor_and_its_direction():
    keras = load_tensorflow()[1]
    assert early_stopping(keras, None, True) is None
    early = early_stopping(keras, {"monitor": "val_accuracy", "patience": 2}, has_val=False)
    assert early.monitor == "accuracy" and early.patience == 2
    assert _stops_at(early, keras, [0.5, 0.6, 0.7, 0.8]) is None  # accuracies rise
    assert _stops_at(early, keras, [0.5, 0.6, 0.55, 0.55]) == 3
    assert _stops_at(early_stopping(keras, {"patience": 1}, True), keras, [0.9, 0.5, 0.6]) == 2
    assert not hasattr(multiworker, "_EarlyStopping")  # no second copy of the rule


def test_fit_stops_and_says_so_in_the_shared_words():
    keras = load_tensorflow()[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    # a learning rate too small to move a float32 weight, no shuffling: the loss never
    # improves, so patience 1 stops at epoch 2
    config = TrainConfig.from_dict({"optimizer": {"class_name": "SGD",
                                                  "config": {"learning_rate": 1e-30}},
                                    "epochs": 6, "batch_size": 16, "shuffle": False,
                                    "validation_split": 0.0,
                                    "early_stopping": {"monitor": "loss", "patience": 1}})
    model.compile(optimizer=keras.optimizers.SGD(1e-30), loss=config.loss)
    result = run_training(model, split_validation(x, y, 0.0, 1), config)
    assert result.status == "early_stopped" and result.epochs_completed == 2
    assert result.message == "Early stopping at epoch 2: loss stopped improving."


def test_the_message_names_the_epoch_and_monitor():
    keras = load_tensorflow()[1]
    early = early_stopping(keras, {"monitor": "val_loss"}, True)
    early.stopped_epoch = 4
    assert early_stop_message(early) == "Early stopping at epoch 5: val_loss stopped improving."
