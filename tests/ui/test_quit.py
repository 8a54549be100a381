"""Quitting joins every background task first: a task thread left inside TensorFlow when Python
finalises is cut off mid-call and the process aborts ("terminate called without an active
exception"), as a panel run alone once did at random in the smoke test."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PyQt5 import sip
from PyQt5.QtCore import QObject

from workbench.ui.tasks import TaskRunner, shutdown_all

ROOT = Path(__file__).resolve().parents[2]


def test_quitting_joins_a_task_whose_runner_went_with_its_window(qtbot):
    owner = QObject()
    runner = TaskRunner(owner)
    started = threading.Event()

    def task(state):
        started.set()
        state.wait()  # until cancelled; it reports nothing that would tell it its runner is gone

    handle = runner.start(task, name="views-model")
    assert started.wait(10)
    sip.delete(owner)  # the window and its runner are gone, without a shutdown
    assert sip.isdeleted(runner)
    assert shutdown_all(timeout=10)  # what the application does when it quits
    assert not handle.running and handle.cancel_requested


def test_quitting_joins_a_task_that_outlived_a_shutdown_with_a_time_limit(qtbot):
    runner = TaskRunner()
    busy = threading.Event()

    def task(state):
        busy.set()
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # a step that does not look at cancellation (a Keras call)
            time.sleep(0.01)
        state.check()

    handle = runner.start(task, name="model-inspection")
    assert busy.wait(10)
    assert not runner.shutdown(timeout=0.01)  # the window closed and did not wait long enough
    assert runner.closed and handle.running
    assert shutdown_all(timeout=10)
    assert not handle.running


# A task of a deleted window still predicting with Keras when the application quits (the
# abort needs the thread to be inside TensorFlow when the interpreter finalises).
_QUIT_WHILE_PREDICTING = """
import sys
import numpy as np
from PyQt5.QtCore import QObject, QTimer
from workbench.core.tf_loader import load_tensorflow
from workbench.ui.application import make_application
from workbench.ui.tasks import TaskRunner

app = make_application()
_, keras = load_tensorflow()
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(256), keras.layers.Dense(10)])
x = np.random.rand(2000, 28, 28).astype("float32")
predicting = []

def task(state):
    while not state.cancelled:
        model.predict(x, verbose=0)
        predicting.append(1)

owner = QObject()
TaskRunner(owner).start(task, name="views-model")

def close_then_quit():
    if not predicting:
        QTimer.singleShot(20, close_then_quit)
        return
    owner.deleteLater()
    QTimer.singleShot(int(sys.argv[1]), app.quit)

QTimer.singleShot(0, close_then_quit)
sys.exit(app.exec_())
"""


def _quit(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=240)


@pytest.mark.slow  # ~20 processes beside two busy ones
def test_quitting_again_and_again_under_load_never_aborts():
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        for i in range(8):
            proc = _quit(["-c", _QUIT_WHILE_PREDICTING, str(10 + 37 * i)])
            assert proc.returncode == 0 and "terminate called" not in proc.stderr, (
                proc.returncode, proc.stderr[-2000:])
        # The Draw tab alone and the app, quit while TensorFlow loads, at its end, and later.
        for module in ("workbench.ui.draw.panel", "workbench"):
            for quit_after_ms in (200, 2500, 6000):
                env_ms = {"WORKBENCH_QUIT_AFTER_MS": str(quit_after_ms)}
                proc = subprocess.run(
                    [sys.executable, "-m", module], capture_output=True, text=True, cwd=ROOT,
                    env=dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
                             **env_ms), timeout=240)
                assert proc.returncode == 0 and "terminate called" not in proc.stderr, (
                    module, quit_after_ms, proc.returncode, proc.stderr[-2000:])
    finally:
        for p in busy:
            p.kill()
            p.wait()
