"""A folder with one sub-folder of images per class, decoded at load or, when big, as read.

Every image goes through ``safe_io.open_image`` (a regular file, raster formats only by its
content, at most ``MAX_IMAGE_PIXELS``), whether at load or in the middle of training; a refusal
is a DatasetError that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from workbench.core.datasets.dataset import Dataset, DatasetError
from workbench.core.datasets.files import _check_held_out
from workbench.core.datasets.splits import held_out_size, stratified_split
from workbench.core.safe_io import (
    FileRefused,
    available_memory,
    check_fits_memory,
    open_image,
    shown,
)
from workbench.i18n import N_, _

# The raster formats a class folder's images may have (decoded by content: safe_io.open_image).
IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
# From this many images a folder is listed, not decoded, at load (decoding takes ~0.3 ms an
# image: 4,000 open in about a second either way); its images are decoded when read.
LAZY_IMAGES = 4_000
# Decoded images of a lazy folder are kept (uint8) up to this many bytes.
CACHE_BYTES = 512 << 20
# How many images (spread over the folder) a lazy load decodes to learn the mode and size.
SHAPE_SAMPLE = 64
# The Pillow formats each file name ending stands for (to name a file whose content differs).
_SUFFIX_FORMATS = {".bmp": "BMP", ".gif": "GIF", ".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG",
                   ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
# Channels of a lossy grey image may differ by rounding; beyond this the image is colour.
_GREY_TOLERANCE = 2


def load_image_folder(folder: Path, seed: int = 0, lazy: bool | None = None) -> Dataset:
    """One class per sub-folder, each image decoded by Pillow as a raster image by its content
    (safe_io.open_image: never PostScript, a special file or a decompression bomb).

    The folder is grayscale when every image's content is grey (a grey WebP saved as ``.png`` is
    grey too), else colour; every image is decoded to that one mode. Grayscale stays one channel
    (stored without the channel axis, like MNIST); images keep their size when they share one,
    else all are resized to the most common size.

    ``lazy`` (default: from ``LAZY_IMAGES`` images): only the file names are read at load, the
    mode and size come from ``SHAPE_SAMPLE`` images spread over the folder, and each image is
    decoded when a reader asks for it (``lazy.Samples``); splits and labels are the same.
    """
    _check_class_links(folder)
    files = image_files(folder)
    if not files:
        raise DatasetError(
            _("{folder} has no images in class sub-folders (expected {name}/<class "
              "name>/<image>{image_formats}).").format(
                folder=shown(folder), name=shown(folder.name),
                image_formats='|'.join(IMAGE_FORMATS))
        )
    if len(files) < 2:
        raise DatasetError(_("{folder} has images for only one class; at least two are "
                             "needed.").format(folder=shown(folder)))
    paths = [path for class_paths in files.values() for path in class_paths]
    y = np.repeat(np.arange(len(files), dtype=np.int64), [len(p) for p in files.values()])
    lazy = len(paths) >= LAZY_IMAGES if lazy is None else lazy
    picked = (np.unique(np.linspace(0, len(paths) - 1, SHAPE_SAMPLE).astype(np.int64))
              if lazy else np.arange(len(paths)))
    images, odd = _decode_images([paths[i] for i in picked])
    (width, height), grayscale, sizes = common_shape(images)
    notices = []
    if sizes > 1:
        looked_at = (_(" of {count} looked at.").format(count=len(picked)) if lazy else ".")
        notices.append(_("Images have {sizes} different sizes; all were resized to "
                         "{width}x{height}, the most common size").format(
                           sizes=sizes, width=width, height=height) + looked_at)
    if odd:
        more = _(" and {count} more").format(count=len(odd) - 3) if len(odd) > 3 else ""
        shown_odd = ", ".join(odd[:3]) + more
        notices.append(_("Decoded by their content, not their name: {files}.").format(
                           files=shown_odd))
    train, test = stratified_split(y, held_out_size(len(y)), seed)
    _check_held_out(folder, test, y, "classification")
    if lazy:
        from workbench.core.datasets.lazy import Samples

        source = ImageFiles(folder, paths, grayscale, (width, height))
        x_train, x_test = Samples(source, train), Samples(source, test)
    else:
        try:
            x = stack_images(images, grayscale, (width, height))
        except MemoryError:
            raise DatasetError(_("{n_images:,} images of {width}x{height} do not fit in "
                                 "memory.").format(
                                   n_images=len(images), width=width, height=height)) from None
        x_train, x_test = x[train], x[test]
    colour = "grayscale" if grayscale else "colour"
    return Dataset(
        name=str(folder),
        x_train=x_train,
        y_train=y[train],
        x_test=x_test,
        y_test=y[test],
        task="classification",
        class_names=list(files),
        description=(
            _("{name}: {n_y:,} {colour} {width}x{height} images in {n_files} classes "
              "({n_train:,} train / {n_test:,} test").format(
                name=shown(folder.name), n_y=len(y), colour=colour, width=width,
                height=height, n_files=len(files), n_train=len(train), n_test=len(test))
            + (_(", read as used)") if lazy else ")")
        ),
        notice=" ".join(notices),
    )


class ImageFiles:
    """The folder's images as a source of ``lazy.Samples``: each decoded when first read, to
    the folder's mode and size, and kept as uint8 when they all fit in ``CACHE_BYTES`` (and a
    quarter of the free memory), so later epochs read memory instead of decoding again."""

    def __init__(self, folder: Path, paths: list[str], grayscale: bool, size):
        self.path, self.paths = Path(folder), paths
        self.count = len(paths)
        self.grayscale, self.size = grayscale, tuple(size)
        width, height = self.size
        self.sample_shape = (height, width) if grayscale else (height, width, 3)
        self.cache = self.cached = None
        needed = self.count * int(np.prod(self.sample_shape))
        if needed <= min(CACHE_BYTES, available_memory() // 4):
            # Zeroed pages cost no memory until an image is written into them.
            self.cache = np.zeros((self.count, *self.sample_shape), np.uint8)
            self.cached = np.zeros(self.count, bool)

    def read(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), *self.sample_shape), np.float32)
        missing = np.arange(len(rows))
        if self.cache is not None:
            kept = self.cached[rows]
            out[kept] = self.cache[rows[kept]]
            missing = missing[~kept]
        for i in missing:
            row = int(rows[i])
            pixels = fit_image(_decode(self.paths[row]), self.grayscale, self.size)
            out[i] = pixels
            if self.cache is not None:  # threads reading one row at once both write the same
                self.cache[row] = pixels
                self.cached[row] = True
        out /= np.float32(255.0)
        return out


def _check_class_links(folder: Path) -> None:
    """Refuse a class folder that links to the dataset folder or to a folder around it ("/",
    the home folder, ".."): reading it would read the dataset again and everything beside it,
    a whole disk's pictures. A link to another folder (a dataset assembled from elsewhere) is
    followed."""
    root = os.path.realpath(folder)
    for entry in os.listdir(folder):
        class_dir = os.path.join(folder, entry)
        if entry.startswith(".") or not os.path.islink(class_dir):
            continue
        target = os.path.realpath(class_dir)
        if root == target or root.startswith(target.rstrip(os.sep) + os.sep):
            raise DatasetError(_("{class_dir}: refused: the class folder links to "
                                 "{target}, which holds the dataset folder itself.").format(
                                   class_dir=shown(class_dir), target=shown(target)))


def image_files(folder: Path) -> dict[str, list[str]]:
    """Image files per class folder, sorted, hidden folders skipped. (The exported script
    holds this function too: codegen.py.)"""
    found = {}
    for entry in sorted(os.listdir(folder)):
        class_dir = os.path.join(folder, entry)
        if entry.startswith(".") or not os.path.isdir(class_dir):
            continue
        images = [
            os.path.join(root, name)
            for root, dirs, names in sorted(os.walk(class_dir))
            for name in sorted(names)
            if name.lower().endswith(IMAGE_FORMATS)
        ]
        if images:
            found[entry] = images
    return found


def _decode(path: str, odd: list[str] | None = None) -> np.ndarray:
    """One image as uint8 (H, W) when its content is grey, else (H, W, 3); ``odd`` collects
    the files whose content is not what their name says."""
    try:
        image = open_image(path)
    except FileRefused as exc:
        raise DatasetError(f"{exc}.") from None
    with image:
        if odd is not None and _SUFFIX_FORMATS.get(Path(path).suffix.lower()) != image.format:
            odd.append(f"{shown(os.path.basename(path))} is {image.format}")
        try:
            return image_pixels(image)
        except ValueError as exc:  # a grey image beyond its type's range (see image_pixels)
            raise DatasetError(_("{path}: refused: {exc}.").format(
                                   path=shown(path), exc=exc)) from None


def image_pixels(image) -> np.ndarray:
    """A decoded Pillow image as uint8 (H, W) when its content is grey, else (H, W, 3); alpha
    is dropped, as Keras's decoding does. (The exported script holds this function too.)

    Grey images deeper than 8 bits are scaled by their type's range, not clipped at 255 as
    Pillow's ``convert("L")`` does: 16-bit (and 32-bit integer) values by 0..65535, floats by
    0..1 when they all lie there, else by 0..255. Values outside those ranges (negative, or a
    32-bit image beyond 16 bits) raise ValueError with the reason."""
    if image.mode in ("F", "I") or image.mode.startswith("I;16"):
        values = np.asarray(image)
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if image.mode == "F":
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError(_("the float image holds NaN or infinite values"))
            top = 1.0 if high <= 1.0 else 255.0
            what = _("a float image is read as 0..1 or 0..255")
        else:
            top = 65535.0
            what = _("a 16-bit image is read as 0..65535")
        if low < 0 or high > top:
            raise ValueError(_("its values run from {low:g} to {high:g}; {what}").format(
                                 low=low, high=high, what=what))
        return np.rint(values.astype(np.float32) * np.float32(255.0 / top)).astype(np.uint8)
    if image.mode in _GRAY_MODES:
        return np.asarray(image.convert("L"))
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb)
    spread = pixels.max(axis=-1).astype(np.int16) - pixels.min(axis=-1)
    if not spread.size or spread.max() <= _GREY_TOLERANCE:
        return np.asarray(rgb.convert("L"))
    return pixels


def _decode_images(paths: list[str]):
    """``(arrays, odd)``: each image decoded (``_decode``), the free memory checked as they
    pile up; the files whose content is not what their name says."""
    images, odd = [], []
    held = 0
    for path in paths:
        pixels = _decode(path, odd)
        images.append(pixels)
        held += pixels.nbytes
        if len(images) % 64 == 0:  # the float32 copy will need 4 bytes per pixel value
            try:
                check_fits_memory(Path(path).parent, 4 * held, N_("the folder's images"))
            except FileRefused as exc:
                raise DatasetError(f"{exc}.") from None
    return images, odd


def common_shape(images: list[np.ndarray]):
    """``((width, height), grayscale, sizes)``: the folder's most common image size, whether
    every image is grey, how many sizes there are. (The exported script holds this too.)"""
    import collections

    sizes = collections.Counter(image.shape[1::-1] for image in images)
    return sizes.most_common(1)[0][0], all(image.ndim == 2 for image in images), len(sizes)


def fit_image(pixels: np.ndarray, grayscale: bool, size) -> np.ndarray:
    """One image in the folder's mode (grey repeated into RGB; colour made grey, which only a
    lazy load meets, for an image its sample did not see) and size. (The exported script holds
    this function too.)"""
    from PIL import Image

    width, height = size
    if not grayscale and pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    elif grayscale and pixels.ndim == 3:
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))
    if pixels.shape[:2] != (height, width):
        pixels = np.asarray(Image.fromarray(pixels).resize(
            (width, height), Image.Resampling.BILINEAR))
    return pixels


def stack_images(images: list[np.ndarray], grayscale: bool, size) -> np.ndarray:
    """One float32 array in [0, 1]: every image in the folder's mode, resized to ``size``.
    (The exported script holds this function too.)"""
    width, height = size
    shape = (len(images), height, width) if grayscale else (len(images), height, width, 3)
    x = np.empty(shape, dtype=np.float32)
    for i, pixels in enumerate(images):
        x[i] = fit_image(pixels, grayscale, size)
    x /= np.float32(255.0)
    return x
