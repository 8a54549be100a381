"""Seeded, stratified choice of sample indices, so every split and sample keeps the class mix.

The embedded MNIST file is sorted by class; anything that slices without shuffling per class
would hand a model a test set of nines only.
"""

from __future__ import annotations

import numpy as np


def allocate(counts, n: int) -> np.ndarray:
    """How many samples to take from each class: ``n`` in total, in proportion to ``counts``.

    Every non-empty class gets at least one when ``n`` allows it (a small sample should still
    show every class); the rest goes by largest remainder, so the total is exactly ``n``
    (or everything, when ``n`` exceeds what there is).
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = int(min(max(n, 0), counts.sum()))
    take = np.zeros_like(counts)
    present = counts > 0
    if n >= present.sum():
        take[present] = 1
    left = n - int(take.sum())
    if left > 0:
        spare = counts - take
        quota = spare * (left / spare.sum())
        extra = np.minimum(np.floor(quota).astype(np.int64), spare)
        short = left - int(extra.sum())
        # Stable sort: equal remainders go to the lower class index, which keeps it deterministic.
        order = np.argsort(-(quota - extra), kind="stable")
        order = order[extra[order] < spare[order]]
        extra[order[:short]] += 1
        take += extra
    return take


def _by_class(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class index of every sample (0..k-1 over the labels present) and the count per class."""
    _classes, inverse = np.unique(y, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, np.bincount(inverse)


def stratified_split(
    y: np.ndarray, n_test: int, seed: int = 0, *, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled ``(train_indices, test_indices)`` with about ``n_test`` samples held out.

    With ``stratify``, each class keeps at least one sample in training and the test share of
    every class is proportional; without it (regression targets) the split is a plain shuffle.
    """
    rng = np.random.default_rng(seed)
    total = len(y)
    n_test = int(min(max(n_test, 0), total))
    if not stratify or total == 0:
        order = rng.permutation(total)
        return order[n_test:], order[:n_test]
    inverse, counts = _by_class(y)
    # One sample of every class is reserved for training before the test share is chosen.
    take = allocate(np.maximum(counts - 1, 0), n_test)
    train, test = [], []
    for cls, k in enumerate(take):
        members = rng.permutation(np.flatnonzero(inverse == cls))
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def stratified_pick(y: np.ndarray, n: int, seed: int = 0, *, stratify: bool = True) -> np.ndarray:
    """``n`` shuffled sample indices (all of them if ``n`` is larger), spread over the classes."""
    rng = np.random.default_rng(seed)
    n = int(min(max(n, 0), len(y)))
    if not stratify or n == 0:
        return rng.choice(len(y), size=n, replace=False)
    inverse, counts = _by_class(y)
    take = allocate(counts, n)
    chosen = [
        rng.choice(np.flatnonzero(inverse == cls), size=k, replace=False)
        for cls, k in enumerate(take)
    ]
    return rng.permutation(np.concatenate(chosen)).astype(np.intp)


def held_out_size(total: int, fraction: float = 0.2) -> int:
    """Number of held-out samples for an 80/20 split: at least one, never all of them."""
    return int(min(max(round(total * fraction), 1), max(total - 1, 0)))


def validation_indices(n: int, fraction: float, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` row indices: a seeded shuffle, ``fraction`` of the rows held out
    (at least one). Keras's own ``validation_split`` takes the last rows unshuffled instead."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return order[n_val:], order[:n_val]


def is_lazy(x) -> bool:
    """True for samples decoded when read (``lazy.Samples``: a big folder or .npz)."""
    return getattr(x, "lazy", False) is True


def take(x, index):
    """``x[index]``: a lazy view for lazy samples, a numpy copy for arrays (as before)."""
    return x.take(index) if is_lazy(x) else x[index]
