"""The Evaluation tab's feature space (PCA at once and after each epoch, t-SNE in the engine's
compute lane, points coloured by true class, mistakes marked, a click picks the image) and its
class pictures, all asked of the engine."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PyQt5.QtCore import QPoint, QPointF, Qt

from workbench.core.templates import load_template
from workbench.ui.evaluation import feature_space as view_module
from workbench.ui.main_window import MainWindow


def _fit(state, epochs=1):
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.training import prepare_data

    set_seed(0)
    model = build_model(state.spec)
    compile_model(model, state.training)
    data = prepare_data(state.data.dataset, state.spec.input_shape, state.training)
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture
def window(qtbot):
    w = MainWindow(load_template("mnist-mlp"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60000)
    w.state.data.dataset = w.state.data.dataset.subset(400, 150)
    model = _fit(w.state)
    w.tabs.setCurrentWidget(w.evaluation_panel)
    w.state.trained.set_weights(0, model.get_weights(), w.state.spec.to_dict())
    panel = w.evaluation_panel
    qtbot.waitUntil(lambda: panel.result is not None and not panel.worker.busy, timeout=30000)
    return w


def test_pca_at_once_coloured_by_class_mistakes_marked_click_picks(qtbot, window):
    panel = window.evaluation_panel
    view = panel.feature_space
    with qtbot.waitSignal(view.projected, timeout=20000):
        panel.details.setCurrentWidget(view)
    result = panel.result
    n = len(result.y_true)
    assert view.xy.shape == (n, 2) and np.isfinite(view.xy).all()
    assert "PCA of the penultimate layer (128 values per image)" in view.status.text()
    points = view.scatter.points()
    assert len(points) == n
    wrong = np.flatnonzero(result.y_true != result.y_pred)
    right = np.flatnonzero(result.y_true == result.y_pred)
    assert len(wrong) and len(right)
    assert points[wrong[0]].symbol() == "x" and points[right[0]].symbol() == "o"
    same = [i for i in range(n) if result.y_true[i] == result.y_true[wrong[0]]]
    colour = points[wrong[0]].brush().color().name()
    assert all(points[i].brush().color().name() == colour for i in same)
    assert any(points[i].brush().color().name() != colour for i in range(n))
    # A real click on a mistake's point shows that image's heatmaps below.
    vb = view.plot.getPlotItem().vb
    pixels = np.array([[p.x(), p.y()] for p in (vb.mapViewToScene(QPointF(*xy))
                                                 for xy in view.xy)])
    alone = [i for i in wrong  # a mistake with no other point within 12 pixels
             if np.sort(np.abs(pixels - pixels[i]).max(axis=1))[1] > 12]
    assert alone
    at = view.plot.mapFromScene(vb.mapViewToScene(QPointF(*view.xy[alone[0]])))
    with qtbot.waitSignal(panel.why.shown, timeout=10000):
        qtbot.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=QPoint(at.x(), at.y()))
    assert panel.why.index == alone[0]
    # The picture follows training: new weights, a new evaluation, a new PCA.
    before = view.xy.copy()
    model = _fit(window.state, epochs=2)
    with qtbot.waitSignal(view.projected, timeout=30000):
        window.state.trained.set_weights(1, model.get_weights(), window.state.spec.to_dict())
    assert not np.allclose(before, view.xy)


def test_tsne_in_the_background_and_umap_only_where_installed(qtbot, window, monkeypatch):
    import threading

    from workbench.core import feature_space

    monkeypatch.setattr(view_module, "MAX_POINTS", 60)
    threads = []
    original = feature_space.project
    monkeypatch.setattr(feature_space, "project", lambda *a, **k: threads.append(
        (a[1] if len(a) > 1 else k.get("method"), threading.current_thread().name))
        or original(*a, **k))
    panel = window.evaluation_panel
    view = panel.feature_space
    panel.details.setCurrentWidget(view)
    umap = view.method_box.findData("umap")
    offered = view.method_box.model().item(umap).isEnabled()
    assert offered == (importlib.util.find_spec("umap") is not None)
    view.method_box.setCurrentIndex(view.method_box.findData("tsne"))
    panel._on_result_ready(panel.result)  # the same result again: 60 points now
    with qtbot.waitSignal(view.projected, timeout=120000):
        view.project_button.click()
    assert view.xy.shape == (60, 2) and "t-SNE" in view.status.text()
    # In the engine, on its compute lane (the in-process engine's thread here): Draw's views
    # lane stays free for a minute of t-SNE.
    assert ("tsne", "engine-compute") in threads


def test_class_pictures_are_drawn_on_request(qtbot, window):
    panel = window.evaluation_panel
    pictures = panel.class_pictures
    panel.details.setCurrentWidget(pictures)
    with qtbot.waitSignal(pictures.drawn, timeout=60000):
        pictures.button.click()
    assert pictures.pictures.shape == (10, 28, 28)
    assert pictures.gallery.list.count() == 10
    assert pictures.gallery.list.item(3).text() == "3"
