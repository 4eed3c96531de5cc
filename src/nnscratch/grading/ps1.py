r"""Grading of ps1-backprop: ``backprop(self, x, y)`` in Nielsen's ``Network``.

The notebook imports this module in a locked cell before any student code, then its test cells
call

* :func:`check_shapes` (visible test): a tiny network ``[3, 4, 2]``, shapes and values;
* :func:`grade_backprop` (hidden test): every gradient of five seeded networks (``[3, 4, 2]``,
  ``[5, 4, 3, 2]``, ``[4, 4, 4, 4]``, ``[6, 5, 4, 3, 2]``, ``[784, 30, 10]``, two examples each)
  against the float64 reference, partial credit per gradient, and a diagnosis of each wrong
  one (eqs. ``bp1``-``bp4``);
* :func:`check_training` (hidden test): trains ``[784, 30, 10]`` with the student's own ``SGD``
  on a seeded MNIST subset; full points iff the test accuracy reaches a threshold.

Each prints a short report to stdout and returns a plain ``float`` in ``[0, points]``; none raises
because of the student's code. The student's code always runs in a forked child
(:func:`nnscratch.grading._child.run_in_child`). The square network ``[4, 4, 4, 4]`` is there so
that mistakes which crash on other shapes (``W^l`` for ``W^{l+1}`` in eq. ``bp2``) still give
gradients that can be diagnosed.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
from collections.abc import Callable, Sequence

from ..data import load_mnist
from ._child import ChildResult, format_exception, run_in_child
from ._common import (
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
    unchanged,
)
from ._pristine import BUILTINS, np
from .compare import TOL, all_finite, relative_error, share
from .mutations import NetworkData, diagnose
from .nielsen import (
    NIELSEN,
    Case,
    accuracy,
    add_mutants,
    child_backprop_cases,
    child_train,
    guarded_files,
    make_cases,
    reference_backprop,
)
from .report import Report

__all__ = [
    "ARCHITECTURES",
    "TRAINING_SIZES",
    "check_shapes",
    "check_training",
    "grade_backprop",
    "reference_backprop",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: The test networks of :func:`grade_backprop`, smallest first.
ARCHITECTURES: tuple[tuple[int, ...], ...] = (
    (3, 4, 2),
    (5, 4, 3, 2),
    (4, 4, 4, 4),
    (6, 5, 4, 3, 2),
    (784, 30, 10),
)
#: Examples (each on its own seeded network) per architecture.
EXAMPLES_PER_NETWORK = 2
#: The network :func:`check_training` trains.
TRAINING_SIZES = (784, 30, 10)

_DELEGATION = (
    "your backprop calls nnscratch's own implementation ({names}); the exercise is to write "
    "backprop yourself, so this earns no credit"
)


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _network_problem(Network, methods: Sequence[str]) -> tuple[str, str] | None:
    if not isinstance(Network, type):
        return "Network", (
            f"expected the class Network, got {type(Network).__name__}; pass the class itself"
        )
    for method in methods:
        if not callable(getattr(Network, method, None)):
            return "Network", f"the class Network has no method {method}"
    return None


def _graded(
    report: Report,
    points: float,
    Network,
    score: Callable[[], float],
    methods: Sequence[str] = ("backprop",),
) -> float:
    """``score()`` under :func:`~._common.graded`, once ``Network`` is a class with
    ``methods`` (no credit otherwise). ``score`` reports on the student's code and returns
    ``report.finish(...)``."""
    return graded(report, points, score, lambda: _network_problem(Network, methods))


def _case_problem(case: Case, res: dict) -> tuple[str | None, tuple | None]:
    """Why a child's result for ``case`` is unusable (``None`` if usable), and the usable
    ``(nabla_b, nabla_w)``."""
    L = len(case.sizes) - 1
    sizes = list(case.sizes)
    if not isinstance(res, dict):
        return "the grader could not read the result", None
    if not res.get("ok"):
        stage = res.get("stage")
        if stage == "init":
            return f"Network({sizes}) failed: {format_exception(res.get('error') or {})}", None
        if stage == "backprop":
            e = res.get("error") or {}
            if e.get("memory"):
                return "your backprop ran out of memory", None
            return f"your backprop raised {format_exception(e)}", None
        return str(res.get("detail", "unusable result")), None
    nb, nw = res.get("nabla_b"), res.get("nabla_w")
    if not (isinstance(nb, list) and isinstance(nw, list)):
        return "the grader could not read the result", None
    shapes_b = [b.shape for b in case.biases]
    shapes_w = [w.shape for w in case.weights]
    got_b = [a.shape for a in nb]
    got_w = [a.shape for a in nw]
    if got_b == shapes_w and got_w == shapes_b:
        ref_b, ref_w = case.mutants["reference"]
        n_right = sum(relative_error(a, r) <= TOL for a, r in zip(nw, ref_b)) + sum(
            relative_error(a, r) <= TOL for a, r in zip(nb, ref_w)
        )
        return (
            "backprop returned (nabla_w, nabla_b), swapped: it must return (nabla_b, nabla_w) "
            f"in that order (with the order fixed {n_right} of {2 * L} gradients would be "
            "right)",
            None,
        )
    if len(nb) != L or len(nw) != L:
        return (
            f"backprop returned {len(nb)} bias gradient(s) and {len(nw)} weight gradient(s); "
            f"this network has {L} layers, so nabla_b and nabla_w need {L} arrays each (shapes "
            f"{', '.join(str(s) for s in shapes_b)} and {', '.join(str(s) for s in shapes_w)})",
            None,
        )
    modified = res.get("modified") or []
    if modified:
        return (
            f"your backprop changed the network's {', '.join(modified[:4])} during the call; "
            "backprop must only compute gradients, not update the network",
            None,
        )
    return None, (nb, nw)


def _run_networks(
    Network,
    archs: Sequence[tuple[int, ...]],
    n_examples: int,
    seeds: Sequence[int],
    timeout: float,
    memory_mb: float,
) -> tuple[list[tuple[list[NetworkData], list[list[str]]]], ChildResult, list[str]]:
    """Run the student's backprop on ``n_examples`` seeded cases of each architecture, for each
    seed, all in one child (results are streamed, so a timeout or crash keeps what came
    before).

    Returns
    -------
    runs
        Per seed: per architecture the data for :func:`diagnose`, and the problems that cost
        the whole network its credit; and the ``complete`` callback for :func:`diagnose`.
    child
        The child's result.
    calls
        The guarded (nnscratch) functions the student's code called.
    """
    per_seed = [
        [make_cases(sizes, n_examples, seed, salt=k) for k, sizes in enumerate(archs)]
        for seed in seeds
    ]
    per_group, child, calls = run_cases(
        child_backprop_cases,
        Network,
        [cases for per_arch in per_seed for cases in per_arch],
        _case_problem,
        guarded_files(),
        timeout,
        memory_mb,
    )
    runs = []
    for k, per_arch in enumerate(per_seed):
        outcome = per_group[k * len(archs) : (k + 1) * len(archs)]
        nets = [
            NetworkData(tuple(sizes), student, [c.mutants for c in cases])
            for sizes, cases, (_, student) in zip(archs, per_arch, outcome)
        ]
        problems = [probs for probs, _ in outcome]
        runs.append((nets, problems, functools.partial(_add_all_mutants, per_arch)))
    return runs, child, calls


def _add_all_mutants(per_arch: Sequence[Sequence[Case]]) -> None:
    """The mutations are only needed to explain wrong gradients: computed on demand."""
    for cases in per_arch:
        for case in cases:
            add_mutants(case)


# --------------------------------------------------------------------------------------------
# The visible test
# --------------------------------------------------------------------------------------------


def check_shapes(
    Network, points: float = 1.0, *, seed: int = 0, timeout: float = 10.0, memory_mb: float = 512.0
) -> float:
    """Visible test: ``Network([3, 4, 2]).backprop(x, y)`` returns gradients of the right shapes
    and values.

    Half of ``points`` is split over the 4 gradients for their shapes, half for their values
    (compared with :func:`reference_backprop` on one seeded example, with a diagnosis of wrong
    values).

    Parameters
    ----------
    Network
        The student's class (Nielsen's interface).
    points
        Maximum score: half for the shapes, half for the values.
    seed
        Seed of the test network and example.
    timeout, memory_mb
        Limits of the child process that runs the student's code.

    Returns
    -------
    float
        The score, a plain Python float in ``[0, points]``.
    """
    points = check_points_seed(points, seed)
    sizes = (3, 4, 2)
    report = Report(f"check_shapes: Network({list(sizes)}).backprop(x, y), x of shape (3, 1)")

    def score() -> float:
        runs, child, calls = _run_networks(Network, [sizes], 1, [seed], timeout, memory_mb)
        (nets, problems, complete), children = runs[0], [child]
        if calls:
            return fail(report, points, "backprop", _DELEGATION.format(names=", ".join(calls[:3])))
        if problems[0]:
            return fail(report, points, "backprop", *problems[0], children=children)
        results, summary = diagnose(nets, NIELSEN, complete)
        n_right = report_shapes(
            report, ((r.item.label(), reference_of(nets[0], r).shape, r) for r in results[0])
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed(children))
        n = len(results[0])
        return report.finish(share(points, n_right, 2 * n), points)

    return _graded(report, points, Network, score)


# --------------------------------------------------------------------------------------------
# The hidden tests
# --------------------------------------------------------------------------------------------


def grade_backprop(
    Network, points: float = 6.0, *, seed: int = 0, timeout: float = 10.0, memory_mb: float = 512.0
) -> float:
    """Hidden test: every gradient of :data:`ARCHITECTURES` against the reference.

    Each ``nabla_b[l]`` and ``nabla_w[l]`` of each architecture is one item worth
    ``points / n_items``; it counts as correct if its relative error is at most ``1e-7`` on every
    example of that architecture. A network whose call fails (exception, wrong structure,
    modified parameters) gets no credit; a call into nnscratch's own backprop gets no credit at
    all. Wrong gradients are explained by comparing them with known mutations of the reference
    (:mod:`nnscratch.grading.mutations`).

    Parameters
    ----------
    Network
        The student's class (Nielsen's interface).
    points
        Maximum score, split evenly over the gradients.
    seed
        Seed of the test networks and examples.
    timeout
        Seconds allowed for all networks together (the student's code runs in one child;
        gradients of the networks finished before a timeout or crash still count).
    memory_mb
        Memory the student's code may add in the child.

    Returns
    -------
    float
        The score, a plain Python float: ``points`` times the fraction of correct gradients,
        rounded to 2 decimals.
    """
    points = check_points_seed(points, seed)
    n_items = sum(2 * (len(s) - 1) for s in ARCHITECTURES)
    report = Report(
        f"grade_backprop: {n_items} gradients of {len(ARCHITECTURES)} networks, "
        f"{EXAMPLES_PER_NETWORK} examples each"
    )

    def score() -> float:
        runs, child, calls = _run_networks(
            Network, ARCHITECTURES, EXAMPLES_PER_NETWORK, [seed], timeout, memory_mb
        )
        (nets, problems, complete), children = runs[0], [child]
        if calls:
            text = _DELEGATION.format(names=", ".join(calls[:3]))
            return fail(report, points, "backprop", text, children=children)
        results, summary = diagnose(nets, NIELSEN, complete)
        n_correct = sum(
            report_gradients(report, str(list(net.sizes)), rows, probs, grouped)
            for net, rows, probs in zip(nets, results, problems)
        )
        if summary:
            report.note(f"diagnosis: {summary}")
        report.note(printed(children))
        return report.finish(share(points, n_correct, n_items), points)

    return _graded(report, points, Network, score)


_MNIST: dict = {}


def _mnist():
    """The MNIST arrays, loaded once per process without any download or output."""
    if "data" not in _MNIST:
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            _MNIST["data"] = load_mnist(download=False, progress=False)
    return _MNIST["data"]


def _training_init(seed: int) -> tuple[list, list]:
    rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 7919]))
    sizes = TRAINING_SIZES
    W = [
        rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        for n_in, n_out in itertools.pairwise(sizes)
    ]
    b = [rng.standard_normal((n_out, 1)) for n_out in sizes[1:]]
    return W, b


def check_training(
    Network,
    points: float = 2.0,
    *,
    n_train: int = 3000,
    n_test: int = 1000,
    epochs: int = 2,
    threshold: float = 0.8,
    timeout: float = 60.0,
    mini_batch_size: int = 10,
    eta: float = 3.0,
    seed: int = 0,
    memory_mb: float = 1024.0,
) -> float:
    """Hidden test: the student's class learns MNIST with its own ``SGD``.

    Trains ``Network([784, 30, 10])`` (seeded initial weights) with
    ``SGD(training_data, epochs, mini_batch_size, eta)`` on ``n_train`` seeded MNIST training
    images in the child, then the parent computes the accuracy of the returned weights on
    ``n_test`` seeded test images. Full ``points`` iff the accuracy is at least ``threshold``.

    The defaults take about a second, and a correct backprop always passes them: over seeds
    0-199 (offline MNIST configuration) the reference reached 0.850-0.921, mean 0.887 (see the
    project's grading tests). Some wrong backprops also learn; :func:`grade_backprop` is the
    test of correctness, this one of a working training loop.

    Parameters
    ----------
    Network
        The student's class (Nielsen's interface, with its own ``SGD``).
    points
        Maximum score.
    n_train, n_test
        Training images (from MNIST's training set) and test images (from its test set).
    epochs, mini_batch_size, eta
        Passed to ``SGD``.
    threshold
        Test accuracy needed for the points.
    timeout, memory_mb
        Limits of the child process that trains.
    seed
        Seed of the images chosen, the initial weights (:math:`N(0, 1/n_{in})` weights,
        :math:`N(0, 1)` biases) and of ``random``/``np.random`` in the child (SGD's shuffling).

    Returns
    -------
    float
        ``points`` or ``0.0``, a plain Python float.
    """
    points = float(check_number(points, "points"))
    n_train = int(check_number(n_train, "n_train", integer=True))
    n_test = int(check_number(n_test, "n_test", integer=True))
    epochs = int(check_number(epochs, "epochs", integer=True))
    mini_batch_size = int(check_number(mini_batch_size, "mini_batch_size", integer=True))
    threshold = check_threshold(threshold)
    eta = float(check_number(eta, "eta"))
    check_number(seed, "seed", integer=True, inclusive=True)
    report = Report(
        f"check_training: Network({list(TRAINING_SIZES)}).SGD on {n_train} MNIST images, "
        f"{epochs} epoch(s), mini-batch {mini_batch_size}, η = {eta:g}"
    )

    def score() -> float:
        data = _mnist()
        if n_train > data.X_train.shape[0] or n_test > data.X_test.shape[0]:
            raise ValueError(
                f"n_train/n_test must be at most {data.X_train.shape[0]}/"
                f"{data.X_test.shape[0]} ({data.config}), got {n_train}/{n_test}"
            )
        rng = np.random.Generator(np.random.PCG64([int(seed) & 0xFFFFFFFF, 104729]))
        i_train = rng.permutation(data.X_train.shape[0])[:n_train]
        i_test = rng.permutation(data.X_test.shape[0])[:n_test]
        X, labels = data.X_train[i_train], data.y_train[i_train]
        W0, b0 = _training_init(seed)
        child = run_in_child(
            child_train,
            Network,
            TRAINING_SIZES,
            W0,
            b0,
            X,
            labels,
            epochs,
            mini_batch_size,
            eta,
            int(seed),
            guarded_files(),
            timeout=timeout,
            memory_mb=memory_mb,
        )
        if not child.ok:
            return fail(report, points, "training", child.describe("your network's SGD"),
                        children=[child])
        value, calls = training_value(child)
        if calls:
            text = _DELEGATION.format(names=", ".join(calls[:3]))
            return fail(report, points, "training", text, children=[child])
        Ws, bs = value.get("weights"), value.get("biases")
        if Ws is None or bs is None:
            why = value.get("why") or "no parameters"
            return fail(report, points, "training", f"after SGD, {why}")
        shapes_ok = [w.shape for w in Ws] == [w.shape for w in W0] and [b.shape for b in bs] == [
            b.shape for b in b0
        ]
        if not shapes_ok:
            return fail(
                report,
                points,
                "training",
                "after SGD the weights/biases have shapes "
                f"{[w.shape for w in Ws]}/{[b.shape for b in bs]}, expected "
                f"{[w.shape for w in W0]}/{[b.shape for b in b0]}",
            )
        if not all(all_finite(a) for a in [*Ws, *bs]):
            return fail(report, points, "training", "after SGD the weights contain NaN or inf")
        acc = accuracy(Ws, bs, data.X_test[i_test], data.y_test[i_test])
        seconds = float(value.get("seconds") or child.elapsed)
        text = (
            f"test accuracy {acc:.3f} on {n_test} images after {seconds:.1f} s of "
            f"training (needed: {threshold:g})"
        )
        if unchanged([*Ws, *bs], [*W0, *b0]):
            hint = "; SGD did not change the weights at all"
        else:
            hint = "; check backprop with grade_backprop's feedback"
        return training_verdict(report, points, acc >= threshold, text, hint, child)

    return _graded(report, points, Network, score, methods=("backprop", "SGD"))
