"""The hidden tabs are built after the window's first paint (issue 26), behind placeholders that
keep the tab bar as it will be; a panel asked for earlier is built at once, and one built after
a run shows what it would have shown had it been built at start."""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject

from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow

HIDDEN = ["graph_panel", "evaluation_panel", "weights_panel", "draw_panel", "dataset_panel",
          "experiments_panel"]
TITLES = ["Training", "Graph", "Evaluation", "Weights", "Draw", "Data", "Experiments"]


def titles(w: MainWindow) -> list[str]:
    return [w.tabs.tabText(i) for i in range(w.tabs.count())]


class FirstPaint(QObject):
    def __init__(self, window: MainWindow):
        super().__init__()
        self.window, self.pending = window, None
        window.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt API
        if obj is self.window and event.type() == QEvent.Paint and self.pending is None:
            self.pending = self.window.lazy_tabs.pending()
        return False


def test_first_paint_comes_before_the_hidden_panels(qtbot):
    w = MainWindow(load_dataset=False)
    qtbot.addWidget(w)
    assert w.lazy_tabs.pending() == HIDDEN
    assert titles(w) == TITLES and w.tabs.currentWidget() is w.training_panel
    watcher = FirstPaint(w)
    w.show()
    qtbot.waitUntil(lambda: not w.lazy_tabs.pending(), timeout=30_000)
    assert watcher.pending == HIDDEN  # painted with none of them built
    assert titles(w) == TITLES and w.tabs.currentWidget() is w.training_panel
    assert [w.tabs.widget(i) for i in range(1, 7)] == [w.__dict__[n] for n in HIDDEN]


def test_a_panel_asked_for_is_built_at_once_in_its_place(qtbot):
    w = MainWindow(load_dataset=False)
    qtbot.addWidget(w)
    draw = w.draw_panel  # before any paint
    assert "draw_panel" not in w.lazy_tabs.pending() and w.tabs.indexOf(draw) == 4
    assert titles(w) == TITLES and w.tabs.currentWidget() is w.training_panel
    w.tabs.setCurrentIndex(3)  # the Weights placeholder: built and shown
    assert "weights_panel" not in w.lazy_tabs.pending()
    assert w.tabs.currentWidget() is w.weights_panel and titles(w) == TITLES


def test_panels_built_after_a_run_show_what_early_ones_show(qtbot, trained):
    spec, weights, data = trained
    windows = []
    for early in (True, False):
        w = MainWindow(load_template(), load_dataset=False)
        qtbot.addWidget(w)
        qtbot.waitUntil(lambda w=w: w.state.engine.loaded, timeout=60_000)
        w.state.data.dataset = data
        if early:
            w.weights_panel, w.evaluation_panel  # noqa: B018 - built before the run
        w.state.trained.set_weights(0, weights, spec)
        windows.append(w)
    early, late = windows
    assert {"weights_panel", "evaluation_panel"} <= set(late.lazy_tabs.pending())
    for w in windows:
        w.show()
        w.tabs.setCurrentIndex(3)  # Weights (it draws when shown)
        qtbot.waitUntil(lambda w=w: bool(w.weights_panel.weights.layers), timeout=30_000)
        qtbot.waitUntil(lambda w=w: w.evaluation_panel.result is not None, timeout=30_000)
    assert late.weights_panel.pages.currentWidget() is not late.weights_panel.empty
    combos = [w.weights_panel.weights.layer_combo for w in windows]
    assert [[c.itemText(i) for i in range(c.count())] for c in combos][0] == [
        combos[1].itemText(i) for i in range(combos[1].count())]
    assert (late.evaluation_panel.pages.currentIndex()
            == early.evaluation_panel.pages.currentIndex())


def test_a_graph_built_while_keras_checks_says_so(qtbot):
    w = MainWindow(load_dataset=False)
    qtbot.addWidget(w)
    w.state.checking = True  # as the document sets it when an edit's inspection is slow
    w.state.checking_changed.emit(True)
    assert w.graph_panel.checking_label.text() == "checking…"
