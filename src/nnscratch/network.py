r"""The feed-forward network of the book, for any number of layers.

Notation (chapter *The backpropagation equations*): layer :math:`l = 1, \dots, L` has weights
``W[l-1]`` of shape ``(n_{l-1}, n_l)`` and biases ``b[l-1]`` of shape ``(n_l,)``. A mini-batch is
a matrix with one sample per row, so the forward pass is (eq. ``feedforward``)

.. math:: z^l = a^{l-1} W^l + b^l, \qquad a^l = \sigma(z^l),

which is Nielsen's column-vector :math:`z = W a + b` transposed. Backpropagation (eqs.
``bp1``-``bp4``) then reads

.. math::
    \delta^L = \nabla_a C \odot \sigma'(z^L), \quad
    \delta^l = (\delta^{l+1} W^{l+1\,T}) \odot \sigma'(z^l), \quad
    \partial C/\partial W^l = a^{l-1\,T} \delta^l, \quad
    \partial C/\partial b^l = \textstyle\sum_x \delta^l .
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import activations as act
from . import losses
from ._checks import as_2d_float, as_generator, check_choice, check_dtype, check_finite
from .training import History, train

Array = np.ndarray
INITS = ("nielsen", "glorot", "he", "normal")


class Network:
    """A fully connected feed-forward network trained by backpropagation.

    Parameters
    ----------
    sizes
        Neurons per layer, input first: ``[784, 30, 10]`` has one hidden layer of 30.
    activation
        Hidden-layer activation, one name for all hidden layers or one per hidden layer:
        ``'sigmoid'``, ``'tanh'``, ``'relu'``, ``'leaky_relu'``, ``'elu'``, ``'identity'``.
    output
        Output activation; by default the one that belongs to ``loss`` (``quadratic`` ->
        ``sigmoid``, ``cross_entropy`` -> ``softmax``, ``binary_cross_entropy`` -> ``sigmoid``,
        ``perceptron`` -> ``identity``).
    loss
        ``'quadratic'``, ``'cross_entropy'``, ``'binary_cross_entropy'`` or ``'perceptron'``.
    init
        ``'nielsen'``: :math:`W \\sim N(0, 1/n_{in})`, :math:`b \\sim N(0, 1)`; ``'glorot'``:
        :math:`N(0, 2/(n_{in}+n_{out}))`; ``'he'``: :math:`N(0, 2/n_{in})` (both with zero
        biases); ``'normal'``: :math:`N(0, 1)` for weights and biases (the vanishing-gradient demo).
    task
        ``'classification'`` or ``'regression'``; ``'auto'`` classifies unless the loss is
        quadratic with an output other than sigmoid/softmax.
    seed
        Seed or ``np.random.Generator`` for the initial weights.
    dtype
        ``np.float64`` (default) or ``np.float32``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
        loss: str = "quadratic",
        init: str = "nielsen",
        task: str = "auto",
        seed: int | np.random.Generator | None = None,
        dtype=np.float64,
    ) -> None:
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else sizes
        if (
            not isinstance(sizes, list)
            or len(sizes) < 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes)
            or min(sizes) < 1
        ):
            raise ValueError(
                "sizes must list at least two positive integers (input, ..., output), "
                f"got {sizes!r}"
            )
        self.sizes = [int(s) for s in sizes]
        n_hidden = len(self.sizes) - 2
        if isinstance(activation, str):
            names = [activation] * n_hidden
        else:
            names = list(activation)
            if len(names) != n_hidden:
                raise ValueError(
                    f"activation lists one name per hidden layer: {n_hidden} expected for sizes "
                    f"{self.sizes}, got {len(names)} ({names!r})"
                )
        for name in names:
            check_choice(name, "hidden activation", act.HIDDEN)
        self.loss = losses.get(loss)
        output = self.loss.default_output if output is None else output
        check_choice(output, "output activation", act.ACTIVATIONS)
        if output not in self.loss.outputs:
            raise ValueError(
                f"output activation {output!r} does not go with loss {self.loss.name!r}; "
                f"allowed: {', '.join(self.loss.outputs)}"
            )
        if output == "softmax" and self.sizes[-1] < 2:
            raise ValueError("a softmax output needs at least 2 output neurons")
        if self.loss.name == "perceptron" and self.sizes[-1] != 1:
            raise ValueError(
                f"the perceptron loss needs exactly 1 output neuron, got {self.sizes[-1]}"
            )
        self.hidden = [act.get(n) for n in names]
        self.output = act.get(output)
        check_choice(task, "task", ("auto", "classification", "regression"))
        if task == "auto":
            task = (
                "classification"
                if self.loss.classification or output in ("sigmoid", "softmax")
                else "regression"
            )
        self.task = task
        check_choice(init, "init", INITS)
        self.init = init
        self.dtype = check_dtype(dtype)
        self.W: list[Array] = []
        self.b: list[Array] = []
        self.initialize(seed)

    # ------------------------------------------------------------------ parameters
    @property
    def n_layers(self) -> int:
        """:math:`L`, the number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(W.size + b.size for W, b in zip(self.W, self.b))

    def initialize(self, seed: int | np.random.Generator | None = None) -> None:
        """Draw fresh weights and biases with the network's ``init`` scheme."""
        rng = as_generator(seed)
        self.W, self.b = [], []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            std = {
                "nielsen": 1.0 / np.sqrt(n_in),
                "glorot": np.sqrt(2.0 / (n_in + n_out)),
                "he": np.sqrt(2.0 / n_in),
                "normal": 1.0,
            }[self.init]
            self.W.append((std * rng.standard_normal((n_in, n_out))).astype(self.dtype))
            if self.init in ("nielsen", "normal"):
                self.b.append(rng.standard_normal(n_out).astype(self.dtype))
            else:
                self.b.append(np.zeros(n_out, dtype=self.dtype))

    def get_weights(self) -> tuple[list[Array], list[Array]]:
        """Copies of ``(W, b)``."""
        return [W.copy() for W in self.W], [b.copy() for b in self.b]

    def set_weights(self, W: Sequence[Array], b: Sequence[Array]) -> None:
        """Replace all weights and biases (copied), checking every shape and value."""
        if len(W) != self.n_layers or len(b) != self.n_layers:
            raise ValueError(
                f"expected {self.n_layers} weight matrices and bias vectors, "
                f"got {len(W)} and {len(b)}"
            )
        new_W, new_b = [], []
        for l, (Wl, bl) in enumerate(zip(W, b)):
            Wl = np.array(Wl, dtype=self.dtype)
            bl = np.array(bl, dtype=self.dtype)
            shape_W = (self.sizes[l], self.sizes[l + 1])
            if Wl.shape != shape_W:
                raise ValueError(f"W[{l}] must have shape {shape_W}, got {Wl.shape}")
            if bl.shape != (self.sizes[l + 1],):
                raise ValueError(f"b[{l}] must have shape {(self.sizes[l + 1],)}, got {bl.shape}")
            check_finite(Wl, f"W[{l}]")
            check_finite(bl, f"b[{l}]")
            new_W.append(Wl)
            new_b.append(bl)
        self.W, self.b = new_W, new_b

    def __repr__(self) -> str:
        hidden = [a.name for a in self.hidden]
        hid = hidden[0] if len(set(hidden)) == 1 else hidden
        return (
            f"Network({self.sizes}, activation={hid!r}, output={self.output.name!r}, "
            f"loss={self.loss.name!r}, init={self.init!r})"
        )

    # ------------------------------------------------------------------ forward
    def _check_X(self, X) -> Array:
        return as_2d_float(X, "X", self.dtype, n_features=self.sizes[0])

    def encode(self, y) -> Array:
        """Targets as the loss wants them, shape ``(n, n_out)`` (see
        :func:`nnscratch.losses.encode_targets`)."""
        return self.loss.encode(y, self.sizes[-1]).astype(self.dtype, copy=False)

    def _check_XY(self, X, Y) -> tuple[Array, Array]:
        X = self._check_X(X)
        Y = self.encode(Y)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and targets disagree on the number of samples: {X.shape[0]} vs {Y.shape[0]}"
            )
        return X, Y

    def forward(self, X) -> tuple[list[Array], list[Array]]:
        """All weighted inputs and activations of a batch.

        Returns ``(zs, activations)``: ``zs[l]`` is :math:`z^{l+1}`, shape ``(n, sizes[l+1])``;
        ``activations[0]`` is ``X`` and ``activations[l]`` is :math:`a^l`.
        """
        return self._forward(self._check_X(X))

    def _forward(self, X: Array) -> tuple[list[Array], list[Array]]:
        a = X
        zs, activations = [], [X]
        for l, f in enumerate([*self.hidden, self.output]):
            z = a @ self.W[l]
            z += self.b[l]
            a = f.f(z)
            zs.append(z)
            activations.append(a)
        return zs, activations

    def _output(self, X: Array) -> tuple[Array, Array]:
        """``(z^L, a^L)`` without keeping the intermediate layers."""
        a = X
        for l, f in enumerate(self.hidden):
            z = a @ self.W[l]
            z += self.b[l]
            a = f.f(z)
        z = a @ self.W[-1]
        z += self.b[-1]
        return z, self.output.f(z)

    def feedforward(self, X) -> Array:
        """The network's output :math:`a^L` for a batch ``X`` of shape ``(n, sizes[0])``;
        returns ``(n, sizes[-1])``."""
        return self._output(self._check_X(X))[1]

    __call__ = feedforward

    # ------------------------------------------------------------------ backprop
    def backprop(self, X, Y) -> tuple[list[Array], list[Array]]:
        """Gradients of the batch-averaged cost with respect to every ``W[l]`` and ``b[l]``.

        ``X``: ``(n, sizes[0])``; ``Y``: targets, ``(n, sizes[-1])`` or class labels ``(n,)``.
        Returns ``(nabla_W, nabla_b)`` with the shapes of ``W`` and ``b`` (eqs. ``bp1``-``bp4``).
        """
        X, Y = self._check_XY(X, Y)
        return self._backprop(X, Y)

    def _backprop(self, X: Array, Y: Array) -> tuple[list[Array], list[Array]]:
        """:meth:`backprop` without input checks: the forward pass, then :meth:`_backward`."""
        return self._backward(*self._forward(X), Y)

    def _backward(
        self, zs: list[Array], activations: list[Array], Y: Array
    ) -> tuple[list[Array], list[Array]]:
        """Eqs. ``bp1``-``bp4``: the gradients from the ``zs`` and ``activations`` of
        :meth:`forward` and the targets ``Y`` ``(n, sizes[-1])``."""
        delta = self.loss.delta(zs[-1], activations[-1], Y, self.output)  # eq. bp1, / n
        L = self.n_layers
        nabla_W: list[Array] = [None] * L  # type: ignore[list-item]
        nabla_b: list[Array] = [None] * L  # type: ignore[list-item]
        nabla_W[-1] = activations[-2].T @ delta  # eq. bp4
        nabla_b[-1] = delta.sum(axis=0)  # eq. bp3
        for l in range(L - 2, -1, -1):
            delta = delta @ self.W[l + 1].T  # eq. bp2
            delta *= self.hidden[l].df(zs[l], activations[l + 1])
            nabla_W[l] = activations[l].T @ delta
            nabla_b[l] = delta.sum(axis=0)
        return nabla_W, nabla_b

    def _sgd_step(
        self, X: Array, Y: Array, eta: float, decay: float = 1.0
    ) -> tuple[Array, Array]:
        r"""One plain SGD step on the mini-batch ``(X, Y)``, the training loop's fast path for
        ``optimizer='sgd'`` without momentum or clipping.

        Does exactly :meth:`_backprop` followed by :math:`W^l \to \mathrm{decay}\,W^l - \eta\,
        \partial C/\partial W^l` and :math:`b^l \to b^l - \eta\,\partial C/\partial b^l`
        (``decay`` is :math:`1 - \eta\lambda/n` for L2, eq. ``weight-decay``), but scales
        :math:`\delta^L` by :math:`\eta` once, so every gradient comes out already multiplied by
        :math:`\eta` and each parameter needs a single in-place subtraction.

        Returns ``(z^L, a^L)``, ``(n, sizes[-1])``: the output layer of this step's forward pass
        (the weights *before* the update), from which the training loop records the cost and
        accuracy of the batch without another forward pass.
        """
        zs, activations = self._forward(X)
        delta = self.loss.delta(zs[-1], activations[-1], Y, self.output)  # eq. bp1, / n
        delta *= eta
        for l in range(self.n_layers - 1, -1, -1):
            W = self.W[l]
            delta_prev = delta @ W.T if l else None  # eq. bp2 needs W[l] before its update
            if decay != 1.0:
                W *= decay
            W -= activations[l].T @ delta  # eq. bp4, times eta
            self.b[l] -= np.add.reduce(delta, axis=0)  # eq. bp3, times eta
            if l:
                delta_prev *= self.hidden[l - 1].df(zs[l - 1], activations[l])
                delta = delta_prev
        return zs[-1], activations[-1]

    # ------------------------------------------------------------------ evaluation
    def cost(self, X, Y, lmbda: float = 0.0, n: int | None = None) -> float:
        r"""Batch-averaged cost, plus the L2 term :math:`\frac{\lambda}{2n}\sum_l \lVert W^l
        \rVert^2` (eq. ``l2-cost``) when ``lmbda > 0``; ``n`` defaults to the batch size."""
        X, Y = self._check_XY(X, Y)
        return self._cost(X, Y, lmbda, n)

    def _cost(self, X: Array, Y: Array, lmbda: float = 0.0, n: int | None = None) -> float:
        z, a = self._output(X)
        c = self.loss.value(z, a, Y)
        if lmbda:
            c += self._l2(lmbda, X.shape[0] if n is None else n)
        return c

    def _l2(self, lmbda: float, n: int) -> float:
        r"""The L2 term :math:`\frac{\lambda}{2n}\sum_l \lVert W^l\rVert^2` (eq. ``l2-cost``)."""
        # einsum, not np.vdot: a BLAS dot of this size wakes OpenBLAS's threads, which costs
        # ~100 us on a busy 2-core machine; the training loop calls this once per mini-batch
        return 0.5 * lmbda / n * sum(float(np.einsum("ij,ij->", W, W)) for W in self.W)

    def predict_proba(self, X) -> Array:
        """Class probabilities, ``(n, n_classes)``: the softmax/sigmoid outputs (a single
        sigmoid output ``p`` becomes the two columns ``1 - p, p``)."""
        if self.task != "classification":
            raise ValueError("predict_proba needs a classification network")
        if self.output.name not in ("softmax", "sigmoid"):
            raise ValueError(
                f"predict_proba needs a softmax or sigmoid output, this network has "
                f"{self.output.name!r}"
            )
        a = self.feedforward(X)
        if a.shape[1] == 1:
            return np.hstack([1.0 - a, a])
        if self.output.name == "sigmoid":
            a = a / a.sum(axis=1, keepdims=True)
        return a

    def _labels(self, a: Array) -> Array:
        if a.shape[1] > 1:
            return a.argmax(axis=1)
        threshold = 0.5 if self.output.name == "sigmoid" else 0.0
        return (a[:, 0] > threshold).astype(np.int64)

    def predict(self, X) -> Array:
        """Class labels ``(n,)`` for a classifier (argmax, or threshold 0.5 / 0 for a single
        sigmoid / linear output); the outputs ``(n, n_out)`` for a regression network."""
        a = self.feedforward(X)
        return self._labels(a) if self.task == "classification" else a

    def score(self, X, y) -> float:
        """Accuracy for a classifier (labels ``(n,)`` or one-hot / ±1 targets), the coefficient
        of determination :math:`R^2` for a regression network."""
        return self._score(*self._check_XY(X, y))

    def _score(self, X: Array, Y: Array) -> float:
        return self._score_of(self._output(X)[1], Y)

    def _score_of(self, a: Array, Y: Array) -> float:
        """Accuracy or :math:`R^2` of the outputs ``a`` against the targets ``Y``, both
        ``(n, sizes[-1])``."""
        if self.task == "classification":
            return float(np.mean(self._labels(a) == self._labels(Y)))
        ss_res = float(((Y - a) ** 2).sum())
        ss_tot = float(((Y - Y.mean(axis=0)) ** 2).sum())
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")

    # ------------------------------------------------------------------ training
    def fit(self, X, y, **kwargs) -> History:
        """Train with mini-batch SGD (or momentum / Adam); see :func:`nnscratch.training.train`
        for the arguments. Returns the :class:`~nnscratch.training.History`.

        (The dependency points one way: this module imports :mod:`nnscratch.training`, which
        never imports this one; :func:`~nnscratch.training.train` works on any object with the
        methods of :class:`~nnscratch.training.Trainable`.)"""
        return train(self, X, y, **kwargs)
