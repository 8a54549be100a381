"""Continue training (a run that goes on from the trained weights), and how runs' curves lie."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt

from tests.ui.test_training import (
    TRAIN_TIMEOUT_MS,
    button,
    configure,
    train_once,
    wait_for_points,
)
from workbench.core.spec import LayerSpec


def continue_once(qtbot, w):
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(button(w, "continueButton"), Qt.LeftButton)
    return done.args[0]


def test_continue_goes_on_from_the_last_runs_weights(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    go_on = button(w, "continueButton")
    assert not go_on.isEnabled() and "Train a run first" in go_on.toolTip()
    configure(state, epochs=2, batch_size=64)
    first = train_once(qtbot, w)
    assert first.result.status == "completed"
    assert go_on.isEnabled(), go_on.toolTip()
    assert "run 1 (after epoch 2)" in go_on.toolTip()
    reached = [x.copy() for x in state.trained.weights]

    configure(state, epochs=1, batch_size=64, learning_rate=1e-4)  # fine-tune: settings may change
    second = continue_once(qtbot, w)
    assert second.result.status == "completed", second.result.message
    record = state.project.runs[-1]
    assert record["id"] == 2 and record["continues"] == 1 and record["initial_epoch"] == 2
    # It started from run 1's weights, not from a fresh initialisation...
    epoch, initial = state.trained.weights_history[0]
    assert epoch == 1  # those after epoch 2 (#30: its epochs count on from run 1's)
    assert all(np.array_equal(a, b) for a, b in zip(initial, reached))
    # ...and its curves go on where run 1's ended: its epoch is the 3rd.
    assert list(panel.curves.history.epochs.column(0)) == [3.0]
    assert panel.curves.history.batches.column(0).min() > 2.0
    # Run 1 is drawn faintly under it, at epochs 1 and 2.
    assert panel.curves.shown_earlier_runs() == [1]
    table = panel.runs_table
    assert table.item(0, 3).text() == "1 (3)"
    assert "continues run 1 from epoch 2" in table.item(0, 8).text()
    # Continue again: the next run counts on from epoch 3.
    assert "run 2 (after epoch 3)" in go_on.toolTip()


def test_continue_is_refused_after_the_layers_changed(qtbot, window):
    w, state = window, window.state
    configure(state, epochs=1, batch_size=64)
    assert train_once(qtbot, w).result.status == "completed"
    go_on = button(w, "continueButton")
    assert go_on.isEnabled()
    state.insert_layer(len(state.spec.layers) - 1, LayerSpec("Dropout", {"rate": 0.1}))
    qtbot.waitUntil(lambda: state.inspection_current, timeout=20_000)
    assert not go_on.isEnabled()
    assert "layers changed" in go_on.toolTip()
    assert not w.training_panel.continue_training()
    state.undo_stack.undo()  # the same network again: its weights fit
    qtbot.waitUntil(go_on.isEnabled, timeout=10_000)


def test_the_train_menu_offers_continue_with_a_key(qtbot, window):
    w = window
    assert w.continue_action.shortcut().toString() == "Ctrl+F5"
    w.continue_action.trigger()  # nothing trained yet: says why in the status bar
    assert "Train a run first" in w.statusBar().currentMessage()


def test_the_finished_run_is_made_ahead_as_the_next_runs_faint_comparison(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=64)
    assert train_once(qtbot, w).result.status == "completed"
    curves = panel.curves
    # Run 1's faint curves are made a moment after its end, hidden and out of the legends...
    qtbot.waitUntil(lambda: 1 in curves.loss_view._comparisons, timeout=5000)
    assert curves.shown_earlier_runs() == []
    hidden = curves.loss_view._comparisons[1]
    assert hidden and not any(c.isVisible() for c in hidden)
    assert "run 1" not in legend_text(curves.loss_view)
    assert train_once(qtbot, w).result.status == "completed"
    # ...and run 2 shows those very items under its own curves, with their legend entries.
    assert curves.shown_earlier_runs() == [1]
    assert curves.loss_view._comparisons[1] == hidden and all(c.isVisible() for c in hidden)
    assert "run 1 train (dashed)" in legend_text(curves.loss_view)
    # Unticking run 1 removes it; ticking it again draws it afresh.
    panel.runs_table.set_shown(1, False)
    assert curves.shown_earlier_runs() == [] and 1 not in curves.loss_view._comparisons
    panel.runs_table.set_shown(1, True)
    assert curves.shown_earlier_runs() == [1]
    assert all(c.isVisible() for c in curves.loss_view._comparisons[1])


def legend_text(view) -> str:
    return " ".join(label.text for _sample, label in view.legend.items)


def test_while_a_run_trains_the_x_axis_spans_all_its_epochs(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=4, batch_size=8)
    plot = panel.curves.loss_plot.getPlotItem()
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
        wait_for_points(qtbot, panel, 3)
        (x0, x1), _ = plot.vb.viewRange()
        assert x0 <= 0.0 and 4.0 <= x1 < 4.5  # all four epochs from the first batch on
        assert not plot.vb.autoRangeEnabled()[0]
        panel.stop_training()
    # Stopped early: the axis fits what was trained again.
    assert plot.vb.autoRangeEnabled()[0]


def test_train_is_blocked_for_a_model_too_big_for_the_free_memory(qtbot, window, monkeypatch):
    """Issue 19: the GUI's Train makes the CLI's memory check before building the model."""
    import workbench.actions.train as train_action

    w, state = window, window.state
    train = button(w, "trainButton")
    assert train.isEnabled()
    monkeypatch.setattr(train_action, "available_memory", lambda: 1_000_000)  # 1 MB free
    state.set_layer_param(len(state.spec.layers) - 2, "units", 130)  # any edit re-checks
    qtbot.waitUntil(lambda: not train.isEnabled(), timeout=10_000)
    assert "too big to train here" in train.toolTip() and "GB free" in train.toolTip()
    assert not w.training_panel.start_training()
    # On a remote engine the memory is the engine machine's, not this one's: not checked here.
    monkeypatch.setattr(type(state.engine), "where", property(lambda self: "remote"))
    state.set_layer_param(len(state.spec.layers) - 2, "units", 131)
    qtbot.waitUntil(train.isEnabled, timeout=10_000)
