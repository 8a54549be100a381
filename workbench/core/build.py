"""Spec → Keras: layers, the Sequential model, optimizer and compile()."""

from __future__ import annotations

from workbench.core.graph import INPUT
from workbench.core.inspect import inspect_model
from workbench.core.layers import LAYER_CONSTRUCTION, make_layer
from workbench.core.spec import ModelSpec, SpecError, TrainConfig
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _


def build_model(spec: ModelSpec, name: str = "workbench_model"):
    """The Keras model of ``spec``: a ``keras.Sequential`` with an explicit Input for a plain
    stack, a functional ``keras.Model`` (input named ``"input"``, output the last layer) for a
    graph. Every Keras layer is named after its spec name (``layer3_dense`` when unnamed).

    Raises SpecError naming the first layer that cannot work (see ``inspect.inspect_model``).
    """
    with LAYER_CONSTRUCTION:
        report = inspect_model(spec)
        if report.error is not None:
            raise SpecError(report.error_text(), report.error_index)
        if not spec.layers:
            raise SpecError(_("the model has no layers"))
        _tf, keras = load_tensorflow()
        if spec.is_sequential():
            layers = [make_layer(layer, i) for i, layer in enumerate(spec.layers)]
            return keras.Sequential([keras.Input(shape=tuple(spec.input_shape)), *layers],
                                    name=name)
        tensors = {INPUT: keras.Input(shape=tuple(spec.input_shape), name=INPUT)}
        for node in spec.graph():
            layer = make_layer(spec.layers[node.index], node.index)
            args = [tensors[source] for source in node.inbound]
            tensors[node.name] = layer(args if node.merges else args[0])
        output = tensors[spec.names()[-1]]
        return keras.Model(tensors[INPUT], output, name=name)


def build_seeded_model(spec: ModelSpec, seed: int | None, name: str = "workbench_model"):
    """``set_seed(seed)`` then ``build_model``, with no other thread making layers in between."""
    with LAYER_CONSTRUCTION:
        set_seed(seed)
        return build_model(spec, name=name)


def make_optimizer(config: TrainConfig):
    _tf, keras = load_tensorflow()
    return keras.optimizers.get(config.optimizer_dict())


def compile_model(model, config: TrainConfig) -> None:
    metrics = list(config.metrics)
    model.compile(optimizer=make_optimizer(config), loss=config.loss, metrics=metrics)


def set_seed(seed: int | None) -> None:
    """Seed Python, numpy and TensorFlow so the same settings give the same run."""
    if seed is None:
        return
    _tf, keras = load_tensorflow()
    keras.utils.set_random_seed(int(seed))
