"""The GUI's single source of truth: the open project, undoable edits, and what follows from them.

Views read ``ProjectState`` and connect to its signals; they never keep their own copy of layer
settings. Every model edit goes through an undoable command on ``undo_stack``. The inspection
(shapes, parameters, errors) is recomputed by Keras, debounced, after each edit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt5.QtCore import QObject, QTimer, pyqtSignal
from PyQt5.QtWidgets import QUndoCommand, QUndoStack

from workbench.core import tf_loader
from workbench.core.inspect import ModelInspection
from workbench.core.project import Project
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig


class _ModelEdit(QUndoCommand):
    """Swap the whole model spec between two snapshots; edits of one parameter merge."""

    def __init__(self, state: ProjectState, before: dict, after: dict, text: str,
                 merge_key: Any = None, selection: int | None = None):
        super().__init__(text)
        self._state = state
        self._before = before
        self._after = after
        self._merge_key = merge_key
        self._selection = selection

    def id(self) -> int:
        return 1 if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _ModelEdit) or other._merge_key != self._merge_key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._state._apply_model(self._after, self._selection)

    def undo(self) -> None:
        self._state._apply_model(self._before, self._selection)


class _TrainingEdit(QUndoCommand):
    def __init__(self, state: ProjectState, before: tuple, after: tuple, text: str, key: str):
        super().__init__(text)
        self._state, self._before, self._after, self._key = state, before, after, key

    def id(self) -> int:
        return 2

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, _TrainingEdit) or other._key != self._key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._state._apply_training(*self._after)

    def undo(self) -> None:
        self._state._apply_training(*self._before)


class ProjectState(QObject):
    model_changed = pyqtSignal()  # layers or input shape edited
    inspection_changed = pyqtSignal()  # a new ModelInspection (after model_changed, debounced)
    training_changed = pyqtSignal()  # TrainConfig or dataset name edited
    selection_changed = pyqtSignal(int)  # the selected layer index (-1: none)
    project_replaced = pyqtSignal()  # New / Open / template: everything changed
    tensorflow_ready = pyqtSignal()
    tensorflow_failed = pyqtSignal(str)
    dataset_loaded = pyqtSignal()  # self.dataset is the project's dataset
    dataset_failed = pyqtSignal(str)
    weights_updated = pyqtSignal(int)  # the inference model holds the weights of this epoch
    runs_changed = pyqtSignal()
    busy_changed = pyqtSignal(bool)  # training running: model edits apply to the next run
    dirty_changed = pyqtSignal(bool)
    status_message = pyqtSignal(str)
    # A picture (numpy array, e.g. a sample in the evaluation gallery) to test in the Draw tab.
    test_image_requested = pyqtSignal(object)
    digit_drawn = pyqtSignal(object)  # the 28x28 input the Draw tab just predicted (float32)


    def __init__(self, project: Project, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        # A bound method (not a lambda) so PyQt drops the connection when this object goes: the
        # stack emits cleanChanged while it is being destroyed after us.
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.inspection: ModelInspection | None = None
        self.dataset = None
        self.dataset_error = ""
        self.selected = -1
        self.busy = False
        # GUI-side inference model: rebuilt from the spec, loaded with the latest trained weights.
        self._inference = None
        self._inference_spec: dict | None = None
        self.weights: list | None = None
        self.weights_epoch = -1
        self.weights_history: list[list] = []  # weights at the end of each epoch of the last run
        self._trained_spec: dict | None = None  # the spec those weights belong to
        self._inference_epoch: tuple | None = None
        # The inference model a run's worker built for its spec, until its weights arrive.
        self._prepared: tuple[dict, Any] | None = None
        self._inference_warmers: list[Callable] = []
        self._dataset_request = 0
        self._inspect_timer = QTimer(self, singleShot=True, interval=15)
        self._inspect_timer.timeout.connect(self.refresh_inspection)
        # Background results are polled from the GUI thread rather than signalled from the loader
        # threads: a thread that finishes after this object is gone then touches nothing of Qt.
        self._background: list[tuple[Future, Callable]] = []
        self._poll_timer = QTimer(self, interval=30)
        self._poll_timer.timeout.connect(self._poll_background)
        self.model_changed.connect(self._inspect_timer.start)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    # TensorFlow and dataset loading, off the GUI thread ------------------------------------------

    @property
    def tensorflow_loaded(self) -> bool:
        return tf_loader.is_loaded()

    def start_loading_tensorflow(self) -> None:
        def work() -> str:
            try:
                tf_loader.load_tensorflow()
                return ""
            except Exception as exc:  # noqa: BLE001 - shown to the user
                return f"TensorFlow could not be loaded: {exc}"

        self._in_background(work, "tensorflow-import", self._on_tf_done)

    def _in_background(self, work: Callable, name: str, done: Callable) -> None:
        """Run ``work()`` in a daemon thread; call ``done(result)`` on the GUI thread after."""
        future: Future = Future()

        def run():
            future.set_result(work())

        threading.Thread(target=run, name=name, daemon=True).start()
        self._background.append((future, done))
        self._poll_timer.start()

    def _poll_background(self) -> None:
        finished, pending = [], []
        for item in self._background:  # one pass: a future may finish while we look
            (finished if item[0].done() else pending).append(item)
        self._background = pending
        if not self._background:
            self._poll_timer.stop()
        for future, done in finished:
            done(future.result())

    def _on_tf_done(self, error: str) -> None:
        if error:
            self.tensorflow_failed.emit(error)
            return
        self.refresh_inspection()
        self.tensorflow_ready.emit()
        self.load_dataset()

    def load_dataset(self) -> None:
        """Load the project's dataset in the background; ``dataset_loaded`` when ready."""
        from workbench.core.datasets import load_dataset

        self._dataset_request += 1
        request, name = self._dataset_request, self.project.dataset
        seed = self.project.training.seed or 0

        def work():
            try:
                return request, load_dataset(name, seed=seed), ""
            except Exception as exc:  # noqa: BLE001 - DatasetError and anything unexpected
                return request, None, str(exc)

        self._in_background(work, "dataset-load", lambda result: self._on_dataset_done(*result))

    def _on_dataset_done(self, request: int, dataset, error: str) -> None:
        if request != self._dataset_request:
            return  # a newer request superseded this one
        if error:
            self.dataset, self.dataset_error = None, error
            self.dataset_failed.emit(error)
            return
        self.dataset, self.dataset_error = dataset, ""
        if dataset.notice:
            self.status_message.emit(dataset.notice)
        self.dataset_loaded.emit()

    # Read access ---------------------------------------------------------------------------------

    @property
    def spec(self) -> ModelSpec:
        return self.project.model

    @property
    def training(self) -> TrainConfig:
        return self.project.training

    def refresh_inspection(self) -> None:
        if not tf_loader.is_loaded():
            return
        from workbench.core.inspect import inspect_model

        self._inspect_timer.stop()
        self.inspection = inspect_model(self.spec)
        self.inspection_changed.emit()

    # Model edits (undoable) -----------------------------------------------------------------------

    def _push_model(self, mutate, text: str, merge_key: Any = None,
                    selection: int | None = None) -> None:
        before = self.spec.to_dict()
        draft = ModelSpec.from_dict(before)
        mutate(draft)
        after = draft.to_dict()
        if after != before:
            self.undo_stack.push(_ModelEdit(self, before, after, text, merge_key, selection))

    def _apply_model(self, data: dict, selection: int | None) -> None:
        self.project.model = ModelSpec.from_dict(data)
        if selection is not None:
            self.selected = min(selection, len(self.spec.layers) - 1)
        elif self.selected >= len(self.spec.layers):
            self.selected = len(self.spec.layers) - 1
        self.model_changed.emit()
        self.selection_changed.emit(self.selected)

    def insert_layer(self, index: int, layer: LayerSpec) -> None:
        index = max(0, min(index, len(self.spec.layers)))
        self._push_model(lambda s: s.layers.insert(index, layer),
                         f"Add {layer.class_name}", selection=index)

    def remove_layer(self, index: int) -> None:
        if 0 <= index < len(self.spec.layers):
            name = self.spec.layers[index].class_name
            self._push_model(lambda s: s.layers.pop(index), f"Delete {name}",
                             selection=max(0, min(index, len(self.spec.layers) - 2)))

    def duplicate_layer(self, index: int) -> None:
        if 0 <= index < len(self.spec.layers):
            copy = LayerSpec.from_dict(self.spec.layers[index].to_dict())
            self.insert_layer(index + 1, copy)

    def move_layer(self, source: int, target: int) -> None:
        n = len(self.spec.layers)
        if not (0 <= source < n and 0 <= target < n) or source == target:
            return

        def move(s: ModelSpec):
            s.layers.insert(target, s.layers.pop(source))

        self._push_model(move, f"Move {self.spec.layers[source].class_name}", selection=target)

    def set_layer_param(self, index: int, name: str, value: Any) -> None:
        """Set one parameter; consecutive edits of the same parameter undo as one step."""
        if not 0 <= index < len(self.spec.layers):
            return

        def change(s: ModelSpec):
            s.layers[index].config[name] = value

        layer = self.spec.layers[index]
        self._push_model(change, f"{layer.class_name} {name}", merge_key=(index, name),
                         selection=index)

    def replace_layer(self, index: int, layer: LayerSpec) -> None:
        def change(s: ModelSpec):
            s.layers[index] = layer

        self._push_model(change, f"Change {layer.class_name}", selection=index)

    def set_input_shape(self, shape: tuple[int, ...]) -> None:
        def change(s: ModelSpec):
            s.input_shape = tuple(shape)

        self._push_model(change, "Input shape", merge_key="input_shape")

    def set_model(self, spec: ModelSpec, text: str = "Replace model") -> None:
        self._push_model(lambda s: (s.layers.clear(), s.layers.extend(spec.copy().layers),
                                    setattr(s, "input_shape", tuple(spec.input_shape))), text)

    def select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.selection_changed.emit(index)

    # Training settings (undoable) -----------------------------------------------------------------

    def set_training(self, config: TrainConfig, dataset: str | None = None,
                     key: str = "training") -> None:
        before = (self.training.to_dict(), self.project.dataset)
        after = (config.to_dict(), dataset or self.project.dataset)
        if after != before:
            self.undo_stack.push(_TrainingEdit(self, before, after, "Training settings", key))

    def set_dataset(self, name: str) -> None:
        self.set_training(self.training, name, key="dataset")

    def _apply_training(self, config: dict, dataset: str) -> None:
        self.project.training = TrainConfig.from_dict(config)
        changed = dataset != self.project.dataset
        self.project.dataset = dataset
        self.training_changed.emit()
        if changed and tf_loader.is_loaded():
            self.load_dataset()

    # Whole project ------------------------------------------------------------------------------

    def replace_project(self, project: Project, path: Path | None = None) -> None:
        dataset_changed = project.dataset != self.project.dataset
        self.project = project
        self.path = path
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.selected = len(project.model.layers) - 1 if project.model.layers else -1
        self.weights, self.weights_epoch, self.weights_history = None, -1, []
        self._inference, self._inference_spec, self._trained_spec = None, None, None
        self._prepared = None
        self.project_replaced.emit()
        self.model_changed.emit()
        self.training_changed.emit()
        self.runs_changed.emit()
        self.selection_changed.emit(self.selected)
        self.dirty_changed.emit(False)
        if tf_loader.is_loaded():
            self.refresh_inspection()
            if dataset_changed or self.dataset is None:
                self.load_dataset()

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.undo_stack.setClean()
        self.dirty_changed.emit(False)

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def add_run(self, record: dict) -> None:
        self.project.runs.append(record)
        self.runs_changed.emit()
        # A finished run is worth saving: count it as an unsaved change.
        self.undo_stack.resetClean()
        self.dirty_changed.emit(True)

    def set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busy_changed.emit(busy)

    # Trained weights and the GUI-side inference model --------------------------------------------

    def set_weights(self, epoch: int, weights: list, spec: dict | None = None) -> None:
        """Called on the GUI thread with a copy of the worker's weights after each epoch."""
        if epoch == 0 or epoch < self.weights_epoch:
            self.weights_history = []
        self.weights, self.weights_epoch = weights, epoch
        self.weights_history.append(weights)
        self._trained_spec = spec or self.spec.to_dict()
        self.weights_updated.emit(epoch)

    def add_inference_warmer(self, warm: Callable) -> None:
        """``warm(model)`` runs on each inference model the training worker prepares, on its thread.

        For work a view would otherwise do on the GUI thread the first time it meets a new model
        (the draw panel traces its one-image call there). Called only before the model is handed
        over, so it never runs while the GUI thread uses that model.
        """
        self._inference_warmers.append(warm)

    @property
    def inference_warmers(self) -> tuple[Callable, ...]:
        return tuple(self._inference_warmers)

    def has_inference_for(self, spec: dict) -> bool:
        """True when the current inference model already has ``spec``'s architecture."""
        return self._inference is not None and self._inference_spec == spec

    def adopt_inference(self, spec: dict, model) -> None:
        """Take the inference model a run's worker built for ``spec`` (used once its weights come).

        Building the MNIST CNN costs ~40 ms and tracing its one-image call as much again; done on
        the GUI thread when the first epoch's weights arrived, that was the longest stall of the
        curves during a run. The worker builds it before its own model and never touches it again.
        """
        self._prepared = (spec, model)

    def _build_inference(self, spec: dict):
        """The inference model for ``spec``: the prepared one if it is for this spec."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == spec:
            return prepared[1]
        from workbench.core.build import build_model

        return build_model(ModelSpec.from_dict(spec), name="inference")

    def inference_model(self):
        """A Keras model of the trained architecture holding the latest weights, or None.

        Built from the spec that was trained (not the one being edited), so the draw, weights
        and evaluation views never touch the worker's model. For a run, the run's worker builds it
        before its own model (``adopt_inference``); then only the weights are loaded here.
        """
        if self.weights is None or not tf_loader.is_loaded():
            return None
        spec = self._trained_spec or self.spec.to_dict()
        if self._inference is None or self._inference_spec != spec:
            try:
                self._inference = self._build_inference(spec)
            except Exception:  # noqa: BLE001 - an unbuildable spec has no inference model
                self._inference = None
                return None
            self._inference_spec = spec
            self._inference_epoch = None
        if self._inference_epoch != (self.weights_epoch, id(self.weights)):
            self._inference.set_weights(self.weights)
            self._inference_epoch = (self.weights_epoch, id(self.weights))
        return self._inference

    def set_trained_model(self, model) -> None:
        """Adopt a model loaded from a file (e.g. an opened .keras) as the inference model."""
        self._inference = model
        self._trained_spec = self._inference_spec = {"external model": id(model)}
        self.weights = [w.copy() for w in model.get_weights()]
        self.weights_epoch = 0
        self._inference_epoch = (0, id(self.weights))
        self.weights_history = [self.weights]
        self.weights_updated.emit(0)

    @property
    def trained_spec(self) -> dict | None:
        """The model spec (as a dict) the current weights belong to; None for an external model."""
        spec = self._trained_spec
        return None if spec is None or "external model" in spec else spec

    def mark_unsaved(self) -> None:
        """Count the project as changed (a recovered or imported project has not been saved)."""
        self.undo_stack.resetClean()
        self.dirty_changed.emit(True)
