"""Keras model → ModelSpec: a Sequential model made anywhere becomes an editable layer stack.

Each layer's ``get_config()`` is mapped through the catalogue: catalogue parameters are kept (with
Keras's serialised initializers and regularizers normalised), every other argument must still have
Keras's default value, or the model could not be rebuilt the same way and it opens read-only.
Models that are not a plain stack (functional, multi-branch) also open read-only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.catalogue import CATALOGUE
from workbench.core.spec import LayerSpec, ModelSpec, SpecError, TrainConfig
from workbench.core.tf_loader import load_tensorflow

# Config keys that never change what the layer computes once its weights are set.
_IGNORED = {"name", "trainable", "dtype", "seed", "build_config", "registered_name"}


class ModelImportError(Exception):
    """A readable reason a Keras model cannot become an editable layer stack."""


@dataclass
class ImportedModel:
    """A model opened from a file: editable (``spec`` set) or read-only (``reason`` says why)."""

    model: Any
    spec: ModelSpec | None
    training: TrainConfig | None
    reason: str = ""
    kind: str = "sequential"  # sequential | functional

    @property
    def editable(self) -> bool:
        return self.spec is not None


def _plain(value: Any) -> Any:
    """Tuples to lists, through JSON, so configs written by Keras and built here compare equal."""
    return json.loads(json.dumps(value, default=str))


def _short(value: Any) -> str:
    """``L2(l2=0.01)`` for a serialised Keras object, ``repr`` otherwise."""
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        args = ", ".join(f"{k}={v!r}" for k, v in (value.get("config") or {}).items())
        return f"{value['class_name']}({args})"
    return repr(value)


def _round32(value: float) -> float:
    """Keras stores hyper-parameters as float32: 0.05 comes back as 0.05000000074505806."""
    return float(f"{value:.7g}")


def _input_shape(model, config: dict) -> tuple[int, ...]:
    layers = config.get("layers") or []
    shape = None
    if layers and layers[0].get("class_name") == "InputLayer":
        cfg = layers[0].get("config") or {}
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if shape is None:
        shape = config.get("build_input_shape")
    if shape is None:
        try:
            shape = model.input_shape
        except (AttributeError, ValueError):
            raise ModelImportError("the model has no known input shape") from None
    shape = list(shape)[1:]
    if not shape or any(not isinstance(v, int) or v < 1 for v in shape):
        raise ModelImportError(
            f"the input shape {tuple(shape)} has sizes left open; the editor needs fixed sizes"
        )
    return tuple(shape)


def _layer_spec(index: int, item: dict) -> LayerSpec:
    """One ``{"class_name", "config"}`` entry of a Sequential config → LayerSpec."""
    from workbench.core.layers import make_layer

    class_name = item.get("class_name")
    where = f"layer {index + 1} ({class_name})"
    if class_name not in CATALOGUE or item.get("module") not in (None, "keras.layers"):
        raise ModelImportError(
            f"{where}: the layer type {class_name!r} is not one the editor supports"
        )
    config = dict(item.get("config") or {})
    if config.get("trainable") is False:
        raise ModelImportError(f"{where}: the layer is frozen (trainable=False)")
    ltype = CATALOGUE[class_name]
    kept = {p.name: config[p.name] for p in ltype.params if p.name in config}
    for param in ltype.params:
        value = kept.get(param.name)
        # Augmentation layers write a factor f as the range [-f, f]; we keep f.
        if (param.kind == "float" and isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(v, (int, float)) for v in value) and value[0] == -value[1]):
            kept[param.name] = abs(value[1])
    strides = ltype.param("strides")
    if strides is not None and strides.optional and kept.get("strides") == kept.get("pool_size"):
        kept["strides"] = None  # Keras writes the default (the pool size) out; we keep "default"
    try:
        spec = LayerSpec.from_dict({"class_name": class_name, "config": kept}, index)
    except SpecError as exc:
        raise ModelImportError(str(exc)) from None
    # Everything outside the catalogue must be what Keras gives by default.
    reference = _plain(make_layer(spec, index).get_config())
    original = _plain(config)
    for key, value in original.items():
        if key in _IGNORED or ltype.param(key) is not None:
            continue
        if key.endswith("_initializer"):
            continue  # only matters before training; the file's weights are used as they are
        if key in reference and reference[key] != value:
            raise ModelImportError(
                f"{where}: {key}={_short(value)} is not supported by the editor "
                f"(it can only keep {_short(reference[key])})"
            )
        if key not in reference and value not in (None, False, [], {}):
            raise ModelImportError(f"{where}: the setting {key}={_short(value)} is not supported")
    return spec


def spec_from_keras(model) -> ModelSpec:
    """The editable spec of a Keras ``Sequential`` model, or ModelImportError saying why not."""
    _, keras = load_tensorflow()
    if not isinstance(model, keras.Sequential):
        kind = "functional" if isinstance(model, keras.Model) else type(model).__name__
        raise ModelImportError(f"a {kind} model is not a plain stack of layers")
    config = model.get_config()
    input_shape = _input_shape(model, config)
    items = [item for item in config.get("layers") or [] if item.get("class_name") != "InputLayer"]
    if not items:
        raise ModelImportError("the model has no layers")
    spec = ModelSpec(input_shape, [_layer_spec(i, item) for i, item in enumerate(items)])
    return spec


def check_weights_fit(spec: ModelSpec, model) -> None:
    """ModelImportError unless a model built from ``spec`` takes ``model``'s weights as they are."""
    from workbench.core.build import build_model

    try:
        rebuilt = build_model(spec, name="imported")
    except SpecError as exc:
        raise ModelImportError(f"the model cannot be rebuilt: {exc}") from None
    ours = [tuple(w.shape) for w in rebuilt.weights]
    theirs = [tuple(w.shape) for w in model.weights]
    if ours != theirs:
        raise ModelImportError("the rebuilt model's weights do not match the file's")


def training_from_keras(model) -> TrainConfig | None:
    """The compile settings saved with a model (optimizer, loss, metrics) when we know them."""
    try:
        compiled = model.get_compile_config() or {}
    except Exception:  # noqa: BLE001 - an uncompiled model has none
        return None
    if not compiled:
        return None
    data: dict[str, Any] = {}
    opt = compiled.get("optimizer")
    if isinstance(opt, dict):
        opt_cfg = opt.get("config") or {}
        lr = opt_cfg.get("learning_rate")
        data["optimizer"] = {
            "class_name": opt.get("class_name"),
            "config": {k: _round32(v) if isinstance(v, float) else v
                       for k, v in (("learning_rate", lr),
                                    ("momentum", opt_cfg.get("momentum")),
                                    ("nesterov", opt_cfg.get("nesterov")))
                       if isinstance(v, (int, float))},
        }
    elif isinstance(opt, str):
        data["optimizer"] = opt
    if isinstance(compiled.get("loss"), str):
        data["loss"] = compiled["loss"]
    metrics = compiled.get("metrics")
    if isinstance(metrics, list):
        data["metrics"] = [m for m in metrics if isinstance(m, str)]
    try:
        return TrainConfig.from_dict(data)
    except SpecError:
        return None


def import_model(model) -> ImportedModel:
    """Editable when the model is a supported Sequential stack, read-only otherwise."""
    _, keras = load_tensorflow()
    kind = "sequential" if isinstance(model, keras.Sequential) else "functional"
    try:
        spec = spec_from_keras(model)
        check_weights_fit(spec, model)
    except ModelImportError as exc:
        return ImportedModel(model, None, None, str(exc), kind)
    return ImportedModel(model, spec, training_from_keras(model), "", kind)


def import_model_file(path: str | os.PathLike) -> ImportedModel:
    """Load a ``.keras`` / ``.h5`` file safely (``modelio.load_model``, safe_mode on) and import it.

    Raises ``modelio.ModelFileError`` for a missing, corrupt or unsafe file.
    """
    from workbench.core.modelio import ModelFileError, load_model

    try:
        model = load_model(Path(path), compile=True)
    except ModelFileError as exc:
        if "refused" in str(exc) or "no such file" in str(exc):
            raise
        # A compile setting Keras cannot restore (a custom loss) need not stop the model itself.
        try:
            model = load_model(Path(path), compile=False)
        except ModelFileError:
            raise exc from None
    return import_model(model)
