r"""Comparing a student's arrays with a reference, and splitting points.

Everything here uses only the grader's private numpy (:mod:`._pristine`): ndarray operators and
methods implemented in C (``a - b``, ``.ravel()``, ``.dot()``) and ufuncs, which student code
cannot monkeypatch. The relative error is the book's norm-based one (eq. ``relative-error``)

.. math:: \epsilon(a, b) = \frac{\lVert a - b \rVert}{\max(\lVert a\rVert + \lVert b\rVert,\
   \text{tiny})},

0 for two zero arrays, 1 when one of them is zero, and at most 1 in general.
"""

from __future__ import annotations

import math

from ._pristine import BUILTINS, np

__all__ = [
    "TINY",
    "TOL",
    "TOL_MATCH",
    "all_finite",
    "all_zero",
    "best_scale",
    "matches",
    "norm",
    "relative_error",
    "share",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: Tolerance of the relative error for a gradient to count as correct.
TOL = 1e-7
#: Tolerance for a student's array to count as equal to a known mutation of the reference.
TOL_MATCH = 1e-6
#: Floor of the denominator of :func:`relative_error`.
TINY = 1e-300


def norm(a: np.ndarray) -> float:
    """Euclidean norm of all entries (Frobenius for matrices), as a Python float."""
    v = a.ravel()
    return float(np.sqrt(_dot(v, v)))


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """``u · v`` of two 1D arrays by a ufunc reduction: no BLAS call, so no BLAS threads
    (which make tiny products slow on a busy machine)."""
    return float(np.add.reduce(np.multiply(u, v)))


def all_finite(a: np.ndarray) -> bool:
    """True when no entry is NaN or infinite."""
    return bool(np.logical_and.reduce(np.isfinite(a.ravel()))) if a.size else True


def all_zero(a: np.ndarray) -> bool:
    """True when every entry is exactly 0 (and there is at least one entry)."""
    return a.size > 0 and not bool(np.logical_or.reduce((a != 0).ravel()))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Norm-based relative error ``|a - b| / max(|a| + |b|, tiny)`` of two arrays of one shape.

    Returns ``inf`` when the shapes differ or an entry is not finite.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    if not (all_finite(a) and all_finite(b)):
        return math.inf
    with np.errstate(all="ignore"):
        return norm(a - b) / max(norm(a) + norm(b), TINY)


def matches(a: np.ndarray | None, b: np.ndarray | None, tol: float = TOL_MATCH) -> bool:
    """``a`` equals ``b`` within ``tol``: same shape (or both a single number) and small
    :func:`relative_error`. ``None`` (a mutation that does not apply) matches nothing."""
    if a is None or b is None:
        return False
    if a.shape != b.shape:
        if a.size == 1 and b.size == 1:
            return relative_error(a.ravel(), b.ravel()) <= tol
        return False
    return relative_error(a, b) <= tol


def best_scale(a: np.ndarray, b: np.ndarray) -> float | None:
    """The factor ``c`` minimising ``|a - c b|`` (``None`` if ``b`` is zero or shapes differ)."""
    if a.shape != b.shape:
        return None
    bb = _dot(b.ravel(), b.ravel())
    if not bb > 0:
        return None
    return _dot(a.ravel(), b.ravel()) / bb


def share(points: float, n_correct: int, n_items: int) -> float:
    """``points * n_correct / n_items`` rounded to 2 decimals, as a plain Python float in
    ``[0, points]``."""
    if n_items <= 0:
        return 0.0
    value = round(float(points) * n_correct / n_items, 2)
    return float(min(max(value, 0.0), float(points)))
