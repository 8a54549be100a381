"""#30 points 1-6, "wrong results or state", driven through the window's widgets: Draw's comparison
follows the project, every edit path is refused while a run trains, closing mid-run keeps or
discards the run, drawn samples belong to one project, no run beside a sweep, one way of writing
each run figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QApplication, QPushButton, QSpinBox, QToolButton

from tests.ui import test_project_actions as file_menu
from tests.ui.test_draw import seven, stroke
from tests.ui.test_file_menu import add_drawings, press
from workbench.core.build import build_model
from workbench.core.project import load_project, weights_path
from workbench.core.recovery import find_recoveries, recovery_root
from workbench.core.run_text import percent
from workbench.core.spec import TrainConfig
from workbench.ui.draw import samples
from workbench.ui.draw.deployed import KERAS_ONLY
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions

_isolated = file_menu._isolated
make_window = file_menu.make_window
TRAIN_TIMEOUT_MS = 90_000


def configure(state, **changes) -> None:
    config = TrainConfig.from_dict(state.training.to_dict())
    for key, value in changes.items():
        setattr(config, key, value)
    state.set_training(config)


def widget(w, kind, name):
    found = w.findChild(kind, name)
    assert found is not None, name
    return found


def start_long_run(qtbot, w) -> None:
    """Click Train on a run long enough to act during it; wait for its first curve points."""
    configure(w.state, epochs=200, batch_size=8)
    train = widget(w, QPushButton, "trainButton")
    qtbot.waitUntil(train.isEnabled, timeout=20_000)
    qtbot.mouseClick(train, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.training_panel.curves.point_count() >= 2, timeout=TRAIN_TIMEOUT_MS)


def stop_run(qtbot, w) -> None:
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        qtbot.mouseClick(widget(w, QPushButton, "stopButton"), Qt.LeftButton)


# --- 1: Draw's "Compare with" belongs to the project's model ------------------------------------


def test_compare_with_an_export_is_forgotten_when_another_project_opens(qtbot, make_window,
                                                                        tmp_path):
    w = make_window()
    w.show()
    w.tabs.setCurrentWidget(w.draw_panel)
    deployed = w.draw_panel.deployed
    export = tmp_path / "MNIST-MLP.onnx"
    export.write_bytes(b"not really onnx")  # its runtime fails: the choice stays all the same
    w.state.bus.model_exported.emit(str(export))  # what File ▸ Export does once it has run
    box = deployed.box
    index = box.findData(str(export))
    assert index > 0
    box.setCurrentIndex(index)
    box.activated.emit(index)  # the user picks it
    qtbot.waitUntil(lambda: not deployed.loading, timeout=30_000)
    assert box.currentData() == str(export) and deployed.isVisible()

    action = next(a for a in w.templates_menu.actions() if "CNN" in a.text())
    action.trigger()  # another project (File ▸ New from template ▸ MNIST CNN)
    assert box.currentText() == KERAS_ONLY
    assert box.findData(str(export)) < 0  # not offered for a model it was not exported from
    assert not deployed.isVisible() and deployed.runtime is None and deployed.path is None


# --- 2: every edit path honours the read-only state of a run -----------------------------------


def test_no_undo_or_redo_button_changes_the_model_while_a_run_trains(qtbot, make_window):
    w = make_window()
    w.show()
    state = w.state
    w.builder_panel.add_layer("Dropout")
    w.builder_panel.add_layer("Dropout")
    state.undo()  # something to undo and something to redo
    start_long_run(qtbot, w)
    spec = (state.spec.to_dict(), state.training.to_dict())
    try:
        w.tabs.setCurrentWidget(w.graph_panel)
        for name in ("graphUndoButton", "graphRedoButton", "builderUndoButton",
                     "builderRedoButton"):
            button = widget(w, QToolButton, name)
            assert not button.isEnabled(), name
            button.defaultAction().trigger()  # even a script's trigger is refused
            qtbot.mouseClick(button, Qt.LeftButton)
            assert (state.spec.to_dict(), state.training.to_dict()) == spec, name
        w.undo_action.trigger()
        press(w, QKeySequence(QKeySequence.Undo))  # Ctrl+Z
        # Every other edit path: graph menus, fixes, the stack's keys, palette, properties,
        # settings, templates.
        w.graph_panel.action("graphAdd_Dense").trigger()
        assert not w.graph_panel.fix_button.isEnabled()
        builder = w.builder_panel
        for view in (builder.palette_view, builder.stack, builder.properties, builder.settings):
            assert not view.isEnabled(), type(view).__name__
        qtbot.keyClick(builder.stack.tree, Qt.Key_Delete)
        builder.add_layer("Dropout")
        next(a for a in w.templates_menu.actions() if "CNN" in a.text()).trigger()
        assert (state.spec.to_dict(), state.training.to_dict()) == spec
    finally:
        stop_run(qtbot, w)
    assert widget(w, QToolButton, "graphUndoButton").isEnabled()
    widget(w, QToolButton, "graphUndoButton").click()
    assert (state.spec.to_dict(), state.training.to_dict()) != spec  # Undo works again


# --- 5: no run beside a sweep --------------------------------------------------------------------


def test_train_waits_for_a_sweep_and_a_sweep_for_a_run(qtbot, make_window, tmp_path):
    w = make_window()
    w.show()
    w.state.path = tmp_path / "digits.json"  # the study goes beside it
    panel = w.experiments_panel
    w.tabs.setCurrentWidget(panel)
    panel.space_editor.set_space({"learning_rate": {"low": 0.001, "high": 0.01, "log": True}})
    widget(panel, QSpinBox, "sweepTrials").setValue(50)
    widget(panel, QSpinBox, "sweepEpochs").setValue(1)
    train = widget(w, QPushButton, "trainButton")
    qtbot.waitUntil(train.isEnabled, timeout=20_000)
    qtbot.mouseClick(widget(panel, QPushButton, "sweepRun"), Qt.LeftButton)
    try:
        assert panel.running
        assert not train.isEnabled() and "sweep" in train.toolTip()
        qtbot.mouseClick(train, Qt.LeftButton)
        w.train_action.trigger()  # F5
        assert not w.training_panel.is_training and not w.state.busy
        assert "sweep" in w.statusBar().currentMessage()
    finally:
        panel.stop()
        qtbot.waitUntil(lambda: not panel.running, timeout=240_000)
    qtbot.waitUntil(train.isEnabled, timeout=20_000)

    start_long_run(qtbot, w)  # and the other way round: no sweep beside a run
    try:
        run = widget(panel, QPushButton, "sweepRun")
        assert not run.isEnabled()
        panel.run_sweep()
        assert not panel.running
    finally:
        stop_run(qtbot, w)
    assert widget(panel, QPushButton, "sweepRun").isEnabled()


# --- 3: closing mid-run keeps or discards the run; a clean quit leaves no recovery --------------


def answer_modal(qtbot, name: str, button: str) -> list[str]:
    """Click ``button`` (an object name, or a standard button's text) in the modal dialog
    ``name`` as soon as it shows; returns [its text] once answered."""
    seen: list[str] = []

    def click() -> None:
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != name:
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        target = box.findChild(QPushButton, button) or next(
            b for b in box.findChildren(QPushButton) if b.text().replace("&", "") == button)
        qtbot.mouseClick(target, Qt.LeftButton)

    QTimer.singleShot(0, click)
    return seen


def saved_window(qtbot, tmp_path, monkeypatch) -> tuple[MainWindow, Path]:
    """A window on a saved project, its run training (at least one epoch done)."""
    w = MainWindow()
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300)
    configure(w.state, epochs=200, batch_size=8)
    path = tmp_path / "p.json"
    file_menu.answer_save(monkeypatch, path)
    assert w.project_actions.save_as()
    epochs = []
    w.state.trained.weights_updated.connect(epochs.append)
    start_long_run(qtbot, w)
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=TRAIN_TIMEOUT_MS)
    return w, path


def assert_no_recovery_left(qtbot, w) -> None:
    root = recovery_root()
    w.deleteLater()  # the window goes: its recovery session ends
    qtbot.waitUntil(lambda: not root.is_dir() or not any(root.iterdir()), timeout=10_000)
    assert find_recoveries() == []  # the next start does not claim an unclean close


def test_closing_mid_run_keeps_the_epochs_done_and_save_saves_them(qtbot, tmp_path,
                                                                    monkeypatch):
    w, path = saved_window(qtbot, tmp_path, monkeypatch)
    asked = []
    monkeypatch.setattr(ProjectActions, "ask_unsaved",
                        lambda self: asked.append(self.state.project.runs[-1]) or "save")
    question = answer_modal(qtbot, "closeRunPrompt", "keepRunButton")
    w.close()
    assert question and "Keep the " in question[0] and "epoch" in question[0]
    assert not w.isVisible()
    assert asked and asked[0]["status"] == "stopped"  # in the project before the save question
    saved = load_project(path)
    assert saved.runs and saved.runs[-1]["status"] == "stopped" and saved.runs[-1]["epochs"] >= 1
    assert weights_path(path).exists()  # with the weights it reached
    assert not w.training_panel.is_training
    assert_no_recovery_left(qtbot, w)


def test_closing_mid_run_can_discard_the_run_or_cancel(qtbot, tmp_path, monkeypatch):
    w, path = saved_window(qtbot, tmp_path, monkeypatch)
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: pytest.fail("asked to save"))
    answer_modal(qtbot, "closeRunPrompt", "Cancel")
    w.close()
    assert w.isVisible() and w.training_panel.is_training  # Cancel: the run goes on

    answer_modal(qtbot, "closeRunPrompt", "discardRunButton")
    w.close()
    assert not w.isVisible() and not w.training_panel.is_training
    assert w.state.project.runs == [] and load_project(path).runs == []
    assert_no_recovery_left(qtbot, w)


def test_a_crashed_saved_project_is_offered_by_its_file_name(make_window, tmp_path, monkeypatch):
    w = make_window()
    file_menu.answer_save(monkeypatch, tmp_path / "p.json")
    assert w.project_actions.save_as()
    w.state.remove_layer(0)
    w.project_actions.autosave_now()
    w.project_actions.recovery.abandon()  # the process "dies"
    found = find_recoveries()
    assert len(found) == 1 and "“p.json”" in found[0].describe()  # not the template's title


# --- 4: drawn samples belong to one project -----------------------------------------------------


def draw_seven(qtbot, panel) -> None:
    panel.canvas.clear()
    for points in seven():
        stroke(panel.canvas, points)
    panel.update_prediction()  # what its timer does a moment later
    assert panel.current_input is not None


def test_a_new_project_neither_shows_the_last_ones_samples_nor_reuses_its_label(qtbot,
                                                                                  make_window):
    w = make_window()
    w.show()
    state, panel = w.state, w.draw_panel
    gallery = panel.gallery
    w.tabs.setCurrentWidget(panel)
    state.trained.set_weights(0, build_model(state.spec).get_weights(), state.spec.to_dict())
    draw_seven(qtbot, panel)
    gallery.label_box.setCurrentIndex(4)  # the user says what it is
    qtbot.mouseClick(gallery.add_button, Qt.LeftButton)
    assert gallery.count == 1

    w.project_actions.new_action.trigger()  # a new, untrained project (unsaved: discarded)
    assert not state.trained.has_model and gallery.count == 0  # not the last project's samples
    draw_seven(qtbot, panel)
    assert gallery.label_box.currentIndex() == -1  # no answer, no choice: no label yet
    assert not gallery.add_button.isEnabled()
    gallery.label_box.setCurrentIndex(7)
    qtbot.mouseClick(gallery.add_button, Qt.LeftButton)
    assert samples.load_samples(gallery.path)[1].tolist() == [7]
    assert w.state.dirty  # the new project's samples: closing asks to save them


def test_save_as_beside_another_project_keeps_their_samples_apart_and_merging_asks(
        qtbot, make_window, monkeypatch, tmp_path):
    other = samples.samples_location(tmp_path / "other.json")
    for label in (1, 7, 4):  # another project's drawings, in the folder the user saves into
        samples.append_sample(other, np.zeros((28, 28), np.float32), label,
                              [str(i) for i in range(10)])
    w = make_window()
    w.show()
    add_drawings(qtbot, w)  # a 7 and a 0, in the unsaved project
    monkeypatch.setattr(ProjectActions, "ask_merge_samples",
                        lambda *a: pytest.fail("asked to merge"), raising=False)
    file_menu.answer_save(monkeypatch, tmp_path / "mine.json")
    assert w.project_actions.save_as()
    assert samples.load_samples(other)[1].tolist() == [1, 7, 4]  # untouched
    mine = samples.samples_location(tmp_path / "mine.json")
    assert w.draw_panel.gallery.path == mine and samples.load_samples(mine)[1].tolist() == [7, 0]

    monkeypatch.undo()  # the real questions, answered below through the box
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    file_menu.answer_save(monkeypatch, tmp_path / "other.json")  # saved over the other one
    question = answer_modal(qtbot, "mergeSamplesPrompt", "No")
    assert w.project_actions.save_as()
    assert question and "3 drawn samples of another project" in question[0]
    assert samples.load_samples(other)[1].tolist() == [1, 7, 4]  # No: nothing merged
    assert samples.load_samples(mine)[1].tolist() == [7, 0]
    answer_modal(qtbot, "mergeSamplesPrompt", "Yes")
    file_menu.answer_save(monkeypatch, tmp_path / "third.json")
    samples.append_sample(samples.samples_location(tmp_path / "third.json"),
                          np.zeros((28, 28), np.float32), 2, [str(i) for i in range(10)])
    w.state.path = tmp_path / "mine.json"
    assert w.project_actions.save_as()
    assert samples.load_samples(samples.samples_location(tmp_path / "third.json"))[1].tolist() \
        == [2, 7, 0]


# --- 6: each figure written one way ---------------------------------------------------------------


def finish(qtbot, w, name: str):
    button = widget(w, QPushButton, name)
    qtbot.waitUntil(button.isEnabled, timeout=20_000)
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(button, Qt.LeftButton)
    return done.args[0]


def shown_labels(qtbot, w) -> tuple[str, str]:
    """What Weights and Evaluation say about the weights they show."""
    w.tabs.setCurrentWidget(w.weights_panel)
    label = w.weights_panel.weights.epoch_label
    qtbot.waitUntil(lambda: label.text() != "", timeout=10_000)
    panel = w.evaluation_panel
    panel.result = None
    w.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.result is not None and not panel.worker.busy, timeout=30_000)
    return label.text(), panel.summary.text()


def test_a_continued_run_is_labelled_alike_in_every_view_and_after_reopening(
        qtbot, make_window, tmp_path, monkeypatch):
    w = make_window()
    w.show()
    state, panel = w.state, w.training_panel
    configure(state, epochs=1, batch_size=64)
    qtbot.waitUntil(lambda: "Ready" in panel.hint_label.text(), timeout=20_000)
    assert "1 epoch of batch 64" in panel.hint_label.text()  # not "1 epochs"
    assert finish(qtbot, w, "trainButton").result.status == "completed"
    configure(state, epochs=2, batch_size=64)
    assert finish(qtbot, w, "continueButton").result.status == "completed"  # epochs 2 and 3

    def check(where: str) -> None:
        assert panel.runs_table.item(0, 3).text() == "2 (2–3)", where
        assert panel.runs_table.item(0, 2).text() == "Finished", where  # as the progress says
        assert "2 epochs (2–3)" in panel.progress.format(), where
        weights, evaluation = shown_labels(qtbot, w)
        assert weights == "after epoch 3 of 3", where
        assert "run 2, after epoch 3" in evaluation, where
        test = panel.runs_table.item(0, 6).text().removesuffix(" acc")
        assert test == percent(state.project.runs[-1]["test"]["accuracy"])
        assert f"Test accuracy {test}" in evaluation, where  # the same figure, written alike

    check("after the run")
    slider = w.weights_panel.weights.epoch_slider
    w.tabs.setCurrentWidget(w.weights_panel)
    qtbot.keyClick(slider, Qt.Key_Home)  # the weights it went on from: run 1's
    assert w.weights_panel.weights.epoch_label.text() == "after epoch 1 of 3"

    path = tmp_path / "continued.json"
    file_menu.answer_save(monkeypatch, path)
    assert w.project_actions.save_as()
    w.project_actions.new_action.trigger()
    assert w.project_actions.open_path(path)
    qtbot.waitUntil(lambda: state.trained.weights is not None, timeout=30_000)
    check("reopened")


def test_a_run_stopped_inside_an_epoch_says_so_in_evaluation_too(qtbot, make_window, tmp_path,
                                                                  monkeypatch):
    w = make_window()
    w.show()
    state, panel = w.state, w.training_panel
    configure(state, epochs=3, batch_size=4)  # 68 batches an epoch
    qtbot.mouseClick(widget(w, QPushButton, "trainButton"), Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.curves.point_count() and
                    panel.curves.history.batches.column(0)[-1] > 1.1, timeout=TRAIN_TIMEOUT_MS)
    stop_run(qtbot, w)
    assert state.project.runs[-1]["epochs"] == 1
    weights, evaluation = shown_labels(qtbot, w)
    assert weights == "when stopped in epoch 2"
    assert "run 1, when stopped in epoch 2" in evaluation

    path = tmp_path / "stopped.json"
    file_menu.answer_save(monkeypatch, path)
    assert w.project_actions.save_as()
    w.project_actions.new_action.trigger()
    assert w.project_actions.open_path(path)
    qtbot.waitUntil(lambda: state.trained.weights is not None, timeout=30_000)
    weights, evaluation = shown_labels(qtbot, w)
    assert weights == "when stopped in epoch 2"
    assert "run 1, when stopped in epoch 2" in evaluation


def test_the_closing_question_counts_the_epochs_that_end_while_it_is_open(qtbot, tmp_path,
                                                                           monkeypatch):
    w, path = saved_window(qtbot, tmp_path, monkeypatch)
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "save")
    panel, seen = w.training_panel, []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != "closeRunPrompt":
            QTimer.singleShot(20, answer)
            return
        seen.append(box.text())
        if len(seen) == 1:  # as it opened; then once two more epochs have ended
            first = panel.epochs_done
            qtbot.waitUntil(lambda: panel.epochs_done >= first + 2, timeout=TRAIN_TIMEOUT_MS)
            qtbot.wait(50)
            seen.append(box.text())
            seen.append(str(panel.epochs_done))
            qtbot.mouseClick(box.findChild(QPushButton, "keepRunButton"), Qt.LeftButton)

    QTimer.singleShot(0, answer)
    w.close()
    first, later, done = seen[0], seen[1], int(seen[2])
    assert later != first  # "Keep the 4 epochs" while it kept 7 before
    assert f"Keep the {done} epochs done" in later
    assert load_project(path).runs[-1]["epochs"] >= done
    assert_no_recovery_left(qtbot, w)
