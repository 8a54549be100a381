"""The document's inspections asked of the engine: each edit's spec goes out tagged with its
generation; Keras's answer (shapes, parameters, errors) comes back as a Qt signal and is handed
to the document as its own inspection task would hand it. An answer a newer edit superseded is
dropped (the engine stops working on it at its next layer). Never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt5.QtCore import QObject

from workbench.core.spec import ModelSpec
from workbench.engine.client import EngineError
from workbench.engine.plain import inspection_from_dict
from workbench.ui.engine_link import EngineLink


class EngineInspection(QObject):
    def __init__(self, link: EngineLink, on_answer: Callable[[tuple], None],
                 parent: QObject | None = None):
        """``on_answer((generation, ModelInspection | None, failure))`` on the GUI thread."""
        super().__init__(parent)
        self.link, self._on_answer = link, on_answer
        self._asked: dict[str, int] = {}  # request id -> the generation it asks about
        self._unsent: tuple[int, ModelSpec] | None = None  # asked while the engine was down
        link.reply_received.connect(self._on_reply)
        link.state_changed.connect(self._on_engine_state_changed)

    def ask(self, generation: int, spec: ModelSpec) -> None:
        try:
            request = self.link.submit("inspect", {"spec": spec.to_dict(),
                                                   "generation": generation})
        except EngineError:
            self._unsent = (generation, spec)  # "checking…" until the engine is back
            return
        self._unsent = None
        self._asked[request] = generation

    def _on_reply(self, request: str, _name: str, body, error: str) -> None:
        generation = self._asked.pop(request, None)
        if generation is None or (not error and body.get("superseded")):
            return
        if error:
            self._on_answer((generation, None, f"Checking failed: {error}"))
        else:
            self._on_answer((generation, inspection_from_dict(body["inspection"]), ""))

    def _on_engine_state_changed(self, state: str, _detail: str) -> None:
        if state == "ready" and self._unsent is not None:
            self.ask(*self._unsent)
