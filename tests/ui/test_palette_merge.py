"""A merge layer picked in the layer palette: a stack cannot take it as one more row, so the
window offers it in the Graph tab with the two layers to join selected (a skip connection)."""

from __future__ import annotations

from PyQt5.QtCore import Qt

from tests.ui.test_builder import click_palette, click_row, make_panel, settle
from workbench.core.fixes import merge_partner
from workbench.core.project import Project
from workbench.core.spec import LayerSpec, ModelSpec

TWO_CONVS = ModelSpec((28, 28, 1), [
    LayerSpec.create("Conv2D", filters=8, kernel_size=[3, 3], padding="same"),
    LayerSpec.create("Conv2D", filters=8, kernel_size=[3, 3], padding="same"),
    LayerSpec.create("Flatten"),
    LayerSpec.create("Dense", units=10, activation="softmax"),
])
FIRST, SECOND = "layer1_conv2d", "layer2_conv2d"


def test_palette_add_is_offered_in_the_graph_tab_as_a_skip_connection(qtbot):
    from workbench.ui.main_window import MainWindow

    w = MainWindow(Project(model=TWO_CONVS.copy()))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.inspection_current,
                    timeout=60_000)
    state, builder, graph = w.state, w.builder_panel, w.graph_panel
    click_row(qtbot, builder, 2)  # the second Conv2D
    click_palette(qtbot, builder, "Add")

    assert w.tabs.currentWidget() is graph
    assert state.spec.to_dict() == TWO_CONVS.to_dict()  # nothing added to the stack
    assert graph.view.selected_names() == [FIRST, SECOND]  # the same shape: (28, 28, 8)
    offer = graph.offer_button
    assert offer.isVisible() and offer.isEnabled() and offer.text() == "⊕ Merge with Add"
    assert FIRST in graph.message.text() and "(28, 28, 8)" in graph.message.text()
    qtbot.mouseClick(offer, Qt.LeftButton)
    settle(qtbot, state)
    assert {n.name: list(n.inbound) for n in state.spec.graph()}["layer3_flatten"] == ["add"]
    assert [n.inbound for n in state.spec.graph() if n.name == "add"] == [(FIRST, SECOND)]
    assert state.inspection.ok and not offer.isVisible()
    state.undo()  # one undo step takes it back
    assert state.spec.to_dict() == TWO_CONVS.to_dict()

    # Nothing of the same shape upstream (the input is (28, 28, 1)): the first Conv2D alone is
    # selected and the offer waits for a Ctrl+click on the other layer.
    settle(qtbot, state)
    click_row(qtbot, builder, 1)
    click_palette(qtbot, builder, "Add")
    assert graph.view.selected_names() == [FIRST]
    assert not graph.offer_button.isEnabled() and "Ctrl+click" in graph.message.text()


def test_without_a_graph_tab_the_palette_says_where_merges_are_made(qtbot):
    state, panel = make_panel(qtbot, model=TWO_CONVS)
    click_row(qtbot, panel, 2)
    with qtbot.waitSignal(state.edit_refused) as refused:
        click_palette(qtbot, panel, "Concatenate")
    assert "Graph tab" in refused.args[0] and "Ctrl+click" in refused.args[0]
    assert "Merge ▸ Concatenate" in refused.args[0]
    with qtbot.waitSignal(state.edit_refused) as dropped:  # a drop on the stack asks the same
        state.insert_layer(1, LayerSpec.create("Add"))
    assert "Graph tab" in dropped.args[0]
    assert state.spec.to_dict() == TWO_CONVS.to_dict()


def test_merge_partner_is_the_nearest_upstream_layer_that_fits():
    shapes = {"input": (28, 28, 1), FIRST: (28, 28, 8), SECOND: (28, 28, 8),
              "layer3_flatten": (6272,), "layer4_dense": (10,)}
    assert merge_partner(TWO_CONVS, shapes, SECOND, "Add") == FIRST
    assert merge_partner(TWO_CONVS, shapes, FIRST, "Add") is None
    # Concatenate joins along its axis: the input's (28, 28) fits beside (28, 28, 8).
    assert merge_partner(TWO_CONVS, shapes, FIRST, "Concatenate") == "input"
    assert merge_partner(TWO_CONVS, shapes, FIRST, "Concatenate", axis=1) is None
    assert merge_partner(TWO_CONVS, shapes, "layer4_dense", "Add") is None


def test_a_skip_connection_made_from_the_palette_trains_in_the_window(qtbot):
    """By clicking only: the stack's second Conv2D, Add in the palette, the offered merge, then
    Train (one epoch on a few digits); every node shows Keras's shape, the run completes."""
    from workbench.core.spec import TrainConfig
    from workbench.ui.main_window import MainWindow

    project = Project(model=TWO_CONVS.copy())
    project.training = TrainConfig.from_dict({**project.training.to_dict(), "epochs": 1,
                                              "batch_size": 32})
    w = MainWindow(project)
    w.show()
    state, builder, graph = w.state, w.builder_panel, w.graph_panel
    try:
        qtbot.waitUntil(lambda: state.engine.loaded and state.data.dataset is not None
                        and state.inspection_current, timeout=60_000)
        state.data.dataset = state.data.dataset.subset(200, 50)
        click_row(qtbot, builder, 2)
        click_palette(qtbot, builder, "Add")
        qtbot.mouseClick(graph.offer_button, Qt.LeftButton)
        settle(qtbot, state)
        assert not state.spec.is_sequential() and state.inspection.ok
        assert all(node.data.shape not in ("…", "?") for node in graph.view.nodes.values())
        train = w.training_panel.train_button
        qtbot.waitUntil(train.isEnabled, timeout=20_000)
        with qtbot.waitSignal(w.training_panel.training_finished, timeout=120_000) as done:
            qtbot.mouseClick(train, Qt.LeftButton)
        assert done.args[0].result.status == "completed", done.args[0].result.message
    finally:
        w.training_panel.shutdown()
        state.undo_stack.setClean()
        w.close()
