"""Evaluation tab: confusion matrix, cell → gallery, per-class table, regression, .keras models."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtWidgets import QWidget

from tests.ui.conftest import plain_and_weights
from workbench.core.run_text import percent
from workbench.core.templates import load_template
from workbench.ui.evaluation.panel import EMPTY_TEXT
from workbench.ui.evaluation.worker import EvaluationRequest, EvaluationWorker
from workbench.ui.main_window import MainWindow


def ready_window(qtbot, template: str | None = None) -> MainWindow:
    w = MainWindow(load_template(template) if template else None)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60000)
    return w


def train_briefly(w: MainWindow, epochs: int = 1, n: int = 300):
    """Fit the project's model like a short run would, then hand its weights to the state."""
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.training import prepare_data

    state = w.state
    if state.data.dataset.is_classification:
        state.data.dataset = state.data.dataset.subset(n)
    set_seed(0)
    model = build_model(state.spec)
    compile_model(model, state.training)
    data = prepare_data(state.data.dataset, state.spec.input_shape, state.training)
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=state.training.batch_size,
              verbose=0)
    state.trained.set_weights(epochs - 1, model.get_weights(), state.spec.to_dict())
    return model


def show_evaluation(w: MainWindow):
    w.tabs.setCurrentWidget(w.evaluation_panel)
    return w.evaluation_panel


def wait_result(qtbot, panel, timeout: int = 30000):
    qtbot.waitUntil(lambda: panel.result is not None and not panel.worker.busy, timeout=timeout)
    return panel.result


def test_empty_state_before_training(qtbot):
    w = ready_window(qtbot)
    panel = show_evaluation(w)
    assert panel.pages.currentWidget() is panel.empty
    assert panel.empty.text() == EMPTY_TEXT
    assert w.findChild(QWidget, "confusionMatrix") is panel.matrix


def test_confusion_matrix_fills_and_matches_the_model(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    model = train_briefly(w)
    result = wait_result(qtbot, panel)
    x_test, y_test = w.state.data.dataset.x_test, w.state.data.dataset.y_test
    assert panel.pages.currentIndex() == 1
    counts = panel.matrix.counts
    assert counts.shape == (10, 10)
    assert counts.sum() == len(y_test)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y_test, minlength=10))
    expected = np.argmax(model.predict(x_test, verbose=0), axis=1)
    np.testing.assert_array_equal(result.y_pred, expected)
    accuracy = float(np.mean(expected == y_test))
    assert result.accuracy == pytest.approx(accuracy)
    assert percent(accuracy) in panel.summary.text()
    # Row percentages: every row with images adds up to 100.
    panel.normalise.setChecked(True)
    rows = panel.matrix.shown_values().sum(axis=1)
    np.testing.assert_allclose(rows[counts.sum(axis=1) > 0], 100.0)
    # Per-class table: one row per class, recall of class 0 = its diagonal share.
    assert panel.table.rowCount() == 10
    recall0 = counts[0, 0] / counts[0].sum()
    assert float(panel.table.item(0, 2).text()) == pytest.approx(recall0, abs=5e-4)
    panel.table.sortItems(4, Qt.DescendingOrder)  # by support, numerically
    supports = [int(panel.table.item(r, 4).text().replace(",", "")) for r in range(10)]
    assert supports == sorted(supports, reverse=True)


def test_cell_click_shows_exactly_that_cells_images(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    model = train_briefly(w)
    wait_result(qtbot, panel)
    y = w.state.data.dataset.y_test
    pred = np.argmax(model.predict(w.state.data.dataset.x_test, verbose=0), axis=1)
    off = [(t, p) for t in range(10) for p in range(10)
           if t != p and np.any((y == t) & (pred == p))]
    true, predicted = off[0] if off else (int(y[0]), int(y[0]))
    # A real mouse click on the cell's centre.
    view = panel.matrix
    scene = view.cell_scene_pos(true, predicted)
    point = view.mapFromScene(scene)
    with qtbot.waitSignal(view.cell_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=QPoint(point.x(), point.y()))
    assert blocker.args == [true, predicted]
    shown = panel.cell_gallery.shown_indices()
    assert sorted(shown) == list(np.flatnonzero((y == true) & (pred == predicted)))
    assert f"true {true} → predicted {predicted}" in panel.cell_gallery.title.text()
    # Double-clicking an image sends that test image to the draw view (a click explains it).
    with qtbot.waitSignal(w.state.bus.test_image_requested, timeout=2000) as sent:
        item = panel.cell_gallery.list.item(0)
        rect = panel.cell_gallery.list.visualItemRect(item)
        viewport = panel.cell_gallery.list.viewport()
        qtbot.mouseClick(viewport, Qt.LeftButton, pos=rect.center())  # as a hand does: press,
        qtbot.mouseDClick(viewport, Qt.LeftButton, pos=rect.center())  # release, double-click
    np.testing.assert_array_equal(sent.args[0], w.state.data.dataset.x_test[shown[0]])


def test_most_wrong_gallery_is_most_confident_first(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    train_briefly(w)
    result = wait_result(qtbot, panel)
    shown = panel.wrong_gallery.shown_indices()
    assert shown, "a one-epoch model on 300 digits makes mistakes"
    assert all(result.y_pred[i] != result.y_true[i] for i in shown)
    confidence = [result.outputs[i, result.y_pred[i]] for i in shown]
    assert confidence == sorted(confidence, reverse=True)
    assert len(shown) == min(60, int(np.sum(result.y_pred != result.y_true)))


def test_regression_view_for_linear_regression(qtbot):
    w = ready_window(qtbot, "linear-regression")
    panel = show_evaluation(w)
    model = train_briefly(w, epochs=20)
    result = wait_result(qtbot, panel)
    dataset = w.state.data.dataset
    assert panel.pages.currentWidget() is panel.regression
    predicted = model.predict(dataset.x_test, verbose=0)
    np.testing.assert_allclose(result.outputs, predicted, rtol=1e-5, atol=1e-6)
    assert result.mse == pytest.approx(float(np.mean((predicted - dataset.y_test) ** 2)),
                                       rel=1e-5)
    x, y = panel.regression.fitted_curve()
    assert len(x) == 200 and x.min() < dataset.x_train.min() and x.max() > dataset.x_train.max()
    np.testing.assert_allclose(y, model.predict(x.reshape(-1, 1), verbose=0)[:, 0], rtol=1e-4,
                               atol=1e-5)
    assert "MSE" in panel.summary.text()


def test_functional_model_from_a_file(qtbot, tmp_path):
    from workbench.core.modelio import load_model
    from workbench.core.tf_loader import load_tensorflow

    w = ready_window(qtbot)
    panel = show_evaluation(w)
    _, keras = load_tensorflow()
    dataset = w.state.data.dataset.subset(300)
    w.state.data.dataset = dataset
    inputs = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inputs)
    a = keras.layers.Dense(16, activation="relu")(flat)
    b = keras.layers.Dense(8, activation="tanh")(flat)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Concatenate()([a, b]))
    model = keras.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset.x_train, dataset.y_train, epochs=1, verbose=0)
    model.save(tmp_path / "two_branches.keras")
    loaded = load_model(tmp_path / "two_branches.keras")
    w.state.trained.set_trained_model(*plain_and_weights(loaded))
    result = wait_result(qtbot, panel)
    loss, accuracy = loaded.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    assert result.accuracy == pytest.approx(accuracy, abs=1e-6)
    # One loss: the file's own compiled loss, as `workbench evaluate` reports it.
    assert result.loss_name == "sparse_categorical_crossentropy"
    assert result.loss == pytest.approx(loss, rel=1e-4)
    assert panel.matrix.counts.sum() == len(dataset.y_test)
    assert "after epoch" not in panel.summary.text()


def test_new_project_returns_to_the_empty_state(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    train_briefly(w)
    wait_result(qtbot, panel)
    w.state.replace_project(load_template("mnist-mlp"))
    assert panel.pages.currentWidget() is panel.empty


def test_worker_computes_only_the_newest_waiting_request(qtbot):
    """Requests made while the engine evaluates one are merged: the newest waits, the others
    are never sent; every answer comes on the GUI thread."""
    from types import SimpleNamespace

    from workbench.core.datasets import load_dataset
    from workbench.ui.engine_link import EngineLink

    spec = load_template("mnist-mlp").model.to_dict()
    data = load_dataset("mnist-embedded")
    link = EngineLink()
    worker = EvaluationWorker(SimpleNamespace(engine=link))
    done, sent = [], []
    worker.finished.connect(lambda r: done.append(r.token))
    original = link.ask
    link.ask = lambda name, body, *a: sent.append(name) or original(name, body, *a)
    try:
        for token in range(1, 7):
            worker.submit(EvaluationRequest(token, token, {"spec": spec}, data,
                                            "mnist-embedded"))
        assert worker.busy
        qtbot.waitUntil(lambda: not worker.busy and done and done[-1] == 6, timeout=60000)
    finally:
        worker.close()
        link.deleteLater()
    assert done == [1, 6] and sent == ["evaluate", "evaluate"]  # 2 to 5 were replaced


def test_row_percentages_never_round_a_mistake_to_zero(qtbot):
    """1 of 200 (0.5 %) and 1 of 206 (0.49 %) read the same; a row short of 100 % says so."""
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    train_briefly(w)
    wait_result(qtbot, panel)
    counts = np.zeros((10, 10), dtype=np.int64)
    np.fill_diagonal(counts, 100)
    counts[0, 0], counts[0, 1] = 199, 1  # 0.5 % wrong
    counts[1, 1], counts[1, 2] = 205, 1  # 0.485 % wrong
    counts[2, 2], counts[2, 3] = 150, 50  # 25 % wrong
    panel.matrix.set_matrix(counts, [str(i) for i in range(10)])
    qtbot.mouseClick(panel.normalise, Qt.LeftButton, pos=QPoint(5, panel.normalise.height() // 2))
    assert panel.normalise.isChecked()
    view = panel.matrix
    assert view.cell_text(0, 1) == view.cell_text(1, 2) == "<1%"
    assert view.cell_text(0, 0) == view.cell_text(1, 1) == ">99%"  # not "100%": one was wrong
    assert view.cell_text(2, 3) == "25%" and view.cell_text(2, 2) == "75%"
    assert view.cell_text(3, 3) == "100%" and view.cell_text(0, 5) == ""


def test_a_result_arriving_behind_another_tab_is_drawn_when_shown(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = w.evaluation_panel
    assert not panel.isVisible()  # the Builder tab is in front
    train_briefly(w)
    w.state.set_busy(False)  # a run ended: the hidden tab evaluates the last weights
    result = wait_result(qtbot, panel)
    # Computed, not drawn: the matrix, the table and the thumbnails wait for the tab.
    assert panel.matrix.counts is None and panel.wrong_gallery.shown_indices() == []
    show_evaluation(w)
    assert int(panel.matrix.counts.sum()) == len(result.y_true)
    assert percent(result.accuracy) in panel.summary.text()
    shown = panel.wrong_gallery.shown_indices()
    assert shown and all(result.y_pred[i] != result.y_true[i] for i in shown)


def test_an_evaluation_that_failed_is_asked_again_when_the_engine_is_ready(qtbot):
    """An engine that stopped under a request fails it with one line; once an engine is ready
    again the tab asks again, and shows the report."""
    w = ready_window(qtbot, "mnist-mlp")
    panel = show_evaluation(w)
    w.state.data.name = "no-such-dataset"  # this request fails in the engine
    train_briefly(w)
    qtbot.waitUntil(lambda: "no-such-dataset" in panel.empty.text(), timeout=30000)
    assert panel.result is None and panel.pages.currentWidget() is panel.empty
    w.state.data.name = "mnist-embedded"
    w.state.engine.ready.emit()  # as after a restart
    result = wait_result(qtbot, panel)
    assert panel.pages.currentIndex() == 1 and len(result.y_true) == len(
        w.state.data.dataset.y_test)
