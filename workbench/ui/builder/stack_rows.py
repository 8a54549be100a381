"""How the layer stack's rows look: the input row, each layer's row from Keras's inspection
(shape, parameters, greyed while stale) and an error row.

A cell's text, colours and flags are set only when they change: in the layer stack each change
cost ~0.1 ms of the tree's own bookkeeping (flags more), most of a refresh after an edit when
every cell was set again."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QBrush, QColor
from PyQt5.QtWidgets import QTreeWidgetItem

from workbench.core.catalogue import layer_type
from workbench.core.inspect import LayerInfo, format_shape
from workbench.core.spec import LayerSpec
from workbench.i18n import _

COL_INDEX, COL_LAYER, COL_SHAPE, COL_PARAMS = range(4)
ERROR_BG = QColor("#fde4e4")
ERROR_FG = QColor("#b3261e")
STALE_FG = QColor("#9a9a9a")


def set_text(item: QTreeWidgetItem, column: int, text: str) -> None:
    if item.text(column) != text:
        item.setText(column, text)


def set_colours(item: QTreeWidgetItem, column: int, background: QBrush,
                foreground: QBrush) -> None:
    if item.background(column) != background:
        item.setBackground(column, background)
    if item.foreground(column) != foreground:
        item.setForeground(column, foreground)


def set_flags(item: QTreeWidgetItem, flags) -> None:
    if item.flags() != flags:
        item.setFlags(flags)


def fill_input_row(item: QTreeWidgetItem, input_shape: tuple) -> None:
    """Row 0: the model input, italic."""
    shape = format_shape(input_shape)
    set_flags(item, Qt.ItemIsEnabled | Qt.ItemIsSelectable)
    set_text(item, COL_INDEX, "")
    set_text(item, COL_LAYER, _("Input {shape}").format(shape=shape))
    set_text(item, COL_SHAPE, shape)
    set_text(item, COL_PARAMS, "")
    item.setToolTip(COL_LAYER, _("The shape of one sample (without the batch axis); "
                                 "select to edit"))
    font = item.font(COL_LAYER)
    if not font.italic():
        font.setItalic(True)
        item.setFont(COL_LAYER, font)
    for col in range(4):
        set_colours(item, col, QBrush(), QBrush())

def fill_layer_row(item: QTreeWidgetItem, index: int, layer: LayerSpec, label: str,
                   info: LayerInfo | None, current: bool, failed_before: bool,
                   checking: bool) -> bool:
    """Layer ``index``'s row from its inspection ``info`` (``current``: of the newest edit;
    ``checking``: the newest is slow in coming); True once a layer has failed."""
    set_flags(item, Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsDragEnabled)
    set_text(item, COL_INDEX, str(index + 1))
    set_text(item, COL_LAYER, label)
    item.setTextAlignment(COL_PARAMS, Qt.AlignRight | Qt.AlignVCenter)
    error = info.error if (info is not None and current) else None
    if info is None:
        shape_text, params_text = "…", "…"
        if failed_before:
            shape_text, params_text = "—", "—"
    elif info.error:
        shape_text, params_text = _("✖ error"), "—"
    elif info.output_shape is None:
        shape_text, params_text = "—", "—"
    else:
        shape_text, params_text = format_shape(info.output_shape), f"{info.params:,}"
    set_text(item, COL_SHAPE, shape_text)
    set_text(item, COL_PARAMS, params_text)
    tip = f"{layer.class_name}: {_(layer_type(layer.class_name).help)}"
    if error:
        mark_error(item, error)
        return True
    # An older answer greys only once the new one is slow ("checking…"): no flicker.
    stale = (not current and checking) or \
        (info is not None and info.output_shape is None)
    for col in range(4):
        item.setToolTip(col, tip)
        set_colours(item, col, QBrush(),
                     QBrush(STALE_FG) if stale and col >= COL_SHAPE else QBrush())
    return failed_before

def mark_error(item: QTreeWidgetItem, text: str) -> None:
    for col in range(4):
        item.setToolTip(col, text)
        set_colours(item, col, QBrush(ERROR_BG), QBrush(ERROR_FG))
