"""Safe autograding: the student's kernel in a bubblewrap sandbox during ``nbgrader autograde``.

Also the two other fixes of stock nbgrader 0.9 the course configuration uses: restoring deleted
test cells (:class:`RestoreMissingCells`) and feedback without hidden tests
(:class:`ClearHiddenTestsFeedback`). ``exercises/nbgrader_config.py`` installs all three through
:func:`autograde_preprocessors`, :func:`sanitize_preprocessors` and
:func:`feedback_preprocessors`.

The threat
----------
``nbgrader autograde`` executes the student's notebook with the instructor's rights, in the
course directory, and first writes the hidden tests back *into* the notebook it runs
(``autograded/<student>/<assignment>/<notebook>.ipynb``, the kernel's working directory). Stock
nbgrader gives that code everything: the hidden tests in ``source/`` and in the notebook being
graded, ``gradebook.db`` (every student's grades), the other students' submissions, the exchange,
the instructor's home (keys, tokens), the environment (``JUPYTERHUB_API_TOKEN``) and the network;
anything it reads can come back to the student in the feedback.

The sandbox
-----------
:class:`SandboxedExecute` replaces nbgrader's ``Execute`` step of autograding (see
:func:`autograde_preprocessors`); it starts every kernel through :class:`SandboxedKernelManager`,
which wraps the kernel command in ``bwrap`` (Debian/Ubuntu package ``bubblewrap``)::

    bwrap --ro-bind / / --dev /dev --proc /proc            read-only system, own /dev and /proc
          --tmpfs /tmp --tmpfs /run --tmpfs $HOME ...      private, empty scratch and home
          --ro-bind <python env, data> ...                 re-exposed read-only if they were hidden
          --tmpfs <course root> --tmpfs <exchange> ...     the secrets (last, so they always win)
          --bind <sandbox dir> <sandbox dir>               connection file + sockets + scratch
          --unshare-pid --unshare-ipc --unshare-uts --unshare-net --die-with-parent
          --cap-drop ALL --clearenv --setenv ...           no capabilities, a minimal environment
          -- python -I -S -c <limits> ...                  rlimits, drop root to nobody, chdir
          -- python -m ipykernel_launcher -f <connection file>     into <sandbox dir>/work

Hidden: the course root (with ``source/``, ``release/``, ``submitted/``, ``autograded/`` -- so
also the notebook being graded --, ``feedback/``, ``gradebook.db`` and the log), each of those
folders and the database again if configured elsewhere, the exchange and its cache, ``$HOME``,
``/tmp``, ``/var/tmp``, ``/run``, and every path in ``SandboxedKernelManager.hidden_paths`` or
``$NNSCRATCH_SANDBOX_HIDE`` (``os.pathsep``-separated). The Python environment and the data
folders are re-exposed read-only when they sit in ``$HOME`` or ``/tmp``. Without a network
namespace loopback TCP would not reach the kernel, so the kernel talks over ZeroMQ's ``ipc``
transport (Unix sockets in the sandbox folder), and interrupts go over the control channel
(a SIGINT to the process group would kill the outer ``bwrap``, and the kernel with it). When
nbgrader runs as root the kernel runs as
``nobody`` (``sandbox_user``), with ``RLIMIT_NPROC``; always with ``RLIMIT_AS`` (``memory_limit``,
``$NNSCRATCH_SANDBOX_MEMORY``). Non-notebook files of the assignment (data files an assignment
ships) are copied into the kernel's working folder; symbolic links are not followed.

A kernel that dies (``os._exit``, a segfault, the memory limit) or stops answering after a
timeout no longer fails the whole submission (stock nbgrader drops it and exits with an error):
the cell gets an error and every later cell is marked "not run", so their tests score 0 --
never full marks for cells that did not run -- and the other students are graded as usual.

Setup and opt-out
-----------------
``bwrap`` must be installed (``apt-get install bubblewrap``; ``$NNSCRATCH_BWRAP`` names another
binary). Without it autograding fails with a message saying so, unless the instructor sets
``NNSCRATCH_SANDBOX=off`` (then student code runs unsandboxed, with a warning in the log). As a
non-root user bwrap needs unprivileged user namespaces (``kernel.unprivileged_userns_clone=1``;
in Docker a seccomp profile that allows them); a failing probe says so.

Feedback
--------
:class:`ClearHiddenTestsFeedback` is nbgrader's ``ClearHiddenTests`` for ``generate_feedback``:
it also cuts the tracebacks of hidden-test cells to their last line, because IPython's
tracebacks quote the hidden code.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute, OverwriteCells
from traitlets import Bool, Int, List, Unicode

__all__ = [
    "ENV_BWRAP",
    "ENV_HIDE",
    "ENV_MEMORY",
    "ENV_SANDBOX",
    "ClearHiddenTestsFeedback",
    "RestoreMissingCells",
    "SandboxUnavailable",
    "SandboxedExecute",
    "SandboxedKernelManager",
    "autograde_preprocessors",
    "feedback_preprocessors",
    "find_bwrap",
    "parse_size",
    "sandbox_enabled",
    "sanitize_preprocessors",
]

ENV_SANDBOX = "NNSCRATCH_SANDBOX"
"""``off`` (or 0/no/false) autogrades without the sandbox: the instructor's explicit opt-out."""
ENV_BWRAP = "NNSCRATCH_BWRAP"
"""Path of the bubblewrap binary (default: ``bwrap`` on ``PATH``, then ``/usr/bin/bwrap``)."""
ENV_MEMORY = "NNSCRATCH_SANDBOX_MEMORY"
"""Address-space limit of the kernel, e.g. ``4G`` (overrides ``memory_limit``; ``0`` = none)."""
ENV_HIDE = "NNSCRATCH_SANDBOX_HIDE"
"""Extra paths to hide from the kernel, separated by ``os.pathsep``."""

INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
    "`sudo dnf install bubblewrap`; Arch: `sudo pacman -S bubblewrap`) or point "
    f"${ENV_BWRAP} at the binary. To autograde WITHOUT the sandbox (student code then runs with "
    "your rights and can read the hidden tests and the gradebook), set "
    f"{ENV_SANDBOX}=off."
)

# Environment variables the kernel may see (names, or prefixes ending in "_"). Anything else --
# tokens, passwords, JUPYTERHUB_*, cloud credentials -- is dropped by --clearenv.
ENV_KEEP_DEFAULT = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "LC_",
    "NNSCRATCH_DATA",
    "NNSCRATCH_OFFLINE",
    "NNSCRATCH_CACHE",
    "OPENBLAS_",
    "OMP_",
    "MKL_",
    "NUMBA_",
    "NUMEXPR_",
    "TF_CPP_",
    "PYTHONHASHSEED",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "NBGRADER_EXECUTION",
    "JPY_SESSION_NAME",
)

_OFF = {"0", "off", "no", "false", "disable", "disabled"}

# Runs inside the sandbox, before the kernel: limits, then (as root) become an unprivileged user.
# `python -I -S`: no site, no user paths, nothing of the sandboxed environment is imported.
_INNER = """\
import os, resource, sys
uid, gid, mem, nproc = (int(v) for v in sys.argv[1:5])
if mem > 0:
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
if nproc > 0:
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
if uid >= 0:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        sys.exit("sandbox: could not drop root")
os.chdir(sys.argv[5])
argv = sys.argv[7:]
os.execv(argv[0], argv)
"""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create the sandbox on this machine."""


def sandbox_enabled() -> bool:
    """False only when the instructor opted out with ``NNSCRATCH_SANDBOX=off``."""
    return os.environ.get(ENV_SANDBOX, "").strip().lower() not in _OFF


def parse_size(value: str | int) -> int:
    """A byte count from ``"4G"``, ``"512M"``, ``"1.5g"``, ``"100000"`` or an int (``0`` = none).

    Raises
    ------
    ValueError
        When ``value`` is not a non-negative size with an optional K/M/G/T suffix.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        n = float(value)
    else:
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        factor = 1
        if text and text[-1] in "KMGT":
            factor = 1024 ** ("KMGT".index(text[-1]) + 1)
            text = text[:-1]
        try:
            n = float(text) * factor
        except ValueError:
            n = -1.0
    if not n >= 0:
        raise ValueError(
            f"a memory size must be a number of bytes >= 0 with an optional K/M/G/T suffix "
            f"(e.g. '4G'); got {value!r}"
        )
    return int(n)


def find_bwrap() -> str:
    """The bubblewrap binary: ``$NNSCRATCH_BWRAP``, ``bwrap`` on ``PATH`` or ``/usr/bin/bwrap``.

    Raises
    ------
    SandboxUnavailable
        With the install instructions, when none of them exists.
    """
    env = os.environ.get(ENV_BWRAP, "").strip()
    candidates = [env] if env else [shutil.which("bwrap") or "", "/usr/bin/bwrap"]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    where = f"${ENV_BWRAP}={env}" if env else "`bwrap` on PATH or /usr/bin/bwrap"
    raise SandboxUnavailable(
        f"nnscratch autograding runs student code in a bubblewrap sandbox, but {where} was not "
        f"found. {INSTALL_HINT}"
    )


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str, as_root: bool) -> None:
    """Start one tiny sandbox with the same namespaces as the kernel's; cached per process."""
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
           "--unshare-ipc", "--unshare-uts", "--unshare-net", "--die-with-parent"]
    if as_root:
        cmd += ["--cap-drop", "ALL"]
    cmd += ["--", "/bin/true" if os.path.exists("/bin/true") else "true"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"{bwrap} could not be run: {exc}. {INSTALL_HINT}") from None
    if r.returncode != 0:
        raise SandboxUnavailable(
            f"{bwrap} cannot create a sandbox here (exit {r.returncode}: {r.stderr.strip()}). "
            "As a non-root user bubblewrap needs unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1; in Docker a seccomp profile that "
            f"allows them), or run autograding as root. {INSTALL_HINT}"
        )


def _real(p: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(p))))


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _env_split(name: str) -> list[str]:
    return [p for p in os.environ.get(name, "").split(os.pathsep) if p.strip()]


def _needed_paths(kernel_argv: t.Sequence[str]) -> list[Path]:
    """What the kernel must still read: its Python, its import path and the course data."""
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)]
    found += [p for p in sys.path if p and os.path.isdir(p)]
    if kernel_argv:
        exe = shutil.which(kernel_argv[0]) or kernel_argv[0]
        found.append(os.path.dirname(os.path.dirname(os.path.realpath(exe))))
    for name in ("NNSCRATCH_DATA", "NNSCRATCH_CACHE"):
        found += _env_split(name)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
    found.append(os.path.join(xdg, "nnscratch"))
    out: list[Path] = []
    for p in found:
        rp = _real(p)
        if rp.exists() and rp not in out:
            out.append(rp)
    return out


class SandboxedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel runs inside ``bwrap`` (see the module docstring).

    :class:`SandboxedExecute` sets :attr:`secret_paths` (the course's folders, database and
    exchange) on each instance before the kernel starts.
    """

    hidden_paths = List(
        Unicode(),
        help="Extra paths to hide from the kernel (besides the course, exchange, $HOME, /tmp).",
    ).tag(config=True)

    memory_limit = Unicode(
        "4G",
        help=f"RLIMIT_AS of the kernel ('0' = none); ${ENV_MEMORY} overrides it.",
    ).tag(config=True)

    nproc_limit = Int(
        512,
        help="RLIMIT_NPROC of the kernel's user (set only when nbgrader runs as root, because "
        "the kernel then runs as sandbox_user; root itself ignores the limit).",
    ).tag(config=True)

    network = Bool(
        False,
        help="Give the kernel the network (TCP transport, no network namespace). Default: none.",
    ).tag(config=True)

    sandbox_user = Int(
        65534,
        help="When nbgrader runs as root, the kernel runs as this uid/gid (default: nobody); "
        "-1 keeps it root, without capabilities.",
    ).tag(config=True)

    env_keep = List(
        Unicode(),
        default_value=list(ENV_KEEP_DEFAULT),
        help="Environment variables passed to the kernel (a trailing '_' keeps a prefix).",
    ).tag(config=True)

    max_copy_bytes = Int(
        200 * 1024**2,
        help="Most bytes of assignment files copied into the kernel's working folder.",
    ).tag(config=True)

    secret_paths: list[str]
    sandbox_dir: str | None = None

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.secret_paths = []
        self.sandbox_dir = None

    # -- start-up -------------------------------------------------------------------------------

    async def _async_pre_start_kernel(self, **kw: t.Any) -> tuple[list[str], dict[str, t.Any]]:
        self._bwrap = find_bwrap()
        self._as_root = os.geteuid() == 0
        _probe(self._bwrap, self._as_root)
        if self.sandbox_dir is None:
            self._make_sandbox_dir(kw.get("cwd"))
        assert self.sandbox_dir is not None
        if not self.network:
            # loopback TCP does not cross a network namespace: Unix sockets in the sandbox folder
            self.transport = "ipc"
            self.ip = os.path.join(self.sandbox_dir, "ipc")
        self.connection_file = os.path.join(self.sandbox_dir, "kernel.json")
        # SIGINT to the process group would also hit the outer bwrap, which dies of it (and
        # takes the kernel along): interrupt over the control channel instead
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if self._as_root and self.sandbox_user >= 0:
            os.chown(self.connection_file, self.sandbox_user, self.sandbox_user)
        return cmd, kw

    def _make_sandbox_dir(self, cwd: str | None) -> None:
        # short path: Unix socket paths are limited to 107 bytes
        base = "/tmp" if os.path.isdir("/tmp") else None
        d = tempfile.mkdtemp(prefix="nnsbx-", dir=base)
        for sub in ("work", "home", "tmp"):
            os.mkdir(os.path.join(d, sub))
        if cwd:
            self._copy_assignment_files(Path(cwd), Path(d, "work"))
        _seed_matplotlib_cache(Path(d, "home", ".matplotlib"))
        _seed_numba_cache(Path(d, "home", ".numba"))
        if os.geteuid() == 0 and self.sandbox_user >= 0:
            for root, dirs, files in os.walk(d):
                for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
                    os.lchown(name, self.sandbox_user, self.sandbox_user)
        self.sandbox_dir = d

    def _copy_assignment_files(self, src: Path, dest: Path) -> None:
        """Regular files next to the notebook, except notebooks and hidden files; no symlinks."""
        budget = self.max_copy_bytes
        for root, dirs, files in os.walk(src, followlinks=False):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            rel = Path(root).relative_to(src)
            for name in files:
                if name.startswith(".") or name.endswith(".ipynb"):
                    continue
                path = Path(root, name)
                st = path.lstat()
                if not stat.S_ISREG(st.st_mode) or st.st_size > budget:
                    continue
                budget -= st.st_size
                (dest / rel).mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest / rel / name, follow_symlinks=False)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments=extra_arguments)
        return self.sandbox_command(argv)

    def sandbox_command(self, kernel_argv: list[str]) -> list[str]:
        """``kernel_argv`` wrapped in bwrap (the command nbgrader's kernel really runs)."""
        assert self.sandbox_dir is not None, "the sandbox folder is made in pre_start_kernel"
        sbx = self.sandbox_dir
        home, scratch = os.path.join(sbx, "home"), os.path.join(sbx, "tmp")
        cmd = [self._bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--perms", "1777", "--tmpfs", "/dev/shm"]

        # 1. broad private areas; 2. re-expose what the kernel needs; 3. the secrets, last
        broad = [Path("/tmp"), Path("/var/tmp"), Path("/run")]
        home_env = os.environ.get("HOME", "")
        user_home = _real(home_env) if home_env else None
        if user_home is not None and user_home != Path("/"):
            broad.append(user_home)
        hide = [*self.secret_paths, *self.hidden_paths, *_env_split(ENV_HIDE)]
        secrets = [_real(p) for p in hide]
        needed = [p for p in _needed_paths(kernel_argv)
                  if not any(_inside(p, s) for s in secrets)]
        broad = [b for b in broad if b.is_dir()]
        for b in broad:
            cmd += ["--perms", "0755" if b == user_home else "1777", "--tmpfs", str(b)]
        made: set[Path] = set()
        bound: list[Path] = []
        for p in sorted(needed, key=lambda q: len(q.parts)):
            outer = [b for b in broad if _inside(p, b)]
            if not outer or any(_inside(p, q) for q in bound):
                continue
            bound.append(p)
            # bwrap would make the missing parents 0700: make them 0755, top-down
            for a in reversed(p.parents):
                if a not in made and any(_inside(a, b) and a != b for b in outer):
                    cmd += ["--perms", "0755", "--dir", str(a)]
                    made.add(a)
            cmd += ["--ro-bind", str(p), str(p)]
        empty = os.path.join(sbx, ".empty")
        Path(empty).touch()
        for s in secrets:
            if any(_inside(s, d) and s != d for d in secrets if d.is_dir()):
                continue  # already gone with a hidden folder: must not reappear as a stub
            if s.is_dir():
                cmd += ["--tmpfs", str(s)]
            elif s.exists():
                cmd += ["--ro-bind", empty, str(s)]
        cmd += ["--bind", sbx, sbx, "--chdir", "/"]

        cmd += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox",
                "--unshare-cgroup-try", "--die-with-parent"]
        if not self.network:
            cmd += ["--unshare-net"]
        uid = gid = -1
        nproc = 0
        if self._as_root:
            cmd += ["--cap-drop", "ALL"]
            if self.sandbox_user >= 0:  # kept only to become sandbox_user, then gone
                cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
                uid = gid = self.sandbox_user
                nproc = self.nproc_limit

        cmd += ["--clearenv"]
        for name, value in self._kernel_env(home, scratch).items():
            cmd += ["--setenv", name, value]

        mem = parse_size(os.environ.get(ENV_MEMORY, "").strip() or self.memory_limit)
        python = os.path.realpath(sys.executable)
        return [*cmd, "--", python, "-I", "-S", "-c", _INNER,
                str(uid), str(gid), str(mem), str(nproc), os.path.join(sbx, "work"), "--",
                *kernel_argv]

    def _kernel_env(self, home: str, scratch: str) -> dict[str, str]:
        keep = [k for k in self.env_keep if not k.endswith("_")]
        prefixes = tuple(k for k in self.env_keep if k.endswith("_"))
        env = {k: v for k, v in os.environ.items() if k in keep or k.startswith(prefixes)}
        env.setdefault("PATH", os.defpath)
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(
            os.path.expanduser("~"), ".cache")
        env.update(
            HOME=home,
            TMPDIR=scratch,
            XDG_CACHE_HOME=xdg,  # where nnscratch looks for downloaded data
            MPLCONFIGDIR=os.path.join(home, ".matplotlib"),
            # the source tree is read-only here: numba (nnscratch.ising) caches in the home
            NUMBA_CACHE_DIR=os.path.join(home, ".numba"),
            IPYTHONDIR=os.path.join(home, ".ipython"),
            JUPYTER_RUNTIME_DIR=os.path.join(home, ".runtime"),
            PYTHONDONTWRITEBYTECODE="1",
            JPY_PARENT_PID="1",  # the kernel's parent is bwrap's init (PID 1 of the namespace)
            NNSCRATCH_SANDBOXED="1",
        )
        if not self.network:
            env["NNSCRATCH_OFFLINE"] = "1"
        return env

    # -- clean-up -------------------------------------------------------------------------------

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.sandbox_dir:
            shutil.rmtree(self.sandbox_dir, ignore_errors=True)
            self.sandbox_dir = None

    cleanup_resources = _async_cleanup_resources  # type: ignore[assignment]


def _seed_matplotlib_cache(dest: Path) -> None:
    """Copy the instructor's matplotlib font list (else each kernel rebuilds it: ~3 s)."""
    env = os.environ.get("MPLCONFIGDIR", "").strip()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join("~", ".cache")
    for src in ([Path(env)] if env else []) + [_real(os.path.join(xdg, "matplotlib"))]:
        fonts = sorted(src.glob("fontlist-*.json")) if src.is_dir() else []
        if fonts:
            dest.mkdir(parents=True, exist_ok=True)
            for f in fonts:
                shutil.copyfile(f, dest / f.name)
            return


def _seed_numba_cache(dest: Path) -> None:
    """Copy the compiled numba kernels of ``nnscratch.ising`` (else each kernel that uses the
    Ising sampler compiles them again: ~3 s) into ``dest``, the kernel's ``NUMBA_CACHE_DIR``,
    where numba looks for them: ``<dest>/<folder>_<sha1 of the source folder's path>/``."""
    folder = Path(__file__).resolve().parents[1] / "ising"
    compiled = sorted((folder / "__pycache__").glob("_kernels.*.nb[ic]"))
    if compiled:
        sub = dest / f"{folder.name}_{hashlib.sha1(str(folder).encode()).hexdigest()}"
        sub.mkdir(parents=True, exist_ok=True)
        for f in compiled:
            shutil.copyfile(f, sub / f.name)


def _find_coursedir(obj: t.Any) -> t.Any:
    while obj is not None:
        cd = getattr(obj, "coursedir", None)
        if cd is not None:
            return cd
        obj = getattr(obj, "parent", None)
    return None


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with the kernel in a bubblewrap sandbox, robust to dead kernels.

    Refuses to run (``SandboxUnavailable``) when bwrap is missing, unless ``NNSCRATCH_SANDBOX=off``.
    """

    probe_timeout = Int(
        10,
        help="After a cell timed out, seconds the kernel gets to answer again before it is "
        "declared unresponsive (then the rest of the notebook is not run).",
    ).tag(config=True)

    def __init__(self, **kwargs: t.Any) -> None:
        if sandbox_enabled():
            kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    def preprocess(self, nb: NotebookNode, resources: t.Any = None, km: t.Any = None):
        if sandbox_enabled():  # fail here, with the install hint, rather than at kernel start
            _probe(find_bwrap(), os.geteuid() == 0)
        else:
            self.log.warning(
                "%s=off: autograding WITHOUT the bubblewrap sandbox -- student code runs with "
                "your rights and can read the hidden tests, the gradebook and your files.",
                ENV_SANDBOX,
            )
        self._stopped: str | None = None
        return super().preprocess(nb, resources, km)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.secret_paths = self._secret_paths()
        return km

    def _secret_paths(self) -> list[str]:
        paths: list[str] = []
        cd = _find_coursedir(self)
        if cd is not None:
            paths.append(cd.root)
            for step in ("source_directory", "release_directory", "submitted_directory",
                         "autograded_directory", "feedback_directory"):
                paths.append(os.path.join(cd.root, getattr(cd, step)))
            if cd.db_url.startswith("sqlite:///"):
                paths.append(cd.db_url[len("sqlite:///"):])
        exchange = self.config.get("Exchange", {})
        paths.append(exchange.get("root", "/usr/local/share/nbgrader/exchange"))
        if exchange.get("cache"):
            paths.append(exchange["cache"])
        else:
            from jupyter_core.paths import jupyter_data_dir

            paths.append(os.path.join(jupyter_data_dir(), "nbgrader_cache"))
        # the notebook's own folder (autograded/<student>/<assignment>), wherever it is
        path = (self.resources or {}).get("metadata", {}).get("path")
        if path:
            paths.append(path)
        return paths

    # -- a dead or unresponsive kernel costs the rest of the notebook, not the whole run --------

    def preprocess_cell(self, cell: NotebookNode, resources: t.Any, index: int):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._stopped:
            cell.outputs = [_error_output("NotRun", f"this cell was not run: {self._stopped}")]
            return cell, self.resources
        try:
            cell, res = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            # nbclient gives up waiting for the kernel to go idle after the interrupt
            self._stopped = "the kernel stopped answering after a timeout in an earlier cell"
            cell.setdefault("outputs", []).append(_error_output(
                "CellTimeoutError",
                "the cell ran out of time and the kernel did not stop; the cells after it "
                "were not run",
            ))
            self.log.error("The kernel did not stop after the timeout in cell %d; the rest of "
                           "the notebook is not run", index)
            return cell, self.resources
        except DeadKernelError:
            self._stopped = "the kernel died in an earlier cell"
            cell.setdefault("outputs", []).append(_error_output(
                "DeadKernelError",
                "the kernel died while running this cell (os._exit, a crash, or the memory "
                "limit); the cells after it were not run",
            ))
            self.log.error("The kernel died in cell %d; the rest of the notebook is not run", index)
            return cell, self.resources
        timed_out = any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                        for o in cell.get("outputs", []))
        if timed_out and not self._kernel_answers():
            self._stopped = "the kernel stopped answering after a timeout in an earlier cell"
            self.log.error("The kernel did not answer after the timeout in cell %d; the rest "
                           "of the notebook is not run", index)
        return cell, res

    def _kernel_answers(self) -> bool:
        """Ask for ``kernel_info``; True if the kernel replies within ``probe_timeout`` s."""
        return run_sync(self._async_kernel_answers)()

    async def _async_kernel_answers(self) -> bool:
        assert self.kc is not None
        try:
            msg_id = self.kc.kernel_info()
            deadline = time.monotonic() + self.probe_timeout
            while time.monotonic() < deadline:
                try:
                    reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
                except Empty:
                    if not await ensure_async(self.kc.is_alive()):
                        return False
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    return True
        except Exception:  # a broken channel is an unresponsive kernel
            return False
        return False


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class ClearHiddenTestsFeedback(ClearHiddenTests):
    """``ClearHiddenTests`` for feedback: removes the hidden test code, and reduces the error
    tracebacks of those cells to ``ename: evalue`` (IPython's tracebacks quote the code)."""

    def preprocess_cell(self, cell: NotebookNode, resources: t.Any, cell_index: int):
        had_hidden = (cell.cell_type == "code"
                      and self.begin_test_delimeter in cell.source)
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_hidden:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources


class RestoreMissingCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, but a deleted grade cell always finds its way back.

    With ``add_missing_cells`` nbgrader 0.9.6 puts a deleted grade cell after the source cell
    just before it, and fails the whole submission (``KeyError``) when that cell is not a grade
    or solution cell -- e.g. a locked markdown cell above a test. Here it goes after the nearest
    earlier cell of the source that the submission still has (the top if there is none).
    """

    def add_missing_grade_cells(self, nb: NotebookNode, resources: t.Any):
        from nbformat import from_dict

        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        cells = list(source_nb.source_cells)
        order = [c.name for c in cells]
        solution_ids = {c.name for c in source_nb.solution_cells}
        present = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
                   if "nbgrader" in c.metadata and "grade_id" in c.metadata["nbgrader"]}
        missing = [g for g in source_nb.grade_cells if g.name not in present]
        for grade_cell in sorted(missing, key=lambda g: order.index(g.name)):
            self.log.warning("Missing grade cell %s encountered, adding to notebook",
                             grade_cell.name)
            k = order.index(grade_cell.name)
            new = from_dict(dict(self.missing_cell_transform(
                cells[k], grade_cell.max_score,
                is_solution=grade_cell.name in solution_ids)))
            anchor = next((present[order[j]] for j in range(k - 1, -1, -1)
                           if order[j] in present), None)
            at = 0 if anchor is None else next(
                i for i, c in enumerate(nb.cells) if c is anchor) + 1
            nb.cells.insert(at, new)
            present[grade_cell.name] = new
        return nb, resources


def _replaced_in_autograde(trait: str, steps: str, old: type, new: type) -> list[t.Any]:
    """nbgrader's ``Autograde.<trait>`` with ``old`` replaced by ``new``; a ``RuntimeError``
    (naming ``steps``) if nbgrader no longer uses ``old``. ``trait`` is also the name of the
    public function that asks."""
    from nbgrader.converters import Autograde

    default = Autograde.class_traits()[trait].default()
    if old not in default:
        raise RuntimeError(
            f"nbgrader's {steps} steps changed (no {old.__name__} in {default}); update "
            f"nnscratch.grading.sandbox_kernel.{trait}"
        )
    return [new if p is old else p for p in default]


def sanitize_preprocessors() -> list[t.Any]:
    """nbgrader's ``Autograde.sanitize_preprocessors``, ``OverwriteCells`` replaced by
    :class:`RestoreMissingCells`."""
    return _replaced_in_autograde(
        "sanitize_preprocessors", "sanitize", OverwriteCells, RestoreMissingCells
    )


def autograde_preprocessors() -> list[t.Any]:
    """nbgrader's own ``Autograde.autograde_preprocessors``, ``Execute`` replaced by
    :class:`SandboxedExecute`."""
    return _replaced_in_autograde("autograde_preprocessors", "autograde", Execute, SandboxedExecute)


def feedback_preprocessors() -> list[t.Any]:
    """nbgrader's ``GenerateFeedback.preprocessors`` plus :class:`ClearHiddenTestsFeedback`
    (right after ``GetGrades``, which needs the cells as they were graded)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import GetGrades

    default = list(GenerateFeedback.class_traits()["preprocessors"].default())
    at = default.index(GetGrades) + 1 if GetGrades in default else 0
    return [*default[:at], ClearHiddenTestsFeedback, *default[at:]]
