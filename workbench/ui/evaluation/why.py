"""Why the model got a test image wrong: the evidence for the class it predicted and for the true
class, side by side, for an image picked in the Evaluation tab's galleries.

Both heatmaps come from the engine's ``explain`` request about the views' model (the trained
weights the evaluation shows), without waiting: the GUI process runs no TensorFlow, and an answer
for an image or method no longer asked for is dropped.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QImage, QPixmap
from PyQt5.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from workbench.actions.explain import composite
from workbench.core.explain import METHODS
from workbench.core.run_text import percent
from workbench.i18n import N_, _

SIDE = 84  # pixels per heatmap: 3× a 28×28 digit (the tab's right pane is small at 1024×700)
_EMPTY_STYLE = "border: 1px dashed #b0b0b0;"
EMPTY = N_("Click an image above: the evidence for its predicted and its true class.")


def pair_picture(sample: np.ndarray, heat: np.ndarray) -> QPixmap:
    """The sample in grey with ``heat`` over it, ``SIDE`` pixels wide."""
    h, w = heat.shape
    grey = np.asarray(sample, np.float32).reshape(h, w, -1).mean(axis=2)
    top = float(grey.max(initial=0.0))
    grey = grey / top if top > 1.0 else grey
    picture = np.ascontiguousarray(composite(grey, heat, scale=max(1, SIDE // max(h, w))))
    ph, pw = picture.shape[:2]
    image = QImage(picture.tobytes(), pw, ph, 3 * pw, QImage.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(SIDE, SIDE, Qt.KeepAspectRatio, Qt.SmoothTransformation)


class EvaluationWhyView(QWidget):
    """Two heatmaps of one test image: the predicted class's evidence and the true class's."""

    shown = pyqtSignal()  # the heatmaps (or the reason there are none) were shown
    draw_requested = pyqtSignal(int)  # a heatmap double-clicked: try this test image in Draw

    def __init__(self, trained, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationWhy")
        self.trained = trained
        self.index: int | None = None
        self.heatmaps: list[np.ndarray] = []
        self._sample: np.ndarray | None = None
        self._classes: list[int] = []
        self._verdict = _(EMPTY)
        self._generation = 0

        self.title = QLabel(_(EMPTY), self)
        self.title.setWordWrap(True)
        # Two lines kept for it: a wrapped label's height is not in its minimum size, and the
        # tab is squeezed at 1024×700.
        self.title.setMinimumHeight(2 * self.title.fontMetrics().lineSpacing() + 4)
        self.method_box = QComboBox(self, objectName="evaluationWhyMethod")
        for key, name in METHODS.items():
            self.method_box.addItem(_(name), key)
        # No stroke to follow here: the sharper, signed method (red for, blue against) first.
        self.method_box.setCurrentIndex(self.method_box.findData("integrated-gradients"))
        self.method_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.method_box.setMinimumContentsLength(10)
        self.pictures = [QLabel(self) for _ in range(2)]
        self.captions = [QLabel(self) for _ in range(2)]
        grid = QGridLayout()
        for col, (picture, caption) in enumerate(zip(self.pictures, self.captions)):
            picture.setFixedSize(SIDE, SIDE)
            picture.setToolTip(_("Double-click to try this image in the Draw tab"))
            caption.setAlignment(Qt.AlignHCenter)
            grid.addWidget(picture, 0, col, Qt.AlignHCenter)
            grid.addWidget(caption, 1, col)
        tools = QHBoxLayout()
        tools.addWidget(self.method_box)
        tools.addStretch(1)
        row = QHBoxLayout()
        row.addLayout(grid)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addLayout(tools)

        self.method_box.currentIndexChanged.connect(lambda _i: self._request())
        self.clear()

    def show_sample(self, index: int, sample: np.ndarray, true: int, predicted: int,
                    names: list[str], probabilities: np.ndarray) -> None:
        """Explain test image ``index``: its predicted class and its true class."""
        self.index, self._sample = index, np.asarray(sample, np.float32)
        self._classes = [predicted] if predicted == true else [predicted, true]
        p = probabilities
        labels = [_("predicted {name} ({p})").format(name=names[predicted],
                                                     p=percent(p[predicted], 0)),
                  _("true {name} ({p})").format(name=names[true], p=percent(p[true], 0))]
        for caption, text in zip(self.captions, labels):
            caption.setText(text)
        self.captions[1].setVisible(predicted != true)
        self.pictures[1].setVisible(predicted != true)
        verdict = (_("right") if predicted == true else
                   _("wrong: why it said {said}, where it saw {saw}").format(
                       said=names[predicted], saw=names[true]))
        self._verdict = _("<b>Test image #{index}</b>, {verdict} (red: evidence for, blue: "
                          "against).").format(index=index, verdict=verdict)
        self.title.setText(self._verdict)
        self._request()

    def clear(self) -> None:
        self._generation += 1
        self.index, self._sample, self.heatmaps = None, None, []
        self._verdict = _(EMPTY)
        self.title.setText(_(EMPTY))
        for picture, caption in zip(self.pictures, self.captions):
            picture.clear()
            picture.setStyleSheet(_EMPTY_STYLE)
            caption.setText("")

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self.index is not None and any(p.geometry().contains(event.pos())
                                          for p in self.pictures):
            self.draw_requested.emit(self.index)

    def _request(self) -> None:
        if self._sample is None:
            return
        self._generation += 1
        request = self._generation
        asked = self.trained.ask(
            "explain", {"sample": self._sample, "method": self.method_box.currentData(),
                        "targets": list(self._classes)},
            lambda reply, error: self._on_arrived(request, reply, error))
        if asked:
            working = _("Working…")
            self.title.setText(f"{self._verdict} <i>{working}</i>")
        else:
            self.title.setText(_("Train the model (or open a trained one) to see why."))

    def _on_arrived(self, request: int, reply: dict | None, error: str) -> None:
        if request != self._generation:
            return  # a newer image or method was asked for since
        if reply is None or "refused" in reply:
            self.heatmaps = []
            for picture in self.pictures:
                picture.clear()
            reason = reply["refused"] if reply else error
            self.title.setText(_("No heatmap: {reason}").format(reason=reason))
        else:
            self.title.setText(self._verdict)
            self.heatmaps = list(reply["heatmaps"])
            for picture, heat in zip(self.pictures, self.heatmaps):
                picture.setStyleSheet("background: #000;")
                picture.setPixmap(pair_picture(self._sample, heat))
        self.shown.emit()
