r"""Nielsen's network interface: the reference, test networks, and what runs in the child.

The exercises of ps1 use the ``Network`` class of Nielsen's book: ``weights[i]`` of shape
``(n_out, n_in)``, ``biases[i]`` of shape ``(n_out, 1)``, one example at a time as column vectors,
so the forward pass is :math:`z = W a + b` (eq. ``feedforward`` with Nielsen's transposed layout)
and backpropagation for one example reads

.. math::
    \delta^L = (a^L - y) \odot \sigma'(z^L), \quad
    \delta^l = ((W^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l), \quad
    \partial C/\partial b^l = \delta^l, \quad
    \partial C/\partial w^l = \delta^l (a^{l-1})^T

(eqs. ``bp1``-``bp4``). The functions whose name starts with ``child_`` run in a forked child
(:func:`nnscratch.grading._child.run_in_child`) and call the student's class; everything else
runs in the parent and uses only the grader's private numpy.
"""

from __future__ import annotations

import itertools
import operator
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ._child import exception_info
from ._pristine import BUILTINS, np
from .mutations import SIGMOID, Layout, backprop_variant, mutants

Array = np.ndarray

__all__ = [
    "NIELSEN",
    "Case",
    "accuracy",
    "add_mutants",
    "child_backprop_cases",
    "child_train",
    "guarded_files",
    "make_cases",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: Nielsen's column-vector layout: ``z = W @ a + b``, ``W`` of shape ``(n_out, n_in)``.
NIELSEN = Layout(
    name="nielsen",
    linear=lambda W, b, a: W @ a + b,
    back=lambda W, delta: W.T @ delta,
    grad_w=lambda delta, a_prev: delta @ a_prev.T,
    grad_b=lambda delta: delta.copy(),
    batched=False,
)


def _as_column(v, n: int, name: str) -> Array:
    a = np.array(v, dtype=np.float64)
    if a.shape != (n, 1):
        raise ValueError(f"{name} must be a column vector of shape ({n}, 1), got {a.shape}")
    if not bool(np.logical_and.reduce(np.isfinite(a.ravel()))):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_params(weights, biases) -> tuple[list[Array], list[Array]]:
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise ValueError(
            "weights and biases must be lists of arrays (one per layer), got "
            f"{type(weights).__name__} and {type(biases).__name__}"
        )
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError(
            "weights and biases must have the same non-zero number of layers, got "
            f"{len(weights)} and {len(biases)}"
        )
    W = [np.array(w, dtype=np.float64) for w in weights]
    b = [np.array(v, dtype=np.float64) for v in biases]
    for i, (Wi, bi) in enumerate(zip(W, b)):
        if Wi.ndim != 2:
            raise ValueError(f"weights[{i}] must be 2D (n_out, n_in), got shape {Wi.shape}")
        if i and Wi.shape[1] != W[i - 1].shape[0]:
            raise ValueError(
                f"weights[{i}] has shape {Wi.shape} but the layer before has "
                f"{W[i - 1].shape[0]} neurons: expected ({Wi.shape[0]}, {W[i - 1].shape[0]})"
            )
        if bi.shape != (Wi.shape[0], 1):
            raise ValueError(
                f"biases[{i}] must have shape ({Wi.shape[0]}, 1) to match weights[{i}] "
                f"{Wi.shape}, got {bi.shape}"
            )
    return W, b


def reference_backprop(
    weights: Sequence[Array], biases: Sequence[Array], x: Array, y: Array
) -> tuple[list[Array], list[Array]]:
    """The correct ``(nabla_b, nabla_w)`` for one example, in float64 (eqs. ``bp1``-``bp4``).

    Parameters
    ----------
    weights
        ``weights[i]`` of shape ``(n_{i+1}, n_i)`` (Nielsen's layout).
    biases
        ``biases[i]`` of shape ``(n_{i+1}, 1)``.
    x
        Input column ``(n_0, 1)``.
    y
        Target column ``(n_L, 1)``; the cost is ``C = ½|a^L - y|²`` (no ``1/N``).

    Returns
    -------
    (nabla_b, nabla_w)
        Lists with the shapes of ``biases`` and ``weights``.
    """
    W, b = _check_params(weights, biases)
    x = _as_column(x, W[0].shape[1], "x")
    y = _as_column(y, W[-1].shape[0], "y")
    return backprop_variant(NIELSEN, W, b, x, y, hidden=SIGMOID, output=SIGMOID)


# --------------------------------------------------------------------------------------------
# Test networks
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One test network and example: parameters, input, target, and (parent side) the mutants
    of :func:`nnscratch.grading.mutations.mutants`, the reference among them."""

    sizes: tuple[int, ...]
    weights: list[Array]
    biases: list[Array]
    x: Array
    y: Array
    mutants: dict | None = None


def _generator(*seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(list(seed)))


def make_cases(
    sizes: Sequence[int], n: int, seed: int, salt: int = 0, with_mutants: bool = False
) -> list[Case]:
    """``n`` seeded networks of shape ``sizes`` with one example each.

    Weights are :math:`N(0, 1/n_{in})`, biases :math:`N(0, 1)`; an input with more than 100
    features looks like an MNIST image (80 % zero pixels, the others uniform in ``[0, 1]``),
    smaller inputs are uniform in ``[0, 1]``; the target is a random one-hot column. Each case's
    ``mutants`` holds the reference (key ``'reference'``), and all the mutations when
    ``with_mutants`` (or later :func:`add_mutants`).
    """
    cases = []
    for k in range(n):
        rng = _generator(int(seed) & 0xFFFFFFFF, int(salt), k)
        W = [
            rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
            for n_in, n_out in itertools.pairwise(sizes)
        ]
        b = [rng.standard_normal((n_out, 1)) for n_out in sizes[1:]]
        x = rng.uniform(0.0, 1.0, (sizes[0], 1))
        if sizes[0] > 100:
            x = x * (rng.uniform(0.0, 1.0, (sizes[0], 1)) < 0.2)
        y = np.zeros((sizes[-1], 1))
        y[int(rng.integers(sizes[-1])), 0] = 1.0
        case = Case(tuple(sizes), W, b, x, y)
        case.mutants = {"reference": backprop_variant(NIELSEN, W, b, x, y)}
        if with_mutants:
            add_mutants(case)
        cases.append(case)
    return cases


def add_mutants(case: Case) -> None:
    """Fill ``case.mutants`` with every mutation of the catalogue, in place (idempotent)."""
    if case.mutants is None:
        case.mutants = {}
    if len(case.mutants) <= 1:
        case.mutants.update(
            mutants(NIELSEN, case.weights, case.biases, case.x, case.y, SIGMOID, SIGMOID)
        )


def accuracy(weights: Sequence[Array], biases: Sequence[Array], X: Array, labels: Array) -> float:
    """Fraction of the rows of ``X`` (``(n, n_0)``) whose largest output (sigmoid network in
    Nielsen's layout) is the label (``(n,)`` ints)."""
    A = X.T
    with np.errstate(all="ignore"):
        for W, b in zip(weights, biases):
            A = SIGMOID.f(W @ A + b)
    predicted = A.argmax(axis=0)
    hits = np.add.reduce((predicted == labels).astype(np.int64))
    return float(hits) / float(labels.shape[0])


# --------------------------------------------------------------------------------------------
# In the child
# --------------------------------------------------------------------------------------------


def guarded_files() -> frozenset[str]:
    """Source files whose functions a submission may not call: ``nnscratch.network``,
    ``nnscratch.gradcheck`` and every module of ``nnscratch.grading``."""
    here = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.dirname(here)
    files = {os.path.join(pkg, "network.py"), os.path.join(pkg, "gradcheck.py")}
    files |= {os.path.join(here, f) for f in os.listdir(here) if f.endswith(".py")}
    return frozenset(files | {os.path.realpath(f) for f in files})


def _call_watched(fn, guarded: frozenset[str], calls: list[str], *args):
    """``fn(*args)`` with a profile hook recording calls into ``guarded`` files."""

    def profile(frame, event, arg):
        # record the entry points only: calls into guarded code from outside it
        if (
            event == "call"
            and frame.f_code.co_filename in guarded
            and (frame.f_back is None or frame.f_back.f_code.co_filename not in guarded)
        ):
            code = frame.f_code
            qualname = getattr(code, "co_qualname", code.co_name)
            name = f"{frame.f_globals.get('__name__', '?')}.{qualname}"
            if name not in calls:
                calls.append(name)

    sys.setprofile(profile)
    try:
        return fn(*args)
    finally:
        sys.setprofile(None)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _watched_call(res: dict, fn, guarded: frozenset[str], *args, stage: str | None = None):
    """In the child: ``fn(*args)`` with its calls into ``guarded`` recorded in
    ``res['calls']``. Returns ``(out, True)``; or ``(None, False)`` when it raised, with ``res``
    saying so (``ok=False``, the ``stage`` if given, ``error``). A MemoryError ends the child
    (``ChildResult.status == 'memory'``)."""
    try:
        return _call_watched(fn, guarded, res["calls"], *args), True
    except MemoryError:
        raise
    except Exception as exc:
        res["ok"] = False
        if stage is not None:
            res["stage"] = stage
        res["error"] = exception_info(exc)
        return None, False


def _not_a_tuple(out, n: int, returns: str, items: str | None = None) -> str:
    """Why ``out`` is not the tuple (or list) of ``n`` items that backprop must return
    (``returns``, e.g. ``'the tuple (nabla_b, nabla_w)'``; ``items`` instead when the length is
    wrong); ``''`` if it is."""
    if not isinstance(out, (tuple, list)):
        what = "None" if out is None else _short(type(out).__name__)
        hint = " (did you forget the return statement?)" if out is None else ""
        return f"backprop returned {what}{hint}; it must return {returns}"
    if len(out) != n:
        return (
            f"backprop returned a {type(out).__name__} of {len(out)} items; it must return "
            f"{items or returns}"
        )
    return ""


def _float_array(v, name: str, limit: int) -> tuple[Array | None, str]:
    """The student's array ``name`` as float64 (at most ``limit`` entries), or ``(None, why
    not)``."""
    if v is None:
        return None, f"{name} is None (never filled in?)"
    if isinstance(v, np.ndarray) and v.size > limit:
        return None, f"{name} is far too large (shape {v.shape})"
    try:
        a = np.array(v, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None, f"{name} is not an array of numbers ({_short(type(v).__name__)})"
    if np.iscomplexobj(v):
        return None, f"{name} is complex"
    if a.size > limit:
        return None, f"{name} is far too large (shape {a.shape})"
    return a, ""


def _arrays(seq, name: str, expected: Sequence[tuple[int, ...]]) -> tuple[list | None, str]:
    """The student's list as float64 arrays, or ``(None, why not)``."""
    if isinstance(seq, np.ndarray) and seq.dtype != object:
        return None, (
            f"{name} is one array of shape {seq.shape}; it must be a list with one array per layer"
        )
    if not isinstance(seq, (list, tuple)) and not (
        isinstance(seq, np.ndarray) and seq.dtype == object and seq.ndim == 1
    ):
        got = _short(type(seq).__name__)
        return None, f"{name} must be a list of arrays (one per layer), got {got}"
    limit = 10 * max([max(1, int(np.prod(s))) for s in expected] + [1000])
    out = []
    for i, v in enumerate(seq):
        a, why = _float_array(v, f"{name}[{i}]", limit)
        if a is None:
            return None, why
        out.append(a)
    return out, ""


def _snapshot(params) -> list[Array] | None:
    try:
        return [np.array(p, dtype=np.float64) for p in params]
    except Exception:  # the student's network holds something odd
        return None


def _changed(before: list[Array] | None, after: list[Array] | None, name: str) -> list[str]:
    if before is None or after is None or len(before) != len(after):
        return [name]
    out = []
    for i, (a, b) in enumerate(zip(before, after)):
        if a.shape != b.shape or bool(np.logical_or.reduce((a != b).ravel())):
            out.append(f"{name}[{i}]")
    return out


def _one_case(Network, case: Case, guarded: frozenset[str]) -> dict:
    calls: list[str] = []
    res: dict = {"calls": calls}
    try:
        net = Network(list(case.sizes))
        net.weights = [w.copy() for w in case.weights]
        net.biases = [b.copy() for b in case.biases]
    except Exception as exc:
        res.update(ok=False, stage="init", error=exception_info(exc))
        return res
    before_w, before_b = _snapshot(net.weights), _snapshot(net.biases)
    t0 = time.perf_counter()
    # net.backprop is looked up inside the watched call, as part of the student's code
    call = operator.methodcaller("backprop", case.x.copy(), case.y.copy())
    out, ran = _watched_call(res, call, guarded, net, stage="backprop")
    if not ran:
        return res
    res["seconds"] = time.perf_counter() - t0
    res["modified"] = _changed(before_w, _snapshot(getattr(net, "weights", None)), "weights")
    res["modified"] += _changed(before_b, _snapshot(getattr(net, "biases", None)), "biases")
    shapes_b = [b.shape for b in case.biases]
    shapes_w = [w.shape for w in case.weights]
    why = _not_a_tuple(out, 2, "the tuple (nabla_b, nabla_w)")
    if why:
        res.update(ok=False, stage="result", detail=why)
        return res
    nb, why_b = _arrays(out[0], "nabla_b", shapes_b + shapes_w)
    nw, why_w = _arrays(out[1], "nabla_w", shapes_b + shapes_w)
    if nb is None or nw is None:
        res.update(ok=False, stage="result", detail=why_b or why_w)
        return res
    res.update(ok=True, container=type(out).__name__, nabla_b=nb, nabla_w=nw)
    return res


def child_backprop_cases(emit, Network, cases: Sequence[Case], guarded: frozenset[str]) -> int:
    """Run ``Network(sizes).backprop(x, y)`` on each case (in the child, with
    ``run_in_child(..., stream=True)``) and ``emit`` per case a dict: ``ok``;
    ``nabla_b``/``nabla_w`` (float64 arrays) or ``stage`` + ``error``/``detail``; ``modified``
    (parameters the call changed); ``calls`` (guarded functions it called). Returns the number
    of cases."""
    for case in cases:
        emit(_one_case(Network, case, guarded))
    return len(cases)


def child_train(
    Network,
    sizes: Sequence[int],
    weights: Sequence[Array],
    biases: Sequence[Array],
    X: Array,
    labels: Array,
    epochs: int,
    mini_batch_size: int,
    eta: float,
    seed: int,
    guarded: frozenset[str],
) -> dict:
    """Train the student's network with its own ``SGD`` (in the child); return the trained
    ``weights``/``biases`` as float64 arrays, the ``calls`` into guarded files and ``seconds``."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    net = Network(list(sizes))
    net.weights = [w.copy() for w in weights]
    net.biases = [b.copy() for b in biases]
    n_out = sizes[-1]
    eye = np.eye(n_out)
    training_data = [
        (X[i].reshape(-1, 1).copy(), eye[int(labels[i])].reshape(-1, 1).copy())
        for i in range(X.shape[0])
    ]
    calls: list[str] = []
    t0 = time.perf_counter()
    _call_watched(net.SGD, guarded, calls, training_data, epochs, mini_batch_size, eta)
    seconds = time.perf_counter() - t0
    Ws, why_w = _arrays(getattr(net, "weights", None), "weights", [w.shape for w in weights])
    bs, why_b = _arrays(getattr(net, "biases", None), "biases", [b.shape for b in biases])
    return {"weights": Ws, "biases": bs, "why": why_w or why_b, "calls": calls, "seconds": seconds}
