"""Which arrays of ``model.get_weights()`` belong to which layer, and how to picture them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeightedLayer:
    name: str
    class_name: str
    start: int  # index of the layer's first array in model.get_weights()
    shapes: tuple[tuple[int, ...], ...]
    first: bool  # no layer with weights comes before it: it sees the raw input
    units: int  # output units / filters (last axis of the kernel)

    @property
    def label(self) -> str:
        shape = " × ".join(str(d) for d in self.shapes[0]) if self.shapes else ""
        return f"{self.name} ({self.class_name}, {shape})"

    def arrays(self, weights: list) -> list[np.ndarray]:
        return list(weights[self.start:self.start + len(self.shapes)])


def weighted_layers(model) -> list[WeightedLayer]:
    """Layers that hold weights, with their slice of ``model.get_weights()``.

    Keras lists a model's weights layer by layer, each layer's own weights in order; the offsets
    are checked against the shapes so a model that orders them otherwise yields an empty list
    rather than wrong pictures.
    """
    found: list[WeightedLayer] = []
    offset = 0
    seen: set[int] = set()
    for layer in _flat_layers(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        shapes = tuple(tuple(int(d) for d in w.shape) for w in layer.weights)
        if not shapes:
            continue
        raw = _sees_raw_input(layer)  # a graph: no layer with weights on any path to it
        found.append(WeightedLayer(layer.name, type(layer).__name__, offset, shapes,
                                   first=not found if raw is None else raw,
                                   units=shapes[0][-1] if shapes[0] else 1))
        offset += len(shapes)
    expected = [tuple(int(d) for d in w.shape) for w in model.weights]
    if [s for layer in found for s in layer.shapes] != expected:
        return []
    return found


def _sees_raw_input(layer) -> bool | None:
    """Whether no layer with weights lies between the model's input and ``layer`` (through
    Keras's graph of calls), or None when the layer's graph is not known."""
    seen: set[int] = set()
    todo = [layer]
    while todo:
        current = todo.pop()
        nodes = getattr(current, "_inbound_nodes", None)
        if not nodes or len(nodes) != 1 or not hasattr(nodes[0], "parent_nodes"):
            return None
        for parent in nodes[0].parent_nodes:
            op = parent.operation
            if id(op) in seen or type(op).__name__ == "InputLayer":
                continue
            if op.weights:
                return False
            seen.add(id(op))
            todo.append(op)
    return True


def _flat_layers(model):
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        if inner and hasattr(layer, "weights") and type(layer).__name__ in ("Sequential",
                                                                            "Functional"):
            yield from _flat_layers(layer)
        else:
            yield layer


def image_shape_for(n_inputs: int, candidates: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The picture shape that ``n_inputs`` incoming weights form, or None.

    The dataset's or the model's input shape wins when it holds that many values (28×28, or
    28×28×3 for colour); failing that a perfect square (e.g. 1296 = 36×36 font images).
    """
    for shape in candidates:
        if not shape or math.prod(shape) != n_inputs:
            continue
        dims = tuple(d for d in shape)
        if len(dims) == 3 and dims[-1] == 1:
            dims = dims[:2]
        if len(dims) == 2 or (len(dims) == 3 and dims[-1] == 3):
            return dims
        if len(dims) == 1:
            continue
    side = math.isqrt(n_inputs)
    if side >= 4 and side * side == n_inputs:
        return (side, side)
    return None
