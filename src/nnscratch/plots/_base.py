"""The shared machinery of :mod:`nnscratch.plots` and the figures of parts 1-2 of the book."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap
from matplotlib.figure import Figure, SubFigure

from .._checks import check_finite

__all__ = [
    "OKABE_ITO",
    "STYLE",
    "activation_functions",
    "confusion_matrix",
    "curves",
    "decision_function",
    "decision_regions",
    "digit_grid",
    "heatmap",
    "image_grid",
    "image_pair",
    "ising_snapshots",
    "learning_curves",
    "network_diagram",
    "neuron_mosaic",
    "prediction_bars",
    "set_style",
]

#: The colour-blind-safe palette of Okabe & Ito (2008): the book's colour cycle and class colours.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
CORRECT_COLOR = "#1A7F37"
INCORRECT_COLOR = "#C62828"
_NEUTRAL = "#9E9E9E"

#: The ``rcParams`` that :func:`set_style` applies.
STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
    "lines.linewidth": 1.8,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


def set_style() -> None:
    """Apply the book's matplotlib style (:data:`STYLE`) to the global ``rcParams``.

    Font sizes around 11 pt, a light grid, no top/right spines, the colour-blind-safe
    Okabe-Ito colour cycle, ``figure.dpi`` 100 and ``savefig.bbox='tight'``. Call it once at
    the top of a notebook; ``import nnscratch.plots`` alone changes nothing.
    """
    matplotlib.rcParams.update(STYLE)


# --------------------------------------------------------------------------------------------
# Figures that display exactly once in Jupyter
# --------------------------------------------------------------------------------------------


def _inline_backend() -> bool:
    import matplotlib.pyplot as plt

    return "inline" in str(plt.get_backend()).lower()


def _managed_by_pyplot(fig: Figure) -> bool:
    from matplotlib._pylab_helpers import Gcf

    return any(m.canvas.figure is fig for m in Gcf.get_all_fig_managers())


class BookFigure(Figure):
    """A :class:`~matplotlib.figure.Figure` that a notebook shows exactly once.

    When IPython formats it (a cell ending with the call, ``display(fig)``, ``glue``) while
    pyplot's inline backend still holds it, it detaches itself from pyplot first, so the
    backend does not show it a second time at the end of the cell. Everything else is a
    plain Figure.
    """

    def _repr_mimebundle_(self, include=None, exclude=None):
        if _managed_by_pyplot(self) and _inline_backend():
            import matplotlib.pyplot as plt

            plt.close(self)
        return None  # IPython then renders the figure with its usual Figure formatter


class BookAxes(Axes):
    """An :class:`~matplotlib.axes.Axes` that displays its figure (once) in a notebook
    instead of the text ``<Axes: ...>``."""

    def _repr_mimebundle_(self, include=None, exclude=None):
        fig = self.get_figure(root=True)
        if not isinstance(fig, BookFigure) or not _inline_backend():
            return None
        from IPython.core.formatters import format_display_data

        return format_display_data(fig, include, exclude)


def _new_figure(figsize: tuple[float, float]) -> Figure:
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained", FigureClass=BookFigure)


def _panels(
    fig: Figure | SubFigure | None, nrows: int, ncols: int, figsize: tuple[float, float], **kw
) -> tuple[Figure | SubFigure, np.ndarray]:
    """A figure (new, or the one given) with an ``(nrows, ncols)`` array of new Axes."""
    if fig is None:
        fig = _new_figure(figsize)
    elif not isinstance(fig, (Figure, SubFigure)):
        raise ValueError(
            f"fig must be a matplotlib Figure or SubFigure (or None), got {type(fig).__name__}"
        )
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        return _new_figure(figsize).add_subplot(axes_class=BookAxes)
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes (or None), got {type(ax).__name__}")
    return ax


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


def _as_float(a, name: str) -> np.ndarray:
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of numbers; could not convert it ({exc})"
        ) from None


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _image_shape(n_pixels: int, shape, name: str, n_rows: int | None = None) -> tuple[int, int]:
    """``(H, W)`` from ``shape`` or, when None, the square with ``n_pixels`` pixels."""
    if shape is not None:
        try:
            H, W = (int(s) for s in shape)
        except (TypeError, ValueError):
            raise ValueError(f"shape must be a pair (H, W) of integers, got {shape!r}") from None
        if H < 1 or W < 1 or H * W != n_pixels:
            raise ValueError(
                f"shape={shape!r} does not fit {name}: expected H * W = {n_pixels} pixels per "
                f"image, got {H} * {W} = {H * W}"
            )
        return H, W
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        hint = ""
        if n_rows is not None and math.isqrt(n_rows) ** 2 == n_rows:
            hint = (
                f"; it looks transposed (each column has {n_rows} = {math.isqrt(n_rows)}² "
                f"values): pass {name}.T, e.g. W[0].T for the hidden neurons' weights"
            )
        raise ValueError(
            f"cannot infer the image shape of {name}: {n_pixels} pixels per image is not a "
            f"square number; pass shape=(H, W){hint}"
        )
    return side, side


def _as_images(images, shape, name: str = "images") -> np.ndarray:
    """``images`` ``(n, H*W)`` or ``(n, H, W)`` as a finite float array ``(n, H, W)``."""
    a = _as_float(images, name)
    if a.ndim == 2:
        H, W = _image_shape(a.shape[1], shape, name, n_rows=a.shape[0])
        a = a.reshape(a.shape[0], H, W)
    elif a.ndim == 3:
        if shape is not None and tuple(int(s) for s in shape) != a.shape[1:]:
            raise ValueError(
                f"shape={tuple(shape)!r} does not match {name} of shape {a.shape}: expected "
                f"shape={a.shape[1:]}"
            )
    else:
        hint = " (for a single image use image[None])" if a.ndim == 1 else ""
        raise ValueError(
            f"{name} must have shape (n, H*W) (e.g. (n, 784) or (n, 64)) or (n, H, W), "
            f"got shape {a.shape}{hint}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        raise ValueError(f"{name} is empty: got shape {a.shape}, need at least one image")
    check_finite(a, name)
    return a


def _as_single_image(image, shape, name: str = "image") -> np.ndarray:
    """One grey image: ``(H*W,)``, ``(1, H*W)``, ``(H, W)`` or ``(1, H, W)`` -> ``(H, W)``."""
    a = _as_float(image, name)
    if a.ndim == 2 and a.shape[0] == 1 and (shape is None or tuple(shape) != a.shape):
        a = a[0]
    elif a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 1:
        a = a.reshape(_image_shape(a.size, shape, name))
    elif a.ndim == 2:
        if shape is not None and tuple(int(s) for s in shape) != a.shape:
            raise ValueError(f"shape={tuple(shape)!r} does not match {name} of shape {a.shape}")
    else:
        raise ValueError(f"{name} must be one image: shape (H*W,) or (H, W), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: got shape {a.shape}")
    check_finite(a, name)
    return a


def _as_picture(image, name: str) -> np.ndarray:
    """A grey ``(H, W)`` or colour ``(H, W, 3|4)`` image, finite; colours clipped to [0, 1]."""
    a = np.asarray(image)
    is_int = np.issubdtype(a.dtype, np.integer)
    a = _as_float(a, name)
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, 3), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: got shape {a.shape}")
    check_finite(a, name)
    if a.ndim == 3:
        a = np.clip(a / 255.0 if is_int else a, 0.0, 1.0)
    return a


def _as_points(X, y, name_X: str = "X", name_y: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """``X`` ``(n, 2)`` finite and ``y`` ``(n,)`` class labels (a one-hot/``(n, 1)`` y is
    reduced to labels)."""
    X = _as_float(X, name_X)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(
            f"{name_X} must have shape (n_samples, 2) (points in the plane), got shape {X.shape}"
        )
    check_finite(X, name_X)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2 and y.shape[0] == X.shape[0]:
        y = y.argmax(axis=1)  # one-hot targets
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{name_y} must hold one class label per point, shape ({X.shape[0]},), "
            f"got shape {y.shape}"
        )
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name_y} contains NaN or inf labels")
    return X, y


def _labels_of(values, n: int, name: str) -> list[str]:
    if values is None:
        return []
    values = list(np.asarray(values).ravel()) if not isinstance(values, (list, tuple)) else values
    if len(values) != n:
        raise ValueError(f"{name} must have one entry per image ({n}), got {len(values)}")
    return [_fmt(v) for v in values]


def _fmt(v) -> str:
    """A label as text: ``3`` not ``3.0`` or ``np.int64(3)``."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else f"{float(v):g}"
    return str(v)


def _compact(v) -> str:
    """A tick value compactly: ``1e-05``, ``0.001``, ``10``."""
    if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool):
        return f"{float(v):g}"
    return str(v)


def _grid_layout(n: int, n_cols: int | None, default: int) -> tuple[int, int]:
    n_cols = default if n_cols is None else _positive_int(n_cols, "n_cols")
    n_cols = min(n_cols, n)
    return math.ceil(n / n_cols), n_cols


def _class_colors(k: int, cmap=None) -> list:
    if cmap is None:
        if k <= len(OKABE_ITO):
            return list(OKABE_ITO[:k])
        cmap = "tab20" if k <= 20 else "turbo"
    cm = cmap if isinstance(cmap, Colormap) else matplotlib.colormaps[cmap]
    if isinstance(cm, ListedColormap) and cm.N >= k and cm.N <= 20:
        return [cm(i) for i in range(k)]
    return [cm(t) for t in np.linspace(0.0, 1.0, k)]


# --------------------------------------------------------------------------------------------
# Image grids
# --------------------------------------------------------------------------------------------


def _image_panels(
    images: np.ndarray,
    titles: list[str],
    title_colors: list,
    n_cols: int | None,
    fig,
    cmap,
    limits: Sequence[tuple[float, float]],
    default_cols: int = 10,
    panel: float = 1.0,
    frame: bool = False,
    title_size: str = "medium",
):
    n = images.shape[0]
    n_rows, n_cols = _grid_layout(n, n_cols, default_cols)
    aspect = images.shape[1] / images.shape[2]
    title_space = 0.25 if titles else 0.05
    fig, axes = _panels(
        fig, n_rows, n_cols, (max(2.0, panel * n_cols), n_rows * (panel * aspect + title_space))
    )
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_axis_off()
            continue
        _image_axes(ax, frame)
        vmin, vmax = limits[i]
        im = ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        if titles:
            ax.set_title(titles[i], color=title_colors[i], fontsize=title_size, pad=3)
    return fig, axes, im


def _image_axes(ax: Axes, frame: bool) -> None:
    """An image panel: no ticks or grid; a thin grey frame or no axes at all."""
    if not frame:
        ax.set_axis_off()
        return
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#757575")
        spine.set_linewidth(0.8)


def digit_grid(
    images,
    labels=None,
    predictions=None,
    *,
    n_cols: int = 10,
    shape: tuple[int, int] | None = None,
    titles: Sequence[str] | None = None,
    cmap: str | Colormap = "gray_r",
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""A grid of digit images, each titled with its label (and the prediction when wrong).

    Parameters
    ----------
    images : array, shape ``(n, H*W)`` or ``(n, H, W)``
        E.g. MNIST ``(n, 784)`` / ``(n, 28, 28)`` or scikit-learn digits ``(n, 64)``.
        All images share one grey scale (the minimum and maximum over all of them).
    labels, predictions : array, shape ``(n,)``, optional
        The panel title is the label, or ``"label→prediction"`` in red where they differ.
    n_cols : int
        Panels per row (at most ``n``).
    shape : (H, W), optional
        Image shape for flattened images; inferred as a square when None.
    titles : sequence of ``n`` str, optional
        Panel titles; override labels/predictions. Without labels and titles panels are
        untitled.
    cmap : colormap
        ``"gray_r"``: ink is dark on white paper.
    fig : Figure or SubFigure, optional
        Draw into this (empty) figure instead of a new one.

    Returns
    -------
    Figure
    """
    a = _as_images(images, shape)
    n = a.shape[0]
    lab = _labels_of(labels, n, "labels")
    pred = _labels_of(predictions, n, "predictions")
    colors = ["black"] * n
    if titles is not None:
        text = _labels_of(titles, n, "titles")
    elif lab and pred:
        text = [t if t == p else f"{t}→{p}" for t, p in zip(lab, pred)]
        colors = ["black" if t == p else INCORRECT_COLOR for t, p in zip(lab, pred)]
    else:
        text = lab or pred
    lim = (float(a.min()), float(a.max()))
    fig, _, _ = _image_panels(a, text, colors, n_cols, fig, cmap, [lim] * n)
    return fig


def neuron_mosaic(
    images,
    *,
    n_cols: int = 10,
    shape: tuple[int, int] | None = None,
    titles: Sequence[str] | None = None,
    cmap: str | Colormap = "RdBu_r",
    symmetric: bool = True,
    fig: Figure | SubFigure | None = None,
    shared_scale: bool = False,
) -> Figure:
    r"""What single neurons look at: one image per row of ``images``.

    Typical input: the first layer's weights as images, ``W[0].T`` of shape
    ``(n_hidden, 784)`` (row ``j`` holds the weights :math:`w_{kj}` from every pixel ``k`` into
    hidden neuron ``j``, eq. ``feedforward``), or the inputs that maximise single neurons.

    Parameters
    ----------
    images : array, shape ``(n, H*W)`` or ``(n, H, W)``
    n_cols : int
        Panels per row.
    shape : (H, W), optional
        Inferred as a square when None (e.g. 784 -> 28×28, 64 -> 8×8).
    titles : sequence of ``n`` str, optional
        Default ``"neuron j"``.
    cmap : colormap
        Diverging by default: red positive, blue negative, white zero.
    symmetric : bool
        Colour scale symmetric around 0 (``[-m, m]`` with ``m = max |value|``), so that white
        means 0. Otherwise from the minimum to the maximum.
    shared_scale : bool
        One colour scale for all panels (with a colour bar) instead of one per panel.
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
    """
    a = _as_images(images, shape)
    n = a.shape[0]
    text = (
        _labels_of(titles, n, "titles") if titles is not None else [f"neuron {j}" for j in range(n)]
    )

    def limits(x: np.ndarray) -> tuple[float, float]:
        if symmetric:
            m = float(np.abs(x).max()) or 1.0
            return -m, m
        lo, hi = float(x.min()), float(x.max())
        return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)

    lims = [limits(a)] * n if shared_scale else [limits(img) for img in a]
    fig, axes, im = _image_panels(
        a, text, ["black"] * n, n_cols, fig, cmap, lims, panel=1.05, title_size="small"
    )
    if shared_scale:
        fig.colorbar(im, ax=axes, shrink=0.8, label="value")
    return fig


def prediction_bars(
    image,
    probabilities,
    label,
    *,
    shape: tuple[int, int] | None = None,
    class_names: Sequence[str] | None = None,
    cmap: str | Colormap = "gray_r",
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""One input image and the network's outputs for it, one bar per class.

    The predicted class (the largest output) is highlighted, green when it equals ``label``
    and red otherwise; the suptitle says ``CORRECT`` or ``INCORRECT`` with label and prediction.

    Parameters
    ----------
    image : array, shape ``(H*W,)``, ``(1, H*W)`` or ``(H, W)``
    probabilities : array, shape ``(k,)`` or ``(1, k)``
        The output activations :math:`a^L` for this image (softmax probabilities, or sigmoid
        outputs that need not sum to 1).
    label : int or one-hot array ``(k,)``
        The true class, ``0 <= label < k``.
    shape : (H, W), optional
    class_names : sequence of ``k`` str, optional
        Default ``"0"``, ..., ``"k-1"``.
    cmap : colormap of the image
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
    """
    img = _as_single_image(image, shape)
    p = _as_float(probabilities, "probabilities")
    if p.ndim == 2 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 1 or p.size < 2:
        raise ValueError(
            f"probabilities must be the k >= 2 outputs for one image, shape (k,) or (1, k), "
            f"got shape {p.shape}"
        )
    check_finite(p, "probabilities")
    k = p.size
    lab = np.asarray(label)
    if lab.ndim == 1 and lab.size == k:
        lab = lab.argmax()  # one-hot
    if lab.ndim != 0 or not float(lab).is_integer() or not 0 <= int(lab) < k:
        raise ValueError(
            f"label must be a class index 0 <= label < {k} (one per output), got {label!r}"
        )
    label = int(lab)
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names must have {k} entries (one per output), got {len(names)}")
    pred = int(np.argmax(p))
    correct = pred == label
    good = CORRECT_COLOR if correct else INCORRECT_COLOR

    fig, axes = _panels(fig, 1, 2, (7.0, 2.9), width_ratios=[1.0, 1.9])
    ax_img, ax_bar = axes[0]
    ax_img.imshow(img, cmap=cmap, interpolation="nearest")
    ax_img.set_axis_off()
    ax_img.set_title(f"input (label {names[label]})")

    colors = [_NEUTRAL] * k
    colors[pred] = good
    ax_bar.bar(np.arange(k), p, color=colors, edgecolor="black", linewidth=0.5)
    if not correct:  # outline the true class
        ax_bar.bar([label], [p[label]], fill=False, edgecolor=CORRECT_COLOR, linewidth=2.0)
    ax_bar.set_xticks(np.arange(k), names, rotation=0 if max(map(len, names)) <= 3 else 45)
    ax_bar.get_xticklabels()[label].set_fontweight("bold")
    ax_bar.set_xlabel("class (true class in bold)")
    ax_bar.set_ylabel("network output")
    lo, hi = min(0.0, float(p.min())), max(1.0, float(p.max()))
    ax_bar.set_ylim(lo, hi + 0.12 * (hi - lo))
    ax_bar.text(pred, p[pred], f"{p[pred]:.2f}", ha="center", va="bottom", fontsize="small")
    ax_bar.grid(axis="x", visible=False)
    verdict = "CORRECT" if correct else "INCORRECT"
    fig.suptitle(
        f"{verdict}: label {names[label]}, predicted {names[pred]}",
        color=good,
        fontweight="bold",
    )
    return fig


# --------------------------------------------------------------------------------------------
# Decision regions and functions in the plane
# --------------------------------------------------------------------------------------------


def _plane_grid(X: np.ndarray, resolution, padding) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    resolution = _positive_int(resolution, "resolution", minimum=2)
    if (
        isinstance(padding, bool)
        or not isinstance(padding, (int, float, np.number))
        or not (np.isfinite(padding) and padding >= 0)
    ):
        raise ValueError(
            f"padding must be a number >= 0 (fraction of the data range), got {padding!r}"
        )
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - padding * span, hi + padding * span
    g1 = np.linspace(lo[0], hi[0], resolution)
    g2 = np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(g1, g2)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def _evaluate(fn: Callable, P: np.ndarray, what: str, hint: str) -> np.ndarray:
    out = np.asarray(fn(P))
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1 or out.shape[0] != P.shape[0]:
        raise ValueError(
            f"{what} must map (m, 2) points to (m,) or (m, 1) values; for m = {P.shape[0]} it "
            f"returned shape {out.shape}{hint}"
        )
    if out.dtype.kind in "fc" and not np.all(np.isfinite(out)):
        raise ValueError(f"{what} returned NaN or inf values on the plotting grid")
    return out


def _scatter_classes(ax: Axes, X: np.ndarray, y: np.ndarray, classes, colors, markers=None):
    s = 30 if X.shape[0] <= 300 else 14
    for i, c in enumerate(classes):
        m = y == c
        if not np.any(m):
            continue
        ax.scatter(
            X[m, 0],
            X[m, 1],
            s=s,
            color=colors[i],
            marker=markers[i % len(markers)] if markers else "o",
            edgecolors="black",
            linewidths=0.6,
            label=_fmt(c),
            zorder=3,
        )
    ax.legend(title="class", loc="best", frameon=True, framealpha=0.85)


def _finish_plane(ax: Axes, title: str | None) -> Axes:
    """No grid, axes labelled ``x₁`` and ``x₂``, and the title if any (the plots of the plane)."""
    ax.grid(False)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax


def _as_callable(obj, methods: Sequence[str], what: str) -> Callable:
    for name in methods:
        method = getattr(obj, name, None)
        if callable(method):
            return method
    if callable(obj):
        return obj
    raise ValueError(
        f"{what} must be a function of (m, 2) points or an object with "
        f"{' or '.join('.' + m for m in methods)}, got {type(obj).__name__}"
    )


def decision_regions(
    predict,
    X,
    y,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.2,
    cmap: str | Colormap | None = None,
    title: str | None = None,
) -> Axes:
    r"""The class a classifier predicts everywhere in the plane, with the data on top.

    Parameters
    ----------
    predict : callable or object with ``.predict``
        Maps points ``(m, 2)`` to class labels ``(m,)`` (or ``(m, 1)``): a function, a
        :class:`~nnscratch.network.Network` or a scikit-learn style estimator.
    X : array, shape ``(n, 2)``
        The data points.
    y : array, shape ``(n,)``
        Their classes (one-hot ``(n, k)`` is reduced with argmax).
    resolution : int
        Grid points per axis.
    padding : float
        Margin around the data, as a fraction of its range in each direction.
    cmap : colormap, optional
        Class colours; default the colour-blind-safe Okabe-Ito palette.
    title : str, optional
    ax : Axes, optional

    Returns
    -------
    Axes
        x label ``x₁``, y label ``x₂``.
    """
    X, y = _as_points(X, y)
    fn = _as_callable(predict, ("predict",), "predict")
    xx, yy, P = _plane_grid(X, resolution, padding)
    Z = _evaluate(
        fn,
        P,
        "predict",
        "; for class scores (m, k) pass e.g. lambda P: net.feedforward(P).argmax(axis=1)",
    )
    try:
        if (y.dtype.kind in "USO") != (Z.dtype.kind in "USO"):
            raise TypeError
        classes = np.unique(np.concatenate([y, Z]))
    except (TypeError, ValueError):
        raise ValueError(
            f"predict returned labels of type {Z.dtype} that cannot be compared with y's "
            f"labels of type {y.dtype}"
        ) from None
    if classes.size > 20:
        raise ValueError(
            f"predict returned {np.unique(Z).size} distinct values on the grid: expected class "
            "labels; for a real-valued output use decision_function"
        )
    Zi = np.searchsorted(classes, Z).reshape(xx.shape)
    k = classes.size
    colors = _class_colors(k, cmap)
    ax = _single_axes(ax, (5.6, 4.5))
    dx, dy = xx[0, 1] - xx[0, 0], yy[1, 0] - yy[0, 0]
    ax.imshow(
        Zi,
        origin="lower",
        extent=(xx[0, 0] - dx / 2, xx[0, -1] + dx / 2, yy[0, 0] - dy / 2, yy[-1, 0] + dy / 2),
        cmap=ListedColormap(colors),
        norm=BoundaryNorm(np.arange(k + 1) - 0.5, k),
        alpha=0.35,
        interpolation="nearest",
        aspect="auto",
    )
    _scatter_classes(ax, X, y, classes, colors)
    ax.set_xlim(xx[0, 0], xx[0, -1])
    ax.set_ylim(yy[0, 0], yy[-1, 0])
    return _finish_plane(ax, title)


def decision_function(
    f,
    X,
    y,
    *,
    ax: Axes | None = None,
    resolution: int = 200,
    padding: float = 0.2,
    levels: int = 20,
    title: str | None = None,
    threshold: float | None = None,
    cmap: str | Colormap = "RdBu_r",
    cbar_label: str = "network output $f(x_1, x_2)$",
) -> Axes:
    r"""A real-valued output over the plane: filled contours, the decision boundary, the data.

    Parameters
    ----------
    f : callable or object with ``.decision_function`` / ``.feedforward``
        Maps points ``(m, 2)`` to real values ``(m,)`` or ``(m, 1)`` (e.g. a one-output
        :class:`~nnscratch.network.Network`).
    X : array, shape ``(n, 2)``
    y : array, shape ``(n,)``
        Classes of the points.
    levels : int
        Number of filled contour bands.
    threshold : float, optional
        Where the decision boundary is: 0 (default), or 0.5 for a network with a sigmoid
        output. The diverging colour map is centred there and the boundary ``f = threshold``
        is drawn as a black contour.
    cmap : colormap
        Diverging.
    cbar_label : str
        Label of the colour bar.
    resolution, padding, title, ax
        As in :func:`decision_regions`.

    Returns
    -------
    Axes
    """
    from matplotlib.ticker import MaxNLocator

    X, y = _as_points(X, y)
    fn = _as_callable(f, ("decision_function", "feedforward"), "f")
    levels = _positive_int(levels, "levels", minimum=2)
    if threshold is None:
        output = getattr(getattr(f, "output", None), "name", None)
        threshold = 0.5 if output == "sigmoid" else 0.0
    xx, yy, P = _plane_grid(X, resolution, padding)
    V = _evaluate(fn, P, "f", " (one real value per point)").astype(np.float64).reshape(xx.shape)
    d = float(np.max(np.abs(V - threshold))) or 1.0
    ax = _single_axes(ax, (6.2, 4.6))
    cs = ax.contourf(
        xx, yy, V, levels=np.linspace(threshold - d, threshold + d, levels + 1), cmap=cmap
    )
    if V.min() < threshold < V.max():
        ax.contour(xx, yy, V, levels=[threshold], colors="black", linewidths=1.8)
    cbar = ax.get_figure().colorbar(cs, ax=ax, label=cbar_label, ticks=MaxNLocator(7))
    cbar.ax.axhline(threshold, color="black", linewidth=1.5)
    classes = np.unique(y)
    cm = cmap if isinstance(cmap, Colormap) else matplotlib.colormaps[cmap]
    colors = [cm(0.05), cm(0.95)] if classes.size == 2 else _class_colors(classes.size)
    _scatter_classes(ax, X, y, classes, colors, markers=["o", "s", "^", "D", "v", "P"])
    return _finish_plane(ax, title)


# --------------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------------

_ALIASES = {
    "accuracy": ("accuracy", "score", "acc"),
    "score": ("score", "accuracy", "acc"),
    "loss": ("loss", "cost"),
    "cost": ("cost", "loss"),
}
_YLABELS = {
    "loss": "cost",
    "cost": "cost",
    "accuracy": "accuracy",
    "score": "score",
    "eta": "learning rate η",
    "time": "seconds per epoch",
}


def _history_dict(h, name: str) -> dict[str, Any]:
    if isinstance(h, Mapping):
        return dict(h)
    if hasattr(h, "to_dict") and hasattr(h, "loss"):  # nnscratch.training.History
        return h.to_dict()
    if isinstance(getattr(h, "history", None), Mapping):  # keras History
        return dict(h.history)
    raise ValueError(
        f"{name} must be a nnscratch History, a dict of per-epoch lists (loss, score, val_loss, "
        f"val_score) or a dict {{label: History}}, got {type(h).__name__}"
    )


def _is_history_like(v) -> bool:
    return isinstance(v, Mapping) or hasattr(v, "to_dict") or hasattr(v, "history")


def _series(d: dict, metric: str, val: bool) -> np.ndarray | None:
    for key in _ALIASES.get(metric, (metric,)):
        key = f"val_{key}" if val else key
        if key in d and d[key] is not None and len(d[key]) > 0:
            values = _as_float(d[key], key)
            if values.ndim != 1:
                raise ValueError(
                    f"history[{key!r}] must be 1D (one value per epoch), got {values.shape}"
                )
            return values
    return None


def learning_curves(
    history,
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    labels: Sequence[str] | None = None,
    logy: bool = False,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""Cost and accuracy per epoch, training solid and validation dashed, one panel per metric.

    Parameters
    ----------
    history : History, dict, or dict ``{label: History}``
        A :class:`nnscratch.training.History` (lists ``loss``, ``score`` (= accuracy),
        ``val_loss``, ``val_score``, one value per epoch), a dict with those keys (or
        Keras' ``loss``/``accuracy``/``val_*``), a Keras ``History``, or a dict
        ``{label: history}`` to overlay several runs (one colour per run).
    metrics : sequence of str
        One panel each: ``"loss"``, ``"accuracy"`` (alias ``"score"``), or any other key.
        Metrics no run recorded raise ``ValueError``.
    labels : sequence of str, optional
        Names of the runs (default: the dict's keys; a single run is unnamed).
    logy : bool
        Log scale on the cost panels.
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
        x label ``epoch`` (epochs count from 1), y label per metric.
    """
    if (
        isinstance(history, Mapping)
        and history
        and all(_is_history_like(v) for v in history.values())
    ):
        runs = {str(k): _history_dict(v, f"history[{k!r}]") for k, v in history.items()}
    else:
        runs = {"": _history_dict(history, "history")}
    if labels is not None:
        labels = [str(s) for s in labels]
        if len(labels) != len(runs):
            raise ValueError(f"labels must name the {len(runs)} run(s), got {len(labels)} labels")
        runs = dict(zip(labels, runs.values()))
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not metrics:
        raise ValueError("metrics must name at least one recorded metric, got none")
    for m in metrics:
        if not any(
            _series(d, m, False) is not None or _series(d, m, True) is not None
            for d in runs.values()
        ):
            keys = sorted(
                {k for d in runs.values() for k, v in d.items() if v is not None and np.size(v) > 0}
            )
            raise ValueError(f"no run recorded the metric {m!r}; recorded: {', '.join(keys)}")

    fig, axes = _panels(fig, 1, len(metrics), (4.6 * len(metrics) + 0.4, 3.5))
    from matplotlib.ticker import MaxNLocator

    for ax, m in zip(axes[0], metrics):
        for i, (name, d) in enumerate(runs.items()):
            color = f"C{i % 10}"
            for val, style in ((False, "-"), (True, "--")):
                values = _series(d, m, val)
                if values is None:
                    continue
                part = "validation" if val else "train"
                label = f"{name} ({part})" if name else part
                epochs = np.arange(1, values.size + 1)
                ax.plot(
                    epochs,
                    values,
                    style,
                    color=color,
                    label=label,
                    marker="o" if values.size == 1 else None,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(_YLABELS.get(m, m))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if logy and m in ("loss", "cost", "val_loss"):
            ax.set_yscale("log")
        ax.legend()
    return fig


def curves(
    ys,
    *,
    x=None,
    ax: Axes | None = None,
    xlabel: str = "step",
    ylabel: str = "cost",
    logy: bool = False,
    title: str | None = None,
) -> Axes:
    r"""Several curves on one plot (cost against step, say), one legend entry each.

    Parameters
    ----------
    ys : dict ``{label: array (n_label,)}`` (or a single 1D array)
        NaN/inf values (a diverged run) leave gaps.
    x : array ``(n,)`` shared by all curves, or dict ``{label: array}``, optional
        Default ``0, 1, ..., n_label - 1``.
    xlabel, ylabel, title : str
    logy : bool
        Log scale on the y axis (non-positive values are not drawn).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    if not isinstance(ys, Mapping):
        ys = {"": ys}
    if not ys:
        raise ValueError("ys must hold at least one curve {label: values}, got an empty dict")
    ax = _single_axes(ax, (5.6, 3.8))
    for i, (label, values) in enumerate(ys.items()):
        v = _as_float(values, f"ys[{label!r}]")
        if v.ndim == 2 and 1 in v.shape:
            v = v.ravel()
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"ys[{label!r}] must be a non-empty 1D array, got shape {v.shape}")
        v = np.where(np.isinf(v), np.nan, v)
        xv = x.get(label) if isinstance(x, Mapping) else x
        if xv is None:
            xv = np.arange(v.size)
        xv = _as_float(xv, f"x for {label!r}")
        if xv.shape != v.shape:
            raise ValueError(
                f"x must have one value per point of ys[{label!r}]: expected shape {v.shape}, "
                f"got {xv.shape}"
            )
        ax.plot(
            xv,
            v,
            color=f"C{i % 10}",
            label=str(label) if label != "" else None,
            marker="o" if v.size == 1 else None,
        )
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if any(label != "" for label in ys):
        ax.legend()
    return ax


# --------------------------------------------------------------------------------------------
# Heat maps
# --------------------------------------------------------------------------------------------


def heatmap(
    values,
    row_values,
    col_values,
    *,
    row_label: str,
    col_label: str,
    ax: Axes | None = None,
    title: str | None = None,
    fmt: str = ".2f",
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    cbar_label: str | None = None,
    nan_text: str = "nan",
) -> Axes:
    r"""An annotated heat map over a grid of two parameters (seaborn).

    E.g. the test accuracy over an :math:`\eta \times \lambda` grid: rows :math:`\eta`,
    columns :math:`\lambda`.

    Parameters
    ----------
    values : array, shape ``(len(row_values), len(col_values))``
        NaN/inf cells (runs that diverged) are drawn hatched grey and annotated ``nan_text``.
    row_values, col_values : sequence
        Parameter values of the rows (top to bottom) and columns; numbers are shown compactly
        (``1e-05``, ``0.001``, ``10``).
    row_label, col_label : str
        Axis labels (y and x).
    fmt : str
        Format of the annotations.
    cmap, vmin, vmax : colour map and its limits (default: the finite values' range)
    cbar_label : str, optional
        Label of the colour bar.
    ax, title

    Returns
    -------
    Axes
    """
    import seaborn as sns
    from matplotlib.patches import Rectangle

    V = _as_float(values, "values")
    rows, cols = list(row_values), list(col_values)
    if V.shape != (len(rows), len(cols)):
        hint = " (transposed? rows are row_values)" if V.shape == (len(cols), len(rows)) else ""
        raise ValueError(
            f"values must have shape (len(row_values), len(col_values)) = "
            f"({len(rows)}, {len(cols)}), got {V.shape}{hint}"
        )
    if V.size == 0:
        raise ValueError("values is empty: need at least one row and one column")
    bad = ~np.isfinite(V)
    if bad.all() and (vmin is None or vmax is None):
        vmin, vmax = 0.0, 1.0
    n_r, n_c = V.shape
    ax = _single_axes(ax, (max(4.0, 0.85 * n_c + 2.6), max(3.0, 0.5 * n_r + 1.6)))
    cbar_kws = {"label": cbar_label} if cbar_label else {}
    sns.heatmap(
        np.where(bad, np.nan, V),
        mask=bad,
        annot=True,
        fmt=fmt,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        xticklabels=[_compact(c) for c in cols],
        yticklabels=[_compact(r) for r in rows],
        linewidths=0.5,
        linecolor="white",
        cbar_kws=cbar_kws,
        annot_kws={"fontsize": 10 if max(n_r, n_c) <= 8 else 8},
        ax=ax,
    )
    for i, j in np.argwhere(bad):
        ax.add_patch(
            Rectangle(
                (j, i),
                1,
                1,
                facecolor="#E0E0E0",
                edgecolor="#9E9E9E",
                hatch="///",
                linewidth=0.0,
                zorder=0.5,
            )
        )
        ax.text(
            j + 0.5,
            i + 0.5,
            nan_text,
            ha="center",
            va="center",
            color="#424242",
            fontsize=10 if max(n_r, n_c) <= 8 else 8,
        )
    ax.grid(False)
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.tick_params(axis="y", labelrotation=0)
    if title:
        ax.set_title(title)
    return ax


def _labels_1d(y, name: str) -> np.ndarray:
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        hint = " (one-hot rows? use .argmax(axis=1))" if a.ndim == 2 else ""
        raise ValueError(f"{name} must be class labels, shape (n,), got shape {a.shape}{hint}")
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    f = a.astype(np.float64)
    if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)) or f.min() < 0:
        raise ValueError(f"{name} must hold integer class labels >= 0, got e.g. {a[:5]!r}")
    return f.astype(np.int64)


def confusion_matrix(
    y_true,
    y_pred,
    *,
    n_classes: int | None = None,
    normalize: bool | str = False,
    ax: Axes | None = None,
    title: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Axes:
    r"""Annotated confusion matrix: row = true class, column = predicted class (seaborn).

    Parameters
    ----------
    y_true, y_pred : arrays, shape ``(n,)``
        Integer class labels ``0 ... n_classes-1``.
    n_classes : int, optional
        Default: ``len(class_names)`` or the largest label + 1.
    normalize : bool or {"true", "pred", "all"}
        ``True``/``"true"``: each row sums to 1 (the fraction of each true class);
        ``"pred"``: columns; ``"all"``: the whole matrix. ``False``: counts.
    title : str, optional
        Default ``"accuracy 97.3 % (n = 10000)"``; ``""`` for none.
    class_names : sequence of ``n_classes`` str, optional
    ax : Axes, optional

    Returns
    -------
    Axes
        x label ``predicted label``, y label ``true label``.
    """
    import seaborn as sns

    t = _labels_1d(y_true, "y_true")
    p = _labels_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.size} and {p.size}")
    largest = int(max(t.max(), p.max())) + 1
    if n_classes is None:
        n_classes = len(class_names) if class_names is not None else largest
    k = _positive_int(n_classes, "n_classes")
    if largest > k:
        raise ValueError(f"labels must be < n_classes = {k}, got a label {largest - 1}")
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names must have n_classes = {k} entries, got {len(names)}")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    mode = {True: "true", False: None, None: None}.get(normalize, normalize)
    if mode not in (None, "true", "pred", "all"):
        raise ValueError(
            f"normalize must be False, True, 'true', 'pred' or 'all', got {normalize!r}"
        )
    if mode is None:
        M, fmt, cbar = counts, "d", "count"
    else:
        axis = {"true": 1, "pred": 0, "all": None}[mode]
        total = counts.sum(axis=axis, keepdims=axis is not None)
        M = counts / np.where(total == 0, 1, total)
        fmt = ".2f"
        cbar = {
            "true": "fraction of the true class",
            "pred": "fraction of the predictions",
            "all": "fraction of all samples",
        }[mode]
    side = max(3.6, 0.42 * k + 1.8)
    ax = _single_axes(ax, (side + 0.9, side))
    sns.heatmap(
        M,
        annot=True,
        fmt=fmt,
        cmap="Blues",
        square=True,
        xticklabels=names,
        yticklabels=names,
        cbar_kws={"label": cbar},
        linewidths=0.5,
        linecolor="white",
        annot_kws={"fontsize": 9 if k <= 10 else 7},
        ax=ax,
    )
    ax.grid(False)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.tick_params(axis="y", labelrotation=0)
    if title is None:
        title = f"accuracy {np.trace(counts) / t.size:.1%} (n = {t.size})"
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------------------------
# Activation functions
# --------------------------------------------------------------------------------------------

_NICE_NAMES = {"leaky_relu": "leaky ReLU", "relu": "ReLU", "elu": "ELU"}


def activation_functions(
    names: Sequence[str] = ("sigmoid", "tanh", "relu", "leaky_relu", "elu"),
    *,
    z=None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""The activation functions :math:`\sigma(z)` (left) and their derivatives
    :math:`\sigma'(z)` (right), computed by :func:`nnscratch.activations.get` (eq. ``activation``).

    Parameters
    ----------
    names : sequence of str
        Activations to draw (elementwise ones: not ``softmax``).
    z : array, shape ``(m,)``, optional
        Where to evaluate; default 401 points in [-4, 4].
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
        Axes ``z`` / ``σ(z)`` and ``z`` / ``σ′(z)``.
    """
    from .. import activations

    if isinstance(names, str):
        names = (names,)
    if not names:
        raise ValueError("names must list at least one activation, got none")
    z = np.linspace(-4.0, 4.0, 401) if z is None else _as_float(z, "z")
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"z must be a 1D array of at least 2 points, got shape {z.shape}")
    check_finite(z, "z")
    acts = [activations.get(n) for n in names]
    for act in acts:
        if act.name == "softmax":
            raise ValueError(
                "softmax is not an elementwise activation (it normalises over a row): "
                "leave it out of names"
            )
    fig, axes = _panels(fig, 1, 2, (9.4, 3.6))
    ax_f, ax_df = axes[0]
    styles = ["-", "--", "-.", ":", (0, (5, 1.5, 1, 1.5, 1, 1.5))]
    for i, act in enumerate(acts):
        a = act.f(z)
        kw = {
            "color": f"C{i % 10}",
            "linestyle": styles[i % len(styles)],
            "label": _NICE_NAMES.get(act.name, act.name),
        }
        ax_f.plot(z, a, **kw)
        ax_df.plot(z, act.df(z, a), **kw)
    for ax, ylabel, title in ((ax_f, "σ(z)", "activation"), (ax_df, "σ′(z)", "derivative")):
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel("z")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    ax_f.legend()
    return fig


# --------------------------------------------------------------------------------------------
# Ising model
# --------------------------------------------------------------------------------------------


def ising_snapshots(
    spins,
    temperatures,
    *,
    n_cols: int | None = None,
    fig: Figure | SubFigure | None = None,
    Tc: float | None = None,
) -> Figure:
    r"""Spin configurations of the 2D Ising model, black (:math:`s=-1`) and white (:math:`+1`).

    Parameters
    ----------
    spins : array, shape ``(n, L, L)`` or ``(n, L*L)``, values ±1
    temperatures : array, shape ``(n,)``
        Titles ``"T = 2.30"``.
    n_cols : int, optional
        Panels per row; default up to 6.
    Tc : float, optional
        With it the titles add ``< Tc`` / ``> Tc`` (ordered / disordered phase).
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
    """
    s = _as_images(spins, None, "spins")
    if not np.all(np.abs(s) == 1.0):
        bad = s[np.abs(s) != 1.0][:3]
        raise ValueError(f"spins must all be +1 or -1, got values such as {bad.tolist()}")
    T = _as_float(temperatures, "temperatures").ravel()
    if T.size != s.shape[0]:
        raise ValueError(
            f"temperatures must have one value per configuration ({s.shape[0]}), got {T.size}"
        )
    check_finite(T, "temperatures")
    if Tc is not None and not (isinstance(Tc, (int, float, np.number)) and np.isfinite(Tc)):
        raise ValueError(f"Tc must be a finite number, got {Tc!r}")
    titles = []
    for t in T:
        text = f"T = {t:.2f}"
        if Tc is not None:
            text += " < Tc" if t < Tc else (" > Tc" if t > Tc else " = Tc")
        titles.append(text)
    n = s.shape[0]
    _, cols = _grid_layout(n, n_cols, 6)
    fig, _, _ = _image_panels(
        s, titles, ["black"] * n, cols, fig, "gray", [(-1.0, 1.0)] * n, panel=1.7, frame=True
    )
    return fig


# --------------------------------------------------------------------------------------------
# Network diagram
# --------------------------------------------------------------------------------------------


def _shown_neurons(n: int, max_neurons: int) -> list[int | None]:
    """Indices of the neurons drawn (None: the "⋮" slot)."""
    if n <= max_neurons:
        return list(range(n))
    top = max_neurons // 2
    bottom = max_neurons - 1 - top
    return [*range(top), None, *range(n - bottom, n)]


def network_diagram(
    sizes,
    *,
    weights: Sequence[np.ndarray] | None = None,
    ax: Axes | None = None,
    max_neurons: int = 12,
    title: str | None = None,
) -> Axes:
    r"""A feed-forward network as layers of circles, left (input) to right (output).

    Parameters
    ----------
    sizes : sequence of int, or a :class:`~nnscratch.network.Network`
        Neurons per layer, e.g. ``[784, 30, 10]``. A Network gives its ``sizes`` and its
        weights ``W``.
    weights : list of arrays ``(sizes[l], sizes[l+1])``, optional
        As ``Network.W`` (``z = a @ W[l] + b[l]``, eq. ``feedforward``): edges coloured by the
        sign of :math:`w` (vermillion positive, blue negative) with width growing with
        :math:`|w|` (relative to the largest in that layer).
    max_neurons : int
        Layers wider than this show their first and last neurons around a "⋮".
    title : str, optional
        Default ``"784 → 30 → 10"``.
    ax : Axes, optional

    Returns
    -------
    Axes
        Layers labelled ``input``, ``hidden 1``, ..., ``output`` with their sizes.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    if hasattr(sizes, "sizes"):
        if weights is None:
            weights = getattr(sizes, "W", None)
        sizes = sizes.sizes
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"sizes must be a list of layer sizes (ints), got {sizes!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list >= 2 layers of >= 1 neuron each, got {sizes}")
    max_neurons = _positive_int(max_neurons, "max_neurons", minimum=3)
    if weights is not None:
        weights = [_as_float(W, f"weights[{l}]") for l, W in enumerate(weights)]
        if len(weights) != len(sizes) - 1:
            raise ValueError(
                f"weights must hold {len(sizes) - 1} matrices for sizes {sizes}, got {len(weights)}"
            )
        for l, W in enumerate(weights):
            if W.shape != (sizes[l], sizes[l + 1]):
                hint = (
                    " (transposed? W[l] is (n_in, n_out))"
                    if W.shape == (sizes[l + 1], sizes[l])
                    else ""
                )
                raise ValueError(
                    f"weights[{l}] must have shape {(sizes[l], sizes[l + 1])}, got {W.shape}{hint}"
                )
            check_finite(W, f"weights[{l}]")

    shown = [_shown_neurons(n, max_neurons) for n in sizes]
    height = max(len(s) for s in shown)
    dx, r = 3.0, 0.32
    ax = _single_axes(ax, (1.9 * len(sizes) + 0.6, 0.36 * height + 1.6))

    def ypos(layer: int) -> np.ndarray:
        m = len(shown[layer])
        return (m - 1) / 2.0 - np.arange(m)  # centred, top to bottom

    for l in range(len(sizes) - 1):
        y0, y1 = ypos(l), ypos(l + 1)
        segs, colors, widths = [], [], []
        wmax = float(np.abs(weights[l]).max()) if weights is not None else 0.0
        for i, ni in enumerate(shown[l]):
            if ni is None:
                continue
            for j, nj in enumerate(shown[l + 1]):
                if nj is None:
                    continue
                segs.append([(l * dx + r, y0[i]), ((l + 1) * dx - r, y1[j])])
                if weights is None:
                    colors.append((0.45, 0.45, 0.45, 0.5))
                    widths.append(0.6)
                else:
                    w = weights[l][ni, nj]
                    rel = abs(w) / wmax if wmax > 0 else 0.0
                    base = matplotlib.colors.to_rgb(OKABE_ITO[3] if w > 0 else OKABE_ITO[0])
                    colors.append((*base, 0.25 + 0.7 * rel))
                    widths.append(0.3 + 2.7 * rel)
        ax.add_collection(LineCollection(segs, colors=colors, linewidths=widths, zorder=1))

    n_layers = len(sizes)
    for l, neurons in enumerate(shown):
        ys = ypos(l)
        face = "#DDEBF7" if l == 0 else ("#FCE4D6" if l == n_layers - 1 else "#E2F0D9")
        for yv, ni in zip(ys, neurons):
            if ni is None:
                ax.text(l * dx, yv, "⋮", ha="center", va="center", fontsize=16)
            else:
                ax.add_patch(
                    Circle(
                        (l * dx, yv), r, facecolor=face, edgecolor="black", linewidth=1.0, zorder=2
                    )
                )
        name = "input" if l == 0 else ("output" if l == n_layers - 1 else f"hidden {l}")
        ax.text(
            l * dx,
            -(height - 1) / 2.0 - 0.9,
            f"{name}\n{sizes[l]}",
            ha="center",
            va="top",
            fontsize="medium",
        )
    ax.set_xlim(-dx / 2, (n_layers - 1) * dx + dx / 2)
    ax.set_ylim(-(height - 1) / 2.0 - 2.3, (height - 1) / 2.0 + 0.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if weights is not None:
        ax.legend(
            handles=[
                Line2D([], [], color=OKABE_ITO[3], lw=2, label="w > 0"),
                Line2D([], [], color=OKABE_ITO[0], lw=2, label="w < 0"),
            ],
            loc="upper right",
            bbox_to_anchor=(1.0, 1.0),
            fontsize="small",
        )
    ax.set_title(" → ".join(map(str, sizes)) if title is None else title)
    return ax


# --------------------------------------------------------------------------------------------
# Images (2D function / image fitting)
# --------------------------------------------------------------------------------------------


def image_pair(
    target,
    output,
    *,
    titles: Sequence[str] = ("target", "network"),
    cmap: str | Colormap = "gray",
    fig: Figure | SubFigure | None = None,
) -> Figure:
    r"""A target image and the network's reconstruction side by side.

    Parameters
    ----------
    target : array, shape ``(H, W)`` or ``(H, W, 3)``
    output : array, shape as ``target``, or its ``H*W`` pixels flattened
        (``(H*W,)``, ``(H*W, 1)`` or ``(H*W, 3)``: the network's outputs on the pixel grid).
        Grey images share the target's grey scale (values outside it saturate); colour
        values are clipped to [0, 1].
    titles : pair of str
    cmap : colour map of grey images
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
    """
    t = _as_picture(target, "target")
    o = _as_float(output, "output")
    if o.shape != t.shape:
        if o.size != t.size:
            raise ValueError(
                f"output must have the target's shape {t.shape} (or its {t.size} values "
                f"flattened), got shape {o.shape}"
            )
        o = o.reshape(t.shape)
    o = _as_picture(o, "output")
    titles = list(titles)
    if len(titles) != 2:
        raise ValueError(f"titles must be 2 strings (target, output), got {len(titles)}")
    return image_grid([t, o], titles, cmap=cmap, fig=fig, vmin=float(t.min()), vmax=float(t.max()))


def image_grid(
    images,
    titles: Sequence[str],
    *,
    n_cols: int | None = None,
    cmap: str | Colormap = "gray",
    fig: Figure | SubFigure | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    r"""Images side by side with titles (e.g. a network's output after 10, 100, 1000 epochs).

    Parameters
    ----------
    images : sequence of arrays ``(H, W)`` or ``(H, W, 3)`` (sizes may differ)
    titles : sequence of str, one per image
    n_cols : int, optional
        Default up to 4 per row.
    cmap : colour map of grey images
    vmin, vmax : float, optional
        Grey scale for all grey images (default: each image its own range).
    fig : Figure or SubFigure, optional

    Returns
    -------
    Figure
    """
    if isinstance(images, np.ndarray) and (
        images.ndim == 2
        or (
            images.ndim == 3
            and images.shape[2] in (3, 4)
            and (isinstance(titles, str) or len(titles) == 1)
        )
    ):
        images = [images]  # a single image
    pics = [_as_picture(im, f"images[{i}]") for i, im in enumerate(images)]
    if not pics:
        raise ValueError("images must hold at least one image, got none")
    titles = [str(t) for t in titles] if not isinstance(titles, str) else [titles]
    if len(titles) != len(pics):
        raise ValueError(f"titles must have one entry per image ({len(pics)}), got {len(titles)}")
    n_rows, n_cols = _grid_layout(len(pics), n_cols, 4)
    aspect = max(p.shape[0] / p.shape[1] for p in pics)
    side = 3.0 if n_cols <= 3 else 2.4
    fig, axes = _panels(fig, n_rows, n_cols, (side * n_cols, n_rows * (side * aspect + 0.35)))
    for i, ax in enumerate(axes.flat):
        _image_axes(ax, frame=i < len(pics))
        if i < len(pics):
            ax.imshow(pics[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_title(titles[i])
    return fig
