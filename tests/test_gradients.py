"""Backpropagation against centred finite differences, for every activation and output/loss pair
at depths 1 to 4 (the TensorFlow autodiff comparison lives in test_keras.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnscratch import Network, gradcheck
from nnscratch.activations import HIDDEN

# (loss, output activation) pairs the Network supports
PAIRS = [
    ("quadratic", "sigmoid"),
    ("quadratic", "identity"),
    ("quadratic", "tanh"),
    ("quadratic", "softmax"),
    ("quadratic", "elu"),
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
    ("perceptron", "identity"),
]
TOL = 1e-7


def _problem(loss: str, depth: int, activation: str, seed: int = 0):
    n_out = 1 if loss == "perceptron" else 3
    sizes = [4] + [5] * (depth - 1) + [n_out]
    rng = np.random.default_rng(seed)
    # an odd batch: with perceptron loss and linear layers, an even number of misclassified
    # points with opposite targets can make a gradient exactly 0, where a relative error means
    # nothing (finite differences return rounding noise there)
    n = 7
    X = rng.standard_normal((n, 4))
    if loss in ("cross_entropy", "quadratic") and n_out > 1:
        y = rng.integers(0, n_out, n)
    elif loss == "binary_cross_entropy":
        y = rng.random((n, n_out))  # soft targets exercise the general formula
    else:
        y = rng.choice([-1.0, 1.0], n)
    return sizes, X, y


# depth 1 has no hidden layer, so the hidden activation plays no role there
CASES = [
    (loss, output, activation, depth)
    for loss, output in PAIRS
    for depth in (1, 2, 3, 4)
    for activation in (HIDDEN if depth > 1 else ("sigmoid",))
]


@pytest.mark.parametrize(("loss", "output", "activation", "depth"), CASES)
def test_backprop_matches_finite_differences(loss, output, activation, depth):
    sizes, X, y = _problem(loss, depth, activation, seed=depth)
    net = Network(sizes, activation=activation, output=output, loss=loss, init="glorot", seed=depth)
    for b in net.b:  # non-zero biases so that every term of the gradient is exercised
        b += 0.1 * np.arange(b.size)
    # h = 1e-5 (the default) balances truncation O(h^2) against rounding eps*C/h: with h = 1e-6
    # rounding reaches ~9e-8 on the small first-layer gradients of 4-layer sigmoid nets, while
    # the worst case here at h = 1e-5 is ~1.4e-8
    errors = gradcheck.check_gradients(net, X, y)
    assert set(errors) == {f"{p}[{l}]" for l in range(depth) for p in "Wb"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: relative error {errors[worst]:.2e}"


def test_gradient_check_detects_a_wrong_backprop(monkeypatch):
    """The check above can fail: drop sigma'(z) in one layer and it must notice."""
    sizes, X, y = _problem("quadratic", 3, "sigmoid")
    net = Network(sizes, seed=0)
    good = net._backprop

    def buggy(X, Y):
        nabla_W, nabla_b = good(X, Y)
        nabla_W[0] = -nabla_W[0]
        return nabla_W, nabla_b

    monkeypatch.setattr(net, "_backprop", buggy)
    errors = gradcheck.check_gradients(net, X, y)
    assert errors["W[0]"] > 0.5
    assert errors["W[1]"] < TOL


def test_per_layer_activations_and_mixed_depths():
    net = Network([3, 4, 5, 2], activation=["relu", "tanh"], loss="cross_entropy", seed=3)
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    assert max(gradcheck.check_gradients(net, X, y).values()) < TOL
    assert [a.name for a in net.hidden] == ["relu", "tanh"]


def test_gradients_are_batch_averages():
    """The gradient of the batch is the mean of the per-sample gradients."""
    net = Network([3, 4, 2], loss="cross_entropy", seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    gW, gb = net.backprop(X, y)
    per = [net.backprop(X[i : i + 1], y[i : i + 1]) for i in range(8)]
    for l in range(2):
        np.testing.assert_allclose(gW[l], np.mean([p[0][l] for p in per], axis=0), atol=1e-14)
        np.testing.assert_allclose(gb[l], np.mean([p[1][l] for p in per], axis=0), atol=1e-14)


def test_float32_backprop_agrees_with_float64():
    net64 = Network([6, 5, 3], loss="cross_entropy", seed=1)
    net32 = Network([6, 5, 3], loss="cross_entropy", seed=1, dtype=np.float32)
    net32.set_weights(*net64.get_weights())
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    g64, g32 = net64.backprop(X, y), net32.backprop(X, y)
    for a, b in itertools.chain(zip(g64[0], g32[0]), zip(g64[1], g32[1])):
        assert b.dtype == np.float32
        assert gradcheck.relative_error(a, b) < 1e-5


def test_relative_error_and_numerical_gradient():
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)
    with pytest.raises(ValueError, match="shapes"):
        gradcheck.relative_error(np.zeros(3), np.zeros(4))
    p = np.array([1.0, 2.0, 3.0])
    g = gradcheck.numerical_gradient(lambda: float(np.sum(p**3)), p)
    np.testing.assert_allclose(g, 3 * np.array([1.0, 2.0, 3.0]) ** 2, rtol=1e-8)
    np.testing.assert_array_equal(p, [1.0, 2.0, 3.0])  # restored


def test_cross_entropy_is_stable_for_huge_logits():
    net = Network([2, 3], loss="cross_entropy", seed=0)
    net.W[0][:] = 1e4 * np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    c = net.cost(X, [1, 2])
    assert np.isfinite(c) and c > 1e3  # confidently wrong: large but finite
    gW, gb = net.backprop(X, [1, 2])
    assert all(np.isfinite(g).all() for g in gW + gb)
    net2 = Network([2, 1], loss="binary_cross_entropy", seed=0)
    net2.W[0][:] = 1e4
    assert np.isfinite(net2.cost(X, [0, 0]))
