"""The Network: construction, forward pass, prediction, weights, and learning real problems."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch import Network
from nnscratch.activations import ACTIVATIONS, get


def test_shapes_and_initialisations():
    for init, w_std in [
        ("nielsen", 1 / 20),
        ("glorot", np.sqrt(2 / 430)),
        ("he", np.sqrt(2 / 400)),
        ("normal", 1.0),
    ]:
        net = Network([400, 30, 10], init=init, seed=0)
        assert [W.shape for W in net.W] == [(400, 30), (30, 10)]
        assert [b.shape for b in net.b] == [(30,), (10,)]
        assert net.W[0].std() == pytest.approx(w_std, rel=0.05)
        assert (net.b[0] == 0).all() == (init in ("glorot", "he"))
    assert Network([3, 4, 2]).n_params == 3 * 4 + 4 + 4 * 2 + 2


def test_seed_reproduces_weights():
    a, b, c = (Network([5, 4, 3], seed=s) for s in (7, 7, 8))
    assert all(np.array_equal(x, y) for x, y in zip(a.W, b.W))
    assert not np.array_equal(a.W[0], c.W[0])


def test_feedforward_matches_the_equations():
    net = Network([3, 4, 2], activation="tanh", loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).standard_normal((5, 3))
    a1 = np.tanh(X @ net.W[0] + net.b[0])
    z2 = a1 @ net.W[1] + net.b[1]
    expected = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.feedforward(X), expected, rtol=1e-12)
    zs, acts = net.forward(X)
    np.testing.assert_allclose(acts[1], a1)
    np.testing.assert_allclose(zs[-1], z2)


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"softmax"}))
def test_activation_derivatives(name):
    f = get(name)
    z = np.linspace(-3, 3, 61) + 1e-3  # avoid the kink at exactly 0
    h = 1e-6
    numeric = (f.f(z + h) - f.f(z - h)) / (2 * h)
    np.testing.assert_allclose(f.df(z, f.f(z)), numeric, rtol=1e-6, atol=1e-8)


def test_sigmoid_and_softmax_do_not_overflow():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = get("softmax")(z)
        sig = get("sigmoid")(z)
    np.testing.assert_allclose(s, [[0, 0, 1]], atol=1e-300)
    np.testing.assert_allclose(sig, [[0, 0.5, 1]])


def test_predict_predict_proba_and_score():
    net = Network([2, 3, 3], loss="cross_entropy", seed=0)
    X = np.random.default_rng(0).standard_normal((10, 2))
    p = net.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_array_equal(net.predict(X), p.argmax(axis=1))
    y = net.predict(X)
    assert net.score(X, y) == 1.0
    assert net.score(X, np.eye(3)[y]) == 1.0  # one-hot targets work too
    binary = Network([2, 1], loss="binary_cross_entropy", seed=0)
    assert binary.predict_proba(X).shape == (10, 2)
    assert set(binary.predict(X)) <= {0, 1}
    perceptron = Network([2, 1], loss="perceptron", seed=0)
    assert perceptron.task == "classification"
    np.testing.assert_array_equal(perceptron.predict(X), (perceptron.feedforward(X)[:, 0] > 0))
    reg = Network([2, 5, 1], loss="quadratic", output="identity", seed=0)
    assert reg.task == "regression" and reg.predict(X).shape == (10, 1)
    with pytest.raises(ValueError, match="classification"):
        reg.predict_proba(X)


def test_weights_are_settable_for_pruning():
    net = Network([4, 3, 2], seed=0)
    W, b = net.get_weights()
    W[0][:, 0] = 0.0
    net.set_weights(W, b)
    assert (net.W[0][:, 0] == 0).all()
    W[0][:] = 1.0  # a copy was taken
    assert not (net.W[0] == 1).all()
    net.W[1][0, 0] = 0.0  # and W is plainly mutable for inspection
    assert net.feedforward(np.ones((1, 4))).shape == (1, 2)


def test_xor_learned_to_100_percent():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = Network([2, 4, 1], activation="tanh", loss="binary_cross_entropy", seed=0)
    history = net.fit(X, y, epochs=2000, batch_size=4, eta=0.5, seed=0)
    assert net.score(X, y) == 1.0
    assert history.loss[-1] < 0.05 < history.loss[0]


def test_xor_with_nielsens_sigmoid_and_quadratic_cost():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = Network([2, 4, 1], seed=2)
    net.fit(X, y, epochs=3000, batch_size=1, eta=3.0, seed=0)
    assert net.score(X, y) == 1.0


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.2, random_state=0, stratify=y)


def test_digits_at_least_95_percent_with_one_hidden_layer():
    X_train, X_test, y_train, y_test = _digits()
    net = Network([64, 30, 10], activation="sigmoid", loss="cross_entropy", seed=0)
    history = net.fit(
        X_train,
        y_train,
        epochs=30,
        batch_size=10,
        eta=0.5,
        seed=0,
        validation_data=(X_test, y_test),
    )
    accuracy = net.score(X_test, y_test)
    assert accuracy >= 0.95, accuracy
    assert history.val_accuracy[-1] == accuracy
    assert len(history.loss) == 30


def test_digits_with_relu_adam_and_l2():
    X_train, X_test, y_train, y_test = _digits()
    net = Network([64, 64, 10], activation="relu", loss="cross_entropy", init="he", seed=0)
    net.fit(
        X_train, y_train, epochs=20, batch_size=32, optimizer="adam", eta=3e-3, lmbda=1.0, seed=0
    )
    assert net.score(X_test, y_test) >= 0.95


def test_sigmoid_is_expit_without_scipy():
    """The NumPy sigmoid (tanh form) agrees with scipy's expit to a few 1e-16, absolutely."""
    from scipy.special import expit

    from nnscratch.activations import sigmoid

    rng = np.random.default_rng(0)
    z = np.concatenate([np.linspace(-800, 800, 20001), rng.normal(0, 5, 20000)])
    with np.errstate(all="raise"):  # no overflow or underflow, however large |z|
        s = sigmoid(z)
    np.testing.assert_allclose(s, expit(z), rtol=0, atol=3e-16)
    np.testing.assert_allclose(s[np.abs(z) < 5], expit(z[np.abs(z) < 5]), rtol=1e-14)
    assert s.min() == 0.0 and s.max() == 1.0 and np.all(np.diff(s[:20001]) >= 0)
    z32 = z.astype(np.float32)
    s32 = sigmoid(z32)
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32, expit(z32), rtol=0, atol=2e-7)
    assert sigmoid(0.0) == 0.5 and isinstance(sigmoid(0.0), np.floating)
    np.testing.assert_allclose(sigmoid([0, 1]), expit(np.array([0.0, 1.0])), rtol=1e-15)
    z2 = rng.normal(size=(3, 4))
    out = sigmoid(z2)
    assert out.shape == (3, 4) and out is not z2
