"""Every tab is usable in a 1024×700 window: nothing overlaps, no button's text is cut, the
confusion matrix keeps room for its numbers, the right pane stays right of the builder."""

from __future__ import annotations

import pytest
from PyQt5.QtCore import QRect
from PyQt5.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QSplitterHandle,
    QWidget,
)
from pytestqt.qtbot import QtBot

from tests.ui.test_evaluation import train_briefly
from workbench.core.templates import load_template
from workbench.ui.main_window import MainWindow

SIZE = (1024, 700)


def _visible_children(widget: QWidget) -> list[QWidget]:
    return [c for c in widget.children() if isinstance(c, QWidget) and c.isVisible()
            and not c.isWindow()]


def _overlaps(root: QWidget) -> list[str]:
    """Sibling widgets laid over each other anywhere under ``root`` (the scroll areas' own
    parts and the error banner, which lies over the plots on purpose, aside)."""
    found = []
    stack = [root]
    while stack:
        parent = stack.pop()
        children = [c for c in _visible_children(parent) if c.objectName() != "trainingBanner"]
        stack.extend(c for c in children if not isinstance(c, QAbstractScrollArea))
        if isinstance(parent, QAbstractScrollArea):
            continue
        for i, a in enumerate(children):
            for b in children[i + 1:]:
                if isinstance(a, QSplitterHandle) or isinstance(b, QSplitterHandle):
                    continue
                inter = a.geometry().intersected(b.geometry())
                if inter.width() > 1 and inter.height() > 1:
                    found.append(f"{type(a).__name__}({a.objectName()}) over "
                                 f"{type(b).__name__}({b.objectName()}) in "
                                 f"{type(parent).__name__}({parent.objectName()})")
    return found


def _cut_buttons(root: QWidget) -> list[str]:
    cut = []
    buttons = root.findChildren(QAbstractButton) + root.findChildren(QComboBox)
    for button in buttons:
        parent = button.parentWidget()
        if not button.isVisible() or (parent is not None and parent.inherits("QTabBar")):
            continue  # a tab bar's own scroll arrows
        if button.width() + 1 < button.minimumSizeHint().width():
            cut.append(f"{button.objectName() or getattr(button, 'text', lambda: '')()}: "
                       f"{button.width()} < {button.minimumSizeHint().width()}")
    return cut


def _global(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


@pytest.fixture(scope="module")
def trained_window(qapp, request):
    """One window for the module (its tests only look): the MLP trained briefly, so every tab
    has something to show, at 1024×700."""
    bot = QtBot(request)
    w = MainWindow(load_template("mnist-mlp"))
    w.show()
    bot.waitUntil(lambda: w.state.engine.loaded and w.state.data.dataset is not None,
                  timeout=60_000)
    train_briefly(w)
    w.resize(*SIZE)
    bot.waitUntil(lambda: (w.width(), w.height()) == SIZE, timeout=5000)
    yield w
    w.state.undo_stack.setClean()  # the brief training counts as unsaved: don't ask
    w.close()
    w.deleteLater()
    bot.wait(10)


@pytest.fixture
def small_window(trained_window, qtbot):
    """The module's window as each test finds it: the first tab shown, at 1024×700."""
    w = trained_window
    w.tabs.setCurrentIndex(0)
    w.resize(*SIZE)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == SIZE, timeout=5000)
    yield w
    w.tabs.setCurrentIndex(0)


@pytest.mark.parametrize("tab", ["training_panel", "graph_panel", "evaluation_panel",
                                 "weights_panel", "draw_panel", "dataset_panel",
                                 "experiments_panel"])
def test_every_tab_fits_a_1024_by_700_window(qtbot, small_window, tab):
    w = small_window
    panel = getattr(w, tab)
    w.tabs.setCurrentWidget(panel)
    if tab == "evaluation_panel":
        qtbot.waitUntil(lambda: panel.result is not None, timeout=30_000)
    if tab == "dataset_panel":  # its class counts, a long line, are filled in when shown
        qtbot.waitUntil(lambda: panel.balance_title.text() != "", timeout=30_000)
    qtbot.wait(50)
    assert w.minimumSizeHint().width() <= SIZE[0] and w.minimumSizeHint().height() <= SIZE[1]
    assert _overlaps(w) == []
    assert _cut_buttons(w) == []
    # The right pane stays right of the builder, inside the window.
    builder, tabs = _global(w.builder_panel), _global(w.tabs)
    assert tabs.left() >= builder.right() and tabs.right() <= _global(w).right() + 1
    if tab == "evaluation_panel":
        assert panel.matrix.width() >= 250 and panel.matrix.height() >= 220
    if tab == "draw_panel":
        canvas, preview = _global(panel.canvas), _global(panel.preview)
        assert not canvas.intersects(preview)


def test_the_first_window_fits_a_small_screen():
    """On a 1024×700 screen the window opens within it (it opened at 1400×860, running off the
    screen's right and bottom edges, the run table and Train's progress cut off)."""
    from workbench.ui.main_window import fitted

    assert fitted((1400, 860), (1024, 676)) == (1024, 676)
    assert fitted((1400, 860), (1920, 1050)) == (1400, 860)
