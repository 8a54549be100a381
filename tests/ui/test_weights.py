"""Weights tab: unit images, kernel heatmap, conv filters, the epoch slider, activations; the
layers and the activations come from the engine, without the GUI waiting."""

from __future__ import annotations

import math

import numpy as np
from PyQt5.QtWidgets import QWidget

from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow


def ready_window(qtbot, template: str) -> MainWindow:
    w = MainWindow(load_template(template))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                    timeout=60000)
    w.state.data.dataset = w.state.data.dataset.subset(300)
    w.tabs.setCurrentWidget(w.weights_panel)
    return w


def train_epochs(w: MainWindow, epochs: int, qtbot=None) -> list[list[np.ndarray]]:
    """Fit epoch by epoch, handing each epoch's weights to the state as the worker does; with
    ``qtbot``, wait for the engine's answer on the layers."""
    from workbench.core.build import build_model, compile_model, set_seed
    from workbench.core.training import prepare_data

    state = w.state
    set_seed(0)
    model = build_model(state.spec)
    compile_model(model, state.training)
    data = prepare_data(state.data.dataset, state.spec.input_shape, state.training)
    history = []
    for epoch in range(epochs):
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, verbose=0)
        weights = [a.copy() for a in model.get_weights()]
        history.append(weights)
        state.trained.set_weights(epoch, weights, state.spec.to_dict())
    if qtbot is not None:
        view = w.weights_panel.weights
        qtbot.waitUntil(lambda: bool(view.layers), timeout=30000)
    return history


def test_empty_before_training(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    panel = w.weights_panel
    assert panel.pages.currentWidget() is panel.empty
    assert "Train the model" in panel.empty.text()


def test_first_dense_layer_as_unit_images(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    history = train_epochs(w, 1, qtbot)
    view = w.weights_panel.weights
    assert w.findChild(QWidget, "weightsView") is view.view
    assert view.shown  # drawn as the layers came
    assert [layer.class_name for layer in view.layers] == ["Dense", "Dense"]
    view.layer_combo.setCurrentIndex(0)
    shown = view.shown
    assert shown["kind"] == "unit images"
    kernel = history[0][0]  # (784, 128)
    cols = math.ceil(math.sqrt(128 * 1.6))
    rows = math.ceil(128 / cols)
    assert shown["image"].shape == (rows * 29 - 1, cols * 29 - 1)  # 128 tiles of 28x28, 1 px apart
    np.testing.assert_allclose(shown["image"][:28, :28], kernel[:, 0].reshape(28, 28))
    np.testing.assert_allclose(shown["image"][:28, 29:57], kernel[:, 1].reshape(28, 28))
    assert np.isnan(shown["image"][28, 0])  # the gap between tiles is transparent
    levels = view.image.getLevels()
    assert levels[0] == -levels[1] == -np.abs(kernel).max()  # zero sits in the middle
    # The same layer as a kernel heatmap on request.
    view.mode_combo.setCurrentIndex(1)
    assert view.shown["kind"] == "heatmap" and view.shown["image"].shape == (128, 784)


def test_output_layer_heatmap_with_class_names(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    history = train_epochs(w, 1, qtbot)
    view = w.weights_panel.weights
    view.select_layer(view.layers[-1].name)
    assert view.shown["kind"] == "heatmap"
    np.testing.assert_allclose(view.shown["image"], history[0][2].T)  # (10 classes, 128 units)
    ticks = view.main_plot.getAxis("left")._tickLevels
    assert [label for _, label in ticks[0]] == [str(d) for d in range(10)]
    x, heights = view.bias_bars.opts["x"], view.bias_bars.opts["height"]
    assert len(x) == 10
    np.testing.assert_allclose(heights, history[0][3])


def test_epoch_slider_scrubs_and_follows(qtbot):
    w = ready_window(qtbot, "mnist-mlp")
    history = train_epochs(w, 2, qtbot)
    view = w.weights_panel.weights
    view.layer_combo.setCurrentIndex(0)
    slider = view.epoch_slider
    assert slider.maximum() == 1 and slider.value() == 1  # follows the newest epoch
    np.testing.assert_allclose(view.shown["kernel"], history[1][0])
    slider.setValue(0)
    assert view.shown["epoch"] == 0
    np.testing.assert_allclose(view.shown["kernel"], history[0][0])
    assert not np.allclose(history[0][0], history[1][0])
    assert "epoch 1 of 2" in view.epoch_label.text()
    # A new epoch arrives: the user's choice stays put...
    w.state.trained.set_weights(2, history[1], w.state.spec.to_dict())
    assert slider.maximum() == 2 and slider.value() == 0
    # ...until they move back to the end, when it follows again.
    slider.setValue(2)
    w.state.trained.set_weights(3, history[0], w.state.spec.to_dict())
    assert slider.value() == 3
    np.testing.assert_allclose(view.shown["kernel"], history[0][0])


def test_conv_filters_grid_and_activations(qtbot):
    w = ready_window(qtbot, "mnist-cnn")
    history = train_epochs(w, 1, qtbot)
    view = w.weights_panel.weights
    assert view.layers[0].class_name == "Conv2D"
    view.layer_combo.setCurrentIndex(0)
    assert view.shown["kind"] == "filters"
    kernel = history[0][0]  # (3, 3, 1, 32)
    image = view.shown["image"]
    cols = math.ceil(math.sqrt(32 * 1.6))
    assert image.shape == (math.ceil(32 / cols) * 4 - 1, cols * 4 - 1)
    np.testing.assert_allclose(image[:3, :3], kernel[:, :, 0, 0])

    panel = w.weights_panel
    panel.tabs.setCurrentWidget(panel.activations)
    qtbot.waitUntil(lambda: bool(panel.activations.rows), timeout=10000)
    kinds = panel.activations.row_kinds()
    assert kinds[0] == "feature maps" and kinds[-1] == "probabilities"
    assert "test image #0" in panel.activations.info.text()
    # The drawn digit, when the draw view reports one.
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 13:16] = 1.0
    w.state.bus.digit_drawn.emit(digit)
    panel.activations.source.setCurrentIndex(1)
    qtbot.waitUntil(lambda: "showing the digit drawn" in panel.activations.info.text(),
                    timeout=10000)
    drawn = panel.activations.drawn[0][1]
    np.testing.assert_array_equal(drawn, digit)  # the input row is the drawn digit
    # The next epoch's weights: the activations of the same drawn digit again (its rows once
    # took the digit's place, and the second pass read them as the input).
    panel.activations.reset()
    w.state.trained.set_weights(1, history[0], w.state.spec.to_dict())
    qtbot.waitUntil(lambda: "showing the digit drawn" in panel.activations.info.text(),
                    timeout=10000)
    np.testing.assert_array_equal(panel.activations.drawn[0][1], digit)
    assert panel.activations.row_kinds()[-1] == "probabilities"
