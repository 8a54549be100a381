"""The Evaluation tab's "why": a clicked mistake's heatmaps for its predicted and its true class,
side by side, computed by the engine on its views lane (the in-process engine of the tests runs
it on a thread of this process, so it can be seen there); a double-click still tries it in Draw."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt5.QtCore import Qt

from workbench.core import explain as core_explain
from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.training import prepare_data

    w = MainWindow(load_template("mnist-mlp"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60000)
    state = w.state
    state.data.dataset = state.data.dataset.subset(300)
    set_seed(0)
    model = build_model(state.spec)
    compile_model(model, state.training)
    data = prepare_data(state.data.dataset, state.spec.input_shape, state.training)
    model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)
    w.tabs.setCurrentWidget(w.evaluation_panel)
    state.trained.set_weights(0, model.get_weights(), state.spec.to_dict())
    panel = w.evaluation_panel
    qtbot.waitUntil(lambda: panel.result is not None and not panel.worker.busy, timeout=30000)
    qtbot.waitUntil(lambda: panel.wrong_gallery.list.count() > 0, timeout=5000)
    return w


def test_a_clicked_mistake_shows_predicted_and_true_evidence(qtbot, window, monkeypatch):
    threads = []
    original = core_explain.explain

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(core_explain, "explain", recording)
    panel = window.evaluation_panel
    gallery, why = panel.wrong_gallery, panel.why
    index = gallery.shown_indices()[0]
    true, predicted = int(panel.result.y_true[index]), int(panel.result.y_pred[index])
    assert true != predicted
    rect = gallery.list.visualItemRect(gallery.list.item(0))
    with qtbot.waitSignal(why.shown, timeout=10000):
        qtbot.mouseClick(gallery.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.tabs.currentWidget() is panel  # a click explains; it does not leave the tab
    assert why.index == index
    assert len(why.heatmaps) == 2 and all(h.shape == (28, 28) for h in why.heatmaps)
    assert not np.allclose(why.heatmaps[0], why.heatmaps[1])
    assert set(threads) == {"engine-views"} and len(threads) == 2
    assert why.captions[0].text().startswith(f"predicted {predicted} (")
    assert why.captions[1].text().startswith(f"true {true} (")
    assert not why.pictures[0].pixmap().isNull() and why.pictures[1].isVisibleTo(why)
    # The same pair through another method; Grad-CAM is refused for this MLP, with its reason.
    with qtbot.waitSignal(why.shown, timeout=10000):
        why.method_box.setCurrentIndex(why.method_box.findData("occlusion"))
    assert len(why.heatmaps) == 2
    with qtbot.waitSignal(why.shown, timeout=10000):
        why.method_box.setCurrentIndex(why.method_box.findData("gradcam"))
    assert why.heatmaps == [] and "Conv2D" in why.title.text()
    # Double-clicking a heatmap (or the thumbnail) sends the image to the Draw tab.
    with qtbot.waitSignal(window.state.bus.test_image_requested, timeout=2000) as sent:
        qtbot.mouseDClick(why, Qt.LeftButton, pos=why.pictures[0].geometry().center())
    np.testing.assert_array_equal(sent.args[0], window.state.data.dataset.x_test[index])


def test_an_answer_for_an_image_no_longer_shown_is_dropped(qtbot, window):
    """Two images clicked in a row: the title says it is working meanwhile, and only the second
    image's heatmaps are shown (the first one's answer comes, and is dropped)."""
    from workbench.core.build import build_model
    from workbench.core.spec import ModelSpec

    panel = window.evaluation_panel
    why = panel.why
    first, second = panel.wrong_gallery.shown_indices()[:2]
    shown = []
    why.shown.connect(lambda: shown.append(why.index))
    panel._on_sample_clicked(first)
    assert "Working…" in why.title.text()
    panel._on_sample_clicked(second)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    qtbot.wait(300)  # the first image's answer, had it been shown, would be here by now
    assert shown == [second] and why.index == second
    assert "Working…" not in why.title.text()
    trained = window.state.trained
    model = build_model(ModelSpec.from_dict(trained.trained_spec))
    model.set_weights(trained.weights)
    sample = window.state.data.dataset.x_test[second][None]
    expected = core_explain.explain(model, sample, why.method_box.currentData(),
                                    int(panel.result.y_pred[second]))
    np.testing.assert_allclose(why.heatmaps[0], expected.heatmap, atol=1e-4)
