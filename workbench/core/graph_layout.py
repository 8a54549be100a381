"""Layered (Sugiyama) layout of the model graph, top to bottom, by grandalf. Qt-free.

``layered_layout`` takes node names with their sizes and the edges, and gives each node's centre
and each edge's route (through grandalf's dummy points where an edge spans several layers, so it
bends around the nodes in between instead of crossing them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

Point = tuple[float, float]

X_SPACE = 28.0  # between nodes side by side
Y_SPACE = 34.0  # between layers
COMPONENT_GAP = 60.0


class _View:
    """What grandalf reads (``w``, ``h``) and writes (``xy``) for a vertex."""

    __slots__ = ("w", "h", "xy")

    def __init__(self, w: float, h: float):
        self.w, self.h, self.xy = w, h, (0.0, 0.0)


class _EdgeView:
    __slots__ = ("points",)

    def __init__(self):
        self.points: list[Point] = []

    def setpath(self, points) -> None:  # grandalf's name
        self.points = [tuple(p) for p in points]


@dataclass
class Layout:
    centres: dict[str, Point] = field(default_factory=dict)
    routes: dict[tuple[str, str], list[Point]] = field(default_factory=dict)


def layered_layout(names: Sequence[str], edges: Sequence[tuple[str, str]],
                   sizes: Mapping[str, tuple[float, float]], root: str | None = None) -> Layout:
    """Centres of the nodes (y grows downwards, sources on top) and edge routes (first point:
    the source's centre, last: the target's). Separate components are laid side by side."""
    vertices = {}
    for name in names:
        vertex = Vertex(name)
        vertex.view = _View(*sizes[name])
        vertices[name] = vertex
    edge_objects = {}
    for source, target in edges:
        if source in vertices and target in vertices and (source, target) not in edge_objects:
            edge = Edge(vertices[source], vertices[target])
            edge.view = _EdgeView()
            edge_objects[(source, target)] = edge
    graph = Graph(list(vertices.values()), list(edge_objects.values()))
    layout = Layout()
    offset = 0.0
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = X_SPACE, Y_SPACE
        roots = [v for v in component.sV if v.data == root] or None
        sugiyama.init_all(roots=roots)
        sugiyama.draw()
        members = list(component.sV)
        left = min(v.view.xy[0] - v.view.w / 2 for v in members)
        right = max(v.view.xy[0] + v.view.w / 2 for v in members)
        shift = offset - left
        for v in members:
            layout.centres[v.data] = (v.view.xy[0] + shift, v.view.xy[1])
        for e in component.sE:
            key = (e.v[0].data, e.v[1].data)
            points = e.view.points or [e.v[0].view.xy, e.v[1].view.xy]
            layout.routes[key] = [(x + shift, y) for x, y in points]
        offset += right - left + COMPONENT_GAP
    return layout
