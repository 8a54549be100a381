"""File menu through the window: save/open round trips with weights, unsaved-changes questions,
refusals that change nothing, Keras import (editable, read-only, malicious), autosave, checkpoints
and recovery after a crash, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import QSettings
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QMessageBox

from workbench.core.project import load_project, weights_path
from workbench.core.recovery import find_recoveries, read_checkpoint
from workbench.core.spec import TrainConfig
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import ProjectActions, export_plot

TRAIN_TIMEOUT_MS = 90_000
REAL_ASK_RESTORE = ProjectActions.ask_restore


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Recovery files under tmp_path; unanswered questions fail loudly instead of blocking."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "appdata"))
    asked: list[str] = []

    def no_dialog(kind):
        def fail(self, *args, **kwargs):
            asked.append(kind)
            raise AssertionError(f"unexpected {kind} dialog")
        return fail

    monkeypatch.setattr(ProjectActions, "ask_save_path", no_dialog("save"))
    monkeypatch.setattr(ProjectActions, "ask_open_path", no_dialog("open"))
    monkeypatch.setattr(ProjectActions, "ask_restore", no_dialog("restore"))
    # Teardown closes windows: unsaved changes are thrown away without asking.
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    messages: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: messages.append(a[2]))
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: messages.append(a[2]))
    return messages


@pytest.fixture
def make_window(qtbot, tmp_path):
    made = []

    def make(dataset_size: int = 300) -> MainWindow:
        w = MainWindow()
        qtbot.addWidget(w)
        w.project_actions.settings = QSettings(str(tmp_path / f"settings{len(made)}.ini"),
                                               QSettings.IniFormat)
        qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None
                        and w.state.inspection is not None, timeout=60_000)
        w.state.data.dataset = w.state.data.dataset.subset(dataset_size)
        made.append(w)
        return w

    yield make
    for w in made:
        w.training_panel.shutdown()


def train(qtbot, w: MainWindow, epochs: int = 1) -> None:
    config = TrainConfig.from_dict(w.state.training.to_dict())
    config.epochs, config.batch_size = epochs, 64
    w.state.set_training(config)
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        assert w.training_panel.start_training(), w.training_panel.train_blocker()


def answer_save(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(ProjectActions, "ask_save_path", lambda self, *a: str(path))


def colour_fraction(image: QImage) -> float:
    """The share of clearly coloured (not grey) pixels."""
    image = image.convertToFormat(QImage.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits().asstring(image.bytesPerLine() * height), np.uint8)
    rgb = data.reshape(height, image.bytesPerLine())[:, :width * 3].reshape(height, width, 3)
    spread = rgb.max(axis=2).astype(int) - rgb.min(axis=2)
    return float((spread > 40).mean())


def open_and_wait(qtbot, w: MainWindow, path: Path) -> None:
    """Open a model file: the engine imports it and the window takes it when it answers."""
    with qtbot.waitSignal(w.project_actions.opened, timeout=60_000):
        assert w.project_actions.open_path(path)


def saved_and_written(qtbot, w: MainWindow, path: Path) -> None:
    """After a Save: the trained weights beside it come from the engine, written when they do."""
    qtbot.waitUntil(lambda: not w.project_actions._weights_writes, timeout=60_000)
    assert weights_path(path).is_file()


def engine_outputs(w: MainWindow, x) -> np.ndarray:
    """The engine's views model (the trained model of ``w``) on each sample of ``x``."""
    return np.stack([np.asarray(w.state.trained.predict_digit(sample)).reshape(-1)
                     for sample in x])


def assert_same_weights(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# --- menu ---------------------------------------------------------------------------------------


def test_file_menu_holds_the_project_actions_in_order(make_window):
    w = make_window()
    texts = [a.text() for a in w.file_menu.actions() if not a.isSeparator()]
    assert texts == ["&New", "New from &template", "&Open…", "Open &Recent", "&Save",
                     "Save &As…", "&Export", "Export &Report…", "&Quit"]
    actions = w.project_actions
    assert actions.save_action.shortcut().toString() == "Ctrl+S"
    assert actions.open_action.shortcut().toString() == "Ctrl+O"
    exports = [a.text() for a in actions.export_menu.actions() if not a.isSeparator()]
    assert len(exports) == 11 and exports[-1] == "Run &history (CSV)…"
    assert "TFLite int8…" in exports and "ONNX…" in exports and "SavedModel…" in exports


# --- save, open, title --------------------------------------------------------------------------


def test_save_and_open_round_trip_with_runs_and_weights(qtbot, make_window, tmp_path,
                                                        monkeypatch):
    w = make_window()
    train(qtbot, w)
    state = w.state
    assert state.dirty and w.windowTitle().endswith("• — Workbench")
    path = tmp_path / "digits.json"
    answer_save(monkeypatch, path)
    w.project_actions.save_action.trigger()
    assert not state.dirty
    assert w.windowTitle() == "digits.json — Workbench"
    saved_and_written(qtbot, w, path)
    assert "Saved" in w.statusBar().currentMessage() and "digits.keras" in (
        w.statusBar().currentMessage())
    saved_weights = [x.copy() for x in state.trained.weights]

    state.set_layer_param(len(state.spec.layers) - 2, "units", 32)
    assert state.dirty and w.windowTitle() == "digits.json • — Workbench"

    other = make_window()
    assert other.project_actions.open_path(path)
    qtbot.waitUntil(lambda: other.state.trained.weights is not None, timeout=60_000)
    again = other.state
    assert again.path == path.resolve() and not again.dirty
    assert again.spec == load_project(path).model
    assert again.training == load_project(path).training
    assert again.project.runs == load_project(path).runs and len(again.project.runs) == 1
    assert again.spec != state.spec  # the edit after saving was not saved
    assert_same_weights(again.trained.weights, saved_weights)
    assert again.trained.trained_spec == again.spec.to_dict()
    x = other.state.data.dataset.x_test[:3]  # the engine's views model holds them too
    np.testing.assert_allclose(engine_outputs(other, x), engine_outputs(w, x), rtol=1e-6)
    assert str(path.resolve()) in other.project_actions.recent_files()


def test_unsaved_changes_ask_save_discard_or_cancel(qtbot, make_window, tmp_path, monkeypatch):
    from workbench.core.project import save_project
    from workbench.core.templates import load_template

    target = tmp_path / "mlp.json"
    save_project(load_template("mnist-mlp"), target)
    w = make_window()
    state = w.state
    state.remove_layer(0)
    edited = state.project.to_dict()

    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "cancel")
    assert not w.project_actions.open_path(target)
    assert state.project.to_dict() == edited and state.dirty
    w.show()
    w.close()
    assert w.isVisible() and state.dirty  # Cancel keeps the window and the changes

    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "save")
    saved = tmp_path / "edited.json"
    answer_save(monkeypatch, saved)
    assert w.project_actions.open_path(target)
    assert load_project(saved).model.to_dict() == edited["model"]
    assert state.path == target.resolve() and state.project.name == "MNIST MLP"

    state.remove_layer(0)
    monkeypatch.setattr(ProjectActions, "ask_unsaved", lambda self: "discard")
    assert w.project_actions.new_project()
    assert not state.dirty and state.path is None


@pytest.mark.parametrize("content, reason", [
    ('{"format": "workbench/7", "model": {"input_shape": [4]}}', "newer Workbench"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "layers": [', "not valid JSON"),
    ('{"format": "workbench/1", "model": {"input_shape": [4], "layers": '
     '[{"class_name": "Dense", "config": {"units": -3}}]}}', "units must be at least 1"),
])
def test_newer_or_corrupt_files_warn_and_change_nothing(make_window, tmp_path, _isolated,
                                                        content, reason):
    w = make_window()
    state = w.state
    state.remove_layer(0)
    before = (state.project.to_dict(), state.path, state.dirty, w.windowTitle())
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert not w.project_actions.open_path(path)
    assert len(_isolated) == 1 and reason in _isolated[0] and str(path) in _isolated[0]
    assert (state.project.to_dict(), state.path, state.dirty, w.windowTitle()) == before


def test_an_old_format_file_is_migrated_on_open(make_window, tmp_path):
    from workbench.core.templates import load_template

    project = load_template("mnist-mlp")
    old = {"format": "workbench/0",
           "spec": {"input_shape": [28, 28],
                    "layers": [{"type": layer.class_name, "params": layer.config}
                               for layer in project.model.layers]},
           "settings": {"optimizer": "sgd", "lr": 0.05, "epochs": 3},
           "history": [{"id": 1, "history": {"loss": [1.0]}}]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    w = make_window()
    assert w.project_actions.open_path(path)
    assert w.state.spec == project.model
    assert w.state.training.optimizer == "sgd" and w.state.training.learning_rate == 0.05
    assert w.state.project.runs == old["history"]
    assert "converted from format 0" in w.statusBar().currentMessage()


# --- Keras models -------------------------------------------------------------------------------


def test_a_lambda_model_is_refused_through_the_menu(qtbot, make_window, tmp_path, monkeypatch,
                                                    _isolated):
    import keras

    marker = tmp_path / "pwned.txt"
    target = str(marker)
    model = keras.Sequential([keras.Input((28, 28)),
                              keras.layers.Lambda(lambda x: (open(target, "w").write("!"), x)[1]),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(tmp_path / "evil.keras")
    marker.unlink()  # building the model here ran it once, on purpose
    w = make_window()
    before = w.state.project.to_dict()
    monkeypatch.setattr(ProjectActions, "ask_open_path",
                        lambda self, *a: str(tmp_path / "evil.keras"))
    w.project_actions.open_action.trigger()
    qtbot.waitUntil(lambda: bool(_isolated), timeout=60_000)  # the engine's answer
    assert not marker.exists()
    assert "refused" in _isolated[-1] and "Lambda" in _isolated[-1]
    assert str(tmp_path / "evil.keras") in _isolated[-1]  # named as here, not the engine's copy
    assert w.state.project.to_dict() == before and w.state.trained.weights is None


def test_a_sequential_keras_model_opens_as_an_editable_stack(qtbot, make_window, tmp_path):
    import keras

    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(24, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.save(tmp_path / "mine.keras")
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "mine.keras")
    state = w.state
    assert [layer.class_name for layer in state.spec.layers] == ["Flatten", "Dense", "Dense"]
    assert state.spec.layers[1].config["units"] == 24
    assert state.training.optimizer == "rmsprop"
    assert_same_weights(state.trained.weights, model.get_weights())
    assert state.dirty and state.path is None and not state.read_only
    # Editable: a layer edit goes through the undo stack like any other.
    state.set_layer_param(1, "units", 12)
    assert state.spec.layers[1].config["units"] == 12


def test_a_functional_model_of_table_layers_opens_as_an_editable_graph(qtbot, make_window,
                                                                       tmp_path):
    import keras

    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    joined = keras.layers.Concatenate()([keras.layers.Dense(8)(flat), keras.layers.Dense(8)(flat)])
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(joined))
    model.save(tmp_path / "branches.keras")
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "branches.keras")
    assert not w.state.read_only and w.project_actions.read_only_label.isHidden()
    assert [layer.class_name for layer in w.state.spec.layers][-2:] == ["Concatenate", "Dense"]
    assert not w.state.spec.is_sequential()
    x = w.state.data.dataset.x_test[:4]
    np.testing.assert_allclose(engine_outputs(w, x), model.predict(x, verbose=0), rtol=1e-5)


def test_a_functional_model_outside_the_editor_opens_read_only_for_evaluation(qtbot, make_window,
                                                                              tmp_path):
    import keras

    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    shared = keras.layers.Dense(8)  # used twice: shared weights have no place in the editor
    joined = keras.layers.Concatenate()([shared(flat), keras.layers.Dense(8)(flat)])
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(
        keras.layers.Concatenate()([joined, shared(flat)])))
    model.save(tmp_path / "branches.keras")
    w = make_window()
    open_and_wait(qtbot, w, tmp_path / "branches.keras")
    label = w.project_actions.read_only_label
    assert label.text() == "read-only: functional model" and not label.isHidden()
    assert "read-only: functional model" in w.statusBar().currentMessage()
    x = w.state.data.dataset.x_test[:4]
    np.testing.assert_allclose(engine_outputs(w, x), model.predict(x, verbose=0), rtol=1e-5)
    assert w.state.spec.layers == []
    w.project_actions.new_project()
    assert label.isHidden()


# --- autosave and recovery ----------------------------------------------------------------------


def test_autosave_every_interval_only_when_dirty(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window()
    actions = w.project_actions
    actions.autosave_timer.setInterval(50)
    assert not actions.autosave_now()  # nothing unsaved: nothing written
    assert actions.recovery.autosave_path is None or not actions.recovery.has_autosave()
    w.state.remove_layer(0)
    with qtbot.waitSignal(actions.autosaved, timeout=5000):
        pass
    saved = json.loads(actions.recovery.autosave_path.read_text())
    assert saved["project"]["model"] == w.state.spec.to_dict()
    answer_save(monkeypatch, tmp_path / "p.json")
    assert actions.save()
    assert not actions.recovery.has_autosave()  # a clean save removes it


def test_recovery_is_offered_after_a_crash_and_restores_the_project(make_window, monkeypatch,
                                                                     tmp_path):
    crashed = make_window()
    crashed.state.remove_layer(0)
    crashed.state.set_dataset("regression-line")
    crashed.project_actions.autosave_now()
    expected = crashed.state.project.to_dict()
    crashed.project_actions.recovery.abandon()  # the process "dies": files stay, lock goes

    offered = []

    def restore(self, recovery):
        offered.append(recovery.describe())
        return True

    monkeypatch.setattr(ProjectActions, "ask_restore", restore)
    w = make_window()
    assert w.project_actions.offer_recovery()
    assert len(offered) == 1 and "autosaved" in offered[0]
    assert w.state.project.to_dict() == expected
    assert w.state.dirty and w.windowTitle().startswith(expected.get("name", "Untitled"))
    # Restored work is this session's now; nothing is offered twice.
    assert find_recoveries(tmp_path / "appdata", exclude=w.project_actions.recovery.folder) == []
    assert w.project_actions.recovery.has_autosave()


def test_declining_recovery_discards_it(make_window, monkeypatch, tmp_path):
    crashed = make_window()
    crashed.state.remove_layer(0)
    crashed.project_actions.autosave_now()
    crashed.project_actions.recovery.abandon()
    monkeypatch.setattr(ProjectActions, "ask_restore", lambda self, recovery: False)
    w = make_window()
    before = w.state.project.to_dict()
    assert not w.project_actions.offer_recovery()
    assert w.state.project.to_dict() == before
    assert find_recoveries(tmp_path / "appdata") == []


def test_the_startup_prompt_is_not_modal(make_window, monkeypatch, qtbot):
    crashed = make_window()
    crashed.state.remove_layer(0)
    crashed.project_actions.autosave_now()
    crashed.project_actions.recovery.abandon()
    w = make_window()
    monkeypatch.setattr(ProjectActions, "ask_restore", REAL_ASK_RESTORE)
    assert not w.project_actions.offer_recovery()  # the answer comes later
    box = w.project_actions._restore_box
    assert box is not None and box.isVisible() and not box.isModal()
    assert "did not close cleanly" in box.text()
    restore = next(b for b in box.buttons() if b.text() == "Restore")
    restore.click()
    assert w.state.spec == crashed.state.spec and w.state.dirty
    w.state.undo_stack.setClean()


def test_checkpoints_during_training_survive_a_crash(qtbot, make_window, monkeypatch):
    w = make_window(dataset_size=400)
    actions, state = w.project_actions, w.state
    config = TrainConfig.from_dict(state.training.to_dict())
    config.epochs, config.batch_size = 40, 32
    state.set_training(config)
    state.undo_stack.setClean()  # only the run is unsaved
    epochs_seen = []
    state.trained.weights_updated.connect(epochs_seen.append)
    assert w.training_panel.start_training()
    qtbot.waitUntil(lambda: len(epochs_seen) >= 2, timeout=TRAIN_TIMEOUT_MS)
    # Written by a task: the autosave listing an epoch first, then its weights.
    qtbot.waitUntil(lambda: getattr(read_checkpoint(actions.recovery.folder / "last.npz"),
                                    "epoch", -1) >= 1, timeout=TRAIN_TIMEOUT_MS)
    actions.recovery.abandon()  # crash: what is written stays, nothing more is written
    folder = actions.recovery.folder
    last, best = read_checkpoint(folder / "last.npz"), read_checkpoint(folder / "best.npz")
    assert last is not None and best is not None
    assert last.epoch >= 1 and "val_loss" in last.logs
    assert last.spec == state.spec.to_dict()
    expected_weights = dict(state.trained.weights_history)[last.epoch]
    assert_same_weights(last.weights, expected_weights)
    partial = json.loads(actions.recovery.autosave_path.read_text())["project"]["runs"][-1]
    assert partial["status"] == "interrupted" and partial["epochs"] >= last.epoch + 1

    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TRAIN_TIMEOUT_MS):
        w.training_panel.stop_training()
    state.undo_stack.setClean()

    monkeypatch.setattr(ProjectActions, "ask_restore", lambda self, recovery: True)
    restored = make_window()
    assert restored.project_actions.offer_recovery()
    run = restored.state.project.runs[-1]
    assert run["status"] == "interrupted"
    assert len(run["history"]["loss"]) >= last.epoch + 1
    assert restored.state.trained.weights_epoch == last.epoch
    assert_same_weights(restored.state.trained.weights, expected_weights)
    # ...and the engine's views model holds them: Draw's answer is theirs.
    from tests.ui.test_draw import keras_outputs

    digit = np.zeros((28, 28), np.float32)
    digit[5:23, 13:16] = 1.0
    shape = restored.state.trained.trained_spec["input_shape"]
    np.testing.assert_allclose(
        np.ravel(restored.state.trained.predict_digit(digit)),
        np.ravel(keras_outputs(restored, digit.reshape((1, *shape)))), atol=1e-5)


# --- export -------------------------------------------------------------------------------------


def test_exports_after_a_run(qtbot, make_window, tmp_path, monkeypatch, _isolated):
    from workbench.core.modelio import load_model

    w = make_window()
    actions = w.project_actions
    assert actions.export_model() is None and "train the model first" in _isolated[-1]
    assert actions.export_history() is None
    train(qtbot, w)

    def exported(start):
        # Written and checked in a background task; the status bar says how the check went.
        qtbot.waitUntil(lambda: start in w.statusBar().currentMessage(), timeout=60_000)
        return w.statusBar().currentMessage()

    answer_save(monkeypatch, tmp_path / "model.keras")
    written = actions.export_model()
    message = exported("Exported the trained model")
    assert "max |diff| 0" in message and "same class 100.0%" in message
    assert_same_weights(load_model(written).get_weights(), w.state.trained.weights)

    answer_save(monkeypatch, tmp_path / "train.py")
    script = actions.export_script()
    assert "same class 100.0%" in exported("Exported train.py")
    source = script.read_text()
    compile(source, str(script), "exec")
    assert "keras.layers.Conv2D(" in source and "def load_data" in source

    answer_save(monkeypatch, tmp_path / "history.csv")
    lines = actions.export_history().read_text().splitlines()
    assert lines[0] == "run,epoch,loss,accuracy,val_loss,val_accuracy,learning_rate"
    assert lines[1].startswith("1,1,")

    w.show()
    qtbot.waitExposed(w)
    # The matrix of the run, as the user sees it before exporting it (evaluated in the background).
    qtbot.waitUntil(lambda: w.evaluation_panel.result is not None, timeout=60_000)
    for name in ("lossPlot", "accuracyPlot", "confusionMatrix"):
        for suffix in (".png", ".svg"):
            answer_save(monkeypatch, tmp_path / f"{name}{suffix}")
            path = actions.export_plot(name)
            assert path is not None, _isolated
            if suffix == ".png":
                image = QImage(str(path))
                assert image.width() >= 800 and image.height() > 100
                # Curves and heatmap cells are in colour; a squashed or empty export is not. (The
                # curves of a one-epoch run are thin lines: counted in pixels, not as a share of
                # a plot whose height follows the window's layout; the legend's keys are ~200.)
                if name == "confusionMatrix":
                    assert colour_fraction(image) > 0.05
                else:
                    assert colour_fraction(image) * image.width() * image.height() > 800
            else:
                assert path.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<path" in (tmp_path / "lossPlot.svg").read_text()  # the curve is in the drawing


def test_export_plot_of_a_plain_plot_widget(qtbot, tmp_path):
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([1, 3, 2, 4], pen="r")
    plot.resize(400, 300)
    png = export_plot(plot, tmp_path / "p.png")
    assert QImage(str(png)).width() >= 800
    svg = export_plot(plot, tmp_path / "p.svg")
    assert "<svg" in svg.read_text()
    from PyQt5.QtWidgets import QLabel

    label = QLabel("no plot")
    qtbot.addWidget(label)
    with pytest.raises(ValueError, match="no plot"):
        export_plot(label, tmp_path / "x.png")


# --- recent files -------------------------------------------------------------------------------


def test_recent_files_keep_the_newest_eight(make_window, tmp_path, _isolated):
    from workbench.core.project import save_project
    from workbench.core.templates import load_template

    w = make_window()
    actions = w.project_actions
    paths = []
    for i in range(10):
        path = tmp_path / f"p{i}.json"
        save_project(load_template("mnist-mlp"), path)
        assert actions.open_path(path)
        paths.append(str(path.resolve()))
    assert actions.recent_files() == paths[::-1][:8]
    actions._fill_recent_menu()
    entries = [a for a in actions.recent_menu.actions() if a.toolTip() in paths]
    assert [a.toolTip() for a in entries] == paths[::-1][:8]
    Path(paths[-1]).unlink()
    entries[0].trigger()
    assert "no longer exists" in _isolated[-1]
    assert paths[-1] not in actions.recent_files()
    entries[1].trigger()
    assert w.state.path == Path(paths[-2])


def test_an_empty_confusion_matrix_is_not_exported(make_window, monkeypatch, tmp_path, _isolated):
    w = make_window()
    answer_save(monkeypatch, tmp_path / "matrix.png")  # would be written if it were asked
    assert w.project_actions.export_plot("confusionMatrix") is None
    assert not (tmp_path / "matrix.png").exists()
    assert "no confusion matrix to export yet" in _isolated[-1]


# --- a panel's MODEL.keras argument --------------------------------------------------------------


def test_a_panels_model_argument_is_read_here_and_loaded_by_the_engine(qtbot, make_window,
                                                                       tmp_path):
    import keras

    from workbench.ui.application import adopt_model_file

    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "given.keras")
    w = make_window()
    failed: list[str] = []
    adopt_model_file(w.state, tmp_path / "given.keras", failed.append)
    qtbot.waitUntil(lambda: w.state.trained.is_external, timeout=60_000)
    assert failed == [] and w.state.trained.external_plain["class_name"] == "Sequential"
    x = w.state.data.dataset.x_test[:2]
    np.testing.assert_allclose(engine_outputs(w, x), model.predict(x, verbose=0), rtol=1e-5)

    (tmp_path / "text.keras").write_text("no model here")
    adopt_model_file(w.state, tmp_path / "text.keras", failed.append)
    qtbot.waitUntil(lambda: bool(failed), timeout=60_000)
    assert failed == [f"{tmp_path / 'text.keras'}: not a valid .keras file (it is not a Keras "
                      "zip archive)"]
    adopt_model_file(w.state, tmp_path / "missing.keras", failed.append)
    assert failed[-1] == f"{tmp_path / 'missing.keras'}: no such file"  # here, at once


def test_closing_right_after_save_waits_for_the_trained_weights(qtbot, make_window, tmp_path):
    """The engine makes the .keras after Save returns; a window closed at once still writes it."""
    from workbench.core.build import build_model

    w = make_window()
    state = w.state
    state.trained.set_weights(0, build_model(state.spec).get_weights(), state.spec.to_dict())
    path = tmp_path / "quick.json"
    assert w.project_actions.save_to(path)
    assert w.project_actions._weights_writes  # asked, not yet written
    w.show()
    w.close()  # no events processed between the Save and the close
    assert weights_path(path).is_file() and not w.project_actions._weights_writes
    from workbench.core.modelio import load_model

    assert_same_weights(load_model(weights_path(path), compile=False).get_weights(),
                        state.trained.weights)
