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
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PyQt5 import sip
from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from workbench.engine.client import Call, EngineError
from workbench.engine.protocol import Message
from workbench.i18n import N_, _


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
            from workbench.engine.lifecycle import WINDOW_NICENESS, EngineProcess

            self.engine = EngineProcess(on_state=self._on_state, niceness=WINDOW_NICENESS)
            self.engine.start()
        else:
            self.engine = engine
            if hasattr(engine, "on_state") and engine.on_state is None:
                engine.on_state = self._on_state
            self.state = getattr(engine, "state", "ready")
            self.detail = getattr(engine, "detail", "")

    @property
    def where(self) -> str:
        """``local`` (spawned, or in this process) or ``remote`` (Engine ▸ Connect)."""
        return getattr(self.engine, "where", "local")

    @property
    def device(self) -> dict | None:
        """``{"kind", "name", "count"}`` once the engine has said, else None."""
        return getattr(self.engine, "device", None)

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


# Requests followed across a dropped link (a remote engine's): the engine is asked where they
# are (``result``) once the link is back, and after QUIET_S without a word of them (a link that
# dropped and came back within LOST_S loses what was sent meanwhile, unnoticed).
FOLLOWED = ("train",)
QUIET_S = 10.0
GONE = N_("the engine no longer knows this run (it was restarted, or the run failed while the "
          "link was down)")


@dataclass
class _Ask:
    name: str
    done: Callable | None
    on_event: Callable | None
    epochs: set = field(default_factory=set)  # a followed run's epochs heard
    heard: float = field(default_factory=time.monotonic)
    checked: bool = False  # its reply came with epochs unheard: the engine was asked for them


class EngineLink(QObject):
    """``submit`` a request; its events and reply come back as signals on the GUI thread.

    ``use_host`` moves the link to another engine (Engine ▸ Connect, Use the local engine): to
    whoever listens it looks like the engine restarting (``state_changed("restarting", why)``,
    then the new engine's state, ``ready`` once it serves), so the views send their model again,
    the model is inspected again and the device list refilled, with no new wiring. A remote
    engine's run is followed across a dropped link (``FOLLOWED``): when the link is back, the
    epochs it missed reach the run's ``on_event`` as ``epoch_end`` events (``missed: true``),
    and its reply, if it ended meanwhile, its ``done``."""

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
        self._asks: dict[str, _Ask] = {}
        self._quiet = QTimer(self, interval=2000)
        self._quiet.timeout.connect(self._check_quiet)
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

    def use_host(self, host: EngineHost, why: str = "") -> None:
        """Work with ``host``'s engine from now on (requests in flight to the one before still
        get their answers, or its closing line)."""
        if host is self.host:
            return
        self.host.forget(self._listener)
        self.host = host
        host.listen(self._listener)
        self.state_changed.emit("restarting", why or _("switching engines"))  # not translated
        self.state_changed.emit(host.state, host.detail)

    @property
    def where(self) -> str:
        return self.host.where

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
            self._asks[request] = _Ask(name, done, on_event)
            if name in FOLLOWED and not self._quiet.isActive():
                self._quiet.start()
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
                                     "" if message.ok else (message.error or _("failed")))

    # The GUI thread ------------------------------------------------------------------------------

    def _route_event(self, request: str, name: str, body) -> None:
        ask = self._asks.get(request)
        if ask is None:
            return
        ask.heard = time.monotonic()
        if name == "epoch_end" and ask.name in FOLLOWED:
            if body.get("epoch") in ask.epochs:
                return  # given already, as missed
            ask.epochs.add(body.get("epoch"))
        if ask.on_event is not None:
            ask.on_event(name, body)

    def _route_reply(self, request: str, _name: str, body, error: str) -> None:
        ask = self._asks.pop(request, None)
        if ask is None:
            return
        if (ask.name in FOLLOWED and not error and not ask.checked
                and len(ask.epochs) < int(body.get("epochs_completed") or 0)):
            # An epoch's end was lost on a link that dropped and came back unnoticed: its
            # logs first (the engine keeps them with the reply), then the reply.
            ask.checked = True
            self._asks[request] = ask
            self.ask("result", {"request": request},
                     lambda answer, why: self._on_last_result(request, body, answer, why))
            return
        if ask.done is not None:
            ask.done(None if error else body, error)

    def _on_last_result(self, request: str, reply: dict, body: dict | None, error: str) -> None:
        if not error:  # else the reply alone: its record holds every epoch anyway
            for epoch in body.get("epochs") or []:
                self._route_event(request, "epoch_end", {**epoch, "missed": True})
        self._route_reply(request, "train", reply, "")

    # A run followed across a dropped link ------------------------------------------------------

    def reattach(self) -> int:
        """Ask the engine where each followed run is (Engine ▸ Reattach; and by itself when a
        lost link is back): the epochs missed and, if it ended, its reply. Returns how many."""
        followed = [request for request, ask in self._asks.items() if ask.name in FOLLOWED]
        for request in followed:
            self._asks[request].heard = time.monotonic()
            self.ask("result", {"request": request},
                     lambda body, error, r=request: self._on_result(r, body, error))
        return len(followed)

    def _on_result(self, request: str, body: dict | None, error: str) -> None:
        ask = self._asks.get(request)
        if ask is None or error:
            return  # answered meanwhile; or the link is down again (asked again once back)
        for epoch in body.get("epochs") or []:
            self._route_event(request, "epoch_end", {**epoch, "missed": True})
        if body.get("reply") is not None:
            ask.checked = True  # its epochs came just now
            self._route_reply(request, "train", body["reply"], "")
        elif not body.get("running"):
            self._route_reply(request, "train", None, _(GONE))

    def _check_quiet(self) -> None:
        followed = [ask for ask in self._asks.values() if ask.name in FOLLOWED]
        if not followed:
            self._quiet.stop()
        elif (self.where == "remote" and self.state == "ready"
              and any(time.monotonic() - ask.heard > QUIET_S for ask in followed)):
            self.reattach()

    def _announce_ready(self) -> None:
        if self.state == "ready":
            self.ready.emit()

    def _on_state_changed(self, state: str, detail: str) -> None:
        back = self.state == "lost" and state == "ready"
        self.state, self.detail = state, detail
        if back:
            self.reattach()
        if state == "ready":
            self.ready.emit()
        elif state == "failed":
            self.failed.emit(detail)


__all__ = ["EngineError", "EngineHost", "EngineLink", "close_shared", "set_shared_engine",
           "shared_host"]
