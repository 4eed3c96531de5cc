"""Run a function in a forked child process: timeout, memory limit, captured output.

:func:`run_in_child` forks (the child inherits every definition of the kernel, so the student's
classes need no pickling), runs ``fn(*args, **kwargs)`` in the child and returns a
:class:`ChildResult` in the parent, which never raises because of the child and never hangs:

* the child gets its own process group; on timeout the whole group is killed (``SIGKILL``);
* ``RLIMIT_AS`` (address space) is set in the child to its current size plus ``memory_mb``;
  ``RLIMIT_CPU`` backs up the wall-clock timeout, ``RLIMIT_CORE`` is 0, ``RLIMIT_FSIZE`` bounds
  the files it may write;
* file descriptors 0/1/2 of the child are ``/dev/null`` and two pipes, and ``sys.stdin``,
  ``sys.stdout``, ``sys.stderr`` are replaced (also the old stream objects, and a Jupyter
  kernel's message channel is cut), so nothing the child prints reaches the notebook; the parent
  counts the lines and keeps the first 64 KiB for the instructor, never for the report;
* the value ``fn`` returns travels back through a pipe in a small format of our own
  (:func:`encode`/:func:`decode`): JSON for the structure, raw bytes for arrays of dtype float64,
  int64 or bool. Nothing is unpickled in the parent.

Linux (or another POSIX system with ``fork``) only.
"""

from __future__ import annotations

import contextlib
import faulthandler
import linecache
import math
import os
import resource
import select
import signal
import sys
import sysconfig
import time
import traceback
import warnings
from dataclasses import dataclass, field

import numpy

from ._pristine import BUILTINS, np, restore_environment, restore_grader

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

_MAGIC = b"NNSG\x01"
_DTYPES = {"<f8": np.float64, "<i8": np.int64, "|b1": np.bool_}
_KEEP_OUTPUT = 64 * 1024  # bytes of each stream kept for the instructor
_MAX_RESULT = 256 * 1024 * 1024  # bytes of result accepted from a child
_MAX_MESSAGE = 160  # characters of an exception message shown to a student


# --------------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------------


class WireError(ValueError):
    """The bytes a child sent are not a valid message."""


def encode(obj: object) -> bytes:
    """Serialise ``obj`` (None, bool, int, float, str, lists/tuples, dicts with str keys, and
    ndarrays of dtype float64/int64/bool) to bytes for :func:`decode`."""
    import json

    buffers: list[bytes] = []
    offset = 0

    def tree(x: object) -> object:
        nonlocal offset
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x)
        if isinstance(x, np.generic):
            return tree(x.item())
        if isinstance(x, np.ndarray):
            a = x
            if a.dtype.kind == "f":
                a = a.astype(np.float64)
            elif a.dtype.kind in "iu":
                a = a.astype(np.int64)
            elif a.dtype.kind != "b":
                raise WireError(f"cannot send an array of dtype {a.dtype}")
            a = np.ascontiguousarray(a)
            data = a.tobytes()
            node = {"__nd__": [a.dtype.str, list(a.shape), offset, len(data)]}
            buffers.append(data)
            offset += len(data)
            return node
        if isinstance(x, (list, tuple)):
            return [tree(v) for v in x]
        if isinstance(x, dict):
            if not all(isinstance(k, str) for k in x):
                raise WireError("dict keys must be str")
            if "__nd__" in x:
                raise WireError("the key '__nd__' is reserved")
            return {k: tree(v) for k, v in x.items()}
        raise WireError(f"cannot send an object of type {type(x).__name__}")

    header = json.dumps(tree(obj)).encode()
    body = len(header).to_bytes(8, "little") + header + b"".join(buffers)
    return _MAGIC + len(body).to_bytes(8, "little") + body


def decode(data: bytes) -> object:
    """Inverse of :func:`encode` (exactly one message); raises :class:`WireError` on anything
    malformed."""
    messages, rest = split_messages(data)
    if len(messages) != 1 or rest:
        raise WireError("not exactly one complete grader message")
    return messages[0]


def split_messages(data: bytes) -> tuple[list[object], bytes]:
    """Decode the complete messages at the start of ``data`` (a stream of :func:`encode`
    outputs); return them and the bytes left over (an incomplete last message)."""
    out = []
    view = memoryview(data)
    while len(view) >= 13:
        if bytes(view[:5]) != _MAGIC:
            raise WireError("not a grader message")
        n = int.from_bytes(view[5:13], "little")
        if 13 + n > len(view):
            break
        out.append(_decode_body(view[13 : 13 + n]))
        view = view[13 + n :]
    return out, bytes(view)


def _decode_body(data: memoryview) -> object:
    import json

    if len(data) < 8:
        raise WireError("truncated message")
    n = int.from_bytes(data[:8], "little")
    if 8 + n > len(data):
        raise WireError("truncated header")
    try:
        head = json.loads(bytes(data[8 : 8 + n]).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"bad header: {exc}") from None
    body = data[8 + n :]

    def build(x: object, depth: int = 0) -> object:
        if depth > 50:
            raise WireError("nested too deeply")
        if isinstance(x, list):
            return [build(v, depth + 1) for v in x]
        if isinstance(x, dict):
            if "__nd__" in x:
                spec = x["__nd__"]
                if not (isinstance(spec, list) and len(spec) == 4):
                    raise WireError("bad array spec")
                dt, shape, off, nbytes = spec
                if dt not in _DTYPES or not isinstance(shape, list):
                    raise WireError(f"array dtype {dt!r} not allowed")
                if not all(isinstance(s, int) and s >= 0 for s in shape):
                    raise WireError("bad array shape")
                if not (isinstance(off, int) and isinstance(nbytes, int)):
                    raise WireError("bad array offset")
                if off < 0 or nbytes < 0 or off + nbytes > len(body):
                    raise WireError("array outside the message")
                dtype = np.dtype(_DTYPES[dt])
                if math.prod(shape) * dtype.itemsize != nbytes:
                    raise WireError("array size does not match its shape")
                a = np.frombuffer(body[off : off + nbytes], dtype=dtype).reshape(shape)
                return a.copy()
            return {str(k): build(v, depth + 1) for k, v in x.items()}
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise WireError("unexpected JSON value")

    return build(head)


# --------------------------------------------------------------------------------------------
# Describing an exception raised by student code (in the child)
# --------------------------------------------------------------------------------------------

_LIBRARY_DIRS = tuple(
    {
        os.path.realpath(p)
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(key))
    }
    | {os.path.realpath(os.path.dirname(os.path.dirname(__file__)))}  # nnscratch itself
    | {os.path.realpath(os.path.dirname(numpy.__file__))}
)


def _is_library_file(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return True
    real = os.path.realpath(filename)
    return any(real.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def exception_info(exc: BaseException) -> dict:
    """What a report may say about ``exc``: ``type``, ``message`` (first line, at most 160
    characters), and where in the *student's* code it happened (``function``, ``lineno``,
    ``line``: the deepest traceback frame outside the standard library, site-packages, numpy
    and nnscratch). Runs in the child."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    info: dict = {
        "type": type(exc).__name__,
        "message": message,
        "memory": isinstance(exc, MemoryError),
        "exit": isinstance(exc, SystemExit),
        "function": None,
        "lineno": None,
        "line": None,
    }
    if isinstance(exc, SystemExit):
        info["message"] = "" if exc.code is None else str(exc.code)[:_MAX_MESSAGE]
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not _is_library_file(filename):
            info["function"] = frame.f_code.co_name
            info["lineno"] = lineno
            line = linecache.getline(filename, lineno).strip()
            info["line"] = line[:100] + ("…" if len(line) > 100 else "")
    return info


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass
class ChildResult:
    """What happened in a child started by :func:`run_in_child`.

    Attributes
    ----------
    status : str
        ``'ok'`` (``value`` holds what the function returned), ``'exception'``, ``'memory'``
        (MemoryError: the memory limit was hit), ``'exit'`` (``sys.exit`` or ``os._exit``),
        ``'timeout'``, ``'signal'`` (killed by a signal, e.g. a segfault), ``'bad_result'`` (the
        child's message could not be read).
    value : object
        The decoded return value (``'ok'`` only).
    messages : list
        What the function passed to ``emit`` (``stream=True``), in order, as far as the child
        got: also after a timeout or a crash.
    error : dict or None
        :func:`exception_info` of the exception (``'exception'``, ``'memory'``, ``'exit'`` by
        ``sys.exit``).
    exit_code, signal_number : int or None
        How the child process ended.
    elapsed : float
        Wall-clock seconds from fork to the end.
    stdout_lines, stderr_lines : int
        Lines the child wrote (counted; a last line without newline counts).
    stdout, stderr : str
        The first 64 KiB of each, for instructors and tests; never shown to the student.
    timeout, memory_mb : float
        The limits the child ran with.
    """

    status: str
    value: object = None
    messages: list = field(default_factory=list)
    error: dict | None = None
    exit_code: int | None = None
    signal_number: int | None = None
    elapsed: float = 0.0
    stdout_lines: int = 0
    stderr_lines: int = 0
    stdout: str = ""
    stderr: str = ""
    timeout: float = 0.0
    memory_mb: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def describe(self, what: str = "your code") -> str:
        """One sentence for a student report (``''`` when ``ok``)."""
        e = self.error or {}
        if self.status == "ok":
            return ""
        if self.status == "timeout":
            return f"{what} did not finish within {self.timeout:g} s (infinite loop?)"
        if self.status == "memory":
            return f"{what} used more than {self.memory_mb:g} MB of memory"
        if self.status == "exit":
            if e.get("exit"):
                return f"{what} called sys.exit() (or exit()), which ends the process"
            return (
                f"{what} ended the process (os._exit({self.exit_code}) or similar) before returning"
            )
        if self.status == "signal":
            name = _signal_name(self.signal_number)
            if self.signal_number == getattr(signal, "SIGXCPU", -1):
                return f"{what} used more than its CPU time (infinite loop?)"
            if self.signal_number == getattr(signal, "SIGXFSZ", -1):
                return f"{what} tried to write a file larger than the grader allows"
            if self.signal_number == signal.SIGKILL:
                return f"{what} was killed ({name}), probably for using too much memory"
            return f"{what} crashed the process ({name})"
        if self.status == "exception":
            return f"{what} raised {format_exception(e)}"
        return f"the grader could not read the result of {what} (the process sent garbage)"

    def printed_note(self) -> str:
        """E.g. ``'your code printed 3 lines (not shown)'``; ``''`` if it printed nothing."""
        parts = []
        if self.stdout_lines:
            parts.append(f"{self.stdout_lines} line{'s' if self.stdout_lines != 1 else ''}")
        if self.stderr_lines:
            n = self.stderr_lines
            parts.append(f"{n} line{'s' if n != 1 else ''} to stderr")
        if not parts:
            return ""
        return f"your code printed {' and '.join(parts)} (not shown)"


def format_exception(e: dict) -> str:
    """``'IndexError: list index out of range (in backprop, line 12: `x = y[3]`)'``."""
    text = e.get("type", "an exception")
    if e.get("message"):
        text += f": {e['message']}"
    if e.get("lineno") is not None:
        where = f"in {e.get('function') or '?'}, line {e['lineno']}"
        if e.get("line"):
            where += f": `{e['line']}`"
        text += f" ({where})"
    return text


def _signal_name(number: int | None) -> str:
    if number is None:
        return "unknown signal"
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# --------------------------------------------------------------------------------------------
# The child side
# --------------------------------------------------------------------------------------------


def _vm_size_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _set_limits(timeout: float, memory_mb: float, file_mb: float) -> None:
    def lower(which: int, value: int) -> None:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))

    lower(resource.RLIMIT_CORE, 0)
    cpu = math.ceil(timeout) + 2
    lower(resource.RLIMIT_CPU, cpu)
    lower(resource.RLIMIT_FSIZE, int(file_mb * 2**20))
    vm = _vm_size_bytes()
    if vm is not None:
        lower(resource.RLIMIT_AS, vm + int(memory_mb * 2**20))


def _silence_jupyter() -> None:
    """In the child: make sure nothing can reach the notebook through the kernel's channels."""
    ip_mod = sys.modules.get("IPython")
    if ip_mod is None:
        return
    with contextlib.suppress(Exception):
        shell = ip_mod.get_ipython()
        if shell is None:
            return
        kernel = getattr(shell, "kernel", None)
        session = getattr(kernel, "session", None)
        if session is not None:
            session.send = lambda *a, **k: None
        pub = getattr(shell, "display_pub", None)
        if pub is not None:
            pub.publish = lambda *a, **k: None


def _redirect_streams(w_out: int, w_err: int) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(w_out, 1)
    os.dup2(w_err, 2)
    os.close(w_out)
    os.close(w_err)
    old = {id(s): s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}
    out = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    err = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", closefd=False)
    # Old stream objects may still be referenced (logging handlers, ipykernel's OutStream):
    # route their writes into our pipes as well.
    for stream in old.values():
        if stream is None:
            continue
        target = err if stream in (sys.stderr, sys.__stderr__) else out
        with contextlib.suppress(Exception):
            stream.write = target.write
            stream.flush = target.flush
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err
    if faulthandler.is_enabled():  # it may hold a copy of the parent's stderr (pytest does)
        faulthandler.enable(file=err)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:65536])
        view = view[n:]


def _child_main(fn, args, kwargs, fds, limits, stream) -> None:
    """Everything the child does; always ends with ``os._exit``."""
    code = 3
    try:
        r_res, w_res, r_out, w_out, r_err, w_err = fds
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
        for fd in (r_res, r_out, r_err):
            os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(OSError, ValueError):
                signal.signal(sig, signal.SIG_DFL)
        _silence_jupyter()
        _redirect_streams(w_out, w_err)
        timeout, memory_mb, file_mb, restore = limits
        if restore:
            restore_environment()
            restore_grader()
        _set_limits(timeout, memory_mb, file_mb)
        if stream:

            def emit(obj: object) -> None:
                _write_all(w_res, encode(("emit", obj)))

            args = (emit, *args)
        try:
            message = ("ok", fn(*args, **kwargs))
            data = encode(message)
        except BaseException as exc:  # the function (or student code in it) failed
            data = encode(("raised", exception_info(exc)))
            code = 1
        else:
            code = 0
        _write_all(w_res, data)
        os.close(w_res)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    except BaseException:
        code = 4
    finally:
        os._exit(code)


# --------------------------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------------------------


class _Stream:
    def __init__(self, fd: int, keep: int) -> None:
        self.fd, self.keep = fd, keep
        self.data = bytearray()
        self.lines = 0
        self.last = b"\n"
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.lines += chunk.count(b"\n")
        self.total += len(chunk)
        self.last = chunk[-1:]
        if len(self.data) < self.keep:
            self.data += chunk[: self.keep - len(self.data)]

    def n_lines(self) -> int:
        return self.lines + (1 if self.total and self.last != b"\n" else 0)

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", errors="replace")


def run_in_child(
    fn,
    /,
    *args,
    timeout: float = 10.0,
    memory_mb: float = 512.0,
    file_mb: float = 16.0,
    restore: bool = True,
    stream: bool = False,
    **kwargs,
) -> ChildResult:
    """Call ``fn(*args, **kwargs)`` in a forked child process and return what happened.

    Parameters
    ----------
    fn
        Any callable; it runs in the child and inherits the parent's memory (the student's
        definitions included). Its return value must be encodable by :func:`encode`.
    timeout
        Wall-clock seconds before the child's whole process group is killed.
    memory_mb
        Address space the child may add to what it inherits (``RLIMIT_AS``), in MiB.
    file_mb
        Largest file the child may write (``RLIMIT_FSIZE``), in MiB.
    restore
        Put back, in the child, any numpy/builtins attribute or grader function that was
        replaced since ``nnscratch.grading`` was imported (see :mod:`._pristine`).
    stream
        Call ``fn(emit, *args, **kwargs)``: each ``emit(obj)`` sends ``obj`` to the parent at
        once (:attr:`ChildResult.messages`), so partial results survive a later timeout or
        crash.

    Returns
    -------
    ChildResult
        Never raises for anything the child does.
    """
    for name, value in (("timeout", timeout), ("memory_mb", memory_mb), ("file_mb", file_mb)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if not callable(fn):
        raise ValueError(f"fn must be callable, got {type(fn).__name__}")
    timeout, memory_mb, file_mb = float(timeout), float(memory_mb), float(file_mb)

    r_res, w_res = os.pipe()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    fds = (r_res, w_res, r_out, w_out, r_err, w_err)
    t0 = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Python >= 3.12 warns about fork with threads
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns from here
        _child_main(fn, args, kwargs, fds, (timeout, memory_mb, file_mb, restore), stream)
    for fd in (w_res, w_out, w_err):
        os.close(fd)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    result_buf = _Stream(r_res, _MAX_RESULT)
    streams = {
        r_res: result_buf,
        r_out: _Stream(r_out, _KEEP_OUTPUT),
        r_err: _Stream(r_err, _KEEP_OUTPUT),
    }
    for fd in streams:
        os.set_blocking(fd, False)
    open_fds = set(streams)
    deadline = t0 + timeout
    wait_status = None
    timed_out = False
    too_big = False

    naps = 0

    def pump(wait: float) -> None:
        nonlocal too_big, naps
        if not open_fds:  # all pipes closed: the child is exiting, poll waitpid soon
            naps += 1
            time.sleep(min(wait, 0.0005 * naps))
            return
        ready, _, _ = select.select(list(open_fds), [], [], wait)
        for fd in ready:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    break
                except OSError:
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                    break
                streams[fd].feed(chunk)
                if fd == r_res and streams[fd].total > _MAX_RESULT:
                    too_big = True
                    open_fds.discard(fd)
                    break

    reaped = False
    try:
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # SIGCHLD ignored somewhere: the child was reaped
                done, status = pid, None
            if done:
                reaped, wait_status = True, status
                pump(0.0)  # whatever is still in the pipes
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or too_big:
                timed_out = not too_big
                break
            pump(min(remaining, 0.02 if not open_fds else 0.05))
    finally:
        # the student's own subprocesses, and the child itself if it is still running
        # (timeout, or the parent was interrupted)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        if not reaped:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                _, wait_status = os.waitpid(pid, 0)
        for fd in streams:
            with contextlib.suppress(OSError):
                os.close(fd)
    elapsed = time.monotonic() - t0

    res = ChildResult(
        status="bad_result",
        elapsed=elapsed,
        stdout_lines=streams[r_out].n_lines(),
        stderr_lines=streams[r_err].n_lines(),
        stdout=streams[r_out].text(),
        stderr=streams[r_err].text(),
        timeout=timeout,
        memory_mb=memory_mb,
    )
    if wait_status is not None:
        if os.WIFEXITED(wait_status):
            res.exit_code = os.WEXITSTATUS(wait_status)
        elif os.WIFSIGNALED(wait_status):
            res.signal_number = os.WTERMSIG(wait_status)
    try:
        frames, _rest = split_messages(bytes(result_buf.data))
    except WireError:
        frames = []
    final = None
    for frame in frames:
        if isinstance(frame, list) and len(frame) == 2 and frame[0] == "emit":
            res.messages.append(frame[1])
        elif isinstance(frame, list) and len(frame) == 2 and final is None:
            final = frame
    if timed_out:
        res.status = "timeout"
        return res
    if too_big:
        return res
    if final is None:
        if not result_buf.total or frames:
            res.status = "signal" if res.signal_number is not None else "exit"
        return res
    kind, value = final
    if kind == "ok":
        res.status, res.value = "ok", value
    elif kind == "raised" and isinstance(value, dict):
        res.error = value
        res.status = (
            "memory" if value.get("memory") else "exit" if value.get("exit") else ("exception")
        )
    return res
