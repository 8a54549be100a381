"""Per-layer output shape and parameter count, computed by Keras itself.

Each layer is called on the symbolic outputs of the layers it takes (its ``inbound``; in a plain
stack, the one before), in topological order, exactly as Keras builds a model. A failure is
translated into plain words at that layer, with a ``Fix`` when one is obvious; the layers that
depend on it are left unknown, independent branches still get their shapes. A spec that is not a
graph (a cycle, a dangling name, ...) and a layer whose output reaches nothing are errors too.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.core.catalogue import CATALOGUE, RANK_NAMES
from workbench.core.errors import plain_text, reason_lines
from workbench.core.fixes import Fix, explain_merge, insert_fix, reshape_fix
from workbench.core.graph import INPUT, auto_name, unused
from workbench.core.layers import LAYER_CONSTRUCTION, make_layer
from workbench.core.spec import LayerSpec, ModelSpec, SpecError
from workbench.core.tf_loader import load_tensorflow
from workbench.i18n import _


@dataclass
class LayerInfo:
    """One layer's inspection; ``index`` is its row in ``spec.layers`` (``report.layers`` keeps
    the spec's row order), ``name`` its graph name, ``inbound`` the names it takes."""

    index: int
    class_name: str
    summary: str
    output_shape: tuple[int | None, ...] | None = None  # without the batch axis
    params: int | None = None
    error: str | None = None
    fix: LayerSpec | None = None  # a layer to insert before this one that would make it work
    name: str = ""
    inbound: tuple[str, ...] = ()
    repair: Fix | None = None  # the one-click fix (``fix`` is its inserted layer, if any)


@dataclass
class ModelInspection:
    input_shape: tuple[int, ...]
    layers: list[LayerInfo] = field(default_factory=list)
    error_index: int | None = None  # the first failing layer in topological order
    error: str | None = None
    order: list[int] = field(default_factory=list)  # rows in topological order

    def by_name(self, name: str) -> LayerInfo | None:
        return next((info for info in self.layers if info.name == name), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def total_params(self) -> int:
        return sum(info.params or 0 for info in self.layers)

    @property
    def output_shape(self) -> tuple | None:
        if not self.ok or not self.layers:
            return None if not self.ok else self.input_shape
        return self.layers[-1].output_shape

    def error_text(self) -> str:
        if self.error is None:
            return ""
        if self.error_index is None:
            return self.error
        info = self.layers[self.error_index]
        named = "" if info.name == auto_name(info.index, info.class_name) else f" {info.name!r}"
        return f"layer {self.error_index + 1} ({info.class_name}{named}): {self.error}"

    def memory_bytes(self, batch_size: int = 32) -> int:
        """Rough float32 memory for weights, optimizer state (×3) and one batch of activations."""
        activations = 0
        for info in self.layers:
            if info.output_shape:
                activations += math.prod(d or 1 for d in info.output_shape)
        return 4 * (3 * self.total_params + batch_size * activations)


def format_shape(shape) -> str:
    if shape is None:
        return "?"
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _plain_shape(shape) -> str:
    return format_shape(shape)


def explain(layer: LayerSpec, input_shape: tuple,
            exc: BaseException) -> tuple[str, LayerSpec | None]:
    """Keras's reason, in plain words, and a layer to insert that would fix it when obvious."""
    name = layer.class_name
    text = plain_text(exc)
    got = _plain_shape(input_shape)
    size = math.prod(d for d in input_shape if d) if input_shape else 0
    rank = len(input_shape)
    if isinstance(exc, SpecError):
        return str(exc).split(": ", 1)[-1], None
    ltype = CATALOGUE.get(name)
    needs = ltype.input_rank if ltype is not None else None
    if needs is not None and rank != needs:
        fix = None
        if needs == 3 and rank in (1, 2):
            side = math.isqrt(size)
            if rank == 2:
                fix = LayerSpec.create("Reshape", target_shape=[*input_shape, 1])
            elif side * side == size:
                fix = LayerSpec.create("Reshape", target_shape=[side, side, 1])
        elif needs == 2 and rank == 3:
            fix = LayerSpec.create("Reshape", target_shape=[input_shape[0], -1])
        return (_("{name} needs {needs}; it gets {got}. Add a Reshape before it.").format(
                    name=name, needs=_(RANK_NAMES[needs]), got=got), fix)
    if "would be zero or negative" in text or "negative dimension" in text.lower():
        what = (_("kernel") if "kernel" in layer.config or "kernel_size" in layer.config
                else _("window"))
        return (_("{name}'s {what} is larger than its input {got}: the output would be "
                  "empty. Use a smaller size, padding 'same', or fewer pooling layers "
                  "before it.").format(name=name, what=what, got=got), None)
    if name == "Reshape" and "total size" in text:
        target = layer.config.get("target_shape", [])
        want = math.prod(d for d in target if d != -1)
        return (_("Reshape cannot turn {got} ({size} values) into {target} ({want} "
                  "values); the number of values must stay the same.").format(
                    got=got, size=size, target=format_shape(target), want=want), None)
    match = re.search(r"expected (?:min_)?ndim=(\d+), found ndim=(\d+)", text)
    if match:
        return (_("{name} expects inputs with {axes} axes; it gets {got}.").format(
                    name=name, axes=int(match.group(1)) - 1, got=got), None)
    return reason_lines(exc)[0], None


# (class name, settings, input shapes) -> (output shape, params), as Keras computed them: a
# layer's output shape and weight count depend on nothing else, so after an edit only the edited
# layer and those whose inputs changed are asked again (a 30-node graph: see bench_graph.py).
_KNOWN: OrderedDict[tuple, tuple[tuple, int]] = OrderedDict()
_KNOWN_SIZE = 4096


def clear_cache() -> None:
    """Forget the shapes Keras computed (benchmarks compare with and without)."""
    with LAYER_CONSTRUCTION:
        _KNOWN.clear()


def _known_key(layer: LayerSpec, inputs: list[tuple]) -> tuple | None:
    try:
        return layer.class_name, json.dumps(layer.config, sort_keys=True), tuple(inputs)
    except (TypeError, ValueError):
        return None


def inspect_model(spec: ModelSpec,
                  check: Callable[[], None] | None = None) -> ModelInspection:
    """Shapes and parameter counts per layer, or the first layer that cannot work and why.

    ``check()`` is called before each layer (and before waiting for the layer lock): a caller
    whose answer is no longer wanted (the GUI's inspection task after a newer edit) raises from
    it to stop early; what Keras computed up to there stays in the cache."""
    if check is not None:
        check()
    with LAYER_CONSTRUCTION:
        # The layers made here draw seeds from Python's global random; put it back, so that
        # looking at a model never changes what a seeded build (or an exported script) makes.
        state = random.getstate()
        try:
            return _inspect_model(spec, check)
        finally:
            random.setstate(state)


def _inspect_model(spec: ModelSpec, check: Callable[[], None] | None) -> ModelInspection:
    _tf, keras = load_tensorflow()
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # another Keras layout: the plain (3x slower) path gives the same answer
        return _inspect(spec, keras, check)

    # In a stateless scope Keras records each weight's shape without creating (and randomly
    # initialising) a TensorFlow variable: 3x faster, same shapes, counts and errors. The
    # deferred variables it registers are dropped afterwards; nothing ever uses them.
    pending = list(global_state.get_global_attribute("uninitialized_variables") or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            return _inspect(spec, keras, check)
    finally:
        global_state.set_global_attribute("uninitialized_variables", pending)


def _inspect(spec: ModelSpec, keras, check: Callable[[], None] | None) -> ModelInspection:
    report = ModelInspection(tuple(spec.input_shape))
    for i, layer in enumerate(spec.layers):
        report.layers.append(LayerInfo(i, layer.class_name, layer.summary(),
                                       name=layer.name or auto_name(i, layer.class_name)))
    try:
        nodes = spec.graph()
    except SpecError as exc:
        report.error_index = exc.layer_index
        report.error = str(exc).split(": ", 1)[-1] if exc.layer_index is not None else str(exc)
        if exc.layer_index is not None:
            report.layers[exc.layer_index].error = report.error
        return report
    report.order = [n.index for n in nodes]
    try:
        tensors = {INPUT: keras.Input(shape=tuple(spec.input_shape))}
    except Exception as exc:  # noqa: BLE001 - an unusable input shape is a user error
        report.error = _("the input shape {input_shape} is not usable: {exc}").format(
                           input_shape=format_shape(spec.input_shape), exc=exc)
        return report
    shapes = {INPUT: tuple(spec.input_shape)}
    by_name = {n.name: n for n in nodes}
    for node in nodes:
        if check is not None:
            check()
        info = report.layers[node.index]
        info.inbound = node.inbound
        if any(s not in shapes for s in node.inbound):
            continue  # it depends on a layer that failed
        layer = spec.layers[node.index]
        key = _known_key(layer, [shapes[s] for s in node.inbound])
        if key in _KNOWN:
            _KNOWN.move_to_end(key)
            info.output_shape, info.params = _KNOWN[key]
            shapes[node.name] = info.output_shape
            continue
        try:
            layer.validate(node.index)
            keras_layer = make_layer(layer, node.index)
            args = [_tensor(keras, tensors, shapes, s) for s in node.inbound]
            tensor = keras_layer(args if node.merges else args[0])
            outputs = tensor if not isinstance(tensor, (list, tuple)) else tensor[0]
            info.output_shape = tuple(outputs.shape[1:])
            info.params = int(keras_layer.count_params())
            tensors[node.name], shapes[node.name] = outputs, info.output_shape
            if key is not None:
                _KNOWN[key] = (info.output_shape, info.params)
                if len(_KNOWN) > _KNOWN_SIZE:
                    _KNOWN.popitem(last=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many types; all are user errors
            unequal = len({shapes[s] for s in node.inbound}) > 1
            if node.merges and unequal and not isinstance(exc, SpecError):
                info.error, info.repair = explain_merge(node, shapes, by_name, spec)
            else:
                info.error, info.fix = explain(layer, shapes[node.inbound[0]], exc)
                if info.fix is not None:
                    info.repair = insert_fix(node.index, info.fix)
                else:
                    info.repair = reshape_fix(node.index, layer, shapes[node.inbound[0]])
            info.fix = info.repair.layer if info.repair is not None else None
            if report.error is None:
                report.error_index, report.error = node.index, info.error
    if report.error is None:
        for node in unused(nodes):
            info = report.layers[node.index]
            info.error = (_("its output is not used: the model's output is the last layer; "
                            "connect it into a later layer or a merge, or delete it"))
            if report.error is None:
                report.error_index, report.error = node.index, info.error
    return report


def _tensor(keras, tensors: dict, shapes: dict, name: str):
    """The symbolic output of ``name``; for a layer answered from the cache, a Keras tensor of
    the shape it had."""
    if name not in tensors:
        tensors[name] = keras.KerasTensor((None, *shapes[name]), dtype="float32")
    return tensors[name]


def inspect_keras_model(model) -> ModelInspection:
    """Per-layer output shape, parameters, name and inbound names of any built Keras model
    (Sequential or functional, loaded from a file): what ``workbench summary MODEL.keras``
    prints. Input layers are left out; a functional model's inbound names are Keras's own."""
    inputs = getattr(model, "inputs", None) or []
    shape = tuple(inputs[0].shape[1:]) if len(inputs) == 1 else ()
    report = ModelInspection(shape)
    sequential = type(model).__name__ == "Sequential"
    previous = "input"
    for layer in model.layers:
        class_name = type(layer).__name__
        if class_name == "InputLayer":
            previous = layer.name
            continue
        try:
            output = tuple(layer.output.shape[1:])
        except (AttributeError, ValueError):
            output = None
        inbound: tuple[str, ...] = (previous,)
        if not sequential:
            nodes = getattr(layer, "_inbound_nodes", None) or []
            tensors = getattr(nodes[0], "input_tensors", []) if nodes else []
            inbound = tuple(t._keras_history[0].name for t in tensors
                            if getattr(t, "_keras_history", None))
        info = LayerInfo(len(report.layers), class_name, class_name, output,
                         int(layer.count_params()), name=layer.name, inbound=inbound)
        report.layers.append(info)
        previous = layer.name
    report.order = [info.index for info in report.layers]
    return report
