r"""Cost functions :math:`C` and the output error :math:`\delta^L = \partial C/\partial z^L`.

Every loss works on a mini-batch: ``z`` and ``a`` are the output layer's weighted inputs and
activations, shape ``(n, n_out)``; ``y`` the encoded targets, same shape. ``value`` is the
batch-averaged cost and ``delta`` returns :math:`\delta^L` *already divided by n*, so that the
gradients computed from it (eqs. ``bp3``/``bp4``) are the gradients of the batch average.

============================  ==========================  =======================================
loss                          output activation           :math:`\delta^L` (times n)
============================  ==========================  =======================================
``quadratic``                 any elementwise, softmax    :math:`(a-y)\odot\sigma'(z)` (eq. ``bp1``)
``cross_entropy``             ``softmax``                 :math:`a-y` (eq. ``delta-softmax-ce``)
``binary_cross_entropy``      ``sigmoid``                 :math:`a-y` (eq. ``delta-sigmoid-ce``)
``perceptron``                ``identity``                :math:`-t\,\Theta(-a t)`
============================  ==========================  =======================================

The cross-entropies are *fused* with their output activation and evaluated from ``z`` with
``logsumexp`` / ``logaddexp``, so they never take the log of 0 however large ``|z|`` gets.
"""

from __future__ import annotations

import numpy as np

from . import activations as act
from ._checks import check_choice, one_hot

Array = np.ndarray


def logsumexp(z: Array) -> Array:
    r""":math:`\ln\sum_j e^{z_j}` of each row of ``z`` ``(n, k)``, as a column ``(n, 1)``,
    computed as :math:`m + \ln\sum_j e^{z_j - m}` with :math:`m = \max_j z_j` (no overflow)."""
    m = z.max(axis=1, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))


class Loss:
    """Base class: a cost and its output error. Subclasses set ``name``, ``outputs`` (the output
    activations it may be paired with) and ``default_output``."""

    name: str = ""
    outputs: tuple[str, ...] = ()
    default_output: str = ""
    #: Whether a network trained with this loss classifies by default.
    classification: bool = True

    def value(self, z: Array, a: Array, y: Array) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def delta(self, z: Array, a: Array, y: Array, output: act.Activation) -> Array:
        raise NotImplementedError  # pragma: no cover - abstract

    def encode(self, y, n_out: int) -> Array:
        """Targets in the form ``value``/``delta`` expect, shape ``(n, n_out)``; see
        :func:`encode_targets`."""
        return encode_targets(y, n_out, self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Quadratic(Loss):
    r"""Mean squared error :math:`C = \frac{1}{2n}\sum_x \lVert a(x) - y(x)\rVert^2`
    (eq. ``quadratic-cost``)."""

    name = "quadratic"
    outputs = (*act.HIDDEN, "softmax")
    default_output = "sigmoid"
    classification = False

    def value(self, z: Array, a: Array, y: Array) -> float:
        d = a - y
        return float(0.5 * np.einsum("ij,ij->", d, d) / a.shape[0])

    def delta(self, z: Array, a: Array, y: Array, output: act.Activation) -> Array:
        g = a - y
        g /= a.shape[0]
        if output.name == "softmax":
            # Jacobian-vector product of softmax: J^T g = a * (g - <g, a>)
            return a * (g - np.einsum("ij,ij->i", g, a)[:, None])
        if output.name == "sigmoid":
            g *= a * (1.0 - a)
            return g
        if output.name == "identity":
            return g
        g *= output.df(z, a)
        return g


class CrossEntropy(Loss):
    r"""Categorical cross-entropy with a softmax output,
    :math:`C = -\frac{1}{n}\sum_x \sum_j y_j \ln a_j` (eq. ``log-likelihood``), computed as
    :math:`\ln a_j = z_j - \operatorname{logsumexp}(z)`."""

    name = "cross_entropy"
    outputs = ("softmax",)
    default_output = "softmax"

    def value(self, z: Array, a: Array, y: Array) -> float:
        log_a = z - logsumexp(z)
        return float(-np.einsum("ij,ij->", y, log_a) / z.shape[0])

    def delta(self, z: Array, a: Array, y: Array, output: act.Activation) -> Array:
        d = a - y
        d /= a.shape[0]
        return d


class BinaryCrossEntropy(Loss):
    r"""Cross-entropy of independent sigmoid outputs (Nielsen ch. 3, eq. ``cross-entropy``),
    :math:`C = -\frac{1}{n}\sum_x\sum_j [y_j\ln a_j + (1-y_j)\ln(1-a_j)]`, computed as
    :math:`y\,\mathrm{softplus}(-z) + (1-y)\,\mathrm{softplus}(z)`."""

    name = "binary_cross_entropy"
    outputs = ("sigmoid",)
    default_output = "sigmoid"

    def value(self, z: Array, a: Array, y: Array) -> float:
        c = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
        return float(c.sum() / z.shape[0])

    def delta(self, z: Array, a: Array, y: Array, output: act.Activation) -> Array:
        d = a - y
        d /= a.shape[0]
        return d


class Perceptron(Loss):
    r"""Perceptron loss :math:`C = \frac{1}{n}\sum_x \max(0, -a\,t)` with targets
    :math:`t = \pm 1` and a linear output :math:`a = z` (eq. ``perceptron-loss``). Its
    (sub)gradient is :math:`-t` on misclassified points and 0 elsewhere (0 at the kink)."""

    name = "perceptron"
    outputs = ("identity",)
    default_output = "identity"

    def value(self, z: Array, a: Array, y: Array) -> float:
        return float(np.maximum(0.0, -a * y).sum() / a.shape[0])

    def delta(self, z: Array, a: Array, y: Array, output: act.Activation) -> Array:
        return np.where(a * y < 0, -y, 0.0) / a.shape[0]


LOSSES: dict[str, Loss] = {
    loss.name: loss for loss in (Quadratic(), CrossEntropy(), BinaryCrossEntropy(), Perceptron())
}
#: Short names accepted as well.
ALIASES = {
    "mse": "quadratic",
    "ce": "cross_entropy",
    "bce": "binary_cross_entropy",
    "hinge0": "perceptron",
}


def get(name: str | Loss) -> Loss:
    """Look up a loss by name: ``'quadratic'`` (``'mse'``), ``'cross_entropy'`` (``'ce'``),
    ``'binary_cross_entropy'`` (``'bce'``), ``'perceptron'``."""
    if isinstance(name, Loss):
        return name
    if isinstance(name, str):
        name = ALIASES.get(name, name)
    return LOSSES[check_choice(name, "loss", LOSSES)]


def encode_targets(y, n_out: int, loss: str = "quadratic") -> Array:
    """Bring targets into the shape ``(n, n_out)`` that a loss compares with the output.

    - integer class labels ``(n,)`` with ``n_out > 1`` become one-hot rows;
    - ``(n,)`` with ``n_out == 1`` becomes a column ``(n, 1)``;
    - ``(n, n_out)`` arrays pass through (one-hot rows, soft labels, regression targets);
    - for ``'perceptron'`` the targets must be :math:`\\pm 1` (labels 0/1 are mapped to -1/+1).

    Raises ``ValueError`` for labels out of range, a wrong one-hot width, NaN/inf, or
    non-integer class labels.
    """
    try:
        y = np.asarray(y)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"targets could not be read as an array ({exc})") from None
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"targets must be numbers, got an array of dtype {y.dtype}")
    if y.size == 0:
        raise ValueError(f"targets are empty: got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"targets contain {int((~np.isfinite(y)).sum())} NaN/inf values")
    if y.ndim == 2 and y.shape[1] == 1 and n_out > 1:
        y = y[:, 0]
    if y.ndim == 1:
        if n_out == 1:
            Y = y.astype(np.float64)[:, None]
        else:
            try:
                Y = one_hot(y, n_out)
            except ValueError as exc:
                raise ValueError(
                    f"1D targets for a network with {n_out} outputs are read as class labels: "
                    f"{exc}"
                ) from None
    elif y.ndim == 2:
        if y.shape[1] != n_out:
            raise ValueError(
                f"targets have {y.shape[1]} columns but the network has {n_out} outputs: "
                f"expected shape (n, {n_out}) (one-hot) or integer labels (n,), got {y.shape}"
            )
        Y = y.astype(np.float64)
    else:
        raise ValueError(f"targets must be 1D labels or a 2D (n, n_out) array, got shape {y.shape}")
    if loss == "perceptron":
        values = set(np.unique(Y).tolist())
        if values <= {0.0, 1.0}:
            Y = 2.0 * Y - 1.0
        elif not values <= {-1.0, 1.0}:
            raise ValueError(
                f"perceptron targets must be -1/+1 (or 0/1), got values {sorted(values)[:5]}"
            )
    elif loss == "cross_entropy":
        if (Y < 0).any() or not np.allclose(Y.sum(axis=1), 1.0):
            raise ValueError(
                "cross-entropy targets must be one-hot rows (or probabilities summing to 1)"
            )
    elif loss == "binary_cross_entropy" and ((Y < 0) | (Y > 1)).any():
        raise ValueError("binary cross-entropy targets must lie in [0, 1]")
    return Y
