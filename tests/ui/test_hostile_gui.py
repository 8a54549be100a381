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
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.inspection is not None,
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
        count = len(messages)
        w.project_actions.open_action.trigger()  # File ▸ Open…: returns, nothing blocks
        qtbot.waitUntil(lambda c=count: len(messages) > c, timeout=60_000)  # the engine's word
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


def test_hostile_models_pictures_and_datasets_in_the_window(qtbot, tmp_path, monkeypatch,
                                                            messages):
    """A legacy .h5 bomb and a ../ member through File ▸ Open, a 12000² PNG, a FIFO and
    /dev/zero through Draw ▸ Open image, a FIFO export to compare with, and datasets that are a
    FIFO, a bomb or a folder with a FIFO inside: one readable line each, Train stays off."""
    import zipfile

    from PIL import Image

    w = MainWindow()
    qtbot.addWidget(w)
    w.project_actions.settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60_000)
    before = (w.state.project.to_dict(), w.state.path)

    escape = tmp_path / "escape.keras"
    with zipfile.ZipFile(escape, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("../../evil.txt", "x")
    for path, words in ((hostile.h5_bomb(tmp_path / "bomb.h5"), "a compression bomb"),
                        (escape, "'../../evil.txt' outside its own folder")):
        monkeypatch.setattr(ProjectActions, "ask_open_path", lambda self, *a, p=path: str(p))
        count = len(messages)
        w.project_actions.open_action.trigger()
        qtbot.waitUntil(lambda c=count: len(messages) > c, timeout=60_000)  # the engine's word
        reason = messages[-1].split("\n\n")[-1]  # under the dialog's first line
        assert reason.startswith(str(path)) and words in reason and "\n" not in reason, reason
        assert (w.state.project.to_dict(), w.state.path) == before

    status: list[str] = []
    w.state.bus.status_message.connect(lambda text, *rest: status.append(text))
    fifo_png, zero_png = tmp_path / "pipe.png", tmp_path / "zero.png"
    os.mkfifo(fifo_png)
    zero_png.symlink_to("/dev/zero")
    for path, words in ((hostile.png_bomb(tmp_path / "big.png"), "12000×12000 is too large"),
                        (fifo_png, "is a named pipe (FIFO), not an image"),
                        (zero_png, "is a device, not an image")):
        assert not w.draw_panel.open_image(path)
        assert status[-1].startswith(str(path)) and words in status[-1], status[-1]

    fifo_onnx = tmp_path / "pipe.onnx"
    os.mkfifo(fifo_onnx)
    compare = w.draw_panel.deployed
    compare.add_model(fifo_onnx)  # Draw ▸ Compare with ▸ Open…: returns, never waits
    qtbot.waitUntil(lambda: compare._loading is None, timeout=10_000)
    assert compare.runtime is None and "is a named pipe" in compare.view.hint

    folder = tmp_path / "digits"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (28, 28), 40 * i).save(folder / name / f"{i}.png")
    os.mkfifo(folder / "b" / "x.png")
    fifo_npz = tmp_path / "pipe.npz"
    os.mkfifo(fifo_npz)
    from PyQt5.QtWidgets import QComboBox, QLabel, QPushButton

    info = w.findChild(QLabel, "datasetInfo")
    train = w.findChild(QPushButton, "trainButton")
    combo = info.parent().findChild(QComboBox)
    for dataset, words in ((folder, "x.png: is a named pipe (FIFO), not an image"),
                           (fifo_npz, "pipe.npz: is a named pipe (FIFO), not a .npz archive"),
                           (hostile.npz_bomb(tmp_path / "bomb.npz"), "would inflate")):
        w.state.set_dataset(str(dataset))  # what Data ▸ Open .npz / folder… does
        qtbot.waitUntil(lambda words=words: words in info.text(), timeout=20_000)
        assert "Unknown dataset" not in info.text() + combo.toolTip()
        assert not train.isEnabled()
    w.state.undo_stack.setClean()
