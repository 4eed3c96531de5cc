"""How long `nbgrader autograde` takes per submitted ps1-backprop notebook, and what bounds it.

    python benchmarks/autograde_speed.py            # 20 submissions, extrapolated to 100 (~2-3 min)
    python benchmarks/autograde_speed.py --n 100    # the real 100 (~10 min)
    python benchmarks/autograde_speed.py --quick    # smoke test: 2 submissions (< 1 minute)

In a temporary copy of ``exercises/`` (with the venv's bin/ first on PATH, as nbgrader needs
``alembic``): ``generate_assignment ps1-backprop``, then ``n`` submissions -- the release with
every answer filled in from the solution (full marks; part (e) trains three small networks) --
autograded by one stock
``nbgrader autograde ps1-backprop`` (sequential: nbgrader grades one notebook at a time). Prints
seconds per notebook and for 100 notebooks against the targets (<= 6 s per notebook, 100 in
<= 10 minutes on 2 cores), and a breakdown: kernel start with and without the bubblewrap sandbox
(measured separately), the time of each cell (from the execution timestamps nbclient records in
the autograded notebooks) and the rest (nbgrader: sanitising, database, writing). Never fails on
timing; exits non-zero only if autograding breaks or a submission does not get full marks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXERCISES = REPO / "exercises"
ASSIGNMENT = "ps1-backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
TARGET_PER_NOTEBOOK = 6.0  # seconds
TARGET_100 = 600.0  # seconds for 100 notebooks
AUTO_POINTS = 9.0  # the three test cells of ps1 (1 + 6 + 2)
GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", ".nbgrader.log",
             "__pycache__")


def nbgrader(course: Path, env: dict[str, str], *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return time.perf_counter() - t0


def cell_of(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"]
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def make_submissions(course: Path, n: int) -> None:
    """``n`` copies of the release with every answer cell (code and text) filled in with the
    instructor's solution: what a good student submits, (e)'s training runs included."""
    source = json.loads((course / "source" / ASSIGNMENT / NOTEBOOK).read_text())
    release = json.loads((course / "release" / ASSIGNMENT / NOTEBOOK).read_text())
    for c in release["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = text(cell_of(source, meta["grade_id"])).splitlines(keepends=True)
            c["source"] = "".join(ln for ln in lines if ln.strip() not in SOLUTION_MARKERS)
    for i in range(n):
        d = course / "submitted" / f"student{i:03d}" / ASSIGNMENT
        d.mkdir(parents=True)
        (d / NOTEBOOK).write_text(json.dumps(release))


def kernel_start_seconds(sandboxed: bool, repeats: int) -> float:
    """Median seconds to start a kernel, run one trivial cell and shut it down."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    from nnscratch.grading.sandbox_kernel import SandboxedKernelManager

    cls = SandboxedKernelManager if sandboxed else AsyncKernelManager
    times = []
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(repeats):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                         "language": "python"}
            t0 = time.perf_counter()
            NotebookClient(nb, kernel_manager_class=cls, timeout=60,
                           resources={"metadata": {"path": cwd}}).execute()
            times.append(time.perf_counter() - t0)
    asyncio.set_event_loop(asyncio.new_event_loop())
    return statistics.median(times)


def cell_seconds(course: Path) -> tuple[dict[str, list[float]], list[float]]:
    """Per grade_id, the seconds each autograded notebook spent in that cell; and per notebook,
    the time from the first cell's start to the last cell's reply."""
    per_cell: dict[str, list[float]] = {}
    spans: list[float] = []
    for path in sorted(course.glob(f"autograded/*/{ASSIGNMENT}/{NOTEBOOK}")):
        nb = json.loads(path.read_text())
        first = last = None
        for c in nb["cells"]:
            ex = c.get("metadata", {}).get("execution", {})
            a, b = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
            if not (a and b):
                continue
            ta = datetime.fromisoformat(a.replace("Z", "+00:00"))
            tb = datetime.fromisoformat(b.replace("Z", "+00:00"))
            gid = c["metadata"].get("nbgrader", {}).get("grade_id", "(other)")
            per_cell.setdefault(gid, []).append((tb - ta).total_seconds())
            first = ta if first is None else first
            last = tb
        if first is not None:
            spans.append((last - first).total_seconds())
    return per_cell, spans


def scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="nnscratch") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 submissions, 1 kernel repeat")
    parser.add_argument("--n", type=int, default=None, help="submissions (default 20; quick 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    args = parser.parse_args()
    n = args.n or (2 if args.quick else 20)
    if n < 1:
        parser.error(f"--n must be >= 1, got {n}")

    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    os.environ["PATH"] = env["PATH"]
    env.setdefault("NNSCRATCH_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="autograde-speed-"))
    env["NNSCRATCH_EXCHANGE"] = str(tmp / "exchange")
    env["JUPYTER_DATA_DIR"] = str(tmp / "jupyter-data")
    course = tmp / "course"
    shutil.copytree(EXERCISES, course, ignore=shutil.ignore_patterns(*GENERATED))

    load = os.getloadavg()
    print(f"# autograde speed: {n} ps1-backprop submissions, {os.cpu_count()} cores, load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, sandbox "
          f"{'OFF' if os.environ.get('NNSCRATCH_SANDBOX', '').lower() == 'off' else 'on'}")
    t_gen = nbgrader(course, env, "generate_assignment", ASSIGNMENT)
    make_submissions(course, n)
    t_auto = nbgrader(course, env, "autograde", ASSIGNMENT)
    got = scores(course)
    # the autograded tests are worth 9 of the 15 points; unanswered manual cells score 0
    bad = {s: v for s, v in got.items() if abs(v - AUTO_POINTS) > 1e-9}
    per_cell, spans = cell_seconds(course)

    repeats = 1 if args.quick else 3
    k_plain = kernel_start_seconds(False, repeats)
    k_sandbox = kernel_start_seconds(True, repeats)

    per_nb = t_auto / n
    cells_total = statistics.mean(spans) if spans else float("nan")
    print(f"generate_assignment: {t_gen:.1f} s; autograde of {n} notebooks: {t_auto:.1f} s\n")
    print(f"{'':44s} {'seconds':>8s}  {'share':>6s}")
    rows = [("per notebook (autograde wall time / n)", per_nb)]
    rows.append(("  kernel start + stop, sandboxed", k_sandbox))
    rows.append(("    of which the sandbox (vs. a plain kernel)", k_sandbox - k_plain))
    rows.append(("  cells, first start to last reply", cells_total))
    order = sorted(per_cell, key=lambda g: -statistics.mean(per_cell[g]))
    for gid in order:
        rows.append((f"    cell {gid}", statistics.mean(per_cell[gid])))
    rows.append(("  nbgrader itself (the rest)", per_nb - k_sandbox - cells_total))
    for label, sec in rows:
        share = f"{100 * sec / per_nb:5.0f}%" if label.startswith("  ") else ""
        print(f"{label:44s} {sec:8.2f}  {share:>6s}")

    t100 = per_nb * 100
    print(f"\n{'target':44s} {'measured':>10s}  result")
    print(f"{'<= 6 s per notebook':44s} {per_nb:9.1f}s  "
          f"{'met' if per_nb <= TARGET_PER_NOTEBOOK else 'NOT met'}")
    label = "100 notebooks <= 10 min" + ("" if n >= 100 else f" (extrapolated from {n})")
    print(f"{label:44s} {t100 / 60:8.1f}min  {'met' if t100 <= TARGET_100 else 'NOT met'}")
    parts = {"kernel start (sandboxed)": k_sandbox,
             "nbgrader itself": per_nb - k_sandbox - cells_total}
    parts.update({f"cell {g}": statistics.mean(v) for g, v in per_cell.items()})
    ranked = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
    print("\nBound by: " + ", then ".join(f"{k} ({v:.2f} s)" for k, v in ranked) + ". nbgrader "
          "grades one notebook at a time, so the second core only helps the grader's children.")
    print("Timings on a shared machine are noisy: compare runs at a similar load average.")
    if args.keep:
        print(f"course kept in {course}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if len(got) != n or bad:
        sys.exit(f"grading broke: {len(got)} of {n} graded; not full marks: {bad}")


if __name__ == "__main__":
    main()
