"""Checkpoints are written by a task of the task runner; closing still writes what it was given."""

from __future__ import annotations

import threading

import numpy as np

import workbench.core.recovery as recovery
from workbench.core.recovery import CheckpointWriter, read_checkpoint
from workbench.ui.checkpoints import CheckpointTask


def test_checkpoints_are_written_off_the_gui_thread_and_kept_on_close(qtbot, tmp_path,
                                                                     monkeypatch):
    writers = []
    real_write = recovery.write_weights_atomic

    def recording_write(path, weights, meta):
        writers.append(threading.current_thread().name)
        return real_write(path, weights, meta)

    monkeypatch.setattr(recovery, "write_weights_atomic", recording_write)
    task = CheckpointTask(CheckpointWriter(tmp_path))
    task.submit(0, [np.zeros(3)], {"layers": []}, {"val_loss": 2.0})
    task.submit(1, [np.ones(3)], {"layers": []}, {"val_loss": 1.0})
    task.runner.shutdown(timeout=30)  # the window closes: cancelled, joined, queue written
    last, best = read_checkpoint(tmp_path / "last.npz"), read_checkpoint(tmp_path / "best.npz")
    assert last.epoch == 1 and best.epoch == 1 and best.logs["val_loss"] == 1.0
    np.testing.assert_array_equal(last.weights[0], np.ones(3))
    assert writers and set(writers) == {"checkpoint-writer"}
    task.submit(2, [np.zeros(3)], None)  # after closing: nothing is started any more
    assert not task.runner.tasks
