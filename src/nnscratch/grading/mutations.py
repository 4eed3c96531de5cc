r"""Backpropagation with known bugs, and a diagnosis of a student's gradients from them.

:func:`backprop_variant` runs the four equations of the book for a fully connected network with
a quadratic cost, in any :class:`Layout` (Nielsen's column vectors, or one sample per row), and
can plant any combination of typical mistakes described by a :class:`Bug`:

.. math::
    \delta^L = \nabla_a C \odot \sigma'(z^L) \ (\text{eq. } \texttt{bp1}), \quad
    \delta^l = ((W^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l) \ (\texttt{bp2}), \quad
    \partial C/\partial b^l = \delta^l \ (\texttt{bp3}), \quad
    \partial C/\partial w^l = \delta^l (a^{l-1})^T \ (\texttt{bp4}).

:data:`CATALOGUE` lists the mutations that are tried; :func:`diagnose` compares each wrong
gradient of a student with the same gradient of every mutation (also scaled by -1, 2, 1/2) on
the same networks and examples, and names the most specific explanation, preferring one that
explains *all* of the student's gradients. Layers are numbered from 1 as in the book: layer ``l``
is ``weights[l-1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ._pristine import BUILTINS, np
from .compare import (
    TOL,
    all_finite,
    all_zero,
    best_scale,
    matches,
    relative_error,
)

Array = np.ndarray

__all__ = [
    "CATALOGUE",
    "ROWS",
    "SIGMOID",
    "Activation",
    "Bug",
    "Item",
    "ItemResult",
    "Layout",
    "Mutation",
    "NetworkData",
    "backprop_variant",
    "diagnose",
    "mutants",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)


# --------------------------------------------------------------------------------------------
# Activations and layouts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """An activation ``f`` and its derivative ``df`` as a function of ``z``."""

    name: str
    f: Callable[[Array], Array]
    df: Callable[[Array], Array]


def _sigmoid(z: Array) -> Array:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _sigmoid_prime(z: Array) -> Array:
    s = _sigmoid(z)
    return s * (1.0 - s)


SIGMOID = Activation("sigmoid", _sigmoid, _sigmoid_prime)


@dataclass(frozen=True)
class Layout:
    """How a storage convention writes the equations.

    Attributes
    ----------
    name : str
    linear : callable
        ``(W, b, a) -> z`` (eq. ``feedforward``).
    back : callable
        ``(W, delta) -> (W)^T delta`` in this layout (the product of eq. ``bp2``).
    grad_w : callable
        ``(delta, a_prev) -> dC/dW`` (eq. ``bp4``), not yet averaged.
    grad_b : callable
        ``(delta) -> dC/db`` (eq. ``bp3``), not yet averaged.
    batched : bool
        True when examples are rows of a batch and gradients are averaged over it (``1/N``).
    bp2, bp4 : str
        The equations as a student of this layout writes them, for messages.
    w_name, b_name : str
        How the student's code names the parameters (``'weights'``, ``'biases'``).
    """

    name: str
    linear: Callable[[Array, Array, Array], Array]
    back: Callable[[Array, Array], Array]
    grad_w: Callable[[Array, Array], Array]
    grad_b: Callable[[Array], Array]
    batched: bool = False
    bp2: str = "δ^l = ((W^{l+1})ᵀ δ^{l+1}) ⊙ σ′(z^l)"
    bp4: str = "δ^l (a^{l-1})ᵀ"
    w_name: str = "weights"
    b_name: str = "biases"


#: One sample per row (``z = a @ W + b``, ``W`` of shape ``(n_in, n_out)``), batch-averaged: the
#: layout of :class:`nnscratch.Network` and of the batched exercises.
ROWS = Layout(
    name="rows",
    linear=lambda W, b, a: a @ W + b,
    back=lambda W, delta: delta @ W.T,
    grad_w=lambda delta, a_prev: a_prev.T @ delta,
    grad_b=lambda delta: np.add.reduce(delta, axis=0),
    batched=True,
    bp2="δ^l = (δ^{l+1} (W^{l+1})ᵀ) ⊙ σ′(z^l)",
    bp4="(a^{l-1})ᵀ δ^l / N",
    w_name="W",
    b_name="b",
)


# --------------------------------------------------------------------------------------------
# Bugs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bug:
    """A combination of mistakes (the default is no mistake: the correct backprop).

    Attributes
    ----------
    sign : float
        Multiplies the output error ``∇_a C = a^L - y`` (``-1``: ``y - a^L``).
    scale : float
        Multiplies every gradient (2 or 1/2: a stray factor).
    output_df, hidden_df : {'z', 'a', 'none'}
        What ``σ′`` is applied to in eq. ``bp1`` / ``bp2``: ``z`` (right), the activation ``a``,
        or nothing (the factor is missing).
    hidden_w : {'next', 'same', 'next_no_T'}
        Eq. ``bp2`` uses ``(W^{l+1})ᵀ`` (right), this layer's ``(W^l)ᵀ``, or ``W^{l+1}``
        without the transpose.
    propagate : {'delta', 'output', 'raw'}
        What eq. ``bp2`` propagates: ``δ^{l+1}`` (right); nothing (``δ^L`` is reused in every
        layer); or the raw output error ``a^L - y``, so each layer applies only its own ``σ′``.
    hidden_zero : bool
        Gradients of the hidden layers are left at zero.
    grad_w : {'ok', 'transposed', 'same_layer'}
        Eq. ``bp4``: right; the outer product transposed; ``a^l`` instead of ``a^{l-1}``.
    grad_b : {'ok', 'flat', 'row', 'sum', 'unsummed'}
        Eq. ``bp3``: right; flattened to ``(n,)``; a row ``(1, n)``; summed to one number;
        (batched layouts) not summed over the samples.
    mean : bool
        Batched layouts: average over the ``N`` samples (``False``: the ``1/N`` is missing).
    """

    sign: float = 1.0
    scale: float = 1.0
    output_df: str = "z"
    hidden_df: str = "z"
    hidden_w: str = "next"
    propagate: str = "delta"
    hidden_zero: bool = False
    grad_w: str = "ok"
    grad_b: str = "ok"
    mean: bool = True


def _df(act: Activation, z: Array, a: Array, mode: str) -> Array | float:
    if mode == "z":
        return act.df(z)
    if mode == "a":
        return act.df(a)
    if mode == "none":
        return 1.0
    raise ValueError(f"σ′ mode must be 'z', 'a' or 'none', got {mode!r}")


def backprop_variant(
    layout: Layout,
    weights: Sequence[Array],
    biases: Sequence[Array],
    x: Array,
    y: Array,
    bug: Bug = Bug(),
    hidden: Activation = SIGMOID,
    output: Activation = SIGMOID,
    *,
    activations: Sequence[Activation] | None = None,
) -> tuple[list[Array], list[Array]]:
    """Gradients of the quadratic cost ``C = ½|a^L - y|²`` for one example (or the average over
    a batch), in float64, with the mistakes of ``bug`` planted.

    Parameters
    ----------
    layout
        Storage convention (e.g. :data:`nnscratch.grading.nielsen.NIELSEN`, :data:`ROWS`).
    weights, biases
        One array per layer ``l = 1..L`` in the layout's shapes.
    x, y
        Input and target in the layout's shapes (Nielsen: columns ``(n_in, 1)``, ``(n_out, 1)``).
    bug
        The mistakes to make (default: none, the reference); also a
        :class:`~nnscratch.grading.batched.BatchBug` (its ``divide_by``, ``mean_w``, ``mean_b``,
        ``act_shift`` and ``grad_b='wrong_axis'``, batched layouts).
    hidden, output
        Activations of the hidden layers and of the output layer.
    activations
        One activation per layer ``l = 1..L`` instead of ``hidden`` and ``output``.

    Returns
    -------
    (nabla_b, nabla_w)
        Lists of length ``L``; shapes as the bug makes them.

    Raises
    ------
    ValueError
        When the bug is impossible on this network (shapes that do not fit); callers treat the
        mutation as not applicable.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    L = len(weights)
    acts = list(activations) if activations is not None else [hidden] * (L - 1) + [output]
    act_shift = getattr(bug, "act_shift", False)
    n = _average_over(x, y, getattr(bug, "divide_by", "N")) if layout.batched else 1
    mean_w = layout.batched and bug.mean and getattr(bug, "mean_w", True)
    mean_b = layout.batched and bug.mean and getattr(bug, "mean_b", True)
    with np.errstate(all="ignore"):
        a = x
        activations_, zs = [x], []
        for i in range(L):
            z = layout.linear(weights[i], biases[i], a)
            a = acts[i].f(z)
            zs.append(z)
            activations_.append(a)
        error = bug.sign * (activations_[-1] - y)  # ∇_a C of the quadratic cost
        deltas: list[Array] = [None] * L  # type: ignore[list-item]
        deltas[-1] = error * _df(acts[-1], zs[-1], activations_[-1], bug.output_df)  # eq. bp1
        raw = error
        for i in range(L - 2, -1, -1):  # eq. bp2
            if bug.propagate == "output":
                deltas[i] = deltas[-1]
                continue
            if bug.hidden_w == "next":
                W = weights[i + 1]
            elif bug.hidden_w == "same":
                W = weights[i]
            elif bug.hidden_w == "next_no_T":
                W = weights[i + 1].T
            else:
                raise ValueError(f"unknown hidden_w {bug.hidden_w!r}")
            if bug.propagate == "raw":
                raw = layout.back(W, raw)
                back = raw
            elif bug.propagate == "delta":
                back = layout.back(W, deltas[i + 1])
            else:
                raise ValueError(f"unknown propagate {bug.propagate!r}")
            act = acts[i + 1] if act_shift else acts[i]
            deltas[i] = back * _df(act, zs[i], activations_[i + 1], bug.hidden_df)
        factor_w = bug.scale / n if mean_w else bug.scale
        factor_b = bug.scale / n if mean_b else bug.scale
        nabla_b: list[Array] = []
        nabla_w: list[Array] = []
        for i in range(L):
            delta = deltas[i]
            if bug.grad_w == "ok":
                gw = layout.grad_w(delta, activations_[i])
            elif bug.grad_w == "transposed":
                gw = layout.grad_w(delta, activations_[i]).T
            elif bug.grad_w == "same_layer":
                gw = layout.grad_w(delta, activations_[i + 1])
            else:
                raise ValueError(f"unknown grad_w {bug.grad_w!r}")
            if bug.grad_b == "unsummed":
                gb = delta.copy()
            elif bug.grad_b == "wrong_axis":
                gb = np.add.reduce(delta, axis=1)
            else:
                gb = layout.grad_b(delta)
                if bug.grad_b == "flat":
                    gb = gb.ravel()
                elif bug.grad_b == "row":
                    gb = gb.reshape(1, -1)
                elif bug.grad_b == "sum":
                    gb = np.array(np.add.reduce(gb.ravel()))
                elif bug.grad_b != "ok":
                    raise ValueError(f"unknown grad_b {bug.grad_b!r}")
            if bug.hidden_zero and i < L - 1:
                gw = np.zeros(layout.grad_w(deltas[i], activations_[i]).shape)
                gb = np.zeros(layout.grad_b(deltas[i]).shape)
            nabla_w.append(np.asarray(gw * factor_w, dtype=np.float64))
            nabla_b.append(np.asarray(gb * factor_b, dtype=np.float64))
    return nabla_b, nabla_w


def _average_over(x: Array, y: Array, divide_by: str) -> float:
    """The ``N`` of a batch average: the batch size (right), or the slips of
    :class:`~nnscratch.grading.batched.BatchBug` (input features, entries, ``N²``)."""
    N = x.shape[0]
    if divide_by == "N":
        return float(N)
    if divide_by == "features":
        return float(x.shape[1])
    if divide_by == "entries":
        return float(N * y.shape[1])
    if divide_by == "twice":
        return float(N * N)
    raise ValueError(f"unknown divide_by {divide_by!r}")


# --------------------------------------------------------------------------------------------
# The catalogue of mutations and what they mean
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One gradient: ``kind`` ``'b'`` or ``'w'`` of layer ``layer`` (1-based) of a network with
    ``L`` layers (``sizes`` its neuron counts)."""

    kind: str
    layer: int
    L: int
    sizes: tuple[int, ...]

    @property
    def output(self) -> bool:
        return self.layer == self.L

    def label(self) -> str:
        return f"∂C/∂{self.kind}, layer {self.layer}"


Message = Callable[[Item, Layout, Sequence[int]], "str | None"]


@dataclass(frozen=True)
class Mutation:
    """A named bug, the gradients it affects and how to explain it.

    ``message(item, layout, expected_shape)`` returns the sentence for a gradient this bug makes
    wrong, or ``None`` when the bug does not explain that gradient.
    """

    key: str
    bug: Bug
    message: Message
    summary: str
    batched_only: bool = False
    priority: int = 50


def _m(text_output: str | None, text_hidden: str | None, kind: str | None = None) -> Message:
    """A message with one text for output-layer gradients and one for hidden layers."""

    def message(item: Item, layout: Layout, shape: Sequence[int]) -> str | None:
        if kind is not None and item.kind != kind:
            return None
        text = text_output if item.output else text_hidden
        if text is None:
            return None
        return text.format(
            bp2=layout.bp2,
            bp4=layout.bp4,
            shape=tuple(shape),
            index=item.layer - 1,
            w=layout.w_name,
            b=layout.b_name,
            n=shape[0] if len(shape) else 1,
        )

    return message


def _everywhere(text: str, kind: str | None = None) -> Message:
    """A message with the same text for output-layer and hidden-layer gradients."""
    return _m(text, text, kind)


_INHERITS = "wrong only because δ^L is wrong ({}, eq. BP1): BP2 carries that error back here"

CATALOGUE: tuple[Mutation, ...] = (
    Mutation(
        "wrong_weights",
        Bug(hidden_w="same"),
        _m(
            None,
            "the recursion uses this layer's weights W^l instead of the next layer's "
            "W^{{l+1}}: {bp2} (eq. BP2)",
        ),
        "the recursion BP2 uses W^l instead of W^{l+1}",
        priority=10,
    ),
    Mutation(
        "bp2_no_transpose",
        Bug(hidden_w="next_no_T"),
        _m(None, "the recursion multiplies by W^{{l+1}} instead of its transpose: {bp2} (eq. BP2)"),
        "the recursion BP2 is missing the transpose of W^{l+1}",
        priority=11,
    ),
    Mutation(
        "same_layer_a",
        Bug(grad_w="same_layer"),
        _everywhere(
            "uses the activation of the wrong layer: ∂C/∂w^l = {bp4} needs the previous "
            "layer's activation a^{{l-1}}, not a^l (eq. BP4)",
            kind="w",
        ),
        "BP4 uses a^l instead of a^{l-1}",
        priority=12,
    ),
    Mutation(
        "transposed_w",
        Bug(grad_w="transposed"),
        _everywhere(
            "is transposed: ∂C/∂w^l = {bp4} has the shape of {w}[{index}], {shape}, "
            "not its transpose (eq. BP4)",
            kind="w",
        ),
        "the outer product of BP4 is transposed",
        priority=13,
    ),
    Mutation(
        "bias_flat",
        Bug(grad_b="flat"),
        _everywhere(
            "has the right values but shape ({n},); {b}[{index}] has shape {shape}: keep δ^l "
            "a column vector (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is flattened to shape (n,) (BP3)",
        priority=14,
    ),
    Mutation(
        "bias_row",
        Bug(grad_b="row"),
        _everywhere(
            "has the right values but shape (1, {n}); {b}[{index}] has shape {shape} (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is a row (1, n) instead of a column (BP3)",
        priority=15,
    ),
    Mutation(
        "bias_sum",
        Bug(grad_b="sum"),
        _everywhere(
            "is a single number (δ^l summed up); ∂C/∂b^l = δ^l itself, shape {shape} (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is δ summed to one number instead of δ (BP3)",
        priority=16,
    ),
    Mutation(
        "bias_unsummed",
        Bug(grad_b="unsummed"),
        _everywhere(
            "is δ^l for every sample; ∂C/∂b^l sums δ^l over the batch (eq. BP3)",
            kind="b",
        ),
        "∂C/∂b is not summed over the batch (BP3)",
        batched_only=True,
        priority=17,
    ),
    Mutation(
        "delta_reused",
        Bug(propagate="output"),
        _m(
            None,
            "uses the output layer's δ^L instead of this layer's δ^l: δ is not "
            "propagated back ({bp2}, eq. BP2)",
        ),
        "δ is not propagated: the output δ^L is reused in every layer (BP2)",
        priority=20,
    ),
    Mutation(
        "raw_error",
        Bug(propagate="raw"),
        _m(
            None,
            "δ is not propagated correctly: each layer applies only its own σ′(z^l) to "
            "the output error passed back, but the recursion must pass back δ^{{l+1}}, "
            "which already holds σ′ of the layers above ({bp2}, eq. BP2)",
        ),
        "BP2 passes back the raw output error instead of δ^{l+1} (only the local σ′ is used)",
        priority=21,
    ),
    Mutation(
        "df_of_a_output",
        Bug(output_df="a"),
        _m(
            "σ′ is applied to the activation a^L instead of the weighted input z^L in δ^L: "
            "use σ′(z^L) (eq. BP1)",
            _INHERITS.format("it uses σ′(a^L) instead of σ′(z^L)"),
        ),
        "σ′ is applied to a^L instead of z^L in δ^L (BP1)",
        priority=30,
    ),
    Mutation(
        "df_of_a_hidden",
        Bug(hidden_df="a"),
        _m(
            None,
            "σ′ is applied to the activation a^l instead of the weighted input z^l: "
            "δ^l needs σ′(z^l) (eq. BP2)",
        ),
        "σ′ is applied to activations a instead of z in the recursion (BP2)",
        priority=31,
    ),
    Mutation(
        "df_of_a",
        Bug(output_df="a", hidden_df="a"),
        _m(
            "σ′ is applied to the activation a^L instead of the weighted input z^L in δ^L: "
            "use σ′(z^L) (eq. BP1)",
            "σ′ is applied to activations a instead of weighted inputs z, here (eq. BP2) and "
            "in δ^L (eq. BP1)",
        ),
        "σ′ is applied to activations a instead of weighted inputs z (BP1 and BP2)",
        priority=32,
    ),
    Mutation(
        "no_df_output",
        Bug(output_df="none"),
        _m(
            "the activation derivative σ′(z^L) is missing in δ^L (eq. BP1)",
            _INHERITS.format("σ′(z^L) is missing in it"),
        ),
        "the activation derivative σ′(z^L) is missing in δ^L (BP1)",
        priority=40,
    ),
    Mutation(
        "no_df_hidden",
        Bug(hidden_df="none"),
        _m(None, "the activation derivative σ′(z) is missing (eq. BP2)"),
        "the activation derivative σ′(z^l) is missing in the recursion (BP2)",
        priority=41,
    ),
    Mutation(
        "no_df",
        Bug(output_df="none", hidden_df="none"),
        _m(
            "the activation derivative σ′(z^L) is missing in δ^L (eq. BP1)",
            "the activation derivative σ′(z) is missing, here (eq. BP2) and in δ^L (eq. BP1)",
        ),
        "the activation derivative σ′ is missing everywhere (BP1 and BP2)",
        priority=42,
    ),
    Mutation(
        "hidden_zero",
        Bug(hidden_zero=True),
        _m(None, "is all zeros: the loop over the hidden layers does not fill it in (eq. BP2)"),
        "the gradients of the hidden layers are left at zero (BP2 loop)",
        priority=45,
    ),
    Mutation(
        "no_mean",
        Bug(mean=False),
        _everywhere(
            "is N times too large: the cost is an average, so divide by the batch size N",
        ),
        "the 1/N of the average cost is missing",
        batched_only=True,
        priority=46,
    ),
    Mutation(
        "sign",
        Bug(sign=-1.0),
        _everywhere(
            "the sign is flipped: the output error is ∇_a C = a^L − y, not y − a^L (eq. BP1)",
        ),
        "the sign of the output error is flipped: y − a^L instead of a^L − y (BP1)",
        priority=60,
    ),
    Mutation(
        "factor2",
        Bug(scale=2.0),
        _everywhere(
            "is twice the correct value: for C = ½|a^L − y|², ∇_a C = a^L − y has no factor 2 "
            "(eq. BP1)",
        ),
        "every gradient is 2 times too large (∇_a C = a^L − y has no factor 2, BP1)",
        priority=61,
    ),
    Mutation(
        "half",
        Bug(scale=0.5),
        _everywhere(
            "is half the correct value: ∇_a C = a^L − y has no factor ½ (eq. BP1)",
        ),
        "every gradient is half the correct value (∇_a C = a^L − y has no factor ½, BP1)",
        priority=62,
    ),
)

#: Extra factors tried on top of every mutation (a second, independent slip).
SCALES: tuple[tuple[float, str], ...] = (
    (1.0, ""),
    (-1.0, "; also the sign is flipped (∇_a C = a^L − y, not y − a^L)"),
    (2.0, "; also everything is 2 times too large"),
    (0.5, "; also everything is half the correct value"),
    (-2.0, "; also the sign is flipped and everything is 2 times too large"),
    (-0.5, "; also the sign is flipped and everything is half the correct value"),
)


def mutants(
    layout: Layout,
    weights: Sequence[Array],
    biases: Sequence[Array],
    x: Array,
    y: Array,
    hidden: Activation = SIGMOID,
    output: Activation = SIGMOID,
    *,
    activations: Sequence[Activation] | None = None,
    catalogue: Sequence[Mutation] = CATALOGUE,
) -> dict[str, tuple[list[Array], list[Array]] | None]:
    """``{key: (nabla_b, nabla_w)}`` of every applicable mutation of ``catalogue`` (default
    :data:`CATALOGUE`) on this network and example (``None`` where the bug cannot run, e.g.
    shapes that do not fit), plus the reference under the key ``'reference'``. ``hidden``,
    ``output``, ``activations``: as in :func:`backprop_variant`."""

    def run(bug: Bug) -> tuple[list[Array], list[Array]]:
        return backprop_variant(
            layout, weights, biases, x, y, bug, hidden, output, activations=activations
        )

    out: dict[str, tuple[list[Array], list[Array]] | None] = {"reference": run(Bug())}
    for m in catalogue:
        if m.batched_only and not layout.batched:
            continue
        try:
            out[m.key] = run(m.bug)
        except (ValueError, IndexError):
            out[m.key] = None
    return out


# --------------------------------------------------------------------------------------------
# Diagnosis
# --------------------------------------------------------------------------------------------


@dataclass
class ItemResult:
    """The verdict on one gradient of one network (over all its examples)."""

    item: Item
    correct: bool
    message: str
    error: float = 0.0
    shape_ok: bool = True
    cause: str | None = None


@dataclass
class NetworkData:
    """A network's examples: per example, the student's ``(nabla_b, nabla_w)`` (``None`` when
    that example gave no usable result) and the :func:`mutants` (with the reference)."""

    sizes: tuple[int, ...]
    student: list[tuple[list[Array], list[Array]] | None]
    mutants: list[dict[str, tuple[list[Array], list[Array]] | None]]
    items: list[Item] = field(default_factory=list)

    def __post_init__(self) -> None:
        L = len(self.sizes) - 1
        self.items = [
            Item(kind, layer, L, tuple(self.sizes))
            for layer in range(1, L + 1)
            for kind in ("b", "w")
        ]


def _get(pair: tuple[list[Array], list[Array]] | None, item: Item) -> Array | None:
    if pair is None:
        return None
    arrays = pair[0] if item.kind == "b" else pair[1]
    return arrays[item.layer - 1]


def _scaled(a: Array | None, c: float) -> Array | None:
    return None if a is None else a * c


def _scale_match(S: Sequence[Array], M: Sequence[Array | None]) -> float | None:
    """The factor of :data:`SCALES` with ``S ≈ c M`` on every example, or ``None``."""
    found = None
    for s, m in zip(S, M):
        if m is None:
            return None
        if s.shape != m.shape:
            if not (s.size == 1 and m.size == 1):
                return None
            s, m = s.ravel(), m.ravel()
        if all_zero(m):
            if not all_zero(s):
                return None
            continue  # 0 = c * 0 for any c
        c = best_scale(s, m)
        if c is None:
            return None
        near = [v for v, _ in SCALES if abs(c - v) <= 1e-6 * abs(v)]
        if not near or (found is not None and near[0] != found):
            return None
        found = near[0]
    if found is None and all(all_zero(s) for s in S):
        found = 1.0
    if found is None or not all(matches(s, _scaled(m, found)) for s, m in zip(S, M)):
        return None
    return found


class _Evidence:
    """For a mutation and a factor: does it explain *every* gradient the student returned, and
    which wrong gradients does it match? Computed on demand, cached."""

    def __init__(self, nets: Sequence[NetworkData]) -> None:
        self.nets = nets
        self.cache: dict[tuple[str, float], tuple[bool, frozenset]] = {}

    def __call__(self, key: str, c: float) -> tuple[bool, frozenset]:
        if (key, c) not in self.cache:
            self.cache[(key, c)] = self._compute(key, c)
        return self.cache[(key, c)]

    def _compute(self, key: str, c: float) -> tuple[bool, frozenset]:
        consistent = True
        explained = set()
        for k, net in enumerate(self.nets):
            for item in net.items:
                for stu, mut in zip(net.student, net.mutants):
                    if stu is None:
                        continue
                    s = _get(stu, item)
                    r = _get(mut["reference"], item)
                    m = _scaled(_get(mut.get(key), item), c)
                    if matches(s, m):
                        if not matches(s, r, TOL):
                            explained.add((k, item))
                    elif not (matches(m, r, TOL) and matches(s, r, TOL)):
                        consistent = False
        return consistent, frozenset(explained)


def diagnose(
    nets: Sequence[NetworkData],
    layout: Layout,
    complete: Callable[[], None] | None = None,
    *,
    catalogue: Sequence[Mutation] = CATALOGUE,
) -> tuple[list[list[ItemResult]], str]:
    """Judge every gradient of every network and explain the wrong ones.

    Parameters
    ----------
    nets
        The student's results and the mutants on each test network.
    layout
        The storage convention (for messages).
    complete
        Called once, before the mutations are consulted, when some gradient is wrong: lets
        the caller compute the mutants (into the dicts of ``nets[k].mutants``) only when they
        are needed. Without it, the mutants must be there already.
    catalogue
        The mutations tried (default :data:`CATALOGUE`; those marked ``batched_only`` only in
        a batched layout).

    Returns
    -------
    (results, summary)
        ``results[k]`` lists an :class:`ItemResult` per gradient of ``nets[k]`` (a gradient
        counts as correct only if it is correct on every example of that network; gradients of
        examples without a result count as wrong with an empty message, to be explained by the
        caller); ``summary`` is one sentence when a single mutation explains all the wrong
        gradients, else ``''``.
    """
    keys = [m for m in catalogue if layout.batched or not m.batched_only]
    first = [[_first_look(net, item) for item in net.items] for net in nets]
    pending = any(isinstance(r, tuple) for row in first for r in row)
    if pending and complete is not None:
        complete()
    evidence = _Evidence(nets)
    tried: set[tuple[str, float]] = set()
    results: list[list[ItemResult]] = []
    wrong: set[tuple[int, Item]] = set()
    for k, (net, row0) in enumerate(zip(nets, first)):
        row = []
        for item, r in zip(net.items, row0):
            if isinstance(r, tuple):
                r = _explain(net, item, r, keys, evidence, layout, tried)
            row.append(r)
            if not r.correct and all(s is not None for s in net.student):
                wrong.add((k, item))
        results.append(row)
    # hints that depend on the other gradients of the network
    for row in results:
        by_item = {r.item: r for r in row}
        for r in row:
            if not r.correct and r.message.startswith("wrong values"):
                r.message += _hint(r.item, by_item)

    summary = ""
    if wrong:  # gradients of networks without a result are the caller's to explain
        suffixes = dict(SCALES)
        full = [
            (c != 1.0, m.priority, m, c)
            for m in keys
            for c, _ in SCALES
            if (m.key, c) in tried and evidence(m.key, c) == (True, frozenset(wrong))
        ]
        if full:
            _, _, m, c = min(full, key=lambda t: t[:2])
            summary = m.summary + suffixes[c]
    return results, summary


def _first_look(net: NetworkData, item: Item) -> ItemResult | tuple:
    """The verdict when it needs no mutation (correct, no data, NaN), else what
    :func:`_explain` needs."""
    if any(s is None for s in net.student):
        return ItemResult(item, False, "", shape_ok=False)
    S = [_get(s, item) for s in net.student]
    R = [_get(m["reference"], item) for m in net.mutants]
    shape_ok = all(s.shape == r.shape for s, r in zip(S, R))
    errors = [relative_error(s, r) for s, r in zip(S, R)]
    worst = max(errors)
    if shape_ok and worst <= TOL:
        return ItemResult(item, True, "correct", worst, True)
    if not all(all_finite(s) for s in S):
        return ItemResult(item, False, "contains NaN or inf values", worst, shape_ok, "nonfinite")
    return S, R, errors, worst, shape_ok


def _explain(net, item, first, keys, evidence, layout, tried) -> ItemResult:
    S, R, errors, worst, shape_ok = first
    # known mutations, most convincing first
    suffixes = dict(SCALES)
    candidates = []
    for m in keys:
        c = _scale_match(S, [_get(mm.get(m.key), item) for mm in net.mutants])
        if c is None:
            continue
        tried.add((m.key, c))
        consistent, explained = evidence(m.key, c)
        candidates.append(((not consistent, -len(explained), c != 1.0, m.priority), m, c))
    for _rank, m, c in sorted(candidates, key=lambda t: t[0]):
        text = m.message(item, layout, R[0].shape)
        if text is not None:
            return ItemResult(item, False, text + suffixes[c], worst, shape_ok, m.key)

    # no known mutation: say what is known
    s, r = S[errors.index(worst)], R[errors.index(worst)]
    param = f"{layout.b_name if item.kind == 'b' else layout.w_name}[{item.layer - 1}]"
    if not shape_ok:
        bad = next(i for i, (a, b) in enumerate(zip(S, R)) if a.shape != b.shape)
        s, r = S[bad], R[bad]
        if s.size == r.size and matches(s.reshape(r.shape), r, TOL):
            text = (
                f"has the right values but shape {s.shape}; it must have the shape of "
                f"{param}, {r.shape}"
            )
        elif item.kind == "w" and s.shape == r.T.shape:
            text = (
                f"has shape {s.shape}, the transpose of {param}'s {r.shape} (∂C/∂w^l = "
                f"{layout.bp4}, eq. BP4), and its values are wrong as well"
            )
        else:
            text = f"has shape {s.shape} but {param} has shape {r.shape}"
        return ItemResult(item, False, text, worst, False, "shape")
    if all(all_zero(a) for a in S):
        return ItemResult(item, False, "is all zeros", worst, True, "zeros")
    c = best_scale(s, r)
    if c is not None and all(matches(a, b * c) for a, b in zip(S, R)):
        return ItemResult(item, False, f"is {c:.3g} times the correct value", worst, True, "scaled")
    return ItemResult(
        item,
        False,
        f"wrong values (relative error {worst:.2g}); shapes are right",
        worst,
        True,
        None,
    )


def _hint(item: Item, by_item: dict[Item, ItemResult]) -> str:
    """Where to look, from which other gradients of the same network are right."""
    if not item.output and not all(r.correct for it, r in by_item.items() if it.output):
        return "; the output layer is wrong too: fix δ^L first (eq. BP1)"
    l = "L" if item.output else "l"
    same_b = by_item.get(replace(item, kind="b"))
    if item.kind == "w" and same_b is not None and same_b.correct:
        return f"; ∂C/∂b is right here, so δ^{l} is right: look at ∂C/∂w (eq. BP4)"
    same_w = by_item.get(replace(item, kind="w"))
    if item.kind == "b" and same_w is not None and same_w.correct:
        return f"; ∂C/∂w is right here, so δ^{l} is right: ∂C/∂b^{l} = δ^{l} (eq. BP3)"
    if item.output:
        return "; look at δ^L = ∇_a C ⊙ σ′(z^L) (eq. BP1)"
    return "; the output layer is correct, so look at the recursion (eq. BP2)"
