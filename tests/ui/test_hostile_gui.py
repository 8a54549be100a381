"""Hostile files through the window (#19): File ▸ Open and Draw ▸ Open image go through the same
checks as the CLI; each shows one readable message naming the file and changes nothing."""

from __future__ import annotations

import os

import pytest
from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import QMessageBox

from tests.core import hostile
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions


@pytest.fixture
def messages(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: shown.append(a[2]))
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    return shown


def test_hostile_files_through_the_menus_show_one_message_and_lose_nothing(
        qtbot, tmp_path, monkeypatch, messages):
    w = MainWindow()
    qtbot.addWidget(w)
    w.project_actions.settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    qtbot.waitUntil(lambda: w.state.tensorflow.loaded and w.state.inspection is not None,
                    timeout=60_000)
    w.state.remove_layer(0)  # unsaved work that a failed open must keep
    before = (w.state.project.to_dict(), w.state.path, w.state.dirty)

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    size = 3500 * 2**20
    bomb = hostile.raw_zip(tmp_path / "bomb.keras", [
        ("config.json", hostile.deflated(b"{", size), 8, size), ("metadata.json", b"{}", 0, 2)])
    for path, words in ((fifo, "is a named pipe"), (bomb, "config.json would inflate")):
        monkeypatch.setattr(ProjectActions, "ask_open_path", lambda self, *a, p=path: str(p))
        w.project_actions.open_action.trigger()  # File ▸ Open…: returns, nothing blocks
        assert words in messages[-1] and str(path) in messages[-1]
        assert (w.state.project.to_dict(), w.state.path, w.state.dirty) == before
    assert len(messages) == 2

    eps = tmp_path / "digit.png"
    eps.write_bytes(hostile.EPS)
    status: list[str] = []
    w.state.bus.status_message.connect(lambda text, *rest: status.append(text))
    assert not w.draw_panel.open_image(eps)  # what Draw ▸ Open image calls with the chosen file
    assert status == [f"{eps}: not a PNG/JPEG/BMP/GIF/TIFF/WebP image"]
    assert (w.state.project.to_dict(), w.state.path, w.state.dirty) == before
