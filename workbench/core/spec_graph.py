"""A model spec (``ModelSpec.to_dict()``) read as nodes with explicit edges, and written back.

The graph contract (DESIGN.md): a layer may carry a unique ``"name"`` and ``"inbound": [names]``;
without ``inbound`` it takes the previous layer (the first takes the model input, ``"input"``);
merge layers take two or more inbound names; the model output is the last layer.

Written back (in topological order, the output last), a layer keeps ``inbound`` only where it is
not simply the layer before, and ``name`` only where it had one or another layer refers to it, so
a sequential spec stays exactly sequential. An unnamed layer is called after its row
(``layer3_dense``, as core/graph.py does); a new layer gets a fresh name (``conv2d``,
``conv2d_1``, ...). A node is a layer's name or ``"input"``; what cannot be done raises
``GraphEditError`` with one readable line. The edits themselves are in core/graph_edit.py.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field
from typing import Any

from workbench.core.catalogue import EXACT_INPUTS, merges
from workbench.core.graph import INPUT, auto_name, fresh_name
from workbench.i18n import _


class GraphEditError(ValueError):
    """Why an edit of the graph cannot be done, in one line."""


def is_merge(class_name: str) -> bool:
    return merges(class_name)


def max_inputs(class_name: str) -> int | None:
    return EXACT_INPUTS.get(class_name) if merges(class_name) else 1


@dataclass
class SpecNode:
    name: str
    layer: dict[str, Any]  # the layer dict without "name" and "inbound"
    inbound: list[str]
    key: float  # where it goes in the written order, ties broken by the graph's edges
    named: bool = False  # carried a name of its own (kept when written back)


@dataclass
class SpecGraph:
    """The layers of a spec by name, each with its inputs, and the model output."""

    input_shape: Any
    nodes: dict[str, SpecNode] = field(default_factory=dict)
    output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other keys of the spec, kept as they are

    # Reading ------------------------------------------------------------------------------------

    @classmethod
    def read(cls, spec: dict[str, Any]) -> SpecGraph:
        layers = spec.get("layers") or []
        graph = cls(copy.deepcopy(spec.get("input_shape")),
                    extra={k: copy.deepcopy(v) for k, v in spec.items()
                           if k not in ("input_shape", "layers")})
        names = layer_names(spec)
        for i, (item, name, inbound) in enumerate(zip(layers, names, inbound_names(spec))):
            layer = {k: copy.deepcopy(v) for k, v in item.items() if k not in ("name", "inbound")}
            graph.nodes[name] = SpecNode(name, layer, inbound, float(i),
                                      named=isinstance(item.get("name"), str))
        for node in graph.nodes.values():
            for source in node.inbound:
                if source != INPUT and source not in graph.nodes:
                    raise GraphEditError(_("layer {name!r} takes {source!r}, which is "
                                           "not a layer of this model").format(
                                             name=node.name, source=source))
        graph.output = names[-1] if names else None
        return graph

    # Queries ------------------------------------------------------------------------------------

    def node(self, name: str) -> SpecNode:
        if name not in self.nodes:
            raise GraphEditError(_("there is no layer named {name!r}").format(name=name))
        return self.nodes[name]

    def check_source(self, name: str) -> None:
        if name != INPUT:
            self.node(name)

    def consumers(self, name: str) -> list[SpecNode]:
        return [n for n in self.nodes.values() if name in n.inbound]

    def key(self, name: str) -> float:
        return -1.0 if name == INPUT else self.nodes[name].key

    def descends(self, name: str, ancestor: str) -> bool:
        """True when ``name`` is ``ancestor`` or is fed by it, directly or not."""
        stack, seen = [name], set()
        while stack:
            current = stack.pop()
            if current == ancestor:
                return True
            if current in seen or current == INPUT:
                continue
            seen.add(current)
            stack.extend(self.nodes[current].inbound)
        return False

    def side_key(self, name: str) -> float:
        """Where a new branch from ``name`` goes: after ``name`` and the side branches written
        right after it (layers that do not lead to the output), so branches keep their order."""
        if name != INPUT and self.output is None:
            return self.key(name) + 0.5
        on_path = {n for n in self.nodes if self.output and self.descends(self.output, n)}
        key = self.key(name)
        for node in sorted(self.nodes.values(), key=lambda n: n.key):
            if node.key <= key:
                continue
            if node.name in on_path:
                break
            key = node.key
        return key + 0.5

    def new_name(self, class_name: str) -> str:
        return fresh_name(class_name, self.nodes)

    def needs(self, node: SpecNode) -> int:
        """How many inputs ``node`` cannot do without: two for a merge, else one."""
        return 2 if is_merge(str(node.layer.get("class_name"))) else 1

    def take_place(self, old: str, new: SpecNode, consumers: list[SpecNode]) -> None:
        """``consumers`` (which took ``old``) take ``new`` instead; so does the model output."""
        for consumer in consumers:
            consumer.inbound = [new.name if s == old else s for s in consumer.inbound]
        if self.output is None or self.output == old:
            self.output = new.name

    def add(self, layer: dict[str, Any], inbound: list[str], key: float) -> SpecNode:
        layer = {k: copy.deepcopy(v) for k, v in layer.items() if k not in ("name", "inbound")}
        node = SpecNode(self.new_name(str(layer.get("class_name", "layer"))), layer, list(inbound),
                     key)
        self.nodes[node.name] = node
        return node

    # Writing ------------------------------------------------------------------------------------

    def _order(self) -> list[SpecNode]:
        """Topological order (Kahn's), earliest key first; the output last."""
        output = self.output if self.output in self.nodes else None
        if self.nodes:
            sinks = [n for n in self.nodes.values() if not self.consumers(n.name)]
            if output is not None and self.consumers(output):
                # The output has become a layer's input: the output is now downstream of it.
                sinks = [n for n in sinks if self.descends(n.name, output)] or sinks
                output = None
            if output is None:
                output = max(sinks or self.nodes.values(), key=lambda n: n.key).name
        waiting = {name: len(set(n.inbound) - {INPUT}) for name, n in self.nodes.items()}
        fed: dict[str, list[str]] = {name: [] for name in self.nodes}
        for name, n in self.nodes.items():
            for source in set(n.inbound) - {INPUT}:
                fed[source].append(name)
        ready = [(self._rank(n, output), n.name) for n in self.nodes.values()
                 if not waiting[n.name]]
        heapq.heapify(ready)
        order: list[SpecNode] = []
        while ready:
            _rank, name = heapq.heappop(ready)
            order.append(self.nodes[name])
            for target in fed[name]:
                waiting[target] -= 1
                if not waiting[target]:
                    heapq.heappush(ready, (self._rank(self.nodes[target], output), target))
        if len(order) != len(self.nodes):
            stuck = sorted(name for name, count in waiting.items() if count)
            raise GraphEditError(_("that would make a cycle through {stuck}: a layer "
                                   "cannot feed itself").format(stuck=', '.join(stuck)))
        return order

    @staticmethod
    def _rank(node: SpecNode, output: str | None) -> tuple[int, float]:
        return (1 if node.name == output else 0, node.key)

    def write(self) -> dict[str, Any]:
        return self._write()[0]

    def _write(self) -> tuple[dict[str, Any], list[str]]:
        order = self._order()
        explicit: list[list[str] | None] = []
        previous = INPUT
        for node in order:
            explicit.append(None if node.inbound == [previous] else list(node.inbound))
            previous = node.name
        # In a graph every layer keeps its name, so that no name shifts under an edit elsewhere
        # (Keras numbers unnamed layers by position); a chain names only the layers it named.
        graph = any(inbound is not None for inbound in explicit)
        named = {i for i, node in enumerate(order) if node.named or graph}
        while True:  # an unnamed row's automatic name must not be a name another layer carries
            carried = {order[i].name for i in named}
            clash = {i for i, node in enumerate(order) if i not in named
                     and auto_name(i, str(node.layer.get("class_name"))) in carried}
            if not clash:
                break
            named |= clash
        layers = []
        for i, (node, inbound) in enumerate(zip(order, explicit)):
            item = copy.deepcopy(node.layer)
            if i in named:
                item["name"] = node.name
            if inbound is not None:
                item["inbound"] = inbound
            layers.append(item)
        spec = {"input_shape": copy.deepcopy(self.input_shape), "layers": layers, **self.extra}
        return spec, [node.name for node in order]

    def result(self, select: str | None) -> tuple[dict[str, Any], int]:
        """The spec written back, and the row of node ``select`` in it (else the last row)."""
        spec, names = self._write()
        return spec, (names.index(select) if select in names else len(names) - 1)


# Public queries ----------------------------------------------------------------------------------


def layer_names(spec: dict[str, Any]) -> list[str]:
    """Every layer's name: its own, else the automatic one after its row (``layer3_dense``, as
    core/graph.py names it, so the weights and activations views speak of the same names)."""
    names = []
    seen: dict[str, int] = {}
    for i, item in enumerate(spec.get("layers") or []):
        name = item.get("name")
        if not isinstance(name, str):
            name = auto_name(i, str(item.get("class_name", "layer")))
        elif name == INPUT:
            raise GraphEditError(_("layer {i}: {input!r} is the model input's name").format(
                                     i=i + 1, input=INPUT))
        if name in seen:
            raise GraphEditError(_("layer {i}: the name {name!r} is already used by "
                                   "layer {seen}").format(
                                     i=i + 1, name=name, seen=seen[name] + 1))
        seen[name] = i
        names.append(name)
    return names


def inbound_names(spec: dict[str, Any]) -> list[list[str]]:
    """Each layer's inputs by name, the implicit "previous layer" written out."""
    names = layer_names(spec)
    result = []
    previous = INPUT
    for item, name in zip(spec.get("layers") or [], names):
        inbound = item.get("inbound")
        result.append([previous] if inbound is None else list(inbound))
        previous = name
    return result


def is_graph(spec: dict[str, Any]) -> bool:
    """True when some layer takes something other than the layer before it."""
    return any("inbound" in item for item in spec.get("layers") or [])


def edges(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (source, target) edge by name, the input included."""
    return [(source, target)
            for target, inbound in zip(layer_names(spec), inbound_names(spec))
            for source in inbound]


__all__ = [
    "INPUT", "GraphEditError", "SpecGraph", "SpecNode", "edges", "inbound_names", "is_graph",
    "is_merge", "layer_names", "max_inputs",
]
