r"""Grading of ps4-softmax-ising: ``log_softmax``, ``backprop`` with a softmax output, Ising.

The notebook imports this module in a locked cell before any student code; its test cells call

* :func:`check_log_softmax` (visible) and :func:`grade_log_softmax` (hidden): the student's
  ``log_softmax(z)`` (over the last axis) against the stable reference (eq. ``softmax``), also
  on inputs where a naive ``log(exp(z) / sum(exp(z)))`` overflows or underflows, with no
  warning allowed, and a diagnosis of the usual mistakes
  (:data:`~nnscratch.grading.softmax_mutations.LOG_SOFTMAX_MISTAKES`);
* :func:`check_backprop` (visible) and :func:`grade_backprop` (hidden): the student's
  ``backprop(X, T, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)`` of a one-hidden-layer sigmoid
  network with a softmax output and the batch-averaged log-likelihood cost (eqs.
  ``log-likelihood``, ``delta-softmax-ce``, ``bp2``-``bp4``), partial credit per gradient, with
  a diagnosis (:mod:`~nnscratch.grading.softmax_mutations`);
* :func:`check_ising` (hidden): trains a ``[256, 16, 3]`` network with the student's
  ``backprop`` on Ising configurations at T = 1.5, 2.3, 3.0 (:func:`nnscratch.ising.make_dataset`,
  ``labels="temperature"``, generated afresh without the disk cache) and asks for a test
  accuracy clearly above chance.

Each prints a short report to stdout and returns a plain ``float`` in ``[0, points]``; none raises
because of the student's code, which always runs in a forked child
(:func:`nnscratch.grading._child.run_in_child`).

Importing this module inside the autograding sandbox also points numba's compilation cache at
a writable folder when none is set (``NUMBA_CACHE_DIR``, seeded with the tree's compiled
kernels): the library tree is read-only there, and ``nnscratch.ising`` could not be imported
otherwise; it also silences numba's warning about the sandbox's read-only ``/dev/shm``. Import
it before ``nnscratch.ising``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence

from ._child import ChildResult, format_exception, run_in_child
from ._common import (
    calls_of,
    check_number,
    check_points_seed,
    check_threshold,
    fail,
    graded,
    printed,
    training_value,
    training_verdict,
)
from ._pristine import BUILTINS, np
from .compare import TOL, all_finite, relative_error, share
from .nielsen import _call_watched, _not_a_tuple, _short, _watched_call, guarded_files
from .report import Report
from .softmax_mutations import (
    GRADIENT_NAMES,
    _forward,
    diagnose,
    diagnose_log_softmax,
    reference_backprop,
    reference_log_softmax,
)

__all__ = [
    "BACKPROP_ARCHITECTURES",
    "ISING_DATA",
    "ISING_SIZES",
    "check_backprop",
    "check_ising",
    "check_log_softmax",
    "grade_backprop",
    "grade_log_softmax",
    "ising_data",
    "reference_backprop",
    "reference_log_softmax",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: ``(n_in, n_hidden, n_out)`` and batch size of the networks of :func:`grade_backprop`.
BACKPROP_ARCHITECTURES: tuple[tuple[tuple[int, int, int], int], ...] = (
    ((4, 5, 3), 5),
    ((6, 4, 2), 8),
    ((3, 3, 3), 4),
    ((256, 16, 3), 10),
)
#: Cases (each with its own seeded parameters and batch) per architecture.
CASES_PER_NETWORK = 2
#: The data of :func:`check_ising`: arguments of :func:`nnscratch.ising.make_dataset`.
ISING_DATA: dict = {"temperatures": (1.5, 2.3, 3.0), "n_per_T": 300, "L": 16, "seed": 2026}
#: The network :func:`check_ising` trains.
ISING_SIZES = (256, 16, 3)

_DELEGATION = (
    "your {what} calls an existing implementation ({names}); the exercise is to write it "
    "yourself with numpy, so this earns no credit"
)


def _numba_cache_fallback() -> None:
    """In the sandbox the source tree is read-only: give numba a writable cache folder."""
    if os.environ.get("NUMBA_CACHE_DIR") or "nnscratch.ising._kernels" in sys.modules:
        return
    pycache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ising",
                           "__pycache__")
    target = pycache if os.path.isdir(pycache) else os.path.dirname(pycache)
    if os.access(target, os.W_OK):
        return
    cache = os.path.join(tempfile.gettempdir(), "nnscratch-numba")
    os.environ["NUMBA_CACHE_DIR"] = cache
    # The sandbox's /dev/shm is not writable by its user: numba's parallel kernels then warn
    # (harmlessly) on stderr when they first start.
    warnings.filterwarnings("ignore", message="Could not obtain multiprocessing lock")
    # Seed it with the compiled kernels of the read-only tree, if any (saves compiling them
    # again, ~3 s): numba looks for them in <cache>/<folder>_<sha1 of the folder's path>/.
    with contextlib.suppress(Exception):
        import hashlib
        import shutil

        folder = os.path.dirname(pycache)
        sub = os.path.basename(folder) + "_" + hashlib.sha1(folder.encode()).hexdigest()
        os.makedirs(os.path.join(cache, sub), exist_ok=True)
        for name in os.listdir(pycache):
            if name.startswith("_kernels.") and name.endswith((".nbi", ".nbc")):
                shutil.copyfile(os.path.join(pycache, name), os.path.join(cache, sub, name))
    numba = sys.modules.get("numba")
    if numba is not None:  # already imported: re-read the environment
        with contextlib.suppress(Exception):
            numba.core.config.reload_config()


_numba_cache_fallback()


def _guarded() -> frozenset[str]:
    """Files a submission may not call: nnscratch's network, gradcheck, grading, losses and
    activations, and scipy's logsumexp/log_softmax."""
    here = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.dirname(here)
    files = {os.path.join(pkg, "losses.py"), os.path.join(pkg, "activations.py")}
    with contextlib.suppress(Exception):
        spec = importlib.util.find_spec("scipy")
        if spec is not None and spec.submodule_search_locations:
            files.add(os.path.join(next(iter(spec.submodule_search_locations)), "special",
                                   "_logsumexp.py"))
    return guarded_files() | frozenset(files | {os.path.realpath(f) for f in files})


def _graded(report: Report, points: float, fn, what: str, score: Callable[[], float]) -> float:
    """``score()`` under :func:`~._common.graded`, once ``fn`` is callable."""

    def problem() -> tuple[str, str] | None:
        if not callable(fn):
            return what, f"expected your function {what}, got {type(fn).__name__}"
        return None

    return graded(report, points, score, problem)


def _as_array(v, limit: int) -> tuple[np.ndarray | None, str]:
    """The student's value as a float64 array, or ``(None, why not)`` (runs in the child)."""
    if v is None:
        return None, "returned None (did you forget the return statement?)"
    if isinstance(v, np.ndarray) and v.size > limit:
        return None, f"returned an array far too large (shape {v.shape})"
    try:
        if np.iscomplexobj(v):
            return None, "returned complex numbers"
        a = np.array(v, dtype=np.float64)
    except MemoryError:
        raise
    except Exception:  # anything the student's object does while being converted
        return None, f"returned {_short(type(v).__name__)}, not an array of numbers"
    if a.size > limit:
        return None, f"returned an array far too large (shape {a.shape})"
    return a, ""


# --------------------------------------------------------------------------------------------
# log_softmax
# --------------------------------------------------------------------------------------------


def _log_softmax_cases(seed: int, hidden: bool) -> list[tuple[str, np.ndarray]]:
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 4099]))
    cases = [
        ("a vector z of shape (6,)", rng.normal(0.0, 3.0, 6)),
        ("a batch of shape (5, 4), one row per sample", rng.normal(0.0, 3.0, (5, 4))),
    ]
    if hidden:
        cases += [
            ("a batch with a single class, shape (4, 1)", rng.normal(0.0, 3.0, (4, 1))),
            ("z = [1000, 0, -1000] (exp(1000) overflows)", np.array([1000.0, 0.0, -1000.0])),
            ("z = [-1000, -1001, -1003] (exp underflows to 0)",
             np.array([-1000.0, -1001.0, -1003.0])),
            ("rows of very different size, [[1000, 999, 998], [0, -1, -2], [-1000, -999, -998]]",
             np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, -2.0], [-1000.0, -999.0, -998.0]])),
        ]
    return cases


def child_log_softmax(emit, fn, inputs: Sequence[np.ndarray], guarded: frozenset[str]) -> int:
    """In the child: ``fn(z)`` for each input; ``emit`` a dict per input: ``value`` (float64) or
    ``detail``/``error``, ``warnings`` (what it warned), ``modified`` (the input was changed),
    ``calls`` (guarded functions called)."""
    for z in inputs:
        res: dict = {"calls": [], "warnings": []}
        zc = z.copy()
        with warnings.catch_warnings(record=True) as caught, np.errstate(
            over="warn", invalid="warn", divide="warn", under="ignore"
        ):
            warnings.simplefilter("always")
            out, ran = _watched_call(res, fn, guarded, zc)
        if not ran:
            emit(res)
            continue
        res["warnings"] = [
            f"{w.category.__name__}: {_short(str(w.message), 60)}" for w in caught[:3]
        ]
        res["modified"] = bool(zc.shape != z.shape or np.logical_or.reduce(
            (np.asarray(zc, dtype=np.float64) != z).ravel()))
        a, why = _as_array(out, 100 * max(z.size, 10))
        if a is None:
            res.update(ok=False, detail=why)
        else:
            res.update(ok=True, value=a)
        emit(res)
    return len(inputs)


def _run_log_softmax(log_softmax, cases, timeout, memory_mb):
    child = run_in_child(child_log_softmax, log_softmax, [z for _, z in cases], _guarded(),
                         timeout=timeout, memory_mb=memory_mb, stream=True)
    results = [r if isinstance(r, dict) else {} for r in child.messages]
    return child, results, sorted(calls_of(results))


def _close(got: np.ndarray, want: np.ndarray, z: np.ndarray) -> bool:
    """Equal within a relative error of 1e-7, or entrywise within 1e-10 (1 + max |z|) (values
    near 0, e.g. a single class, where a relative error means nothing)."""
    if relative_error(got, want) <= TOL:
        return True
    if not all_finite(got):
        return False
    scale = 1.0 + float(np.maximum.reduce(np.abs(z).ravel())) if z.size else 1.0
    return float(np.maximum.reduce(np.abs(got - want).ravel())) <= 1e-10 * scale


_OVERFLOW = ("exp(z) overflows for large z (and underflows to 0 for very negative z, so "
             "log(0) = −inf, 0/0 = NaN); take out each row's maximum m first: "
             "ln a_j = (z_j − m) − ln Σ_k e^{z_k − m} (eq. softmax)")


def _judge_log_softmax(name: str, z: np.ndarray, res: dict | None, moderate_ok: bool,
                       child: ChildResult) -> tuple[bool, str]:
    """Whether ``log_softmax`` got case ``z`` right, and the sentence for the report."""
    if res is None:
        return False, child.describe("your log_softmax") or "not run"
    if not res.get("ok"):
        if "error" in res:
            e = res.get("error") or {}
            if e.get("memory"):
                return False, "your log_softmax ran out of memory"
            return False, f"raised {format_exception(e)}"
        return False, str(res.get("detail") or "unusable result")
    got = res["value"]
    want = reference_log_softmax(z)
    if got.shape != want.shape:
        if got.size == want.size:
            return False, (f"returned shape {got.shape}; log_softmax must keep the shape of z, "
                           f"{want.shape}")
        return False, f"returned shape {got.shape}, expected {want.shape} (the shape of z)"
    if _close(got, want, z):
        return True, "correct"
    if not all_finite(got):
        bad = "inf" if bool(np.logical_or.reduce(np.isinf(got).ravel())) else "NaN"
        if moderate_ok or abs(float(np.maximum.reduce(np.abs(z).ravel()))) >= 500:
            return False, f"contains {bad}: {_OVERFLOW}"
        return False, f"contains {bad}"
    mistake = diagnose_log_softmax(z, got)
    if mistake is not None:
        return False, mistake
    if moderate_ok and z.ndim == 2 and z.shape[0] > 1:
        return False, ("wrong values on rows of very different size: the maximum taken out "
                       "must be each row's own (axis=-1, keepdims=True), not the maximum of the "
                       "whole array, else the small rows underflow")
    return False, f"wrong values (relative error {relative_error(got, want):.2g})"


def _log_softmax_report(log_softmax, points, seed, hidden, timeout, memory_mb, title) -> float:
    points = check_points_seed(points, seed)
    report = Report(title)

    def score() -> float:
        cases = _log_softmax_cases(seed, hidden)
        child, results, calls = _run_log_softmax(log_softmax, cases, timeout, memory_mb)
        if calls:
            text = _DELEGATION.format(what="log_softmax", names=", ".join(calls[:3]))
            return fail(report, points, "log_softmax", text, children=[child])
        n_moderate = 2
        got = [results[i] if i < len(results) else None for i in range(len(cases))]
        verdicts = []
        moderate_ok = all(
            r is not None and r.get("ok") and r["value"].shape == reference_log_softmax(z).shape
            and _close(r["value"], reference_log_softmax(z), z)
            for r, (_, z) in zip(got[:n_moderate], cases[:n_moderate])
        )
        for (name, z), res in zip(cases, got):
            verdicts.append(_judge_log_softmax(name, z, res, moderate_ok, child))
        n_ok = 0
        said = set()
        for k, ((name, _), (ok, text)) in enumerate(zip(cases, verdicts)):
            if got[k] is None and k > 0 and got[k - 1] is None:
                text = "not run: your code stopped on an earlier input"
            if not ok and _OVERFLOW in text:
                if _OVERFLOW in said:
                    text = text.replace(_OVERFLOW, "overflow or underflow, as above")
                said.add(_OVERFLOW)
            (report.good if ok else report.bad)(name, text)
            n_ok += ok
        n_items = len(cases)
        ran = [r for r in got if r is not None and r.get("ok")]
        if hidden:
            n_items += 2
            warned = [w for r in ran for w in (r.get("warnings") or [])]
            if len(ran) < len(cases):
                report.bad("no warnings", "not checked: your function did not return an array "
                           "for every input")
            elif warned:
                report.bad("no warnings", f"your log_softmax warned ({warned[0]}); a stable "
                           "version never overflows, never takes log(0) and never warns")
            else:
                n_ok += 1
                report.good("no warnings", "none on any input")
            modified = any(r.get("modified") for r in ran)
            if len(ran) < len(cases):
                report.bad("z unchanged", "not checked: your function did not return an array "
                           "for every input")
            elif modified:
                report.bad("z unchanged", "your log_softmax changed its input z (an in-place "
                           "operation such as z -= z.max()): work on a new array")
            else:
                n_ok += 1
                report.good("z unchanged", "your function leaves its input alone")
        report.note(printed([child]))
        return report.finish(share(points, n_ok, n_items), points)

    return _graded(report, points, log_softmax, "log_softmax", score)


def check_log_softmax(log_softmax, points: float = 1.0, *, seed: int = 0, timeout: float = 10.0,
                      memory_mb: float = 512.0) -> float:
    """Visible test: ``log_softmax`` on a vector and on a batch of rows (moderate values), against
    :func:`reference_log_softmax`, with a diagnosis of wrong values.

    Returns ``points`` times the fraction of the two cases that are right (a plain float)."""
    return _log_softmax_report(log_softmax, points, seed, False, timeout, memory_mb,
                               "check_log_softmax: a vector and a batch of rows")


def grade_log_softmax(log_softmax, points: float = 3.0, *, seed: int = 1, timeout: float = 10.0,
                      memory_mb: float = 512.0) -> float:
    """Hidden test: ``log_softmax`` on six inputs (a vector, a batch, a single class, values where
    ``exp`` overflows or underflows, rows of very different size), plus two checks: no warning
    on any input, and the input left unchanged. Each of the eight items is worth
    ``points / 8``; wrong values are explained
    (:data:`~nnscratch.grading.softmax_mutations.LOG_SOFTMAX_MISTAKES`, overflow, a global
    instead of a per-row maximum). Returns a plain float in ``[0, points]``."""
    return _log_softmax_report(log_softmax, points, seed, True, timeout, memory_mb,
                               "grade_log_softmax: six inputs, no warnings, input unchanged")


# --------------------------------------------------------------------------------------------
# backprop with a softmax output
# --------------------------------------------------------------------------------------------


def _make_cases(sizes: tuple[int, int, int], N: int, n: int, seed: int, salt: int):
    """``n`` seeded cases ``(X, T, W1, b1, W2, b2)``: Ising-like ±1 inputs for 256 inputs,
    else normal; one-hot targets; N(0, 1/n_in) weights, N(0, 1) biases."""
    n_in, n_h, n_out = sizes
    out = []
    for k in range(n):
        rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 31, salt, k]))
        if n_in >= 100:
            X = rng.choice(np.array([-1.0, 1.0]), size=(N, n_in))
        else:
            X = rng.normal(0.0, 1.0, (N, n_in))
        T = np.eye(n_out)[rng.integers(0, n_out, N)]
        W1 = rng.normal(0.0, 1.0, (n_in, n_h)) / np.sqrt(n_in)
        b1 = rng.normal(0.0, 1.0, n_h)
        W2 = rng.normal(0.0, 1.0, (n_h, n_out)) / np.sqrt(n_h)
        b2 = rng.normal(0.0, 1.0, n_out)
        out.append((X, T, W1, b1, W2, b2))
    return out


def child_backprop(emit, fn, cases, guarded: frozenset[str]) -> int:
    """In the child: ``fn(X, T, W1, b1, W2, b2)`` for each case; ``emit`` per case a dict with
    ``grads`` (four float64 arrays) or ``detail``/``error``, ``modified`` and ``calls``."""
    for case in cases:
        res: dict = {"calls": []}
        args = [a.copy() for a in case]
        out, ran = _watched_call(res, fn, guarded, *args)
        if not ran:
            emit(res)
            continue
        res["modified"] = [
            name for name, a, b in zip(("X", "T", "W1", "b1", "W2", "b2"), args, case)
            if a.shape != b.shape or bool(np.logical_or.reduce((a != b).ravel()))
        ]
        why = _not_a_tuple(out, 4, "the tuple (dW1, db1, dW2, db2)")
        if why:
            res.update(ok=False, detail=why)
            emit(res)
            continue
        grads = []
        for name, v in zip(GRADIENT_NAMES, out):
            a, why = _as_array(v, 10 * max(a.size for a in case) + 1000)
            if a is None:
                res.update(ok=False, detail=f"{name}: {why}")
                break
            grads.append(a)
        else:
            res.update(ok=True, grads=grads)
        emit(res)
    return len(cases)


def _case_problem(res: dict | None, child: ChildResult) -> str | None:
    if res is None:
        return child.describe("your backprop") or "the grader could not read the result"
    if not res.get("ok"):
        if "error" in res:
            e = res.get("error") or {}
            if e.get("memory"):
                return "your backprop ran out of memory"
            return f"your backprop raised {format_exception(e)}"
        return str(res.get("detail") or "unusable result")
    if res.get("modified"):
        return (f"your backprop changed its argument(s) {', '.join(res['modified'][:4])}; it "
                "must only compute the gradients")
    return None


def _backprop_report(backprop, points, seed, archs, n_cases, timeout, memory_mb, title,
                     visible: bool) -> float:
    points = check_points_seed(points, seed)
    report = Report(title)

    def score() -> float:
        per_arch = [_make_cases(sizes, N, n_cases, seed, k)
                    for k, (sizes, N) in enumerate(archs)]
        flat = [c for cases in per_arch for c in cases]
        child = run_in_child(child_backprop, backprop, flat, _guarded(), timeout=timeout,
                             memory_mb=memory_mb, stream=True)
        results = list(child.messages)
        calls = sorted(calls_of(results))
        if calls:
            text = _DELEGATION.format(what="backprop", names=", ".join(calls[:3]))
            return fail(report, points, "backprop", text, children=[child])
        n_items, n_good = 0, 0
        summaries: list[str] = []
        position, stopped = 0, False
        shown: list = []
        for (sizes, N), cases in zip(archs, per_arch):
            label = f"{list(sizes)}, N = {N}"
            problems, student = [], []
            for _case in cases:
                res = results[position] if position < len(results) else None
                position += 1
                if res is not None and not isinstance(res, dict):
                    res = {}
                if res is None and stopped:
                    why = "not run: your code stopped on an earlier network"
                else:
                    why = _case_problem(res, child)
                    stopped = stopped or res is None
                if why is not None:
                    if why not in problems:
                        problems.append(why)
                else:
                    student.append(res["grads"])
            weight = 2 if visible else 1  # visible: shapes and values
            n_items += 4 * weight
            if problems:
                report.bad(label, f"{'; '.join(problems)} (no credit for its 4 gradients)")
                continue
            rows, summary = diagnose(cases, student)
            good = sum(r.correct for r in rows)
            shapes = sum(r.shape_ok for r in rows)
            n_good += good + (shapes if visible else 0)
            if summary and summary not in summaries:
                summaries.append(summary)
            if good == 4:
                report.good(label, "all 4 gradients correct")
                continue
            messages = [(r.correct, r.message) for r in rows]
            if messages == shown:
                report.bad(label, f"{good} of 4 gradients correct, the same mistakes as above")
                continue
            shown = messages
            report.bad(label, f"{good} of 4 gradients correct")
            for r in rows:
                (report.good if r.correct else report.bad)(r.name, r.message, indent=1)
        if len(summaries) == 1:
            report.note(f"diagnosis: {summaries[0]}")
        report.note(printed([child]))
        return report.finish(share(points, n_good, n_items), points)

    return _graded(report, points, backprop, "backprop", score)


def check_backprop(backprop, points: float = 1.0, *, seed: int = 0, timeout: float = 10.0,
                   memory_mb: float = 512.0) -> float:
    """Visible test: ``backprop`` on one ``[4, 5, 3]`` network and a batch of 5: half of
    ``points`` for the shapes of the four gradients, half for their values (against
    :func:`reference_backprop`, with a diagnosis). Returns a plain float."""
    return _backprop_report(backprop, points, seed, (((4, 5, 3), 5),), 1, timeout, memory_mb,
                            "check_backprop: a [4, 5, 3] network, a batch of N = 5 rows",
                            visible=True)


def grade_backprop(backprop, points: float = 4.0, *, seed: int = 1, timeout: float = 10.0,
                   memory_mb: float = 512.0) -> float:
    """Hidden test: the four gradients of each network of :data:`BACKPROP_ARCHITECTURES` (two
    seeded cases each) against :func:`reference_backprop`; each gradient of each network is
    worth ``points / 16`` when its relative error is at most ``1e-7`` on both cases. Wrong
    gradients are explained with the mutations of
    :data:`~nnscratch.grading.softmax_mutations.CATALOGUE` (the target not subtracted, σ′ on
    the softmax output, the 1/N missing, ...). Returns a plain float in ``[0, points]``."""
    n = sum(4 for _ in BACKPROP_ARCHITECTURES)
    return _backprop_report(
        backprop, points, seed, BACKPROP_ARCHITECTURES, CASES_PER_NETWORK, timeout, memory_mb,
        f"grade_backprop: {n} gradients of {len(BACKPROP_ARCHITECTURES)} networks, "
        f"{CASES_PER_NETWORK} batches each", visible=False)


# --------------------------------------------------------------------------------------------
# Ising
# --------------------------------------------------------------------------------------------

_ISING: dict = {}


def ising_data() -> tuple[np.ndarray, np.ndarray, int]:
    """The configurations of :data:`ISING_DATA`: ``X`` ``(n, L*L)`` of ±1, labels ``y``
    (temperature index) and ``L``; generated once per process without the disk cache, with
    numba's warnings and output kept off the notebook."""
    if "data" not in _ISING:
        import io

        sink = io.StringIO()
        with (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink),
              warnings.catch_warnings()):
            warnings.simplefilter("ignore")
            from ..ising import make_dataset

            d = make_dataset(use_cache=False, labels="temperature", **ISING_DATA)
        _ISING["data"] = (np.array(d.X, dtype=np.float64), np.array(d.y, dtype=np.int64),
                          int(d.L))
    return _ISING["data"]


def child_train_ising(fn, X, T, params, epochs: int, eta: float, batch_size: int, seed: int,
                      L: int, guarded: frozenset[str]) -> dict:
    """In the child: mini-batch SGD on ``(X, T)`` with the student's ``backprop`` for the
    gradients. Each epoch every configuration is flipped (s → −s) with probability ½ and all
    are shifted by one random lattice translation (symmetries of the Ising model: the same
    temperature). Returns the trained ``params``, ``calls``, ``seconds`` or ``why`` it stopped."""
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 65537]))
    W1, b1, W2, b2 = (p.copy() for p in params)
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    calls: list[str] = []
    n = X.shape[0]
    t0 = time.perf_counter()
    for epoch in range(epochs):
        S = X.reshape(n, L, L) * rng.choice(np.array([-1.0, 1.0]), size=(n, 1, 1))
        S = np.roll(S, (int(rng.integers(L)), int(rng.integers(L))), axis=(1, 2))
        Xa = S.reshape(n, L * L)
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            j = order[start:start + batch_size]
            out = _call_watched(fn, guarded, calls, Xa[j].copy(), T[j].copy(), W1.copy(),
                                b1.copy(), W2.copy(), b2.copy())
            if calls:
                return {"calls": calls}
            if not isinstance(out, (tuple, list)) or len(out) != 4:
                return {"why": f"in epoch {epoch + 1} backprop did not return the tuple "
                               "(dW1, db1, dW2, db2)", "calls": calls}
            grads = []
            for name, v, shape in zip(GRADIENT_NAMES, out, shapes):
                a, why = _as_array(v, 10 * max(W1.size, 1000))
                if a is None or a.shape != shape:
                    got = why or f"shape {a.shape}"
                    return {"why": f"in epoch {epoch + 1} {name} was unusable ({got}, expected "
                                   f"shape {shape})", "calls": calls}
                grads.append(a)
            W1 = W1 - eta * grads[0]
            b1 = b1 - eta * grads[1]
            W2 = W2 - eta * grads[2]
            b2 = b2 - eta * grads[3]
    return {"params": [W1, b1, W2, b2], "calls": calls, "seconds": time.perf_counter() - t0}


def check_ising(
    backprop,
    points: float = 2.0,
    *,
    threshold: float = 0.6,
    epochs: int = 40,
    eta: float = 0.1,
    batch_size: int = 10,
    n_train: int = 600,
    seed: int = 0,
    timeout: float = 60.0,
    memory_mb: float = 1024.0,
) -> float:
    """Hidden test: the student's ``backprop`` trains a ``[256, 16, 3]`` network to tell the
    temperature of Ising configurations.

    The data are :data:`ISING_DATA` (300 configurations of 16 x 16 spins at each of T = 1.5,
    2.3, 3.0); ``n_train`` of them (seeded choice) train the network with plain mini-batch SGD
    (:func:`child_train_ising`, seeded N(0, 1/n_in) weights and zero biases), the others test
    it. Full ``points`` iff the test accuracy is at least ``threshold`` (chance: 1/3).

    With the reference ``backprop`` and the defaults, over seeds 0-29, the test accuracy was
    0.73-0.90 (mean 0.80), in a fraction of a second of training; a backprop that forgets to
    subtract the target stays at chance (at most 0.50), one with σ′(Z2) in the output error
    reaches 0.40-0.74. Physics features (|m| and the energy) reach about 0.96 on the same data,
    so a small network on raw spins is far from
    perfect. Returns a plain float.
    """
    points = float(check_number(points, "points"))
    threshold = check_threshold(threshold)
    epochs = int(check_number(epochs, "epochs", integer=True))
    batch_size = int(check_number(batch_size, "batch_size", integer=True))
    n_train = int(check_number(n_train, "n_train", integer=True))
    eta = float(check_number(eta, "eta"))
    check_number(seed, "seed", integer=True, inclusive=True)
    report = Report(
        f"check_ising: a {list(ISING_SIZES)} network trained with your backprop on {n_train} "
        f"Ising configurations (T = 1.5, 2.3, 3.0), {epochs} epochs, η = {eta:g}")

    def score() -> float:
        X, y, L = ising_data()
        if not n_train < X.shape[0]:
            raise ValueError(f"n_train must be below {X.shape[0]}, got {n_train}")
        rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 7001]))
        order = rng.permutation(X.shape[0])
        i_train, i_test = order[:n_train], order[n_train:]
        n_in, n_h, n_out = ISING_SIZES
        params = [rng.normal(0.0, 1.0, (n_in, n_h)) / np.sqrt(n_in), np.zeros(n_h),
                  rng.normal(0.0, 1.0, (n_h, n_out)) / np.sqrt(n_h), np.zeros(n_out)]
        T = np.eye(n_out)[y[i_train]]
        child = run_in_child(child_train_ising, backprop, X[i_train], T, params, epochs, eta,
                             batch_size, int(seed), L, _guarded(), timeout=timeout,
                             memory_mb=memory_mb)
        if not child.ok:
            text = child.describe("training with your backprop")
            return fail(report, points, "training", text, children=[child])
        value, calls = training_value(child)
        if calls:
            text = _DELEGATION.format(what="backprop", names=", ".join(calls[:3]))
            return fail(report, points, "training", text)
        trained = value.get("params")
        if trained is None:
            text = str(value.get("why") or "no parameters came back")
            return fail(report, points, "training", text, children=[child])
        if not all(all_finite(p) for p in trained):
            text = "after training the weights contain NaN or inf"
            return fail(report, points, "training", text)
        with np.errstate(all="ignore"):
            A2 = _forward(X[i_test], *trained)[3]
        hits = np.add.reduce((A2.argmax(axis=1) == y[i_test]).astype(np.int64))
        acc = float(hits) / float(len(i_test))
        text = (f"test accuracy {acc:.3f} on {len(i_test)} configurations after "
                f"{float(value.get('seconds') or child.elapsed):.1f} s of training (needed: "
                f"{threshold:g}; chance: 0.333)")
        hint = "; check backprop with grade_backprop's feedback"
        return training_verdict(report, points, acc >= threshold, text, hint, child)

    return _graded(report, points, backprop, "backprop", score)
