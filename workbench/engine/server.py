"""The engine's server: one ROUTER socket, typed requests dispatched to handlers on lanes.

The I/O thread (``serve``) owns the socket: it checks and decodes every message, answers
heartbeats, runs the quick handlers itself (``ping``, ``stop``) and queues the others on their
lane, a worker thread of the engine's own: ``jobs`` (training), ``views`` (the views' models:
Draw's predictions and the other views' quick questions), ``inspect`` (the builder's per-edit
inspection), ``evaluate`` (the Evaluation tab's report after each epoch), ``compute`` (the views'
slow work: the feature space, class pictures, a t-SNE) and ``files`` (opening model files, saving,
exports), so a prediction never waits for an epoch, an export or a t-SNE. Workers hand their
replies and events back through an outbox the I/O thread sends from (a zmq socket is used by one
thread only). A refused message is logged and nothing runs; a handler that raises is one error
reply, and the engine goes on.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

from workbench import i18n
from workbench.engine.protocol import Message, ProtocolError, Signer, decode, encode
from workbench.i18n import _

log = logging.getLogger("workbench.engine")

INLINE = "io"  # the lane of handlers the I/O thread runs itself: quick, never TensorFlow
LANES = ("jobs", "views", "inspect", "compute", "files", "evaluate")
DEFERRED = object()  # a handler's answer meaning: it replies later itself (``Call.reply``)
# Errors whose text is already one sentence for the user (the input does not fit): no traceback.
USER_ERRORS = ("ActionError", "TrainingError", "SpecError", "DatasetError", "EngineRequestError",
               "FileRefused", "DataCacheError", "WatchRefused")


@dataclass
class Handler:
    """``fn`` runs on ``lane``; ``admit``, if given, first on the I/O thread as the request
    arrives: it raises to refuse the request at once (e.g. a run while another client's runs)."""

    fn: Callable[[Call], dict | None]
    lane: str = "jobs"
    admit: Callable[[Call], None] | None = None


class Call:
    """One request being served: its ``body``, and ``emit`` to stream events to the caller."""

    def __init__(self, server: Server, identity: bytes, message: Message):
        self.server, self.identity, self.message = server, identity, message
        self.lane: _Lane | None = None

    @property
    def superseded(self) -> bool:
        """True once the same client has queued a newer request of the same name on this lane
        (a newer edit's inspection: this one's answer would be dropped)."""
        lane = self.lane
        return lane is not None and lane.latest.get((self.identity, self.message.name)) != self.id

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def body(self) -> dict[str, Any]:
        return self.message.body

    def emit(self, name: str, body: dict[str, Any] | None = None) -> None:
        self.server.send(self.identity, Message("event", self.id, name, body or {}))

    def reply(self, body: dict[str, Any] | None = None, error: str = "") -> None:
        """The reply of a handler that returned ``DEFERRED`` (it answers later: ``watch``)."""
        self.server.send(self.identity, Message("reply", self.id, self.message.name,
                                                body or {}, ok=not error, error=error))


class Server:
    """Serves ``handlers`` (name -> Handler) on a ROUTER socket bound to ``address``.

    ``parent_timeout``: stop when no message (heartbeats included) came for that many seconds
    (the window that spawned the engine is gone or hung). ``stop()`` from any thread ends
    ``serve``; the lanes finish the job in hand first only as far as ``close`` waits."""

    def __init__(self, key: bytes, handlers: dict[str, Handler], address: str = "tcp://127.0.0.1:*",
                 context: zmq.Context | None = None, parent_timeout: float | None = None):
        self.signer = Signer(key)
        self.handlers = handlers
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 500)
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)  # a client back after a lost link
        self.socket.bind(address)
        self.address = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.parent_timeout = parent_timeout
        self.refused = 0  # messages refused (wrong signature, bad buffers, ...), for tests
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stopping = threading.Event()
        self._lanes = {name: _Lane(name, self) for name in LANES}
        self._last_heard = time.monotonic()
        self.on_close: list[Callable[[], None]] = []  # e.g. cancel the run in hand

    # --- any thread --------------------------------------------------------------------------

    def send(self, identity: bytes, message: Message) -> None:
        """Queue ``message`` for ``identity``; the I/O thread sends it."""
        self._outbox.put((identity, message))
        self._wake()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):  # full: it is awake anyway; closed: stopping
            pass

    # --- the I/O thread ----------------------------------------------------------------------

    def serve(self) -> None:
        """Receive, dispatch and send until ``stop()`` (or the parent's silence)."""
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        self._last_heard = time.monotonic()
        try:
            while not self._stopping.is_set():
                ready = dict(poller.poll(500))
                if self._wake_r in ready:
                    _drain(self._wake_r)
                self._flush()
                if self.socket in ready:
                    self._receive_all()
                if (self.parent_timeout is not None
                        and time.monotonic() - self._last_heard > self.parent_timeout):
                    log.warning("no message from the window for %.0f s: stopping",
                                self.parent_timeout)
                    self._stopping.set()
            self._flush()
        finally:
            self.close()

    def close(self) -> None:
        self._stopping.set()
        for hook in self.on_close:
            hook()
        self.on_close = []
        for lane in self._lanes.values():
            lane.close()
        if not self.socket.closed:
            self.socket.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def _flush(self) -> None:
        while True:
            try:
                identity, message = self._outbox.get_nowait()
            except queue.Empty:
                return
            try:
                frames = encode(message, self.signer)
            except ValueError as exc:  # a handler's body the wire cannot carry: its bug, told
                log.error("cannot send %s %s: %s", message.kind, message.name, exc)
                error = _("the engine could not send its answer: {exc}").format(exc=exc)
                frames = encode(Message("reply", message.id, message.name, ok=False,
                                        error=error), self.signer)
            self.socket.send_multipart([identity, *frames])  # copy=False: pyzmq starts a thread

    def _receive_all(self) -> None:
        while True:  # every pending message: the socket's descriptor is edge-triggered
            try:
                parts = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            identity, frames = parts[0], parts[1:]
            try:
                message = decode(frames, self.signer)
            except ProtocolError as exc:
                self.refused += 1
                log.warning("refused a message: %s", exc)
                if exc.message_id is not None:  # signed by the peer: tell it why
                    self.send(identity, Message("reply", exc.message_id, ok=False,
                                                error=_("message refused: {exc}").format(exc=exc)))
                continue
            self._last_heard = time.monotonic()
            if message.kind == "heartbeat":
                self.send(identity, Message("heartbeat", message.id))
            elif message.kind == "request":
                self._dispatch(identity, message)
            else:
                log.warning("ignored a %s message from a client", message.kind)

    def _dispatch(self, identity: bytes, message: Message) -> None:
        if message.language and message.language != i18n.language():
            i18n.set_language(message.language)  # the window's Help > Language, say
        handler = self.handlers.get(message.name)
        call = Call(self, identity, message)
        if handler is None:
            self.send(identity, Message("reply", message.id, message.name, ok=False,
                                        error=_("the engine has no request {name!r}").format(
                                            name=message.name)))
            return
        try:
            if handler.admit is not None:
                handler.admit(call)
        except Exception as exc:  # noqa: BLE001 - refused: one error reply, nothing runs
            log.info("request %s refused: %s", message.name, exc)
            self.send(identity, Message("reply", message.id, message.name, ok=False,
                                        error=one_line(exc)))
            return
        if handler.lane == INLINE:
            self.run(handler, call)
        else:
            self._lanes[handler.lane].put(handler, call)

    def run(self, handler: Handler, call: Call) -> None:
        """Run one handler and send its reply: its body, or its failure in one line."""
        try:
            body = handler.fn(call)
            if body is DEFERRED:
                return
            reply = Message("reply", call.id, call.message.name, body or {})
        except Exception as exc:  # noqa: BLE001 - one job's failure is one error reply
            if type(exc).__name__ in USER_ERRORS:
                log.info("request %s refused: %s", call.message.name, exc)
            else:
                log.error("request %s failed:\n%s", call.message.name, traceback.format_exc())
            reply = Message("reply", call.id, call.message.name, ok=False, error=one_line(exc))
        self.send(call.identity, reply)


def one_line(exc: BaseException) -> str:
    """An exception as one readable line: our own errors say it already; others name their type."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if type(exc).__name__ not in USER_ERRORS:
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= 500 else text[:497] + "..."


class _Lane:
    """A worker thread of the engine's own, serving its queue of calls in order."""

    def __init__(self, name: str, server: Server):
        self.name, self.server = name, server
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.latest: dict[tuple[bytes, str], str] = {}  # (client, request name) -> newest id

    def put(self, handler: Handler, call: Call) -> None:
        call.lane = self
        self.latest[(call.identity, call.message.name)] = call.id
        with self._lock:
            if self._thread is None:  # started on first use: an idle lane costs no thread
                self._thread = threading.Thread(target=self._loop, name=f"engine-{self.name}",
                                                daemon=True)
                self._thread.start()
        self._queue.put((handler, call))

    def close(self, timeout: float = 2.0) -> None:
        self._queue.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self.server.stopping:
                return
            self.server.run(*item)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, OSError):
        pass
