"""What the window and the CLI hold of an engine: requests out, replies and events back.

``EngineClient`` owns one DEALER socket on one receiver thread of its own (a zmq socket is used
by one thread only): ``submit`` signs and queues a request from any thread and returns its
``Call``; the receiver thread routes each reply and event to its call (a callback, run on that
thread: the Qt link turns it into a signal), sends a heartbeat every ``heartbeat_s`` and notes when
the engine was last heard. ``request`` waits for one reply; ``stream`` yields the events and then
the reply. A refused message (wrong signature, bad buffers) is logged and dropped.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import zmq

from workbench import i18n
from workbench.engine.protocol import Message, ProtocolError, Signer, decode, encode, new_id
from workbench.i18n import _

log = logging.getLogger("workbench.engine.client")


class EngineError(Exception):
    """The engine could not serve a request: its one-line reason, or the engine is gone."""


class Call:
    """One request on its way: its events and, at the end, its reply."""

    def __init__(self, message: Message, on_event: Callable[[Message], None] | None,
                 on_reply: Callable[[Message], None] | None):
        self.id, self.name = message.id, message.name
        self.on_event, self.on_reply = on_event, on_reply
        self.reply: Message | None = None
        self._done = threading.Event()
        self._stream: queue.SimpleQueue | None = None  # events and reply, for ``stream``

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """The reply's body (EngineError: the request failed; TimeoutError: no reply yet)."""
        if not self._done.wait(timeout):
            raise TimeoutError(_("the engine did not answer {name!r} in {timeout:g} s").format(
                                   name=self.name, timeout=timeout))
        if not self.reply.ok:
            raise EngineError(self.reply.error)
        return self.reply.body

    def _deliver(self, message: Message) -> None:
        if self._stream is not None:
            self._stream.put(message)
        if message.kind == "event":
            if self.on_event is not None:
                self.on_event(message)
            return
        self.reply = message
        self._done.set()
        if self.on_reply is not None:
            self.on_reply(message)


class EngineClient:
    """A connection to the engine at ``address`` (signed with ``key``)."""

    def __init__(self, address: str, key: bytes, context: zmq.Context | None = None,
                 heartbeat_s: float = 1.0):
        self.address = address
        self.signer = Signer(key)
        self.heartbeat_s = heartbeat_s
        self.refused = 0
        self.last_heard = time.monotonic()
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        # One identity for this client's life: after a dropped link zmq reconnects under it, and
        # the engine's answers (a run's reply) reach this client again, not a stranger's name.
        self._socket.setsockopt(zmq.IDENTITY, b"wb-" + secrets.token_bytes(12))
        self._socket.connect(address)
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._calls: dict[str, Call] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread = threading.Thread(target=self._loop, name="engine-receiver", daemon=True)
        self._thread.start()

    # --- any thread --------------------------------------------------------------------------

    def submit(self, name: str, body: dict[str, Any] | None = None,
               on_event: Callable[[Message], None] | None = None,
               on_reply: Callable[[Message], None] | None = None) -> Call:
        """Send request ``name``; ``on_event``/``on_reply`` run on the receiver thread."""
        # The engine words its errors in the language this side speaks now.
        message = Message("request", new_id(), name, body or {}, language=i18n.language())
        frames = encode(message, self.signer)  # ValueError here, in the caller, for a bad body
        call = Call(message, on_event, on_reply)
        with self._lock:
            if self._closing.is_set():
                raise EngineError(_("the connection to the engine is closed"))
            self._calls[call.id] = call
        self._outbox.put(frames)
        self._wake()
        return call

    def request(self, name: str, body: dict[str, Any] | None = None,
                timeout: float | None = 60.0) -> dict[str, Any]:
        """The reply body of request ``name`` (EngineError, TimeoutError)."""
        call = self.submit(name, body)
        try:
            return call.result(timeout)
        finally:
            with self._lock:
                self._calls.pop(call.id, None)

    def stream(self, name: str, body: dict[str, Any] | None = None,
               timeout: float | None = None) -> Iterator[Message]:
        """Every event of request ``name`` as it comes, then its reply (EngineError when the
        request failed; TimeoutError when nothing came for ``timeout`` seconds)."""
        # The engine words its errors in the language this side speaks now.
        message = Message("request", new_id(), name, body or {}, language=i18n.language())
        frames = encode(message, self.signer)
        call = Call(message, None, None)
        call._stream = queue.SimpleQueue()
        with self._lock:
            self._calls[call.id] = call
        self._outbox.put(frames)
        self._wake()
        while True:
            try:
                item = call._stream.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(_("the engine sent nothing for {name!r} in "
                                     "{timeout:g} s").format(name=name, timeout=timeout)) \
                    from None
            if item.kind == "reply" and not item.ok:
                raise EngineError(item.error)
            yield item
            if item.kind == "reply":
                return

    def fail_pending(self, reason: str) -> None:
        """Every request still waiting gets ``reason`` as its error reply (the engine died)."""
        with self._lock:
            calls, self._calls = list(self._calls.values()), {}
        for call in calls:
            call._deliver(Message("reply", call.id, call.name, ok=False, error=reason))

    @property
    def silence(self) -> float:
        """Seconds since the engine was last heard (a heartbeat answers every second)."""
        return time.monotonic() - self.last_heard

    def close(self, reason: str | None = None) -> None:
        with self._lock:
            self._closing.set()
        self._wake()
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)
        self.fail_pending(reason or _("the connection to the engine was closed"))

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    # --- the receiver thread -----------------------------------------------------------------

    def _loop(self) -> None:
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        next_beat = time.monotonic()
        try:
            while not self._closing.is_set():
                now = time.monotonic()
                if now >= next_beat:
                    self._socket.send_multipart(encode(Message("heartbeat", new_id()),
                                                       self.signer))
                    next_beat = now + self.heartbeat_s
                ready = dict(poller.poll(max(1, int((next_beat - now) * 1000))))
                if self._wake_r in ready:
                    try:
                        while os.read(self._wake_r, 4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                while True:
                    try:
                        self._socket.send_multipart(self._outbox.get_nowait())
                    except queue.Empty:
                        break
                if self._socket in ready:
                    self._receive_all()
        finally:
            self._socket.close()
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)

    def _receive_all(self) -> None:
        while True:  # every pending message: the descriptor is edge-triggered
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                message = decode(frames, self.signer)
            except ProtocolError as exc:
                self.refused += 1
                log.warning("refused a message from the engine: %s", exc)
                continue
            self.last_heard = time.monotonic()
            if message.kind not in ("reply", "event"):
                continue
            with self._lock:
                call = (self._calls.pop(message.id, None) if message.kind == "reply"
                        else self._calls.get(message.id))
            if call is None:
                continue  # a late answer to a request given up on
            try:
                call._deliver(message)
            except Exception:  # noqa: BLE001 - a callback's bug must not stop the receiver
                log.exception("a callback for %s failed", call.name)
