"""2D Ising model: Monte Carlo sampling (Metropolis + Wolff) and labelled data sets.

The sampler works on many replicas at once: spins of shape (R, L, L), int8, +1/-1, periodic
boundaries, J = 1. Typical use::

    from nnscratch import ising

    spins = ising.initial_spins(16, L=32, start="cold")
    ising.simulate(spins, T=2.0, n_sweeps=500, rng=0)    # equilibrate
    abs_m = abs(ising.magnetisation(spins))               # (16,)

    X, y, T = ising.make_dataset()                       # the course data set, cached on disk

Modules: :mod:`.monte_carlo` (the updates and their physics), :mod:`.observables`,
:mod:`.dataset`, :mod:`.analysis` (crossings, histogram classifiers, finite-size
extrapolation); the numba kernels are in :mod:`._kernels`.
"""

from .analysis import (
    bootstrap_crossings,
    extrapolate_crossing,
    histogram_classifier,
    mean_by_temperature,
    output_crossing,
    split_by_temperature,
    train_phase_network,
)
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
    block_spins,
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
    "block_spins",
    "bootstrap_crossings",
    "default_cache_dir",
    "energy",
    "extrapolate_crossing",
    "histogram_classifier",
    "initial_spins",
    "integrated_autocorrelation_time",
    "magnetisation",
    "make_dataset",
    "mean_by_temperature",
    "metropolis",
    "output_crossing",
    "simulate",
    "split_by_temperature",
    "spontaneous_magnetisation",
    "temperature_sweep",
    "train_phase_network",
    "wolff",
]
