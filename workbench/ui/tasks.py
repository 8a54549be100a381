"""The one background-task runner: every long job of the GUI runs through ``TaskRunner.start``.

Modelled on Orange's ``ConcurrentMixin``: a task is a plain function ``task(state, *args)`` that
runs on a worker thread of its own and never touches Qt (the task's side, ``TaskState``, and the
GUI's handle, ``Task``, are ui/task_thread.py's). Whatever the task reports is delivered on the
GUI thread, queued, to the callbacks given to ``start``. A task that raises gives ``on_error`` one
readable line (the traceback goes to the log, never to the user). Nothing is delivered after
``shutdown`` or to a callback whose QObject is gone, so a thread that ends after its window never
calls into a destroyed object.

``shutdown()`` (the window closing) cancels every task, joins every thread, and then delivers
what they finished with, so the last result of a cancelled run (a run record) is not lost.
Quitting joins every task thread still alive, whatever became of its runner: ``shutdown_all`` at
``aboutToQuit``, and once more before the interpreter finalises (ui/task_thread.py).
"""

from __future__ import annotations

import collections
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PyQt5 import sip
from PyQt5.QtCore import QObject, Qt, pyqtSignal, pyqtSlot

from workbench.ui.task_thread import Cancelled, Task, TaskState, join_live_tasks, readable_failure

_RUNNERS: weakref.WeakSet[TaskRunner] = weakref.WeakSet()
# How long a thread that wants the GIL waits before the holder must let go (Python's default:
# 5 ms). The GUI thread takes the GIL again for every Python method Qt calls (each paint(), each
# slot), and while a task runs Python (building a model, tracing a step) each of those waited up
# to the interval: a 4 ms plot paint took ~19 ms, at 1 ms ~9 (a plot beside a Python-busy thread).
GUI_SWITCH_INTERVAL_S = 0.001


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


# Task, Cancelled and readable_failure are the runner's API too (ui/experiments imports them here).
__all__ = [
    "Cancelled", "Task", "TaskRunner", "TaskState", "join_live_tasks", "readable_failure",
    "shutdown_all", "shutdown_within",
]
