"""The colours of the pictures, as data: the window's views build their pyqtgraph colour maps
from these stops, and the run report applies the same stops to numpy arrays (no Qt), so a
picture in the report and the same picture in the window look alike.

A map is ``(positions, colours)``: positions from 0 to 1, colours as 0-255 RGB rows.
"""

from __future__ import annotations

import numpy as np

TRAIN_COLOR = (31, 119, 180)  # the training curve
RAW_COLOR = (183, 207, 230)  # the training curve per batch: the train colour, faded
VAL_COLOR = (255, 127, 14)  # the validation curve

# White for nothing, deep blue for many (the confusion matrix): the diagonal stands out, stray
# errors stay visible.
BLUES = ((0.0, 0.15, 0.5, 1.0),
         ((255, 255, 255), (198, 219, 239), (66, 146, 198), (8, 48, 107)))


def _even(colours) -> tuple:
    return tuple(np.linspace(0.0, 1.0, len(colours)).tolist()), tuple(colours)


# Blue for negative, white for 0, red for positive (weights): colorcet's CET-D1, as pyqtgraph
# ships it, in 17 stops.
DIVERGING = _even(((33, 81, 219), (81, 97, 222), (111, 116, 225), (137, 135, 228),
                   (159, 155, 231), (181, 176, 234), (201, 196, 236), (220, 218, 238),
                   (237, 231, 233), (242, 214, 207), (240, 189, 177), (237, 164, 147),
                   (231, 139, 118), (223, 114, 90), (214, 87, 62), (203, 56, 35), (192, 2, 6)))
# Dark to bright (activations): matplotlib's viridis in 17 stops.
VIRIDIS = _even(((68, 1, 84), (72, 23, 105), (71, 44, 122), (66, 63, 133), (59, 81, 139),
                 (51, 98, 141), (44, 113, 142), (38, 129, 142), (33, 144, 140), (31, 159, 136),
                 (39, 173, 128), (61, 188, 115), (92, 200, 98), (129, 211, 76), (170, 220, 49),
                 (213, 226, 25), (253, 231, 37)))
GREYS = ((0.0, 1.0), ((0, 0, 0), (255, 255, 255)))


def colorize(values, colour_map, lo: float, hi: float,
             missing: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """``values`` (H, W) as an (H, W, 3) uint8 picture: ``lo`` at the map's first colour, ``hi``
    at its last, linear between its stops; NaN (a tiled picture's gaps) as ``missing``."""
    values = np.asarray(values, dtype=np.float64)
    positions, colours = colour_map
    colours = np.asarray(colours, dtype=np.float64)
    span = hi - lo if hi > lo else 1.0
    t = np.clip((np.nan_to_num(values, nan=lo) - lo) / span, 0.0, 1.0)
    out = np.stack([np.interp(t, positions, colours[:, c]) for c in range(3)], axis=-1)
    out[np.isnan(values)] = missing
    return np.round(out).astype(np.uint8)


def css(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))
