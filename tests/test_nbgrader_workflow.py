"""The nbgrader course end to end, with stock nbgrader commands on a copy of ``exercises/``.

Every assignment with a module in ``tests/nbgrader_helpers/`` (``ps1.py``, ``ps2.py``, ...: its
submissions and what grading must give them) runs through one course copy, in one module-scoped
run (the ``workflow`` fixture) that does what an instructor does: for each assignment validate
the source, generate the assignment, validate the release (``--invert``) and autograde every
submission -- the solution, the untouched release, buggy variants and hostile submissions, built
by editing the release --, then generate the feedback; for ps1 also an exchange round trip
(release -> fetch -> submit -> collect -> feedback back to the student); finally export the
grades. Autograding is sequential: two ``nbgrader autograde`` processes (of different
assignments) on one gradebook race to create the same student and one of them fails ("UNIQUE
constraint failed: student.id", measured with nbgrader 0.9.6), so only the validations, which
never open the gradebook, run alongside in a second thread. The tests then read the gradebook,
the autograded notebooks, the feedback HTML and the CSV. A few fast tests check the assignment
modules, the sandbox and the config without nbgrader runs.
"""

from __future__ import annotations

import dataclasses
import getpass
import html
import itertools
import json
import os
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("nbgrader")

import nbgrader_helpers as nbh
from nbgrader_helpers import submissions as subs
from nbgrader_helpers.course import COURSE_ID, EXERCISES, Course, grade_cells, notebook

from nnscratch.grading import sandbox_kernel as sk

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
#: must never reach student code (the sandbox clears the environment)
SECRET_ENV = "NNSCRATCH_TEST_SECRET"
#: the assignment that also goes through the exchange (fetch, submit, collect, feedback)
ROUND_TRIP = "ps1-backprop"
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")

MODULES = nbh.assignment_modules()
#: assignment -> its module, for the modules that import and whose source exists
ASSIGNMENTS: dict[str, ModuleType] = {
    m.ASSIGNMENT: m for m in MODULES.values()
    if isinstance(m, ModuleType) and (EXERCISES / "source" / m.ASSIGNMENT
                                      / notebook(m.ASSIGNMENT)).is_file()
}
CASES = [(a, v) for a, m in ASSIGNMENTS.items() for v in m.VARIANTS]


def _bwrap_usable() -> str | None:
    try:
        sk._probe(sk.find_bwrap(), os.geteuid() == 0)
    except sk.SandboxUnavailable as exc:
        return str(exc)
    return None


NO_BWRAP = _bwrap_usable() if sys.platform.startswith("linux") else "Linux only"


@dataclasses.dataclass
class Run:
    """One assignment in the course copy."""

    module: ModuleType
    ctx: subs.Context
    procs: dict[str, object] = dataclasses.field(default_factory=dict)
    autograde_seconds: float = 0.0
    scores: dict[str, dict[str, float | None]] = dataclasses.field(default_factory=dict)

    @property
    def students(self) -> list[str]:
        return [v.student for v in self.module.VARIANTS]


@dataclasses.dataclass
class Workflow:
    course: Course
    round_trip_student: str
    runs: dict[str, Run] = dataclasses.field(default_factory=dict)
    procs: dict[str, object] = dataclasses.field(default_factory=dict)
    csv_rows: list[dict[str, str]] = dataclasses.field(default_factory=list)
    fetched_feedback: list[Path] = dataclasses.field(default_factory=list)

    def outputs(self, assignment: str, student: str, grade_id: str) -> str:
        return self.course.outputs(student, grade_id, assignment)

    def feedback(self, assignment: str, student: str) -> str:
        """The student's feedback page as text: tags removed (highlighted code is split into
        one ``<span>`` per token), entities decoded, whitespace collapsed."""
        raw = self.course.feedback_html(student, assignment).read_text()
        return " ".join(html.unescape(re.sub(r"<[^>]*>", "", raw)).split())


def _variant(module: ModuleType, student: str) -> subs.Variant:
    return next(v for v in module.VARIANTS if v.student == student)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    if NO_BWRAP:
        pytest.skip(f"the autograding sandbox cannot run here: {NO_BWRAP}")
    assert ROUND_TRIP in ASSIGNMENTS, f"no end-to-end module for {ROUND_TRIP}"
    base = tmp_path_factory.mktemp("nbgrader")
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    data = Path(os.environ.get("NNSCRATCH_DATA", SHARED_MNIST))
    course = Course.copy(base / "course", exchange,
                         data if (data / "t10k-images-idx3-ubyte.gz").is_file() else None)
    course.env[SECRET_ENV] = "do-not-leak"
    wf = Workflow(course, getpass.getuser())

    for a, module in ASSIGNMENTS.items():
        procs = {"generate": course.run("generate_assignment", a)}
        ctx = subs.Context(subs.load(course.release_nb(a)), subs.load(course.source_nb(a)),
                           course.root, exchange, a)
        wf.runs[a] = Run(module, ctx, procs)
        for v in module.VARIANTS:
            path = course.submitted_nb(v.student, a)
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(v.build(ctx)))
    # `nbgrader validate` never opens the gradebook: the validations run one after the other in a
    # second thread while the main one autogrades (which mostly keeps one core busy)
    with ThreadPoolExecutor(max_workers=1) as pool:
        validations = {
            (a, key): pool.submit(course.run, "validate", *flags, str(path))
            for a in ASSIGNMENTS
            for key, flags, path in (("validate-source", (), course.source_nb(a)),
                                     ("validate-release", ("--invert",), course.release_nb(a)))
        }
        _instructor_and_student(wf, base, exchange)
        for (a, key), future in validations.items():
            wf.runs[a].procs[key] = future.result()
    _print_table(wf)
    return wf


def _instructor_and_student(wf: Workflow, base: Path, exchange: Path) -> None:
    """The exchange round trip of ps1, every autograde and feedback, the grades."""
    course = wf.course

    # exchange round trip: the student fetches, solves, submits; the instructor collects
    run = wf.runs[ROUND_TRIP]
    student_home = base / "student"
    student_home.mkdir()
    flags = [f"--course={COURSE_ID}", f"--Exchange.root={exchange}"]
    course.run("release_assignment", ROUND_TRIP)
    course.run("fetch_assignment", ROUND_TRIP, *flags, cwd=student_home)
    fetched = student_home / ROUND_TRIP / notebook(ROUND_TRIP)
    solve = _variant(run.module, "solution").build
    fetched.write_text(json.dumps(solve(dataclasses.replace(run.ctx,
                                                            release=subs.load(fetched)))))
    course.run("submit", ROUND_TRIP, *flags, cwd=student_home)
    run.procs["collect"] = course.run("collect", ROUND_TRIP)

    # without bubblewrap autograding must refuse to run (and say how to install it)
    env = dict(course.env, NNSCRATCH_BWRAP=str(base / "no-such-bwrap"))
    wf.procs["no-bwrap"] = course.run("autograde", ROUND_TRIP, "--student=solution", env=env,
                                      check=False)

    for a, run in wf.runs.items():
        t0 = time.perf_counter()
        run.procs["autograde"] = course.run("autograde", a)
        run.autograde_seconds = time.perf_counter() - t0
        run.procs["feedback"] = course.run("generate_feedback", a)
    # the round-trip student gets the feedback through the exchange
    course.run("release_feedback", ROUND_TRIP, f"--student={wf.round_trip_student}")
    course.run("fetch_feedback", ROUND_TRIP, *flags, cwd=student_home)
    wf.fetched_feedback = sorted((student_home / ROUND_TRIP / "feedback").glob("*/*.html"))
    wf.csv_rows = course.export_csv(base / "grades.csv")
    for a, run in wf.runs.items():
        extra = [wf.round_trip_student] if a == ROUND_TRIP else []
        for student in run.students + extra:
            run.scores[student] = course.cell_scores(student, a)


def _print_table(wf: Workflow) -> None:
    for cmd, seconds, rc in wf.course.log:
        print(f"  nbgrader {cmd[:60]:60s} {seconds:6.1f} s  exit {rc}")
    for a, run in wf.runs.items():
        n = len(run.students) + (a == ROUND_TRIP)
        tests = run.module.TESTS
        print(f"\n{a}: autograde of {n} notebooks in {run.autograde_seconds:.1f} s "
              f"({run.autograde_seconds / n:.1f} s per notebook)")
        print(f"{'student':30s} " + " ".join(f"{t[-8:]:>8s}" for t in tests) + "  report line")
        for v in run.module.VARIANTS:
            s = run.scores[v.student]
            line = ""
            if v.cause:
                text = "\n".join(wf.outputs(a, v.student, t) for t in tests)
                line = next((ln.strip() for ln in text.splitlines() if v.cause in ln), "")
            cols = " ".join(f"{s[t]:8.2f}" if s[t] is not None else f"{'-':>8s}" for t in tests)
            print(f"{v.student:30s} {cols}  {line[:100]}")


def _hidden_lines(source_nb: dict) -> list[str]:
    """The lines of the hidden tests (markers excluded, stripped, non-trivial)."""
    lines: list[str] = []
    for c in source_nb["cells"]:
        lines += [ln.strip() for ln in _regions(subs.source(c), *HIDDEN) if len(ln.strip()) > 10]
    return lines


def _regions(text: str, begin: str, end: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() == begin:
            inside = True
        elif line.strip() == end:
            inside = False
        elif inside:
            out.append(line)
    return out


assignment_ids = pytest.mark.parametrize("assignment", list(ASSIGNMENTS))


# --------------------------------------------------------------------------------------------
# The instructor's steps
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@assignment_ids
def test_source_validates(workflow: Workflow, assignment: str) -> None:
    out = workflow.runs[assignment].procs["validate-source"].stdout
    assert "Success! Your notebook passes all the tests." in out


@pytest.mark.slow
@assignment_ids
def test_release_has_no_solution_and_no_hidden_test(workflow: Workflow, assignment: str) -> None:
    text = workflow.course.release_nb(assignment).read_text()
    nb = json.loads(text)
    assert not any(c.get("outputs") for c in nb["cells"]), "the release must carry no outputs"
    source = subs.load(workflow.course.source_nb(assignment))
    lines: list[str] = []
    # every line of every solution region of the source (code and answers) that does not also
    # appear in the given code (e.g. `nabla_b = [np.zeros(...)...]` is in update_mini_batch)
    given = ""
    for c in source["cells"]:
        src = subs.source(c)
        given += re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", src, flags=re.S)
        lines += [ln.strip() for ln in _regions(src, *SOLUTION) if len(ln.strip()) > 25]
    distinctive = [ln for ln in lines if ln not in given]
    assert len(distinctive) >= 3, "too few distinctive solution lines to check the release"
    hidden = _hidden_lines(source)
    assert hidden, f"{assignment}: the source has no hidden test"
    distinctive += [*hidden, "BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"]
    leaked = [d for d in distinctive if json.dumps(d)[1:-1] in text or d in text]
    assert not leaked, f"the release leaks: {leaked}"
    # the visible part of every test cell is there
    for grade_id in workflow.runs[assignment].module.TESTS:
        text = subs.source(subs.cell(source, grade_id))
        inside = set(_regions(text, *HIDDEN))
        want = [ln for ln in text.splitlines()
                if ln.strip() and ln.strip() not in HIDDEN and ln not in inside]
        got = subs.source(subs.cell(nb, grade_id))
        missing = [ln for ln in want if ln not in got]
        assert not missing, f"{grade_id}: the release lost visible test lines {missing}"


@pytest.mark.slow
@assignment_ids
def test_release_fails_validation_inverted(workflow: Workflow, assignment: str) -> None:
    out = workflow.runs[assignment].procs["validate-release"].stdout
    assert "Success! The notebook does not pass any tests." in out


@pytest.mark.slow
def test_exchange_round_trip(workflow: Workflow) -> None:
    student, course = workflow.round_trip_student, workflow.course
    run = workflow.runs[ROUND_TRIP]
    assert course.submitted_nb(student, ROUND_TRIP).is_file()
    assert (course.submitted_nb(student, ROUND_TRIP).parent / "timestamp.txt").is_file()
    assert {k: run.scores[student][k] for k in run.module.TESTS} == run.module.POINTS


@pytest.mark.slow
def test_feedback_reaches_the_student(workflow: Workflow) -> None:
    run = workflow.runs[ROUND_TRIP]
    assert len(workflow.fetched_feedback) == 1
    raw = workflow.fetched_feedback[0].read_text()
    text = " ".join(html.unescape(re.sub(r"<[^>]*>", "", raw)).split())
    for texts in _variant(run.module, "solution").says.values():
        for said in texts:
            assert said in text, f"the fetched feedback does not say {said!r}"
    for line in _hidden_lines(run.ctx.source):
        assert " ".join(line.split()) not in text


@pytest.mark.slow
def test_autograde_refuses_without_bwrap(workflow: Workflow) -> None:
    proc = workflow.procs["no-bwrap"]
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "bubblewrap" in log and "apt-get install bubblewrap" in log
    assert f"{sk.ENV_SANDBOX}=off" in log


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "variant"), CASES,
                         ids=[f"{a}/{v.student}" for a, v in CASES])
def test_scores_and_reports(workflow: Workflow, assignment: str, variant: subs.Variant) -> None:
    run = workflow.runs[assignment]
    scores = run.scores[variant.student]
    for grade_id, want in variant.scores.items():
        assert subs.in_range(scores[grade_id], want), (
            f"{variant.student}: {grade_id} scored {scores[grade_id]}, expected {want}\n"
            + workflow.outputs(assignment, variant.student, grade_id))
    for grade_id, texts in variant.says.items():
        out = workflow.outputs(assignment, variant.student, grade_id)
        for text in texts:
            assert text in out, f"{variant.student}: {grade_id} does not say {text!r}:\n{out}"
    for grade_id, texts in variant.never.items():
        out = workflow.outputs(assignment, variant.student, grade_id)
        for text in texts:
            assert text not in out, f"{variant.student}: {grade_id} says {text!r}:\n{out}"
    if variant.kind == "bug":  # a bug always costs points in the autograded tests
        auto = sum(scores[t] or 0.0 for t in run.module.TESTS)
        assert auto < sum(run.module.POINTS.values()) - 1e-9, scores


@pytest.mark.slow
@assignment_ids
def test_untouched_release_scores_zero_everywhere(workflow: Workflow, assignment: str) -> None:
    scores = workflow.runs[assignment].scores["untouched"]
    # autograded tests and the unanswered manually graded cells (nbgrader: unchanged = 0)
    assert scores == dict.fromkeys(scores, 0.0), scores


@pytest.mark.slow
def test_sandbox_hid_the_secrets(workflow: Workflow) -> None:
    ps1 = workflow.runs[ROUND_TRIP].module
    out = workflow.outputs(ROUND_TRIP, ps1.SNOOPER, "network")
    lines = [ln for ln in out.splitlines() if ps1.SNOOP_MARK in ln]
    targets = ps1.snoop_targets(workflow.runs[ROUND_TRIP].ctx, ps1.SNOOPER)
    assert len([ln for ln in lines if " DENIED " in ln or " OPEN " in ln]) == len(targets), out
    for ln in lines:
        if " OPEN " in ln:  # a hidden folder may be listed, but it must be empty
            assert "listing []" in ln, f"the sandbox let student code read: {ln}"
    assert f"{ps1.SNOOP_MARK} ENV []" in out, "the instructor's environment leaked"
    cwd = next(ln for ln in lines if " CWD " in ln)
    assert str(workflow.course.root) not in cwd and notebook(ROUND_TRIP) not in cwd
    if os.geteuid() == 0:
        assert f"{ps1.SNOOP_MARK} UID 65534" in out, "the kernel must not run as root"
    # and the correct backprop in the same notebook still earns full marks
    assert workflow.runs[ROUND_TRIP].scores[ps1.SNOOPER]["test-backprop"] == 6.0


@pytest.mark.slow
@assignment_ids
def test_feedback_never_shows_hidden_tests(workflow: Workflow, assignment: str) -> None:
    run = workflow.runs[assignment]
    hidden = [" ".join(ln.split()) for ln in _hidden_lines(run.ctx.source)]
    assert hidden
    for student in run.students:
        page = workflow.course.feedback_html(student, assignment)
        assert page.is_file(), f"no feedback for {student}"
        text = workflow.feedback(assignment, student)
        raw = html.unescape(page.read_text())
        for secret in [*hidden, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]:
            assert secret not in text and secret not in raw, (
                f"{student}'s feedback shows {secret!r}")
    # ... but it does show the reports of the tests, which name the cause
    for v in run.module.VARIANTS:
        if v.kind != "bug":
            continue
        text = workflow.feedback(assignment, v.student)
        for grade_id in run.module.TESTS:
            for cause in v.says.get(grade_id, ()):
                assert " ".join(cause.split()) in text, (
                    f"{v.student}'s feedback does not say {cause!r}")


@pytest.mark.slow
def test_export_has_one_row_per_student_and_assignment(workflow: Workflow) -> None:
    rows = workflow.csv_rows
    everyone = {s for run in workflow.runs.values() for s in run.scores}
    for a, run in workflow.runs.items():
        mine = {r["student_id"]: r for r in rows if r["assignment"] == a}
        assert set(mine) == everyone, f"{a}: rows for {sorted(mine)}, expected {sorted(everyone)}"
        total = sum(points for points, _ in grade_cells(run.ctx.source).values())
        for student, scores in run.scores.items():
            auto = sum(s or 0.0 for s in scores.values())
            assert float(mine[student]["raw_score"]) == pytest.approx(auto), (a, student)
            assert float(mine[student]["max_score"]) == pytest.approx(total), (a, student)


@pytest.mark.slow
@assignment_ids
def test_autograde_speed(workflow: Workflow, assignment: str) -> None:
    """Budget, not a benchmark (benchmarks/autograde_speed.py measures): the hostile loops cost
    a grader timeout each; everything else must stay well under a minute per notebook."""
    run = workflow.runs[assignment]
    n = len(run.scores)
    assert run.autograde_seconds / n < 30


# --------------------------------------------------------------------------------------------
# The assignment modules (fast)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODULES))
def test_assignment_module_matches_its_source(name: str) -> None:
    module = MODULES[name]
    if isinstance(module, Exception):
        raise AssertionError(f"tests/nbgrader_helpers/{name}.py does not import: "
                             f"{type(module).__name__}: {module}") from module
    a = module.ASSIGNMENT
    path = EXERCISES / "source" / a / notebook(a)
    assert path.is_file(), f"{name}.py: no source notebook {path}"
    cells = grade_cells(subs.load(path))
    auto = {g: p for g, (p, autograded) in cells.items() if autograded}
    assert tuple(module.TESTS) == tuple(auto), f"{name}.TESTS must be the test cells {list(auto)}"
    assert module.POINTS == auto, f"{name}.POINTS differ from the source's points {auto}"
    students = [v.student for v in module.VARIANTS]
    assert len(students) == len(set(students)), f"{name}: a student name is used twice"
    assert {"solution", "untouched"} <= set(students)
    for v in module.VARIANTS:
        assert set(v.scores) <= set(module.TESTS) and v.kind in ("reference", "bug", "hostile")
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
               for c in subs.load(path)["cells"]}
        assert set(v.says) | set(v.never) <= ids, f"{name}: {v.student} names unknown cells"


def test_every_assignment_has_an_end_to_end_module() -> None:
    sources = sorted(p.name for p in (EXERCISES / "source").iterdir() if p.is_dir())
    covered = {getattr(m, "ASSIGNMENT", None) for m in MODULES.values()}
    missing = [a for a in sources if a not in covered]
    assert not missing, (f"assignments without tests/nbgrader_helpers/<psN>.py: {missing} "
                         "(interface: tests/nbgrader_helpers/__init__.py)")

# --------------------------------------------------------------------------------------------
# Fast checks of the configuration and the sandbox command
# --------------------------------------------------------------------------------------------


def _load_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(EXERCISES)).load_config()


def test_config_course_and_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNSCRATCH_EXCHANGE", "/somewhere/exchange")
    cfg = _load_config()
    assert cfg.CourseDirectory.course_id == "nnscratch"
    assert "root" not in cfg.CourseDirectory, "the course root must be the folder nbgrader runs in"
    assert cfg.Exchange.root == "/somewhere/exchange"
    monkeypatch.delenv("NNSCRATCH_EXCHANGE")
    assert _load_config().Exchange.root == "/srv/nbgrader/exchange"
    text = (EXERCISES / "nbgrader_config.py").read_text()
    assert "../" not in text and "/work" not in text
    assert cfg.Execute.timeout >= 60
    assert cfg.OverwriteCells.add_missing_cells is True


def test_config_uses_sandbox_and_clears_hidden_tests() -> None:
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, Execute

    cfg = _load_config()
    steps = cfg.Autograde.autograde_preprocessors
    stock = Autograde.class_traits()["autograde_preprocessors"].default()
    assert steps == [sk.SandboxedExecute if p is Execute else p for p in stock]
    feedback = cfg.GenerateFeedback.preprocessors
    assert any(issubclass(p, ClearHiddenTests) for p in feedback)
    stock_fb = GenerateFeedback.class_traits()["preprocessors"].default()
    assert [p for p in feedback if p is not sk.ClearHiddenTestsFeedback] == stock_fb


def test_sandbox_missing_bwrap_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sk.ENV_BWRAP, str(tmp_path / "nope"))
    with pytest.raises(sk.SandboxUnavailable, match="apt-get install bubblewrap"):
        sk.find_bwrap()
    monkeypatch.setenv(sk.ENV_SANDBOX, "off")
    assert not sk.sandbox_enabled()
    ex = sk.SandboxedExecute()
    assert ex.kernel_manager_class is not sk.SandboxedKernelManager


def test_parse_size() -> None:
    assert sk.parse_size("4G") == 4 * 1024**3
    assert sk.parse_size("512m") == 512 * 1024**2
    assert sk.parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert sk.parse_size(0) == 0
    for bad in ("lots", "-1G", "", True):
        with pytest.raises(ValueError, match="memory size"):
            sk.parse_size(bad)


@pytest.mark.skipif(bool(NO_BWRAP), reason=f"bwrap unusable: {NO_BWRAP}")
def test_sandbox_command_hides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = tmp_path / "course"
    (course / "autograded" / "s" / "a").mkdir(parents=True)
    (course / "autograded" / "s" / "a" / "data.csv").write_text("1,2\n")
    (course / "autograded" / "s" / "a" / "a.ipynb").write_text("{}")
    (course / "autograded" / "s" / "a" / "link").symlink_to(course / "gradebook.db")
    (course / "gradebook.db").write_text("secret")
    monkeypatch.setenv(sk.ENV_HIDE, str(tmp_path / "extra"))
    km = sk.SandboxedKernelManager()
    km.secret_paths = [str(course), str(course / "gradebook.db")]
    km._bwrap, km._as_root = sk.find_bwrap(), os.geteuid() == 0
    km._make_sandbox_dir(str(course / "autograded" / "s" / "a"))
    try:
        work = Path(km.sandbox_dir, "work")
        assert sorted(p.name for p in work.iterdir()) == ["data.csv"]  # no notebook, no symlink
        cmd = km.sandbox_command([sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"])
        pairs = list(itertools.pairwise(cmd))
        assert ("--tmpfs", str(course.resolve())) in pairs
        # inside the hidden course root: must not reappear as an empty stub file
        assert str((course / "gradebook.db").resolve()) not in cmd
        for flag in ("--unshare-net", "--unshare-pid", "--clearenv", "--die-with-parent"):
            assert flag in cmd
        assert ("--tmpfs", str((tmp_path / "extra").resolve())) not in pairs  # does not exist
        # the secrets come after the re-exposed needed paths: they always win
        last_secret = max(i for i, (a, b) in enumerate(pairs) if b == str(course.resolve()))
        binds = [i for i, (a, _) in enumerate(pairs) if a == "--ro-bind"]
        assert all(i < last_secret for i in binds if pairs[i][1] != km.sandbox_dir + "/.empty")
        if os.geteuid() == 0:
            assert ("--cap-drop", "ALL") in pairs
    finally:
        shutil.rmtree(km.sandbox_dir)


@pytest.mark.slow
@pytest.mark.skipif(bool(NO_BWRAP), reason=f"bwrap unusable: {NO_BWRAP}")
def test_timeout_and_dead_kernel_cost_the_rest_of_the_notebook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted loop costs its cell; a loop that swallows KeyboardInterrupt or a kernel
    that dies costs the cells after it (marked "not run", so their tests score 0) -- never
    the whole autograde run, and never an endless wait."""
    import tempfile

    from nbformat.v4 import new_code_cell, new_notebook

    made: list[str] = []  # the sandbox folders of this test (other autogrades may run meanwhile)
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)

    def run(*sources: str) -> list[str]:
        nb = new_notebook(cells=[new_code_cell(s) for s in sources])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        ex = sk.SandboxedExecute(timeout=4, probe_timeout=3)
        nb, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
        return [subs_cell_text(c) for c in nb.cells]

    t0 = time.perf_counter()
    out = run(
        "import time\nwhile True:\n    time.sleep(0.05)",  # interrupted at the timeout
        "print('still alive')",
        "while True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n"
        "        pass",  # ignores the interrupt
        "print('never printed')",
    )
    assert "CellTimeoutError" in out[0] and "still alive" in out[1]
    assert "CellTimeoutError" in out[2]
    assert "NotRun" in out[3] and "never printed" not in out[3]
    out = run("import os\nos._exit(3)", "print('after')")
    assert "DeadKernelError" in out[0] and "NotRun" in out[1]
    assert time.perf_counter() - t0 < 60
    assert len([d for d in made if "nnsbx-" in d]) >= 2, made
    assert not [d for d in made if os.path.exists(d)], "sandbox folders left behind"


def subs_cell_text(cell) -> str:
    from nbgrader_helpers.course import cell_text

    return cell_text(cell)


def test_feedback_preprocessor_cuts_hidden_tracebacks() -> None:
    from nbformat.v4 import new_code_cell, new_output

    c = new_code_cell("### BEGIN HIDDEN TESTS\nps1.grade_backprop(Network)\n### END HIDDEN TESTS")
    c.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1,
                              "schema_version": 3, "solution": False}
    c.outputs = [new_output("error", ename="NameError", evalue="name 'Network' is not defined",
                            traceback=["----> 1 ps1.grade_backprop(Network)", "NameError"])]
    pp = sk.ClearHiddenTestsFeedback()
    c, _ = pp.preprocess_cell(c, {}, 0)
    assert "grade_backprop" not in c.source
    assert c.outputs[0]["traceback"] == ["NameError: name 'Network' is not defined"]
