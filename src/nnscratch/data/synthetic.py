"""Small synthetic data sets: logic gates, two moons, the TensorFlow Playground sets and 2D
regression targets. Every random generator takes a seed or a ``numpy.random.Generator``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._checks import SeedLike, as_generator, check_choice, check_count, check_non_negative

__all__ = [
    "FUNCTIONS_2D",
    "LOGIC_GATES",
    "PLAYGROUND_SETS",
    "function_2d",
    "logic_gate",
    "make_function_2d",
    "make_moons",
    "playground",
]

# --------------------------------------------------------------------------------------------
# Logic gates
# --------------------------------------------------------------------------------------------

_GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
_GATE_OUTPUTS = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "XOR": (0, 1, 1, 0),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
}
#: Names accepted by :func:`logic_gate`.
LOGIC_GATES: tuple[str, ...] = tuple(_GATE_OUTPUTS)


def _labels(y: np.ndarray, signed: bool) -> np.ndarray:
    y = y.astype(np.int64)
    return 2 * y - 1 if signed else y


def logic_gate(name: str, *, signed: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Truth table of a two-input logic gate.

    Parameters
    ----------
    name : {"AND", "OR", "XOR", "NAND", "NOR"}
        Case-insensitive.
    signed : bool, default False
        Labels in {-1, +1} (for the perceptron) instead of {0, 1}.

    Returns
    -------
    X : numpy.ndarray, float64, shape (4, 2)
        The inputs ``[[0, 0], [0, 1], [1, 0], [1, 1]]``.
    y : numpy.ndarray, int64, shape (4,)
        The gate's output for each row.
    """
    key = check_choice(name, "logic gate", LOGIC_GATES, normalize=True)
    return _GATE_INPUTS.copy(), _labels(np.array(_GATE_OUTPUTS[key]), signed)


# --------------------------------------------------------------------------------------------
# Two moons
# --------------------------------------------------------------------------------------------


def make_moons(
    n: int = 200, noise: float = 0.1, seed: SeedLike = 0, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the construction of scikit-learn's ``make_moons``).

    Parameters
    ----------
    n : int, default 200
        Number of points; ``n // 2`` on the upper moon (label 0), the rest on the lower (label 1).
    noise : float, default 0.1
        Standard deviation of Gaussian noise added to each coordinate.
    seed : int, numpy.random.Generator or None, default 0
        Randomness of the noise and the shuffling.
    signed : bool, default False
        Labels in {-1, +1} instead of {0, 1}.

    Returns
    -------
    X : numpy.ndarray, float64, shape (n, 2)
    y : numpy.ndarray, int64, shape (n,)
        Values in {0, 1} (or {-1, +1}); points are shuffled.
    """
    n = check_count(n, "n")
    noise = check_non_negative(noise, "noise")
    rng = as_generator(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
        ]
    )
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    order = rng.permutation(n)
    X, y = X[order], y[order]
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    return X, _labels(y, signed)


# --------------------------------------------------------------------------------------------
# TensorFlow Playground (github.com/tensorflow/playground, src/dataset.ts)
# --------------------------------------------------------------------------------------------


def _pg_circle(n_pos: int, n_neg: int, noise: float, rng: np.random.Generator):
    radius = 5.0

    def ring(k: int, r_lo: float, r_hi: float) -> tuple[np.ndarray, np.ndarray]:
        r = rng.uniform(r_lo, r_hi, k)
        angle = rng.uniform(0, 2 * np.pi, k)
        pts = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        # As in the Playground, noise only moves the point used to decide the label.
        noisy = pts + rng.uniform(-radius, radius, (k, 2)) * noise
        return pts, (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.int64)

    p_in, y_in = ring(n_pos, 0.0, radius * 0.5)
    p_out, y_out = ring(n_neg, radius * 0.7, radius)
    return np.vstack([p_in, p_out]), np.concatenate([y_in, y_out])


def _pg_xor(n_pos: int, n_neg: int, noise: float, rng: np.random.Generator):
    k = n_pos + n_neg
    pts = rng.uniform(-5, 5, (k, 2))
    pts += np.where(pts > 0, 0.3, -0.3)  # padding away from the axes
    noisy = pts + rng.uniform(-5, 5, (k, 2)) * noise
    return pts, (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.int64)


def _pg_gauss(n_pos: int, n_neg: int, noise: float, rng: np.random.Generator):
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5  # d3 linear scale [0, .5] -> [0.5, 4]
    sd = np.sqrt(variance)
    pos = rng.normal(2.0, sd, (n_pos, 2))
    neg = rng.normal(-2.0, sd, (n_neg, 2))
    return np.vstack([pos, neg]), np.concatenate(
        [np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)]
    )


def _pg_spiral(n_pos: int, n_neg: int, noise: float, rng: np.random.Generator):
    def arm(k: int, delta: float) -> np.ndarray:
        i = np.arange(k) / k
        r = i * 5
        t = 1.75 * i * 2 * np.pi + delta
        pts = np.column_stack([r * np.sin(t), r * np.cos(t)])
        return pts + rng.uniform(-1, 1, (k, 2)) * noise

    return np.vstack([arm(n_pos, 0.0), arm(n_neg, np.pi)]), np.concatenate(
        [np.ones(n_pos, np.int64), np.zeros(n_neg, np.int64)]
    )


_PLAYGROUND = {"circle": _pg_circle, "xor": _pg_xor, "gauss": _pg_gauss, "spiral": _pg_spiral}
#: Names accepted by :func:`playground`.
PLAYGROUND_SETS: tuple[str, ...] = tuple(_PLAYGROUND)


def playground(
    name: str, n: int = 500, noise: float = 0.0, seed: SeedLike = 0, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The four classification sets of the TensorFlow Playground, generated as it does.

    * ``"circle"``: a disc of radius 2.5 (label 1) inside a ring 3.5 <= r <= 5 (label 0);
    * ``"xor"``: uniform on [-5, 5]^2 pushed 0.3 away from the axes, label 1 where x0 x1 >= 0;
    * ``"gauss"``: two Gaussians centred at (2, 2) (label 1) and (-2, -2) (label 0) whose
      variance grows linearly from 0.5 (noise 0) to 4 (noise 0.5);
    * ``"spiral"``: two interleaved spirals out to radius 5, 1.75 turns each.

    As in the Playground, ``noise`` (its slider divided by 100, so 0 to 0.5) jitters the points
    of the spirals, widens the Gaussians, and for circle and xor flips labels near the boundary:
    the label is decided at the point displaced by ``noise * uniform(-5, 5)`` per coordinate,
    while the returned point stays where it was drawn.

    Parameters
    ----------
    name : {"circle", "xor", "gauss", "spiral"}
    n : int, default 500
        Number of points (``n // 2`` per class for circle, gauss and spiral).
    noise : float, default 0.0
        Between 0 and 0.5.
    seed : int, numpy.random.Generator or None, default 0
    signed : bool, default False
        Labels in {-1, +1} (the Playground's own) instead of {0, 1}.

    Returns
    -------
    X : numpy.ndarray, float64, shape (n, 2)
        Coordinates (roughly within [-6, 6]^2), shuffled.
    y : numpy.ndarray, int64, shape (n,)
        1 for the Playground's positive (blue) class, else 0 (or -1 if signed).
    """
    key = check_choice(name, "playground data set", PLAYGROUND_SETS, normalize=True)
    n = check_count(n, "n")
    noise = check_non_negative(noise, "noise")
    if noise > 0.5:
        raise ValueError(f"noise must be between 0 and 0.5 (the Playground's 0-50%), got {noise}")
    rng = as_generator(seed)
    n_pos = n - n // 2
    X, y = _PLAYGROUND[key](n_pos, n - n_pos, noise, rng)
    order = rng.permutation(n)
    return X[order].astype(np.float64, copy=False), _labels(y[order], signed)


# --------------------------------------------------------------------------------------------
# 2D regression targets
# --------------------------------------------------------------------------------------------


def _exp_abs(X: np.ndarray) -> np.ndarray:
    return np.exp(-5 * (X[:, 0] ** 2 + X[:, 1] ** 2)) * np.abs(X[:, 0] + X[:, 1])


def _saddle(X: np.ndarray) -> np.ndarray:
    return X[:, 0] ** 2 - X[:, 1] ** 2


def _sin_cos(X: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, 1])


def _ripple(X: np.ndarray) -> np.ndarray:
    r = np.hypot(X[:, 0], X[:, 1])
    return np.cos(3 * np.pi * r) * np.exp(-(r**2))


#: Named 2D functions ``f(X) -> (n,)`` for regression, with their formulas.
FUNCTIONS_2D: dict[str, str] = {
    "exp_abs": "exp(-5 (x0^2 + x1^2)) |x0 + x1|",
    "saddle": "x0^2 - x1^2",
    "sin_cos": "sin(pi x0) cos(pi x1)",
    "ripple": "cos(3 pi r) exp(-r^2), r = sqrt(x0^2 + x1^2)",
}
_FUNCS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp_abs": _exp_abs,
    "saddle": _saddle,
    "sin_cos": _sin_cos,
    "ripple": _ripple,
}


def function_2d(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """A named function of two variables (see :data:`FUNCTIONS_2D` for the formulas).

    Parameters
    ----------
    name : {"exp_abs", "saddle", "sin_cos", "ripple"}

    Returns
    -------
    callable
        ``f(X)`` taking ``X`` of shape ``(n, 2)`` and returning float64 values of shape ``(n,)``.
    """
    key = check_choice(name, "2D function", FUNCTIONS_2D, normalize=True)
    func = _FUNCS[key]

    def f(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"{key}: X must have shape (n, 2), got {X.shape}")
        return func(X)

    f.__name__ = key
    f.__doc__ = f"{key}(X) = {FUNCTIONS_2D[key]}; X of shape (n, 2) -> values of shape (n,)."
    return f


def make_function_2d(
    name: str,
    n: int = 500,
    seed: SeedLike = 0,
    noise: float = 0.0,
    *,
    low: float = -1.0,
    high: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Regression samples of a named 2D function on the square ``[low, high]^2``.

    Parameters
    ----------
    name : {"exp_abs", "saddle", "sin_cos", "ripple"}
    n : int, default 500
    seed : int, numpy.random.Generator or None, default 0
    noise : float, default 0.0
        Standard deviation of Gaussian noise added to the targets.
    low, high : float
        The square the inputs are drawn from, uniformly.

    Returns
    -------
    X : numpy.ndarray, float64, shape (n, 2)
    y : numpy.ndarray, float64, shape (n, 1)
    """
    f = function_2d(name)
    n = check_count(n, "n")
    noise = check_non_negative(noise, "noise")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got low={low!r}, high={high!r}")
    rng = as_generator(seed)
    X = rng.uniform(low, high, (n, 2))
    y = f(X)
    if noise:
        y = y + rng.normal(0.0, noise, n)
    return X, y.reshape(n, 1)
