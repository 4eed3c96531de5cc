"""2D Ising model: Monte Carlo sampling (Metropolis + Wolff) and labelled data sets.

The sampler works on many replicas at once: spins of shape (R, L, L), int8, +1/-1, periodic
boundaries, J = 1. Typical use::

    from nnscratch import ising

    spins = ising.initial_spins(16, L=32, start="cold")
    ising.simulate(spins, T=2.0, n_sweeps=500, rng=0)    # equilibrate
    abs_m = abs(ising.magnetisation(spins))               # (16,)

    X, y, T = ising.make_dataset()                       # the course data set, cached on disk

Modules: :mod:`.monte_carlo` (the updates and their physics), :mod:`.observables`,
:mod:`.dataset`; the numba kernels are in :mod:`._kernels`.
"""

from .dataset import (
    COURSE_L,
    COURSE_TEMPERATURES,
    FORMAT_VERSION,
    N_PILOT,
    IsingData,
    default_cache_dir,
    make_dataset,
    temperature_sweep,
)
from .monte_carlo import (
    DELTA_E,
    T_C,
    acceptance_table,
    initial_spins,
    metropolis,
    simulate,
    wolff,
)
from .observables import (
    energy,
    integrated_autocorrelation_time,
    magnetisation,
    spontaneous_magnetisation,
)

__all__ = [
    "COURSE_L",
    "COURSE_TEMPERATURES",
    "DELTA_E",
    "FORMAT_VERSION",
    "N_PILOT",
    "T_C",
    "IsingData",
    "acceptance_table",
    "default_cache_dir",
    "energy",
    "initial_spins",
    "integrated_autocorrelation_time",
    "magnetisation",
    "make_dataset",
    "metropolis",
    "simulate",
    "spontaneous_magnetisation",
    "temperature_sweep",
    "wolff",
]
