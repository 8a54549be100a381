"""What each class looks for: per class, the input the trained model scores highest for it
(activation maximisation with a smoothness regulariser), drawn as pictures; tutorial H's weight
pictures for any depth. Computed on the views' model's thread, on request (a few seconds)."""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.ui.evaluation.gallery import SampleGalleryView

INTRO = ("Per class, the input the model scores highest for it: gradient ascent from faint "
         "noise, kept smooth. What it draws is what it looks for.")


def _pictures_on_model(model) -> object:
    from workbench.core.feature_space import class_pictures

    return class_pictures(model)


class ClassPicturesView(QWidget):
    drawn = pyqtSignal()  # the pictures (or the reason there are none) are shown
    _arrived = pyqtSignal(object)

    def __init__(self, trained, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("classPictures")
        self.trained = trained
        self.pictures = None
        self.names: list[str] = []
        self.button = QPushButton("Draw them", self, objectName="classPicturesButton")
        self.status = QLabel(INTRO, self)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.gallery = SampleGalleryView("", self)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.gallery, 1)
        self._arrived.connect(self._on_arrived, Qt.QueuedConnection)
        self.button.clicked.connect(self.draw)

    def set_class_names(self, names: list[str]) -> None:
        self.names = list(names)

    def draw(self) -> None:
        posted = self.trained.post_on_model(
            _pictures_on_model, done=lambda value, error: self._arrived.emit((value, error)))
        self.button.setEnabled(not posted)
        self.status.setText("Drawing what each class looks for…" if posted else
                            "Train the model (or open a trained one) first.")

    def _on_arrived(self, answer) -> None:
        value, error = answer
        self.button.setEnabled(True)
        if error is not None or value is None:
            self.status.setText(f"No pictures: {error}" if error else "No model.")
        else:
            self.pictures = value
            names = self.names + [str(i) for i in range(len(self.names), len(value))]
            self.status.setText(INTRO)
            self.gallery.set_samples(value, list(range(len(value))), names[:len(value)])
        self.drawn.emit()
