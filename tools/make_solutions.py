"""Generate the book's worked solutions, ``solutions/``, from the nbgrader sources.

    python tools/make_solutions.py            # (re)write solutions/
    python tools/make_solutions.py --check    # exit 1 with a summary when solutions/ is out of date

Only the problem sets listed in :data:`PUBLISHED` get a solution page (publish a solution after
its deadline: add it there, run the command, add the page to the ``Solutions`` part of
``_toc.yml``). Each page is ``exercises/source/<a>/<a>.ipynb`` with

* the solutions kept, the ``### BEGIN/END SOLUTION`` marker lines removed;
* the hidden tests removed with their markers (what the release shows instead stays: the visible
  tests run the grader on the solution, and their reports are on the page);
* every cell's nbgrader metadata and every output removed;
* the book's conventions added: the hidden Colab install cell first, a first visible cell that
  prints the version of nnscratch and the data, a note on what the page is, model answers in a
  box, a caption under each figure the solution draws.

``solutions/index.md`` is generated too. Never edit ``solutions/`` by hand: ``tests/
test_solutions.py`` fails when it differs from what this command writes.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "exercises" / "source"
OUT = REPO / "solutions"


@dataclass(frozen=True)
class Published:
    """How a published solution page says what ran, and the captions of its figures."""

    #: Python expression (``nn`` is nnscratch) that describes the data the notebook uses
    data: str
    #: grade_id of a cell that draws a figure -> the caption under it (after "**Figure.**")
    captions: dict[str, str] = field(default_factory=dict)


#: THE list of problem sets whose worked solution is on the site. Everything else in
#: ``exercises/source`` stays secret (tests/test_solutions.py checks the built site for leaks).
PUBLISHED: dict[str, Published] = {
    "ps1-backprop": Published(
        data="nn.data.load_mnist().describe()",
        captions={"a-plot": "The first eight MNIST training images, each with its label."},
    ),
    "ps3-moons": Published(
        data='"two moons, 100 points, generated (seed 0)"',
        captions={"c-plot": "The network's output over the plane after 0, 1, 5, 20, 50 and 300 "
                            "steps of gradient descent (η = 0.3), with the training points; the "
                            "black line is the decision boundary, where the output is 0."},
    ),
}

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

COLAB_CELL = (
    "# Colab or a fresh environment: install nnscratch when it is missing (nothing happens "
    "otherwise).\n"
    "import importlib.util\n"
    "\n"
    'if importlib.util.find_spec("nnscratch") is None:\n'
    '    %pip install --quiet "nnscratch[book] @ git+https://github.com/nnscratch/nnscratch"'
)

NOTE = """\
:::{{note}}
This is the **worked solution** of the problem set `{assignment}`: the assignment as students get
it, with the code and the answers they write filled in (answers to the questions in the boxes
*Model answer*). The test cells are the visible ones; they run the course's grader on this
solution, and their reports below show what a student sees for a correct answer. The hidden
tests that decide most of the points are not shown. How to get the assignment and how it is
graded: {{doc}}`/book/assignments/index`.
:::"""

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def source_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def as_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def strip_markers(text: str) -> str:
    """``text`` without hidden-test regions (markers included) and without solution markers.

    Raises ValueError on an unbalanced marker: a half-removed hidden test must never reach the
    site.
    """
    out: list[str] = []
    hidden = False
    for line in as_lines(text):
        tag = line.strip()
        if tag == BEGIN_HIDDEN:
            if hidden:
                raise ValueError(f"nested {BEGIN_HIDDEN!r}")
            hidden = True
        elif tag == END_HIDDEN:
            if not hidden:
                raise ValueError(f"{END_HIDDEN!r} without {BEGIN_HIDDEN!r}")
            hidden = False
        elif hidden or tag in (BEGIN_SOLUTION, END_SOLUTION):
            continue
        else:
            out.append(line)
    if hidden:
        raise ValueError(f"{BEGIN_HIDDEN!r} without {END_HIDDEN!r}")
    return "".join(out).rstrip("\n")


def _cell(cell_type: str, cell_id: str, text: str, tags: tuple[str, ...] = ()) -> dict:
    cell: dict = {"cell_type": cell_type, "id": cell_id, "metadata": {}, "source": as_lines(text)}
    if tags:
        cell["metadata"]["tags"] = list(tags)
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _retitle(text: str) -> str:
    lines = as_lines(text)
    for i, line in enumerate(lines):
        if line.startswith("# "):
            lines[i] = line.rstrip("\n") + " (solution)" + ("\n" if line.endswith("\n") else "")
            return "".join(lines)
    raise ValueError("the first markdown cell of the assignment has no '# title' line")


def title_of(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in source_text(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("the notebook has no '# title' line")


def solution_notebook(source_nb: dict, assignment: str, page: Published) -> dict:
    """The solution page of one assignment (a new notebook; ``source_nb`` is not changed)."""
    cells: list[dict] = [_cell("code", "colab-install", COLAB_CELL, ("remove-cell",))]
    inserted_preamble = False
    for original in source_nb["cells"]:
        cell = copy.deepcopy(original)
        meta = cell.get("metadata", {})
        grading = meta.pop("nbgrader", {})
        meta.pop("execution", None)  # timestamps of a run
        cell["metadata"] = meta
        cell.pop("attachments", None)
        text = strip_markers(source_text(cell))
        grade_id = grading.get("grade_id", "")
        if cell["cell_type"] == "markdown" and grading.get("solution"):
            text = ":::{admonition} Model answer\n:class: tip\n" + text + "\n:::"
        if not inserted_preamble:
            if cell["cell_type"] != "markdown":
                raise ValueError(f"{assignment}: the first cell must be the markdown title")
            text = _retitle(text)
        cell["source"] = as_lines(text)
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        cells.append(cell)
        if not inserted_preamble:
            cells.append(_cell("markdown", "solution-note", NOTE.format(assignment=assignment)))
            cells.append(_cell("code", "what-ran", (
                "# What ran: the version of nnscratch and the data of this problem set.\n"
                "import nnscratch as nn\n\n"
                f"data_config = {page.data}\n"
                'print(f"nnscratch {nn.__version__}; data: {data_config}")')))
            inserted_preamble = True
        if grade_id in page.captions:
            cells.append(_cell("markdown", f"{grade_id}-caption",
                               f"**Figure.** {page.captions[grade_id]}"))
    unknown = set(page.captions) - {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                                    for c in source_nb["cells"]}
    if unknown:
        raise ValueError(f"{assignment}: captions for cells that do not exist: {sorted(unknown)}")
    return {
        "cells": cells,
        "metadata": {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def dumps(nb: dict) -> str:
    """JSON as Jupyter writes it (stable, so that ``--check`` compares text)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def index_page(titles: dict[str, str]) -> str:
    rows = "\n".join(f"| `{a}` | {{doc}}`{t} <{a}>` |" for a, t in titles.items())
    return f"""\
# Solutions

Worked solutions of the problem sets whose deadline has passed. Each page is the assignment as
students get it with the code and the answers filled in, executed when the site is built: the
visible test cells run the course's grader on the solution and show its report. The hidden
tests are not part of these pages, nor are the solutions of the other problem sets.

| problem set | worked solution |
|---|---|
{rows}

The pages are generated from the instructors' notebooks in `exercises/source` by
`python tools/make_solutions.py` (never edited by hand); {{doc}}`/book/assignments/index` says how
to get the assignments themselves.
"""


def render(source_dir: Path = SOURCE,
           published: dict[str, Published] | None = None) -> dict[str, str]:
    """``file name in solutions/ -> text`` for every published problem set, and the index."""
    published = PUBLISHED if published is None else published
    files: dict[str, str] = {}
    titles: dict[str, str] = {}
    for assignment, page in published.items():
        path = source_dir / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"published problem set {assignment!r} has no source {path}")
        nb = solution_notebook(json.loads(path.read_text(encoding="utf-8")), assignment, page)
        files[f"{assignment}.ipynb"] = dumps(nb)
        titles[assignment] = title_of(nb)
    files["index.md"] = index_page(titles)
    return files


def differences(out: Path, files: dict[str, str]) -> list[str]:
    """What differs between ``out`` and ``files`` (empty: in sync), one summary line per file."""
    problems = []
    for name, text in files.items():
        path = out / name
        if not path.is_file():
            problems.append(f"missing: {path.relative_to(out.parent)}")
            continue
        old = path.read_text(encoding="utf-8")
        if old != text:
            diff = list(difflib.unified_diff(old.splitlines(), text.splitlines(), lineterm="",
                                             n=0))
            changed = [ln for ln in diff if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
            sample = "; ".join(ln[:90] for ln in changed[:3])
            problems.append(f"out of date: {path.relative_to(out.parent)} ({len(changed)} "
                            f"changed lines, e.g. {sample})")
    if out.is_dir():
        for path in sorted(out.iterdir()):
            if path.is_file() and path.name not in files:
                problems.append(f"not generated (stale or unpublished): "
                                f"{path.relative_to(out.parent)}")
    return problems


def write(out: Path, files: dict[str, str]) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    changed = differences(out, files)
    for path in out.iterdir():
        if path.is_file() and path.name not in files:
            path.unlink()
    for name, text in files.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when solutions/ is out of date")
    parser.add_argument("--source", type=Path, default=SOURCE, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=OUT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = render(args.source)
    if args.check:
        problems = differences(args.out, files)
        for line in problems:
            print(line)
        if problems:
            print("solutions/ is out of date: run  python tools/make_solutions.py", file=sys.stderr)
            return 1
        print(f"solutions/ is up to date ({len(files) - 1} published: {', '.join(PUBLISHED)})")
        return 0
    changed = write(args.out, files)
    print("\n".join(changed) if changed else "solutions/ was already up to date")
    print(f"published: {', '.join(PUBLISHED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
