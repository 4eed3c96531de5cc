"""nnscratch.plots: every figure builds from small synthetic data, is labelled, is not blank,
leaves global state alone and rejects bad input with a clear ValueError."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch import Network, plots
from nnscratch.training import History

pytestmark = pytest.mark.usefixtures("close_figures")  # Agg backend: tests/conftest.py


@pytest.fixture(autouse=True)
def _restore_rc():
    with matplotlib.rc_context():
        yield


def rendered(fig_or_ax) -> np.ndarray:
    """The RGBA pixels of the drawn figure; fails if the canvas is (nearly) blank."""
    fig = fig_or_ax if isinstance(fig_or_ax, Figure) else fig_or_ax.get_figure(root=True)
    fig.canvas.draw()
    px = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
    assert px.std() > 5.0, "the figure is blank"
    assert (px.min(axis=(0, 1)) < 100).any(), "nothing dark drawn (no text, no data)"
    return px


def titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


@pytest.fixture
def digits(rng):
    X = rng.uniform(0, 16, size=(12, 64))
    y = rng.integers(0, 10, size=12)
    return X, y


@pytest.fixture
def moons(rng):
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)
    return X, y


# ------------------------------------------------------------------------------ global state


def test_import_changes_no_rcparams_and_set_style_does():
    # dict.items: reading rcParams["backend"] through RcParams would itself import pyplot
    code = (
        "import json, sys, matplotlib\n"
        "snap = lambda: {k: repr(v) for k, v in dict.items(matplotlib.rcParams)}\n"
        "before = snap()\n"
        "import nnscratch.plots as p\n"
        "after = snap()\n"
        "assert before == after, [k for k in before if before[k] != after[k]]\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported at import time'\n"
        "assert 'seaborn' not in sys.modules, 'seaborn imported at import time'\n"
        "p.set_style()\n"
        "print(json.dumps([k for k, v in snap().items() if v != before[k]]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    changed = set(__import__("json").loads(out.stdout))
    assert {"axes.grid", "axes.spines.top", "axes.prop_cycle", "savefig.bbox"} <= changed


def test_set_style_values():
    plots.set_style()
    rc = matplotlib.rcParams
    assert rc["font.size"] == 11
    assert rc["axes.grid"] and not rc["axes.spines.top"] and not rc["axes.spines.right"]
    assert rc["figure.dpi"] == 100 and rc["savefig.bbox"] == "tight"
    colors = [c["color"] for c in rc["axes.prop_cycle"]]
    assert colors[:3] == [c.lower() for c in plots.OKABE_ITO[:3]] or colors[:3] == list(
        plots.OKABE_ITO[:3]
    )


def test_figure_count_does_not_grow(digits):
    X, y = digits
    plots.digit_grid(X, y)
    plots.curves({"a": np.arange(5.0)})
    n = len(plt.get_fignums())
    assert n == 2
    plt.close("all")
    for _ in range(3):
        plots.digit_grid(X[:2], y[:2])
        plt.close("all")
    assert plt.get_fignums() == []


# ------------------------------------------------------------------------------ image grids


def test_digit_grid_titles_and_mistakes_in_red(digits):
    X, y = digits
    pred = y.copy()
    pred[2] = (y[2] + 1) % 10
    fig = plots.digit_grid(X, y, pred, n_cols=5)
    assert isinstance(fig, Figure)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12 and len(fig.axes) == 15  # 3 rows x 5, 3 empty panels
    assert shown[2].get_title() == f"{y[2]}→{pred[2]}"
    assert shown[2].title.get_color() == plots.INCORRECT_COLOR
    assert shown[0].get_title() == str(y[0]) and shown[0].title.get_color() == "black"
    assert shown[0].images[0].get_array().shape == (8, 8)
    rendered(fig)


def test_digit_grid_shapes_and_titles(rng):
    imgs = rng.random((3, 28, 28))
    fig = plots.digit_grid(imgs, titles=["a", "b", "c"])
    assert titles(fig) == ["a", "b", "c"]
    fig2 = plots.digit_grid(imgs.reshape(3, -1), [1, 2, 3])
    assert fig2.axes[0].images[0].get_array().shape == (28, 28)
    fig3 = plots.digit_grid(rng.random((2, 12)), shape=(3, 4))
    assert fig3.axes[0].images[0].get_array().shape == (3, 4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"images": np.zeros((3, 50))}, "not a square number"),
        ({"images": np.zeros(784)}, r"image\[None\]"),
        ({"images": np.zeros((2, 64)), "labels": [1, 2, 3]}, "one entry per image"),
        ({"images": np.full((2, 64), np.nan)}, "NaN"),
        ({"images": np.zeros((2, 64)), "shape": (4, 4)}, "H \\* W = 64"),
        ({"images": np.zeros((0, 64))}, "empty"),
    ],
)
def test_digit_grid_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.digit_grid(**kwargs)


def test_neuron_mosaic_symmetric_scale_and_transposed_hint(rng):
    W = rng.normal(size=(16, 5))  # W[0] of a 16 -> 5 network
    fig = plots.neuron_mosaic(W.T, n_cols=5)
    ims = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(ims) == 5
    for j, im in enumerate(ims):
        vmin, vmax = im.get_clim()
        assert vmin == -vmax == -np.abs(W[:, j]).max()
    assert titles(fig)[0] == "neuron 0"
    rendered(fig)
    with pytest.raises(ValueError, match=r"transposed.*\.T"):
        plots.neuron_mosaic(W)
    fig = plots.neuron_mosaic(W.T, symmetric=False, shared_scale=True)
    assert fig.axes[0].images[0].get_clim() == (W.min(), W.max())


def test_prediction_bars_correct_and_incorrect(rng):
    img = rng.random(64)
    p = np.full(10, 0.02)
    p[3] = 0.82
    fig = plots.prediction_bars(img, p, 3)
    assert fig.get_suptitle().startswith("CORRECT")
    assert fig._suptitle.get_color() == plots.CORRECT_COLOR
    ax_bar = fig.axes[1]
    assert ax_bar.get_xlabel() and ax_bar.get_ylabel()
    assert len(ax_bar.patches) == 10
    rendered(fig)
    fig = plots.prediction_bars(img.reshape(8, 8), p[None], 5, class_names=list("abcdefghij"))
    sup = fig.get_suptitle()
    assert sup.startswith("INCORRECT") and "label f" in sup and "predicted d" in sup
    assert fig._suptitle.get_color() == plots.INCORRECT_COLOR
    onehot = np.eye(10)[3]
    assert plots.prediction_bars(img, p, onehot).get_suptitle().startswith("CORRECT")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(64), np.full(10, 0.1), 10), r"0 <= label < 10"),
        ((np.zeros(64), np.full(10, 0.1), 2.5), "class index"),
        ((np.zeros(64), np.zeros((2, 10)), 1), r"shape \(k,\)"),
        ((np.zeros(64), [0.1, np.nan, 0.2], 1), "NaN"),
        ((np.zeros(60), np.full(10, 0.1), 1), "square"),
    ],
)
def test_prediction_bars_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        plots.prediction_bars(*args)


# ------------------------------------------------------------------------------ the plane


def test_decision_regions_with_function_and_network(moons):
    X, y = moons
    ax = plots.decision_regions(lambda P: (P[:, 0] > 0).astype(int), X, y, title="t")
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$" and ax.get_title() == "t"
    regions = ax.images[0].get_array()
    assert set(np.unique(regions)) == {0, 1}  # both classes appear on the grid
    px = rendered(ax)
    # the left and right halves of the plot are coloured differently
    mid = px.shape[0] // 2
    assert np.abs(px[mid, 150] - px[mid, -150]).sum() > 30
    net = Network([2, 3, 2], output="softmax", loss="cross_entropy")
    net.initialize(0)
    ax = plots.decision_regions(net, X, y, resolution=20)
    assert ax.images[0].get_array().shape == (20, 20)
    xlim = ax.get_xlim()
    span = X[:, 0].max() - X[:, 0].min()
    assert xlim[0] == pytest.approx(X[:, 0].min() - 0.2 * span)


@pytest.mark.parametrize(
    ("predict", "X", "y", "match"),
    [
        (lambda P: P[:, 0] > 0, np.zeros((5, 3)), np.zeros(5), r"\(n_samples, 2\)"),
        (lambda P: P[:, 0] > 0, np.zeros((5, 2)), np.zeros(4), "one class label per point"),
        (lambda P: P[:10, 0], np.eye(2), [0, 1], r"returned shape \(10,\)"),
        (lambda P: P, np.eye(2), [0, 1], "argmax"),
        (lambda P: P[:, 0], np.eye(2), [0, 1], "decision_function"),
        ("nope", np.eye(2), [0, 1], "function"),
        (lambda P: P[:, 0] > 0, [[np.nan, 0], [1, 1]], [0, 1], "NaN"),
    ],
)
def test_decision_regions_bad_input(predict, X, y, match):
    with pytest.raises(ValueError, match=match):
        plots.decision_regions(predict, X, y, resolution=30)


def test_decision_function_boundary_and_colorbar(moons):
    X, y = moons
    ax = plots.decision_function(lambda P: P[:, :1] - 0.25, X, y, resolution=40, levels=10)
    fig = ax.get_figure(root=True)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    cbar_ax = next(a for a in fig.axes if a is not ax)
    assert cbar_ax.get_ylabel()  # the colour bar is labelled
    # filled contours centred at 0, and the zero contour exists
    cs = [c for c in ax.collections if hasattr(c, "levels")]
    filled, line = cs[0], cs[1]
    assert filled.levels[0] == pytest.approx(-filled.levels[-1])
    assert list(line.levels) == [0.0]
    rendered(ax)
    # a sigmoid-output network: boundary at 0.5
    net = Network([2, 3, 1], output="sigmoid", loss="quadratic")
    net.initialize(1)
    ax = plots.decision_function(net, X, y, resolution=30)
    levels = next(c.levels for c in ax.collections if hasattr(c, "levels"))
    assert (levels[0] + levels[-1]) / 2 == pytest.approx(0.5)
    with pytest.raises(ValueError, match="NaN or inf"):
        plots.decision_function(lambda P: np.full(len(P), np.nan), X, y, resolution=10)
    with pytest.raises(ValueError, match=r"\(m,\) or \(m, 1\)"):
        plots.decision_function(lambda P: P, X, y, resolution=10)


# ------------------------------------------------------------------------------ curves


def _history(n=6, val=True):
    h = History()
    for e in range(n):
        h.loss.append(1.0 / (e + 1))
        h.score.append(0.5 + 0.05 * e)
        if val:
            h.val_loss.append(1.2 / (e + 1))
            h.val_score.append(0.45 + 0.05 * e)
    return h


def test_learning_curves_single_history():
    fig = plots.learning_curves(_history())
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_xlabel() == "epoch" and ax_loss.get_ylabel() == "cost"
    assert ax_acc.get_ylabel() == "accuracy"
    train, val = ax_loss.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5, 6]  # epochs from 1
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["train", "validation"]
    rendered(fig)


def test_learning_curves_runs_dicts_and_logy():
    runs = {"η=0.1": _history(), "η=1": _history(4, val=False).to_dict()}
    fig = plots.learning_curves(runs, logy=True)
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_yscale() == "log" and ax_acc.get_yscale() == "linear"
    labels = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert labels == ["η=0.1 (train)", "η=0.1 (validation)", "η=1 (train)"]
    assert ax_loss.get_lines()[0].get_color() != ax_loss.get_lines()[2].get_color()
    fig = plots.learning_curves(runs, labels=["a", "b"], metrics=("loss",))
    assert len(fig.axes) == 1
    # a plain dict with keras names
    fig = plots.learning_curves({"loss": [1, 0.5], "accuracy": [0.6, 0.7], "val_loss": [1, 1]})
    assert len(fig.axes[1].get_lines()) == 1


def test_learning_curves_bad_input():
    with pytest.raises(ValueError, match=r"metric .f1..*recorded: loss"):
        plots.learning_curves(_history(), metrics=("f1",))
    with pytest.raises(ValueError, match="History"):
        plots.learning_curves([1, 2, 3])
    with pytest.raises(ValueError, match="name the 1 run"):
        plots.learning_curves(_history(), labels=["a", "b"])


def test_curves():
    ax = plots.curves(
        {"SGD": np.exp(-np.arange(30) / 10), "Adam": [1.0, 0.1, np.nan, np.inf]},
        logy=True,
        title="cost",
        xlabel="epoch",
    )
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "cost" and ax.get_title() == "cost"
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    rendered(ax)
    ax = plots.curves({"a": [3.0, 2.0, 1.0]}, x=[10, 20, 30])
    assert list(ax.get_lines()[0].get_xdata()) == [10, 20, 30]
    with pytest.raises(ValueError, match=r"expected shape \(3,\), got \(2,\)"):
        plots.curves({"a": [3.0, 2.0, 1.0]}, x=[1, 2])
    with pytest.raises(ValueError, match="1D"):
        plots.curves({"a": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="empty"):
        plots.curves({})


# ------------------------------------------------------------------------------ heat maps


def test_heatmap_labels_ticks_and_nan(rng):
    V = rng.uniform(0.5, 1.0, size=(3, 4))
    V[1, 2] = np.nan
    ax = plots.heatmap(
        V,
        [1e-5, 0.001, 10],
        [0, 0.1, 1.0, 100],
        row_label="η",
        col_label="λ",
        title="accuracy",
        cbar_label="test accuracy",
    )
    assert ax.get_ylabel() == "η" and ax.get_xlabel() == "λ" and ax.get_title() == "accuracy"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1e-05", "0.001", "10"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.1", "1", "100"]
    texts = [t.get_text() for t in ax.texts]
    assert "nan" in texts and f"{V[0, 0]:.2f}" in texts
    assert len(texts) == 12
    cbar_ax = next(a for a in ax.get_figure(root=True).axes if a is not ax)
    assert cbar_ax.get_ylabel() == "test accuracy"
    rendered(ax)
    # all NaN still draws
    ax = plots.heatmap(np.full((2, 2), np.nan), [1, 2], [3, 4], row_label="a", col_label="b")
    assert [t.get_text() for t in ax.texts] == ["nan"] * 4


def test_heatmap_bad_shape():
    with pytest.raises(ValueError, match=r"\(2, 3\), got \(3, 2\) \(transposed"):
        plots.heatmap(np.zeros((3, 2)), [1, 2], [1, 2, 3], row_label="a", col_label="b")


def test_confusion_matrix(rng):
    t = rng.integers(0, 4, size=50)
    p = t.copy()
    p[:10] = (p[:10] + 1) % 4
    ax = plots.confusion_matrix(t, p)
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert ax.get_title() == "accuracy 80.0% (n = 50)"
    counts = np.zeros((4, 4), int)
    np.add.at(counts, (t, p), 1)
    assert [t.get_text() for t in ax.texts] == [str(c) for c in counts.ravel()]
    rendered(ax)
    ax = plots.confusion_matrix(t, p, normalize=True, class_names=list("abcd"), title="")
    vals = np.array([float(s.get_text()) for s in ax.texts]).reshape(4, 4)
    assert np.allclose(vals.sum(axis=1), 1.0, atol=0.02)
    assert [s.get_text() for s in ax.get_xticklabels()] == list("abcd")
    assert ax.get_title() == ""
    with pytest.raises(ValueError, match="same length"):
        plots.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="argmax"):
        plots.confusion_matrix(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="n_classes = 2"):
        plots.confusion_matrix([0, 1, 2], [0, 1, 1], n_classes=2)
    with pytest.raises(ValueError, match="normalize"):
        plots.confusion_matrix([0, 1], [0, 1], normalize="rows")


# ------------------------------------------------------------------------------ the rest


def test_activation_functions():
    fig = plots.activation_functions()
    ax_f, ax_df = fig.axes
    assert ax_f.get_xlabel() == "z" and ax_f.get_ylabel() == "σ(z)"
    assert ax_df.get_xlabel() == "z" and ax_df.get_ylabel() == "σ′(z)"
    assert len(ax_f.get_legend().get_texts()) == 5
    # the sigmoid curve and its derivative are the library's values
    z = ax_f.get_lines()[0].get_xdata()
    s = 1 / (1 + np.exp(-z))
    assert np.allclose(ax_f.get_lines()[0].get_ydata(), s)
    assert np.allclose(ax_df.get_lines()[0].get_ydata(), s * (1 - s))
    rendered(fig)
    fig = plots.activation_functions(["relu"], z=np.linspace(-1, 1, 5))
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [0, 0, 0, 1, 1]
    with pytest.raises(ValueError, match="unknown activation"):
        plots.activation_functions(["swish"])
    with pytest.raises(ValueError, match="softmax"):
        plots.activation_functions(["softmax"])


def test_ising_snapshots(rng):
    spins = np.where(rng.random((4, 8, 8)) < 0.5, -1, 1)
    fig = plots.ising_snapshots(spins, [1.5, 2.3, 3.0, 4.0], Tc=2.269)
    assert titles(fig) == ["T = 1.50 < Tc", "T = 2.30 > Tc", "T = 3.00 > Tc", "T = 4.00 > Tc"]
    assert fig.axes[0].images[0].get_clim() == (-1.0, 1.0)
    rendered(fig)
    fig = plots.ising_snapshots(spins.reshape(4, 64), [1, 2, 3, 4], n_cols=2)
    assert titles(fig)[0] == "T = 1.00" and len(fig.axes) == 4
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        plots.ising_snapshots(spins * 2, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="one value per configuration"):
        plots.ising_snapshots(spins, [1, 2])


def test_network_diagram(rng):
    ax = plots.network_diagram([784, 30, 10])
    texts = [t.get_text() for t in ax.texts]
    assert "input\n784" in texts and "hidden 1\n30" in texts and "output\n10" in texts
    assert texts.count("⋮") == 2  # 784 and 30 exceed max_neurons=12
    assert ax.get_title() == "784 → 30 → 10"
    circles = [p for p in ax.patches]
    assert len(circles) == 11 + 11 + 10
    rendered(ax)
    net = Network([3, 4, 2])
    net.initialize(0)
    ax = plots.network_diagram(net, title="net")
    edges = ax.collections
    assert sum(len(c.get_segments()) for c in edges) == 3 * 4 + 4 * 2
    widths = np.asarray(edges[0].get_linewidths())
    assert widths.max() > widths.min()  # width follows |w|
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(3, 4\).*transposed"):
        plots.network_diagram([3, 4, 2], weights=[np.zeros((4, 3)), np.zeros((4, 2))])
    with pytest.raises(ValueError, match=">= 2 layers"):
        plots.network_diagram([3])


def test_image_pair_and_grid(rng):
    target = rng.random((10, 12))
    fig = plots.image_pair(target, target.ravel()[:, None] * 2)
    assert titles(fig) == ["target", "network"]
    assert fig.axes[1].images[0].get_clim() == (target.min(), target.max())
    rendered(fig)
    rgb = rng.random((6, 6, 3))
    fig = plots.image_grid([rgb, target, rgb], ["a", "b", "c"], n_cols=2)
    assert titles(fig) == ["a", "b", "c"] and len(fig.axes) == 4
    rendered(fig)
    with pytest.raises(ValueError, match="one entry per image"):
        plots.image_grid([rgb, target], ["a"])
    with pytest.raises(ValueError, match=r"target's shape \(10, 12\)"):
        plots.image_pair(target, np.zeros(7))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        plots.image_grid([np.zeros((2, 2, 5))], ["x"])


def test_draws_into_given_axes_and_figure(moons, digits):
    X, y = moons
    _fig, axes = plt.subplots(1, 2)
    ax = plots.decision_regions(lambda P: P[:, 0] > 0, X, y, ax=axes[0], resolution=20)
    assert ax is axes[0]
    sub = plt.figure().subfigures(1, 2)
    out = plots.digit_grid(digits[0][:4], fig=sub[0])
    assert out is sub[0] and len(sub[0].axes) == 4
    with pytest.raises(ValueError, match="matplotlib Axes"):
        plots.curves({"a": [1, 2]}, ax="left")


# ------------------------------------------------------------------------------ notebooks


def test_returned_figure_detaches_from_pyplot_only_under_inline(monkeypatch, digits):
    fig = plots.digit_grid(digits[0][:3])
    assert plt.fignum_exists(fig.number)
    assert fig._repr_mimebundle_() is None
    assert plt.fignum_exists(fig.number)  # Agg: nothing changes
    monkeypatch.setattr(plots._base, "_inline_backend", lambda: True)
    assert fig._repr_mimebundle_() is None  # IPython's own Figure formatter then renders it
    assert not plt.fignum_exists(fig.number)  # the inline backend will not show it again


def test_decision_regions_string_labels(moons):
    X, y = moons
    names = np.array(["no", "yes"])[y]
    ax = plots.decision_regions(lambda P: names[(P[:, 0] > 0).astype(int)], X, names)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no", "yes"]
    with pytest.raises(ValueError, match="cannot be compared"):
        plots.decision_regions(lambda P: (P[:, 0] > 0).astype(int), X, names, resolution=10)


@pytest.mark.slow
def test_notebook_shows_each_figure_exactly_once(monkeypatch):
    """In a real kernel (inline backend) a figure is displayed once, whether the cell ends with
    the call, with the call and ';', or assigns it; a returned Axes shows its figure."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # Agg would hide every figure
    cells = [
        "import numpy as np\nfrom nnscratch import plots\nX = np.eye(4, 64)",
        "plots.digit_grid(X, [1, 2, 3, 4])",
        "plots.digit_grid(X);",
        "fig = plots.digit_grid(X)",
        "fig",
        "plots.curves({'a': [3, 2, 1]})",
        "import matplotlib.pyplot as plt\nf, ax = plt.subplots()\nax.plot([1, 2])\nf",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    pngs = [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert pngs == [0, 1, 1, 1, 1, 1, 2]  # the last: plain pyplot shows it twice (control)
    texts = [o["data"]["text/plain"] for o in nb.cells[5].outputs]
    assert "<BookAxes" not in " ".join(texts)  # the figure, not the Axes repr
