"""File ▸ Export ▸ ONNX / TFLite / SavedModel through the window: the dialog runs the export and
its check as a task, shows the progress and the report; failures leave nothing behind."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import QSettings, Qt
from PyQt5.QtWidgets import QMessageBox

from workbench.core.deploy import open_runtime
from workbench.core.spec import TrainConfig
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: messages.append(a[2]))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    w = MainWindow()
    qtbot.addWidget(w)
    w.messages = messages
    w.project_actions.settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                    and w.state.inspection is not None, timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(300, 200)
    yield w
    w.training_panel.shutdown()


def train(qtbot, w) -> None:
    config = TrainConfig.from_dict(w.state.training.to_dict())
    config.epochs, config.batch_size = 1, 64
    w.state.set_training(config)
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=90_000):
        assert w.training_panel.start_training(), w.training_panel.train_blocker()


def type_path(qtbot, dialog, path) -> None:
    dialog.path_edit.selectAll()
    qtbot.keyClicks(dialog.path_edit, str(path))


def export(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    task = dialog._task
    assert task is not None
    # Busy until the task's end is delivered: a place that cannot be written can fail, and its
    # end be delivered, within the click's own event processing (it did in a loaded full run).
    assert dialog.export_button.isEnabled() == task.done
    qtbot.waitUntil(lambda: dialog.report is not None or bool(dialog.error), timeout=90_000)
    assert dialog.export_button.isEnabled()


def test_export_dialog_runs_the_export_and_shows_the_report(qtbot, window, tmp_path):
    actions = window.project_actions
    actions.export_deploy_actions[("onnx", None)].trigger()
    assert "train the model first" in window.messages[-1]
    train(qtbot, window)

    actions.export_deploy_actions[("tflite", "int8")].trigger()
    dialog = window.findChild(type(actions._deploy_dialog), "deployDialog")
    assert dialog is not None and dialog.isVisible()
    assert dialog.format_box.currentText() == "TFLite int8"
    assert dialog.path_edit.text().endswith("-int8.tflite")
    type_path(qtbot, dialog, tmp_path / "digits-int8.tflite")
    export(qtbot, dialog)
    report = dialog.report
    assert report.path == str(tmp_path / "digits-int8.tflite") and report.samples == 200
    assert dialog.progress.value() == 100
    shown = dialog.report_label.text()
    assert all(word in shown for word in ("LiteRT", "Accuracy", "Keras", "ms per sample"))
    assert "Exported digits-int8.tflite" in window.statusBar().currentMessage()

    # Choosing another format changes the suggested name; the float export agrees with Keras.
    dialog.format_box.setCurrentIndex(dialog.format_box.findText("ONNX"))
    assert dialog.path_edit.text() == str(tmp_path / "digits.onnx")
    export(qtbot, dialog)
    assert dialog.report.agreement >= 0.999 and dialog.report.max_abs_diff < 1e-4
    assert open_runtime(tmp_path / "digits.onnx").run(
        window.state.data.dataset.x_test[:2]).shape == (2, 10)

    # A place that cannot be written: one line in the dialog, nothing written, the dialog usable.
    (tmp_path / "file").write_text("x")
    type_path(qtbot, dialog, tmp_path / "file" / "m.onnx")
    export(qtbot, dialog)
    assert dialog.report is None and "cannot be written" in dialog.error
    assert dialog.status_label.text().startswith("Not exported:")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("app", "set"))) \
        == ["digits-int8.tflite", "digits.onnx", "file"]

    # Closing the dialog while it exports cancels the task between steps: no file, no temporary.
    type_path(qtbot, dialog, tmp_path / "cancelled.onnx")
    qtbot.mouseClick(dialog.export_button, Qt.LeftButton)
    task = dialog._task
    assert task.running
    dialog.close()
    qtbot.waitUntil(lambda: task.done, timeout=90_000)  # its end delivered, not only its thread
    assert task.status == "cancelled" and dialog.report is None and not dialog.error
    assert not [p.name for p in tmp_path.iterdir() if "cancelled" in p.name]


def test_a_saved_model_comes_back_as_a_folder_written_here_never_over_one_not_ours(
        qtbot, window, tmp_path):
    train(qtbot, window)
    actions = window.project_actions
    actions.export_deploy_actions[("saved-model", None)].trigger()
    dialog = actions._deploy_dialog
    ours = tmp_path / "served"
    type_path(qtbot, dialog, ours)
    export(qtbot, dialog)
    assert dialog.report is not None, dialog.error
    assert dialog.report.path == str(ours) and "SavedModel" in dialog.report.runtime
    assert (ours / "saved_model.pb").is_file() and (ours / "workbench-export.json").is_file()
    assert open_runtime(ours).run(window.state.data.dataset.x_test[:2]).shape == (2, 10)

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    type_path(qtbot, dialog, theirs)
    export(qtbot, dialog)  # refused before the engine is asked: nothing there changes
    assert "did not write" in dialog.error and "nothing was changed" in dialog.error
    assert [p.name for p in theirs.iterdir()] == ["notes.txt"]

    type_path(qtbot, dialog, ours)  # our own export is replaced
    export(qtbot, dialog)
    assert dialog.report is not None and (ours / "saved_model.pb").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".served")]
