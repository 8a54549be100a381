"""Issue #30, points 11–14: what the user had to discover, stale content, glyphs and labels."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence, QRawFont
from PyQt5.QtWidgets import QAction, QFileDialog

from tests.ui.test_evaluation import ready_window
from workbench.core.spec import LayerSpec, TrainConfig
from workbench.ui.draw.deployed import OPEN_ITEM
from workbench.ui.draw.prediction import PredictionView
from workbench.ui.graph.items import FixButton
from workbench.ui.project_actions import ProjectActions

# Point 11 ----------------------------------------------------------------------------------------

def test_a_linear_output_with_cross_entropy_is_said_on_the_model_tab(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = w.builder_panel
    assert panel.tabs.currentIndex() == 0  # the Model tab
    assert not panel.stack.warnings.isVisible()
    last = len(w.state.spec.layers) - 1
    w.state.set_layer_param(last, "activation", "linear")
    qtbot.waitUntil(lambda: panel.stack.warnings.isVisible(), timeout=10_000)
    assert "softmax" in panel.stack.warnings.text()
    w.state.undo_stack.undo()
    qtbot.waitUntil(lambda: not panel.stack.warnings.isVisible(), timeout=10_000)
    w.state.undo_stack.setClean()


# Point 14 ----------------------------------------------------------------------------------------

def _missing_glyphs(text: str, font) -> str:
    """The characters of ``text`` the font itself lacks (Qt then draws a box, or a fallback
    font's glyph where one is installed)."""
    raw = QRawFont.fromFont(font)
    return "".join(ch for ch in text if not ch.isspace() and not raw.supportsCharacter(ord(ch)))


def test_graph_buttons_and_fix_links_use_glyphs_the_default_font_has(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    graph = w.graph_panel
    w.tabs.setCurrentWidget(graph)
    w.state.insert_layer(0, LayerSpec.create("Conv2D"))  # on (28, 28): fails, with a fix
    qtbot.waitUntil(lambda: any(isinstance(i, FixButton) for i in graph.view.scene().items()),
                    timeout=15_000)
    fixes = [i for i in graph.view.scene().items() if isinstance(i, FixButton)]
    for item in fixes:
        assert _missing_glyphs(item.text(), item.font()) == "", item.text()  # "🔧 Fix" before
    for button in graph.buttons.values():
        assert _missing_glyphs(button.text(), button.font()) == "", button.text()  # "＋ Add"
    w.state.undo_stack.setClean()


def test_the_template_menu_shows_an_ampersand(qtbot):
    w = ready_window(qtbot)
    texts = [a.text() for a in w.templates_menu.actions()]
    wide = [t for t in texts if t.lower().startswith("wide")]
    assert wide and all("&&" in t for t in wide)  # shown as "Wide & deep", not "Wide _deep"


def test_the_shortcut_table_lists_keys_a_keyboard_has(qtbot):
    from workbench.ui.help import key_text, shortcut_rows  # its key table needs a QApplication

    w = ready_window(qtbot)
    rows = shortcut_rows(w)
    undo = [keys for _where, what, keys in rows if what.startswith("Undo")]
    assert undo and all("Ctrl+Z" in keys for keys in undo)
    assert not any("F14" in keys or "F13" in keys for _where, _what, keys in rows)
    # X11's Undo keys (the offscreen platform has only Ctrl+Z): the table shows the one people use.
    action = QAction(w)
    action.setShortcuts([QKeySequence("Ctrl+Z"), QKeySequence(Qt.Key_F14)])
    assert key_text(action) == QKeySequence("Ctrl+Z").toString(QKeySequence.NativeText)


def test_a_full_bar_keeps_its_whole_percentage_in_view(qtbot):
    view = PredictionView()
    qtbot.addWidget(view)
    view.resize(230, 260)
    view.show()
    qtbot.waitExposed(view)
    probabilities = np.zeros(10)
    probabilities[3] = 1.0
    view.show_probabilities(probabilities, [str(i) for i in range(10)])
    qtbot.wait(50)
    box = view._plot.getPlotItem().vb.sceneBoundingRect()
    rects = [label.sceneBoundingRect() for label in view._labels if label.textItem.toPlainText()]
    assert len(rects) == 10
    for rect in rects:
        assert box.left() - 1 <= rect.left() and rect.right() <= box.right() + 1  # "100.0%"


def test_compare_open_starts_where_the_exports_were_written(qtbot, tmp_path, monkeypatch):
    w = ready_window(qtbot)
    exports = tmp_path / "exports"
    exports.mkdir()
    w.state.bus.model_exported.emit(str(exports / "digits.onnx"))
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda _parent, _caption, folder, _filter: asked.append(folder) or ("", ""))
    box = w.draw_panel.deployed.box
    box.activated.emit(box.findText(OPEN_ITEM))
    assert asked == [str(exports)]  # the project's folder ("") before


def test_the_merge_button_says_how_to_enable_it(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    graph = w.graph_panel
    w.tabs.setCurrentWidget(graph)
    merge = graph.buttons["merge"]
    qtbot.waitUntil(lambda: len(graph.view.nodes) > 2, timeout=10_000)
    assert not merge.isEnabled() and "Ctrl+click" in merge.text()
    names = [n for n in graph.view.nodes if n != "input"][:2]
    for name in names:
        graph.view.nodes[name].setSelected(True)
    qtbot.waitUntil(merge.isEnabled, timeout=3000)
    assert "Ctrl+click" not in merge.text()


# Point 13 ----------------------------------------------------------------------------------------

def test_a_failed_load_leaves_nothing_of_the_dataset_before(qtbot, tmp_path):
    w = ready_window(qtbot)
    panel = w.dataset_panel
    w.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=30_000)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    w.state.set_dataset(str(broken))
    qtbot.waitUntil(lambda: bool(w.state.data.error), timeout=30_000)
    qtbot.wait(50)
    assert "broken.npz" in panel.summary.text() or "Dataset:" in panel.summary.text()
    assert panel.model.rowCount() == 0  # the MNIST digits stayed under the message before
    assert panel.balance.getPlotItem().listDataItems() == [] and not panel.balance_title.text()
    assert panel.sample_picture.pixmap() is None or panel.sample_picture.pixmap().isNull()
    w.state.undo_stack.setClean()


def test_new_empties_the_plots_axes(qtbot, monkeypatch):
    w = ready_window(qtbot)
    curves = w.training_panel.curves
    record = {"id": 1, "status": "completed", "epochs": 12,
              "history": {"loss": [5.0 - 0.3 * i for i in range(12)],
                          "accuracy": [0.1 + 0.05 * i for i in range(12)]}}
    curves.show_record(record)
    qtbot.wait(100)
    x_range = curves.loss_view.plot.getPlotItem().viewRange()[0]
    assert x_range[1] > 10
    monkeypatch.setattr(ProjectActions, "maybe_save", lambda self: True)
    w.project_actions.new_action.trigger()
    qtbot.wait(100)
    for view in (curves.loss_view, curves.metric_view):
        (x0, x1), (y0, y1) = view.plot.getPlotItem().viewRange()
        assert x1 <= 1.5 and y1 <= 1.5  # epochs to 12 and losses to 5 before


def test_tutorial_h_card_chart_follows_its_run(qtbot):
    w = ready_window(qtbot)
    w.tutorials.actions["H"].trigger()
    qtbot.waitUntil(lambda: w.state.data.dataset is not None
                    and w.state.data.dataset.name == "fonts", timeout=60_000)
    w.state.data.dataset = w.state.data.dataset.subset(200)
    config = TrainConfig.from_dict(w.state.training.to_dict())
    config.epochs = 2
    w.state.set_training(config)
    card = w.tutorials.card
    seen = []
    w.training_panel.epoch_ended.connect(lambda *_: seen.append(card.shown.get("every")))
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=90_000):
        assert w.tutorials.train()
    assert seen and all(every and every[0] for every in seen)  # empty until the end before
    w.state.undo_stack.setClean()


# Point 12 ----------------------------------------------------------------------------------------

def _folder_of_32_pixel_images(root, shape=(32, 32)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(12):
            picture = (rng.random(shape) * 255).astype(np.uint8)
            Image.fromarray(picture).save(root / label / f"{i}.png")
    return root


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)])  # no fix for colour pictures before
def test_using_a_folders_shape_offers_the_reshape_fix(qtbot, tmp_path, shape):
    w = ready_window(qtbot, "mnist-cnn")
    try:
        folder = _folder_of_32_pixel_images(tmp_path / "pictures", shape)
        w.state.set_dataset(str(folder))
        qtbot.waitUntil(lambda: w.state.data.dataset is not None
                        and tuple(w.state.data.dataset.input_shape)[:2] == (32, 32), timeout=60_000)
        stack = w.builder_panel.stack
        qtbot.waitUntil(lambda: stack.input_hint_button.isVisible(), timeout=10_000)
        qtbot.mouseClick(stack.input_hint_button, Qt.LeftButton)  # "Use (32, 32)"
        qtbot.waitUntil(lambda: w.state.inspection is not None and w.state.inspection_current
                        and not w.state.inspection.ok, timeout=15_000)
        qtbot.waitUntil(lambda: stack.fix_button.isVisible(), timeout=5000)  # none offered before
        qtbot.mouseClick(stack.fix_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: w.state.inspection is not None and w.state.inspection_current
                        and w.state.inspection.ok, timeout=15_000)
        reshape = next(layer for layer in w.state.spec.layers if layer.class_name == "Reshape")
        assert tuple(reshape.config["target_shape"]) == (32, 32, shape[2] if len(shape) > 2 else 1)
    finally:  # a failure too closes the window without its save prompt
        w.state.undo_stack.setClean()



def test_the_augmentation_preview_says_why_in_a_users_words(qtbot, tmp_path):
    w = ready_window(qtbot, "mnist-cnn")
    try:
        panel = w.dataset_panel
        w.tabs.setCurrentWidget(panel)
        qtbot.waitUntil(lambda: panel.augmented is not None, timeout=60_000)
        w.state.set_dataset(str(_folder_of_32_pixel_images(tmp_path / "pictures")))
        qtbot.waitUntil(lambda: w.state.data.dataset is not None
                        and tuple(w.state.data.dataset.input_shape) == (32, 32), timeout=60_000)
        stack = w.builder_panel.stack
        qtbot.waitUntil(lambda: stack.input_hint_button.isVisible(), timeout=10_000)
        qtbot.mouseClick(stack.input_hint_button, Qt.LeftButton)  # "Use (32, 32)"
        label = panel.augment_label
        # "Augmentation preview: augment-preview failed: layer 1 (Reshape): ..." before.
        qtbot.waitUntil(lambda: "Reshape to (32, 32, 1)" in label.text(), timeout=30_000)
        assert label.text().startswith("No preview: layer 1 (Reshape)")
        assert "augment-preview" not in label.text() and panel.augmented is None
        # An augmentation on samples that are not pictures: Keras's words named its batch of 8,
        # "Expected image tensor to have rank 3 ... Received: data.shape=(8, 32, 32)".
        w.state.remove_layer(0)  # the Reshape
        qtbot.waitUntil(lambda: "RandomRotation" in label.text(), timeout=30_000)
        assert "(32, 32)" in label.text() and "Reshape to (32, 32, 1)" in label.text()
        assert "data.shape" not in label.text() and panel.augmented is None
    finally:
        w.state.undo_stack.setClean()
