"""Turn any picture of one handwritten digit into a 28x28 MNIST-style input.

The draw canvas calls this on every mouse move and ``workbench predict`` on image files, so both see
exactly the same preprocessing: the recipe LeCun et al. used to build MNIST, plus stroke matching.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from workbench.i18n import _

SIZE = 28
# MNIST digits were scaled so the longer bounding-box side is 20 px, then placed by centre of mass.
BOX = 20
# Measured on the embedded MNIST digits: the centre of mass sits at pixel index 14.0 (std 0.3).
CENTRE = 14.0
# Stroke width relative to the bounding box's longer side, measured on the embedded digits with
# _stroke_width: 10th percentile 0.10, median 0.14, 90th percentile 0.19. Much thinner or thicker
# strokes are brought towards that band, since a network trained on MNIST has never seen a 0.3 px
# pen line or a blob. The exact limits were tuned on rendered strokes (tests/core/test_digits.py):
# a wider "thin" band made the round trip of thin real MNIST digits worse, a narrower "thick" one
# left fat 3s and 8s unrecognised.
_STROKE_THIN = 0.06
_STROKE_TARGET = 0.10
_STROKE_THICK = 0.20
_STROKE_THICK_TARGET = 0.16
# Stroke shaping happens at this intermediate size (4x the final box), so its cost does not depend
# on the canvas or file size and the final area-average still anti-aliases.
_WORK = 4 * BOX
# Ink weaker than this (after contrast normalisation) is paper texture, scanner noise or JPEG
# ringing.
_NOISE = 0.25
# Below this contrast between paper and the strongest ink there is nothing drawn.
_MIN_CONTRAST = 0.08
# Ink smaller than this many pixels across is a speck or a click, not a digit.
_MIN_EXTENT = 4

INPUT_SHAPES = ((28, 28), (784,), (28, 28, 1))


def preprocess_digit(image: np.ndarray) -> np.ndarray | None:
    """Return a float32 (28, 28) image in [0, 1], white ink on black, or None when nothing is drawn.

    ``image`` is 2-D greyscale (any size; uint8 0..255, float 0..1 or any other range) or RGB/RGBA
    (H, W, 3|4; transparent pixels count as paper). Dark ink on light paper and light ink on dark
    paper both work: the paper is the colour of the image border.
    """
    grey = _to_grey(np.asarray(image))
    if grey is None:
        return None
    ink = _ink_map(grey)
    if ink is None:
        return None
    bounds = _bounds(ink)
    if bounds is None or max(bounds[1] - bounds[0], bounds[3] - bounds[2]) < _MIN_EXTENT:
        return None
    box = _shape_strokes(ink, bounds)
    if box is None:
        return None
    return _centre(box)


def load_image(path) -> np.ndarray:
    """Read an image file as an array (greyscale, RGB or RGBA); ValueError if it cannot be read.

    Only raster images are decoded (safe_io.open_image: PNG, JPEG, BMP, GIF, TIFF, WebP by their
    content, within a pixel limit), never PostScript or a special file."""
    from workbench.core.safe_io import FileRefused, open_image

    try:
        opened = open_image(path)
    except FileRefused as exc:
        raise ValueError(str(exc)) from None
    with opened:
        # Phone photos are often stored sideways with an EXIF note saying which way is up.
        img = ImageOps.exif_transpose(opened)
        if img.mode in ("1", "L", "I", "I;16", "F", "RGB", "RGBA"):
            converted = img
        elif "A" in img.getbands() or "transparency" in img.info:
            # Palette and LA images with transparency: keep it, transparent means paper.
            converted = img.convert("RGBA")
        else:
            converted = img.convert("RGB")
        return np.array(converted)


def fit_to_input(digit28: np.ndarray, input_shape: tuple) -> np.ndarray:
    """Shape a preprocessed digit as a batch of one for a model with ``input_shape`` (no batch)."""
    shape = tuple(None if d is None else int(d) for d in input_shape)
    if shape and shape[0] is None:
        # A full Keras shape with its batch axis was passed (model.input_shape); drop that axis.
        shape = shape[1:]
    if shape not in INPUT_SHAPES:
        raise ValueError(
            _("This model expects input of shape {shape}; drawn digits are 28×28 "
              "images, so it needs (28, 28), (784,) or (28, 28, 1).").format(
                shape=shape)
        )
    digit = np.asarray(digit28, dtype=np.float32)
    if digit.size != SIZE * SIZE:
        raise ValueError(_("Expected a 28×28 digit, got an array of shape {shape}.").format(
                             shape=digit.shape))
    return digit.reshape((1, *shape))


# --- steps -------------------------------------------------------------------------------------
# Full-resolution work stays in uint8: a 280x280 float32 array is 300 kB, above glibc's mmap
# threshold, and the page faults of allocating a few of those per call cost more than the maths.


def _to_grey(a: np.ndarray) -> np.ndarray | None:
    """Any accepted array as 2-D uint8; RGBA is composited onto paper that contrasts the ink."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return _as_uint8(a)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(
            _("Expected a greyscale (H, W) or colour (H, W, 3|4) image, got shape "
              "{shape}.").format(shape=a.shape)
        )
    a = np.ascontiguousarray(_as_uint8(a))
    if a.shape[2] == 3 or int(a[:, :, 3].min()) == 255:
        # PIL's C conversion, ITU-R 601 luma; it ignores an all-opaque alpha channel.
        mode = "RGB" if a.shape[2] == 3 else "RGBA"
        return np.asarray(Image.fromarray(a, mode=mode).convert("L"))
    img = Image.fromarray(a, mode="RGBA")
    # Transparent pixels are paper; choose the paper colour the opaque ink stands out against,
    # judged on every other pixel, which is plenty for an average.
    lum = np.asarray(img.convert("L"))[::2, ::2].astype(np.float32)
    alpha = a[::2, ::2, 3].astype(np.float32)
    total = float(alpha.sum())
    if total <= 0.0:
        return None
    paper = 255 if float((alpha * lum).sum()) / total < 127.5 else 0
    background = Image.new("RGBA", img.size, (paper, paper, paper, 255))
    return np.asarray(Image.alpha_composite(background, img).convert("L"))


def _as_uint8(a: np.ndarray) -> np.ndarray:
    """Rescale any dtype to uint8 (the paper/ink contrast is measured later, so 8 bits suffice)."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * np.uint8(255)
    if a.dtype == np.uint16:
        return (a >> 8).astype(np.uint8)
    f = np.asarray(a, dtype=np.float32)
    if f.size == 0:
        return f.astype(np.uint8)
    top = float(f.max())
    if not (np.isfinite(top) and np.isfinite(float(f.min()))):
        f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
        top = float(f.max())
    if np.issubdtype(a.dtype, np.integer) or top > 1.0:
        # Integers and floats above 1 are taken as 0..255 data, the other common convention;
        # anything brighter still is scaled down to fit.
        scale = 1.0 if top <= 255.0 else 255.0 / top
    else:
        scale = 255.0
    scaled = f * scale
    scaled += 0.5
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return scaled.astype(np.uint8)


def _ink_map(grey: np.ndarray) -> np.ndarray | None:
    """Ink strength as uint8 (255 = full ink) per pixel, whatever the polarity; None if blank."""
    h, w = grey.shape
    if h == 0 or w == 0:
        return None
    # The paper is the majority colour of the border: a digit rarely covers half of it, while a
    # thick or large digit can cover half of the whole image.
    t = max(1, min(h, w) // 50)
    border = np.concatenate(
        (grey[:t].ravel(), grey[-t:].ravel(), grey[:, :t].ravel(), grey[:, -t:].ravel())
    )
    paper = float(np.median(border))
    lo, hi = float(grey.min()), float(grey.max())
    levels = np.arange(256, dtype=np.float32)
    if paper - lo >= hi - paper:
        contrast = paper - lo  # dark ink on light paper
        strength = paper - levels
    else:
        contrast = hi - paper
        strength = levels - paper
    if contrast < _MIN_CONTRAST * 255.0:
        return None
    # One lookup table normalises contrast and drops faint paper noise, keeping anti-aliased edges
    # graded, in a single pass over the image.
    strength = (strength / contrast - _NOISE) / (1.0 - _NOISE)
    table = (np.clip(strength, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.take(table, grey)


def _bounds(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the nonzero pixels, end-exclusive; None if there are none."""
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _crop(ink: np.ndarray) -> np.ndarray | None:
    b = _bounds(ink)
    return None if b is None else ink[b[0] : b[1], b[2] : b[3]]


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: for a stroke of width w and length L the area is w*L and about
    2*L pixels lie on its outline, so w ~ 2 * area / outline."""
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    p = np.pad(mask, 1)
    inner = mask & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    outline = area - int(np.count_nonzero(inner))
    return 2.0 * area / max(outline, 1)


def _resize(a: np.ndarray, height: int, width: int, box=None) -> np.ndarray:
    """Resize a float32 image, or the ``box`` (left, top, right, bottom) of a uint8 one, to float32
    in [0, 1]."""
    img = Image.fromarray(np.ascontiguousarray(a))
    if box is not None:
        img = img.crop(box)
    if img.mode != "F":
        # Resample in float so a thin stroke keeps its sub-level intensity.
        img = img.convert("F")
    # BOX is an exact area average when shrinking (no ringing); bilinear is smooth when enlarging.
    shrinking = height <= img.height and width <= img.width
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    out = np.asarray(img.resize((width, height), method), dtype=np.float32)
    return out * (1.0 / 255.0) if a.dtype == np.uint8 else out


def _scaled_size(h: int, w: int, longest: int) -> tuple[int, int]:
    scale = longest / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def _shape_strokes(ink: np.ndarray, bounds: tuple[int, int, int, int]) -> np.ndarray | None:
    """Scale the ink inside ``bounds`` to a 20-px box, thickening hairlines and thinning blobs."""
    top, bottom, left, right = bounds
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    longest = max(h, w)
    width = _stroke_width(crop > 127)
    if width == 0.0:
        # Only faint anti-aliased ink (a hairline on a huge image): measure what there is.
        width = _stroke_width(crop > 0)
    relative = width / longest

    wh, ww = _scaled_size(h, w, _WORK)
    work = _resize(ink, wh, ww, box=(left, top, right, bottom))
    # Area-averaging spreads a sub-pixel stroke into a faint one (as does a pale pencil); bring
    # the typical stroke back to full strength, judged by a high percentile of the inked pixels so
    # a few bright crossings do not set the level.
    inked = work[work > 0.05]
    if inked.size:
        q = int(0.9 * (inked.size - 1))
        level = float(np.partition(inked, q)[q])
        if 0.0 < level < 0.95:
            work = np.minimum(work * (1.0 / level), 1.0)

    if relative < _STROKE_THIN:
        # Growing by d px also grows the box by d: solve (w + d) / (L + d) = target for d.
        grow = (_STROKE_TARGET * _WORK - relative * _WORK) / (1.0 - _STROKE_TARGET)
        k = int(round(grow)) + 1
        if k > 1:
            work = _dilate(work, k)
    elif relative > _STROKE_THICK:
        shrink = (relative * _WORK - _STROKE_THICK_TARGET * _WORK) / (1.0 - _STROKE_THICK_TARGET)
        k = int(round(shrink)) + 1
        if k > 1:
            thinned = _erode(work, k) if k < min(work.shape) else None
            # Never erase the digit: a stroke much thicker on one part than another could vanish.
            if thinned is not None and float(thinned.max(initial=0.0)) > 0.5:
                work = thinned

    work = _crop(np.where(work > 0.02, work, 0.0).astype(np.float32))
    if work is None:
        return None
    bh, bw = _scaled_size(*work.shape, BOX)
    box = _resize(work, bh, bw)
    top = float(box.max(initial=0.0))
    if top <= 0.0:
        return None
    # MNIST stroke cores are at full intensity.
    return np.clip(box * (1.0 / top), 0.0, 1.0)


def _window_max(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Maximum over every run of k pixels along ``axis`` ("valid" size: n - k + 1).

    Doubling the window each step needs log2(k) + 1 passes instead of k.
    """

    def part(x: np.ndarray, start: int, stop: int) -> np.ndarray:
        return x[start:stop] if axis == 0 else x[:, start:stop]

    run, width = a, 1
    while width * 2 <= k:
        n = run.shape[axis]
        run = np.maximum(part(run, 0, n - width), part(run, width, n))
        width *= 2
    if width < k:
        n, extra = run.shape[axis], k - width
        run = np.maximum(part(run, 0, n - extra), part(run, extra, n))
    return run


def _dilate(a: np.ndarray, k: int) -> np.ndarray:
    """Grey dilation by a k x k square; the result grows by k - 1 so no ink is cut off."""
    padded = np.pad(a, k - 1)
    return _window_max(_window_max(padded, k, 0), k, 1)


def _erode(a: np.ndarray, k: int) -> np.ndarray:
    """Grey erosion by a k x k square; outside the image is paper, so the result shrinks."""
    return -_window_max(_window_max(-a, k, 0), k, 1)


def _centre(box: np.ndarray) -> np.ndarray:
    """Place ``box`` in a 28x28 frame with its centre of mass at (14, 14), kept inside the frame."""
    h, w = box.shape
    mass = float(box.sum())
    cy = float(box.sum(axis=1) @ np.arange(h)) / mass
    cx = float(box.sum(axis=0) @ np.arange(w)) / mass
    top = min(max(int(round(CENTRE - cy)), 0), SIZE - h)
    left = min(max(int(round(CENTRE - cx)), 0), SIZE - w)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    out[top : top + h, left : left + w] = box
    return out
