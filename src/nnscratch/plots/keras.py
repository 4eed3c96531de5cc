"""Figures of the chapter "Keras and convolutional networks"."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure, SubFigure

from ._base import _as_float, _panels

__all__ = ["cost_comparison"]


def cost_comparison(
    costs: Mapping[str, object],
    *,
    x=None,
    xlabel: str = "training step",
    ylabel: str = "mini-batch cost",
    title: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""Two cost curves of the same training run in two libraries, and their difference.

    Top panel: both curves against ``x`` (the second dashed, so that it shows where the two
    coincide). Bottom panel: the absolute difference :math:`|C_1 - C_2|` on a log scale (zeros
    are not drawn).

    Parameters
    ----------
    costs : dict ``{label: array (n,)}`` with exactly two entries of the same length
        E.g. ``{"nnscratch": cost_nn, "Keras": cost_keras}``; values must be finite.
    x : array ``(n,)``, optional
        Default ``1, ..., n`` (training steps).
    xlabel, ylabel, title : str
    fig : Figure or SubFigure, optional
        Draw into this (empty) figure instead of a new one.

    Returns
    -------
    Figure
        With two Axes, sharing the x axis.
    """
    if not isinstance(costs, Mapping) or len(costs) != 2:
        n = len(costs) if isinstance(costs, Mapping) else type(costs).__name__
        raise ValueError(f"costs must be a dict of exactly two curves {{label: values}}, got {n}")
    (name_a, a), (name_b, b) = ((str(k), _as_float(v, f"costs[{k!r}]")) for k, v in costs.items())
    for name, v in ((name_a, a), (name_b, b)):
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"costs[{name!r}] must be a non-empty 1D array, got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"costs[{name!r}] must be finite (no NaN or inf)")
    if a.shape != b.shape:
        raise ValueError(
            f"the two cost curves must have the same length, got {a.size} ({name_a}) and "
            f"{b.size} ({name_b})"
        )
    xv = np.arange(1, a.size + 1, dtype=np.float64) if x is None else _as_float(x, "x")
    if xv.shape != a.shape:
        raise ValueError(f"x must have one value per point, shape {a.shape}; got {xv.shape}")

    fig, axes = _panels(
        fig, 2, 1, (6.4, 5.0), sharex=True, gridspec_kw={"height_ratios": [2.2, 1.0]}
    )
    top, bottom = axes[:, 0]
    top.plot(xv, a, color="C0", lw=2.4, alpha=0.8, label=name_a)
    top.plot(xv, b, color="C1", lw=1.2, ls="--", label=name_b)
    top.set_ylabel(ylabel)
    top.legend()
    if title:
        top.set_title(title)
    diff = np.abs(a - b)
    bottom.plot(xv, np.where(diff > 0, diff, np.nan), color="C2", lw=1.0)
    bottom.set_yscale("log")
    bottom.set_xlabel(xlabel)
    bottom.set_ylabel("|difference|")
    return fig
