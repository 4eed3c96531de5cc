"""The worked solutions on the site (``solutions/``, made by ``tools/make_solutions.py``) and the
leak check of the built site (``tools/site_leaks.py``).

``solutions/`` must be what the command writes from ``exercises/source`` (a test fails when
someone edits a source notebook or a solution page and forgets to regenerate); the Solutions
part of ``_toc.yml`` lists exactly the published problem sets; and the built site
(``_build/html``, every file: pages, ``_sources/``, ``_downloads/``, notebooks, search index,
scripts) contains no hidden test, no nbgrader marker or metadata, and no line of the solution of
an unpublished problem set. Without a built site that last test is skipped locally and fails
under CI (``CI=true``), like tests/test_site.py. The checker itself is tested on copies of pages
with planted leaks, so that a clean result means something.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from book_pages import REPO, toc

sys.path.insert(0, str(REPO / "tools"))
import make_solutions as ms
import site_leaks as sl

SITE = Path(os.environ.get("NNSCRATCH_SITE", REPO / "_build" / "html"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PS1 = ms.SOURCE / "ps1-backprop" / "ps1-backprop.ipynb"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _all_text(nb: dict) -> str:
    return "\n".join(ms.source_text(c) for c in nb["cells"])


# ---------------------------------------------------------------- solutions/ in sync
def test_solutions_are_in_sync_with_the_sources():
    problems = ms.differences(ms.OUT, ms.render())
    assert not problems, (
        "solutions/ differs from what `python tools/make_solutions.py` writes from "
        "exercises/source (run it):\n" + "\n".join(problems))


def test_check_command_reports_an_edited_or_stale_page(tmp_path, capsys):
    out = tmp_path / "solutions"
    assert ms.main(["--out", str(out)]) == 0
    assert ms.main(["--check", "--out", str(out)]) == 0
    page = out / "ps1-backprop.ipynb"
    page.write_text(page.read_text().replace("nabla_b[-1] = delta", "nabla_b[-1] = -delta"))
    (out / "ps9-old.ipynb").write_text("{}")
    capsys.readouterr()
    assert ms.main(["--check", "--out", str(out)]) == 1
    said = capsys.readouterr().out
    assert "out of date: solutions/ps1-backprop.ipynb" in said and "-delta" in said
    assert "not generated (stale or unpublished): solutions/ps9-old.ipynb" in said
    assert ms.main(["--out", str(out)]) == 0  # writing repairs both
    assert not (out / "ps9-old.ipynb").exists() and not ms.differences(out, ms.render())


def test_toc_solutions_part_lists_exactly_the_published_problem_sets():
    parts = {p["caption"]: p for p in toc()["parts"]}
    assert "Solutions" in parts, "_toc.yml has no Solutions part"
    files = [c["file"] for c in parts["Solutions"]["chapters"]]
    want = ["solutions/index"] + [f"solutions/{a}" for a in ms.PUBLISHED]
    assert files == want, f"the Solutions part of _toc.yml must list {want}, it lists {files}"
    captions = [p["caption"] for p in toc()["parts"]]
    assert captions.index("Exercises") + 1 == captions.index("Solutions")


def test_nothing_from_exercises_becomes_a_page():
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    assert "exercises" in config["exclude_patterns"] and config["only_build_toc_files"] is True

    def files(node) -> list[str]:
        if isinstance(node, dict):
            return [str(v) for k, v in node.items() if k in ("file", "root", "glob")] + [
                f for v in node.values() for f in files(v)]
        if isinstance(node, list):
            return [f for x in node for f in files(x)]
        return []

    bad = [f for f in files(toc()) if f.startswith(("exercises", "/exercises"))]
    assert not bad, f"_toc.yml must never list a file of exercises/: {bad}"


# ---------------------------------------------------------------- what the generator does
def _fake_source() -> dict:
    def cell(cell_type: str, gid: str, text: str, **grading) -> dict:
        meta = {"grade": False, "grade_id": gid, "locked": True, "schema_version": 3,
                "solution": False, "task": False, **grading}
        c = {"cell_type": cell_type, "id": gid, "metadata": {"nbgrader": meta},
             "source": text.splitlines(keepends=True)}
        if cell_type == "code":
            c.update(execution_count=7, outputs=[{"output_type": "stream", "name": "stdout",
                                                  "text": ["secret output\n"]}])
        return c

    return {"cells": [
        cell("markdown", "intro", "# Problem set 9 — tests\n\nIntro."),
        cell("code", "setup", "import numpy as np"),
        cell("code", "answer", "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                               "    ### END SOLUTION", solution=True, locked=False),
        cell("code", "test", "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(17) == 34  "
                             "# the hidden check\n### END HIDDEN TESTS\n1.0",
             grade=True, points=1),
        cell("markdown", "q", "### BEGIN SOLUTION\nBecause twice one is two.\n### END SOLUTION",
             solution=True, grade=True, points=1, locked=False),
        cell("code", "fig", "plt.plot([1, 2])", solution=True, grade=True, points=1),
    ], "metadata": {"kernelspec": {"name": "python3", "display_name": "Py"}}, "nbformat": 4,
        "nbformat_minor": 5}


def test_generator_keeps_solutions_and_drops_hidden_tests_markers_metadata_outputs():
    page = ms.Published(data='"nine numbers"', captions={"fig": "A line."})
    nb = ms.solution_notebook(_fake_source(), "ps9-tests", page)
    text = ms.dumps(nb)
    assert "return 2 * x" in text and "Because twice one is two." in text  # solutions kept
    assert "assert f(1) == 2" in text and "1.0" in text  # the visible test stays
    for gone in ("f(17)", "the hidden check", "BEGIN", "END SOLUTION", "nbgrader", "grade_id",
                 "secret output", '"execution_count": 7'):
        assert gone not in text, f"{gone!r} reached the solution page"
    cells = nb["cells"]
    assert cells[0]["metadata"]["tags"] == ["remove-cell"]
    assert 'find_spec("nnscratch") is None' in ms.source_text(cells[0])
    first_code = next(c for c in cells[1:] if c["cell_type"] == "code")
    assert "nn.__version__" in ms.source_text(first_code) and "nine numbers" in ms.source_text(
        first_code)
    assert ms.source_text(cells[1]).startswith("# Problem set 9 — tests (solution)")
    answer = next(c for c in cells if c.get("id") == "q")
    assert ms.source_text(answer).startswith(":::{admonition} Model answer")
    after_fig = cells[[c.get("id") for c in cells].index("fig") + 1]
    assert ms.source_text(after_fig) == "**Figure.** A line."
    assert all(c.get("outputs", []) == [] for c in cells)


@pytest.mark.parametrize("bad", [
    "### BEGIN HIDDEN TESTS\nsecret()",
    "secret()\n### END HIDDEN TESTS",
    "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\nx\n### END HIDDEN TESTS",
])
def test_generator_refuses_unbalanced_hidden_test_markers(bad):
    with pytest.raises(ValueError, match="HIDDEN TESTS"):
        ms.strip_markers(bad)


def test_solution_pages_hold_the_solution_and_no_secret():
    secrets = sl.collect()
    leaks = sl.scan(ms.OUT, secrets)
    assert not leaks, "\n".join(map(str, leaks))
    page = _load(ms.OUT / "ps1-backprop.ipynb")
    text = _all_text(page)
    body = "delta = (self.weights[-l + 1].T @ delta) * sigmoid_prime(zs[-l])"
    assert body in text, "ps1's solution is not on its page"
    assert "ps1.check_shapes(Network, points=1.0)" in text  # the visible test stays
    assert not any(c.get("outputs") for c in page["cells"])


# ---------------------------------------------------------------- the leak checker
def test_secrets_cover_every_hidden_test_and_unpublished_solution(tmp_path):
    secrets = sl.collect()
    assert any("ps1.grade_backprop(Network" in line for line in secrets.hidden), secrets.hidden
    sources = sorted(ms.SOURCE.glob("*/*.ipynb"))
    with_hidden = {p.parent.name for p in sources if ms.BEGIN_HIDDEN in p.read_text()}
    assert with_hidden <= set(secrets.hidden.values()), "a hidden test yields no line to match"
    for path in sources:
        if path.parent.name not in ms.PUBLISHED:
            n = sum(a == path.parent.name for a in secrets.solutions.values())
            assert n >= 5, f"only {n} distinctive solution lines of {path.parent.name}"
    # an unpublished copy of ps1: its solution becomes secret, its released text does not
    src = tmp_path / "source"
    (src / "ps9-secret").mkdir(parents=True)
    shutil.copy(PS1, src / "ps9-secret" / "ps9-secret.ipynb")
    secret = sl.collect(src, published={})
    lines = set(secret.solutions)
    assert "zs.append(z)" not in lines and "activation = sigmoid(z)" not in lines  # too short
    assert "delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])" in lines
    assert "nabla_b = [np.zeros(b.shape) for b in self.biases]" not in lines  # in the release
    assert len(lines) >= 10


def _planted_site(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of built pages (the real site when there is one, else nbconvert's HTML of the
    solution page) plus, for each kind of leak, one copy of a page with that leak planted."""
    import nbformat
    from nbconvert import HTMLExporter
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    site = tmp_path / "site"
    (site / "_sources" / "solutions").mkdir(parents=True)
    built = SITE / "solutions" / "ps1-backprop.html"
    if built.is_file():
        page = built.read_text(encoding="utf-8")
        shutil.copy(SITE / "_sources" / "solutions" / "ps1-backprop.ipynb",
                    site / "_sources" / "solutions")
    else:
        nb = nbformat.reads((ms.OUT / "ps1-backprop.ipynb").read_text(), as_version=4)
        page, _ = HTMLExporter().from_notebook_node(nb)
        shutil.copy(ms.OUT / "ps1-backprop.ipynb", site / "_sources" / "solutions")
    (site / "clean.html").write_text(page)
    source = _load(PS1)
    hidden_cell = next(c for c in source["cells"] if ms.BEGIN_HIDDEN in ms.source_text(c))
    hidden_line = next(ln for ln in ms.source_text(hidden_cell).splitlines()
                       if "grade_backprop" in ln)
    code = highlight(hidden_line, PythonLexer(), HtmlFormatter())
    planted = {
        # highlighted code: every token in its own <span>
        "hidden-in-html.html": ("hidden test", page.replace("</body>", code + "</body>")),
        # the download button's notebook with the source's own test cell (nbgrader metadata too)
        "source-cell.ipynb": ("hidden test", json.dumps({"cells": [hidden_cell]}, indent=1)),
        "marker.txt": ("marker", "x = 1\n### END SOLUTION\n"),
        "metadata.js": ("nbgrader metadata",
                        'var s = "{\\"nbgrader\\": {\\"grade\\": true}}";'),
    }
    for name, (_, text) in planted.items():
        (site / name).write_text(text)
    return site, {name: kind for name, (kind, _) in planted.items()}


def test_leak_checker_finds_planted_leaks_and_passes_clean_pages(tmp_path):
    site, planted = _planted_site(tmp_path)
    leaks = sl.scan(site, sl.collect())
    found = {(leak.path, leak.kind) for leak in leaks}
    for name, kind in planted.items():
        assert (name, kind) in found, f"the checker missed the {kind} planted in {name}: {leaks}"
    assert ("source-cell.ipynb", "nbgrader metadata") in found
    assert ("source-cell.ipynb", "marker") in found
    clean = {leak.path for leak in leaks} - set(planted)
    assert not clean, f"false alarms in clean pages: {[lk for lk in leaks if lk.path in clean]}"


def test_leak_checker_finds_an_unpublished_solution(tmp_path):
    """The same page with ps1 *unpublished*: its own solution is then a leak (code and answers),
    and ps1's published page shows nothing of an unpublished problem set."""
    site, _ = _planted_site(tmp_path)
    src = tmp_path / "source"
    (src / "ps1-backprop").mkdir(parents=True)
    shutil.copy(PS1, src / "ps1-backprop")
    leaks = sl.scan(site, sl.collect(src, published={}))
    kinds = {leak.kind for leak in leaks if leak.path == "clean.html"}
    assert kinds == {"unpublished solution"}, leaks
    html_lines = {leak.what for leak in leaks if leak.path == "clean.html"}
    assert any("sigmoid_prime(zs[-l])" in w for w in html_lines), html_lines
    notebook = [lk for lk in leaks if lk.path.endswith("ps1-backprop.ipynb")]
    assert any("Nielsen's 95 %" in lk.what for lk in notebook), notebook  # a model answer


def test_a_line_the_book_shares_with_a_solution_leaks_only_with_another(tmp_path):
    """Generic code (``confusion = np.zeros((3, 3), dtype=int)``) may be in a chapter and in an
    unpublished solution: alone it is no leak, with a second line of that solution it is."""
    src, book, site = tmp_path / "source", tmp_path / "book", tmp_path / "site"
    for d in (src / "ps9-secret", book, site):
        d.mkdir(parents=True)
    shutil.copy(PS1, src / "ps9-secret" / "ps9-secret.ipynb")
    shared = "delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])"
    other = "nabla_w[-l] = delta @ activations[-l - 1].T"
    (book / "chapter.md").write_text(f"```python\n{shared}\n```\n")
    secrets = sl.collect(src, published={}, book=book)
    assert secrets.common == {shared}
    (site / "page.html").write_text(f"<pre>{shared}</pre>")
    assert sl.scan(site, secrets) == []
    (site / "page.html").write_text(f"<pre>{shared}\n    {other}</pre>")
    whats = {leak.what for leak in sl.scan(site, secrets)}
    assert whats == {f"ps9-secret: {shared}", f"ps9-secret: {other}"}


def test_leak_checker_command(tmp_path, capsys):
    site, _ = _planted_site(tmp_path)
    assert sl.main([str(site)]) == 1
    assert "leak(s)" in capsys.readouterr().out
    clean = tmp_path / "clean-site"
    clean.mkdir()
    shutil.copy(site / "clean.html", clean)
    assert sl.main([str(clean)]) == 0
    assert sl.main([str(tmp_path / "nowhere")]) == 2


def test_built_site_leaks_nothing():
    if not (SITE / "book" / "intro.html").is_file():
        reason = (f"the site is not built at {SITE} (run: jupyter-book build . -W -n "
                  "--keep-going, or set NNSCRATCH_SITE)")
        if IN_CI:
            pytest.fail(f"CI must check the built site for leaks, but {reason}")
        pytest.skip(reason)
    assert not (SITE / "exercises").exists() and not (SITE / "_sources" / "exercises").exists()
    for assignment in ms.PUBLISHED:
        assert (SITE / "solutions" / f"{assignment}.html").is_file(), f"no page for {assignment}"
    leaks = sl.scan(SITE, sl.collect())
    assert not leaks, "the built site leaks:\n" + "\n".join(map(str, leaks[:50]))


def test_exercises_page_links_exactly_the_published_solutions():
    text = (REPO / "book" / "assignments" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"</solutions/([\w-]+)>", text)) | set(
        re.findall(r"\{doc\}`/solutions/([\w-]+)`", text))
    assert linked == set(ms.PUBLISHED), (
        f"book/assignments/index.md links the solutions {sorted(linked)}, but the published ones "
        f"are {sorted(ms.PUBLISHED)}")
