"""The one background-task runner: every long job of the GUI runs through ``TaskRunner.start``.

Modelled on Orange's ``ConcurrentMixin``: a task is a plain function ``task(state, *args)`` that
runs on a worker thread of its own and never touches Qt. Through ``state`` (a ``TaskState``) it

- reports progress (``set_progress``; only the newest value is delivered),
- hands over partial results (``set_partial_result``; every one, in order),
- checks for cancellation (``cancelled``, ``check()``, or ``wait()`` instead of sleeping),
- receives messages the GUI sends it (``receive``), which makes a long-lived task that owns
  something (a Keras model) and answers requests with plain values.

Whatever the task reports is delivered on the GUI thread, queued, to the callbacks given to
``start``. A task that raises gives ``on_error`` one readable line (the traceback goes to the log,
never to the user). Nothing is delivered after ``shutdown`` or to a callback whose QObject is gone,
so a thread that ends after its window never calls into a destroyed object.

``shutdown()`` (the window closing) cancels every task, joins every thread, and then delivers
what they finished with, so the last result of a cancelled run (a run record) is not lost.

Quitting joins every task thread still alive, whatever became of its runner (shut down with a
time limit, deleted with its window, made while quitting): ``shutdown_all`` at ``aboutToQuit``,
and once more before the interpreter finalises. A task thread left inside TensorFlow when Python
finalises is ended mid-call, through C++ code that cannot unwind: the process aborts
("terminate called without an active exception").
"""

from __future__ import annotations

import atexit
import collections
import logging
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PyQt5 import sip
from PyQt5.QtCore import QObject, Qt, pyqtSignal, pyqtSlot

from workbench.core.errors import reason_lines
from workbench.i18n import _

log = logging.getLogger(__name__)

_RUNNERS: weakref.WeakSet[TaskRunner] = weakref.WeakSet()
_LIVE: set[Task] = set()  # tasks whose thread has started and not ended, of any runner
_LIVE_LOCK = threading.Lock()
# How long a thread that wants the GIL waits before the holder must let go (Python's default:
# 5 ms). The GUI thread takes the GIL again for every Python method Qt calls (each paint(), each
# slot), and while a task runs Python (building a model, tracing a step) each of those waited up
# to the interval: a 4 ms plot paint took ~19 ms, at 1 ms ~9 (a plot beside a Python-busy thread).
GUI_SWITCH_INTERVAL_S = 0.001


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
    """The GUI's handle of one started task."""

    def __init__(self, runner: TaskRunner, fn: Callable, args: tuple, name: str,
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


class _Relay(QObject):
    """Parentless, owned by Python: alive as long as a runner or any task thread holds it."""

    wake = pyqtSignal()


class TaskRunner(QObject):
    """Starts tasks and delivers what they report on the GUI thread. One per window or panel.

    ``task_finished(task)`` is emitted after a task's end has been handed to its callbacks.
    """

    task_finished = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._relay = _Relay()
        self._relay.wake.connect(self.deliver, Qt.QueuedConnection)
        self._events: collections.deque[tuple[Task, str, Any]] = collections.deque()
        self._wake_lock = threading.Lock()
        self._wake_posted = False
        self._tasks: list[Task] = []
        self._closed = False
        _RUNNERS.add(self)
        if sys.getswitchinterval() > GUI_SWITCH_INTERVAL_S:  # a GUI with background tasks
            sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)

    @property
    def tasks(self) -> list[Task]:
        """Tasks whose end has not been delivered yet."""
        return list(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    def start(self, fn: Callable, *args, name: str = "task",
              on_result: Callable[[Any], None] | None = None,
              on_partial: Callable[[Any], None] | None = None,
              on_progress: Callable[[float, str], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_finished: Callable[[Task], None] | None = None,
              describe_error: Callable[[BaseException], str] | None = None,
              on_cancel: Callable[[], None] | None = None) -> Task:
        """Run ``fn(state, *args)`` on a new worker thread named ``name``.

        On the GUI thread, later: ``on_partial(value)`` for each partial result,
        ``on_progress(value, text)`` with the newest progress, then exactly one of
        ``on_result(value)`` / ``on_error(message)`` / nothing (cancelled, raised ``Cancelled``),
        and always ``on_finished(task)`` last. ``describe_error(exc)`` words a failure.
        ``on_cancel()`` runs when the task is cancelled, on the cancelling thread: for a task
        that waits in code of its own (a Keras fit loop), to pass the request on (a stop flag).
        """
        if self._closed:
            raise RuntimeError("the task runner has been shut down")
        callbacks = {"result": on_result, "partial": on_partial, "progress": on_progress,
                     "error": on_error, "finished": on_finished}
        task = Task(self, fn, args, name, callbacks, describe_error, on_cancel)
        self._tasks.append(task)
        task._start()
        return task

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    def shutdown(self, timeout: float | None = None) -> bool:
        """Cancel and join every task, deliver what they ended with, then deliver nothing more.

        True when every thread ended within ``timeout`` (None: wait as long as it takes).
        """
        if self._closed:
            return True
        ended = True
        for _round in range(10):  # a callback run while delivering may have started another task
            if not self._tasks:
                break
            self.cancel_all()
            for task in list(self._tasks):
                if task._thread.ident is not None:
                    task._thread.join(timeout)
                ended = ended and not task._thread.is_alive()
            self.deliver()
            if not ended:
                break
        self._closed = True
        self._events.clear()
        return ended

    # Delivery -----------------------------------------------------------------------------------

    def _post(self, task: Task, kind: str, payload: Any) -> None:
        """Any thread: queue an event and wake the GUI thread once per batch of events."""
        if sip.isdeleted(self):
            # Last resort: the owner went without calling shutdown. Nobody is there to tell;
            # the task is cancelled at its next report instead of running on for nothing.
            task.cancel()
            return
        self._events.append((task, kind, payload))
        with self._wake_lock:
            if self._wake_posted:
                return
            self._wake_posted = True
        self._relay.wake.emit()

    @pyqtSlot()
    def deliver(self) -> None:
        """Hand every queued event to its callbacks (the GUI thread; queued wake-ups call it)."""
        if self._closed:
            return
        with self._wake_lock:
            self._wake_posted = False
        while self._events:
            task, kind, payload = self._events.popleft()
            if kind == "progress":
                with task._lock:
                    payload, task._progress_posted = task._progress, False
                _call(task._callbacks["progress"], *payload)
            elif kind == "partial":
                _call(task._callbacks["partial"], payload)
            elif kind == "end":
                self._end(task, *payload)
            if self._closed:
                return

    def _end(self, task: Task, status: str, result: Any, message: str) -> None:
        task.status, task.result, task.error = status, result, message
        task._delivered = True
        if task in self._tasks:
            self._tasks.remove(task)
        if status == "finished":
            _call(task._callbacks["result"], result)
        elif status == "failed":
            _call(task._callbacks["error"], message)
        _call(task._callbacks["finished"], task)
        if not sip.isdeleted(self):
            self.task_finished.emit(task)


def _call(callback: Callable | None, *args) -> None:
    if callback is None:
        return
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, QObject) and sip.isdeleted(owner):
        return  # its object is gone: nobody is there to tell
    callback(*args)


def shutdown_within(owner: QObject, timeout: float | None = None) -> None:
    """Shut down every runner whose parent is ``owner`` or inside it (a window closing)."""
    for runner in list(_RUNNERS):
        if sip.isdeleted(runner) or runner.closed:
            continue
        node = runner.parent()
        while node is not None and node is not owner:
            node = node.parent()
        if node is owner:
            runner.shutdown(timeout)


def shutdown_all(timeout: float | None = None) -> bool:
    """The application is quitting: shut every live runner down, then cancel and join every task
    thread still alive, whatever its runner (one shut down with a time limit, one deleted with its
    window, one made by a callback while quitting). True when every thread ended in time."""
    for runner in list(_RUNNERS):
        if not sip.isdeleted(runner):
            runner.shutdown(timeout)
    return join_live_tasks(timeout)


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
