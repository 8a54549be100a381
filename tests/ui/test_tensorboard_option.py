"""Train ▸ Write TensorBoard files (#28): the project's option; each run trained in the window then
writes its event files beside the saved project, where `workbench tensorboard PROJECT` looks."""

from __future__ import annotations

import sys

from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import QMessageBox

from workbench.core.project import load_project
from workbench.core.tensorboard import event_folder, run_folder
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions


def test_the_window_writes_event_files_beside_the_project(qtbot, tmp_path, monkeypatch):
    from tests.ui.test_deploy_dialog import train

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    w = MainWindow()
    qtbot.addWidget(w)
    w.project_actions.settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300, 100)
    path = tmp_path / "digits.json"
    assert w.project_actions.save_to(path)
    assert not w.tensorboard_action.isChecked()

    # Without the package where the runs train (the engine: here the session's in-process one)
    # the option goes off again when the engine answers, and says what to install.
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    w.tensorboard_action.setChecked(True)
    qtbot.waitUntil(lambda: not w.tensorboard_action.isChecked(), timeout=10_000)
    assert not w.state.project.tensorboard
    assert "pip install" in w.statusBar().currentMessage()
    monkeypatch.delitem(sys.modules, "tensorboard")

    w.tensorboard_action.setChecked(True)
    qtbot.waitUntil(lambda: w.state.project.tensorboard, timeout=10_000)
    assert w.tensorboard_action.isChecked() and w.state.dirty
    try:
        train(qtbot, w)
    finally:
        w.training_panel.shutdown()
    run_id = w.state.project.runs[-1]["id"]
    folder = run_folder(event_folder(path), run_id)
    assert (folder / "train").is_dir() and (folder / "validation").is_dir()
    assert any(p.name.startswith("events.out.tfevents") for p in folder.iterdir())
    assert w.project_actions.save_to(path)
    assert load_project(path).tensorboard is True
    # Another project: the menu follows it.
    w.state.replace_project(load_project(path), path)
    assert w.tensorboard_action.isChecked()



def test_the_engine_says_whether_its_runs_can_write_tensorboard_files(qtbot, app_engine,
                                                                      monkeypatch):
    """The runs train in the engine (maybe on another machine): its word decides, not this
    process's packages."""
    import dataclasses

    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    handlers = app_engine.server.handlers
    monkeypatch.setitem(handlers, "device", dataclasses.replace(
        handlers["device"], fn=lambda call: {"device": {"kind": "CPU", "name": "x", "count": 1,
                                                        "choices": [["One device", 1]]},
                                             "tensorboard": "no tensorboard over there"}))
    w = MainWindow(load_dataset=False)
    qtbot.addWidget(w)
    w.tensorboard_action.setChecked(True)
    qtbot.waitUntil(lambda: not w.tensorboard_action.isChecked(), timeout=10_000)
    assert not w.state.project.tensorboard
    assert w.statusBar().currentMessage() == "no tensorboard over there"
