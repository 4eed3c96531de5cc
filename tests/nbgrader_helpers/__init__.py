"""Helpers of tests/test_nbgrader_workflow.py: a course copy that runs real nbgrader commands
(:mod:`.course`), generic submissions built from a release notebook (:mod:`.submissions`), and
one module per assignment, ``<psN>.py``, with its end-to-end variants. Interface of an
assignment module (the workflow test runs every one it finds here)::

    from . import submissions as subs
    ASSIGNMENT = "ps2-batched-backprop"       # exercises/source/<ASSIGNMENT>/<ASSIGNMENT>.ipynb
    TESTS: tuple[str, ...]                    # grade_ids of the autograded test cells, in order
    POINTS: dict[str, float]                  # grade_id -> points of those cells
    VARIANTS: tuple[subs.Variant, ...]        # built from a subs.Context (ctx.release, ctx.source)

VARIANTS must include "solution" (full marks) and "untouched" (the release, 0 everywhere).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def module_names() -> list[str]:
    """``ps1``, ``ps2``, ... : the assignment modules in this folder, in order."""
    names = [p.stem for p in HERE.glob("ps*.py") if re.fullmatch(r"ps\d+", p.stem)]
    return sorted(names, key=lambda n: int(n[2:]))


def load(name: str) -> ModuleType | Exception:
    """The module ``name`` of this package, or the exception that importing it raised (a
    module being written must not break the other assignments' tests)."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except Exception as exc:  # reported by a test of its own
        return exc


def assignment_modules() -> dict[str, ModuleType | Exception]:
    return {name: load(name) for name in module_names()}
