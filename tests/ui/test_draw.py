"""The Draw tab: mouse strokes → preprocessing → the latest model → probability bars."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PyQt5.QtCore import QEvent, QObject, QPointF, Qt
from PyQt5.QtGui import QMouseEvent, QRegion, QTabletEvent
from PyQt5.QtWidgets import QAction, QApplication, QMainWindow, QWidget

from tests.ui.conftest import plain_and_weights
from workbench.ui.draw import samples
from workbench.ui.draw.canvas import DrawCanvasView
from workbench.ui.draw.panel import EMPTY_HINT, EMPTY_NO_MODEL_HINT, NO_MODEL_HINT, DrawPanel

# --- shared fixtures ------------------------------------------------------------------------------


@pytest.fixture
def panel(draw_panel):
    return draw_panel  # (tests/ui/conftest.py; ``trained`` too)


def give_weights(panel, trained, epoch=0):
    spec, weights, _ = trained
    panel.state.trained.set_weights(epoch, weights, spec)


def send_mouse(widget, kind, pos, button, buttons):
    event = QMouseEvent(kind, QPointF(*pos), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def stroke(canvas, points, button=Qt.LeftButton):
    """Press, move through ``points`` with the button held, release — like a user's hand."""
    send_mouse(canvas, QEvent.MouseButtonPress, points[0], button, button)
    for p in points[1:]:
        send_mouse(canvas, QEvent.MouseMove, p, Qt.NoButton, button)
    send_mouse(canvas, QEvent.MouseButtonRelease, points[-1], button, Qt.NoButton)


def seven(dx=0.0, dy=0.0, scale=1.0):
    """The two strokes of a '7' on a 280x280 canvas."""
    top = [(80 + 120 * t, 70) for t in np.linspace(0, 1, 12)]
    leg = [(200 - 80 * t, 70 + 150 * t) for t in np.linspace(0, 1, 16)]
    return [[(140 + (x - 140) * scale + dx, 140 + (y - 140) * scale + dy) for x, y in s]
            for s in (top + leg,)]


def zero():
    t = np.linspace(0, 2 * np.pi, 40)
    return [(140 + 55 * np.sin(a), 140 - 85 * np.cos(a)) for a in t]


def draw(canvas, strokes):
    for s in strokes:
        stroke(canvas, s)


def keras_outputs(panel, x) -> np.ndarray:
    """What a Keras model made here, of the trained spec holding the trained weights, outputs for
    the batch ``x``: the engine's answers are checked against it."""
    from workbench.engine.sources import build, given

    source, weights = given(panel.state.trained.model_body())
    return np.asarray(build(source, weights)(x, training=False))


def wait_prediction(qtbot, panel):
    qtbot.waitUntil(lambda: panel.prediction.probabilities is not None, timeout=10000)
    return panel.prediction.probabilities


# --- the canvas alone -----------------------------------------------------------------------------


def test_mouse_stroke_paints_smooth_ink(qtbot):
    canvas = DrawCanvasView()
    qtbot.addWidget(canvas)
    assert canvas.is_blank() and not canvas.ink_array().any()
    changes = []
    canvas.drawing_changed.connect(lambda: changes.append(1))
    stroke(canvas, [(50, 50), (100, 60), (150, 120)])
    ink = canvas.ink_array()
    assert not canvas.is_blank()
    assert len(changes) >= 3  # every segment is announced, for the live prediction
    assert ink[50, 50] == 255 and ink[60, 100] > 200  # the stroke passes through its points
    assert ink[250, 250] == 0
    # Anti-aliased: edge pixels between paper and full ink exist.
    assert ((ink > 0) & (ink < 255)).any()
    # Dark-on-light by default: the shown image is light paper with dark ink.
    shown = canvas.image_array()
    assert shown[250, 250] > 200 and shown[50, 50] < 10


class _PaintRecorder(QObject):
    """Collects the regions a widget repaints."""

    def __init__(self, widget):
        super().__init__(widget)
        self.region = QRegion()
        widget.installEventFilter(self)

    def eventFilter(self, _obj, event):  # noqa: N802 - Qt API
        if event.type() == QEvent.Paint:
            self.region = self.region.united(event.region())
        return False


def test_placeholder_is_wiped_by_the_first_stroke(qtbot):
    """A stroke in a corner repaints the whole canvas, so no part of "Draw a digit here" stays."""
    canvas = DrawCanvasView()
    qtbot.addWidget(canvas)
    canvas.show()
    qtbot.waitExposed(canvas)
    qtbot.wait(20)
    recorder = _PaintRecorder(canvas)
    stroke(canvas, [(20, 20), (30, 25), (40, 30)])
    qtbot.waitUntil(lambda: not recorder.region.isEmpty(), timeout=2000)
    qtbot.wait(20)
    text = canvas.fontMetrics().boundingRect("Draw a digit here")
    text.moveCenter(canvas.rect().center())
    assert recorder.region.contains(text.adjusted(-20, -10, 20, 10)), recorder.region.boundingRect()
    # Erasing everything again brings the placeholder back at once (a full repaint too).
    recorder.region = QRegion()
    canvas.set_pen_width(48)
    stroke(canvas, [(10, 10), (30, 25), (50, 40), (25, 20)], button=Qt.RightButton)
    assert canvas.is_blank()
    qtbot.waitUntil(lambda: not recorder.region.isEmpty(), timeout=2000)
    qtbot.wait(20)
    assert recorder.region.contains(canvas.rect())


def test_pen_width_eraser_and_polarity(qtbot):
    canvas = DrawCanvasView()
    qtbot.addWidget(canvas)
    canvas.set_pen_width(8)
    stroke(canvas, [(40, 140), (240, 140)])
    thin = int((canvas.ink_array()[:, 140] > 127).sum())
    canvas.clear()
    canvas.set_pen_width(30)
    stroke(canvas, [(40, 140), (240, 140)])
    thick = int((canvas.ink_array()[:, 140] > 127).sum())
    assert 6 <= thin <= 10 and 28 <= thick <= 32

    canvas.set_eraser(True)
    stroke(canvas, [(120, 140), (160, 140)])
    assert canvas.ink_array()[140, 140] == 0 and canvas.ink_array()[140, 60] == 255
    canvas.set_eraser(False)
    stroke(canvas, [(200, 100), (200, 180)], button=Qt.RightButton)  # right button erases too
    assert canvas.ink_array()[140, 200] == 0

    ink = canvas.ink_array()
    canvas.set_dark_on_light(False)
    assert np.array_equal(canvas.ink_array(), ink)  # polarity changes the look, not the ink
    assert canvas.image_array()[140, 60] > 245 and canvas.image_array()[5, 5] < 20


def test_tablet_pen_draws_with_pressure(qtbot):
    canvas = DrawCanvasView()
    qtbot.addWidget(canvas)

    def tablet(kind, x, y, pressure):
        event = QTabletEvent(kind, QPointF(x, y), QPointF(x, y), QTabletEvent.Stylus,
                             QTabletEvent.Pen, pressure, 0, 0, 0.0, 0.0, 0, Qt.NoModifier, 1,
                             Qt.LeftButton, Qt.LeftButton)
        QApplication.sendEvent(canvas, event)
        return event.isAccepted()

    assert tablet(QEvent.TabletPress, 60, 100, 0.2)
    tablet(QEvent.TabletMove, 140, 100, 0.2)
    tablet(QEvent.TabletRelease, 220, 100, 0.2)
    light = int((canvas.ink_array()[:, 140] > 127).sum())
    canvas.clear()
    tablet(QEvent.TabletPress, 60, 100, 1.0)
    tablet(QEvent.TabletMove, 140, 100, 1.0)
    tablet(QEvent.TabletRelease, 220, 100, 1.0)
    firm = int((canvas.ink_array()[:, 140] > 127).sum())
    assert 0 < light < firm


# --- the panel ------------------------------------------------------------------------------------


def test_strokes_produce_a_prediction(qtbot, panel, trained):
    assert panel.prediction.hint == EMPTY_NO_MODEL_HINT
    give_weights(panel, trained)
    qtbot.waitUntil(lambda: panel.prediction.hint == EMPTY_HINT, timeout=5000)
    assert panel.prediction.probabilities is None
    drawn = []
    panel.state.bus.digit_drawn.connect(drawn.append)
    draw(panel.canvas, seven())
    probs = wait_prediction(qtbot, panel)
    assert probs.shape == (10,) and abs(probs.sum() - 1.0) < 1e-4
    assert panel.prediction.class_names == [str(i) for i in range(10)]
    assert panel.preview.digit is not None and panel.preview.digit.shape == (28, 28)
    assert drawn and drawn[-1].shape == (28, 28) and drawn[-1].dtype == np.float32
    assert np.array_equal(drawn[-1], panel.current_input)
    # The bars show what the model says for exactly that input.
    direct = keras_outputs(panel, panel.current_input[None])
    assert np.allclose(probs, direct[0], atol=1e-5)
    assert panel.last_latency_ms > 0
    assert panel.timing_label.text() == f"Preprocess + inference: {panel.last_latency_ms:.1f} ms"


def test_prediction_updates_while_drawing(qtbot, panel, trained):
    give_weights(panel, trained)
    qtbot.waitUntil(lambda: panel.prediction.hint == EMPTY_HINT, timeout=5000)
    predictions = []
    panel.state.bus.digit_drawn.connect(predictions.append)
    points = zero()
    send_mouse(panel.canvas, QEvent.MouseButtonPress, points[0], Qt.LeftButton, Qt.LeftButton)
    for p in points[1:20]:
        send_mouse(panel.canvas, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    # The button is still down: the answer must already be there.
    wait_prediction(qtbot, panel)
    # 19 segments arrived faster than the ~60 Hz update rate: they were coalesced.
    assert 1 <= len(predictions) <= 3
    assert panel.canvas.is_drawing()
    first = panel.current_input.copy()
    for p in points[20:]:
        send_mouse(panel.canvas, QEvent.MouseMove, p, Qt.NoButton, Qt.LeftButton)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_input, first), timeout=5000)
    send_mouse(panel.canvas, QEvent.MouseButtonRelease, points[-1], Qt.LeftButton, Qt.NoButton)


def test_prediction_follows_new_weights(qtbot, panel, trained):
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    before = wait_prediction(qtbot, panel).copy()
    spec, weights, _ = trained
    # Another epoch arrives (here: the same network with its last layer's bias shifted).
    shifted = [w.copy() for w in weights]
    shifted[-1][3] += 5.0
    panel.state.trained.set_weights(1, shifted, spec)
    qtbot.waitUntil(
        lambda: panel.prediction.probabilities is not None
        and not np.allclose(panel.prediction.probabilities, before), timeout=5000,
    )
    assert panel.prediction.top_class == 3


def test_clear_resets(qtbot, panel, trained):
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: panel.prediction.probabilities is None, timeout=5000)
    assert panel.canvas.is_blank() and not panel.canvas.ink_array().any()
    assert panel.prediction.hint == EMPTY_HINT
    assert panel.preview.digit is None and panel.current_input is None
    assert not panel.gallery.add_button.isEnabled()
    # Esc on the canvas clears too.
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    panel.canvas.setFocus()
    qtbot.keyClick(panel.canvas, Qt.Key_Escape)
    assert panel.canvas.is_blank()
    qtbot.waitUntil(lambda: panel.prediction.hint == EMPTY_HINT, timeout=5000)


def test_undo_last_stroke(qtbot, panel, trained):
    give_weights(panel, trained)
    assert not panel.undo_button.isEnabled()
    top, leg = seven()[0][:12], seven()[0][11:]
    stroke(panel.canvas, top)
    after_first = panel.canvas.ink_array()
    stroke(panel.canvas, leg)
    assert not np.array_equal(panel.canvas.ink_array(), after_first)
    assert panel.undo_button.isEnabled()
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert np.array_equal(panel.canvas.ink_array(), after_first)
    qtbot.mouseClick(panel.undo_button, Qt.LeftButton)
    assert panel.canvas.is_blank() and not panel.undo_button.isEnabled()
    qtbot.waitUntil(lambda: panel.prediction.hint == EMPTY_HINT, timeout=5000)


def test_ctrl_z_on_canvas_undoes_the_stroke_not_the_window_edit(qtbot, panel, trained):
    # The main window's Edit ▸ Undo (model edits) has Ctrl+Z as a window-wide shortcut.
    window = QMainWindow()
    qtbot.addWidget(window)
    model_undo = QAction("Undo", window)
    model_undo.setShortcut("Ctrl+Z")
    window.addAction(model_undo)
    triggered = []
    model_undo.triggered.connect(lambda: triggered.append(1))
    panel = DrawPanel(panel.state)  # owned by the window, as in the application
    window.setCentralWidget(panel)
    window.show()
    qtbot.waitExposed(window)
    stroke(panel.canvas, seven()[0][:12])
    after_first = panel.canvas.ink_array()
    stroke(panel.canvas, seven()[0][11:])
    panel.canvas.setFocus()
    qtbot.waitUntil(panel.canvas.hasFocus)
    qtbot.keyClick(panel.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert np.array_equal(panel.canvas.ink_array(), after_first)
    assert triggered == []
    # Elsewhere in the window Ctrl+Z is the window's again.
    panel.clear_button.setFocus()
    qtbot.waitUntil(lambda: not panel.canvas.hasFocus())
    qtbot.keyClick(panel.clear_button, Qt.Key_Z, Qt.ControlModifier)
    assert triggered == [1]


def test_add_to_dataset_writes_and_appends(qtbot, panel, trained, tmp_path):
    from workbench.core.datasets import load_dataset

    path = tmp_path / "my-digits.npz"
    assert panel.gallery.path == path and not path.exists()
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    panel.gallery.label_box.setCurrentIndex(7)
    qtbot.mouseClick(panel.gallery.add_button, Qt.LeftButton)
    x, y, names = samples.load_samples(path)
    assert x.shape == (1, 28, 28) and x.dtype == np.uint8 and y.tolist() == [7]
    assert names == [str(i) for i in range(10)]
    assert np.array_equal(x[0], samples.to_uint8(panel.current_input))
    first = x[0].copy()
    assert panel.gallery.list.count() == 1 and panel.gallery.count == 1
    assert "1 sample" in panel.gallery.info.text()

    panel.canvas.clear()
    stroke(panel.canvas, zero())
    qtbot.waitUntil(panel.gallery.add_button.isEnabled, timeout=5000)  # the zero's prediction
    panel.gallery.label_box.setCurrentIndex(0)
    qtbot.mouseClick(panel.gallery.add_button, Qt.LeftButton)
    x, y, _ = samples.load_samples(path)
    assert x.shape == (2, 28, 28) and y.tolist() == [7, 0]
    assert np.array_equal(x[0], first)  # appended, the first sample untouched
    assert panel.gallery.list.count() == 2
    assert [panel.gallery.list.item(i).text() for i in range(2)] == ["7", "0"]
    assert not list(tmp_path.glob(".my-digits-*"))  # no temporary files left behind

    # The set is a dataset the loader reads; "Use for training" makes it the project's dataset.
    for label in (7, 0, 7, 0, 7, 0, 7, 0):
        samples.append_sample(path, panel.current_input, label, [str(i) for i in range(10)])
    panel.gallery.reload()
    loaded = load_dataset(str(path))
    assert len(loaded.x_train) + len(loaded.x_test) == 10
    assert loaded.x_train.dtype == np.float32 and loaded.x_train.max() <= 1.0
    assert panel.gallery.use_button.isEnabled()
    qtbot.mouseClick(panel.gallery.use_button, Qt.LeftButton)
    assert panel.state.project.dataset == str(path)


def test_label_to_add_follows_the_prediction_until_chosen(qtbot, panel, trained, tmp_path):
    """"Add to dataset as" offers the network's answer for each new drawing, not the last label."""
    give_weights(panel, trained)
    box = panel.gallery.label_box
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    assert box.currentIndex() == panel.prediction.top_class
    # The user picks a label: further strokes on this drawing keep it.
    chosen = (panel.prediction.top_class + 1) % 10
    box.setFocus()
    qtbot.keyClicks(box, str(chosen))
    assert box.currentIndex() == chosen
    stroke(panel.canvas, [(200, 200), (210, 215)])
    panel.update_prediction()
    assert box.currentIndex() == chosen
    qtbot.mouseClick(panel.gallery.add_button, Qt.LeftButton)
    assert samples.load_samples(tmp_path / "my-digits.npz")[1].tolist() == [chosen]
    # The next drawing follows its own prediction, not the label just used.
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    stroke(panel.canvas, zero())
    panel.update_prediction()
    assert box.currentIndex() == panel.prediction.top_class
    box.setCurrentIndex((box.currentIndex() + 3) % 10)  # chosen for a drawing then cleared
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    draw(panel.canvas, seven())
    panel.update_prediction()
    assert box.currentIndex() == panel.prediction.top_class


def test_unreadable_sample_file_is_never_overwritten(qtbot, panel, trained, tmp_path):
    path = tmp_path / "my-digits.npz"
    path.write_bytes(b"not a zip file")
    panel.gallery.reload()
    assert "cannot be read" in panel.gallery.info.text()
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    assert not panel.gallery.add_current()
    assert path.read_bytes() == b"not a zip file"
    assert "cannot be read" in panel.gallery.info.text()


def test_open_image_file(qtbot, panel, trained, tmp_path):
    give_weights(panel, trained)
    # A photo-like picture: a dark '1' written small and off-centre on a wide light page.
    image = Image.new("RGB", (400, 300), (235, 232, 225))
    ImageDraw.Draw(image).line([(300, 60), (296, 200)], fill=(30, 30, 40), width=9)
    path = tmp_path / "one.png"
    image.save(path)
    panel.polarity_box.setCurrentIndex(1)
    assert panel.open_image(path)
    probs = wait_prediction(qtbot, panel)
    assert panel.canvas.source is not None and not panel.canvas.is_blank()
    assert panel.polarity_box.currentIndex() == 0  # the canvas took the picture's polarity
    # Exactly what `workbench predict` computes for that file.
    from workbench.core import digits

    expected = digits.preprocess_digit(digits.load_image(path))
    assert np.array_equal(panel.current_input, expected)
    assert probs.shape == (10,)

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG garbage")
    assert not panel.open_image(bad)
    assert "broken.png: not a PNG/JPEG/BMP/GIF/TIFF/WebP image" in panel.prediction.hint
    assert not panel.open_image(tmp_path / "missing.png")
    assert "missing.png: no such file" in panel.prediction.hint


def test_test_image_requested_shows_and_predicts_the_sample(qtbot, panel, trained):
    give_weights(panel, trained)
    data = trained[2]
    sample = data.x_test[3]
    panel.state.bus.test_image_requested.emit(sample)
    probs = wait_prediction(qtbot, panel)
    assert np.array_equal(panel.current_input, sample)  # the model gets the sample unchanged
    direct = keras_outputs(panel, sample[None])[0]
    assert np.allclose(probs, direct, atol=1e-5)
    assert not panel.canvas.is_blank()
    assert panel.polarity_box.currentIndex() == 1  # MNIST is light on dark
    # The canvas shows the sample, enlarged.
    shown = panel.canvas.image_array()
    assert shown[140, :].max() > 200 and shown[5, 5] < 30
    # Drawing on it turns it into a drawing: preprocessing applies again.
    stroke(panel.canvas, [(20, 20), (40, 30)])
    assert panel.canvas.exact_input is None
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_input, sample), timeout=5000)


def test_no_model_and_wrong_input_shape_give_hints(qtbot, panel):
    from workbench.core.tf_loader import load_tensorflow

    draw(panel.canvas, seven())
    qtbot.waitUntil(lambda: panel.prediction.hint == NO_MODEL_HINT, timeout=5000)
    assert panel.preview.digit is not None  # the input is shown even without a model
    assert not panel.gallery.add_button.isEnabled()  # no answer: its label first (#30)
    panel.gallery.label_box.setCurrentIndex(7)
    assert panel.gallery.add_button.isEnabled()  # and can be saved as a sample

    _, keras = load_tensorflow()
    odd = keras.Sequential([keras.Input((32, 32)), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    panel.state.trained.set_trained_model(*plain_and_weights(odd))
    qtbot.waitUntil(lambda: "(28, 28), (784,) or (28, 28, 1)" in panel.prediction.hint,
                    timeout=5000)
    assert panel.prediction.probabilities is None

    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])  # logits, no softmax
    panel.state.trained.set_trained_model(*plain_and_weights(flat))
    probs = wait_prediction(qtbot, panel)
    assert abs(probs.sum() - 1.0) < 1e-6 and (probs >= 0).all()


def test_class_names_of_other_image_datasets(qtbot, panel, trained):
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"]
    panel.state.data.dataset = replace(trained[2], class_names=names)
    panel.state.data.loaded.emit()
    assert [panel.gallery.label_box.itemText(i) for i in range(10)] == names
    give_weights(panel, trained)
    draw(panel.canvas, seven())
    wait_prediction(qtbot, panel)
    assert panel.prediction.class_names == names
    assert panel.prediction._top.text() in names


def test_main_window_has_the_draw_tab(qtbot):
    from workbench.ui.main_window import MainWindow

    window = MainWindow(load_dataset=False)
    qtbot.addWidget(window)
    canvas = window.findChild(QWidget, "drawCanvas")
    view = window.findChild(QWidget, "predictionView")
    assert isinstance(canvas, DrawCanvasView) and view is not None
    assert view.hint.startswith(EMPTY_HINT)
    window.state.bus.test_image_requested.emit(np.eye(28, dtype=np.float32))
    assert window.tabs.currentWidget() is window.draw_panel
    assert not canvas.is_blank()
