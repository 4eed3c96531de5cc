r"""Grading of ps2-batched-backprop: backprop for a mini-batch, a gradient checker, digits.

The notebook imports this module in a locked cell before any student code; its test cells call

* :func:`check_shapes` (visible): ``backprop(Ws, bs, activations, X, Y)`` on one small network;
* :func:`grade_backprop` (hidden): every gradient of :data:`ARCHITECTURES` (several depths, one
  activation per layer, batches of several sizes) against the reference of
  :mod:`nnscratch.grading.batched`, partial credit per gradient, and a diagnosis that knows the
  mistakes of ps1 plus the batch-specific ones (missing 1/N, summing over the wrong axis, bias
  not summed over the batch, ...; eqs. ``bp1``-``bp4``);
* :func:`grade_gradcheck` (hidden, a quick version visible): ``numerical_gradient(f, x, eps)`` on
  known functions (eq. ``centred-difference``) and ``relative_error(a, b)`` on known pairs (eq.
  ``relative-error``);
* :func:`grade_checker` (hidden): the student's ``check_backprop`` must accept the correct
  backprop and flag planted bugs;
* :func:`check_training` (hidden): the grader's SGD loop with the student's ``backprop`` on the
  scikit-learn digits reaches a test accuracy.

Each prints a short report to stdout and returns a plain ``float`` in ``[0, points]``; none raises
because of the student's code, which always runs in a forked child
(:func:`nnscratch.grading._child.run_in_child`).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import types
from collections.abc import Callable, Sequence

from ..data import load_digits_split
from ._child import ChildResult, format_exception, run_in_child
from ._common import (
    calls_of,
    check_number,
    check_points_seed,
    check_threshold,
    fail,
    graded,
    grouped,
    printed,
    reference_of,
    report_gradients,
    report_shapes,
    run_cases,
    training_value,
    training_verdict,
)
from ._pristine import BUILTINS, np
from .batched import (
    KNOWN_FUNCTIONS,
    BatchBug,
    Case,
    child_backprop_cases,
    child_checker,
    child_numerical_gradient,
    child_relative_error,
    child_train,
    diagnose_batched,
    feedforward,
    make_cases,
    reference_backprop,
)
from .compare import TOL, all_finite, relative_error, share
from .mutations import NetworkData
from .nielsen import guarded_files
from .report import Report

__all__ = [
    "ARCHITECTURES",
    "TRAINING",
    "check_shapes",
    "check_training",
    "grade_backprop",
    "grade_checker",
    "grade_gradcheck",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

Array = np.ndarray

#: The test networks of :func:`grade_backprop`: (sizes, activations, batch size N).
ARCHITECTURES: tuple[tuple[tuple[int, ...], tuple[str, ...], int], ...] = (
    ((3, 4, 2), ("sigmoid", "sigmoid"), 5),
    ((5, 4, 3, 2), ("tanh", "relu", "sigmoid"), 7),
    ((4, 4, 4, 4), ("sigmoid", "tanh", "identity"), 4),
    ((6, 5, 4, 3, 2), ("relu", "tanh", "sigmoid", "identity"), 9),
    ((64, 30, 10), ("tanh", "sigmoid"), 32),
)
#: Examples (each a seeded network with its own batch) per architecture.
EXAMPLES_PER_NETWORK = 2
#: The network and settings of :func:`check_training`.
TRAINING = types.MappingProxyType(
    {
        "sizes": (64, 32, 10),
        "activations": ("tanh", "sigmoid"),
        "epochs": 30,
        "batch_size": 16,
        "eta": 2.0,
    }
)

_DELEGATION = (
    "your {what} calls nnscratch's own implementation ({names}); the exercise is to write it "
    "yourself, so this earns no credit"
)


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _functions_problem(functions: dict[str, object]) -> tuple[str, str] | None:
    """The first entry of ``functions`` that is not callable, or is nnscratch's own."""
    guarded = guarded_files()
    for name, fn in functions.items():
        if not callable(fn):
            return name, f"expected your function {name}, got {type(fn).__name__}"
        code = getattr(getattr(fn, "__func__", fn), "__code__", None)
        if code is not None and code.co_filename in guarded:
            return name, _DELEGATION.format(what=name, names=code.co_name)
    return None


def _graded(
    report: Report, points: float, functions: dict[str, object], score: Callable[[], float]
) -> float:
    """``score()`` under :func:`~._common.graded`, once every entry of ``functions`` is
    callable and the student's own (no credit otherwise)."""
    return graded(report, points, score, lambda: _functions_problem(functions))


def _failure(res: object, what: str) -> str:
    """Why a streamed child result is not usable (``''`` if it is)."""
    if not isinstance(res, dict):
        return "the grader could not read the result"
    if res.get("ok"):
        return ""
    if res.get("error"):
        e = res["error"]
        if e.get("memory"):
            return f"your {what} ran out of memory"
        return f"your {what} raised {format_exception(e)}"
    return str(res.get("detail") or "unusable result")


def _value_at(child: ChildResult, k: int, what: str) -> tuple[object, str]:
    """The ``value`` of the ``k``-th streamed result of ``child`` (the student's ``what``), or
    ``(None, why it is not usable)``."""
    if k >= len(child.messages):
        return None, child.describe(f"your {what}") or "not run"
    res = child.messages[k]
    why = _failure(res, what)
    return (None, why) if why else (res["value"], "")


def _case_problem(case: Case, res: object) -> tuple[str | None, tuple | None]:
    """Why a child's result for ``case`` is unusable (``None`` if usable), and the usable
    ``(nabla_b, nabla_w)``."""
    L = len(case.sizes) - 1
    why = _failure(res, "backprop")
    if why:
        return why, None
    nb, nw = res.get("nabla_b"), res.get("nabla_w")
    if not (isinstance(nb, list) and isinstance(nw, list)):
        return "the grader could not read the result", None
    shapes_b = [b.shape for b in case.bs]
    shapes_w = [w.shape for w in case.Ws]
    if [a.shape for a in nw] == shapes_b and [a.shape for a in nb] == shapes_w:
        ref_b, ref_w = case.mutants["reference"]
        n_right = sum(relative_error(a, r) <= TOL for a, r in zip(nb, ref_w)) + sum(
            relative_error(a, r) <= TOL for a, r in zip(nw, ref_b)
        )
        return (
            "backprop returned (dbs, dWs), swapped: it must return (dWs, dbs) in that order "
            f"(with the order fixed {n_right} of {2 * L} gradients would be right)",
            None,
        )
    if len(nb) != L or len(nw) != L:
        return (
            f"backprop returned {len(nw)} weight gradient(s) and {len(nb)} bias gradient(s); "
            f"this network has {L} layers, so dWs and dbs need {L} arrays each (shapes "
            f"{', '.join(str(s) for s in shapes_w)} and {', '.join(str(s) for s in shapes_b)})",
            None,
        )
    modified = res.get("modified") or []
    if modified:
        return (
            f"your backprop changed its input {', '.join(modified[:4])} during the call; "
            "backprop must only compute gradients (work on copies, or do not write into "
            "the arrays you are given)",
            None,
        )
    return None, (nb, nw)


def _run_networks(
    backprop,
    archs: Sequence[tuple[tuple[int, ...], tuple[str, ...], int]],
    n_examples: int,
    seed: int,
    timeout: float,
    memory_mb: float,
) -> tuple[list[NetworkData], list[list[str]], Callable[[], None], ChildResult, list[str]]:
    """Run the student's backprop on ``n_examples`` seeded cases of each architecture in one
    child (streamed: what finished before a timeout or crash still counts)."""
    per_arch = [
        make_cases(sizes, acts, n_samples, n_examples, seed, salt=k)
        for k, (sizes, acts, n_samples) in enumerate(archs)
    ]
    per_group, child, calls = run_cases(
        child_backprop_cases, backprop, per_arch, _case_problem, guarded_files(), timeout,
        memory_mb,
    )
    problems = [probs for probs, _ in per_group]
    nets = [
        NetworkData(tuple(sizes), student, [c.mutants for c in cases])
        for (sizes, _acts, _n), cases, (_, student) in zip(archs, per_arch, per_group)
    ]

    def complete() -> None:
        for cases in per_arch:
            for case in cases:
                case.add_mutants()

    return nets, problems, complete, child, calls


def _net_name(sizes: Sequence[int], acts: Sequence[str], n: int) -> str:
    return f"{list(sizes)} {'/'.join(acts)}, N = {n}"


def _W(label: str) -> str:
    """A gradient's label with the capital ``W`` of this problem set."""
    return label.replace("∂C/∂w", "∂C/∂W")


def _grouped_W(rows) -> list[tuple[bool, str, str]]:
    return [(ok, _W(label), message) for ok, label, message in grouped(rows)]


# --------------------------------------------------------------------------------------------
# backprop
# --------------------------------------------------------------------------------------------


def check_shapes(
    backprop,
    points: float = 1.0,
    *,
    seed: int = 0,
    timeout: float = 10.0,
    memory_mb: float = 512.0,
) -> float:
    """Visible test: ``backprop`` on a ``[3, 4, 2]`` network (tanh, sigmoid) and a batch of 5
    returns gradients of the right shapes and values.

    Half of ``points`` is split over the 4 gradients for their shapes, half for their values
    (compared with :func:`~nnscratch.grading.batched.reference_backprop`, with a diagnosis).

    Parameters
    ----------
    backprop
        The student's ``backprop(Ws, bs, activations, X, Y) -> (dWs, dbs)``.
    points
        Maximum score.
    seed
        Seed of the test network and batch.
    timeout, memory_mb
        Limits of the child process that runs the student's code.

    Returns
    -------
    float
        The score, a plain Python float in ``[0, points]``.
    """
    points = check_points_seed(points, seed)
    arch = ((3, 4, 2), ("tanh", "sigmoid"), 5)
    report = Report(
        f"check_shapes: backprop on {_net_name(*arch)}: X of shape (5, 3), Y of shape (5, 2)"
    )

    def score() -> float:
        nets, problems, complete, child, calls = _run_networks(
            backprop, [arch], 1, seed, timeout, memory_mb
        )
        if calls:
            text = _DELEGATION.format(what="backprop", names=", ".join(calls[:3]))
            return fail(report, points, "backprop", text)
        if problems[0]:
            return fail(report, points, "backprop", *problems[0], children=[child])
        results, summary = diagnose_batched(nets, complete)
        n_right = report_shapes(
            report,
            ((_W(r.item.label()), reference_of(nets[0], r).shape, r) for r in results[0]),
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed([child]))
        n = len(results[0])
        return report.finish(share(points, n_right, 2 * n), points)

    return _graded(report, points, {"backprop": backprop}, score)


def grade_backprop(
    backprop,
    points: float = 6.0,
    *,
    seed: int = 0,
    timeout: float = 10.0,
    memory_mb: float = 512.0,
) -> float:
    """Hidden test: every gradient of :data:`ARCHITECTURES` against the reference.

    Each ``dWs[l]`` and ``dbs[l]`` of each architecture is one item worth ``points / n_items``;
    it counts as correct if its relative error is at most ``1e-7`` on every example. A network
    whose call fails (exception, wrong structure, modified inputs) gets no credit; a call into
    nnscratch's own backprop gets no credit at all. Wrong gradients are explained with
    :func:`~nnscratch.grading.batched.diagnose_batched`.

    Parameters
    ----------
    backprop
        The student's ``backprop(Ws, bs, activations, X, Y) -> (dWs, dbs)``.
    points
        Maximum score, split evenly over the gradients.
    seed
        Seed of the test networks and batches.
    timeout
        Seconds for all networks together (one child).
    memory_mb
        Memory the student's code may add in the child.

    Returns
    -------
    float
        ``points`` times the fraction of correct gradients, rounded to 2 decimals.
    """
    points = check_points_seed(points, seed)
    n_items = sum(2 * (len(s) - 1) for s, _a, _n in ARCHITECTURES)
    report = Report(
        f"grade_backprop: {n_items} gradients of {len(ARCHITECTURES)} networks, "
        f"{EXAMPLES_PER_NETWORK} batches each"
    )

    def score() -> float:
        nets, problems, complete, child, calls = _run_networks(
            backprop, ARCHITECTURES, EXAMPLES_PER_NETWORK, seed, timeout, memory_mb
        )
        if calls:
            text = _DELEGATION.format(what="backprop", names=", ".join(calls[:3]))
            return fail(report, points, "backprop", text, children=[child])
        results, summary = diagnose_batched(nets, complete)
        n_correct = sum(
            report_gradients(report, _net_name(*arch), rows, probs, _grouped_W)
            for arch, rows, probs in zip(ARCHITECTURES, results, problems)
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed([child]))
        return report.finish(share(points, n_correct, n_items), points)

    return _graded(report, points, {"backprop": backprop}, score)


# --------------------------------------------------------------------------------------------
# numerical_gradient and relative_error
# --------------------------------------------------------------------------------------------

#: Tolerance of a finite-difference gradient against the exact one (centred, eps = 1e-5:
#: about 1e-11 for these functions; a one-sided difference is off by about 1e-5).
TOL_FD = 1e-7
_EPS = 1e-5


def _fd_mutants(f: Callable, x: Array, eps: float) -> dict[str, Array]:
    """Typical wrong finite differences of ``f`` at ``x``."""
    flat = x.ravel()
    fx = f(x)
    forward = np.zeros(flat.shape)
    for i in range(flat.size):
        xp = flat.copy()
        xp[i] += eps
        forward[i] = (f(xp.reshape(x.shape)) - fx) / eps
    together = (f(x + eps) - f(x - eps)) / (2 * eps)
    return {
        "forward": forward.reshape(x.shape),
        "together": np.full(x.shape, together),
    }


_FD_MESSAGES = {
    "forward": "is the one-sided difference (f(x+ε) − f(x))/ε, whose error is of order ε; use "
    "the centred difference (f(x+ε) − f(x−ε))/(2ε), error of order ε² "
    "(eq. centred-difference)",
    "together": "moves every entry of x at once, so each entry gets the same directional "
    "derivative; perturb one entry at a time (and put it back) (eq. centred-difference)",
    "twice": "is twice the gradient: the centred difference divides by 2ε, the distance "
    "between x−ε and x+ε (eq. centred-difference)",
    "half": "is half the gradient: (f(x+ε) − f(x−ε)) is divided by 2ε, not 4ε "
    "(eq. centred-difference)",
    "negative": "has the wrong sign: (f(x+ε) − f(x−ε))/(2ε), not (f(x−ε) − f(x+ε))/(2ε)",
}


def _judge_fd(res: dict, name: str, x: Array, eps: float) -> tuple[float, str]:
    """Fraction of credit (0, 0.5 or 1) and the message for one known function."""
    f, g, _ = KNOWN_FUNCTIONS[name]
    exact = g(x)
    why = _failure(res, "numerical_gradient")
    if why:
        return 0.0, why
    grad = res["grad"]
    changed = bool(res.get("x_changed"))
    if grad.shape != x.shape:
        if grad.size == x.size and relative_error(grad.reshape(x.shape), exact) <= TOL_FD:
            return 0.5, (
                f"right values but shape {grad.shape}; return an array of the shape of x, "
                f"{x.shape} (np.zeros_like(x))"
            )
        return 0.0, f"returned shape {grad.shape}, but x has shape {x.shape}"
    if not all_finite(grad):
        return 0.0, "contains NaN or inf"
    err = relative_error(grad, exact)
    if err <= TOL_FD:
        if changed:
            return 0.5, (
                "right values, but x is changed after the call: put every entry back "
                "after perturbing it"
            )
        return 1.0, f"correct (relative error {err:.1e})"
    mutants = _fd_mutants(f, x, eps)
    mutants.update(twice=2 * exact, half=0.5 * exact, negative=-exact)
    for key, m in mutants.items():
        if relative_error(grad, m) <= 1e-6:
            return 0.0, _FD_MESSAGES[key] + f" (relative error {err:.1e})"
    extra = "; also x is changed after the call" if changed else ""
    return 0.0, f"wrong values (relative error {err:.1e} against the exact gradient){extra}"


def _relerr_pairs(seed: int) -> list[tuple[str, Array, Array, float]]:
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 977]))
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal((3, 4))
    v = rng.standard_normal(6)
    return [
        ("(a, a)", a, a.copy(), 0.0),
        ("(a, 2a)", v, 2 * v, 1 / 3),
        ("(a, −a)", a, -a, 1.0),
        ("(a, 0)", v, np.zeros(6), 1.0),
        ("(0, 0)", np.zeros((2, 3)), np.zeros((2, 3)), 0.0),
        ("(a, b), two random 3×4 arrays", a, b, relative_error(a, b)),
    ]


def _relerr_diagnosis(value: float, a: Array, b: Array) -> str:
    """Name a typical wrong formula that gives ``value`` on ``(a, b)``."""
    na, nb, nd = (float(np.sqrt(np.add.reduce((t * t).ravel()))) for t in (a, b, a - b))
    with np.errstate(all="ignore"):
        ad, sa, sb = np.abs(a - b), np.abs(a), np.abs(b)
        guesses = {
            "divides by ‖b‖ only: use ‖a‖ + ‖b‖ in the denominator": nd / nb if nb else None,
            "divides by ‖a‖ only: use ‖a‖ + ‖b‖ in the denominator": nd / na if na else None,
            "divides by ‖a + b‖: use ‖a‖ + ‖b‖ in the denominator": (
                nd / float(np.sqrt(np.add.reduce(((a + b) * (a + b)).ravel())))
                if np.add.reduce(np.abs(a + b).ravel())
                else None
            ),
            "works entry by entry (largest |a−b|/(|a|+|b|)); use the norms of the whole "
            "arrays": float(np.max((ad / (sa + sb)).ravel())) if a.size else None,
            "uses squared norms: ‖a−b‖/(‖a‖+‖b‖) has no squares": (
                nd * nd / (na * na + nb * nb) if na or nb else None
            ),
        }
    for text, guess in guesses.items():
        if (
            guess is not None
            and math.isfinite(guess)
            and abs(value - guess) <= 1e-9 * max(1, guess)
        ):
            return text
    return ""


def grade_gradcheck(
    numerical_gradient,
    relative_error_fn,
    points: float = 3.0,
    *,
    full: bool = True,
    seed: int = 0,
    timeout: float = 10.0,
    memory_mb: float = 256.0,
) -> float:
    """Hidden test (``full=False``: the visible quick check): the student's finite differences
    and relative error on known cases.

    ``numerical_gradient(f, x, eps)`` (centred differences, eq. ``centred-difference``) is
    called with ``eps = 1e-5`` on the functions of
    :data:`~nnscratch.grading.batched.KNOWN_FUNCTIONS` (``full=False``: the first only) and
    compared with their exact gradients (relative error at most ``1e-7``; half credit if ``x``
    is left changed or the shape is wrong); it is worth two thirds of ``points``.
    ``relative_error(a, b)`` (eq. ``relative-error``) is compared on six pairs (two when not
    ``full``) within ``1e-9``: the last third.

    Returns
    -------
    float
        The score, a plain Python float in ``[0, points]``.
    """
    points = check_points_seed(points, seed)
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 4242]))
    tests = [
        ("squares", rng.standard_normal(5)),
        ("sin", rng.uniform(-3.0, 3.0, (3, 4))),
        ("coupled", rng.uniform(-2.0, 2.0, (2, 3))),
    ]
    pairs = _relerr_pairs(seed)
    if not full:
        tests, pairs = tests[:1], [pairs[1], pairs[4]]
    report = Report(
        f"grade_gradcheck: numerical_gradient on {len(tests)} known function(s) (ε = {_EPS:g}), "
        f"relative_error on {len(pairs)} pair(s)"
    )

    def score() -> float:
        fd_points = 2.0 * points / 3.0
        child = run_in_child(
            child_numerical_gradient,
            numerical_gradient,
            tests,
            _EPS,
            guarded_files(),
            timeout=timeout,
            memory_mb=memory_mb,
            stream=True,
        )
        child2 = run_in_child(
            child_relative_error,
            relative_error_fn,
            [(a, b) for _, a, b, _ in pairs],
            guarded_files(),
            timeout=timeout,
            memory_mb=memory_mb,
            stream=True,
        )
        calls = calls_of(child.messages) + calls_of(child2.messages)
        if calls:
            text = _DELEGATION.format(what="code", names=", ".join(calls[:3]))
            return fail(report, points, "gradient check", text)
        earned = 0.0
        for k, (name, x) in enumerate(tests):
            label = f"numerical_gradient, {KNOWN_FUNCTIONS[name][2]}"
            if k < len(child.messages):
                frac, text = _judge_fd(child.messages[k], name, x, _EPS)
            else:
                frac, text = 0.0, child.describe("your numerical_gradient") or "not run"
            earned += fd_points * frac / len(tests)
            (report.good if frac == 1.0 else report.bad)(label, text)
        n_ok = 0
        for k, (name, a, b, want) in enumerate(pairs):
            label = f"relative_error{name}"
            value, why = _value_at(child2, k, "relative_error")
            if why:
                report.bad(label, why)
                continue
            if math.isfinite(value) and abs(value - want) <= 1e-9 * max(1.0, abs(want)):
                n_ok += 1
                report.good(label, f"{value:.6g}")
                continue
            if not math.isfinite(value):
                text = f"returned {value}; expected {want:.6g}"
                if want == 0.0 and not np.add.reduce(np.abs(a).ravel()):
                    text += " (0/0: return 0 when both arrays are zero)"
            else:
                text = f"returned {value:.6g}, expected {want:.6g}"
                hint = _relerr_diagnosis(value, a, b)
                if hint:
                    text += f": it {hint} (eq. relative-error)"
            report.bad(label, text)
        earned += (points - fd_points) * n_ok / len(pairs)
        report.note(printed([child, child2]))
        return report.finish(round(earned, 2), points)

    return _graded(
        report,
        points,
        {"numerical_gradient": numerical_gradient, "relative_error": relative_error_fn},
        score,
    )


# --------------------------------------------------------------------------------------------
# The student's gradient checker on planted bugs
# --------------------------------------------------------------------------------------------

#: The backprops given to the student's ``check_backprop``: (description, bug). The first is
#: the correct one.
PLANTED: tuple[tuple[str, BatchBug], ...] = (
    ("the correct backprop", BatchBug()),
    ("a backprop whose ∂C/∂b is not divided by N", BatchBug(mean_b=False)),
    ("a backprop without σ′ in the recursion BP2", BatchBug(hidden_df="none")),
    ("a backprop with the sign of the output error flipped", BatchBug(sign=-1.0)),
)
#: ``check_backprop`` must return at most this for the correct backprop ...
ACCEPT = 1e-6
#: ... and at least this for a wrong one.
FLAG = 1e-3


def grade_checker(
    check_backprop,
    points: float = 2.0,
    *,
    full: bool = True,
    seed: int = 0,
    timeout: float = 15.0,
    memory_mb: float = 512.0,
) -> float:
    """Hidden test (``full=False``: a visible quick check with two backprops): the student's
    ``check_backprop(backprop, Ws, bs, activations, X, Y)`` returns the largest relative error
    between the given backprop and finite differences of the cost. It is called with the
    correct backprop (must return at most :data:`ACCEPT`) and with the planted bugs of
    :data:`PLANTED` (must return at least :data:`FLAG`), on a ``[4, 5, 3]`` tanh/sigmoid network
    with a batch of 6. Half of ``points`` for accepting the correct one, half split over the
    bugs.

    Returns
    -------
    float
        The score, a plain Python float in ``[0, points]``.
    """
    points = check_points_seed(points, seed)
    planted = list(PLANTED) if full else [PLANTED[0], PLANTED[3]]
    report = Report(
        f"grade_checker: check_backprop on a [4, 5, 3] tanh/sigmoid network, N = 6, with "
        f"{len(planted)} backprops (correct: ≤ {ACCEPT:g}, wrong: ≥ {FLAG:g})"
    )

    def score() -> float:
        case = make_cases((4, 5, 3), ("tanh", "sigmoid"), 6, 1, seed, salt=99)[0]
        child = run_in_child(
            child_checker,
            check_backprop,
            [bug for _, bug in planted],
            case,
            guarded_files(),
            timeout=timeout,
            memory_mb=memory_mb,
            stream=True,
        )
        calls = calls_of(child.messages)
        if calls:
            text = _DELEGATION.format(what="check_backprop", names=", ".join(calls[:3]))
            return fail(report, points, "check_backprop", text)
        earned = 0.0
        for k, (what, _bug) in enumerate(planted):
            correct = k == 0
            share_k = points / 2 if correct else points / 2 / (len(planted) - 1)
            value, why = _value_at(child, k, "check_backprop")
            if why:
                report.bad(what, why)
                continue
            if correct:
                if math.isfinite(value) and 0 <= value <= ACCEPT:
                    earned += share_k
                    report.good(what, f"accepted (largest relative error {value:.1e})")
                elif math.isfinite(value) and value < 0:
                    report.bad(what, f"returned {value:.3g}: a relative error is never negative")
                else:
                    report.bad(
                        what,
                        f"returned {value:.3g}, but this backprop is correct (expected at most "
                        f"{ACCEPT:g}): check numerical_gradient (centred differences, ε ≈ 1e-5) "
                        "and that every array Ws[l], bs[l] is compared with its own finite "
                        "differences",
                    )
            elif math.isfinite(value) and value >= FLAG:
                earned += share_k
                report.good(what, f"flagged (largest relative error {value:.2g})")
            else:
                hint = (
                    " (only the bias gradients are wrong: does your checker compare every "
                    "bs[l] too?)"
                    if k == 1 and full
                    else " (only the hidden layers are wrong: does your checker compare every "
                    "layer?)"
                    if k == 2
                    else ""
                )
                report.bad(
                    what,
                    f"not flagged: returned {value:.3g}, expected at least {FLAG:g}{hint}",
                )
        report.note(printed([child]))
        return report.finish(round(earned, 2), points)

    return _graded(report, points, {"check_backprop": check_backprop}, score)


# --------------------------------------------------------------------------------------------
# Training on the digits
# --------------------------------------------------------------------------------------------

_DIGITS: dict = {}


def _digits():
    """The scikit-learn digits split (seed 0, 20 % test), loaded once per process, quietly."""
    if "data" not in _DIGITS:
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            _DIGITS["data"] = load_digits_split(test_size=0.2, seed=0)
    return _DIGITS["data"]


def _training_init(sizes: Sequence[int], seed: int) -> tuple[list, list]:
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 8191]))
    Ws = [rng.standard_normal((a, b)) / np.sqrt(a) for a, b in itertools.pairwise(sizes)]
    bs = [np.zeros(b) for b in sizes[1:]]
    return Ws, bs


def training_accuracy(Ws, bs, activations, X, labels) -> float:
    """Fraction of the rows of ``X`` whose largest output is the label."""
    out = feedforward(Ws, bs, activations, X)
    hits = np.add.reduce((out.argmax(axis=1) == labels).astype(np.int64))
    return float(hits) / float(labels.shape[0])


def check_training(
    backprop,
    points: float = 2.0,
    *,
    threshold: float = 0.9,
    epochs: int | None = None,
    seed: int = 0,
    timeout: float = 15.0,
    memory_mb: float = 512.0,
) -> float:
    """Hidden test: the grader's mini-batch SGD with the student's ``backprop`` learns the
    scikit-learn digits.

    Trains ``[64, 32, 10]`` (tanh, sigmoid; :data:`TRAINING`) from seeded initial weights on the
    1 438 training images of :func:`nnscratch.data.load_digits_split` (seed 0) for 30 epochs,
    mini-batches of 16, η = 2, in the child; the parent measures the accuracy on the 359 test
    images. Full ``points`` iff it reaches ``threshold``. A correct backprop passes with a wide
    margin in about a second: over seeds 0-29 it reached 0.955-0.981, mean 0.967 (see the
    project's grading tests).

    Returns
    -------
    float
        ``points`` or ``0.0``, a plain Python float.
    """
    points = float(check_number(points, "points"))
    threshold = check_threshold(threshold)
    epochs = int(TRAINING["epochs"] if epochs is None else check_number(epochs, "epochs"))
    check_number(seed, "seed", integer=True, inclusive=True)
    sizes, acts = TRAINING["sizes"], TRAINING["activations"]
    report = Report(
        f"check_training: {list(sizes)} {'/'.join(acts)} on the scikit-learn digits, "
        f"{epochs} epochs of mini-batch SGD (batch {TRAINING['batch_size']}, "
        f"η = {TRAINING['eta']:g}) with your backprop"
    )

    def score() -> float:
        X_train, X_test, y_train, y_test = _digits()
        Y = np.eye(10)[y_train]
        Ws, bs = _training_init(sizes, seed)
        child = run_in_child(
            child_train,
            backprop,
            Ws,
            bs,
            acts,
            X_train,
            Y,
            epochs,
            TRAINING["batch_size"],
            TRAINING["eta"],
            int(seed),
            guarded_files(),
            timeout=timeout,
            memory_mb=memory_mb,
        )
        if not child.ok:
            text = child.describe("training with your backprop")
            return fail(report, points, "training", text, children=[child])
        value, calls = training_value(child)
        if calls:
            text = _DELEGATION.format(what="backprop", names=", ".join(calls[:3]))
            return fail(report, points, "training", text)
        Wt, bt = value.get("Ws"), value.get("bs")
        if not isinstance(Wt, list) or not isinstance(bt, list):
            text = "the grader could not read the trained parameters"
            return fail(report, points, "training", text)
        if not all(all_finite(a) for a in [*Wt, *bt]):
            text = "after training the weights contain NaN or inf"
            return fail(report, points, "training", text)
        acc = training_accuracy(Wt, bt, acts, X_test, y_test)
        seconds = float(value.get("seconds") or child.elapsed)
        text = (
            f"test accuracy {acc:.3f} on {y_test.shape[0]} images after {seconds:.1f} s of "
            f"training (needed: {threshold:g})"
        )
        hint = "; check backprop with grade_backprop's feedback"
        return training_verdict(report, points, acc >= threshold, text, hint, child)

    return _graded(report, points, {"backprop": backprop}, score)
