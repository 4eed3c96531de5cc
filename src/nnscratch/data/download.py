"""Downloading a data file safely: short timeouts, a progress bar, a checksum verified before the
file is renamed into place (so a half-written or wrong file never appears under its real name).

Used by :mod:`nnscratch.data.mnist`; generic over file names, mirrors and checksums so that the
tests can point it at a local HTTP server.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._checks import DataError

__all__ = ["DownloadError", "download_file", "is_offline"]

_log = logging.getLogger("nnscratch.data.mnist")
ENV_OFFLINE = "NNSCRATCH_OFFLINE"
FIX_FILE = "delete it and run again to re-download it, or place the official file there"


def is_offline() -> bool:
    """True when ``NNSCRATCH_OFFLINE`` is set to ``1``/``true``/``yes``/``on``: no downloads."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


class DownloadError(DataError):
    """No mirror delivered a complete file with the right checksum (or downloads are off)."""


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def _hash_for(filename: str, checksums: Mapping[str, str]) -> tuple[str, str]:
    """(algorithm, hex digest) for ``filename``; md5 for 32 hex digits, sha256 for 64."""
    try:
        want = checksums[filename].strip().lower()
    except KeyError:
        raise ValueError(f"no checksum known for {filename!r}; give one in `checksums`") from None
    algo = {32: "md5", 64: "sha256"}.get(len(want))
    if algo is None:
        raise ValueError(f"checksum for {filename!r} must be an md5 or sha256 hex digest")
    return algo, want


def _file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, checksums: Mapping[str, str]) -> None:
    algo, want = _hash_for(path.name, checksums)
    got = _file_digest(path, algo)
    if got != want:
        raise DataError(
            f"{path}: checksum mismatch ({algo} {got}, expected {want}): the file is damaged, "
            f"truncated or not the official one; {FIX_FILE}"
        )


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _want_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _fetch_to(url: str, fh, algo: str, timeout: float, read_timeout: float, bar_on: bool) -> str:
    """Stream ``url`` into the open file ``fh``; return the hex digest of what was written."""
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "nnscratch"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        # The short timeout was for connecting; allow slower reads once data flows (best effort).
        sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
        if sock is not None:
            sock.settimeout(read_timeout)
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        h = hashlib.new(algo)
        n = 0
        bar = None
        if bar_on:
            try:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1])
            except ImportError:  # pragma: no cover - tqdm is a dependency
                bar = None
        try:
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                fh.write(chunk)
                h.update(chunk)
                n += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and n != total:
        raise DownloadError(f"transfer interrupted after {n} of {total} bytes")
    return h.hexdigest()


def download_file(
    filename: str,
    dest_dir: str | os.PathLike[str],
    *,
    mirrors: Sequence[str],
    checksums: Mapping[str, str],
    timeout: float = 5.0,
    read_timeout: float = 60.0,
    progress: bool | None = None,
) -> Path:
    """Download ``filename`` from the first mirror that delivers it intact.

    Each attempt streams into a temporary file in ``dest_dir``; the checksum is verified and only
    then is the file renamed atomically to ``dest_dir / filename``. A failed attempt (no
    connection, HTTP error, interrupted transfer, wrong checksum) removes its temporary file and
    moves on to the next mirror.

    Parameters
    ----------
    filename : str
        E.g. ``"t10k-labels-idx1-ubyte.gz"``; fetched as ``mirror + filename``.
    dest_dir : path
        A writable folder (created if needed).
    mirrors : sequence of str
        Base URLs, tried in order.
    checksums : mapping of str to str
        File name to md5 (32 hex digits) or sha256 (64 hex digits).
    timeout : float
        Seconds to wait for a connection (and for a response).
    read_timeout : float
        Seconds a transfer may stall once started.
    progress : bool or None
        Show a tqdm progress bar; ``None`` = only when stderr is a terminal.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    DownloadError
        If ``NNSCRATCH_OFFLINE`` is set (no connection is attempted) or every mirror failed; the
        message lists each mirror's error.
    """
    import urllib.error

    if is_offline():
        raise DownloadError(
            f"not downloading {filename}: {ENV_OFFLINE} is set. Unset it to download, or place "
            f"the official file in {dest_dir}"
        )
    if not mirrors:
        raise ValueError("mirrors must list at least one base URL")
    algo, want = _hash_for(filename, checksums)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / filename
    bar_on = _want_progress(progress)
    errors: list[str] = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        tmp: Path | None = None
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest)
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as fh:
                got = _fetch_to(url, fh, algo, timeout, read_timeout, bar_on)
                fh.flush()
                os.fsync(fh.fileno())
            if got != want:
                raise DownloadError(f"checksum mismatch ({algo} {got}, expected {want})")
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
            tmp = None
            _log.info("downloaded %s from %s", final, url)
            return final
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except Exception as exc:  # no connection, timeout, interrupted, wrong checksum, ...
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        finally:
            if tmp is not None:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass
    raise DownloadError(
        f"could not download {filename} into {dest}:\n  "
        + "\n  ".join(errors)
        + f"\nPlace the official file in {dest} by hand, or set NNSCRATCH_DATA to a folder that "
        "holds it."
    )
