"""Training checkpoints (and the autosave during a run) written by a task of the task runner,
never on the GUI thread.

``core.recovery.CheckpointWriter`` decides what to write (``plan``: the last epoch, and the best
one so far) and writes one file (``write``); this task does the writing, newest ``last`` only
(a newer epoch replaces one not yet written, so a slow disk never queues up epochs). Cancelled
when the window closes, it still writes what it was given before it ends: nothing trained is lost.
An autosave (``submit_autosave``) is a write of its own, newest only as well: written on the GUI
thread at every epoch's end it cost ~9 ms there (the fsync), while a new run traced its functions.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt5.QtCore import QObject

from workbench.core.recovery import CheckpointWriter
from workbench.ui.task_thread import Cancelled, Task
from workbench.ui.tasks import TaskRunner

IDLE_EXIT_S = 1.0
AUTOSAVE = "autosave"  # the key of an autosave write (checkpoints are keyed by their name)


class CheckpointTask:
    def __init__(self, writer: CheckpointWriter, parent: QObject | None = None):
        self.writer = writer
        self.runner = TaskRunner(parent)
        self._task: Task | None = None
        self._on_done: dict[int, Callable[[str], None]] = {}  # autosaves, by id of their write

    def begin_run(self) -> None:
        self.writer.begin_run()

    def submit(self, epoch: int, weights: list, spec: dict | None,
               logs: dict | None = None) -> None:
        if self.runner.closed:
            return
        for item in self.writer.plan(epoch, weights, spec, logs):
            self.submit_item(item)

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write everything submitted (the task ends once it is idle); False on timeout."""
        task = self._task
        return task is None or task.join(timeout)

    def _on_ended(self, task: Task) -> None:
        if task is self._task:
            self._task = None
        left = task.take_messages()  # sent while the idle task was ending
        if left and not self.runner.closed:
            for _key, item in left:
                self.submit_item(item)

    def submit_autosave(self, write: Callable[[], bool],
                        on_done: Callable[[str], None] | None = None) -> None:
        """Run ``write()`` (an autosave: True when it wrote) on the task; then, on the GUI
        thread, ``on_done("")`` if it wrote, ``on_done(reason)`` if it failed (OSError).
        A newer autosave replaces one not yet written."""
        if self.runner.closed:
            return
        self._on_done = {id(write): on_done} if on_done else {}
        self.submit_item((AUTOSAVE, write))

    def _on_partial(self, report: tuple[int, str]) -> None:
        callback = self._on_done.pop(report[0], None)
        if callback is not None:
            callback(report[1])

    def submit_item(self, item: tuple) -> None:
        if self.runner.closed:
            return
        if self._task is None:
            self._task = self.runner.start(_write_checkpoints, self.writer,
                                           name="checkpoint-writer", on_finished=self._on_ended,
                                           on_partial=self._on_partial)
        self._task.send(item, key=item[0])


def _write_checkpoints(state, writer: CheckpointWriter, idle_exit_s: float = IDLE_EXIT_S) -> None:
    try:
        for item in state.requests(idle_exit_s):
            _write(state, writer, item)
    except Cancelled:
        for left in state.take_messages():  # closing: still write what was given
            _write(state, writer, left)


def _write(state, writer: CheckpointWriter, item: tuple) -> None:
    if item[0] != AUTOSAVE:
        writer.write(item)
        return
    write = item[1]
    try:
        if write():
            state.set_partial_result((id(write), ""))
    except OSError as exc:  # the next autosave (a minute later, the run's end) tries again
        state.set_partial_result((id(write), str(exc.strerror or exc)))
