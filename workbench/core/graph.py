"""The graph a model spec describes: layer names, who takes whose output, topological order.

The contract (DESIGN.md, Graphs): a layer may carry ``"name"`` (unique) and ``"inbound"`` (the
names of the layers whose outputs it takes; ``"input"`` is the model's input). Without
``inbound`` a layer takes the previous layer (the first takes the input); merge layers take two
or more. The model's output is the last layer. A spec without any of this is a plain stack.

Everything here is plain Python over the spec's layers (anything with ``class_name``, ``name``,
``inbound`` and ``config``), so the graph view, the stack view, inspection, build and code
export all read one answer. Qt-free; no Keras.

- ``effective_names(layers)``: each layer's name (its own, or ``layer3_dense`` after its row).
- ``resolve(layers)``: the ``Node`` list in topological order, or ``SpecError`` naming the layer
  (duplicate names, a dangling inbound name, a cycle, a merge with one input, a layer that takes
  one input given two).
- ``consumers(nodes)``, ``unused(nodes)``: who takes each output; layers whose output reaches
  nothing (the output is the last layer).
- ``is_sequential(layers)``: every layer takes the one before it (a ``keras.Sequential``).
- ``fresh_name(class_name, taken)``: a new unique name such as ``conv2d_2`` for an edit.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.catalogue import EXACT_INPUTS, merges
from workbench.core.errors import SpecError
from workbench.i18n import N_, _

INPUT = "input"  # the model input's name in "inbound" lists
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
NAME_RULE = N_("a letter followed by up to 63 letters, digits, '_' or '-' (and not 'input', "
                "the model's input)")  # translated where shown


@dataclass(frozen=True)
class Node:
    """One layer as a graph node.

    ``index`` is its row in ``spec.layers``; ``name`` its own name or the automatic one;
    ``named`` whether the spec gives the name; ``inbound`` the names of what it takes, resolved
    (``("input",)`` for the first layer of a stack); ``config`` the layer's settings (the spec's
    own dict: read it, do not change it).
    """

    index: int
    name: str
    class_name: str
    config: dict[str, Any]
    inbound: tuple[str, ...]
    named: bool

    @property
    def merges(self) -> bool:
        return merges(self.class_name)


def snake(class_name: str) -> str:
    """``Conv2D`` → ``conv2d``, ``MaxPooling2D`` → ``max_pooling2d`` (Keras's own spelling)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", class_name).lower()


def auto_name(index: int, class_name: str) -> str:
    """The name of an unnamed layer: its row and class, ``layer3_dense`` (as the Keras layer
    built from it is called, so weights and activations speak of the rows the user sees)."""
    return f"layer{index + 1}_{snake(class_name)}"


def check_name(name: Any, where: str, index: int | None = None) -> str:
    """``name`` if it is a usable layer name, else SpecError saying the rule."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or name == INPUT:
        raise SpecError(_("{where}: the name {name!r} is not usable: use {name_rule}").format(
                            where=where, name=name, name_rule=_(NAME_RULE)), index)
    return name


def check_inbound(value: Any, where: str, index: int | None = None) -> list[str]:
    """A layer's ``inbound`` as a list of names, else SpecError."""
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v for v in value)):
        raise SpecError(_("{where}: \"inbound\" must be a list of layer names such as "
                          "[\"input\"] or [\"conv_a\", \"skip\"], got {value!r}").format(
                            where=where, value=value), index)
    return list(value)


def effective_names(layers: Sequence[Any]) -> list[str]:
    """Each layer's name: the one it carries, or ``auto_name`` after its row."""
    return [layer.name or auto_name(i, layer.class_name) for i, layer in enumerate(layers)]


def is_sequential(layers: Sequence[Any]) -> bool:
    """Whether every layer takes exactly the layer before it (the first: the input), with no
    merge: such a spec builds as a ``keras.Sequential``."""
    names = effective_names(layers)
    for i, layer in enumerate(layers):
        if merges(layer.class_name):
            return False
        before = INPUT if i == 0 else names[i - 1]
        if layer.inbound is not None and list(layer.inbound) != [before]:
            return False
    return True


def _where(index: int, layer: Any) -> str:
    named = f" {layer.name!r}" if layer.name else ""
    return f"layer {index + 1} ({layer.class_name}{named})"


def resolve(layers: Sequence[Any]) -> list[Node]:
    """The layers as nodes in topological order (ties keep the spec's order, so a stack stays in
    its order), or SpecError with one line naming the first layer at fault."""
    names = effective_names(layers)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise SpecError(_("{where}: the name {name!r} is already used by layer "
                              "{seen}; layer names must be unique").format(
                                where=_where(i, layers[i]), name=name,
                                seen=seen[name] + 1), i)
        seen[name] = i
    nodes: list[Node] = []
    for i, layer in enumerate(layers):
        where = _where(i, layer)
        inbound = tuple(layer.inbound) if layer.inbound is not None else (
            (INPUT,) if i == 0 else (names[i - 1],))
        for source in inbound:
            if source != INPUT and source not in seen:
                known = ", ".join([INPUT, *names]) if len(names) < 12 else f"{INPUT}, {names[0]}…"
                raise SpecError(_("{where}: it takes {source!r}, but no layer has that "
                                  "name (names: {known})").format(
                                    where=where, source=source, known=known), i)
            if source == names[i]:
                raise SpecError(_("{where}: it takes its own output; a layer cannot").format(
                                    where=where), i)
        if len(set(inbound)) != len(inbound):
            raise SpecError(_("{where}: it takes the same input twice ({inbound})").format(
                                where=where, inbound=', '.join(inbound)), i)
        exact = EXACT_INPUTS.get(layer.class_name)
        if merges(layer.class_name):
            if exact is not None and len(inbound) != exact:
                raise SpecError(_("{where}: {class_name} takes exactly {exact} inputs; "
                                  "it has {n_inbound} ({inbound})").format(
                                    where=where, class_name=layer.class_name,
                                    exact=exact, n_inbound=len(inbound),
                                    inbound=', '.join(inbound)), i)
            if len(inbound) < 2:
                raise SpecError(_("{where}: {class_name} merges two or more inputs; it "
                                  "has one ({inbound}): name them in its \"inbound\"").format(
                                    where=where, class_name=layer.class_name,
                                    inbound=inbound[0]), i)
        elif len(inbound) != 1:
            raise SpecError(_("{where}: {class_name} takes one input; it has "
                              "{n_inbound} ({inbound}): merge them first with Add, "
                              "Concatenate or another merge layer").format(
                                where=where, class_name=layer.class_name,
                                n_inbound=len(inbound), inbound=', '.join(inbound)), i)
        nodes.append(Node(i, names[i], layer.class_name, layer.config, inbound,
                          bool(layer.name)))
    return _topological(nodes, seen)


def _topological(nodes: list[Node], index_of: dict[str, int]) -> list[Node]:
    waiting = [sum(1 for s in n.inbound if s != INPUT) for n in nodes]
    takers = consumers(nodes)
    ready = [n.index for n in nodes if waiting[n.index] == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for taker in takers.get(node.name, ()):
            j = index_of[taker]
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(nodes):
        cycle = _find_cycle(nodes, {n.index for n in order}, index_of)
        first = nodes[index_of[cycle[0]]]
        raise SpecError(_("layer {index} ({class_name} {name!r}): {cycle} form a cycle; "
                          "a layer cannot take its own output, even through others").format(
                            index=first.index + 1, class_name=first.class_name,
                            name=first.name, cycle=' → '.join(map(repr, cycle))), first.index)
    return order


def _find_cycle(nodes: list[Node], done: set[int], index_of: dict[str, int]) -> list[str]:
    """One cycle among the nodes left over by the topological sort, as names (first = last)."""
    start = next(n for n in nodes if n.index not in done)
    path: list[str] = []
    node = start
    while node.name not in path:  # every leftover node has a leftover input: walk back
        path.append(node.name)
        node = next(nodes[index_of[s]] for s in node.inbound
                    if s != INPUT and index_of[s] not in done)
    cycle = path[path.index(node.name):][::-1]  # in the direction the data flows
    first = min(range(len(cycle)), key=lambda k: index_of[cycle[k]])
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


def consumers(nodes: Iterable[Node]) -> dict[str, list[str]]:
    """Name → the names of the layers that take its output (``"input"`` included)."""
    takers: dict[str, list[str]] = {}
    for node in nodes:
        for source in node.inbound:
            takers.setdefault(source, []).append(node.name)
    return takers


def unused(nodes: Sequence[Node]) -> list[Node]:
    """Nodes whose output never reaches the model's output (the last layer in the spec)."""
    if not nodes:
        return []
    by_name = {n.name: n for n in nodes}
    last = max(nodes, key=lambda n: n.index)
    reached = {last.name}
    todo = [last]
    while todo:
        for source in todo.pop().inbound:
            if source in by_name and source not in reached:
                reached.add(source)
                todo.append(by_name[source])
    return sorted((n for n in nodes if n.name not in reached), key=lambda n: n.index)


def fresh_name(class_name: str, taken: Iterable[str]) -> str:
    """A name for a new layer that no other layer uses: ``add``, ``add_1``, ``add_2`` …"""
    taken = set(taken) | {INPUT}
    base = snake(class_name)
    if base not in taken:
        return base
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def signature(input_shape: Sequence[int], layers: Sequence[Any]) -> dict[str, Any]:
    """What a model computes, whatever the row order or whether names are given or automatic:
    two specs with equal signatures build the same graph (``ModelSpec.same_graph``)."""
    nodes = resolve(layers)
    return {"input_shape": list(input_shape), "output": effective_names(layers)[-1],
            "nodes": {n.name: (n.class_name, n.config, n.inbound) for n in nodes}}
