r"""The two-moons network of ps3-moons: reference, planted bugs, diagnosis, code for the child.

The exercise sheet's network has two inputs ``X1``, ``X2`` (the coordinates of ``N`` points,
shapes ``(N,)``), one hidden layer of ``n`` ReLU neurons (50 in the assignment) and one linear
output without bias; the parameters are global variables of the notebook:

* ``W`` of shape ``(2, n)``: ``W[0]`` the weights from ``X1``, ``W[1]`` those from ``X2``;
* ``B`` of shape ``(n,)``: the hidden biases;
* ``V`` of shape ``(n,)``: the output weights.

It is the network of the book's two-moons chapter (``W = W^1``, ``B = b^1``, ``V = W^2[:, 0]``)
without the output bias :math:`b^2`. Forward pass (eq. ``feedforward-batch``) and cost
(eq. ``perceptron-loss``):

.. math::
    z_{xj} = x_{1x} W_{0j} + x_{2x} W_{1j} + B_j, \quad h = \mathrm{ReLU}(z), \quad
    y_x = \sum_j h_{xj} V_j, \quad C = \frac1N \sum_x \max(0, -y_x t_x).

Backpropagation (eqs. ``bp1``-``bp4``), with the subgradient 0 at both kinks
(:math:`\Theta(0) = 0`, as :mod:`nnscratch.activations` and :mod:`nnscratch.losses` do):

.. math::
    \frac{\partial C}{\partial y_x} = -\frac{t_x}{N}\,\Theta(-y_x t_x), \quad
    \frac{\partial C}{\partial V} = h^T \frac{\partial C}{\partial y}, \quad
    \delta_{xj} = \frac{\partial C}{\partial y_x} V_j \Theta(z_{xj}), \quad
    \frac{\partial C}{\partial B_j} = \sum_x \delta_{xj}, \quad
    \frac{\partial C}{\partial W_{0j}} = \sum_x x_{1x} \delta_{xj}.

:func:`backprop_variant` computes these gradients with any combination of typical mistakes
(a :class:`Bug`); :data:`CATALOGUE` names them; :func:`diagnose` explains a student's wrong
gradients by the mutation (possibly times -1, 2 or 1/2) that reproduces them. Functions whose
name starts with ``child_`` run in the forked child and call the student's ``backprop``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ._pristine import BUILTINS, np
from .compare import TOL, all_finite, all_zero, best_scale, matches, relative_error
from .mutations import SCALES as ENGINE_SCALES
from .nielsen import _call_watched, _float_array, _not_a_tuple, _watched_call

Array = np.ndarray

__all__ = [
    "CATALOGUE",
    "ITEMS",
    "SCALES",
    "Bug",
    "Case",
    "Group",
    "ItemResult",
    "Mutation",
    "accuracy",
    "add_mutants",
    "backprop_variant",
    "child_backprop_cases",
    "child_train",
    "diagnose",
    "he_init",
    "kink_cases",
    "moons_data",
    "output",
    "random_cases",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: The three gradients, in the order ``backprop`` returns them: (name, parameter).
ITEMS: tuple[tuple[str, str], ...] = (("DW", "W"), ("DB", "B"), ("DV", "V"))


# --------------------------------------------------------------------------------------------
# The network and its reference gradient
# --------------------------------------------------------------------------------------------


def _forward(X1: Array, X2: Array, W: Array, B: Array, V: Array) -> tuple[Array, Array, Array]:
    """``(Z, H, Y)``: weighted inputs and hidden activations ``(N, n)``, outputs ``(N,)``."""
    Z = np.outer(X1, W[0]) + np.outer(X2, W[1]) + B
    H = np.maximum(Z, 0.0)
    Y = H @ V
    return Z, H, Y


def output(X1: Array, X2: Array, W: Array, B: Array, V: Array) -> Array:
    """The network's output ``y`` of shape ``(N,)`` (eq. ``feedforward-batch``, no output bias)."""
    with np.errstate(all="ignore"):
        return _forward(X1, X2, W, B, V)[2]


def accuracy(X1: Array, X2: Array, T: Array, W: Array, B: Array, V: Array) -> float:
    """Fraction of points classified right, ``y t > 0`` (a point with ``y = 0`` counts as wrong)."""
    Y = output(X1, X2, W, B, V)
    hits = np.add.reduce((Y * T > 0).astype(np.int64))
    return float(hits) / float(T.shape[0])


@dataclass(frozen=True)
class Bug:
    """A combination of mistakes (the default is none: the reference).

    Attributes
    ----------
    loss : {'perceptron', 'all', 'inverted', 'quadratic', 'hinge'}
        ``∂C/∂y``: ``-t Θ(-y t)/N`` (right); ``-t/N`` for every point; only the correctly
        classified points (``y t > 0``); the quadratic cost's ``(y - t)/N``; the hinge loss's
        margin (points with ``y t < 1``).
    tie_loss : bool
        Points with ``y t = 0`` count as misclassified (``y t <= 0``).
    sign : float
        Multiplies ``∂C/∂y`` (``-1``: ``+t`` instead of ``-t``).
    relu : {'step', 'ge', 'none', 'value'}
        The ReLU derivative in ``δ``: ``Θ(z)`` with ``Θ(0) = 0`` (right); ``Θ(0) = 1``
        (``z >= 0``); missing; ``ReLU(z)`` instead of its derivative.
    mean : bool
        Divide by the number of points ``N`` (``False``: the ``1/N`` is missing).
    dv_from : {'h', 'z'}
        ``∂C/∂V`` from the activations ``h`` (right) or the weighted inputs ``z``.
    hidden_v : bool
        ``δ`` contains the factor ``V_j`` (``False``: missing).
    swap_x : {'none', 'grad', 'forward', 'forward_only'}
        ``X1``/``X2`` swapped: nowhere; in ``∂C/∂W`` only (its rows swapped); everywhere; in
        the forward pass only (``DW[0]`` still from ``X1``).
    swap_db_dv : bool
        ``∂C/∂B`` and ``∂C/∂V`` returned in each other's place.
    hidden_zero : bool
        ``∂C/∂W`` and ``∂C/∂B`` left at zero.
    """

    loss: str = "perceptron"
    tie_loss: bool = False
    sign: float = 1.0
    relu: str = "step"
    mean: bool = True
    dv_from: str = "h"
    hidden_v: bool = True
    swap_x: str = "none"
    swap_db_dv: bool = False
    hidden_zero: bool = False


def backprop_variant(
    X1: Array, X2: Array, T: Array, W: Array, B: Array, V: Array, bug: Bug = Bug()
) -> tuple[Array, Array, Array]:
    """``(DW, DB, DV)`` of the perceptron cost (eq. ``perceptron-loss``) in float64, shapes
    ``(2, n)``, ``(n,)``, ``(n,)``, with the mistakes of ``bug`` planted (eqs. ``bp1``-``bp4``)."""
    if bug.swap_x in ("forward", "forward_only"):
        X1, X2 = X2, X1
    with np.errstate(all="ignore"):
        Z, H, Y = _forward(X1, X2, W, B, V)
        N = T.shape[0]
        u = Y * T
        if bug.loss == "perceptron":
            mask = (u <= 0) if bug.tie_loss else (u < 0)
            dY = np.where(mask, -T, 0.0)
        elif bug.loss == "all":
            dY = -T
        elif bug.loss == "inverted":
            dY = np.where(u > 0, -T, 0.0)
        elif bug.loss == "quadratic":
            dY = Y - T
        elif bug.loss == "hinge":
            dY = np.where(u < 1, -T, 0.0)
        else:
            raise ValueError(f"unknown loss {bug.loss!r}")
        dY = dY * bug.sign
        if bug.mean:
            dY = dY / N
        DV = (H if bug.dv_from == "h" else Z).T @ dY
        if bug.relu == "step":
            d = (Z > 0).astype(np.float64)
        elif bug.relu == "ge":
            d = (Z >= 0).astype(np.float64)
        elif bug.relu == "none":
            d = np.ones(Z.shape)
        elif bug.relu == "value":
            d = H
        else:
            raise ValueError(f"unknown relu {bug.relu!r}")
        delta = np.outer(dY, V if bug.hidden_v else np.ones(V.shape)) * d
        DB = np.add.reduce(delta, axis=0)
        DW = np.stack([X1 @ delta, X2 @ delta])
        if bug.swap_x in ("grad", "forward_only"):
            DW = DW[::-1].copy()
        if bug.hidden_zero:
            DW, DB = np.zeros(DW.shape), np.zeros(DB.shape)
        if bug.swap_db_dv:
            DB, DV = DV, DB
    return (
        np.asarray(DW, dtype=np.float64),
        np.asarray(DB, dtype=np.float64),
        np.asarray(DV, dtype=np.float64),
    )


def _as_vector(a, name: str, n: int | None = None) -> Array:
    a = np.array(a, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = f"({n},)" if n is not None else "(N,)"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if not all_finite(a):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def reference_backprop(X1, X2, T, W, B, V) -> tuple[Array, Array, Array]:
    """The correct ``(DW, DB, DV)`` of the two-moons network, in float64.

    Parameters
    ----------
    X1, X2
        The two input coordinates of ``N`` points, shape ``(N,)``.
    T
        Targets ``±1``, shape ``(N,)``; the cost is the average perceptron loss
        (eq. ``perceptron-loss``).
    W, B, V
        Weights ``(2, n)``, hidden biases ``(n,)``, output weights ``(n,)``.

    Returns
    -------
    (DW, DB, DV)
        Shapes ``(2, n)``, ``(n,)``, ``(n,)`` (eqs. ``bp1``-``bp4``, subgradient 0 at the kinks).

    Raises
    ------
    ValueError
        For shapes that do not fit, or NaN/inf.
    """
    X1 = _as_vector(X1, "X1")
    N = X1.shape[0]
    if N == 0:
        raise ValueError("X1 must hold at least one point, got shape (0,)")
    X2 = _as_vector(X2, "X2", N)
    T = _as_vector(T, "T", N)
    W = np.array(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != 2 or W.shape[1] == 0:
        raise ValueError(f"W must have shape (2, n), got {W.shape}")
    n = W.shape[1]
    B = _as_vector(B, "B", n)
    V = _as_vector(V, "V", n)
    if not all_finite(W):
        raise ValueError("W contains NaN or inf")
    return backprop_variant(X1, X2, T, W, B, V)


# --------------------------------------------------------------------------------------------
# Test cases
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One network and data set: inputs, targets, parameters, and (parent side) the gradients
    of the reference and of every mutation, ``mutants[key] = (DW, DB, DV)``."""

    X1: Array
    X2: Array
    T: Array
    W: Array
    B: Array
    V: Array
    mutants: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.mutants:
            self.mutants["reference"] = backprop_variant(
                self.X1, self.X2, self.T, self.W, self.B, self.V
            )

    @property
    def N(self) -> int:
        return int(self.T.shape[0])

    @property
    def n(self) -> int:
        return int(self.W.shape[1])


@dataclass
class Group:
    """Examples that are graded together: each gradient counts once per group, and is correct
    only if it is correct on every example."""

    label: str
    cases: list[Case]


def _generator(*seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([int(s) & 0xFFFFFFFF for s in seed]))


def moons_data(n: int = 100, seed: int = 0) -> tuple[Array, Array, Array]:
    """The assignment's data: ``make_moons(n, noise=0.1, seed, signed=True)``, each input
    rescaled to ``[-1, 1]``; returns ``X1, X2, T`` of shape ``(n,)`` (``T`` float ``±1``)."""
    from ..data import make_moons

    with np.errstate(all="ignore"):
        X, t = make_moons(n, noise=0.1, seed=seed, signed=True)
        X = np.asarray(X, dtype=np.float64)
        lo, hi = X.min(axis=0), X.max(axis=0)
        X = 2 * (X - lo) / (hi - lo) - 1
    return X[:, 0].copy(), X[:, 1].copy(), np.asarray(t, dtype=np.float64)


def he_init(n: int, seed: int, salt: int = 0) -> tuple[Array, Array, Array]:
    """He initialisation: ``W`` ``(2, n)`` with standard deviation ``sqrt(2/2) = 1``, ``B = 0``,
    ``V`` ``(n,)`` with standard deviation ``sqrt(2/n)``; seeded."""
    rng = _generator(seed, salt, 31337)
    W = rng.standard_normal((2, n))
    B = np.zeros(n)
    V = rng.standard_normal(n) * np.sqrt(2.0 / n)
    return W, B, V


def random_cases(N: int, n: int, count: int, seed: int, salt: int = 0) -> list[Case]:
    """``count`` seeded cases with ``N`` random points (uniform in ``[-1, 1]²``), random ``±1``
    targets and random parameters (``W``, ``V`` normal, ``B`` normal with std 0.5); about half
    the points are misclassified. With ``N = 1`` the single point is misclassified."""
    cases = []
    for k in range(count):
        rng = _generator(seed, salt, k, 101)
        X1 = rng.uniform(-1.0, 1.0, N)
        X2 = rng.uniform(-1.0, 1.0, N)
        W = rng.standard_normal((2, n))
        B = 0.5 * rng.standard_normal(n)
        V = rng.standard_normal(n) * np.sqrt(2.0 / n)
        T = np.where(rng.uniform(0.0, 1.0, N) < 0.5, -1.0, 1.0)
        if N == 1:
            y = output(X1, X2, W, B, V)
            T = np.where(y > 0, -1.0, 1.0)
        cases.append(Case(X1, X2, T, W, B, V))
    return cases


def moons_cases(count: int, seed: int, salt: int = 0) -> list[Case]:
    """The assignment's 100 moons points with ``count`` seeded He-initialised networks of 50
    hidden neurons."""
    X1, X2, T = moons_data()
    return [Case(X1, X2, T, *he_init(50, seed, 1000 * salt + k)) for k in range(count)]


def kink_cases(seed: int) -> list[Case]:
    """Two cases where the subgradient convention matters.

    1. Weighted inputs exactly 0: two of 8 points sit at the origin where 2 of the 6 hidden
       biases are 0, and a third point has ``z = 0`` for neuron 2; all three are
       misclassified.
    2. ``V = 0``: every output is exactly 0, so ``y t = 0`` for every point.
    """
    rng = _generator(seed, 7, 202)
    N, n = 8, 6
    X1 = rng.uniform(-1.0, 1.0, N)
    X2 = rng.uniform(-1.0, 1.0, N)
    W = rng.standard_normal((2, n))
    B = np.abs(rng.standard_normal(n)) + 0.2
    X1[:2] = X2[:2] = 0.0  # two points at the origin: z = B there ...
    B[:2] = 0.0  # ... which is 0 for hidden neurons 0 and 1
    X1[2], X2[2] = 0.5, 0.0  # z = 0.5 * 1 + 0 * W[1, 2] - 0.5 = 0 exactly
    W[0, 2], B[2] = 1.0, -0.5
    V = rng.standard_normal(n) * np.sqrt(2.0 / n)
    T = np.where(rng.uniform(0.0, 1.0, N) < 0.5, -1.0, 1.0)
    y = output(X1, X2, W, B, V)
    T[:3] = np.where(y[:3] > 0, -1.0, 1.0)  # the points with z = 0 are misclassified
    first = Case(X1, X2, T, W, B, V)
    rng2 = _generator(seed, 8, 303)
    X1b = rng2.uniform(-1.0, 1.0, N)
    X2b = rng2.uniform(-1.0, 1.0, N)
    Tb = np.where(rng2.uniform(0.0, 1.0, N) < 0.5, -1.0, 1.0)
    Wb = rng2.standard_normal((2, n))
    Bb = 0.5 * rng2.standard_normal(n)
    second = Case(X1b, X2b, Tb, Wb, Bb, np.zeros(n))
    return [first, second]


# --------------------------------------------------------------------------------------------
# The catalogue of mistakes
# --------------------------------------------------------------------------------------------

Message = Callable[[str, Case], "str | None"]


@dataclass(frozen=True)
class Mutation:
    """A named bug: ``texts[item]`` explains a wrong ``DW``/``DB``/``DV`` (items it does not
    change have no text); ``summary`` explains the whole submission."""

    key: str
    bug: Bug
    texts: dict[str, str]
    summary: str
    priority: int = 50


_LOSS = "(eq. 3)"
_DELTA = "δ = ∂C/∂y · V · Θ(z) (eq. 5)"
_HIDDEN = ("DW", "DB")
_ALL = ("DW", "DB", "DV")


def _texts(items: Sequence[str], text: str) -> dict[str, str]:
    return dict.fromkeys(items, text)


def _hidden_error(key: str, bug: Bug, text: str, summary: str, priority: int) -> Mutation:
    """A mistake in the hidden error δ: ``text`` for DW and DB, followed by eq. 5."""
    return Mutation(key, bug, _texts(_HIDDEN, f"{text}: {_DELTA}"), summary, priority=priority)


CATALOGUE: tuple[Mutation, ...] = (
    Mutation(
        "swap_db_dv",
        Bug(swap_db_dv=True),
        {
            "DB": "holds ∂C/∂V: DB and DV are swapped (return DW, DB, DV in this order)",
            "DV": "holds ∂C/∂B: DB and DV are swapped (return DW, DB, DV in this order)",
        },
        "DB and DV are returned in each other's place",
        priority=5,
    ),
    Mutation(
        "swap_x_grad",
        Bug(swap_x="grad"),
        {"DW": "has its two rows swapped: DW[0] is the gradient of W[0], which multiplies X1, "
               "and DW[1] that of W[1], which multiplies X2 (eq. 6)"},
        "X1 and X2 are swapped in DW (its rows are in the wrong order)",
        priority=6,
    ),
    Mutation(
        "swap_x_forward",
        Bug(swap_x="forward"),
        _texts(_ALL, "X1 and X2 are swapped in the forward pass: z = X1 W[0] + X2 W[1] + B "
                     "(eq. 1)"),
        "X1 and X2 are swapped (z = X1 W[0] + X2 W[1] + B, eq. 1)",
        priority=7,
    ),
    Mutation(
        "swap_x_forward_only",
        Bug(swap_x="forward_only"),
        _texts(_ALL, "X1 and X2 are swapped in the forward pass: z = X1 W[0] + X2 W[1] + B "
                     "(eq. 1)"),
        "X1 and X2 are swapped (z = X1 W[0] + X2 W[1] + B, eq. 1)",
        priority=8,
    ),
    Mutation(
        "relu_ge",
        Bug(relu="ge"),
        _texts(_HIDDEN, "takes the ReLU derivative as 1 at z = 0 (z >= 0); the convention here "
                        "is Θ(0) = 0, i.e. z > 0 (eq. 5)"),
        "the ReLU derivative is taken as 1 at z = 0 (z >= 0 instead of z > 0, eq. 5)",
        priority=10,
    ),
    Mutation(
        "tie_loss",
        Bug(tie_loss=True),
        _texts(_ALL, "counts points with y t = 0 as misclassified (y t <= 0); only points with "
                     f"y t < 0 contribute, the subgradient at the kink is 0 {_LOSS}"),
        "points with y t = 0 are counted as misclassified (y t <= 0 instead of y t < 0, eq. 3)",
        priority=11,
    ),
    _hidden_error(
        "relu_none",
        Bug(relu="none"),
        "the ReLU derivative Θ(z) is missing",
        "the ReLU derivative Θ(z) is missing in δ (eq. 5)",
        20,
    ),
    _hidden_error(
        "relu_value",
        Bug(relu="value"),
        "uses ReLU(z) itself instead of its derivative Θ(z)",
        "δ uses ReLU(z) instead of the ReLU derivative Θ(z) (eq. 5)",
        21,
    ),
    _hidden_error(
        "no_v",
        Bug(hidden_v=False),
        "the factor V_j is missing in the hidden error",
        "the hidden error δ is missing the factor V (eq. 5)",
        22,
    ),
    Mutation(
        "dv_from_z",
        Bug(dv_from="z"),
        {"DV": "uses the weighted input z instead of the hidden activation h = ReLU(z): "
               "∂C/∂V = hᵀ ∂C/∂y (eq. 4)"},
        "DV uses z instead of h = ReLU(z) (eq. 4)",
        priority=23,
    ),
    Mutation(
        "loss_all",
        Bug(loss="all"),
        _texts(_ALL, "every point contributes −t/N, also the correctly classified ones; only "
                     f"misclassified points (y t < 0) feed the gradient {_LOSS}"),
        "the correctly classified points are included in the gradient (only y t < 0 counts, "
        "eq. 3)",
        priority=30,
    ),
    Mutation(
        "loss_inverted",
        Bug(loss="inverted"),
        _texts(_ALL, "only the correctly classified points (y t > 0) contribute; it must be the "
                     f"misclassified ones (y t < 0) {_LOSS}"),
        "the condition is inverted: the correctly classified points feed the gradient instead "
        "of the misclassified ones (eq. 3)",
        priority=31,
    ),
    Mutation(
        "loss_quadratic",
        Bug(loss="quadratic"),
        _texts(_ALL, "uses the quadratic cost's ∂C/∂y = (y − t)/N; the perceptron loss gives "
                     f"∂C/∂y = −t Θ(−y t)/N {_LOSS}"),
        "∂C/∂y is that of the quadratic cost, (y − t)/N, not of the perceptron loss (eq. 3)",
        priority=32,
    ),
    Mutation(
        "loss_hinge",
        Bug(loss="hinge"),
        _texts(_ALL, "uses the hinge loss max(0, 1 − y t) (points with y t < 1); the perceptron "
                     f"loss max(0, −y t) counts only points with y t < 0 {_LOSS}"),
        "∂C/∂y is that of the hinge loss max(0, 1 − y t), not of max(0, −y t) (eq. 3)",
        priority=33,
    ),
    Mutation(
        "hidden_zero",
        Bug(hidden_zero=True),
        _texts(_HIDDEN, "is all zeros: the gradients of the hidden layer are not computed "
                        "(eqs. 5 and 6)"),
        "DW and DB are left at zero (eqs. 5 and 6)",
        priority=40,
    ),
    Mutation(
        "no_mean",
        Bug(mean=False),
        _texts(_ALL, "is N times too large: the cost is the average over the N points, so "
                     "∂C/∂y has a factor 1/N (eqs. 2 and 3)"),
        "the 1/N of the average over the data set is missing (eqs. 2 and 3)",
        priority=45,
    ),
    Mutation(
        "sign",
        Bug(sign=-1.0),
        _texts(_ALL, "the sign is flipped: ∂C/∂y = −t/N on a misclassified point, not +t/N "
                     f"{_LOSS}"),
        "the sign of ∂C/∂y is flipped: +t instead of −t on misclassified points (eq. 3)",
        priority=60,
    ),
)

#: Extra factors tried on top of every mutation (a second, independent slip): the engine's
#: (:data:`nnscratch.grading.mutations.SCALES`), the flipped sign said in this network's terms.
SCALES: tuple[tuple[float, str], ...] = tuple(
    (c, "; also the sign is flipped (∂C/∂y = −t/N on misclassified points)" if c == -1.0 else text)
    for c, text in ENGINE_SCALES
)


def add_mutants(case: Case) -> None:
    """Fill ``case.mutants`` with every mutation of :data:`CATALOGUE` (idempotent)."""
    if len(case.mutants) > 1:
        return
    for m in CATALOGUE:
        case.mutants[m.key] = backprop_variant(
            case.X1, case.X2, case.T, case.W, case.B, case.V, m.bug
        )


# --------------------------------------------------------------------------------------------
# Diagnosis
# --------------------------------------------------------------------------------------------


@dataclass
class ItemResult:
    """The verdict on one gradient (``'DW'``, ``'DB'``, ``'DV'``) of one group."""

    name: str
    correct: bool
    message: str
    shape_ok: bool = True
    cause: str | None = None


def _scale_match(S: Sequence[Array], M: Sequence[Array | None]) -> float | None:
    """The factor ``c`` of :data:`SCALES` with ``S ≈ c M`` on every example, or ``None``."""
    found = None
    for s, m in zip(S, M):
        if m is None or s.shape != m.shape:
            return None
        if all_zero(m):
            if not all_zero(s):
                return None
            continue
        c = best_scale(s, m)
        if c is None:
            return None
        near = [v for v, _ in SCALES if abs(c - v) <= 1e-6 * abs(v)]
        if not near or (found is not None and near[0] != found):
            return None
        found = near[0]
    if found is None:
        found = 1.0
    if not all(matches(s, m * found) for s, m in zip(S, M)):
        return None
    return found


class _Evidence:
    """For a mutation and a factor: does it explain every gradient of the student (wrong ones
    matched, right ones unchanged by it), and which wrong ones does it match?"""

    def __init__(self, groups: Sequence[Group], student: Sequence[list | None]) -> None:
        self.groups, self.student = groups, student
        self.cache: dict = {}

    def __call__(self, key: str, c: float) -> tuple[bool, frozenset]:
        if (key, c) not in self.cache:
            consistent, explained = True, set()
            for g, (group, answers) in enumerate(zip(self.groups, self.student)):
                if answers is None:
                    continue
                for i, (name, _) in enumerate(ITEMS):
                    for case, ans in zip(group.cases, answers):
                        s = ans[i]
                        r = case.mutants["reference"][i]
                        m = case.mutants[key][i] * c
                        if matches(s, m):
                            if not matches(s, r, TOL):
                                explained.add((g, name))
                        elif not (matches(m, r, TOL) and matches(s, r, TOL)):
                            consistent = False
            self.cache[(key, c)] = (consistent, frozenset(explained))
        return self.cache[(key, c)]


def diagnose(
    groups: Sequence[Group], student: Sequence[list | None]
) -> tuple[list[list[ItemResult] | None], str]:
    """Judge and explain the student's gradients.

    Parameters
    ----------
    groups
        The test groups (their cases' ``mutants`` are completed on demand).
    student
        Per group, the student's ``(DW, DB, DV)`` per case as float64 arrays, or ``None`` when
        the group gave no usable result (the caller explains why).

    Returns
    -------
    (results, summary)
        ``results[g]``: an :class:`ItemResult` per gradient (``None`` for groups without a
        result); ``summary``: one sentence when a single mutation explains every wrong
        gradient, else ``''``.
    """
    results: list[list[ItemResult] | None] = []
    pending = []
    for group, answers in zip(groups, student):
        if answers is None:
            results.append(None)
            continue
        row = []
        for i, (name, _) in enumerate(ITEMS):
            S = [a[i] for a in answers]
            R = [c.mutants["reference"][i] for c in group.cases]
            shape_ok = all(s.shape == r.shape for s, r in zip(S, R))
            if shape_ok and all(relative_error(s, r) <= TOL for s, r in zip(S, R)):
                row.append(ItemResult(name, True, "correct"))
            elif not all(all_finite(s) for s in S):
                row.append(ItemResult(name, False, "contains NaN or inf", shape_ok, "nonfinite"))
            else:
                row.append(ItemResult(name, False, "", shape_ok))
                pending.append((len(results), i))
        results.append(row)
    if not pending:
        return results, ""
    for group in groups:
        for case in group.cases:
            add_mutants(case)
    evidence = _Evidence(groups, student)
    suffixes = dict(SCALES)
    tried: set = set()
    for g, i in pending:
        r = results[g][i]
        group, answers = groups[g], student[g]
        S = [a[i] for a in answers]
        R = [c.mutants["reference"][i] for c in group.cases]
        candidates = []
        for m in CATALOGUE:
            if r.name not in m.texts:
                continue
            c = _scale_match(S, [case.mutants[m.key][i] for case in group.cases])
            if c is None:
                continue
            tried.add((m.key, c))
            consistent, explained = evidence(m.key, c)
            candidates.append(((not consistent, -len(explained), c != 1.0, m.priority), m, c))
        best = min(candidates, key=lambda t: t[0]) if candidates else None
        if best is not None and not (best[0][0] and all(all_zero(s) for s in S)):
            _, m, c = best
            r.message, r.cause = m.texts[r.name] + suffixes[c], m.key
        else:  # nothing explains it, or all zeros that a mutation only happens to match
            r.message, r.cause = _unexplained(r.name, S, R, group)
    for row in results:
        if row is None:
            continue
        by_name = {r.name: r for r in row}
        for r in row:
            if not r.correct and r.message.startswith("wrong values"):
                r.message += _hint(r.name, by_name)
    wrong = frozenset((g, results[g][i].name) for g, i in pending)
    full = [
        (c != 1.0, m.priority, m, c)
        for m in CATALOGUE
        for c, _ in SCALES
        if (m.key, c) in tried and evidence(m.key, c) == (True, wrong)
    ]
    summary = ""
    if full:
        _, _, m, c = min(full, key=lambda t: t[:2])
        summary = m.summary + suffixes[c]
    return results, summary


def _unexplained(name: str, S, R, group: Group) -> tuple[str, str | None]:
    param = dict(ITEMS)[name]
    errors = [relative_error(s, r) for s, r in zip(S, R)]
    bad = next((k for k, (s, r) in enumerate(zip(S, R)) if s.shape != r.shape), None)
    if bad is not None:
        s, r, case = S[bad], R[bad], group.cases[bad]
        if s.size == r.size and matches(s.reshape(r.shape), r, TOL):
            return (f"has the right values but shape {s.shape}; it must have the shape of "
                    f"{param}, {r.shape}", "shape")
        if name == "DW" and s.shape == r.T.shape:
            return (f"has shape {s.shape}, the transpose of W's {r.shape}: DW[0] belongs to "
                    "W[0] (from X1), DW[1] to W[1] (from X2)", "shape")
        if name == "DB" and s.shape == (case.N, case.n):
            return (f"has shape {s.shape}, one row per data point: ∂C/∂B_j sums δ_xj over the "
                    "points x (eq. 6)", "shape")
        return f"has shape {s.shape} but {param} has shape {r.shape}", "shape"
    if all(all_zero(s) for s in S):
        return "is all zeros", "zeros"
    worst = max(errors)
    k = errors.index(worst)
    c = best_scale(S[k], R[k])
    if c is not None and all(matches(s, r * c) for s, r in zip(S, R)):
        return f"is {c:.3g} times the correct value", "scaled"
    return f"wrong values (relative error {worst:.2g}); shapes are right", None


def _hint(name: str, by_name: dict[str, ItemResult]) -> str:
    if name == "DV":
        return "; check ∂C/∂y (eq. 3) and ∂C/∂V = hᵀ ∂C/∂y (eq. 4)"
    if by_name["DV"].correct:
        return "; DV is right, so ∂C/∂y is right: look at δ (eq. 5) and eq. 6"
    return "; DV is wrong too: fix ∂C/∂y first (eq. 3)"


# --------------------------------------------------------------------------------------------
# In the child
# --------------------------------------------------------------------------------------------


def _namespace(backprop) -> dict | None:
    g = getattr(backprop, "__globals__", None)
    return g if isinstance(g, dict) else None


def _set_params(ns: dict, W: Array, B: Array, V: Array) -> tuple[Array, Array, Array]:
    params = (W.copy(), B.copy(), V.copy())
    ns["W"], ns["B"], ns["V"] = params
    return params


def _changed(ns: dict, params: tuple[Array, Array, Array], before) -> list[str]:
    out = []
    for name, p, b in zip("WBV", params, before):
        now = ns.get(name)
        if now is not p:
            out.append(f"{name} (rebound)")
        elif not isinstance(p, np.ndarray) or p.shape != b.shape or bool(
            np.logical_or.reduce((p != b).ravel())
        ):
            out.append(name)
    return out


def _as_gradients(out, n: int, N: int) -> tuple[list | None, str]:
    """The student's result as three float64 arrays, or ``(None, why not)``."""
    why = _not_a_tuple(out, 3, "the tuple DW, DB, DV", "the three arrays DW, DB, DV")
    if why:
        return None, why
    limit = 10 * max(2 * n, N * n, 1000)
    arrays = []
    for name, v in zip(("DW", "DB", "DV"), out):
        a, why = _float_array(v, name, limit)
        if a is None:
            return None, why
        arrays.append(a)
    return arrays, ""


def _one_case(backprop, ns: dict, case: Case, guarded: frozenset[str]) -> dict:
    calls: list[str] = []
    res: dict = {"calls": calls}
    params = _set_params(ns, case.W, case.B, case.V)
    before = [p.copy() for p in params]
    t0 = time.perf_counter()
    out, ran = _watched_call(
        res, backprop, guarded, case.X1.copy(), case.X2.copy(), case.T.copy(), stage="backprop"
    )
    if not ran:
        return res
    res["seconds"] = time.perf_counter() - t0
    res["modified"] = _changed(ns, params, before)
    arrays, why = _as_gradients(out, case.n, case.N)
    if arrays is None:
        res.update(ok=False, stage="result", detail=why)
        return res
    res.update(ok=True, gradients=arrays)
    return res


def child_backprop_cases(emit, backprop, cases: Sequence[Case], guarded: frozenset[str]) -> int:
    """For each case (in the child): set the globals ``W``, ``B``, ``V`` of the student's
    notebook to the case's parameters, call ``backprop(X1, X2, T)`` and ``emit`` a dict:
    ``ok``; ``gradients`` (three float64 arrays) or ``stage`` + ``error``/``detail``;
    ``modified`` (parameters the call changed); ``calls`` (guarded functions it called)."""
    ns = _namespace(backprop)
    for case in cases:
        if ns is None:
            emit({"ok": False, "stage": "result", "calls": [],
                  "detail": "backprop must be a function: def backprop(X1, X2, T): ..."})
            continue
        emit(_one_case(backprop, ns, case, guarded))
    return len(cases)


def child_train(
    backprop,
    X1: Array,
    X2: Array,
    T: Array,
    W: Array,
    B: Array,
    V: Array,
    eta: float,
    iterations: int,
    guarded: frozenset[str],
) -> dict:
    """Full-batch gradient descent with the student's ``backprop`` (in the child):
    ``iterations`` steps ``W -= eta * DW`` etc., the globals ``W``, ``B``, ``V`` set before each
    call. Returns the final ``W``, ``B``, ``V``, ``done`` (steps completed), ``why`` (why it
    stopped early), ``calls`` and ``seconds``."""
    ns = _namespace(backprop)
    if ns is None:
        return {"why": "backprop must be a function: def backprop(X1, X2, T): ...", "done": 0,
                "W": W, "B": B, "V": V, "calls": [], "seconds": 0.0}
    calls: list[str] = []
    n, N = W.shape[1], T.shape[0]
    state = {"W": W.copy(), "B": B.copy(), "V": V.copy(), "done": 0, "why": ""}

    def loop() -> None:
        for _ in range(iterations):
            _set_params(ns, state["W"], state["B"], state["V"])
            out = backprop(X1.copy(), X2.copy(), T.copy())
            arrays, why = _as_gradients(out, n, N)
            if arrays is None:
                state["why"] = why
                return
            DW, DB, DV = arrays
            if (DW.shape, DB.shape, DV.shape) != ((2, n), (n,), (n,)):
                state["why"] = (
                    f"backprop returned shapes {DW.shape}, {DB.shape}, {DV.shape}; training "
                    f"needs {(2, n)}, {(n,)}, {(n,)}"
                )
                return
            state["W"] = state["W"] - eta * DW
            state["B"] = state["B"] - eta * DB
            state["V"] = state["V"] - eta * DV
            state["done"] += 1

    t0 = time.perf_counter()
    _call_watched(loop, guarded, calls)
    return {
        "W": state["W"],
        "B": state["B"],
        "V": state["V"],
        "done": state["done"],
        "why": state["why"],
        "calls": calls,
        "seconds": time.perf_counter() - t0,
    }
