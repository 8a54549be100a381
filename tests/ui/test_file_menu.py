"""What a new user ran into in the File, Edit, Train and Help menus (#18 points 1, 7, 12, 14),
driven through the window's widgets and keys; file dialogs are answered as the other File-menu
tests do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication, QDialog, QFileDialog, QTextBrowser

from tests.ui import test_project_actions as file_menu
from tests.ui.test_draw import seven, stroke, zero
from workbench.core.project import load_project
from workbench.ui.draw import samples
from workbench.ui.project_actions import ProjectActions
from workbench.ui.project_actions.dialogs import DialogsMixin

# The File-menu tests' fixtures: recovery files under tmp_path, no real dialogs, ready windows.
_isolated = file_menu._isolated
make_window = file_menu.make_window
answer_save = file_menu.answer_save


def press(window, keys: QKeySequence) -> None:
    """Type a key sequence (e.g. Ctrl+Shift+Z) at the window, as a user's keyboard does."""
    window.activateWindow()
    QApplication.processEvents()
    key = keys[0]
    modifiers = Qt.KeyboardModifiers(key & int(Qt.KeyboardModifierMask))
    QTest.keyClick(window, Qt.Key(key & ~int(Qt.KeyboardModifierMask)), modifiers)
    QApplication.processEvents()


# --- #18.1: drawn samples move with the project -------------------------------------------------


def add_drawings(qtbot, w) -> None:
    from workbench.core.build import build_model

    state = w.state
    state.trained.set_weights(0, build_model(state.spec).get_weights(), state.spec.to_dict())
    w.tabs.setCurrentWidget(w.draw_panel)
    panel = w.draw_panel
    for strokes, label in ((seven(), 7), ([zero()], 0)):
        panel.canvas.clear()
        for s in strokes:
            stroke(panel.canvas, s)
        qtbot.waitUntil(panel.gallery.add_button.isEnabled, timeout=10_000)
        panel.gallery.label_box.setCurrentIndex(label)
        qtbot.mouseClick(panel.gallery.add_button, Qt.LeftButton)


def test_drawn_samples_move_with_the_project_on_the_first_save(qtbot, make_window, monkeypatch,
                                                                tmp_path):
    w = make_window()
    add_drawings(qtbot, w)
    unsaved = w.draw_panel.samples_path()
    assert unsaved.parent == tmp_path / "appdata"  # $WORKBENCH_DATA_DIR, the app's data folder
    assert samples.load_samples(unsaved)[1].tolist() == [7, 0]
    gallery = w.draw_panel.gallery
    assert gallery.count == 2

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    answer_save(monkeypatch, folder / "p.json")
    w.project_actions.save_as_action.trigger()
    assert w.state.path == (folder / "p.json").resolve()
    moved = samples.samples_location(folder / "p.json")  # p-digits.npz: the project's own
    assert samples.load_samples(moved)[1].tolist() == [7, 0]
    assert not unsaved.exists()  # moved, not left to a next unsaved project
    assert gallery.path == moved and gallery.count == 2 and gallery.list.count() == 2
    assert "No samples yet" not in gallery.info.text()


def test_samples_used_for_training_keep_the_project_on_them(qtbot, make_window, monkeypatch,
                                                            tmp_path):
    w = make_window()
    add_drawings(qtbot, w)
    unsaved = w.draw_panel.samples_path()
    w.state.set_dataset(str(unsaved))  # "Use for training"
    answer_save(monkeypatch, tmp_path / "p.json")
    assert w.project_actions.save_as()
    target = samples.samples_location(tmp_path / "p.json")
    assert load_project(tmp_path / "p.json").dataset == str(target)
    assert samples.load_samples(target)[1].tolist() == [7, 0]


def test_samples_join_a_set_already_in_the_new_folder(qtbot, make_window, monkeypatch, tmp_path):
    w = make_window()
    add_drawings(qtbot, w)
    digit = np.zeros((28, 28), np.float32)
    there = samples.samples_location(tmp_path / "p.json")
    samples.append_sample(there, digit, 3, [str(i) for i in range(10)])
    monkeypatch.setattr(ProjectActions, "ask_merge_samples", lambda *a: True)  # asked (#30)
    answer_save(monkeypatch, tmp_path / "p.json")
    assert w.project_actions.save_as()
    assert samples.load_samples(there)[1].tolist() == [3, 7, 0]


def test_samples_that_cannot_join_stay_and_the_user_is_told(qtbot, make_window, monkeypatch,
                                                            tmp_path, _isolated):
    w = make_window()
    add_drawings(qtbot, w)
    unsaved = w.draw_panel.samples_path()
    samples.append_sample(samples.samples_location(tmp_path / "p.json"),
                          np.zeros((28, 28), np.float32), 0, ["cat", "dog"])
    monkeypatch.setattr(ProjectActions, "ask_merge_samples", lambda *a: True)
    answer_save(monkeypatch, tmp_path / "p.json")
    assert w.project_actions.save_as()
    assert samples.load_samples(unsaved)[1].tolist() == [7, 0]  # nothing dropped
    assert any("did not move" in m and str(unsaved) in m for m in _isolated)


# --- #18.7: Undo and Redo by keyboard -----------------------------------------------------------


def test_undo_and_redo_by_keyboard(qtbot, make_window):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    state = w.state
    before = len(state.spec.layers)
    w.builder_panel.add_layer("Dropout")
    assert len(state.spec.layers) == before + 1
    redo_keys = w.redo_action.shortcuts()
    assert QKeySequence(QKeySequence.Redo) in redo_keys and QKeySequence("Ctrl+Y") in redo_keys
    # Each key is bound once in the whole window (a second binding makes Qt drop both).
    bound = [k.toString() for a in w.findChildren(type(w.redo_action))
             if a.isEnabled() or a in (w.undo_action, w.redo_action) for k in a.shortcuts()]
    assert bound.count(QKeySequence(QKeySequence.Redo).toString()) == 1
    for keys in redo_keys:
        press(w, QKeySequence(QKeySequence.Undo))
        assert len(state.spec.layers) == before
        press(w, keys)
        assert len(state.spec.layers) == before + 1, keys.toString()


def test_undo_is_greyed_while_a_run_trains(qtbot, make_window):
    w = make_window()
    w.builder_panel.add_layer("Dropout")
    w.state.set_busy(True)
    assert not w.undo_action.isEnabled()
    count = len(w.state.spec.layers)
    w.state.undo()
    assert len(w.state.spec.layers) == count
    w.state.set_busy(False)
    assert w.undo_action.isEnabled()


# --- #18.12: dialogs' folders, export names, the title after Clear ------------------------------


def test_file_dialogs_start_at_home_and_remember_the_last_folder(qtbot, make_window, monkeypatch,
                                                                 tmp_path):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    started = []

    def fake_open(parent, caption, directory, filters):
        started.append(directory)
        return "", ""

    monkeypatch.setattr(ProjectActions, "ask_open_path", DialogsMixin.ask_open_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    w = make_window()
    w.project_actions.open_action.trigger()
    assert Path(started[-1]) in (home / "Documents", home)  # not the source checkout
    assert Path(started[-1]) != Path.cwd()

    folder = tmp_path / "projects"
    folder.mkdir()
    answer_save(monkeypatch, folder / "p.json")
    assert w.project_actions.save_as()
    w.project_actions.new_project()  # unsaved again: the dialog starts where we saved last
    w.project_actions.open_action.trigger()
    assert Path(started[-1]) == folder
    # ... and so does the next window, which reads the same settings.
    other = make_window()
    other.project_actions.settings = QSettings(w.project_actions.settings.fileName(),
                                               QSettings.IniFormat)
    other.project_actions.open_action.trigger()
    assert Path(started[-1]) == folder


def test_export_model_suggests_a_name_other_than_the_projects_weights(qtbot, make_window,
                                                                      monkeypatch, tmp_path):
    w = make_window()
    answer_save(monkeypatch, tmp_path / "p.json")
    assert w.project_actions.save_as()
    from workbench.core.build import build_model

    state = w.state
    state.trained.set_weights(0, build_model(state.spec).get_weights(), state.spec.to_dict())
    suggested = []
    monkeypatch.setattr(ProjectActions, "ask_save_path",
                        lambda self, caption, path, filters: suggested.append(path) or "")
    w.project_actions.export_model_action.trigger()
    assert Path(suggested[-1]).parent == tmp_path
    assert Path(suggested[-1]).name not in ("p.keras", "p.json")
    assert Path(suggested[-1]).suffix == ".keras"


def test_clear_drops_the_templates_title_and_undo_brings_it_back(qtbot, make_window):
    w = make_window()
    title = w.state.project.name
    assert title and title in w.windowTitle()
    w.builder_panel.clear_action.trigger()
    assert w.state.spec.layers == [] and w.state.project.name == ""
    assert title not in w.windowTitle() and "Untitled" in w.windowTitle()
    w.undo_action.trigger()
    assert w.state.project.name == title and title in w.windowTitle()


# --- #18.14: Help and the Train menu ------------------------------------------------------------


def test_help_has_a_quick_start_and_the_keyboard_shortcuts(qtbot, make_window):
    w = make_window()
    texts = [a.text().replace("&", "") for a in w.help_menu.actions()]
    assert "Quick start" in texts and "Keyboard shortcuts" in texts and "About" in texts
    w.quick_start_action.trigger()
    quick = w.findChild(QDialog, "quickStartDialog")
    assert quick is not None and quick.isVisible()
    text = quick.findChild(QTextBrowser).toPlainText()
    assert "Train (F5)" in text and "Draw a digit" in text
    w.shortcuts_action.trigger()
    table = w.findChild(QDialog, "shortcutsDialog").findChild(QTextBrowser).toPlainText()
    for label, keys in (("Train", "F5"), ("Stop", "Shift+F5"), ("Save", "Ctrl+S"),
                        ("Delete", "Del"), ("Undo", "Ctrl+Z"), ("Move up", "Alt+Up")):
        assert label in table and keys in table, (label, keys)


def test_train_pause_and_stop_by_keyboard(qtbot, make_window):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    panel = w.training_panel
    assert not w.pause_action.isEnabled() and not w.stop_action.isEnabled()
    with qtbot.waitSignal(panel.training_started, timeout=30_000):
        press(w, QKeySequence("F5"))
    assert w.stop_action.isEnabled() and not w.train_action.isEnabled()
    press(w, QKeySequence("F6"))
    assert panel.paused
    press(w, QKeySequence("F6"))
    assert not panel.paused
    with qtbot.waitSignal(panel.training_finished, timeout=90_000):
        press(w, QKeySequence("Shift+F5"))
    assert w.train_action.isEnabled()
