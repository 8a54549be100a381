"""Weights and activations as plain arrays ready to draw: unit images, filter mosaics, histograms.

Every function returns a fresh numpy array, never a view into a model's weights, so the views can
keep what they draw while training goes on.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from workbench.core.evaluation import adapt_inputs, model_input_shape
from workbench.i18n import _

# Per model, the Keras model that returns every layer's output at once; rebuilding it costs far
# more than a forward pass, and the draw canvas asks for activations on every stroke.
_extractors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def dense_unit_images(kernel, image_shape) -> np.ndarray:
    """Each unit's incoming weights as an image: (units, H, W) from a Dense kernel (in, units).

    ``image_shape`` is the shape of one input sample: (H, W), (H, W, C) (channels are averaged) or
    a flat (n,) with n a perfect square.
    """
    k = np.asarray(kernel)
    if k.ndim != 2:
        raise ValueError(_("Expected a Dense kernel of shape (inputs, units), got "
                           "{shape}.").format(shape=k.shape))
    shape = tuple(int(d) for d in image_shape)
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side != shape[0]:
            raise ValueError(
                _("The layer's {inputs} inputs are not a square image, so its units "
                  "cannot be shown as pictures.").format(inputs=shape[0])
            )
        shape = (side, side)
    if len(shape) not in (2, 3):
        raise ValueError(_("Cannot show units as images of shape {shape}; expected (H, "
                           "W[, C]).").format(shape=shape))
    if k.shape[0] != math.prod(shape):
        raise ValueError(
            _("The layer has {inputs} inputs per unit, which cannot be shown as {size} "
              "images ({pixels} pixels).").format(
                inputs=k.shape[0], size="×".join(map(str, shape)), pixels=math.prod(shape))
        )
    units = k.T.reshape((k.shape[1], *shape))
    if units.ndim == 4:
        return units.mean(axis=3)
    return units.copy()


def conv_filters(kernel, mode: str = "mean") -> np.ndarray:
    """(filters, kh, kw) images from a Conv2D kernel (kh, kw, in, out).

    ``mode`` "mean" averages over input channels (the filter's overall response to a grey
    pattern); "first" shows only the first input channel.
    """
    k = np.asarray(kernel)
    if k.ndim != 4:
        raise ValueError(_("Expected a Conv2D kernel of shape (kh, kw, in, out), got "
                           "{shape}.").format(shape=k.shape))
    if mode == "mean":
        per_filter = k.mean(axis=2)
    elif mode == "first":
        per_filter = k[:, :, 0, :]
    else:
        raise ValueError(_("Unknown mode {mode!r}; use \"mean\" or \"first\".").format(
                             mode=mode))
    return np.ascontiguousarray(np.moveaxis(per_filter, -1, 0))


def tile_images(images, cols: int | None = None, pad: int = 1, fill=np.nan) -> np.ndarray:
    """Lay out (N, H, W[, C]) images as one row-major mosaic, ``pad`` pixels of ``fill`` apart.

    Rows are the first axis, so pyqtgraph's ImageItem needs ``axisOrder="row-major"``. Cells past
    N are ``fill`` (NaN draws as transparent). Columns default to a near-square grid.
    """
    imgs = np.asarray(images)
    if imgs.ndim < 3:
        raise ValueError(_("Expected a stack of images (N, H, W), got shape {shape}.").format(
                             shape=imgs.shape))
    n, h, w = imgs.shape[:3]
    rest = imgs.shape[3:]
    dtype = imgs.dtype if imgs.dtype.kind == "f" else np.float32
    if n == 0:
        return np.zeros((0, 0, *rest), dtype=dtype)
    cols = max(1, min(int(cols), n)) if cols else math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pad = max(0, int(pad))
    cell_h, cell_w = h + pad, w + pad
    # One strided copy: put each image in a padded cell, then interleave cell rows and columns.
    cells = np.full((rows * cols, cell_h, cell_w, *rest), fill, dtype=dtype)
    cells[:n, :h, :w] = imgs
    grid = cells.reshape((rows, cols, cell_h, cell_w, *rest)).swapaxes(1, 2)
    grid = grid.reshape((rows * cell_h, cols * cell_w, *rest))
    return np.ascontiguousarray(grid[: rows * cell_h - pad, : cols * cell_w - pad])


def symmetric_limits(array) -> tuple[float, float]:
    """(-m, m) with m the largest finite magnitude, for a diverging colour map centred on zero.

    An array with no finite nonzero value gives (-1, 1), so a colour bar never collapses.
    """
    a = np.asarray(array, dtype=np.float64)
    finite = a[np.isfinite(a)]
    m = float(np.abs(finite).max()) if finite.size else 0.0
    if m == 0.0:
        return -1.0, 1.0
    return -m, m


def weight_histogram(array, bins: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of the finite values; NaN and inf are left out rather than breaking bins."""
    a = np.asarray(array, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.zeros(bins, dtype=np.int64), np.linspace(-1.0, 1.0, bins + 1)
    counts, edges = np.histogram(a, bins=bins)
    return counts.astype(np.int64), edges


def layer_activations(model, x_one, layer_names=None) -> list[tuple[str, np.ndarray]]:
    """Every layer's output (or only ``layer_names``, in model order) for one input sample.

    ``x_one`` is one sample, with or without a batch axis of 1, in any layout of the right size
    (a 28x28 digit for a model taking (784,) is fine). Outputs come back without the batch axis.
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if layer_names is not None:
        wanted = list(layer_names)
        known = {layer.name for layer in layers}
        missing = [name for name in wanted if name not in known]
        if missing:
            raise ValueError(
                _("No layer named {missing}; the model has {known}.").format(
                    missing=', '.join(map(repr, missing)),
                    known=', '.join(sorted(known)))
            )
        layers = [layer for layer in layers if layer.name in set(wanted)]
    if not layers:
        return []
    x = _one_sample_batch(model, x_one)
    extractor = _extractor(model, tuple(layer.name for layer in layers))
    if extractor is not None:
        outputs = extractor(x, training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
    else:
        # A Sequential model without a defined input: run the layers one after another.
        outputs, y = [], x
        for layer in model.layers:
            y = layer(y, training=False)
            if layer in layers:
                outputs.append(y)
    return [(layer.name, np.array(out)[0]) for layer, out in zip(layers, outputs, strict=True)]


def activation_grid(feature_maps, cols: int | None = None, pad: int = 1, normalize=False):
    """A 2-D image of one layer's activations for one sample.

    (H, W, C) feature maps become a mosaic of C maps; a flat (units,) vector becomes a near-square
    grid (NaN past the last unit); (H, W) is returned as it is. With ``normalize`` each map is
    scaled by its own largest magnitude, so weak channels stay visible next to strong ones.
    """
    a = np.array(feature_maps, dtype=np.float32)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        maps = np.moveaxis(a, -1, 0)
        if normalize:
            maps = maps / _peak(maps.reshape(maps.shape[0], -1))[:, None, None]
        return tile_images(maps, cols=cols, pad=pad)
    if normalize:
        a = a / _peak(a.reshape(1, -1))[0]
    if a.ndim == 2:
        return a
    if a.ndim == 1:
        n = a.size
        c = max(1, int(cols)) if cols else max(1, math.ceil(math.sqrt(n)))
        rows = max(1, math.ceil(n / c))
        grid = np.full(rows * c, np.nan, dtype=np.float32)
        grid[:n] = a
        return grid.reshape(rows, c)
    raise ValueError(_("Cannot draw activations of shape {shape}.").format(
                         shape=a.shape))


# --- helpers --------------------------------------------------------------------------------------


def _peak(rows: np.ndarray) -> np.ndarray:
    """Largest finite magnitude per row, 1 where a row has none (all zero, say)."""
    mags = np.where(np.isfinite(rows), np.abs(rows), 0.0)
    peak = mags.max(axis=1) if rows.shape[1] else np.zeros(rows.shape[0])
    return np.where(peak > 0, peak, 1.0).astype(np.float32)


def _one_sample_batch(model, x_one) -> np.ndarray:
    x = np.asarray(x_one)
    shape = model_input_shape(model)
    if shape is None:
        return x if x.ndim and x.shape[0] == 1 else x[None]
    has_batch = x.ndim == len(shape) + 1 and x.shape[0] == 1
    batch = x if has_batch else x[None]
    if len(batch) != 1:
        raise ValueError(_("Expected one input sample, got {n_batch}.").format(
                             n_batch=len(batch)))
    return adapt_inputs(batch, shape)


def _extractor(model, names: tuple[str, ...]):
    """A Keras model returning the outputs of ``names``, cached per model; None if the model has
    no symbolic graph (a Sequential never given its input shape)."""
    try:
        per_model = _extractors.setdefault(model, {})
    except TypeError:  # not weak-referenceable: build every time
        per_model = {}
    if names in per_model:
        return per_model[names]
    from workbench.core.tf_loader import load_tensorflow

    _tf, keras = load_tensorflow()
    try:
        inputs = model.inputs
        outputs = [model.get_layer(name).output for name in names]
    except (AttributeError, ValueError):
        if type(model).__name__ != "Sequential":
            raise
        per_model[names] = None
        return None
    # A one-element list would make Keras expect a list at call time (and warn on a tensor).
    if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
        inputs = inputs[0]
    extractor = keras.Model(inputs=inputs, outputs=outputs)
    per_model[names] = extractor
    return extractor
