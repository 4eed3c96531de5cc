r"""Grading of ps3-moons: ``backprop(X1, X2, T) -> DW, DB, DV`` for the two-moons network.

The network (see :mod:`nnscratch.grading.moons`): inputs ``X1``, ``X2`` of shape ``(N,)``, one
hidden layer of ReLU neurons (``W`` ``(2, n)``, ``B`` ``(n,)``), a linear output without bias
(``V`` ``(n,)``), the perceptron loss averaged over the data set (eq. ``perceptron-loss``). The
student's ``backprop`` reads the parameters from the notebook's global variables ``W``, ``B``,
``V``, as on the exercise sheet; in the child the grader sets them to its test networks.

The notebook imports this module in a locked cell before any student code; its test cells call

* :func:`check_backprop` (visible test): a small network and the two kink cases, shapes and
  values, with a diagnosis;
* :func:`grade_backprop` (hidden test): :data:`GROUPS` test groups (the moons with 50 hidden
  neurons, other sizes, one point, the kinks), partial credit per gradient and group, and a
  diagnosis of each wrong one (eqs. ``bp1``-``bp4``);
* :func:`check_training` (visible test): full-batch gradient descent on the assignment's moons
  with the student's ``backprop``; full points iff the training accuracy reaches a threshold.

Each prints a short report to stdout and returns a plain ``float`` in ``[0, points]``; none
raises because of the student's code, which always runs in a forked child
(:func:`nnscratch.grading._child.run_in_child`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ._child import ChildResult, format_exception, run_in_child
from ._pristine import BUILTINS, np
from .compare import all_finite, share
from .moons import (
    ITEMS,
    Case,
    Group,
    accuracy,
    child_backprop_cases,
    child_train,
    diagnose,
    he_init,
    kink_cases,
    moons_cases,
    moons_data,
    random_cases,
    reference_backprop,
)
from .nielsen import guarded_files
from .ps1 import _check_number, _grading_context, _internal_error, _preflight, _printed
from .report import Report

__all__ = [
    "GROUPS",
    "HIDDEN",
    "check_backprop",
    "check_training",
    "grade_backprop",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: Hidden neurons of the assignment's network (and of :func:`check_training`).
HIDDEN = 50

#: The groups of :func:`grade_backprop`: (label, builder of its cases from the seed).
GROUPS: tuple[tuple[str, Callable[[int], list[Case]]], ...] = (
    ("the moons, 50 hidden neurons", lambda s: moons_cases(2, s, salt=1)),
    ("7 random points, 5 hidden neurons", lambda s: random_cases(7, 5, 2, s, salt=2)),
    ("one misclassified point, 50 hidden neurons", lambda s: random_cases(1, 50, 2, s, salt=3)),
    ("300 random points, 20 hidden neurons", lambda s: random_cases(300, 20, 2, s, salt=4)),
    ("points on the kinks (z = 0 and y t = 0)", kink_cases),
)

_DELEGATION = (
    "your backprop calls nnscratch's own implementation ({names}); the exercise is to write "
    "backprop yourself, so this earns no credit"
)


def _function_problem(backprop) -> str | None:
    if not callable(backprop) or not isinstance(getattr(backprop, "__globals__", None), dict):
        return (
            f"expected your function backprop (def backprop(X1, X2, T): ...), got "
            f"{type(backprop).__name__}"
        )
    return None


def _graded(report: Report, points: float, backprop, score: Callable[[], float]) -> float:
    """``score()`` once the grader is intact and ``backprop`` is a function; no credit
    otherwise, and an internal error instead of any exception."""
    try:
        with _grading_context() as changed:
            if not _preflight(report, changed):
                return report.finish(0.0, points)
            problem = _function_problem(backprop)
            if problem:
                report.bad("backprop", problem)
                return report.finish(0.0, points)
            return score()
    except Exception as exc:  # never raise into the notebook
        return _internal_error(report, exc, points)


def _shapes_text(shapes: Sequence[tuple]) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def _case_problem(case: Case, res) -> tuple[str | None, list | None]:
    """Why a child's result for ``case`` is unusable (``None`` if usable), and the usable
    gradients ``[DW, DB, DV]``."""
    if not isinstance(res, dict):
        return "the grader could not read the result", None
    if not res.get("ok"):
        if res.get("stage") == "backprop":
            e = res.get("error") or {}
            if e.get("memory"):
                return "your backprop ran out of memory", None
            return f"your backprop raised {format_exception(e)}", None
        return str(res.get("detail", "unusable result")), None
    arrays = res.get("gradients")
    if not (isinstance(arrays, list) and len(arrays) == 3):
        return "the grader could not read the result", None
    want = [r.shape for r in case.mutants["reference"]]
    got = [a.shape for a in arrays]
    if got != want and sorted(got) == sorted(want):
        for perm in itertools.permutations(range(3)):
            if [got[p] for p in perm] == want:
                order = ", ".join(ITEMS[[*perm].index(k)][0] for k in range(3))
                return (
                    f"backprop returned the gradients in the order ({order}) (judging by their "
                    "shapes); it must return DW, DB, DV in this order",
                    None,
                )
    modified = res.get("modified") or []
    if modified:
        return (
            f"your backprop changed {', '.join(modified[:3])} during the call; backprop must "
            "only compute the gradients, not update the network",
            None,
        )
    return None, arrays


def _run(backprop, groups: Sequence[Group], timeout: float, memory_mb: float):
    """The student's backprop on every case of ``groups``, in one child (results streamed, so a
    timeout or crash keeps what came before). Returns per group the list of gradients per case
    (``None`` if unusable), per group the problems, the child, and the guarded calls."""
    flat = [c for g in groups for c in g.cases]
    child = run_in_child(
        child_backprop_cases,
        backprop,
        flat,
        guarded_files(),
        timeout=timeout,
        memory_mb=memory_mb,
        stream=True,
    )
    results = list(child.messages)
    calls: list[str] = []
    for res in results:
        if isinstance(res, dict):
            for name in res.get("calls") or []:
                if str(name) not in calls:
                    calls.append(str(name))
    position, stopped = 0, False
    answers: list[list | None] = []
    problems: list[list[str]] = []
    for group in groups:
        probs: list[str] = []
        got: list = []
        for case in group.cases:
            if position < len(results):
                why, arrays = _case_problem(case, results[position])
                if why is not None and why not in probs:
                    probs.append(why)
                got.append(arrays)
            elif not stopped:
                stopped = True
                probs.append(
                    child.describe("your backprop")
                    if not child.ok
                    else "the grader could not read the result"
                )
            elif not probs:
                probs.append("not run: your code stopped on an earlier test")
            position += 1
        answers.append(None if probs else got)
        problems.append(probs)
    return answers, problems, child, calls


# --------------------------------------------------------------------------------------------
# The visible test
# --------------------------------------------------------------------------------------------


def check_backprop(
    backprop, points: float = 1.0, *, seed: int = 0, timeout: float = 10.0,
    memory_mb: float = 512.0,
) -> float:
    """Visible test: ``backprop(X1, X2, T)`` on three small examples (6 random points and 4
    hidden neurons; points with ``z = 0``; ``V = 0`` so that ``y t = 0``).

    Half of ``points`` is split over ``DW``, ``DB``, ``DV`` for their shapes, half for their
    values (compared with :func:`reference_backprop` on all three examples, with a diagnosis).

    Parameters
    ----------
    backprop
        The student's function; it reads the globals ``W``, ``B``, ``V`` of its notebook.
    points
        Maximum score.
    seed
        Seed of the examples.
    timeout, memory_mb
        Limits of the child process that runs the student's code.

    Returns
    -------
    float
        The score, a plain Python float in ``[0, points]``.
    """
    points = float(_check_number(points, "points"))
    _check_number(seed, "seed", integer=True, inclusive=True)
    report = Report(
        "check_backprop: backprop(X1, X2, T) on 6 points with 4 hidden neurons, and on two "
        "examples at the kinks (z = 0, y t = 0)"
    )

    def score() -> float:
        group = Group("small", random_cases(6, 4, 1, seed, salt=10) + kink_cases(seed))
        answers, problems, child, calls = _run(backprop, [group], timeout, memory_mb)
        if calls:
            report.bad("backprop", _DELEGATION.format(names=", ".join(calls[:3])))
            return report.finish(0.0, points)
        if problems[0]:
            for p in problems[0]:
                report.bad("backprop", p)
            report.note(_printed([child]))
            return report.finish(0.0, points)
        results, summary = diagnose([group], answers)
        n_shape = n_value = 0
        for r in results[0]:
            shape = group.cases[0].mutants["reference"][[n for n, _ in ITEMS].index(r.name)].shape
            if r.correct:
                report.good(r.name, f"shape {shape}, values correct")
            elif r.shape_ok:
                report.bad(r.name, f"shape {shape} right, but {r.message}")
            else:
                report.bad(r.name, r.message)
            n_shape += r.shape_ok
            n_value += r.correct
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(_printed([child]))
        return report.finish(share(points, n_shape + n_value, 6), points)

    return _graded(report, points, backprop, score)


# --------------------------------------------------------------------------------------------
# The hidden test
# --------------------------------------------------------------------------------------------


def grade_backprop(
    backprop, points: float = 6.0, *, seed: int = 0, timeout: float = 10.0,
    memory_mb: float = 512.0,
) -> float:
    """Hidden test: ``DW``, ``DB``, ``DV`` on every group of :data:`GROUPS`.

    Each gradient of each group is one item worth ``points / 15``; it counts as correct if its
    relative error is at most ``1e-7`` on every example of the group. A group whose call fails
    (exception, wrong structure or order, changed parameters) gets no credit; a call into
    nnscratch's own backprop gets no credit at all. Wrong gradients are explained by the
    mutations of :mod:`nnscratch.grading.moons`.

    Parameters
    ----------
    backprop
        The student's function; it reads the globals ``W``, ``B``, ``V`` of its notebook.
    points
        Maximum score, split evenly over the 15 gradients.
    seed
        Seed of the test networks and data.
    timeout
        Seconds allowed for all groups together (gradients of the groups finished before a
        timeout or crash still count).
    memory_mb
        Memory the student's code may add in the child.

    Returns
    -------
    float
        The score, a plain Python float rounded to 2 decimals.
    """
    points = float(_check_number(points, "points"))
    _check_number(seed, "seed", integer=True, inclusive=True)
    n_items = len(ITEMS) * len(GROUPS)
    report = Report(f"grade_backprop: DW, DB, DV on {len(GROUPS)} test groups")

    def score() -> float:
        groups = [Group(label, build(seed)) for label, build in GROUPS]
        answers, problems, child, calls = _run(backprop, groups, timeout, memory_mb)
        if calls:
            report.bad("backprop", _DELEGATION.format(names=", ".join(calls[:3])))
            report.note(_printed([child]))
            return report.finish(0.0, points)
        results, summary = diagnose(groups, answers)
        n_correct = 0
        for group, rows, probs in zip(groups, results, problems):
            if probs or rows is None:
                report.bad(group.label, f"{'; '.join(probs)} (no credit for its 3 gradients)")
                continue
            good = sum(r.correct for r in rows)
            n_correct += good
            if good == len(rows):
                report.good(group.label, "DW, DB, DV correct")
                continue
            report.bad(group.label, f"{good} of {len(rows)} gradients correct")
            for r in sorted(rows, key=lambda r: r.correct):
                (report.good if r.correct else report.bad)(r.name, r.message, indent=1)
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(_printed([child]))
        return report.finish(share(points, n_correct, n_items), points)

    return _graded(report, points, backprop, score)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def check_training(
    backprop,
    points: float = 2.0,
    *,
    eta: float = 0.3,
    iterations: int = 300,
    threshold: float = 0.95,
    seed: int = 0,
    timeout: float = 20.0,
    memory_mb: float = 512.0,
) -> float:
    """Test: full-batch gradient descent with the student's ``backprop`` learns the moons.

    In the child, starts from a seeded He initialisation of the 50-neuron network (``B = 0``)
    and takes ``iterations`` steps ``W -= eta * DW``, ``B -= eta * DB``, ``V -= eta * DV`` on
    the assignment's 100 moons points (:func:`nnscratch.grading.moons.moons_data`); the parent
    computes the training accuracy of the final parameters. Full ``points`` iff it reaches
    ``threshold``. With the defaults the reference reaches 1.00 on every seed 0-199 (see the
    project's tests); some wrong backprops learn as well: :func:`grade_backprop` tests
    correctness, this test that training with it works.

    Parameters
    ----------
    backprop
        The student's function; it reads the globals ``W``, ``B``, ``V`` of its notebook.
    points
        Maximum score.
    eta, iterations
        Learning rate and number of gradient-descent steps.
    threshold
        Training accuracy needed for the points.
    seed
        Seed of the initial parameters.
    timeout, memory_mb
        Limits of the child process that trains.

    Returns
    -------
    float
        ``points`` or ``0.0``, a plain Python float.
    """
    points = float(_check_number(points, "points"))
    eta = float(_check_number(eta, "eta"))
    iterations = int(_check_number(iterations, "iterations", integer=True))
    threshold = float(_check_number(threshold, "threshold"))
    if threshold > 1:
        raise ValueError(f"threshold is an accuracy in (0, 1], got {threshold!r}")
    _check_number(seed, "seed", integer=True, inclusive=True)
    report = Report(
        f"check_training: {iterations} steps of full-batch gradient descent, η = {eta:g}, on "
        f"the 100 moons points with {HIDDEN} hidden neurons"
    )

    def score() -> float:
        X1, X2, T = moons_data()
        W0, B0, V0 = he_init(HIDDEN, seed, salt=99)
        child: ChildResult = run_in_child(
            child_train, backprop, X1, X2, T, W0, B0, V0, eta, iterations, guarded_files(),
            timeout=timeout, memory_mb=memory_mb,
        )
        if not child.ok:
            report.bad("training", child.describe("training with your backprop"))
            report.note(_printed([child]))
            return report.finish(0.0, points)
        value = child.value if isinstance(child.value, dict) else {}
        calls = [str(c) for c in value.get("calls") or []]
        if calls:
            report.bad("training", _DELEGATION.format(names=", ".join(calls[:3])))
            report.note(_printed([child]))
            return report.finish(0.0, points)
        W, B, V = value.get("W"), value.get("B"), value.get("V")
        done = value.get("done")
        if not all(isinstance(p, np.ndarray) for p in (W, B, V)) or not isinstance(done, int):
            report.bad("training", "the grader could not read the result")
            return report.finish(0.0, points)
        if value.get("why"):
            report.bad("training", f"stopped after {done} steps: {value['why']}")
            report.note(_printed([child]))
            return report.finish(0.0, points)
        if not all(all_finite(p) for p in (W, B, V)):
            report.bad("training", "after training the parameters contain NaN or inf")
            report.note(_printed([child]))
            return report.finish(0.0, points)
        acc = accuracy(X1, X2, T, W, B, V)
        text = (
            f"training accuracy {acc:.2f} after {done} steps "
            f"({float(value.get('seconds') or child.elapsed):.1f} s; needed: {threshold:g})"
        )
        passed = acc >= threshold
        if passed:
            report.good("training", text)
        else:
            unchanged = all(
                not bool(np.logical_or.reduce((a != b).ravel()))
                for a, b in zip((W, B, V), (W0, B0, V0))
            )
            hint = (
                "; the parameters did not change at all (are your gradients zero?)"
                if unchanged
                else "; check backprop with the feedback of the other tests"
            )
            report.bad("training", text + hint)
        report.note(_printed([child]))
        return report.finish(points if passed else 0.0, points)

    return _graded(report, points, backprop, score)
