"""End-to-end submissions of ps4-softmax-ising for the generic nbgrader workflow test.

Each variant edits the release notebook: the solution cells ``log-softmax`` and ``backprop`` as a
student who solved them would write them (the source's solution, markers removed), with one
planted mistake, or with hostile code. Scores are those of the autograded test cells.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from . import submissions as subs

ASSIGNMENT = "ps4-softmax-ising"
TESTS: tuple[str, ...] = ("test-log-softmax-visible", "test-log-softmax",
                          "test-backprop-visible", "test-backprop", "test-ising")
POINTS: dict[str, float] = {"test-log-softmax-visible": 1.0, "test-log-softmax": 3.0,
                            "test-backprop-visible": 1.0, "test-backprop": 4.0,
                            "test-ising": 2.0}
FULL = dict(POINTS)
ZERO = dict.fromkeys(TESTS, 0.0)
ANY_ISING = (0.0, 2.0)
LOG_SOFTMAX_OK = {"test-log-softmax-visible": 1.0, "test-log-softmax": 3.0}
BACKPROP_OK = {"test-backprop-visible": 1.0, "test-backprop": 4.0, "test-ising": 2.0}

#: lines of the source's solutions that the buggy variants change
LSE = "return (z - m) - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))"
D2 = "D2 = (A2 - T) / N"


def _solved(ctx: subs.Context, log_softmax: str | None = None, backprop: str | None = None,
            manual: bool = True) -> subs.Notebook:
    """The release with the solution cells solved (``log-softmax``/``backprop`` optionally
    replaced; the manually graded cells only with ``manual``, since ``d-train`` trains with the
    student's backprop in the kernel itself)."""
    manual_cells = ("a-derivation", "d-train", "e-answer") if manual else ()
    return subs.solved_cells(ctx, {"log-softmax": log_softmax, "backprop": backprop},
                             manual_cells)


def _bug_log_softmax(old: str, new: str) -> Callable[[subs.Context], subs.Notebook]:
    return subs.bug_in(_solved, "log-softmax", old, new)


def _bug_backprop(old: str, new: str) -> Callable[[subs.Context], subs.Notebook]:
    return subs.bug_in(_solved, "backprop", old, new)


def _first_in(gid: str, head: str, code: str) -> Callable[[subs.Context], subs.Notebook]:
    """A solved notebook (manual cells left out) whose function in cell ``gid`` runs ``code``
    first; ``head`` is the function's ``def`` line."""
    return subs.code_in(_solved, gid, head, code)


def _monkeypatch(ctx: subs.Context) -> subs.Notebook:
    """A log_softmax that returns zeros, with numpy's comparison functions replaced to say
    "equal"."""
    zero = textwrap.dedent("""
        def log_softmax(z):
            return np.zeros_like(np.asarray(z, dtype=float))


        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        np.testing.assert_allclose = lambda *args, **kwargs: None
    """)
    return _solved(ctx, log_softmax=zero, manual=False)


VARIANTS: tuple[subs.Variant, ...] = (
    subs.Variant("solution", _solved, FULL,
                 {"test-backprop": ("all 4 gradients correct",),
                  "test-log-softmax": ("no warnings: none on any input",),
                  "test-ising": ("test accuracy",),
                  "d-train": ("test accuracy", "confusion matrix")},
                 never={**{t: ("⚠", "✗") for t in TESTS}, "setup": ("[error]",),
                        "d-data": ("[error]",), "d-look": ("[error]",),
                        "d-train": ("[error]",)},
                 kind="reference"),
    subs.Variant("untouched", subs.untouched, ZERO,
                 {t: ("NotImplementedError",) for t in TESTS},
                 cause="NotImplementedError", kind="reference"),
    subs.Variant(
        "bug-naive-log-softmax",
        _bug_log_softmax(LSE, "return np.log(np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True))"),
        {"test-log-softmax-visible": 1.0, "test-log-softmax": 1.5, **BACKPROP_OK},
        {"test-log-softmax": ("exp(z) overflows", "RuntimeWarning")},
        never={"test-log-softmax": ("[stderr]",)},
        cause="overflows"),
    subs.Variant(
        "bug-divide-by-logsumexp",
        _bug_log_softmax(LSE, "return z / (m + np.log(np.exp(z - m).sum(axis=-1, "
                              "keepdims=True)))"),
        {"test-log-softmax-visible": 0.0, "test-log-softmax": 0.75, **BACKPROP_OK},
        {"test-log-softmax": ("divides by logsumexp(z) instead of subtracting it",)},
        cause="divides by logsumexp"),
    subs.Variant(
        "bug-target-not-subtracted", _bug_backprop(D2, "D2 = A2 / N"),
        {**LOG_SOFTMAX_OK, "test-backprop-visible": 0.5, "test-backprop": 0.0,
         "test-ising": 0.0},
        {"test-backprop": ("diagnosis: the target t is not subtracted",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-sigma-prime-output",
        _bug_backprop(D2, "D2 = (A2 - T) / N * sigmoid_prime(A1 @ W2 + b2)"),
        {**LOG_SOFTMAX_OK, "test-backprop-visible": 0.5, "test-backprop": 0.0,
         "test-ising": ANY_ISING},
        {"test-backprop": ("diagnosis: the output error has a factor σ′(Z2)",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-no-mean", _bug_backprop(D2, "D2 = A2 - T"),
        {**LOG_SOFTMAX_OK, "test-backprop-visible": 0.5, "test-backprop": 0.0,
         "test-ising": ANY_ISING},
        {"test-backprop": ("diagnosis: the 1/N of the average cost is missing",)},
        cause="diagnosis:"),
    subs.Variant(
        "hostile-loop", _first_in("log-softmax", "def log_softmax(z):\n", "while True:\n    pass"),
        {"test-log-softmax-visible": 0.0, "test-log-softmax": 0.0, **BACKPROP_OK},
        {t: ("did not finish within",) for t in ("test-log-softmax-visible",
                                                 "test-log-softmax")},
        cause="did not finish", kind="hostile"),
    subs.Variant(
        "hostile-os-exit",
        _first_in("backprop", "def backprop(X, T, W1, b1, W2, b2):\n", "import os\nos._exit(0)"),
        {**LOG_SOFTMAX_OK, "test-backprop-visible": 0.0, "test-backprop": 0.0,
         "test-ising": 0.0},
        {t: ("ended the process",) for t in ("test-backprop-visible", "test-backprop",
                                              "test-ising")},
        cause="ended the process", kind="hostile"),
    subs.Variant(
        "hostile-monkeypatch", _monkeypatch,
        {"test-log-softmax-visible": 0.0, "test-log-softmax": 1.12, **BACKPROP_OK},
        {"test-log-softmax": ("replaced numpy.allclose",)},
        cause="replaced", kind="hostile"),
)
