"""The graph tab: a toolbar and context menus over the graph view, turning clicks into edits.

Add after, Branch and Merge each open the catalogue's layer types; Delete removes the selected
nodes or edges; dragging an edge's end onto another node reconnects it; a failing node's Fix
applies the inspection's repair. Every edit is a pure function of core/graph_edit.py on the spec,
pushed as one undoable step on the document (Ctrl+Z), so the stack and properties follow.

Run alone with ``python -m workbench.ui.graph.panel``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from PyQt5.QtCore import QSize, Qt
from PyQt5.QtWidgets import (
    QAction,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QPushButton,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core import graph_edit
from workbench.core.catalogue import by_category
from workbench.core.fixes import merge_partner
from workbench.core.graph_edit import GraphEditError
from workbench.core.spec import LayerSpec, ModelSpec, SpecError
from workbench.i18n import N_, _, ngettext
from workbench.ui.document import make_undo_actions
from workbench.ui.graph.items import EdgeItem, NodeItem
from workbench.ui.graph.view import GraphView, fix_of, fix_text
from workbench.ui.state import ProjectState

MERGE_HOW = N_("⊕ Merge: Ctrl+click 2")  # the Merge button while fewer than two layers are selected
NOTE_STYLE = "color: #555; padding: 2px 4px;"
REFUSED_STYLE = "color: #8a4b00; background: #fff3e0; border: 1px solid #f0c27b; padding: 3px;"
ERROR_STYLE = "color: #b3261e; background: #fde4e4; border: 1px solid #f2b8b5; padding: 3px;"
HINT = N_("Click a layer to select it, Ctrl+click to add one to the selection, double-click "
          "to rename it · drag the background to pan, wheel to zoom · right-click for more")


def merge_nodes(state: ProjectState, class_name: str, node: str | None = None) -> list[str]:
    """What the merge layer ``class_name`` asked for after ``node`` alone (default: the selected
    layer, or the input) would join: ``node`` and, where one fits, the nearest layer upstream of
    a shape it can take beside it (fixes.merge_partner: a skip connection)."""
    if node is None:
        names = graph_edit.layer_names(state.spec.to_dict())
        node = names[state.selected] if 0 <= state.selected < len(names) else graph_edit.INPUT
    shapes = {graph_edit.INPUT: tuple(state.spec.input_shape)}
    if state.inspection is not None and state.inspection_current:
        shapes.update({info.name: info.output_shape for info in state.inspection.layers})
    axis = LayerSpec.create(class_name).config.get("axis", -1)
    partner = merge_partner(state.spec, shapes, node, class_name, axis)
    return [partner, node] if partner else [node]


def _merge_types():
    return [t for types in by_category().values() for t in types if t.merges]


def _plain_types():
    return {category: [t for t in types if not t.merges]
            for category, types in by_category().items()}


class GraphPanel(QWidget):
    def __init__(self, state: ProjectState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("graphPanel")
        self.state = state
        self.view = GraphView(state, self)

        self.add_menu = self._layer_menu("graphAdd", self.add_after)
        self.branch_menu = self._layer_menu("graphBranch", self.branch)
        self.merge_menu = QMenu(self)
        for ltype in _merge_types():
            action = self.merge_menu.addAction(ltype.class_name)
            action.setObjectName(f"graphMerge_{ltype.class_name}")
            action.setToolTip(_(ltype.help))
            action.triggered.connect(lambda _=False, c=ltype.class_name: self.merge(c))
        self.delete_action = QAction(_("✕ Delete"), self, objectName="graphDeleteAction")
        self.delete_action.setToolTip(_("Delete the selected layers or edges (Delete)"))
        self.delete_action.triggered.connect(self.delete_selected)
        self.fit_action = QAction(_("Fit"), self, objectName="graphFitAction")
        self.fit_action.setToolTip(_("Show the whole graph"))
        self.fit_action.triggered.connect(self.view.fit)

        # A tool bar: in a narrow window what does not fit goes under its » button.
        tools = QToolBar(self, objectName="graphToolBar")
        tools.setIconSize(QSize(1, 1))
        self.buttons: dict[str, QToolButton] = {}
        for key, text, menu, tip in (
            ("add", N_("+ Add after"), self.add_menu,
             N_("Insert a layer after the selected one (what took its output takes the new "
                "one)")),
            ("branch", N_("↳ Branch"), self.branch_menu,
             N_("Start a new branch from the selected layer (connect it into a merge later)")),
            ("merge", MERGE_HOW, self.merge_menu,
             N_("Join the selected layers (Ctrl+click two or more) with Add, Concatenate, …")),
        ):
            button = QToolButton(self, objectName=f"graph{key.title()}Button")
            button.setText(_(text))
            button.setToolTip(_(tip))
            button.setMenu(menu)
            button.setPopupMode(QToolButton.InstantPopup)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            tools.addWidget(button)
            self.buttons[key] = button
        for action in (self.delete_action, self.fit_action):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setObjectName(f"{action.objectName()}Button")
            tools.addWidget(button)
        tools.addSeparator()
        # Undo and redo of the document (the keys are the window's Edit menu's: Ctrl+Z).
        undo_redo = make_undo_actions(state, self, keys=False)  # refused while a run trains
        for name, action in zip(("graphUndoButton", "graphRedoButton"), undo_redo, strict=True):
            button = QToolButton(self, objectName=name)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            tools.addWidget(button)
            self.buttons[name] = button
        state.undo_stack.indexChanged.connect(self._on_undo_index_changed)
        self._on_undo_index_changed()
        # Keras's answer for the newest edit is slow in coming: the nodes show the last one.
        self.checking_label = QLabel("", self, objectName="graphChecking")
        self.checking_label.setStyleSheet("color: #888; padding: 0 6px;")
        self.checking_label.setToolTip(_("Keras is checking the edited model; the shapes "
                                         "shown are from before the edit"))
        tools.addWidget(self.checking_label)
        state.checking_changed.connect(self._on_checking_changed)
        self._on_checking_changed(state.checking)  # (built late by the main window)

        self.message = QLabel(_(HINT), self, objectName="graphMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(NOTE_STYLE)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.fix_button = QPushButton(_("Fix"), self, objectName="graphFixButton")
        self.fix_button.clicked.connect(lambda: self.apply_fix(self.view.current_name()))
        self.fix_button.hide()
        # A merge layer asked for where it cannot go (the palette): offered here in one click.
        self.offer_button = QPushButton("", self, objectName="graphOfferButton")
        self.offer_button.clicked.connect(lambda: self.merge(self._offer))
        self.offer_button.hide()
        self._offer = ""
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.fix_button, 0, Qt.AlignTop)
        bottom.addWidget(self.offer_button, 0, Qt.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(tools)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

        self._refused = ""
        self.view.fix_requested.connect(self.apply_fix)
        self.view.edge_dropped.connect(self.drop_edge)
        self.view.delete_requested.connect(self.delete_selected)
        self.view.rename_requested.connect(self.ask_rename)
        self.view.layer_dropped.connect(self.add_after_node)
        self.view.context_requested.connect(self._on_context_requested)
        self.view.scene().selectionChanged.connect(self._update_actions)
        self.view.scene().selectionChanged.connect(self._on_scene_selection_changed)
        self.view.redrawn.connect(self._update_message)
        self.view.redrawn.connect(self._update_actions)
        state.selection_changed.connect(self._on_selection_changed)
        state.editable_changed.connect(self._on_editable_changed)
        self._on_editable_changed(state.editable)

    def _layer_menu(self, prefix: str, slot: Callable[[str], None]) -> QMenu:
        menu = QMenu(self)
        for category, types in _plain_types().items():
            if not types:
                continue
            sub = menu.addMenu(_(category))
            for ltype in types:
                action = sub.addAction(ltype.class_name)
                action.setObjectName(f"{prefix}_{ltype.class_name}")
                action.setToolTip(_(ltype.help))
                action.triggered.connect(lambda _=False, c=ltype.class_name: slot(c))
        return menu

    def action(self, name: str) -> QAction:
        """The menu action of that object name (``graphAdd_Conv2D``, ``graphMerge_Add``)."""
        found = self.findChild(QAction, name)
        if found is None:
            raise KeyError(name)
        return found

    # Edits ----------------------------------------------------------------------------------------

    def _edit(self, text: str, edit, *args) -> bool:
        """Apply ``edit(spec_dict, *args)`` as one undoable step; say why when it cannot be."""
        if not self.state.editable:
            self._say(_("Not changed: {reason}").format(reason=self.state.not_editable_reason))
            return False
        try:
            data, index = edit(self.state.spec.to_dict(), *args)
            spec = ModelSpec.from_dict(data)
        except (GraphEditError, SpecError) as exc:
            self._say(_("Not changed: {reason}").format(reason=_(str(exc))))
            return False
        self._refused = self._offer = ""
        self.state.set_model(spec, text, selection=index)
        return True

    @staticmethod
    def _new_layer(class_name: str) -> dict:
        return LayerSpec.create(class_name).to_dict()

    def add_after(self, class_name: str) -> bool:
        return self.add_after_node(class_name, self.view.current_name())

    def add_after_node(self, class_name: str, node: str) -> bool:
        if graph_edit.is_merge(class_name):  # it needs a second input: offer one
            self.offer_merge(class_name, merge_nodes(self.state, class_name, node))
            return False
        return self._edit(_("Add {name}").format(name=class_name), graph_edit.add_after, node,
                          self._new_layer(class_name))

    def branch(self, class_name: str) -> bool:
        return self._edit(_("Branch {name}").format(name=class_name), graph_edit.branch,
                          self.view.current_name(), self._new_layer(class_name))

    def merge(self, class_name: str) -> bool:
        names = self.view.selected_names()
        return self._edit(_("Merge with {name}").format(name=class_name), graph_edit.merge, names,
                          self._new_layer(class_name))

    def offer_merge(self, class_name: str, names: list[str]) -> None:
        """Select ``names`` and offer to join the selection with ``class_name`` in one click
        (a merge layer picked in the palette, or dropped on one node)."""
        names = [n for n in names if n in self.view.nodes]
        if names:
            self.view.select_names(names)
        self._refused, self._offer = "", class_name
        self._update_message()

    def connect_into(self, source: str, target: str) -> bool:
        return self._edit(_("Connect"), graph_edit.connect, source, target)

    def rename(self, old: str, new: str) -> bool:
        return self._edit(_("Rename {name}").format(name=old), graph_edit.rename, old,
                          new.strip())

    def ask_rename(self, old: str) -> bool:
        """Rename a layer (the layers that take it follow); its name is what the weights and
        activations views, sweeps (``LAYER.param``) and the exported script call it."""
        new, ok = QInputDialog.getText(self, _("Rename layer"),
                                       _("New name for {name}:").format(name=old), text=old)
        return bool(ok and new.strip() and new.strip() != old and self.rename(old, new))

    def drop_edge(self, source: str, target: str, end: str, node: str) -> bool:
        if end == "source":
            return self._edit(_("Reconnect"), graph_edit.reconnect, target, source, node)
        return self._edit(_("Reconnect"), graph_edit.retarget, source, target, node)

    def delete_selected(self) -> bool:
        edges = self.view.selected_edges()
        names = [n for n in self.view.selected_names() if n != graph_edit.INPUT]
        if not edges and not names:
            return False

        def delete(spec: dict) -> tuple[dict, int]:
            index = -1
            for source, target in edges:
                spec, index = graph_edit.delete_edge(spec, source, target)
            for name in names:
                spec, index = graph_edit.delete_node(spec, name)
            return spec, index

        what = ngettext("{count} edge", "{count} edges", len(edges)).format(count=len(edges)) \
            if edges and not names else ", ".join(names) or _("edges")
        return self._edit(_("Delete {what}").format(what=what), delete)

    def apply_fix(self, name: str) -> bool:
        """Apply the inspection's repair for node ``name`` (what the node's Fix button does)."""
        report = self.state.inspection
        item = self.view.nodes.get(name)
        if report is None or item is None or not 0 <= item.data.index < len(report.layers):
            return False
        index = item.data.index
        fix = fix_of(report.layers[index])
        if fix is None:
            return False
        return self._edit(fix_text(fix), lambda _spec: (fix.apply(self.state.spec).to_dict(),
                                                       index))

    # Menus and messages --------------------------------------------------------------------------

    def context_menu(self, item) -> QMenu:
        """The right-click menu for a node, an edge or the background (``item`` None)."""
        menu = QMenu(self)
        menu.setObjectName("graphContextMenu")
        if isinstance(item, NodeItem):
            menu.addMenu(self.add_menu).setText(_("Add after"))
            menu.addMenu(self.branch_menu).setText(_("Branch from here"))
            merge = menu.addMenu(self.merge_menu)
            merge.setText(_("Merge selected"))
            merge.setEnabled(len(self.view.selected_names()) >= 2)
            targets = [n for n in self.view.nodes.values()
                       if n.data.index >= 0 and graph_edit.is_merge(n.data.title)
                       and n is not item]
            if targets:
                into = menu.addMenu(_("Connect into"))
                for target in targets:
                    action = into.addAction(f"{target.data.title} {target.data.name}")
                    action.setObjectName(f"graphConnect_{target.data.name}")
                    action.triggered.connect(
                        lambda _=False, s=item.data.name, t=target.data.name:
                        self.connect_into(s, t))
            if item.data.index >= 0:
                menu.addSeparator()
                rename = menu.addAction(_("Rename…"))
                rename.setObjectName("graphRenameAction")
                rename.triggered.connect(lambda _=False, n=item.data.name: self.ask_rename(n))
                menu.addAction(self.delete_action)
        elif isinstance(item, EdgeItem):
            delete = menu.addAction(_("Delete edge"))
            delete.setObjectName("graphDeleteEdge")
            delete.triggered.connect(self.delete_selected)
        menu.addSeparator()
        menu.addAction(self.fit_action)
        return menu

    def _on_context_requested(self, pos, item) -> None:
        menu = self.context_menu(item)
        menu.exec_(pos)
        menu.deleteLater()

    def _on_selection_changed(self, _index: int) -> None:
        self._refused = ""  # a refusal is about the selection it was made on
        self._update_message()

    def _say(self, text: str) -> None:
        self._refused = text
        self.state.edit_refused.emit(text)
        self._update_message()

    def _on_scene_selection_changed(self) -> None:
        if self._offer:
            self._update_message()

    def _offer_text(self) -> str:
        picked = self.view.selected_names()
        shown = _(" and ").join(f"{n} {self.view.nodes[n].data.shape}" for n in picked)
        self.offer_button.setText(_("⊕ Merge with {name}").format(name=self._offer))
        self.offer_button.setEnabled(self.state.editable and len(picked) >= 2)
        if len(picked) >= 2:
            return _("{name} joins {shown} (a skip connection): click “⊕ Merge with {name}”, "
                     "or Ctrl+click to change which layers it joins").format(name=self._offer,
                                                                            shown=shown)
        return _("{name} joins two or more layers: Ctrl+click the layer(s) to join with "
                 "{shown}, then “⊕ Merge with {name}”").format(
                     name=self._offer, shown=shown or _("the selected one"))

    def _update_message(self) -> None:
        item = self.view.nodes.get(self.view.current_name())
        error = item.data.error if item is not None else ""
        self.offer_button.setVisible(bool(self._offer) and not self._refused)
        if self._refused:
            self.message.setText(self._refused)
            self.message.setStyleSheet(REFUSED_STYLE)
            self.fix_button.hide()
        elif self._offer:
            self.message.setText(self._offer_text())
            self.message.setStyleSheet(NOTE_STYLE)
            self.fix_button.hide()
        elif error:
            self.message.setText(f"⚠ {item.data.title} {item.data.name}: {error}")
            self.message.setStyleSheet(ERROR_STYLE)
            self.fix_button.setVisible(bool(item.data.fix_text))
            self.fix_button.setText(item.data.fix_text or _("Fix"))
        else:
            self.message.setText(_(HINT))
            self.message.setStyleSheet(NOTE_STYLE)
            self.fix_button.hide()

    def _update_actions(self) -> None:
        nodes = self.view.selected_names()
        merge = self.buttons["merge"]
        merge.setEnabled(self.state.editable and len(nodes) >= 2)
        # How to enable it, on it: users found Ctrl+click only by chance.
        merge.setText(_("⊕ Merge {count}").format(count=len(nodes)) if len(nodes) >= 2
                      else _(MERGE_HOW))
        removable = [n for n in nodes if n != graph_edit.INPUT] or self.view.selected_edges()
        self.delete_action.setEnabled(self.state.editable and bool(removable))

    def _on_undo_index_changed(self, _index: int = 0) -> None:
        # QUndoStack rewrites the actions' texts ("Undo Add Dense"); keep the buttons short.
        try:
            for name, text in (("graphUndoButton", _("↶ Undo")),
                               ("graphRedoButton", _("↷ Redo"))):
                self.buttons[name].defaultAction().setIconText(text)
        except RuntimeError:  # the stack goes first when the window is torn down
            pass

    def _on_checking_changed(self, checking: bool) -> None:
        self.checking_label.setText(_("checking…") if checking else "")

    def retranslate(self) -> None:
        """After Help ▸ Language: the layer menus and the texts built from the state."""
        self._update_message()
        self._update_actions()
        self._on_undo_index_changed()

    def _on_editable_changed(self, editable: bool) -> None:
        for key in ("add", "branch"):
            self.buttons[key].setEnabled(editable)
        self.fix_button.setEnabled(editable)
        self._update_actions()


def main() -> int:
    """Open the graph view alone, on the default template."""
    from workbench.ui.application import run_panel

    return run_panel(GraphPanel, _("Model graph"), (700, 820))


if __name__ == "__main__":
    sys.exit(main())
