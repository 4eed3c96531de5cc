r"""Gradient checking: compare backpropagation with centred finite differences.

For each parameter :math:`w`,

.. math:: \frac{\partial C}{\partial w} \approx \frac{C(w+h) - C(w-h)}{2h}
   \qquad (\text{eq. } \texttt{centred-difference}),

with error :math:`O(h^2)`. The two gradients are compared with the norm-based relative error

.. math::
    \epsilon = \frac{\lVert g_{bp} - g_{fd} \rVert}{\lVert g_{bp} \rVert + \lVert g_{fd}\rVert}

(eq. ``relative-error``), which is scale free; in float64 a correct backprop gives
:math:`\epsilon \lesssim 10^{-8}` for smooth activations.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_positive

Array = np.ndarray


def relative_error(a, b, eps: float = 1e-300) -> float:
    """Norm-based relative error ``||a - b|| / (||a|| + ||b||)`` (0 when both are 0)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom < eps:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f: Callable[[], float], p: Array, h: float = 1e-5) -> Array:
    """Centred finite-difference gradient of the scalar ``f()`` with respect to the array ``p``,
    which is perturbed in place (and restored) entry by entry. Returns an array shaped like
    ``p``."""
    check_positive(h, "h")
    grad = np.zeros(p.shape, dtype=np.float64)
    flat = p.reshape(-1)  # a view: p is perturbed in place
    if not np.shares_memory(flat, p):
        raise ValueError("numerical_gradient needs a contiguous array it can perturb in place")
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        c_plus = f()
        flat[i] = old - h
        c_minus = f()
        flat[i] = old
        g[i] = (c_plus - c_minus) / (2 * h)
    return grad


def check_gradients(
    net, X, Y, h: float = 1e-5, training: bool = False, masks=None, seed: int = 0
) -> dict[str, float]:
    """Relative error between ``net.backprop(X, Y)`` and finite differences of ``net.cost``,
    for every ``W[l]`` and ``b[l]``: ``{'W[0]': 3e-10, 'b[0]': 1e-10, ...}``, plus
    ``gamma[l]`` and ``beta[l]`` for a network with batch norm.

    ``training=True`` checks the training-mode gradients of a network with dropout or batch
    norm (eqs. ``dropout-backprop``, ``bn-backward``): with batch statistics, and with the
    dropout keep-masks ``masks`` held fixed (drawn once from ``seed`` when not given), so that
    the cost is a deterministic function of the weights. Use float64 and a small batch; the
    network is perturbed and restored in place (its running statistics are not touched).
    """
    X, Y = net._check_XY(X, Y)
    if training and getattr(net, "has_training_mode", False):
        masks = net._check_masks(masks, X.shape[0], seed)
    else:
        training, masks = False, None
    if getattr(net, "has_training_mode", False):
        nabla_W, nabla_b, extra = net._backprop(X, Y, training, masks, extra=True)
    else:
        nabla_W, nabla_b = net._backprop(X, Y)
        extra = {}

    def cost() -> float:
        if not training:
            return net._cost(X, Y)
        zs, activations, _ = net._forward_train(X, masks)
        return net.loss.value(zs[-1], activations[-1], Y)

    errors = {}
    for l in range(net.n_layers):
        errors[f"W[{l}]"] = relative_error(nabla_W[l], numerical_gradient(cost, net.W[l], h))
        errors[f"b[{l}]"] = relative_error(nabla_b[l], numerical_gradient(cost, net.b[l], h))
    for name in ("gamma", "beta"):
        for l, (g, p) in enumerate(zip(extra.get(name, []), getattr(net, name, []))):
            errors[f"{name}[{l}]"] = relative_error(g, numerical_gradient(cost, p, h))
    return errors
