"""Student submissions for the nbgrader workflow test, built by editing a release notebook.

Generic part, shared by the assignments' modules (``ps1.py``, ``ps2.py``, ...; interface in
``__init__.py``). A :class:`Variant` edits a copy of the released notebook (a solution cell, code
around it, whole cells) and says what grading must give: the score of each autograded test cell,
and text that must (or must not) appear in a cell's output. :class:`Context` holds what a
variant is built from.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
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


def solution_of(source_nb: Notebook, grade_id: str) -> str:
    """The source cell ``grade_id`` as a student who solved it would write it: the code between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` kept, the marker lines removed (any
    assignment; the release has ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` there)."""
    lines = source(cell(source_nb, grade_id)).splitlines(keepends=True)
    kept = [ln for ln in lines if ln.strip() not in (BEGIN, END)]
    if len(kept) == len(lines):
        raise AssertionError(f"cell {grade_id!r} of the source has no solution markers")
    return "".join(kept)


def solution_region(source_nb: Notebook, grade_id: str) -> str:
    """Only the code between the solution markers of cell ``grade_id`` (indentation kept)."""
    text = source(cell(source_nb, grade_id))
    begin = text.index(BEGIN)
    begin = text.index("\n", begin) + 1
    end = text.rindex("\n", 0, text.index(END)) + 1
    return text[begin:end].rstrip("\n")


def solved(release: Notebook, source_nb: Notebook) -> Notebook:
    """The release with every solution cell (code and answers) replaced by the source's solution:
    what a student who solved everything submits."""
    nb = copy.deepcopy(release)
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            c["source"] = solution_of(source_nb, meta["grade_id"])
    return nb


def with_cell(release: Notebook, grade_id: str, text: str) -> Notebook:
    """A copy of the release with the source of cell ``grade_id`` replaced by ``text``."""
    nb = copy.deepcopy(release)
    cell(nb, grade_id)["source"] = text
    return nb


def mutate(body: str, old: str, new: str, count: int = 1) -> str:
    """``body`` with ``old`` replaced by ``new``; fails loudly when the solution changed."""
    if body.count(old) < count:
        raise AssertionError(f"{old!r} not found {count} time(s) in the solution:\n{body}")
    return body.replace(old, new)


def append_to_cell(nb: Notebook, grade_id: str, code: str) -> Notebook:
    """``nb`` with top-level ``code`` appended to cell ``grade_id`` (runs when that cell runs)."""
    c = cell(nb, grade_id)
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
    """What the variants of one assignment are built from."""

    release: Notebook  # the release notebook (what students get)
    source: Notebook  # the instructor's source notebook (solutions, hidden tests)
    course: Path  # the course root (absolute) -- for submissions that snoop
    exchange: Path
    assignment: str = ""


@dataclass
class Variant:
    """One submission: how to build it and what grading must give.

    ``scores``: grade_id -> exact score or (low, high). ``says``: grade_id -> substrings that the
    cell's outputs in the autograded notebook must contain (the feedback shows the same text).
    ``never``: grade_id -> substrings that must not appear there. ``cause``: the line of the
    report that names the cause (for the report table). ``kind``: "reference" (the solution,
    the untouched release), "bug" (must lose points) or "hostile".
    """

    student: str
    build: Callable[[Context], Notebook]
    scores: dict[str, Score]
    says: dict[str, tuple[str, ...]] = field(default_factory=dict)
    never: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cause: str = ""
    kind: str = "bug"


def untouched(ctx: Context) -> Notebook:
    """The release as it is: what a student who did nothing submits."""
    return copy.deepcopy(ctx.release)


def solved_cells(ctx: Context, cells: dict[str, str | None],
                 manual: tuple[str, ...] = ()) -> Notebook:
    """A copy of the release with each cell of ``cells`` set to its text (the source's solution
    where the text is None or empty), and each cell of ``manual`` solved."""
    nb = copy.deepcopy(ctx.release)
    for gid, text in cells.items():
        set_source(nb, gid, text or solution_of(ctx.source, gid))
    for gid in manual:
        set_source(nb, gid, solution_of(ctx.source, gid))
    return nb


def bug_in(build: Callable[..., Notebook], grade_id: str, old: str,
           new: str) -> Callable[[Context], Notebook]:
    """A variant: ``build(ctx, <grade_id>=...)`` (``-`` in the id read as ``_``) with the source's
    solution of cell ``grade_id``, ``old`` replaced by ``new``."""
    return lambda ctx: build(ctx, **{grade_id.replace("-", "_"): mutate(
        solution_of(ctx.source, grade_id), old, new)})


def code_in(build: Callable[..., Notebook], grade_id: str, head: str, code: str,
            before: bool = False) -> Callable[[Context], Notebook]:
    """A variant: ``build(ctx, <grade_id>=..., manual=False)`` with the source's solution of cell
    ``grade_id`` running ``code`` (indented by 4) right after the line ``head`` (the function's
    ``def`` line), or right before it when ``before``."""

    def make(ctx: Context) -> Notebook:
        body = solution_of(ctx.source, grade_id)
        inner = textwrap.indent(textwrap.dedent(code).strip("\n"), " " * 4)
        new = inner + "\n" + head if before else head + inner + "\n"
        return build(ctx, **{grade_id.replace("-", "_"): mutate(body, head, new)}, manual=False)

    return make


def in_range(score: float | None, want: Score) -> bool:
    if score is None:
        return False
    if isinstance(want, tuple):
        return want[0] - 1e-9 <= score <= want[1] + 1e-9
    return abs(score - want) < 1e-9
