"""JupyterHub configuration for the nnscratch course (nbgrader 0.9, JupyterHub >= 5.3).

    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py        # as root; see README.md

Who does what (nbgrader's "one class, multiple graders" layout):

* students (group ``nbgrader-nnscratch``): their own JupyterLab with *Assignments* (fetch,
  validate, submit, fetch feedback);
* instructors (group ``formgrade-nnscratch``): their own JupyterLab with *Assignments* and
  *Courses*, and access to the course's **formgrader service**;
* the formgrader service, named after the course id (``nnscratch``): a JupyterLab started by the
  hub as the grader account in the course folder (a copy of the repository's ``exercises/``),
  with formgrader and *Create Assignment*. It generates, releases, collects, autogrades (in the
  bubblewrap sandbox of ``exercises/nbgrader_config.py``) and makes feedback. Instructors open it
  at ``/services/nnscratch/formgrader`` in its own browser tab (JupyterHub >= 4.1 forbids the iframe
  that JupyterLab's *Nbgrader > Formgrader* menu would use: it stays blank).

Every setting below that depends on the server comes from an environment variable, with the
production default after it; README.md lists them. Which nbgrader extensions each role gets is
decided by the configuration folder the hub puts on the server's ``JUPYTER_CONFIG_PATH``
(``jupyter-config/{student,instructor,grader}`` next to this file, plus ``jupyter-config/common``
for the exchange and the course id).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

HERE = Path(__file__).resolve().parent
CONFIG_DIRS = HERE / "jupyter-config"
COURSE_ID = "nnscratch"  # = c.CourseDirectory.course_id of exercises/nbgrader_config.py


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _names(name: str, default: str) -> list[str]:
    return [u.strip() for u in _env(name, default).split(",") if u.strip()]


# --- paths and accounts (edit here, or set the variables) ----------------------------------------
STATE_DIR = Path(_env("NNSCRATCH_HUB_STATE", "/srv/jupyterhub"))  # hub database, cookie secret
EXCHANGE = Path(_env("NNSCRATCH_EXCHANGE", "/srv/nbgrader/exchange"))
GRADER_USER = os.environ.get("NNSCRATCH_GRADER_USER", f"grader-{COURSE_ID}").strip()
COURSE_DIR = Path(_env("NNSCRATCH_COURSE_DIR", f"/home/grader-{COURSE_ID}/{COURSE_ID}"))
INSTRUCTORS = _names("NNSCRATCH_INSTRUCTORS", "instructor1")
STUDENTS = _names("NNSCRATCH_STUDENTS", "student1")
#: the Python environment of the single-user servers and of the formgrader service: it needs
#: `pip install -r requirements.txt` (nbgrader, JupyterLab, nnscratch, ...). Default: the hub's.
SINGLEUSER_BIN = Path(_env("NNSCRATCH_SINGLEUSER_BIN", str(Path(sys.executable).parent)))
FORMGRADER_PORT = int(_env("NNSCRATCH_FORMGRADER_PORT", "9999"))
HUB_URL = _env("NNSCRATCH_HUB_URL", "http://:8000")

# --- the hub -------------------------------------------------------------------------------------
c.JupyterHub.bind_url = HUB_URL  # put TLS in front (a reverse proxy, or ssl_cert/ssl_key)
STATE_DIR.mkdir(parents=True, exist_ok=True)
c.JupyterHub.db_url = f"sqlite:///{STATE_DIR / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE_DIR / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE_DIR / "jupyterhub-proxy.pid")

# Real Unix accounts (PAM, JupyterHub's default authenticator and LocalProcessSpawner): create
# them with `useradd -m`; see README.md for other authenticators and spawners.
c.Authenticator.allowed_users = set(INSTRUCTORS) | set(STUDENTS)

# --- the exchange: must exist, writable by every user server (nbgrader) -----------------------
EXCHANGE.mkdir(parents=True, exist_ok=True)
if stat.S_IMODE(EXCHANGE.stat().st_mode) & 0o1777 != 0o1777:
    try:
        EXCHANGE.chmod(0o1777)
    except PermissionError as exc:
        raise SystemExit(
            f"the nbgrader exchange {EXCHANGE} must be world-writable with the sticky bit: "
            f"run `sudo chmod 1777 {EXCHANGE}` ({exc})"
        ) from exc

# --- groups and permissions ----------------------------------------------------------------------
# nbgrader's names: formgrade-<course> for instructors/graders, nbgrader-<course> for students.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE_ID}": {"users": STUDENTS},
}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE_ID}",
        "description": f"use the formgrader service of {COURSE_ID}",
        "groups": [f"formgrade-{COURSE_ID}"],
        "scopes": [
            f"access:services!service={COURSE_ID}",
            # the Courses extension lists the formgrader services it may link to
            "list:services",
            f"read:services!service={COURSE_ID}",
        ],
    },
    {
        # tokens of the single-user servers carry their owner's permissions, so an instructor's
        # Courses extension can find the course's service (nbgrader's demo does the same)
        "name": "server",
        "scopes": ["inherit"],
    },
]

# --- single-user servers -------------------------------------------------------------------------
_PATH = f"{SINGLEUSER_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def _config_path(role: str) -> str:
    return os.pathsep.join(str(CONFIG_DIRS / d) for d in (role, "common"))


def _role(spawner) -> str:
    return "instructor" if spawner.user.name in INSTRUCTORS else "student"


def _forward(*names: str) -> dict[str, str]:
    return {n: os.environ[n] for n in names if os.environ.get(n)}


#: what every server of the course needs: nbgrader runs `alembic` from PATH; the exchange;
#: where MNIST is (a world-readable folder, optional: see the README of exercises/)
COURSE_ENV = {
    "PATH": _PATH,
    "NNSCRATCH_EXCHANGE": str(EXCHANGE),
    **_forward("NNSCRATCH_DATA", "NNSCRATCH_OFFLINE", "NNSCRATCH_BWRAP", "NNSCRATCH_SANDBOX_MEMORY",
               "NNSCRATCH_SANDBOX_HIDE"),
}

c.Spawner.cmd = [str(SINGLEUSER_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    **COURSE_ENV,
    # which nbgrader extensions: students get Assignments; instructors Assignments + Courses
    "JUPYTER_CONFIG_PATH": lambda spawner: _config_path(_role(spawner)),
}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120

# --- the formgrader: a hub service named after the course ----------------------------------------
if not (COURSE_DIR / "nbgrader_config.py").is_file():
    print(
        f"[nnscratch] WARNING: no course at {COURSE_DIR} (copy the repository's exercises/ there, "
        "owned by the grader account, or set NNSCRATCH_COURSE_DIR)",
        file=sys.stderr,
    )
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [str(SINGLEUSER_BIN / "jupyterhub-singleuser")],
        # the grader account ("" = the hub's own user): owns the course folder and gradebook.db
        "user": GRADER_USER,
        # nbgrader commands run in the course folder: its nbgrader_config.py (the sandbox,
        # the feedback filter, the time limits) is read from there, and it is the course root
        "cwd": str(COURSE_DIR),
        "environment": {
            **COURSE_ENV,
            "JUPYTER_CONFIG_PATH": _config_path("grader"),
            # land on formgrader's own page (a full page, not the blank iframe of JupyterLab)
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        },
        "display": True,
        "info": {"course": COURSE_ID, "what": "nbgrader formgrader"},
    }
]
