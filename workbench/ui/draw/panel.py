"""The Draw tab: draw a digit (or open a picture) and watch the network's answer as you draw.

Canvas → ``digits.preprocess_digit`` → the 28x28 input (shown) → the state's inference model (the
latest trained weights, following training epoch by epoch) → probability bars. Updates are
coalesced to at most ~60 per second; each costs a few milliseconds on the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.actions.predict import read_output
from workbench.core import digits
from workbench.i18n import N_, _
from workbench.ui.draw.canvas import MAX_PEN, MIN_PEN, DrawCanvasView
from workbench.ui.draw.deployed import DeployedAnswer
from workbench.ui.draw.gallery import SampleGalleryView
from workbench.ui.draw.prediction import InputPreviewView, PredictionView
from workbench.ui.draw.predictor import class_names_for
from workbench.ui.draw.samples import samples_location
from workbench.ui.draw.why import WhyView
from workbench.ui.previous_model import previous_model_note

SIDE_BY_SIDE_WIDTH = 820  # narrower, an export's answer goes under Keras's, not beside it
UPDATE_INTERVAL_MS = 16  # at most ~60 predictions per second while drawing
# Translated where shown (the tests compare the English).
NO_MODEL_HINT = N_("Train the model first — or open a trained .keras")
EMPTY_HINT = N_("Draw a digit")
EMPTY_NO_MODEL_HINT = N_("Draw a digit. Train the model first — or open a trained .keras to see "
                         "its answer.")
IMAGE_FILTER = N_("Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")


class DrawPanel(QWidget):
    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drawPanel")
        self.state = state
        self.current_input: np.ndarray | None = None  # the last 28x28 input, None when blank
        self.last_latency_ms: float | None = None
        self._samples_override: Path | None = None
        self._last_update = 0.0
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.update_prediction)

        self.canvas = DrawCanvasView(self)
        self.preview = InputPreviewView(self, scale=4)
        self.prediction = PredictionView(self)
        # An exported model's answer beside Keras's, run by the engine.
        self.deployed = DeployedAnswer(self, state.engine)
        self.gallery = SampleGalleryView(self)
        # The "Why" heatmap over the canvas, for the top class or a clicked bar's.
        self.why = WhyView(self.canvas, self.prediction, state.trained, self)
        self.why.setMaximumWidth(self.canvas.width())
        self._build_tools()
        self._build_layout()

        self.canvas.drawing_changed.connect(self._on_drawing_changed)
        self.canvas.undo_available_changed.connect(self.undo_button.setEnabled)
        self.canvas.polarity_changed.connect(self._on_polarity_changed)
        self.gallery.use_for_training_requested.connect(self._on_use_samples)
        self.gallery.failed.connect(self._on_samples_failed)
        self.gallery.sample_added.connect(self._on_sample_added)

        state.trained.weights_updated.connect(self._on_weights_changed)
        state.model_changed.connect(self._schedule)  # an edit makes the answer the old model's
        state.engine.ready.connect(self._schedule)
        state.data.loaded.connect(self._on_dataset_changed)
        state.project_replaced.connect(self._on_project_changed)
        # Bound methods, not lambdas: PyQt drops them when this panel is deleted before the state.
        state.dirty_changed.connect(self._on_dirty_changed)
        state.bus.test_image_requested.connect(self.show_image)
        state.bus.digit_drawn.connect(self.why.show_digit)
        state.bus.model_exported.connect(self._on_model_exported)
        self.deployed.ready.connect(self._schedule)
        self._on_dataset_changed()
        self._update_samples_path()
        self.update_prediction()

    # Layout --------------------------------------------------------------------------------------

    def _build_tools(self) -> None:
        self.width_slider = QSlider(Qt.Horizontal, self, objectName="penWidth")
        self.width_slider.setRange(MIN_PEN, MAX_PEN)
        self.width_slider.setValue(int(self.canvas.pen_width))
        self.width_slider.setFixedWidth(110)
        self.width_slider.setToolTip(_("Pen width"))
        self.width_slider.valueChanged.connect(self._on_pen_width_changed)
        self.width_label = QLabel(f"{int(self.canvas.pen_width)} px", self)  # not translated
        self.width_label.setMinimumWidth(36)
        self.eraser_button = QToolButton(self, objectName="eraserButton")
        self.eraser_button.setText(_("Eraser"))
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip(
            _("Erase with the left button (the right button always erases)"))
        self.eraser_button.toggled.connect(self.canvas.set_eraser)
        self.undo_button = QPushButton(_("Undo stroke"), self, objectName="undoStrokeButton")
        self.undo_button.setToolTip(_("Take back the last stroke (Ctrl+Z on the canvas)"))
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton(_("Clear"), self, objectName="clearCanvasButton")
        self.clear_button.setToolTip(_("Clear the canvas (Esc on the canvas)"))
        self.clear_button.clicked.connect(self.canvas.clear)
        self.polarity_box = QComboBox(self, objectName="polarityBox")
        self.polarity_box.addItems([_("Dark on light"), _("Light on dark")])
        self.polarity_box.setToolTip(
            _("Dark ink on light paper, or light ink on dark paper. Both work: the preprocessing "
              "finds the ink either way, as in the 28×28 input beside."))
        self.polarity_box.currentIndexChanged.connect(
            lambda i: self.canvas.set_dark_on_light(i == 0)
        )
        self.open_button = QPushButton(_("Open image…"), self, objectName="openImageButton")
        self.open_button.setToolTip(_("Test a picture of a digit (PNG, JPG, …)"))
        self.open_button.clicked.connect(self._on_open_clicked)

    def _build_layout(self) -> None:
        tools1 = QHBoxLayout()
        tools1.addWidget(QLabel(_("Pen"), self))
        tools1.addWidget(self.width_slider)
        tools1.addWidget(self.width_label)
        tools1.addWidget(self.eraser_button)
        tools1.addStretch(1)
        # Two short rows no wider than the canvas (three buttons in a row widened the tab).
        tools2 = QHBoxLayout()
        tools2.addWidget(self.polarity_box)
        tools2.addWidget(self.open_button)
        tools2.addStretch(1)
        tools3 = QHBoxLayout()
        tools3.addWidget(self.undo_button)
        tools3.addWidget(self.clear_button)
        tools3.addStretch(1)

        left = QVBoxLayout()
        left.addLayout(tools1)
        left.addWidget(self.canvas, 0, Qt.AlignLeft)
        left.addWidget(self.why, 0, Qt.AlignLeft)
        left.addLayout(tools2)
        left.addLayout(tools3)
        left.addStretch(1)

        # The input beside its caption above the answer: in a third column it pushed the tab
        # wider than a 1024-pixel window leaves it, and the preview slid over the canvas.
        title = QLabel(_("What the network sees"), self)
        title.setStyleSheet("font-weight: bold;")
        title.setWordWrap(True)
        self.timing_label = QLabel("", self, objectName="drawLatency")
        self.timing_label.setStyleSheet("color: #777;")
        self.timing_label.setToolTip(_("Preprocessing + inference time of the last update"))
        self.timing_label.setWordWrap(True)
        seen_row = QHBoxLayout()
        seen_row.addWidget(self.preview, 0, Qt.AlignTop)
        seen_row.addWidget(self.timing_label, 1, Qt.AlignBottom)

        right = QVBoxLayout()
        right.addWidget(title)
        right.addLayout(seen_row)
        answer = QLabel(_("What it answers"), self)
        answer.setStyleSheet("font-weight: bold;")
        # The choice of export under the title, not beside it, and the two answers one above the
        # other in a narrow tab: side by side they made the tab scroll sideways at 1024 px.
        self.deployed.box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.deployed.box.setMinimumContentsLength(8)
        right.addWidget(answer)
        right.addWidget(self.deployed.chooser)
        self._answers = QBoxLayout(QBoxLayout.LeftToRight)
        self._answers.addWidget(self.prediction, 1)
        self._answers.addWidget(self.deployed, 1)
        right.addLayout(self._answers, 1)

        top = QHBoxLayout()
        top.addLayout(left)
        top.addSpacing(8)
        top.addLayout(right, 1)

        box = QGroupBox(_("Your own samples"), self)
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.gallery)

        content = QWidget(self)
        layout = QVBoxLayout(content)
        layout.addLayout(top, 1)
        layout.addWidget(box, 0)
        # A window smaller than the tab's minimum scrolls instead of squeezing widgets over each
        # other (buttons cut to "ndo stro").
        scroll = QScrollArea(self, objectName="drawScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        narrow = event.size().width() < SIDE_BY_SIDE_WIDTH
        self._answers.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)

    # Prediction ------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Coalesce bursts of changes into at most one update per UPDATE_INTERVAL_MS."""
        if self._timer.isActive():
            return
        elapsed_ms = (time.perf_counter() - self._last_update) * 1000.0
        self._timer.start(int(max(0.0, UPDATE_INTERVAL_MS - elapsed_ms)))

    def _preprocessed(self) -> np.ndarray | None:
        exact = self.canvas.exact_input
        if exact is not None:
            return exact
        source = self.canvas.source
        return digits.preprocess_digit(source if source is not None else self.canvas.image_array())

    def update_prediction(self) -> None:
        """Preprocess what is on the canvas and run the latest model on it."""
        self._timer.stop()
        start = time.perf_counter()
        self._last_update = start
        try:
            digit = self._preprocessed()
        except ValueError as exc:  # a picture digits cannot read (odd channel count)
            digit = None
            self._show_no_prediction(None, str(exc))
            return
        has_model = self.state.trained.can_predict
        if digit is None:
            trained = has_model or not self.state.engine.loaded
            self._show_no_prediction(None, _(EMPTY_HINT) if trained else _(EMPTY_NO_MODEL_HINT))
            return
        if not has_model:
            loading = not self.state.engine.loaded
            self._show_no_prediction(
                digit, _("Starting the engine (TensorFlow)…") if loading else _(NO_MODEL_HINT))
            return
        try:
            # The engine's views model (traced there once per model): ~1.5 ms with the wire.
            output = self.state.trained.predict_digit(digit)
        except ValueError as exc:  # the model's input shape does not take a 28x28 image
            self._show_no_prediction(digit, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - any model failure is shown, never raised
            self._show_no_prediction(
                digit, _("The model could not run on this input: {reason}").format(reason=exc))
            return
        dataset = self.state.data.dataset
        if dataset is not None and getattr(dataset, "task", "") == "regression":
            values = ", ".join(f"{v:.4g}" for v in np.ravel(output)[:4])
            self._show_no_prediction(
                digit,
                _("This model predicts numbers, not classes: {values}").format(values=values))
            return
        try:
            probs, note = read_output(output)
        except ValueError as exc:
            self._show_no_prediction(digit, str(exc))
            return
        self.current_input = digit
        self.preview.show_input(digit)
        self.gallery.set_current(digit)
        previous = previous_model_note(self.state)
        note = "  ".join(text for text in (previous, note) if text)
        self.prediction.show_probabilities(probs, class_names_for(dataset, len(probs)), note,
                                           previous=bool(previous))
        self.gallery.suggest_label(int(np.argmax(probs)))
        self.last_latency_ms = (time.perf_counter() - start) * 1000.0
        self.timing_label.setText(_("Preprocess + inference: {ms} ms").format(
            ms=f"{self.last_latency_ms:.1f}"))
        self.deployed.answer(digit, probs, self.prediction.class_names)  # its own time
        self.state.bus.digit_drawn.emit(digit.copy())

    def _show_no_prediction(self, digit: np.ndarray | None, hint: str) -> None:
        self.current_input = digit
        self.why.clear()  # no answer, nothing to explain
        self.preview.show_input(digit)
        self.gallery.set_current(digit)
        self.prediction.show_hint(hint)
        self.timing_label.setText("")
        # An export runs without Keras: it still answers a drawing (no comparison then).
        self.deployed.answer(digit, None, class_names_for(self.state.data.dataset, 10))

    # Pictures from elsewhere -------------------------------------------------------------------

    def show_image(self, image) -> None:
        """Put a picture on the canvas and predict it (a dataset sample or an opened file)."""
        try:
            array = np.asarray(image)
            exact = None
            if array.shape in ((28, 28), (784,), (28, 28, 1)) and array.dtype.kind == "f":
                # A dataset sample (floats in [0, 1], light on dark): the model gets it unchanged,
                # exactly as the evaluation view predicted it.
                array = array.reshape(28, 28)
                exact = np.clip(array, 0.0, 1.0)
            self.canvas.set_image(array, exact_input=exact)
        except ValueError as exc:
            self._on_samples_failed(str(exc))
            return
        self.update_prediction()

    def open_image(self, path) -> bool:
        try:
            image = digits.load_image(path)
        except ValueError as exc:
            self._show_no_prediction(None, str(exc))
            self.state.bus.status_message.emit(str(exc))
            return False
        self.show_image(image)
        return True

    def _on_open_clicked(self) -> None:
        start = str(self.state.path.parent) if self.state.path is not None else ""
        path, _kind = QFileDialog.getOpenFileName(self, _("Open an image of a digit"), start,
                                                  _(IMAGE_FILTER))
        if path:
            self.open_image(path)

    # Samples -------------------------------------------------------------------------------------

    def set_samples_path(self, path) -> None:
        """Save samples in ``path`` instead of next to the project (tests, custom locations)."""
        self._samples_override = Path(path) if path is not None else None
        self._update_samples_path()

    def samples_path(self) -> Path:
        if self._samples_override is not None:
            return self._samples_override
        return samples_location(self.state.path, untitled=self.state.untitled_key)

    def _update_samples_path(self) -> None:
        self.gallery.set_path(self.samples_path())

    def _on_use_samples(self, path: str) -> None:
        if self.state.busy:
            self.state.bus.status_message.emit(
                _("Stop the training first, then switch the dataset."))
            return
        self.state.set_dataset(path)
        self.state.bus.status_message.emit(
            _("Dataset set to your {count} samples ({name}); train to use them.").format(
                count=self.gallery.count, name=Path(path).name))

    def _on_sample_added(self, count: int) -> None:
        if self.state.path is None and self._samples_override is None:
            self.state.mark_unsaved()  # the samples are this project's: closing asks to save
        self.state.bus.status_message.emit(
            _("Sample saved ({count} in your sample set).").format(count=count))

    def _on_dirty_changed(self, _dirty: bool) -> None:
        self._update_samples_path()  # a Save As moves the project, and its sample set with it

    def _on_samples_failed(self, message: str) -> None:
        self.gallery.info.setText(message)
        self.gallery.info.setStyleSheet("color: #b3261e;")
        self.state.bus.status_message.emit(message)

    # State changes -------------------------------------------------------------------------------

    def _on_model_exported(self, path: str) -> None:
        self.deployed.add_model(path, select=False)  # offered in the box; loaded when chosen

    def _on_drawing_changed(self) -> None:
        if self.canvas.is_blank() and self.canvas.source is None:
            self.gallery.set_current(None)  # at once: a label chosen for that drawing goes too
        self._schedule()

    def _on_weights_changed(self, _epoch: int) -> None:
        self._schedule()


    def _on_dataset_changed(self) -> None:
        dataset = self.state.data.dataset
        names = list(getattr(dataset, "class_names", None) or [])
        if not names or getattr(dataset, "task", "classification") != "classification":
            names = [str(i) for i in range(10)]
        self.gallery.set_class_names(names)
        self.prediction.set_class_names(
            names if self.prediction.probabilities is None else self.prediction.class_names
        )
        self._schedule()

    def _on_project_changed(self) -> None:
        self.deployed.forget_models()  # a comparison belongs to the model it was exported from
        self.gallery.forget_label()  # the label was for a drawing of the other project
        self._update_samples_path()
        self._schedule()

    def retranslate(self) -> None:
        """After Help ▸ Language: the answer's hints again."""
        self._schedule()

    def _on_pen_width_changed(self, width: int) -> None:
        self.canvas.set_pen_width(width)
        self.width_label.setText(f"{width} px")  # not translated: a unit

    def _on_polarity_changed(self, dark_on_light: bool) -> None:
        self.polarity_box.blockSignals(True)
        self.polarity_box.setCurrentIndex(0 if dark_on_light else 1)
        self.polarity_box.blockSignals(False)


def main() -> int:
    """``python -m workbench.ui.draw.panel [MODEL.keras]``: the Draw tab alone."""
    from workbench.ui.application import run_panel

    return run_panel(DrawPanel, _("Draw"), (1100, 700))


if __name__ == "__main__":
    raise SystemExit(main())
