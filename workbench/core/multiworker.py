"""The training loop for several machines (``train --strategy multi-worker``).

Keras 3's ``model.fit`` fails under ``MultiWorkerMirroredStrategy`` (TensorFlow 2.21, Keras 3.15),
so this is TensorFlow's documented multi-worker path instead: ``strategy.run`` over a
``tf.GradientTape`` step, the data through ``strategy.experimental_distribute_dataset`` (tf.data
shards it by element, each worker trains on its share of every global batch), the loss scaled
with ``tf.nn.compute_average_loss`` so the gradients added up over all replicas are those of the
global batch, and the epoch's figures summed over every worker. Every worker therefore sees the
same figures and takes the same decisions (NaN, stop, early stopping) at the same step, and ends
with the same weights. It reports to a ``TrainingListener`` exactly as ``core.training`` does.

Faults: each worker keeps a ``tf.train.CheckpointManager`` of the model, optimizer and epoch in
its own backup folder after every epoch, so all of them restart from the last epoch (a worker a
checkpoint ahead of the others, killed between the two saves, steps back one). A worker that dies
makes the others' next all-reduce fail (TensorFlow's missing heartbeats, or the collective's
timeout); that failure is reported naming the worker.
"""

from __future__ import annotations

import math
import re
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.backup import Backup
from workbench.core.errors import reason_lines
from workbench.core.spec import TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.core.training import (
    TrainingControl,
    TrainingData,
    TrainingListener,
    TrainingResult,
    _nan_advice,
    early_stop_message,
    early_stopping,
)
from workbench.i18n import _


def worker_addresses(strategy) -> list[str]:
    return list(strategy.cluster_resolver.cluster_spec().as_dict().get("worker", []))


def worker_index(strategy) -> int:
    return int(strategy.cluster_resolver.task_id or 0)


def _metric_fns(keras, names, y, output_shape, loss: str) -> dict[str, Any]:
    """Per-sample functions for the compiled metrics, as Keras's ``compile`` picks them."""
    fns = {}
    for name in names:
        if name in ("accuracy", "acc"):
            if output_shape[-1] == 1 and "binary" in loss:
                fns[name] = keras.metrics.binary_accuracy
            elif y.ndim == 1 or y.shape[-1] == 1:
                fns[name] = keras.metrics.sparse_categorical_accuracy
            else:
                fns[name] = keras.metrics.categorical_accuracy
        elif name == "mae":
            fns[name] = keras.losses.mean_absolute_error
        elif name == "mse":
            fns[name] = keras.losses.mean_squared_error
    return fns


class _Steps:
    """The distributed train and evaluation steps: each returns, summed over every replica of
    every worker, [loss x samples, samples, metric x samples..., stop flags], and the samples
    this worker saw."""

    def __init__(self, tf, keras, strategy, model, config: TrainConfig, metric_fns):
        self.tf, self.strategy, self.model = tf, strategy, model
        self.names = list(metric_fns)
        loss = keras.losses.get(config.loss)
        per_sample = getattr(loss, "call", loss)
        global_batch = config.batch_size

        def sums(y, p, per):
            n = tf.cast(tf.shape(per)[0], tf.float32)
            reg = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
            values = [tf.reduce_sum(per) + reg * n, n]
            values += [tf.reduce_sum(tf.cast(metric_fns[k](y, p), tf.float32))
                       for k in self.names]
            return values

        def train_replica(x, y, stop):
            with tf.GradientTape() as tape:
                p = model(x, training=True)
                per = tf.cast(per_sample(y, p), tf.float32)
                scaled = tf.nn.compute_average_loss(per, global_batch_size=global_batch)
                if model.losses:
                    scaled += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            grads = tape.gradient(scaled, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return tf.stack([*sums(y, p, per), stop])

        def eval_replica(x, y):
            p = model(x, training=False)
            per = tf.cast(per_sample(y, p), tf.float32)
            return tf.stack(sums(y, p, per))

        @tf.function
        def train_step(batch, stop):
            out = strategy.run(train_replica, args=(*batch, stop))
            return self._reduced(out)

        @tf.function
        def eval_step(batch):
            return self._reduced(strategy.run(eval_replica, args=batch))

        self.train_step, self.eval_step = train_step, eval_step

    def _reduced(self, out):
        tf = self.tf
        local = tf.add_n([v[1] for v in self.strategy.experimental_local_results(out)])
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, out, axis=None), local

    def logs(self, total: np.ndarray, prefix: str = "") -> dict[str, float]:
        n = max(float(total[1]), 1.0)
        logs = {f"{prefix}loss": float(total[0]) / n}
        for i, name in enumerate(self.names):
            logs[f"{prefix}{name}"] = float(total[2 + i]) / n
        return logs


def _dataset(tf, strategy, x, y, batch_size: int, shuffle_seed: int | None):
    """A distributed dataset of global batches, sharded by element over the workers."""
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(x), y))  # a split's rows (core.feed)
    if shuffle_seed is not None:  # the same order on every worker, another each epoch
        ds = ds.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=False)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(ds.batch(batch_size).with_options(options))


def _gather(tf, strategy, values: list[float]) -> np.ndarray:
    """``values`` as every replica of every worker has them, one row each (tf.distribute
    reduces only by sum or mean; this all-gathers)."""

    @tf.function
    def gather():
        per_replica = strategy.run(lambda: tf.constant([values], tf.float64))
        return strategy.gather(per_replica, axis=0)

    return gather().numpy()


def _check_same_run(tf, strategy, model, data: TrainingData, config: TrainConfig) -> None:
    """RuntimeError unless every worker has the same data, model and settings: a worker with
    another dataset would train on the wrong shares, one with other batches would wait for
    all-reduces that never come."""
    x = np.ascontiguousarray(data.x_train[:2000])
    mine = [len(data.x_train), 0 if data.x_val is None else len(data.x_val),
            zlib.crc32(x.tobytes()), model.count_params(), config.batch_size, config.epochs]
    rows = _gather(tf, strategy, [float(v) for v in mine])
    if not (rows == rows[0]).all():
        names = [_("training samples"), _("validation samples"), _("samples"), _("parameters"),
                 _("batch size"), _("epochs")]
        what = next(n for i, n in enumerate(names) if len(set(rows[:, i])) > 1)
        raise RuntimeError(_("the workers differ in their {what}; start every worker "
                             "with the same project, dataset and --epochs").format(
                               what=what))


class _Checkpoints:
    """This worker's checkpoint of model, optimizer and epoch after every epoch (two kept)."""

    def __init__(self, tf, strategy, model, backup: Backup | None):
        self.tf, self.strategy, self.backup = tf, strategy, backup
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.manager = None
        if backup is None:
            return
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=self.epoch)
        self.manager = tf.train.CheckpointManager(checkpoint, str(backup.checkpoint_dir),
                                                  max_to_keep=2)
        self.checkpoint = checkpoint

    def restore(self) -> int:
        """The epochs every worker has done (0: a new run); all workers restore the same one."""
        if self.manager is not None and self.manager.latest_checkpoint:
            self.checkpoint.restore(self.manager.latest_checkpoint)
        mine = int(self.epoch.numpy())
        # Every worker takes part, with a backup or without.
        everyone = [int(v) for v in _gather(self.tf, self.strategy, [mine])[:, 0]]
        low, high = min(everyone), max(everyone)
        if high - low > 1 or low == 0 < high:
            raise RuntimeError(
                _("the workers' backups are at different epochs ({low} and {high}); "
                  "resume every worker with its own --resume folder, or start them all "
                  "again without it").format(low=low, high=high))
        if mine == low:
            return low
        # Killed between two workers' saves: this one is an epoch ahead; its previous one fits.
        older = [p for p in self.manager.checkpoints if p.endswith(f"-{low}")]
        if not older:
            raise RuntimeError(_("this worker's backup no longer holds epoch {low}; "
                                 "start every worker again without --resume").format(
                                   low=low))
        self.checkpoint.restore(older[0])
        return low

    def save(self, epochs_done: int) -> None:
        if self.manager is not None:
            self.epoch.assign(epochs_done)
            self.manager.save(checkpoint_number=epochs_done)


def _describe(exc: BaseException, workers: list[str]) -> str:
    text = " ".join(reason_lines(exc))
    tasks = sorted({int(t) for t in re.findall(r"/job:worker/(?:replica:\d+/)?task:(\d+)",
                                                text.split("aborted by:")[-1])})
    if type(exc).__name__ in ("UnavailableError", "DeadlineExceededError", "AbortedError",
                              "CancelledError", "InternalError", "UnknownError") and (
            "Collective" in text or "heartbeat" in text or "Socket closed" in text
            or "unhealthy" in text or "Deadline" in text):
        who = ", ".join(f"worker {t} ({workers[t]})" for t in tasks if t < len(workers))
        lost = "heartbeats" if "heartbeat" in text else "connection"
        return (_("Training failed: lost the {lost} of {who}; the run cannot go on "
                  "without every worker. Start each worker again with --resume and its "
                  "backup folder").format(lost=lost, who=who or _("another worker")))
    return _("Training failed: {detail}").format(detail=reason_lines(exc)[-1])


def run_distributed_training(model, data: TrainingData, config: TrainConfig, strategy,
                             metrics: list[str], listener: TrainingListener | None = None,
                             control: TrainingControl | None = None,
                             backup_dir: Path | None = None) -> TrainingResult:
    """Train ``model`` (built and compiled in ``strategy.scope()``) on every worker at once.

    Like ``core.training.run_training``: never raises for a failure once training runs; after a
    NaN the model holds the last good weights; ``backup_dir`` makes a killed run resumable.
    ``result.history`` and the listener's figures are those of all workers together.
    """
    tf, keras = load_tensorflow()
    listener = listener or TrainingListener()
    control = control or TrainingControl()
    workers = worker_addresses(strategy)
    backup = None if backup_dir is None else Backup(backup_dir)
    history: dict[str, list[float]] = backup.read_history() if backup else {}
    output_shape = tuple(model.output_shape[1:])
    has_val = data.x_val is not None and len(data.x_val) > 0
    n = len(data.x_train)
    steps = max(1, math.ceil(n / config.batch_size))
    result = TrainingResult("completed")
    state = {"epochs": 0, "good": None, "nan_at": None, "batches": 0, "shard": 0}
    early = early_stopping(keras, config.early_stopping, has_val)  # the plain loop's rule
    if early is not None:  # driven by hand here, as fit drives it there
        early.set_model(model)
        early.on_train_begin()
    model.stop_training = False
    start = time.perf_counter()
    try:
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
            fns = _metric_fns(keras, metrics, data.y_train, output_shape, config.loss)
            stepper = _Steps(tf, keras, strategy, model, config, fns)
        _check_same_run(tf, strategy, model, data, config)
        checkpoints = _Checkpoints(tf, strategy, model, backup)
        done = checkpoints.restore()
        state["epochs"] = done
        history = {k: v[:done] for k, v in history.items()}
        state["good"] = model.get_weights()
        listener.on_train_begin({
            "epochs": config.epochs, "steps_per_epoch": steps, "samples": n,
            "batch_size": config.batch_size, "replicas": strategy.num_replicas_in_sync,
            "validation_samples": len(data.x_val) if has_val else 0,
        })
        if listener.wants_weights:
            listener.on_weights(-1, [w.copy() for w in state["good"]])
        seed = (config.seed or 0) if config.shuffle else None
        for epoch in range(done, config.epochs):
            if not _train_epoch(tf, strategy, stepper, data, config, epoch, seed, steps,
                                listener, control, state):
                break
            logs = state.pop("logs")
            if has_val:
                logs.update(_evaluate(tf, strategy, stepper, data, config))
            if any(not math.isfinite(v) for k, v in logs.items() if "loss" in k):
                state["nan_at"] = (epoch + 1, 0)
                break
            logs["learning_rate"] = float(tf.convert_to_tensor(model.optimizer.learning_rate))
            state["epochs"] = epoch + 1
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if backup is not None:  # before the checkpoint, as core.training does
                backup.write_history(history)
            checkpoints.save(epoch + 1)
            listener.on_epoch_end(epoch, logs)
            state["good"] = model.get_weights()
            if listener.wants_weights:
                listener.on_weights(epoch, [w.copy() for w in state["good"]])
            if state.get("stopped"):
                break
            if early is not None:
                early.on_epoch_end(epoch, logs)
                if model.stop_training:
                    result = TrainingResult("early_stopped", message=early_stop_message(early))
                    break
        if early is not None and state["nan_at"] is None:
            early.on_train_end()  # the best epoch's weights back, as after fit
    except Exception as exc:  # noqa: BLE001 - a lost worker, any failure inside TensorFlow
        result = TrainingResult("failed", message=_describe(exc, workers))
    result.duration = time.perf_counter() - start
    result.epochs_completed = state["epochs"]
    result.history = history
    result.partial_batches = state.get("partial", 0)
    if state["nan_at"] is not None and result.status != "failed":
        epoch, batch = state["nan_at"]
        where = f"epoch {epoch}, batch {batch}" if batch else f"epoch {epoch}"
        result.status, result.nan_at = "nan", state["nan_at"]
        result.message = (_("The loss became NaN/infinite at {where}; training stopped "
                            "and the weights from the last good epoch were kept. "
                            "{nan_advice}").format(
                              where=where, nan_advice=_nan_advice(model)))
        model.set_weights(state["good"])
    elif state.get("stopped") and result.status == "completed":
        result.status = "stopped"
        result.message = _("Stopped by a worker after {epochs} epoch(s).").format(
                             epochs=state['epochs'])
    result.shard_samples = state["shard"]
    listener.on_train_end(result)
    return result


def _train_epoch(tf, strategy, stepper, data, config, epoch, seed, steps, listener, control,
                 state) -> bool:
    """One epoch over every worker; False when it ended early (NaN, or a stop asked anywhere)."""
    listener.on_epoch_begin(epoch)
    batches = _dataset(tf, strategy, data.x_train, data.y_train, config.batch_size,
                       None if seed is None else seed + epoch)
    total, shard = None, 0.0
    for batch, inputs in enumerate(batches):
        control.wait_if_paused()
        stop = tf.constant(1.0 if control.stop_requested else 0.0)
        reduced, local = stepper.train_step(inputs, stop)
        reduced = reduced.numpy()
        shard += float(local)
        if not math.isfinite(float(reduced[0])):
            state["nan_at"] = (epoch + 1, batch + 1)
            return False
        total = reduced if total is None else total + reduced
        listener.on_batch_end(epoch, batch, stepper.logs(reduced))
        if reduced[-1] > 0:  # a worker was asked to stop: every worker stops after this batch
            state["stopped"] = True
            if batch + 1 < steps:
                state["partial"] = batch + 1
                listener.on_partial_epoch_end(epoch, batch + 1, stepper.logs(total))
                return False
    state["shard"] = int(shard)
    state["logs"] = stepper.logs(total)
    return True  # a stop asked in the last batch: the epoch is whole, it counts, then it ends


def _evaluate(tf, strategy, stepper, data, config) -> dict[str, float]:
    total = None
    for inputs in _dataset(tf, strategy, data.x_val, data.y_val, config.batch_size, None):
        reduced, _state = stepper.eval_step(inputs)
        total = reduced.numpy() if total is None else total + reduced.numpy()
    return stepper.logs(total, "val_") if total is not None else {}
