r"""Activation functions :math:`\sigma(z)` and their derivatives :math:`\sigma'(z)`.

Each activation is an :class:`Activation` with ``f(z)`` (the value, eq. ``activation``) and
``df(z, a)`` (the derivative, written in terms of ``z`` and/or the already computed
``a = f(z)`` where that is cheaper: :math:`\sigma' = \sigma(1-\sigma)`, :math:`\tanh' = 1-\tanh^2`).
They act elementwise on arrays of any shape. Look them up by name with :func:`get`.

``softmax`` acts along the last axis (one row = one sample); its Jacobian is not diagonal, so it
is only used as an output layer fused with the cross-entropy (see :mod:`nnscratch.losses`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._checks import check_choice

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An elementwise activation: ``f(z)`` and ``df(z, a)`` with ``a = f(z)``."""

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array, Array], Array]

    def __call__(self, z: Array) -> Array:
        return self.f(z)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def sigmoid(z: Array) -> Array:
    r"""The logistic function :math:`\sigma(z) = 1/(1+e^{-z})`, elementwise.

    Computed as :math:`\sigma(z) = \tfrac12 + \tfrac12\tanh(z/2)`, an exact identity: NumPy
    only (nothing to import on first use, unlike ``scipy.special.expit``), never overflows
    (:math:`\sigma(\pm 1000)` is exactly 1 and 0, no warning), and as fast as ``expit`` on a
    mini-batch, 2-3x faster on large arrays. Its error is below 1.2e-16 (half a unit in the last
    place of 1) for every ``z``; relative to a tiny :math:`\sigma(z)` far in the left tail it
    grows (``expit`` keeps it at 2e-16: at :math:`z=-20`, 5e-8; below :math:`z\approx-37`
    it returns 0), which matters only for :math:`\ln\sigma`, and the cross-entropies take
    their logarithms from ``z`` (:mod:`nnscratch.losses`). Float32 stays float32.
    """
    a = np.multiply(z, 0.5)
    if not isinstance(a, np.ndarray):  # a scalar
        return 0.5 * np.tanh(a) + 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def sigmoid_prime(z: Array, a: Array | None = None) -> Array:
    r""":math:`\sigma'(z) = \sigma(z)\,(1-\sigma(z))`."""
    if a is None:
        a = sigmoid(z)
    return a * (1.0 - a)


def tanh_prime(z: Array, a: Array | None = None) -> Array:
    r""":math:`\tanh'(z) = 1 - \tanh^2 z`."""
    if a is None:
        a = np.tanh(z)
    return 1.0 - a * a


def relu(z: Array) -> Array:
    r""":math:`\max(0, z)`."""
    return np.maximum(z, 0.0)


def relu_prime(z: Array, a: Array | None = None) -> Array:
    r"""Step function :math:`\Theta(z)` (0 at :math:`z=0`)."""
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


def leaky_relu(z: Array) -> Array:
    r""":math:`z` for :math:`z>0`, :math:`0.01\,z` otherwise."""
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z: Array, a: Array | None = None) -> Array:
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype, copy=False)


def elu(z: Array) -> Array:
    r""":math:`z` for :math:`z>0`, :math:`\alpha(e^{z}-1)` otherwise (:math:`\alpha=1`)."""
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def elu_prime(z: Array, a: Array | None = None) -> Array:
    return np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0.0))).astype(z.dtype, copy=False)


def identity(z: Array) -> Array:
    return z


def identity_prime(z: Array, a: Array | None = None) -> Array:
    return np.ones_like(z)


def softmax(z: Array) -> Array:
    r"""Row-wise softmax :math:`a_j = e^{z_j}/\sum_k e^{z_k}` (eq. ``softmax``), shifted by the
    row maximum so that it never overflows. ``z``: ``(n_samples, n_classes)``."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _softmax_prime(z: Array, a: Array | None = None) -> Array:
    raise NotImplementedError(
        "softmax has a full Jacobian, not an elementwise derivative; use it only as the output "
        "layer together with loss='cross_entropy', where delta = a - y (eq. delta-softmax-ce)"
    )


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, sigmoid_prime),
        Activation("tanh", np.tanh, tanh_prime),
        Activation("relu", relu, relu_prime),
        Activation("leaky_relu", leaky_relu, leaky_relu_prime),
        Activation("elu", elu, elu_prime),
        Activation("identity", identity, identity_prime),
        Activation("softmax", softmax, _softmax_prime),
    )
}

#: Activations allowed in hidden layers (the elementwise ones), in alphabetical order (error
#: messages list them in this order).
HIDDEN = ("elu", "identity", "leaky_relu", "relu", "sigmoid", "tanh")


def get(name: str | Activation) -> Activation:
    """Look up an activation by name (``'sigmoid'``, ``'tanh'``, ``'relu'``, ``'leaky_relu'``,
    ``'elu'``, ``'identity'``, ``'softmax'``)."""
    if isinstance(name, Activation):
        return name
    return ACTIVATIONS[check_choice(name, "activation", ACTIVATIONS)]
