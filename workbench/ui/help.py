"""Help ▸ Quick start and Help ▸ Keyboard shortcuts.

The shortcuts table is read from the window's own actions when it opens, so it always lists the
keys that really work (menus, the layer stack's keys, the draw canvas's).
"""

from __future__ import annotations

import html
from collections.abc import Callable

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

from workbench.i18n import N_, _

# One message per step (translated where shown); the keys are filled in after translating.
QUICK_START_STEPS = (
    N_("<b>Build a model.</b> Start from <i>File ▸ New from template</i>, or click layers in the "
       "<i>Layers</i> list: each goes after the selected row of the <i>Model</i> stack. Select a "
       "row to edit its settings below it; the stack shows every layer's output shape and "
       "parameter count, and says in plain words what does not fit."),
    N_("<b>Set up training</b> in the <i>Training settings</i> tab: dataset, optimizer, learning "
       "rate, epochs, batch size."),
    N_("<b>Train</b> ({train}). The curves show loss and accuracy as it learns; <b>Pause</b> "
       "({pause}) and <b>Stop</b> ({stop}) keep the weights reached. Each run is kept, tick one "
       "to compare it with the next."),
    N_("<b>Look inside.</b> <i>Evaluation</i> shows the confusion matrix and the test images it "
       "got wrong; <i>Weights</i> what each layer learned, epoch by epoch."),
    N_("<b>Draw a digit</b> in the <i>Draw</i> tab to see what the network answers; add your "
       "drawings to your own sample set and train on them."),
    N_("<b>Keep it.</b> <i>File ▸ Save</i> ({save}) writes the project with its trained weights "
       "and your samples; <i>File ▸ Export</i> writes the Keras model, a standalone Python "
       "script, plots or the run history."),
)


def quick_start_html() -> str:
    """The quick start in the current language, with ``{train}``… placeholders for the keys."""
    steps = "".join(f"<li>{_(step)}</li>" for step in QUICK_START_STEPS)
    undo = _("Every edit can be undone ({undo}) and redone ({redo}).")
    title = html.escape(_("Quick start"))
    return f"<h3>{title}</h3><ol>{steps}</ol><p>{undo}</p>"

# Keys handled by widgets themselves rather than by an action.
WIDGET_KEYS = ((N_("Draw canvas"), N_("Undo the last stroke"), QKeySequence(QKeySequence.Undo)),
               (N_("Draw canvas"), N_("Clear the drawing"), QKeySequence(Qt.Key_Escape)))


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
        where, owner = _("Menus"), action.parent()
        while owner is not None:
            if owner.objectName() == "layerStack":
                where = _("Layer stack")
            owner = owner.parent()
        row = (where, _label(action), keys)
        if row[1:] not in seen:
            seen.add(row[1:])
            rows.append(row)
    rows += [(_(where), _(what), key.toString(QKeySequence.NativeText))
             for where, what, key in WIDGET_KEYS]
    return sorted(rows, key=lambda r: (r[0] != _("Menus"), r[0]))


def shortcuts_html(window: QWidget) -> str:
    cells = "".join(
        f"<tr><td>{html.escape(where)}</td><td>{html.escape(what)}</td>"
        f"<td><b>{html.escape(keys)}</b></td></tr>" for where, what, keys in shortcut_rows(window))
    heads = "".join(f"<th align='left'>{html.escape(h)}</th>"
                    for h in (_("Where"), _("What"), _("Keys")))
    title = html.escape(_("Keyboard shortcuts"))
    return (f"<h3>{title}</h3><table cellpadding='3'>"
            f"<tr>{heads}</tr>{cells}</table>")


def _dialog(parent: QWidget, name: str, title: Callable[[], str],
            text: Callable[[], str]) -> QDialog:
    """``title`` and ``text`` are made again after Help ▸ Language (the dialog's retranslate)."""
    dialog = QDialog(parent, objectName=name)
    browser = QTextBrowser(dialog, objectName=f"{name}Text")
    browser.setOpenExternalLinks(False)

    def fill() -> None:
        dialog.setWindowTitle(title())
        browser.setHtml(text())

    fill()
    dialog.retranslate = fill
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
        return action.shortcut().toString(QKeySequence.NativeText) or _("no key")

    def text() -> str:
        return quick_start_html().format(**{name: html.escape(first_key(action))
                                            for name, action in keys.items()})

    dialog = _dialog(window, "quickStartDialog", lambda: _("Quick start — Workbench"), text)
    dialog.show()
    return dialog


def show_shortcuts(window: QWidget) -> QDialog:
    dialog = _dialog(window, "shortcutsDialog", lambda: _("Keyboard shortcuts — Workbench"),
                     lambda: shortcuts_html(window))
    dialog.show()
    return dialog
