"""Check a built site (or any folder) for what must never be published from ``exercises/source``.

    python tools/site_leaks.py                 # scans _build/html
    python tools/site_leaks.py path/to/html    # another build

Exit 1, listing every leak, when a file of the site contains

* a line of a hidden test (between the hidden-test markers of any source notebook) that the
  release does not show anyway;
* an nbgrader marker (``BEGIN SOLUTION``, ``END SOLUTION``, ``BEGIN HIDDEN TESTS``,
  ``END HIDDEN TESTS``) or nbgrader cell metadata (a ``"nbgrader": {`` or ``"grade_id":`` key);
* a distinctive line of the solution of a problem set that is *not* published
  (``tools/make_solutions.py: PUBLISHED``): a line of 30 characters or more between the
  solution markers that appears neither in what students get anyway (the assignment outside the
  solution regions), nor in the library, nor in a published solution. A line that the book's
  own pages also contain (``confusion = np.zeros((3, 3), dtype=int)``) counts only together
  with a second line of the same solution in the same file.

Every file is read as text (binary files are skipped) and compared with whitespace collapsed, in
several views: as it is; HTML without tags and entities (highlighted code keeps its text);
JSON/notebooks as the strings they hold; JavaScript with string escapes decoded.
"""

from __future__ import annotations

import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_solutions import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    PUBLISHED,
    REPO,
    SOURCE,
    source_text,
    strip_markers,
)

SITE = REPO / "_build" / "html"
LIBRARY = REPO / "src" / "nnscratch"
BOOK = REPO / "book"
MARKERS = tuple(m.removeprefix("### ") for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN,
                                                  END_HIDDEN))
METADATA = re.compile(r"""["']nbgrader["']\s*:\s*\{|["']grade_id["']\s*:""")
MIN_HIDDEN = 12  # characters (whitespace collapsed) of a hidden-test line worth matching
MIN_SOLUTION = 30  # ... of a solution line
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".otf",
                   ".eot", ".pdf", ".zip", ".gz", ".pickle", ".doctree", ".mo"}


def norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Secrets:
    """What must not be on the site: ``normalised line -> the assignment it comes from``."""

    hidden: dict[str, str] = field(default_factory=dict)
    solutions: dict[str, str] = field(default_factory=dict)  # of unpublished problem sets
    #: lines of ``solutions`` that a page of the book also has (a leak only with another line)
    common: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Leak:
    path: str
    kind: str  # "hidden test", "marker", "nbgrader metadata", "unpublished solution"
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.what[:120]!r}"


def _regions(text: str, begin: str, end: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        tag = line.strip()
        if tag == begin:
            inside = True
        elif tag == end:
            inside = False
        elif inside:
            out.append(line)
    return out


def _solution_free(text: str) -> str:
    """The cell as the release shows it: solution regions and hidden tests dropped."""
    kept, inside = [], False
    for line in text.splitlines():
        tag = line.strip()
        if tag == BEGIN_SOLUTION:
            inside = True
        elif tag == END_SOLUTION:
            inside = False
        elif not inside:
            kept.append(line)
    return strip_markers("\n".join(kept))


def _is_trivial(line: str) -> bool:
    return bool(re.match(r"(import|from)\s+\S+(\s+import\s+[\w, ()*]+)?(\s+as\s+\w+)?$", line))


def _book_text(book: Path) -> str:
    """The book's pages as text (markdown, and the cells of notebooks), whitespace collapsed."""
    parts = []
    for path in sorted(book.rglob("*")):
        if path.suffix == ".md":
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".ipynb":
            nb = json.loads(path.read_text(encoding="utf-8"))
            parts += [source_text(c) for c in nb.get("cells", [])]
    return "\n".join(norm(p) for p in parts)


def collect(source_dir: Path = SOURCE, published: dict | None = None,
            library: Path = LIBRARY, book: Path = BOOK) -> Secrets:
    """The secrets of every notebook under ``source_dir`` (``<a>/<a>.ipynb`` or deeper)."""
    published = PUBLISHED if published is None else published
    public = []  # what is public anyway: released text, published solutions, the library
    hidden: list[tuple[str, str]] = []
    solution: list[tuple[str, str]] = []
    for path in sorted(source_dir.glob("*/*.ipynb")):
        assignment = path.parent.name
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            text = source_text(cell)
            public.append(_solution_free(text))
            hidden += [(ln, assignment) for ln in _regions(text, BEGIN_HIDDEN, END_HIDDEN)]
            lines = _regions(text, BEGIN_SOLUTION, END_SOLUTION)
            if assignment in published:
                public += lines
            else:
                solution += [(ln, assignment) for ln in lines]
    public += [p.read_text(encoding="utf-8") for p in sorted(library.rglob("*.py"))]
    public_text = "\n".join(norm(t) for t in public)
    secrets = Secrets()
    for line, assignment in hidden:
        n = norm(line)
        if len(n) >= MIN_HIDDEN and not _is_trivial(n) and n not in public_text:
            secrets.hidden.setdefault(n, assignment)
    book_text = _book_text(book) if book.is_dir() else ""
    for line, assignment in solution:
        n = norm(line)
        if len(n) >= MIN_SOLUTION and n not in public_text:
            secrets.solutions.setdefault(n, assignment)
            if n in book_text:
                secrets.common.add(n)
    return secrets


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, list):
        if obj and all(isinstance(x, str) for x in obj):
            return ["".join(obj)]
        return [s for x in obj for s in _strings(x)]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k, *_strings(v)]]
    return []


def views(path: Path, text: str) -> list[str]:
    """The file's text as a reader (or a search) could see it, whitespace collapsed."""
    out = [text]
    if "<" in text:
        out.append(html.unescape(re.sub(r"<[^>]*>", "", text)))
        out.append(html.unescape(text))
    if path.suffix in (".ipynb", ".json"):
        try:
            out.append("\n".join(_strings(json.loads(text))))
        except ValueError:
            pass
    if "\\" in text:
        out.append(text.replace("\\n", "\n").replace('\\"', '"').replace("\\'", "'")
                   .replace("\\/", "/").replace("\\t", "\t").replace("\\\\", "\\"))
    return [norm(v) for v in out]


def scan(site: Path, secrets: Secrets) -> list[Leak]:
    """Every leak in the files under ``site``."""
    leaks: list[Leak] = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        if path.suffix.lower() in BINARY_SUFFIXES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        rel = str(path.relative_to(site))
        seen: set[tuple[str, str]] = set()

        def add(kind: str, what: str, rel: str = rel, seen: set = seen) -> None:
            if (kind, what) not in seen:
                seen.add((kind, what))
                leaks.append(Leak(rel, kind, what))

        found: dict[str, str] = {}  # unpublished solution lines in this file
        for view in views(path, data.decode("utf-8", errors="replace")):
            for marker in MARKERS:
                if marker in view:
                    add("marker", marker)
            for m in METADATA.finditer(view):
                add("nbgrader metadata", m.group(0))
            for line, assignment in secrets.hidden.items():
                if line in view:
                    add("hidden test", f"{assignment}: {line}")
            found.update((ln, a) for ln, a in secrets.solutions.items() if ln in view)
        for line, assignment in found.items():
            others = [ln for ln, a in found.items() if a == assignment and ln != line]
            if line not in secrets.common or others:
                add("unpublished solution", f"{assignment}: {line}")
    return leaks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    site = Path(argv[0]) if argv else SITE
    if not site.is_dir():
        print(f"no site at {site}: build it first (jupyter-book build . -W -n --keep-going)")
        return 2
    secrets = collect()
    leaks = scan(site, secrets)
    for leak in leaks:
        print(leak)
    print(f"{len(leaks)} leak(s) in {site} (checked {len(secrets.hidden)} hidden-test lines, "
          f"{len(secrets.solutions)} lines of unpublished solutions, markers, metadata)")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
