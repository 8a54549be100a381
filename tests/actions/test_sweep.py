"""The sweep action: an Optuna study whose trials are ordinary runs of the train action."""

import re

import numpy as np
import pytest

from workbench.actions.sweep import (
    InProcessTrainer,
    SweepControl,
    SweepError,
    SweepSettings,
    open_study,
    prepare_sweep,
    run_sweep,
    study_reports,
)
from workbench.core.datasets import load_dataset
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.core.training import TrainingListener

L = LayerSpec.create


@pytest.fixture(scope="module")
def digits():
    return load_dataset("mnist-embedded").subset(300, 60)


def mlp():
    return ModelSpec((28, 28), [L("Flatten"), L("Dense", units=16, activation="relu"),
                                L("Dropout", rate=0.1),
                                L("Dense", units=10, activation="softmax")])


def config(**changes):
    cfg = TrainConfig(epochs=1, batch_size=50, validation_split=0.2)
    for key, value in changes.items():
        setattr(cfg, key, value)
    return cfg


def storage(tmp_path):
    return f"sqlite:///{tmp_path / 'sweeps.db'}"


def prepare(tmp_path, dataset, space, cfg=None, **settings):
    settings.setdefault("storage", storage(tmp_path))
    return prepare_sweep(mlp(), cfg or config(), dataset, "mnist-embedded", space,
                         SweepSettings(**settings), tmp_path / "p.json",
                         trainer=InProcessTrainer())


def test_a_sweep_runs_its_trials_through_the_train_action_and_stores_them(tmp_path, digits):
    space = {"learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
             "2.units": {"choices": [8, 16]}, "dropout": {"low": 0.0, "high": 0.3}}
    sweep = prepare(tmp_path, digits, space, trials=2, sampler="random", seed=1,
                    pruning=False)
    assert sweep.objective == "val_accuracy" and sweep.direction == "maximize"
    assert sweep.study.startswith("p-")

    epochs = []

    class Curves(TrainingListener):
        def on_epoch_end(self, epoch, logs):
            epochs.append(logs["val_accuracy"])

    seen = []
    outcome = run_sweep(sweep, digits, on_trial=seen.append,
                        listener_for=lambda number, params: Curves())
    assert [t.number for t in outcome.trials] == [0, 1] and seen == outcome.trials
    assert all(t.state == "complete" for t in outcome.trials)
    for trial in outcome.trials:
        assert set(trial.params) == set(space) and trial.params["2.units"] in (8, 16)
        assert 1e-3 <= trial.params["learning_rate"] <= 1e-2
        assert trial.value == trial.history["val_accuracy"][-1] and trial.duration > 0
    assert epochs == [t.value for t in outcome.trials]  # the caller's listener saw each run
    assert outcome.best.value == max(t.value for t in outcome.trials)
    # It is all in the storage: another process (a new study object) reads the same trials.
    again = open_study(sweep)
    assert [r.params for r in study_reports(again, sweep.space)] == [
        t.params for t in outcome.trials]
    # Running it again with the same settings has nothing left to do: it resumes, at the end.
    assert run_sweep(sweep, digits).trials == [] and run_sweep(sweep, digits).total == 2


def test_failed_and_nan_trials_are_recorded_and_the_sweep_goes_on(tmp_path, digits):
    space = {"loss": {"choices": ["sparse_categorical_crossentropy", "binary_crossentropy"]}}
    sweep = prepare(tmp_path, digits, space, trials=2, sampler="grid")
    states = {t.params["loss"]: t for t in run_sweep(sweep, digits).trials}
    assert states["sparse_categorical_crossentropy"].state == "complete"
    failed = states["binary_crossentropy"]
    assert failed.state == "failed" and "does not fit the labels" in failed.message
    # A loss that turns NaN: labels of NaN make every batch's loss NaN.
    line = load_dataset("regression-line")
    line.y_train = np.full(len(line.y_train), np.nan, dtype="float32")
    spec = ModelSpec((1,), [L("Dense", units=1)])
    cfg = TrainConfig(loss="mean_squared_error", metrics=[], epochs=1)
    nan = prepare_sweep(spec, cfg, line, "regression-line", {"batch_size": {"choices": [8, 16]}},
                        SweepSettings(storage=storage(tmp_path), sampler="grid", trials=2,
                                      study="nan"), tmp_path / "r.json",
                        trainer=InProcessTrainer())
    reports = run_sweep(nan, line).trials
    assert [t.state for t in reports] == ["failed", "failed"]
    assert "NaN" in reports[0].message


def test_median_pruning_stops_a_poor_trial_at_an_epochs_end(tmp_path, digits):
    space = {"learning_rate": {"choices": [0.01, 0.005, 1e-7]}}
    sweep = prepare(tmp_path, digits, space, trials=3, sampler="random", epochs=2)
    study = open_study(sweep)
    for lr in (0.01, 0.005, 1e-7):  # the poor one last, after two have finished
        study.enqueue_trial({"learning_rate": lr})
    trials = run_sweep(sweep, digits, study=study).trials
    assert [t.state for t in trials] == ["complete", "complete", "pruned"]
    assert len(trials[0].history["loss"]) == 2
    assert len(trials[2].history["loss"]) == 1  # stopped after its first epoch
    assert trials[2].message == "pruned after epoch 1"
    # Without pruning it trains its two epochs.
    plain = prepare(tmp_path, digits, space, trials=1, epochs=2, pruning=False, study="np")
    study = open_study(plain)
    study.enqueue_trial({"learning_rate": 1e-7})
    assert len(run_sweep(plain, digits, study=study).trials[0].history["loss"]) == 2


def test_a_stopped_sweep_resumes_and_the_broken_off_trial_does_not_count(tmp_path, digits):
    space = {"batch_size": {"choices": [50, 60]}}
    sweep = prepare(tmp_path, digits, space, trials=2, sampler="grid", seed=0)
    control = SweepControl()

    class StopInSecondTrial(TrainingListener):
        def on_batch_end(self, epoch, batch, logs):
            control.stop()

    first = run_sweep(sweep, digits, control=control,
                      listener_for=lambda n, p: StopInSecondTrial() if n == 1 else None)
    assert [t.state for t in first.trials] == ["complete", "failed"]
    assert first.trials[1].message == "stopped by the user"
    rest = run_sweep(sweep, digits)
    assert [(t.number, t.state) for t in rest.trials] == [(2, "complete")]
    done = [t for t in study_reports(open_study(sweep), sweep.space) if t.state == "complete"]
    assert sorted(t.params["batch_size"] for t in done) == [50, 60]  # each grid point once


@pytest.mark.parametrize("settings, words", [
    ({"trials": 0}, "at least 1"),
    ({"sampler": "cmaes"}, "unknown sampler 'cmaes'"),
    ({"sampler": "grid"}, "search space: learning_rate: a grid needs choices or a step"),
    ({"direction": "sideways"}, "maximize or minimize"),
])
def test_settings_that_cannot_work_are_refused_before_any_trial(tmp_path, digits, settings,
                                                                  words):
    with pytest.raises(SweepError, match=None) as info:
        prepare(tmp_path, digits, {"learning_rate": {"low": 1e-3, "high": 1e-2}}, **settings)
    assert words in str(info.value)


def test_no_validation_split_and_regression_objectives(tmp_path, digits):
    with pytest.raises(SweepError, match="validation_split above 0"):
        prepare(tmp_path, digits, {"batch_size": {"choices": [8]}},
                config(validation_split=0.0))
    line = load_dataset("regression-line")
    spec = ModelSpec((1,), [L("Dense", units=1)])
    cfg = TrainConfig(loss="mean_squared_error", metrics=[], epochs=1)
    sweep = prepare_sweep(spec, cfg, line, "regression-line", {"batch_size": {"choices": [8]}},
                          SweepSettings(storage=storage(tmp_path)), tmp_path / "r.json",
                          trainer=InProcessTrainer())
    assert (sweep.objective, sweep.direction) == ("val_loss", "minimize")
    with pytest.raises(SweepError, match="no accuracy to maximize"):
        prepare_sweep(spec, cfg, line, "regression-line", {"batch_size": {"choices": [8]}},
                      SweepSettings(direction="maximize"), tmp_path / "r.json",
                      trainer=InProcessTrainer())


def test_unreachable_storage_and_a_study_of_another_space_get_one_line(tmp_path, digits):
    space = {"batch_size": {"choices": [50]}}
    nowhere = prepare(tmp_path, digits, space, storage="sqlite:////no/such/folder/s.db")
    with pytest.raises(SweepError, match="cannot open the sweep storage sqlite:////no/such"):
        open_study(nowhere)
    server = prepare(tmp_path, digits, space,
                     storage="postgresql://me:secret@127.0.0.1:9/sweeps")
    with pytest.raises(SweepError) as info:
        open_study(server)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
    open_study(prepare(tmp_path, digits, space, study="s"))
    other = prepare(tmp_path, digits, {"batch_size": {"choices": [60]}}, study="s")
    with pytest.raises(SweepError, match="made for another search space"):
        open_study(other)


def test_the_default_study_follows_the_project_and_the_space(tmp_path, digits):
    space = {"batch_size": {"choices": [50]}}
    a = prepare(tmp_path, digits, space).study
    assert prepare(tmp_path, digits, space).study == a  # the same command: the same study
    assert prepare(tmp_path, digits, {"batch_size": {"choices": [60]}}).study != a
    wider = prepare_sweep(ModelSpec((28, 28), [L("Flatten"), L("Dense", units=10,
                                                                activation="softmax")]),
                          config(), digits, "d", space, SweepSettings(), tmp_path / "p.json",
                          trainer=InProcessTrainer())
    assert wider.study != a and wider.storage == f"sqlite:///{tmp_path / 'p.sweeps.db'}"


def test_a_storage_another_process_is_creating_is_opened_again(tmp_path, monkeypatch):
    """Two sweeps started at once on a new SQLite file: the one that loses the race to write
    Optuna's tables opens the storage again instead of failing."""
    import optuna

    from workbench.actions.sweep import open_storage

    real, calls = optuna.storages.RDBStorage, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("(sqlite3.IntegrityError) UNIQUE constraint failed: "
                               "alembic_version.version_num")
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    storage = open_storage(f"sqlite:///{tmp_path / 'new.db'}")
    assert len(calls) == 2 and storage.get_all_studies() == []
    # Any other failure is not retried: one readable sentence at once.
    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("unable to open database file")

    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    calls.clear()
    with pytest.raises(Exception, match="unable to open database file"):
        open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    assert len(calls) == 1


def test_a_study_another_process_is_writing_opens(tmp_path, digits, monkeypatch):
    """Two workers opening a new study at once: the second may read it between the first's two
    writes of what the study is for. It must never see a space without its objective (it was
    told the study was made for another space and stopped)."""
    import optuna

    sweep = prepare(tmp_path, digits, {"batch_size": {"choices": [50]}}, study="race")
    written = []
    real = optuna.study.Study.set_user_attr
    monkeypatch.setattr(optuna.study.Study, "set_user_attr",
                        lambda self, key, value: (written.append(key), real(self, key, value)))
    open_study(sweep)
    assert written == ["objective", "space"]  # the space, which readers look for, last
    # Half written (the objective only): the next worker opens it and completes it.
    half = optuna.create_study(storage=storage(tmp_path), study_name="half",
                               direction="maximize")
    half.set_user_attr("objective", "val_accuracy")
    sweep.study = "half"
    assert open_study(sweep).user_attrs["space"] == sweep.space.to_dict()


def test_pruning_never_marks_a_trial_that_trained_to_its_last_epoch():
    """The pruner is asked after every epoch but the last: a trial that trained all its epochs
    is complete (its value counts), not 'pruned' with nothing saved."""
    from workbench.actions.sweep import _TrialListener
    from workbench.core.training import TrainingControl

    class PoorTrial:  # what Optuna's trial says of a trial below the median
        reported = []

        def report(self, value, step):
            self.reported.append(step)

        def should_prune(self):
            return True

    trial, control = PoorTrial(), TrainingControl()
    listener = _TrialListener(trial, "val_accuracy", control, None, True, epochs=3)
    listener.on_epoch_end(2, {"val_accuracy": 0.1})  # the last epoch
    assert listener.pruned_at is None and not control.stop_requested and trial.reported == [2]
    listener.on_epoch_end(0, {"val_accuracy": 0.1})  # an earlier one: stopped there
    assert listener.pruned_at == 1 and control.stop_requested


def test_a_special_file_as_the_sqlite_storage_says_what_it_is(tmp_path):
    import os

    from workbench.actions.sweep import SweepError, open_storage

    os.mkfifo(tmp_path / "fifo.db")
    (tmp_path / "zero.db").symlink_to("/dev/zero")
    for name, kind in (("fifo.db", "a named pipe (FIFO)"), ("zero.db", "a device")):
        with pytest.raises(SweepError, match=re.escape(f"is {kind}, not a sweep database")):
            open_storage(f"sqlite:///{tmp_path / name}")
