"""Private copies of everything the grader uses, taken when ``nnscratch.grading`` is imported.

Student code runs in the same kernel as the hidden tests and may replace attributes of
``numpy`` or ``builtins`` (``np.allclose = lambda *a, **k: True``, ``builtins.float = ...``) before
a hidden test calls the grader. The grading modules therefore

* look builtins up in :data:`BUILTINS`, a private copy installed as their ``__builtins__`` (so
  ``float``, ``isinstance``, ``len`` and even ``import`` statements inside them are the originals);
* use numpy through :data:`np`, a namespace holding the original numpy callables (ufuncs such as
  ``np.exp`` are immutable C objects, and ndarray operators and methods cannot be patched);
* call :func:`check_environment` before grading, to *report* what the student replaced, and
  :func:`pristine_environment` / :func:`restore_environment` to put the originals back while the
  grader (parent) or the student's code (forked child) runs.

:func:`freeze_grader` records the grader's own functions (their ``__code__`` and defaults) so that
:func:`check_grader` can detect code that rewired the grader itself.

This defeats casual monkeypatching, not a determined attacker: see the limits in the package
docstring of :mod:`nnscratch.grading`.
"""

from __future__ import annotations

import builtins as _builtins_module
import contextlib
import json
import os
import resource
import select
import signal
import sys
import time
import types
import warnings
from collections.abc import Iterator

import numpy
import numpy.linalg
import numpy.random
import numpy.testing

#: Private copy of the builtins, used as ``__builtins__`` by every grading module.
BUILTINS: dict = dict(vars(_builtins_module))

#: IPython/ipykernel manage these builtins themselves (``exit``/``quit`` are hidden during a
#: cell, ``input`` is replaced for every execution request): not watched.
_BUILTINS_NOT_WATCHED = frozenset(
    {
        "exit",
        "quit",
        "get_ipython",
        "display",
        "help",
        "copyright",
        "credits",
        "license",
        "dreload",
        "In",
        "Out",
        "runfile",
        "debugfile",
        "input",
        "raw_input",
    }
)


def _namespace(module: types.ModuleType) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        **{k: v for k, v in vars(module).items() if not k.startswith("__")}
    )


#: The original numpy, as a namespace: ``np.exp``, ``np.array``, ``np.random.Generator``, ...
np = _namespace(numpy)
np.linalg = _namespace(numpy.linalg)
np.random = _namespace(numpy.random)
np.testing = _namespace(numpy.testing)

#: Modules (and the attributes of each) whose replacement is reported and undone.
#: ``None`` = every public attribute present at import time.
_WATCHED: tuple[tuple[str, types.ModuleType, tuple[str, ...] | None], ...] = (
    ("numpy", numpy, None),
    ("numpy.linalg", numpy.linalg, None),
    ("numpy.random", numpy.random, None),
    ("numpy.testing", numpy.testing, None),
    ("builtins", _builtins_module, None),
    (
        "os",
        os,
        (
            "fork",
            "pipe",
            "read",
            "write",
            "close",
            "dup2",
            "waitpid",
            "kill",
            "killpg",
            "setpgid",
            "getpid",
            "_exit",
            "open",
            "set_blocking",
            "WIFEXITED",
            "WEXITSTATUS",
            "WIFSIGNALED",
            "WTERMSIG",
        ),
    ),
    ("select", select, ("select",)),
    ("time", time, ("monotonic", "perf_counter", "sleep")),
    ("signal", signal, ("signal",)),
    ("resource", resource, ("setrlimit", "getrlimit")),
    ("json", json, ("dumps", "loads")),
    ("sys", sys, ("setprofile", "getprofile", "exit")),
    ("warnings", warnings, ("catch_warnings", "simplefilter", "warn")),
)


def _watched_names(name: str, module: types.ModuleType, names: tuple[str, ...] | None):
    if names is not None:
        return [n for n in names if n in vars(module)]
    keys = [k for k in vars(module) if not k.startswith("_")]
    if name == "builtins":
        keys = [k for k in keys if k not in _BUILTINS_NOT_WATCHED] + [
            "__import__",
            "__build_class__",
        ]
    return keys


_ORIGINALS: tuple[tuple[str, types.ModuleType, str, object], ...] = tuple(
    (modname, module, key, vars(module)[key])
    for modname, module, names in _WATCHED
    for key in _watched_names(modname, module, names)
)
_MISSING = object()


def check_environment() -> list[str]:
    """Dotted names (``'numpy.allclose'``) of watched attributes that were replaced or deleted
    since ``nnscratch.grading`` was imported, in a stable order."""
    changed = []
    for modname, module, key, original in _ORIGINALS:
        if vars(module).get(key, _MISSING) is not original:
            changed.append(f"{modname}.{key}")
    return changed


def _swap_in_originals() -> list[tuple[types.ModuleType, str, object]]:
    saved = []
    for _modname, module, key, original in _ORIGINALS:
        current = vars(module).get(key, _MISSING)
        if current is not original:
            saved.append((module, key, current))
            setattr(module, key, original)
    return saved


def restore_environment() -> list[str]:
    """Put every replaced watched attribute back (for good); return what was replaced."""
    changed = check_environment()
    _swap_in_originals()
    return changed


@contextlib.contextmanager
def pristine_environment() -> Iterator[list[str]]:
    """Within the block the watched attributes are the originals; afterwards the student's
    replacements are put back (the grader does not change the student's kernel). Yields the
    names that were replaced."""
    changed = check_environment()
    saved = _swap_in_originals()
    try:
        yield changed
    finally:
        for module, key, current in saved:
            if current is _MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(module, key)
            else:
                setattr(module, key, current)


# --------------------------------------------------------------------------------------------
# The grader's own integrity
# --------------------------------------------------------------------------------------------

_GRADER: list[tuple[str, object, str, object, object, object, object]] = []
_BUILTINS_ITEMS = tuple(BUILTINS.items())
_NP_ITEMS = tuple((ns, tuple(vars(ns).items())) for ns in (np, np.linalg, np.random, np.testing))


def _get(owner: object, key: str) -> object:
    if isinstance(owner, dict):
        return owner.get(key, _MISSING)
    return vars(owner).get(key, _MISSING)


def _set(owner: object, key: str, value: object) -> None:
    if isinstance(owner, dict):
        owner[key] = value
    else:
        setattr(owner, key, value)


def _same_items(namespace: dict, items: tuple[tuple[str, object], ...]) -> bool:
    """True when ``namespace`` holds exactly ``items`` (compared by identity, not ``==``)."""
    if len(namespace) != len(items):
        return False
    return all(namespace.get(k, _MISSING) is v for k, v in items)


def _function_state(obj: object) -> tuple[object, object, object]:
    if isinstance(obj, types.FunctionType):
        return obj.__code__, obj.__defaults__, obj.__kwdefaults__
    return None, None, None


def _record(label: str, namespace: dict) -> None:
    for key, obj in list(namespace.items()):
        if key.startswith("__") and key != "__builtins__":
            continue
        _GRADER.append((label, namespace, key, obj, *_function_state(obj)))
        if isinstance(obj, type) and obj.__module__.startswith("nnscratch.grading"):
            for k2, m in list(vars(obj).items()):
                if isinstance(m, types.FunctionType):
                    _GRADER.append((f"{label}.{key}", obj, k2, m, *_function_state(m)))


def freeze_grader(modules: list[types.ModuleType]) -> None:
    """Record the grader modules' globals and functions (call once, after importing them)."""
    if _GRADER:
        return
    for module in modules:
        _record(module.__name__, vars(module))


def check_grader() -> list[str]:
    """Names of grader functions/globals that were replaced or rewritten since
    :func:`freeze_grader` (empty when the grader is intact)."""
    changed: list[str] = []
    for label, owner, key, obj, code, defaults, kwdefaults in _GRADER:
        if _get(owner, key) is not obj or (
            code is not None
            and (
                obj.__code__ is not code
                or obj.__defaults__ is not defaults
                or obj.__kwdefaults__ is not kwdefaults
            )
        ):
            changed.append(f"{label}.{key}")
    if not _same_items(BUILTINS, _BUILTINS_ITEMS):
        changed.append("nnscratch.grading._pristine.BUILTINS")
    for ns, items in _NP_ITEMS:
        if not _same_items(vars(ns), items):
            changed.append("nnscratch.grading._pristine.np")
            break
    return changed


def restore_grader() -> None:
    """Undo any change :func:`check_grader` would report."""
    for _label, owner, key, obj, code, defaults, kwdefaults in _GRADER:
        if _get(owner, key) is not obj:
            _set(owner, key, obj)
        if code is not None:
            obj.__code__ = code
            obj.__defaults__ = defaults
            obj.__kwdefaults__ = kwdefaults
    BUILTINS.clear()
    BUILTINS.update(_BUILTINS_ITEMS)
    for ns, items in _NP_ITEMS:
        vars(ns).clear()
        vars(ns).update(items)
