"""Live training through the window, on the engine (the tests' in-process one): train, curves,
pause/resume, stop, NaN, failure, close. (``window``: the main window ready to train,
tests/ui/conftest.py.)"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication, QLabel, QPushButton, QToolButton

from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig
from workbench.ui.training import closing
from workbench.ui.training.history import GrowingArray, RunHistory

TRAIN_TIMEOUT_MS = 90_000


def configure(state, **changes) -> None:
    config = TrainConfig.from_dict(state.training.to_dict())
    for key, value in changes.items():
        setattr(config, key, value)
    state.set_training(config)


def button(w, name: str) -> QPushButton:
    found = w.findChild(QPushButton, name)
    assert found is not None, name
    return found


def train_once(qtbot, w):
    """Click Train (once Keras has checked the latest edit) and wait for the run to end; returns
    its RunOutcome."""
    qtbot.waitUntil(button(w, "trainButton").isEnabled, timeout=20_000)
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    return done.args[0]


def wait_for_points(qtbot, panel, n: int = 3) -> None:
    qtbot.waitUntil(lambda: panel.curves.point_count() >= n, timeout=TRAIN_TIMEOUT_MS)


def test_train_one_epoch_through_the_window(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=32)
    train = button(w, "trainButton")
    assert train.isEnabled(), train.toolTip()
    busy = []
    state.busy_changed.connect(busy.append)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(train, Qt.LeftButton)
        assert not train.isEnabled()  # no second Train while one runs
        assert button(w, "stopButton").isEnabled() and button(w, "pauseButton").isEnabled()
        assert not panel.start_training()
    outcome = finished.args[0]
    assert outcome.result.status == "completed", outcome.result.message
    assert busy == [True, False]
    assert panel.engine_run is None and train.isEnabled()

    loss_plot = w.findChild(pg.PlotWidget, "lossPlot")
    accuracy_plot = w.findChild(pg.PlotWidget, "accuracyPlot")
    steps = int(np.ceil(270 / 32))  # 300 samples, 10 % for validation
    for plot in (loss_plot, accuracy_plot):
        counts = [len(item.xData) for item in plot.getPlotItem().listDataItems()
                  if item.xData is not None]
        assert steps in counts  # every batch point is drawn (raw and smoothed)
        assert 1 in counts  # the validation point of the one epoch
    x = panel.curves.history.batches.column(0)
    assert np.allclose(x[-1], 1.0) and np.all(np.diff(x) > 0)
    assert np.isfinite(panel.curves.history.batches.column(1)).all()

    assert state.trained.weights is not None and state.trained.weights_epoch == 0
    assert len(state.project.runs) == 1
    record = state.project.runs[0]
    assert record["status"] == "completed" and record["epochs"] == 1
    assert set(record["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 0.0 <= record["test"]["accuracy"] <= 1.0
    assert panel.runs_table.rowCount() == 1
    assert "epoch" in panel.progress.text() or "Finished" in panel.progress.format()
    assert panel.lr_label.text() == "lr 0.001"
    assert "val" in panel.curves.loss_view.describe(1.0, 0.5)


def test_train_button_says_why_it_is_disabled(qtbot, window):
    w, state = window, window.state
    train = button(w, "trainButton")
    assert train.isEnabled()
    state.data.error = "the file is not an .npz archive"
    state.data.failed.emit(state.data.error)
    assert not train.isEnabled() and "not an .npz archive" in train.toolTip()
    state.data.error = ""
    state.data.loaded.emit()
    assert train.isEnabled()

    state.set_input_shape((30, 30))  # the data is 28×28: the model no longer fits it
    assert "Checking" in train.toolTip()  # a click now waits for Keras's answer...
    assert w.training_panel.start_training()
    qtbot.waitUntil(lambda: state.inspection_current, timeout=20_000)
    assert not train.isEnabled() and not w.training_panel.is_training  # ...which refuses it
    assert "28" in train.toolTip() and "30" in train.toolTip()
    state.undo_stack.undo()
    qtbot.waitUntil(train.isEnabled, timeout=5000)

    state.insert_layer(0, LayerSpec.create("Conv2D", filters=4, kernel_size=(3, 3)))  # needs 3-D
    qtbot.waitUntil(lambda: state.inspection_current, timeout=20_000)
    assert not train.isEnabled()
    assert "invalid" in train.toolTip().lower()


def test_pause_then_resume(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=8)
    pause = button(w, "pauseButton")
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    wait_for_points(qtbot, panel)
    qtbot.mouseClick(pause, Qt.LeftButton)
    assert pause.text() == "Resume" and panel.paused
    # The batch under way ends, is reported, and then the engine's training loop is held:
    # it says so after the points it sent before.
    run = panel.engine_run
    qtbot.waitUntil(lambda: run.held, timeout=TRAIN_TIMEOUT_MS)
    count = panel.curves.point_count()
    qtbot.wait(300)
    QApplication.processEvents()
    assert run.held and panel.curves.point_count() == count
    assert panel.engine_run is run and run.running
    assert panel.progress.format().startswith("Paused")

    qtbot.mouseClick(pause, Qt.LeftButton)
    assert pause.text() == "Pause" and not panel.paused
    qtbot.waitUntil(lambda: panel.curves.point_count() > count + 3, timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "stopButton"), Qt.LeftButton)
    assert finished.args[0].result.status == "stopped"


def test_stop_mid_epoch_ends_the_thread_quickly_and_keeps_weights(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=4)  # 68 batches an epoch
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    wait_for_points(qtbot, panel, 5)
    run = panel.engine_run
    assert panel.curves.history.batches.column(0)[-1] < 1.0  # still in the first epoch
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "stopButton"), Qt.LeftButton)
    assert not run.running and panel.engine_run is None
    outcome = finished.args[0]
    assert outcome.result.status == "stopped"
    # Stopped where it was: in the first epoch, not after running it to its end.
    assert outcome.result.epochs_completed == 0 and 0 < outcome.result.partial_batches < 68
    assert state.trained.weights is not None  # the weights reached mid-epoch, sent when it stopped
    assert state.project.runs[-1]["status"] == "stopped"


def test_a_stop_in_epoch_2_shows_one_full_epoch_and_no_validation_point_for_the_second(
        qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=3, batch_size=4)  # 68 batches an epoch
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.curves.point_count() and
                    panel.curves.history.batches.column(0)[-1] > 1.1, timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(panel.training_finished, timeout=10_000) as finished:
        qtbot.mouseClick(button(w, "stopButton"), Qt.LeftButton)
    result = finished.args[0].result
    assert result.status == "stopped" and result.epochs_completed == 1
    assert len(panel.curves.history.epochs) == 1  # one validation point: epoch 1
    assert list(panel.curves.loss_view.val_curve.xData) == [1.0]
    text = panel.progress.format()
    assert "Stopped · 1 epoch " in text and "of epoch 2" in text
    assert state.project.runs[-1]["epochs"] == 1
    assert panel.runs_table.item(0, 3).text() == "1"
    # The weights kept are the ones reached in epoch 2: Weights says so.
    w.tabs.setCurrentWidget(w.weights_panel)
    qtbot.waitUntil(lambda: w.weights_panel.weights.epoch_label.text() != "", timeout=10_000)
    assert w.weights_panel.weights.epoch_label.text() == "when stopped in epoch 2"


def test_stop_while_paused(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=8)
    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    wait_for_points(qtbot, panel)
    qtbot.mouseClick(button(w, "pauseButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.engine_run.held, timeout=TRAIN_TIMEOUT_MS)
    # A bound for a hang, not a speed figure: 3 s failed beside other work (load ~12 on 2 cores).
    with qtbot.waitSignal(panel.training_finished, timeout=30_000) as finished:
        qtbot.mouseClick(button(w, "stopButton"), Qt.LeftButton)
    assert finished.args[0].result.status == "stopped"


def test_nan_loss_is_reported_and_the_app_survives(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    # A linear model on raw pixels with squared error and SGD at 10 diverges within an epoch.
    state.set_model(ModelSpec((28, 28), [LayerSpec.create("Flatten"),
                                         LayerSpec.create("Dense", units=10, activation="linear")]))
    configure(state, optimizer="sgd", learning_rate=10.0, loss="mean_squared_error",
              epochs=2, batch_size=16)
    qtbot.waitUntil(lambda: button(w, "trainButton").isEnabled(), timeout=5000)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    result = finished.args[0].result
    assert result.status == "nan"
    epoch, batch = result.nan_at
    assert panel.banner.isVisible()
    text = panel.banner_label.text()
    assert f"epoch {epoch}" in text and f"batch {batch}" in text and "learning rate" in text
    assert w.isVisible() and button(w, "trainButton").isEnabled()
    assert state.project.runs[-1]["status"] == "nan"


def break_fit(monkeypatch) -> None:
    """Keras's fit fails in the engine (in this process, on its jobs lane) as TensorFlow's
    multi-line errors do."""
    import keras

    def broken_fit(*_args, **_kwargs):
        raise ValueError("Graph execution error:\n\nDetected at node x defined at (most recent "
                         "call last):\n  File ...\nSomething broke inside TensorFlow")

    monkeypatch.setattr(keras.Model, "fit", broken_fit)


def test_failure_in_the_engine_is_one_readable_message(qtbot, window, monkeypatch):
    w, panel, state = window, window.training_panel, window.state
    # A model whose output does not fit the labels no longer gets this far (Train waits, #18.3):
    # the failure comes from inside Keras.
    break_fit(monkeypatch)
    configure(state, epochs=1, batch_size=32)
    qtbot.waitUntil(lambda: button(w, "trainButton").isEnabled(), timeout=5000)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    result = finished.args[0].result
    assert result.status == "failed"
    assert panel.banner.isVisible()
    message = panel.banner_label.text()
    assert message.startswith("Training failed") and "\n" not in message
    assert "Traceback" not in message
    assert w.isVisible() and button(w, "trainButton").isEnabled()


def test_train_waits_for_a_layer(qtbot, window):
    """With no layers Train is off and says why (it used to start a run that failed)."""
    w, state = window, window.state
    train = button(w, "trainButton")
    clear = next(b for b in w.builder_panel.findChildren(QToolButton)
                 if b.defaultAction() is w.builder_panel.clear_action)
    qtbot.mouseClick(clear, Qt.LeftButton)
    assert state.spec.layers == []
    qtbot.waitUntil(lambda: not train.isEnabled(), timeout=5000)
    assert "no layers" in train.toolTip()
    assert "no layers" in w.training_panel.hint_label.text()
    assert not w.training_panel.start_training() and state.project.runs == []
    state.undo_stack.undo()
    qtbot.waitUntil(train.isEnabled, timeout=5000)


def test_a_failed_run_is_not_overlaid_and_its_banner_goes_with_the_fix(
        qtbot, window, monkeypatch):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=64)
    log_check = panel.log_check
    before = (button(w, "trainButton").mapTo(w, button(w, "trainButton").rect().topLeft()),
              log_check.mapTo(w, log_check.rect().topLeft()), panel.curves.geometry())
    break_fit(monkeypatch)  # a run that passes every check before it and fails in Keras
    assert train_once(qtbot, w).result.status == "failed"
    assert panel.banner.isVisible()
    # The banner lies over the plots: nothing moves when it appears.
    after = (button(w, "trainButton").mapTo(w, button(w, "trainButton").rect().topLeft()),
             log_check.mapTo(w, log_check.rect().topLeft()), panel.curves.geometry())
    assert after == before
    banner = panel.banner.geometry()
    assert banner.top() >= log_check.geometry().bottom() and banner.width() > 200
    # The fix takes the message away.
    monkeypatch.undo()
    configure(state, batch_size=32)
    assert not panel.banner.isVisible()
    qtbot.waitUntil(lambda: button(w, "trainButton").isEnabled(), timeout=5000)
    assert train_once(qtbot, w).result.status == "completed"
    # The failed run has no curves: it is not ticked for comparison.
    assert panel.curves.shown_earlier_runs() == []
    failed_row = panel.runs_table.item(1, 0)
    assert failed_row.checkState() == Qt.Unchecked


def test_a_long_status_message_is_not_cut_under_the_tensorflow_label(qtbot, window):
    w = window
    bar = w.statusBar()
    text = ("Opened /home/someone/projects/a-rather-long-folder-name/digits-experiment.json "
            "with its trained weights (digits-experiment.weights.keras); " * 6).strip()
    w.state.bus.status_message.emit(text)
    assert bar.currentMessage() == text
    shown = bar.shown_message()
    assert shown.endswith("…") and shown.startswith("Opened /home/someone")
    label = w._engine_label
    room = label.mapTo(bar, label.rect().topLeft()).x()
    assert bar.fontMetrics().horizontalAdvance(shown) < room
    assert bar.toolTip() == text  # all of it, on hovering


def test_after_an_edit_every_view_says_it_shows_the_previous_model(qtbot, window):
    """Train, then change Dense 64 → 32: Evaluation, Weights and Draw say whose results they
    show (run 1, before the edit); undoing the edit makes them the current model's again."""
    from tests.ui.test_draw import stroke, zero

    w, state = window, window.state
    configure(state, epochs=1, batch_size=64)
    assert train_once(qtbot, w).result.status == "completed"
    dense = next(i for i, layer in enumerate(state.spec.layers)
                 if layer.class_name == "Dense" and layer.config.get("units") == 64)
    notices = [w.evaluation_panel.previous_notice, w.weights_panel.previous_notice]
    for panel in (w.evaluation_panel, w.weights_panel):
        w.tabs.setCurrentWidget(panel)
        assert not panel.previous_notice.isVisible()
    state.set_layer_param(dense, "units", 32)
    for panel, notice in zip((w.evaluation_panel, w.weights_panel), notices, strict=True):
        w.tabs.setCurrentWidget(panel)
        assert notice.isVisible()
        assert "run 1" in notice.text() and "Dense units 64 → 32" in notice.text()
    w.tabs.setCurrentWidget(w.draw_panel)
    stroke(w.draw_panel.canvas, zero())
    qtbot.waitUntil(lambda: w.draw_panel.prediction.probabilities is not None, timeout=10000)
    prediction = w.draw_panel.prediction
    assert prediction.previous and "run 1" in prediction.note
    assert "previous model" in w.findChild(QLabel, "predictedProbability").text()
    # Undo: the weights are the current model's again.
    state.undo_stack.undo()
    qtbot.waitUntil(lambda: not prediction.previous, timeout=5000)
    assert prediction.probabilities is not None and "run 1" not in prediction.note
    assert not any(notice.isVisibleTo(notice.parentWidget()) for notice in notices)


def test_a_reopened_project_shows_its_last_run_as_trained(qtbot, window, tmp_path):
    """Weights and Evaluation say "epoch 2" for a run of 2 epochs, and the Training tab draws
    that run's curves at once (it said "Not started" until a run was ticked)."""
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=2, batch_size=64)
    assert train_once(qtbot, w).result.status == "completed"
    path = tmp_path / "two-epochs.json"
    assert w.project_actions.save_to(path)
    w.state.replace_project(type(state.project)(state.spec, state.training))  # something else
    assert panel.progress.format() == "Not started"
    assert w.project_actions.open_path(path)
    qtbot.waitUntil(lambda: state.trained.weights is not None, timeout=30_000)
    # The Training tab: the last run's epoch curves, and what it was.
    assert len(panel.curves.history.epochs) == 2
    assert np.isfinite(panel.curves.history.epochs.column(3)).all()  # validation points
    assert "Run 1" in panel.progress.format() and "2 epoch" in panel.progress.format()
    assert panel.runs_table.item(0, 0).text() == "current"
    # Weights and Evaluation: after epoch 2 of run 1.
    w.tabs.setCurrentWidget(w.weights_panel)
    qtbot.waitUntil(lambda: w.weights_panel.weights.epoch_label.text() != "", timeout=10_000)
    assert w.weights_panel.weights.epoch_label.text() == "after epoch 2 of 2"
    w.tabs.setCurrentWidget(w.evaluation_panel)
    qtbot.waitUntil(lambda: w.evaluation_panel.result is not None, timeout=30_000)
    assert "run 1, after epoch 2" in w.evaluation_panel.summary.text()


def test_the_weights_slider_starts_at_the_initial_weights(qtbot, window):
    w, state = window, window.state
    configure(state, epochs=1, batch_size=64)
    assert train_once(qtbot, w).result.status == "completed"
    assert [epoch for epoch, _ in state.trained.weights_history] == [-1, 0]
    w.tabs.setCurrentWidget(w.weights_panel)
    view = w.weights_panel.weights
    # (the layers come from the engine: the picture follows the label)
    qtbot.waitUntil(lambda: view.epoch_label.text() == "after epoch 1 of 1"
                    and "kernel" in view.shown, timeout=10_000)
    trained = view.shown["kernel"].copy()
    view.epoch_slider.setFocus()
    qtbot.keyClick(view.epoch_slider, Qt.Key_Home)
    assert view.epoch_label.text() == "initial weights (before training)"
    assert not np.allclose(view.shown["kernel"], trained)
    qtbot.keyClick(view.epoch_slider, Qt.Key_End)
    assert view.epoch_label.text() == "after epoch 1 of 1"


def test_close_during_training_asks_then_joins_the_thread(qtbot, window, monkeypatch):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=30, batch_size=8)
    asked = []

    def answer(choice):
        return lambda parent, epochs: asked.append(epochs) or choice

    qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    wait_for_points(qtbot, panel)
    run = panel.engine_run
    monkeypatch.setattr(closing, "ask_keep_run", answer("cancel"))
    w.close()
    assert len(asked) == 1
    assert w.isVisible() and run.running  # Cancel keeps the window and the run

    monkeypatch.setattr(closing, "ask_keep_run", answer("keep"))
    monkeypatch.setattr(type(w), "confirm_discard", lambda self: True)  # the run is unsaved
    w.close()
    assert not w.isVisible()
    assert not run.running and panel.engine_run is None  # its end received before it went
    # Nothing trained is lost: the run is in the project, with the weights it reached.
    assert state.project.runs and state.project.runs[-1]["status"] == "stopped"
    assert state.trained.weights is not None


def test_a_run_that_dies_gives_one_readable_message_and_the_app_stays_up(
        qtbot, window, monkeypatch):
    import workbench.actions.train as train_module  # what the engine's run calls

    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=32)

    def dying_train(*args, **kwargs):
        raise RuntimeError("CUDA_ERROR_OUT_OF_MEMORY: out of memory\n  at line 1 of kernel.cc")

    monkeypatch.setattr(train_module, "train", dying_train)
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    outcome = finished.args[0]
    assert outcome.result.status == "failed"
    assert outcome.result.message == "Training failed: CUDA_ERROR_OUT_OF_MEMORY: out of memory"
    assert panel.banner_label.text() == outcome.result.message
    assert panel.engine_run is None and button(w, "trainButton").isEnabled()  # ready again


def test_earlier_runs_are_listed_and_drawn_under_the_current_one(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=64)
    for _ in range(2):
        train_once(qtbot, w)
    assert [r["id"] for r in state.project.runs] == [1, 2]
    assert panel.runs_table.rowCount() == 2
    assert panel.runs_table.item(0, 1).text() == "#2"
    assert panel.curves.shown_earlier_runs() == [1]  # the previous run, drawn faintly
    panel.runs_table.set_shown(1, False)
    assert panel.curves.shown_earlier_runs() == []


def test_comparison_legend_and_what_changed_between_runs(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=64)
    train_once(qtbot, w)
    configure(state, learning_rate=0.01)
    dense = next(i for i, layer in enumerate(state.spec.layers)
                 if layer.class_name == "Dense" and layer.config.get("units") == 64)
    state.set_layer_param(dense, "units", 32)
    train_once(qtbot, w)
    # The faint run 1 under run 2: the legend says which of its lines is which.
    assert panel.curves.shown_earlier_runs() == [1]
    legend = [label.text for _sample, label in panel.curves.loss_view.legend.items]
    assert "run 1 train (dashed)" in legend and "run 1 validation" in legend
    table = panel.runs_table
    column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index(
        "Changed since the run before")
    newest, oldest = table.item(0, column), table.item(1, column)
    assert "learning rate 0.001 → 0.01" in newest.text()
    assert "Dense units 64 → 32" in newest.text()
    assert oldest.text() == "—"


def test_only_the_previous_run_is_shown_by_itself_runs_the_user_ticked_stay(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    configure(state, epochs=1, batch_size=256)
    for _ in range(3):
        train_once(qtbot, w)
    assert panel.curves.shown_earlier_runs() == [2]  # run 1 made way for run 2
    panel.runs_table.set_shown(1, True)  # the user wants run 1 too
    train_once(qtbot, w)
    assert sorted(panel.curves.shown_earlier_runs()) == [1, 3]


def test_regression_shows_mean_absolute_error(qtbot, window):
    w, panel, state = window, window.training_panel, window.state
    from workbench.core.templates import load_template

    with qtbot.waitSignal(state.data.loaded, timeout=60_000):
        state.replace_project(load_template("linear-regression"))
    configure(state, epochs=2, validation_split=0.2)
    qtbot.waitUntil(lambda: button(w, "trainButton").isEnabled(), timeout=5000)
    assert panel.curves.metric_view.title == "Mean absolute error"
    with qtbot.waitSignal(panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(button(w, "trainButton"), Qt.LeftButton)
    assert finished.args[0].result.status == "completed"
    assert np.isfinite(panel.curves.history.batches.column(3)).all()  # MAE per batch
    assert "val_mae" in state.project.runs[-1]["history"]
    assert "lowest" not in panel.runs_table.item(0, 4).text()
    assert panel.runs_table.item(0, 4).text().endswith("loss")


# Pieces without a window -----------------------------------------------------------------------


def test_history_arrays_grow_by_doubling():
    array = GrowingArray(2, capacity=4)
    capacities = set()
    for i in range(1000):
        array.append([[i, -i]])
        capacities.add(array.capacity)
    assert len(array) == 1000 and array.column(0)[-1] == 999 and array.column(1)[10] == -10
    assert capacities == {4 * 2 ** k for k in range(9)}  # 4 … 1024: ~log2(n) reallocations
    view = array.column(0)
    array.append(np.zeros((5000, 2)))
    assert len(view) == 1000 and view[-1] == 999  # earlier views stay valid


def test_smoothed_curve_follows_the_raw_one():
    history = RunHistory()
    history.reset(steps_per_epoch=50)
    history.add_batches(np.column_stack([np.arange(1, 101) / 50, np.full(100, 2.0),
                                         np.full(100, np.nan)]))
    assert np.allclose(history.batches.column(2), 2.0)  # debiased: no ramp up from zero
    assert np.isnan(history.batches.column(4)).all()


def test_the_run_is_built_in_the_engine_and_seeded_as_the_command_lines(
        qtbot, window, monkeypatch):
    """The run's model is built by the engine (on its jobs lane), never in the window; the
    seeded run is the same twice, and the same as the core path the command line takes."""
    import threading

    import workbench.core.build as build

    w, state = window, window.state
    configure(state, epochs=1, batch_size=32, seed=7)
    real_build = build.build_seeded_model
    builds = []

    def recording_build(*args, **kwargs):
        builds.append(threading.current_thread().name)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(build, "build_seeded_model", recording_build)
    losses = []
    for _ in range(2):
        outcome = train_once(qtbot, w)
        assert outcome.result.status == "completed", outcome.result.message
        losses.append(outcome.record.history["loss"][0])
    assert builds == ["engine-jobs", "engine-jobs"]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)

    from workbench.core.build import compile_model
    from workbench.core.training import prepare_data, run_training

    config = TrainConfig.from_dict(state.training.to_dict())
    plain = real_build(state.spec, config.seed)
    compile_model(plain, config)
    data = prepare_data(state.data.dataset, state.spec.input_shape, config, plain.output_shape[1:])
    assert run_training(plain, data, config).history["loss"][0] == pytest.approx(
        losses[0], rel=1e-5)
