"""What each class looks for: per class, the input the trained model scores highest for it
(activation maximisation with a smoothness regulariser), drawn as pictures; tutorial H's weight
pictures for any depth. Computed by the engine (``class_pictures`` of the trained model, on its
compute lane: Draw's answers do not wait), on request (a few seconds); the GUI only asks and
draws."""

from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from workbench.i18n import N_, _
from workbench.ui.evaluation.gallery import SampleGalleryView

INTRO = N_("Per class, the input the model scores highest for it: gradient ascent from faint "
           "noise, kept smooth. What it draws is what it looks for.")


class ClassPicturesView(QWidget):
    drawn = pyqtSignal()  # the pictures (or the reason there are none) are shown

    def __init__(self, trained, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("classPictures")
        self.trained = trained
        self.pictures = None
        self.names: list[str] = []
        self._generation = 0
        self.button = QPushButton(_("Draw them"), self, objectName="classPicturesButton")
        self.status = QLabel(_(INTRO), self)
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
        self.button.clicked.connect(self.draw)

    def set_class_names(self, names: list[str]) -> None:
        self.names = list(names)

    def draw(self) -> None:
        self._generation += 1
        request = self._generation
        asked = self.trained.has_model and self.trained.ask(
            "class_pictures", self.trained.model_body(),
            lambda reply, error: self._on_arrived(request, reply, error))
        self.button.setEnabled(not asked)
        self.status.setText(_("Drawing what each class looks for…") if asked else
                            _("Train the model (or open a trained one) first."))

    def _on_arrived(self, request: int, reply: dict | None, error: str) -> None:
        if request != self._generation:
            return
        self.button.setEnabled(True)
        if reply is None:
            self.status.setText(_("No pictures: {reason}").format(reason=error))
        else:
            value = reply["pictures"]
            self.pictures = value
            names = self.names + [str(i) for i in range(len(self.names), len(value))]
            self.status.setText(_(INTRO))
            self.gallery.set_samples(value, list(range(len(value))), names[:len(value)])
        self.drawn.emit()
