"""Run an export beside the original model on test samples and measure how it differs.

Plain numpy: ``expected`` are Keras's outputs, ``run`` the exported model's (a batch -> outputs
function). Class agreement and accuracy count the argmax of each row (models whose outputs are not
class scores get None for both).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from workbench.i18n import _

CHUNK = 256  # samples per call of the exported model while checking
LATENCY_CALLS = 20


@dataclass
class Check:
    samples: int
    max_abs_diff: float
    agreement: float | None  # share of samples where both pick the same class
    accuracy: float | None  # the exported model's accuracy on the labels
    keras_accuracy: float | None  # the original's, on the same samples
    latency_ms: float  # median of single-sample calls


def latency_ms(run: Callable[[np.ndarray], np.ndarray], one: np.ndarray,
               calls: int = LATENCY_CALLS) -> float:
    """Median milliseconds of ``run`` on the batch of one ``one`` (after one warm-up call)."""
    run(one)
    times = []
    for _i in range(calls):
        start = time.perf_counter()
        run(one)
        times.append((time.perf_counter() - start) * 1000.0)
    return round(float(np.median(times)), 4)


def _is_classifier(outputs: np.ndarray) -> bool:
    return outputs.ndim == 2 and outputs.shape[1] > 1


def check(expected: np.ndarray, run: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
          labels: np.ndarray | None = None,
          progress: Callable[[float], None] | None = None) -> Check:
    """``run`` over ``x`` in chunks, compared with ``expected`` (and ``labels``, class numbers)."""
    parts = []
    for start in range(0, len(x), CHUNK):
        parts.append(np.asarray(run(x[start:start + CHUNK]), dtype=np.float64))
        if progress is not None:
            progress(min(1.0, (start + CHUNK) / max(1, len(x))))
    got = np.concatenate(parts) if parts else np.zeros_like(expected, dtype=np.float64)
    if got.size != expected.size:
        raise ValueError(_("the export gives {got} outputs per sample, the model "
                           "{expected}").format(got=got.size // max(1, len(x)),
                                                expected=expected.size // max(1, len(x))))
    got = got.reshape(expected.shape)
    diff = float(np.max(np.abs(expected.astype(np.float64) - got))) if expected.size else 0.0
    agreement = accuracy = keras_accuracy = None
    if _is_classifier(expected):
        theirs, ours = got.argmax(axis=1), expected.argmax(axis=1)
        agreement = float(np.mean(theirs == ours))
        if labels is not None and len(labels) == len(x):
            accuracy = float(np.mean(theirs == labels))
            keras_accuracy = float(np.mean(ours == labels))
    return Check(len(x), diff, agreement, accuracy, keras_accuracy, latency_ms(run, x[:1]))
