"""Batch normalisation: the forward pass with batch and running statistics, its backprop against
finite differences (and against TensorFlow's BatchNormalization), training, state, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch import EarlyStopping, Network, gradcheck
from nnscratch.activations import HIDDEN

TOL = 1e-7


def _problem(n=9, seed=0, n_in=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n_in)), rng.integers(0, 3, n)


def _net(activation="sigmoid", **kw):
    net = Network(
        [4, 6, 5, 3],
        activation=activation,
        loss="cross_entropy",
        init="glorot",
        batch_norm=True,
        seed=1,
        **kw,
    )
    for l, (g, bt) in enumerate(zip(net.gamma, net.beta)):  # away from gamma = 1, beta = 0
        g += 0.1 * np.arange(g.size) + 0.05 * l
        bt += 0.1 * (np.arange(bt.size) + 1)
    return net


def test_construction_and_parameters():
    net = Network([4, 6, 5, 3], batch_norm=True, seed=0)
    assert net.has_training_mode and "batch_norm=True" in repr(net)
    assert [g.shape for g in net.gamma] == [(6,), (5,)] and all((g == 1).all() for g in net.gamma)
    assert all((bt == 0).all() for bt in net.beta) and all((b == 0).all() for b in net.b[:-1])
    assert all((v == 1).all() for v in net.running_var)
    # hidden biases are replaced by beta: W + gamma + beta + the output bias
    assert net.n_params == 4 * 6 + 6 * 5 + 5 * 3 + 2 * (6 + 5) + 3
    with pytest.raises(ValueError, match="hidden layer"):
        Network([4, 3], batch_norm=True)
    with pytest.raises(ValueError, match="True or False"):
        Network([4, 5, 3], batch_norm="yes")
    with pytest.raises(ValueError, match="bn_momentum"):
        Network([4, 5, 3], batch_norm=True, bn_momentum=1.0)
    with pytest.raises(ValueError, match="bn_eps"):
        Network([4, 5, 3], batch_norm=True, bn_eps=0)


def test_training_forward_normalises_over_the_batch():
    net = _net("relu")
    X, _ = _problem(n=50)
    zs, _ = net.forward(X, training=True)
    for l in range(2):  # eq. bn-forward: z = gamma * xhat + beta, xhat of mean 0, variance ~1
        np.testing.assert_allclose(zs[l].mean(axis=0), net.beta[l], atol=1e-12)
        u = (X if l == 0 else net.forward(X, training=True)[1][1]) @ net.W[l]
        expected = net.gamma[l] * (u - u.mean(0)) / np.sqrt(u.var(0) + net.bn_eps) + net.beta[l]
        np.testing.assert_allclose(zs[l], expected, rtol=1e-12, atol=1e-12)
    # forward() in training mode does not touch the running statistics
    assert all((m == 0).all() for m in net.running_mean)


def test_running_statistics_follow_eq_bn_running():
    net = _net("tanh", bn_momentum=0.8)
    X, _ = _problem(n=30)
    u = X @ net.W[0]
    for k in range(1, 6):
        net._train_forward(X, np.random.default_rng(0))
        np.testing.assert_allclose(net.running_mean[0], (1 - 0.8**k) * u.mean(0), rtol=1e-12)
        np.testing.assert_allclose(net.running_var[0], 0.8**k + (1 - 0.8**k) * u.var(0), rtol=1e-12)
    # prediction uses them: one sample at a time gives the same as the whole batch
    one = np.vstack([net.feedforward(x[None]) for x in X])
    np.testing.assert_allclose(one, net.feedforward(X), rtol=1e-12)
    z0 = net.forward(X)[0][0]
    rm, rv = net.running_mean[0], net.running_var[0]
    np.testing.assert_allclose(
        z0, net.gamma[0] * (u - rm) / np.sqrt(rv + net.bn_eps) + net.beta[0], rtol=1e-12
    )


# not 'identity': with a linear hidden layer, the next layer's batch norm removes any shift, so
# the gradient of beta[0] is exactly 0 and a relative error compares rounding noise with 0
@pytest.mark.parametrize("activation", [a for a in HIDDEN if a != "identity"])
def test_batchnorm_backprop_matches_finite_differences(activation):
    """Eqs. bn-gamma-beta and bn-backward against centred differences, batch statistics."""
    net = _net(activation)
    X, y = _problem()
    errors = gradcheck.check_gradients(net, X, y, training=True)
    assert set(errors) == {f"{p}[{l}]" for l in range(3) for p in "Wb"} | {
        f"{p}[{l}]" for l in range(2) for p in ("gamma", "beta")
    }
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: relative error {errors[worst]:.2e}"
    # hidden biases do nothing under batch norm: both gradients are exactly 0
    _, nabla_b = net.backprop(X, y, training=True)
    assert all((g == 0).all() for g in nabla_b[:-1])


def test_batchnorm_with_dropout_and_in_prediction_mode():
    net = _net("elu", dropout=[0.3, 0.5])
    X, y = _problem()
    net._train_forward(X, np.random.default_rng(0))  # some running statistics
    masks = net.dropout_masks(X.shape[0], rng=2)
    for training in (True, False):  # prediction mode: batch norm is a fixed affine map
        errors = gradcheck.check_gradients(net, X, y, training=training, masks=masks)
        assert max(errors.values()) < TOL, errors


def test_gradient_check_notices_a_missing_batch_term(monkeypatch):
    """Treating the batch statistics as constants (a classic mistake) is caught."""
    net = _net("sigmoid")
    X, y = _problem()
    forward = net._forward_train

    def constant_stats(X, masks, batch_stats=True, update_stats=False):
        zs, activations, cache = forward(X, masks, batch_stats, update_stats)
        return zs, activations, [(*c[:4], False) for c in cache]

    monkeypatch.setattr(net, "_forward_train", constant_stats)
    nabla_W, _ = net.backprop(X, y, training=True)
    monkeypatch.undo()
    fd = gradcheck.numerical_gradient(lambda: net.cost(X, y, training=True), net.W[0])
    assert gradcheck.relative_error(nabla_W[0], fd) > 0.05


def test_deep_sigmoid_net_trains_with_batchnorm_and_stalls_without():
    from nnscratch.data import load_digits_split

    X_train, X_test, y_train, y_test = load_digits_split(test_size=0.25, seed=0)
    scores = {}
    for bn in (False, True):
        net = Network(
            [64] + [32] * 9 + [10],
            activation="sigmoid",
            init="glorot",
            loss="cross_entropy",
            batch_norm=bn,
            seed=1,
        )
        net.fit(X_train, y_train, epochs=6, batch_size=16, eta=0.02, seed=0)
        scores[bn] = net.score(X_test, y_test)
        if bn:
            assert all((b == 0).all() for b in net.b[:-1])  # unused, untouched
            assert not all((g == 1).all() for g in net.gamma)  # learned
            assert not all((m == 0).all() for m in net.running_mean)
    assert scores[False] < 0.2 and scores[True] > 0.75, scores


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_batchnorm_with_other_optimizers_clipping_and_l2(optimizer):
    X, y = _problem(n=200, n_in=4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    net = Network(
        [4, 16, 16, 3], activation="relu", loss="cross_entropy", init="he", batch_norm=True, seed=0
    )
    h = net.fit(
        X,
        y,
        epochs=20,
        batch_size=20,
        eta=0.01 if optimizer == "adam" else 0.05,
        optimizer=optimizer,
        clip=5.0,
        lmbda=0.1,
        seed=0,
    )
    assert h.accuracy[-1] > 0.85 and net.score(X, y) > 0.85


def test_state_round_trip_and_early_stopping_restores_it():
    net = _net("tanh")
    X, y = _problem(n=40)
    state = net.get_state()
    net.fit(X, y, epochs=3, batch_size=8, eta=0.1, seed=0)
    assert not np.allclose(net.gamma[0], state["gamma"][0])
    net.set_state(state)
    for k, arrays in state.items():
        for a, b in zip(arrays, getattr(net, k)):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="keys"):
        net.set_state({"W": state["W"]})
    bad = {**state, "gamma": [g[:2] for g in state["gamma"]]}
    with pytest.raises(ValueError, match=r"gamma\[0\] must have shape \(6,\)"):
        net.set_state(bad)

    X_val, y_val = _problem(n=40, seed=1)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    net.fit(
        X,
        y,
        epochs=40,
        batch_size=8,
        eta=0.5,
        seed=0,
        validation_data=(X_val, y_val),
        callbacks=[stopper],
    )
    best = stopper.best_weights
    assert isinstance(best, dict)
    np.testing.assert_array_equal(net.running_var[1], best["running_var"][1])
    np.testing.assert_array_equal(net.gamma[1], best["gamma"][1])


@pytest.mark.slow
def test_batchnorm_gradients_agree_with_tensorflow():
    """Gradients of the same cost in Keras (BatchNormalization, training=True, GradientTape)."""
    tf = pytest.importorskip("tensorflow")
    keras = tf.keras
    net = _net("sigmoid")
    X, y = _problem()
    nabla_W, nabla_b, extra = net.backprop_all(X, y, training=True)

    W = [tf.Variable(w) for w in net.W]
    b_out = tf.Variable(net.b[-1])
    bns = []
    for l in range(2):
        bn = keras.layers.BatchNormalization(epsilon=net.bn_eps, dtype="float64")
        bn.build((None, net.sizes[l + 1]))
        bn.gamma.assign(net.gamma[l])
        bn.beta.assign(net.beta[l])
        bns.append(bn)
    with tf.GradientTape() as tape:
        a = tf.constant(X)
        for l in range(2):
            a = tf.sigmoid(bns[l](a @ W[l], training=True))
        z = a @ W[2] + b_out
        cost = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y), logits=z)
        )
    sources = [*W, b_out, *(bn.gamma for bn in bns), *(bn.beta for bn in bns)]
    grads = [g.numpy() for g in tape.gradient(cost, sources)]
    ours = [*nabla_W, nabla_b[-1], *extra["gamma"], *extra["beta"]]
    assert cost.numpy() == pytest.approx(net.cost(X, y, training=True), rel=1e-12)
    for g_tf, g_ours in zip(grads, ours):
        assert gradcheck.relative_error(g_ours, g_tf) < 1e-10


def test_gradient_norms_of_a_batchnorm_net_use_batch_statistics():
    from nnscratch.training import gradient_norms

    X, y = _problem(n=64, n_in=4)
    sizes = [4] + [20] * 8 + [3]
    plain = Network(sizes, init="glorot", loss="cross_entropy", seed=0)
    bn = Network(sizes, init="glorot", loss="cross_entropy", batch_norm=True, seed=0)
    g_plain, g_bn = gradient_norms(plain, X, y), gradient_norms(bn, X, y)
    # at initialisation the running statistics are (0, 1): prediction mode is the plain net
    # (up to the eps of eq. bn-forward)
    np.testing.assert_allclose(gradient_norms(bn, X, y, training=False), g_plain, rtol=1e-4)
    # batch statistics rescale delta at every layer: the gradient no longer vanishes
    assert g_plain[0] / g_plain[-1] < 1e-3 < 1e-1 < g_bn[0] / g_bn[-1]
