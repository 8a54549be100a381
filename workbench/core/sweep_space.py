"""A sweep's search space: what varies, over which values, checked before any trial runs.

``SPACE.json`` (DESIGN.md, ``workbench sweep``) maps a key to ``{"low", "high"[, "log": true]
[, "step"]}`` or ``{"choices": [...]}``. A key is a training setting (``TRAINING_KEYS``),
``dropout`` (the rate of every Dropout layer at once) or ``LAYER.param``, where LAYER is a layer's
name or its 1-based row and ``param`` one of its Keras arguments (the catalogue's).
``parse_space`` refuses an unusable space with one readable sentence naming the key;
``check_space_builds`` also asks Keras (core.inspect) whether the model still
builds at every edge of the space.

``Space.apply(spec, config, params)`` gives the model and settings of one trial. Plain Python:
the Optuna side (suggesting values) lives in actions/sweep.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from workbench.core.catalogue import layer_type
from workbench.core.spec import LOSSES, OPTIMIZERS, ModelSpec, SpecError, TrainConfig
from workbench.i18n import _


class SpaceError(ValueError):
    """A readable reason a search space cannot be used (names the key at fault)."""


# Training settings a sweep may vary: kind, and the range TrainConfig accepts.
TRAINING_KEYS: dict[str, tuple[str, float | None, float | None]] = {
    "learning_rate": ("float", 0.0, 10.0),
    "momentum": ("float", 0.0, 1.0),
    "batch_size": ("int", 1, 1_000_000),
    "epochs": ("int", 1, 100_000),
    "optimizer": ("choice", None, None),
    "nesterov": ("bool", None, None),
    "loss": ("choice", None, None),
}
DROPOUT_KEY = "dropout"
DROPOUT_LAYERS = ("Dropout", "SpatialDropout2D")
_SPEC_KEYS = {"low", "high", "log", "step", "choices"}
# The most settings a grid may hold: the grid sampler lists them all, and far fewer trials run.
MAX_GRID = 100_000
# The most values one list of choices may hold: each is checked as a setting of its own (100,000
# of them took 6 s on an idle machine); a range with a step covers more.
MAX_CHOICES = 10_000


@dataclass(frozen=True)
class Dimension:
    """One thing that varies. ``choices`` set: a categorical; else a range ``low``..``high``
    (``kind`` int or float), on a log scale with ``log``, in steps of ``step`` if given."""

    key: str
    kind: str  # int | float | choice
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()
    target: tuple = ()  # ("training", name) | ("layer", row0, param) | ("dropout", rows0)

    def labels(self) -> list:
        """The choices as Optuna stores them: None/bool/int/float/str as they are, anything else
        (an optimizer object, a kernel size list) as its JSON text."""
        return [choice_label(c) for c in self.choices]

    def value(self, stored: Any) -> Any:
        """The setting for a value Optuna gave back (a label turned back into its choice)."""
        if self.choices:
            for choice in self.choices:
                if choice_label(choice) == stored:
                    return choice
            raise SpaceError(_("{key}: {stored!r} is not one of the choices").format(
                                 key=self.key, stored=stored))
        return int(stored) if self.kind == "int" else float(stored)

    def grid(self) -> list:
        """Every value the grid sampler visits (labels for choices)."""
        if self.choices:
            return self.labels()
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        return [self.low + i * self.step for i in range(self.grid_count())]

    def grid_count(self) -> int:
        """How many values ``grid`` lists, counted without listing them."""
        if self.choices:
            return len(self.choices)
        if self.kind == "int":
            return len(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        if self.step:
            return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        raise SpaceError(_("{key}: a grid needs choices or a step for a range of "
                           "numbers (e.g. {{\"low\": {low:g}, \"high\": {high:g}, \"step\": "
                           "...}})").format(key=self.key, low=self.low, high=self.high))

    def edges(self) -> list:
        """The values to check the model builds with: both ends of a range, or every choice."""
        return list(self.choices) if self.choices else [self.value(self.low),
                                                         self.value(self.high)]

    def to_dict(self) -> dict[str, Any]:
        if self.choices:
            return {"choices": list(self.choices)}
        out: dict[str, Any] = {"low": self.value(self.low), "high": self.value(self.high)}
        if self.log:
            out["log"] = True
        if self.step:
            out["step"] = self.step
        return out


def choice_label(choice: Any) -> Any:
    if choice is None or isinstance(choice, (bool, int, float, str)):
        return choice
    return json.dumps(choice, sort_keys=True)


def choice_text(choice: Any) -> str:
    """A choice as a person reads it: "adam", "SGD(momentum=0.9)", "[3, 3]", "0.001"."""
    if isinstance(choice, dict) and isinstance(choice.get("class_name"), str):
        config = choice.get("config") or {}
        inner = ", ".join(f"{k}={choice_text(v)}" for k, v in config.items())
        return f"{choice['class_name']}({inner})" if inner else choice["class_name"]
    if isinstance(choice, float):
        return f"{choice:g}"
    if isinstance(choice, str):
        return choice
    if choice is None or isinstance(choice, bool):
        return str(choice)
    return json.dumps(choice, sort_keys=True)


@dataclass
class Space:
    dimensions: list[Dimension] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [d.key for d in self.dimensions]

    def to_dict(self) -> dict[str, Any]:
        return {d.key: d.to_dict() for d in self.dimensions}

    def canonical(self) -> str:
        """The space as sorted JSON: the same space gives the same text (names a study)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def grid(self) -> dict[str, list]:
        """Every dimension's grid values (SpaceError when the grid is too big to list)."""
        size = self.grid_size()
        if size > MAX_GRID:
            counts = " × ".join(f"{d.grid_count():,}" for d in self.dimensions)
            raise SpaceError(_("a grid of {counts} = {size:,} settings is too many to "
                               "list (at most {max_grid:,}); give fewer values or use "
                               "another sampler").format(
                                 counts=counts, size=size, max_grid=MAX_GRID))
        return {d.key: d.grid() for d in self.dimensions}

    def grid_size(self) -> int:
        """How many settings the grid holds, counted before any is listed: Optuna's grid
        sampler lists every combination (1e5 × 1e5 choices took 5.65 GB, then MemoryError)."""
        return math.prod(d.grid_count() for d in self.dimensions)

    def apply(self, spec: ModelSpec, config: TrainConfig,
              params: dict[str, Any]) -> tuple[ModelSpec, TrainConfig]:
        """The model and settings of a trial: ``params`` (key -> setting) put into copies."""
        spec, config = spec.copy(), config.copy()
        by_key = {d.key: d for d in self.dimensions}
        # The optimizer first: a plain name resets its own settings, which later keys may set.
        order = sorted(params, key=lambda k: (k != "optimizer", k))
        for key in order:
            dim, value = by_key[key], params[key]
            kind = dim.target[0]
            if kind == "training":
                _set_training(config, dim.target[1], value)
            elif kind == "layer":
                spec.layers[dim.target[1]].config[dim.target[2]] = value
            else:
                for row in dim.target[1]:
                    spec.layers[row].config["rate"] = value
        try:  # through the readers, which normalise (kernel_size 3 is [3, 3]) and validate
            config = TrainConfig.from_dict(config.to_dict())
            spec = ModelSpec.from_dict(spec.to_dict())
        except SpecError as exc:
            raise SpaceError(_("these settings do not make a valid model: {exc}").format(
                                 exc=exc)) from None
        return spec, config


def _set_training(config: TrainConfig, name: str, value: Any) -> None:
    if name == "optimizer":
        # A name: that optimizer with Keras's own settings (no momentum) at the project's
        # learning rate; an object {"class_name", "config"}: its own settings over those.
        parsed = TrainConfig.from_dict({"optimizer": value, "learning_rate": config.learning_rate})
        config.optimizer, config.learning_rate = parsed.optimizer, parsed.learning_rate
        config.momentum, config.nesterov = parsed.momentum, parsed.nesterov
        config.optimizer_config = parsed.optimizer_config
    else:
        setattr(config, name, value)


# Parsing ----------------------------------------------------------------------------------------


def parse_space(data: Any, spec: ModelSpec, config: TrainConfig | None = None) -> Space:
    """The space ``data`` (SPACE.json's object) for this model, or SpaceError naming the key."""
    if not isinstance(data, dict):
        raise SpaceError(_("the search space must be a JSON object mapping settings to "
                           '{"low", "high"} or {"choices"}'))
    if not data:
        raise SpaceError(_("the search space is empty: name at least one setting to vary"))
    dims = [_dimension(str(key), value, spec) for key, value in data.items()]
    seen: dict[tuple, str] = {}
    for dim in dims:
        for target in _targets(dim):
            if target in seen:
                raise SpaceError(_("{key} and {seen} set the same thing").format(
                                     key=dim.key, seen=seen[target]))
            seen[target] = dim.key
    space = Space(dims)
    if config is not None:  # every edge gives settings TrainConfig accepts
        for dim in dims:
            if dim.target[0] == "training":
                for value in dim.edges():
                    trial = config.copy()
                    try:
                        _set_training(trial, dim.target[1], value)
                        TrainConfig.from_dict(trial.to_dict())
                    except (SpecError, TypeError, ValueError) as exc:
                        raise SpaceError(_("{key}: {value!r} is refused: {exc}").format(
                                             key=dim.key, value=value, exc=exc)) from None
    return space


def _targets(dim: Dimension) -> list[tuple]:
    if dim.target[0] == "dropout":
        return [("layer", row, "rate") for row in dim.target[1]]
    return [dim.target]


def _dimension(key: str, body: Any, spec: ModelSpec) -> Dimension:
    if not isinstance(body, dict):
        raise SpaceError(_("{key}: expected {{\"low\", \"high\"}} or {{\"choices\": [...]}}, "
                           "got {body!r}").format(key=key, body=body))
    unknown = set(body) - _SPEC_KEYS
    if unknown:
        raise SpaceError(_("{key}: unknown field {unknown!r} (fields: low, high, log, "
                           "step, choices)").format(key=key, unknown=sorted(unknown)[0]))
    if key in TRAINING_KEYS:
        kind, lo, hi = TRAINING_KEYS[key]
        target: tuple = ("training", key)
        check = _training_check(key, kind, lo, hi)
    elif key == DROPOUT_KEY:
        rows = [i for i, layer in enumerate(spec.layers) if layer.class_name in DROPOUT_LAYERS]
        if not rows:
            raise SpaceError(_("dropout: the model has no Dropout layer"))
        param = layer_type("Dropout").param("rate")
        kind, target, check = "float", ("dropout", tuple(rows)), param.check
    elif "." in key:
        row, param = _layer_param(key, spec)
        kind = {"int": "int", "float": "float"}.get(param.kind, "choice")
        target, check = ("layer", row, param.name), param.check
    else:
        known = ", ".join([*TRAINING_KEYS, DROPOUT_KEY])
        raise SpaceError(_("unknown setting {key!r}: use a training setting ({known}) "
                           "or LAYER.param (a layer's name or row, e.g. 2.units)").format(
                             key=key, known=known))
    return _values(key, body, kind, target, check)


def _training_check(key: str, kind: str, lo, hi):
    def check(value):
        if kind == "bool":
            return None if isinstance(value, bool) else _("must be true or false")
        if kind == "choice":
            if key == "optimizer":
                if isinstance(value, dict) or (isinstance(value, str)
                                               and value.lower() in OPTIMIZERS):
                    return None
                return _("must be one of {values}").format(
                           values=', '.join(OPTIMIZERS.values()))
            return None if value in LOSSES or value in ("mse", "mae") else (
                _("must be one of {losses}").format(losses=', '.join(LOSSES)))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _("must be a number")
        if kind == "int" and int(value) != value:
            return _("must be a whole number")
        if value < lo or value > hi or (key == "learning_rate" and value <= 0):
            low, high = (f"{int(lo):,}", f"{int(hi):,}") if kind == "int" else (f"{lo:g}",
                                                                                 f"{hi:g}")
            text = (_("must be more than {low} and at most {high}") if key == "learning_rate"
                    else _("must be at least {low} and at most {high}"))
            return text.format(low=low, high=high)
        return None

    return check


def _layer_param(key: str, spec: ModelSpec):
    where, _dot, name = key.rpartition(".")
    if where.isdigit():
        row = int(where) - 1
        if not 0 <= row < len(spec.layers):
            raise SpaceError(_("{key}: the model has no row {where} (rows 1 to "
                               "{n_layers})").format(
                                 key=key, where=where, n_layers=len(spec.layers)))
    else:
        names = _layer_names(spec)
        if where not in names:
            raise SpaceError(_("{key}: no layer is named {where!r} (names: {names}; or "
                               "use its row number)").format(
                                 key=key, where=where, names=', '.join(names) or 'none'))
        row = names.index(where)
    layer = spec.layers[row]
    param = layer_type(layer.class_name).param(name)
    if param is None:
        known = ", ".join(p.name for p in layer_type(layer.class_name).params) or "none"
        raise SpaceError(_("{key}: layer {row} ({class_name}) has no parameter {name!r} "
                           "(parameters: {known})").format(
                             key=key, row=row + 1, class_name=layer.class_name,
                             name=name, known=known))
    return row, param


def _layer_names(spec: ModelSpec) -> list[str]:
    names = getattr(spec, "names", None)
    if callable(names):  # graph specs: each layer's own or automatic name
        return list(names())
    return [getattr(layer, "name", None) or "" for layer in spec.layers]


def _values(key: str, body: dict, kind: str, target: tuple, check) -> Dimension:
    def refuse(value, why):
        raise SpaceError(_("{key}: {value!r} is refused: {why}").format(
                             key=key, value=value, why=why))

    if "choices" in body:
        if set(body) - {"choices"}:
            raise SpaceError(_("{key}: give either choices or low/high, not both").format(
                                 key=key))
        choices = body["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(_("{key}: choices must be a non-empty list").format(
                                 key=key))
        if len(choices) > MAX_CHOICES:
            raise SpaceError(_("{key}: {n_choices:,} choices, at most {max_choices:,}; "
                               "give a range {{\"low\", \"high\", \"step\"}} for more "
                               "values").format(
                                 key=key, n_choices=len(choices),
                                 max_choices=MAX_CHOICES))
        labels = [choice_label(c) for c in choices]
        if len(set(map(repr, labels))) != len(labels):
            raise SpaceError(_("{key}: the choices repeat a value").format(key=key))
        for choice in choices:
            problem = check(choice)
            if problem:
                refuse(choice, problem)
        return Dimension(key, "choice", choices=tuple(choices), target=target)
    if "low" not in body or "high" not in body:
        raise SpaceError(_("{key}: give \"low\" and \"high\", or \"choices\"").format(
                             key=key))
    if kind not in ("int", "float"):
        raise SpaceError(_("{key}: not a number: give its values as choices").format(
                             key=key))
    low, high, log, step = body["low"], body["high"], body.get("log", False), body.get("step")
    for value in (low, high, *([step] if step is not None else [])):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
                value):
            raise SpaceError(_("{key}: low, high and step must be numbers, got {value!r}").format(
                                 key=key, value=value))
        if kind == "int" and int(value) != value:
            raise SpaceError(_("{key}: takes whole numbers, got {value!r}").format(
                                 key=key, value=value))
    if low > high:
        raise SpaceError(_("{key}: low ({low:g}) is more than high ({high:g})").format(
                             key=key, low=low, high=high))
    if not isinstance(log, bool):
        raise SpaceError(_("{key}: log must be true or false").format(key=key))
    if log and low <= 0:
        raise SpaceError(_("{key}: a log scale needs low > 0 (got {low:g})").format(
                             key=key, low=low))
    if step is not None and (step <= 0 or log):
        raise SpaceError(_("{key}: step must be more than 0, and cannot go with log").format(
                             key=key))
    for value in (low, high):
        problem = check(int(value) if kind == "int" else float(value))
        if problem:
            refuse(value, problem)
    return Dimension(key, kind, float(low), float(high), log, float(step) if step else None,
                     target=target)


def check_space_builds(space: Space, spec: ModelSpec, config: TrainConfig) -> None:
    """SpaceError when the model does not build (Keras's own answer, via core.inspect) with one
    edge of the space: each dimension's ends or choices, the others left as the project has them.
    """
    from workbench.core.inspect import inspect_model

    for dim in space.dimensions:
        if dim.target[0] == "training":
            continue
        for value in dim.edges():
            trial_spec, _config = space.apply(spec, config, {dim.key: value})
            report = inspect_model(trial_spec)
            if not report.ok:
                raise SpaceError(_("{key}: {choice_label} is refused: {error_text}").format(
                                     key=dim.key, choice_label=choice_label(value),
                                     error_text=report.error_text()))
