"""What a window's run on the engine adds: a dataset file of the user's goes to the engine once,
by its content (a task sends it, never the GUI thread), and quitting mid-run with Discard leaves
the run out. (``window``: the main window ready to train, tests/ui/conftest.py.)"""

from __future__ import annotations

import hashlib

import numpy as np
from PyQt5.QtCore import Qt

from tests.ui.test_training import button, configure, train_once, wait_for_points
from workbench.ui.training import closing


def test_a_dataset_file_goes_to_the_engine_once_by_its_content(qtbot, window, tmp_path,
                                                               monkeypatch):
    import threading

    import workbench.engine.datacache as datacache

    w, state = window, window.state
    digits = state.data.dataset
    path = tmp_path / "my-digits.npz"
    np.savez(path, x_train=(digits.x_train * 255).astype(np.uint8), y_train=digits.y_train,
             x_test=(digits.x_test * 255).astype(np.uint8), y_test=digits.y_test)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))  # the engine's cache
    sent, senders = [], []
    real_put = datacache.put_data
    real_send = datacache.send

    def counting_put(body, client):
        sent.append(int(body["chunk"].size))
        return real_put(body, client)

    def recording_send(*args, **kwargs):
        senders.append(threading.current_thread().name)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(datacache, "put_data", counting_put)
    monkeypatch.setattr(datacache, "send", recording_send)
    with qtbot.waitSignal(state.data.loaded, timeout=60_000):
        state.set_dataset(str(path))
    configure(state, epochs=1, batch_size=64)
    outcome = train_once(qtbot, w)
    assert outcome.result.status == "completed", outcome.result.message
    assert sum(sent) == path.stat().st_size
    assert senders == ["engine-data-send"]
    assert state.engine.request("has_data", {"hash": digest}, timeout=30)["present"]
    assert state.project.runs[-1]["dataset"] == str(path)
    assert train_once(qtbot, w).result.status == "completed"
    assert sum(sent) == path.stat().st_size  # the second run sent nothing


def test_quitting_mid_run_with_discard_leaves_the_run_out(qtbot, window, monkeypatch):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=8)
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    wait_for_points(qtbot, panel)
    run = panel.engine_run
    monkeypatch.setattr(closing, "ask_keep_run", lambda parent, epochs: "discard")
    monkeypatch.setattr(type(w), "confirm_discard", lambda self: True)
    w.close()
    assert not w.isVisible() and not run.running
    assert state.project.runs == []
    assert panel.last_outcome is not None and panel.last_outcome.record is None


def test_a_stop_before_the_engine_takes_the_run_up_still_stops_it(qtbot, window, app_engine):
    """Stop clicked while the run waits behind another job on the engine's jobs lane: the stop
    request finds no run then; it is sent again once the run begins, and the run stops at once."""
    import queue

    from tests.engine.conftest import tiny_train

    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=8)
    events: queue.SimpleQueue = queue.SimpleQueue()
    body = tiny_train(config={**tiny_train()["config"], "epochs": 500}, weights=False)
    first = app_engine.submit("train", body, on_event=events.put)  # holds the jobs lane
    while events.get(timeout=120).name != "train_begin":
        pass
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    run = panel.engine_run
    qtbot.waitUntil(lambda: run.request is not None, timeout=30_000)
    qtbot.mouseClick(button(w, "stopButton"), Qt.LeftButton)
    qtbot.wait(200)  # the stop's answer: no such run yet
    assert run.running
    with qtbot.waitSignal(panel.training_finished, timeout=120_000) as finished:
        app_engine.request("stop", {"request": first.id}, timeout=10)
    outcome = finished.args[0]
    assert outcome.result.status == "stopped" and outcome.result.epochs_completed == 0
    assert first.result(60)["status"] == "stopped"
