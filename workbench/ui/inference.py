"""The trained weights of the open project, and the views' model in the engine that holds them.

After each epoch the run sends a copy of its weights (``set_weights``); they are mirrored into the
engine's views model (``engine_views.EngineViews``: the spec that was trained, not the one being
edited, or an opened model's plain config, under a handle), which the Draw, Evaluation and Weights
views ask about (``ask``, ``predict_digit``): the window's process never builds or holds a Keras
model. ``weights_history`` keeps a bounded record of the run: at most ``MAX_SNAPSHOTS`` (epoch,
weights) pairs, the first and the latest epoch always, the others evenly spread, so memory stays
flat however long a run trains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, pyqtSignal

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
        self._initial: tuple[int | None, list | None, int] = (None, None, -1)  # see below
        self.engine_views = None  # the engine's views model (EngineViews): Draw asks it
        document.project_replaced.connect(self.clear)

    def attach_engine(self, link) -> None:
        """The views' model lives in the engine behind ``link`` (an EngineLink) from now on."""
        from workbench.ui.engine_views import EngineViews

        if self.engine_views is not None:
            self.engine_views.clear()
            self.engine_views.deleteLater()
        self.engine_views = EngineViews(link, self)
        if self._trained_spec is not None:
            self._load_views_model()

    def clear(self) -> None:
        self.weights, self.weights_epoch, self.weights_history = None, -1, []
        self.weights_run = self.partial_epoch = None
        self._trained_spec = None
        self._initial = (None, None, -1)
        if self.engine_views is not None:
            self.engine_views.clear()

    def set_initial_weights(self, weights: list, run: int | None, epoch: int = -1) -> None:
        """The weights run ``run`` starts from (before its first batch): kept aside, with no
        signal (views wake at the first epoch, not at a run's start), and put first in the run's
        history when its first epoch's weights arrive: the slider's "initial weights", or for a
        continued run those after ``epoch``, the last it goes on from."""
        self._initial = (run, weights, epoch)

    def set_weights(self, epoch: int, weights: list, spec: dict | None = None,
                    run: int | None = None, partial: bool = False) -> None:
        """Called on the GUI thread with a copy of the worker's weights after each epoch
        (``epoch`` counts from 0; ``run``: the id of the run they come from, if any; ``partial``:
        reached inside ``epoch`` when a stop broke it off)."""
        if epoch == 0 or epoch < self.weights_epoch or run != self.weights_run:
            initial_run, initial, before = self._initial
            self.weights_history = [(before, initial)] if initial_run == run and initial else []
            self._initial = (None, None, -1)
        self.weights, self.weights_epoch, self.weights_run = weights, epoch, run
        self.partial_epoch = epoch if partial else None
        self.weights_history = thin_history([*self.weights_history, (epoch, weights)])
        self._trained_spec = spec or self.document.spec.to_dict()
        self._load_views_model()
        self.weights_updated.emit(epoch)

    def _load_views_model(self) -> None:
        spec = self._trained_spec
        source = ("plain", spec[_EXTERNAL]) if _EXTERNAL in spec else ("spec", spec)
        if self.engine_views is not None:
            self.engine_views.load(str(spec), source, self.weights)

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

    # The views' model (in the engine) ----------------------------------------------------------

    @property
    def external_plain(self) -> dict | None:
        """The plain config of a model opened from a file (None for a model of ours)."""
        return self._trained_spec[_EXTERNAL] if self.is_external else None

    @property
    def has_model(self) -> bool:
        return self.weights is not None

    @property
    def can_predict(self) -> bool:
        """Draw can ask the engine for a digit's answer: there are trained weights."""
        return self.weights is not None and self.engine_views is not None

    def predict_digit(self, digit28) -> Any:
        """The model's raw output for one preprocessed digit, from the engine (None: no trained
        model; ValueError with the engine's line when it cannot answer)."""
        if self.engine_views is None:
            return None
        return self.engine_views.predict(digit28)

    def ask(self, name: str, body: dict, done: Callable[[dict | None, str], None],
            on_event: Callable | None = None) -> bool:
        """Ask the engine's views model (the trained model, holding the latest weights)
        ``name`` (``explain``, ``activations``, ...) without waiting: ``done(reply, error)`` runs
        on the GUI thread. False (nothing asked) when there are no trained weights."""
        if self.weights is None or self.engine_views is None:
            return False
        return self.engine_views.ask(name, body, done, on_event)

    def set_trained_model(self, plain: dict, weights: list) -> None:
        """Take a model opened from a file (an opened .keras) as the trained model: its Keras
        plain config and weights, as the engine read them (``open_model``)."""
        self._trained_spec = {_EXTERNAL: plain}
        self.weights = list(weights)
        self.weights_epoch = 0
        self.weights_run = None
        self._load_views_model()
        self.weights_history = [(0, self.weights)]
        self.weights_updated.emit(0)

    def model_body(self) -> dict:
        """The trained model as an engine request gives it: ``spec`` (ours) or ``plain`` (a
        model opened from a file) and ``weights``."""
        source = ({"plain": self._trained_spec[_EXTERNAL]} if self.is_external
                  else {"spec": self._trained_spec})
        return {**source, "weights": [np.asarray(w) for w in self.weights]}
