"""The graph view, driven as a user drives it: clicks on nodes and edges, the toolbar's menus,
dragging an edge's end, a node's Fix, undo. A residual block and an Inception-style block are
built by clicking only; the spec, the shapes shown and the stack are checked after each."""

from __future__ import annotations

import threading

import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QContextMenuEvent, QMouseEvent, QWheelEvent
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication, QHBoxLayout, QMenu, QWidget

from workbench.core import tf_loader
from workbench.core.spec import LayerSpec, ModelSpec
from workbench.core.templates import load_template
from workbench.ui.builder.panel import BuilderPanel
from workbench.ui.graph.panel import GraphPanel
from workbench.ui.state import ProjectState

START = ModelSpec((28, 28, 1), [
    LayerSpec.create("Conv2D", filters=8, kernel_size=[3, 3], padding="same"),
    LayerSpec.create("Flatten"),
    LayerSpec.create("Dense", units=10, activation="softmax"),
])
STEM, FLAT, OUT = "layer1_conv2d", "layer2_flatten", "layer3_dense"


@pytest.fixture(scope="module", autouse=True)
def _tensorflow():
    tf_loader.load_tensorflow()


def _wind_down(state: ProjectState) -> None:
    for thread in threading.enumerate():
        if thread.name == "dataset-load":
            thread.join(60)
    QApplication.processEvents()
    state.stop_inspection()


@pytest.fixture
def window(qtbot):
    """The builder (stack, properties) beside the graph tab, on one document."""
    host = QWidget()
    project = load_template("mnist-cnn")
    project.model = START.copy()
    state = ProjectState(project, host)
    qtbot.addWidget(host, before_close_func=lambda _w, _host=host: _wind_down(state))
    builder = BuilderPanel(state, host)
    graph = GraphPanel(state, host)
    row = QHBoxLayout(host)
    row.addWidget(builder)
    row.addWidget(graph, 1)
    host.resize(1300, 900)
    host.show()
    qtbot.waitExposed(host)
    state.refresh_inspection()
    settle(qtbot, state)
    graph.host = host
    return state, builder, graph


def settle(qtbot, state) -> None:
    """Wait for the Keras inspection of the latest edit (debounced, in the background)."""
    qtbot.waitUntil(lambda: state.inspection_current, timeout=20_000)
    QApplication.processEvents()


def click_node(qtbot, graph: GraphPanel, name: str, ctrl: bool = False) -> None:
    view = graph.view
    item = view.nodes[name]
    view.ensureVisible(item, 10, 10)
    pos = view.mapFromScene(item.pos())
    QTest.mouseClick(view.viewport(), Qt.LeftButton,
                     Qt.ControlModifier if ctrl else Qt.NoModifier, pos)


def choose(qtbot, state, graph: GraphPanel, action: str) -> None:
    """Trigger an entry of a toolbar menu (Add after ▸ Conv2D is ``graphAdd_Conv2D``)."""
    found = graph.action(action)
    assert found.isEnabled()
    found.trigger()
    settle(qtbot, state)


def drag(view, start: QPointF, end: QPointF) -> None:
    viewport = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, a)
    for k in range(1, 6):
        p = a + (b - a) * k / 5
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.MouseMove, QPointF(p), Qt.NoButton,
                                                     Qt.LeftButton, Qt.NoModifier))
    QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, b)


def fix_everything(qtbot, state, graph: GraphPanel, limit: int = 6) -> int:
    """Click the Fix button on the first red node until none is red; how many were clicked."""
    for clicks in range(limit + 1):
        red = [item for item in graph.view.nodes.values() if item.data.error]
        if not red:
            return clicks
        button = red[0].fix_button
        assert button is not None, red[0].data.error
        view = graph.view
        view.ensureVisible(button, 10, 10)
        pos = view.mapFromScene(button.mapToScene(button.boundingRect().center()))
        QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        settle(qtbot, state)
    raise AssertionError("still red after the fixes")


def wiring(state) -> dict[str, list[str]]:
    return {node.name: list(node.inbound) for node in state.spec.graph()}


def shown(graph: GraphPanel, name: str) -> str:
    return graph.view.nodes[name].data.shape


def test_residual_block_by_clicking_only(qtbot, window):
    state, builder, graph = window
    original = state.spec.to_dict()
    click_node(qtbot, graph, STEM)
    assert state.selected == 0  # the graph's click selects the layer everywhere
    assert builder.stack.tree.currentItem() is builder.stack.tree.topLevelItem(1)
    choose(qtbot, state, graph, "graphAdd_Conv2D")
    assert state.selected == 1  # the new layer, right after the stem
    choose(qtbot, state, graph, "graphAdd_Conv2D")  # after the new one, which is selected
    conv_b = state.spec.names()[state.selected]
    assert [layer.class_name for layer in state.spec.layers] == [
        "Conv2D", "Conv2D", "Conv2D", "Flatten", "Dense"]
    assert state.spec.is_sequential()  # three inserts in a chain: still a plain stack
    click_node(qtbot, graph, STEM)
    click_node(qtbot, graph, conv_b, ctrl=True)
    assert graph.view.selected_names() == [STEM, conv_b]
    assert graph.buttons["merge"].isEnabled()
    choose(qtbot, state, graph, "graphMerge_Add")
    # Now a graph: every name is frozen as it was (the Flatten had moved to row 4).
    flat, out = "layer4_flatten", "layer5_dense"
    assert wiring(state)["add"] == [STEM, conv_b]
    assert wiring(state)[flat] == ["add"]
    # (28, 28, 8) + (24, 24, 32): red at the node, with its fix; the stack says so too.
    add = graph.view.nodes["add"]
    assert "same shape" in add.data.error and add.fix_button is not None
    assert builder.stack.error_frame.isVisible()
    # The selected merge's reason and fix also stand under the graph, with a button.
    assert "same shape" in graph.message.text() and graph.fix_button.isVisible()
    before = state.spec.to_dict()
    QTest.mouseClick(graph.fix_button, Qt.LeftButton)
    settle(qtbot, state)
    assert state.spec.to_dict() != before
    fix_everything(qtbot, state, graph)
    report = state.inspection
    assert report.ok, report.error_text()
    assert shown(graph, "add") == shown(graph, conv_b) == "(28, 28, 32)"
    assert shown(graph, flat) == "(25088,)" and shown(graph, out) == "(10,)"
    for name, item in graph.view.nodes.items():
        assert item.data.shape not in ("…", "—", "?"), name
        assert not item.data.error
    assert graph.view.nodes[out].data.params == f"{report.by_name(out).params:,}" == "250,890"
    # The stack follows: topological order, the merge's inputs named.
    rows = [builder.stack.tree.topLevelItem(i).text(1)
            for i in range(1, builder.stack.tree.topLevelItemCount())]
    inputs = wiring(state)["add"]
    assert conv_b in inputs and len(inputs) == 2  # the fixes put a 1×1 projection on the skip
    assert f"add: Add  ← {', '.join(inputs)}" in rows
    names = state.spec.names()
    assert names.index("add") < names.index(flat) and names[-1] == out
    # Undo walks every step back to the start (the graph's own Undo button).
    undo = graph.buttons["graphUndoButton"]
    while state.undo_stack.canUndo():
        QTest.mouseClick(undo, Qt.LeftButton)
    settle(qtbot, state)
    assert state.spec.to_dict() == original
    assert set(graph.view.nodes) == {"input", STEM, FLAT, OUT}


def test_inception_block_by_clicking_only(qtbot, window):
    state, builder, graph = window
    branches = []
    for kind in ("Conv2D", "Conv2D", "MaxPooling2D"):
        click_node(qtbot, graph, STEM)
        choose(qtbot, state, graph, f"graphBranch_{kind}")
        branches.append(state.spec.names()[state.selected])
    assert branches == ["conv2d", "conv2d_1", "max_pooling2d"]
    assert state.spec.names()[-1] == OUT  # branches never take the output's place
    click_node(qtbot, graph, branches[0])
    for name in branches[1:]:
        click_node(qtbot, graph, name, ctrl=True)
    choose(qtbot, state, graph, "graphMerge_Concatenate")
    assert wiring(state)["concatenate"] == branches
    # The Flatten still takes the stem: drag that edge's upper end onto the Concatenate.
    view = graph.view
    edge = view.edges[(STEM, FLAT)]
    middle = edge.path().pointAtPercent(0.5)
    view.ensureVisible(edge, 10, 10)
    QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, view.mapFromScene(middle))
    assert edge.isSelected() and edge.handles["source"].isVisible()
    drag(view, edge.handle_pos("source"), graph.view.nodes["concatenate"].pos())
    settle(qtbot, state)
    assert wiring(state)[FLAT] == ["concatenate"]
    assert sorted(t for t, inbound in wiring(state).items() if STEM in inbound) == sorted(branches)
    fix_everything(qtbot, state, graph)
    assert state.inspection.ok, state.inspection.error_text()
    for name, item in graph.view.nodes.items():
        assert item.data.shape not in ("…", "—", "?"), name
    assert len(wiring(state)["concatenate"]) == 3
    # One undo takes back the last fix only; redo puts it back.
    before = state.spec.to_dict()
    state.undo()
    settle(qtbot, state)
    assert state.spec.to_dict() != before
    state.redo()
    settle(qtbot, state)
    assert state.spec.to_dict() == before


def test_selection_follows_between_stack_graph_and_properties(qtbot, window):
    state, builder, graph = window
    builder.stack.tree.setCurrentItem(builder.stack.tree.topLevelItem(3))  # the Dense
    assert graph.view.selected_names() == [OUT]
    click_node(qtbot, graph, FLAT)
    assert state.selected == 1
    assert builder.stack.tree.currentItem() is builder.stack.tree.topLevelItem(2)
    assert builder.properties.title.text().startswith("Flatten") or \
        "Flatten" in builder.properties.title.text()
    click_node(qtbot, graph, "input")
    assert state.selected == -1 and builder.stack.tree.currentItem() is \
        builder.stack.tree.topLevelItem(0)


def test_delete_and_refusals_through_the_graph(qtbot, window):
    state, builder, graph = window
    click_node(qtbot, graph, STEM)
    choose(qtbot, state, graph, "graphBranch_Conv2D")
    click_node(qtbot, graph, "conv2d")
    click_node(qtbot, graph, STEM, ctrl=True)
    choose(qtbot, state, graph, "graphMerge_Add")
    # Deleting the edge into a one-input layer is refused, in one line; nothing changes.
    before = state.spec.to_dict()
    view = graph.view
    view.scene().clearSelection()
    view.edges[("input", STEM)].setSelected(True)
    assert graph.delete_action.isEnabled()
    graph.delete_action.trigger()
    assert state.spec.to_dict() == before
    assert "needs an input" in graph.message.text()
    # Delete (the key) on the branch: the Add with one input left goes too.
    click_node(qtbot, graph, "conv2d")
    QTest.keyClick(view.viewport(), Qt.Key_Delete)
    settle(qtbot, state)
    assert [layer.class_name for layer in state.spec.layers] == ["Conv2D", "Flatten", "Dense"]
    assert "add" not in graph.view.nodes
    # The input cannot be deleted; a merge needs two selected.
    click_node(qtbot, graph, "input")
    assert state.selected == -1
    assert not graph.delete_action.isEnabled() and not graph.buttons["merge"].isEnabled()


def test_wheel_zooms_and_dragging_the_background_pans(qtbot, window):
    state, builder, graph = window
    view = graph.view
    view.fit()
    scale = view.transform().m11()
    centre = view.viewport().rect().center()

    def wheel(steps: int) -> None:
        for _ in range(abs(steps)):
            event = QWheelEvent(QPointF(centre), QPointF(view.viewport().mapToGlobal(centre)),
                                QPoint(0, 0), QPoint(0, 120 if steps > 0 else -120),
                                Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
            QApplication.sendEvent(view.viewport(), event)

    wheel(3)
    assert view.transform().m11() == pytest.approx(scale * 1.15 ** 3)
    wheel(20)
    assert view.transform().m11() == pytest.approx(3.0)  # zoom stops at 3:1
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    before = bar.value()
    # A press on the empty background and a drag move the view (not a node: they do not move).
    blank = next(QPointF(x, y) for x in range(5, 400, 20) for y in range(5, 400, 20)
                 if view.itemAt(x, y) is None)
    start = view.mapToScene(blank.toPoint())
    positions = {name: item.pos() for name, item in view.nodes.items()}
    drag(view, start, start + QPointF(0, 60 / view.transform().m11()))
    assert bar.value() != before
    assert {name: item.pos() for name, item in view.nodes.items()} == positions
    wheel(-40)
    assert view.transform().m11() == pytest.approx(0.2)


def test_stack_edits_on_a_graph_rewire_it(qtbot, window):
    """The stack's Delete, Duplicate and the palette's add keep a graph wired (no dangling
    input names), and the graph view follows."""
    state, builder, graph = window
    click_node(qtbot, graph, STEM)
    choose(qtbot, state, graph, "graphBranch_Conv2D")
    click_node(qtbot, graph, "conv2d")
    click_node(qtbot, graph, STEM, ctrl=True)
    choose(qtbot, state, graph, "graphMerge_Add")
    assert not state.spec.is_sequential()
    # Duplicate the stem from the stack: the copy comes after it, under a new name.
    builder.stack.tree.setCurrentItem(builder.stack.tree.topLevelItem(1))
    builder.stack.duplicate_action.trigger()
    settle(qtbot, state)
    copy = state.spec.names()[state.selected]
    assert copy != STEM and wiring(state)[copy] == [STEM]
    assert not builder.stack.up_action.isEnabled()  # order follows the edges in a graph
    # Delete it from the stack: what took it takes the stem again.
    builder.stack.delete_action.trigger()
    settle(qtbot, state)
    assert copy not in state.spec.names()
    assert sorted(wiring(state)["add"]) == sorted([STEM, "conv2d"])
    # A palette click adds after the selected node.
    click_node(qtbot, graph, "add")
    builder.add_layer("Dropout")
    settle(qtbot, state)
    dropout = state.spec.names()[state.selected]
    assert wiring(state)[dropout] == ["add"] and dropout in graph.view.nodes
    # Behind the red Add (a 32-filter branch beside 8 channels) Keras knows no shape yet.
    assert graph.view.nodes["add"].data.error and graph.view.nodes[dropout].data.shape == "—"


def test_right_click_menus_connect_into_a_merge(qtbot, window, monkeypatch):
    state, builder, graph = window
    for kind in ("Conv2D", "Conv2D", "MaxPooling2D"):
        click_node(qtbot, graph, STEM)
        choose(qtbot, state, graph, f"graphBranch_{kind}")
    click_node(qtbot, graph, "conv2d")
    click_node(qtbot, graph, "conv2d_1", ctrl=True)
    choose(qtbot, state, graph, "graphMerge_Concatenate")
    # A right-click on the pooling branch opens its menu (exec_ recorded, not run).
    shown_menus = []
    monkeypatch.setattr("PyQt5.QtWidgets.QMenu.exec_",
                        lambda menu, *_a: shown_menus.append(menu) or None)
    view = graph.view
    item = view.nodes["max_pooling2d"]
    view.ensureVisible(item, 10, 10)
    pos = view.mapFromScene(item.pos())
    QApplication.sendEvent(view.viewport(), QContextMenuEvent(
        QContextMenuEvent.Mouse, pos, view.viewport().mapToGlobal(pos)))
    assert len(shown_menus) == 1 and view.selected_names() == ["max_pooling2d"]
    texts = [a.text() for a in shown_menus[0].actions()]
    assert {"Add after", "Branch from here", "Merge selected", "Connect into"} <= set(texts)
    menu = graph.context_menu(view.nodes["max_pooling2d"])
    connect = next(a for sub in menu.findChildren(QMenu) for a in sub.actions()
                   if a.objectName() == "graphConnect_concatenate")
    connect.trigger()
    settle(qtbot, state)
    assert wiring(state)["concatenate"] == ["conv2d", "conv2d_1", "max_pooling2d"]
    # An edge's menu deletes it; the background's only fits.
    edge_menu = graph.context_menu(view.edges[("conv2d", "concatenate")])
    assert [a.text() for a in edge_menu.actions() if a.text()] == ["Delete edge", "Fit"]
    assert [a.text() for a in graph.context_menu(None).actions() if a.text()] == ["Fit"]


def test_no_edits_while_a_run_trains(qtbot, window):
    state, builder, graph = window
    before = state.spec.to_dict()
    state.set_busy(True)
    assert not graph.buttons["add"].isEnabled() and not graph.buttons["branch"].isEnabled()
    click_node(qtbot, graph, FLAT)
    assert not graph.delete_action.isEnabled()
    assert not graph.drop_edge(STEM, FLAT, "source", "input")  # a drag dropped anyway
    assert "training" in graph.message.text()
    assert state.spec.to_dict() == before
    state.set_busy(False)
    assert graph.buttons["add"].isEnabled() and graph.delete_action.isEnabled()


def test_moving_rows_of_a_graph_is_refused(qtbot, window):
    state, builder, graph = window
    click_node(qtbot, graph, STEM)
    choose(qtbot, state, graph, "graphBranch_Dense")
    before = state.spec.to_dict()
    with qtbot.waitSignal(state.edit_refused) as refused:
        state.move_layer(len(state.spec.layers) - 1, 0)  # what a drag in the stack asks
    assert "order follows the edges" in refused.args[0]
    assert state.spec.to_dict() == before


def test_in_the_window_ctrl_z_undoes_a_graph_edit(qtbot):
    from workbench.ui.main_window import MainWindow

    w = MainWindow(load_template("inception-block"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.state.engine.loaded and w.state.inspection is not None
                    and w.state.data.dataset is not None, timeout=60_000)
    assert w.findChild(QWidget, "graphView") is w.graph_panel.view
    w.tabs.setCurrentWidget(w.graph_panel)
    state, graph = w.state, w.graph_panel
    before = state.spec.to_dict()
    assert "branch_pool" in graph.view.nodes and state.inspection.ok
    click_node(qtbot, graph, "branch_pool")
    QTest.keyClick(graph.view.viewport(), Qt.Key_Delete)
    settle(qtbot, state)
    assert "branch_pool" not in state.spec.names()
    assert wiring(state)["branch_pool_proj"] == ["stem_pool"]  # the chain closed
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    QTest.keyClick(w, Qt.Key_Z, Qt.ControlModifier)
    settle(qtbot, state)
    assert state.spec.to_dict() == before and "branch_pool" in graph.view.nodes


def test_double_click_renames_a_layer_and_its_takers_follow(qtbot, window, monkeypatch):
    state, builder, graph = window
    click_node(qtbot, graph, STEM)
    choose(qtbot, state, graph, "graphBranch_Conv2D")
    click_node(qtbot, graph, "conv2d")
    click_node(qtbot, graph, STEM, ctrl=True)
    choose(qtbot, state, graph, "graphMerge_Add")
    answers = iter([("trunk", True), ("input", True), ("conv2d", False)])
    monkeypatch.setattr("PyQt5.QtWidgets.QInputDialog.getText",
                        lambda *_a, **_k: next(answers))
    view = graph.view
    item = view.nodes[STEM]
    view.ensureVisible(item, 10, 10)
    QTest.mouseDClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, view.mapFromScene(item.pos()))
    settle(qtbot, state)
    assert "trunk" in view.nodes and STEM not in view.nodes
    assert sorted(wiring(state)["add"]) == ["conv2d", "trunk"]
    assert wiring(state)["conv2d"] == ["trunk"]
    assert not graph.ask_rename("trunk")  # "input" is the model input's name: refused
    assert "cannot be a layer name" in graph.message.text()
    assert not graph.ask_rename("trunk")  # cancelled
    state.undo()
    settle(qtbot, state)
    assert STEM in view.nodes


def test_a_palette_layer_dropped_on_a_node_goes_after_it(qtbot, window):
    from PyQt5.QtCore import QMimeData
    from PyQt5.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

    from workbench.ui.builder.palette import LAYER_MIME

    state, builder, graph = window
    view = graph.view
    item = view.nodes[STEM]
    view.ensureVisible(item, 10, 10)
    pos = view.mapFromScene(item.pos())
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"BatchNormalization")
    for kind in (QDragEnterEvent, QDragMoveEvent, QDropEvent):
        QApplication.sendEvent(view.viewport(), kind(pos, Qt.CopyAction, mime, Qt.LeftButton,
                                                     Qt.NoModifier))
    settle(qtbot, state)
    assert [layer.class_name for layer in state.spec.layers] == [
        "Conv2D", "BatchNormalization", "Flatten", "Dense"]
    assert state.selected == 1 and graph.view.nodes[state.spec.names()[1]].isSelected()
