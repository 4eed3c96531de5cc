"""End-to-end submissions of ps3-moons for the generic nbgrader workflow test.

Each variant edits the release notebook: the solution cell ``backprop`` as a student who solved
it would write it (the source's solution, markers removed), with one planted mistake, or with
hostile code; the manually graded cells (``c-plot``, ``c-answer``) are solved too, except for
hostile code (``c-plot`` trains with the student's backprop in the kernel itself). Scores are
those of the autograded test cells.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from . import submissions as subs

ASSIGNMENT = "ps3-moons"
TESTS: tuple[str, ...] = ("test-check", "test-backprop", "test-training")
POINTS: dict[str, float] = {"test-check": 1.0, "test-backprop": 6.0, "test-training": 2.0}
FULL = dict(POINTS)
ZERO = dict.fromkeys(TESTS, 0.0)
ANY_TRAINING = (0.0, 2.0)

#: lines of the source's solution that the buggy variants change
DY = "dY = np.where(Y * T < 0, -T, 0.0) / N"
DELTA = "delta = np.outer(dY, V) * (Z > 0)"
DW = "DW = np.array([X1 @ delta, X2 @ delta])"


def _solved(ctx: subs.Context, backprop: str | None = None, manual: bool = True) -> subs.Notebook:
    """The release with ``backprop`` solved (or replaced), and the manual cells solved when
    ``manual``."""
    manual_cells = ("c-plot", "c-answer") if manual else ()
    return subs.solved_cells(ctx, {"backprop": backprop}, manual_cells)


def _bug(old: str, new: str) -> Callable[[subs.Context], subs.Notebook]:
    return subs.bug_in(_solved, "backprop", old, new)


def _in_backprop(code: str) -> Callable[[subs.Context], subs.Notebook]:
    """A notebook whose backprop runs ``code`` first (manual cells left unsolved)."""
    return subs.code_in(_solved, "backprop", "    N = len(T)\n", code, before=True)


def _monkeypatch(ctx: subs.Context) -> subs.Notebook:
    """All-zero gradients, with numpy's comparison functions replaced to say "equal"."""
    zero = textwrap.dedent("""
        def backprop(X1, X2, T):
            return np.zeros_like(W), np.zeros_like(B), np.zeros_like(V)


        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        np.linalg.norm = lambda *args, **kwargs: 0.0
    """)
    return _solved(ctx, backprop=zero, manual=False)


VARIANTS: tuple[subs.Variant, ...] = (
    subs.Variant("solution", _solved, FULL,
                 {"test-backprop": ("DW, DB, DV correct",),
                  "test-training": ("training accuracy 1.00",)},
                 never={t: ("⚠", "✗") for t in TESTS}, kind="reference"),
    subs.Variant("untouched", subs.untouched, ZERO,
                 {t: ("NotImplementedError",) for t in TESTS},
                 cause="NotImplementedError", kind="reference"),
    subs.Variant(
        "bug-no-mean", _bug(DY, "dY = np.where(Y * T < 0, -T, 0.0)"),
        {"test-check": 0.5, "test-backprop": 1.2, "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the 1/N of the average over the data set is missing",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-relu-ties", _bug("(Z > 0)", "(Z >= 0)"),
        {"test-check": 0.67, "test-backprop": 5.2, "test-training": 2.0},
        {"test-backprop": ("diagnosis: the ReLU derivative is taken as 1 at z = 0",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-all-points", _bug(DY, "dY = -T / N"),
        {"test-check": (0.5, 0.84), "test-backprop": (0.0, 2.5), "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the correctly classified points are included",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-sign", _bug(DY, "dY = np.where(Y * T < 0, T, 0.0) / N"),
        {"test-check": (0.5, 0.67), "test-backprop": (0.0, 0.4), "test-training": 0.0},
        {"test-backprop": ("diagnosis: the sign of ∂C/∂y is flipped",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-x-swapped", _bug(DW, "DW = np.array([X2 @ delta, X1 @ delta])"),
        {"test-check": (0.67, 0.84), "test-backprop": (3.5, 4.5),
         "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: X1 and X2 are swapped in DW",)},
        cause="diagnosis:"),
    subs.Variant(
        "hostile-loop", _in_backprop("while True:\n    pass"), ZERO,
        {t: ("did not finish within",) for t in TESTS},
        cause="did not finish", kind="hostile"),
    subs.Variant(
        "hostile-os-exit", _in_backprop("import os\nos._exit(0)"), ZERO,
        {t: ("ended the process",) for t in TESTS},
        cause="ended the process", kind="hostile"),
    subs.Variant(
        "hostile-monkeypatch", _monkeypatch,
        {"test-check": 0.5, "test-backprop": 0.0, "test-training": 0.0},
        {"test-backprop": ("replaced numpy.allclose", "is all zeros"),
         "test-training": ("did not change at all",)},
        cause="replaced", kind="hostile"),
)
