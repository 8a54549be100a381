"""One-click repairs for a layer that cannot work, and the words for merges that do not fit.

A ``Fix`` is what the builder's "fix" button does: insert a layer on one of the failing layer's
inputs (a Reshape before a Conv2D that gets a vector, a Flatten before the first Dense, a 1×1
Conv2D that matches a skip connection's channels, a Flatten before a Concatenate), or change a
setting of a layer upstream (``padding="same"`` on a convolution that shrank one branch).
``Fix.apply(spec)`` returns the repaired spec; the spec given is not changed. And for a merge
layer asked for after one layer alone (the palette's Add on a stack): ``merge_partner``, the
layer it would join it with, and ``merge_hint``, where merges are made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from workbench.core.catalogue import merges
from workbench.core.graph import INPUT, Node, fresh_name
from workbench.core.spec import LayerSpec, ModelSpec, SpecError
from workbench.i18n import _


@dataclass(frozen=True)
class Fix:
    """A repair of layer ``index`` (its row in ``spec.layers``), described by ``text``.

    Either ``layer`` is inserted on the edge from ``source`` into layer ``index`` (``source``
    None: its only input; in a plain stack that is an insert before the row), or layer
    ``target`` gets the settings in ``changes``.
    """

    text: str
    index: int
    layer: LayerSpec | None = None
    source: str | None = None
    target: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short button label: "Insert Reshape to fix", "Insert Conv2D on 'skip'"."""
        if self.layer is None:
            what = ", ".join(f"{k} {v!r}" for k, v in self.changes.items())
            return _("Set {what} on layer {target}").format(
                       what=what, target=(self.target or 0) + 1)
        if self.source is None:
            return _("Insert {class_name} to fix").format(
                       class_name=self.layer.class_name)
        return f"Insert {self.layer.class_name} on {self.source!r}"

    def apply(self, spec: ModelSpec) -> ModelSpec:
        """The repaired spec (a new one)."""
        if self.layer is None:
            fixed = spec.copy()
            fixed.layers[self.target].config.update(self.changes)
            return fixed
        new = LayerSpec.from_dict(self.layer.to_dict())
        # A stack (nobody names what it takes): an insert before the row keeps it a stack.
        if self.source is None and all(layer.inbound is None for layer in spec.layers):
            fixed = spec.copy()
            fixed.layers.insert(self.index, new)
            return fixed
        # A graph: freeze every name (rows are about to move), put the new layer on the edge.
        fixed = spec.named()
        taker = fixed.layers[self.index]
        source = self.source if self.source is not None else taker.inbound[0]
        new.name = new.name or fresh_name(new.class_name, fixed.names())
        new.inbound = [source]
        taker.inbound = [new.name if s == source else s for s in taker.inbound]
        fixed.layers.insert(self.index, new)
        return fixed


def insert_fix(index: int, layer: LayerSpec, text: str | None = None,
               source: str | None = None) -> Fix:
    where = f" on {source!r}" if source is not None else ""
    return Fix(text or _("Insert {class_name}{where} to fix").format(
                           class_name=layer.class_name, where=where), index, layer, source)


def reshape_fix(index: int, layer: LayerSpec, incoming) -> Fix | None:
    """A Reshape whose target no longer holds its input (the input became (32, 32) or
    (32, 32, 3); the target is still (28, 28, 1)): the input's shape with the target's trailing
    1s, the input's own shape where the target has its rank, all its values where it is flat."""
    if layer.class_name != "Reshape" or incoming is None or None in tuple(incoming):
        return None
    target, incoming = tuple(layer.config.get("target_shape") or ()), tuple(incoming)
    tail = target[len(incoming):]
    if len(target) > len(incoming) and all(d == 1 for d in tail):
        new, why = incoming + tail, _("Reshape to {new}: the input it reshapes is {incoming}")
    elif len(target) == len(incoming):
        new, why = incoming, _("Reshape to {new}: its input {incoming} already has that rank")
    elif len(target) == 1:
        new, why = (math.prod(incoming),), _("Reshape to {new}: all the values of its input "
                                             "{incoming}")
    else:
        return None
    if new == target:
        return None
    return Fix(why.format(new=_shape_text(new), incoming=_shape_text(incoming)),
               index, target=index, changes={"target_shape": list(new)})


def _shape_text(shape) -> str:
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def explain_merge(node: Node, shapes: dict[str, tuple], nodes: dict[str, Node],
                  spec: ModelSpec) -> tuple[str, Fix | None]:
    """Why merge ``node`` cannot join its inputs (their shapes ``shapes[name]``, without the
    batch axis) and the obvious repair, if there is one."""
    got = " and ".join(f"{_shape_text(shapes[s])} from {s!r}" for s in node.inbound)
    if node.class_name == "Concatenate":
        axis = node.config.get("axis", -1)
        text = (_("Concatenate needs inputs whose shapes match except along axis "
                  "{axis}; it gets {got}.").format(axis=axis, got=got))
    else:
        text = _("{class_name} needs inputs of the same shape; it gets {got}.").format(
                   class_name=node.class_name, got=got)
    fix = _merge_fix(node, shapes, nodes, spec)
    if fix is not None:
        text += f" {fix.text}."
    return text, fix


def _merge_fix(node: Node, shapes: dict[str, tuple], nodes: dict[str, Node],
               spec: ModelSpec) -> Fix | None:
    inbound = list(node.inbound)
    ranks = {s: len(shapes[s]) for s in inbound}
    if len(set(ranks.values())) > 1:
        if node.class_name != "Concatenate" or min(ranks.values()) != 1:
            return None
        source = next(s for s in inbound if ranks[s] > 1)  # one at a time, the first
        return insert_fix(node.index, LayerSpec.create("Flatten"),
                          _("Insert Flatten on {source!r} (its {shape_text} becomes a "
                            "vector) before the Concatenate").format(
                              source=source, shape_text=_shape_text(shapes[source])), source)
    if any(r != 3 for r in ranks.values()):
        return None
    sizes = {s: tuple(shapes[s][:2]) for s in inbound}
    if len(set(sizes.values())) > 1:
        small = min(inbound, key=lambda s: math.prod(d or 1 for d in sizes[s]))
        culprit = _valid_conv_upstream(small, node, nodes, spec)
        if culprit is not None:
            other = nodes[culprit]
            return Fix(_("Set padding 'same' on {name!r} (layer {index}) so that it "
                         "keeps the image size").format(
                           name=other.name, index=other.index + 1), node.index, target=other.index,
                       changes={"padding": "same"})
        if node.class_name == "Concatenate":
            source = next(s for s in inbound if sizes[s] != sizes[small])
            return insert_fix(node.index, LayerSpec.create("Flatten"),
                              _("Insert Flatten on {source!r} before the Concatenate "
                                "(and on the other image inputs)").format(source=source), source)
        big = max(inbound, key=lambda s: math.prod(d or 1 for d in sizes[s]))
        stride = _stride(sizes[big], sizes[small])
        if stride is None:
            return None
        filters = shapes[small][2]
        conv = LayerSpec.create("Conv2D", filters=filters, kernel_size=[1, 1],
                                strides=[stride, stride], activation="linear")
        return insert_fix(node.index, conv,
                          _("Insert a 1×1 Conv2D with {filters} filters and strides "
                            "{stride} on {big!r} (a projection shortcut) to match "
                            "{small!r}").format(
                              filters=filters, stride=stride, big=big, small=small), big)
    channels = {s: shapes[s][2] for s in inbound}
    if node.class_name == "Concatenate" or len(set(channels.values())) < 2:
        return None
    target = max(channels.values())
    source = next(s for s in inbound if channels[s] != target)
    conv = LayerSpec.create("Conv2D", filters=target, kernel_size=[1, 1], activation="linear")
    return insert_fix(node.index, conv, _("Insert a 1×1 Conv2D with {target} filters on "
                                          "{source!r} to match the channels").format(
                                            target=target, source=source), source)


def _stride(big: tuple, small: tuple) -> int | None:
    """The stride r of a 1×1 convolution that turns an image of size ``big`` into ``small``."""
    if None in big or None in small or small[0] < 1:
        return None
    r = big[0] // small[0]
    if r >= 2 and all(math.ceil(b / r) == s for b, s in zip(big, small)):
        return r
    return None


def _valid_conv_upstream(start: str, merge: Node, nodes: dict[str, Node],
                         spec: ModelSpec) -> str | None:
    """The nearest Conv2D with padding 'valid', a kernel larger than 1 and stride 1 on the chain
    of single-input layers that leads from ``start`` back to where the branches split."""
    others = _ancestors([s for s in merge.inbound if s != start], nodes)
    name = start
    while name != INPUT and name not in others:
        node = nodes[name]
        config = node.config
        if (node.class_name == "Conv2D" and config.get("padding", "valid") == "valid"
                and max(config.get("kernel_size") or [1]) > 1
                and list(config.get("strides") or [1, 1]) == [1, 1]):
            return name
        if len(node.inbound) != 1:
            return None
        name = node.inbound[0]
    return None


def _ancestors(names: list[str], nodes: dict[str, Node]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name == INPUT:
            continue
        seen.add(name)
        todo.extend(nodes[name].inbound)
    return seen


def merge_hint(class_name: str) -> str:
    """Why a merge layer is not added to a stack as one more row, and where to add it."""
    return (_("{class_name} joins two or more layers, which a plain stack cannot show: "
              "in the Graph tab, select them (click one, Ctrl+click the others) and "
              "choose ⊕ Merge ▸ {class_name}").format(class_name=class_name))


def merge_partner(spec: ModelSpec, shapes: dict[str, tuple | None], node: str,
                  class_name: str, axis: int = -1) -> str | None:
    """The layer to join ``node`` with when a merge layer is asked for after it alone (the
    palette's Add on a plain stack): the nearest layer upstream (or the input) whose output the
    merge can take beside ``node``'s: the same shape for Add, Multiply, ...; the same but along
    ``axis`` for Concatenate. That makes the skip connection of a residual block (``node`` plus
    what fed the layers before it). ``shapes``: each name's output shape (without the batch
    axis, the input's under ``"input"``); None when nothing fits."""
    mine = shapes.get(node)
    if mine is None or not merges(class_name):
        return None
    try:
        inbound = {n.name: list(n.inbound) for n in spec.graph()}
    except SpecError:
        return None
    if node != INPUT and node not in inbound:
        return None

    def fits(shape) -> bool:
        if shape is None or len(shape) != len(mine):
            return False
        if class_name != "Concatenate":
            return tuple(shape) == tuple(mine)
        along = axis % len(mine) if -len(mine) <= axis < len(mine) else None
        return along is not None and all(a == b for i, (a, b) in enumerate(zip(shape, mine))
                                         if i != along)

    seen, todo = {node}, list(inbound.get(node, []))
    while todo:  # breadth first: the nearest upstream first
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        if fits(shapes.get(name)):
            return name
        todo += inbound.get(name, [])
    return None
