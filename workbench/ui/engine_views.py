"""The views' model kept in the engine: Draw's probabilities come from there.

``EngineViews`` mirrors the trained architecture and each epoch's weights into the engine under
one handle of its own, without waiting (the engine's views lane serves them in order, so a
``set_weights`` sent right after a ``load_model`` finds the model), and asks it for one digit's
output. After the engine restarts it loads the model again from what it last sent. Never imports
TensorFlow: the engine builds and runs the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt5.QtCore import QObject

from workbench.engine.client import Call, EngineError
from workbench.engine.protocol import new_id
from workbench.ui.engine_link import EngineLink

PREDICT_TIMEOUT_S = 30.0  # a first answer may wait for the model's build and trace


class EngineViews(QObject):
    def __init__(self, link: EngineLink, parent: QObject | None = None):
        super().__init__(parent)
        self.link = link
        self.handle = f"views-{new_id()}"
        self._key: Any = None
        self._source: tuple | None = None
        self._weights: list | None = None
        self._load: Call | None = None
        self._stale = False  # the engine may lack what was last sent (it restarted, or was down)
        link.state_changed.connect(self._on_engine_state_changed)

    @property
    def loaded(self) -> bool:
        return self._source is not None

    def load(self, key: Any, source: tuple, weights: list | None) -> None:
        """The model of ``source`` (``("spec", dict)`` or ``("plain", config)``), identified by
        ``key``, holding ``weights``; the same ``key`` again only sends the new weights."""
        if key == self._key and self._source is not None and weights is not None:
            self._weights = weights
            self._send("set_weights", {"handle": self.handle,
                                       "weights": [np.asarray(w) for w in weights]})
            return
        self._key, self._source, self._weights = key, source, weights
        self._send_load()

    def clear(self) -> None:
        if self._source is not None:
            self._send("release", {"handle": self.handle})
        self._key = self._source = self._weights = self._load = None

    def predict(self, digit28: np.ndarray) -> np.ndarray | None:
        """The model's raw output for one preprocessed digit (None: no model). ValueError with
        the engine's one line when it cannot answer (the model does not take the digit, or does
        not build, or the engine stopped)."""
        if self._source is None:
            return None
        try:
            reply = self.link.request("predict", {
                "handle": self.handle, "digit": np.asarray(digit28, dtype=np.float32)},
                timeout=PREDICT_TIMEOUT_S)
        except (EngineError, TimeoutError) as exc:
            load = self._load
            if load is not None and load.done and not load.reply.ok:
                raise ValueError(load.reply.error) from None  # the model itself failed to build
            if "holds no model" in str(exc):
                self._send_load()  # an engine that restarted meanwhile: the next digit works
            raise ValueError(str(exc)) from None
        return reply["output"]

    def ask(self, name: str, body: dict[str, Any], done, on_event=None) -> bool:
        """Ask the engine ``name`` about this model (``body`` gets its ``handle``) without
        waiting; ``done(reply, error)`` on the GUI thread. False (nothing sent) with no model."""
        if self._source is None:
            return False
        self.link.ask(name, {**body, "handle": self.handle}, done, on_event)
        return True

    def _send_load(self) -> None:
        kind, data = self._source
        body: dict[str, Any] = {"handle": self.handle, kind: data}
        if self._weights is not None:
            body["weights"] = [np.asarray(w) for w in self._weights]
        self._load = self._send("load_model", body)

    def _send(self, name: str, body: dict) -> Call | None:
        try:
            return self.link.call(name, body)
        except EngineError:
            self._stale = True  # no engine now: sent again when it is back
            return None

    def _on_engine_state_changed(self, state: str, _detail: str) -> None:
        if state in ("restarting", "failed"):
            self._stale = True
        elif state == "ready" and self._stale:
            self._stale = False
            if self._source is not None:
                self._send_load()
