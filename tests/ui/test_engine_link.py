"""The window's end of the engine: replies and streamed events arrive as Qt signals on the GUI
thread (in-process transport), and the module never brings TensorFlow into the window."""

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.engine.inprocess import InProcessEngine
from workbench.ui.engine_link import EngineLink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def link(qtbot):
    engine = InProcessEngine()
    link = EngineLink(engine)
    yield link
    link.close()


def test_a_reply_arrives_as_a_signal_on_the_gui_thread(qtbot, link):
    from PyQt5.QtCore import QThread

    threads = []
    link.reply_received.connect(lambda *args: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(link.reply_received, timeout=10000) as blocker:
        request = link.submit("ping")
    rid, name, body, error = blocker.args
    assert (rid, name, error) == (request, "ping", "") and body["pid"]
    assert threads == [link.thread()]  # delivered on the GUI thread, not the receiver's


def test_an_error_reply_carries_its_line(qtbot, link):
    with qtbot.waitSignal(link.reply_received, timeout=10000) as blocker:
        link.submit("no-such-request")
    assert "no request 'no-such-request'" in blocker.args[3]


def test_training_events_stream_as_signals(qtbot, link):
    from tests.engine.conftest import tiny_train

    events = []
    link.event_received.connect(lambda rid, name, body: events.append((rid, name, body)))
    with qtbot.waitSignal(link.reply_received, timeout=300000) as blocker:
        request = link.submit("train", tiny_train())
    assert blocker.args[1] == "train" and blocker.args[2]["status"] == "completed"
    names = [name for rid, name, _ in events if rid == request]
    assert names.count("epoch_end") == 1 and names.count("batch_end") == 4
    assert [body["epoch"] for _, name, body in events if name == "weights"] == [-1, 0]


def test_the_link_module_imports_no_tensorflow():
    code = ("import sys, workbench.ui.engine_link, workbench.engine.lifecycle, "
            "workbench.engine.client, workbench.ui.engine_menu, workbench.ui.engine_watch, "
            "workbench.ui.engine_data, workbench.engine.remote_engine\n"
            "bad = [m for m in ('tensorflow', 'keras', 'onnxruntime') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_ask_routes_the_reply_and_the_refusal_to_their_callbacks(qtbot, app_engine):
    """``EngineLink.ask``: the reply comes to its own callback on the GUI thread; an engine
    that cannot take the request says why through the same callback."""
    import threading

    from workbench.engine.client import EngineError

    link = EngineLink(app_engine)
    answers = []
    link.ask("ping", {}, lambda body, error: answers.append(
        (body and body["protocol"], error, threading.current_thread() is threading.main_thread())))
    qtbot.waitUntil(lambda: bool(answers), timeout=10_000)
    assert answers == [("workbench-engine/1", "", True)]

    class Down:
        state = "starting"
        on_state = None

        def submit(self, *_args, **_kwargs):
            raise EngineError("the engine is starting")

    refused = []
    assert EngineLink(Down()).ask("ping", {}, lambda body, error: refused.append((body, error))) \
        is None
    qtbot.waitUntil(lambda: bool(refused), timeout=5_000)
    assert refused == [(None, "the engine is starting")]
    link.close()
