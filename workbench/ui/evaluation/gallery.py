"""A clickable grid of small sample images with captions (a cell of the matrix, the most wrong)."""

from __future__ import annotations

import math

import numpy as np
from PyQt5.QtCore import QSize, Qt, pyqtSignal
from PyQt5.QtGui import QIcon, QImage, QPixmap
from PyQt5.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

THUMB = 56  # pixels: 2x an MNIST digit, enough to read it
INDEX_ROLE = Qt.UserRole + 1


def display_image(sample: np.ndarray) -> np.ndarray:
    """One input sample as a uint8 greyscale (H, W) or RGB (H, W, 3) picture.

    Images pass through; a flat vector is laid out row by row in the smallest square that holds it
    (so 784 numbers look like a digit, 100 random numbers like a 10 x 10 patch).
    """
    a = np.asarray(sample, dtype=np.float32)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 1 or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or a.ndim > 3:
        flat = a.reshape(-1)
        side = math.isqrt(flat.size - 1) + 1 if flat.size else 1  # ceil(sqrt(n))
        square = np.zeros(side * side, dtype=np.float32)
        square[: flat.size] = flat
        a = square.reshape(side, side)
    if a.ndim == 3:
        a = a[..., :3]
    lo, hi = float(np.nanmin(a)) if a.size else 0.0, float(np.nanmax(a)) if a.size else 1.0
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0  # keep [0, 1] images as they are: faint digits stay faint
    scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.ascontiguousarray(np.clip(np.nan_to_num(scaled) * 255.0, 0, 255).astype(np.uint8))


def sample_pixmap(sample: np.ndarray, size: int = THUMB) -> QPixmap:
    pixels = display_image(sample)
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.data, w, h, w, QImage.Format_Grayscale8)
    else:
        image = QImage(pixels.data, w, h, 3 * w, QImage.Format_RGB888)
    # QImage does not own the numpy buffer: copy before it goes away.
    image = image.copy()
    return QPixmap.fromImage(image).scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)


def top_probabilities(probs: np.ndarray, class_names: list[str], k: int = 3) -> list[tuple]:
    order = np.argsort(probs)[::-1][:k]
    return [(class_names[i] if i < len(class_names) else str(i), float(probs[i])) for i in order]


class SampleGalleryView(QWidget):
    """Thumbnails with a caption each; clicking one emits the dataset index it shows."""

    sample_clicked = pyqtSignal(int)
    sample_activated = pyqtSignal(int)  # double-clicked (or Enter): the dataset index

    def __init__(self, title: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(title, self)
        self.title.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 44, THUMB + 46))
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setWrapping(True)
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.itemClicked.connect(self._on_item_clicked)
        self.list.itemActivated.connect(
            lambda item: self.sample_activated.emit(int(item.data(INDEX_ROLE))))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)

    def set_samples(self, samples: np.ndarray, indices, captions: list[str],
                    tooltips: list[str] | None = None, title: str | None = None) -> None:
        """Show ``samples[i]`` (dataset index ``indices[i]``) with ``captions[i]`` under it."""
        self.list.setUpdatesEnabled(False)
        self.list.clear()
        for i, (sample, index, caption) in enumerate(zip(samples, indices, captions, strict=True)):
            item = QListWidgetItem(caption)
            item.setIcon(QIcon(sample_pixmap(sample)))
            item.setData(INDEX_ROLE, int(index))
            item.setTextAlignment(Qt.AlignHCenter | Qt.AlignTop)
            if tooltips:
                item.setToolTip(tooltips[i])
            self.list.addItem(item)
        self.list.setUpdatesEnabled(True)
        if title is not None:
            self.title.setText(title)

    def clear(self, title: str = "") -> None:
        self.list.clear()
        self.title.setText(title)

    def shown_indices(self) -> list[int]:
        return [self.list.item(i).data(INDEX_ROLE) for i in range(self.list.count())]

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.sample_clicked.emit(int(item.data(INDEX_ROLE)))
