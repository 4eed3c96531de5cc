r"""Observables of Ising configurations and the exact results to check them against.

All functions take spins of shape (..., L, L) (e.g. (R, L, L) replicas, or (n, L, L) samples)
and return one number per configuration, shape (...).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from .._checks import check_count
from .monte_carlo import T_C, check_temperatures


def magnetisation(spins: np.ndarray) -> np.ndarray:
    r"""Magnetisation per spin :math:`m = \frac{1}{L^2} \sum_i s_i \in [-1, 1]`, shape (...).

    In a finite lattice m flips sign now and then, so the order parameter is :math:`|m|`.
    """
    spins = np.asarray(spins)
    return spins.sum(axis=(-2, -1), dtype=np.int64) / (spins.shape[-1] * spins.shape[-2])


def energy(spins: np.ndarray) -> np.ndarray:
    r"""Energy per spin :math:`E / L^2 = -\frac{1}{L^2} \sum_i s_i (s_\mathrm{right} +
    s_\mathrm{down})` (each bond counted once, periodic boundaries, J = 1), shape (...).

    It lies in [-2, 2]; the ordered ground state has -2.
    """
    spins = np.asarray(spins, dtype=np.int8)
    bonds = spins * (np.roll(spins, -1, axis=-1) + np.roll(spins, -1, axis=-2))
    return -bonds.sum(axis=(-2, -1), dtype=np.int64) / (spins.shape[-1] * spins.shape[-2])


def spontaneous_magnetisation(T: ArrayLike) -> np.ndarray:
    r"""Exact infinite-lattice :math:`|m|(T) = (1 - \sinh(2/T)^{-4})^{1/8}` for T < T_c, else 0
    (Onsager, Yang). Same shape as T."""
    T = check_temperatures(T)
    with np.errstate(over="ignore"):  # sinh(2/T) overflows to inf for tiny T: m -> 1, correct
        inner = 1.0 - np.sinh(2.0 / T) ** -4.0
    return np.where(T < T_C, np.clip(inner, 0.0, None) ** 0.125, 0.0)


def integrated_autocorrelation_time(x: ArrayLike, window_factor: float = 5.0) -> float:
    r"""Integrated autocorrelation time :math:`\tau = 1 + 2 \sum_{t \ge 1} \rho(t)` of a series.

    x: shape (n_steps,) for one chain or (n_steps, n_chains) for several independent chains of
    the same process (the autocorrelation :math:`\rho(t)` is averaged over chains). The sum is
    cut at the smallest window W with W >= ``window_factor`` * tau(W) (Sokal's automatic
    windowing). In this convention independent samples have tau = 1, and n correlated samples
    carry the information of about n / tau independent ones; samples taken every >= 2 tau steps
    are effectively decorrelated. Returns tau in units of the steps of x; 1.0 for a constant
    series.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (n_steps,) or (n_steps, n_chains) with n_steps >= 2,"
                         f" got shape {x.shape}")
    n = x.shape[0]
    x = x - x.mean(axis=0)
    f = np.fft.rfft(x, n=2 * n, axis=0)  # zero-padded: linear, not circular, correlation
    acf = np.fft.irfft(f * np.conj(f), n=2 * n, axis=0)[:n].mean(axis=1)
    if acf[0] <= 0:
        return 1.0
    tau = 2.0 * np.cumsum(acf / acf[0]) - 1.0  # tau(W) = 1 + 2 sum_{t=1}^{W} rho(t)
    windows = np.arange(n)
    ok = windows >= window_factor * tau
    W = int(np.argmax(ok)) if ok.any() else n - 1
    return float(max(tau[W], 0.0))


def block_spins(X: ArrayLike, b: int) -> np.ndarray:
    r"""Coarse-grain configurations by the majority rule on b x b blocks (eq. ``block-spin``).

    X: (n, L*L) rows of spins +-1 (as in :class:`~nnscratch.ising.IsingData`) or (n, L, L).
    Each block of b x b spins becomes one spin, the sign of its sum; a tie (possible for even b)
    goes to the block's top-left spin, so the rule stays symmetric under s -> -s. Returns the
    same layout with L / b spins per side (float64 for rows, int8 for lattices); b = 1 returns
    a copy. L must be a multiple of b.
    """
    a = np.asarray(X)
    rows = a.ndim == 2
    if rows:
        L = math.isqrt(a.shape[1])
        if L * L != a.shape[1]:
            raise ValueError(f"X must have L*L columns, got {a.shape[1]}")
        a = a.reshape(-1, L, L)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError(f"X must have shape (n, L*L) or (n, L, L), got {np.shape(X)}")
    if not np.all(np.abs(a) == 1):
        raise ValueError("X must contain only +1 and -1")
    b = check_count(b, "b")
    L = a.shape[1]
    if L % b:
        raise ValueError(f"L = {L} is not a multiple of the block size b = {b}")
    Lb = L // b
    blocks = a.reshape(-1, Lb, b, Lb, b)
    total = blocks.sum(axis=(2, 4))
    out = np.where(total != 0, np.sign(total), blocks[:, :, 0, :, 0])
    if rows:
        return out.reshape(len(out), Lb * Lb).astype(np.float64)
    return out.astype(np.int8)
