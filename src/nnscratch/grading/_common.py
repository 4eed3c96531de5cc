r"""Steps shared by the graders of every problem set (:mod:`.ps1` ... :mod:`.ps4`).

* argument checks (:func:`check_number`, :func:`check_points_seed`, :func:`check_threshold`);
* :func:`graded`: the grading context (the grader's own numpy and builtins, no warnings), the
  preflight (a report of what the student replaced, no credit if the grader itself was changed),
  a check of what the student passed, and an internal error instead of any exception;
* early verdicts (:func:`fail`) and the note on what the student's code printed
  (:func:`printed`);
* :func:`run_cases`: the student's function on every case of some groups in one child, its
  streamed results matched with the cases (what finished before a timeout or crash counts);
* report lines for the gradients of one network (:func:`report_shapes`,
  :func:`report_gradients`, :func:`grouped`) and for a training test (:func:`training_value`,
  :func:`training_verdict`).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterable, Sequence

from . import _pristine
from ._child import ChildResult, run_in_child
from ._pristine import BUILTINS, np
from .report import Report

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def check_number(
    value, name: str, *, integer: bool = False, low: float = 0.0, inclusive: bool = False
) -> float:
    """``value`` if it is a finite number (an integer if ``integer``) above ``low`` (or equal to
    it if ``inclusive``); ValueError otherwise."""
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ValueError(
            f"{name} must be a finite {'integer' if integer else 'number'}, got {value!r}"
        )
    if value < low or (value == low and not inclusive):
        raise ValueError(f"{name} must be {'>=' if inclusive else '>'} {low:g}, got {value!r}")
    return value


def check_points_seed(points, seed) -> float:
    """``points`` (> 0) as a float, once ``seed`` is checked to be an integer >= 0."""
    points = float(check_number(points, "points"))
    check_number(seed, "seed", integer=True, inclusive=True)
    return points


def check_threshold(threshold) -> float:
    """An accuracy threshold in ``(0, 1]`` as a float."""
    threshold = float(check_number(threshold, "threshold"))
    if threshold > 1:
        raise ValueError(f"threshold is an accuracy in (0, 1], got {threshold!r}")
    return threshold


# --------------------------------------------------------------------------------------------
# Grading context
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def grading_context():
    """Originals of numpy/builtins while the grader runs (yields what the student had
    replaced); no warnings, no floating-point exceptions in the parent."""
    with (
        _pristine.pristine_environment() as changed,
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        yield changed


def preflight(report: Report, changed: list[str]) -> bool:
    """Report replaced numpy/builtins (``changed``, from :func:`_pristine.check_environment`
    before the originals were swapped in); return False (no credit) if the grader itself was
    tampered with."""
    tampered = _pristine.check_grader()
    if tampered:
        _pristine.restore_grader()
        names = ", ".join(tampered[:5]) + (" ..." if len(tampered) > 5 else "")
        report.warn(
            f"your code changed the grader itself ({names}); it was put back, and this "
            "submission earns no credit for this test"
        )
        return False
    if changed:
        names = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
        report.warn(
            f"your code replaced {names}; the grader does not use them (it keeps its own "
            "copies), and the originals are used while your code is graded"
        )
    return True


def internal_error(report: Report, exc: BaseException, points: float) -> float:
    report.bad(
        "grader",
        f"internal error ({type(exc).__name__}: {str(exc)[:200]}); this is not your fault, "
        "please tell your instructor",
    )
    return report.finish(0.0, points)


def graded(
    report: Report,
    points: float,
    score: Callable[[], float],
    problem: Callable[[], tuple[str, str] | None] | None = None,
) -> float:
    """``score()`` under :func:`grading_context`, once :func:`preflight` passed and ``problem()``
    (what is wrong with the student's arguments: ``(label, text)``, or ``None``) found nothing:
    no credit otherwise, and an internal error instead of any exception. ``score`` reports on
    the student's code and returns ``report.finish(...)``."""
    try:
        with grading_context() as changed:
            if not preflight(report, changed):
                return report.finish(0.0, points)
            found = problem() if problem is not None else None
            if found:
                return fail(report, points, *found)
            return score()
    except Exception as exc:  # never raise into the notebook
        return internal_error(report, exc, points)


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def printed(results: Sequence[ChildResult]) -> str:
    """The note on what the student's code printed in all the children ``results``."""
    total = ChildResult("ok")
    for r in results:
        total.stdout_lines += r.stdout_lines
        total.stderr_lines += r.stderr_lines
    return total.printed_note()


def fail(
    report: Report, points: float, label: str, *texts: str, children: Sequence[ChildResult] = ()
) -> float:
    """No credit: a bad line ``label: text`` per text, the note on what ``children`` printed
    (none without children), and the score 0."""
    for text in texts:
        report.bad(label, text)
    if children:
        report.note(printed(children))
    return report.finish(0.0, points)


def calls_of(results: Iterable[object]) -> list[str]:
    """The guarded functions called, in order of first call, over the dicts in ``results``."""
    calls: list[str] = []
    for res in results:
        if isinstance(res, dict):
            for name in res.get("calls") or []:
                if str(name) not in calls:
                    calls.append(str(name))
    return calls


# --------------------------------------------------------------------------------------------
# The student's function on many cases, in one child
# --------------------------------------------------------------------------------------------


def run_cases(
    child_fn: Callable,
    fn: object,
    groups: Sequence[Sequence[object]],
    case_problem: Callable[[object, object], tuple[str | None, object]],
    guarded: frozenset[str],
    timeout: float,
    memory_mb: float,
    earlier: str = "network",
) -> tuple[list[tuple[list[str], list]], ChildResult, list[str]]:
    """``child_fn(emit, fn, cases, guarded)`` on the cases of every group in one child (results
    streamed, so a timeout or crash keeps what came before).

    Returns
    -------
    per_group
        Per group ``(problems, answers)``: the problems that cost the group its credit (from
        ``case_problem(case, result)``, the child's end, or ``'not run: your code stopped on an
        earlier {earlier}'``), and per case the usable answer of ``case_problem`` (all
        ``None`` when the group has a problem).
    child
        The child's result.
    calls
        The guarded functions the student's code called.
    """
    flat = [c for cases in groups for c in cases]
    child = run_in_child(
        child_fn, fn, flat, guarded, timeout=timeout, memory_mb=memory_mb, stream=True
    )
    results = list(child.messages)
    position = 0
    stopped = False
    per_group = []
    for cases in groups:
        probs: list[str] = []
        answers: list = [None] * len(cases)
        for i, case in enumerate(cases):
            if position < len(results):
                why, answer = case_problem(case, results[position])
                if why is not None and why not in probs:
                    probs.append(why)
                answers[i] = answer
            elif not stopped:
                stopped = True
                probs.append(
                    child.describe("your backprop")
                    if not child.ok
                    else "the grader could not read the result"
                )
            elif not probs:
                probs.append(f"not run: your code stopped on an earlier {earlier}")
            position += 1
        per_group.append((probs, [None] * len(cases) if probs else answers))
    return per_group, child, calls_of(results)


# --------------------------------------------------------------------------------------------
# Report lines
# --------------------------------------------------------------------------------------------


def report_shapes(report: Report, rows: Iterable[tuple[str, tuple, object]]) -> int:
    """A line per gradient of the visible test, from ``(label, reference shape, result)`` (an
    :class:`~.mutations.ItemResult` or alike); returns the number of right shapes plus the
    number of right values."""
    n = 0
    for label, shape, r in rows:
        if r.correct:
            report.good(label, f"shape {shape}, values correct")
        elif r.shape_ok:
            report.bad(label, f"shape {shape} right, but {r.message}")
        else:
            report.bad(label, r.message)
        n += r.shape_ok + r.correct
    return n


def report_gradients(
    report: Report,
    name: str,
    rows: Sequence | None,
    probs: Sequence[str],
    lines: Callable[[Sequence], Iterable[tuple[bool, str, str]]],
    *,
    n: int | None = None,
    all_correct: str | None = None,
) -> int:
    """The verdict on the ``n`` (default ``len(rows)``) gradients of one network ``name``: no
    credit with its problems ``probs``, all correct (``all_correct``, default ``'all n
    gradients correct'``), or how many are, then an indented line per ``(ok, label, message)``
    of ``lines(rows)``. Returns the number of correct gradients that count."""
    n = len(rows) if n is None else n
    if probs:
        report.bad(name, f"{'; '.join(probs)} (no credit for its {n} gradients)")
        return 0
    good = sum(r.correct for r in rows)
    if good == len(rows):
        report.good(name, all_correct or f"all {len(rows)} gradients correct")
        return good
    report.bad(name, f"{good} of {len(rows)} gradients correct")
    for ok, label, message in lines(rows):
        (report.good if ok else report.bad)(label, message, indent=1)
    return good


def reference_of(net, r):
    """The reference gradient of the :class:`~.mutations.ItemResult` ``r`` on the first example
    of ``net`` (a :class:`~.mutations.NetworkData`)."""
    ref_b, ref_w = net.mutants[0]["reference"]
    return (ref_b if r.item.kind == "b" else ref_w)[r.item.layer - 1]


def _layers_text(layers: Sequence[int]) -> str:
    layers = sorted(layers)
    if len(layers) == 1:
        return f"layer {layers[0]}"
    if len(layers) >= 3 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}–{layers[-1]}"
    return "layers " + ", ".join(str(x) for x in layers)


def grouped(rows: Sequence) -> list[tuple[bool, str, str]]:
    """Report lines for one network (rows of :class:`~.mutations.ItemResult`): gradients with
    the same verdict and message share a line, e.g.
    ``(False, '∂C/∂b, ∂C/∂w, layers 1, 2', 'the activation derivative ... (eq. BP2)')``."""
    groups: dict[tuple[bool, str], list] = {}
    for r in rows:
        groups.setdefault((r.correct, r.message), []).append(r)
    lines = []
    for (ok, message), members in groups.items():
        kinds = sorted({r.item.kind for r in members})
        layers = sorted({r.item.layer for r in members})
        if len(members) == len(kinds) * len(layers):
            label = ", ".join(f"∂C/∂{k}" for k in kinds) + ", " + _layers_text(layers)
        else:
            label = "; ".join(r.item.label() for r in members)
        lines.append((ok, label, message))
    lines.sort(key=lambda t: t[0])  # the wrong ones first
    return lines


def training_value(child: ChildResult) -> tuple[dict, list[str]]:
    """The dict a training child returned (``{}`` if none) and the guarded calls it lists."""
    value = child.value if isinstance(child.value, dict) else {}
    return value, calls_of([value])


def unchanged(after: Sequence, before: Sequence) -> bool:
    """True when every array of ``after`` equals the one of ``before`` (training did nothing)."""
    return all(
        not bool(np.logical_or.reduce((a != b).ravel())) for a, b in zip(after, before)
    )


def training_verdict(
    report: Report, points: float, passed: bool, text: str, hint: str, child: ChildResult
) -> float:
    """The last line of a training test: ``text`` (plus ``hint`` when not ``passed``), the
    printed note, and ``points`` or 0."""
    if passed:
        report.good("training", text)
    else:
        report.bad("training", text + hint)
    report.note(printed([child]))
    return report.finish(points if passed else 0.0, points)
