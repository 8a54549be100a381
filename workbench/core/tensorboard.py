"""TensorBoard event files of a run: scalars per epoch (and per batch when asked), weight
histograms per epoch, the hyperparameters (the HParams plugin) and the model graph.

``TensorBoardListener`` wraps the run's own listener (every call is passed on) and writes with
``tf.summary``, in Keras's layout so TensorBoard draws training and validation on one chart:
``FOLDER/run-N/train`` (``epoch_loss``, ``epoch_accuracy``, ``batch_loss``, histograms, graph),
``FOLDER/run-N/validation`` (``epoch_loss``, ...) and ``FOLDER/run-N`` itself (the
hyperparameters, and the test scores as ``test_loss``, ``test_accuracy``). Steps count epochs
from 0, as Keras's own TensorBoard callback does: ``history["loss"][i]`` is ``epoch_loss`` at
step ``i``. ``tf.summary.scalar`` and the HParams summary are implemented by the ``tensorboard``
package (TensorFlow alone raises TBNotInstalledError), so writing needs it too: ``require``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.tf_loader import load_tensorflow
from workbench.core.training import TrainingListener
from workbench.i18n import N_, _

PACKAGE_HINT = N_("pip install tensorboard (the Workbench's own install brings it)")


class TensorBoardMissing(Exception):
    """The ``tensorboard`` package is not installed (the message says what to install)."""


def require() -> None:
    """TensorBoardMissing unless the ``tensorboard`` package is installed. Found, not imported:
    its HParams summaries import TensorFlow, which the window's process must not."""
    import importlib.util

    try:
        found = all(importlib.util.find_spec(name) is not None
                    for name in ("tensorboard", "tensorboard.plugins.hparams"))
    except (ImportError, ValueError, AttributeError):  # a package left half-installed
        found = False
    if not found:
        raise TensorBoardMissing(_("TensorBoard files need the tensorboard package: ")
                                 + _(PACKAGE_HINT))


def event_folder(project_path) -> Path:
    """Where the window writes a project's event files: ``NAME.tensorboard`` beside ``NAME.json``
    (and where ``workbench tensorboard PROJECT`` looks first)."""
    path = Path(project_path)
    return path.with_name(path.stem + ".tensorboard")


def run_folder(folder, run_id: int) -> Path:
    return Path(folder) / f"run-{int(run_id)}"


def hparams_of(config: dict[str, Any], dataset: str, params: int | None = None) -> dict:
    """The run's settings as HParams values (numbers, strings and booleans only)."""
    optimizer = config.get("optimizer")
    name, opt_config = optimizer, {}
    if isinstance(optimizer, dict):
        name, opt_config = optimizer.get("class_name", "?"), optimizer.get("config") or {}
    values: dict[str, Any] = {"optimizer": str(name), "dataset": str(dataset)}
    for key in ("loss", "epochs", "batch_size", "validation_split", "seed", "shuffle"):
        if key in config and config[key] is not None:
            values[key] = config[key]
    for key, value in opt_config.items():  # learning_rate, momentum, beta_1, ...
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[key] = value
    values["early_stopping"] = bool(config.get("early_stopping"))
    if params is not None:
        values["params"] = int(params)
    return {k: (v if isinstance(v, (int, float, bool, str)) else str(v))
            for k, v in values.items()}


class TensorBoardListener(TrainingListener):
    """Writes the run's event files while passing every event on to ``inner``."""

    wants_weights = True

    def __init__(self, folder, run_id: int, model, hparams: dict, inner: TrainingListener,
                 per_batch: bool = False):
        require()
        self.tf, _keras = load_tensorflow()
        self.inner = inner
        self.per_batch = per_batch
        self.folder = run_folder(folder, run_id)
        self.model = model
        self.hparams = hparams
        prefix = f"{model.name}/"  # Keras paths start with the model's name: "training/..."
        self.names = [w.path[len(prefix):] if w.path.startswith(prefix) else w.path
                      for w in model.weights]
        self._writers: dict[str, Any] = {}
        self._steps = 1
        self._batch_step = 0

    def _writer(self, name: str):
        if name not in self._writers:
            path = self.folder / name if name else self.folder
            self._writers[name] = self.tf.summary.create_file_writer(str(path))
        return self._writers[name]

    # events -----------------------------------------------------------------------------------

    def on_warning(self, text):
        self.inner.on_warning(text)

    def on_train_begin(self, info):
        from tensorboard.plugins.hparams import api as hp

        self._steps = int(info.get("steps_per_epoch") or 1)
        with self._writer("").as_default():
            hp.hparams(self.hparams, trial_id=self.folder.name)
        self._write_graph()
        self.inner.on_train_begin(info)

    def on_epoch_begin(self, epoch):
        self.inner.on_epoch_begin(epoch)

    def on_batch_end(self, epoch, batch, logs):
        if self.per_batch:
            self._batch_step = epoch * self._steps + batch
            with self._writer("train").as_default():
                for key, value in logs.items():
                    self.tf.summary.scalar(f"batch_{key}", value, step=self._batch_step)
        self.inner.on_batch_end(epoch, batch, logs)

    def on_epoch_end(self, epoch, logs):
        for key, value in logs.items():
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            if math.isfinite(value):
                with self._writer(split).as_default():
                    self.tf.summary.scalar(f"epoch_{name}", value, step=epoch)
        self.inner.on_epoch_end(epoch, logs)

    def on_partial_epoch_end(self, epoch, batches, logs):
        self.inner.on_partial_epoch_end(epoch, batches, logs)

    def on_weights(self, epoch, weights):
        if epoch >= 0:  # the weights after each epoch, at that epoch's step
            with self._writer("train").as_default():
                for name, array in zip(self.names, weights):
                    array = np.asarray(array)
                    if array.size and np.isfinite(array).all():
                        self.tf.summary.histogram(name, array, step=epoch)
        if self.inner.wants_weights:
            self.inner.on_weights(epoch, weights)

    def on_train_end(self, result):
        self.flush()
        self.inner.on_train_end(result)

    # the rest ---------------------------------------------------------------------------------

    def _write_graph(self) -> None:
        """The model's forward pass as a TensorFlow graph (TensorBoard's Graphs tab)."""
        tf = self.tf
        try:
            specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in self.model.inputs]
            function = tf.function(lambda *x: self.model(list(x) if len(x) > 1 else x[0],
                                                         training=False))
            graph = function.get_concrete_function(*specs).graph.as_graph_def()
        except Exception:  # noqa: BLE001 - the graph is a picture; the run goes on without it
            return
        with self._writer("train").as_default():
            tf.summary.graph(graph)

    def write_test(self, test: dict[str, float] | None, epochs: int) -> None:
        """The test-split scores at the run's last step (beside the hyperparameters)."""
        if not test:
            return
        with self._writer("").as_default():
            for key, value in test.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self.tf.summary.scalar(f"test_{key}", float(value), step=max(epochs - 1, 0))

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
