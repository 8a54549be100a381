"""The sweep as a task of the one task runner: ``start_sweep`` runs actions.sweep on a worker
thread (the study and Optuna here, each trial trained by the engine: engine_trainer.py) and hands
the GUI plain values as partial results, in order:

- ``("study", sweep)`` once it is checked, ``("earlier", reports)`` the trials its study held,
- ``("begin", number, params, info)`` when a trial's run starts (info: epochs, steps per epoch),
- ``("batches", number, points)`` rows of (x, loss, metric), sent at most ~10 times a second,
- ``("epoch", number, epoch, logs)`` after each epoch,
- ``("trial", report)`` a finished trial (a TrialReport), already in the storage,

and the SweepOutcome as its result. Cancelling (Stop, the window closing) stops the running
trial within a batch and starts no other; finished trials are in the storage already.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from workbench.actions.sweep import (
    SweepControl,
    SweepError,
    open_study,
    prepare_sweep,
    run_sweep,
    study_reports,
)
from workbench.core.training import TrainingListener
from workbench.ui.tasks import Task, TaskRunner

SEND_INTERVAL_S = 0.1


class _TrialCurves(TrainingListener):
    """Sends one trial's batches (batched) and epochs to the GUI."""

    def __init__(self, state, number: int, params: dict, metric: str):
        self.state, self.number, self.params, self.metric = state, number, params, metric
        self.steps = 1
        self.points: list[tuple[float, float, float]] = []
        self.sent = 0.0

    def on_train_begin(self, info):
        self.steps = max(1, int(info.get("steps_per_epoch", 1)))
        self.state.set_partial_result(("begin", self.number, self.params, dict(info)))

    def on_batch_end(self, epoch, batch, logs):
        self.points.append((epoch + (batch + 1) / self.steps, logs.get("loss", np.nan),
                            logs.get(self.metric, np.nan)))
        now = time.perf_counter()
        if now - self.sent >= SEND_INTERVAL_S:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if self.points:
            self.state.set_partial_result(("batches", self.number, np.array(self.points)))
            self.points = []
        self.sent = now or time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        self._flush()
        self.state.set_partial_result(("epoch", self.number, epoch, dict(logs)))

    def on_train_end(self, result):
        self._flush()


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances (PED-ANOVA: no scikit-learn needed); {} while there are
    too few finished trials to say."""
    import optuna

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = dict(optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
        except (ValueError, RuntimeError, ZeroDivisionError):
            return {}
    if any("too small" in str(w.message) for w in caught):
        return {}  # Optuna would give every setting the same share: it cannot tell yet
    return values


def sweep_task(state, control: SweepControl, spec, config, dataset, dataset_name, space,
               settings, project_path, metric: str, trainer):
    sweep = prepare_sweep(spec, config, dataset, dataset_name, space, settings, project_path,
                          trainer=trainer)
    study = open_study(sweep)
    state.set_partial_result(("study", sweep))
    earlier = study_reports(study, sweep.space)
    if earlier:  # the same sweep run before: the table starts with what the study holds
        state.set_partial_result(("earlier", earlier))
        state.set_partial_result(("importances", importances(study)))

    def on_trial(report):
        state.set_partial_result(("trial", report))
        state.set_partial_result(("importances", importances(study)))

    return run_sweep(
        sweep, dataset, on_trial=on_trial,
        listener_for=lambda number, params: _TrialCurves(state, number, params, metric),
        control=control, study=study)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SweepError):
        return f"Sweep: {exc}"
    from workbench.ui.tasks import readable_failure

    return readable_failure("The sweep", exc)


def start_sweep(runner: TaskRunner, args: tuple, on_partial, on_result, on_error,
                on_finished) -> tuple[Task, SweepControl]:
    control = SweepControl()
    task = runner.start(sweep_task, control, *args, name="sweep", on_partial=on_partial,
                        on_result=on_result, on_error=on_error, on_finished=on_finished,
                        describe_error=_describe, on_cancel=control.stop)
    return task, control
