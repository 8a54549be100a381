"""'Add to dataset as …': save drawings with a label in the user's sample set; their gallery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSize, Qt, pyqtSignal
from PyQt5.QtGui import QIcon, QImage, QPixmap
from PyQt5.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.i18n import N_, _, ngettext
from workbench.ui.draw import samples
from workbench.ui.draw.samples import SampleSetError

_THUMB = 48
ADD_TIP = N_("Save the 28×28 input with this label in your own sample set")


class SampleGalleryView(QWidget):
    """Label chooser, Add button, thumbnails of the saved samples and "Use for training"."""

    sample_added = pyqtSignal(int)  # the new number of samples
    use_for_training_requested = pyqtSignal(str)  # path of the sample set
    failed = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sampleGallery")
        self._path: Path | None = None
        self._digit: np.ndarray | None = None
        self.count = 0
        self.class_names: list[str] = []

        self.label_box = QComboBox(self, objectName="sampleLabel")
        self.label_box.setToolTip(_("The class this drawing shows (follows the network's "
                                    "answer until you choose one)"))
        # The label follows the prediction of the drawing until the user picks one; a new
        # drawing (blank canvas) follows the prediction again.
        self._label_chosen = False
        self._suggesting = False
        # No answer and no choice for this drawing: no label (a leftover one saved a 7 as 4).
        self.label_box.setPlaceholderText(_("choose"))
        self.label_box.currentIndexChanged.connect(self._on_label_changed)
        self.add_button = QPushButton(_("Add drawing"), self, objectName="addSampleButton")
        self.add_button.clicked.connect(self.add_current)
        self.use_button = QPushButton(_("Use for training"), self, objectName="useSamplesButton")
        self.use_button.clicked.connect(self._on_use_clicked)
        self.list = QListWidget(self, objectName="sampleList")
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(QSize(_THUMB, _THUMB))
        self.list.setGridSize(QSize(_THUMB + 14, _THUMB + 22))
        self.list.setMovement(QListView.Static)
        self.list.setResizeMode(QListView.Adjust)
        self.list.setWrapping(True)
        self.list.setSelectionMode(QListWidget.SingleSelection)
        self.list.setMinimumHeight(_THUMB + 30)
        self.list.setMaximumHeight(2 * (_THUMB + 22) + 10)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.info = QLabel("", self, objectName="sampleInfo")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: #555;")
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)

        row = QHBoxLayout()
        row.addWidget(QLabel(_("Add to dataset as"), self))
        row.addWidget(self.label_box)
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.info)
        self.set_class_names([str(i) for i in range(10)])
        self.set_current(None)

    # API -----------------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        return self._path

    def set_path(self, path) -> None:
        path = Path(path) if path is not None else None
        if path != self._path:
            self._path = path
            self.reload()

    def set_class_names(self, names: list[str]) -> None:
        names = [str(n) for n in names]
        if names == self.class_names:
            return
        current = self.label_box.currentIndex()
        self.class_names = names
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItems(names)
        self.label_box.setCurrentIndex(current if 0 <= current < len(names) else -1)
        self.label_box.blockSignals(False)
        self.reload()

    def set_current(self, digit28: np.ndarray | None) -> None:
        """The drawing that Add would save (the preprocessed 28x28 input), or None."""
        self._digit = digit28
        if digit28 is None:
            self.forget_label()
        self._update_add()

    def forget_label(self) -> None:
        """A new drawing (or another project): its label is the network's answer or the user's
        choice for it, never the one before."""
        self._label_chosen = False
        self._suggesting = True
        try:
            self.label_box.setCurrentIndex(-1)
        finally:
            self._suggesting = False
        self._update_add()

    def _update_add(self) -> None:
        labelled = self.label_box.currentIndex() >= 0
        self.add_button.setEnabled(self._digit is not None and self._path is not None and labelled)
        self.add_button.setToolTip(_(ADD_TIP) if labelled
                                   else _("Choose this drawing's label first"))

    def suggest_label(self, index: int) -> None:
        """The network's answer for the current drawing: the label to add it as, unless the user
        has chosen one for this drawing."""
        if self._label_chosen or not 0 <= index < self.label_box.count():
            return
        self._suggesting = True
        try:
            self.label_box.setCurrentIndex(index)
        finally:
            self._suggesting = False

    def _on_label_changed(self, _index: int) -> None:
        if not self._suggesting:
            self._label_chosen = True
        self._update_add()

    def add_current(self) -> bool:
        if self._digit is None or self._path is None:
            return False
        label = self.label_box.currentIndex()
        if label < 0:
            self.failed.emit(_("Choose the label of this drawing first."))
            return False
        try:
            self.count = samples.append_sample(self._path, self._digit, label, self.class_names)
        except SampleSetError as exc:
            self.failed.emit(str(exc))
            return False
        self._label_chosen = False  # the next drawing's label follows its prediction again
        self.reload()
        self.list.scrollToBottom()
        self.sample_added.emit(self.count)
        return True

    def reload(self) -> None:
        self.list.clear()
        self.count = 0
        if self._path is None:
            self._show_info(_("No place to save samples."))
            return
        try:
            x, y, names = samples.load_samples(self._path)
        except SampleSetError as exc:
            self._show_info(str(exc), error=True)
            self.use_button.setEnabled(False)
            return
        names = names or self.class_names
        for i, (image, label) in enumerate(zip(x, y, strict=True)):
            text = names[label] if 0 <= label < len(names) else str(label)
            item = QListWidgetItem(QIcon(_thumbnail(image)), text)
            item.setData(Qt.UserRole, i)
            item.setToolTip(_("Sample {number}: {label} (right-click to delete)").format(
                number=i + 1, label=text))
            self.list.addItem(item)
        self.count = len(x)
        self._show_info()

    # Internals -----------------------------------------------------------------------------------

    def _show_info(self, message: str = "", error: bool = False) -> None:
        self.info.setStyleSheet(f"color: {'#b3261e' if error else '#555'};")
        if message:
            self.info.setText(message)
            return
        where = _display_path(self._path)
        if self.count == 0:
            text = _("No samples yet. They will be saved in {where}").format(where=where)
        else:
            text = ngettext("{count} sample in {where}", "{count} samples in {where}",
                            self.count).format(count=self.count, where=where)
            if self.count < samples.RECOMMENDED:
                text += _(" — too few to train on alone (at least {count} recommended; 20% are "
                          "held out for testing)").format(count=samples.RECOMMENDED)
        self.info.setText(text)
        self.use_button.setEnabled(self.count >= 2)
        self.use_button.setToolTip(
            _("Make this sample set the project's dataset") if self.count >= 2
            else _("Add at least two samples first"))
        self._update_add()

    def retranslate(self) -> None:
        """After Help ▸ Language: the lines built from the sample set."""
        self.reload()

    def _on_use_clicked(self) -> None:
        if self._path is not None and self.count >= 2:
            self.use_for_training_requested.emit(str(self._path))

    def _on_context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None or self._path is None:
            return
        menu = QMenu(self)
        remove = menu.addAction(_("Delete sample"))
        if menu.exec_(self.list.viewport().mapToGlobal(pos)) is remove:
            self.delete_sample(int(item.data(Qt.UserRole)))

    def delete_sample(self, index: int) -> None:
        try:
            samples.remove_sample(self._path, index)
        except SampleSetError as exc:
            self.failed.emit(str(exc))
        self.reload()


def _display_path(path: Path) -> str:
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _thumbnail(image: np.ndarray) -> QPixmap:
    data = np.ascontiguousarray(image, dtype=np.uint8)
    qimage = QImage(data.tobytes(), 28, 28, 28, QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(qimage.scaled(_THUMB, _THUMB, Qt.IgnoreAspectRatio,
                                           Qt.FastTransformation))
