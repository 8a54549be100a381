"""The Data tab (``datasetView``): look at the project's dataset before training.

A virtualised grid of the samples of one split (train / validation / test, split as training
splits them), filtered by class; the class balance of the three splits as bars; the selected
sample large, with its index and label; and, live, what the model's augmentation layers make of
it (built and run by a task on a worker thread, as every piece of Keras work is).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt5 import sip
from PyQt5.QtCore import QEvent, QItemSelectionModel, Qt
from PyQt5.QtGui import QPixmap
from PyQt5.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.actions import explore
from workbench.core.datasets import DatasetError
from workbench.i18n import N_, _
from workbench.ui.dataset.model import SampleModel, qimage
from workbench.ui.plot_export import add_save_menu

COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
# The splits (explore.SPLITS) as shown, marked for translation.
SPLIT_NAMES = (N_("train"), N_("validation"), N_("test"))
PREVIEW = 150  # pixels of the selected sample's picture
AUGMENTED = 8  # augmented copies shown


class DatasetPanel(QWidget):
    def __init__(self, state, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("datasetView")
        self.state = state
        self.dataset = None
        self.parts: explore.Splits | None = None
        self.counts: dict[str, list[int]] = {}
        self._preview_request = 0
        self.augmented: np.ndarray | None = None  # the last augmentation preview (tests read it)
        self._preview_stale = False  # a preview asked for while the tab was hidden
        self._mosaic = None  # its picture, drawn to the details column's width

        self.summary = QLabel(_("Loading the dataset…"), self, objectName="datasetSummary")
        self.summary.setWordWrap(True)
        self.split_combo = QComboBox(self, objectName="datasetSplit")
        for split in explore.SPLITS:  # shown translated; the split's key is the item's data
            self.split_combo.addItem(_(split), split)
        self.class_combo = QComboBox(self, objectName="datasetClass")
        self.class_combo.setMinimumContentsLength(8)
        self.class_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.count_label = QLabel(self, objectName="datasetCount")
        self.count_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.model = SampleModel(self)
        self.grid = QListView(self, objectName="datasetGrid")
        self.grid.setViewMode(QListView.IconMode)
        self.grid.setUniformItemSizes(True)  # the view never asks about rows off screen
        self.grid.setMovement(QListView.Static)
        self.grid.setResizeMode(QListView.Adjust)
        self.grid.setSpacing(2)
        self.grid.setSelectionMode(QListView.SingleSelection)
        self.grid.setModel(self.model)
        self.grid.selectionModel().currentChanged.connect(self._on_current_changed)

        self.sample_picture = QLabel(self, objectName="datasetSample")
        self.sample_picture.setFixedSize(PREVIEW, PREVIEW)
        self.sample_picture.setAlignment(Qt.AlignCenter)
        self.sample_picture.setStyleSheet("background: #222")
        self.sample_info = QLabel(_("Click a sample."), self, objectName="datasetSampleInfo")
        self.sample_info.setWordWrap(True)
        self.augment_label = QLabel(self, objectName="datasetAugmentInfo")
        self.augment_label.setWordWrap(True)
        self.augment_picture = QLabel(self, objectName="datasetAugmented")
        self.augment_picture.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.balance = pg.PlotWidget(self, background="w")
        self.balance.setObjectName("datasetBalance")
        self.balance.setMinimumHeight(110)
        self.balance_title = QLabel(self, objectName="datasetBalanceTitle")
        # Its one line of colours and counts must not widen the window (at 1024 px it did).
        self.balance_title.setWordWrap(True)
        self.balance_title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        plot = self.balance.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        add_save_menu(self.balance, "class-balance", self._balance_numbers)
        add_save_menu(self.grid, "samples", self._grid_numbers)

        self._build_layout()
        self.split_combo.currentIndexChanged.connect(lambda _i: self._fill_grid())
        self.class_combo.currentIndexChanged.connect(lambda _i: self._fill_grid())
        state.data.loaded.connect(self.refresh)
        state.data.failed.connect(self._on_load_failed)
        state.training_changed.connect(self._on_training_changed)
        state.model_changed.connect(self._preview_augmentation)
        state.engine.ready.connect(self._preview_augmentation)  # (asked before it could answer)
        if state.data.dataset is not None:
            self.refresh()

    def _build_layout(self) -> None:
        controls = QHBoxLayout()
        for text, widget in ((_("Split"), self.split_combo), (_("Class"), self.class_combo)):
            controls.addWidget(QLabel(text, self))
            controls.addWidget(widget)
        controls.addStretch(1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addWidget(self.count_label)  # its own line: a narrow window cut it off
        left_layout.addWidget(self.grid, 1)
        details = QWidget(self)
        right_layout = QVBoxLayout(details)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.sample_picture)
        right_layout.addWidget(self.sample_info)
        right_layout.addWidget(self.augment_label)
        right_layout.addWidget(self.augment_picture)
        right_layout.addStretch(1)
        right = QScrollArea(self)  # a small window scrolls the details instead of piling them
        right.setWidget(details)
        right.setWidgetResizable(True)
        right.setFrameShape(QScrollArea.NoFrame)
        # Only up and down: the texts wrap and the augmentations fit the column's width.
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        right.setMinimumWidth(PREVIEW + 16)  # the picture and a scroll bar; no more: the
        # window must still fit 1024 px (tests/ui/test_layout.py)
        right.viewport().installEventFilter(self)
        self.details = right
        top = QSplitter(Qt.Horizontal, self)
        top.addWidget(left)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setChildrenCollapsible(False)
        top.setSizes([650, 350])  # proportions: the details' own size hint left them 190 px
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.balance_title)
        bottom_layout.addWidget(self.balance, 1)
        splitter = QSplitter(Qt.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    # Following the project -----------------------------------------------------------------------

    def retranslate(self) -> None:
        """After Help ▸ Language: the texts built from the dataset (the class picked stays)."""
        if self.dataset is not None:
            self.refresh(keep_class=True)

    def refresh(self, keep_class: bool = False) -> None:
        """The project's dataset (just loaded) from the start: splits, classes, balance, grid."""
        dataset = self.state.data.dataset
        self.dataset = dataset
        if dataset is None:
            return
        shape = "×".join(str(d) for d in dataset.input_shape)
        self.summary.setText(f"<b>{dataset.name}</b>: "
                             f"{_(dataset.description) if dataset.description else _(dataset.task)}"
                             + _(" — inputs {shape}").format(shape=shape))
        self.class_combo.blockSignals(True)
        kept = self.class_combo.currentIndex()
        self.class_combo.clear()
        self.class_combo.addItem(_("All classes"))
        if dataset.is_classification:
            self.class_combo.addItems(list(dataset.class_names))
        self.class_combo.setEnabled(dataset.is_classification)
        if keep_class and 0 <= kept < self.class_combo.count():
            self.class_combo.setCurrentIndex(kept)
        self.class_combo.blockSignals(False)
        self._on_training_changed()

    def _on_load_failed(self, message: str) -> None:
        """Nothing of the dataset that was there before: its samples and balance stayed under
        the failure's message, as if they were the one that failed."""
        self.summary.setText(_("Dataset: {message}").format(message=message))
        self.dataset, self.parts, self.counts = None, None, {}
        self._preview_request += 1  # an augmentation preview on its way is for the old one
        self.model.set_rows(None, self.split_combo.currentData(), np.zeros(0, np.int64))
        self.count_label.setText("")
        self.class_combo.clear()
        self.sample_picture.clear()
        self.sample_info.setText(_("No dataset loaded."))
        self.augment_label.setText("")
        self.augment_picture.clear()
        self.augmented = self._mosaic = None
        self.balance.getPlotItem().clear()
        self.balance_title.setText("")

    def _on_training_changed(self) -> None:
        if self.dataset is None or self.dataset is not self.state.data.dataset:
            return
        config = self.state.training
        self.parts = explore.splits(self.dataset, config.validation_split, config.seed)
        self.counts = explore.class_counts(self.dataset, self.parts)
        self._draw_balance()
        self._fill_grid()

    # Grid ----------------------------------------------------------------------------------------

    def _fill_grid(self) -> None:
        if self.dataset is None or self.parts is None:
            return
        split = self.split_combo.currentData()
        rows = self.parts[split]
        cls = self.class_combo.currentIndex() - 1
        if cls >= 0 and len(rows):
            y = explore.labels(explore.arrays_of(self.dataset, split)[1][rows])
            rows = rows[y == cls]
        self.model.set_rows(self.dataset, split, rows)
        count = f"{len(rows):,}"
        self.count_label.setText(
            _("{count} {split} samples").format(count=count, split=_(split)) if cls < 0 else
            _("{count} {split} samples of class {name}").format(
                count=count, split=_(split), name=self.class_combo.currentText()))
        if len(rows):
            self.select(0)
        else:
            self.sample_picture.clear()
            self.sample_info.setText(_("No samples here."))

    def select(self, row: int) -> None:
        index = self.model.index(row)
        self.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect)

    def _on_current_changed(self, current, _previous) -> None:
        if not current.isValid():
            return
        try:
            i, x, y = self.model.sample(current.row())
        except DatasetError as exc:
            self.sample_picture.clear()
            self.sample_info.setText(str(exc))
            return
        picture = explore.picture(x)
        pixmap = QPixmap.fromImage(qimage(picture).scaled(
            PREVIEW, PREVIEW, Qt.KeepAspectRatio, Qt.FastTransformation))
        self.sample_picture.setPixmap(pixmap)
        self.sample_info.setText(_("<b>{split} sample #{index}</b> — label: {label}").format(
            split=_(self.model.split), index=i, label=explore.label_text(self.dataset, y)))
        self._preview_augmentation()

    # Augmentation preview ------------------------------------------------------------------------

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._preview_stale:
            self._preview_augmentation()

    def _preview_augmentation(self) -> None:
        # Behind another tab: made when shown. Its Keras work (a model built and called) took
        # the GIL from the GUI thread at every model or settings change, Train's click included.
        self._preview_stale = not self.isVisible()
        current = self.grid.currentIndex()
        if self._preview_stale or self.dataset is None or not current.isValid():
            return
        spec = self.state.spec
        if explore.augmentation_spec(spec) is None:
            self.augmented = None
            self._mosaic = None
            self.augment_picture.clear()
            self.augment_label.setText(_("The model starts without augmentation layers (add "
                                         "RandomRotation, RandomZoom… from the palette's "
                                         "Augmentation group to see them here)."))
            return
        problem = explore.augmentation_problem(spec)
        if problem is not None:  # said in a user's words, not Keras's ("augment-preview failed")
            self._preview_request += 1
            self._on_augment_failed(self._preview_request, problem)
            return
        try:
            _i, x, _y = self.model.sample(current.row())
        except DatasetError:
            return  # the sample's line says why
        self._preview_request += 1
        request, seed = self._preview_request, self._preview_request
        self.augment_label.setText(_("Augmenting…"))
        # The engine runs the layers (this process never imports Keras); a newer ask wins.
        self.state.engine.ask(
            "augment", {"spec": spec.to_dict(), "sample": np.array(x, dtype=np.float32),
                        "n": AUGMENTED, "seed": seed},
            lambda body, error: self._on_augmented(request, body, error))

    def _on_augmented(self, request: int, body: dict | None, error: str) -> None:
        if sip.isdeleted(self) or request != self._preview_request:
            return
        if body is None:
            self._on_augment_failed(request, _("No preview: {reason}").format(reason=error))
            return
        images = np.asarray(body["images"])
        self.augmented = images
        from workbench.core.introspection import tile_images

        self._mosaic = qimage(tile_images(images, cols=4, pad=1, fill=0.0))
        self._show_mosaic()
        self.augment_label.setText(_("{count} random augmentations of this sample, as training "
                                     "sees it (the model's augmentation layers).").format(
                                         count=len(images)))

    def _show_mosaic(self) -> None:
        """The augmentations as wide as the details column (at most 4 × 60 px)."""
        if self._mosaic is None:
            return
        size = max(PREVIEW, min(4 * 60, self.details.viewport().width() - 4))
        self.augment_picture.setPixmap(QPixmap.fromImage(self._mosaic.scaled(
            size, size, Qt.KeepAspectRatio, Qt.FastTransformation)))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if watched is self.details.viewport() and event.type() == QEvent.Resize:
            self._show_mosaic()
        return super().eventFilter(watched, event)

    def _on_augment_failed(self, request: int, message: str) -> None:
        if request == self._preview_request:
            self.augmented = None
            self._mosaic = None
            self.augment_picture.clear()
            self.augment_label.setText(message)

    # Balance -------------------------------------------------------------------------------------

    def _balance_numbers(self):
        if self.dataset is None or not self.counts:
            return None
        names = (list(self.dataset.class_names) if self.dataset.is_classification
                 else ["samples"])
        return (["class", *explore.SPLITS], [[name, *(self.counts[s][i] for s in explore.SPLITS)]
                                             for i, name in enumerate(names)])

    def _grid_numbers(self):
        """The samples the grid lists: their split, index in it, and label."""
        if self.dataset is None or not len(self.model.rows):
            return None
        split = self.split_combo.currentData()
        y = explore.arrays_of(self.dataset, split)[1]
        return (["split", "index", "label"], [[split, int(i), explore.label_text(
            self.dataset, y[int(i)])] for i in self.model.rows])

    def _draw_balance(self) -> None:
        """Bars per class and split: upright under short class names (digits), lying beside long
        ones (font names), so every name stays readable; colours and totals above the plot."""
        plot = self.balance.getPlotItem()
        plot.clear()
        names = (list(self.dataset.class_names) if self.dataset.is_classification
                 else ["samples"])
        k = len(names)
        upright = max(len(name) for name in names) <= 8
        thick = 0.8 / len(explore.SPLITS)
        title = []
        for j, split in enumerate(explore.SPLITS):
            counts = self.counts.get(split, [0] * k)
            at = np.arange(k) - 0.4 + thick * (j + 0.5)
            shape = (dict(x=at, height=counts, width=thick) if upright
                     else dict(x0=0, y=at, width=counts, height=thick))
            plot.addItem(pg.BarGraphItem(**shape, brush=COLOURS[split], pen=pg.mkPen(None)))
            title.append(f"<span style='color:{COLOURS[split]}'>■ {_(split)} "
                         f"{sum(counts):,}</span>")
        self.balance_title.setText(_("<b>Samples per class</b>: ") + " &nbsp; ".join(title))
        ticks = [(i, name if len(name) <= 24 else name[:23] + "…") for i, name in enumerate(names)]
        ticks = ticks if k <= 30 else ticks[::max(1, k // 30)]
        largest = max((max(c, default=0) for c in self.counts.values()), default=0)
        plot.getAxis("bottom" if upright else "left").setTicks([ticks])
        plot.getAxis("left" if upright else "bottom").setTicks(None)
        plot.invertY(not upright)
        classes, amounts = (plot.setXRange, plot.setYRange) if upright else (plot.setYRange,
                                                                            plot.setXRange)
        classes(-0.6, k - 0.4, padding=0)
        amounts(0, max(1, largest) * 1.05, padding=0)


def main() -> int:
    """Open the Data tab alone: ``python -m workbench.ui.dataset.panel [NAME|PATH]``."""
    import sys

    from workbench.ui.application import run_panel

    name = sys.argv.pop(1) if len(sys.argv) > 1 else None

    def make(state):
        if name:
            state.project.dataset = name
        return DatasetPanel(state)

    return run_panel(make, _("Data"), (1000, 700))


if __name__ == "__main__":
    raise SystemExit(main())
