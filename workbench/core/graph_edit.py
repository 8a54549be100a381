"""Graph edits as pure functions on model spec dicts (``ModelSpec.to_dict()``): each returns a new
spec, never changing the one it is given, so the GUI can push before/after onto its undo stack.

The graph contract (DESIGN.md): a layer may carry a unique ``"name"`` and ``"inbound": [names]``;
without ``inbound`` it takes the previous layer (the first takes the model input, ``"input"``);
merge layers take two or more inbound names; the model output is the last layer.

Every edit reads the spec into nodes with explicit edges, changes them, and writes them back in
topological order with the output last. Written back, a layer keeps ``inbound`` only where it is
not simply the layer before, and ``name`` only where it had one or another layer refers to it, so
a sequential spec stays exactly sequential. An unnamed layer is called after its row
(``layer3_dense``, as core/graph.py does); a new layer gets a fresh name (``conv2d``,
``conv2d_1``, ...). A node is a layer's name or ``"input"``; an edit that cannot be done raises
``GraphEditError`` with one readable line.

Each edit returns ``(spec, index)``: the new spec and the layer index worth selecting after it.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field
from typing import Any

from workbench.core.catalogue import EXACT_INPUTS, merges
from workbench.core.graph import INPUT, NAME_PATTERN, NAME_RULE, auto_name, fresh_name
from workbench.i18n import _


class GraphEditError(ValueError):
    """Why an edit of the graph cannot be done, in one line."""


def is_merge(class_name: str) -> bool:
    return merges(class_name)


def _max_inputs(class_name: str) -> int | None:
    return EXACT_INPUTS.get(class_name) if merges(class_name) else 1


@dataclass
class _Node:
    name: str
    layer: dict[str, Any]  # the layer dict without "name" and "inbound"
    inbound: list[str]
    key: float  # where it goes in the written order, ties broken by the graph's edges
    named: bool = False  # carried a name of its own (kept when written back)


@dataclass
class _Graph:
    input_shape: Any
    nodes: dict[str, _Node] = field(default_factory=dict)
    output: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # other keys of the spec, kept as they are

    # Reading ------------------------------------------------------------------------------------

    @classmethod
    def read(cls, spec: dict[str, Any]) -> _Graph:
        layers = spec.get("layers") or []
        graph = cls(copy.deepcopy(spec.get("input_shape")),
                    extra={k: copy.deepcopy(v) for k, v in spec.items()
                           if k not in ("input_shape", "layers")})
        names = layer_names(spec)
        for i, (item, name, inbound) in enumerate(zip(layers, names, inbound_names(spec))):
            layer = {k: copy.deepcopy(v) for k, v in item.items() if k not in ("name", "inbound")}
            graph.nodes[name] = _Node(name, layer, inbound, float(i),
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

    def node(self, name: str) -> _Node:
        if name not in self.nodes:
            raise GraphEditError(_("there is no layer named {name!r}").format(name=name))
        return self.nodes[name]

    def check_source(self, name: str) -> None:
        if name != INPUT:
            self.node(name)

    def consumers(self, name: str) -> list[_Node]:
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

    def needs(self, node: _Node) -> int:
        """How many inputs ``node`` cannot do without: two for a merge, else one."""
        return 2 if is_merge(str(node.layer.get("class_name"))) else 1

    def take_place(self, old: str, new: _Node, consumers: list[_Node]) -> None:
        """``consumers`` (which took ``old``) take ``new`` instead; so does the model output."""
        for consumer in consumers:
            consumer.inbound = [new.name if s == old else s for s in consumer.inbound]
        if self.output is None or self.output == old:
            self.output = new.name

    def add(self, layer: dict[str, Any], inbound: list[str], key: float) -> _Node:
        layer = {k: copy.deepcopy(v) for k, v in layer.items() if k not in ("name", "inbound")}
        node = _Node(self.new_name(str(layer.get("class_name", "layer"))), layer, list(inbound),
                     key)
        self.nodes[node.name] = node
        return node

    # Writing ------------------------------------------------------------------------------------

    def _order(self) -> list[_Node]:
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
        order: list[_Node] = []
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
    def _rank(node: _Node, output: str | None) -> tuple[int, float]:
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


# Edits -------------------------------------------------------------------------------------------


def add_after(spec: dict[str, Any], node: str, layer: dict[str, Any]) -> tuple[dict, int]:
    """Insert ``layer`` right after ``node``: it takes ``node``, and what took ``node`` takes it."""
    graph = _Graph.read(spec)
    graph.check_source(node)
    consumers = graph.consumers(node)
    new = graph.add(layer, [node], graph.key(node) + 0.5)
    graph.take_place(node, new, consumers)
    return graph.result(new.name)


def branch(spec: dict[str, Any], node: str, layer: dict[str, Any]) -> tuple[dict, int]:
    """Start a new branch from ``node``: ``layer`` takes ``node``; nothing takes ``layer`` yet
    (connect it into a merge). A branch from the output becomes the output."""
    graph = _Graph.read(spec)
    graph.check_source(node)
    new = graph.add(layer, [node], graph.side_key(node))
    if graph.output is None or graph.output == node:
        graph.output = new.name
        new.key = max(n.key for n in graph.nodes.values()) + 1
    return graph.result(new.name)


def merge(spec: dict[str, Any], nodes: list[str], layer: dict[str, Any]) -> tuple[dict, int]:
    """Join ``nodes`` (two or more) with the merge ``layer`` (Add, Concatenate, ...). The merge
    takes the place of the deepest of them: what took that node takes the merge."""
    graph = _Graph.read(spec)
    unique = list(dict.fromkeys(nodes))
    if len(unique) < 2:
        raise GraphEditError(_("select two or more layers to merge"))
    for name in unique:
        graph.check_source(name)
    name = str(layer.get("class_name"))
    if not is_merge(name):
        raise GraphEditError(_("{name} is not a merge layer").format(name=name))
    most = _max_inputs(name)
    if most is not None and len(unique) > most:
        raise GraphEditError(_("{name} takes exactly {most} inputs; {n_unique} are "
                               "selected").format(
                                 name=name, most=most, n_unique=len(unique)))
    unique.sort(key=graph.key)
    # The deepest of them on the way to the output (else the deepest): the merge goes there.
    output = graph.output
    on_path = [n for n in unique if output is not None and graph.descends(output, n)]
    main = (on_path or unique)[-1]
    # What took ``main`` takes the merge, but not a layer that feeds the merge itself (merging a
    # layer with a branch of its own).
    consumers = [c for c in graph.consumers(main)
                 if not any(graph.descends(n, c.name) for n in unique)]
    new = graph.add(layer, unique, max(graph.key(n) for n in unique) + 0.5)
    graph.take_place(main, new, consumers)
    return graph.result(new.name)


def connect(spec: dict[str, Any], source: str, target: str) -> tuple[dict, int]:
    """Feed ``source`` into ``target``: one more input of a merge layer, or the only input of any
    other layer (its old one replaced)."""
    graph = _Graph.read(spec)
    graph.check_source(source)
    node = graph.node(target)
    if source in node.inbound:
        raise GraphEditError(_("{source} already feeds {target}").format(
                                 source=source, target=target))
    _refuse_cycle(graph, source, target)
    class_name = str(node.layer.get("class_name"))
    if is_merge(class_name):
        most = _max_inputs(class_name)
        if most is not None and len(node.inbound) >= most:
            raise GraphEditError(_("{target} ({class_name}) takes exactly {most} "
                                   "inputs; it has them already").format(
                                     target=target, class_name=class_name, most=most))
        node.inbound.append(source)
    else:
        node.inbound = [source]
    return graph.result(target)


def reconnect(spec: dict[str, Any], target: str, old_source: str,
              new_source: str) -> tuple[dict, int]:
    """Move the end of the edge ``old_source → target`` to ``new_source → target``."""
    graph = _Graph.read(spec)
    node = graph.node(target)
    graph.check_source(new_source)
    if old_source not in node.inbound:
        raise GraphEditError(_("{old_source} does not feed {target}").format(
                                 old_source=old_source, target=target))
    if new_source == old_source:
        return graph.result(target)
    if new_source in node.inbound:
        raise GraphEditError(_("{new_source} already feeds {target}").format(
                                 new_source=new_source, target=target))
    _refuse_cycle(graph, new_source, target)
    node.inbound = [new_source if s == old_source else s for s in node.inbound]
    return graph.result(target)


def retarget(spec: dict[str, Any], source: str, old_target: str,
             new_target: str) -> tuple[dict, int]:
    """Move the head of the edge ``source → old_target`` onto ``new_target`` (fed as by
    ``connect``); ``old_target`` must keep the inputs it needs."""
    graph = _Graph.read(spec)
    node = graph.node(old_target)
    graph.node(new_target)
    if source not in node.inbound:
        raise GraphEditError(_("{source} does not feed {old_target}").format(
                                 source=source, old_target=old_target))
    if new_target == old_target:
        return graph.result(old_target)
    if len(node.inbound) - 1 < graph.needs(node):
        raise GraphEditError(_("{old_target} needs that input: drag the edge's other "
                               "end to feed {old_target} from another layer instead").format(
                                 old_target=old_target))
    spec, _edge = delete_edge(spec, source, old_target)
    return connect(spec, source, new_target)


def delete_node(spec: dict[str, Any], name: str) -> tuple[dict, int]:
    """Delete a layer. What took it takes its input instead (for a merge: its deepest input, the
    one it took the place of), so deleting a layer of a chain closes the chain."""
    graph = _Graph.read(spec)
    node = graph.node(name)
    replacement = max(node.inbound, key=graph.key) if node.inbound else INPUT
    del graph.nodes[name]
    _bypass(graph, name, replacement)
    consumers = graph.consumers(replacement)
    if graph.output == name:
        graph.output = replacement if replacement in graph.nodes else None
    select = replacement if replacement in graph.nodes else None
    if select is None and consumers:
        select = consumers[0].name
    return graph.result(select)


def delete_edge(spec: dict[str, Any], source: str, target: str) -> tuple[dict, int]:
    """Delete the edge ``source → target``; a layer is never left with fewer inputs than it needs
    (drag the edge's end to another layer instead)."""
    graph = _Graph.read(spec)
    node = graph.node(target)
    if source not in node.inbound:
        raise GraphEditError(_("{source} does not feed {target}").format(
                                 source=source, target=target))
    class_name = str(node.layer.get("class_name"))
    if len(node.inbound) - 1 < graph.needs(node):
        if not is_merge(class_name):
            raise GraphEditError(_("{target} needs an input: drag the edge's end to "
                                   "another layer instead, or delete the layer").format(
                                     target=target))
        raise GraphEditError(_("{target} ({class_name}) needs two or more inputs: "
                               "delete the {class_name} instead").format(
                                 target=target, class_name=class_name))
    node.inbound = [s for s in node.inbound if s != source]
    return graph.result(target)


def rename(spec: dict[str, Any], old: str, new: str) -> tuple[dict, int]:
    """Give a layer another (unique) name; the layers that take it follow."""
    graph = _Graph.read(spec)
    node = graph.node(old)
    if not isinstance(new, str) or new == INPUT or not NAME_PATTERN.fullmatch(new):
        raise GraphEditError(_("{new!r} cannot be a layer name: use {name_rule}").format(
                                 new=new, name_rule=_(NAME_RULE)))
    if new != old and new in graph.nodes:
        raise GraphEditError(_("the name {new!r} is already used").format(new=new))
    del graph.nodes[old]
    node.name, node.named = new, True
    graph.nodes[new] = node
    for other in graph.nodes.values():
        other.inbound = [new if s == old else s for s in other.inbound]
    if graph.output == old:
        graph.output = new
    return graph.result(new)


def _bypass(graph: _Graph, name: str, replacement: str) -> None:
    """What took ``name`` (now gone) takes ``replacement``. A merge left with one input goes
    too (a residual block whose only layer was deleted), its takers taking that input."""
    for consumer in graph.consumers(name):
        inbound = []
        for source in consumer.inbound:
            source = replacement if source == name else source
            if source not in inbound:
                inbound.append(source)
        consumer.inbound = inbound
        if len(inbound) == 1 and is_merge(str(consumer.layer.get("class_name"))):
            del graph.nodes[consumer.name]
            if graph.output == consumer.name:
                graph.output = replacement if replacement in graph.nodes else None
            _bypass(graph, consumer.name, inbound[0])


def _refuse_cycle(graph: _Graph, source: str, target: str) -> None:
    if graph.descends(source, target):
        raise GraphEditError(_("{target} feeds {source} already: connecting {source} "
                               "into it would make a cycle").format(
                                 target=target, source=source))


__all__ = [
    "INPUT", "GraphEditError", "add_after", "branch", "connect", "delete_edge", "delete_node",
    "edges", "inbound_names", "is_graph", "is_merge", "layer_names", "merge", "reconnect", "rename",
    "retarget",
]
