"""ps1-backprop end to end: the submissions that tests/test_nbgrader_workflow.py autogrades.

Students write the body of ``Network.backprop`` inside the class cell (grade id ``network``); the
variants edit that body (a correct one, planted bugs, hostile code) in a copy of the release.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable

from . import submissions as subs
from .submissions import (
    Context,
    Notebook,
    Variant,
    append_to_cell,
    delete_cells,
    mutate,
    set_source,
)

ASSIGNMENT = "ps1-backprop"
TESTS = ("test-shapes", "test-backprop", "test-training")
POINTS = {"test-shapes": 1.0, "test-backprop": 6.0, "test-training": 2.0}
FULL = dict(POINTS)
ZERO = dict.fromkeys(TESTS, 0.0)
CLASS_CELL = "network"
STUB = "        # YOUR CODE HERE\n        raise NotImplementedError()"


def solution_body(source_nb: Notebook) -> str:
    """The instructor's body of ``backprop`` (indented 8 spaces), from the source notebook."""
    return subs.solution_region(source_nb, CLASS_CELL)


def with_body(release: Notebook, body: str) -> Notebook:
    """The release with ``body`` (8-space indented code) in place of the backprop stub."""
    nb = copy.deepcopy(release)
    c = subs.cell(nb, CLASS_CELL)
    text = subs.source(c)
    if STUB not in text:
        raise AssertionError("the release's class cell has no backprop stub:\n" + text)
    c["source"] = text.replace(STUB, body.rstrip("\n"))
    return nb


def append_to_class_cell(nb: Notebook, code: str) -> Notebook:
    """Top-level code after the class (runs in the kernel when the class cell runs)."""
    return append_to_cell(nb, CLASS_CELL, code)


def _body(transform: Callable[[str], str]) -> Callable[[Context], Notebook]:
    return lambda ctx: with_body(ctx.release, transform(solution_body(ctx.source)))


BP1 = "delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])"
BP2 = "delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])"
BP4_OUT = "nabla_w[-1] = delta @ activations[-2].T"
BP4_HID = "nabla_w[-l] = delta @ activations[-l - 1].T"

# Training with a wrong backprop may or may not still reach the bar: either is accepted.
ANY_TRAINING = (0.0, 2.0)
#: the report line that names the cause
DIAGNOSIS = "diagnosis:"

BUGS: tuple[Variant, ...] = (
    Variant(
        "bug-sign", _body(lambda b: mutate(b, BP1, BP1.replace(
            "self.cost_derivative(activations[-1], y)", "(y - activations[-1])"))),
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-training": 0.0},
        {"test-backprop": ("diagnosis: the sign of the output error is flipped",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-no-sigma-prime-bp2", _body(lambda b: mutate(
            b, BP2, "delta = self.weights[-l + 1].T @ delta")),
        {"test-shapes": 0.75, "test-backprop": (0.5, 5.0), "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the activation derivative σ′(z^l) is missing in the "
                           "recursion (BP2)", "layer 2: correct")},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-sigma-prime-of-a", _body(lambda b: mutate(mutate(
            b, "sigmoid_prime(zs[-1])", "sigmoid_prime(activations[-1])"),
            "sigmoid_prime(zs[-l])", "sigmoid_prime(activations[-l])")),
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: σ′ is applied to activations a instead of weighted "
                           "inputs z",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-transposed-w", _body(lambda b: mutate(mutate(
            b, BP4_OUT, "nabla_w[-1] = activations[-2] @ delta.T"),
            BP4_HID, "nabla_w[-l] = activations[-l - 1] @ delta.T")),
        {"test-shapes": 0.5, "test-backprop": (1.0, 4.0), "test-training": 0.0},
        {"test-backprop": ("diagnosis: the outer product of BP4 is transposed",),
         "test-shapes": ("is transposed",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-factor-2", _body(lambda b: mutate(
            b, "self.cost_derivative(activations[-1], y)",
            "2 * self.cost_derivative(activations[-1], y)")),
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-training": ANY_TRAINING},
        {"test-backprop": ("is twice the correct value", "diagnosis: every gradient is 2 times")},
        never={"test-backprop": ("sign",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-no-sigma-prime-bp1", _body(lambda b: mutate(
            b, BP1, "delta = self.cost_derivative(activations[-1], y)")),
        {"test-shapes": 0.5, "test-backprop": 0.0, "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the activation derivative σ′(z^L) is missing in δ^L "
                           "(BP1)",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-hidden-zero", _body(lambda b: b[: b.index("        # hidden layers")]
                                 + "        return nabla_b, nabla_w"),
        {"test-shapes": 0.75, "test-backprop": (0.5, 5.0), "test-training": ANY_TRAINING},
        {"test-backprop": ("diagnosis: the gradients of the hidden layers are left at zero",)},
        cause=DIAGNOSIS,
    ),
    Variant(
        "bug-wrong-weights", _body(lambda b: mutate(
            b, "self.weights[-l + 1].T @ delta", "self.weights[-l].T @ delta")),
        {"test-shapes": 0.0, "test-backprop": (0.1, 5.0), "test-training": 0.0},
        {"test-backprop": ("this layer's weights W^l instead of the next layer's",
                           "your backprop raised ValueError")},
        cause="W^l instead of",
    ),
)


def _solution(ctx: Context) -> Notebook:
    return with_body(ctx.release, solution_body(ctx.source))


def _in_backprop(code: str) -> Callable[[Context], Notebook]:
    """A submission whose backprop runs ``code`` first (8-space indented), then the solution."""
    prefix = textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8) + "\n"
    return lambda ctx: with_body(ctx.release, prefix + solution_body(ctx.source))


def _kill_kernel(ctx: Context) -> Notebook:
    """A correct answer, then the kernel process ends itself at class level."""
    return append_to_class_cell(_solution(ctx), "import os\nos._exit(1)")


def _monkeypatch(ctx: Context) -> Notebook:
    """All-zero gradients, with numpy's comparison functions replaced to say "equal"."""
    nb = with_body(ctx.release, "        return ([np.zeros(b.shape) for b in self.biases],\n"
                                "                [np.zeros(w.shape) for w in self.weights])")
    return append_to_class_cell(nb, """
        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda *args, **kwargs: True
        np.testing.assert_allclose = lambda *args, **kwargs: None
        np.linalg.norm = lambda *args, **kwargs: 0.0
    """)


def _stderr_and_deleted_tests(ctx: Context) -> Notebook:
    """A correct answer that writes to stderr (in backprop and at class level) and whose test
    cells were deleted: nbgrader restores them, and stderr inside the graders costs nothing."""
    nb = _in_backprop("""
        import sys, warnings
        print("debug: backprop called", file=sys.stderr)
        warnings.warn("a student's warning")
    """)(ctx)
    nb = append_to_class_cell(nb, """
        import sys
        print("the class is defined", file=sys.stderr)
    """)
    return delete_cells(nb, TESTS)


def _tamper(ctx: Context) -> Notebook:
    """No answer, but the test cells edited to return full points and the name ``ps1`` rebound
    to a fake grader: nbgrader restores the test cells, which import the real grader."""
    nb = subs.untouched(ctx)
    for gid in TESTS:
        set_source(nb, gid, f"{POINTS[gid]}  # full marks, I promise")
    return append_to_class_cell(nb, """
        class ps1:
            check_shapes = grade_backprop = check_training = staticmethod(
                lambda *args, **kwargs: 9.0)
    """)


SNOOP_MARK = "SNOOP"
SNOOPER = "hostile-snoop"


def snoop_targets(ctx: Context, student: str) -> dict[str, str]:
    """What the snooping submission tries to read: label -> absolute path."""
    c, nb = ctx.course, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    return {
        "source notebook": str(c / "source" / nb),
        "gradebook": str(c / "gradebook.db"),
        "graded notebook": str(c / "autograded" / student / nb),
        "graded notebook (cwd)": f"{ASSIGNMENT}.ipynb",
        "other submission": str(c / "submitted" / "solution" / nb),
        "course config": str(c / "nbgrader_config.py"),
        "course root": str(c),
        "exchange": str(ctx.exchange),
    }


def _snoop(student: str) -> Callable[[Context], Notebook]:
    """A correct answer whose class cell tries to read the secrets and prints what it got."""

    def build(ctx: Context) -> Notebook:
        targets = snoop_targets(ctx, student)
        code = f"""
            import os
            for _label, _path in {targets!r}.items():
                try:
                    if os.path.isdir(_path):
                        _got = "listing " + repr(sorted(os.listdir(_path)))
                    else:
                        with open(_path, "rb") as _fh:
                            _got = "read %d bytes: %r" % (len(_fh.read()), _path)
                    print("{SNOOP_MARK} OPEN", _label, _got)
                except OSError as _exc:
                    print("{SNOOP_MARK} DENIED", _label, type(_exc).__name__)
            print("{SNOOP_MARK} ENV", sorted(k for k in os.environ if "SECRET" in k))
            print("{SNOOP_MARK} CWD", os.getcwd(), sorted(os.listdir(".")))
            print("{SNOOP_MARK} UID", os.getuid())
        """
        return append_to_class_cell(_solution(ctx), code)

    return build


NOT_IMPLEMENTED = {t: ("raised NotImplementedError",) for t in TESTS}

SPECIAL: tuple[Variant, ...] = (
    Variant("solution", _solution, FULL, {"test-backprop": ("all 4 gradients correct",)},
            never={t: ("⚠",) for t in TESTS}, kind="reference"),
    Variant("untouched", subs.untouched, ZERO, NOT_IMPLEMENTED, cause="NotImplementedError",
            kind="reference"),
)

HOSTILE: tuple[Variant, ...] = (
    Variant("hostile-loop", _in_backprop("while True:\n    pass"), ZERO,
            {t: ("did not finish within",) for t in TESTS}, cause="did not finish",
            kind="hostile"),
    Variant("hostile-os-exit", _in_backprop("import os\nos._exit(0)"), ZERO,
            {t: ("ended the process",) for t in TESTS}, cause="ended the process",
            kind="hostile"),
    Variant("hostile-sys-exit", _in_backprop("import sys\nsys.exit(0)"), ZERO,
            {t: ("called sys.exit()",) for t in TESTS}, cause="sys.exit", kind="hostile"),
    Variant("hostile-memory", _in_backprop(
        "blocks = []\nwhile True:\n    blocks.append(np.ones(2**24))"), ZERO,
        {t: ("MB of memory",) for t in TESTS}, cause="MB of memory", kind="hostile"),
    Variant("hostile-kill-kernel", _kill_kernel, ZERO,
            {"network": ("DeadKernelError",), **{t: ("not run",) for t in TESTS}},
            cause="not run", kind="hostile"),
    Variant("hostile-monkeypatch", _monkeypatch,
            {"test-shapes": 0.5, "test-backprop": 0.0, "test-training": 0.0},
            {"test-backprop": ("replaced numpy.allclose", "is all zeros")},
            cause="replaced", kind="hostile"),
    Variant("hostile-stderr-deleted-tests", _stderr_and_deleted_tests, FULL,
            {"network": ("[stderr] the class is defined",),
             "test-backprop": ("to stderr (not shown)",)},
            never={t: ("[stderr]",) for t in TESTS}, kind="hostile"),
    Variant("hostile-tamper", _tamper, ZERO, NOT_IMPLEMENTED, cause="NotImplementedError",
            kind="hostile"),
    Variant(SNOOPER, _snoop(SNOOPER), FULL, kind="hostile"),
)

VARIANTS: tuple[Variant, ...] = SPECIAL + BUGS + HOSTILE


