"""Input validation shared by the library: every public entry point fails early with a
``ValueError`` that says what was expected and what came."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def as_2d_float(X, name: str = "X", dtype=np.float64, n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a finite 2D float array of shape ``(n_samples, n_features)``.

    A 1D array is read as a single feature column only when ``n_features == 1``;
    otherwise it is an error (ambiguous: one sample or many?).
    """
    try:
        X = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of numbers; could not convert it ({exc})"
        ) from None
    if X.ndim == 1 and n_features == 1:
        X = X[:, None]
    if X.ndim != 2:
        hint = ""
        if X.ndim == 1:
            hint = " (for a single sample use X.reshape(1, -1))"
        elif X.ndim > 2:
            hint = " (for images flatten each one: X.reshape(len(X), -1))"
        raise ValueError(
            f"{name} must be 2D with shape (n_samples, n_features), got shape {X.shape}{hint}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {X.shape}, need at least one sample")
    if n_features is not None and X.shape[1] != n_features:
        hint = ""
        if X.shape[0] == n_features:
            hint = (
                "; it looks transposed: nnscratch stores one sample per row, not Nielsen's "
                f"column vectors, so pass {name}.T"
            )
        raise ValueError(
            f"{name} has {X.shape[1]} features per sample but the network's input layer "
            f"expects {n_features}: got shape {X.shape}, expected (n_samples, {n_features}){hint}"
        )
    check_finite(X, name)
    return X


def check_finite(a: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming how many NaN/inf entries ``a`` holds and where the first is."""
    if not np.all(np.isfinite(a)):
        bad = ~np.isfinite(a)
        n_nan = int(np.isnan(a).sum())
        n_inf = int(bad.sum()) - n_nan
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} inf values (first at index {first}); "
            "clean or impute the data first"
        )


def check_positive(value, name: str, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive (integer) number."""
    ok_type = (
        isinstance(value, (int, np.integer))
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
    )
    if isinstance(value, bool) or not ok_type or not np.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def check_non_negative(value, name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def check_choice(value: str, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` listing them."""
    choices = sorted(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of: {', '.join(choices)}")
    return value


def as_generator(seed) -> np.random.Generator:
    """A ``np.random.Generator`` from a seed, an existing generator, or ``None`` (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise ValueError(
        f"seed must be an int, a np.random.Generator or None, got {type(seed).__name__}"
    )
