"""Inverted dropout: the forward pass in training and at prediction, its backprop against finite
differences with fixed masks, the training loop's use of it, and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch import Network, gradcheck, train
from nnscratch.activations import HIDDEN

TOL = 1e-7


def _problem(loss="cross_entropy", n=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4))
    y = rng.integers(0, 3, n) if loss == "cross_entropy" else rng.random((n, 3))
    return X, y


def _net(activation="sigmoid", dropout=0.5, loss="cross_entropy", **kw):
    net = Network(
        [4, 6, 5, 3], activation=activation, loss=loss, dropout=dropout, init="glorot", seed=1, **kw
    )
    for b in net.b:  # non-zero biases, away from the kink of ReLUs at z = 0
        b += 0.1 * (np.arange(b.size) + 1)
    return net


def test_dropout_arguments():
    net = Network([4, 6, 5, 3], dropout=0.25)
    assert net.dropout == (0.25, 0.25) and net.has_training_mode
    assert "dropout=0.25" in repr(net)
    assert Network([4, 6, 5, 3], dropout=[0.5, 0.0]).dropout == (0.5, 0.0)
    plain = Network([4, 6, 3])
    assert plain.dropout == (0.0,) and not plain.has_training_mode
    for bad, message in [
        (1.0, r"\[0, 1\)"),
        (-0.1, r"\[0, 1\)"),
        ([0.5], "one probability per hidden layer: 2 expected"),
        ("half", "probability"),
    ]:
        with pytest.raises(ValueError, match=message):
            Network([4, 6, 5, 3], dropout=bad)
    with pytest.raises(ValueError, match="hidden layer"):
        Network([4, 3], dropout=0.5)


def test_masks_keep_with_probability_1_minus_p_and_preserve_the_mean():
    net = Network([3, 400, 2], activation="relu", dropout=0.3, seed=0)
    (r,) = net.dropout_masks(500, rng=0)
    assert r.shape == (500, 400) and r.dtype == bool
    assert r.mean() == pytest.approx(0.7, abs=0.005)
    X = np.random.default_rng(1).random((500, 3))
    a_full = net.forward(X)[1][1]
    a_drop = net.forward(X, training=True, masks=[r])[1][1]
    # eq. inverted-dropout: kept neurons scaled by 1/(1-p), dropped ones 0
    np.testing.assert_allclose(a_drop, a_full * r / 0.7)
    # so the expected activation is unchanged (inverted dropout): no rescaling at prediction
    assert a_drop.mean() == pytest.approx(a_full.mean(), rel=0.01)


def test_prediction_has_no_dropout():
    net = _net(dropout=0.5)
    plain = Network([4, 6, 5, 3], activation="sigmoid", loss="cross_entropy", seed=1)
    plain.set_weights(*net.get_weights())
    X, y = _problem()
    np.testing.assert_array_equal(net.feedforward(X), plain.feedforward(X))
    np.testing.assert_array_equal(net.feedforward(X), net.feedforward(X))  # deterministic
    assert net.cost(X, y) == plain.cost(X, y) and net.score(X, y) == plain.score(X, y)
    for g, h in zip(net.backprop(X, y)[0], plain.backprop(X, y)[0]):
        np.testing.assert_allclose(g, h, rtol=1e-13)
    # in training mode the masks change the output
    assert not np.allclose(net.forward(X, training=True, rng=0)[1][-1], net.feedforward(X))


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize("loss", ["cross_entropy", "quadratic"])
def test_dropout_backprop_matches_finite_differences(activation, loss):
    """Eq. dropout-backprop, checked with a fixed mask (the cost is then a smooth function)."""
    net = _net(activation, dropout=[0.5, 0.3], loss=loss)
    X, y = _problem(loss)
    masks = net.dropout_masks(X.shape[0], rng=3)
    errors = gradcheck.check_gradients(net, X, y, training=True, masks=masks)
    assert set(errors) == {f"{p}[{l}]" for l in range(3) for p in "Wb"}
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: relative error {errors[worst]:.2e}"


def test_gradient_check_notices_a_missing_mask(monkeypatch):
    """The check can fail: backprop that forgets the mask in one layer is caught."""
    net = _net("tanh", dropout=0.5)
    X, y = _problem()
    masks = net.dropout_masks(X.shape[0], rng=3)
    forward = net._forward_train

    def no_mask_in_backward(X, masks, batch_stats=True, update_stats=False):
        zs, activations, cache = forward(X, masks, batch_stats, update_stats)
        cache[0] = (None, *cache[0][1:])
        return zs, activations, cache

    good = gradcheck.check_gradients(net, X, y, training=True, masks=masks)
    monkeypatch.setattr(net, "_forward_train", no_mask_in_backward)
    nabla_W, _ = net.backprop(X, y, training=True, masks=masks)
    monkeypatch.undo()
    fd = gradcheck.numerical_gradient(lambda: net.cost(X, y, training=True, masks=masks), net.W[0])
    assert gradcheck.relative_error(nabla_W[0], fd) > 0.1 > 1e3 * good["W[0]"]


def test_a_dropped_neuron_gets_no_gradient():
    net = _net("sigmoid", dropout=0.5)
    X, y = _problem()
    masks = net.dropout_masks(X.shape[0], rng=0)
    masks[0][:, 2] = False  # neuron 2 of the first hidden layer dropped for the whole batch
    masks[0][:, 3] = True
    nabla_W, nabla_b = net.backprop(X, y, training=True, masks=masks)
    assert np.all(nabla_W[0][:, 2] == 0) and nabla_b[0][2] == 0
    assert np.all(nabla_W[1][2, :] == 0)  # and it feeds nothing forward
    assert np.all(nabla_W[0][:, 3] != 0)


def test_training_step_uses_masks_from_the_seed():
    """One SGD step of fit = backprop with the masks the seed's generator draws, then eq. sgd."""
    net = _net("relu", dropout=0.4)
    X, y = _problem(n=12)
    W0, b0 = net.get_weights()
    masks = net.dropout_masks(12, np.random.default_rng(5))
    gW, gb = net.backprop(X, y, training=True, masks=masks)
    train(net, X, y, epochs=1, batch_size=12, eta=0.3, seed=5, shuffle=False)
    for l in range(3):
        np.testing.assert_allclose(net.W[l], W0[l] - 0.3 * gW[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net.b[l], b0[l] - 0.3 * gb[l], rtol=1e-12, atol=1e-15)


def test_training_with_dropout_is_reproducible_and_learns():
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, 300)
    X = centres[y] + 0.7 * rng.standard_normal((300, 2))
    runs = []
    for seed in (0, 0, 1):
        net = Network(
            [2, 32, 3], activation="relu", loss="cross_entropy", init="he", dropout=0.5, seed=0
        )
        h = net.fit(X, y, epochs=15, batch_size=16, eta=0.1, seed=seed, optimizer="momentum")
        runs.append((net.W[0].copy(), h))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert not np.array_equal(runs[0][0], runs[2][0])  # other masks and batches
    assert runs[0][1].accuracy[-1] > 0.85


def test_bad_masks():
    net = _net(dropout=[0.5, 0.0])
    X, y = _problem()
    with pytest.raises(ValueError, match="one entry per hidden layer"):
        net.backprop(X, y, training=True, masks=[None])
    with pytest.raises(ValueError, match=r"masks\[0\] must have shape \(9, 6\)"):
        net.backprop(X, y, training=True, masks=[np.ones((8, 6), bool), None])
    with pytest.raises(ValueError, match="has no dropout"):
        net.backprop(X, y, training=True, masks=[None, np.ones((9, 5), bool)])
