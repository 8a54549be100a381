"""Training checkpoints written by a task of the task runner, never on the GUI thread.

``core.recovery.CheckpointWriter`` decides what to write (``plan``: the last epoch, and the best
one so far) and writes one file (``write``); this task does the writing, newest ``last`` only
(a newer epoch replaces one not yet written, so a slow disk never queues up epochs). Cancelled
when the window closes, it still writes what it was given before it ends: nothing trained is lost.
"""

from __future__ import annotations

from PyQt5.QtCore import QObject

from workbench.core.recovery import CheckpointWriter
from workbench.ui.tasks import Cancelled, Task, TaskRunner

IDLE_EXIT_S = 1.0


class CheckpointTask:
    def __init__(self, writer: CheckpointWriter, parent: QObject | None = None):
        self.writer = writer
        self.runner = TaskRunner(parent)
        self._task: Task | None = None

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

    def submit_item(self, item: tuple) -> None:
        if self.runner.closed:
            return
        if self._task is None:
            self._task = self.runner.start(_write_checkpoints, self.writer,
                                           name="checkpoint-writer", on_finished=self._on_ended)
        self._task.send(item, key=item[0])


def _write_checkpoints(state, writer: CheckpointWriter, idle_exit_s: float = IDLE_EXIT_S) -> None:
    while True:
        try:
            item = state.receive(timeout=idle_exit_s)
        except Cancelled:
            for left in state.take_messages():  # closing: still write what was given
                writer.write(left)
            return
        if item is None:
            return
        writer.write(item)
