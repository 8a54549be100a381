"""A background task's thread and its two sides: ``TaskState``, the task's own (progress, partial
results, cancellation, messages from the GUI), and ``Task``, the GUI's handle (cancel, send, join).

Through ``state`` a task ``task(state, *args)``

- reports progress (``set_progress``; only the newest value is delivered),
- hands over partial results (``set_partial_result``; every one, in order),
- checks for cancellation (``cancelled``, ``check()``, or ``wait()`` instead of sleeping),
- receives messages the GUI sends it (``receive``), which makes a long-lived task that owns
  something (a Keras model) and answers requests with plain values.

What it reports goes to the ``TaskRunner`` that started it (ui/tasks.py), which delivers it on the
GUI thread. Every task thread alive is known here, so that quitting can join them all, whatever
became of their runner. A task thread left inside TensorFlow when Python finalises is ended
mid-call, through C++ code that cannot unwind: the process aborts ("terminate called without an
active exception"); ``join_live_tasks`` runs at exit, before that.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
from collections.abc import Callable
from typing import Any

from workbench.core.errors import reason_lines
from workbench.i18n import _

log = logging.getLogger(__name__)

_LIVE: set[Task] = set()  # tasks whose thread has started and not ended, of any runner
_LIVE_LOCK = threading.Lock()


class Cancelled(Exception):  # noqa: N818 - reads as what happened to the task
    """Raised inside a task by ``TaskState.check``/``receive`` once the task is cancelled."""


def readable_failure(name: str, exc: BaseException) -> str:
    """One line for the user: what failed and Keras's/TensorFlow's reason, cleaned."""
    if isinstance(exc, MemoryError):
        return _("{name} ran out of memory.").format(name=name)
    return _("{name} failed: {reason}").format(name=name, reason=reason_lines(exc)[0])


class TaskState:
    """The task's side of a running task (used on its worker thread only)."""

    def __init__(self, task: Task):
        self._task = task

    @property
    def cancelled(self) -> bool:
        return self._task._cancel.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` if the task has been cancelled (call it between steps)."""
        if self._task._cancel.is_set():
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        """Block up to ``timeout`` seconds or until cancelled; True when cancelled."""
        return self._task._cancel.wait(timeout)

    @property
    def messages_waiting(self) -> bool:
        """Whether a message waits to be received (a newer request: drop the one in hand)."""
        return self._task.pending_messages > 0

    def take_messages(self) -> list[Any]:
        """The messages not received yet, removed (a task finishing its queue when cancelled)."""
        return [message for _key, message in self._task.take_messages()]

    def set_progress(self, value: float, text: str = "") -> None:
        self._task._post("progress", (value, text))

    def set_partial_result(self, value: Any) -> None:
        self._task._post("partial", value)

    def receive(self, timeout: float | None = None) -> Any:
        """The next message sent with ``Task.send``; None after ``timeout`` seconds without one.

        Raises ``Cancelled`` once the task is cancelled (also while waiting).
        """
        task = self._task
        with task._inbox_cond:
            if not task._inbox and not task._cancel.is_set():
                task._inbox_cond.wait(timeout)
            if task._cancel.is_set():
                raise Cancelled()
            if not task._inbox:
                return None
            _key, message = task._inbox.popleft()
            return message

    def requests(self, idle_exit_s: float):
        """The messages sent to the task, in order, until none has come for ``idle_exit_s``
        seconds: the loop of a long-lived task that serves requests and ends when idle.
        Raises ``Cancelled`` as ``receive`` does."""
        while True:
            message = self.receive(timeout=idle_exit_s)
            if message is None:
                return
            yield message


class Task:
    """The GUI's handle of one started task; ``runner`` is the TaskRunner (ui/tasks.py) that
    started it and delivers what it reports."""

    def __init__(self, runner: Any, fn: Callable, args: tuple, name: str,
                 callbacks: dict[str, Callable | None], describe: Callable | None,
                 on_cancel: Callable[[], None] | None = None):
        self.name = name
        self._on_cancel = on_cancel
        self._runner = runner
        self._fn, self._args = fn, args
        self._callbacks = callbacks
        self._describe = describe
        self._cancel = threading.Event()
        self._inbox: collections.deque[tuple[Any, Any]] = collections.deque()
        self._inbox_cond = threading.Condition()
        self._progress: tuple[float, str] | None = None
        self._progress_posted = False
        self._lock = threading.Lock()
        self.result: Any = None
        self.error: str = ""  # the readable failure message, "" if none
        self.exception: BaseException | None = None
        self.status = "running"  # running | finished | failed | cancelled
        self._delivered = False  # the end has been handed to the callbacks
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # GUI side ------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def done(self) -> bool:
        """True once the end (result, failure or cancellation) has been delivered."""
        return self._delivered

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the task to stop; it sees it at its next ``check``/``wait``/``receive`` (and the
        ``on_cancel`` given to ``start`` runs now, on this thread, once)."""
        first = not self._cancel.is_set()
        self._cancel.set()
        with self._inbox_cond:
            self._inbox_cond.notify_all()
        if first and self._on_cancel is not None:
            self._on_cancel()

    def send(self, message: Any, key: Any = None) -> None:
        """Queue ``message`` for the task's ``receive``. A message with the same non-None ``key``
        that the task has not taken yet is replaced (newest request only)."""
        with self._inbox_cond:
            if key is not None:
                kept = [(k, m) for k, m in self._inbox if k != key]
                self._inbox.clear()
                self._inbox.extend(kept)
            self._inbox.append((key, message))
            self._inbox_cond.notify_all()

    @property
    def pending_messages(self) -> int:
        with self._inbox_cond:
            return len(self._inbox)

    def take_messages(self) -> list[tuple[Any, Any]]:
        """Remove and return the ``(key, message)`` pairs the task has not received (to hand
        them to a task started in its place)."""
        with self._inbox_cond:
            left = list(self._inbox)
            self._inbox.clear()
            return left

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (True if it did); then deliver what it left."""
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._runner.deliver()
        return True

    # Worker side ---------------------------------------------------------------------------------

    def _post(self, kind: str, payload: Any) -> None:
        if kind == "progress":
            with self._lock:
                self._progress = payload
                if self._progress_posted:
                    return
                self._progress_posted = True
        self._runner._post(self, kind, payload)

    def _start(self) -> None:
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self._thread.start()
        except BaseException:
            with _LIVE_LOCK:
                _LIVE.discard(self)
            raise

    def _run(self) -> None:
        try:
            self._run_task()
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def _run_task(self) -> None:
        state = TaskState(self)
        try:
            result = self._fn(state, *self._args)
        except Cancelled:
            self._runner._post(self, "end", ("cancelled", None, ""))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes one readable line
            log.debug("task %s failed", self.name, exc_info=True)
            try:
                message = (self._describe or (lambda e: readable_failure(self.name, e)))(exc)
            except Exception:  # noqa: BLE001 - a broken describer must not hide the failure
                message = readable_failure(self.name, exc)
            self.exception = exc
            self._runner._post(self, "end", ("failed", None, message))
        else:
            self._runner._post(self, "end", ("finished", result, ""))


def join_live_tasks(timeout: float | None = None) -> bool:
    """Cancel and join every task thread still alive (``timeout`` for each; None: no limit).
    Nothing is delivered. True when none is left."""
    for _round in range(10):  # a task may have started another before it saw the cancellation
        with _LIVE_LOCK:
            live = [task for task in _LIVE if task._thread is not threading.current_thread()]
        if not live:
            return True
        for task in live:
            task.cancel()
        for task in live:
            task._thread.join(timeout)
        if any(task._thread.is_alive() for task in live):
            return False
    with _LIVE_LOCK:
        return not _LIVE


def _join_at_exit() -> None:
    # Before the interpreter finalises (atexit runs first): a task thread still inside TensorFlow
    # then would be cut off mid-call and abort the process.
    if not join_live_tasks(timeout=EXIT_JOIN_S):
        log.warning("a background task did not end within %s s of quitting", EXIT_JOIN_S)


EXIT_JOIN_S = 60.0
atexit.register(_join_at_exit)
