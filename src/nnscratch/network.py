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

Two options change the hidden layers in training (chapter *Practical training*): inverted
dropout (eqs. ``inverted-dropout`` and ``dropout-backprop``) and batch normalisation (eqs.
``bn-forward``, ``bn-backward``, ``bn-running``). A network with either has a *training mode*
(:meth:`Network.forward` with ``training=True``) that differs from prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import activations as act
from . import losses
from ._checks import (
    as_2d_float,
    as_generator,
    check_choice,
    check_dtype,
    check_finite,
    check_positive,
)
from .training import History, train

Array = np.ndarray
INITS = ("nielsen", "glorot", "he", "normal")
_STATE = ("W", "b", "gamma", "beta", "running_mean", "running_var")


def _check_dropout(dropout, n_hidden: int) -> tuple[float, ...]:
    """Per-hidden-layer dropout probabilities, each in [0, 1)."""
    if isinstance(dropout, (int, float, np.integer, np.floating)) and not isinstance(
        dropout, bool
    ):
        rates = [float(dropout)] * n_hidden
        if dropout and n_hidden == 0:
            raise ValueError("dropout needs at least one hidden layer; this network has none")
    elif isinstance(dropout, (list, tuple, np.ndarray)):
        rates = [float(p) for p in dropout]
        if len(rates) != n_hidden:
            raise ValueError(
                f"dropout lists one probability per hidden layer: {n_hidden} expected, "
                f"got {len(rates)} ({list(dropout)!r})"
            )
    else:
        raise ValueError(f"dropout must be a probability or a list of them, got {dropout!r}")
    for p in rates:
        if not 0 <= p < 1:
            raise ValueError(f"dropout probabilities must be in [0, 1), got {p!r}")
    return tuple(rates)


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
    dropout
        Probability :math:`p` of dropping each hidden neuron in training (inverted dropout, eq.
        ``inverted-dropout``): one value for all hidden layers or one per hidden layer, each in
        :math:`[0, 1)`. Off at prediction (``feedforward``, ``predict``, ``score``, ``cost``).
    batch_norm
        Normalise every hidden layer's weighted input over the mini-batch, then scale and shift
        it by learned ``gamma[l]``, ``beta[l]`` (eq. ``bn-forward``); at prediction the running
        statistics ``running_mean[l]``, ``running_var[l]`` take the place of the batch's (eq.
        ``bn-running``). The biases ``b[l]`` of the hidden layers are then unused (``beta[l]``
        plays their part) and stay 0.
    bn_momentum, bn_eps
        :math:`\rho` of the running statistics and :math:`\\epsilon` of eq. ``bn-forward``.
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
        dropout: float | Sequence[float] = 0.0,
        batch_norm: bool = False,
        bn_momentum: float = 0.9,
        bn_eps: float = 1e-5,
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
        self.dropout = _check_dropout(dropout, n_hidden)
        if not isinstance(batch_norm, (bool, np.bool_)):
            raise ValueError(f"batch_norm must be True or False, got {batch_norm!r}")
        if batch_norm and n_hidden == 0:
            raise ValueError(f"batch_norm needs at least one hidden layer, sizes are {self.sizes}")
        if not 0 <= bn_momentum < 1:
            raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum!r}")
        check_positive(bn_eps, "bn_eps")
        self.batch_norm = bool(batch_norm)
        self.bn_momentum, self.bn_eps = float(bn_momentum), float(bn_eps)
        # the default network takes the fast paths; dropout / batch norm take _forward_train
        self._plain = not self.batch_norm and not any(self.dropout)
        self.W: list[Array] = []
        self.b: list[Array] = []
        self.gamma: list[Array] = []
        self.beta: list[Array] = []
        self.running_mean: list[Array] = []
        self.running_var: list[Array] = []
        self.initialize(seed)

    # ------------------------------------------------------------------ parameters
    @property
    def n_layers(self) -> int:
        """:math:`L`, the number of weight layers (``len(sizes) - 1``)."""
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        """Number of trainable parameters (``gamma`` and ``beta`` of batch norm included; the
        unused biases of batch-normalised layers not)."""
        n = sum(W.size for W in self.W) + self.b[-1].size
        n += sum(g.size + bt.size for g, bt in zip(self.gamma, self.beta))
        if not self.batch_norm:
            n += sum(b.size for b in self.b[:-1])
        return n

    @property
    def has_training_mode(self) -> bool:
        """Whether training differs from prediction (dropout or batch normalisation)."""
        return not self._plain

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
        n_hidden = len(self.sizes) - 2
        if self.batch_norm:
            for l in range(n_hidden):
                self.b[l][:] = 0.0
        bn = self.sizes[1:-1] if self.batch_norm else []
        self.gamma = [np.ones(n, dtype=self.dtype) for n in bn]
        self.beta = [np.zeros(n, dtype=self.dtype) for n in bn]
        self.running_mean = [np.zeros(n, dtype=self.dtype) for n in bn]
        self.running_var = [np.ones(n, dtype=self.dtype) for n in bn]

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

    def get_state(self) -> dict[str, list[Array]]:
        """Copies of every array that defines the network: ``W``, ``b``, ``gamma``, ``beta``,
        ``running_mean``, ``running_var`` (what :class:`~nnscratch.EarlyStopping` restores)."""
        return {k: [a.copy() for a in getattr(self, k)] for k in _STATE}

    def set_state(self, state: dict[str, Sequence[Array]]) -> None:
        """Restore what :meth:`get_state` returned (checked like :meth:`set_weights`)."""
        if not isinstance(state, dict) or set(state) != set(_STATE):
            raise ValueError(f"state must be a dict with the keys {_STATE}, got {state!r:.80}")
        self.set_weights(state["W"], state["b"])
        for k in _STATE[2:]:
            own = getattr(self, k)
            if len(state[k]) != len(own):
                raise ValueError(f"{k} must hold {len(own)} arrays, got {len(state[k])}")
            new = []
            for l, (mine, a) in enumerate(zip(own, state[k])):
                a = np.array(a, dtype=self.dtype)
                if a.shape != mine.shape:
                    raise ValueError(f"{k}[{l}] must have shape {mine.shape}, got {a.shape}")
                check_finite(a, f"{k}[{l}]")
                new.append(a)
            setattr(self, k, new)

    def __repr__(self) -> str:
        hidden = [a.name for a in self.hidden]
        hid = hidden[0] if len(set(hidden)) == 1 else hidden
        extra = ""
        if any(self.dropout):
            drop = self.dropout[0] if len(set(self.dropout)) == 1 else list(self.dropout)
            extra += f", dropout={drop!r}"
        if self.batch_norm:
            extra += ", batch_norm=True"
        return (
            f"Network({self.sizes}, activation={hid!r}, output={self.output.name!r}, "
            f"loss={self.loss.name!r}, init={self.init!r}{extra})"
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

    def forward(
        self, X, training: bool = False, masks: Sequence[Array | None] | None = None, rng=None
    ) -> tuple[list[Array], list[Array]]:
        """All weighted inputs and activations of a batch.

        Returns ``(zs, activations)``: ``zs[l]`` is :math:`z^{l+1}`, shape ``(n, sizes[l+1])``
        (with batch norm, the normalised, scaled and shifted input of the activation, eq.
        ``bn-forward``); ``activations[0]`` is ``X`` and ``activations[l]`` is :math:`a^l`
        (with dropout in training, the dropped-out :math:`\tilde a^l` of eq. ``inverted-dropout``).

        ``training=True`` runs the network as in training: dropout masks from ``masks`` (see
        :meth:`dropout_masks`) or drawn from ``rng``, batch norm with the batch's statistics
        (the running statistics are not updated here). Prediction is ``training=False``.
        """
        X = self._check_X(X)
        if not training:
            return self._forward(X)
        masks = self._check_masks(masks, X.shape[0], rng)
        zs, activations, _ = self._forward_train(X, masks, update_stats=False)
        return zs, activations

    def dropout_masks(self, n: int, rng=None) -> list[Array | None]:
        """Random keep-masks :math:`r^l` for a batch of ``n`` samples (eq.
        ``inverted-dropout``): per hidden layer a boolean ``(n, sizes[l+1])`` array, True with
        probability :math:`1-p_l`, or ``None`` for a layer without dropout. ``rng``: seed or
        ``np.random.Generator``."""
        rng = as_generator(rng, "rng")
        return [
            (rng.random((n, size)) >= p) if p > 0 else None
            for p, size in zip(self.dropout, self.sizes[1:-1])
        ]

    def _check_masks(self, masks, n: int, rng) -> list[Array | None]:
        if masks is None:
            return self.dropout_masks(n, rng)
        masks = list(masks)
        if len(masks) != len(self.dropout):
            raise ValueError(
                f"masks must hold one entry per hidden layer ({len(self.dropout)}), "
                f"got {len(masks)}"
            )
        for l, (r, p) in enumerate(zip(masks, self.dropout)):
            if r is None:
                continue
            if p == 0:
                raise ValueError(f"masks[{l}] must be None: hidden layer {l} has no dropout")
            r = masks[l] = np.asarray(r)
            if r.shape != (n, self.sizes[l + 1]):
                raise ValueError(
                    f"masks[{l}] must have shape {(n, self.sizes[l + 1])}, got {r.shape}"
                )
        return masks

    def _forward(self, X: Array) -> tuple[list[Array], list[Array]]:
        """Prediction-mode forward pass (no dropout; batch norm with running statistics)."""
        if not self._plain:
            zs, activations, _ = self._forward_train(X, None, batch_stats=False)
            return zs, activations
        a = X
        zs, activations = [], [X]
        for l, f in enumerate([*self.hidden, self.output]):
            z = a @ self.W[l]
            z += self.b[l]
            a = f.f(z)
            zs.append(z)
            activations.append(a)
        return zs, activations

    def _forward_train(
        self,
        X: Array,
        masks: Sequence[Array | None] | None,
        batch_stats: bool = True,
        update_stats: bool = False,
    ) -> tuple[list[Array], list[Array], list[tuple]]:
        r"""The forward pass with dropout and batch norm (eqs. ``inverted-dropout``,
        ``bn-forward``).

        ``masks``: keep-masks per hidden layer (``None`` entries, or ``None``: no dropout).
        ``batch_stats``: normalise with the batch's mean and variance (training) or with the
        running ones (prediction, eq. ``bn-running``); ``update_stats``: also move the running
        statistics towards the batch's. Returns ``(zs, activations, cache)``; ``cache[l]`` holds
        what :meth:`_backward_train` needs of hidden layer ``l``: the scaled mask
        :math:`r^l/(1-p_l)` (or ``None``), :math:`a^l` before dropout, :math:`\hat x^l` and
        :math:`1/\sqrt{\sigma^2+\epsilon}` (or ``None`` without batch norm) and
        ``batch_stats``.
        """
        a = X
        zs, activations, cache = [], [X], []
        for l, f in enumerate(self.hidden):
            u = a @ self.W[l]
            if self.batch_norm:
                if batch_stats:
                    mu = u.mean(axis=0)
                    var = u.var(axis=0)
                    if update_stats:  # eq. bn-running
                        rho = self.bn_momentum
                        self.running_mean[l] *= rho
                        self.running_mean[l] += (1 - rho) * mu
                        self.running_var[l] *= rho
                        self.running_var[l] += (1 - rho) * var
                else:
                    mu, var = self.running_mean[l], self.running_var[l]
                inv_std = 1.0 / np.sqrt(var + self.bn_eps)
                xhat = (u - mu) * inv_std
                z = self.gamma[l] * xhat + self.beta[l]  # eq. bn-forward
            else:
                u += self.b[l]
                z, xhat, inv_std = u, None, None
            a = f.f(z)
            a_full, scale = a, None
            r = masks[l] if masks is not None else None
            if r is not None:  # eq. inverted-dropout
                scale = r * (1.0 / (1.0 - self.dropout[l]))
                scale = scale.astype(self.dtype, copy=False)
                a = a * scale
            zs.append(z)
            activations.append(a)
            cache.append((scale, a_full, xhat, inv_std, batch_stats))
        z = a @ self.W[-1]
        z += self.b[-1]
        zs.append(z)
        activations.append(self.output.f(z))
        return zs, activations, cache

    def _backward_train(
        self, zs: list[Array], activations: list[Array], Y: Array, cache: list[tuple]
    ) -> tuple[list[Array], list[Array], list[Array]]:
        r"""Backpropagation through dropout (eq. ``dropout-backprop``) and batch norm (eqs.
        ``bn-gamma-beta``, ``bn-backward``), from :meth:`_forward_train`.

        Returns ``(nabla_W, nabla_b, nabla_extra)`` with ``nabla_extra`` the gradients of
        ``gamma + beta`` (empty without batch norm), in the order of :meth:`_extra_params`.
        """
        delta = self.loss.delta(zs[-1], activations[-1], Y, self.output)  # eq. bp1, / n
        L = self.n_layers
        nabla_W: list[Array] = [None] * L  # type: ignore[list-item]
        nabla_b: list[Array] = [None] * L  # type: ignore[list-item]
        n_gamma = [None] * len(self.gamma)
        n_beta = [None] * len(self.beta)
        nabla_W[-1] = activations[-2].T @ delta  # eq. bp4
        nabla_b[-1] = delta.sum(axis=0)  # eq. bp3
        for l in range(L - 2, -1, -1):
            scale, a_full, xhat, inv_std, batch_stats = cache[l]
            delta = delta @ self.W[l + 1].T  # dC/da^l
            if scale is not None:
                delta *= scale  # eq. dropout-backprop
            delta *= self.hidden[l].df(zs[l], a_full)  # dC/dz^l, eq. bp2
            if xhat is not None:
                n_gamma[l] = (delta * xhat).sum(axis=0)  # eq. bn-gamma-beta
                n_beta[l] = delta.sum(axis=0)
                g = self.gamma[l] * inv_std
                if batch_stats:
                    # eq. bn-backward (the loss's 1/n is already inside delta, so sums -> means
                    # times n cancel): dC/du = gamma/sigma (delta - mean(delta)
                    #                                        - xhat mean(delta xhat))
                    m = delta.shape[0]
                    delta = g * (delta - n_beta[l] / m - xhat * (n_gamma[l] / m))
                else:  # running statistics: a fixed affine map
                    delta = g * delta
                nabla_b[l] = np.zeros_like(self.b[l])
            else:
                nabla_b[l] = delta.sum(axis=0)
            nabla_W[l] = activations[l].T @ delta
        return nabla_W, nabla_b, [*n_gamma, *n_beta]

    def _extra_params(self) -> list[Array]:
        """The trainable arrays besides ``W`` and ``b``: ``gamma + beta`` (batch norm)."""
        return [*self.gamma, *self.beta]

    def _train_forward(self, X: Array, rng: np.random.Generator) -> tuple:
        """The training loop's forward pass: fresh dropout masks from ``rng``, batch
        statistics, running statistics updated. Returns ``(zs, activations, cache)``."""
        masks = self.dropout_masks(X.shape[0], rng) if any(self.dropout) else None
        return self._forward_train(X, masks, batch_stats=True, update_stats=True)

    def _output(self, X: Array) -> tuple[Array, Array]:
        """``(z^L, a^L)`` without keeping the intermediate layers."""
        if not self._plain:
            zs, activations = self._forward(X)
            return zs[-1], activations[-1]
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
    def backprop(
        self, X, Y, training: bool = False, masks: Sequence[Array | None] | None = None, rng=None
    ) -> tuple[list[Array], list[Array]]:
        """Gradients of the batch-averaged cost with respect to every ``W[l]`` and ``b[l]``.

        ``X``: ``(n, sizes[0])``; ``Y``: targets, ``(n, sizes[-1])`` or class labels ``(n,)``.
        Returns ``(nabla_W, nabla_b)`` with the shapes of ``W`` and ``b`` (eqs. ``bp1``-``bp4``).
        ``training``, ``masks``, ``rng``: as in :meth:`forward`; the gradients of ``gamma``
        and ``beta`` (batch norm) come from :meth:`backprop_all`.
        """
        nabla_W, nabla_b, _ = self.backprop_all(X, Y, training, masks, rng)
        return nabla_W, nabla_b

    def backprop_all(
        self, X, Y, training: bool = False, masks: Sequence[Array | None] | None = None, rng=None
    ) -> tuple[list[Array], list[Array], dict[str, list[Array]]]:
        """:meth:`backprop` plus the gradients of the batch-norm parameters:
        ``(nabla_W, nabla_b, {'gamma': [...], 'beta': [...]})`` (eq. ``bn-gamma-beta``)."""
        X, Y = self._check_XY(X, Y)
        masks = self._check_masks(masks, X.shape[0], rng) if training else None
        return self._backprop(X, Y, training, masks, extra=True)

    def _backprop(
        self, X: Array, Y: Array, training: bool = False, masks=None, extra: bool = False
    ):
        """:meth:`backprop` without input checks: the forward pass, then :meth:`_backward`
        (or :meth:`_backward_train`); with ``extra``, also the ``gamma``/``beta`` gradients."""
        if self._plain:
            nabla_W, nabla_b = self._backward(*self._forward(X), Y)
            return (nabla_W, nabla_b, {"gamma": [], "beta": []}) if extra else (nabla_W, nabla_b)
        zs, activations, cache = self._forward_train(X, masks, batch_stats=training)
        nabla_W, nabla_b, nabla_extra = self._backward_train(zs, activations, Y, cache)
        if not extra:
            return nabla_W, nabla_b
        k = len(self.gamma)
        return nabla_W, nabla_b, {"gamma": nabla_extra[:k], "beta": nabla_extra[k:]}

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
    def cost(
        self,
        X,
        Y,
        lmbda: float = 0.0,
        n: int | None = None,
        training: bool = False,
        masks: Sequence[Array | None] | None = None,
        rng=None,
    ) -> float:
        r"""Batch-averaged cost, plus the L2 term :math:`\frac{\lambda}{2n}\sum_l \lVert W^l
        \rVert^2` (eq. ``l2-cost``) when ``lmbda > 0``; ``n`` defaults to the batch size.
        ``training``, ``masks``, ``rng``: as in :meth:`forward` (the cost that training
        minimises on this batch, with these dropout masks)."""
        X, Y = self._check_XY(X, Y)
        if not training or self._plain:
            return self._cost(X, Y, lmbda, n)
        masks = self._check_masks(masks, X.shape[0], rng)
        zs, activations, _ = self._forward_train(X, masks)
        c = self.loss.value(zs[-1], activations[-1], Y)
        return c + self._l2(lmbda, X.shape[0] if n is None else n) if lmbda else c

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
