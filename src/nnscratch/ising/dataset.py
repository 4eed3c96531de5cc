"""Labelled Ising configurations for classification, cached on disk.

``X, y, T = make_dataset()`` gives the course data set: 1 000 configurations at each of
T = 1.5, 2.3 and 3.0 on a 32 x 32 lattice, in the same (X, y) form as the MNIST loaders.

How the samples are made, counted in sweeps (:func:`~nnscratch.ising.simulate`: one Metropolis
sweep + one Wolff cluster). ``n_replicas`` chains per temperature, all temperatures in one array:

1. start cold (all +1) or hot (random), run ``n_equilibration`` sweeps;
2. run ``N_PILOT`` more sweeps, recording |m| and E/L^2, and measure their integrated
   autocorrelation times; tau(T) is the larger of the two (averaged over the replicas);
3. take a sample from every replica every ``n_between`` sweeps, by default
   ``max(2, ceil(3 tau(T)))``, until there are ``n_per_T`` samples at each temperature.

So samples are >= 2 tau apart in one chain (the factor 3 allows for the short pilot reading tau
15-30 % low near T_c, measured against 4000-sweep runs) and independent across chains. Below and
near T_c the Wolff cluster keeps tau at a few sweeps: at L = 32, T = 2.3, tau ~ 5 sweeps with it,
~65 with plain Metropolis. tau here is 1 + 2 sum rho(t), see
:func:`~nnscratch.ising.integrated_autocorrelation_time`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .._checks import SeedLike, as_generator, check_count
from .monte_carlo import (
    START_NAMES,
    T_C,
    check_temperatures,
    initial_spins,
    simulate,
)
from .observables import energy, integrated_autocorrelation_time, magnetisation

COURSE_L: int = 32
COURSE_TEMPERATURES: tuple[float, ...] = (1.5, 2.3, 3.0)
N_PILOT: int = 200
"""Sweeps recorded after equilibration to measure the autocorrelation time."""
GAP_FACTOR: float = 3.0
"""Default sweeps between samples, in units of the pilot's tau (2 tau + 50 % margin)."""
LABEL_NAMES: tuple[str, ...] = ("phase", "temperature")
FORMAT_VERSION: int = 1
"""Bumped whenever the cache file layout or the sampling procedure changes."""


def temperature_sweep(n: int = 30, T_min: float = 1.0, T_max: float = 3.5) -> np.ndarray:
    """``n`` evenly spaced temperatures from T_min to T_max (default 30 over 1.0-3.5), for
    locating T_c. Shape (n,)."""
    n = check_count(n, "n", minimum=2)
    T_min, T_max = check_temperatures([T_min, T_max])
    if T_max <= T_min:
        raise ValueError(f"need T_min < T_max, got T_min={T_min}, T_max={T_max}")
    return np.linspace(T_min, T_max, n)


@dataclass(frozen=True, eq=False)
class IsingData:
    """Labelled configurations, grouped by temperature (shuffle before training).

    Unpacks as ``X, y, T = data``.

    X: (n, L*L) float64, spins +1.0 / -1.0 (not 0/1: the physics' values, and the global flip
    s -> -s stays X -> -X), row-major (``X.reshape(-1, L, L)`` gives the lattices).
    y: (n,) int64, with ``labels="phase"``: 1 = ordered phase (T < T_c), 0 = disordered
    (T >= T_c); with ``labels="temperature"``: the index of the sample's temperature in
    ``temperatures``. The phase label follows
    the infinite lattice: at T = 2.3, just above T_c, a 32 x 32 lattice still shows large
    ordered domains (<|m|> ~ 0.57) but is labelled 0.
    T: (n,) float64, the temperature of each sample.
    temperatures, tau, n_between: (n_T,) the distinct temperatures, the measured integrated
    autocorrelation time (sweeps) and the sweeps between samples at each.
    """

    X: np.ndarray
    y: np.ndarray
    T: np.ndarray
    L: int
    temperatures: np.ndarray
    tau: np.ndarray
    n_between: np.ndarray
    path: Path | None = field(default=None)

    def __iter__(self):
        return iter((self.X, self.y, self.T))

    @property
    def spins(self) -> np.ndarray:
        """The configurations as (n, L, L) int8 lattices."""
        return self.X.reshape(-1, self.L, self.L).astype(np.int8)


def default_cache_dir() -> Path:
    """``$NNSCRATCH_CACHE/ising`` if set, else ``$XDG_CACHE_HOME/nnscratch/ising`` (default
    ``~/.cache/nnscratch/ising``)."""
    if os.environ.get("NNSCRATCH_CACHE"):
        return Path(os.environ["NNSCRATCH_CACHE"]).expanduser() / "ising"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "nnscratch" / "ising"


def make_dataset(
    temperatures: ArrayLike = COURSE_TEMPERATURES,
    n_per_T: int = 1000,
    L: int = COURSE_L,
    seed: SeedLike = 0,
    cache_dir: str | os.PathLike | None = None,
    *,
    start: Literal["cold", "hot"] = "cold",
    n_replicas: int = 32,
    n_equilibration: int = 200,
    n_between: int | None = None,
    use_cache: bool = True,
    labels: Literal["phase", "temperature"] = "phase",
) -> IsingData:
    """Equilibrium configurations at each temperature, labelled by phase or by temperature.

    ``labels="phase"`` (default): y = 1 in the ordered phase (T < T_c), 0 in the disordered one.
    ``labels="temperature"``: y = k for the k-th of ``temperatures`` (in the order given), for
    the course's three-temperature task. The labels do not enter the cache key: both come from
    the same stored samples.

    ``n_per_T`` samples at each of ``temperatures`` (each > 0) on an L x L lattice, from
    ``n_replicas`` chains per temperature started ``start`` ("cold" or "hot"); see the module
    docstring for the sweeps counted. ``n_between=None`` picks max(2, ceil(3 tau)) per temperature.

    With an int ``seed`` the result is cached in ``cache_dir`` (default
    :func:`default_cache_dir`) under a name hashed from all parameters; a later call with the same
    parameters loads it. A corrupt cache file is reported with a RuntimeWarning and regenerated.
    A Generator or None as seed, or ``use_cache=False``, computes afresh and writes nothing.
    """
    temps = np.atleast_1d(check_temperatures(temperatures))
    if temps.ndim != 1:
        raise ValueError(f"temperatures must be a number or a 1D sequence, got shape {temps.shape}")
    if start not in START_NAMES:
        raise ValueError(f"start must be one of {START_NAMES}, got {start!r}")
    if labels not in LABEL_NAMES:
        raise ValueError(f"labels must be one of {LABEL_NAMES}, got {labels!r}")
    if len(np.unique(temps)) != len(temps):
        raise ValueError(f"temperatures must be distinct, got {temps.tolist()}")
    rng = as_generator(seed)  # checks seed; an int seed also names the cache file
    params = {
        "format": FORMAT_VERSION,
        "temperatures": [float(t) for t in temps],
        "n_per_T": check_count(n_per_T, "n_per_T"),
        "L": check_count(L, "L", minimum=2),
        "seed": int(seed) if isinstance(seed, int | np.integer) else None,
        "start": start,
        "n_replicas": check_count(n_replicas, "n_replicas"),
        "n_equilibration": check_count(n_equilibration, "n_equilibration", minimum=0),
        "n_between": None if n_between is None else check_count(n_between, "n_between"),
        "n_pilot": N_PILOT,
        "gap_factor": GAP_FACTOR,
    }
    if not use_cache or params["seed"] is None:
        return _to_data(_generate(params, rng), path=None, labels=labels)

    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:20]
    path = path / f"ising_L{params['L']}_n{params['n_per_T']}_{key}.npz"
    if path.exists():
        try:
            return _to_data(_load(path, params), path, labels=labels)
        except _CorruptCache as err:
            warnings.warn(f"nnscratch.ising: ignoring corrupt cache file {path} ({err}); "
                          "regenerating it", RuntimeWarning, stacklevel=2)
    arrays = _generate(params, rng)
    _save(path, arrays, params)
    return _to_data(arrays, path, labels=labels)


def _generate(params: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Run the chains; returns spins (n, L, L) int8, T (n,), temperatures, tau, n_between."""
    temps = np.asarray(params["temperatures"])
    n_T, L, n_per_T = len(temps), params["L"], params["n_per_T"]
    R = min(params["n_replicas"], n_per_T)  # chains per temperature
    # replica r runs at temps[r % n_T]: interleaving balances the work between threads
    T_all = np.tile(temps, R)
    spins = initial_spins(R * n_T, L, params["start"], rng)
    simulate(spins, T_all, params["n_equilibration"], rng)

    abs_m = np.empty((N_PILOT, R, n_T))
    E = np.empty((N_PILOT, R, n_T))
    for t in range(N_PILOT):
        simulate(spins, T_all, 1, rng)
        abs_m[t] = np.abs(magnetisation(spins)).reshape(R, n_T)
        E[t] = energy(spins).reshape(R, n_T)
    tau = np.array([max(integrated_autocorrelation_time(abs_m[:, :, k]),
                        integrated_autocorrelation_time(E[:, :, k])) for k in range(n_T)])
    if params["n_between"] is None:
        n_between = np.maximum(2, np.ceil(GAP_FACTOR * tau)).astype(np.int64)
    else:
        n_between = np.full(n_T, params["n_between"], dtype=np.int64)

    n_rounds = -(-n_per_T // R)  # ceil
    samples = np.empty((n_rounds, R, n_T, L, L), dtype=np.int8)
    lattices = spins.reshape(R, n_T, L, L)
    for k in range(n_rounds):
        simulate(spins, T_all, np.tile(n_between, R), rng)  # each replica: its T's n_between
        samples[k] = lattices
    # (n_T, n_rounds * R, L, L): all samples of one temperature together, first n_per_T kept
    by_T = samples.transpose(2, 0, 1, 3, 4).reshape(n_T, n_rounds * R, L, L)[:, :n_per_T]
    return {
        "spins": np.ascontiguousarray(by_T.reshape(n_T * n_per_T, L, L)),
        "T": np.repeat(temps, n_per_T),
        "temperatures": temps,
        "tau": tau,
        "n_between": n_between,
    }


def _to_data(arrays: dict[str, np.ndarray], path: Path | None,
             labels: str = "phase") -> IsingData:
    spins, T = arrays["spins"], arrays["T"]
    L = spins.shape[-1]
    if labels == "temperature":
        # index of each sample's temperature in the order the caller gave them
        y = np.argmax(T[:, None] == arrays["temperatures"][None, :], axis=1)
    else:
        y = T < T_C
    return IsingData(
        X=spins.reshape(len(spins), L * L).astype(np.float64),
        y=y.astype(np.int64),
        T=T.astype(np.float64),
        L=L,
        temperatures=arrays["temperatures"],
        tau=arrays["tau"],
        n_between=arrays["n_between"],
        path=path,
    )


# --- the cache ------------------------------------------------------------------------------

_PAYLOAD = ("spins", "T", "temperatures", "tau", "n_between")


class _CorruptCache(Exception):
    pass


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in _PAYLOAD:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _save(path: Path, arrays: dict[str, np.ndarray], params: dict) -> None:
    """Write atomically: a temporary file in the same directory, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays, params=np.array(json.dumps(params, sort_keys=True)),
                                digest=np.array(_digest(arrays)))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path, params: dict) -> dict[str, np.ndarray]:
    """Read and verify a cache file; raise _CorruptCache if anything is off."""
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            arrays = {name: f[name] for name in (*_PAYLOAD, "params", "digest")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise _CorruptCache(f"unreadable: {err}") from None
    if str(arrays.pop("params")) != json.dumps(params, sort_keys=True):
        raise _CorruptCache("stored parameters do not match")
    if str(arrays.pop("digest")) != _digest(arrays):
        raise _CorruptCache("checksum mismatch")
    n = len(params["temperatures"]) * params["n_per_T"]
    if arrays["spins"].shape != (n, params["L"], params["L"]) or arrays["spins"].dtype != np.int8:
        raise _CorruptCache(f"unexpected spins array {arrays['spins'].shape}")
    return arrays
