"""The trained weights of the open project and the GUI-side inference model that holds them.

After each epoch the training worker sends a copy of its weights (``set_weights``); the draw,
weights and evaluation views use ``inference_model()``, a model the GUI side owns, built from the
spec that was trained (not the one being edited). ``weights_history`` keeps a bounded record of the
run: at most ``MAX_SNAPSHOTS`` (epoch, weights) pairs, the first and the latest epoch always, the
others evenly spread, so memory stays flat however long a run trains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.core import tf_loader
from workbench.core.spec import ModelSpec
from workbench.ui.document import Document

MAX_SNAPSHOTS = 21
_EXTERNAL = "external model"


def thin_history(history: list[tuple[int, Any]], limit: int = MAX_SNAPSHOTS
                 ) -> list[tuple[int, Any]]:
    """At most ``limit`` entries of ``history`` (sorted by epoch): the latest, and before it the
    epochs on the finest power-of-two grid from the first epoch that fits. Fed one epoch at a time,
    every grid epoch is still there (a coarser grid is a subset of a finer one): evenly spread."""
    if len(history) <= limit:
        return history
    first, last = history[0][0], history[-1][0]
    stride = 1
    while -(-(last - first) // stride) > limit - 1:  # grid epochs in [first, last)
        stride *= 2
    kept = [item for item in history[:-1] if (item[0] - first) % stride == 0]
    return [*kept, history[-1]]


class TrainedModel(QObject):
    weights_updated = pyqtSignal(int)  # new weights, of this epoch (0-based)

    def __init__(self, document: Document, parent: QObject | None = None):
        super().__init__(parent)
        self.document = document
        self.weights: list | None = None
        self.weights_epoch = -1
        self.weights_run: int | None = None  # the run (id) the weights come from, if known
        self.partial_epoch: int | None = None  # the epoch a stop broke off (its snapshot is last)
        # (epoch, weights) of the last run, bounded (see thin_history).
        self.weights_history: list[tuple[int, list]] = []
        self._trained_spec: dict | None = None  # the spec those weights belong to
        self._inference = None
        self._inference_spec: dict | None = None
        self._inference_epoch: tuple | None = None
        # The inference model a run's worker built for its spec, until its weights arrive.
        self._prepared: tuple[dict, Any] | None = None
        self._inference_warmers: list[Callable] = []
        document.project_replaced.connect(self.clear)

    def clear(self) -> None:
        self.weights, self.weights_epoch, self.weights_history = None, -1, []
        self.weights_run = self.partial_epoch = None
        self._inference, self._inference_spec, self._trained_spec = None, None, None
        self._prepared = None

    def set_weights(self, epoch: int, weights: list, spec: dict | None = None,
                    run: int | None = None, partial: bool = False) -> None:
        """Called on the GUI thread with a copy of the worker's weights after each epoch
        (``epoch`` counts from 0; ``run``: the id of the run they come from, if any; ``partial``:
        reached inside ``epoch`` when a stop broke it off)."""
        if epoch == 0 or epoch < self.weights_epoch or run != self.weights_run:
            self.weights_history = []
        self.weights, self.weights_epoch, self.weights_run = weights, epoch, run
        self.partial_epoch = epoch if partial else None
        self.weights_history = thin_history([*self.weights_history, (epoch, weights)])
        self._trained_spec = spec or self.document.spec.to_dict()
        self.weights_updated.emit(epoch)

    # Questions views ask -------------------------------------------------------------------------

    @property
    def trained_spec(self) -> dict | None:
        """The model spec (as a dict) the current weights belong to; None for an external model."""
        spec = self._trained_spec
        return None if spec is None or _EXTERNAL in spec else spec

    @property
    def is_external(self) -> bool:
        """True when the weights are those of a model opened from a file (no spec of ours)."""
        return self._trained_spec is not None and _EXTERNAL in self._trained_spec

    @property
    def architecture_key(self) -> str:
        """Changes exactly when the architecture of the trained model changes."""
        return str(self._trained_spec)

    # Inference model -----------------------------------------------------------------------------

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
        spec = self._trained_spec or self.document.spec.to_dict()
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
        self._trained_spec = self._inference_spec = {_EXTERNAL: id(model)}
        self.weights = [w.copy() for w in model.get_weights()]
        self.weights_epoch = 0
        self.weights_run = None
        self._inference_epoch = (0, id(self.weights))
        self.weights_history = [(0, self.weights)]
        self.weights_updated.emit(0)
