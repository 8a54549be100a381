"""Train a project's model: the one path behind ``workbench train`` and the GUI's Train button.

``train`` builds the seeded model (or starts from given weights), compiles it with the display
metric added, shapes the dataset for it, runs ``core.training.run_training`` and scores the
result on the test split. It returns the Keras model, for the calling thread to keep or save, and
a ``RunOutcome`` of plain data only (floats, lists, numpy copies) that may cross threads.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.actions.errors import ActionError
from workbench.core.compatibility import check_output, label_shape, output_problem
from workbench.core.datasets.splits import is_lazy
from workbench.core.distribute import is_multi_worker
from workbench.core.errors import reason_lines
from workbench.core.multiworker import run_distributed_training
from workbench.core.runs import RunRecord
from workbench.core.safe_io import available_memory, shown
from workbench.core.spec import ModelSpec, SpecError, TrainConfig
from workbench.core.training import (
    TrainingControl,
    TrainingError,
    TrainingListener,
    TrainingResult,
    adapt_inputs,
    adapt_labels,
    check_compatibility,
    prepare_data,
    run_training,
)
from workbench.i18n import _


def check_output_folder(folder) -> Path:
    """Where a run's results will be written, checked before the run (ActionError: a file is in
    the way, or the place cannot be written), so no finished run is lost at the end."""
    folder = Path(folder)
    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:  # a name too long, a loop of links
        raise ActionError(f"{shown(folder)}: {exc.strerror or exc}") from None
    if existing.exists() and not existing.is_dir():
        raise ActionError(_("{existing}: is a file, not a folder to write the results in").format(
                              existing=shown(existing)))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ActionError(_("{existing}: cannot be written (no permission)").format(
                              existing=shown(existing)))
    return folder


# Bytes per parameter while training: the weight, its gradient and two optimizer slots (Adam).
TRAINING_BYTES_PER_PARAM = 16


def check_model_memory(total_params: int) -> None:
    """ActionError when training a model of ``total_params`` would not fit in the free memory
    (before building it: a 700-billion-parameter Dense failed in TensorFlow as 'OOM')."""
    needed = total_params * TRAINING_BYTES_PER_PARAM
    free = available_memory()
    if needed > free:
        raise ActionError(_("the model's {total_params:,} parameters need about "
                            "{needed:,.1f} GB of memory to train, more than the "
                            "{free:,.1f} GB free; make its layers smaller").format(
                              total_params=total_params, needed=needed / 1e9, free=free / 1e9))


def preflight(spec: ModelSpec, report, config: TrainConfig, dataset,
              memory: bool = True) -> str:
    """Why a run of ``spec`` (inspected as ``report``) on ``dataset`` cannot start, in one line
    ("" when it can): the checks Train makes before a run in the window and ``workbench train``
    makes before it loads TensorFlow's model: a valid model, one that fits in the free memory
    (``memory``: this machine's, where the run trains; not where a remote engine trains it), an
    output that fits the labels, samples that fit the input."""
    if not spec.layers:
        return _("The model has no layers yet: add one from the Layers list.")
    if report.error is not None:
        return _("The model is invalid: {reason}").format(reason=report.error_text())
    try:  # a model too big for the memory free must not start to build
        if memory:
            check_model_memory(report.total_params)
    except ActionError as exc:
        return _("The model is too big to train here: {reason}").format(reason=exc)
    if dataset is None:
        return ""
    problem = check_output(spec, report, config, dataset)
    if problem is not None:
        return _("The model's output does not fit the labels: {reason}").format(
            reason=problem.message)
    try:
        adapt_inputs(np.empty((0, *dataset.input_shape), np.float32), tuple(spec.input_shape))
    except TrainingError as exc:
        return _("The data does not fit the model: {reason}").format(reason=exc)
    return ""


def display_metric(task: str) -> str:
    """The metric shown beside the loss: accuracy for classes, mean absolute error for numbers."""
    return "mae" if task == "regression" else "accuracy"


@dataclass
class RunOutcome:
    """How a run ended, as plain data: safe to hand to another thread or write to a file."""

    result: TrainingResult
    record: RunRecord | None  # None only if the run never reported (a crash)
    test: dict[str, float] | None = None  # loss and metrics on the test split
    metric: str = "accuracy"  # the display metric (see ``display_metric``)
    weights: list[np.ndarray] | None = None  # the final weights, copies
    warnings: list[str] = field(default_factory=list)  # loss/output mismatches, each with its fix
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainedRun:
    """The model (for the thread that trained it only) and the outcome (for anyone)."""

    model: Any
    outcome: RunOutcome


def _spec(spec) -> ModelSpec:
    return spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)


def _config(config) -> TrainConfig:
    return TrainConfig.from_dict(config if isinstance(config, dict) else config.to_dict())


def failed_outcome(config, dataset_name: str, message: str, run_id: int = 1,
                   started: float | None = None, metric: str = "accuracy") -> RunOutcome:
    """The outcome of a run that could not start or broke off with an error."""
    result = TrainingResult("failed", message=message)
    record = RunRecord.create(_config(config), dataset_name, result, None, started, run_id)
    return RunOutcome(result, record, None, metric)


def train(spec, config, dataset, dataset_name: str,
          listener: TrainingListener | None = None, control: TrainingControl | None = None,
          run_id: int = 1, initial_weights: list[np.ndarray] | None = None,
          continues: int | None = None, initial_epoch: int = 0,
          strategy=None, backup_dir=None, tensorboard_dir=None,
          tensorboard_batches: bool = False) -> TrainedRun:
    """Train ``spec`` (a ModelSpec or its dict) with ``config`` on ``dataset``.

    Raises ``SpecError`` or ``TrainingError`` (one readable sentence) when the run cannot start:
    a model that does not build, data that does not fit it, weights that do not fit it. Anything
    that goes wrong once training runs is reported in the outcome, never raised.
    ``initial_weights`` continues from those weights instead of the seeded initialisation;
    the record then says so: ``continues`` (the run they come from, None if not known) and
    ``initial_epoch`` (epochs trained before, from which this run's epochs count on).
    ``strategy``: a ``tf.distribute`` strategy (see core.distribute) the model is built and
    compiled under, so ``fit`` spreads each batch over its replicas (``record.replicas``); under
    a multi-worker strategy every worker calls this at once and core.multiworker trains instead.
    ``backup_dir``: back the run up there after every epoch; a run started with a folder that
    holds a killed run's backup goes on from it (``core.training.run_training``).
    ``tensorboard_dir``: also write the run's TensorBoard event files there, in ``run-N``
    (``core.tensorboard``; per batch too with ``tensorboard_batches``).
    """
    from workbench.core.build import build_seeded_model, compile_model

    started = time.time()
    spec = _spec(spec)
    config = _config(config)
    listener = listener or TrainingListener()
    control = control or TrainingControl()
    metric = display_metric(getattr(dataset, "task", "classification"))

    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        try:
            model = build_seeded_model(spec, config.seed, name="training")
        except RecursionError:
            raise TrainingError(_("the model is nested too deeply for Keras to build")) from None
        except Exception as exc:  # TensorFlow's ResourceExhaustedError, numpy's MemoryError
            if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
                raise TrainingError(_("the model's weights do not fit in memory; make its "
                                      "layers smaller")) from None
            raise
        if initial_weights is not None:
            try:
                model.set_weights([np.asarray(w) for w in initial_weights])
            except ValueError:
                raise TrainingError(_("the current weights do not fit this model (its layers "
                                      "changed); train from scratch")) from None
        compile_config = _config(config)
        if metric not in compile_config.metrics:
            compile_config.metrics = [*compile_config.metrics, metric]
        compile_model(model, compile_config)
    output_shape = tuple(model.output_shape[1:])
    problem = output_problem(output_shape, config.loss, dataset.task, dataset.num_classes,
                             label_shape(dataset))
    if problem:  # Keras would fail with a raw shape error (or train on nonsense)
        raise TrainingError(_("the model's output does not fit the labels: {problem}").format(
                                problem=problem))
    data = prepare_data(dataset, spec.input_shape, config, output_shape)
    last = spec.layers[-1].config.get("activation") if spec.layers else None
    warnings = check_compatibility(output_shape, config, dataset.task, dataset.num_classes, last)
    board = None
    if tensorboard_dir is not None:
        from workbench.core.tensorboard import TensorBoardListener, hparams_of

        board = listener = TensorBoardListener(
            tensorboard_dir, run_id, model,
            hparams_of(config.to_dict(), dataset_name, model.count_params()), listener,
            tensorboard_batches)
    for warning in warnings:
        listener.on_warning(warning)

    if control.stop_requested:
        result = TrainingResult("stopped", message=_("Stopped before the first batch."))
    elif is_multi_worker(strategy):  # Keras's fit does not run there (core.multiworker)
        if is_lazy(data.x_train):
            raise TrainingError(_("--strategy multi-worker needs a dataset that fits in memory "
                                  "(this one is read as it trains)"))
        result = run_distributed_training(model, data, config, strategy,
                                          compile_config.metrics, listener, control, backup_dir)
    else:
        result = run_training(model, data, config, listener, control, backup_dir)
    if strategy is not None:
        # The same weights in a plain model: scored and saved as a one-machine run's (mirrored
        # Keras's evaluate failed on a last batch that does not split over the replicas, and the
        # run then had no test scores).
        trained, model = model, build_seeded_model(spec, config.seed, name="training")
        compile_model(model, compile_config)
        model.set_weights(trained.get_weights())
    test = None
    if not control.cancelled and result.status != "failed" and (
            result.epochs_completed > 0 or result.partial_batches > 0):
        test = score_test_split(model, dataset, spec, config, output_shape, listener)
    if board is not None:
        board.write_test(test, result.epochs_completed)
        board.close()
    record = run_record(spec, config, dataset_name, result, test, started, run_id,
                        continues if initial_weights is not None else None,
                        initial_epoch if initial_weights is not None else None)
    if strategy is not None:
        record.extra["replicas"] = int(strategy.num_replicas_in_sync)
    weights = [w.copy() for w in model.get_weights()]
    return TrainedRun(model, RunOutcome(result, record, test, metric, weights, warnings))


def run_record(spec, config, dataset_name: str, result: TrainingResult, test, started,
               run_id: int, continues: int | None = None,
               initial_epoch: int | None = None) -> RunRecord:
    """The project's record of a run of ``spec``: ``initial_epoch`` not None for a run that
    went on from earlier weights (``continues``: the run they came from, if known)."""
    record = RunRecord.create(_config(config), dataset_name, result, test, started, run_id)
    record.extra["model"] = _spec(spec).to_dict()  # what the runs table compares runs by
    if initial_epoch is not None:
        record.extra.update(continues=continues, initial_epoch=int(initial_epoch))
    if result.partial_batches:  # the weights are from inside the epoch after the full ones
        record.extra["partial_batches"] = int(result.partial_batches)
    return record


def cut_short_outcome(spec, config, dataset_name: str, run_id: int, started: float | None,
                      epoch_logs: list[dict[str, float]], seconds: float, message: str,
                      metric: str = "accuracy", continues: int | None = None,
                      initial_epoch: int | None = None) -> RunOutcome:
    """A run whose trainer went away mid-run (the engine died): a stopped run of the epochs
    that had ended (``epoch_logs``, in order), so Continue can go on from their weights; with
    none, a failed one."""
    history: dict[str, list[float]] = {}
    for logs in epoch_logs:
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
    status = "stopped" if epoch_logs else "failed"
    result = TrainingResult(status, message=message, epochs_completed=len(epoch_logs),
                            history=history, duration=float(seconds))
    record = run_record(spec, config, dataset_name, result, None, started, run_id, continues,
                        initial_epoch)
    return RunOutcome(result, record, None, metric)


def failure_message(exc: BaseException) -> str:
    """What the window says of a run that could not start or broke off with ``exc``."""
    if isinstance(exc, MemoryError):
        return _("Training ran out of memory; use a smaller batch size or a smaller model.")
    from workbench.core.datasets import DatasetError

    if isinstance(exc, (SpecError, TrainingError, ActionError, DatasetError)):
        return _("Training could not start: {reason}").format(reason=exc)
    return _("Training failed: {reason}").format(reason=reason_lines(exc)[0])


def score_test_split(model, dataset, spec: ModelSpec, config: TrainConfig, output_shape,
                     listener: TrainingListener | None = None) -> dict[str, float] | None:
    """The compiled loss and metrics on the dataset's test split (None without one).

    None too when they cannot be computed: the run itself succeeded, the scores are a bonus;
    ``listener.on_warning`` then says why in one line (a damaged image names its file).
    """
    if dataset is None or len(getattr(dataset, "x_test", ())) == 0:
        return None
    problem = ""
    try:
        x = dataset.x_test
        x = adapt_inputs(x if is_lazy(x) else np.asarray(x, dtype=np.float32), spec.input_shape)
        y = adapt_labels(np.asarray(dataset.y_test), config.loss, dataset.num_classes,
                         output_shape)
        batch = max(256, config.batch_size)
        if is_lazy(x):
            from workbench.core.datasets.lazy import StreamFailure, keras_stream

            failure = StreamFailure()
            scores = model.evaluate(keras_stream(x, y, batch, failure=failure), verbose=0,
                                    return_dict=True, callbacks=[failure.callback()])
            problem = failure.message
        else:  # gathered from the array itself, not a whole copy of it (core.feed)
            from workbench.core.feed import keras_batches
            from workbench.core.tf_loader import load_tensorflow

            scores = model.evaluate(keras_batches(load_tensorflow()[0], x, y, batch), verbose=0,
                                    return_dict=True)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        problem = reason_lines(exc)[-1]
    if problem:
        if listener is not None:
            listener.on_warning(_("the test split was not scored: {reason}").format(
                reason=problem.rstrip(".")))
        return None
    return {k: float(v) for k, v in scores.items() if np.ndim(v) == 0}
