"""The window's end of the engine: requests out, and replies, events and the engine's state back
as Qt signals.

The client's one receiver thread (``engine.client``) gets every message; its callbacks emit these
signals, which Qt queues to the GUI thread (this object lives there): no polling, and the GUI
thread never reads a socket. Never imports TensorFlow (the engine holds it).
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QObject, pyqtSignal

from workbench.engine.client import Call, EngineError
from workbench.engine.protocol import Message


class EngineLink(QObject):
    """``submit`` a request; its events and reply come back as signals on the GUI thread."""

    event_received = pyqtSignal(str, str, object)  # request id, event name, body
    reply_received = pyqtSignal(str, str, object, str)  # request id, name, body, error ("": ok)
    state_changed = pyqtSignal(str, str)  # starting|ready|restarting|failed|stopped, detail

    def __init__(self, engine=None, parent: QObject | None = None):
        """``engine``: an ``InProcessEngine`` or a started ``EngineProcess``; None spawns one."""
        super().__init__(parent)
        if engine is None:
            from workbench.engine.lifecycle import EngineProcess

            engine = EngineProcess(on_state=self.state_changed.emit).start()
        self.engine = engine
        self.state, self.detail = getattr(engine, "state", "starting"), ""
        self.state_changed.connect(self._on_state_changed)

    def submit(self, name: str, body: dict[str, Any] | None = None) -> str:
        """Send ``name``; returns its request id, which its events and reply carry."""
        call = self.engine.submit(name, body, on_event=self._emit_event,
                                  on_reply=self._emit_reply)
        return call.id

    def call(self, name: str, body: dict[str, Any] | None = None) -> Call:
        """Send ``name`` without signals (a caller that waits for it: ``call.result(timeout)``)."""
        return self.engine.submit(name, body)

    def request(self, name: str, body: dict[str, Any] | None = None,
                timeout: float | None = 60.0) -> dict[str, Any]:
        """Wait for the reply (EngineError, TimeoutError): only for answers of a few ms."""
        return self.engine.request(name, body, timeout=timeout)

    def close(self) -> None:
        self.engine.close()

    # The receiver thread -------------------------------------------------------------------------

    def _emit_event(self, message: Message) -> None:
        self.event_received.emit(message.id, message.name, message.body)

    def _emit_reply(self, message: Message) -> None:
        self.reply_received.emit(message.id, message.name, message.body,
                                 "" if message.ok else (message.error or "failed"))

    def _on_state_changed(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail


__all__ = ["EngineError", "EngineLink"]
