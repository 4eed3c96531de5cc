r"""A small TensorFlow Playground (Smilkov et al. 2017) built on :class:`~nnscratch.Network`.

The Playground trains a network with ``tanh`` neurons, a ``tanh`` output and the quadratic cost
on targets :math:`t = \pm 1` (eq. ``quadratic-cost``), on one of four two-dimensional data sets
(:func:`nnscratch.data.playground`), half of the points for training and half for testing. This
module does the same:

* :class:`Settings` -- data set, noise, hidden layers, activation, :math:`\eta`,
  :math:`\lambda`, batch size, seed; :func:`make_data` and :func:`build_network` turn them into
  data and a network;
* :class:`Playground` -- the state of one session: :meth:`~Playground.step` trains for some
  epochs and records the costs, :meth:`~Playground.reset` starts again,
  :meth:`~Playground.figure` draws the decision function and the cost curves, and
  :meth:`~Playground.widget` wraps it all in ipywidgets (imported only there);
* :func:`snapshot_grid` -- the static stand-in for the widget: every data set trained with the
  same settings, in one figure;
* :func:`balanced_layouts`, :func:`layout_accuracy` -- "with a fixed number of neurons, which
  layout is best?", answered by training every layout from several seeds.

Nothing here needs a display: the widget is the only part that imports ipywidgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import activations as act
from ._checks import as_generator, check_choice, check_count, check_non_negative, check_positive
from .data import PLAYGROUND_SETS, playground
from .network import Network

__all__ = [
    "INPUT_SCALE",
    "Playground",
    "Settings",
    "balanced_layouts",
    "build_network",
    "layout_accuracy",
    "make_data",
    "snapshot_grid",
]

#: The Playground's points lie roughly in :math:`[-6, 6]^2`; we divide by this to feed the
#: network inputs in about :math:`[-1, 1]`.
INPUT_SCALE = 6.0


@dataclass(frozen=True)
class Settings:
    """Everything that defines a Playground run. Invalid values raise ``ValueError``.

    Attributes
    ----------
    dataset : {"circle", "xor", "gauss", "spiral"}
    noise : float
        Between 0 and 0.5 (the Playground's 0-50 %).
    hidden : tuple of int
        Neurons per hidden layer, e.g. ``(4, 2)``; ``()`` for no hidden layer.
    activation : str
        Hidden activation (``"tanh"``, ``"relu"``, ``"sigmoid"``, ...).
    eta, lmbda : float
        Learning rate :math:`\\eta > 0` and L2 strength :math:`\\lambda \\ge 0` (eq. ``l2-cost``).
    batch_size : int
        Mini-batch size of SGD.
    n : int
        Number of points; the first half trains, the second half tests.
    seed : int
        Seed of the data, the initial weights and the shuffling.
    """

    dataset: str = "circle"
    noise: float = 0.0
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    eta: float = 0.3
    lmbda: float = 0.0
    batch_size: int = 10
    n: int = 400
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "dataset", check_choice(self.dataset, "dataset", PLAYGROUND_SETS, normalize=True)
        )
        noise = check_non_negative(self.noise, "noise")
        if noise > 0.5:
            raise ValueError(f"noise must be between 0 and 0.5, got {self.noise}")
        if isinstance(self.hidden, (int, np.integer)) or isinstance(self.hidden, str):
            raise ValueError(f"hidden must be a sequence of layer widths, got {self.hidden!r}")
        hidden = tuple(self.hidden)
        for width in hidden:
            check_count(width, "hidden layer width")
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        check_choice(self.activation, "activation", act.HIDDEN)
        check_positive(self.eta, "eta")
        check_non_negative(self.lmbda, "lmbda")
        check_count(self.batch_size, "batch_size")
        if check_count(self.n, "n") < 4:
            raise ValueError(
                f"n must be at least 4 (two training and two test points), got {self.n}"
            )


def make_data(settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The data of ``settings``: ``X_train (n//2, 2), t_train (n//2,), X_test, t_test``.

    Points from :func:`nnscratch.data.playground` divided by :data:`INPUT_SCALE`, targets
    :math:`\\pm 1`; the points are shuffled, so the first half is a random training set.
    """
    X, t = playground(settings.dataset, settings.n, settings.noise, settings.seed, signed=True)
    X = X / INPUT_SCALE
    half = settings.n // 2
    return X[:half], t[:half], X[half:], t[half:]


def build_network(settings: Settings) -> Network:
    """``Network([2, *hidden, 1])`` with the hidden activation of ``settings``, a ``tanh``
    output, the quadratic cost and Glorot initialisation, seeded by ``settings.seed``."""
    return Network(
        [2, *settings.hidden, 1],
        activation=settings.activation,
        output="tanh",
        loss="quadratic",
        task="classification",
        init="glorot",
        seed=settings.seed,
    )


class Playground:
    """One Playground session: settings, data, network and the cost curves so far.

    ``Playground(dataset="xor", hidden=(8, 8))`` or ``Playground(Settings(...))``. Attributes:
    ``settings``, ``net``, ``X_train``/``t_train``/``X_test``/``t_test`` (from
    :func:`make_data`), ``epoch``, and ``train_loss``/``test_loss`` (the cost after each epoch,
    epoch 0 included).
    """

    def __init__(self, settings: Settings | None = None, **changes: Any) -> None:
        if settings is not None and not isinstance(settings, Settings):
            raise ValueError(f"settings must be a Settings, got {type(settings).__name__}")
        self.settings = replace(settings or Settings(), **changes)
        self.reset()

    def reset(self, **changes: Any) -> None:
        """Apply ``changes`` to the settings, draw the data and fresh weights, clear the curves."""
        if changes:
            self.settings = replace(self.settings, **changes)
        self.X_train, self.t_train, self.X_test, self.t_test = make_data(self.settings)
        self.net = build_network(self.settings)
        self._rng = as_generator(self.settings.seed)
        self.epoch = 0
        self.train_loss = [self.net.cost(self.X_train, self.t_train)]
        self.test_loss = [self.net.cost(self.X_test, self.t_test)]

    def step(self, epochs: int = 1, record: bool = True) -> None:
        """Train for ``epochs`` epochs of mini-batch SGD (eq. ``sgd``). With ``record``, the cost
        of the whole training set and of the test set is appended after each epoch; without,
        only after the last (faster)."""
        s = self.settings
        epochs = check_count(epochs, "epochs")
        chunks = [1] * epochs if record else [epochs]
        for n_epochs in chunks:
            self.net.fit(
                self.X_train,
                self.t_train,
                epochs=n_epochs,
                batch_size=s.batch_size,
                eta=s.eta,
                lmbda=s.lmbda,
                seed=self._rng,
                monitor=False,
                on_divergence="stop",
            )
            self.epoch += n_epochs
            self.train_loss.append(self.net.cost(self.X_train, self.t_train))
            self.test_loss.append(self.net.cost(self.X_test, self.t_test))

    @property
    def train_accuracy(self) -> float:
        return self.net.score(self.X_train, self.t_train)

    @property
    def test_accuracy(self) -> float:
        return self.net.score(self.X_test, self.t_test)

    def describe(self) -> str:
        """A one-line summary: data set, layout, epoch and accuracies."""
        layout = " → ".join(str(w) for w in (2, *self.settings.hidden, 1))
        return (
            f"{self.settings.dataset}, {layout} {self.settings.activation}: epoch {self.epoch}, "
            f"test accuracy {self.test_accuracy:.2f}"
        )

    def draw(self, ax_function, ax_loss) -> None:
        """Draw the decision function (test points) into ``ax_function`` and the cost curves
        into ``ax_loss``."""
        from . import plots

        plots.decision_function(
            self.net,
            self.X_test,
            self.t_test,
            ax=ax_function,
            resolution=80,
            title=f"{self.settings.dataset}: test accuracy {self.test_accuracy:.2f}",
            cbar_label="output $f(x_1, x_2)$",
        )
        plots.curves(
            {"training": self.train_loss, "test": self.test_loss},
            ax=ax_loss,
            xlabel="epoch",
            ylabel="cost C",
            title=f"epoch {self.epoch}",
        )

    def figure(self, fig=None):
        """The decision function over the plane (left) and the cost curves (right).

        Returns a new figure that a notebook shows once, or draws into ``fig`` (cleared first).
        """
        fig = _figure((10.0, 3.8)) if fig is None else fig
        fig.clear()
        ax_function, ax_loss = fig.subplots(1, 2, width_ratios=[1.25, 1])
        if fig.get_layout_engine() is not None:  # room between colour bar and cost axis
            fig.get_layout_engine().set(wspace=0.06)
        self.draw(ax_function, ax_loss)
        return fig

    def widget(self, epochs_per_click: int = 50, redraw_every: int = 5):
        """The interactive Playground: controls, buttons and a live figure (needs Jupyter).

        *train* runs ``epochs_per_click`` epochs, redrawing every ``redraw_every``; *step* runs
        one epoch; *reset* applies the controls and starts again from fresh weights.
        """
        import io

        import ipywidgets as w
        from matplotlib.figure import Figure

        check_count(epochs_per_click, "epochs_per_click")
        check_count(redraw_every, "redraw_every")
        s = self.settings
        n_layers = len(s.hidden)
        style = {"description_width": "110px"}
        controls = {
            "dataset": w.Dropdown(options=PLAYGROUND_SETS, value=s.dataset, description="data set"),
            "noise": w.FloatSlider(value=s.noise, min=0, max=0.5, step=0.05, description="noise"),
            "layers": w.IntSlider(value=n_layers, min=0, max=6, description="hidden layers"),
            "neurons": w.IntSlider(
                value=max(s.hidden, default=4), min=1, max=8, description="neurons/layer"
            ),
            "activation": w.Dropdown(
                options=["tanh", "relu", "sigmoid", "identity"],
                value=s.activation,
                description="activation",
            ),
            "eta": w.SelectionSlider(
                options=[0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0],
                value=_nearest(s.eta, [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]),
                description="η",
            ),
            "lmbda": w.SelectionSlider(
                options=[0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
                value=_nearest(s.lmbda, [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]),
                description="λ",
            ),
            "batch_size": w.IntSlider(value=s.batch_size, min=1, max=30, description="batch size"),
        }
        for c in controls.values():
            c.style = style
        buttons = {name: w.Button(description=name) for name in ("train", "step", "reset")}
        status = w.Label(self.describe())
        fig = Figure(figsize=(10.0, 3.8), layout="constrained")
        # The figure goes to the page as PNG bytes of an Image widget: updates without flicker,
        # and a saved notebook holds a picture, not the text "<Figure size ...>".
        image = w.Image(format="png")

        def redraw() -> None:
            self.figure(fig)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=80)
            image.value = buffer.getvalue()
            status.value = self.describe()

        def on_reset(_=None) -> None:
            c = {k: v.value for k, v in controls.items()}
            self.reset(
                dataset=c["dataset"],
                noise=c["noise"],
                hidden=(c["neurons"],) * c["layers"],
                activation=c["activation"],
                eta=c["eta"],
                lmbda=c["lmbda"],
                batch_size=c["batch_size"],
            )
            redraw()

        def on_train(_=None) -> None:
            for start in range(0, epochs_per_click, redraw_every):
                self.step(min(redraw_every, epochs_per_click - start))
                redraw()

        def on_step(_=None) -> None:
            self.step(1)
            redraw()

        buttons["reset"].on_click(on_reset)
        buttons["train"].on_click(on_train)
        buttons["step"].on_click(on_step)
        redraw()
        names = list(controls)
        return w.VBox(
            [
                w.HBox(
                    [
                        w.VBox([controls[k] for k in names[:4]]),
                        w.VBox([controls[k] for k in names[4:]]),
                    ]
                ),
                w.HBox([*buttons.values(), status]),
                image,
            ]
        )


def _nearest(value: float, options: Sequence[float]) -> float:
    return min(options, key=lambda o: abs(o - value))


def _figure(figsize: tuple[float, float]):
    """A new pyplot figure that a notebook displays exactly once (see :mod:`nnscratch.plots`)."""
    import matplotlib.pyplot as plt

    from .plots._base import BookFigure

    return plt.figure(figsize=figsize, layout="constrained", FigureClass=BookFigure)


def snapshot_grid(
    datasets: Sequence[str] = PLAYGROUND_SETS, epochs: int = 200, settings: Settings | None = None
):
    """Every data set trained for ``epochs`` epochs with the same ``settings`` (default
    :class:`Settings`): a row per data set, the decision function over the plane with the
    test points on the left and the training and test cost per epoch on the right.

    Returns
    -------
    (Figure, dict)
        The figure, and ``{dataset: Playground}`` with the trained sessions.
    """
    datasets = list(datasets)
    if not datasets:
        raise ValueError("datasets must name at least one data set, got none")
    check_count(epochs, "epochs")
    settings = settings or Settings()
    sessions = {}
    for name in datasets:
        sessions[name] = Playground(settings, dataset=name)
        sessions[name].step(epochs)
    fig = _figure((10.0, 3.4 * len(datasets)))
    axes = fig.subplots(len(datasets), 2, squeeze=False, width_ratios=[1.25, 1])
    fig.get_layout_engine().set(wspace=0.06)
    for k, session in enumerate(sessions.values()):
        session.draw(axes[k, 0], axes[k, 1])
        axes[k, 1].set_title(f"{session.settings.dataset}: cost, epoch {session.epoch}")
    return fig, sessions


def balanced_layouts(budget: int, max_layers: int = 4) -> list[tuple[int, ...]]:
    """The most even split of ``budget`` neurons into 1, 2, ..., ``max_layers`` hidden layers,
    wider layers first: ``balanced_layouts(8) == [(8,), (4, 4), (3, 3, 2), (2, 2, 2, 2)]``.
    Splits that would leave a layer empty are skipped."""
    budget = check_count(budget, "budget")
    max_layers = check_count(max_layers, "max_layers")
    layouts = []
    for k in range(1, min(max_layers, budget) + 1):
        q, r = divmod(budget, k)
        layouts.append(tuple([q + 1] * r + [q] * (k - r)))
    return layouts


def layout_accuracy(
    layouts: Sequence[Sequence[int]],
    datasets: Sequence[str] = PLAYGROUND_SETS,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int = 200,
    settings: Settings | None = None,
) -> np.ndarray:
    """Test accuracy of every hidden-layer layout on every data set, averaged over seeds.

    Each run draws the data, the initial weights and the shuffling from its seed and trains
    for ``epochs`` epochs with ``settings`` (default :class:`Settings`).

    Returns
    -------
    numpy.ndarray, shape ``(len(datasets), len(layouts), len(seeds))``
        The test accuracies; average over the last axis for the mean.
    """
    layouts, datasets, seeds = list(layouts), list(datasets), list(seeds)
    if not layouts or not datasets or not seeds:
        raise ValueError(
            f"need at least one layout, data set and seed, got {len(layouts)}, {len(datasets)} "
            f"and {len(seeds)}"
        )
    check_count(epochs, "epochs")
    settings = settings or Settings()
    acc = np.empty((len(datasets), len(layouts), len(seeds)))
    for i, name in enumerate(datasets):
        for j, hidden in enumerate(layouts):
            for k, seed in enumerate(seeds):
                session = Playground(settings, dataset=name, hidden=tuple(hidden), seed=seed)
                session.step(epochs, record=False)
                acc[i, j, k] = session.test_accuracy
    return acc
