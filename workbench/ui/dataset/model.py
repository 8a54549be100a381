"""The sample grid's model: one row per sample of a split (optionally of one class), thumbnails
made only when the view asks for them (the rows on screen) and kept in a bounded cache.

With ``QListView.setUniformItemSizes(True)`` the view never asks about rows it does not show, so
60,000 samples cost an index array, not 60,000 pictures.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PyQt5.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from PyQt5.QtGui import QColor, QImage, QPixmap

from workbench.actions import explore
from workbench.core.datasets import DatasetError
from workbench.i18n import _

THUMB = 56  # pixels on screen per sample
CACHE = 1500  # thumbnails kept (a few screens' worth)
SampleRole = Qt.UserRole + 1  # (split, row in that split's array)


def qimage(picture: np.ndarray) -> QImage:
    """A grey (H, W) or colour (H, W, 3) picture as a QImage (its own copy of the pixels)."""
    pixels = np.ascontiguousarray(explore.to_uint8(picture))
    h, w = pixels.shape[:2]
    if pixels.ndim == 3:
        return QImage(pixels.data, w, h, 3 * w, QImage.Format_RGB888).copy()
    return QImage(pixels.data, w, h, w, QImage.Format_Grayscale8).copy()


class SampleModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset = None
        self.split = "train"
        self.rows = np.zeros(0, dtype=np.int64)  # indices into the split's arrays
        self._x = self._y = None
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self.thumbnails_made = 0  # how many pictures were ever drawn (tests read it)
        self.errors: dict[int, str] = {}  # rows whose image could not be read: why

    def set_rows(self, dataset, split: str, rows: np.ndarray) -> None:
        self.beginResetModel()
        self.dataset, self.split, self.rows = dataset, split, np.asarray(rows, dtype=np.int64)
        self._x, self._y = explore.arrays_of(dataset, split) if dataset is not None else (None,
                                                                                          None)
        self._cache.clear()
        self.errors = {}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def sample(self, row: int) -> tuple[int, np.ndarray, object]:
        """(index in the split's arrays, input, label) of the grid's row ``row``; DatasetError
        when its image cannot be read (a big folder's images are decoded as they are shown)."""
        i = int(self.rows[row])
        return i, self._x[i], self._y[i]

    def thumbnail(self, row: int) -> QPixmap:
        pixmap = self._cache.get(row)
        if pixmap is not None:
            self._cache.move_to_end(row)
            return pixmap
        try:
            image = qimage(explore.picture(self._x[int(self.rows[row])]))
        except DatasetError as exc:  # a big folder's image is decoded here: it may be damaged
            self.errors[row] = str(exc)
            pixmap = QPixmap(THUMB, THUMB)
            pixmap.fill(QColor("#a33"))
        else:
            pixmap = QPixmap.fromImage(image.scaled(THUMB, THUMB, Qt.KeepAspectRatio,
                                                    Qt.FastTransformation))
        self.thumbnails_made += 1
        self._cache[row] = pixmap
        if len(self._cache) > CACHE:
            self._cache.popitem(last=False)
        return pixmap

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self._x is None:
            return None
        row = index.row()
        if role == Qt.DecorationRole:
            return self.thumbnail(row)
        if role == Qt.ToolTipRole:
            i = int(self.rows[row])
            text = f"{_(self.split)} #{i}: {explore.label_text(self.dataset, self._y[i])}"
            return text + (f"\n{self.errors[row]}" if row in self.errors else "")
        if role == SampleRole:
            return self.split, int(self.rows[row])
        if role == Qt.SizeHintRole:
            return QSize(THUMB + 6, THUMB + 6)
        return None
