"""The training loop: optimisers, L2, clipping, schedules, history, callbacks, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch import SGD, Adam, EarlyStopping, Network, TrainingDiverged, optim, train


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = rng.integers(0, 3, 300)
    X = centres[y] + 0.7 * rng.standard_normal((300, 2))
    return X, y


def test_one_sgd_step_is_the_update_rule(blobs):
    X, y = blobs
    net = Network([2, 4, 3], loss="cross_entropy", seed=0)
    W0, b0 = net.get_weights()
    gW, gb = net.backprop(X[:10], y[:10])
    train(net, X[:10], y[:10], epochs=1, batch_size=10, eta=0.5, shuffle=False)
    for l in range(2):
        np.testing.assert_allclose(net.W[l], W0[l] - 0.5 * gW[l], rtol=1e-12)
        np.testing.assert_allclose(net.b[l], b0[l] - 0.5 * gb[l], rtol=1e-12)


def test_l2_is_nielsens_weight_decay(blobs):
    X, y = blobs
    n, eta, lmbda = 10, 0.5, 5.0
    net = Network([2, 4, 3], loss="cross_entropy", seed=0)
    W0, b0 = net.get_weights()
    gW, gb = net.backprop(X[:n], y[:n])
    train(net, X[:n], y[:n], epochs=1, batch_size=n, eta=eta, lmbda=lmbda, shuffle=False)
    for l in range(2):
        np.testing.assert_allclose(net.W[l], (1 - eta * lmbda / n) * W0[l] - eta * gW[l])
        np.testing.assert_allclose(net.b[l], b0[l] - eta * gb[l])  # biases not regularised
    # and the L2 term is part of the monitored cost
    assert net.cost(X[:n], y[:n], lmbda=lmbda) > net.cost(X[:n], y[:n])


def test_l2_shrinks_weights(blobs):
    X, y = blobs
    norms = []
    for lmbda in (0.0, 30.0):
        net = Network([2, 20, 3], loss="cross_entropy", seed=0)
        net.fit(X, y, epochs=20, eta=0.5, lmbda=lmbda, seed=0)
        norms.append(sum(float((W**2).sum()) for W in net.W))
    assert norms[1] < 0.5 * norms[0]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
def test_every_optimizer_learns(blobs, optimizer):
    X, y = blobs
    net = Network([2, 10, 3], activation="relu", loss="cross_entropy", init="he", seed=0)
    eta = 0.01 if optimizer == "adam" else 0.05
    history = net.fit(X, y, epochs=15, batch_size=16, eta=eta, optimizer=optimizer, seed=0)
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] > 0.9


def test_momentum_and_adam_follow_their_formulas():
    p, g = np.array([1.0]), np.array([2.0])
    opt = SGD(0.1, momentum=0.9)
    opt.step([p], [g.copy()])  # v = -0.2
    opt.step([p], [g.copy()])  # v = 0.9*-0.2 - 0.2 = -0.38
    assert p[0] == pytest.approx(1 - 0.2 - 0.38)
    q = np.array([1.0])
    adam = Adam(0.1)
    adam.step([q], [np.array([2.0])])  # first Adam step moves by eta * sign(g)
    assert q[0] == pytest.approx(0.9, rel=1e-6)


def test_gradient_clipping():
    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]
    norm = optim.clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert np.sqrt(sum((g**2).sum() for g in grads)) == pytest.approx(1.0)
    grads = [np.array([0.3])]
    optim.clip_by_global_norm(grads, 1.0)
    assert grads[0][0] == 0.3


def test_clipping_rescues_a_too_large_learning_rate(blobs):
    X, y = blobs
    net = Network([2, 10, 3], activation="relu", loss="cross_entropy", init="normal", seed=0)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        net.fit(X * 1e3, y, epochs=5, eta=1e3, seed=0)
    net = Network([2, 10, 3], activation="relu", loss="cross_entropy", init="normal", seed=0)
    history = net.fit(X * 1e3, y, epochs=5, eta=1e3, seed=0, on_divergence="stop")
    assert history.stopped_early and history.epochs == 1
    net = Network([2, 10, 3], activation="relu", loss="cross_entropy", init="he", seed=0)
    history = net.fit(X, y, epochs=10, eta=1.0, clip=1.0, seed=0)
    assert np.isfinite(history.loss).all() and history.accuracy[-1] > 0.8


def test_schedules():
    assert optim.step_decay(0.5, 10)(1.0, 25) == 0.25
    assert optim.exponential(0.9)(2.0, 2) == pytest.approx(1.62)
    assert optim.inverse_time(1.0)(1.0, 3) == 0.25
    cos = optim.cosine(10, eta_min=0.1)
    assert cos(1.0, 0) == pytest.approx(1.0) and cos(1.0, 10) == pytest.approx(0.1)


def test_schedule_sets_eta_each_epoch(blobs):
    X, y = blobs
    net = Network([2, 5, 3], loss="cross_entropy", seed=0)
    history = net.fit(X, y, epochs=4, eta=1.0, schedule=optim.step_decay(0.5, 2), seed=0)
    assert history.eta == [1.0, 1.0, 0.5, 0.5]


def test_history_and_reproducibility(blobs):
    X, y = blobs
    runs = []
    for _ in range(2):
        net = Network([2, 8, 3], loss="cross_entropy", seed=1)
        h = net.fit(
            X[:200], y[:200], epochs=5, eta=0.3, seed=42, validation_data=(X[200:], y[200:])
        )
        runs.append((net.W[0].copy(), h))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    h = runs[0][1]
    assert h.loss == runs[1][1].loss
    assert h.epochs == 5 and len(h.val_loss) == len(h.val_accuracy) == len(h.time) == 5
    assert set(h.to_dict()) == {"loss", "score", "val_loss", "val_score", "eta", "time"}
    net = Network([2, 8, 3], loss="cross_entropy", seed=1)
    other = net.fit(X[:200], y[:200], epochs=5, eta=0.3, seed=43)
    assert other.loss != h.loss  # shuffling really depends on the seed


def test_monitor_off_records_nothing(blobs):
    X, y = blobs
    h = Network([2, 3], loss="cross_entropy", seed=0).fit(X, y, epochs=2, monitor=False)
    assert h.loss == [] and h.epochs == 2


def test_early_stopping_restores_the_best_weights(blobs):
    X, y = blobs
    net = Network([2, 30, 3], loss="cross_entropy", seed=0)
    stopper = EarlyStopping("val_loss", patience=2)
    seen = []

    def record(net, epoch, history):
        seen.append(net.get_weights())

    # a huge learning rate makes the validation loss jump around: early stopping must kick in
    h = net.fit(
        X[:200],
        y[:200],
        epochs=200,
        eta=20.0,
        seed=0,
        validation_data=(X[200:], y[200:]),
        callbacks=[record, stopper],
    )
    assert h.stopped_early and h.epochs < 200
    assert h.best_epoch == int(np.argmin(h.val_loss))
    np.testing.assert_array_equal(net.W[0], seen[h.best_epoch][0][0])
    with pytest.raises(ValueError, match="validation_data"):
        Network([2, 3], loss="cross_entropy").fit(X, y, epochs=1, callbacks=[EarlyStopping()])


def test_callback_can_stop(blobs):
    X, y = blobs
    h = Network([2, 3], loss="cross_entropy", seed=0).fit(
        X, y, epochs=10, callbacks=[lambda net, epoch, history: epoch == 2]
    )
    assert h.epochs == 3 and h.stopped_early


def test_progress_bar_is_off_when_not_interactive(blobs, capsys):
    X, y = blobs
    Network([2, 3], loss="cross_entropy", seed=0).fit(X, y, epochs=2)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_regression_fits_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (500, 2))
    y = np.sin(2 * X[:, :1]) * X[:, 1:]
    net = Network(
        [2, 30, 1], activation="tanh", output="identity", loss="quadratic", init="glorot", seed=0
    )
    net.fit(X, y, epochs=100, batch_size=20, eta=0.02, optimizer="adam", seed=0)
    assert net.task == "regression"
    assert net.score(X, y) > 0.95


@pytest.mark.parametrize("lmbda", [0.0, 3.0])
@pytest.mark.parametrize(
    ("activation", "loss"), [("sigmoid", "quadratic"), ("relu", "cross_entropy")]
)
def test_fused_sgd_step_equals_backprop_plus_update(blobs, activation, loss, lmbda):
    """The training loop's fast path for plain SGD is exactly eqs. bp1-bp4 + the update rule."""
    X, y = blobs
    a = Network([2, 6, 5, 3], activation=activation, loss=loss, seed=0)
    b = Network([2, 6, 5, 3], activation=activation, loss=loss, seed=0)
    Y = a.encode(y[:10])
    eta, n = 0.7, 300
    gW, gb = a.backprop(X[:10], Y)
    optim.add_l2(gW, a.W, lmbda, n)
    optim.SGD(eta).step(a.W + a.b, gW + gb)
    b._sgd_step(X[:10], Y, eta, 1.0 - eta * lmbda / n)
    for p, q in zip(a.W + a.b, b.W + b.b):
        np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-15)


def test_fused_and_general_paths_train_identically(blobs):
    X, y = blobs
    a = Network([2, 8, 3], loss="cross_entropy", seed=0)
    b = Network([2, 8, 3], loss="cross_entropy", seed=0)
    a.fit(X, y, epochs=3, eta=0.5, lmbda=1.0, seed=1)  # fused path
    b.fit(X, y, epochs=3, eta=0.5, lmbda=1.0, seed=1, clip=1e12)  # general path (clip is a no-op)
    for p, q in zip(a.W + a.b, b.W + b.b):
        np.testing.assert_allclose(q, p, rtol=1e-10)
