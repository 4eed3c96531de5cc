r"""The autograder behind the course's nbgrader assignments.

A notebook imports the assignment's module in a locked cell, before any student code, e.g.
``from nnscratch.grading import ps1``, and its test cells call ``ps1.check_shapes(Network)``,
``ps1.grade_backprop(Network)``, ``ps1.check_training(Network)``. Every such function prints a
short report to stdout (never stderr) and returns a plain Python ``float`` in ``[0, points]``
(nbgrader's partial credit); nothing the student's code does makes it raise.

Modules (the machinery is generic, for later assignments):

* :mod:`._child` -- :func:`run_in_child`: fork, timeout, memory limit, captured output, results
  through a pipe in a pickle-free format;
* :mod:`.compare` -- norm-based relative error (eq. ``relative-error``), partial credit;
* :mod:`.mutations` -- backprop in any :class:`~.mutations.Layout` with planted bugs
  (:class:`~.mutations.Bug`), the catalogue of mistakes and the diagnosis (eqs. ``bp1``-``bp4``);
* :mod:`.nielsen` -- Nielsen's interface: reference, test networks, the code run in the child;
* :mod:`.ps1` -- the ps1-backprop tests; :mod:`.report` -- the printed report;
* :mod:`.ps2` / :mod:`.batched` -- ps2-batched-backprop (rows = samples, any depth, 1/N; the
  student's gradient checker);
* :mod:`.ps3` / :mod:`.moons` -- ps3-moons (ReLU + perceptron loss, ``DW, DB, DV``);
* :mod:`.ps4` / :mod:`.softmax_mutations` -- ps4-softmax-ising (log-softmax, softmax +
  cross-entropy backprop, Ising temperatures);
* :mod:`._common` -- the steps every problem set's grader shares (arguments, preflight,
  collecting the streamed results, report lines);
* :mod:`._pristine` -- private copies of numpy and the builtins taken at import.

How far this can be trusted
---------------------------
The student's code runs in a forked child with a timeout, a memory limit, its own process group
and captured output, so loops, ``sys.exit``/``os._exit``, crashes, memory bombs and printing
cannot break the grading or the kernel. Monkeypatching is handled at two levels: the grader
computes with private copies of numpy and the builtins taken when this package is imported
(ndarray operators, ufuncs), reports any replaced ``numpy``/``builtins``/``os``... attribute,
restores the originals while it runs and in the child, and refuses credit when the grader's own
functions were rewritten.

But the hidden tests run *in the same kernel* as the student's code, and in-kernel code can
never be fully trusted. Code executed before a hidden test can still, among other things:
rebind the name ``ps1`` or replace ``sys.modules['nnscratch.grading.ps1']``; change how IPython
displays the returned float (``sys.displayhook``, display formatters) so nbgrader reads another
number; patch numpy or Python internals below the attributes watched here (e.g. functions inside
``numpy._core``); kill the kernel process (``os.kill(os.getppid(), 9)`` from the child); reach
the parent's memory through ``gc``; escape the process group with ``setsid``; disable the
delegation check in the child (``sys.setprofile``). A trustworthy check must run *outside* the
student's kernel: a separate grader process, started by nbgrader after the notebook ran (e.g. a
custom autograde preprocessor), that extracts only the student's solution cells from the
submitted notebook, executes them in a fresh sandboxed interpreter (bubblewrap, no network, rlimits,
a user without rights on the course files) which returns nothing but arrays (``np.save`` with
``allow_pickle=False``), compares them in the grader process with its own reference, and writes the
scores to the gradebook itself, ignoring the outputs of the student's kernel.
"""

from __future__ import annotations

from . import (
    _child,
    _common,
    _pristine,
    batched,
    compare,
    moons,
    mutations,
    nielsen,
    ps1,
    ps2,
    ps3,
    ps4,
    report,
    softmax_mutations,
)
from ._child import ChildResult, run_in_child
from .compare import relative_error
from .nielsen import reference_backprop

__all__ = [
    "ChildResult",
    "batched",
    "compare",
    "moons",
    "mutations",
    "nielsen",
    "ps1",
    "ps2",
    "ps3",
    "ps4",
    "reference_backprop",
    "relative_error",
    "report",
    "run_in_child",
    "softmax_mutations",
]

_pristine.freeze_grader([_pristine, _child, compare, report, _common, mutations, nielsen, ps1,
                         batched, ps2, moons, ps3, softmax_mutations, ps4])
