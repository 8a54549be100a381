"""Retranslating the open windows in place when the language changes (#29), so that the project,
its undo stack, trained weights and runs stay exactly as they are.

Texts set once (menus, labels, buttons, tooltips, tab and column titles, plot axes) are found on
the widgets and mapped back through the old language's catalog to their English msgid, then
translated into the new one. Texts built from the state (counts, shapes, messages) are rebuilt
by the widget's own ``retranslate()``, which every widget or helper object that has one is asked
to run afterwards. A text that no catalog knows (a user's name for a run, a number) is left as is.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable

from PyQt5 import sip
from PyQt5.QtCore import QModelIndex, QObject, Qt
from PyQt5.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QAction,
    QApplication,
    QComboBox,
    QGraphicsView,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QTableWidget,
    QTabWidget,
    QTreeWidget,
    QWidget,
)

from workbench import i18n
from workbench.i18n import _


def catalog(code: str) -> dict[str, str]:
    """msgid -> translation of ``code``'s catalogs, ``ui`` winning over ``core``; {} for English."""
    if code == i18n.ENGLISH:
        return {}
    merged: dict[str, str] = {}
    for domain in reversed(i18n.DOMAINS):
        found = gettext.translation(domain, i18n.LOCALE_DIR, languages=[code], fallback=True)
        for key, value in getattr(found, "_catalog", {}).items():
            if isinstance(key, str) and key and value:  # plural entries are keyed by tuples
                merged[key] = value
    return merged


def _mapper(old: str, new: str) -> Callable[[str], str | None]:
    """text shown in ``old`` -> the same text in ``new`` (already the current language), or None
    when the text is not one of the catalogs' messages."""
    known = catalog(new if old == i18n.ENGLISH else old)
    if old == i18n.ENGLISH:
        msgids = known.keys()
        back = None
    else:
        back = {}
        for msgid, text in known.items():
            back.setdefault(text, msgid)
        msgids = None

    def translate(text: str) -> str | None:
        if not text:
            return None
        msgid = text if msgids is not None and text in msgids else (back or {}).get(text)
        if msgid is None:
            return None
        result = _(msgid)
        return result if result != text else None

    return translate


def _retext(get: Callable[[], str], put: Callable[[str], object], tr) -> None:
    new = tr(get())
    if new is not None:
        put(new)


def _widget(widget: QWidget, tr) -> None:
    _retext(widget.windowTitle, widget.setWindowTitle, tr)
    _retext(widget.toolTip, widget.setToolTip, tr)
    _retext(widget.statusTip, widget.setStatusTip, tr)
    _retext(widget.whatsThis, widget.setWhatsThis, tr)
    if isinstance(widget, (QLabel, QAbstractButton)):
        _retext(widget.text, widget.setText, tr)
    if isinstance(widget, QLineEdit):
        _retext(widget.placeholderText, widget.setPlaceholderText, tr)
    if isinstance(widget, QGroupBox):
        _retext(widget.title, widget.setTitle, tr)
    if isinstance(widget, QMenu):
        _retext(widget.title, widget.setTitle, tr)
    if isinstance(widget, QAbstractSpinBox):
        _retext(widget.specialValueText, widget.setSpecialValueText, tr)
        if hasattr(widget, "suffix"):
            _retext(widget.suffix, widget.setSuffix, tr)
            _retext(widget.prefix, widget.setPrefix, tr)
    if isinstance(widget, QTabWidget):
        for i in range(widget.count()):
            _retext(lambda i=i: widget.tabText(i), lambda t, i=i: widget.setTabText(i, t), tr)
            _retext(lambda i=i: widget.tabToolTip(i), lambda t, i=i: widget.setTabToolTip(i, t),
                    tr)
    if isinstance(widget, QComboBox):
        for i in range(widget.count()):
            _retext(lambda i=i: widget.itemText(i), lambda t, i=i: widget.setItemText(i, t), tr)
            _retext(lambda i=i: widget.itemData(i, Qt.ToolTipRole) or "",
                    lambda t, i=i: widget.setItemData(i, t, Qt.ToolTipRole), tr)
    if isinstance(widget, QAbstractItemView):
        _items(widget, tr)
    if isinstance(widget, QGraphicsView) and widget.scene() is not None:
        _scene(widget.scene(), tr)


def _item_texts(item, columns: int, tr) -> None:
    for column in range(columns):
        _retext(lambda c=column: item.text(c), lambda t, c=column: item.setText(c, t), tr)
        _retext(lambda c=column: item.toolTip(c), lambda t, c=column: item.setToolTip(c, t), tr)
        _retext(lambda c=column: item.statusTip(c),
                lambda t, c=column: item.setStatusTip(c, t), tr)


def _single_item(item, tr) -> None:
    if item is None:
        return
    _retext(item.text, item.setText, tr)
    _retext(item.toolTip, item.setToolTip, tr)
    _retext(item.statusTip, item.setStatusTip, tr)


def _items(view: QAbstractItemView, tr) -> None:
    if isinstance(view, QTreeWidget):
        columns = view.columnCount()
        _item_texts(view.headerItem(), columns, tr)
        pending = [view.topLevelItem(i) for i in range(view.topLevelItemCount())]
        while pending:
            item = pending.pop()
            _item_texts(item, columns, tr)
            pending += [item.child(i) for i in range(item.childCount())]
    elif isinstance(view, QTableWidget):
        for column in range(view.columnCount()):
            _single_item(view.horizontalHeaderItem(column), tr)
        for row in range(view.rowCount()):
            _single_item(view.verticalHeaderItem(row), tr)
            for column in range(view.columnCount()):
                _single_item(view.item(row, column), tr)
    elif isinstance(view, QListWidget):
        for row in range(view.count()):
            _single_item(view.item(row), tr)
    else:  # a model of our own translates in data()/headerData(): ask the view to read again
        model = view.model()
        if model is not None:
            root = QModelIndex()
            for orientation, count in ((Qt.Horizontal, _count(model.columnCount, root)),
                                       (Qt.Vertical, _count(model.rowCount, root))):
                if count:
                    model.headerDataChanged.emit(orientation, 0, count - 1)
            view.viewport().update()


def _count(method, root) -> int:
    """A model's rows or columns (a list model's columnCount is not public: one column)."""
    try:
        return method(root)
    except TypeError:
        return 1


def _scene(scene, tr) -> None:
    """pyqtgraph's axis titles, plot titles, legends and text items."""
    import pyqtgraph as pg

    for item in scene.items():
        if isinstance(item, pg.AxisItem):
            new = tr(item.labelText)
            if new is not None:
                item.labelText = new
                item._updateLabel()  # pyqtgraph's setLabel would reset the units' settings
        elif isinstance(item, pg.LabelItem):
            _retext(lambda item=item: item.text, item.setText, tr)
        elif isinstance(item, pg.TextItem):
            _retext(item.toPlainText, item.setPlainText, tr)


def _action(action: QAction, tr) -> None:
    _retext(action.text, action.setText, tr)
    _retext(action.iconText, action.setIconText, tr)
    _retext(action.toolTip, action.setToolTip, tr)
    _retext(action.statusTip, action.setStatusTip, tr)


def retranslate_all(old: str, new: str) -> None:
    """Every top-level window's texts from ``old`` to ``new`` (the language now in use)."""
    tr = _mapper(old, new)
    app = QApplication.instance()
    for top in QApplication.topLevelWidgets():
        widgets = [top, *top.findChildren(QWidget)]
        for widget in widgets:
            _widget(widget, tr)
        for action in top.findChildren(QAction):
            _action(action, tr)
    # The hooks are gathered first: one may delete objects (setHtml drops a document's lists).
    hooks, seen = [], set()
    tops = QApplication.topLevelWidgets()
    for obj in [app, *app.findChildren(QObject)] + [
            o for top in tops for o in [top, *top.findChildren(QObject)]]:
        hook = getattr(obj, "retranslate", None)
        if callable(hook) and id(obj) not in seen:
            seen.add(id(obj))
            hooks.append((obj, hook))
    for obj, hook in hooks:
        if not sip.isdeleted(obj):
            hook()
