"""The book's pages as the table of contents lists them (shared by the book and site tests)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SUFFIXES = (".md", ".ipynb")


def toc() -> dict:
    return yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))


def _entries(node) -> list[str]:
    """Every ``root``/``file`` entry below ``node``, in order."""
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                out.append(str(node[key]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                out.extend(_entries(child))
    return out


def toc_files() -> list[str]:
    """Docnames listed in ``_toc.yml`` (paths without suffix, relative to the repository)."""
    return _entries(toc())


def toc_pages() -> list[tuple[str, str]]:
    """``(docname, suffix)`` for every toc entry whose file exists."""
    pages = []
    for doc in toc_files():
        for suffix in SUFFIXES:
            if (REPO / f"{doc}{suffix}").is_file():
                pages.append((doc, suffix))
                break
    return pages


def book_notebooks() -> list[Path]:
    """The executed notebooks of the book (the ``.ipynb`` pages of the toc)."""
    return [REPO / f"{doc}{suffix}" for doc, suffix in toc_pages() if suffix == ".ipynb"]
