"""UI test fixtures: fail any test that leaves a QThread or a Python thread running (napari-style);
the windows and panels several UI test files share (``window``: the main window ready to train;
``trained`` and ``draw_panel``: the Draw tab with the default model trained one epoch).

The daemon threads that import TensorFlow and load datasets in the background (named
``tensorflow-import`` and ``dataset-load``), the document's inspection task
(``model-inspection``, which ends after idling, or when its window closes) and the shared
in-process engine's threads (``engine-*``) may outlive a test; nothing else may.
"""

from __future__ import annotations

import threading
import time
import weakref

import pytest
from PyQt5.QtCore import QThread
from PyQt5.QtWidgets import QApplication

from workbench.core.templates import load_template

ALLOWED_THREAD_NAMES = ("tensorflow-import", "dataset-load", "model-inspection", "engine-")
GRACE_S = 2.0  # a thread that is already ending gets this long to finish


def _foreign(thread: threading.Thread) -> bool:
    # Threads started outside Python (Qt's, TensorFlow's) show up as dummies once they call into
    # Python; they never "end" for the threading module. QThreads are tracked separately below.
    return isinstance(thread, threading._DummyThread)  # noqa: SLF001


def _python_leaks(before: set[int]) -> list[threading.Thread]:
    return [
        t for t in threading.enumerate()
        if t.is_alive() and t is not threading.main_thread() and not _foreign(t)
        and t.ident not in before and t.name not in ALLOWED_THREAD_NAMES
        and not (t.daemon and t.name.startswith(ALLOWED_THREAD_NAMES))
    ]


@pytest.fixture(autouse=True)
def _fail_on_leaked_threads(monkeypatch):
    """Track every QThread started during the test; fail if any is still running at the end."""
    started: list[weakref.ref] = []
    original_start = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", tracking_start)
    before = {t.ident for t in threading.enumerate()}
    yield

    def running_qthreads() -> list[QThread]:
        alive = []
        for ref in started:
            thread = ref()
            try:
                if thread is not None and thread.isRunning():
                    alive.append(thread)
            except RuntimeError:  # the C++ object is gone, so is its thread
                pass
        return alive

    deadline = time.monotonic() + GRACE_S
    app = QApplication.instance()
    while (running_qthreads() or _python_leaks(before)) and time.monotonic() < deadline:
        if app is not None:
            app.processEvents()
        time.sleep(0.02)
    qthreads = running_qthreads()
    python_threads = _python_leaks(before)
    if qthreads or python_threads:
        names = [t.objectName() or type(t).__name__ for t in qthreads]
        names += [t.name for t in python_threads]
        for thread in qthreads:  # don't let the leak crash the next test or the interpreter
            thread.quit()
            thread.wait(10000)
        pytest.fail(f"the test left thread(s) running: {', '.join(names)}")


# --- the engine ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def app_engine():
    """The app's engine for the UI tests: in this process (a thread, over inproc://), so no test
    starts a TensorFlow process; messages are encoded, signed and checked as across processes.
    tests/ui/test_engine_process.py runs the real one."""
    from workbench.engine.inprocess import InProcessEngine
    from workbench.ui.engine_link import set_shared_engine

    engine = InProcessEngine()
    set_shared_engine(engine)
    yield engine
    engine.close()


# --- shared windows and panels -----------------------------------------------------------------


@pytest.fixture
def window(qtbot):
    """The main window, TensorFlow and its dataset (300 digits) loaded and the model checked: ready
    to train. (Files with a window of another kind define their own ``window``.)"""
    from workbench.ui.main_window import MainWindow

    w = MainWindow()  # closed below, not by qtbot: it must not ask about unsaved runs
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300)
    yield w
    w.training_panel.shutdown()
    w.state.undo_stack.setClean()  # trained runs count as unsaved: don't ask at teardown
    w.close()
    w.deleteLater()
    qtbot.wait(10)


@pytest.fixture(scope="session")
def trained(trained_cnn):
    """(spec dict, weights, dataset subset): the default template trained 1 epoch on 600 digits,
    as the Draw tab receives a run's weights."""
    return trained_cnn.spec, trained_cnn.weights, trained_cnn.data


@pytest.fixture
def draw_panel(qtbot, tmp_path, trained):
    """The Draw tab alone, on the default template, its dataset the trained model's digits."""
    from workbench.ui.draw.panel import DrawPanel
    from workbench.ui.state import ProjectState

    state = ProjectState(load_template())
    # TensorFlow is loaded for the session; no background dataset load (its thread would outlive
    # this test's state object).
    state.data.dataset = trained[2]
    assert state.engine.loaded
    view = DrawPanel(state)
    qtbot.addWidget(view)
    view.set_samples_path(tmp_path / "my-digits.npz")
    view.resize(1100, 720)
    view.show()
    qtbot.waitExposed(view)
    return view


def plain_and_weights(model) -> tuple[dict, list]:
    """A Keras model made in a test as the window takes an opened one (``set_trained_model``):
    its plain config and weights, as the engine answers ``open_model``."""
    from workbench.core.modelio import model_to_plain

    return model_to_plain(model), model.get_weights()
