"""Issue #30, points 11–14: what the user had to discover, stale content, glyphs and labels."""

from __future__ import annotations

from tests.ui.test_evaluation import ready_window

# Point 11 ----------------------------------------------------------------------------------------

def test_a_linear_output_with_cross_entropy_is_said_on_the_model_tab(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = w.builder_panel
    assert panel.tabs.currentIndex() == 0  # the Model tab
    assert not panel.stack.warnings.isVisible()
    last = len(w.state.spec.layers) - 1
    w.state.set_layer_param(last, "activation", "linear")
    qtbot.waitUntil(lambda: panel.stack.warnings.isVisible(), timeout=10_000)
    assert "softmax" in panel.stack.warnings.text()
    w.state.undo_stack.undo()
    qtbot.waitUntil(lambda: not panel.stack.warnings.isVisible(), timeout=10_000)
    w.state.undo_stack.setClean()
