"""Keras model → ModelSpec: a Sequential model made anywhere becomes an editable layer stack, a
functional one an editable graph (each layer named, with its ``inbound`` names).

Each layer's ``get_config()`` is mapped through the catalogue: catalogue parameters are kept (with
Keras's serialised initializers and regularizers normalised), every other argument must still have
Keras's default value, or the model could not be rebuilt the same way and it opens read-only.
A functional model opens read-only, with the reason, when it has several inputs or outputs, a
layer used twice (shared weights), a layer outside the table or a call with extra arguments.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.catalogue import CATALOGUE
from workbench.core.graph import INPUT, NAME_PATTERN, fresh_name
from workbench.core.optimizers import OPTIMIZER_ARGS
from workbench.core.spec import LayerSpec, ModelSpec, SpecError, TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _

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
            raise ModelImportError(_("the model has no known input shape")) from None
    shape = list(shape)[1:]
    if not shape or any(not isinstance(v, int) or v < 1 for v in shape):
        raise ModelImportError(
            _("the input shape {shape} has sizes left open; the editor needs fixed sizes").format(
                shape=tuple(shape))
        )
    return tuple(shape)


def _layer_spec(index: int, item: dict, name: str | None = None,
                inbound: list[str] | None = None) -> LayerSpec:
    """One ``{"class_name", "config"}`` entry of a model's config → LayerSpec."""
    from workbench.core.layers import make_layer

    class_name = item.get("class_name")
    where = f"layer {index + 1} ({class_name})"
    if class_name not in CATALOGUE or item.get("module") not in (None, "keras.layers"):
        raise ModelImportError(
            _("{where}: the layer type {class_name!r} is not one the editor supports").format(
                where=where, class_name=class_name)
        )
    config = dict(item.get("config") or {})
    if config.get("trainable") is False:
        raise ModelImportError(_("{where}: the layer is frozen (trainable=False)").format(
                                   where=where))
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
        data = {"class_name": class_name, "config": kept}
        if name is not None:
            data.update(name=name, inbound=inbound)
        spec = LayerSpec.from_dict(data, index)
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
                _("{where}: {key}={short} is not supported by the editor (it can only "
                  "keep {short2})").format(
                    where=where, key=key, short=_short(value),
                    short2=_short(reference[key]))
            )
        if key not in reference and value not in (None, False, [], {}):
            raise ModelImportError(_("{where}: the setting {key}={short} is not supported").format(
                                       where=where, key=key, short=_short(value)))
    return spec


def _history(tensor: Any, where: str) -> str:
    """The layer name a serialised Keras tensor comes from (its first output, first call)."""
    config = tensor.get("config") if isinstance(tensor, dict) else None
    history = config.get("keras_history") if isinstance(config, dict) else None
    if not isinstance(history, list) or len(history) != 3 or list(history[1:]) != [0, 0]:
        raise ModelImportError(_("{where}: it takes something other than one layer's "
                                 "output").format(where=where))
    return history[0]


def _functional_spec(model, config: dict) -> ModelSpec:
    """The editable graph of a functional model (one input, one output, each layer once)."""
    inputs, outputs = config.get("input_layers") or [], config.get("output_layers") or []
    if isinstance(inputs, list) and inputs and not isinstance(inputs[0], list):
        inputs = [inputs]
    if isinstance(outputs, list) and outputs and not isinstance(outputs[0], list):
        outputs = [outputs]
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelImportError(_("the model has {n_inputs} inputs and {n_outputs} "
                                 "outputs; the editor builds models with one of each").format(
                                   n_inputs=len(inputs), n_outputs=len(outputs)))
    items = config.get("layers") or []
    input_name = inputs[0][0]
    rename = {input_name: INPUT}
    for item in items:  # names the spec can carry (a letter first, no spaces or dots)
        original = item.get("name") or (item.get("config") or {}).get("name") or "layer"
        if item.get("class_name") == "InputLayer":
            if original != input_name:
                raise ModelImportError(_("the model has more than one input"))
            continue
        name = original if NAME_PATTERN.fullmatch(original) and original != INPUT else (
            fresh_name("layer", rename.values()))
        rename[original] = name if name not in rename.values() else fresh_name(
            name, rename.values())
    layers = []
    for item in items:
        if item.get("class_name") == "InputLayer":
            continue
        index = len(layers)
        where = f"layer {index + 1} ({item.get('class_name')} {item.get('name')!r})"
        nodes = item.get("inbound_nodes") or []
        if len(nodes) != 1:
            raise ModelImportError(_("{where}: the layer is used {n_nodes} times "
                                     "(shared weights); the editor gives each layer one "
                                     "place").format(where=where, n_nodes=len(nodes)))
        node = nodes[0] if isinstance(nodes[0], dict) else {}
        args, kwargs = node.get("args") or [], node.get("kwargs") or {}
        if len(args) != 1 or any(v not in (None, False) for v in kwargs.values()):
            raise ModelImportError(_("{where}: it is called with extra arguments").format(
                                       where=where))
        tensors = args[0] if isinstance(args[0], list) else [args[0]]
        inbound = [rename.get(_history(t, where), "?") for t in tensors]
        layers.append(_layer_spec(index, item, rename[item.get("name")], inbound))
    output = rename.get(outputs[0][0])
    last = next((i for i, layer in enumerate(layers) if layer.name == output), None)
    if last is None:
        raise ModelImportError(_("the model's output is not one of its layers"))
    layers.append(layers.pop(last))  # the output is the last layer
    for i, layer in enumerate(layers):  # "takes the layer before" is said by saying nothing
        if layer.inbound == [layers[i - 1].name if i else INPUT]:
            layer.inbound = None
    try:
        return ModelSpec.from_dict({"input_shape": list(_input_shape(model, config)),
                                    "layers": [layer.to_dict() for layer in layers]})
    except SpecError as exc:
        raise ModelImportError(str(exc)) from None


def spec_from_keras(model) -> ModelSpec:
    """The editable spec of a Keras ``Sequential`` model (a stack) or of a functional one (a
    graph), or ModelImportError saying why not."""
    _tf, keras = load_tensorflow()
    if not isinstance(model, keras.Sequential):
        if not isinstance(model, keras.Model) or type(model).__name__ != "Functional":
            raise ModelImportError(_("a {name} model (a subclass with its own code) is "
                                     "not a graph of table layers").format(
                                       name=type(model).__name__))
        return _functional_spec(model, model.get_config())
    config = model.get_config()
    input_shape = _input_shape(model, config)
    items = [item for item in config.get("layers") or [] if item.get("class_name") != "InputLayer"]
    if not items:
        raise ModelImportError(_("the model has no layers"))
    spec = ModelSpec(input_shape, [_layer_spec(i, item) for i, item in enumerate(items)])
    return spec


def check_weights_fit(spec: ModelSpec, model) -> None:
    """ModelImportError unless a model built from ``spec`` takes ``model``'s weights as they are."""
    from workbench.core.build import build_model

    try:
        rebuilt = build_model(spec, name="imported")
    except SpecError as exc:
        raise ModelImportError(_("the model cannot be rebuilt: {exc}").format(exc=exc)) from None
    ours = [tuple(w.shape) for w in rebuilt.weights]
    theirs = [tuple(w.shape) for w in model.weights]
    if ours != theirs:
        raise ModelImportError(_("the rebuilt model's weights do not match the file's"))
    ours = [layer.name for layer in rebuilt.layers if layer.weights]
    theirs = [layer.name for layer in model.layers if layer.weights]
    if set(ours) == set(theirs) and ours != theirs:  # weights are handed over in list order
        raise ModelImportError(_("the rebuilt model orders its layers' weights otherwise"))


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
        # Every argument our table knows for it that is not Keras's default (Keras writes them
        # all); floats as the float32 Keras keeps them, shortest.
        defaults = OPTIMIZER_ARGS.get(opt.get("class_name"), {})
        config = {k: _round32(v) if isinstance(v, float) else v for k, v in opt_cfg.items()
                  if k in defaults and k != "name"}
        if not isinstance(config.get("learning_rate"), (int, float)):  # a schedule: not kept
            config.pop("learning_rate", None)
        data["optimizer"] = {
            "class_name": opt.get("class_name"),
            "config": {k: v for k, v in config.items()
                       if v != defaults[k] or k == "learning_rate"},
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
    _tf, keras = load_tensorflow()
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
        if exc.refused:  # the file itself, not a compile setting Keras cannot restore
            raise
        # A compile setting Keras cannot restore (a custom loss) need not stop the model itself.
        try:
            model = load_model(Path(path), compile=False)
        except ModelFileError:
            raise exc from None
    return import_model(model)
