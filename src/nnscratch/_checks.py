"""Input checks for the whole package: every public entry point fails early with a
``ValueError`` that says what was expected and what came.

One function per kind of check, used everywhere (the network, training, the data loaders and
generators, the Ising sampler, the estimators):

=========================  ========================================================================
:func:`as_2d_float`        a finite float matrix ``(n_samples, n_features)``
:func:`check_finite`       no NaN/inf in an array
:func:`check_positive`     a real number > 0 (learning rates, clipping norms, ...)
:func:`check_non_negative` a real number >= 0 (L2 strength, noise, ...)
:func:`check_count`        an integer >= a minimum (sizes and counts: epochs, n, L, ...)
:func:`check_choice`       a name out of a fixed set (losses, activations, data sets, ...)
:func:`check_dtype`        float32 or float64
:func:`as_generator`       a seed (or generator) as a ``np.random.Generator``
:func:`one_hot`            integer class labels as one-hot rows
=========================  ========================================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

SeedLike = int | np.integer | np.random.Generator | np.random.SeedSequence | None
"""What every ``seed``/``rng`` argument of the package accepts (see :func:`as_generator`)."""


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


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(value: object, name: str) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number > 0, else raise
    ``ValueError`` (e.g. ``"learning rate eta must be a positive number, got 0"``)."""
    if not _is_real(value) or not np.isfinite(value) or value <= 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_non_negative(value: object, name: str) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number >= 0, else raise
    ``ValueError`` (e.g. ``"lmbda must be a number >= 0, got -1.0"``)."""
    if not _is_real(value) or not np.isfinite(value) or value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_count(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` as a Python ``int`` if it is an integer >= ``minimum``, else raise
    ``ValueError``: ``"epochs must be a positive integer, got 2.5"`` (``minimum=1``),
    ``"L must be an integer >= 2, got 1"`` (other minimums). Floats such as ``3.0`` and
    booleans are refused: a count is an ``int`` (or a NumPy integer)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum  # type: ignore[operator]
    ):
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def check_choice(
    value: object, name: str, choices: Iterable[str], *, normalize: bool = False
) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` that lists
    them in the order given: ``"unknown loss 'mse2'; expected one of: quadratic, ..."``.

    With ``normalize=True`` the match ignores case and surrounding blanks and reads ``-`` and
    spaces as ``_`` (``'xor'`` finds ``'XOR'``, ``'two moons'`` finds ``'two_moons'``); the
    spelling from ``choices`` is returned.
    """
    choices = tuple(choices)
    if isinstance(value, str):
        if value in choices:
            return value
        if normalize:
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            for choice in choices:
                if choice.lower() == key:
                    return choice
    raise ValueError(f"unknown {name} {value!r}; expected one of: {', '.join(choices)}")


def check_dtype(dtype: object) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64 (the precisions the library
    computes in), else raise ``ValueError``."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt not in (np.float32, np.float64):
        got = repr(dtype) if dt is None else str(dt)
        raise ValueError(f"dtype must be float32 or float64, got {got}")
    return dt


def as_generator(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        A non-negative integer (reproducible: the same int gives the same stream), an existing
        generator (returned as is, so its state advances and successive calls differ), a
        ``SeedSequence``, or ``None`` for fresh, unpredictable entropy.
    name : str
        The parameter's name in error messages (``"seed"``, ``"rng"``, ...).

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"{name} must be an int >= 0, a numpy.random.Generator or None, got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def one_hot(labels, n_classes: int, dtype=np.float64) -> np.ndarray:
    """Encode integer class labels ``(n,)`` in ``0..n_classes-1`` as one-hot rows
    ``(n, n_classes)`` of ``dtype``.

    Labels may be of any integer or boolean dtype, or floats with integer values (``2.0``);
    anything else, or a label out of range, raises ``ValueError`` naming the first offender.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"class labels must be a 1D array (n,), got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"class labels must be integers, got an array of dtype {y.dtype}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(
                f"class labels must be integers in 0..{n_classes - 1}; got non-integer values "
                f"such as {y[bad][0].item()!r}"
            )
    k = y.astype(np.int64)
    bad = (k < 0) | (k >= n_classes)
    if bad.any():
        raise ValueError(
            f"class label out of range: got {k[bad][0]}, expected integers in "
            f"0..{n_classes - 1}"
        )
    out = np.zeros((k.shape[0], n_classes), dtype=dtype)
    out[np.arange(k.shape[0]), k] = 1
    return out
