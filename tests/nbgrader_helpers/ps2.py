"""End-to-end submissions of ps2-batched-backprop for the generic nbgrader workflow test.

Each variant edits the release notebook: the solution cells ``backprop`` and ``gradcheck`` as a
student who solved them would write them (the source's solution, markers removed), with one
planted mistake, or with hostile code. Scores are those of the autograded test cells.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from . import submissions as subs

ASSIGNMENT = "ps2-batched-backprop"
TESTS: tuple[str, ...] = ("test-shapes", "test-backprop", "test-gradcheck", "test-checker",
                          "test-training")
POINTS: dict[str, float] = {"test-shapes": 1.0, "test-backprop": 6.0, "test-gradcheck": 3.0,
                            "test-checker": 2.0, "test-training": 2.0}
FULL = dict(POINTS)
ZERO = dict.fromkeys(TESTS, 0.0)
ANY_TRAINING = (0.0, 2.0)

#: lines of the source's solutions that the buggy variants change
BP1 = "delta = (As[-1] - Y) / N * ACTIVATIONS[activations[-1]][1](Zs[-1])"
BP3 = "dbs[i] = delta.sum(axis=0)  # BP3"
FD = "grad[idx] = (f_plus - f_minus) / (2 * eps)"


def _solved(ctx: subs.Context, backprop: str | None = None,
            gradcheck: str | None = None, manual: bool = True) -> subs.Notebook:
    """The release with the solution cells solved (``backprop``/``gradcheck`` optionally
    replaced; the manually graded cells only with ``manual``, since their training runs the
    student's backprop in the kernel itself)."""
    manual_cells = ("d-code", "d-answer") if manual else ()
    return subs.solved_cells(ctx, {"backprop": backprop, "gradcheck": gradcheck}, manual_cells)


def _bug_backprop(old: str, new: str) -> Callable[[subs.Context], subs.Notebook]:
    return subs.bug_in(_solved, "backprop", old, new)


def _in_backprop(code: str) -> Callable[[subs.Context], subs.Notebook]:
    """A solved notebook whose backprop runs ``code`` first."""
    return subs.code_in(_solved, "backprop", "def backprop(Ws, bs, activations, X, Y):\n", code)


def _monkeypatch(ctx: subs.Context) -> subs.Notebook:
    """All-zero gradients, with numpy's comparison functions and norm replaced (the graders
    report it and use the originals; the student's own checker still works in the child)."""
    zero = textwrap.dedent("""
        def backprop(Ws, bs, activations, X, Y):
            return [np.zeros_like(W) for W in Ws], [np.zeros_like(b) for b in bs]


        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        np.linalg.norm = lambda *args, **kwargs: 0.0
    """)
    return _solved(ctx, backprop=zero, manual=False)


VARIANTS: tuple[subs.Variant, ...] = (
    subs.Variant("solution", _solved, FULL,
                 {"test-backprop": ("all 8 gradients correct",),
                  "test-checker": ("accepted", "flagged")},
                 never={t: ("⚠", "✗") for t in TESTS}, kind="reference"),
    subs.Variant("untouched", subs.untouched, ZERO,
                 {t: ("NotImplementedError",) for t in TESTS},
                 cause="NotImplementedError", kind="reference"),
    subs.Variant(
        "bug-no-mean", _bug_backprop(BP1, BP1.replace("(As[-1] - Y) / N", "(As[-1] - Y)")),
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the 1/N of the average cost is missing",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-bias-wrong-axis", _bug_backprop(BP3, BP3.replace("axis=0", "axis=1")),
        {"test-shapes": 0.5, "test-backprop": 3.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": 0.0},
        {"test-backprop": ("diagnosis: ∂C/∂b is summed over the wrong axis",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-bias-unsummed", _bug_backprop(BP3, "dbs[i] = delta  # BP3"),
        {"test-shapes": 0.5, "test-backprop": 3.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": 0.0},
        {"test-backprop": ("diagnosis: ∂C/∂b is not summed over the batch (BP3)",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-wrong-activation",
        _bug_backprop("ACTIVATIONS[activations[i - 1]][1](Zs[i - 1])",
                      "ACTIVATIONS[activations[i]][1](Zs[i - 1])"),
        {"test-shapes": (0.5, 0.75), "test-backprop": (1.0, 5.0), "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": ANY_TRAINING},
        {"test-backprop": ("activation derivative of the wrong layer",)},
        cause="diagnosis:"),
    subs.Variant(
        "bug-forward-difference",
        lambda ctx: _solved(ctx, gradcheck=subs.mutate(subs.mutate(
            subs.solution_of(ctx.source, "gradcheck"),
            "x[idx] = old - eps\n        f_minus = f(x)", "x[idx] = old\n        f_minus = f(x)"),
            FD, FD.replace("(2 * eps)", "eps"))),
        {"test-shapes": 1.0, "test-backprop": 6.0, "test-gradcheck": 1.0,
         "test-checker": (0.0, 2.0), "test-training": 2.0},
        {"test-gradcheck": ("one-sided difference",),
         "test-checker": ("but this backprop is correct",)},
        cause="one-sided"),
    subs.Variant(
        "hostile-loop", _in_backprop("while True:\n    pass"),
        {"test-shapes": 0.0, "test-backprop": 0.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": 0.0},
        {t: ("did not finish within",) for t in ("test-shapes", "test-backprop")},
        cause="did not finish", kind="hostile"),
    subs.Variant(
        "hostile-os-exit", _in_backprop("import os\nos._exit(0)"),
        {"test-shapes": 0.0, "test-backprop": 0.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": 0.0},
        {t: ("ended the process",) for t in ("test-shapes", "test-backprop", "test-training")},
        cause="ended the process", kind="hostile"),
    subs.Variant(
        "hostile-monkeypatch", _monkeypatch,
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-gradcheck": 3.0,
         "test-checker": 2.0, "test-training": 0.0},
        {"test-backprop": ("replaced numpy.allclose", "is all zeros")},
        cause="replaced", kind="hostile"),
)
