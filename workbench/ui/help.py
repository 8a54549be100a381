"""Help ▸ Quick start and Help ▸ Keyboard shortcuts.

The shortcuts table is read from the window's own actions when it opens, so it always lists the
keys that really work (menus, the layer stack's keys, the draw canvas's).
"""

from __future__ import annotations

import html

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAction,
    QDialog,
    QDialogButtonBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

QUICK_START = """
<h3>Quick start</h3>
<ol>
<li><b>Build a model.</b> Start from <i>File ▸ New from template</i>, or click layers in the
<i>Layers</i> list: each goes after the selected row of the <i>Model</i> stack. Select a row to
edit its settings below it; the stack shows every layer's output shape and parameter count, and
says in plain words what does not fit.</li>
<li><b>Set up training</b> in the <i>Training settings</i> tab: dataset, optimizer, learning
rate, epochs, batch size.</li>
<li><b>Train</b> ({train}). The curves show loss and accuracy as it learns; <b>Pause</b>
({pause}) and <b>Stop</b> ({stop}) keep the weights reached. Each run is kept, tick one to
compare it with the next.</li>
<li><b>Look inside.</b> <i>Evaluation</i> shows the confusion matrix and the test images it got
wrong; <i>Weights</i> what each layer learned, epoch by epoch.</li>
<li><b>Draw a digit</b> in the <i>Draw</i> tab to see what the network answers; add your
drawings to your own sample set and train on them.</li>
<li><b>Keep it.</b> <i>File ▸ Save</i> ({save}) writes the project with its trained weights and
your samples; <i>File ▸ Export</i> writes the Keras model, a standalone Python script, plots
or the run history.</li>
</ol>
<p>Every edit can be undone ({undo}) and redone ({redo}).</p>
"""

# Keys handled by widgets themselves rather than by an action.
WIDGET_KEYS = (("Draw canvas", "Undo the last stroke", QKeySequence(QKeySequence.Undo)),
               ("Draw canvas", "Clear the drawing", QKeySequence(Qt.Key_Escape)))


# Keys few keyboards have: X11 binds Undo to F14 too, and the table said "Ctrl+Z, F14".
_RARE_KEYS = frozenset(getattr(Qt, f"Key_F{n}") for n in range(13, 36))


def key_text(action: QAction) -> str:
    keys = [k for k in action.shortcuts()
            if not (k.count() == 1 and int(k[0]) & ~int(Qt.KeyboardModifierMask) in _RARE_KEYS)]
    return ", ".join(k.toString(QKeySequence.NativeText) for k in keys)


def _label(action: QAction) -> str:
    text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not any(c.isalpha() for c in text):  # a symbol on a button (▲): its tooltip names it
        text = action.toolTip().split(" (")[0] or text
    return text.rstrip("…").strip()


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(where, what, keys) of every action under ``window`` that has a shortcut."""
    rows, seen = [], set()
    for action in window.findChildren(QAction):
        keys = key_text(action)
        if not keys or not action.isVisible():
            continue
        where, owner = "Menus", action.parent()
        while owner is not None:
            if owner.objectName() == "layerStack":
                where = "Layer stack"
            owner = owner.parent()
        row = (where, _label(action), keys)
        if row[1:] not in seen:
            seen.add(row[1:])
            rows.append(row)
    rows += [(where, what, key.toString(QKeySequence.NativeText))
             for where, what, key in WIDGET_KEYS]
    return sorted(rows, key=lambda r: (r[0] != "Menus", r[0]))


def shortcuts_html(window: QWidget) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(where)}</td><td>{html.escape(what)}</td>"
        f"<td><b>{html.escape(keys)}</b></td></tr>" for where, what, keys in shortcut_rows(window))
    return ("<h3>Keyboard shortcuts</h3><table cellpadding='3'>"
            "<tr><th align='left'>Where</th><th align='left'>What</th>"
            f"<th align='left'>Keys</th></tr>{cells}</table>")


def _dialog(parent: QWidget, name: str, title: str, text: str) -> QDialog:
    dialog = QDialog(parent, objectName=name)
    dialog.setWindowTitle(title)
    browser = QTextBrowser(dialog, objectName=f"{name}Text")
    browser.setOpenExternalLinks(False)
    browser.setHtml(text)
    buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.resize(560, 520)
    return dialog


def show_quick_start(window: QWidget, keys: dict[str, QAction]) -> QDialog:
    """``keys``: the actions named in the text (train, pause, stop, save, undo, redo)."""
    def first_key(action: QAction) -> str:  # the main one (Undo is also F14 on X11)
        return action.shortcut().toString(QKeySequence.NativeText) or "no key"

    text = QUICK_START.format(**{name: html.escape(first_key(action))
                                 for name, action in keys.items()})
    dialog = _dialog(window, "quickStartDialog", "Quick start — Workbench", text)
    dialog.show()
    return dialog


def show_shortcuts(window: QWidget) -> QDialog:
    dialog = _dialog(window, "shortcutsDialog", "Keyboard shortcuts — Workbench",
                     shortcuts_html(window))
    dialog.show()
    return dialog
