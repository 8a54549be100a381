"""The Data tab (datasetView): a virtualised grid, class balance, a sample, augmentation preview."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QApplication, QComboBox, QListView, QWidget

from workbench.core.datasets import Dataset
from workbench.core.spec import LayerSpec
from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow


@pytest.fixture(scope="module")
def images_on_disk(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    np.savez(root / "arrays.npz", x_train=rng.integers(0, 255, (40, 8, 8), dtype=np.uint8),
             y_train=np.arange(40) % 4)
    for name in ("cat", "dog"):
        (root / "folder" / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 255, (10, 12), dtype=np.uint8)).save(
                root / "folder" / name / f"{i}.png")
    return root


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60_000)
    w.tabs.setCurrentWidget(w.dataset_panel)
    yield w
    w.state.undo_stack.setClean()
    w.close()
    w.deleteLater()
    qtbot.wait(10)


def use_dataset(qtbot, w, name: str) -> None:
    with qtbot.waitSignal(w.state.data.loaded, timeout=60_000):
        w.state.set_dataset(name)


def balance_heights(w) -> list[float]:
    plot = w.findChild(pg.PlotWidget, "datasetBalance").getPlotItem()
    bars = [item for item in plot.items if isinstance(item, pg.BarGraphItem)]
    upright = max(len(n) for n in (w.state.data.dataset.class_names or ["samples"])) <= 8
    return [float(np.sum(b.opts["height" if upright else "width"])) for b in bars]


@pytest.mark.parametrize("name", ["mnist-embedded", "fonts", "regression-line", "random-classes",
                                  "arrays.npz", "folder"])
def test_every_kind_of_dataset_shows(qtbot, window, images_on_disk, name):
    w = window
    view = w.findChild(QWidget, "datasetView")
    assert view is w.dataset_panel
    path = str(images_on_disk / name) if "." in name or name == "folder" else name
    if path != w.state.project.dataset:
        use_dataset(qtbot, w, path)
    data = w.state.data.dataset
    n_val = max(1, round(len(data.x_train) * w.state.training.validation_split))
    grid = w.findChild(QListView, "datasetGrid")
    assert grid.model().rowCount() == len(data.x_train) - n_val
    # Train, validation and test bars add up to the splits training uses.
    assert balance_heights(w) == [len(data.x_train) - n_val, n_val, len(data.x_test)]
    qtbot.waitUntil(lambda: view.model.thumbnails_made > 0, timeout=5_000)
    info = w.findChild(QWidget, "datasetSampleInfo").text()
    assert "train sample #" in info and "label:" in info
    classes = w.findChild(QComboBox, "datasetClass")
    assert classes.isEnabled() == data.is_classification


def test_filter_by_class_and_split(qtbot, window):
    w = window
    use_dataset(qtbot, w, "fonts")
    view, data = w.dataset_panel, w.state.data.dataset
    classes = w.findChild(QComboBox, "datasetClass")
    assert classes.itemText(2) == "DejaVu Serif"
    classes.setCurrentIndex(2)
    rows = view.model.rows
    assert len(rows) > 200 and (data.y_train[rows] == 1).all()
    w.findChild(QComboBox, "datasetSplit").setCurrentText("test")
    rows = view.model.rows
    assert (data.y_test[rows] == 1).all() and len(rows) == (data.y_test == 1).sum()
    assert "DejaVu Serif" in w.findChild(QWidget, "datasetSampleInfo").text()
    # Clicking a sample shows its index and label.
    grid = w.findChild(QListView, "datasetGrid")
    rect = grid.visualRect(grid.model().index(3))
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=rect.center())
    assert f"test sample #{rows[3]}" in w.findChild(QWidget, "datasetSampleInfo").text()


def test_sixty_thousand_samples_draw_only_what_is_on_screen(qtbot, window):
    w = window
    rng = np.random.default_rng(1)
    x = rng.random((60_000, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 60_000)
    w.state.data.dataset = Dataset("big", x, y, x[:100], y[:100], "classification",
                                   [str(i) for i in range(10)])
    view = w.dataset_panel
    view.refresh()
    QApplication.processEvents()
    grid = w.findChild(QListView, "datasetGrid")
    assert grid.model().rowCount() == 54_000
    made = view.model.thumbnails_made
    assert 0 < made < 2_000
    grid.scrollToBottom()
    QApplication.processEvents()
    last = grid.model().rowCount() - 1
    assert last in view.model._cache  # the bottom rows were drawn when they came into view …
    assert view.model.thumbnails_made < made + 2_000  # … and only they


def test_augmentation_preview_runs_the_models_augmentation(qtbot, window):
    w = window
    project = load_template("mnist-cnn")
    project.model.layers.insert(1, LayerSpec.create("RandomRotation", factor=0.25))
    w.state.replace_project(project)
    view = w.dataset_panel
    info = w.findChild(QWidget, "datasetAugmentInfo")
    # The answer to the newest ask (a sample chosen or the dataset shown asks again meanwhile).
    qtbot.waitUntil(lambda: view.augmented is not None and "…" not in info.text(),
                    timeout=60_000)
    assert view.augmented.shape == (8, 28, 28)
    assert len({a.tobytes() for a in view.augmented}) > 1  # random: the copies differ
    assert "augmentations" in w.findChild(QWidget, "datasetAugmentInfo").text()
    # A model without augmentation says how to get one.
    w.state.replace_project(load_template("mnist-mlp"))
    qtbot.waitUntil(lambda: view.augmented is None, timeout=10_000)
    assert "without augmentation" in w.findChild(QWidget, "datasetAugmentInfo").text()


def test_a_lazy_folder_shows_and_a_damaged_image_says_which(qtbot, window, images_on_disk,
                                                           tmp_path):
    import shutil

    from workbench.core.datasets import load_dataset

    shutil.copytree(images_on_disk / "folder", tmp_path / "folder")
    data = load_dataset(tmp_path / "folder", lazy=True)
    w, view = window, window.dataset_panel
    w.state.training.validation_split = 0.0
    first = data.x_train.source.paths[int(data.x_train.rows[0])]
    with open(first, "r+b") as stream:  # the first sample of the grid, cut off
        stream.truncate(60)
    w.state.data.dataset = data
    view.refresh()
    QApplication.processEvents()
    assert view.model.rowCount() == len(data.x_train) and view.model.thumbnails_made > 1
    assert view.model.errors and first in view.model.errors[0]
    assert w.findChild(QWidget, "datasetSampleInfo").text().startswith(first)
    grid = w.findChild(QListView, "datasetGrid")
    rect = grid.visualRect(grid.model().index(1))
    qtbot.mouseClick(grid.viewport(), Qt.LeftButton, pos=rect.center())
    assert "train sample #" in w.findChild(QWidget, "datasetSampleInfo").text()
