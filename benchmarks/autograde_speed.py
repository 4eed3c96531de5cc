"""How long `nbgrader autograde` takes per submitted notebook, for every problem set, and what
bounds it.

    python benchmarks/autograde_speed.py            # 10 submissions per problem set (-> 100)
    python benchmarks/autograde_speed.py --n 100    # the real 100 per problem set
    python benchmarks/autograde_speed.py --quick    # smoke test: 2 submissions per problem set
    python benchmarks/autograde_speed.py --assignment ps1-backprop   # one problem set (repeatable)

Every problem set in ``exercises/source`` (works with any subset present). In a temporary copy of
``exercises/`` (with the venv's bin/ first on PATH, as nbgrader needs ``alembic``), for each one:
``generate_assignment``, then ``n`` submissions -- the release with every answer filled in from
the solution (full marks on the autograded tests; the hand-graded code cells run too) --
autograded by one stock ``nbgrader autograde`` (sequential: nbgrader grades one notebook at a
time). Prints seconds per notebook and for 100 notebooks against the targets (<= 6 s per
notebook, 100 in <= 10 minutes on 2 cores), per problem set, and a breakdown: kernel start with
and without the bubblewrap sandbox (measured separately, once), the time of each cell (from the
execution timestamps nbclient records in the autograded notebooks) and the rest (nbgrader:
sanitising, database, writing). Never fails on timing; exits non-zero only if autograding breaks
or a submission does not get full marks on the autograded tests.
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
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
TARGET_PER_NOTEBOOK = 6.0  # seconds
TARGET_100 = 600.0  # seconds for 100 notebooks
GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", ".nbgrader.log",
             "__pycache__")


def assignments() -> list[str]:
    """The problem sets of the course: ``source/<a>/<a>.ipynb``, in order."""
    return sorted(p.parent.name for p in (EXERCISES / "source").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def notebook(course: Path, kind: str, assignment: str, student: str | None = None) -> Path:
    folder = course / kind / student if student else course / kind
    return folder / assignment / f"{assignment}.ipynb"


def nbgrader(course: Path, env: dict[str, str], *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return time.perf_counter() - t0


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_points(source: dict) -> dict[str, float]:
    """``grade_id -> points`` of the autograded test cells (graded cells that are not answers)."""
    out = {}
    for c in source["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def make_submissions(course: Path, assignment: str, n: int) -> dict[str, float]:
    """``n`` copies of the release with every answer cell (code and text) filled in with the
    instructor's solution: what a good student submits. Returns :func:`test_points`."""
    source = json.loads(notebook(course, "source", assignment).read_text())
    release = json.loads(notebook(course, "release", assignment).read_text())
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: text(c) for c in source["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for c in release["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            lines = solutions[meta["grade_id"]].splitlines(keepends=True)
            c["source"] = "".join(ln for ln in lines if ln.strip() not in SOLUTION_MARKERS)
    for i in range(n):
        path = notebook(course, "submitted", assignment, f"student{i:03d}")
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(release))
    return test_points(source)


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


def cell_seconds(course: Path, assignment: str) -> tuple[dict[str, list[float]], list[float]]:
    """Per grade_id, the seconds each autograded notebook spent in that cell; and per notebook,
    the time from the first cell's start to the last cell's reply."""
    per_cell: dict[str, list[float]] = {}
    spans: list[float] = []
    for path in sorted(course.glob(f"autograded/*/{assignment}/{assignment}.ipynb")):
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


def autograded_scores(course: Path, assignment: str, tests: dict[str, float]) -> dict[str, float]:
    """Per student, the score of the autograded test cells ``tests`` (hand-graded cells are not
    graded here)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="nnscratch") as gb:
        out = {}
        for sub in gb.assignment_submissions(assignment):
            nb = gb.find_submission_notebook(assignment, assignment, sub.student.id)
            out[sub.student.id] = sum(g.score or 0.0 for g in nb.grades if g.name in tests)
        return out


def report(assignment: str, n: int, t_gen: float, t_auto: float, k_sandbox: float,
           k_plain: float, course: Path) -> float:
    per_cell, spans = cell_seconds(course, assignment)
    per_nb = t_auto / n
    cells_total = statistics.mean(spans) if spans else float("nan")
    print(f"\n## {assignment}: generate_assignment {t_gen:.1f} s; autograde of {n} notebooks "
          f"{t_auto:.1f} s\n")
    print(f"{'':44s} {'seconds':>8s}  {'share':>6s}")
    rows = [("per notebook (autograde wall time / n)", per_nb)]
    rows.append(("  kernel start + stop, sandboxed", k_sandbox))
    rows.append(("    of which the sandbox (vs. a plain kernel)", k_sandbox - k_plain))
    rows.append(("  cells, first start to last reply", cells_total))
    order = sorted(per_cell, key=lambda g: -statistics.mean(per_cell[g]))
    for gid in order[:8]:
        rows.append((f"    cell {gid}", statistics.mean(per_cell[gid])))
    rows.append(("  nbgrader itself (the rest)", per_nb - k_sandbox - cells_total))
    for label, sec in rows:
        share = f"{100 * sec / per_nb:5.0f}%" if label.startswith("  ") else ""
        print(f"{label:44s} {sec:8.2f}  {share:>6s}")
    parts = {"kernel start (sandboxed)": k_sandbox,
             "nbgrader itself": per_nb - k_sandbox - cells_total}
    parts.update({f"cell {g}": statistics.mean(v) for g, v in per_cell.items()})
    ranked = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
    print("Bound by: " + ", then ".join(f"{k} ({v:.2f} s)" for k, v in ranked) + ".")
    return per_nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 submissions, 1 kernel repeat")
    parser.add_argument("--n", type=int, default=None,
                        help="submissions per problem set (default 10; quick 2)")
    parser.add_argument("--assignment", action="append", default=None,
                        help="only this problem set (repeatable; default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    args = parser.parse_args()
    n = args.n or (2 if args.quick else 10)
    if n < 1:
        parser.error(f"--n must be >= 1, got {n}")
    available = assignments()
    chosen = args.assignment or available
    unknown = [a for a in chosen if a not in available]
    if unknown:
        parser.error(f"no such problem set {unknown}; there are {available}")

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
    print(f"# autograde speed: {n} submissions of each of {', '.join(chosen)}; "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, "
          f"sandbox {'OFF' if os.environ.get('NNSCRATCH_SANDBOX', '').lower() == 'off' else 'on'}")
    repeats = 1 if args.quick else 3
    k_plain = kernel_start_seconds(False, repeats)
    k_sandbox = kernel_start_seconds(True, repeats)

    results: dict[str, float] = {}
    broken: dict[str, object] = {}
    for a in chosen:
        t_gen = nbgrader(course, env, "generate_assignment", a)
        tests = make_submissions(course, a, n)
        points = sum(tests.values())
        t_auto = nbgrader(course, env, "autograde", a)
        got = autograded_scores(course, a, tests)
        bad = {s: v for s, v in got.items() if abs(v - points) > 1e-9}
        if len(got) != n or bad:
            broken[a] = f"{len(got)} of {n} graded; not full marks ({points:g}): {bad}"
        results[a] = report(a, n, t_gen, t_auto, k_sandbox, k_plain, course)

    print(f"\n{'problem set':24s} {'s/notebook':>10s} {'<= 6 s':>8s} {'100 notebooks':>14s} "
          f"{'<= 10 min':>10s}")
    for a, per_nb in results.items():
        t100 = per_nb * 100
        print(f"{a:24s} {per_nb:10.1f} {'met' if per_nb <= TARGET_PER_NOTEBOOK else 'NOT met':>8s} "
              f"{t100 / 60:11.1f} min {'met' if t100 <= TARGET_100 else 'NOT met':>10s}")
    print(f"\nKernel start + stop: {k_sandbox:.2f} s sandboxed, {k_plain:.2f} s plain. "
          + ("" if n >= 100 else f"100 notebooks extrapolated from {n}. ")
          + "nbgrader grades one notebook at a time, so the second core only helps the graders' "
          "children. Timings on a shared machine are noisy: compare runs at a similar load "
          "average.")
    if args.keep:
        print(f"course kept in {course}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if broken:
        sys.exit("grading broke: " + "; ".join(f"{a}: {why}" for a, why in broken.items()))


if __name__ == "__main__":
    main()
