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
from ._common import (
    check_number,
    check_points_seed,
    check_threshold,
    fail,
    graded,
    printed,
    report_gradients,
    report_shapes,
    run_cases,
    training_value,
    training_verdict,
    unchanged,
)
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


def _function_problem(backprop) -> tuple[str, str] | None:
    if not callable(backprop) or not isinstance(getattr(backprop, "__globals__", None), dict):
        return "backprop", (
            f"expected your function backprop (def backprop(X1, X2, T): ...), got "
            f"{type(backprop).__name__}"
        )
    return None


def _graded(report: Report, points: float, backprop, score: Callable[[], float]) -> float:
    """``score()`` under :func:`~._common.graded`, once ``backprop`` is a function (no credit
    otherwise)."""
    return graded(report, points, score, lambda: _function_problem(backprop))


def _lines(rows) -> list[tuple[bool, str, str]]:
    """The report lines of one group's gradients, the wrong ones first."""
    return [(r.correct, r.name, r.message) for r in sorted(rows, key=lambda r: r.correct)]


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
    per_group, child, calls = run_cases(
        child_backprop_cases, backprop, [g.cases for g in groups], _case_problem,
        guarded_files(), timeout, memory_mb, earlier="test",
    )
    answers = [None if probs else got for probs, got in per_group]
    problems = [probs for probs, _ in per_group]
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
    points = check_points_seed(points, seed)
    report = Report(
        "check_backprop: backprop(X1, X2, T) on 6 points with 4 hidden neurons, and on two "
        "examples at the kinks (z = 0, y t = 0)"
    )

    def score() -> float:
        group = Group("small", random_cases(6, 4, 1, seed, salt=10) + kink_cases(seed))
        answers, problems, child, calls = _run(backprop, [group], timeout, memory_mb)
        if calls:
            return fail(report, points, "backprop", _DELEGATION.format(names=", ".join(calls[:3])))
        if problems[0]:
            return fail(report, points, "backprop", *problems[0], children=[child])
        results, summary = diagnose([group], answers)
        reference = group.cases[0].mutants["reference"]
        names = [n for n, _ in ITEMS]
        n_right = report_shapes(
            report, ((r.name, reference[names.index(r.name)].shape, r) for r in results[0])
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed([child]))
        return report.finish(share(points, n_right, 6), points)

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
    points = check_points_seed(points, seed)
    n_items = len(ITEMS) * len(GROUPS)
    report = Report(f"grade_backprop: DW, DB, DV on {len(GROUPS)} test groups")

    def score() -> float:
        groups = [Group(label, build(seed)) for label, build in GROUPS]
        answers, problems, child, calls = _run(backprop, groups, timeout, memory_mb)
        if calls:
            text = _DELEGATION.format(names=", ".join(calls[:3]))
            return fail(report, points, "backprop", text, children=[child])
        results, summary = diagnose(groups, answers)
        n_correct = sum(
            report_gradients(report, group.label, rows, probs, _lines, n=3,
                             all_correct="DW, DB, DV correct")
            for group, rows, probs in zip(groups, results, problems)
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed([child]))
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
    points = float(check_number(points, "points"))
    eta = float(check_number(eta, "eta"))
    iterations = int(check_number(iterations, "iterations", integer=True))
    threshold = check_threshold(threshold)
    check_number(seed, "seed", integer=True, inclusive=True)
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
            text = child.describe("training with your backprop")
            return fail(report, points, "training", text, children=[child])
        value, calls = training_value(child)
        if calls:
            text = _DELEGATION.format(names=", ".join(calls[:3]))
            return fail(report, points, "training", text, children=[child])
        W, B, V = value.get("W"), value.get("B"), value.get("V")
        done = value.get("done")
        if not all(isinstance(p, np.ndarray) for p in (W, B, V)) or not isinstance(done, int):
            return fail(report, points, "training", "the grader could not read the result")
        if value.get("why"):
            text = f"stopped after {done} steps: {value['why']}"
            return fail(report, points, "training", text, children=[child])
        if not all(all_finite(p) for p in (W, B, V)):
            text = "after training the parameters contain NaN or inf"
            return fail(report, points, "training", text, children=[child])
        acc = accuracy(X1, X2, T, W, B, V)
        text = (
            f"training accuracy {acc:.2f} after {done} steps "
            f"({float(value.get('seconds') or child.elapsed):.1f} s; needed: {threshold:g})"
        )
        if unchanged((W, B, V), (W0, B0, V0)):
            hint = "; the parameters did not change at all (are your gradients zero?)"
        else:
            hint = "; check backprop with the feedback of the other tests"
        return training_verdict(report, points, acc >= threshold, text, hint, child)

    return _graded(report, points, backprop, score)
