"""Student submissions for the ps1-backprop workflow test, built by editing the release notebook.

Each :class:`Variant` edits a copy of the released notebook (the body of ``backprop`` in the class
cell, code around the class, whole cells) and says what grading must give: the score of each
autograded test cell, and text that must (or must not) appear in a cell's output.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STUB = "        # YOUR CODE HERE\n        raise NotImplementedError()"
TESTS = ("test-shapes", "test-backprop", "test-training")
POINTS = {"test-shapes": 1.0, "test-backprop": 6.0, "test-training": 2.0}
FULL = dict(POINTS)
ZERO = dict.fromkeys(TESTS, 0.0)

Notebook = dict
Score = float | tuple[float, float]  # exact, or an inclusive range


def load(path: Path) -> Notebook:
    return json.loads(path.read_text())


def cell(nb: Notebook, grade_id: str) -> dict:
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return c
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def source(c: dict) -> str:
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


def solution_body(source_nb: Notebook) -> str:
    """The instructor's body of ``backprop`` (indented 8 spaces), from the source notebook."""
    text = source(cell(source_nb, "network"))
    begin = text.index("### BEGIN SOLUTION\n") + len("### BEGIN SOLUTION\n")
    end = text.index("        ### END SOLUTION")
    return text[begin:end].rstrip("\n")


def solution_of(source_nb: Notebook, grade_id: str) -> str:
    """The source cell ``grade_id`` as a student who solved it would write it: the code between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` kept, the marker lines removed (any
    assignment; the release has ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` there)."""
    lines = source(cell(source_nb, grade_id)).splitlines(keepends=True)
    kept = [ln for ln in lines if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    if len(kept) == len(lines):
        raise AssertionError(f"cell {grade_id!r} of the source has no solution markers")
    return "".join(kept)


def with_cell(release: Notebook, grade_id: str, text: str) -> Notebook:
    """A copy of the release with the source of cell ``grade_id`` replaced by ``text``."""
    nb = copy.deepcopy(release)
    cell(nb, grade_id)["source"] = text
    return nb


def with_body(release: Notebook, body: str) -> Notebook:
    """The release with ``body`` (8-space indented code) in place of the backprop stub."""
    nb = copy.deepcopy(release)
    c = cell(nb, "network")
    text = source(c)
    if STUB not in text:
        raise AssertionError("the release's class cell has no backprop stub:\n" + text)
    c["source"] = text.replace(STUB, body.rstrip("\n"))
    return nb


def mutate(body: str, old: str, new: str, count: int = 1) -> str:
    """``body`` with ``old`` replaced by ``new``; fails loudly when the solution changed."""
    if body.count(old) < count:
        raise AssertionError(f"{old!r} not found {count} time(s) in the solution body:\n{body}")
    return body.replace(old, new)


def append_to_class_cell(nb: Notebook, code: str) -> Notebook:
    """Top-level code after the class (runs in the kernel when the class cell runs)."""
    c = cell(nb, "network")
    c["source"] = source(c).rstrip("\n") + "\n\n\n" + textwrap.dedent(code).strip("\n") + "\n"
    return nb


def delete_cells(nb: Notebook, grade_ids: tuple[str, ...]) -> Notebook:
    nb["cells"] = [c for c in nb["cells"]
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def set_source(nb: Notebook, grade_id: str, text: str) -> Notebook:
    cell(nb, grade_id)["source"] = text
    return nb


@dataclass
class Context:
    release: Notebook
    body: str  # the solution's backprop body (ps1)
    course: Path  # the course root (absolute) -- for the snooping submission
    exchange: Path
    source: Notebook | None = None  # the instructor's source notebook (any assignment)


@dataclass
class Variant:
    """One submission: how to build it and what grading must give.

    ``scores``: grade_id -> exact score or (low, high). ``says``: grade_id -> substrings that the
    cell's outputs in the autograded notebook must contain (the feedback shows the same text).
    ``cause``: the line of the report that names the cause (for the report table).
    """

    student: str
    build: Callable[[Context], Notebook]
    scores: dict[str, Score]
    says: dict[str, tuple[str, ...]] = field(default_factory=dict)
    never: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cause: str = ""
    kind: str = "bug"


def _body(transform: Callable[[str], str]) -> Callable[[Context], Notebook]:
    return lambda ctx: with_body(ctx.release, transform(ctx.body))


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


def _untouched(ctx: Context) -> Notebook:
    return copy.deepcopy(ctx.release)


def _solution(ctx: Context) -> Notebook:
    return with_body(ctx.release, ctx.body)


def _in_backprop(code: str) -> Callable[[Context], Notebook]:
    """A submission whose backprop runs ``code`` first (8-space indented), then the solution."""
    return lambda ctx: with_body(
        ctx.release, textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 8) + "\n" + ctx.body)


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
    nb = _untouched(ctx)
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
    c, nb = ctx.course, "ps1-backprop/ps1-backprop.ipynb"
    return {
        "source notebook": str(c / "source" / nb),
        "gradebook": str(c / "gradebook.db"),
        "graded notebook": str(c / "autograded" / student / nb),
        "graded notebook (cwd)": "ps1-backprop.ipynb",
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
    Variant("untouched", _untouched, ZERO, NOT_IMPLEMENTED, cause="NotImplementedError",
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

ALL: tuple[Variant, ...] = SPECIAL + BUGS + HOSTILE


def in_range(score: float | None, want: Score) -> bool:
    if score is None:
        return False
    if isinstance(want, tuple):
        return want[0] - 1e-9 <= score <= want[1] + 1e-9
    return abs(score - want) < 1e-9
