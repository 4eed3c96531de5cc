"""scikit-learn's 8x8 handwritten digits (1 797 images), split and scaled for the book."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import SeedLike, as_generator, check_dtype
from .._checks import one_hot as _one_hot
from ._checks import split_count, stratified_split

__all__ = ["DigitsSplit", "load_digits_split"]


class DigitsSplit(NamedTuple):
    """A train/test split; unpacks like scikit-learn's ``train_test_split``.

    ``X_train, X_test, y_train, y_test = load_digits_split()``
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def load_digits_split(
    test_size: float | int = 0.2,
    seed: SeedLike = 0,
    one_hot: bool = False,
    dtype: object = np.float64,
) -> DigitsSplit:
    """The 8x8 digits, scaled to ``[0, 1]`` (pixel / 16), in a seeded stratified split.

    Parameters
    ----------
    test_size : float or int, default 0.2
        Fraction in (0, 1) of the 1 797 images (rounded), or a count, that goes to the test set.
        Each digit keeps its share in both parts.
    seed : int, numpy.random.Generator or None, default 0
        Randomness of the split (same seed, same split).
    one_hot : bool, default False
        Labels as ``(n, 10)`` one-hot rows (in ``dtype``) instead of int64 ``(n,)``.
    dtype : float64 (default) or float32
        dtype of ``X``.

    Returns
    -------
    DigitsSplit
        ``(X_train, X_test, y_train, y_test)``: ``X`` of shape ``(n, 64)`` in ``[0, 1]``, ``y``
        int64 ``(n,)`` with values 0-9 (or one-hot ``(n, 10)``). With the default 0.2:
        1 438 training and 359 test images.
    """
    from sklearn.datasets import load_digits

    dt = check_dtype(dtype)
    rng = as_generator(seed)
    digits = load_digits()
    X = np.asarray(digits.data, dtype=dt) / 16
    y = np.asarray(digits.target, dtype=np.int64)
    n = y.shape[0]
    k = split_count(test_size, n, "test_size")
    if not 10 <= k <= n - 10:
        raise ValueError(
            f"test_size must leave at least 10 images on each side of the split (n = {n}), "
            f"got {test_size!r} -> {k} test images"
        )
    train, test = stratified_split(y, k, rng)
    y_tr, y_te = y[train], y[test]
    if one_hot:
        y_tr, y_te = _one_hot(y_tr, 10, dt), _one_hot(y_te, 10, dt)
    return DigitsSplit(X[train].astype(dt, copy=False), X[test].astype(dt, copy=False), y_tr, y_te)
