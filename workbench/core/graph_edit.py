"""Graph edits as pure functions on model spec dicts (``ModelSpec.to_dict()``): each returns a new
spec, never changing the one it is given, so the GUI can push before/after onto its undo stack.

Every edit reads the spec into nodes with explicit edges (core/spec_graph.py), changes them, and
writes them back; the graph contract and the naming rules are described there. An edit that
cannot be done raises ``GraphEditError`` with one readable line.

Each edit returns ``(spec, index)``: the new spec and the layer index worth selecting after it.
The spec queries (``layer_names``, ``edges``, ...) are re-exported here for the views.
"""

from __future__ import annotations

from typing import Any

from workbench.core.graph import INPUT, NAME_PATTERN, NAME_RULE
from workbench.core.spec_graph import (
    GraphEditError,
    SpecGraph,
    edges,
    inbound_names,
    is_graph,
    is_merge,
    layer_names,
    max_inputs,
)
from workbench.i18n import _


def add_after(spec: dict[str, Any], node: str, layer: dict[str, Any]) -> tuple[dict, int]:
    """Insert ``layer`` right after ``node``: it takes ``node``, and what took ``node`` takes it."""
    graph = SpecGraph.read(spec)
    graph.check_source(node)
    consumers = graph.consumers(node)
    new = graph.add(layer, [node], graph.key(node) + 0.5)
    graph.take_place(node, new, consumers)
    return graph.result(new.name)


def branch(spec: dict[str, Any], node: str, layer: dict[str, Any]) -> tuple[dict, int]:
    """Start a new branch from ``node``: ``layer`` takes ``node``; nothing takes ``layer`` yet
    (connect it into a merge). A branch from the output becomes the output."""
    graph = SpecGraph.read(spec)
    graph.check_source(node)
    new = graph.add(layer, [node], graph.side_key(node))
    if graph.output is None or graph.output == node:
        graph.output = new.name
        new.key = max(n.key for n in graph.nodes.values()) + 1
    return graph.result(new.name)


def merge(spec: dict[str, Any], nodes: list[str], layer: dict[str, Any]) -> tuple[dict, int]:
    """Join ``nodes`` (two or more) with the merge ``layer`` (Add, Concatenate, ...). The merge
    takes the place of the deepest of them: what took that node takes the merge."""
    graph = SpecGraph.read(spec)
    unique = list(dict.fromkeys(nodes))
    if len(unique) < 2:
        raise GraphEditError(_("select two or more layers to merge"))
    for name in unique:
        graph.check_source(name)
    name = str(layer.get("class_name"))
    if not is_merge(name):
        raise GraphEditError(_("{name} is not a merge layer").format(name=name))
    most = max_inputs(name)
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
    graph = SpecGraph.read(spec)
    graph.check_source(source)
    node = graph.node(target)
    if source in node.inbound:
        raise GraphEditError(_("{source} already feeds {target}").format(
                                 source=source, target=target))
    _refuse_cycle(graph, source, target)
    class_name = str(node.layer.get("class_name"))
    if is_merge(class_name):
        most = max_inputs(class_name)
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
    graph = SpecGraph.read(spec)
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
    graph = SpecGraph.read(spec)
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
    graph = SpecGraph.read(spec)
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
    graph = SpecGraph.read(spec)
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
    graph = SpecGraph.read(spec)
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


def _bypass(graph: SpecGraph, name: str, replacement: str) -> None:
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


def _refuse_cycle(graph: SpecGraph, source: str, target: str) -> None:
    if graph.descends(source, target):
        raise GraphEditError(_("{target} feeds {source} already: connecting {source} "
                               "into it would make a cycle").format(
                                 target=target, source=source))


__all__ = [
    "INPUT", "GraphEditError", "add_after", "branch", "connect", "delete_edge", "delete_node",
    "edges", "inbound_names", "is_graph", "is_merge", "layer_names", "merge", "reconnect", "rename",
    "retarget",
]
