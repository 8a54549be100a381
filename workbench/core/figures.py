"""Pictures without Qt, for the run report: numpy pictures as embedded PNGs (Pillow), and the
geometry of the curves and of the model graph that the report's template draws as SVG.

The pixels come from the same functions the window's views use (core.introspection, the
palette's colour maps, actions.explore's sample pictures); only the drawing surface differs.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

import numpy as np

from workbench.core import palette


def png_uri(pixels: np.ndarray, scale: int = 1) -> str:
    """An (H, W) grey or (H, W, 3) colour uint8 picture as a ``data:image/png`` URI, each pixel
    drawn as ``scale``×``scale`` (nearest: weights stay crisp squares when printed)."""
    from PIL import Image

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if scale > 1:
        pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    image = Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def scale_for(shape: Sequence[int], width: int) -> int:
    """The whole-pixel zoom that makes a picture about ``width`` pixels wide (at least 1)."""
    return max(1, int(width // max(1, shape[1])))


def heat_uri(values: np.ndarray, colour_map, lo: float, hi: float, width: int = 560) -> str:
    """A heatmap (weights, activations) in one of the palette's colour maps, as a PNG URI."""
    return png_uri(palette.colorize(values, colour_map, lo, hi), scale_for(values.shape, width))


# --- curves ------------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks = [round(first, 12)]
    while ticks[-1] < hi - step * 1e-9:  # the last tick at or above hi: the lines stay inside
        ticks.append(round(first + len(ticks) * step, 12))
    return ticks if len(ticks) > 1 else [ticks[0], round(first + step, 12)]


def chart(title: str, series: Sequence[tuple[str, Sequence[float], tuple, bool]],
          width: int = 460, height: int = 260) -> dict | None:
    """An SVG line chart's geometry: ``series`` are (label, values per epoch, colour, markers),
    x the epoch from 1. None when no series has a finite value."""
    left, right, top, bottom = 56, 12, 44, 40  # the title and the legend above the plot
    finite = [v for _, values, _, _ in series for v in values if math.isfinite(v)]
    epochs = max((len(values) for _, values, _, _ in series), default=0)
    if not finite or not epochs:
        return None
    y_ticks = nice_ticks(min(finite), max(finite))
    y_lo, y_hi = y_ticks[0], y_ticks[-1]
    x_lo, x_hi = 1, max(epochs, 2)
    x_ticks = [t for t in nice_ticks(x_lo, x_hi, 6) if x_lo <= t <= x_hi and t == int(t)]
    inner_w, inner_h = width - left - right, height - top - bottom

    def x(epoch: float) -> float:
        return left + (epoch - x_lo) / (x_hi - x_lo) * inner_w

    def y(value: float) -> float:
        return top + (1 - (value - y_lo) / (y_hi - y_lo)) * inner_h

    lines = []
    for label, values, colour, markers in series:
        points = [(x(i + 1), y(v)) for i, v in enumerate(values) if math.isfinite(v)]
        if points:
            lines.append({"label": label, "colour": palette.css(colour), "markers": markers,
                          "points": " ".join(f"{px:.1f},{py:.1f}" for px, py in points),
                          "dots": points if markers else []})
    return {"title": title, "width": width, "height": height, "left": left, "top": top,
            "right": width - right, "bottom": height - bottom, "lines": lines,
            "x_ticks": [(x(t), int(t)) for t in x_ticks],
            "y_ticks": [(y(t), f"{t:.4g}") for t in y_ticks]}


# --- the model graph ---------------------------------------------------------------------------

NODE_W, NODE_H = 200.0, 38.0


def graph_drawing(nodes: Sequence[tuple[str, str, str]], edges: Sequence[tuple[str, str]],
                  root: str) -> dict:
    """Boxes and arrows of a layer graph, laid out as the window's graph view lays it out
    (core.graph_layout): ``nodes`` are (name, first line, second line)."""
    from workbench.core.graph_layout import layered_layout

    names = [n for n, _, _ in nodes]
    layout = layered_layout(names, edges, {n: (NODE_W, NODE_H) for n in names}, root=root)
    xs = [x for x, _ in layout.centres.values()]
    ys = [y for _, y in layout.centres.values()]
    pad = 12.0
    dx, dy = pad + NODE_W / 2 - min(xs), pad + NODE_H / 2 - min(ys)
    boxes = [{"x": layout.centres[n][0] + dx - NODE_W / 2, "y": layout.centres[n][1] + dy
              - NODE_H / 2, "title": title, "detail": detail} for n, title, detail in nodes]
    arrows = []
    for route in layout.routes.values():
        points = [(px + dx, py + dy) for px, py in route]
        # From the source's bottom edge to the target's top edge.
        points[0] = (points[0][0], points[0][1] + NODE_H / 2)
        points[-1] = (points[-1][0], points[-1][1] - NODE_H / 2)
        arrows.append(" ".join(f"{px:.1f},{py:.1f}" for px, py in points))
    return {"width": max(xs) - min(xs) + NODE_W + 2 * pad,
            "height": max(ys) - min(ys) + NODE_H + 2 * pad,
            "w": NODE_W, "h": NODE_H, "boxes": boxes, "arrows": arrows}
