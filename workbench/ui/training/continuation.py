"""Continue training: a new run that starts from the trained weights instead of a fresh model.

The weights must belong to the model as it is now (any edit of the layers since makes them another
network's); the training settings may differ (a smaller learning rate to fine-tune, more epochs).
The new run's epochs are counted on from where its weights left off, so its curves continue the
earlier run's. The optimizer starts afresh: only the weights carry over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.run_text import run_name, weights_text
from workbench.core.runs import RunRecord
from workbench.i18n import _
from workbench.ui.training.runs import find_run


@dataclass
class Continuation:
    weights: list[np.ndarray]  # the trained weights themselves: copy them for a run
    run: int | None  # the run the weights come from (None: weights opened from a file)
    initial_epoch: int  # epochs trained before (the new run's first epoch is this + 1)


def continuation(state) -> tuple[Continuation | None, str]:
    """What Continue would start from, or ``(None, why not)``."""
    trained = state.trained
    if trained.weights is None or trained.trained_spec is None:
        return None, _("Train a run first: Continue goes on from a run's weights.")
    if trained.trained_spec != state.spec.to_dict():
        return None, _("The layers changed since those weights were trained: they belong to "
                       "another network. Train from scratch.")
    run = trained.weights_run
    record = find_run(state.project.runs, run) if run is not None else None
    initial = 0
    if record is not None:
        done = RunRecord.from_dict(record)
        initial = int(done.extra.get("initial_epoch") or 0) + done.epochs
    return Continuation(trained.weights, run, initial), ""


def describe(start: Continuation) -> str:
    """The Continue button's tooltip."""
    return _("Train on from the weights of {run} ({weights}), with the current settings; the "
             "optimizer starts afresh").format(run=run_name(start.run),
                                               weights=weights_text(start.initial_epoch - 1))
