"""The book's configuration and sources, checked without building: the table of contents, the
Jupyter Book 1.x configuration keys, the notebook conventions of ``book/README.md``, and the
equation labels that the library's docstrings cite."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from book_pages import REPO, book_notebooks, toc, toc_files, toc_pages

BOOK = REPO / "book"
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
PARTS = ["Foundations", "Applications", "Physics and tools", "Exercises", "Solutions", "Appendix"]


# ---------------------------------------------------------------- table of contents
def test_every_toc_entry_exists():
    missing = [doc for doc in toc_files() if doc not in {d for d, _ in toc_pages()}]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_no_page_outside_the_toc():
    listed = {f"{doc}{suffix}" for doc, suffix in toc_pages()}
    pages = {
        str(p.relative_to(REPO))
        for p in BOOK.rglob("*")
        if p.suffix in (".md", ".ipynb")
        and p.name != "README.md"
        and ".ipynb_checkpoints" not in p.parts
        and "_build" not in p.parts
    }
    orphans = sorted(pages - listed)
    assert not orphans, f"pages that the toc does not list (they would not be built): {orphans}"


def test_toc_parts_come_in_the_course_order():
    captions = [part["caption"] for part in toc()["parts"]]
    assert captions[0] == "Foundations" and captions[-1] == "Appendix"
    assert all(c in PARTS for c in captions), f"unknown part in _toc.yml: {captions}"
    order = [PARTS.index(c) for c in captions]
    assert order == sorted(order), f"parts out of order: {captions}"


def test_toc_lists_each_file_once():
    files = toc_files()
    assert len(files) == len(set(files)), "a file appears twice in _toc.yml"


# ---------------------------------------------------------------- _config.yml
def _schema() -> dict:
    from jupyter_book.config import PATH_JSON_SCHEMA

    return json.loads(PATH_JSON_SCHEMA.read_text("utf8"))


def test_config_validates_against_jupyter_book_schema():
    from jupyter_book.config import get_validator

    errors = [e.message for e in get_validator().iter_errors(CONFIG)]
    assert not errors, f"_config.yml does not validate against Jupyter Book 1.x: {errors}"


def test_config_has_no_unknown_keys():
    """The schema accepts unknown keys silently: a typo (``launch_button:``) would be ignored."""
    schema = _schema()["properties"]
    allowed = set(schema) | {"only_build_toc_files"}
    assert set(CONFIG) <= allowed, f"unknown top-level keys: {set(CONFIG) - allowed}"
    for key, value in CONFIG.items():
        props = schema.get(key, {}).get("properties")
        if props and isinstance(value, dict):
            unknown = set(value) - set(props)
            assert not unknown, f"unknown keys under {key}: {unknown}"


def test_config_keeps_the_book_honest():
    execute = CONFIG["execute"]
    assert execute["raise_on_error"] is True and execute["allow_errors"] is False
    assert execute["execute_notebooks"] in ("cache", "force")
    assert CONFIG["only_build_toc_files"] is True
    buttons = CONFIG["launch_buttons"]
    assert buttons["jupyterhub_url"].startswith("https://") and buttons["colab_url"]
    assert CONFIG["repository"]["url"].startswith("https://github.com/")
    sphinx = CONFIG["sphinx"]
    assert sphinx["recursive_update"] is True, "html_theme_options would replace the buttons"
    assert "offline_mathjax" in sphinx["local_extensions"]
    assert sphinx["config"]["nb_ipywidgets_js"] == {}, "widget JS would come from a CDN"


def test_offline_mathjax_finds_the_installed_files():
    import sys

    sys.path.insert(0, str(BOOK / "_ext"))
    try:
        import offline_mathjax
    finally:
        sys.path.pop(0)
    root = offline_mathjax.mathjax_dir()
    assert (root / offline_mathjax.COMPONENT).stat().st_size > 100_000
    fonts = list((root / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, "MathJax's CHTML fonts are missing"


def test_bibliography_has_the_course_references():
    bib = (BOOK / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert len(keys) == len(set(keys)), "duplicate keys in references.bib"
    for key in ("nielsen2015", "glorot2010", "he2015", "kingma2015", "carrasquilla2017",
                "onsager1944", "wolff1989"):
        assert key in keys
    cited = set()
    for path in _sources():
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", _text(path)):
            cited.update(k.strip() for k in group.split(","))
    assert cited <= set(keys), f"cited but not in references.bib: {cited - set(keys)}"


# ---------------------------------------------------------------- sources
def _sources() -> list[Path]:
    return [REPO / f"{doc}{suffix}" for doc, suffix in toc_pages()]


def _text(path: Path) -> str:
    """A page's markdown: the file itself, or a notebook's markdown cells."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        return "\n".join(
            "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
        )
    return path.read_text(encoding="utf-8")


def _defined_labels() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in _sources():
        text = _text(path)
        labels = re.findall(r"\$\$\s*\(([\w-]+)\)", text) + re.findall(
            r"^:label:\s*([\w-]+)", text, flags=re.M
        )
        for label in labels:
            found.setdefault(label, []).append(str(path.relative_to(REPO)))
    return found


def _cited_labels() -> dict[str, str]:
    """Labels that docstrings in ``src/`` cite as ``eq. ``label```` or ``eqs. ``a``-``b````."""
    cited: dict[str, str] = {}
    for path in sorted((REPO / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for group in re.findall(r"\beqs?\.\s+((?:``[\w-]+``(?:\s*(?:-|–|,|and)\s*)?)+)", text):
            names = re.findall(r"``([\w-]+)``", group)
            if len(names) == 2 and re.search(r"``\s*[-–]\s*``", group):
                a, b = names  # a range such as ``bp1``-``bp4``
                m, n = re.match(r"(\D+)(\d+)$", a), re.match(r"(\D+)(\d+)$", b)
                if m and n and m.group(1) == n.group(1):
                    lo, hi = int(m.group(2)), int(n.group(2))
                    names = [f"{m.group(1)}{i}" for i in range(lo, hi + 1)]
            for name in names:
                cited.setdefault(name, str(path.relative_to(REPO)))
    return cited


def test_docstrings_cite_labels():
    """The collector itself works (so that the next test cannot pass vacuously)."""
    cited = _cited_labels()
    for label in ("feedforward", "bp1", "bp2", "bp3", "bp4", "l2-cost", "weight-decay"):
        assert label in cited, f"{label} is no longer cited in src/ (collector broken?)"


def test_every_label_cited_in_the_library_is_defined_once_in_the_book():
    defined = _defined_labels()
    missing = {label: src for label, src in _cited_labels().items() if label not in defined}
    assert not missing, f"labels cited in src/ but defined in no page of the book: {missing}"
    twice = {label: pages for label, pages in defined.items() if len(pages) > 1}
    assert not twice, f"labels defined more than once: {twice}"


def test_every_eq_reference_resolves():
    defined = _defined_labels()
    for path in _sources():
        for label in re.findall(r"\{eq\}`([^`]+)`", _text(path)):
            label = label.split("<")[-1].rstrip(">")
            assert label in defined, f"{path.name}: {{eq}}`{label}` is not defined in the book"


# ---------------------------------------------------------------- notebooks
NOTEBOOKS = book_notebooks()


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "the toc lists no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    dirty = [
        i for i, c in enumerate(_cells(path))
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs (the build executes notebooks)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_the_hidden_colab_install_cell(path):
    first = _cells(path)[0]
    source = "".join(first["source"])
    assert first["cell_type"] == "code"
    assert "remove-cell" in first.get("metadata", {}).get("tags", [])
    assert 'find_spec("nnscratch") is None' in source and "%pip install" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_first_output_says_what_ran(path):
    code = [c for c in _cells(path)[1:] if c["cell_type"] == "code"]
    source = "".join(code[0]["source"])
    assert "nn.__version__" in source or "nnscratch.__version__" in source, (
        f"{path.name}: the first visible cell must print nnscratch's version and the data used"
    )
    assert "data" in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_glues_what_its_text_quotes(path):
    cells = _cells(path)
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    used = {
        k.split(":")[0].split("::")[-1]
        for k in re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", markdown)
    }
    used |= set(re.findall(r"```\{glue:figure\}\s+(\S+)", markdown))
    glued = set(re.findall(r"glue\(\s*[\"']([\w.-]+)[\"']", code))
    # glue(f"best_h_{name}", ...) in a loop: a pattern, "{...}" standing for any name part
    patterns = [
        re.compile(re.sub(r"\\\{[^}]*\\\}", r"[\\w.-]+", re.escape(p)) + "$")
        for p in re.findall(r"glue\(\s*f[\"']([^\"']+)[\"']", code)
    ]
    missing = {k for k in used - glued if not any(p.match(k) for p in patterns)}
    assert not missing, f"{path.name}: quoted but never glued: {missing}"


# A worked solution holds the code its problem set asks students to write: it is exempt.
LIBRARY_NOTEBOOKS = [p for p in NOTEBOOKS if p.parent.name != "solutions"]


@pytest.mark.parametrize("path", LIBRARY_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defines_no_library_code(path):
    """Plots and helpers live in nnscratch; a notebook cell holds a few lines, not a library."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        defs = re.findall(r"^(?:def|class) \w+", source, flags=re.M)
        body = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        assert len(defs) <= 1 and len(body) <= 40, (
            f"{path.name} cell {i}: {len(defs)} definitions, {len(body)} lines; move helpers into "
            "src/nnscratch/ (with a test)"
        )


def test_promised_glue_names_exist():
    """The names the course promises (DESIGN.md, section 4), each in the notebook that owns it."""
    promised = {
        "logic_gates.ipynb": ("xor_accuracy",),
        "gradient_checking.ipynb": ("gradcheck_max_rel_error",),
        "mnist_experiments.ipynb": ("mnist_test_accuracy", "mnist_data_config"),
        "digits_hyperparameters.ipynb": ("digits_best_test_accuracy",),
        "ising_phases.ipynb": ("ising_3class_accuracy", "ising_tc_estimate"),
    }
    by_name = {path.name: path for path in NOTEBOOKS}
    assert set(promised) <= set(by_name), f"missing notebooks: {set(promised) - set(by_name)}"
    for name, keys in promised.items():
        code = "\n".join("".join(c["source"]) for c in _cells(by_name[name])
                         if c["cell_type"] == "code")
        for key in keys:
            assert re.search(rf"glue\(\s*[\"']{key}[\"']", code), f"{name} must glue {key}"
