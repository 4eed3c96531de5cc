r"""The mini-batch training loop (chapter *Stochastic gradient descent*).

Each epoch shuffles the training set with a seeded ``np.random.Generator``, cuts it into
mini-batches of ``batch_size`` samples, and for each batch computes the gradients by
backpropagation, adds the L2 term, clips, and lets the optimiser update ``W`` and ``b``.
Along the way it records the cost and accuracy (or :math:`R^2`) of the mini-batches it trains on
(their running mean over the epoch, as Keras reports it; or, on request, a fresh evaluation of
the whole training set after the epoch), then evaluates the validation data if given and asks the
callbacks whether to stop.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import optim
from ._checks import (
    as_generator,
    check_choice,
    check_count,
    check_non_negative,
    check_positive,
)

Array = np.ndarray


class Trainable(Protocol):
    """What :func:`train` needs of a network; :class:`nnscratch.Network` provides it.

    This module does not import :mod:`nnscratch.network` (``Network.fit`` calls :func:`train`,
    so the dependency points one way); any object with these members can be trained.
    """

    W: list[Array]
    b: list[Array]
    loss: Any  # a nnscratch.losses.Loss: ``loss.value(z, a, Y)`` is the batch-averaged cost

    def _check_XY(self, X, y) -> tuple[Array, Array]:
        """Checked inputs ``(n, n_in)`` and encoded targets ``(n, n_out)``."""

    def _forward(self, X: Array) -> tuple[list[Array], list[Array]]:
        """``(zs, activations)`` of every layer; ``zs[-1]``, ``activations[-1]`` the output."""

    def _backward(
        self, zs: list[Array], activations: list[Array], Y: Array
    ) -> tuple[list[Array], list[Array]]:
        """Gradients ``(nabla_W, nabla_b)`` of the batch-averaged cost, from a forward pass."""

    def _sgd_step(self, X: Array, Y: Array, eta: float, decay: float = 1.0) -> tuple[Array, Array]:
        """One fused plain-SGD step in place; returns the output layer ``(z, a)`` of its
        forward pass."""

    def _cost(self, X: Array, Y: Array, lmbda: float = 0.0, n: int | None = None) -> float:
        """Batch-averaged cost (with the L2 term when ``lmbda > 0``)."""

    def _l2(self, lmbda: float, n: int) -> float:
        """The L2 term of the cost."""

    def _score(self, X: Array, Y: Array) -> float:
        """Accuracy or :math:`R^2` on ``(X, Y)``."""

    def _score_of(self, a: Array, Y: Array) -> float:
        """Accuracy or :math:`R^2` of given outputs ``a``."""

    def get_weights(self) -> tuple[list[Array], list[Array]]: ...

    def set_weights(self, W, b) -> None: ...

    # A network whose training differs from prediction (dropout, batch norm) also has
    # ``has_training_mode = True``, ``_train_forward(X, rng) -> (zs, activations, cache)``,
    # ``_backward_train(zs, activations, Y, cache) -> (nabla_W, nabla_b, nabla_extra)`` and
    # ``_extra_params()`` (the arrays ``nabla_extra`` belongs to), and ``get_state`` /
    # ``set_state`` for :class:`EarlyStopping`; ``train`` then takes that path.


class TrainingDiverged(FloatingPointError, ValueError):
    """The weights or the cost became NaN or infinite: the learning rate is too large."""


@dataclass
class History:
    """What happened during training, one entry per epoch.

    ``loss`` is the cost that SGD minimises (with the L2 term) on the training data and ``score``
    the accuracy (classifiers) or :math:`R^2` (regression); how they were measured is in
    ``monitor`` (see :func:`train`): ``'running'``, the mean over the epoch's mini-batches as they
    were trained on, or ``'exact'``, the whole training set after the epoch (``''`` when not
    recorded). ``val_*`` are the same on the validation data, always evaluated after the epoch
    (the L2 term excluded); ``eta`` the learning rate used; ``time`` the seconds the epoch's
    mini-batch loop took (recording the running means included, the evaluations after it not).
    """

    loss: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    eta: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None
    monitor: str = ""

    @property
    def epochs(self) -> int:
        return len(self.eta)

    @property
    def accuracy(self) -> list[float]:
        return self.score

    @property
    def val_accuracy(self) -> list[float]:
        return self.val_score

    def to_dict(self) -> dict[str, Any]:
        keys = ("loss", "score", "val_loss", "val_score", "eta", "time")
        return {k: list(getattr(self, k)) for k in keys}


Callback = Callable[["Trainable", int, History], "bool | None"]
"""Called after every epoch as ``callback(net, epoch, history)``; returning ``True`` stops."""


class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``monitor`` is one of the :class:`History` lists (``'val_loss'``, ``'val_score'``,
    ``'loss'``, ``'score'``); losses are minimised, scores maximised. With ``restore_best`` the
    weights of the best epoch are put back at the end.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if monitor not in ("val_loss", "val_score", "loss", "score", "val_accuracy", "accuracy"):
            raise ValueError(
                f"unknown monitor {monitor!r}; expected val_loss, val_score, loss or score"
            )
        check_count(patience, "patience")
        check_non_negative(min_delta, "min_delta")
        self.monitor = monitor.replace("accuracy", "score")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best = math.inf
        self.best_epoch = -1
        self.best_weights: tuple | None = None

    def __call__(self, net: Trainable, epoch: int, history: History) -> bool:
        values = getattr(history, self.monitor)
        if not values:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r} but it is not recorded; "
                "pass validation_data to train() (and for 'loss'/'score' leave monitor on)"
            )
        sign = 1.0 if self.monitor.endswith("loss") else -1.0
        value = sign * values[-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:  # everything, batch-norm statistics included, if it can
                get_state = getattr(net, "get_state", None)
                self.best_weights = get_state() if get_state else net.get_weights()
            return False
        if epoch - self.best_epoch >= self.patience:
            if self.restore_best and self.best_weights is not None:
                if isinstance(self.best_weights, dict):
                    net.set_state(self.best_weights)
                else:
                    net.set_weights(*self.best_weights)
            history.best_epoch = self.best_epoch
            return True
        return False


def _check_data(net: Trainable, X, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return net._check_XY(X, y)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


MONITOR_MODES = ("running", "exact")


def train(
    net: Trainable,
    X,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 10,
    eta: float | None = None,
    optimizer: str | optim.Optimizer = "sgd",
    lmbda: float = 0.0,
    clip: float | None = None,
    schedule: optim.Schedule | None = None,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    seed: int | np.random.Generator | None = None,
    shuffle: bool = True,
    monitor: str | bool = "running",
    progress: bool | None = None,
    on_divergence: str = "raise",
) -> History:
    r"""Train ``net`` in place by mini-batch gradient descent and return its :class:`History`.

    Parameters
    ----------
    X, y
        Training inputs ``(n, sizes[0])`` and targets: class labels ``(n,)``, one-hot or
        real-valued ``(n, sizes[-1])``.
    epochs, batch_size
        Passes over the data, and samples per mini-batch (the last batch may be smaller).
    eta, optimizer
        Learning rate :math:`\eta` and update rule: ``'sgd'``, ``'momentum'``, ``'nesterov'``,
        ``'adam'`` or an :class:`~nnscratch.optim.Optimizer`.
    lmbda
        L2 strength :math:`\lambda`; the cost gains :math:`\frac{\lambda}{2n}\sum w^2` with
        :math:`n` the training-set size (eq. ``l2-cost``).
    clip
        If given, clip the joint gradient norm of each mini-batch to this value (eq.
        ``clip-norm``).
    schedule
        ``schedule(eta0, epoch) -> eta`` (see :mod:`nnscratch.optim`), applied at each epoch.
    validation_data
        ``(X_val, y_val)``, evaluated after every epoch with the weights at its end.
    callbacks
        Each is called as ``callback(net, epoch, history)``; a ``True`` return stops training
        (e.g. :class:`EarlyStopping`).
    seed
        Seed or generator for the shuffling (and the dropout masks, for a network with
        dropout).
    monitor
        How ``history.loss`` and ``history.score`` are measured on the training data:

        - ``'running'`` (default, also ``True``): the mean over the epoch's mini-batches of the
          cost and score each batch had in the forward pass that backpropagation computes
          anyway, i.e. with the weights *before* that batch's update, so they change during
          the epoch. Weighted by batch size, this is the mean over the epoch's samples; with
          ``lmbda > 0`` the L2 term is that of the weights each batch saw. Costs no extra
          forward pass. It is what Keras' ``fit`` reports as ``loss``, and lags behind the
          weights: early in training it is higher than the cost at the end of the epoch.
          With dropout or batch norm that forward pass is the training one (neurons dropped,
          batch statistics), as in Keras; ``'exact'`` measures as the network predicts.
        - ``'exact'``: after the epoch, the cost (with the L2 term of the final weights) and
          score of the whole training set under the epoch's final weights: one more forward
          pass over all ``n`` samples per epoch (on MNIST at batch size 10 it adds some 70 %
          to the training time).
        - ``False``: record nothing (``history.loss`` and ``history.score`` stay empty).
    progress
        Show a tqdm bar over epochs; by default only when output is an interactive terminal.
    on_divergence
        ``'raise'`` a :class:`TrainingDiverged` error, or ``'stop'`` quietly, when the weights
        become NaN/inf.
    """
    X, Y = _check_data(net, X, y, "training data")
    check_count(epochs, "epochs")
    check_count(batch_size, "batch_size")
    check_non_negative(lmbda, "lmbda")
    if clip is not None:
        check_positive(clip, "clip")
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
    mode = "running" if monitor is True else monitor
    if mode is not False:
        check_choice(mode, "monitor", MONITOR_MODES)
    opt = optim.get(optimizer, eta)
    eta0 = opt.eta
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        X_val, Y_val = _check_data(net, *validation_data, "validation data")
    rng = as_generator(seed)
    callbacks = list(callbacks)
    if progress is None:
        progress = sys.stdout.isatty()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, unit="epoch", leave=False)

    n = X.shape[0]
    # dropout / batch norm: a training-mode forward pass (Network._train_forward) with masks drawn
    # from rng, and gradients of the extra parameters (gamma, beta) as well
    special = bool(getattr(net, "has_training_mode", False))
    # plain SGD has a fused fast path that updates W in place (Network._sgd_step)
    fused = type(opt) is optim.SGD and opt.momentum == 0 and clip is None and not special
    running = mode == "running"
    if running:  # the output layer of every mini-batch's forward pass, in training order
        z_seen, a_seen = np.empty_like(Y), np.empty_like(Y)
    validation = (X_val, Y_val) if validation_data is not None else None
    history = History(monitor=mode or "")
    try:
        # Overflow while diverging is detected below and reported as one clear error, not as a
        # stream of RuntimeWarnings on stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(epochs):
                if schedule is not None:
                    opt.eta = float(schedule(eta0, epoch))
                    check_positive(opt.eta, f"learning rate from the schedule at epoch {epoch}")
                decay = 1.0 - opt.eta * lmbda / n  # weight decay of the fused step (L2)
                l2_seen = 0.0
                start = time.perf_counter()
                # mini-batches of a random permutation; gathered batch by batch rather than
                # copying the whole shuffled training set every epoch
                order = rng.permutation(n) if shuffle else None
                for k in range(0, n, batch_size):
                    if order is None:
                        Xb, Yb = X[k : k + batch_size], Y[k : k + batch_size]
                    else:
                        idx = order[k : k + batch_size]
                        Xb, Yb = X.take(idx, axis=0), Y.take(idx, axis=0)
                    if running and lmbda:
                        l2_seen += Xb.shape[0] / n * net._l2(lmbda, n)
                    if fused:
                        z, a = net._sgd_step(Xb, Yb, opt.eta, decay)
                    else:
                        if special:
                            zs, activations, cache = net._train_forward(Xb, rng)
                            nabla_W, nabla_b, extra_g = net._backward_train(
                                zs, activations, Yb, cache
                            )
                            extra_p = net._extra_params()
                        else:
                            zs, activations = net._forward(Xb)
                            nabla_W, nabla_b = net._backward(zs, activations, Yb)
                            extra_p = extra_g = []
                        z, a = zs[-1], activations[-1]
                        if lmbda:
                            optim.add_l2(nabla_W, net.W, lmbda, n)
                        if clip is not None:  # eq. clip-norm
                            optim.clip_by_global_norm(nabla_W + nabla_b + extra_g, clip)
                        opt.step(net.W + net.b + extra_p, nabla_W + nabla_b + extra_g)
                    if running:
                        z_seen[k : k + batch_size] = z
                        a_seen[k : k + batch_size] = a
                history.time.append(time.perf_counter() - start)
                history.eta.append(opt.eta)

                if running:
                    Y_seen = Y if order is None else Y.take(order, axis=0)
                    history.loss.append(net.loss.value(z_seen, a_seen, Y_seen) + l2_seen)
                    history.score.append(net._score_of(a_seen, Y_seen))
                elif mode == "exact":
                    history.loss.append(net._cost(X, Y, lmbda, n))
                    history.score.append(net._score(X, Y))
                diverged = not all(np.isfinite(W).all() for W in net.W)
                if diverged or (mode and not np.isfinite(history.loss[-1])):
                    if on_divergence == "raise":
                        raise TrainingDiverged(
                            f"training diverged in epoch {epoch}: the weights or the cost became "
                            f"NaN/inf (eta = {opt.eta:g}); lower the learning rate or use "
                            "gradient clipping (clip=...)"
                        )
                    history.stopped_early = True
                    break
                if validation is not None:
                    history.val_loss.append(net._cost(*validation))
                    history.val_score.append(net._score(*validation))
                if bar is not None:
                    post = {}
                    if history.loss:
                        post["loss"] = f"{history.loss[-1]:.4g}"
                    if history.val_score:
                        post["val"] = f"{history.val_score[-1]:.4g}"
                    bar.set_postfix(post)
                    bar.update()
                if any([bool(cb(net, epoch, history)) for cb in callbacks]):
                    history.stopped_early = True
                    break
    finally:
        if bar is not None:
            bar.close()
    return history


# ---------------------------------------------------------------------- diagnostics
def gradient_norms(net, X, y, training: bool = True, rng=0) -> Array:
    r"""The norm :math:`\lVert \partial C/\partial W^l \rVert` of each layer's weight gradient
    on the batch ``(X, y)``, first layer first: shape ``(L,)``.

    Backpropagation multiplies :math:`\delta` by :math:`W^{l+1\,T}` and :math:`\sigma'(z^l)`
    once per layer (eq. ``bp2``), so these norms fall or grow geometrically with depth when the
    factors are consistently small or large: the vanishing and exploding gradients of eq.
    ``delta-product``. ``net`` is a :class:`~nnscratch.Network`. With ``training=True`` (the
    default) the gradients are those a training step on this batch uses: batch norm with the
    batch's statistics, dropout masks drawn from ``rng``; ``training=False``: prediction mode.
    """
    nabla_W, _ = net.backprop(X, y, training=training, rng=rng)
    return np.array([float(np.linalg.norm(g)) for g in nabla_W])


def dead_units(net, X) -> Array:
    r"""Fraction of *dead* neurons in each hidden layer: those whose weighted input
    :math:`z^l_j` is :math:`\le 0` for every sample of ``X`` ``(n, sizes[0])``, shape
    ``(n_hidden,)``.

    A dead ReLU outputs 0 and has :math:`\sigma'(z) = 0` on all these inputs, so eq. ``bp2``
    gives it no gradient and it never comes back (eq. ``dead-relu``); a leaky ReLU or ELU in the
    same state still passes a gradient. Measured in prediction mode; use many samples
    (the whole training set), or a neuron that fires rarely counts as dead.
    """
    zs, _ = net.forward(X)
    return np.array([float(np.mean(np.all(z <= 0, axis=0))) for z in zs[:-1]])
