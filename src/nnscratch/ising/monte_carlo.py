r"""Monte Carlo for the 2D Ising model: checkerboard Metropolis and Wolff clusters.

The model: spins :math:`s_i = \pm 1` on an L x L square lattice with periodic boundaries, energy
:math:`E = -J \sum_{\langle ij \rangle} s_i s_j` over nearest-neighbour pairs with J = 1, at
temperature T (:math:`k_B = 1`, :math:`\beta = 1/T`). It orders below
:math:`T_c = 2 / \ln(1 + \sqrt 2) \approx 2.269`.

Spins are int8 arrays of shape (R, L, L): R independent replicas ("chains") updated at once, each
with its own temperature if T is an array of shape (R,). A single lattice of shape (L, L) is also
accepted. All updates work in place and draw one seed per replica from the ``rng`` argument, so
equal seeds give equal results, whatever the number of threads.

**Metropolis.** Flipping spin s with neighbour sum h changes the energy by
:math:`\Delta E = 2 s h \in \{-8, -4, 0, 4, 8\}`; the flip is accepted with probability
:math:`\min(1, e^{-\Delta E / T})`, looked up in a table computed once per temperature
(:func:`acceptance_table`). The lattice is coloured like a checkerboard: for even L no two sites
of one colour are neighbours, so one *sweep* updates all sites with i + j even, then all odd ones
(L*L attempts). (For odd L this is still a valid fixed visiting order.)

**Wolff.** Pick a random site, add each aligned neighbour of the cluster with probability
:math:`p_\mathrm{add} = 1 - e^{-2/T}`, flip the whole cluster. Near and below T_c clusters span a
good part of the lattice and beat the critical slowing down of local updates; far above T_c they
are a few spins and cost next to nothing.

**Sweeps.** :func:`simulate` counts time in sweeps: one sweep = one Metropolis sweep + one Wolff
cluster (``n_clusters=1``). The number of clusters is fixed in advance: growing clusters "until
L*L spins have flipped" would make the number of moves depend on the state and bias the results.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .._checks import SeedLike, as_generator, check_count
from ._kernels import run_chains

T_C: float = float(2.0 / np.log1p(np.sqrt(2.0)))
"""Critical temperature of the infinite 2D Ising model (Onsager), about 2.269."""

DELTA_E: tuple[int, ...] = (-8, -4, 0, 4, 8)
"""The possible energy changes of a single spin flip (index of :func:`acceptance_table`)."""

START_NAMES = ("cold", "hot")

_TWO32 = 2.0**32


def _check_spins(spins: np.ndarray) -> np.ndarray:
    """Return a (R, L, L) view of ``spins`` after checking dtype, shape, layout and values."""
    if not isinstance(spins, np.ndarray) or spins.dtype != np.int8:
        kind = spins.dtype if isinstance(spins, np.ndarray) else type(spins).__name__
        raise ValueError(f"spins must be an int8 NumPy array (see initial_spins), got {kind}")
    if spins.ndim not in (2, 3) or spins.shape[-1] != spins.shape[-2] or spins.shape[-1] < 2:
        raise ValueError(f"spins must have shape (L, L) or (R, L, L) with L >= 2, "
                         f"got shape {spins.shape}")
    if not spins.flags.c_contiguous or not spins.flags.writeable:
        raise ValueError("spins must be a writeable C-contiguous array (updated in place)")
    if not np.all((spins == 1) | (spins == -1)):
        raise ValueError("spins must contain only +1 and -1")
    return spins.reshape((-1, *spins.shape[-2:]))


def check_temperatures(T: ArrayLike, n_replicas: int | None = None) -> np.ndarray:
    """Return T as a float64 array (of shape (n_replicas,) if given); all T must be > 0."""
    T_arr = np.asarray(T, dtype=np.float64)
    if T_arr.size == 0 or not np.all(np.isfinite(T_arr)) or not np.all(T_arr > 0):
        raise ValueError(f"temperatures must be finite and > 0, got {T!r}")
    if n_replicas is None:
        return T_arr
    if T_arr.ndim == 0:
        return np.full(n_replicas, float(T_arr))
    if T_arr.shape != (n_replicas,):
        raise ValueError(f"T must be a number or have shape ({n_replicas},) (one per replica), "
                         f"got shape {T_arr.shape}")
    return T_arr


def acceptance_table(T: float) -> np.ndarray:
    r"""Metropolis acceptance probabilities :math:`\min(1, e^{-\Delta E/T})` for ``DELTA_E``.

    Returns shape (5,), e.g. ``acceptance_table(2.0) -> [1, 1, 1, e^-2, e^-4]``.
    """
    T = float(check_temperatures(T))
    return np.exp(-np.maximum(DELTA_E, 0) / T)


def _thresholds(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """uint64 thresholds on a 32-bit random integer: Metropolis (R, 5) and Wolff p_add (R,)."""
    p_accept = np.exp(-np.maximum(DELTA_E, 0) / T[:, None])  # min(1, exp(-dE / T))
    p_add = -np.expm1(-2.0 / T)
    return (np.round(p_accept * _TWO32).astype(np.uint64),
            np.round(p_add * _TWO32).astype(np.uint64))


def initial_spins(n_replicas: int, L: int, start: Literal["cold", "hot"] = "cold",
                  rng: SeedLike = None) -> np.ndarray:
    """Starting configurations, shape (n_replicas, L, L), int8.

    ``"cold"``: all spins +1 (the T = 0 ground state); ``"hot"``: independent random +-1 spins
    (T = infinity). ``rng`` is only used by the hot start.
    """
    n_replicas = check_count(n_replicas, "n_replicas")
    L = check_count(L, "L", minimum=2)
    if start == "cold":
        return np.ones((n_replicas, L, L), dtype=np.int8)
    if start == "hot":
        bits = as_generator(rng, "rng").integers(0, 2, size=(n_replicas, L, L), dtype=np.int8)
        return (2 * bits - 1).astype(np.int8)
    raise ValueError(f"start must be one of {START_NAMES}, got {start!r}")


def _run(spins: np.ndarray, T: ArrayLike, n_sweeps: ArrayLike, rng, metropolis: bool,
         n_clusters: int) -> np.ndarray:
    """Common driver: check inputs, draw one seed per replica, call the numba kernel."""
    lattices = _check_spins(spins)
    R = lattices.shape[0]
    T_arr = check_temperatures(T, R)
    sweeps = np.asarray(n_sweeps)
    if np.ndim(n_sweeps) == 0:
        sweeps = np.full(R, check_count(n_sweeps, "n_sweeps", minimum=0), dtype=np.int64)
    elif sweeps.shape != (R,) or sweeps.dtype.kind not in "iu" or np.any(sweeps < 0):
        raise ValueError(f"n_sweeps must be an integer >= 0 or {R} of them (one per replica), "
                         f"got {n_sweeps!r}")
    sweeps = sweeps.astype(np.int64)
    thresholds, p_add_thresholds = _thresholds(T_arr)
    seeds = as_generator(rng, "rng").integers(0, 2**64, size=R, dtype=np.uint64)
    flipped = run_chains(lattices, thresholds, p_add_thresholds, seeds, sweeps,
                         metropolis, n_clusters)
    return flipped.reshape(spins.shape[:-2])


def metropolis(spins: np.ndarray, T: ArrayLike, n_sweeps: ArrayLike = 1,
               rng: SeedLike = None) -> np.ndarray:
    """``n_sweeps`` checkerboard Metropolis sweeps of every replica, in place.

    spins: (R, L, L) or (L, L) int8; T: a number or shape (R,); n_sweeps: an int or shape (R,).
    Returns the number of accepted flips per replica, shape (R,) (or () for one lattice);
    divide by ``n_sweeps * L * L`` for the acceptance rate.

    On tiny lattices (L <= 3) sweeps in a fixed order are not ergodic (the exact transition
    matrix of a sweep has several unit eigenvalues); :func:`simulate` and :func:`wolff` are.
    """
    return _run(spins, T, n_sweeps, rng, metropolis=True, n_clusters=0)


def wolff(spins: np.ndarray, T: ArrayLike, n_clusters: int = 1,
          rng: SeedLike = None) -> np.ndarray:
    """Grow and flip ``n_clusters`` Wolff clusters in every replica, in place.

    spins: (R, L, L) or (L, L) int8; T: a number or shape (R,).
    Returns the number of flipped spins (summed cluster sizes) per replica, shape (R,) or ().
    """
    n_clusters = check_count(n_clusters, "n_clusters", minimum=0)
    return _run(spins, T, 1, rng, metropolis=False, n_clusters=n_clusters)


def simulate(spins: np.ndarray, T: ArrayLike, n_sweeps: ArrayLike = 1,
             rng: SeedLike = None, *, n_clusters: int = 1) -> np.ndarray:
    """``n_sweeps`` sweeps of every replica, in place; one sweep = one Metropolis sweep followed
    by ``n_clusters`` Wolff clusters (``n_clusters=0``: plain Metropolis).

    This is the update used for equilibration and between samples in :func:`make_dataset`.
    spins: (R, L, L) or (L, L) int8; T: a number or shape (R,); n_sweeps: an int or shape (R,).
    Returns the number of flipped spins per replica, shape (R,) or ().
    """
    n_clusters = check_count(n_clusters, "n_clusters", minimum=0)
    return _run(spins, T, n_sweeps, rng, metropolis=True, n_clusters=n_clusters)
