"""The Experiments tab, driven through its widgets: pick what varies, run a sweep live, sort the
table, apply the best trial (undoable), the tutorial C preset, closing mid-sweep. The study and
Optuna live in the window; each trial trains in the engine (the session's in-process one)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QComboBox, QLineEdit, QPushButton, QSpinBox

from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow

SWEEP_TIMEOUT_MS = 240_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(load_template("mnist-mlp"))  # a fast model: Flatten, Dense 128, Dropout, Dense
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300, 50)
    w.state.path = tmp_path / "digits.json"  # the study goes beside it
    w.tabs.setCurrentWidget(w.experiments_panel)
    yield w
    w.experiments_panel.shutdown()
    w.training_panel.shutdown()
    w.state.undo_stack.setClean()
    w.close()
    w.deleteLater()
    qtbot.wait(10)


def click(qtbot, w, name):
    found = w.findChild(QPushButton, name)
    assert found is not None and found.isEnabled(), name
    qtbot.mouseClick(found, Qt.LeftButton)


def pick(panel, key):
    box = panel.findChild(QComboBox, "sweepKey")
    index = box.findData(key)
    assert index >= 0, key
    box.setCurrentIndex(index)


def wait_done(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.running, timeout=SWEEP_TIMEOUT_MS)


def test_pick_run_sort_and_apply_the_best_trial(qtbot, window):
    w, panel = window, window.experiments_panel
    pick(panel, "learning_rate")
    panel.space_editor.set_range(0.0005, 0.01, log=True)  # the editors' own spin boxes
    click(qtbot, w, "sweepAdd")
    pick(panel, "2.units")
    panel.space_editor.low.spin.setValue(8)
    panel.space_editor.high.spin.setValue(32)
    click(qtbot, w, "sweepAdd")
    assert panel.space_editor.space() == {
        "learning_rate": {"low": 0.0005, "high": 0.01, "log": True},
        "2.units": {"low": 8, "high": 32}}
    panel.findChild(QSpinBox, "sweepTrials").setValue(3)
    panel.findChild(QSpinBox, "sweepEpochs").setValue(1)
    panel.findChild(QComboBox, "sweepSampler").setCurrentIndex(1)  # random
    # Another storage, given by URL: one that cannot be opened is one line, its password hidden.
    storage = panel.findChild(QLineEdit, "sweepStorage")
    storage.setText("postgresql://me:secret@127.0.0.1:9/sweeps")
    click(qtbot, w, "sweepRun")
    wait_done(qtbot, panel)
    status = panel.status.text()
    assert "cannot open the sweep storage postgresql://me:***@127.0.0.1" in status
    assert "secret" not in status and "\n" not in status and panel.table.rowCount() == 0
    storage.clear()  # back to the SQLite file beside the project
    click(qtbot, w, "sweepRun")
    qtbot.waitUntil(lambda: panel.curves.point_count() > 0, timeout=SWEEP_TIMEOUT_MS)  # live
    wait_done(qtbot, panel)
    table = panel.table
    assert table.objectName() == "sweepTable" and table.rowCount() == 3
    assert set(table.column_values("state")) <= {"complete", "pruned"}
    # Sorting by value (a header click) orders rows by number, not text.
    column = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index(
        "value")
    table.sortByColumn(column, Qt.DescendingOrder)
    values = [v for v in table.column_values("value") if v != ""]
    assert values == sorted(values, reverse=True)
    best = panel.best
    assert best is not None and best.value == max(values)
    row = table.row_of(best.number)
    assert table.item(row, 0).font().bold()  # highlighted
    assert panel.parallel.lines[best.number].opts["pen"].width() == 3
    # Each axis reads its values: the log range in powers of ten, the units, the objective.
    lr_axis, units_axis, value_axis = panel.parallel.tick_texts
    assert lr_axis == ["5e-4", "1e-3", "1e-2"] and units_axis == ["8", "20", "32"]
    assert value_axis[-1] == f"{max(values):.4g}"
    assert len(panel.curves.shown_earlier_runs()) == 3  # each trial overlaid
    # Apply: the project's model and settings take the best trial's values, one undo step.
    click(qtbot, w, "sweepApplyBest")
    assert w.state.spec.layers[1].config["units"] == best.params["2.units"]
    assert w.state.training.learning_rate == pytest.approx(best.params["learning_rate"])
    w.state.undo_stack.undo()
    assert w.state.spec.layers[1].config["units"] == 128
    assert w.state.training.learning_rate == pytest.approx(0.001)
    # Run again, same project and space: the same study, which already holds its trials.
    click(qtbot, w, "sweepRun")
    wait_done(qtbot, panel)
    assert table.rowCount() == 3 and "already holds 3 trials" in panel.status.text()


def test_the_optimizer_preset_runs_the_four_and_overlays_them(qtbot, window, app_engine,
                                                              monkeypatch):
    w, panel = window, window.experiments_panel
    served = []  # what the engine was asked: the trials train there, not in the window
    handlers = app_engine.server.handlers
    for name in ("check_space", "train"):
        handler = handlers[name]
        monkeypatch.setitem(handlers, name, dataclasses.replace(
            handler, fn=lambda call, fn=handler.fn: served.append(call.message.name) or fn(call)))
    panel.findChild(QSpinBox, "sweepEpochs").setValue(1)
    click(qtbot, w, "sweepPresetOptimizers")
    wait_done(qtbot, panel)
    assert panel.table.rowCount() == 4
    assert served == ["check_space"] + ["train"] * 4
    shown = sorted(map(str, panel.table.column_values("optimizer")))
    assert shown == sorted(["SGD(momentum=0.9)", "adam", "rmsprop", "sgd"])
    assert panel.parallel.tick_texts[0] == ["sgd", "SGD(momentum=0.9)", "adam", "rmsprop"]
    assert set(panel.table.column_values("state")) == {"complete"}  # no pruning in the preset
    assert len(panel.curves.shown_earlier_runs()) == 4
    assert panel.importances.values or len({r.value for r in panel.reports.values()}) == 1
    labels = panel.curves.legend_labels()  # the trials are named as the table numbers them
    assert "trial 3" in labels and not any(t.startswith("run ") for t in labels)
    # A trial onto the Training tab's curves, beside the project's runs, and off again.
    training = w.training_panel.curves
    assert training.shown_earlier_runs() == []
    panel.table.selectRow(panel.table.row_of(2))
    overlay = panel.findChild(QPushButton, "sweepOverlay")
    assert not overlay.isChecked() and "trial 2" in overlay.toolTip()
    click(qtbot, w, "sweepOverlay")
    assert overlay.isChecked()  # pressed while trial 2 is drawn there
    assert len(training.shown_earlier_runs()) == 1
    assert {"trial 2 train (dashed)", "trial 2 validation"} <= set(training.legend_labels())
    assert len(training.loss_view._comparisons[training.shown_earlier_runs()[0]][1].xData) == 1
    menu = panel.trial_menu(panel.reports[2])  # the table's context menu
    assert menu.actions()[0].text() == "Take trial 2 off the Training tab"
    menu.actions()[0].trigger()
    assert training.shown_earlier_runs() == []
    assert not overlay.isChecked()
    for number in (0, 1):
        panel.trial_menu(panel.reports[number]).actions()[0].trigger()
    assert len(training.shown_earlier_runs()) == 2
    w.training_panel.curves.set_metric("mae")  # redrawn for another metric, still there
    w.training_panel.earlier.redraw_all()
    assert len(training.shown_earlier_runs()) == 2
    w.state.replace_project(load_template("mnist-mlp"))  # another project: its trials go
    assert training.shown_earlier_runs() == [] and not w.state.overlays.records()


def start_long_batch_size_sweep(qtbot, w, epochs: int) -> None:
    """Run a 50-trial sweep of the batch size (16–64) of ``epochs`` epochs each: long enough to
    be broken off."""
    panel = w.experiments_panel
    pick(panel, "batch_size")
    panel.space_editor.low.spin.setValue(16)
    panel.space_editor.high.spin.setValue(64)
    click(qtbot, w, "sweepAdd")
    panel.findChild(QSpinBox, "sweepTrials").setValue(50)
    panel.findChild(QSpinBox, "sweepEpochs").setValue(epochs)
    click(qtbot, w, "sweepRun")


def test_closing_the_window_mid_sweep_stops_and_keeps_finished_trials(qtbot, window):
    import optuna

    w, panel = window, window.experiments_panel
    start_long_batch_size_sweep(qtbot, w, epochs=2)
    qtbot.waitUntil(lambda: panel.table.rowCount() >= 1, timeout=SWEEP_TIMEOUT_MS)
    finished = panel.table.rowCount()
    storage, study_name = panel.sweep.storage, panel.sweep.study
    w.state.undo_stack.setClean()
    w.close()  # closeEvent: every task of the window cancelled and joined
    assert not panel.running
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials()
    assert all(t.state.is_finished() for t in trials)  # none left running
    kept = [t for t in trials if not t.user_attrs.get("stopped")]
    assert len(kept) >= finished and kept[0].state.name in ("COMPLETE", "PRUNED")
    assert len(trials) - len(kept) <= 1  # at most the one the close broke off


def test_stop_ends_the_engines_trial_and_a_new_run_goes_on_from_the_study(qtbot, window):
    import optuna

    w, panel = window, window.experiments_panel
    start_long_batch_size_sweep(qtbot, w, epochs=3)
    qtbot.waitUntil(lambda: panel.table.rowCount() >= 1 and panel.status.text().startswith(
        "Trial 1:") and panel.curves.point_count() > 0, timeout=SWEEP_TIMEOUT_MS)
    click(qtbot, w, "sweepStop")  # trial 1 training in the engine
    wait_done(qtbot, panel)  # the engine's run stopped within a batch: the task ended
    assert "Stopped;" in panel.status.text() and w.findChild(QPushButton, "sweepRun").isEnabled()
    study = optuna.load_study(study_name=panel.sweep.study, storage=panel.sweep.storage)
    assert all(t.state.is_finished() for t in study.get_trials())  # none left running
    kept = [t for t in study.get_trials() if not t.user_attrs.get("stopped")]
    assert len(study.get_trials()) - len(kept) == 1  # the trial the stop broke off: not counted
    panel.findChild(QSpinBox, "sweepTrials").setValue(len(kept) + 1)
    click(qtbot, w, "sweepRun")  # the same study: one more trial, then done
    wait_done(qtbot, panel)
    trials = study.get_trials()
    counted = [t for t in trials if not t.user_attrs.get("stopped")]
    assert len(counted) == len(kept) + 1 and counted[-1].state.name == "COMPLETE"
    assert panel.table.rowCount() == len(trials)


def test_the_window_starts_without_importing_optuna():
    code = ("from PyQt5.QtWidgets import QApplication; app = QApplication([]); "
            "from workbench.ui.main_window import MainWindow; w = MainWindow(load_dataset="
            "False); import sys; print('optuna' in sys.modules, 'tensorflow' in sys.modules)")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_parallel_coordinate_axes_are_labelled_in_the_settings_own_terms():
    from workbench.ui.experiments.plots import axis_ticks, value_ticks

    def texts(ticks):
        return [text for _y, text in sorted(ticks)]

    assert texts(axis_ticks({"low": 1e-6, "high": 1e-2, "log": True})) == [
        "1e-6", "1e-5", "1e-4", "1e-3", "1e-2"]
    ticks = axis_ticks({"low": 1e-4, "high": 1e-2, "log": True})
    assert [round(y, 3) for y, _t in ticks] == [0, 0.5, 1]  # a decade apart: evenly spaced
    assert texts(axis_ticks({"low": 0.0, "high": 0.5})) == ["0", "0.2", "0.4", "0.5"]
    assert texts(axis_ticks({"low": 32, "high": 256, "step": 32})) == ["32", "100", "200", "256"]
    assert texts(axis_ticks({"choices": [[3, 3], [5, 5], None]})) == ["[3, 3]", "[5, 5]", "None"]
    assert texts(value_ticks(0.8, 0.8)) == ["0.8"]
    assert texts(value_ticks(0.31, 0.93)) == ["0.31", "0.6", "0.8", "0.93"]  # 0.4 crowds 0.31
