"""The views' Keras model, owned by one long-lived task: the Draw, Weights and export views ask it.

The model is built (from a spec, or from the plain config of a model opened from a file), loaded
with copies of the trained weights, traced and run on the task's thread only; nothing Keras-mutable
crosses threads. ``load`` is asynchronous (the GUI thread never builds a model); ``call(fn, *args)``
runs ``fn(model, *args)`` there and returns its (numpy, plain) result to the caller, after every
load sent before it. The task ends after ``IDLE_EXIT_S`` without requests (its model with it) and is
started again, with the last load, when asked again; without a ``prepare`` (a run) or a ``call``
no model is built at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject

from workbench.ui.tasks import Cancelled, Task, TaskRunner

IDLE_EXIT_S = 30.0
THREAD_NAME = "views-model"


class _Reply:
    def __init__(self, done: Callable | None = None) -> None:
        self.ready = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = done  # called on the model's thread with (value, error) when answered


class ViewsModel:
    """GUI side: ``load`` the trained architecture and weights, ``call`` functions on the model."""

    def __init__(self, parent: QObject | None = None, idle_exit_s: float = IDLE_EXIT_S):
        self.runner = TaskRunner(parent)
        self._idle_exit_s = idle_exit_s
        self._task: Task | None = None
        self._last_load: tuple | None = None
        self._warmers: list[Callable] = []

    def add_warmer(self, warm: Callable) -> None:
        """``warm(model)`` runs on the task's thread after each build (e.g. tracing a call)."""
        self._warmers.append(warm)

    def load(self, key: Any, source: tuple, weights: list | None) -> None:
        """Make the model the one of ``source`` (``("spec", dict)`` or ``("plain", config)``),
        identified by ``key``, holding ``weights`` (numpy copies; None: keep the built ones)."""
        self._last_load = ("load", key, source, weights)
        if self._task is not None:  # else built on the first ``call`` (or ``prepare``)
            self._send(self._last_load, key="load")

    def prepare(self, key: Any, source: tuple) -> None:
        """Build the model of ``source`` ahead (a run starts), keeping the current one in use;
        the weights that come later are loaded into it as they arrive."""
        self._send(("prepare", key, source), key="prepare")

    def clear(self) -> None:
        self._last_load = None
        self._send(("clear",), key="load")

    def call(self, fn: Callable, *args, timeout: float | None = 120.0) -> Any:
        """``fn(model, *args)`` on the model's thread; None when no model is loaded. Exceptions
        raised by ``fn`` (or by building the model) are raised here."""
        if self._last_load is None or self.runner.closed:
            return None
        reply = _Reply()
        self._send(("call", fn, args, reply))
        if not reply.ready.wait(timeout):
            raise TimeoutError("the model did not answer in time")
        if reply.error is not None:
            raise reply.error
        return reply.value

    def post(self, fn: Callable, *args, done: Callable) -> bool:
        """``fn(model, *args)`` on the model's thread without waiting: ``done(value, error)`` is
        called there when it is answered (value None: no model), e.g. to emit a queued signal.
        False (and no call) when no model is loaded."""
        if self._last_load is None or self.runner.closed:
            return False
        self._send(("call", fn, args, _Reply(done)))
        return True

    def shutdown(self, timeout: float | None = None) -> None:
        self.runner.shutdown(timeout)

    def _send(self, message: tuple, key: Any = None) -> None:
        if self.runner.closed:
            if message[0] == "call":
                message[3].ready.set()
            return
        task = self._task
        if task is None or task.cancel_requested or not task.running:
            if message[0] == "clear":
                return
            task = self._task = self.runner.start(
                _serve, tuple(self._warmers), self._idle_exit_s, name=THREAD_NAME,
                on_finished=self._on_ended)
            if message[0] == "call" and self._last_load is not None:
                task.send(self._last_load, key="load")
        task.send(message, key=key)

    def _on_ended(self, task: Task) -> None:
        if task is self._task:
            self._task = None
        for _key, message in task.take_messages():  # sent while the idle task was ending
            if message[0] == "call":
                self._send(message)
            elif message[0] in ("load", "prepare"):
                self._send(message, key=message[0])


def _serve(state, warmers: tuple, idle_exit_s: float) -> None:
    """The task: the model in use (and one built ahead for a run), until idle or cancelled."""
    models: dict[Any, Any] = {}  # key -> model; at most the one in use and one built ahead
    key, broken = None, None

    def built(new_key, source):
        if new_key not in models:
            model = _build(source)
            for warm in warmers:
                try:
                    warm(model)
                except Exception:  # noqa: BLE001 - a view that cannot use it says so itself
                    pass
            for old in [k for k in models if k != key]:
                del models[old]
            models[new_key] = model
        return models[new_key]

    while True:
        try:
            message = state.receive(timeout=idle_exit_s)
        except Cancelled:
            return
        if message is None:
            return
        kind = message[0]
        if kind == "clear":
            models, key, broken = {}, None, None
        elif kind == "prepare":
            try:
                built(message[1], message[2])
            except Exception:  # noqa: BLE001 - the run itself reports an unbuildable model
                pass
        elif kind == "load":
            _, new_key, source, weights = message
            try:
                key, broken = new_key, None
                model = built(new_key, source)
                for old in [k for k in models if k != key]:
                    del models[old]
                if weights is not None:
                    model.set_weights(weights)
            except Exception as exc:  # noqa: BLE001 - reported to whoever calls next
                models.pop(new_key, None)
                broken = exc
        elif kind == "call":
            _, fn, args, reply = message
            try:
                if broken is not None:
                    raise broken
                model = models.get(key)
                reply.value = None if model is None else fn(model, *args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                reply.error = exc
            finally:
                reply.ready.set()
                if reply.done is not None:
                    try:
                        reply.done(reply.value, reply.error)
                    except Exception:  # noqa: BLE001 - the asker has gone (a deleted widget)
                        pass


def _build(source: tuple):
    kind, data = source
    if kind == "spec":
        from workbench.core.build import build_model
        from workbench.core.spec import ModelSpec

        return build_model(ModelSpec.from_dict(data), name="inference")
    from workbench.core.modelio import model_from_plain

    return model_from_plain(data)
