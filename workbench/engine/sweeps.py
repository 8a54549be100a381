"""The engine's part of a sweep (the window's Experiments tab): Keras's word on a search space.

The window keeps the study (Optuna and its storage, actions/sweep.py) and sends each trial as an
ordinary ``train`` request; before the first trial it asks ``check_space`` whether the model still
builds at every edge of the space (``core.sweep_space.check_space_builds``), the one check of
``prepare_sweep`` that needs Keras.
"""

from __future__ import annotations

from workbench.engine.server import Call


def check_space(state, call: Call) -> dict:
    """``spec``, ``config``, ``space`` (SPACE.json's form) -> ``problem``: why the space cannot
    be swept (one line, naming the key), "" when every edge builds."""
    from workbench.core.spec import ModelSpec, TrainConfig
    from workbench.core.sweep_space import SpaceError, check_space_builds, parse_space

    spec = ModelSpec.from_dict(call.body.get("spec"))
    config = TrainConfig.from_dict(call.body.get("config") or {})
    try:
        space = parse_space(call.body.get("space"), spec, config)
        check_space_builds(space, spec, config)
    except SpaceError as exc:
        return {"problem": str(exc)}
    return {"problem": ""}
