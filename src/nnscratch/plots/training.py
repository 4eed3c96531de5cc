"""Figures of the chapter *Practical training*: gradient norms per layer, grouped bars."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from ._base import _as_float, _single_axes

__all__ = ["grouped_bars", "layer_gradient_norms"]


def layer_gradient_norms(
    norms: Mapping[str, object],
    *,
    ax: Axes | None = None,
    ylabel: str = r"$\|\partial C/\partial W^l\|$",
    title: str | None = None,
) -> Axes:
    r"""The norm of each layer's weight gradient against the layer :math:`l = 1, \dots, L`, one
    line per network, on a log scale (eq. ``delta-product``).

    Parameters
    ----------
    norms : dict ``{label: array (L,)}``
        For example :func:`nnscratch.training.gradient_norms` of each network; the networks may
        differ in depth. Values must be finite and positive (a log scale).
    ax : Axes, optional
    ylabel, title : str

    Returns
    -------
    Axes
        x label ``layer l``, y label ``ylabel``, a legend with the labels.
    """
    if not isinstance(norms, Mapping) or not norms:
        raise ValueError(
            "norms must be a non-empty dict {label: per-layer gradient norms}, "
            f"got {type(norms).__name__ if not isinstance(norms, Mapping) else 'an empty dict'}"
        )
    ax = _single_axes(ax, (6.0, 3.8))
    markers = "osD^vP*X"
    longest = 0
    for i, (label, values) in enumerate(norms.items()):
        v = _as_float(values, f"norms[{label!r}]")
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"norms[{label!r}] must be a non-empty 1D array, got shape {v.shape}")
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(
                f"norms[{label!r}] must be finite and positive (log scale), got {v.tolist()!r}"
            )
        longest = max(longest, v.size)
        ax.plot(
            np.arange(1, v.size + 1),
            v,
            marker=markers[i % len(markers)],
            color=f"C{i % 10}",
            label=str(label),
        )
    ax.set_yscale("log")
    ax.set_xticks(np.arange(1, longest + 1))
    ax.set_xlabel("layer $l$ (input side left, output right)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9)
    return ax


def grouped_bars(
    values: Mapping[str, Mapping[str, float]],
    *,
    errors: Mapping[str, Mapping[str, float]] | None = None,
    ylabel: str,
    xlabel: str | None = None,
    ax: Axes | None = None,
    ylim: tuple[float, float] | None = None,
    title: str | None = None,
    fmt: str | None = None,
) -> Axes:
    """Bars grouped by category: ``values[series][category]``, one colour per series.

    Parameters
    ----------
    values : dict ``{series: {category: value}}``
        Every series must have the same categories (in the order of the first series).
    errors : dict of the same shape, optional
        Half-lengths of error bars (e.g. a standard deviation).
    ylabel, xlabel, title : str
    ylim : (low, high), optional
    fmt : str, optional
        Format to write each value above its bar (e.g. ``".2f"``).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if not isinstance(values, Mapping) or not values:
        raise ValueError("values must be a non-empty dict {series: {category: value}}")
    series = list(values)
    first = values[series[0]]
    if not isinstance(first, Mapping) or not first:
        raise ValueError(f"values[{series[0]!r}] must be a non-empty dict {{category: value}}")
    categories = list(first)
    for s in series:
        if not isinstance(values[s], Mapping) or list(values[s]) != categories:
            got = list(values[s]) if isinstance(values[s], Mapping) else values[s]
            raise ValueError(
                f"every series must have the categories {categories}, values[{s!r}] has {got!r}"
            )
    if errors is not None and (
        not isinstance(errors, Mapping)
        or set(errors) != set(series)
        or any(list(errors[s]) != categories for s in series)
    ):
        raise ValueError("errors must have the same series and categories as values")
    ax = _single_axes(ax, (6.0, 3.8))
    x = np.arange(len(categories))
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        h = _as_float([values[s][c] for c in categories], f"values[{s!r}]")
        err = None if errors is None else _as_float([errors[s][c] for c in categories], "errors")
        pos = x + (i - (len(series) - 1) / 2) * width
        bars = ax.bar(pos, h, width, yerr=err, capsize=3, color=f"C{i % 10}", label=str(s))
        if fmt:
            ax.bar_label(bars, labels=[format(v, fmt) for v in h], fontsize=8, padding=2)
    ax.set_xticks(x, categories)
    ax.set_ylabel(ylabel)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", visible=False)
    if len(series) > 1 or str(series[0]):
        ax.legend(fontsize=9, loc="upper center", ncols=len(series))
    return ax
