"""The Draw tab's "Why" overlay: where the evidence for a class lies, drawn over the canvas.

After each stroke (never during one, so the engine's views lane stays free for the bars) the drawn
input goes to the engine (``explain`` about the trained model), where ``core.explain`` attributes
the score of the top class, or of the class whose bar was clicked, with the method picked. The
heatmap comes back as the request's answer and is drawn over the ink: the preprocessing crops,
scales and centres the ink, so the 28×28 input's ink box is laid over the canvas's ink box. The
window runs no TensorFlow.
"""

from __future__ import annotations

import time

import numpy as np
from PyQt5 import sip
from PyQt5.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QImage, QPainter
from PyQt5.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.actions.explain import heatmap_rgba
from workbench.core.explain import METHODS, SIGNED
from workbench.i18n import _

# Signed evidence (red for the class, blue against it) reads better than the gradients'
# sensitivity map, and at ~20 ms for the MNIST CNN it still follows the pen.
DEFAULT_METHOD = "integrated-gradients"
_INK = 64  # canvas ink (0..255) that counts for the ink box
_INPUT_INK = 0.2  # the same for the 28×28 input (0..1)


def frame_on_canvas(digit28: np.ndarray, ink: np.ndarray) -> QRectF:
    """Where the 28×28 input's frame lies on a canvas holding ``ink`` (uint8, 255 = ink): the
    input's ink box scaled (one factor: the preprocessing keeps the aspect) onto the canvas's."""
    h, w = ink.shape
    inked = np.asarray(digit28).reshape(28, 28) > _INPUT_INK
    on_canvas = ink > _INK
    if not inked.any() or not on_canvas.any():
        return QRectF(0, 0, w, h)
    r0, r1, c0, c1 = _box(inked)
    q0, q1, p0, p1 = _box(on_canvas)
    scale = max(q1 - q0, p1 - p0) / max(r1 - r0, c1 - c0)
    left = (p0 + p1) / 2 - (c0 + c1) / 2 * scale
    top = (q0 + q1) / 2 - (r0 + r1) / 2 * scale
    return QRectF(left, top, 28 * scale, 28 * scale)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


class WhyOverlayView(QWidget):
    """The heatmap over the canvas (a child laid over it, transparent to the mouse)."""

    def __init__(self, canvas: QWidget):
        super().__init__(canvas)
        self.setObjectName("whyOverlay")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_NoSystemBackground)
        self.setGeometry(canvas.rect())
        self._image: QImage | None = None
        self._frame = QRectF()
        self.heatmap: np.ndarray | None = None

    def show_heatmap(self, heat: np.ndarray | None, frame: QRectF | None = None) -> None:
        self.heatmap = heat
        if heat is None:
            self._image = None
        else:
            rgba = np.ascontiguousarray(heatmap_rgba(heat))
            h, w = heat.shape
            self._image = QImage(rgba.tobytes(), w, h, 4 * w, QImage.Format_RGBA8888).copy()
            self._frame = frame if frame is not None else QRectF(self.rect())
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._image is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        painter.drawImage(self._frame, self._image)
        painter.end()


class WhyView(QWidget):
    """The "Why" switch, the method picker and a line on what the heatmap shows; asks the views'
    model for the heatmap after each stroke and lays it over the canvas."""

    shown = pyqtSignal()  # a heatmap (or the reason there is none) was shown

    def __init__(self, canvas, prediction, trained, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas, self.prediction, self.trained = canvas, prediction, trained
        self.overlay = WhyOverlayView(canvas)
        self.target: int | None = None  # a class chosen by its bar; None: the top class
        self.last_latency_ms: float | None = None
        self._digit: np.ndarray | None = None  # the input the heatmap is (to be) of
        self._busy = False
        self._pending = False
        self._generation = 0
        # After a stroke the Draw tab's own update brings the final input within ~16 ms; this
        # timer explains the last one seen if none comes (a click that drew no new segment).
        self._after_stroke = QTimer(self, singleShot=True, interval=60)
        self._after_stroke.timeout.connect(self._request)

        self.toggle = QCheckBox(_("Why?"), self, objectName="whyToggle")
        self.toggle.setChecked(True)
        self.toggle.setToolTip(_("Show where the evidence for the answer lies, over your drawing"))
        self.method_box = QComboBox(self, objectName="whyMethod")
        for key, name in METHODS.items():
            self.method_box.addItem(_(name), key)
        self.method_box.setCurrentIndex(self.method_box.findData(DEFAULT_METHOD))
        # Not as wide as its widest item: the row is only as wide as the canvas (the list that
        # opens shows the whole names).
        self.method_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.method_box.setMinimumContentsLength(10)
        self.method_box.setToolTip(_("How the evidence is found (click a bar for another class)"))
        self.caption = QLabel("", self, objectName="whyCaption")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #555;")
        # Room for three lines, so the tools below do not jump as the text changes.
        self.caption.setMinimumHeight(3 * self.caption.fontMetrics().lineSpacing())
        self.caption.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.toggle)
        row.addWidget(self.method_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.caption)

        self.toggle.toggled.connect(self._on_toggled)
        self.method_box.currentIndexChanged.connect(self._on_method_changed)
        prediction.class_clicked.connect(self._on_class_clicked)
        canvas.drawing_changed.connect(self._on_drawing_changed)
        canvas.stroke_finished.connect(self._on_stroke_finished)

    @property
    def method(self) -> str:
        return self.method_box.currentData()

    # requests ------------------------------------------------------------------------------------

    def show_digit(self, digit: np.ndarray) -> None:
        """The Draw tab answered for ``digit``: explain it, unless a stroke is still going on
        (then at its end)."""
        self._digit = np.asarray(digit, np.float32).copy()
        if self.canvas.is_drawing():
            return
        self._after_stroke.stop()
        self._request()

    def clear(self) -> None:
        self._generation += 1  # an answer on its way is dropped
        self._digit = None
        self.overlay.show_heatmap(None)
        self.caption.setText("")

    def _request(self) -> None:
        if not self.toggle.isChecked() or self._digit is None:
            return
        if self._busy:
            self._pending = True  # the latest input goes when the running one is answered
            return
        count = len(self.prediction.class_names)
        if self.target is not None and self.target >= count:
            self.target = None
        request = (self._generation, self._digit, time.perf_counter())
        self._busy = self.trained.ask(
            "explain", {"digit": self._digit, "method": self.method, "targets": [self.target]},
            lambda reply, error: self._on_arrived((request, reply, error)))

    def _on_arrived(self, answer) -> None:
        (generation, digit, start), reply, error = answer
        if sip.isdeleted(self):
            return
        self._busy = False
        value = None
        if reply is not None:  # the engine's answer, read as one heatmap
            value = {"offered": reply["offered"]}
            if "refused" in reply:
                value["refused"] = reply["refused"]
            else:
                value.update(heatmap=reply["heatmaps"][0], target=reply["targets"][0],
                             predicted=reply["predicted"])
        if generation == self._generation and self.toggle.isChecked():
            self._show(digit, value, error, start)
        if self._pending:
            self._pending = False
            self._request()

    def _show(self, digit, value, error, start) -> None:
        if error or value is None:
            self.overlay.show_heatmap(None)
            self.caption.setText(_("No heatmap: {reason}").format(reason=error) if error else "")
        elif "refused" in value:
            self.overlay.show_heatmap(None)
            self.caption.setText(_(value["refused"]))
        else:
            frame = frame_on_canvas(digit, self.canvas.ink_array())
            self.overlay.show_heatmap(value["heatmap"], frame)
            self.last_latency_ms = (time.perf_counter() - start) * 1000.0
            self.caption.setText(self._describe(value["target"], value["predicted"]))
        if value is not None:
            self._mark_offered(value["offered"])
        self.shown.emit()

    def _describe(self, target: int, predicted: int) -> str:
        names = self.prediction.class_names
        name = names[target] if target < len(names) else str(target)
        chosen = "" if target == predicted else _(" (clicked; click the top bar to go back)")
        if self.method in SIGNED:
            colours = _("red: evidence for {name}, blue: against it")
        elif self.method == "gradcam":
            colours = _("red: the regions the last Conv2D saw {name} in")
        else:
            colours = _("red: the pixels {name}'s score is most sensitive to")
        return _("Why {name}?{chosen} {colours}. {method}, {ms} ms").format(
            name=name, chosen=chosen, colours=colours.format(name=name),
            method=_(METHODS[self.method]), ms=f"{self.last_latency_ms:.0f}")

    def _mark_offered(self, offered: dict) -> None:
        model = self.method_box.model()
        for i in range(self.method_box.count()):
            reason = offered.get(self.method_box.itemData(i))
            item = model.item(i)
            item.setEnabled(reason is None)
            item.setToolTip(reason or "")

    # events --------------------------------------------------------------------------------------

    def _on_class_clicked(self, index: int) -> None:
        self.target = None if index == self.prediction.top_class else index
        self.prediction.set_explained(self.target)
        self._request()

    def _on_method_changed(self, _index: int) -> None:
        self._request()

    def _on_toggled(self, on: bool) -> None:
        self.method_box.setEnabled(on)
        if on:
            self._request()
        else:
            self._generation += 1
            self.overlay.show_heatmap(None)
            self.caption.setText("")

    def _on_drawing_changed(self) -> None:
        if self.canvas.is_blank() and self.canvas.source is None:
            self.target = None
            self.prediction.set_explained(None)
            self.clear()

    def _on_stroke_finished(self) -> None:
        self._after_stroke.start()
