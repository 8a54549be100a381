"""The model builder, driven through its widgets: palette clicks, the stack, the property editor."""

from __future__ import annotations

import threading

import pytest
from PyQt5.QtCore import QMimeData, QPoint, Qt
from PyQt5.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PyQt5.QtWidgets import QApplication, QSpinBox, QWidget

from workbench.core import tf_loader
from workbench.core.spec import LayerSpec, ModelSpec
from workbench.core.templates import load_template
from workbench.ui.builder.palette import LAYER_MIME
from workbench.ui.builder.panel import BuilderPanel
from workbench.ui.state import ProjectState

# Parameter counts from ../shared/SEEDS.md (logistic regression: 784 × 10 + 10).
TEMPLATE_PARAMS = {
    "mnist-mlp": 101_770,
    "mnist-cnn": 121_930,
    "deep-mlp": 244_522,
    "lstm-rows": 41_738,
    "logistic-regression": 7_850,
    "linear-regression": 2,
    "memorise-random": 11_110,
}


# Tutorial B (SEEDS.md): the MNIST CNN with a Reshape from (28, 28).
MNIST_CNN = ModelSpec((28, 28), [
    LayerSpec.create("Reshape", target_shape=[28, 28, 1]),
    LayerSpec.create("Conv2D", filters=32, kernel_size=[3, 3], activation="relu"),
    LayerSpec.create("MaxPooling2D", pool_size=[2, 2]),
    LayerSpec.create("Conv2D", filters=64, kernel_size=[3, 3], activation="relu"),
    LayerSpec.create("MaxPooling2D", pool_size=[2, 2]),
    LayerSpec.create("Flatten"),
    LayerSpec.create("Dense", units=64, activation="relu"),
    LayerSpec.create("Dense", units=10, activation="softmax"),
])


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    tf_loader.load_tensorflow()


def _wind_down(state: ProjectState) -> None:
    """Before the state goes: let background dataset loads (started by template and dataset
    switches) report back, and stop the pending inspection."""
    for thread in threading.enumerate():
        if thread.name == "dataset-load":
            thread.join(60)
    QApplication.processEvents()
    state.stop_inspection()


def make_panel(qtbot, template: str = "mnist-cnn", model: ModelSpec | None = None):
    host = QWidget()
    project = load_template(template)
    if model is not None:
        project.model = model.copy()
    state = ProjectState(project, host)
    # The closure keeps the host alive until qtbot closes it: a test that ends on an edit leaves
    # an inspection pending, which must not run while the garbage collector deletes the host.
    qtbot.addWidget(host, before_close_func=lambda _w, _host=host: _wind_down(state))
    panel = BuilderPanel(state, host)
    host.resize(520, 860)
    panel.resize(520, 860)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    qtbot.waitUntil(host.isActiveWindow, timeout=5000)
    state.refresh_inspection()
    settle(qtbot, state)
    panel.host = host  # qtbot keeps only a weak reference
    return state, panel


def settle(qtbot, state) -> None:
    """Wait for the Keras inspection of the latest edit (debounced, in the background)."""
    qtbot.waitUntil(lambda: state.inspection_current, timeout=20_000)
    QApplication.processEvents()


def click_palette(qtbot, panel: BuilderPanel, name: str) -> None:
    tree = panel.palette_view.tree
    item = panel.palette_view.items[name]
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    assert rect.isValid(), f"{name} is not visible in the palette"
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=rect.center())


def click_row(qtbot, panel: BuilderPanel, row: int) -> None:
    tree = panel.stack.tree
    item = tree.topLevelItem(row)
    tree.scrollToItem(item)
    qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(item).center())


def type_into_spin(qtbot, spin, text: str) -> None:
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)


def stack_texts(panel: BuilderPanel, column: int = 1) -> list[str]:
    tree = panel.stack.tree
    return [tree.topLevelItem(i).text(column) for i in range(tree.topLevelItemCount())]


def test_build_mnist_cnn_by_clicking(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")
    panel.clear_action.trigger()
    assert state.spec.layers == []
    click_row(qtbot, panel, 0)  # the input row: its editor is the input shape
    shape_edit = panel.properties.editors["input_shape"].edit
    shape_edit.selectAll()
    qtbot.keyClicks(shape_edit, "28, 28")
    qtbot.keyClick(shape_edit, Qt.Key_Return)
    assert tuple(state.spec.input_shape) == (28, 28)

    click_palette(qtbot, panel, "Reshape")  # default target (28, 28, 1)
    click_palette(qtbot, panel, "Conv2D")  # default 32 filters 3×3 relu
    click_palette(qtbot, panel, "MaxPooling2D")
    click_palette(qtbot, panel, "Conv2D")
    type_into_spin(qtbot, panel.properties.editors["filters"].spin, "64")
    click_palette(qtbot, panel, "MaxPooling2D")
    click_palette(qtbot, panel, "Flatten")
    click_palette(qtbot, panel, "Dense")
    panel.properties.editors["activation"].combo.setCurrentText("relu")
    click_palette(qtbot, panel, "Dense")
    type_into_spin(qtbot, panel.properties.editors["units"].spin, "10")
    panel.properties.editors["activation"].combo.setCurrentText("softmax")
    settle(qtbot, state)

    assert state.spec.to_dict() == MNIST_CNN.to_dict()
    assert state.inspection.ok
    assert state.inspection.total_params == 121_930
    assert "121,930" in panel.stack.totals.text()
    assert stack_texts(panel, 2)[1:] == [
        "(28, 28, 1)", "(26, 26, 32)", "(13, 13, 32)", "(11, 11, 64)", "(5, 5, 64)",
        "(1600,)", "(64,)", "(10,)",
    ]
    assert stack_texts(panel, 1)[8] == "Dense 10 softmax"
    # Typing "10" into units was one undoable step, not one per keystroke.
    state.undo_stack.undo()  # activation softmax
    state.undo_stack.undo()  # units
    assert state.spec.layers[-1].config["units"] == 64


def test_reorder_delete_duplicate_undo_redo(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")  # Flatten, Dense 128, Dropout, Dense 10
    tree = panel.stack.tree
    names = lambda: [layer.class_name for layer in state.spec.layers]  # noqa: E731
    click_row(qtbot, panel, 3)  # Dropout
    assert state.selected == 2
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus, timeout=5000)
    qtbot.keyClick(tree, Qt.Key_Up, Qt.AltModifier)
    assert names() == ["Flatten", "Dropout", "Dense", "Dense"]
    assert state.selected == 1
    qtbot.mouseClick(panel.findChild(QWidget, "stackMoveDownButton"), Qt.LeftButton)
    assert names() == ["Flatten", "Dense", "Dropout", "Dense"]
    qtbot.keyClick(tree, Qt.Key_D, Qt.ControlModifier)
    assert names() == ["Flatten", "Dense", "Dropout", "Dropout", "Dense"]
    assert state.selected == 3
    qtbot.keyClick(tree, Qt.Key_Delete)
    assert names() == ["Flatten", "Dense", "Dropout", "Dense"]
    assert state.selected == 3  # the next layer moved up into the selection
    qtbot.keyClick(tree, Qt.Key_Up)
    assert state.selected == 2
    qtbot.keyClick(tree, Qt.Key_Delete)
    assert names() == ["Flatten", "Dense", "Dense"]
    settle(qtbot, state)
    assert stack_texts(panel)[1:] == ["Flatten", "Dense 128 relu", "Dense 10 softmax"]

    qtbot.mouseClick(panel.stack.undo_button, Qt.LeftButton)
    qtbot.mouseClick(panel.stack.undo_button, Qt.LeftButton)
    assert names() == ["Flatten", "Dense", "Dropout", "Dropout", "Dense"]
    state.undo_stack.undo()
    state.undo_stack.undo()
    state.undo_stack.undo()
    assert names() == ["Flatten", "Dense", "Dropout", "Dense"]
    assert state.spec.to_dict() == load_template("mnist-mlp").model.to_dict()
    qtbot.mouseClick(panel.stack.redo_button, Qt.LeftButton)
    assert names() == ["Flatten", "Dropout", "Dense", "Dense"]
    settle(qtbot, state)
    assert stack_texts(panel)[1:] == ["Flatten", "Dropout 0.2", "Dense 128 relu",
                                      "Dense 10 softmax"]


def drop_on(tree, row: int, mime: QMimeData, action=Qt.CopyAction, lower: bool = True) -> None:
    """Deliver a drag (enter, move, drop) onto the lower or upper half of a stack row."""
    rect = tree.visualItemRect(tree.topLevelItem(row))
    pos = QPoint(rect.center().x(), rect.bottom() - 2 if lower else rect.top() + 2)
    for kind in (QDragEnterEvent, QDragMoveEvent, QDropEvent):
        QApplication.sendEvent(tree.viewport(), kind(pos, action, mime, Qt.LeftButton,
                                                      Qt.NoModifier))


def test_drop_from_palette_and_drag_reorder(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")
    tree = panel.stack.tree
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNormalization")
    drop_on(tree, 2, mime)  # below Dense 128
    assert [layer.class_name for layer in state.spec.layers] == [
        "Flatten", "Dense", "BatchNormalization", "Dropout", "Dense"]
    # The drop moves no items by itself: the rows follow the spec.
    assert tree.topLevelItemCount() == 6
    assert stack_texts(panel)[3] == "BatchNormalization"
    # The palette's own drag payload names the layer.
    palette = panel.palette_view.tree
    data = palette.mimeData([panel.palette_view.items["Dropout"]])
    assert bytes(data.data(LAYER_MIME)) == b"Dropout"

def test_invalid_layer_is_explained_and_fixed(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")
    panel.clear_action.trigger()
    click_row(qtbot, panel, 0)
    shape_edit = panel.properties.editors["input_shape"].edit
    shape_edit.selectAll()
    qtbot.keyClicks(shape_edit, "784")
    qtbot.keyClick(shape_edit, Qt.Key_Return)
    click_palette(qtbot, panel, "Conv2D")
    settle(qtbot, state)

    assert not state.inspection.ok
    assert panel.stack.error_frame.isVisible()
    message = panel.stack.error_label.text()
    assert "Conv2D needs an image" in message and "(784,)" in message
    row = panel.stack.tree.topLevelItem(1)
    assert row.background(1).color().name() == "#fde4e4"
    assert "needs an image" in row.toolTip(1)
    assert "0 · the model cannot be built" in panel.stack.totals.text()
    fix = panel.stack.fix_button
    assert fix.isVisible() and fix.text() == "Insert Reshape to fix"

    qtbot.mouseClick(fix, Qt.LeftButton)
    settle(qtbot, state)
    assert [layer.to_dict() for layer in state.spec.layers[:1]] == [
        {"class_name": "Reshape", "config": {"target_shape": [28, 28, 1]}}]
    assert state.inspection.ok
    assert not panel.stack.error_frame.isVisible()
    assert stack_texts(panel, 2)[1:] == ["(28, 28, 1)", "(26, 26, 32)"]


def test_property_editors(qtbot):
    state, panel = make_panel(qtbot, model=MNIST_CNN)
    click_row(qtbot, panel, 3)  # MaxPooling2D: optional strides
    editors = panel.properties.editors
    assert set(editors) == {"pool_size", "strides", "padding"}
    strides = editors["strides"]
    assert not strides.enabled_box.isChecked() and not strides.spins[0].isEnabled()
    strides.enabled_box.setChecked(True)
    assert state.spec.layers[2].config["strides"] == [2, 2]
    strides.spins[0].setValue(1)
    assert state.spec.layers[2].config["strides"] == [1, 2]
    strides.enabled_box.setChecked(False)
    assert state.spec.layers[2].config["strides"] is None

    click_row(qtbot, panel, 7)  # Dense 64: regularizer and the editor kept in place
    units_spin = panel.properties.editors["units"].spin
    reg = panel.properties.editors["kernel_regularizer"]
    reg.kind.setCurrentText("L2")
    assert state.spec.layers[6].config["kernel_regularizer"] == {
        "class_name": "L2", "config": {"l2": 0.01}}
    reg.factor.setValue(0.001)
    assert state.spec.layers[6].config["kernel_regularizer"]["config"] == {"l2": 0.001}
    click_row(qtbot, panel, 8)  # another Dense: same widgets, new values
    assert panel.properties.editors["units"].spin is units_spin
    assert units_spin.value() == 10
    assert panel.properties.editors["kernel_regularizer"].kind.currentText() == "none"

    click_row(qtbot, panel, 1)  # Reshape: a wrong shape is marked, not applied
    target = panel.properties.editors["target_shape"]
    target.edit.selectAll()
    qtbot.keyClicks(target.edit, "28, x")
    qtbot.keyClick(target.edit, Qt.Key_Return)
    assert "whole numbers" in target.problem.text()
    assert state.spec.layers[0].config["target_shape"] == [28, 28, 1]
    target.edit.selectAll()
    qtbot.keyClicks(target.edit, "28, 28, -1")
    qtbot.keyClick(target.edit, Qt.Key_Return)
    assert state.spec.layers[0].config["target_shape"] == [28, 28, -1]
    assert target.problem.isHidden()

    # Undo restores the value shown in the editor too.
    state.undo_stack.undo()
    assert target.edit.text() == "28, 28, 1"


def test_palette_search_and_help(qtbot):
    _state, panel = make_panel(qtbot)
    palette = panel.palette_view
    qtbot.keyClicks(palette.search, "pool")
    shown = palette.visible_names()
    assert "MaxPooling2D" in shown and "GlobalAveragePooling1D" in shown
    assert "Dense" not in shown
    assert "largest value" in palette.items["MaxPooling2D"].toolTip(0)
    palette.search.clear()
    qtbot.keyClicks(palette.search, "lstm")
    assert palette.visible_names() == ["LSTM"]


def test_enter_in_the_palette_search_adds_the_highlighted_layer(qtbot):
    state, panel = make_panel(qtbot, model=ModelSpec((28, 28), [LayerSpec.create("Flatten")]))
    palette = panel.palette_view
    click_row(qtbot, panel, 1)
    palette.search.setFocus()
    qtbot.keyClicks(palette.search, "dens")
    assert palette.highlighted() == "Dense"
    qtbot.keyClick(palette.search, Qt.Key_Return)
    assert [layer.class_name for layer in state.spec.layers] == ["Flatten", "Dense"]
    # Several matches: the first is highlighted, Down moves the highlight, Enter adds it.
    palette.search.clear()
    qtbot.keyClicks(palette.search, "dropout")
    shown = palette.visible_names()
    assert len(shown) > 1 and palette.highlighted() == shown[0]
    qtbot.keyClick(palette.search, Qt.Key_Down)
    assert palette.highlighted() == shown[1]
    qtbot.keyClick(palette.search, Qt.Key_Return)
    assert state.spec.layers[-1].class_name == shown[1]
    # Nothing matches: Enter adds nothing.
    palette.search.clear()
    qtbot.keyClicks(palette.search, "nothing like this")
    qtbot.keyClick(palette.search, Qt.Key_Return)
    assert len(state.spec.layers) == 3


def test_training_settings_and_warnings(qtbot):
    state, panel = make_panel(qtbot, model=MNIST_CNN)
    state.data.load()
    qtbot.waitUntil(lambda: state.data.dataset is not None, timeout=60000)
    settings = panel.settings
    assert not settings.warnings.isVisible() or not settings.warnings.text()
    settings.optimizer.setCurrentIndex(settings.optimizer.findData("sgd"))
    assert state.training.optimizer == "sgd"
    panel.tabs.setCurrentWidget(settings)
    assert settings.momentum.isVisible() and settings.nesterov.isVisible()
    settings.momentum.setValue(0.9)
    assert state.training.momentum == pytest.approx(0.9)
    settings.learning_rate.setValue(0.001)
    settings.learning_rate.stepBy(1)
    assert state.training.learning_rate == pytest.approx(0.002)
    settings.learning_rate.stepBy(-2)
    assert state.training.learning_rate == pytest.approx(0.0005)

    settings.loss.setCurrentText("mean_squared_error")
    assert settings.warnings.isVisible()
    assert "sparse_categorical_crossentropy" in settings.warnings.text()
    assert settings.warnings.text().startswith("⚠ mean_squared_error on")  # Keras's spelling
    settings.loss.setCurrentText("sparse_categorical_crossentropy")
    assert not settings.warnings.isVisible()

    settings.early.setChecked(True)
    assert state.training.early_stopping == {
        "monitor": "val_loss", "patience": 3, "restore_best_weights": True}
    settings.patience.setValue(5)
    assert state.training.early_stopping["patience"] == 5
    settings.fixed_seed.setChecked(False)
    assert state.training.seed is None
    settings.epochs.setValue(3)
    settings.batch_size.setValue(128)
    settings.validation.setValue(0.2)
    cfg = state.training
    assert (cfg.epochs, cfg.batch_size, cfg.validation_split) == (3, 128, 0.2)
    # A settings change is undoable and the widgets follow.
    state.undo_stack.undo()
    assert settings.validation.value() == pytest.approx(0.1)

    index = settings.dataset.findData("random-classes")
    settings.dataset.setCurrentIndex(index)
    settings.dataset.activated.emit(index)
    assert state.project.dataset == "random-classes"
    qtbot.waitUntil(lambda: state.data.dataset is not None
                    and state.data.dataset.input_shape == (100,),
                    timeout=30000)
    # (100,) samples cannot feed a (28, 28) input: the stack says so and offers the fix.
    panel.tabs.setCurrentIndex(0)
    assert panel.stack.input_frame.isVisible()
    assert "(100,)" in panel.stack.input_hint.text()
    qtbot.mouseClick(panel.stack.input_hint_button, Qt.LeftButton)
    assert tuple(state.spec.input_shape) == (100,)


def test_code_view_follows_edits(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")
    panel.view_code_action.trigger()
    view = panel._code_view
    assert view.isVisible()
    code = view.text.toPlainText()
    assert "keras.layers.Dense(units=128, activation='relu')" in code
    compile(code, "exported.py", "exec")
    state.set_layer_param(1, "units", 256)
    assert "keras.layers.Dense(units=256, activation='relu')" in view.text.toPlainText()
    assert view.text.isReadOnly()
    view.close()


def test_the_builder_refuses_edits_while_a_run_trains(qtbot):
    state, panel = make_panel(qtbot)
    assert not panel.busy_note.isVisible()
    before = state.spec.to_dict()
    state.set_busy(True)
    assert panel.busy_note.isVisible() and "training" in panel.busy_note.text()
    for widget in (panel.palette_view, panel.stack, panel.properties, panel.settings):
        assert not widget.isEnabled()
    assert not panel.clear_action.isEnabled()
    # What a user does anyway (a click on the greyed palette, Delete, Clear) changes nothing.
    click_palette(qtbot, panel, "Dropout")
    panel.stack.tree.setFocus()
    qtbot.keyClick(panel.stack.tree, Qt.Key_Delete)
    panel.clear_action.trigger()
    refused = []
    state.edit_refused.connect(refused.append)
    state.remove_layer(0)  # and a script: refused, with the reason
    assert state.spec.to_dict() == before and state.undo_stack.count() == 0
    assert refused and "training" in refused[0]
    state.set_busy(False)
    assert not panel.busy_note.isVisible() and panel.palette_view.isEnabled()
    click_palette(qtbot, panel, "Dropout")
    assert "Dropout" in [layer.class_name for layer in state.spec.layers]


def test_a_read_only_project_greys_the_builder(qtbot):
    state, panel = make_panel(qtbot)
    state.replace_project(load_template("mnist-mlp"), read_only="read-only: functional model")
    assert not state.editable and panel.busy_note.isVisible()
    assert panel.busy_note.text() == "Read-only: functional model"
    before = state.spec.to_dict()
    click_palette(qtbot, panel, "Dense")
    type_into_spin(qtbot, panel.settings.findChild(QSpinBox), "3")
    state.set_layer_param(0, "units", 3)
    assert state.spec.to_dict() == before and state.undo_stack.count() == 0
    state.replace_project(load_template("mnist-mlp"))  # a normal project is editable again
    assert state.editable and panel.palette_view.isEnabled() and not panel.busy_note.isVisible()


def test_templates_load(qtbot):
    state, panel = make_panel(qtbot)
    for key, params in TEMPLATE_PARAMS.items():
        state.replace_project(load_template(key))
        settle(qtbot, state)
        assert state.inspection.ok, key
        assert state.inspection.total_params == params, key
        assert f"{params:,}" in panel.stack.totals.text(), key
        assert panel.stack.tree.topLevelItemCount() == len(state.spec.layers) + 1
        assert stack_texts(panel, 3)[-1] != "…"
        assert state.spec.layers[state.selected].class_name in panel.properties.title.text()


def test_stack_shows_dots_before_tensorflow(qtbot):
    state, panel = make_panel(qtbot, "mnist-mlp")
    state.inspection = None
    panel.stack._stale = True
    panel.stack.refresh()
    assert set(stack_texts(panel, 3)[1:]) == {"…"}
    assert "TensorFlow" in panel.stack.totals.text()


def test_empty_model_state(qtbot):
    state, panel = make_panel(qtbot)
    state.set_model(ModelSpec((28, 28), []))
    settle(qtbot, state)
    assert panel.stack.tree.topLevelItemCount() == 1
    assert state.inspection.total_params == 0
    assert not panel.stack.delete_action.isEnabled()
    state.insert_layer(0, LayerSpec.create("Flatten"))
    assert panel.stack.delete_action.isEnabled()


def test_in_main_window_shortcuts_and_templates(qtbot):
    from workbench.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window, before_close_func=lambda _w: _wind_down(window.state))
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.state.engine.loaded
                    and window.state.data.dataset is not None,
                    timeout=60000)
    state = window.state
    for name in ("layerPalette", "layerStack", "layerProperties"):
        assert window.findChild(QWidget, name) is not None, name
    assert any(a.objectName() == "viewCodeAction" for a in window.view_menu.actions())

    panel = window.builder_panel
    n = len(state.spec.layers)
    click_row(qtbot, panel, 2)
    tree = panel.stack.tree
    window.activateWindow()  # (under load the first activation came too late for the focus)
    qtbot.waitActive(window, timeout=20_000)
    tree.setFocus()
    qtbot.waitUntil(tree.hasFocus, timeout=20_000)
    qtbot.keyClick(tree, Qt.Key_Delete)
    assert len(state.spec.layers) == n - 1
    qtbot.keyClick(tree, Qt.Key_Z, Qt.ControlModifier)  # the Edit menu's shortcut
    assert len(state.spec.layers) == n
    qtbot.keyClick(tree, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(state.spec.layers) == n - 1
    qtbot.keyClick(tree, Qt.Key_Z, Qt.ControlModifier)
    assert not state.dirty

    for key, params in TEMPLATE_PARAMS.items():
        action = next(a for a in window.templates_menu.actions()
                      if a.text() == load_template(key).name)
        action.trigger()
        settle(qtbot, state)
        assert state.inspection.total_params == params, key
        assert f"{params:,}" in panel.stack.totals.text(), key


def test_output_that_does_not_fit_the_labels_is_caught_while_building(qtbot):
    """Issue 18.3: Dense after MaxPooling2D gives an image of scores; the builder says so at the
    last layer, Train waits, and one click on the fix (Flatten before the first Dense) cures it."""
    from workbench.ui.main_window import MainWindow

    w = MainWindow()  # the MNIST CNN on the embedded digits
    w.show()
    state = w.state
    try:
        qtbot.waitUntil(lambda: state.engine.loaded and state.data.dataset is not None
                        and state.inspection is not None, timeout=60_000)
        stack = w.builder_panel.stack
        train = w.findChild(QWidget, "trainButton")
        qtbot.waitUntil(train.isEnabled, timeout=10_000)
        names = [layer.class_name for layer in state.spec.layers]
        flatten = names.index("Flatten")
        tree = stack.tree
        item = tree.topLevelItem(flatten + 1)
        tree.scrollToItem(item)
        qtbot.mouseClick(tree.viewport(), Qt.LeftButton, pos=tree.visualItemRect(item).center())
        tree.setFocus()
        qtbot.keyClick(tree, Qt.Key_Delete)  # now Dense 64 comes right after MaxPooling2D
        settle(qtbot, state)

        assert state.inspection.ok  # Keras builds it: (5, 5, 10) is a valid output
        assert state.inspection.output_shape == (5, 5, 10)
        assert stack.error_frame.isVisible()
        message = stack.error_label.text()
        last = len(state.spec.layers)
        assert message.startswith(f"⚠ Layer {last} (Dense)")
        assert "(5, 5, 10)" in message and "10 classes" in message
        last_row = tree.topLevelItem(last)
        assert last_row.background(1).color().name() == "#fde4e4"
        assert "(5, 5, 10)" in last_row.toolTip(1)
        assert not train.isEnabled()
        assert "does not fit the labels" in train.toolTip()

        fix = stack.fix_button
        assert fix.isVisible() and fix.text() == f"Insert Flatten before layer {flatten + 1}"
        qtbot.mouseClick(fix, Qt.LeftButton)
        settle(qtbot, state)
        assert [layer.class_name for layer in state.spec.layers] == names
        assert state.inspection.output_shape == (10,)
        assert not stack.error_frame.isVisible()
        qtbot.waitUntil(train.isEnabled, timeout=10_000)
    finally:
        w.training_panel.shutdown()
        state.undo_stack.setClean()
        w.close()
        w.deleteLater()
        qtbot.wait(10)

