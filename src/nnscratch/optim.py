r"""Gradient-descent update rules, L2 regularisation, gradient clipping and learning-rate
schedules.

An optimiser updates a list of parameter arrays *in place* from their gradients:

- :class:`SGD`: :math:`w \to w - \eta\,\nabla C` (eq. ``sgd``); with momentum :math:`\mu`,
  :math:`v \to \mu v - \eta \nabla C,\ w \to w + v` (eq. ``momentum``), optionally Nesterov's.
- :class:`Adam`: running means of the gradient and its square with bias correction
  (Kingma & Ba 2015, eq. ``adam``).

L2 regularisation adds :math:`\frac{\lambda}{2n}\sum w^2` to the cost (eq. ``l2-cost``), i.e.
:math:`\frac{\lambda}{n} W` to the weight gradients (:func:`add_l2`), which with plain SGD is
Nielsen's weight decay :math:`W \to (1-\eta\lambda/n) W - \eta \nabla C_0`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._checks import check_choice, check_count, check_non_negative, check_positive

Array = np.ndarray


class Optimizer:
    """Base class. ``eta`` is the current learning rate (schedules change it between epochs)."""

    def __init__(self, eta: float) -> None:
        check_positive(eta, "learning rate eta")
        self.eta = float(eta)

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes). ``grads`` may be
        overwritten."""
        raise NotImplementedError  # pragma: no cover - abstract

    def reset(self) -> None:
        """Forget any state (velocities, moments)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eta={self.eta:g})"


class SGD(Optimizer):
    """(Mini-batch) stochastic gradient descent, with optional (Nesterov) momentum ``mu``."""

    def __init__(self, eta: float = 0.1, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(eta)
        check_non_negative(momentum, "momentum")
        if momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._v: list[Array] | None = None

    def reset(self) -> None:
        self._v = None

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        eta, mu = self.eta, self.momentum
        if mu == 0.0:
            for p, g in zip(params, grads):
                g *= eta
                p -= g
            return
        if self._v is None or len(self._v) != len(params):
            self._v = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self._v):
            v *= mu
            g *= eta
            v -= g
            if self.nesterov:  # w += mu v - eta g  (look-ahead form)
                p += mu * v
                p -= g
            else:
                p += v

    def __repr__(self) -> str:
        extra = f", momentum={self.momentum:g}" if self.momentum else ""
        extra += ", nesterov=True" if self.nesterov else ""
        return f"SGD(eta={self.eta:g}{extra})"


class Adam(Optimizer):
    """Adam with bias-corrected first and second moments."""

    def __init__(
        self, eta: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(eta)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        check_positive(eps, "eps")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.reset()

    def reset(self) -> None:
        self.t = 0
        self._m: list[Array] | None = None
        self._s: list[Array] | None = None

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        if self._m is None or len(self._m) != len(params):
            self._m = [np.zeros_like(p) for p in params]
            self._s = [np.zeros_like(p) for p in params]
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step = self.eta * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, g, m, s in zip(params, grads, self._m, self._s):
            m *= b1
            m += (1 - b1) * g
            s *= b2
            g *= g
            g *= 1 - b2
            s += g
            p -= step * m / (np.sqrt(s) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(eta={self.eta:g}, beta1={self.beta1:g}, beta2={self.beta2:g})"


#: Optimiser names, in alphabetical order (error messages list them in this order).
OPTIMIZERS = ("adam", "momentum", "nesterov", "sgd")


def get(optimizer: str | Optimizer, eta: float | None = None, **kwargs) -> Optimizer:
    """An optimiser from a name (``'sgd'``, ``'momentum'`` (:math:`\\mu=0.9`), ``'nesterov'``,
    ``'adam'``) or an existing one (whose ``eta`` is replaced if ``eta`` is given)."""
    if isinstance(optimizer, Optimizer):
        if eta is not None:
            check_positive(eta, "learning rate eta")
            optimizer.eta = float(eta)
        return optimizer
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    if optimizer == "adam":
        return Adam(1e-3 if eta is None else eta, **kwargs)
    eta = 0.1 if eta is None else eta
    if optimizer == "sgd":
        return SGD(eta, **kwargs)
    kwargs.setdefault("momentum", 0.9)
    return SGD(eta, nesterov=optimizer == "nesterov", **kwargs)


# ---------------------------------------------------------------------- regularisation
def add_l2(grads_W: Sequence[Array], W: Sequence[Array], lmbda: float, n: int) -> None:
    r"""Add :math:`\frac{\lambda}{n} W^l` to each weight gradient in place (biases are not
    regularised)."""
    c = lmbda / n
    for g, w in zip(grads_W, W):
        g += c * w


def clip_by_global_norm(grads: Sequence[Array], max_norm: float) -> float:
    r"""Scale all gradients in place so that their joint Euclidean norm is at most ``max_norm``.
    Returns the norm before clipping."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    if norm > max_norm:
        scale = max_norm / norm
        for g in grads:
            g *= scale
    return norm


# ---------------------------------------------------------------------- schedules
Schedule = Callable[[float, int], float]
"""A learning-rate schedule: ``schedule(eta0, epoch) -> eta`` (epochs count from 0)."""


def constant() -> Schedule:
    """:math:`\\eta_t = \\eta_0`."""
    return lambda eta0, epoch: eta0


def step_decay(drop: float = 0.5, every: int = 10) -> Schedule:
    """:math:`\\eta_t = \\eta_0\\, \\mathrm{drop}^{\\lfloor t/\\mathrm{every}\\rfloor}`."""
    check_positive(drop, "drop")
    check_count(every, "every")
    return lambda eta0, epoch: eta0 * drop ** (epoch // every)


def exponential(gamma: float = 0.95) -> Schedule:
    """:math:`\\eta_t = \\eta_0 \\gamma^t`."""
    check_positive(gamma, "gamma")
    return lambda eta0, epoch: eta0 * gamma**epoch


def inverse_time(k: float = 0.1) -> Schedule:
    """:math:`\\eta_t = \\eta_0 / (1 + k t)`."""
    check_non_negative(k, "k")
    return lambda eta0, epoch: eta0 / (1.0 + k * epoch)


def cosine(epochs: int, eta_min: float = 0.0) -> Schedule:
    """Cosine annealing from :math:`\\eta_0` to ``eta_min`` over ``epochs`` epochs."""
    check_count(epochs, "epochs")
    check_non_negative(eta_min, "eta_min")
    return lambda eta0, epoch: (
        eta_min + 0.5 * (eta0 - eta_min) * (1 + np.cos(np.pi * min(epoch, epochs) / epochs))
    )
