"""Spec entry → Keras layer, and the one lock around everything that creates Keras layers."""

from __future__ import annotations

import threading

from workbench.core.errors import reason_lines
from workbench.core.graph import auto_name
from workbench.core.spec import LayerSpec, SpecError
from workbench.core.tf_loader import load_tensorflow

# Keras draws each new layer's seeds from Python's global ``random``, so a seeded build repeats
# only if no other thread makes layers between the seeding and the build (the GUI inspects edits,
# evaluates and loads models while a run starts). Whatever makes Keras layers holds this lock:
# build_model, inspect_model, modelio.load_model; build_seeded_model holds it across both steps.
LAYER_CONSTRUCTION = threading.RLock()


def make_layer(layer: LayerSpec, index: int | None = None):
    """A new Keras layer for one spec entry (Keras checks the arguments)."""
    _tf, keras = load_tensorflow()
    cls = getattr(keras.layers, layer.class_name)
    config = layer.keras_config()
    if layer.name is not None:
        config["name"] = layer.name
    elif index is not None:
        # Named after the row in the layer stack ("layer3_dense"), not Keras's global counter
        # ("dense_8"), so the weights and activations views speak of the layers the user sees.
        config["name"] = auto_name(index, layer.class_name)
    for key in ("kernel_regularizer", "bias_regularizer"):
        if config.get(key) is not None:
            config[key] = keras.regularizers.deserialize(config[key])
    try:
        return cls(**config)
    except (TypeError, ValueError) as exc:
        where = f"layer {index + 1} ({layer.class_name})" if index is not None else layer.class_name
        raise SpecError(f"{where}: {reason_lines(exc)[0]}", index) from exc

