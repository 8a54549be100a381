"""The layer stack: the model top to bottom with Keras's output shapes, parameter counts and errors.

Rows are drawn from ``ProjectState`` (the spec and its inspection) on every change; the view keeps
no layer settings of its own. Row 0 is the input; row ``i + 1`` is layer ``i``. How a row looks is
ui/builder/stack_rows.py; the totals, warnings and error with its fix under the rows are
ui/builder/stack_notices.py.
"""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import (
    QAbstractItemView,
    QAction,
    QHBoxLayout,
    QHeaderView,
    QToolButton,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core import graph_edit
from workbench.core.compatibility import OutputProblem, check_output
from workbench.core.inspect import LayerInfo
from workbench.core.spec import LayerSpec
from workbench.i18n import N_, _
from workbench.ui.builder.stack_notices import StackNoticesView
from workbench.ui.builder.stack_rows import (
    COL_INDEX,
    COL_LAYER,
    COL_PARAMS,
    COL_SHAPE,
    fill_input_row,
    fill_layer_row,
    mark_error,
)
from workbench.ui.builder.stack_text import graph_labels, totals_text
from workbench.ui.builder.stack_tree import StackTree
from workbench.ui.document import make_undo_actions
from workbench.ui.state import ProjectState

UNDO_TEXT, REDO_TEXT = "↶", "↷"


class LayerStackView(QWidget):
    """The model's rows, the move/duplicate/delete buttons, totals, and the error with its fix."""

    refreshed = pyqtSignal()  # rows redrawn from a fresh inspection (for benchmarks and tests)

    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self._stale = True  # the inspection predates the last model change

        self.tree = StackTree(self)
        self.tree.setObjectName("layerStack")
        self.tree.setColumnCount(4)
        self._set_header()
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setToolTip("")
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_INDEX, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(COL_LAYER, QHeaderView.Stretch)
        header.setSectionResizeMode(COL_SHAPE, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(COL_PARAMS, QHeaderView.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignLeft | Qt.AlignVCenter)

        # Buttons and their keyboard shortcuts (active while the stack has focus).
        self.up_action = self._action(N_("Move up"), "▲", "Alt+Up", self.move_up)
        self.down_action = self._action(N_("Move down"), "▼", "Alt+Down", self.move_down)
        self.duplicate_action = self._action(N_("Duplicate"), N_("Duplicate"), "Ctrl+D",
                                             self.duplicate)
        self.delete_action = self._action(N_("Delete"), N_("Delete"), QKeySequence.Delete,
                                          self.delete)
        self.delete_action.setShortcuts([QKeySequence(QKeySequence.Delete),
                                         QKeySequence(Qt.Key_Backspace)])
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for action in (self.up_action, self.down_action, self.duplicate_action, self.delete_action):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setObjectName(f"stack{action.objectName()}Button")
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.undo_button = QToolButton(self, objectName="builderUndoButton")
        self.redo_button = QToolButton(self, objectName="builderRedoButton")
        undo, redo = make_undo_actions(state, self, keys=False)
        self.undo_button.setDefaultAction(undo)
        self.redo_button.setDefaultAction(redo)
        # Arrows alone (the tooltips name the step): with "Undo"/"Redo" beside them this row set
        # the builder's minimum width, and the main splitter could not narrow it at 1024 px.
        for button, text in ((self.undo_button, UNDO_TEXT), (self.redo_button, REDO_TEXT)):
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            button.defaultAction().setIconText(text)
            buttons.addWidget(button)
        # QUndoStack rewrites the action texts ("Undo Add Dense"); keep the buttons short.
        state.undo_stack.indexChanged.connect(self._on_undo_index_changed)

        self.notices = StackNoticesView(self)
        notices = self.notices
        self.warnings, self.totals = notices.warnings, notices.totals
        self.input_hint, self.input_hint_button = notices.input_hint, notices.input_hint_button
        self.input_frame, self.error_frame = notices.input_frame, notices.error_frame
        self.error_label, self.fix_button = notices.error_label, notices.fix_button
        self.input_hint_button.clicked.connect(self._on_use_dataset_shape)
        self.fix_button.clicked.connect(self._on_fix_clicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        layout.addWidget(notices)

        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self.tree.dropped.connect(self._on_dropped)
        state.model_changed.connect(self._on_model_changed)
        state.inspection_changed.connect(self._on_inspection_changed)
        state.checking_changed.connect(self._on_checking_changed)
        state.selection_changed.connect(self._on_selection_changed)
        # The output is checked against the dataset's labels and the loss: both can change it.
        state.training_changed.connect(self.refresh)
        state.data.loaded.connect(self.refresh)
        state.data.failed.connect(lambda _msg: self.refresh())
        self._stale = state.inspection is None
        self.refresh()
        self._on_undo_index_changed()

    # Construction helpers -----------------------------------------------------------------------

    def _set_header(self) -> None:
        self.tree.setHeaderLabels(["#", _("Layer"), _("Output shape"), _("Params")])

    def _action(self, name: str, text: str, key, slot) -> QAction:
        """``name`` and ``text``: English (N_), translated here and in ``retranslate``."""
        action = QAction(_(text), self.tree)
        action.setObjectName(name.title().replace(" ", ""))
        action.setProperty("msgids", (name, text))
        shortcut = QKeySequence(key)
        action.setShortcut(shortcut)
        action.setShortcutContext(Qt.WidgetShortcut)
        self._tip_action(action)
        action.triggered.connect(slot)
        self.tree.addAction(action)
        return action

    @staticmethod
    def _tip_action(action: QAction) -> None:
        name, text = action.property("msgids")
        action.setText(_(text))
        keys = action.shortcut().toString(QKeySequence.NativeText)
        action.setToolTip(f"{_(name)} ({keys})")

    def retranslate(self) -> None:
        """After Help ▸ Language: the header, the buttons' tooltips and every row."""
        self._set_header()
        for action in (self.up_action, self.down_action, self.duplicate_action,
                       self.delete_action):
            self._tip_action(action)
        self._on_undo_index_changed()
        self.refresh()

    # Commands ------------------------------------------------------------------------------------

    def selected_layer(self) -> int:
        return self.state.selected

    def move_up(self) -> None:
        i = self.state.selected
        if i > 0:
            self.state.move_layer(i, i - 1)

    def move_down(self) -> None:
        i = self.state.selected
        if 0 <= i < len(self.state.spec.layers) - 1:
            self.state.move_layer(i, i + 1)

    def duplicate(self) -> None:
        if self.state.selected >= 0:
            self.state.duplicate_layer(self.state.selected)

    def delete(self) -> None:
        if self.state.selected >= 0:
            self.state.remove_layer(self.state.selected)

    def _on_dropped(self, target: int, payload: object) -> None:
        n = len(self.state.spec.layers)
        target = max(0, min(target, n))
        if isinstance(payload, int):
            if not 0 <= payload < n:
                return
            final = target if target <= payload else target - 1
            self.state.move_layer(payload, min(final, n - 1))
        elif isinstance(payload, str) and payload:
            self.state.insert_layer(target, LayerSpec.create(payload))

    def output_problem(self) -> OutputProblem | None:
        """Why the (buildable) model's output does not fit the dataset's labels and the loss."""
        if self._stale:
            return None
        state = self.state
        return check_output(state.spec, state.inspection, state.training, state.data.dataset)

    def _on_fix_clicked(self) -> None:
        report = self.state.inspection
        if report is None:
            return
        if report.error_index is not None:
            repair = report.layers[report.error_index].repair
        else:
            problem = self.output_problem()
            repair = problem.repair if problem is not None else None
        if repair is not None:  # an insert on the layer's input, or a setting changed upstream
            self.state.set_model(repair.apply(self.state.spec), repair.label)

    def _on_use_dataset_shape(self) -> None:
        if self.state.data.dataset is not None:
            self.state.set_input_shape(tuple(self.state.data.dataset.input_shape))

    # State → rows -------------------------------------------------------------------------------

    def _on_model_changed(self) -> None:
        self._stale = True
        self.refresh()

    def _on_inspection_changed(self) -> None:
        self._stale = False
        self.refresh()
        self.refreshed.emit()

    def _on_checking_changed(self, _checking: bool) -> None:
        self.refresh()

    def _on_selection_changed(self, index: int) -> None:
        row = index + 1
        if 0 <= row < self.tree.topLevelItemCount():
            item = self.tree.topLevelItem(row)
            if self.tree.currentItem() is not item:
                self.tree.blockSignals(True)
                self.tree.setCurrentItem(item)
                self.tree.blockSignals(False)
            self.tree.scrollToItem(item)
        self._update_actions()

    def _on_current_item_changed(self, current, _previous) -> None:
        if current is not None:
            self.state.select(self.tree.indexOfTopLevelItem(current) - 1)
        self._update_actions()

    def _on_undo_index_changed(self, _index: int = 0) -> None:
        try:
            stack = self.state.undo_stack
            undo_text, redo_text = stack.undoText(), stack.redoText()
        except RuntimeError:  # the stack goes first when the window is torn down
            return
        self.undo_button.setToolTip(
            _("Undo {step} (Ctrl+Z)").format(step=undo_text).replace("  ", " "))
        self.redo_button.setToolTip(
            _("Redo {step} (Ctrl+Shift+Z)").format(step=redo_text).replace("  ", " "))
        self.undo_button.defaultAction().setIconText(UNDO_TEXT)
        self.redo_button.defaultAction().setIconText(REDO_TEXT)

    def _info(self, index: int, layer: LayerSpec) -> tuple[LayerInfo | None, bool]:
        """The inspection row for a layer and whether it is current (else an older fitting one)."""
        report = self.state.inspection
        if report is None or index >= len(report.layers):
            return None, False
        info = report.layers[index]
        if not self._stale:
            return info, True
        same = info.class_name == layer.class_name and info.summary == layer.summary()
        if same and tuple(report.input_shape) == tuple(self.state.spec.input_shape):
            return info, False
        return None, False

    def refresh(self) -> None:
        spec = self.state.spec
        tree = self.tree
        wanted = len(spec.layers) + 1
        tree.setUpdatesEnabled(False)
        tree.blockSignals(True)
        try:
            while tree.topLevelItemCount() > wanted:
                tree.takeTopLevelItem(tree.topLevelItemCount() - 1)
            while tree.topLevelItemCount() < wanted:
                QTreeWidgetItem(tree)
            fill_input_row(tree.topLevelItem(0), tuple(spec.input_shape))
            failed = False
            wiring = graph_labels(spec)
            for i, layer in enumerate(spec.layers):
                item = tree.topLevelItem(i + 1)
                info, current = self._info(i, layer)
                label = layer.summary() if wiring is None else \
                    f"{wiring[i][0]}: {layer.summary()}{wiring[i][1]}"
                failed = fill_layer_row(item, i, layer, label, info, current, failed,
                                        self.state.checking)
            problem = self.output_problem()
            if problem is not None:  # it stands at the last layer, whose output it is about
                mark_error(tree.topLevelItem(wanted - 1), problem.message)
            row = self.state.selected + 1
            if 0 <= row < wanted and tree.currentItem() is not tree.topLevelItem(row):
                tree.setCurrentItem(tree.topLevelItem(row))
        finally:
            tree.blockSignals(False)
            tree.setUpdatesEnabled(True)
        self.notices.show_totals(*totals_text(self.state, self._stale))
        report = self.state.inspection
        self.notices.show_model_error(
            report, self.output_problem() if report is not None and report.ok else None,
            self.state.spec.layers, self._stale)
        dataset = self.state.data.dataset
        self.notices.show_input_hint(None if dataset is None else tuple(dataset.input_shape),
                                     tuple(self.state.spec.input_shape))
        self._update_actions()

    def _update_actions(self) -> None:
        i = self.state.selected
        n = len(self.state.spec.layers)
        # In a graph the order follows the edges (edit them in the Graph tab).
        movable = not graph_edit.is_graph(self.state.spec.to_dict())
        self.up_action.setEnabled(movable and i > 0)
        self.down_action.setEnabled(movable and 0 <= i < n - 1)
        self.duplicate_action.setEnabled(0 <= i < n)
        self.delete_action.setEnabled(0 <= i < n)
