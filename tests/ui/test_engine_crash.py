"""The engine killed (SIGKILL) in the middle of a run, with a real engine process: the window
stays up and says so, a new engine serves it, and the run that was cut short is kept with its
epochs, offering to go on from its last epoch's weights (Continue)."""

from __future__ import annotations

import os
import signal

import pytest
from PyQt5.QtCore import Qt

from tests.ui.test_training import TRAIN_TIMEOUT_MS, configure
from workbench.core.templates import load_template

pytestmark = pytest.mark.slow  # two TensorFlow processes start (~30-60 s)


@pytest.fixture
def crash_panel(qtbot):
    """The training panel alone on a project state working with an engine process of its own
    (not the tests' in-process engine: it is the one that is killed)."""
    from workbench.ui.engine_link import EngineHost, EngineLink
    from workbench.ui.state import ProjectState
    from workbench.ui.training.panel import controls_and_panel

    host = EngineHost()  # spawns `python -m workbench.engine`
    state = ProjectState(load_template())
    link = EngineLink(host, state)
    state.attach_engine(link)
    box, panel = controls_and_panel(state)
    state.setParent(box)
    qtbot.addWidget(box)
    box.show()
    state.data.load()
    qtbot.waitUntil(lambda: link.loaded and state.data.dataset is not None, timeout=180_000)
    state.data.dataset = state.data.dataset.subset(400)
    qtbot.waitUntil(lambda: panel.train_button.isEnabled() and state.inspection_current,
                    timeout=60_000)
    yield host, link, state, panel
    panel.shutdown()
    link.close()
    host.close()


def test_a_killed_engine_mid_run_keeps_the_run_and_a_new_engine_goes_on_from_it(
        qtbot, crash_panel):
    host, link, state, panel = crash_panel
    configure(state, epochs=50, batch_size=8)
    states: list[tuple[str, str]] = []
    link.state_changed.connect(lambda s, detail: states.append((s, detail)))
    with qtbot.waitSignal(state.trained.weights_updated, timeout=TRAIN_TIMEOUT_MS):
        qtbot.mouseClick(panel.train_button, Qt.LeftButton)  # killed once epoch 1 is in
    first_pid = host.engine.pid
    with qtbot.waitSignal(panel.training_finished, timeout=10_000) as finished:
        os.kill(first_pid, signal.SIGKILL)
        # The window hears it within 2 s: 'restarting', with the one line saying why.
        qtbot.waitUntil(lambda: any(s == "restarting" for s, _ in states), timeout=2000)
    assert not panel.train_button.isEnabled() or link.loaded  # off until the new one serves
    line = next(detail for s, detail in states if s == "restarting")
    assert "The engine stopped (killed by SIGKILL)" in line and "restarting (1 of 3)" in line

    outcome = finished.args[0]
    done = outcome.result.epochs_completed  # those whose weights came (at most one is lost)
    assert outcome.result.status == "stopped" and done >= 1
    assert done in (panel.epochs_done, panel.epochs_done - 1)
    record = state.project.runs[-1]
    assert record["id"] == 1 and record["status"] == "stopped" and record["epochs"] == done
    assert len(record["history"]["loss"]) == done
    assert "killed by SIGKILL" in record["message"]
    assert panel.banner.isVisible() and "killed by SIGKILL" in panel.banner_label.text()
    assert panel.isVisible() and panel.engine_run is None
    assert state.trained.weights_run == 1 and state.trained.weights_epoch >= done - 1

    # A new engine is ready; Continue goes on from the last epoch's weights, on it.
    qtbot.waitUntil(lambda: link.loaded, timeout=120_000)
    assert host.engine.pid != first_pid
    go_on = panel.continue_button
    qtbot.waitUntil(go_on.isEnabled, timeout=10_000)
    assert f"run 1 (after epoch {done})" in go_on.toolTip()
    configure(state, epochs=1, batch_size=64)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as again:
        qtbot.mouseClick(go_on, Qt.LeftButton)
    assert again.args[0].result.status == "completed", again.args[0].result.message
    second = state.project.runs[-1]
    assert second["continues"] == 1 and second["initial_epoch"] == done
