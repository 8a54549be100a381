"""The run in hand as other clients see it: a second window on the same engine watches it
read-only (``watch``), a window back after a dropped link fetches the epochs it missed
(``result``'s ``epochs``), and a window that connects learns the engine is busy (``ping``'s
``training``).

``RunFeed`` stands between a ``train`` request's listener and its caller: every event goes to the
caller, and (but the weights) to each watcher; the epochs' logs are kept, so a watcher that comes
late, or a caller whose link dropped, gets the epochs so far. Plain values only; no Keras here.
"""

from __future__ import annotations

import threading

from workbench.engine.server import DEFERRED, Call
from workbench.i18n import _

UNWATCHED = ("weights",)  # heavy, and a watcher draws curves only


class WatchRefused(Exception):  # noqa: N818 - reads as what happened to the request
    """No run to watch (one readable line)."""


class RunFeed:
    """The events of one ``train`` request, to its caller and its watchers."""

    def __init__(self, call: Call, title: str, since: str):
        self.call, self.title, self.since = call, title, since
        self.info: dict | None = None
        self.epochs: list[dict] = []  # each ended epoch's {"epoch", "logs"}, in order
        self.watchers: list[Call] = []
        self._lock = threading.Lock()

    def emit(self, name: str, body: dict) -> None:
        with self._lock:  # a watcher added meanwhile gets this event once: in its history or here
            if name == "train_begin":
                self.info = body.get("info")
            elif name == "epoch_end":
                self.epochs.append({"epoch": body.get("epoch"), "logs": body.get("logs")})
            self.call.emit(name, body)
            if name not in UNWATCHED:
                for watcher in self.watchers:
                    watcher.emit(name, body)

    def describe(self) -> dict:
        return {"title": self.title, "since": self.since}

    def add(self, watcher: Call) -> None:
        """``watcher`` hears this run from now on, after a ``watch_begin`` event with the run's
        title, start time, info and the epochs so far."""
        with self._lock:
            watcher.emit("watch_begin", {**self.describe(), "info": self.info,
                                         "epochs": list(self.epochs)})
            self.watchers.append(watcher)

    def remove(self, request: str) -> bool:
        with self._lock:
            kept = [w for w in self.watchers if w.id != request]
            gone = [w for w in self.watchers if w.id == request]
            self.watchers = kept
        for watcher in gone:
            watcher.reply({"status": "unwatched", "epochs": []})
        return bool(gone)

    def end(self, reply: dict | None, error: str = "") -> None:
        """The run ended: each watcher's reply (``status``, ``message``, ``epochs``)."""
        with self._lock:
            watchers, self.watchers = self.watchers, []
        summary = {"status": "failed", "message": error, "epochs": list(self.epochs)}
        if reply is not None:
            summary.update(status=reply.get("status"), message=reply.get("message") or "")
        for watcher in watchers:
            watcher.reply(summary)


def feed_of(state) -> RunFeed | None:
    running = state.training
    return running.get("feed") if running is not None else None


def training(state) -> dict | None:
    """``{"title", "since"}`` of the run in hand, None when the engine is idle."""
    with state._lock:
        feed = feed_of(state)
        return feed.describe() if feed is not None else None


def watch(state, call: Call):
    """Stream the run in hand to this client, read-only, until it ends (its reply then). Refused
    when no run is in hand, or when the run is the caller's own."""
    with state._lock:
        running, feed = state.training, feed_of(state)
    if feed is None:
        raise WatchRefused(_("the engine is not training: there is no run to watch"))
    if running["client"] == call.identity:
        raise WatchRefused(_("this run is this window's own: its curves are on the Training "
                             "tab"))
    feed.add(call)
    return DEFERRED


def unwatch(state, call: Call) -> dict:
    """Stop the ``watch`` request ``body["request"]`` (its reply: ``status`` "unwatched")."""
    with state._lock:
        feed = feed_of(state)
    return {"found": feed is not None and feed.remove(call.body.get("request"))}
