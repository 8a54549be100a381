"""The engine's requests about the project's model as the window holds it (its spec, no trained
weights): Keras's word on a sweep's search space, and the Data tab's augmentation preview.

The window keeps a sweep's study (Optuna and its storage, actions/sweep.py) and sends each trial
as an ordinary ``train`` request; before the first trial it asks ``check_space`` whether the
model still builds at every edge of the space (``core.sweep_space.check_space_builds``), the one
check of ``prepare_sweep`` that needs Keras. ``augment`` runs the model's leading augmentation
layers on one sample, as training does (``actions.explore.augment``).
"""

from __future__ import annotations

import numpy as np

from workbench.engine.server import Call
from workbench.i18n import _


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


MAX_AUGMENTED = 64


def augment(state, call: Call) -> dict:
    """``spec``, ``sample`` (one input, float32), ``n``, ``seed`` -> ``images``: ``n`` random
    augmentations of the sample as pictures (float32, 0 to 1); an error line when the model
    starts without augmentation layers or they do not take the sample."""
    from workbench.actions.errors import ActionError
    from workbench.actions.explore import augment as augment_action
    from workbench.core.spec import ModelSpec

    sample = call.body.get("sample")
    n = int(call.body.get("n", 8))
    if not isinstance(sample, np.ndarray) or not 1 <= n <= MAX_AUGMENTED:
        raise ActionError(_("augment needs one sample array and 1 to {count} pictures").format(
            count=MAX_AUGMENTED))
    try:
        images = augment_action(ModelSpec.from_dict(call.body.get("spec")), sample, n,
                                int(call.body.get("seed", 0)))
    except ValueError as exc:  # no augmentation layers at the model's start
        raise ActionError(str(exc)) from None
    return {"images": np.asarray(images, dtype=np.float32)}


REQUESTS = {"check_space": (check_space, "inspect"), "augment": (augment, "inspect")}
