"""The nbgrader course end to end, with stock nbgrader commands on a copy of ``exercises/``.

One module-scoped run (the ``workflow`` fixture) does what an instructor does: validate the
source, generate the assignment, validate the release (``--invert``), an exchange round trip
(release -> fetch -> submit -> collect), then autograde once for every student -- the solution,
the untouched release, buggy variants and hostile submissions, built by editing the release --,
generate feedback and export the grades. The tests then read the gradebook, the autograded
notebooks, the feedback HTML and the CSV. A few fast tests check the sandbox and the config
without nbgrader runs.
"""

from __future__ import annotations

import getpass
import html
import itertools
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("nbgrader")

from nbgrader_helpers import submissions as subs
from nbgrader_helpers.course import ASSIGNMENT, EXERCISES, NOTEBOOK, Course

from nnscratch.grading import sandbox_kernel as sk

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
#: must never reach student code (the sandbox clears the environment)
SECRET_ENV = "NNSCRATCH_TEST_SECRET"


def _bwrap_usable() -> str | None:
    try:
        sk._probe(sk.find_bwrap(), os.geteuid() == 0)
    except sk.SandboxUnavailable as exc:
        return str(exc)
    return None


NO_BWRAP = _bwrap_usable() if sys.platform.startswith("linux") else "Linux only"


class Workflow:
    def __init__(self, course: Course, ctx: subs.Context, student_user: str):
        self.course = course
        self.ctx = ctx
        self.round_trip_student = student_user
        self.procs: dict[str, object] = {}
        self.autograde_seconds = 0.0
        self.csv_rows: list[dict[str, str]] = []
        self.scores: dict[str, dict[str, float | None]] = {}
        self.fetched_feedback: list[Path] = []


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    if NO_BWRAP:
        pytest.skip(f"the autograding sandbox cannot run here: {NO_BWRAP}")
    base = tmp_path_factory.mktemp("nbgrader")
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    data = Path(os.environ.get("NNSCRATCH_DATA", SHARED_MNIST))
    course = Course.copy(base / "course", exchange,
                         data if (data / "t10k-images-idx3-ubyte.gz").is_file() else None)
    course.env[SECRET_ENV] = "do-not-leak"
    wf = Workflow(course, None, getpass.getuser())  # type: ignore[arg-type]

    wf.procs["validate-source"] = course.run("validate", str(course.source_nb))
    wf.procs["generate"] = course.run("generate_assignment", ASSIGNMENT)
    wf.procs["validate-release"] = course.run("validate", "--invert", str(course.release_nb))

    release = subs.load(course.release_nb)
    body = subs.solution_body(subs.load(course.source_nb))
    wf.ctx = subs.Context(release, body, course.root, exchange)

    # exchange round trip: the student fetches, solves, submits; the instructor collects
    student_home = base / "student"
    student_home.mkdir()
    flags = ["--course=nnscratch", f"--Exchange.root={exchange}"]
    course.run("release_assignment", ASSIGNMENT)
    course.run("fetch_assignment", ASSIGNMENT, *flags, cwd=student_home)
    fetched = student_home / ASSIGNMENT / NOTEBOOK
    fetched.write_text(json.dumps(subs.with_body(subs.load(fetched), body)))
    course.run("submit", ASSIGNMENT, *flags, cwd=student_home)
    wf.procs["collect"] = course.run("collect", ASSIGNMENT)

    for v in subs.ALL:
        path = course.submitted_nb(v.student)
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(v.build(wf.ctx)))

    # without bubblewrap autograding must refuse to run (and say how to install it)
    env = dict(course.env, NNSCRATCH_BWRAP=str(base / "no-such-bwrap"))
    wf.procs["no-bwrap"] = course.run("autograde", ASSIGNMENT, "--student=solution", env=env,
                                      check=False)

    t0 = time.perf_counter()
    wf.procs["autograde"] = course.run("autograde", ASSIGNMENT)
    wf.autograde_seconds = time.perf_counter() - t0
    wf.procs["feedback"] = course.run("generate_feedback", ASSIGNMENT)
    # the round-trip student gets the feedback through the exchange
    course.run("release_feedback", ASSIGNMENT, f"--student={wf.round_trip_student}")
    course.run("fetch_feedback", ASSIGNMENT, *flags, cwd=student_home)
    wf.fetched_feedback = sorted((student_home / ASSIGNMENT / "feedback").glob("*/*.html"))
    wf.csv_rows = course.export_csv(base / "grades.csv")
    for student in [v.student for v in subs.ALL] + [wf.round_trip_student]:
        wf.scores[student] = course.cell_scores(student)
    _print_table(wf)
    return wf


def _print_table(wf: Workflow) -> None:
    n = len(subs.ALL) + 1
    print(f"\nautograde: {n} notebooks in {wf.autograde_seconds:.1f} s "
          f"({wf.autograde_seconds / n:.1f} s per notebook)")
    for cmd, seconds, rc in wf.course.log:
        print(f"  nbgrader {cmd[:60]:60s} {seconds:6.1f} s  exit {rc}")
    print(f"{'student':30s} {'shapes':>6s} {'hidden':>6s} {'train':>6s}  report line")
    for v in subs.ALL:
        s = wf.scores[v.student]
        line = ""
        if v.cause:
            text = wf.course.outputs(v.student, "test-backprop") + "\n" + wf.course.outputs(
                v.student, "test-shapes")
            line = next((ln.strip() for ln in text.splitlines() if v.cause in ln), "")
        print(f"{v.student:30s} {s['test-shapes']:6.2f} {s['test-backprop']:6.2f} "
              f"{s['test-training']:6.2f}  {line[:110]}")


# --------------------------------------------------------------------------------------------
# The instructor's steps
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_source_validates(workflow: Workflow) -> None:
    out = workflow.procs["validate-source"].stdout
    assert "Success! Your notebook passes all the tests." in out


@pytest.mark.slow
def test_release_has_no_solution_and_no_hidden_test(workflow: Workflow) -> None:
    text = workflow.course.release_nb.read_text()
    nb = json.loads(text)
    assert not any(c.get("outputs") for c in nb["cells"]), "the release must carry no outputs"
    source = subs.load(workflow.course.source_nb)
    lines: list[str] = []
    # every line of every solution region of the source (code and answers) that does not also
    # appear in the given code (e.g. `nabla_b = [np.zeros(...)...]` is in update_mini_batch)
    given = ""
    for c in source["cells"]:
        src = subs.source(c)
        given += re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", src, flags=re.S)
        for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", src, re.S):
            lines += [ln.strip() for ln in region.splitlines() if len(ln.strip()) > 25]
    distinctive = [ln for ln in lines if ln not in given]
    assert len(distinctive) > 20
    distinctive += ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "ps1.grade_backprop("]
    leaked = [d for d in distinctive if json.dumps(d)[1:-1] in text or d in text]
    assert not leaked, f"the release leaks: {leaked}"
    assert "ps1.check_shapes(Network" in text  # the visible test is there


@pytest.mark.slow
def test_release_fails_validation_inverted(workflow: Workflow) -> None:
    out = workflow.procs["validate-release"].stdout
    assert "Success! The notebook does not pass any tests." in out


@pytest.mark.slow
def test_exchange_round_trip(workflow: Workflow) -> None:
    student = workflow.round_trip_student
    assert workflow.course.submitted_nb(student).is_file()
    assert (workflow.course.submitted_nb(student).parent / "timestamp.txt").is_file()
    assert {k: workflow.scores[student][k] for k in subs.TESTS} == subs.FULL


@pytest.mark.slow
def test_feedback_reaches_the_student(workflow: Workflow) -> None:
    assert len(workflow.fetched_feedback) == 1
    text = html.unescape(workflow.fetched_feedback[0].read_text())
    assert "all 4 gradients correct" in text and "ps1.grade_backprop(" not in text


@pytest.mark.slow
def test_autograde_refuses_without_bwrap(workflow: Workflow) -> None:
    proc = workflow.procs["no-bwrap"]
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert "bubblewrap" in log and "apt-get install bubblewrap" in log
    assert f"{sk.ENV_SANDBOX}=off" in log


@pytest.mark.slow
@pytest.mark.parametrize("variant", subs.ALL, ids=[v.student for v in subs.ALL])
def test_scores_and_reports(workflow: Workflow, variant: subs.Variant) -> None:
    scores = workflow.scores[variant.student]
    for grade_id, want in variant.scores.items():
        assert subs.in_range(scores[grade_id], want), (
            f"{variant.student}: {grade_id} scored {scores[grade_id]}, expected {want}\n"
            + workflow.course.outputs(variant.student, grade_id))
    for grade_id, texts in variant.says.items():
        out = workflow.course.outputs(variant.student, grade_id)
        for text in texts:
            assert text in out, f"{variant.student}: {grade_id} does not say {text!r}:\n{out}"
    for grade_id, texts in variant.never.items():
        out = workflow.course.outputs(variant.student, grade_id)
        for text in texts:
            assert text not in out, f"{variant.student}: {grade_id} says {text!r}:\n{out}"
    if variant.kind == "bug":  # a bug always costs points on the hidden test
        assert scores["test-backprop"] < subs.POINTS["test-backprop"]


@pytest.mark.slow
def test_untouched_release_scores_zero_everywhere(workflow: Workflow) -> None:
    scores = workflow.scores["untouched"]
    # autograded tests and the unanswered manually graded cells (nbgrader: unchanged = 0)
    assert scores == dict.fromkeys(scores, 0.0), scores


@pytest.mark.slow
def test_sandbox_hid_the_secrets(workflow: Workflow) -> None:
    out = workflow.course.outputs(subs.SNOOPER, "network")
    lines = [ln for ln in out.splitlines() if subs.SNOOP_MARK in ln]
    targets = subs.snoop_targets(workflow.ctx, subs.SNOOPER)
    assert len([ln for ln in lines if " DENIED " in ln or " OPEN " in ln]) == len(targets), out
    for ln in lines:
        if " OPEN " in ln:  # a hidden folder may be listed, but it must be empty
            assert "listing []" in ln, f"the sandbox let student code read: {ln}"
    assert f"{subs.SNOOP_MARK} ENV []" in out, "the instructor's environment leaked"
    cwd = next(ln for ln in lines if " CWD " in ln)
    assert str(workflow.course.root) not in cwd and NOTEBOOK not in cwd
    if os.geteuid() == 0:
        assert f"{subs.SNOOP_MARK} UID 65534" in out, "the kernel must not run as root"
    # and the correct backprop in the same notebook still earns full marks
    assert workflow.scores[subs.SNOOPER]["test-backprop"] == subs.POINTS["test-backprop"]


@pytest.mark.slow
def test_feedback_never_shows_hidden_tests(workflow: Workflow) -> None:
    students = [v.student for v in subs.ALL]
    for student in students:
        page = workflow.course.feedback_html(student)
        assert page.is_file(), f"no feedback for {student}"
        text = html.unescape(page.read_text())
        # the report may name its function ("grade_backprop: 28 gradients ..."); the code not
        for secret in ("ps1.grade_backprop(", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert secret not in text, f"{student}'s feedback shows {secret!r}"
    # ... but it does show the report of the hidden tests, which names the cause
    for v in subs.BUGS:
        text = html.unescape(workflow.course.feedback_html(v.student).read_text())
        for cause in v.says.get("test-backprop", ()):
            assert cause in text, f"{v.student}'s feedback does not say {cause!r}"


@pytest.mark.slow
def test_export_has_one_row_per_student(workflow: Workflow) -> None:
    rows = workflow.csv_rows
    students = sorted([v.student for v in subs.ALL] + [workflow.round_trip_student])
    assert sorted(r["student_id"] for r in rows) == students
    by_student = {r["student_id"]: r for r in rows}
    for student in students:
        auto = sum(s or 0.0 for s in workflow.scores[student].values())
        assert float(by_student[student]["raw_score"]) == pytest.approx(auto)
        assert float(by_student[student]["max_score"]) == pytest.approx(15.0)


@pytest.mark.slow
def test_autograde_speed(workflow: Workflow) -> None:
    """Budget, not a benchmark (benchmarks/autograde_speed.py measures): the hostile loop costs
    ~ three grader timeouts; everything else must stay well under a minute per notebook."""
    n = len(subs.ALL) + 1
    assert workflow.autograde_seconds / n < 30


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
def test_timeout_and_dead_kernel_cost_the_rest_of_the_notebook(tmp_path: Path) -> None:
    """An interrupted loop costs its cell; a loop that swallows KeyboardInterrupt or a kernel
    that dies costs the cells after it (marked "not run", so their tests score 0) -- never
    the whole autograde run, and never an endless wait."""
    from nbformat.v4 import new_code_cell, new_notebook

    def run(*sources: str) -> list[str]:
        nb = new_notebook(cells=[new_code_cell(s) for s in sources])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        ex = sk.SandboxedExecute(timeout=4, probe_timeout=3)
        nb, _ = ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
        return [subs_cell_text(c) for c in nb.cells]

    before = set(Path("/tmp").glob("nnsbx-*"))
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
    assert set(Path("/tmp").glob("nnsbx-*")) <= before, "sandbox folders left behind"


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
