r"""Backpropagation for a mini-batch, one activation per layer: the reference of ps2, its planted
bugs, the batch-specific diagnoses, and the code that runs the student's functions in the child.

The exercise ``ps2-batched-backprop`` uses the library's convention: a batch ``X`` of shape
``(N, n_0)`` has one sample per row, ``Ws[l]`` has shape ``(n_l, n_{l+1})``, ``bs[l]`` shape
``(n_{l+1},)``, ``z = a @ W + b`` (eq. ``feedforward``), and layer ``l + 1`` applies the activation
named ``activations[l]`` (:data:`ACTIVATIONS`). The cost is the batch average of the quadratic
cost, :math:`C = \frac{1}{N}\sum_x \tfrac12 \lVert a^L_x - y_x\rVert^2`, so
:math:`\nabla_a C = (A^L - Y)/N` and eqs. ``bp1``-``bp4`` read

.. math::
    \delta^L = \nabla_a C \odot \sigma_L'(z^L), \quad
    \delta^l = (\delta^{l+1} (W^{l+1})^T) \odot \sigma_l'(z^l), \quad
    \partial C/\partial b^l = \textstyle\sum_x \delta^l_x, \quad
    \partial C/\partial W^l = (a^{l-1})^T \delta^l.

:func:`backprop_batched` plants any :class:`BatchBug` (the mistakes of
:class:`nnscratch.grading.mutations.Bug` plus the batch-specific ones) with the engine's
:func:`~nnscratch.grading.mutations.backprop_variant` in the :data:`BATCH` layout;
:data:`CATALOGUE_BATCHED` is the engine's catalogue plus those; :func:`mutants_batched` and
:func:`diagnose_batched` are :func:`~nnscratch.grading.mutations.mutants` and
:func:`~nnscratch.grading.mutations.diagnose` over that catalogue. Functions named ``child_*`` run
in a forked child (:func:`nnscratch.grading._child.run_in_child`) and call the student's code.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._pristine import BUILTINS, np
from .mutations import (
    CATALOGUE,
    ROWS,
    SIGMOID,
    Activation,
    Bug,
    ItemResult,
    Mutation,
    NetworkData,
    _everywhere,
    _m,
    backprop_variant,
    diagnose,
    mutants,
)
from .nielsen import (
    _arrays,
    _call_watched,
    _changed,
    _not_a_tuple,
    _short,
    _snapshot,
    _watched_call,
)

Array = np.ndarray

__all__ = [
    "ACTIVATIONS",
    "BATCH",
    "CATALOGUE_BATCHED",
    "BatchBug",
    "Case",
    "backprop_batched",
    "child_backprop_cases",
    "child_checker",
    "child_numerical_gradient",
    "child_relative_error",
    "child_train",
    "cost",
    "diagnose_batched",
    "feedforward",
    "make_cases",
    "mutants_batched",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)


# --------------------------------------------------------------------------------------------
# Activations (the notebook defines the same ones, by the same names)
# --------------------------------------------------------------------------------------------


def _tanh_prime(z: Array) -> Array:
    t = np.tanh(z)
    return 1.0 - t * t


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_prime(z: Array) -> Array:
    return (z > 0).astype(np.float64)


def _identity(z: Array) -> Array:
    return z * 1.0


def _identity_prime(z: Array) -> Array:
    return np.ones(z.shape)


#: The activations of the exercise, by name: value ``f(z)`` and derivative ``df(z)``.
ACTIVATIONS: types.MappingProxyType[str, Activation] = types.MappingProxyType(
    {
        "sigmoid": SIGMOID,
        "tanh": Activation("tanh", np.tanh, _tanh_prime),
        "relu": Activation("relu", _relu, _relu_prime),
        "identity": Activation("identity", _identity, _identity_prime),
    }
)

#: The layout of the exercise: rows are samples, ``Ws``/``bs``, the 1/N inside ``δ``.
BATCH = dataclasses.replace(ROWS, name="batch", bp4="(a^{l-1})ᵀ δ^l", w_name="Ws", b_name="bs")


# --------------------------------------------------------------------------------------------
# The reference with planted bugs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchBug(Bug):
    """:class:`~nnscratch.grading.mutations.Bug` plus the mistakes of a batched backprop.

    Attributes
    ----------
    divide_by : {'N', 'features', 'entries', 'twice'}
        The average: by the batch size ``N = X.shape[0]`` (right); by the number of input
        features ``X.shape[1]``; by every entry of ``A - Y`` (``N n_L``); by ``N²`` (the 1/N
        applied twice).
    mean_w, mean_b : bool
        Whether ``∂C/∂W`` / ``∂C/∂b`` are averaged (``Bug.mean=False`` turns both off).
    act_shift : bool
        Hidden layer ``l`` uses the derivative of the activation of layer ``l + 1`` (an index
        off by one in ``activations``).

    ``grad_b`` also takes ``'wrong_axis'``: ``δ^l`` summed over its columns (axis 1), not over
    the samples.
    """

    divide_by: str = "N"
    mean_w: bool = True
    mean_b: bool = True
    act_shift: bool = False


def _acts(activations: Sequence[str | Activation]) -> list[Activation]:
    return [a if isinstance(a, Activation) else ACTIVATIONS[a] for a in activations]


def feedforward(
    Ws: Sequence[Array], bs: Sequence[Array], activations: Sequence[str], X: Array
) -> Array:
    """The output ``A^L`` ``(N, n_L)`` of the network for the batch ``X`` ``(N, n_0)``
    (eq. ``feedforward``, layer after layer)."""
    a = X
    with np.errstate(all="ignore"):
        for W, b, act in zip(Ws, bs, _acts(activations)):
            a = act.f(a @ W + b)
    return a


def cost(
    Ws: Sequence[Array], bs: Sequence[Array], activations: Sequence[str], X: Array, Y: Array
) -> float:
    """The batch-averaged quadratic cost ``(1/N) Σ_x ½ |a^L_x − y_x|²``."""
    d = feedforward(Ws, bs, activations, X) - Y
    return float(np.add.reduce((d * d).ravel())) / (2.0 * X.shape[0])


def backprop_batched(
    Ws: Sequence[Array],
    bs: Sequence[Array],
    activations: Sequence[str | Activation],
    X: Array,
    Y: Array,
    bug: Bug = BatchBug(),
) -> tuple[list[Array], list[Array]]:
    """Gradients of the batch-averaged quadratic cost, with the mistakes of ``bug`` planted.

    Parameters
    ----------
    Ws, bs
        ``Ws[l]`` ``(n_l, n_{l+1})``, ``bs[l]`` ``(n_{l+1},)``, float64.
    activations
        One name of :data:`ACTIVATIONS` (or an :class:`Activation`) per layer after the input.
    X, Y
        The batch ``(N, n_0)`` and its targets ``(N, n_L)``.
    bug
        A :class:`BatchBug` or :class:`~nnscratch.grading.mutations.Bug` (default: none).

    Returns
    -------
    (nabla_b, nabla_w)
        In the engine's order (``bs`` first, unlike the exercise's ``(dWs, dbs)``); shapes as
        the bug makes them.

    Raises
    ------
    ValueError
        When the bug cannot run on this network (shapes that do not fit).
    """
    return backprop_variant(BATCH, Ws, bs, X, Y, bug, activations=_acts(activations))


def _check_inputs(Ws, bs, activations, X, Y) -> tuple[list, list, list[str], Array, Array]:
    if not isinstance(Ws, (list, tuple)) or not isinstance(bs, (list, tuple)):
        raise ValueError(
            f"Ws and bs must be lists of arrays, got {type(Ws).__name__} and {type(bs).__name__}"
        )
    if not (len(Ws) == len(bs) == len(activations) > 0):
        raise ValueError(
            "Ws, bs and activations need one entry per layer, got "
            f"{len(Ws)}, {len(bs)} and {len(activations)}"
        )
    W = [np.array(w, dtype=np.float64) for w in Ws]
    b = [np.array(v, dtype=np.float64) for v in bs]
    for i, (Wi, bi) in enumerate(zip(W, b)):
        if Wi.ndim != 2:
            raise ValueError(f"Ws[{i}] must be 2D (n_in, n_out), got shape {Wi.shape}")
        if i and Wi.shape[0] != W[i - 1].shape[1]:
            raise ValueError(
                f"Ws[{i}] has shape {Wi.shape} but the layer before has {W[i - 1].shape[1]} "
                f"neurons: expected ({W[i - 1].shape[1]}, {Wi.shape[1]})"
            )
        if bi.shape != (Wi.shape[1],):
            raise ValueError(f"bs[{i}] must have shape ({Wi.shape[1]},), got {bi.shape}")
    names = list(activations)
    for name in names:
        if name not in ACTIVATIONS:
            raise ValueError(f"activations must be names in {sorted(ACTIVATIONS)}, got {name!r}")
    X = np.array(X, dtype=np.float64)
    Y = np.array(Y, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != W[0].shape[0]:
        raise ValueError(f"X must have shape (N, {W[0].shape[0]}), got {X.shape}")
    if Y.shape != (X.shape[0], W[-1].shape[1]):
        raise ValueError(f"Y must have shape ({X.shape[0]}, {W[-1].shape[1]}), got {Y.shape}")
    return W, b, names, X, Y


def reference_backprop(
    Ws: Sequence[Array],
    bs: Sequence[Array],
    activations: Sequence[str],
    X: Array,
    Y: Array,
) -> tuple[list[Array], list[Array]]:
    """The correct ``(dWs, dbs)`` of the batch-averaged quadratic cost, float64 (eqs.
    ``bp1``-``bp4``), in the exercise's order.

    Parameters
    ----------
    Ws, bs
        ``Ws[l]`` ``(n_l, n_{l+1})``, ``bs[l]`` ``(n_{l+1},)``.
    activations
        One name of :data:`ACTIVATIONS` per layer after the input.
    X, Y
        The batch ``(N, n_0)`` and the targets ``(N, n_L)``.
    """
    W, b, names, X, Y = _check_inputs(Ws, bs, activations, X, Y)
    nabla_b, nabla_w = backprop_batched(W, b, names, X, Y)
    return nabla_w, nabla_b


# --------------------------------------------------------------------------------------------
# The catalogue and the diagnosis
# --------------------------------------------------------------------------------------------

_BATCH_MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "bias_row",
        BatchBug(grad_b="row"),
        _everywhere(
            "has the right values but shape (1, {n}); {b}[{index}] has shape {shape}: sum "
            "with axis=0 and without keepdims (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b has shape (1, n) instead of the shape (n,) of b (keepdims) (BP3)",
        priority=15,
    ),
    Mutation(
        "bias_sum",
        BatchBug(grad_b="sum"),
        _everywhere(
            "is a single number (all of δ^l summed up); ∂C/∂b^l sums δ^l over the samples "
            "only (axis=0), shape {shape} (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b sums all of δ to one number instead of over the samples (axis=0) (BP3)",
        priority=16,
    ),
    Mutation(
        "bias_wrong_axis",
        BatchBug(grad_b="wrong_axis"),
        _everywhere(
            "is summed over the wrong axis: δ^l has one row per sample, so ∂C/∂b^l sums its "
            "rows (axis=0) and has the shape of {b}[{index}], {shape} (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is summed over the wrong axis (axis=1 instead of the samples, axis=0) (BP3)",
        batched_only=True,
        priority=18,
    ),
    Mutation(
        "act_shift",
        BatchBug(act_shift=True),
        _m(
            None,
            "uses the derivative of the next layer's activation: layer l needs the derivative "
            "of its own activation, activations[{index}], in σ′(z^l) ({bp2}, eq. BP2)",
        ),
        "the recursion BP2 uses the activation derivative of the wrong layer (an index off "
        "by one in activations)",
        batched_only=True,
        priority=22,
    ),
    Mutation(
        "b_no_mean",
        BatchBug(mean_b=False),
        _everywhere(
            "is N times too large: the bias gradient sums δ^l over the batch, and the cost is "
            "an average, so it must be divided by N too (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is summed over the batch but not divided by N (BP3)",
        batched_only=True,
        priority=47,
    ),
    Mutation(
        "w_no_mean",
        BatchBug(mean_w=False),
        _everywhere(
            "is N times too large: (a^{{l-1}})ᵀ δ^l sums over the batch, and the cost is an "
            "average, so it must be divided by N too (eq. BP4)",
            kind="w",
        ),
        "∂C/∂W is not divided by the batch size N (BP4)",
        batched_only=True,
        priority=48,
    ),
    Mutation(
        "divide_features",
        BatchBug(divide_by="features"),
        _everywhere(
            "is divided by the number of input features X.shape[1] instead of the batch size "
            "N = X.shape[0]: the cost averages over the samples, the rows",
        ),
        "the average divides by X.shape[1] (features) instead of N = X.shape[0] (samples)",
        batched_only=True,
        priority=49,
    ),
    Mutation(
        "divide_entries",
        BatchBug(divide_by="entries"),
        _everywhere(
            "is n_L times too small: the cost averages over the N samples (1/N), not over "
            "all N·n_L entries of A − Y",
        ),
        "the average divides by every entry of A − Y (N·n_L) instead of the N samples",
        batched_only=True,
        priority=51,
    ),
    Mutation(
        "mean_twice",
        BatchBug(divide_by="twice"),
        _everywhere(
            "is N times too small: the 1/N of the average is applied twice (put it either in "
            "∇_a C or in BP3/BP4, not in both)",
        ),
        "the 1/N of the average is applied twice (N times too small)",
        batched_only=True,
        priority=52,
    ),
)

#: The engine's catalogue (:data:`nnscratch.grading.mutations.CATALOGUE`) plus the mistakes of
#: a batched backprop with one activation per layer.
CATALOGUE_BATCHED: tuple[Mutation, ...] = (
    tuple(m for m in CATALOGUE if m.key not in ("bias_flat", "bias_row", "bias_sum"))
    + _BATCH_MUTATIONS
)


def mutants_batched(
    Ws: Sequence[Array], bs: Sequence[Array], activations: Sequence[str], X: Array, Y: Array
) -> dict[str, tuple[list[Array], list[Array]] | None]:
    """``{key: (nabla_b, nabla_w)}`` of every mutation of :data:`CATALOGUE_BATCHED` (``None``
    where it cannot run), plus the reference under ``'reference'``."""
    return mutants(
        BATCH, Ws, bs, X, Y, activations=_acts(activations), catalogue=CATALOGUE_BATCHED
    )


def diagnose_batched(
    nets: Sequence[NetworkData], complete: Callable[[], None] | None = None
) -> tuple[list[list[ItemResult]], str]:
    """:func:`nnscratch.grading.mutations.diagnose` with :data:`CATALOGUE_BATCHED` in the
    :data:`BATCH` layout (same arguments and results)."""
    return diagnose(nets, BATCH, complete, catalogue=CATALOGUE_BATCHED)


# --------------------------------------------------------------------------------------------
# Test networks
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One test network and batch: parameters, activations, ``X``, ``Y`` and (parent side) the
    mutants, the reference among them."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    Ws: list[Array]
    bs: list[Array]
    X: Array
    Y: Array
    mutants: dict | None = None

    def add_mutants(self) -> None:
        """Fill :attr:`mutants` with every mutation (idempotent)."""
        if self.mutants is None:
            self.mutants = {}
        if len(self.mutants) <= 1:  # in place: NetworkData holds this dict
            self.mutants.update(mutants_batched(self.Ws, self.bs, self.activations, self.X, self.Y))


def _generator(*seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(list(seed)))


def make_cases(
    sizes: Sequence[int],
    activations: Sequence[str],
    n_samples: int,
    n: int,
    seed: int,
    salt: int = 0,
) -> list[Case]:
    """``n`` seeded networks of shape ``sizes`` with a batch of ``n_samples`` rows each.

    Weights :math:`N(0, 1/n_{in})`, biases :math:`N(0, 1)`, ``X`` uniform in ``[0, 1]``, ``Y``
    one-hot rows. Each case holds the reference in ``mutants['reference']``.
    """
    cases = []
    for k in range(n):
        rng = _generator(int(seed) & 0xFFFFFFFF, 2, int(salt), k)
        Ws = [
            rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
            for n_in, n_out in itertools.pairwise(sizes)
        ]
        bs = [rng.standard_normal(n_out) for n_out in sizes[1:]]
        X = rng.uniform(0.0, 1.0, (n_samples, sizes[0]))
        Y = np.eye(sizes[-1])[rng.integers(sizes[-1], size=n_samples)]
        case = Case(tuple(sizes), tuple(activations), Ws, bs, X, Y)
        case.mutants = {"reference": backprop_batched(Ws, bs, activations, X, Y)}
        cases.append(case)
    return cases


# --------------------------------------------------------------------------------------------
# In the child
# --------------------------------------------------------------------------------------------


def _allowed(calls: list[str], allowed: Sequence[str]) -> list[str]:
    return [c for c in calls if not any(c.endswith(a) for a in allowed)]


def _one_case(backprop, case: Case, guarded: frozenset[str]) -> dict:
    calls: list[str] = []
    res: dict = {"calls": calls}
    Ws = [w.copy() for w in case.Ws]
    bs = [b.copy() for b in case.bs]
    X, Y = case.X.copy(), case.Y.copy()
    before = _snapshot(Ws), _snapshot(bs), X.copy(), Y.copy()
    t0 = time.perf_counter()
    out, ran = _watched_call(
        res, backprop, guarded, Ws, bs, list(case.activations), X, Y, stage="backprop"
    )
    if not ran:
        return res
    res["seconds"] = time.perf_counter() - t0
    modified = _changed(before[0], _snapshot(Ws), "Ws") + _changed(before[1], _snapshot(bs), "bs")
    if not (np.array_equal(before[2], X) and np.array_equal(before[3], Y)):
        modified.append("X or Y")
    res["modified"] = modified
    shapes_b = [b.shape for b in case.bs]
    shapes_w = [w.shape for w in case.Ws]
    why = _not_a_tuple(out, 2, "the tuple (dWs, dbs)")
    if why:
        res.update(ok=False, stage="result", detail=why)
        return res
    nw, why_w = _arrays(out[0], "dWs", shapes_b + shapes_w)
    nb, why_b = _arrays(out[1], "dbs", shapes_b + shapes_w)
    if nb is None or nw is None:
        res.update(ok=False, stage="result", detail=why_w or why_b)
        return res
    res.update(ok=True, nabla_b=nb, nabla_w=nw)
    return res


def child_backprop_cases(emit, backprop, cases: Sequence[Case], guarded: frozenset[str]) -> int:
    """Call ``backprop(Ws, bs, activations, X, Y)`` on each case (in the child, with
    ``run_in_child(..., stream=True)``) and ``emit`` per case a dict: ``ok``;
    ``nabla_b``/``nabla_w`` (float64 arrays, the engine's names) or ``stage`` +
    ``error``/``detail``; ``modified`` (inputs the call changed); ``calls`` (guarded functions
    it called). Returns the number of cases."""
    for case in cases:
        emit(_one_case(backprop, case, guarded))
    return len(cases)


class GradingError(Exception):
    """The student's function returned something the grader cannot use (message for them)."""


def _gradients(out, Ws: Sequence[Array], bs: Sequence[Array]) -> tuple[list, list]:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise GradingError("backprop must return the tuple (dWs, dbs)")
    dWs, why_w = _arrays(out[0], "dWs", [w.shape for w in Ws])
    dbs, why_b = _arrays(out[1], "dbs", [w.shape for w in Ws])
    if dWs is None or dbs is None:
        raise GradingError(why_w or why_b)
    if [a.shape for a in dWs] != [w.shape for w in Ws] or [a.shape for a in dbs] != [
        b.shape for b in bs
    ]:
        raise GradingError(
            f"backprop returned gradients of shapes {[a.shape for a in dWs]} and "
            f"{[a.shape for a in dbs]}, expected {[w.shape for w in Ws]} and "
            f"{[b.shape for b in bs]}"
        )
    return dWs, dbs


def child_train(
    backprop,
    Ws: Sequence[Array],
    bs: Sequence[Array],
    activations: Sequence[str],
    X: Array,
    Y: Array,
    epochs: int,
    batch_size: int,
    eta: float,
    seed: int,
    guarded: frozenset[str],
) -> dict:
    """Mini-batch SGD (the grader's loop, shuffled with ``seed``) with the student's
    ``backprop``; returns the trained ``Ws``/``bs``, the guarded ``calls`` and ``seconds``."""
    Ws = [w.copy() for w in Ws]
    bs = [b.copy() for b in bs]
    rng = _generator(int(seed) & 0xFFFFFFFF, 31337)
    calls: list[str] = []
    n = X.shape[0]
    t0 = time.perf_counter()
    for _epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            out = _call_watched(
                backprop,
                guarded,
                calls,
                [w.copy() for w in Ws],
                [b.copy() for b in bs],
                list(activations),
                X[idx].copy(),
                Y[idx].copy(),
            )
            if calls:
                return {"Ws": None, "bs": None, "calls": calls, "seconds": 0.0}
            dWs, dbs = _gradients(out, Ws, bs)
            Ws = [w - eta * g for w, g in zip(Ws, dWs)]
            bs = [b - eta * g for b, g in zip(bs, dbs)]
    return {"Ws": Ws, "bs": bs, "calls": calls, "seconds": time.perf_counter() - t0}


# --- the gradient checker ---------------------------------------------------------------------


def f_squares(x: Array) -> float:
    """``Σ x²``: gradient ``2x``."""
    return float(np.add.reduce((x * x).ravel()))


def f_sin(x: Array) -> float:
    """``Σ sin x``: gradient ``cos x``."""
    return float(np.add.reduce(np.sin(x).ravel()))


def f_coupled(x: Array) -> float:
    """``Σ x³/3 + x_first x_last``: gradient ``x² (+ x_last, x_first)``."""
    v = x.ravel()
    return float(np.add.reduce((v * v * v).ravel()) / 3.0 + v[0] * v[-1])


def g_squares(x: Array) -> Array:
    return 2.0 * x


def g_sin(x: Array) -> Array:
    return np.cos(x)


def g_coupled(x: Array) -> Array:
    g = (x * x).ravel().copy()
    v = x.ravel()
    g[0] += v[-1]
    g[-1] += v[0]
    return g.reshape(x.shape)


#: name -> (f, exact gradient, human description) of the known functions.
KNOWN_FUNCTIONS: types.MappingProxyType[str, tuple[Callable, Callable, str]] = (
    types.MappingProxyType(
        {
            "squares": (f_squares, g_squares, "f(x) = Σ x², x of shape (5,)"),
            "sin": (f_sin, g_sin, "f(x) = Σ sin(x), x of shape (3, 4)"),
            "coupled": (f_coupled, g_coupled, "f(x) = Σ x³/3 + x_first·x_last, x of shape (2, 3)"),
        }
    )
)

_FN_NAMES = ("f_squares", "f_sin", "f_coupled")


def child_numerical_gradient(
    emit, numerical_gradient, tests: Sequence[tuple[str, Array]], eps: float, guarded
) -> int:
    """``numerical_gradient(f, x, eps)`` for each ``(name, x)`` of :data:`KNOWN_FUNCTIONS`;
    emits ``{'ok', 'grad' | 'error'/'detail', 'x_changed', 'calls'}`` per test."""
    for name, x0 in tests:
        f = KNOWN_FUNCTIONS[name][0]
        x = x0.copy()
        res: dict = {"calls": []}
        out, ran = _watched_call(res, numerical_gradient, guarded, f, x, eps)
        res["calls"] = _allowed(res["calls"], _FN_NAMES)  # calling the given f is no delegation
        if not ran:
            emit(res)
            continue
        res["x_changed"] = not (
            isinstance(x, np.ndarray) and x.shape == x0.shape and np.array_equal(x, x0)
        )
        if out is None:
            res.update(ok=False, detail="numerical_gradient returned None (no return?)")
        elif isinstance(out, np.ndarray) and out.size > 100 * x0.size:
            res.update(ok=False, detail=f"numerical_gradient returned shape {out.shape}")
        else:
            try:
                a = np.array(out, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                res.update(
                    ok=False,
                    detail="numerical_gradient must return an array of numbers, got "
                    f"{_short(type(out).__name__)}",
                )
            else:
                res.update(ok=True, grad=a)
        emit(res)
    return len(tests)


def child_relative_error(emit, relative_error, pairs: Sequence[tuple[Array, Array]], guarded):
    """``relative_error(a, b)`` for each pair; emits ``{'ok', 'value' | 'error'/'detail',
    'calls'}``."""
    for a, b in pairs:
        res: dict = {"calls": []}
        out, ran = _watched_call(res, relative_error, guarded, a.copy(), b.copy())
        if not ran:
            emit(res)
            continue
        value, v = _one_number(out)
        if value is None:
            res.update(
                ok=False,
                detail=f"relative_error must return one number, got {_short(type(out).__name__)}"
                + (f" of shape {v.shape}" if v is not None else ""),
            )
        else:
            res.update(ok=True, value=value)
        emit(res)
    return len(pairs)


def _one_number(out) -> tuple[float | None, Array | None]:
    """The student's result as one float (``None`` if it is not one number), and as an array
    (``None`` if it is not even numbers)."""
    try:
        v = np.array(out, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None, None
    return (float(v.ravel()[0]) if v.size == 1 else None), v


def planted_backprop(bug: Bug) -> Callable:
    """A function with the exercise's interface ``backprop(Ws, bs, activations, X, Y) ->
    (dWs, dbs)`` that computes the gradients with ``bug`` planted."""

    def backprop(Ws, bs, activations, X, Y):
        nabla_b, nabla_w = backprop_batched(
            [np.array(w, dtype=np.float64) for w in Ws],
            [np.array(b, dtype=np.float64) for b in bs],
            list(activations),
            X,
            Y,
            bug,
        )
        return nabla_w, nabla_b

    return backprop


def child_checker(
    emit, check_backprop, bugs: Sequence[Bug], case: Case, guarded: frozenset[str]
) -> int:
    """``check_backprop(backprop, Ws, bs, activations, X, Y)`` with the reference and each
    planted bug; emits ``{'ok', 'value' | 'error'/'detail', 'calls'}`` per call."""
    for bug in bugs:
        fn = planted_backprop(bug)
        res: dict = {"calls": []}
        out, ran = _watched_call(
            res,
            check_backprop,
            guarded,
            fn,
            [w.copy() for w in case.Ws],
            [b.copy() for b in case.bs],
            list(case.activations),
            case.X.copy(),
            case.Y.copy(),
        )
        # calling the given backprop is no delegation
        res["calls"] = _allowed(res["calls"], ("planted_backprop.<locals>.backprop",))
        if not ran:
            emit(res)
            continue
        value, _ = _one_number(out)
        if value is None:
            res.update(
                ok=False,
                detail="check_backprop must return one number (the largest relative error), "
                f"got {_short(type(out).__name__)}",
            )
        else:
            res.update(ok=True, value=value)
        emit(res)
    return len(bugs)
