"""The Draw tab's "Why" overlay: a heatmap after each stroke, computed by the engine (views lane),
for the top class or a clicked bar's, with the method picked (Grad-CAM refused without a Conv2D)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication

from workbench.core import explain as core_explain
from workbench.core.templates import load_template
from workbench.ui.draw.panel import DrawPanel
from workbench.ui.state import ProjectState


@pytest.fixture(scope="module")
def trained():
    """The MNIST CNN (default template) trained one epoch on 600 digits, and an untrained MLP."""
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.datasets import load_dataset

    data = load_dataset("mnist-embedded").subset(600)
    set_seed(0)
    cnn = load_template("mnist-cnn")
    model = build_model(cnn.model)
    compile_model(model, cnn.training)
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)
    mlp = load_template("mnist-mlp").model
    return ((cnn.model.to_dict(), [w.copy() for w in model.get_weights()]),
            (mlp.to_dict(), build_model(mlp).get_weights()), data)


@pytest.fixture
def panel(qtbot, tmp_path, trained):
    state = ProjectState(load_template())
    state.data.dataset = trained[2]
    view = DrawPanel(state)
    qtbot.addWidget(view)
    view.set_samples_path(tmp_path / "my-digits.npz")
    view.resize(1100, 760)
    view.show()
    qtbot.waitExposed(view)
    spec, weights = trained[0]
    state.trained.set_weights(0, weights, spec)
    return view


@pytest.fixture
def calls(monkeypatch):
    """The thread of every attribution computed."""
    seen = []
    original = core_explain.explain

    def recording(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(core_explain, "explain", recording)
    return seen


def send(widget, kind, pos, button, buttons):
    QApplication.sendEvent(widget, QMouseEvent(kind, QPointF(*pos), button, buttons,
                                               Qt.NoModifier))


SEVEN = [(80 + 120 * t, 70) for t in np.linspace(0, 1, 12)] + \
        [(200 - 80 * t, 70 + 150 * t) for t in np.linspace(0, 1, 16)]


def draw_seven(qtbot, canvas, release=True):
    send(canvas, QEvent.MouseButtonPress, SEVEN[0], Qt.LeftButton, Qt.LeftButton)
    for p in SEVEN[1:]:
        send(canvas, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
        qtbot.wait(2)  # the bars follow the pen meanwhile
    if release:
        send(canvas, QEvent.MouseButtonRelease, SEVEN[-1], Qt.LeftButton, Qt.NoButton)


def test_a_stroke_gets_a_heatmap_of_the_top_class_from_the_engine(qtbot, panel, calls):
    why = panel.why
    draw_seven(qtbot, panel.canvas, release=False)
    qtbot.waitUntil(lambda: panel.prediction.probabilities is not None, timeout=10000)
    qtbot.wait(100)
    assert calls == []  # nothing computed while the pen is down: the bars keep the thread
    with qtbot.waitSignal(why.shown, timeout=10000):
        send(panel.canvas, QEvent.MouseButtonRelease, SEVEN[-1], Qt.LeftButton, Qt.NoButton)
    qtbot.wait(100)  # let a second request (if any) land
    assert calls and set(calls) == {"engine-views"}  # the engine's views lane, never the GUI
    heat = why.overlay.heatmap
    assert heat is not None and heat.shape == (28, 28) and np.abs(heat).max() == 1.0
    top = panel.prediction.top_class
    assert why.caption.text().startswith(f"Why {panel.prediction.class_names[top]}?")
    assert why.last_latency_ms is not None
    # The heatmap lies over the ink: its frame covers the drawn 7's box on the canvas.
    frame = why.overlay._frame
    assert frame.left() < 80 + 10 and frame.right() > 200 - 10
    assert frame.top() < 70 + 10 and frame.bottom() > 220 - 10


def test_clicking_a_bar_shows_that_classs_evidence(qtbot, panel):
    why = panel.why
    with qtbot.waitSignal(why.shown, timeout=10000):
        draw_seven(qtbot, panel.canvas)
    first = why.overlay.heatmap.copy()
    other = (panel.prediction.top_class + 3) % 10
    plot = panel.prediction._plot
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(0.3, other))
    at = plot.mapFromScene(scene)
    with qtbot.waitSignal(why.shown, timeout=10000):
        QTest.mouseClick(plot.viewport(), Qt.LeftButton, Qt.NoModifier, QPoint(at.x(), at.y()))
    assert why.target == other
    assert why.caption.text().startswith(f"Why {other}? (clicked")
    assert not np.allclose(why.overlay.heatmap, first)
    # Clicking the top class's bar goes back to following the answer.
    why._on_class_clicked(panel.prediction.top_class)
    assert why.target is None


def test_method_picker_and_gradcam_refused_without_conv2d(qtbot, panel, trained):
    why = panel.why
    with qtbot.waitSignal(why.shown, timeout=10000):
        draw_seven(qtbot, panel.canvas)
    assert why.method == "integrated-gradients"  # signed evidence first
    assert "Integrated Gradients" in why.caption.text() and "red: evidence for" in \
        why.caption.text()
    with qtbot.waitSignal(why.shown, timeout=10000):
        why.method_box.setCurrentIndex(why.method_box.findData("gradients"))
    assert "Gradients," in why.caption.text() and "most sensitive to" in why.caption.text()
    gradcam = why.method_box.findData("gradcam")
    assert why.method_box.model().item(gradcam).isEnabled()  # the CNN has Conv2D layers
    spec, weights = trained[1]  # now an MLP
    with qtbot.waitSignal(why.shown, timeout=10000):
        panel.state.trained.set_weights(0, weights, spec)
    with qtbot.waitSignal(why.shown, timeout=10000):
        why.method_box.setCurrentIndex(gradcam)
    assert why.overlay.heatmap is None
    assert "Grad-CAM needs a Conv2D" in why.caption.text()
    assert not why.method_box.model().item(gradcam).isEnabled()


def test_switched_off_or_cleared_there_is_no_heatmap(qtbot, panel, calls):
    why = panel.why
    with qtbot.waitSignal(why.shown, timeout=10000):
        draw_seven(qtbot, panel.canvas)
    panel.canvas.clear()
    qtbot.waitUntil(lambda: why.overlay.heatmap is None, timeout=2000)
    assert why.caption.text() == ""
    why.toggle.setChecked(False)
    calls.clear()
    draw_seven(qtbot, panel.canvas)
    qtbot.waitUntil(lambda: panel.prediction.probabilities is not None, timeout=10000)
    qtbot.wait(200)
    assert calls == [] and why.overlay.heatmap is None
    with qtbot.waitSignal(why.shown, timeout=10000):
        why.toggle.setChecked(True)
    assert why.overlay.heatmap is not None
