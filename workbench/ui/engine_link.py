"""The window's end of the engine: requests out, and replies, events and the engine's state back
as Qt signals.

The app has one engine (``EngineHost``): spawned once, as the first window is made, so that
TensorFlow's import (in the engine's process) overlaps the window's first paint; or given (the
tests' in-process engine, a remote one). Every ``EngineLink`` (one per project state) submits to
it and hears its state. The client's one receiver thread (``engine.client``) gets every message;
its callbacks emit the link's signals, which Qt queues to the GUI thread (the link lives there):
no polling, and the GUI thread never reads a socket. Never imports TensorFlow.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PyQt5 import sip
from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from workbench.engine.client import Call, EngineError
from workbench.engine.protocol import Message


class EngineHost:
    """The app's engine and its state, fanned out to every link (from the engine's watcher
    thread: listeners must only emit queued signals)."""

    def __init__(self, engine=None):
        """``engine``: an ``InProcessEngine``, a started ``EngineProcess`` or a remote engine;
        None spawns one (``EngineProcess``)."""
        self._listeners: list[Callable[[str, str], None]] = []
        self._lock = threading.Lock()
        self.state, self.detail = "starting", ""
        if engine is None:
            from workbench.engine.lifecycle import EngineProcess

            self.engine = EngineProcess(on_state=self._on_state)
            self.engine.start()
        else:
            self.engine = engine
            self.state = getattr(engine, "state", "ready")
            if hasattr(engine, "on_state") and engine.on_state is None:
                engine.on_state = self._on_state

    def listen(self, listener: Callable[[str, str], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def forget(self, listener: Callable[[str, str], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _on_state(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(state, detail)

    def close(self) -> None:
        self.engine.close()


_shared: EngineHost | None = None
_shared_lock = threading.Lock()


def shared_host() -> EngineHost:
    """The app's engine, spawned on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = EngineHost()
            atexit.register(close_shared)
        return _shared


def set_shared_engine(engine) -> EngineHost:
    """Use ``engine`` (an in-process engine in tests, a remote one) as the app's engine from now
    on; the one used before is not closed (its owner closes it)."""
    global _shared
    with _shared_lock:
        _shared = EngineHost(engine)
        return _shared


def close_shared() -> None:
    """End the app's engine (quitting): its jobs are cancelled, its process exits."""
    global _shared
    with _shared_lock:
        host, _shared = _shared, None
    if host is not None:
        host.close()


class EngineLink(QObject):
    """``submit`` a request; its events and reply come back as signals on the GUI thread."""

    event_received = pyqtSignal(str, str, object)  # request id, event name, body
    reply_received = pyqtSignal(str, str, object, str)  # request id, name, body, error ("": ok)
    state_changed = pyqtSignal(str, str)  # starting|ready|restarting|failed|stopped, detail
    ready = pyqtSignal()  # the engine can serve (first time, and again after a restart)
    failed = pyqtSignal(str)  # the engine stopped for good: why, in one line

    def __init__(self, engine=None, parent: QObject | None = None):
        """``engine``: an ``EngineHost``, or an engine to host (``InProcessEngine``, a started
        ``EngineProcess``); None: the app's shared engine (spawned on first use)."""
        super().__init__(parent)
        if isinstance(engine, EngineHost):
            self.host = engine
        else:
            self.host = shared_host() if engine is None else EngineHost(engine)
        self.state, self.detail = self.host.state, self.host.detail
        self.state_changed.connect(self._on_state_changed)
        self._asks: dict[str, tuple[Callable | None, Callable | None]] = {}
        self.event_received.connect(self._route_event)
        self.reply_received.connect(self._route_reply)
        ref = weakref.ref(self)

        def listener(state: str, detail: str) -> None:
            link = ref()
            if link is not None and not sip.isdeleted(link):
                link.state_changed.emit(state, detail)

        self._listener = listener
        self.host.listen(listener)
        self.destroyed.connect(lambda *_: self.host.forget(listener))
        if self.state == "ready":
            QTimer.singleShot(0, self._announce_ready)  # for whoever connects after this

    @property
    def engine(self):
        return self.host.engine

    @property
    def loaded(self) -> bool:
        """True while the engine can serve requests (it has started and imported TensorFlow)."""
        return self.state == "ready"

    def submit(self, name: str, body: dict[str, Any] | None = None) -> str:
        """Send ``name``; returns its request id, which its events and reply carry."""
        call = self.engine.submit(name, body, on_event=self._emit_event,
                                  on_reply=self._emit_reply)
        return call.id

    def ask(self, name: str, body: dict[str, Any] | None = None,
            done: Callable[[dict | None, str], None] | None = None,
            on_event: Callable[[str, Any], None] | None = None) -> str | None:
        """Send ``name`` without waiting: ``on_event(event, body)`` for each of its events and
        then ``done(reply_body, "")`` or ``done(None, error_line)`` run on the GUI thread. Returns
        the request id; None when the engine cannot take it now (``done`` hears why, queued)."""
        try:
            request = self.submit(name, body)
        except EngineError as exc:
            why = str(exc)
            if done is not None:
                QTimer.singleShot(0, lambda: done(None, why))
            return None
        if done is not None or on_event is not None:
            self._asks[request] = (done, on_event)
        return request

    def forget_ask(self, request: str | None) -> None:
        """Drop the callbacks of ``request`` (its asker has gone, or no longer cares)."""
        self._asks.pop(request, None)

    def call(self, name: str, body: dict[str, Any] | None = None) -> Call:
        """Send ``name`` without signals (a caller that waits for it: ``call.result(timeout)``)."""
        return self.engine.submit(name, body)

    def request(self, name: str, body: dict[str, Any] | None = None,
                timeout: float | None = 60.0) -> dict[str, Any]:
        """Wait for the reply (EngineError, TimeoutError): only for answers of a few ms."""
        return self.engine.request(name, body, timeout=timeout)

    def close(self) -> None:
        """Stop hearing the engine (it goes on serving the app's other windows)."""
        self.host.forget(self._listener)

    # The receiver thread -------------------------------------------------------------------------

    def _emit_event(self, message: Message) -> None:
        if not sip.isdeleted(self):
            self.event_received.emit(message.id, message.name, message.body)

    def _emit_reply(self, message: Message) -> None:
        if not sip.isdeleted(self):
            self.reply_received.emit(message.id, message.name, message.body,
                                     "" if message.ok else (message.error or "failed"))

    # The GUI thread ------------------------------------------------------------------------------

    def _route_event(self, request: str, name: str, body) -> None:
        callbacks = self._asks.get(request)
        if callbacks is not None and callbacks[1] is not None:
            callbacks[1](name, body)

    def _route_reply(self, request: str, _name: str, body, error: str) -> None:
        callbacks = self._asks.pop(request, None)
        if callbacks is not None and callbacks[0] is not None:
            callbacks[0](None if error else body, error)

    def _announce_ready(self) -> None:
        if self.state == "ready":
            self.ready.emit()

    def _on_state_changed(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
        if state == "ready":
            self.ready.emit()
        elif state == "failed":
            self.failed.emit(detail)


__all__ = ["EngineError", "EngineHost", "EngineLink", "close_shared", "set_shared_engine",
           "shared_host"]
