"""A small, strict reader (and writer) for the IDX format of the MNIST files.

An IDX file is a 4-byte magic number -- two zero bytes, a type code (``0x08`` = unsigned byte)
and the number of dimensions -- then one big-endian 4-byte size per dimension, then the data in
C order. MNIST images are ``0x00000803`` (3 dimensions: n, 28, 28) and labels ``0x00000801``
(1 dimension: n). We only read unsigned bytes, which is all MNIST uses.

Every check failure raises :class:`~nnscratch.data._checks.DataError` (a ``ValueError``) naming
the file, so a damaged download is never used silently.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ._checks import DataError

__all__ = [
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "parse_idx",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "to_idx_bytes",
]

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
_UBYTE = 0x08

_FIX = "delete it and run again to re-download it, or place the official file there"


def parse_idx(
    data: bytes,
    *,
    expected_magic: int | None = None,
    expected_shape: tuple[int | None, ...] | None = None,
    name: str = "<bytes>",
) -> np.ndarray:
    """Parse the (already decompressed) bytes of an unsigned-byte IDX file.

    Parameters
    ----------
    data : bytes
        The whole file content, header included.
    expected_magic : int, optional
        E.g. :data:`IDX_IMAGES_MAGIC` (``0x00000803``) or :data:`IDX_LABELS_MAGIC`
        (``0x00000801``); a different magic number is an error.
    expected_shape : tuple of int or None, optional
        Required sizes per dimension (``None`` = any), e.g. ``(None, 28, 28)`` for images.
    name : str
        How to name the data in error messages (usually the file path).

    Returns
    -------
    numpy.ndarray of uint8
        Shaped by the header, e.g. ``(n, 28, 28)`` or ``(n,)``. A read-only view is avoided: the
        array owns a writable copy of the data.

    Raises
    ------
    DataError
        Wrong magic number, unsupported type, dimensions that do not match ``expected_shape``, or
        a byte length different from ``header + prod(dims)`` (truncated or trailing data).
    """
    if len(data) < 4:
        raise DataError(f"{name}: not an IDX file (only {len(data)} bytes); {_FIX}")
    magic = struct.unpack(">I", data[:4])[0]
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if expected_magic is not None and magic != expected_magic:
        raise DataError(
            f"{name}: wrong IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x}; {_FIX}"
        )
    if zero != b"\x00\x00" or ndim == 0:
        raise DataError(f"{name}: not an IDX file (magic number 0x{magic:08x}); {_FIX}")
    if dtype_code != _UBYTE:
        raise DataError(
            f"{name}: unsupported IDX data type 0x{dtype_code:02x} (only unsigned bytes, 0x08)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated IDX header ({len(data)} bytes); {_FIX}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if expected_shape is not None:
        ok = len(expected_shape) == ndim and all(
            e is None or e == d for e, d in zip(expected_shape, dims, strict=False)
        )
        if not ok:
            want = "(" + ", ".join("n" if e is None else str(e) for e in expected_shape) + ")"
            raise DataError(f"{name}: IDX dimensions {tuple(dims)}, expected {want}; {_FIX}")
    size = int(np.prod(dims, dtype=np.int64))
    if len(data) != header + size:
        what = "truncated" if len(data) < header + size else "has trailing bytes"
        raise DataError(
            f"{name}: {what}: {len(data)} bytes, expected {header + size} for an IDX array of "
            f"shape {tuple(dims)}; {_FIX}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _read_bytes(path: Path) -> bytes:
    """Read ``path``, gunzipping it when it starts with the gzip magic bytes."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: damaged or truncated gzip file ({exc}); {_FIX}") from exc


def read_idx(
    path: str | os.PathLike[str],
    *,
    expected_magic: int | None = None,
    expected_shape: tuple[int | None, ...] | None = None,
) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a ``uint8`` array.

    See :func:`parse_idx` for the checks. Checksums are not verified here; the MNIST loader does
    that before calling this function.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file is damaged (see :func:`parse_idx`), naming the file.
    """
    path = Path(path)
    return parse_idx(
        _read_bytes(path),
        expected_magic=expected_magic,
        expected_shape=expected_shape,
        name=str(path),
    )


def read_idx_images(path: str | os.PathLike[str], rows: int = 28, cols: int = 28) -> np.ndarray:
    """Read an IDX image file (magic ``0x00000803``): ``uint8`` array ``(n, rows, cols)``."""
    return read_idx(path, expected_magic=IDX_IMAGES_MAGIC, expected_shape=(None, rows, cols))


def read_idx_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX label file (magic ``0x00000801``): ``uint8`` array of shape ``(n,)``."""
    return read_idx(path, expected_magic=IDX_LABELS_MAGIC, expected_shape=(None,))


def to_idx_bytes(array: np.ndarray, *, compress: bool = False) -> bytes:
    """Encode a ``uint8`` array (1 to 255 dimensions) as IDX bytes, optionally gzip-compressed.

    The inverse of :func:`parse_idx`; handy to build small test files.
    """
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"to_idx_bytes expects a uint8 array, got dtype {a.dtype}")
    if not 1 <= a.ndim <= 255:
        raise ValueError(f"to_idx_bytes expects 1 to 255 dimensions, got {a.ndim}")
    head = bytes([0, 0, _UBYTE, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    out = head + np.ascontiguousarray(a).tobytes()
    # mtime=0 makes the compressed bytes (and so their checksum) reproducible.
    return gzip.compress(out, mtime=0) if compress else out
