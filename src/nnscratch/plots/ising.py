r"""Figures of the chapter "Phases of the 2D Ising model" (the snapshots are
:func:`~nnscratch.plots.ising_snapshots` in :mod:`._base`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from .._checks import check_finite
from ._base import _as_float, _panels, _single_axes

__all__ = [
    "crossing_vs_size",
    "hidden_vs_magnetisation",
    "observable_histograms",
    "phase_outputs",
]


def _vector(x, name: str) -> np.ndarray:
    a = _as_float(x, name).ravel()
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    check_finite(a, name)
    return a


def observable_histograms(
    abs_m,
    E,
    T,
    *,
    bins: int = 40,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""Histograms of :math:`|m|` (left) and :math:`E/L^2` (right), one per temperature.

    Parameters
    ----------
    abs_m, E, T : arrays, shape ``(n,)``
        Absolute magnetisation and energy per spin of each configuration, and its temperature.
    bins : int
        Bins over the range of each observable.
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
        Axes ``|m|`` / ``density`` and ``E / L²`` / ``density``.
    """
    m, e, t = _vector(abs_m, "abs_m"), _vector(E, "E"), _vector(T, "T")
    if not (m.size == e.size == t.size):
        raise ValueError(f"abs_m, E and T must have the same length, got {m.size}, {e.size}, "
                         f"{t.size}")
    if not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    fig, axes = _panels(fig, 1, 2, (9.4, 3.4))
    for ax, values, xlabel in ((axes[0][0], m, "|m|"), (axes[0][1], e, "E / L²")):
        edges = np.linspace(values.min(), values.max(), bins + 1)
        for i, temp in enumerate(np.unique(t)):
            ax.hist(values[t == temp], bins=edges, density=True, histtype="stepfilled",
                    alpha=0.45, color=f"C{i % 10}", edgecolor=f"C{i % 10}",
                    label=f"T = {temp:g}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density")
    axes[0][0].legend()
    return fig


def phase_outputs(
    temperatures,
    outputs: Mapping,
    *,
    crossings: Mapping | None = None,
    Tc: float | None = None,
    train: tuple[float, float] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""The two outputs of phase classifiers against temperature, one panel per lattice size.

    Parameters
    ----------
    temperatures : array, shape ``(n_T,)``
    outputs : dict ``{L: array (n_seeds, n_T, 2)}``
        Output "ordered" (index 1) and "disordered" (index 0) of each network (seed), averaged
        over the test configurations at each temperature; drawn as the mean over seeds with a
        band of ± one standard deviation.
    crossings : dict ``{L: (T_star, error)}``, optional
        Drawn as a vertical line with a shaded error band.
    Tc : float, optional
        The exact critical temperature, a dashed black line.
    train : (T_low, T_high), optional
        The networks were trained on T <= T_low and T >= T_high: shaded grey.
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
        Axes ``T`` / ``mean output``, titled ``L = ...``.
    """
    T = _vector(temperatures, "temperatures")
    if not isinstance(outputs, Mapping) or not outputs:
        raise ValueError("outputs must be a non-empty dict {L: array (n_seeds, n_T, 2)}")
    fig, axes = _panels(fig, 1, len(outputs), (3.5 * len(outputs) + 0.6, 3.4))
    for ax, (L, out) in zip(axes[0], outputs.items(), strict=True):
        a = _as_float(out, f"outputs[{L}]")
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[1:] != (T.size, 2):
            raise ValueError(f"outputs[{L}] must have shape (n_seeds, {T.size}, 2), got "
                             f"{np.shape(out)}")
        if train is not None:
            lo, hi = train
            ax.axvspan(T[0], lo, color="0.85", zorder=0)
            ax.axvspan(hi, T[-1], color="0.85", zorder=0,
                       label="training" if L == next(iter(outputs)) else None)
        for k, name, color in ((1, "ordered", "C0"), (0, "disordered", "C1")):
            mean, std = a[:, :, k].mean(axis=0), a[:, :, k].std(axis=0)
            ax.fill_between(T, mean - std, mean + std, color=color, alpha=0.3, linewidth=0)
            ax.plot(T, mean, color=color, marker=".", label=f"output {name}")
        if Tc is not None:
            ax.axvline(Tc, color="black", linestyle="--", linewidth=1.0, label="exact Tc")
        if crossings is not None and L in crossings:
            t_star, err = crossings[L]
            ax.axvspan(t_star - err, t_star + err, color="C3", alpha=0.25, linewidth=0)
            ax.axvline(t_star, color="C3", linewidth=1.2, label="crossing T*")
        ax.set_xlabel("T")
        ax.set_ylabel("mean output")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"L = {L}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    axes[0][-1].legend(handles, labels, loc="center right", fontsize="small", frameon=True,
                       framealpha=0.9)
    return fig


def crossing_vs_size(
    L,
    T_star,
    T_err,
    *,
    Tc: float | None = None,
    fit: tuple[float, float] | None = None,
    nu: float = 1.0,
    label: str = "crossing T*(L)",
    color: str = "C0",
    annotate: bool = True,
    ax: Axes | None = None,
) -> Axes:
    r"""Crossing temperatures :math:`T^*(L)` against :math:`L^{-1/\nu}`, with error bars.

    Parameters
    ----------
    L, T_star, T_err : arrays, shape ``(k,)``
        Lattice sizes, crossings and their errors.
    Tc : float, optional
        The exact critical temperature (dashed line).
    fit : (T_c, a), optional
        The line :math:`T_c + a L^{-1/\nu}`, drawn from the smallest size to
        :math:`L = \infty`, its intercept marked.
    nu : float
        The exponent of the x axis (1 for the 2D Ising model).
    label, color : str
        Legend entry and colour of the points (call again with ``ax`` to add a second series).
    annotate : bool
        Write ``L = ...`` next to each point.
    ax : Axes, optional

    Returns
    -------
    Axes
        x label ``1 / L``, y label ``T*``.
    """
    sizes, ts, err = _vector(L, "L"), _vector(T_star, "T_star"), _vector(T_err, "T_err")
    if not (sizes.size == ts.size == err.size):
        raise ValueError(f"L, T_star and T_err must have the same length, got {sizes.size}, "
                         f"{ts.size}, {err.size}")
    if np.any(sizes <= 0) or nu <= 0:
        raise ValueError("L and nu must be positive")
    ax = _single_axes(ax, (5.2, 3.6))
    x = sizes ** (-1.0 / nu)
    ax.errorbar(x, ts, yerr=err, fmt="o", color=color, capsize=3, label=label)
    for xi, ti, Li in zip(x, ts, sizes, strict=True) if annotate else ():
        ax.annotate(f"L = {Li:g}", (xi, ti), textcoords="offset points", xytext=(6, 6),
                    fontsize="small")
    if fit is not None:
        Tc_fit, a = fit
        xs = np.linspace(0.0, x.max(), 50)
        ax.plot(xs, Tc_fit + a * xs, color=color, linewidth=1.2,
                label=f"fit T_c + a/L: T_c = {Tc_fit:.3f}")
        ax.plot([0.0], [Tc_fit], marker="s", color=color)
    if Tc is not None and not any(line.get_label().startswith("exact")
                                  for line in ax.get_lines()):
        ax.axhline(Tc, color="black", linestyle="--", linewidth=1.0, label=f"exact {Tc:.3f}")
    ax.set_xlim(left=-0.003)
    ax.set_xlabel("1 / L" if nu == 1 else f"L^(-1/{nu:g})")
    ax.set_ylabel("T*")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def hidden_vs_magnetisation(
    m,
    z,
    *,
    names=None,
    ax: Axes | None = None,
) -> Axes:
    r"""Weighted inputs of hidden neurons against the magnetisation, one colour per neuron.

    Parameters
    ----------
    m : array, shape ``(n,)``
        Magnetisation per spin of each configuration (signed).
    z : array, shape ``(n, k)``
        The weighted inputs :math:`z_j = s \cdot w_j + b_j` of ``k`` hidden neurons.
    names : sequence of ``k`` str, optional
        Legend entries; default ``"neuron j"``.
    ax : Axes, optional

    Returns
    -------
    Axes
        x label ``m``, y label ``z``.
    """
    mm = _vector(m, "m")
    zz = _as_float(z, "z")
    if zz.ndim == 1:
        zz = zz[:, None]
    if zz.ndim != 2 or zz.shape[0] != mm.size:
        raise ValueError(f"z must have shape ({mm.size}, k), got {np.shape(z)}")
    check_finite(zz, "z")
    labels = [f"neuron {j}" for j in range(zz.shape[1])] if names is None else list(names)
    if len(labels) != zz.shape[1]:
        raise ValueError(f"names must have {zz.shape[1]} entries, got {len(labels)}")
    ax = _single_axes(ax, (5.2, 3.6))
    for j in range(zz.shape[1]):
        ax.scatter(mm, zz[:, j], s=6, alpha=0.5, color=f"C{j % 10}", label=labels[j])
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("m")
    ax.set_ylabel("z")
    ax.legend(fontsize="small", markerscale=2)
    return ax
