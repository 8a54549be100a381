"""The document's parts: the bounded weights history and what the weights slider shows of it."""

from __future__ import annotations

import tracemalloc

import numpy as np
from PyQt5.QtWidgets import QWidget

from workbench.core.project import Project
from workbench.core.spec import LayerSpec, ModelSpec
from workbench.core.templates import load_template
from workbench.engine.client import EngineError
from workbench.ui.inference import MAX_SNAPSHOTS, thin_history
from workbench.ui.state import ProjectState

CNN_PARAMS = 121_930  # the mnist-cnn template (test_builder.TEMPLATE_PARAMS)


def cnn_sized_weights(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = (288, 32, 18_432, 64, 102_400, 64, 640, 10)  # sums to CNN_PARAMS
    assert sum(sizes) == CNN_PARAMS
    return [rng.standard_normal(n).astype(np.float32) for n in sizes]


def test_thinning_keeps_first_last_and_evenly_spread_epochs():
    history: list = []
    for epoch in range(200):
        history = thin_history([*history, (epoch, f"w{epoch}")])
        assert len(history) <= MAX_SNAPSHOTS
        epochs = [e for e, _ in history]
        assert epochs[0] == 0 and epochs[-1] == epoch and epochs == sorted(epochs)
        assert all(w == f"w{e}" for e, w in history)  # each snapshot keeps its epoch number
    gaps = {b - a for a, b in zip(epochs[:-2], epochs[1:-1], strict=True)}
    assert len(gaps) == 1  # evenly spread (the latest epoch comes on top)
    assert len(history) >= MAX_SNAPSHOTS // 2  # thinned, not emptied


class _EngineDown:
    """An engine that has not started: what the GUI side keeps is measured, not the engine's."""

    state = "starting"
    on_state = None

    def submit(self, *_args, **_kwargs):
        raise EngineError("the engine is starting")

    def close(self) -> None:
        pass


def test_memory_stays_flat_over_200_epochs_of_the_cnn(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    state = ProjectState(load_template("mnist-cnn"), host, engine=_EngineDown())
    snapshot_bytes = CNN_PARAMS * 4
    tracemalloc.start()
    try:
        after = {}
        for epoch in range(200):
            state.trained.set_weights(epoch, cnn_sized_weights(epoch))
            if epoch + 1 in (100, 200):
                after[epoch + 1] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    history = state.trained.weights_history
    assert len(history) <= MAX_SNAPSHOTS
    assert history[0][0] == 0 and history[-1][0] == 199
    assert state.trained.weights_epoch == 199 and state.trained.weights is history[-1][1]
    # Unbounded, 200 epochs of the CNN held 200 snapshots (~98 MB); now at most the bound.
    assert max(after.values()) < (MAX_SNAPSHOTS + 2) * snapshot_bytes
    assert after[200] < after[100] + 2 * snapshot_bytes  # flat: twice the epochs, no more memory


def test_the_weights_slider_shows_the_real_epoch_numbers(qtbot):
    from workbench.core import tf_loader
    from workbench.core.build import build_model
    from workbench.ui.weights.panel import WeightsPanel

    tf_loader.load_tensorflow()
    spec = ModelSpec((4,), [LayerSpec.create("Dense", units=3, activation="softmax")])
    host = QWidget()
    qtbot.addWidget(host)
    state = ProjectState(Project(model=spec), host)
    panel = WeightsPanel(state, host)
    host.show()
    weights = build_model(spec).get_weights()
    for epoch in range(60):
        state.trained.set_weights(epoch, [w + epoch for w in weights], spec.to_dict())
    view = panel.weights
    qtbot.waitUntil(lambda: view.current_layer() is not None, timeout=30_000)  # the engine's
    history = state.trained.weights_history
    slider = view.epoch_slider
    assert slider.maximum() == len(history) - 1 and slider.value() == slider.maximum()
    assert view.epoch_label.text() == "after epoch 60 of 60"
    slider.setValue(0)
    assert view.epoch_label.text() == "after epoch 1 of 60"
    middle = len(history) // 2
    slider.setValue(middle)
    epoch = history[middle][0]
    assert 0 < epoch < 59
    assert view.epoch_label.text() == f"after epoch {epoch + 1} of 60"
    np.testing.assert_allclose(view.current_weights()[0], weights[0] + epoch)
