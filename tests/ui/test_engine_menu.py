"""Engine ▸ Connect to a remote engine: the window moves to an engine listening on a TCP port (as
`workbench engine --listen` does; here its server runs on a thread of this process, the real
process is the slow test's), says where it runs and its device, goes back to the local engine,
refuses what is wrong in one line with nothing changed, follows its run across a dropped link,
and sees another window's run (busy; watched read-only). The dataset of a run goes to the engine
once, with a progress bar."""

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PyQt5.QtWidgets import QProgressBar, QPushButton

from workbench.engine import remote, remote_engine
from workbench.engine.protocol import new_key
from workbench.ui.engine_link import shared_host

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def listening(tmp_path_factory):
    """An engine listening on a loopback port with its connection file, as a remote one."""
    from workbench.engine.handlers import EngineState, handlers

    key, state = new_key(), EngineState()
    server = remote.bind(key, "127.0.0.1", 0, handlers(state))
    server.on_close.append(state.cancel_all)
    thread = threading.Thread(target=server.serve, name="engine-listening", daemon=True)
    thread.start()
    port = int(server.address.rsplit(":", 1)[1])
    file = tmp_path_factory.mktemp("engine") / "engine.json"
    remote.write_connection_file(file, remote.Connection("127.0.0.1", port, key,
                                                         pid=os.getpid(), version="test"))
    yield SimpleNamespace(file=file, port=port, server=server, state=state)
    server.stop()
    thread.join(10)


def variant(engine, folder: Path, **changes) -> Path:
    path = folder / f"variant-{len(list(folder.glob('variant-*')))}.json"
    path.write_text(json.dumps({**json.loads(engine.file.read_text()), **changes}))
    return path


@pytest.fixture
def make_window(qtbot):
    from workbench.ui.main_window import MainWindow

    made = []

    def make():
        window = MainWindow(load_dataset=False)
        window.show()
        made.append(window)
        return window

    yield make
    for window in made:
        window.training_panel.shutdown()
        window.state.undo_stack.setClean()
        window.close()
        window.deleteLater()
    qtbot.wait(10)


def connect(qtbot, window, text) -> str:
    menu = window.engine_menu
    with qtbot.waitSignal(menu.connected, timeout=30_000) as blocker:
        menu.connect_to(str(text))
    return blocker.args[0]


def refused(qtbot, window, text) -> str:
    menu = window.engine_menu
    with qtbot.waitSignal(menu.refused, timeout=30_000) as blocker:
        menu.connect_to(str(text))
    return blocker.args[0]


def label(window) -> str:
    return window.findChild(type(window._engine_label), "engineStatus").text()


def test_connect_says_where_and_on_what_then_back_to_the_local_engine(qtbot, make_window,
                                                                      listening):
    window = make_window()
    state = window.state
    assert label(window) == "Engine: local · ready"
    assert not window.engine_menu.local_action.isEnabled()
    line = connect(qtbot, window, listening.file)
    assert line == f"Connected to the engine at 127.0.0.1:{listening.port}"
    assert state.engine.where == "remote" and window.engine_menu.local_action.isEnabled()
    cpu = remote_engine.device_text(listening.state.wait_device())
    qtbot.waitUntil(lambda: label(window) == f"Engine: remote · {cpu}", timeout=30_000)
    assert cpu.startswith("CPU (")
    assert str(listening.port) in window._engine_label.toolTip()
    # The engine is this window's now: its model is inspected there.
    engine = window.engine_menu.remote.engine
    state.undo_stack.setClean()
    before = listening.server.refused
    with qtbot.waitSignal(state.inspection_changed, timeout=30_000):
        state.refresh_inspection()
    assert state.inspection is not None and state.inspection.ok
    assert listening.server.refused == before
    assert window.engine_menu.use_local()
    assert label(window) == "Engine: local · ready" and state.engine.host is shared_host()
    assert engine.state == "stopped" and window.engine_menu.remote is None
    # The engine goes on: the printed line and the file's contents pasted reach it too.
    printed = (f"workbench engine listening on tcp://127.0.0.1:{listening.port}; "
               f"connection file {listening.file}")
    assert connect(qtbot, window, printed).startswith("Connected")
    assert window.engine_menu.use_local()
    assert connect(qtbot, window, listening.file.read_text()).startswith("Connected")


def test_what_is_wrong_is_one_line_and_nothing_changes(qtbot, make_window, listening,
                                                        tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "PING_TIMEOUT_S", 1.5)
    window = make_window()
    host = window.state.engine.host
    wrong = variant(listening, tmp_path, key="ab" * 32)
    line = refused(qtbot, window, wrong)
    assert line == (
        f"the engine at 127.0.0.1:{listening.port} did not answer a signed ping: wrong key in "
        f"{wrong}, or not a Workbench engine")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert refused(qtbot, window, variant(listening, tmp_path, port=port)) == (
        f"cannot reach the engine at 127.0.0.1:{port}: connection refused (is `workbench "
        "engine` running there?)")
    other = refused(qtbot, window, variant(listening, tmp_path, protocol="workbench-engine/2"))
    assert "speaks workbench-engine/2, this Workbench speaks workbench-engine/1" in other
    assert refused(qtbot, window, "workbench engine listening on tcp://127.0.0.1:5555; "
                                  f"connection file {tmp_path / 'gone.json'}") == (
        f"{tmp_path / 'gone.json'}, which the line names, is not on this machine: copy it here "
        "(scp), or paste its contents")
    assert "not a Workbench engine's connection file" in refused(qtbot, window, '{"a": 1}')
    assert "\n" not in line + other
    assert window.state.engine.host is host and label(window) == "Engine: local · ready"
    assert window.statusBar().currentMessage() == ("the text pasted is not a Workbench engine's "
                                                      "connection file")
    # The dialog keeps the line beside what was given, to mend it.
    dialog = window.engine_menu.show_connect()
    dialog.text.setPlainText(str(wrong))
    with qtbot.waitSignal(window.engine_menu.refused, timeout=30_000):
        dialog.connect_button.click()
    assert dialog.isVisible() and dialog.problem.text().startswith("the engine at 127.0.0.1")
    dialog.text.setPlainText(str(listening.file))
    with qtbot.waitSignal(window.engine_menu.connected, timeout=30_000):
        dialog.connect_button.click()
    assert not dialog.isVisible() and window.state.engine.where == "remote"


def test_a_window_that_trains_does_not_switch(qtbot, make_window, listening):
    window = make_window()
    window.state.set_busy(True)
    assert refused(qtbot, window, listening.file) == ("Stop the training first: a run cannot "
                                                      "move to another engine")
    window.state.set_busy(False)
    connect(qtbot, window, listening.file)
    window.state.set_busy(True)
    assert not window.engine_menu.use_local() and window.state.engine.where == "remote"
    assert window.statusBar().currentMessage().startswith("Stop the training first")
    window.state.set_busy(False)


def test_the_views_model_follows_the_window_to_the_remote_engine(qtbot, make_window,
                                                                 listening):
    """What the window keeps in its engine (the trained model Draw asks) is sent again to the
    engine it moves to: the panels see a restart, no wiring of their own."""
    window = make_window()
    views = window.state.trained.engine_views
    spec = {"input_shape": [784], "layers": [
        {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}]}
    weights = [np.full((784, 10), 0.01, np.float32), np.arange(10, dtype=np.float32)]
    views.load("tiny", ("spec", spec), weights)
    assert views.handle not in listening.state.sources
    connect(qtbot, window, listening.file)
    qtbot.waitUntil(lambda: views.handle in listening.state.sources, timeout=30_000)
    output = views.predict(np.zeros((28, 28), np.float32))
    assert int(np.argmax(output)) == 9  # the weights sent: the largest bias wins


class Forward:
    """A TCP forward to the engine, as ``ssh -L`` is; ``cut()`` drops its connections and
    refuses new ones until ``restore()`` (zmq reconnects by itself then)."""

    def __init__(self, port: int):
        self.target, self.up, self.pattern = port, threading.Event(), None
        self.up.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="engine-test-forward", daemon=True).start()

    def _accept(self):
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                near.close()
                continue
            far = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), name="engine-test-pipe",
                                 daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                if self.pattern is not None and self.pattern in data and source.getpeername()[
                        1] == self.target:
                    self.pattern = None
                    self.drop()
                    return
                sink.sendall(data)
        except OSError:
            pass

    def drop(self):
        sockets, self.sockets = self.sockets, []
        for each in sockets:
            try:
                each.shutdown(socket.SHUT_RDWR)
                each.close()
            except OSError:
                pass

    def lose_once(self, pattern: bytes):
        """The first message from the engine holding ``pattern`` is lost with the connection;
        zmq reconnects at once (too soon for the link to count as lost)."""
        self.pattern = pattern

    def cut(self):
        self.up.clear()
        self.drop()

    def restore(self):
        self.up.set()

    def close(self):
        self.cut()
        self.listener.close()


def tiny_run(epochs: int, title: str = "mine (run 1)") -> dict:
    from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig

    spec = ModelSpec((100,), [LayerSpec.create("Dense", units=10, activation="softmax")])
    config = TrainConfig(epochs=epochs, batch_size=64, validation_split=0.2, seed=1)
    return {"spec": spec.to_dict(), "config": config.to_dict(), "dataset": "random-classes",
            "subset": [256, 64], "weights": False, "title": title}


def test_a_dropped_link_is_said_and_the_run_reattached_with_the_epochs_missed(
        qtbot, make_window, listening, tmp_path, monkeypatch):
    monkeypatch.setattr(remote_engine, "LOST_S", 1.0)
    forward = Forward(listening.port)
    window = make_window()
    try:
        connect(qtbot, window, variant(listening, tmp_path, port=forward.port))
        link = window.state.engine
        qtbot.waitUntil(lambda: link.loaded, timeout=30_000)
        epochs, ended = [], []
        request = link.ask("train", tiny_run(5000), lambda body, error: ended.append(
            (body, error)), lambda name, body: name == "epoch_end" and epochs.append(body))
        qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=60_000)
        forward.cut()
        qtbot.waitUntil(lambda: link.state == "lost", timeout=10_000)
        assert label(window) == "Engine: remote · link lost"
        assert window.statusBar().currentMessage().startswith(
            f"lost the link to the engine at 127.0.0.1:{forward.port}")
        cut_at = len(epochs)
        running = listening.state.training["feed"]
        qtbot.waitUntil(lambda: len(running.epochs) >= cut_at + 3, timeout=60_000)  # unheard
        forward.restore()
        qtbot.waitUntil(lambda: any(e.get("missed") for e in epochs), timeout=30_000)
        assert link.state == "ready" and label(window).startswith("Engine: remote · CPU")
        link.request("stop", {"request": request}, timeout=10)
        qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    finally:
        forward.close()
    reply, error = ended[0]
    assert error == "" and reply["status"] == "stopped"
    # Every epoch once: live, or missed and given on reattaching, none twice.
    numbers = [e["epoch"] for e in epochs]
    assert sorted(numbers) == list(range(reply["epochs_completed"])) == sorted(set(numbers))
    missed = [e for e in epochs if e.get("missed")]
    assert len(missed) >= 3 and all(e["logs"]["loss"] > 0 for e in missed)


def test_an_epoch_lost_on_a_link_that_drops_unnoticed_comes_with_the_reply(
        qtbot, make_window, listening, tmp_path, monkeypatch):
    from workbench.ui import engine_link

    monkeypatch.setattr(engine_link, "QUIET_S", 2.0)  # were the reply lost too
    forward = Forward(listening.port)
    window = make_window()
    try:
        connect(qtbot, window, variant(listening, tmp_path, port=forward.port))
        link = window.state.engine
        qtbot.waitUntil(lambda: link.loaded, timeout=30_000)
        forward.lose_once(b'"name":"epoch_end"')
        epochs, ended = [], []
        body = {**tiny_run(4), "subset": [2048, 64]}
        body["config"]["batch_size"] = 16
        link.ask("train", body, lambda reply, error: ended.append((reply, error)),
                 lambda name, event: name == "epoch_end" and epochs.append(event))
        qtbot.waitUntil(lambda: bool(ended), timeout=120_000)
    finally:
        forward.close()
    assert forward.pattern is None  # an epoch's end was lost on the way
    reply, error = ended[0]
    assert error == "" and reply["status"] == "completed" and link.state == "ready"
    assert sorted(e["epoch"] for e in epochs) == [0, 1, 2, 3]
    assert [e["epoch"] for e in epochs if e.get("missed")] != []


def test_the_training_tab_trains_on_the_remote_engine(qtbot, window, listening):
    """Train in the window connected to a remote engine: the run is the engine's, its curves
    stream into the Training tab, and its record and weights come back into the project."""
    from tests.ui.test_training import configure, train_once

    state = window.state
    connect(qtbot, window, listening.file)
    qtbot.waitUntil(lambda: state.engine.loaded and label(window).startswith(
        "Engine: remote · CPU"), timeout=30_000)
    configure(state, epochs=2, batch_size=64)
    runs_there = set(listening.state.results)
    outcome = train_once(qtbot, window)
    assert outcome.result.status == "completed" and outcome.result.epochs_completed == 2
    ran = set(listening.state.results) - runs_there
    assert len(ran) == 1  # the remote engine trained it
    reply, epochs = listening.state.results[ran.pop()]
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert reply["history"]["loss"] == pytest.approx(outcome.result.history["loss"])
    assert state.project.runs[-1]["status"] == "completed"
    assert state.trained.weights is not None
    assert window.training_panel.curves.point_count() > 0


def test_a_missed_epoch_given_after_later_ones_takes_its_place_on_the_curves():
    from workbench.ui.training.history import RunHistory

    history = RunHistory()
    for epoch in (0, 1, 4, 5, 2, 3):  # 2 and 3 given on reattaching, after 4 and 5 came live
        history.add_epoch(epoch, {"loss": 10.0 - epoch}, "accuracy")
    assert list(history.epochs.column(0)) == [1, 2, 3, 4, 5, 6]
    assert list(history.epochs.column(1)) == [10, 9, 8, 7, 6, 5]
    for _ in range(300):  # past the first capacity, inserting still keeps the order
        history.add_epoch(len(history.epochs), {"loss": 0.0}, "accuracy")
    history.add_epoch(400, {"loss": 0.0}, "accuracy")
    history.add_epoch(310, {"loss": 0.0}, "accuracy")
    xs = history.epochs.column(0)
    assert list(xs) == sorted(xs) and len(xs) == 308


def test_reattach_through_the_menu_and_the_link_back(qtbot, make_window, listening, tmp_path):
    window = make_window()
    menu = window.engine_menu
    menu.reattach()
    assert window.statusBar().currentMessage() == ("The window works with the local engine: "
                                                   "there is no link to reattach")
    connect(qtbot, window, listening.file)
    menu.reattach()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "The link to the engine is up",
                    timeout=20_000)


def test_a_second_window_sees_the_engine_busy_and_watches_the_run(qtbot, make_window,
                                                                  listening):
    first, second = make_window(), make_window()
    connect(qtbot, first, listening.file)
    link = first.state.engine
    qtbot.waitUntil(lambda: link.loaded, timeout=30_000)
    epochs, ended = [], []
    request = link.ask("train", tiny_run(5000, "digits (run 2)"),
                       lambda body, error: ended.append(body),
                       lambda name, body: name == "epoch_end" and epochs.append(body))
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=60_000)
    line = connect(qtbot, second, listening.file)
    assert re.fullmatch(r"Connected to the engine at 127\.0\.0\.1:\d+; busy: training digits "
                        r"\(run 2\) for another window since \d\d:\d\d \(Engine ▸ Watch the run "
                        r"follows it\)", line)
    refusals = []
    second.state.engine.ask("train", tiny_run(1), lambda body, error: refusals.append(error))
    qtbot.waitUntil(lambda: bool(refusals), timeout=10_000)
    assert re.fullmatch(r"busy: training digits \(run 2\) for another window since \d\d:\d\d",
                        refusals[0])
    dialog = second.engine_menu.watch()
    qtbot.waitUntil(lambda: len(dialog.epochs) >= 2, timeout=60_000)
    assert dialog.heading.text().startswith("digits (run 2) for another window since")
    assert dialog.curves["loss"].getData()[0] is not None
    assert not dialog.findChildren(QPushButton)  # nothing to press: read-only
    link.request("stop", {"request": request}, timeout=10)
    qtbot.waitUntil(lambda: bool(dialog.ended), timeout=60_000)
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert dialog.ended == "stopped" == ended[0]["status"]
    assert dialog.progress.text() == f"The run ended: {ended[0]['message']}"
    assert ended[0]["message"].startswith(f"Stopped by the user after "
                                          f"{ended[0]['epochs_completed']} epoch(s)")
    assert sorted(dialog.epochs) == list(range(ended[0]["epochs_completed"]))
    assert second.engine_menu.use_local()  # its watch goes with the remote engine
    assert not dialog.isVisible() and second.engine_menu.watching is None


def test_a_dataset_file_goes_to_a_remote_engine_once_with_a_progress_bar(
        qtbot, make_window, listening, tmp_path, monkeypatch):
    from workbench.engine import datacache
    from workbench.ui.engine_data import EngineData

    monkeypatch.setattr(datacache, "CHUNK", 64 << 10)
    rng = np.random.default_rng(7)
    path = tmp_path / "numbers.npz"
    np.savez(path, x_train=rng.random((400, 100), dtype=np.float32),
             y_train=rng.integers(0, 10, 400))
    window = make_window()
    connect(qtbot, window, listening.file)
    data, answers, values = EngineData(window), [], []
    data.ensure(window.state.engine, None, str(path), 0, lambda *a: answers.append(a))
    bar = window.statusBar().findChild(QProgressBar, "uploadProgress")
    bar.valueChanged.connect(lambda value: values.append((value, bar.toolTip())))
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=60_000)
    body, error = answers[0]
    assert error == "" and body["dataset"] == str(path) and len(body["dataset_hash"]) == 64
    size = path.stat().st_size / 1e6
    assert values[-1] == (1000, f"{size:.1f} of {size:.1f} MB")  # in 3 chunks, the newest
    assert window.statusBar().currentMessage() == "Sent numbers.npz to the engine"
    qtbot.waitUntil(lambda: window.statusBar().findChild(QProgressBar, "uploadProgress") is None,
                    timeout=5000)
    assert datacache.cached_path(body["dataset_hash"]).is_file()
    data.ensure(window.state.engine, None, str(path), 0, lambda *a: answers.append(a))
    assert answers[1] == answers[0]  # known to be there: at once, nothing sent


@pytest.mark.slow  # a real engine process, its TensorFlow imported: ~15-30 s
def test_the_window_on_a_real_listening_engine_process(qtbot, make_window, tmp_path):
    file = tmp_path / "engine.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench", "engine", "--listen", "127.0.0.1:0",
         "--connection-file", str(file)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in process.stdout],
                     name="engine-test-lines", daemon=True).start()
    try:
        printed = lines.get(timeout=60)
        window = make_window()
        assert connect(qtbot, window, printed.strip()).startswith("Connected to the engine at "
                                                                  "127.0.0.1:")
        qtbot.waitUntil(lambda: re.fullmatch(r"Engine: remote · (CPU \(.+\)|.+)", label(window))
                        and window.state.engine.loaded, timeout=120_000)
        link, epochs, ended = window.state.engine, [], []
        link.ask("train", tiny_run(2), lambda body, error: ended.append((body, error)),
                 lambda name, body: name == "epoch_end" and epochs.append(body["epoch"]))
        qtbot.waitUntil(lambda: bool(ended), timeout=120_000)
        assert ended[0][1] == "" and ended[0][0]["status"] == "completed" and epochs == [0, 1]
        assert window.engine_menu.use_local() and label(window) == "Engine: local · ready"
        assert process.poll() is None  # disconnected only: the engine goes on
    finally:
        process.terminate()
        process.wait(30)


class _Named:
    """An engine as the label sees it: where it runs, its device and state (no requests)."""

    def __init__(self, where, device, state="ready"):
        self.where, self.device, self.state, self.detail, self.on_state = (
            where, device, state, "", None)

    def close(self):
        pass


@pytest.mark.parametrize(("where", "device", "state", "text"), [
    ("remote", {"kind": "GPU", "name": "NVIDIA H100", "count": 1}, "ready",
     "Engine: remote · NVIDIA H100"),
    ("remote", {"kind": "GPU", "name": "NVIDIA H100", "count": 4}, "ready",
     "Engine: remote · 4 × NVIDIA H100"),
    ("local", {"kind": "CPU", "name": "AMD EPYC 7B13", "count": 8}, "ready",
     "Engine: local · CPU (AMD EPYC 7B13)"),
    ("remote", None, "starting", "Engine: remote · starting…"),
    ("remote", {"kind": "GPU", "name": "NVIDIA H100", "count": 1}, "lost",
     "Engine: remote · link lost"),
    ("local", None, "restarting", "Engine: restarting…"),
])
def test_the_status_text_says_where_and_on_what(qtbot, where, device, state, text):
    from workbench.ui.engine_link import EngineHost, EngineLink
    from workbench.ui.engine_menu import status_text

    link = EngineLink(EngineHost(_Named(where, device, state)))
    assert status_text(link) == text
    link.close()
