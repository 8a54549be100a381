"""The engine's requests about the window's model spec: ``check_space`` (Keras's word on every
edge of a sweep's search space), a sweep of actions.sweep whose trials the engine trains (the
window's EngineTrainer), and ``augment`` (the Data tab's preview)."""

import numpy as np
import pytest

from workbench.core.datasets import load_dataset
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig

L = LayerSpec.create


def cnn() -> ModelSpec:
    return ModelSpec((28, 28, 1), [
        L("Conv2D", filters=4, kernel_size=[3, 3]), L("Flatten"),
        L("Dense", units=10, activation="softmax")])


def test_check_space_names_the_edge_keras_refuses(engine):
    body = {"spec": cnn().to_dict(), "config": TrainConfig().to_dict()}
    refused = engine.request("check_space", {
        **body, "space": {"1.kernel_size": {"choices": [3, [30, 30]]}}}, timeout=120)
    assert refused["problem"].startswith("1.kernel_size: [30, 30] is refused: layer 1")
    assert engine.request("check_space", {**body, "space": {"3.units": {"low": 4, "high": 64}}},
                          timeout=120) == {"problem": ""}
    unusable = engine.request("check_space", {**body, "space": {"9.units": {"low": 1,
                                                                            "high": 2}}},
                              timeout=60)["problem"]
    assert "9.units" in unusable and "\n" not in unusable


def test_a_sweep_trains_its_trials_in_the_engine_on_the_callers_data(engine, tmp_path):
    from workbench.actions.sweep import SweepSettings, prepare_sweep, run_sweep
    from workbench.ui.experiments.engine_trainer import EngineTrainer

    digits = load_dataset("mnist-embedded").subset(120, 40)
    spec = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=8, activation="relu"),
                                L("Dense", units=10, activation="softmax")])
    config = TrainConfig(epochs=2, batch_size=20, validation_split=0.25, metrics=["accuracy"],
                         seed=3)
    trainer = EngineTrainer(engine, "mnist-embedded", digits, seed=0)
    sweep = prepare_sweep(spec, config, digits, "mnist-embedded",
                          {"batch_size": {"choices": [10, 30]}},
                          SweepSettings(trials=2, sampler="grid", pruning=False),
                          tmp_path / "p.json", trainer=trainer)
    begun = []

    class Curves:
        wants_weights = False

        def __getattr__(self, name):
            return lambda *args: None

        def on_train_begin(self, info):
            begun.append(info)

    outcome = run_sweep(sweep, digits, listener_for=lambda number, params: Curves())
    assert [t.state for t in outcome.trials] == ["complete", "complete"]
    assert all(len(t.history["loss"]) == 2 and t.test for t in outcome.trials)
    # The engine trained on the caller's 120 samples (its subset call made again there; 90
    # after the validation split), not all the digits "mnist-embedded" holds: 9 and 3 batches.
    assert sorted(info["steps_per_epoch"] for info in begun) == [3, 9]
    assert trainer._data["subset"] == [[120, 40, 0]] and np.isfinite(outcome.best.value)


def test_augment_runs_the_models_leading_augmentation_layers(engine):
    from workbench.engine.client import EngineError

    spec = ModelSpec((28, 28), [L("Reshape", target_shape=[28, 28, 1]),
                                L("RandomRotation", factor=0.2), L("Flatten"),
                                L("Dense", units=10, activation="softmax")])
    sample = load_dataset("mnist-embedded").x_train[0].astype(np.float32)
    images = engine.request("augment", {"spec": spec.to_dict(), "sample": sample, "n": 4,
                                        "seed": 1}, timeout=120)["images"]
    assert images.shape == (4, 28, 28) and images.dtype == np.float32
    assert len({image.tobytes() for image in images}) > 1  # random: the copies differ
    plain = ModelSpec((28, 28), [L("Flatten"), L("Dense", units=10, activation="softmax")])
    with pytest.raises(EngineError, match="^the model has no augmentation layers at its start$"):
        engine.request("augment", {"spec": plain.to_dict(), "sample": sample}, timeout=60)
