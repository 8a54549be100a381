"""Model and training specifications: plain data, JSON in Keras's own names, validated on load.

``ModelSpec.to_dict()`` writes ``{"input_shape": [...], "layers": [{"class_name", "config"}]}`` and
``TrainConfig.to_dict()`` uses ``compile``/``fit`` argument names (see DESIGN.md, contracts).
An argument a layer's config leaves out means Keras's default (the catalogue holds it); one Keras
requires must be given. ``to_dict`` writes every argument, so a file keeps its meaning.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.core import graph as _graph
from workbench.core.catalogue import CATALOGUE, check_regularizer, layer_type
from workbench.core.errors import SpecError
from workbench.core.graph import INPUT
from workbench.core.optimizers import OPTIMIZER_ARGS, config_problem
from workbench.i18n import _

# Keys Keras writes into every layer config that carry nothing a user sets here.
_IGNORED_KEYS = {"name", "trainable", "dtype", "seed"}

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad",
              "adamw": "AdamW", "nadam": "Nadam"}
LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "hinge", "huber",
)
_LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}
METRICS = ("accuracy", "mae", "mse")
# The most layers a spec may have: 1,000 sequential layers exceed Python's recursion limit when
# Keras traces the model for training, though each layer's shape still computes.
MAX_LAYERS = 256


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _normalise_value(value: Any) -> Any:
    """Accept the forms Keras serialises to (initializer dicts, tuples) and store plain JSON."""
    if isinstance(value, tuple):
        return [_normalise_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    module, class_name = value.get("module"), value.get("class_name")
    if not isinstance(module, str) or not isinstance(class_name, str):
        return value  # not Keras's serialised form: validation says what is wrong with it
    if module.startswith("keras.initializers"):
        return _snake(class_name)
    config = value.get("config")
    if module.startswith("keras.regularizers") and isinstance(config, (dict, type(None))):
        return {"class_name": class_name, "config": dict(config or {})}
    return value


@dataclass
class LayerSpec:
    """One layer: its Keras class and settings, and for graphs its ``name`` (unique; None: the
    automatic ``layer3_dense``) and ``inbound`` (the names of the layers it takes, ``"input"``
    for the model's input; None: the layer before it). See core/graph.py."""

    class_name: str
    config: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    inbound: list[str] | None = None

    @classmethod
    def create(cls, class_name: str, *, name: str | None = None,
               inbound: list[str] | None = None, **config: Any) -> LayerSpec:
        """A new layer as the palette adds it (Keras's defaults and the catalogue's suggested
        starting values, such as relu for a Conv2D), overridden by ``config``."""
        values = layer_type(class_name).new_config()
        values.update({k: _normalise_value(v) for k, v in config.items()})
        return cls(class_name, values, name, list(inbound) if inbound is not None else None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"class_name": self.class_name}
        if self.name is not None:
            data["name"] = self.name
        if self.inbound is not None:
            data["inbound"] = list(self.inbound)
        data["config"] = copy.deepcopy(self.config)
        return data

    @classmethod
    def from_dict(cls, data: Any, index: int | None = None) -> LayerSpec:
        where = f"layer {index + 1}" if index is not None else "layer"
        if not isinstance(data, dict):
            raise SpecError(_("{where}: expected an object with class_name and config").format(
                                where=where), index)
        class_name = data.get("class_name")
        if not isinstance(class_name, str):
            raise SpecError(_("{where}: missing class_name").format(where=where), index)
        if class_name not in CATALOGUE:
            raise SpecError(
                _("{where}: unknown layer type {class_name!r} (supported: {catalogue})").format(
                    where=where, class_name=class_name, catalogue=', '.join(CATALOGUE)), index,
            )
        config = data.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise SpecError(_("{where} ({class_name}): config must be an object").format(
                                where=where, class_name=class_name), index)
        name = data.get("name")
        if name is not None:
            name = _graph.check_name(name, f"{where} ({class_name})", index)
        inbound = data.get("inbound")
        if inbound is not None:
            inbound = _graph.check_inbound(inbound, f"{where} ({class_name})", index)
        ltype = layer_type(class_name)
        values = ltype.defaults()  # what Keras does with an argument left out
        for key, value in config.items():
            if key in _IGNORED_KEYS:
                continue
            param = ltype.param(key)
            if param is None:
                known = ", ".join(p.name for p in ltype.params) or "none"
                raise SpecError(
                    _("{where} ({class_name}): unknown parameter {key!r} (parameters: "
                      "{known})").format(
                        where=where, class_name=class_name, key=key, known=known),
                    index, key,
                )
            value = _normalise_value(value)
            if key == "activation" and value is None:
                value = "linear"  # Keras's activation=None
            if param.kind == "ints" and isinstance(value, int) and not isinstance(value, bool):
                value = [value] * max(1, param.length)  # kernel_size=3 is (3, 3) to Keras
            values[key] = value
        spec = cls(class_name, values, name, inbound)
        spec.validate(index)
        return spec

    def validate(self, index: int | None = None) -> None:
        ltype = layer_type(self.class_name)
        where = f"layer {index + 1}" if index is not None else "layer"
        for param in ltype.params:
            value = self.config.get(param.name, param.default)
            problem = param.check(value)
            if problem:
                got = "" if value is None else f" (got {value!r})"
                raise SpecError(
                    f"{where} ({self.class_name}): {param.name} {problem}{got}",
                    index, param.name,
                )

    def keras_config(self) -> dict[str, Any]:
        """Constructor arguments for the Keras layer."""
        config = {}
        for key, value in self.config.items():
            config[key] = tuple(value) if isinstance(value, list) else copy.deepcopy(value)
        return config

    def summary(self) -> str:
        """A short description such as ``Dense 128 relu`` or ``Conv2D 32 3×3 relu``."""
        c = self.config
        name = self.class_name
        parts = [name]
        if "units" in c:
            parts.append(str(c["units"]))
        if "filters" in c:
            parts.append(str(c["filters"]))
        for key in ("kernel_size", "pool_size", "size"):
            if key in c and c[key] is not None:
                value = c[key]
                parts.append("×".join(map(str, value)) if isinstance(value, list) else str(value))
        if "rate" in c:
            parts.append(f"{c['rate']:g}")
        if "target_shape" in c:
            parts.append("→ (" + ", ".join(map(str, c["target_shape"])) + ")")
        if "factor" in c:
            parts.append(f"±{c['factor']:g}")
        if c.get("height_factor") is not None:
            width = c.get("width_factor")
            shown = c["height_factor"] if width is None else f"{c['height_factor']:g}×{width:g}"
            parts.append(f"±{shown:g}" if isinstance(shown, float) else f"±{shown}")
        act = c.get("activation")
        if act and act != "linear":
            parts.append(act)
        if c.get("padding") == "same" and "kernel_size" in c:
            parts.append("same")
        if c.get("return_sequences"):
            parts.append("seq")
        reg = c.get("kernel_regularizer")
        if reg:
            factors = ",".join(f"{v:g}" for v in (reg.get("config") or {}).values())
            parts.append(f"{reg['class_name']}({factors})")
        return " ".join(parts)


def _check_depth(count: int) -> None:
    if count > MAX_LAYERS:  # Keras's build and tracing recurse once per layer
        raise SpecError(_("the model has {count:,} layers; the Workbench builds at most "
                          "{max_layers}").format(count=count, max_layers=MAX_LAYERS))


def _shape(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(_("{what} must be a list of positive whole numbers, got {value!r}").format(
                            what=what, value=value))
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(_("{what} must be a list of positive whole numbers, got "
                              "{value!r}").format(what=what, value=value))
    return tuple(value)


@dataclass
class ModelSpec:
    input_shape: tuple[int, ...] = (28, 28)
    layers: list[LayerSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"input_shape": list(self.input_shape),
                "layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        if not isinstance(data, dict):
            raise SpecError(_("the model must be an object with input_shape and layers"))
        if "input_shape" not in data:
            raise SpecError(_("the model has no input_shape"))
        shape = _shape(data["input_shape"], "input_shape")
        layers = data.get("layers", [])
        if not isinstance(layers, list):
            raise SpecError(_("the model's layers must be a list"))
        _check_depth(len(layers))
        spec = cls(shape, [LayerSpec.from_dict(item, i) for i, item in enumerate(layers)])
        _graph.resolve(spec.layers)  # names, inbound, merge inputs, cycles: one line at fault
        return spec

    def validate(self) -> None:
        _shape(list(self.input_shape), "input_shape")
        _check_depth(len(self.layers))
        for i, layer in enumerate(self.layers):
            layer.validate(i)
        _graph.resolve(self.layers)

    def graph(self) -> list[_graph.Node]:
        """The layers as graph nodes (name, class_name, config, inbound names) in topological
        order; SpecError (one line, ``layer_index`` set) for a spec that is not a graph:
        duplicate names, a dangling inbound name, a cycle, a merge with one input, two inputs
        into a layer that takes one. See core/graph.py."""
        return _graph.resolve(self.layers)

    def names(self) -> list[str]:
        """Each layer's name, in row order: its own, or the automatic ``layer3_dense``."""
        return _graph.effective_names(self.layers)

    def is_sequential(self) -> bool:
        """Whether this is a plain stack (each layer takes the one before; no merge)."""
        return _graph.is_sequential(self.layers)

    def same_graph(self, other: ModelSpec) -> bool:
        """Whether ``other`` builds the same graph (rows in another topological order, a
        "takes the layer before" said or left out)."""
        return (_graph.signature(self.input_shape, self.layers)
                == _graph.signature(other.input_shape, other.layers))

    def named(self) -> ModelSpec:
        """A copy in which every layer carries an explicit name and inbound list (the automatic
        names frozen, so rows can move without changing what takes what): what a graph edit
        starts from."""
        spec = self.copy()
        nodes = {n.index: n for n in spec.graph()}
        for i, layer in enumerate(spec.layers):
            layer.name = nodes[i].name
            layer.inbound = list(nodes[i].inbound)
        return spec

    def copy(self) -> ModelSpec:
        return ModelSpec.from_dict(self.to_dict())


@dataclass
class TrainConfig:
    """Compile/fit settings, with Keras's argument names."""

    optimizer: str = "adam"
    learning_rate: float = 0.001
    momentum: float = 0.0
    nesterov: bool = False
    loss: str = "sparse_categorical_crossentropy"
    metrics: list[str] = field(default_factory=lambda: ["accuracy"])
    epochs: int = 5
    batch_size: int = 32
    validation_split: float = 0.1
    early_stopping: dict[str, Any] | None = None
    seed: int | None = 0
    shuffle: bool = True
    # The optimizer's other Keras arguments as the project gives them (beta_1, clipnorm, ...).
    optimizer_config: dict[str, Any] = field(default_factory=dict)

    def optimizer_dict(self) -> dict[str, Any]:
        config: dict[str, Any] = {"learning_rate": self.learning_rate}
        if self.optimizer == "sgd":
            config.update(momentum=self.momentum, nesterov=self.nesterov)
        elif self.optimizer == "rmsprop" and self.momentum:
            config["momentum"] = self.momentum
        class_name = OPTIMIZERS[self.optimizer]
        # Those of another optimizer (the settings switched it) do not apply to this one.
        config.update({k: copy.deepcopy(v) for k, v in self.optimizer_config.items()
                       if k in OPTIMIZER_ARGS[class_name] and k not in config})
        return {"class_name": class_name, "config": config}

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer_dict(),
            "loss": self.loss,
            "metrics": list(self.metrics),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "validation_split": self.validation_split,
            "early_stopping": copy.deepcopy(self.early_stopping),
            "seed": self.seed,
            "shuffle": self.shuffle,
        }

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise SpecError(_("training settings must be an object"))
        cfg = cls()
        opt = data.get("optimizer", "adam")
        opt_config: dict[str, Any] = {}
        if isinstance(opt, dict):
            opt_config = opt.get("config") or {}
            if not isinstance(opt_config, dict):
                raise SpecError(_("the optimizer's config must be an object"))
            opt_config = dict(opt_config)
            opt = opt.get("class_name", "")
        if not isinstance(opt, str) or opt.lower() not in OPTIMIZERS:
            raise SpecError(
                _("unknown optimizer {opt!r} (supported: {values})").format(
                    opt=opt, values=', '.join(OPTIMIZERS.values()))
            )
        cfg.optimizer = opt.lower()
        class_name = OPTIMIZERS[cfg.optimizer]
        accepted = OPTIMIZER_ARGS[class_name]
        for key in ("learning_rate", "momentum"):  # older files kept these beside "optimizer"
            if key in data and (key in accepted or data[key] != 0):
                opt_config.setdefault(key, data[key])
        problem = config_problem(class_name, opt_config)
        if problem:
            raise SpecError(problem)
        # Left out: Keras's default (SGD's learning rate is 0.01, Adam's 0.001).
        cfg.learning_rate = _number(opt_config.get("learning_rate", accepted["learning_rate"]),
                                    "learning_rate", 0.0, 10.0, exclusive_min=True)
        cfg.momentum = _number(opt_config.get("momentum", 0.0), "momentum", 0.0, 1.0)
        cfg.nesterov = opt_config.get("nesterov", False)
        cfg.optimizer_config = {k: v for k, v in opt_config.items()
                                if k not in ("learning_rate", "momentum", "nesterov")}
        loss = data.get("loss", cfg.loss)
        if not isinstance(loss, str):
            raise SpecError(_("loss must be a name such as 'sparse_categorical_crossentropy'"))
        loss = _LOSS_ALIASES.get(loss, loss)
        if loss not in LOSSES:
            raise SpecError(_("unknown loss {loss!r} (supported: {losses})").format(
                                loss=loss, losses=', '.join(LOSSES)))
        cfg.loss = loss
        metrics = data.get("metrics", cfg.metrics)
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, list) or any(m not in METRICS for m in metrics):
            raise SpecError(_("metrics must be a list of {metrics}").format(
                                metrics=', '.join(METRICS)))
        cfg.metrics = list(metrics)
        cfg.epochs = checked_epochs(data.get("epochs", cfg.epochs))
        cfg.batch_size = int(
            _number(data.get("batch_size", cfg.batch_size), "batch_size", 1, 1_000_000,
                    integer=True)
        )
        cfg.validation_split = _number(
            data.get("validation_split", cfg.validation_split), "validation_split", 0.0, 0.9
        )
        es = data.get("early_stopping")
        if es is True:
            es = {}
        if es not in (None, False):
            if not isinstance(es, dict):
                raise SpecError(_("early_stopping must be an object such as {\"patience\": 3}"))
            es = {
                "monitor": str(es.get("monitor", "val_loss")),
                "patience": int(_number(es.get("patience", 3), "early_stopping patience", 0,
                                        10_000, integer=True)),
                "restore_best_weights": _bool(es.get("restore_best_weights", True),
                                              "early_stopping restore_best_weights"),
            }
            cfg.early_stopping = es
        seed = data.get("seed", cfg.seed)
        if seed is not None:
            seed = int(_number(seed, "seed", 0, 2**31 - 1, integer=True))
        cfg.seed = seed
        cfg.shuffle = _bool(data.get("shuffle", True), "shuffle")
        return cfg

    def copy(self) -> TrainConfig:
        return TrainConfig.from_dict(self.to_dict())


MAX_EPOCHS = 100_000


def checked_epochs(value: Any) -> int:
    """``value`` as a number of epochs, 1 to MAX_EPOCHS (SpecError otherwise); the command
    line's ``--epochs`` goes through this as the project's ``epochs`` does."""
    return int(_number(value, "epochs", 1, MAX_EPOCHS, integer=True))


def _bool(value: Any, what: str) -> bool:
    """A JSON true/false: a string such as "no" or "false" would read as True."""
    if not isinstance(value, bool):
        raise SpecError(_("{what} must be true or false, got {value!r}").format(
                            what=what, value=value))
    return value


def _number(value: Any, what: str, lo: float, hi: float, integer: bool = False,
            exclusive_min: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(_("{what} must be a number, got {value!r}").format(
                            what=what, value=value))
    if value != value or value in (float("inf"), float("-inf")):
        raise SpecError(_("{what} must be a finite number, got {value!r}").format(
                            what=what, value=value))
    if integer and int(value) != value:
        raise SpecError(_("{what} must be a whole number, got {value!r}").format(
                            what=what, value=value))
    if value != value or value < lo or value > hi or (exclusive_min and value == lo):
        shown = (lambda v: f"{int(v):,}") if integer else (lambda v: f"{v:g}")  # not 1e+06
        low = (_("more than {lo}") if exclusive_min else _("at least {lo}")).format(lo=shown(lo))
        raise SpecError(_("{what} must be {low} and at most {hi}, got {value!r}").format(
                            what=what, low=low, hi=shown(hi), value=value))
    return float(value) if not integer else int(value)


__all__ = [
    "INPUT", "LayerSpec", "ModelSpec", "TrainConfig", "SpecError", "OPTIMIZERS", "LOSSES",
    "METRICS", "MAX_EPOCHS", "check_regularizer", "checked_epochs",
]
