"""Small input checks shared by the data loaders and generators.

Everything here raises :class:`ValueError` (or :class:`DataError`, a subclass) with a message that
says what was expected and what came, as the rest of :mod:`nnscratch` does.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

SeedLike = int | np.integer | np.random.Generator | None


class DataError(ValueError):
    """A data file is missing, damaged or does not match its checksum.

    A subclass of :class:`ValueError`, so ``except ValueError`` catches it too. The message always
    names the file (or the folders searched) and says what to do about it.
    """


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        A non-negative integer seed (reproducible), an existing generator (used as is, so its
        state advances), or ``None`` for fresh, unpredictable entropy.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(
            f"{name} must be a non-negative int, a numpy.random.Generator or None, "
            f"got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return np.random.default_rng(int(seed))


def check_n(n: object, name: str = "n", minimum: int = 1) -> int:
    """Check that ``n`` is an integer ``>= minimum`` and return it as a Python ``int``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"{name} must be an int >= {minimum}, got {type(n).__name__} {n!r}")
    if n < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {n}")
    return int(n)


def check_noise(noise: object, name: str = "noise") -> float:
    """Check that ``noise`` is a finite real number ``>= 0`` and return it as a ``float``."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise ValueError(f"{name} must be a real number >= 0, got {type(noise).__name__}")
    value = float(noise)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite real number >= 0, got {noise!r}")
    return value


def check_name(name: object, valid: Iterable[str], what: str) -> str:
    """Normalise ``name`` (case-insensitive, ``-``/space as ``_``) and check it is in ``valid``.

    Returns the canonical name from ``valid``.
    """
    valid = tuple(valid)
    if isinstance(name, str):
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        for v in valid:
            if v.lower() == key:
                return v
    raise ValueError(f"unknown {what} {name!r}; valid names are: {', '.join(valid)}")


def check_dtype(dtype: object) -> np.dtype:
    """Check that ``dtype`` is a floating-point dtype (e.g. float64, float32)."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError as exc:
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}") from exc
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype such as float64, got {dt}")
    return dt


def one_hot(y: np.ndarray, n_classes: int, dtype: object = np.float64) -> np.ndarray:
    """Encode integer labels ``y`` of shape ``(n,)`` as a one-hot matrix ``(n, n_classes)``."""
    y = np.asarray(y)
    out = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


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
