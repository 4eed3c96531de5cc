"""The course on a real JupyterHub, end to end, on 127.0.0.1 (``deploy/jupyterhub/``).

A real ``jupyterhub`` runs ``deploy/jupyterhub/jupyterhub_config.py`` with the few overrides a
test needs (listed in :func:`_write_test_config`: a shared-password authenticator instead of PAM,
every user a process of the one Unix user running the tests, free ports, everything in a
temporary folder), with the real ``configurable-http-proxy`` (npm) in front. Everything below goes
through the proxy, as a browser would, with each user's own API token (asked from the hub with
the user's name and password):

1. the instructor and the student start their servers (hub REST API);
2. the instructor generates and releases ``ps1-backprop`` with **formgrader's HTTP API** on the
   course's formgrader service (``/services/nnscratch/formgrader/api/...``);
3. the student lists and fetches it with the **Assignments extension's HTTP API** of their own
   server (``/user/<student>/assignments/fetch``), writes the instructor's solution into the
   fetched notebook with the Jupyter **contents API**, and submits (``.../assignments/submit``);
4. the instructor collects and autogrades through formgrader's API (in the bubblewrap sandbox of
   ``exercises/nbgrader_config.py``), and the gradebook, read through formgrader's API, gives the
   submission full marks on every automatically graded cell;
5. the instructor generates and releases the feedback (formgrader's API); the student fetches it
   (Assignments API) and reads it (contents API): it does not show the hidden tests.

It also checks the per-role nbgrader extensions (students have no formgrader, the service has no
Assignments list, the instructor's Courses extension finds the service), that the service opens on
formgrader's own page and keeps JupyterHub's ``frame-ancestors 'none'``, that a student's token
does not open the service, and that the hub made the exchange world-writable. A finalizer stops
the hub (which stops the servers, the service and the proxy) and kills, by pid, any process left
with the test's marker in its environment. Every wait has a deadline; every request a timeout.

Needs ``jupyterhub`` (requirements.txt), ``configurable-http-proxy`` (``npm install``: ``.ci/run``
puts it in ``.venv/node``; or on ``PATH``; or ``NNSCRATCH_CHP``) and bubblewrap. Without them the
test is skipped locally, and fails under CI (``CI=true``), which must run it.
"""

from __future__ import annotations

import copy
import html
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
COURSE_ID = "nnscratch"
ASSIGNMENT = "ps1-backprop"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
#: made by nbgrader, never copied from the working tree
GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", ".nbgrader.log",
             "__pycache__", ".ipynb_checkpoints")
INSTRUCTOR = "instructor1"
STUDENT = "student1"
PASSWORD = "correct horse battery staple"
#: nbgrader names a submission after the Unix account of the server that submits it (or
#: $JUPYTERHUB_USER when that account is "jovyan", as in the Docker images). Here every server is
#: a process of the test's own Unix user (SimpleLocalProcessSpawner), so that is the student id;
#: on a real hub each user has an account (LocalProcessSpawner) and the id is the hub user name.
STUDENT_ID = pwd.getpwuid(os.getuid()).pw_name
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: put in the environment of every process the test starts, to find them all at the end
MARK = "NNSCRATCH_HUB_TEST"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI must run the JupyterHub test, but {reason}")
    pytest.skip(reason)


def find_chp() -> str | None:
    """configurable-http-proxy: $NNSCRATCH_CHP, PATH, or where .ci/run installs it."""
    for cand in (
        os.environ.get("NNSCRATCH_CHP"),
        shutil.which("configurable-http-proxy"),
        str(Path(sys.prefix) / "node" / "node_modules" / ".bin" / "configurable-http-proxy"),
        str(REPO / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"),
    ):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def solved(release: dict, source: dict) -> dict:
    """The release with every solution cell replaced by the instructor's solution (the source
    cell without its ``### BEGIN/END SOLUTION`` lines): what a student who solved it submits."""
    answers = {_meta(c)["grade_id"]: c for c in source["cells"] if _meta(c).get("solution")}
    out = copy.deepcopy(release)
    for c in out["cells"]:
        if _meta(c).get("solution"):
            lines = _text(answers[_meta(c)["grade_id"]]).splitlines(keepends=True)
            c["source"] = "".join(ln for ln in lines
                                  if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return out


def autograded_points(source: dict) -> dict[str, float]:
    """``grade_id -> points`` of the automatically graded test cells of a source notebook."""
    return {_meta(c)["grade_id"]: float(_meta(c)["points"]) for c in source["cells"]
            if _meta(c).get("grade") and not _meta(c).get("solution")}


def _outputs(nb_path: Path, grade_ids) -> str:
    """The text outputs of some cells of a notebook (for assertion messages)."""
    out = []
    for c in json.loads(nb_path.read_text())["cells"]:
        if _meta(c).get("grade_id") in grade_ids:
            for o in c.get("outputs", []):
                out.append(o.get("text") or o.get("evalue") or str(o.get("data", ""))[:500])
    return "\n".join("".join(t) if isinstance(t, list) else t for t in out)[-6000:]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _write_test_config(path: Path, ports: dict[str, int], base: Path, marker: str) -> None:
    """The production config, loaded as is, then what differs in a test (and only that)."""
    grader_home = base / "grader-home"
    service_env = {
        MARK: marker,
        "HOME": os.path.expanduser("~"),
        "JUPYTER_CONFIG_DIR": str(grader_home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(grader_home / ".local" / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(grader_home / ".local" / "share" / "jupyter" / "runtime"),
        "IPYTHONDIR": str(grader_home / ".ipython"),
        "MPLCONFIGDIR": str(grader_home / ".matplotlib"),
    }
    lines = [
        "c = get_config()  # noqa",
        f"load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})",
        # one password for the allowed users instead of PAM (JupyterHub's successor of
        # DummyAuthenticator.password, deprecated since 5.3); users as processes of the test's
        # own Unix user
        "c.JupyterHub.authenticator_class = 'shared-password'",
        f"c.SharedPasswordAuthenticator.user_password = {PASSWORD!r}",
        "c.JupyterHub.spawner_class = 'simple'",
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(base / 'home' / '{username}')!r}",
        # free ports on 127.0.0.1; our proxy binary
        f"c.JupyterHub.bind_url = 'http://127.0.0.1:{ports['public']}'",
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{ports['hub']}'",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{ports['proxy_api']}'",
        f"c.ConfigurableHTTPProxy.command = [{find_chp()!r}]",
        # every process we start carries the marker (the finalizer finds leftovers by it)
        f"c.Spawner.environment[{MARK!r}] = {marker!r}",
        "svc = c.JupyterHub.services[0]",
        # the service keeps the real $HOME (as nbgrader run by hand does: the sandbox hides it
        # and puts back the Python it needs, even when that lives in a 0700 /root/.pyenv), and
        # writes its Jupyter files into the test's folder
        f"svc['environment'].update({service_env!r})",
        "c.Spawner.start_timeout = 90",
    ]
    if os.geteuid() == 0:  # Jupyter servers refuse to run as root unless told
        lines += ["c.Spawner.args = ['--allow-root']", "svc['command'].append('--allow-root')"]
    path.write_text("\n".join(lines) + "\n")


class Hub:
    """A running hub: its URL, its process, and an HTTP session per user."""

    def __init__(self, base: Path, url: str, proc: subprocess.Popen, log: Path, marker: str,
                 course: Path, exchange: Path):
        import requests

        self.base, self.url, self.proc, self.log, self.marker = base, url, proc, log, marker
        self.course, self.exchange = course, exchange
        self.sessions: dict[str, requests.Session] = {}
        self.steps: list[tuple[str, float]] = []
        self.t0 = time.perf_counter()

    def step(self, what: str) -> None:
        self.steps.append((what, time.perf_counter() - self.t0))

    def log_tail(self, n: int = 12000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no hub log)"

    def request(self, user: str, method: str, path: str, *, ok=(200, 201, 202, 204),
                timeout: float = 60, **kw):
        r = self.sessions[user].request(method, self.url + path, timeout=timeout, **kw)
        if r.status_code not in ok:
            raise AssertionError(f"{method} {path} as {user}: HTTP {r.status_code}\n"
                                 f"{r.text[:3000]}\n--- hub log (tail)\n{self.log_tail()}")
        return r

    def login(self, user: str) -> None:
        """An API token for ``user``, asked with the user's name and password."""
        import requests

        r = requests.post(f"{self.url}/hub/api/users/{user}/tokens", timeout=30,
                          json={"auth": {"username": user, "password": PASSWORD},
                                "note": "nnscratch test", "expires_in": 3600})
        assert r.status_code in (200, 201), f"token for {user}: HTTP {r.status_code} {r.text}"
        s = requests.Session()
        s.headers["Authorization"] = f"token {r.json()['token']}"
        self.sessions[user] = s

    def start_servers(self, *users: str, timeout: float = 150) -> None:
        """Ask the hub to start ``users``' servers (all at once), wait until all are ready."""
        for user in users:
            self.request(user, "POST", f"/hub/api/users/{user}/server", ok=(201, 202, 400))
        deadline = time.monotonic() + timeout
        waiting = list(users)
        while waiting and time.monotonic() < deadline:
            for user in list(waiting):
                model = self.request(user, "GET", f"/hub/api/users/{user}").json()
                if model.get("servers", {}).get("", {}).get("ready"):
                    waiting.remove(user)
            assert self.proc.poll() is None, f"the hub died:\n{self.log_tail()}"
            time.sleep(0.5)
        assert not waiting, f"servers of {waiting} not ready in {timeout} s\n{self.log_tail()}"

    def wait_for(self, user: str, path: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the hub died:\n{self.log_tail()}"
            try:
                r = self.sessions[user].get(self.url + path, timeout=10)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except Exception as exc:  # not up yet
                last = repr(exc)
            time.sleep(0.5)
        raise AssertionError(f"{path} not ready in {timeout} s ({last})\n{self.log_tail()}")

    def formgrader(self, method: str, path: str, timeout: float = 60):
        """formgrader's API on the course service, as the instructor; its JSON answer."""
        r = self.request(INSTRUCTOR, method, f"/services/{COURSE_ID}/formgrader/api/{path}",
                         timeout=timeout)
        return r.json()

    def assignments(self, user: str, action: str | None = None):
        """The Assignments extension of ``user``'s server: list, fetch or submit."""
        prefix = f"/user/{user}/assignments"
        if action is None:
            r = self.request(user, "GET", prefix, params={"course_id": COURSE_ID})
        else:
            r = self.request(user, "POST", f"{prefix}/{action}", timeout=120,
                             json={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        return r.json()


def _stop(hub_proc: subprocess.Popen, marker: str) -> list[int]:
    """Stop the hub (it stops the servers, the service and the proxy), then anything left
    that carries our marker (killed by pid). Returns the pids that had to be killed."""
    if hub_proc.poll() is None:
        hub_proc.send_signal(signal.SIGTERM)
        try:
            hub_proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            hub_proc.kill()
            hub_proc.wait(timeout=10)
    leftovers = []
    needle = f"{MARK}={marker}".encode()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if needle in (d / "environ").read_bytes().split(b"\0"):
                leftovers.append(int(d.name))
        except OSError:
            continue
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftovers


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    try:
        import jupyterhub  # noqa: F401
        import requests  # noqa: F401
    except ImportError as exc:
        _missing(f"jupyterhub is not installed ({exc}): pip install -r requirements.txt")
    if find_chp() is None:
        _missing("configurable-http-proxy not found (npm install configurable-http-proxy; "
                 "looked in $NNSCRATCH_CHP, PATH and .venv/node)")
    if shutil.which("jupyterhub-singleuser", path=str(Path(sys.executable).parent)) is None:
        _missing(f"jupyterhub-singleuser is not next to {sys.executable}")
    from nnscratch.grading import sandbox_kernel as sk

    try:
        sk._probe(sk.find_bwrap(), os.geteuid() == 0)
    except sk.SandboxUnavailable as exc:
        _missing(f"the autograding sandbox cannot run here: {exc}")

    base = tmp_path_factory.mktemp("hub")
    exchange = base / "exchange"  # the hub must create it, world-writable
    data = Path(os.environ.get("NNSCRATCH_DATA", SHARED_MNIST))
    course = base / "course"  # the course folder of the formgrader service
    shutil.copytree(REPO / "exercises", course, ignore=shutil.ignore_patterns(*GENERATED))
    (base / "state").mkdir()
    (base / "grader-home").mkdir()
    ports = dict(zip(("public", "hub", "proxy_api", "formgrader"), _free_ports(4)))
    marker = uuid.uuid4().hex
    config = base / "state" / "test_jupyterhub_config.py"
    _write_test_config(config, ports, base, marker)

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NNSCRATCH_", "JUPYTER", "JPY_"))}
    if (data / "t10k-images-idx3-ubyte.gz").is_file():
        env["NNSCRATCH_DATA"] = str(data)  # the hub passes it on to the servers
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        "NNSCRATCH_OFFLINE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        MARK: marker,
        "NNSCRATCH_HUB_STATE": str(base / "state"),
        "NNSCRATCH_EXCHANGE": str(exchange),
        "NNSCRATCH_COURSE_DIR": str(course),
        "NNSCRATCH_GRADER_USER": "",  # the service runs as the test's own user
        "NNSCRATCH_INSTRUCTORS": INSTRUCTOR,
        "NNSCRATCH_STUDENTS": STUDENT,
        "NNSCRATCH_FORMGRADER_PORT": str(ports["formgrader"]),
        "NNSCRATCH_SINGLEUSER_BIN": str(Path(sys.executable).parent),
        "HOME": str(base / "state"),
        "CONFIGPROXY_AUTH_TOKEN": uuid.uuid4().hex,
    })
    log = base / "jupyterhub.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "jupyterhub"), "-f",
                                 str(config)], cwd=base / "state", env=env, stdout=fh,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    h = Hub(base, f"http://127.0.0.1:{ports['public']}", proc, log, marker, course, exchange)
    try:
        _wait_hub_api(h)
        h.step("hub and proxy up")
        yield h
    finally:
        killed = _stop(proc, marker)
        print(f"\nJupyterHub test: {h.steps}\nleftover processes killed: {killed}")


def _wait_hub_api(h: Hub, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert h.proc.poll() is None, f"jupyterhub exited with {h.proc.returncode}:\n{h.log_tail()}"
        try:
            if requests.get(f"{h.url}/hub/api/", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the hub did not answer in {timeout} s:\n{h.log_tail()}")


def _grades(h: Hub, student: str) -> dict[str, dict]:
    """grade_id -> formgrader's grade record, for ``student``'s ps1-backprop notebook."""
    nbs = h.formgrader("GET", f"submitted_notebooks/{ASSIGNMENT}/{NOTEBOOK[:-6]}")
    ids = [nb["id"] for nb in nbs if nb["student"] == student]
    assert len(ids) == 1, nbs
    grades = h.formgrader("GET", f"grades?submission_id={ids[0]}")
    return {g["name"]: g for g in grades}


def test_course_round_trip_on_jupyterhub(hub: Hub) -> None:
    h = hub
    # the hub made the exchange, world-writable with the sticky bit (nbgrader needs it)
    assert stat.S_IMODE(h.exchange.stat().st_mode) == 0o1777

    for user in (INSTRUCTOR, STUDENT):
        h.login(user)
    h.step("tokens (name + password)")
    h.start_servers(INSTRUCTOR, STUDENT)
    h.step("servers started")

    # --- the instructor, on the formgrader service: generate and release ---------------------
    h.wait_for(INSTRUCTOR, f"/services/{COURSE_ID}/formgrader/api/status")
    listed = h.formgrader("GET", "assignments")
    assert ASSIGNMENT in [a["name"] for a in listed], listed
    res = h.formgrader("POST", f"assignment/{ASSIGNMENT}/assign", timeout=120)
    assert res["success"], res
    assert (h.course / "release" / ASSIGNMENT / NOTEBOOK).is_file()
    res = h.formgrader("POST", f"assignment/{ASSIGNMENT}/release")
    assert res["success"], res
    assert (h.exchange / COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK).is_file()
    h.step("generated + released (formgrader API)")

    # --- the student, on their own server: fetch, solve, submit ------------------------------
    listing = h.assignments(STUDENT)
    assert listing["success"], listing
    assert [(a["assignment_id"], a["status"]) for a in listing["value"]] == [
        (ASSIGNMENT, "released")]
    fetched = h.assignments(STUDENT, "fetch")
    assert fetched["success"], fetched
    status = {a["assignment_id"]: a for a in fetched["value"] if a["status"] == "fetched"}
    nb_path = status[ASSIGNMENT]["notebooks"][0]["path"]
    assert nb_path == f"{ASSIGNMENT}/{NOTEBOOK}"
    contents = f"/user/{STUDENT}/api/contents/{nb_path}"
    model = h.request(STUDENT, "GET", contents, params={"content": 1}).json()
    source = json.loads((h.course / "source" / ASSIGNMENT / NOTEBOOK).read_text())
    h.request(STUDENT, "PUT", contents, json={"type": "notebook", "format": "json",
                                              "content": solved(model["content"], source)})
    submitted = h.assignments(STUDENT, "submit")
    assert submitted["success"], submitted
    assert any(a["status"] == "submitted" for a in submitted["value"]), submitted
    inbound = list((h.exchange / COURSE_ID / "inbound").iterdir())
    assert [p.name.split("+")[0] for p in inbound] == [STUDENT_ID]
    h.step("fetched + solved + submitted (Assignments API, contents API)")

    # --- the instructor: collect, autograde, read the gradebook ------------------------------
    res = h.formgrader("POST", f"assignment/{ASSIGNMENT}/collect")
    assert res["success"], res
    assert (h.course / "submitted" / STUDENT_ID / ASSIGNMENT / NOTEBOOK).is_file()
    res = h.formgrader("POST", f"submission/{ASSIGNMENT}/{STUDENT_ID}/autograde", timeout=300)
    assert res["success"], res.get("error", res)
    autograded = h.course / "autograded" / STUDENT_ID / ASSIGNMENT / NOTEBOOK
    assert autograded.is_file()
    h.step("collected + autograded (formgrader API)")

    submission = h.formgrader("GET", f"submission/{ASSIGNMENT}/{STUDENT_ID}")
    assert submission["autograded"] is True, submission
    grades = _grades(h, STUDENT_ID)
    points = autograded_points(source)
    assert len(points) >= 3 and sum(points.values()) > 0, points
    auto = {name: g["auto_score"] for name, g in grades.items() if name in points}
    assert {name: grades[name]["max_score"] for name in points} == points
    assert auto == points, (auto, _outputs(autograded, points))
    h.step("gradebook read (formgrader API)")

    # --- feedback: the instructor makes and releases it, the student fetches it --------------
    res = h.formgrader("POST", f"assignment/{ASSIGNMENT}/{STUDENT_ID}/generate_feedback",
                       timeout=120)
    assert res["success"], res.get("error", res)
    res = h.formgrader("POST", f"assignment/{ASSIGNMENT}/{STUDENT_ID}/release_feedback")
    assert res["success"], res.get("error", res)
    fb = h.assignments(STUDENT, "fetch_feedback")
    assert fb["success"], fb
    paths = [s["local_feedback_path"] for a in fb["value"] if a["status"] == "submitted"
             for s in a["submissions"] if s.get("local_feedback_path")]
    assert len(paths) == 1, fb
    html_path = f"{paths[0]}/{NOTEBOOK[:-6]}.html"
    page = h.request(STUDENT, "GET", f"/user/{STUDENT}/api/contents/{html_path}",
                     params={"content": 1, "type": "file", "format": "text"}).json()["content"]
    text = " ".join(re.sub(r"<[^>]+>", " ", html.unescape(page)).split())
    assert "BEGIN HIDDEN TESTS" not in text and "END HIDDEN TESTS" not in text
    # the manually graded cells are not graded yet: the total is the autograded points
    assert f"{ASSIGNMENT} (Score: {sum(points.values()):.1f} / " in text, text[:2000]
    h.step("feedback generated + released (formgrader API), fetched (Assignments API)")


def test_extensions_per_role(hub: Hub) -> None:
    """Students: Assignments, no formgrader; the service: formgrader, no Assignments list;
    the instructor's Courses extension finds the course's formgrader service."""
    h = hub
    missing = [u for u in (INSTRUCTOR, STUDENT) if u not in h.sessions]  # run alone
    for user in missing:
        h.login(user)
    h.start_servers(*missing)
    h.wait_for(INSTRUCTOR, f"/services/{COURSE_ID}/formgrader/api/status")
    # server extensions
    h.request(STUDENT, "GET", f"/user/{STUDENT}/formgrader/api/status", ok=(404,))
    h.request(INSTRUCTOR, "GET", f"/user/{INSTRUCTOR}/formgrader/api/status", ok=(404,))
    h.request(INSTRUCTOR, "GET", f"/services/{COURSE_ID}/assignments",
              params={"course_id": COURSE_ID}, ok=(404,))
    # a student's token does not open the formgrader service
    h.request(STUDENT, "GET", f"/services/{COURSE_ID}/formgrader/api/status", ok=(403, 404),
              allow_redirects=False)
    # the service opens on formgrader's own page, a whole page: JupyterHub (>= 4.1) forbids
    # framing it (the blank iframe of JupyterLab's Nbgrader > Formgrader), and we keep that
    r = h.request(INSTRUCTOR, "GET", f"/services/{COURSE_ID}/", ok=(302,), allow_redirects=False)
    where = r.headers["Location"].split("?")[0].rstrip("/")
    assert where.endswith(f"/services/{COURSE_ID}/formgrader"), r.headers["Location"]
    page = h.request(INSTRUCTOR, "GET", f"/services/{COURSE_ID}/formgrader")
    assert "frame-ancestors 'none'" in page.headers.get("Content-Security-Policy", ""), page.headers
    assert "Manage Assignments" in page.text
    courses = h.request(INSTRUCTOR, "GET", f"/user/{INSTRUCTOR}/formgraders").json()
    assert courses["success"], courses
    assert [(c["course_id"], c["kind"]) for c in courses["value"]] == [(COURSE_ID, "jupyterhub")]
    assert courses["value"][0]["url"].startswith(f"{h.url}/services/{COURSE_ID}/")

    # lab extensions (JupyterLab's page config, in the HTML of /lab)
    def disabled(user: str, prefix: str) -> set[str]:
        page = h.request(user, "GET", f"{prefix}/lab").text
        start = page.index('id="jupyter-config-data"')
        data = page[page.index(">", start) + 1:page.index("</script>", start)]
        conf = json.loads(data)
        return {k for k, v in conf.get("disabledExtensions", {}).items()
                if v and k.startswith("@jupyter/nbgrader")} if isinstance(
            conf.get("disabledExtensions"), dict) else {
            k for k in conf.get("disabledExtensions", []) if k.startswith("@jupyter/nbgrader")}

    nbg = "@jupyter/nbgrader:"
    assert disabled(STUDENT, f"/user/{STUDENT}") == {
        nbg + "formgrader", nbg + "create-assignment", nbg + "course-list"}
    assert disabled(INSTRUCTOR, f"/user/{INSTRUCTOR}") == {
        nbg + "formgrader", nbg + "create-assignment"}
    assert disabled(INSTRUCTOR, f"/services/{COURSE_ID}") == {
        nbg + "assignment-list", nbg + "course-list"}
