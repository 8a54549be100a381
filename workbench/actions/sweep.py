"""Sweep a project's settings with Optuna: the one path behind ``workbench sweep`` and the
Experiments tab.

``prepare_sweep`` checks everything that can be checked before a trial runs (the space against the
model and Keras, the objective, the sampler) and ``run_sweep`` runs an Optuna study in a real
database (an SQLite file beside the project by default, or any Optuna storage URL). Each trial is
one ordinary run of ``actions.train.train`` (the same path as the Train button), made where the
caller says (``trainer``: ``InProcessTrainer`` here for the CLI, the engine for the window, which
never imports Keras; both keep the study, its storage and Optuna in the caller's process); its
per-epoch validation figure feeds Optuna's median pruner, which stops a poor trial at an epoch's
end. A trial whose loss turns NaN, or that fails, is recorded failed and the sweep goes on.
Several processes (on one machine or many) with the same storage and study share its trials:
Optuna's storage hands each trial number out once, and each process stops when the study holds
``trials`` trials, so a stopped sweep resumes where it was by running it again.

Optuna is imported inside the functions, never at module import (the app starts without it).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.actions.sweep_storage import (  # noqa: F401 - open_storage, shown_url: read from here
    SweepError,
    check_storage_url,
    default_storage,
    first_line,
    open_storage,
    quiet_optuna,
    shown_url,
)
from workbench.core.spec import ModelSpec, SpecError, TrainConfig, checked_epochs
from workbench.core.sweep_space import Space, SpaceError, check_space_builds, parse_space
from workbench.core.training import TrainingControl, TrainingError, TrainingListener
from workbench.i18n import _

SAMPLERS = ("tpe", "random", "grid")
STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
          "WAITING": "waiting"}


@dataclass
class SweepSettings:
    trials: int = 10  # trials the study holds when the sweep ends (all processes together)
    sampler: str = "tpe"
    pruning: bool = True  # Optuna's MedianPruner on the per-epoch validation figure
    direction: str | None = None  # maximize: val accuracy; minimize: val loss; None: the task's
    storage: str | None = None  # an Optuna storage URL; None: SQLite beside the project
    study: str | None = None  # None: the project's name and a fingerprint (see _study_name)
    epochs: int | None = None  # each trial's epochs (unless the space varies them)
    seed: int | None = None  # the sampler's seed (None: each process samples its own way)


@dataclass
class TrialReport:
    """A trial as plain data (any thread may hold it)."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str  # complete | pruned | failed | running
    duration: float | None = None  # seconds
    message: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    test: dict[str, float] | None = None

    def event(self) -> dict[str, Any]:
        return {"event": "trial", "number": self.number, "params": self.params,
                "value": self.value, "state": self.state}


@dataclass
class TrialRun:
    """How one trial's run ended, as plain data (whichever process trained it)."""

    status: str  # completed | stopped | early_stopped | nan | failed (core.training's)
    message: str
    history: dict[str, list[float]]
    duration: float
    test: dict[str, float] | None = None


class InProcessTrainer:
    """Where a sweep asks Keras: here, in this process (the CLI). The window passes its engine's
    counterpart (ui/experiments/engine_trainer.py), with the same two methods."""

    def check_builds(self, space: Space, spec: ModelSpec, config: TrainConfig) -> None:
        """SpaceError when the model does not build at an edge of the space."""
        check_space_builds(space, spec, config)

    def train(self, spec: ModelSpec, config: TrainConfig, dataset, dataset_name: str,
              listener: TrainingListener, control: TrainingControl, run_id: int) -> TrialRun:
        """One trial's run (``actions.train.train``); SpecError/TrainingError when it cannot."""
        from workbench.actions.train import train

        outcome = train(spec, config, dataset, dataset_name, listener, control,
                        run_id=run_id).outcome
        result = outcome.result
        return TrialRun(result.status, result.message, result.history, result.duration,
                        outcome.test)


@dataclass
class Sweep:
    """A checked sweep, ready to run."""

    spec: ModelSpec
    config: TrainConfig
    space: Space
    dataset_name: str
    objective: str  # the logged figure: val_accuracy | val_loss
    direction: str
    storage: str
    study: str
    settings: SweepSettings
    trainer: Any = None  # where its trials train (InProcessTrainer, or the window's engine)

    @property
    def storage_shown(self) -> str:
        """The storage URL with its password hidden (for anything printed or shown)."""
        return shown_url(self.storage)


@dataclass
class SweepOutcome:
    study: str
    storage: str
    trials: list[TrialReport]  # those this process ran
    best: TrialReport | None  # the study's best (of every process)
    total: int = 0  # trials in the study


class SweepControl:
    """Stop a sweep from any thread: the running trial stops within a batch (recorded failed,
    'stopped'), no further trial starts; finished trials are in the storage already."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._current: TrainingControl | None = None

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._current is not None:
                self._current.cancel()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _start_trial(self) -> TrainingControl:
        control = TrainingControl()
        with self._lock:
            self._current = control
            if self._stop.is_set():
                control.cancel()
        return control


# Preparing --------------------------------------------------------------------------------------


def prepare_sweep(spec: ModelSpec, config: TrainConfig, dataset, dataset_name: str,
                  space_data: Any, settings: SweepSettings | None = None,
                  project_path: str | Path | None = None, *, trainer) -> Sweep:
    """Check the sweep before any trial runs; SweepError (one sentence) for what cannot work.
    ``trainer``: where Keras checks the space and trains each trial (``InProcessTrainer()``, or
    the window's engine)."""
    settings = settings or SweepSettings()
    if settings.trials < 1:
        raise SweepError(_("the number of trials must be at least 1"))
    if settings.sampler not in SAMPLERS:
        raise SweepError(_("unknown sampler {sampler!r} (samplers: {samplers})").format(
                             sampler=settings.sampler, samplers=', '.join(SAMPLERS)))
    config = config.copy()
    if settings.epochs is not None:
        try:  # the project's own bounds
            config.epochs = checked_epochs(settings.epochs)
        except SpecError as exc:
            raise SweepError(f"--{exc}") from None
    try:
        space = parse_space(space_data, spec, config)
        trainer.check_builds(space, spec, config)
        if settings.sampler == "grid":
            space.grid()
    except SpaceError as exc:
        raise SweepError(_("search space: {exc}").format(exc=exc)) from None
    if config.validation_split <= 0:
        raise SweepError(_("a sweep scores each trial on the validation split: set the project's "
                           "validation_split above 0"))
    has_accuracy = getattr(dataset, "task", "classification") != "regression"
    direction = settings.direction or ("maximize" if has_accuracy else "minimize")
    if direction not in ("maximize", "minimize"):
        raise SweepError(_("--direction must be maximize or minimize, not {direction!r}").format(
                             direction=direction))
    if direction == "maximize" and not has_accuracy:
        raise SweepError(_("this dataset has no accuracy to maximize; use --direction minimize "
                           "(the validation loss)"))
    objective = "val_accuracy" if direction == "maximize" else "val_loss"
    storage = settings.storage or default_storage(project_path)
    check_storage_url(storage)  # before anything opens it: a refused sweep makes no file
    study = settings.study or _study_name(project_path, space, objective, spec, config)
    return Sweep(spec, config, space, dataset_name, objective, direction, storage, study,
                 settings, trainer)


def _study_name(project_path, space: Space, objective: str, spec: ModelSpec,
                config: TrainConfig) -> str:
    """The project's name and a fingerprint of what the trials train: the same sweep of the same
    project continues its study; an edited model or space starts another."""
    import json

    stem = Path(project_path).stem if project_path else "project"
    what = json.dumps([space.to_dict(), objective, spec.to_dict(), config.to_dict()],
                      sort_keys=True)
    return f"{stem}-{hashlib.sha1(what.encode()).hexdigest()[:8]}"


def open_study(sweep: Sweep):
    """The study in its storage (created on first use), with this sweep's sampler and pruner;
    SweepError when the storage is unusable or the study was made for another space."""
    optuna = quiet_optuna()
    storage = open_storage(sweep.storage)
    s = sweep.settings
    if s.sampler == "grid":
        sampler = optuna.samplers.GridSampler(sweep.space.grid(), seed=s.seed)
    elif s.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=s.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=s.seed)
    # Median pruning once two trials finished (Optuna's 5 would never prune a short sweep).
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=2) if s.pruning
              else optuna.pruners.NopPruner())
    try:
        study = optuna.create_study(storage=storage, study_name=sweep.study, sampler=sampler,
                                    pruner=pruner, direction=sweep.direction,
                                    load_if_exists=True)
        attrs = study.user_attrs
        # "space" is written last: a process that sees it sees the objective too (another
        # process opening the study between the two writes was told it was another study).
        mine = {"objective": sweep.objective, "space": sweep.space.to_dict()}
        if "space" not in attrs:
            for key, value in mine.items():
                study.set_user_attr(key, value)
        elif attrs.get("space") != mine["space"] or attrs.get("objective") != sweep.objective:
            raise SweepError(_("the study {study!r} in this storage was made for "
                               "another search space or objective; give another study "
                               "name (--study)").format(study=sweep.study))
        if study.direction.name.lower() != sweep.direction:
            raise SweepError(_("the study {study!r} is set to {its_direction}; give another "
                               "study name (--study) to {direction}").format(
                                 study=sweep.study, its_direction=study.direction.name.lower(),
                                 direction=sweep.direction))
    except SweepError:
        raise
    except Exception as exc:  # noqa: BLE001 - storage failures of every driver
        raise SweepError(_("the sweep storage {storage} failed: {error}").format(
                             storage=sweep.storage_shown, error=first_line(exc))) from None
    return study


# Running ----------------------------------------------------------------------------------------


class _TrialFailed(Exception):
    """A trial that could not train, or whose loss turned NaN (the message says which)."""


class _TrialListener(TrainingListener):
    """Forwards every event to the caller's listener; reports each epoch's objective figure to
    Optuna and stops the run at that epoch's end when the pruner says so."""

    def __init__(self, trial, objective: str, control: TrainingControl,
                 inner: TrainingListener | None, pruning: bool, epochs: int | None = None):
        self.trial, self.objective, self.control = trial, objective, control
        self.inner = inner or TrainingListener()
        self.wants_weights = self.inner.wants_weights
        self.pruning = pruning
        self.epochs = epochs  # the run's last epoch is not pruned: nothing is left to save
        self.pruned_at: int | None = None

    def on_warning(self, text):
        self.inner.on_warning(text)

    def on_train_begin(self, info):
        self.inner.on_train_begin(info)

    def on_epoch_begin(self, epoch):
        self.inner.on_epoch_begin(epoch)

    def on_batch_end(self, epoch, batch, logs):
        self.inner.on_batch_end(epoch, batch, logs)

    def on_partial_epoch_end(self, epoch, batches, logs):
        self.inner.on_partial_epoch_end(epoch, batches, logs)

    def on_weights(self, epoch, weights):
        self.inner.on_weights(epoch, weights)

    def on_train_end(self, result):
        self.inner.on_train_end(result)

    def on_epoch_end(self, epoch, logs):
        self.inner.on_epoch_end(epoch, logs)
        value = logs.get(self.objective)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), epoch)
        last = self.epochs is not None and epoch + 1 >= self.epochs
        if self.pruning and not last and self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.control.stop()  # at this epoch's end: no batch of the next one runs


def _suggest(trial, dim):
    if dim.choices:
        return trial.suggest_categorical(dim.key, dim.labels())
    if dim.kind == "int":
        return trial.suggest_int(dim.key, int(dim.low), int(dim.high),
                                 step=int(dim.step or 1), log=dim.log)
    return trial.suggest_float(dim.key, dim.low, dim.high, step=dim.step, log=dim.log)


def _objective_value(sweep: Sweep, history: dict[str, list[float]], status: str) -> float | None:
    values = [v for v in history.get(sweep.objective, []) if math.isfinite(v)]
    if not values:
        return None
    early = sweep.config.early_stopping or {}
    if status == "early_stopped" and early.get("restore_best_weights", True):
        return max(values) if sweep.direction == "maximize" else min(values)
    return values[-1]


def _broken_off(trial, message: str) -> None:
    """Mark a trial a user's stop broke off: it does not count towards the total, and a grid
    sweep visits its point again when it resumes (GridSampler counts a point visited by the
    ``grid_id`` its trial carries; -1 is no point)."""
    trial.set_user_attr("stopped", True)
    trial.set_user_attr("message", message)
    storage, trial_id = trial.storage, trial._trial_id
    if "grid_id" in storage.get_trial_system_attrs(trial_id):
        storage.set_trial_system_attr(trial_id, "grid_id", -1)


def _counted(study) -> int:
    """Trials that count towards the total: all but those a user's stop broke off."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    return sum(1 for t in study.get_trials(deepcopy=False, states=states)
               if not t.user_attrs.get("stopped"))


def report_of(frozen, space: Space) -> TrialReport:
    """A stored Optuna trial as a TrialReport (params turned back into settings)."""
    dims = {d.key: d for d in space.dimensions}
    params = {}
    for key, value in frozen.params.items():
        params[key] = dims[key].value(value) if key in dims else value
    attrs = frozen.user_attrs
    duration = attrs.get("duration")
    if duration is None and frozen.datetime_start and frozen.datetime_complete:
        duration = (frozen.datetime_complete - frozen.datetime_start).total_seconds()
    return TrialReport(frozen.number, params, frozen.value, STATES.get(frozen.state.name,
                                                                       frozen.state.name.lower()),
                       duration, attrs.get("message", ""), attrs.get("history", {}),
                       attrs.get("test"))


def study_reports(study, space: Space) -> list[TrialReport]:
    return [report_of(t, space) for t in study.get_trials(deepcopy=False)]


def best_report(study, space: Space) -> TrialReport | None:
    try:
        return report_of(study.best_trial, space)
    except ValueError:  # no complete trial yet
        return None


def run_sweep(sweep: Sweep, dataset, on_trial: Callable[[TrialReport], None] | None = None,
              listener_for: Callable[[int, dict], TrainingListener | None] | None = None,
              control: SweepControl | None = None, study=None) -> SweepOutcome:
    """Run trials until the study holds ``settings.trials`` (or ``control`` stops it).

    ``on_trial`` gets each finished trial of this process; ``listener_for(number, params)`` may
    give a listener for a trial's run (live curves). Never raises for a failing trial.
    """
    optuna = quiet_optuna()
    control = control or SweepControl()
    study = study if study is not None else open_study(sweep)
    done: list[TrialReport] = []

    def objective(trial):
        training = control._start_trial()
        try:
            return _run_trial(trial, training)
        except KeyboardInterrupt:
            _broken_off(trial, _("stopped by the user"))
            raise
        except (optuna.TrialPruned, _TrialFailed):
            raise
        except Exception as exc:  # noqa: BLE001 - recorded failed; the sweep goes on
            trial.set_user_attr("message", first_line(exc))
            raise _TrialFailed(first_line(exc)) from None

    def _run_trial(trial, training: TrainingControl):
        params = {d.key: d.value(_suggest(trial, d)) for d in sweep.space.dimensions}
        if training.stop_requested:
            _broken_off(trial, _("stopped by the user before it started"))
            raise _TrialFailed("stopped")
        spec, config = sweep.space.apply(sweep.spec, sweep.config, params)
        inner = listener_for(trial.number, params) if listener_for else None
        listener = _TrialListener(trial, sweep.objective, training, inner, sweep.settings.pruning,
                                  config.epochs)
        try:
            result = sweep.trainer.train(spec, config, dataset, sweep.dataset_name, listener,
                                        training, trial.number + 1)
        except (SpecError, TrainingError) as exc:
            trial.set_user_attr("message", str(exc))
            raise _TrialFailed(str(exc)) from None
        trial.set_user_attr("duration", round(result.duration, 3))
        trial.set_user_attr("history", result.history)
        if result.test:
            trial.set_user_attr("test", result.test)
        if listener.pruned_at is not None:
            pruned = _("pruned after epoch {epoch}").format(epoch=listener.pruned_at)
            trial.set_user_attr("message", pruned)
            raise optuna.TrialPruned(pruned)
        if control.stop_requested:
            _broken_off(trial, _("stopped by the user"))
            raise _TrialFailed("stopped")
        if result.status in ("nan", "failed"):
            trial.set_user_attr("message", result.message)
            raise _TrialFailed(result.message)
        value = _objective_value(sweep, result.history, result.status)
        if value is None:
            message = _("the run logged no {objective}").format(objective=sweep.objective)
            trial.set_user_attr("message", message)
            raise _TrialFailed(message)
        return value

    def after(study, frozen):
        report = report_of(frozen, sweep.space)
        done.append(report)
        if on_trial is not None:
            on_trial(report)
        if control.stop_requested or _counted(study) >= sweep.settings.trials:
            study.stop()

    remaining = sweep.settings.trials - _counted(study)
    if remaining > 0 and not control.stop_requested:
        study.optimize(objective, n_trials=remaining, callbacks=[after], catch=(Exception,),
                       gc_after_trial=False)
    return SweepOutcome(sweep.study, sweep.storage_shown, done, best_report(study, sweep.space),
                        len(study.get_trials(deepcopy=False)))
