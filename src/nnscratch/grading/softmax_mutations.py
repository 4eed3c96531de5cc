r"""Softmax output with the log-likelihood cost: references, typical mistakes, a diagnosis.

Two things are graded in ps4-softmax-ising, and both are compared here with known wrong versions:

* ``log_softmax(z)`` over the last axis, :math:`\ln a_j = z_j - \ln\sum_k e^{z_k}` (eq.
  ``softmax``, evaluated with the maximum :math:`m = \max_k z_k` taken out of the sum so that
  nothing overflows): :func:`reference_log_softmax` and :data:`LOG_SOFTMAX_MISTAKES`;
* ``backprop(X, T, W1, b1, W2, b2)`` of a network with one sigmoid hidden layer and a softmax
  output, one sample per row (``Z1 = X @ W1 + b1``, ``A1 = σ(Z1)``, ``Z2 = A1 @ W2 + b2``,
  ``A2 = softmax(Z2)``) and the batch-averaged log-likelihood cost (eq. ``log-likelihood``):

  .. math::
      \Delta^2 = (A^2 - T)/N \ (\text{eq. } \texttt{delta-softmax-ce}), \quad
      \Delta^1 = (\Delta^2 (W^2)^T) \odot \sigma'(Z^1) \ (\texttt{bp2}),

  ``dW2 = A1.T @ Δ2``, ``db2 = Δ2`` summed over the rows, ``dW1 = X.T @ Δ1``, ``db1 = Δ1``
  summed (eqs. ``bp3``/``bp4``). :func:`backprop_variant` plants the mistakes of a
  :class:`SoftmaxBug`; :data:`CATALOGUE` names them and :func:`diagnose` finds the one that
  explains a student's gradients.

Everything uses only the grader's private numpy (:mod:`._pristine`), float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._pristine import BUILTINS, np
from .compare import TOL, all_finite, best_scale, matches, relative_error

Array = np.ndarray

__all__ = [
    "CATALOGUE",
    "GRADIENT_NAMES",
    "LOG_SOFTMAX_MISTAKES",
    "SoftmaxBug",
    "SoftmaxMutation",
    "backprop_variant",
    "diagnose",
    "diagnose_log_softmax",
    "reference_backprop",
    "reference_log_softmax",
    "sigmoid",
    "softmax",
]

__builtins__ = BUILTINS  # the grader's private builtins (see _pristine)

#: The four gradients ``backprop`` returns, in order.
GRADIENT_NAMES: tuple[str, ...] = ("dW1", "db1", "dW2", "db2")


# --------------------------------------------------------------------------------------------
# log-softmax
# --------------------------------------------------------------------------------------------


def _lse(z: Array, axis=-1) -> Array:
    """``ln Σ exp(z)`` over ``axis`` (keepdims), shifted by the maximum (no overflow)."""
    m = np.maximum.reduce(z, axis=axis, keepdims=True)
    return m + np.log(np.add.reduce(np.exp(z - m), axis=axis, keepdims=True))


def reference_log_softmax(z: Array) -> Array:
    """``ln softmax(z)`` over the last axis of ``z`` (any shape with at least one axis), stable
    for any finite ``z`` (eq. ``softmax`` with the maximum taken out)."""
    z = np.asarray(z, dtype=np.float64)
    return z - _lse(z)


def softmax(z: Array) -> Array:
    """Softmax over the last axis (eq. ``softmax``), stable."""
    return np.exp(reference_log_softmax(z))


def _whole(z: Array) -> Array:
    """Normalised over the whole array instead of each row."""
    m = np.maximum.reduce(z.ravel())
    return z - (m + np.log(np.add.reduce(np.exp(z - m).ravel())))


def _columns(z: Array) -> Array:
    return z - _lse(z, axis=0)


def _divide(z: Array) -> Array:
    return z / _lse(z)


def _no_add_back(z: Array) -> Array:
    m = np.maximum.reduce(z, axis=-1, keepdims=True)
    return z - np.log(np.add.reduce(np.exp(z - m), axis=-1, keepdims=True))


@dataclass(frozen=True)
class LogSoftmaxMistake:
    """A wrong ``log_softmax``: ``f(z)`` and the sentence that explains it."""

    key: str
    f: Callable[[Array], Array]
    message: str
    batch_only: bool = False


LOG_SOFTMAX_MISTAKES: tuple[LogSoftmaxMistake, ...] = (
    LogSoftmaxMistake(
        "divide",
        _divide,
        "it divides by logsumexp(z) instead of subtracting it: the log of a quotient is a "
        "difference, ln a_j = z_j − ln Σ_k e^{z_k} (eq. softmax)",
    ),
    LogSoftmaxMistake(
        "probabilities",
        softmax,
        "it returns the softmax probabilities a_j themselves, not their logarithm ln a_j",
    ),
    LogSoftmaxMistake(
        "sign",
        lambda z: -reference_log_softmax(z),
        "the sign is flipped: ln a_j = z_j − logsumexp(z) is ≤ 0, you return logsumexp(z) − z_j",
    ),
    LogSoftmaxMistake(
        "no_add_back",
        _no_add_back,
        "every value is too large by the row maximum m = max_k z_k: after the shift, "
        "logsumexp(z) = m + ln Σ_k e^{z_k − m}, so the m must be added back (or subtract "
        "it from z as well)",
    ),
    LogSoftmaxMistake(
        "columns",
        _columns,
        "each column is normalised instead of each row: the sum (and the maximum) run over "
        "the classes, the last axis (axis=-1, keepdims=True), not over the samples",
        batch_only=True,
    ),
    LogSoftmaxMistake(
        "whole",
        _whole,
        "the whole array is normalised at once instead of each row: sum over the last axis "
        "(axis=-1, keepdims=True) so that every row (sample) is a distribution",
        batch_only=True,
    ),
)


def diagnose_log_softmax(z: Array, got: Array) -> str | None:
    """The sentence of the :data:`LOG_SOFTMAX_MISTAKES` entry whose output on ``z`` equals
    ``got`` (``None`` when none does). ``z`` should hold moderate values (no overflow)."""
    z = np.asarray(z, dtype=np.float64)
    for mistake in LOG_SOFTMAX_MISTAKES:
        if mistake.batch_only and (z.ndim < 2 or z.shape[0] < 2):
            continue
        with np.errstate(all="ignore"):
            want = mistake.f(z)
        if got.shape == want.shape and matches(got, want):
            return mistake.message
    return None


# --------------------------------------------------------------------------------------------
# backprop with a softmax output
# --------------------------------------------------------------------------------------------


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^{-z}) without overflow warnings."""
    return np.exp(-np.logaddexp(0.0, -z))


def _sigmoid_prime(z: Array) -> Array:
    s = sigmoid(z)
    return s * (1.0 - s)


@dataclass(frozen=True)
class SoftmaxBug:
    """A combination of mistakes (default: none, the reference).

    Attributes
    ----------
    output : {'ok', 'no_t', 'sign', 'sigma_prime', 'softmax_diag', 'logits', 'sigmoid'}
        The output error: ``A2 - T`` (right); ``A2`` (``T`` not subtracted); ``T - A2``;
        ``(A2 - T) ⊙ σ′(Z2)`` (eq. ``bp1`` of the quadratic cost with sigmoids, out of habit);
        ``(A2 - T) ⊙ A2 (1 - A2)`` (the diagonal of the softmax Jacobian kept); ``Z2 - T`` (no
        softmax at all); ``σ(Z2) - T`` (sigmoid instead of softmax).
    mean : {'ok', 'none', 'twice'}
        ``1/N``: once (right), missing, or applied twice (e.g. ``mean`` of ``Δ`` after dividing).
    hidden_df : {'z', 'a', 'none'}
        ``σ′(Z1)`` (right), ``σ′(A1)``, or missing in eq. ``bp2``.
    hidden_w : {'T', 'no_T'}
        ``Δ2 @ W2.T`` (right) or ``Δ2 @ W2`` (square ``W2`` only).
    grad_w : {'ok', 'transposed'}
        ``A.T @ Δ`` (right) or its transpose.
    grad_b : {'ok', 'unsummed', 'mean'}
        ``Δ`` summed over the rows (right), not summed (one row per sample), or averaged
        (a second ``1/N``).
    """

    output: str = "ok"
    mean: str = "ok"
    hidden_df: str = "z"
    hidden_w: str = "T"
    grad_w: str = "ok"
    grad_b: str = "ok"


def _forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    A1 = sigmoid(Z1)
    Z2 = A1 @ W2 + b2
    return Z1, A1, Z2, softmax(Z2)


def backprop_variant(
    X: Array, T: Array, W1: Array, b1: Array, W2: Array, b2: Array, bug: SoftmaxBug = SoftmaxBug()
) -> tuple[Array, Array, Array, Array]:
    """``(dW1, db1, dW2, db2)`` of the batch-averaged log-likelihood cost with the mistakes of
    ``bug`` planted (eqs. ``delta-softmax-ce``, ``bp2``-``bp4``). Shapes: ``X`` ``(N, n_in)``,
    ``T`` ``(N, n_out)`` one-hot, ``W1`` ``(n_in, n_h)``, ``b1`` ``(n_h,)``, ``W2``
    ``(n_h, n_out)``, ``b2`` ``(n_out,)``.

    Raises
    ------
    ValueError
        When the bug cannot run on these shapes (callers treat it as not applicable).
    """
    N = X.shape[0]
    with np.errstate(all="ignore"):
        Z1, A1, Z2, A2 = _forward(X, W1, b1, W2, b2)
        error = {
            "ok": lambda: A2 - T,
            "no_t": lambda: A2.copy(),
            "sign": lambda: T - A2,
            "sigma_prime": lambda: (A2 - T) * _sigmoid_prime(Z2),
            "softmax_diag": lambda: (A2 - T) * A2 * (1.0 - A2),
            "logits": lambda: Z2 - T,
            "sigmoid": lambda: sigmoid(Z2) - T,
        }[bug.output]()
        factor = {"ok": 1.0 / N, "none": 1.0, "twice": 1.0 / (N * N)}[bug.mean]
        D2 = error * factor
        if bug.hidden_w == "T":
            back = D2 @ W2.T
        else:
            if W2.shape[0] != W2.shape[1]:
                raise ValueError("W2 is not square")
            back = D2 @ W2
        df = {"z": lambda: _sigmoid_prime(Z1), "a": lambda: _sigmoid_prime(A1),
              "none": lambda: 1.0}[bug.hidden_df]()
        D1 = back * df
        out = []
        for A, D in ((X, D1), (A1, D2)):
            gw = A.T @ D
            if bug.grad_w == "transposed":
                gw = gw.T
            if bug.grad_b == "unsummed":
                gb = D.copy()
            else:
                gb = np.add.reduce(D, axis=0)
                if bug.grad_b == "mean":
                    gb = gb / N
            out += [np.asarray(gw, dtype=np.float64), np.asarray(gb, dtype=np.float64)]
    return out[0], out[1], out[2], out[3]


def reference_backprop(
    X: Array, T: Array, W1: Array, b1: Array, W2: Array, b2: Array
) -> tuple[Array, Array, Array, Array]:
    """The correct ``(dW1, db1, dW2, db2)`` (see :func:`backprop_variant`), float64."""
    args = [np.asarray(a, dtype=np.float64) for a in (X, T, W1, b1, W2, b2)]
    return backprop_variant(*args)


@dataclass(frozen=True)
class SoftmaxMutation:
    """A named bug: ``messages[name]`` explains the gradient ``name`` it makes wrong;
    ``summary`` is the one-line diagnosis when it explains all of them."""

    key: str
    bug: SoftmaxBug
    summary: str
    messages: dict
    priority: int = 50


_OUT = "δ^L = (a^L − t)/N, eq. delta-softmax-ce"
_INHERIT = "wrong only because the output error Δ2 is wrong: BP2 carries it back here"


def _out(text: str) -> dict:
    return {"dW2": text, "db2": text, "dW1": _INHERIT, "db1": _INHERIT}


def _output_error(key: str, output: str, summary: str, text: str, priority: int):
    """A mistake in the output error Δ2 (:class:`SoftmaxBug` ``output``): ``summary`` and
    ``text`` (for dW2 and db2; dW1 and db1 inherit it) end with the reference to eq.
    ``delta-softmax-ce``."""
    return SoftmaxMutation(
        key, SoftmaxBug(output=output), f"{summary} ({_OUT})", _out(f"{text} ({_OUT})"), priority
    )


def _texts(names: Sequence[str], text: str) -> dict[str, str]:
    return dict.fromkeys(names, text)


CATALOGUE: tuple[SoftmaxMutation, ...] = (
    _output_error(
        "no_t", "no_t",
        "the target t is not subtracted: the output error is Δ2 = (A2 − T)/N, not A2/N",
        "the target is not subtracted: Δ2 = (A2 − T)/N", 10),
    _output_error(
        "sigma_prime", "sigma_prime",
        "the output error has a factor σ′(Z2), as in BP1 for the quadratic cost: with a "
        "softmax output and the log-likelihood cost there is none, Δ2 = (A2 − T)/N",
        "the factor σ′(Z2) must not appear in the output error", 11),
    _output_error(
        "softmax_diag", "softmax_diag",
        "the output error has a factor A2(1 − A2), the diagonal of the softmax Jacobian: with "
        "the log-likelihood cost the whole Jacobian cancels, Δ2 = (A2 − T)/N",
        "the factor A2(1 − A2) must not appear in the output error", 12),
    _output_error(
        "logits", "logits",
        "the softmax is missing: the output error uses Z2 − T instead of A2 − T",
        "uses the weighted input Z2 instead of the softmax output A2", 12),
    _output_error(
        "sigmoid_output", "sigmoid",
        "the output activation is a sigmoid instead of the softmax: A2 = softmax(Z2), each "
        "row normalised",
        "σ(Z2) is used for the output instead of softmax(Z2)", 13),
    _output_error(
        "sign", "sign",
        "the sign of the output error is flipped: T − A2 instead of A2 − T",
        "the sign is flipped: Δ2 = (A2 − T)/N, not (T − A2)/N", 14),
    SoftmaxMutation(
        "no_mean", SoftmaxBug(mean="none"),
        "the 1/N of the average cost is missing: every gradient is N times too large",
        _texts(GRADIENT_NAMES,
               "is N times too large: the cost is an average over the batch, divide by N"), 20),
    SoftmaxMutation(
        "mean_twice", SoftmaxBug(mean="twice"),
        "the 1/N is applied twice: every gradient is N times too small",
        _texts(GRADIENT_NAMES, "is N times too small: divide by the batch size N once"), 21),
    SoftmaxMutation(
        "bias_mean", SoftmaxBug(grad_b="mean"),
        "∂C/∂b is averaged over the batch although Δ already holds the 1/N: sum Δ over the "
        "rows (eq. BP3)",
        _texts(("db1", "db2"), "is N times too small: Δ already holds the 1/N, so sum it over "
               "the rows (eq. BP3)"), 22),
    SoftmaxMutation(
        "bias_unsummed", SoftmaxBug(grad_b="unsummed"),
        "∂C/∂b is not summed over the batch: one row per sample instead of Δ summed over "
        "the rows (eq. BP3)",
        _texts(("db1", "db2"), "is Δ for every sample; ∂C/∂b sums Δ over the rows (axis=0) "
               "(eq. BP3)"), 23),
    SoftmaxMutation(
        "no_df_hidden", SoftmaxBug(hidden_df="none"),
        "the derivative σ′(Z1) of the hidden layer is missing in the recursion (BP2)",
        _texts(("dW1", "db1"), "σ′(Z1) is missing: Δ1 = (Δ2 W2ᵀ) ⊙ σ′(Z1) (eq. BP2)"), 30),
    SoftmaxMutation(
        "df_of_a_hidden", SoftmaxBug(hidden_df="a"),
        "σ′ is applied to the activation A1 instead of the weighted input Z1 (BP2)",
        _texts(("dW1", "db1"), "uses σ′(A1) instead of σ′(Z1): Δ1 = (Δ2 W2ᵀ) ⊙ σ′(Z1) (eq. BP2)"),
        31),
    SoftmaxMutation(
        "no_transpose", SoftmaxBug(hidden_w="no_T"),
        "the recursion multiplies by W2 instead of its transpose: Δ1 = (Δ2 W2ᵀ) ⊙ σ′(Z1) (BP2)",
        _texts(("dW1", "db1"), "Δ2 @ W2 is used instead of Δ2 @ W2.T (eq. BP2)"), 32),
    SoftmaxMutation(
        "transposed_w", SoftmaxBug(grad_w="transposed"),
        "the weight gradients are transposed: ∂C/∂W = Aᵀ Δ has the shape of W (BP4)",
        {"dW1": "is transposed: dW1 = X.T @ Δ1 has the shape of W1 (eq. BP4)",
         "dW2": "is transposed: dW2 = A1.T @ Δ2 has the shape of W2 (eq. BP4)"}, 33),
)

#: Extra factors tried on top of every mutation, and what they add to its message.
SCALES: tuple[tuple[float, str], ...] = (
    (1.0, ""),
    (-1.0, "; also the sign is flipped"),
    (2.0, "; also everything is 2 times too large"),
    (0.5, "; also everything is half the correct value"),
)


@dataclass
class GradientResult:
    """The verdict on one gradient (``name`` of :data:`GRADIENT_NAMES`) over all cases."""

    name: str
    correct: bool
    shape_ok: bool
    message: str
    cause: str | None = None


def _mutant_grads(case_args: Sequence[Array], bug: SoftmaxBug):
    try:
        return backprop_variant(*case_args, bug=bug)
    except (ValueError, IndexError):
        return None


def diagnose(
    cases: Sequence[Sequence[Array]], student: Sequence[Sequence[Array]]
) -> tuple[list[GradientResult], str]:
    """Judge the four gradients over all ``cases`` (each the arguments ``(X, T, W1, b1, W2,
    b2)``, float64) given the student's ``(dW1, db1, dW2, db2)`` for each case.

    Returns the verdict per gradient and a one-line summary when one mutation (possibly with a
    stray factor of :data:`SCALES`) explains every wrong gradient (``''`` otherwise).
    """
    refs = [reference_backprop(*c) for c in cases]
    results: list[GradientResult] = []
    wrong: list[int] = []
    for k, name in enumerate(GRADIENT_NAMES):
        S = [s[k] for s in student]
        R = [r[k] for r in refs]
        shape_ok = all(s.shape == r.shape for s, r in zip(S, R))
        if shape_ok and all(relative_error(s, r) <= TOL for s, r in zip(S, R)):
            results.append(GradientResult(name, True, True, "correct"))
            continue
        wrong.append(k)
        if not all(all_finite(s) for s in S):
            results.append(GradientResult(name, False, shape_ok, "contains NaN or inf", "nan"))
        else:
            results.append(GradientResult(name, False, shape_ok, "", None))
    if not wrong:
        return results, ""
    # each mutation (with a factor): which gradients it reproduces, and whether it explains all
    table = []
    for m in CATALOGUE:
        grads = [_mutant_grads(c, m.bug) for c in cases]
        if any(g is None for g in grads):
            continue
        for c, suffix in SCALES:
            same = []
            for k in range(4):
                S = [s[k] for s in student]
                M = [g[k] * c for g in grads]
                same.append(all(s.shape == mm.shape and matches(s, mm) for s, mm in zip(S, M)))
            explains_all = all(same)
            table.append((not explains_all, c != 1.0, m.priority, m, c, suffix, same))
    table.sort(key=lambda t: t[:3])
    summary = ""
    if table and table[0][0] is False:
        _, _, _, m, _c, suffix, _ = table[0]
        summary = m.summary + suffix
    for k in wrong:
        r = results[k]
        if r.cause == "nan":
            continue
        for _bad, _scaled, _p, m, _c, suffix, same in table:
            if same[k] and r.name in m.messages:
                r.message, r.cause = m.messages[r.name] + suffix, m.key
                break
        else:
            r.message, r.cause = _plain(r.name, [s[k] for s in student],
                                        [ref[k] for ref in refs]), None
    for k in wrong:  # where to look, from the other gradients
        r = results[k]
        if r.cause is None and r.message.startswith("wrong values"):
            out_ok = results[2].correct and results[3].correct
            if r.name in ("dW1", "db1") and out_ok:
                r.message += "; the output layer is right, so look at the recursion (eq. BP2)"
            elif r.name in ("dW2", "db2"):
                r.message += f"; look at the output error ({_OUT})"
            else:
                r.message += "; the output layer is wrong too: fix Δ2 first"
    return results, summary


def _plain(name: str, S: Sequence[Array], R: Sequence[Array]) -> str:
    """What can be said about a wrong gradient that no mutation explains."""
    for s, r in zip(S, R):
        if s.shape != r.shape:
            if s.size == r.size and matches(s.reshape(r.shape), r, TOL):
                return f"has the right values but shape {s.shape}; expected {r.shape}"
            if name.startswith("dW") and s.shape == r.T.shape:
                return (f"has shape {s.shape}, the transpose of the expected {r.shape}, and its "
                        "values are wrong as well")
            return f"has shape {s.shape}, expected {r.shape}"
    c = best_scale(S[0], R[0])
    if c is not None and all(matches(s, r * c) for s, r in zip(S, R)):
        return f"is {c:.3g} times the correct value"
    worst = max(relative_error(s, r) for s, r in zip(S, R))
    return f"wrong values (relative error {worst:.2g}); shapes are right"
