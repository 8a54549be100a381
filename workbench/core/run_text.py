"""How a run's figures are written, each by one function that every view uses (#30): a count of
epochs, where a run's epochs lie, which weights are shown, a run's name, a percentage. Epochs are
counted as Keras does (from 0) in the data and from 1 on screen; a continued run's epochs go on
from the run it continues (``initial_epoch``), so its curves, table row and weights agree.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workbench.i18n import _, ngettext

# The counted nouns, each with its plural forms in the catalog (count()).
_COUNTED = {
    "epoch": lambda n: ngettext("{count} epoch", "{count} epochs", n),
    "sample": lambda n: ngettext("{count} sample", "{count} samples", n),
    "run": lambda n: ngettext("{count} run", "{count} runs", n),
    "trial": lambda n: ngettext("{count} trial", "{count} trials", n),
}


def percent(value: float, digits: int = 1) -> str:
    """``0.9555`` → ``"95.6%"``: rounded half up from the value's shortest decimal form, so a
    count's 0.9555 (0.95549999… in binary) and Keras's float32 0.95550001 read alike."""
    if not math.isfinite(float(value)):
        return "—"
    exact = Decimal(repr(float(value))) * 100
    return f"{exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)}%"


def count(n: int, noun: str) -> str:
    """``"1 epoch"``, ``"2 epochs"`` (in the language in use for the nouns of _COUNTED)."""
    forms = _COUNTED.get(noun)
    if forms is not None:
        return forms(n).format(count=n)
    return f"{n} {noun}{'' if n == 1 else 's'}"


def run_name(run: int | None) -> str:
    """``"run 4"``; weights that came with a file, not from a run: ``"the opened model"``."""
    return _("run {number}").format(number=run) if run is not None else _("the opened model")


def epoch_range(initial: int, epochs: int) -> str:
    """Where a run's ``epochs`` lie after the ``initial`` ones trained before it, counted from 1:
    ``"4"``, ``"5–7"``; ``""`` for a run without a full epoch."""
    if epochs <= 0:
        return ""
    first, last = initial + 1, initial + epochs
    return str(first) if first == last else f"{first}–{last}"


def epochs_cell(initial: int, epochs: int) -> str:
    """The runs table's Epochs: ``"3"``, or for a continued run where they lie: ``"3 (5–7)"``,
    ``"1 (4)"``."""
    where = epoch_range(initial, epochs) if initial else ""
    return f"{epochs} ({where})" if where else str(epochs)


def record_epochs(record: dict[str, Any]) -> tuple[int, int, int]:
    """``(initial, full epochs, batches of the epoch a stop broke off)`` of a run record."""
    def number(key: str) -> int:
        try:
            return max(0, int(record.get(key) or 0))
        except (TypeError, ValueError):
            return 0

    return number("initial_epoch"), number("epochs"), number("partial_batches")


def last_weights(record: dict[str, Any]) -> tuple[int, bool]:
    """The epoch (from 0, Keras's count) of the weights a run ended with, and whether a stop
    broke that epoch off (its weights are from inside it)."""
    initial, epochs, partial = record_epochs(record)
    if partial:
        return initial + epochs, True
    return initial + epochs - 1, False


def weights_text(epoch: int, partial: bool = False, last: int | None = None) -> str:
    """Which weights: ``"initial weights (before training)"``, ``"after epoch 3"`` (``last``:
    ``"after epoch 3 of 5"``), ``"when stopped in epoch 4"``; ``epoch`` from 0."""
    if epoch < 0:
        return _("initial weights (before training)")
    if partial:
        return _("when stopped in epoch {epoch}").format(epoch=epoch + 1)
    if last:
        return _("after epoch {epoch} of {last}").format(epoch=epoch + 1, last=last)
    return _("after epoch {epoch}").format(epoch=epoch + 1)


def trained_text(run: int | None, epoch: int, partial: bool = False) -> str:
    """``"run 4, after epoch 3"``: the weights a view shows, and where they come from."""
    return _("{run}, {weights}").format(run=run_name(run), weights=weights_text(epoch, partial))
