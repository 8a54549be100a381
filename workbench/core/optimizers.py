"""The optimizers a project may name, with every argument Keras's constructor takes and its default.

One table, read by ``TrainConfig`` (spec.py): an argument a project leaves out means Keras's
default (SGD's learning rate is 0.01, Adam's 0.001), every argument Keras takes is kept, and any
other is refused by name. The core reads it without importing Keras;
tests/core/test_silent_wrong.py checks it against ``inspect.signature`` of Keras's classes.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.i18n import _

# The arguments of keras.optimizers.Optimizer that every optimizer takes.
_COMMON = {
    "weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
    "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
    "loss_scale_factor": None, "gradient_accumulation_steps": None, "name": None,
}
_ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07}

# Keras class name -> {argument: Keras's default}.
OPTIMIZER_ARGS: dict[str, dict[str, Any]] = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, **_COMMON},
    "Adam": {"learning_rate": 0.001, **_ADAM, "amsgrad": False, **_COMMON},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07,
                "centered": False, **_COMMON},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-07,
                **_COMMON},
    "AdamW": {"learning_rate": 0.001, **_ADAM, "amsgrad": False, **_COMMON,
              "weight_decay": 0.004},
    "Nadam": {"learning_rate": 0.001, **_ADAM, **_COMMON},
}

# What a value must be: ("bool",), ("count",) a whole number >= 1, ("name",) a string, or
# ("number", low, high, low_allowed). None is allowed where Keras's default is None.
_RULES = {
    "learning_rate": ("number", 0.0, 10.0, False),
    "momentum": ("number", 0.0, 1.0, True), "rho": ("number", 0.0, 1.0, True),
    "beta_1": ("number", 0.0, 1.0, True), "beta_2": ("number", 0.0, 1.0, True),
    "ema_momentum": ("number", 0.0, 1.0, True), "epsilon": ("number", 0.0, 1.0, True),
    "initial_accumulator_value": ("number", 0.0, 1e6, True),
    "weight_decay": ("number", 0.0, 1.0, True),
    "clipnorm": ("number", 0.0, 1e9, False), "clipvalue": ("number", 0.0, 1e9, False),
    "global_clipnorm": ("number", 0.0, 1e9, False),
    "loss_scale_factor": ("number", 0.0, 1e9, False),
    "nesterov": ("bool",), "amsgrad": ("bool",), "centered": ("bool",), "use_ema": ("bool",),
    "ema_overwrite_frequency": ("count",), "gradient_accumulation_steps": ("count",),
    "name": ("name",),
}
_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")


def config_problem(class_name: str, config: dict[str, Any]) -> str | None:
    """Why ``config`` (an optimizer's arguments) cannot be given to Keras's ``class_name``,
    naming the argument; None when every argument is one it takes, with a usable value."""
    accepted = OPTIMIZER_ARGS[class_name]
    unknown = [key for key in config if key not in accepted]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        return (_("{class_name} takes no argument {names} (it takes: {accepted})").format(
                    class_name=class_name, names=names, accepted=', '.join(accepted)))
    for key, value in config.items():
        problem = _value_problem(key, value, accepted[key])
        if problem:
            return f"{class_name}'s {key} {problem}, got {value!r}"
    clips = [key for key in _CLIPS if config.get(key) is not None]
    if len(clips) > 1:
        return _("{class_name} takes only one of {clips} (got {given})").format(
                   class_name=class_name, clips=', '.join(_CLIPS), given=', '.join(clips))
    return None


def _value_problem(key: str, value: Any, default: Any) -> str | None:
    if value is None:
        return None if default is None else _("must be set")
    kind, *bounds = _RULES[key]
    if kind == "bool":
        return None if isinstance(value, bool) else _("must be true or false")
    if kind == "name":
        return None if isinstance(value, str) else _("must be a name")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _("must be a number")
    if kind == "count":
        whole = isinstance(value, int) and value >= 1
        return None if whole else _("must be a whole number, 1 or more")
    low, high, low_allowed = bounds
    if not math.isfinite(value):
        return _("must be a finite number")
    if value < low or value > high or (value == low and not low_allowed):
        text = (_("must be at least {low:g} and at most {high:g}") if low_allowed
                else _("must be more than {low:g} and at most {high:g}"))
        return text.format(low=low, high=high)
    return None
