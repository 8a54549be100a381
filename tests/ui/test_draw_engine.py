"""Draw's probabilities through the engine (the in-process transport): the same bars as a Keras
model of the test's own, following each epoch's weights, and an engine that
lost the model (as after a restart) costs one stroke's answer, not the tab."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ui.conftest import plain_and_weights
from tests.ui.test_draw import draw, give_weights, keras_outputs, seven, wait_prediction
from workbench.core.templates import load_template
from workbench.engine.client import EngineError
from workbench.engine.inprocess import InProcessEngine
from workbench.ui.draw.panel import DrawPanel
from workbench.ui.engine_link import EngineLink
from workbench.ui.state import ProjectState


@pytest.fixture
def engine():
    with InProcessEngine() as running:
        yield running


@pytest.fixture
def panel(qtbot, tmp_path, trained, engine):  # ``trained``: tests/ui/conftest.py
    state = ProjectState(load_template())
    state.data.dataset = trained[2]
    state.trained.attach_engine(EngineLink(engine))
    view = DrawPanel(state)
    qtbot.addWidget(view)
    view.set_samples_path(tmp_path / "my-digits.npz")
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_bars_come_from_the_engine_and_follow_new_weights(qtbot, panel, trained):
    views = panel.state.trained.engine_views
    asked = []
    original = views.predict
    views.predict = lambda digit: asked.append(digit) or original(digit)
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    probs = wait_prediction(qtbot, panel)
    assert asked and probs.shape == (10,)
    # The same numbers as a Keras model of the test's own gives for exactly that input.
    here = keras_outputs(panel, panel.current_input[None])
    np.testing.assert_allclose(probs, here[0], atol=1e-5)
    spec, weights, _ = trained
    shifted = [w.copy() for w in weights]
    shifted[-1][3] += 5.0  # the next epoch's weights, set_weights into the engine's model
    panel.state.trained.set_weights(1, shifted, spec)
    qtbot.waitUntil(lambda: panel.prediction.top_class == 3, timeout=10000)


def test_an_opened_model_crosses_as_its_plain_config(qtbot, panel):
    from workbench.core.tf_loader import load_tensorflow

    _, keras = load_tensorflow()
    draw(panel.canvas, seven())
    odd = keras.Sequential([keras.Input((32, 32)), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    panel.state.trained.set_trained_model(*plain_and_weights(odd))
    qtbot.waitUntil(lambda: "(28, 28), (784,) or (28, 28, 1)" in panel.prediction.hint,
                    timeout=10000)
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])  # logits
    panel.state.trained.set_trained_model(*plain_and_weights(flat))
    probs = wait_prediction(qtbot, panel)
    assert abs(probs.sum() - 1.0) < 1e-6 and (probs >= 0).all()


def test_an_engine_that_lost_the_model_costs_one_answer(qtbot, panel, trained, engine):  # noqa: F811
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    engine.request("release", {"handle": panel.state.trained.engine_views.handle})
    panel.update_prediction()
    assert "holds no model" in panel.prediction.hint and panel.prediction.probabilities is None
    panel.update_prediction()  # the model was sent again: the next stroke has its answer
    assert panel.prediction.probabilities is not None


def test_the_window_shows_the_engine_and_leaves_it_to_its_owner(qtbot):
    from workbench.ui.main_window import MainWindow

    engine = InProcessEngine()
    window = MainWindow(load_dataset=False, engine=engine)
    qtbot.addWidget(window)
    label = window.statusBar().findChild(type(window._engine_label), "engineStatus")
    assert label is not None and label.text() == "Engine: local · ready"
    assert window.state.trained.engine_views is not None
    window.close()  # the engine is the app's (shared by its windows): closed when the app quits
    assert not engine.server.stopping
    engine.close()


class _Flaky:
    """An engine that is down (refuses every request) until ``up`` is set, as while one
    restarts."""

    def __init__(self, engine):
        self.engine, self.up, self.state = engine, False, "restarting"

    def submit(self, *args, **kwargs):
        if not self.up:
            raise EngineError("the engine is restarting")
        return self.engine.submit(*args, **kwargs)

    def request(self, *args, **kwargs):
        if not self.up:
            raise EngineError("the engine is restarting")
        return self.engine.request(*args, **kwargs)

    def close(self):
        pass


def test_weights_sent_while_the_engine_was_down_reach_it_when_it_is_back(
        qtbot, tmp_path, trained, engine):  # noqa: F811
    flaky = _Flaky(engine)
    link = EngineLink(flaky)
    state = ProjectState(load_template())
    state.data.dataset = trained[2]
    state.trained.attach_engine(link)
    view = DrawPanel(state)
    qtbot.addWidget(view)
    view.set_samples_path(tmp_path / "my-digits.npz")
    give_weights(view, trained)  # lost: the engine is down
    draw(view.canvas, seven())
    qtbot.waitUntil(lambda: "restarting" in view.prediction.hint, timeout=10000)
    flaky.up = True
    link.state_changed.emit("ready", "CPU (test)")  # the engine is back: the model goes again
    view.update_prediction()
    assert view.prediction.probabilities is not None
