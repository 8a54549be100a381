"""The document's undoable model edits: each changes a copy of the spec and pushes the before and
after snapshots onto the undo stack as one ``QUndoCommand`` (edits of one parameter merge).

``ModelEdits`` is a part of ``Document`` (ui/document.py), which brings the project, the undo
stack, the signals and the refusal of edits while the model is not editable.
"""

from __future__ import annotations

from typing import Any

from PyQt5.QtWidgets import QUndoCommand

from workbench.core.spec import LayerSpec, ModelSpec
from workbench.i18n import N_, _


class _ModelEdit(QUndoCommand):
    """Swap the whole model spec between two snapshots; edits of one parameter merge."""

    def __init__(self, document: ModelEdits, before: dict, after: dict, text: str,
                 merge_key: Any = None, selection: int | None = None):
        super().__init__(text)
        self._document = document
        self._before = before
        self._after = after
        self._merge_key = merge_key
        self._selection = selection

    def id(self) -> int:
        return 1 if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        if not isinstance(other, _ModelEdit) or other._merge_key != self._merge_key:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._document._apply_model(self._after, self._selection)

    def undo(self) -> None:
        self._document._apply_model(self._before, self._selection)



class ModelEdits:
    """The layer and input-shape edits of ``Document``, each one undoable step."""

    def _snapshot(self) -> dict:
        return {"model": self.spec.to_dict(), "name": self.project.name,
                "description": self.project.description}

    def _push_model(self, mutate, text: str, merge_key: Any = None,
                    selection: int | None = None, rename: str | None = None) -> None:
        """``mutate`` a copy of the spec; ``rename`` also names the project (one undo step)."""
        if self._refuse():
            return
        before = self._snapshot()
        draft = ModelSpec.from_dict(before["model"])
        mutate(draft)
        after = {**before, "model": draft.to_dict()}
        if rename is not None:
            after.update(name=rename, description="")
        try:  # an edit that leaves no graph (a merge with one input, a dangling name) is refused
            ModelSpec.from_dict(after["model"])
        except ValueError as exc:
            self.edit_refused.emit(_("Not changed: {reason}").format(reason=exc))
            return
        if after != before:
            self.undo_stack.push(_ModelEdit(self, before, after, text, merge_key, selection))

    def _apply_model(self, data: dict, selection: int | None) -> None:
        self.project.model = ModelSpec.from_dict(data["model"])
        self.project.name, self.project.description = data["name"], data["description"]
        if selection is not None:
            self.selected = min(selection, len(self.spec.layers) - 1)
        elif self.selected >= len(self.spec.layers):
            self.selected = len(self.spec.layers) - 1
        self.model_changed.emit()
        self.selection_changed.emit(self.selected)

    def _graph_edit(self, edit, *args, text: str) -> bool:
        """A core/graph_edit.py edit of the spec as one undoable step (False, and
        ``edit_refused``, when it cannot be done)."""
        from workbench.core.graph_edit import GraphEditError

        try:
            data, index = edit(self.spec.to_dict(), *args)
            spec = ModelSpec.from_dict(data)
        except (GraphEditError, ValueError) as exc:
            self.edit_refused.emit(_("Not changed: {reason}").format(reason=exc))
            return False
        self.set_model(spec, text, selection=index)
        return True

    def _is_graph(self) -> bool:
        from workbench.core.graph_edit import is_graph

        return is_graph(self.spec.to_dict())

    def insert_layer(self, index: int, layer: LayerSpec) -> None:
        index = max(0, min(index, len(self.spec.layers)))
        from workbench.core import graph_edit
        from workbench.core.fixes import merge_hint

        if graph_edit.is_merge(layer.class_name):  # one more row would give it one input
            self.edit_refused.emit(
                _("Not added: {reason}").format(reason=merge_hint(layer.class_name)))
            return
        if self._is_graph():  # in a graph: after the row above (what took it takes the new one)
            names = graph_edit.layer_names(self.spec.to_dict())
            after = names[index - 1] if index > 0 else graph_edit.INPUT
            data = {k: v for k, v in layer.to_dict().items() if k not in ("name", "inbound")}
            self._graph_edit(graph_edit.add_after, after, data,
                             text=_("Add {name}").format(name=layer.class_name))
            return
        self._push_model(lambda s: s.layers.insert(index, layer),
                         _("Add {name}").format(name=layer.class_name), selection=index)

    def remove_layer(self, index: int) -> None:
        if 0 <= index < len(self.spec.layers):
            name = self.spec.layers[index].class_name
            if self._is_graph():  # what took it takes its input (graph_edit.delete_node)
                from workbench.core import graph_edit

                node = graph_edit.layer_names(self.spec.to_dict())[index]
                self._graph_edit(graph_edit.delete_node, node,
                                 text=_("Delete {what}").format(what=name))
                return
            self._push_model(lambda s: s.layers.pop(index), _("Delete {what}").format(what=name),
                             selection=max(0, min(index, len(self.spec.layers) - 2)))

    def duplicate_layer(self, index: int) -> None:
        if 0 <= index < len(self.spec.layers):
            data = {k: v for k, v in self.spec.layers[index].to_dict().items()
                    if k not in ("name", "inbound")}  # a copy of the settings, not the name
            self.insert_layer(index + 1, LayerSpec.from_dict(data))

    def move_layer(self, source: int, target: int) -> None:
        n = len(self.spec.layers)
        if not (0 <= source < n and 0 <= target < n) or source == target:
            return
        if self._is_graph():  # rows follow the edges (and the last one is the output)
            self.edit_refused.emit(_("Not changed: in a graph the order follows the edges; "
                                     "reconnect them in the Graph tab"))
            return

        def move(s: ModelSpec):
            s.layers.insert(target, s.layers.pop(source))

        self._push_model(move, _("Move {name}").format(name=self.spec.layers[source].class_name),
                         selection=target)

    def set_layer_param(self, index: int, name: str, value: Any) -> None:
        """Set one parameter; consecutive edits of the same parameter undo as one step."""
        if not 0 <= index < len(self.spec.layers):
            return

        def change(s: ModelSpec):
            s.layers[index].config[name] = value

        layer = self.spec.layers[index]
        self._push_model(change, f"{layer.class_name} {name}", merge_key=(index, name),
                         selection=index)

    def replace_layer(self, index: int, layer: LayerSpec) -> None:
        def change(s: ModelSpec):
            s.layers[index] = layer

        self._push_model(change, _("Change {name}").format(name=layer.class_name), selection=index)

    def set_input_shape(self, shape: tuple[int, ...]) -> None:
        def change(s: ModelSpec):
            s.input_shape = tuple(shape)

        self._push_model(change, _("Input shape"), merge_key="input_shape")

    def set_model(self, spec: ModelSpec, text: str = N_("Replace model"),
                  selection: int | None = None) -> None:
        """Replace the whole model (a graph edit, a fix) as one undoable step."""
        self._push_model(lambda s: (s.layers.clear(), s.layers.extend(spec.copy().layers),
                                    setattr(s, "input_shape", tuple(spec.input_shape))), _(text),
                         selection=selection)

    def clear_model(self) -> None:
        """Remove every layer (the input stays). The project's name and description went with
        the model they described (a template's title), so they go too; undo brings all back."""
        self._push_model(lambda s: s.layers.clear(), _("Clear model"), rename="")
