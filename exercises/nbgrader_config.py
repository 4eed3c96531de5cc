"""nbgrader configuration of the nnscratch course (run every nbgrader command from this folder).

The course root is this folder, whatever its absolute path: nothing here names a path outside
it, so the course still works when ``exercises/`` is copied elsewhere. See README.md.

Environment variables
---------------------
NNSCRATCH_EXCHANGE         the exchange folder (default ``/srv/nbgrader/exchange``); it must exist
                           and be writable by everyone who fetches or submits (mode 1777).
NNSCRATCH_SANDBOX=off      autograde WITHOUT the bubblewrap sandbox (not recommended).
NNSCRATCH_SANDBOX_MEMORY   address-space limit of the grading kernel (default 4G).
NNSCRATCH_SANDBOX_HIDE     more paths to hide from student code (``:``-separated).
"""

import os

from nnscratch.grading.sandbox_kernel import (
    autograde_preprocessors,
    feedback_preprocessors,
    sanitize_preprocessors,
)

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# --- the course ---------------------------------------------------------------------------------
c.CourseDirectory.course_id = "nnscratch"
# CourseDirectory.root is not set: it is the folder nbgrader runs in (this one).

c.Exchange.root = os.environ.get("NNSCRATCH_EXCHANGE", "/srv/nbgrader/exchange")

# --- autograding --------------------------------------------------------------------------------
# Student kernels run in a bubblewrap sandbox (nnscratch.grading.sandbox_kernel): stock nbgrader
# steps, with Execute replaced by SandboxedExecute. Autograding refuses to run without bwrap
# unless NNSCRATCH_SANDBOX=off.
c.Autograde.autograde_preprocessors = autograde_preprocessors()

# Seconds per cell. The slowest cell is ps1's training check (a few seconds; the grader itself
# stops the student's training after its own time limit, well below this). A cell that runs
# longer is interrupted and scores 0.
c.Execute.timeout = 120
# After a timeout, the kernel gets this long to answer again; if it does not (code that catches
# KeyboardInterrupt), the rest of the notebook is not run (its tests score 0).
c.SandboxedExecute.probe_timeout = 10

# Partial credit: every test cell ends with a plain Python float in [0, points] (see
# nnscratch.grading). Anything on stderr in a test cell scores 0: the graders run student code in
# a child process and report on stdout only, so no IgnorePattern is needed (measured: none of the
# solution's test cells writes to stderr; see tests/test_nbgrader_workflow.py).

# A student who deletes a test cell gets it back (executed like the others). Stock nbgrader
# 0.9.6 fails the whole submission when the cell above a deleted test is not a grade/solution
# cell (here: the markdown above each test); RestoreMissingCells puts it back all the same.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = sanitize_preprocessors()

# --- feedback -----------------------------------------------------------------------------------
# Stock feedback shows the hidden tests' code (nbgrader issue #917): clear it, and cut the
# tracebacks of hidden-test cells to their last line (IPython's tracebacks quote the code).
c.GenerateFeedback.preprocessors = feedback_preprocessors()
