"""The builder's per-edit inspection asked of the engine (in-process transport): the document's
shapes come from there, the newest edit's answer wins, and edits made while the engine was down
are checked once it is back."""

from __future__ import annotations

import pytest

from workbench.core.spec import LayerSpec
from workbench.core.templates import load_template
from workbench.engine.client import EngineError
from workbench.engine.inprocess import InProcessEngine
from workbench.ui.engine_link import EngineLink
from workbench.ui.state import ProjectState


@pytest.fixture
def engine():
    with InProcessEngine() as running:
        yield running


def asked_names(engine):
    """Spy on the requests reaching the engine's handlers."""
    names = []
    for name, handler in engine.server.handlers.items():
        original = handler.fn
        handler.fn = (lambda call, original=original, name=name:
                      names.append(name) or original(call))
    return names


def test_inspections_come_from_the_engine(qtbot, engine):
    names = asked_names(engine)
    state = ProjectState(load_template("mnist-mlp"))
    with qtbot.waitSignal(state.inspection_changed, timeout=120000):
        state.attach_engine(EngineLink(engine))
    assert "inspect" in names and state.inspection_current
    assert state.inspection.ok and state.inspection.layers[-1].output_shape == (10,)
    # Edits: the newest one's answer is the one kept.
    for units in (16, 24, 32):
        state.project.model.layers[1].config["units"] = units
        state.model_changed.emit()
    qtbot.waitUntil(lambda: state.inspection_current, timeout=60000)
    dense = state.inspection.layers[1]
    assert dense.output_shape == (32,) and dense.params == 784 * 32 + 32
    state.stop_inspection()


def test_an_unbuildable_layer_is_the_engine_s_readable_error(qtbot, engine):
    state = ProjectState(load_template("mnist-mlp"))
    with qtbot.waitSignal(state.inspection_changed, timeout=120000):
        state.attach_engine(EngineLink(engine))
    state.project.model.layers.insert(0, LayerSpec.create("Conv2D", filters=4, kernel_size=3))
    with qtbot.waitSignal(state.inspection_changed, timeout=60000):
        state.model_changed.emit()
    assert state.inspection.error_index == 0 and "Reshape" in state.inspection.error
    assert state.inspection.layers[0].repair is not None  # the one-click fix crossed too
    state.stop_inspection()


class _Down:
    def __init__(self, engine):
        self.engine, self.up, self.state = engine, False, "restarting"

    def submit(self, *args, **kwargs):
        if not self.up:
            raise EngineError("the engine is restarting")
        return self.engine.submit(*args, **kwargs)

    def close(self):
        pass


def test_an_edit_made_while_the_engine_was_down_is_checked_when_it_is_back(qtbot, engine):
    down = _Down(engine)
    link = EngineLink(down)
    state = ProjectState(load_template("mnist-mlp"))
    state.attach_engine(link)
    assert state.inspection_pending and state.inspection is None  # "checking…", no error
    down.up = True
    with qtbot.waitSignal(state.inspection_changed, timeout=120000):
        link.state_changed.emit("ready", "CPU (test)")
    assert state.inspection_current and state.inspection.ok
    state.stop_inspection()
