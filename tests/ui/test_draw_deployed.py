"""The Draw tab's comparison: an exported model (ONNX, int8 TFLite) answers the drawing beside
Keras, live, once chosen in the box."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from tests.ui.test_draw import draw, give_weights, seven, wait_prediction
from workbench.actions.export import export_deployed
from workbench.core.build import build_model
from workbench.core.spec import ModelSpec


@pytest.fixture
def panel(draw_panel):
    return draw_panel  # the Draw tab; ``trained``: its model (tests/ui/conftest.py)


def exported(model_data, folder):
    spec, weights, data = model_data
    model = build_model(ModelSpec.from_dict(spec))
    model.set_weights(weights)
    onnx = export_deployed(model, "onnx", folder / "digits.onnx", data, count=100)
    int8 = export_deployed(model, "tflite", folder / "digits-int8.tflite", data, "int8",
                           count=100)
    return onnx.path, int8.path


def choose(qtbot, view, key):
    """Move the 'Compare with' box one item with the keyboard, as a user does."""
    view.deployed.box.setFocus()
    qtbot.keyClick(view.deployed.box, key)


def test_an_exported_model_answers_beside_keras(qtbot, panel, trained, tmp_path):
    onnx, int8 = exported(trained, tmp_path)
    give_weights(panel, trained)
    deployed = panel.deployed
    assert not deployed.isVisible() and deployed.box.currentText() == "Keras only"

    # An export made in this session is offered in the box; choosing it loads it (in a task).
    panel.state.bus.model_exported.emit(onnx)
    assert deployed.box.itemText(1) == "digits.onnx (ONNX)" and deployed.runtime is None
    choose(qtbot, panel, Qt.Key_Down)
    qtbot.waitUntil(lambda: deployed.runtime is not None, timeout=20_000)
    assert deployed.isVisible() and "onnxruntime" in deployed.title.text()
    draw(panel.canvas, seven())
    keras = wait_prediction(qtbot, panel)
    qtbot.waitUntil(lambda: deployed.view.probabilities is not None, timeout=5000)
    onnx_probs = deployed.view.probabilities
    np.testing.assert_allclose(onnx_probs, keras, atol=1e-4)
    assert deployed.last_latency_ms > 0
    assert deployed.comparison.text() == (
        "the same class as Keras; largest probability difference "
        f"{np.abs(keras - onnx_probs).max():.4f}; {deployed.last_latency_ms:.2f} ms in onnxruntime")

    # The int8 TFLite export answers the same drawing, in LiteRT, with its own numbers.
    panel.state.bus.model_exported.emit(int8)
    assert deployed.box.itemText(1) == "digits-int8.tflite (TFLite)"
    choose(qtbot, panel, Qt.Key_Up)
    qtbot.waitUntil(lambda: deployed.runtime is not None and deployed.path.suffix == ".tflite",
                    timeout=20_000)
    qtbot.waitUntil(lambda: "LiteRT" in deployed.comparison.text(), timeout=5000)
    probs = deployed.view.probabilities
    # Its softmax in steps of 1/256, renormalised (read as logits it would flatten to ~uniform).
    assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-6
    assert np.abs(probs - keras).max() < 0.15
    assert "largest probability difference" in deployed.comparison.text()
    assert int(np.argmax(probs)) == deployed.view.top_class

    # Back to Keras only: the second answer goes away.
    deployed.box.setFocus()
    qtbot.keyClick(deployed.box, Qt.Key_Home)
    assert deployed.box.currentText() == "Keras only"
    assert deployed.runtime is None and not deployed.isVisible()
