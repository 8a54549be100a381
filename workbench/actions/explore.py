"""Looking at a dataset before training: its splits as training will see them, the class balance,
one sample as a picture, and what the model's augmentation layers make of a sample.

Used by the dataset explorer tab (ui/dataset/); Qt-free. ``augment`` builds Keras layers, so it
runs on a task's worker thread, never on the GUI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.core.catalogue import layer_type
from workbench.core.datasets.splits import validation_indices
from workbench.core.spec import ModelSpec
from workbench.i18n import _

SPLITS = ("train", "validation", "test")
# Layers that may stand before the augmentation layers and are applied with them (a Reshape
# from 28×28 to 28×28×1, a Rescaling): they change how a sample looks to the augmentation.
_BEFORE = ("Reshape", "Rescaling", "Normalization")


@dataclass
class Splits:
    """Row indices of the dataset's arrays per split: ``train`` and ``validation`` index
    ``x_train`` (the seeded split training makes), ``test`` indexes ``x_test``."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return getattr(self, name)


def splits(dataset, validation_split: float = 0.0, seed: int | None = 0) -> Splits:
    """The three splits as ``actions.train`` makes them (``core.training.split_validation``)."""
    n = len(dataset.x_train)
    if validation_split > 0 and n >= 2:
        train, val = validation_indices(n, validation_split, seed)
        train, val = np.sort(train), np.sort(val)
    else:
        train, val = np.arange(n), np.arange(0)
    return Splits(train, val, np.arange(len(dataset.x_test)))


def arrays_of(dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) arrays a split's indices refer to."""
    if split == "test":
        return dataset.x_test, dataset.y_test
    return dataset.x_train, dataset.y_train


def labels(y: np.ndarray) -> np.ndarray:
    """Class indices of labels given as integers or one-hot rows."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(len(y)).astype(np.int64)


def class_counts(dataset, parts: Splits) -> dict[str, list[int]]:
    """Samples per class in each split (``[n]`` for a regression dataset)."""
    out = {}
    k = dataset.num_classes if dataset.is_classification else 0
    for name in SPLITS:
        index = parts[name]
        if not k:
            out[name] = [int(len(index))]
            continue
        y = labels(arrays_of(dataset, name)[1][index]) if len(index) else np.zeros(0, int)
        out[name] = np.bincount(y, minlength=k)[:k].tolist()
    return out


def label_text(dataset, y) -> str:
    """A sample's label as a person reads it: the class name, or the target value(s)."""
    if dataset.is_classification:
        cls = int(labels(np.asarray(y)[None])[0])
        names = dataset.class_names
        return names[cls] if 0 <= cls < len(names) else str(cls)
    values = np.asarray(y, dtype=float).reshape(-1)
    return ", ".join(f"{v:.3g}" for v in values[:4]) + (" …" if values.size > 4 else "")


def picture(x) -> np.ndarray:
    """One sample as a 2-D grey (H, W) or colour (H, W, 3) array, whatever its shape: images as
    they are, a flat vector of n = k² values as a k×k square, any other vector as a 1×n strip."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        return a[..., :3]
    if a.ndim == 2:
        return a
    flat = a.reshape(-1)
    side = math.isqrt(flat.size)
    if side * side == flat.size and side > 1:
        return flat.reshape(side, side)
    return flat.reshape(1, -1)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Scale a picture to 0-255 for display: [0, 1] images as they are, anything else stretched
    between its own minimum and maximum."""
    a = np.nan_to_num(np.asarray(image, dtype=np.float32))
    lo, hi = float(a.min()) if a.size else 0.0, float(a.max()) if a.size else 1.0
    if lo < 0.0 or hi > 1.0:
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def augmentation_spec(spec: ModelSpec) -> ModelSpec | None:
    """The model's leading augmentation layers (with a Reshape/Rescaling before them) as a model
    of their own, or None when the model starts without any."""
    if not spec.is_sequential():
        return None
    prefix, found = [], False
    for layer in spec.layers:
        try:
            ltype = layer_type(layer.class_name)
        except KeyError:
            break
        if ltype.category == "Augmentation":
            found = True
        elif layer.class_name not in _BEFORE:
            break
        prefix.append(layer)
    while prefix and layer_type(prefix[-1].class_name).category != "Augmentation":
        prefix.pop()
    return ModelSpec(tuple(spec.input_shape), prefix) if found else None


def augmentation_problem(spec: ModelSpec) -> str | None:
    """Why the model's augmentation layers cannot make a preview, in a user's words (None when
    they can): a Reshape before them that no longer holds the samples (with its fix), or an
    image augmentation that gets samples without (height, width, channels). Keras's own words
    for these ("Expected image tensor to have rank 3 ... data.shape=(8, 784)") name its batch."""
    from workbench.core.fixes import reshape_fix

    prefix = augmentation_spec(spec)
    if prefix is None:
        return None
    shape = tuple(spec.input_shape)
    for i, layer in enumerate(prefix.layers):
        where = _("layer {number} ({class_name})").format(number=i + 1,
                                                          class_name=layer.class_name)
        if layer.class_name == "Reshape":
            target = tuple(layer.config.get("target_shape") or ())
            if -1 not in target and math.prod(target) != math.prod(shape):
                fix = reshape_fix(i, layer, shape)
                said = _("No preview: {where} cannot turn the samples' {shape} into {target}.")
                said = said.format(where=where, shape=_dims(shape), target=_dims(target))
                return said + " " + (
                    _("The Model tab offers its fix: Reshape to {shape}.").format(
                        shape=_dims(fix.changes["target_shape"])) if fix else
                    _("Change its target on the Model tab."))
            shape = target
        elif layer_type(layer.class_name).input_rank not in (None, len(shape)):
            picture = _as_picture(shape)
            said = _("No preview: {where} works on pictures (height, width, channels), and the "
                     "samples reach it as {shape}").format(where=where, shape=_dims(shape))
            return said + (_("; a Reshape to {shape} before it makes them pictures.").format(
                shape=_dims(picture)) if picture else ".")
    return None


def _dims(shape) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def _as_picture(shape) -> tuple | None:
    """The picture a sample of ``shape`` is: (h, w) → (h, w, 1); a square vector → (s, s, 1)."""
    if len(shape) == 2:
        return (*shape, 1)
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    return (side, side, 1) if side and side * side == shape[0] else None


def augment(spec: ModelSpec, sample, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` random augmentations of one sample, as training makes them (``training=True``):
    an array of ``n`` pictures. Builds Keras layers: call it on a worker thread."""
    from workbench.core.build import build_seeded_model

    prefix = augmentation_spec(spec)
    if prefix is None:
        raise ValueError(_("the model has no augmentation layers at its start"))
    model = build_seeded_model(prefix, seed, name="augmentation_preview")
    batch = np.repeat(np.asarray(sample, dtype=np.float32)[None], n, axis=0)
    out = np.asarray(model(batch, training=True))
    return np.stack([picture(image) for image in out])
