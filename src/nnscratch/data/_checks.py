"""What only the data loaders need: :class:`DataError`, split sizes and stratified splits.

The general checks (seeds, names, counts, dtypes, one-hot labels) are in :mod:`nnscratch._checks`,
shared with the rest of the package.
"""

from __future__ import annotations

import numbers

import numpy as np


class DataError(ValueError):
    """A data file is missing, damaged or does not match its checksum.

    A subclass of :class:`ValueError`, so ``except ValueError`` catches it too. The message always
    names the file (or the folders searched) and says what to do about it.
    """


def split_count(value: object, n: int, name: str) -> int:
    """The size of one part of a split of ``n`` items, from a count (an int) or a fraction in
    (0, 1) of ``n`` (rounded). The caller checks the range its split allows."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < 1:
        return round(float(value) * n)
    raise ValueError(f"{name} must be a count (an int) or a fraction in (0, 1), got {value!r}")


def stratified_split(
    y: np.ndarray, n_second: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices ``0..len(y)-1`` into two stratified parts.

    The second part holds exactly ``n_second`` indices, spread over the classes in proportion to
    their frequencies (largest remainders get the leftover places). Both parts are shuffled.

    Returns
    -------
    first, second : numpy.ndarray of int64
        Index arrays of shapes ``(len(y) - n_second,)`` and ``(n_second,)``.
    """
    y = np.asarray(y)
    n = y.shape[0]
    if not 0 < n_second < n:
        raise ValueError(f"the split size must be between 1 and {n - 1}, got {n_second}")
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * (n_second / n)
    take = np.floor(exact).astype(np.int64)
    short = n_second - int(take.sum())
    if short:
        order = np.argsort(-(exact - take), kind="stable")
        take[order[:short]] += 1
    first: list[np.ndarray] = []
    second: list[np.ndarray] = []
    for c, k in zip(classes, take, strict=True):
        idx = rng.permutation(np.flatnonzero(y == c))
        second.append(idx[:k])
        first.append(idx[k:])
    a = rng.permutation(np.concatenate(first)).astype(np.int64)
    b = rng.permutation(np.concatenate(second)).astype(np.int64)
    return a, b
