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


# ---------------------------------------------------------------------- what the history records
def _replay_batch_costs(net, X, y, *, epochs, batch_size, eta, seed, lmbda=0.0, **fit_kwargs):
    """Train a copy of ``net`` batch by batch with ``train`` itself (one batch per call, same
    permutation), recording each batch's cost and accuracy just before its update: the
    independent reference for the running means."""
    Y = net.encode(y)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    per_epoch = []
    for _ in range(epochs):
        order = rng.permutation(n)
        rows = []
        for k in range(0, n, batch_size):
            idx = order[k : k + batch_size]
            cost = net.cost(X[idx], Y[idx]) + net._l2(lmbda, n)  # L2 term with this n
            rows.append((len(idx), cost, net.score(X[idx], Y[idx])))
            # one update on exactly this batch, as train does it (eta, lambda/n with the full n)
            opt_n = {"lmbda": lmbda * len(idx) / n} if lmbda else {}
            train(net, X[idx], Y[idx], epochs=1, batch_size=batch_size, eta=eta, shuffle=False,
                  monitor=False, **opt_n, **fit_kwargs)
        per_epoch.append(rows)
    return per_epoch


@pytest.mark.parametrize("lmbda", [0.0, 2.0])
def test_running_loss_is_the_mean_of_the_batch_costs(blobs, lmbda):
    X, y = blobs
    X, y = X[:95], y[:95]  # 95 = 9 batches of 10 and one of 5: the mean is weighted by size
    net = Network([2, 6, 3], loss="cross_entropy", seed=0)
    ref = Network([2, 6, 3], loss="cross_entropy", seed=0)
    h = net.fit(X, y, epochs=3, batch_size=10, eta=0.5, lmbda=lmbda, seed=7)
    assert h.monitor == "running"
    rows = _replay_batch_costs(ref, X, y, epochs=3, batch_size=10, eta=0.5, seed=7, lmbda=lmbda)
    for epoch, batches in enumerate(rows):
        sizes, costs, scores = (np.array(c) for c in zip(*batches))
        assert h.loss[epoch] == pytest.approx(np.average(costs, weights=sizes), rel=1e-12)
        assert h.score[epoch] == pytest.approx(np.average(scores, weights=sizes), rel=1e-12)
        assert not np.isclose(h.loss[epoch], costs.mean(), rtol=1e-9)  # really weighted
    np.testing.assert_allclose(net.W[0], ref.W[0], rtol=1e-12)  # the replay trained the same


def test_running_loss_on_the_general_path(blobs):
    """Momentum goes through forward + backward + optimizer.step: the same running mean."""
    X, y = blobs
    X, y = X[:100], y[:100]
    net = Network([2, 6, 3], loss="cross_entropy", seed=0)
    h = net.fit(X, y, epochs=2, batch_size=20, eta=0.5, optimizer="momentum", seed=3)
    ref = Network([2, 6, 3], loss="cross_entropy", seed=0)
    opt = optim.SGD(0.5, momentum=0.9)
    rng = np.random.default_rng(3)
    Y = ref.encode(y)
    for epoch in range(2):
        order = rng.permutation(100)
        costs = []
        for k in range(0, 100, 20):
            idx = order[k : k + 20]
            costs.append(ref.cost(X[idx], Y[idx]))
            gW, gb = ref.backprop(X[idx], Y[idx])
            opt.step(ref.W + ref.b, gW + gb)
        assert h.loss[epoch] == pytest.approx(np.mean(costs), rel=1e-12)
    np.testing.assert_allclose(net.W[0], ref.W[0], rtol=1e-12)


@pytest.mark.parametrize("lmbda", [0.0, 2.0])
def test_exact_monitor_is_the_full_training_set_cost_after_each_epoch(blobs, lmbda):
    X, y = blobs
    net = Network([2, 6, 3], loss="cross_entropy", seed=0)
    seen = []

    def record(net, epoch, history):
        seen.append((net.cost(X, y, lmbda=lmbda), net.score(X, y)))

    h = net.fit(X, y, epochs=3, eta=0.5, lmbda=lmbda, seed=0, monitor="exact", callbacks=[record])
    assert h.monitor == "exact"
    assert h.loss == [c for c, _ in seen] and h.score == [s for _, s in seen]


def test_monitor_modes_train_the_same_weights(blobs):
    X, y = blobs
    weights = []
    for monitor in ("running", "exact", False, True):
        net = Network([2, 6, 3], loss="cross_entropy", seed=0)
        h = net.fit(X, y, epochs=2, eta=0.5, seed=0, monitor=monitor)
        weights.append(net.W[0])
        assert h.monitor == {"running": "running", "exact": "exact", False: "", True: "running"}[
            monitor
        ]
    for W in weights[1:]:
        np.testing.assert_array_equal(W, weights[0])
    with pytest.raises(ValueError, match=r"unknown monitor 'full'; expected one of: running, exa"):
        Network([2, 3], loss="cross_entropy").fit(X, y, epochs=1, monitor="full")


def test_running_mean_lags_behind_the_exact_cost_early_on(blobs):
    """The documented difference: running means average over an epoch of changing weights."""
    X, y = blobs
    runs = {}
    for monitor in ("running", "exact"):
        net = Network([2, 6, 3], loss="cross_entropy", seed=0)
        runs[monitor] = net.fit(X, y, epochs=1, eta=0.5, seed=0, monitor=monitor).loss[0]
    assert runs["running"] > runs["exact"]


def test_first_fit_imports_nothing_heavy():
    """sigmoid & co. are NumPy: a first fit pulls in no scipy (0.2-0.5 s to import)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, nnscratch\n"
        "X = np.random.default_rng(0).random((50, 4)); y = np.arange(50) % 2\n"
        "nnscratch.Network([4, 3, 2], seed=0).fit(X, y, epochs=1)\n"
        "print(sorted(m for m in ('scipy', 'sklearn', 'numba', 'tensorflow', 'matplotlib')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_gradient_norms_are_the_norms_of_backprop():
    from nnscratch.training import gradient_norms

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)
    net = Network([5, 8, 8, 8, 3], loss="cross_entropy", init="glorot", seed=0)
    norms = gradient_norms(net, X, y)
    nabla_W, _ = net.backprop(X, y)
    np.testing.assert_allclose(norms, [np.sqrt((g**2).sum()) for g in nabla_W], rtol=1e-12)
    # sigmoid layers with Glorot weights: each layer back multiplies by about sigma'(0) = 1/4
    deep = Network([5] + [50] * 8 + [3], loss="cross_entropy", init="glorot", seed=0)
    g = gradient_norms(deep, X, y)
    assert g.shape == (9,) and g[0] < 1e-3 * g[-1]
    relu = Network([5] + [50] * 8 + [3], activation="relu", loss="cross_entropy", init="he",
                   seed=0)
    g = gradient_norms(relu, X, y)
    assert 0.05 < g[0] / g[-1] < 20  # He initialisation keeps them of the same order


def test_dead_units_counts_neurons_that_never_fire():
    from nnscratch.training import dead_units

    net = Network([2, 4, 3, 2], activation="relu", init="he", seed=0)
    X = np.random.default_rng(0).standard_normal((100, 2))
    net.W[0][:, 1] = 0.0
    net.b[0][1] = -1.0  # z = -1 for every input: dead
    net.b[0][[0, 2, 3]] = 0.1
    net.W[1][:] = 0.0
    net.b[1][:] = [-0.5, -0.5, 0.5]  # two of three dead in layer 2
    np.testing.assert_allclose(dead_units(net, X), [0.25, 2 / 3])
    # a dead ReLU gets no gradient: its incoming weights stay put during training
    W_before = net.W[0][:, 1].copy()
    net.fit(X, (X[:, 0] > 0).astype(int), epochs=3, batch_size=10, eta=0.1, seed=0)
    np.testing.assert_array_equal(net.W[0][:, 1], W_before)
    assert dead_units(net, X)[0] >= 0.25


def test_clipping_in_a_deep_relu_net_prevents_divergence():
    from nnscratch.data import load_digits_split

    X_train, X_test, y_train, y_test = load_digits_split(test_size=0.25, seed=0)
    results = {}
    for clip in (None, 1.0):
        net = Network([64] + [32] * 9 + [10], activation="relu", init="he",
                      loss="cross_entropy", seed=1)
        h = net.fit(X_train, y_train, epochs=12, batch_size=16, eta=0.2, seed=0, clip=clip,
                    on_divergence="stop")
        results[clip] = (h.stopped_early, net.score(X_test, y_test) if not h.stopped_early else 0)
    assert results[None][0]  # NaN: stopped
    assert not results[1.0][0] and results[1.0][1] > 0.8, results


def test_practical_training_plots():
    import matplotlib.pyplot as plt

    from nnscratch import plots

    ax = plots.layer_gradient_norms({"a": [1e-6, 1e-3, 1.0], "b": [0.5, 0.4, 0.3, 0.2]})
    assert ax.get_yscale() == "log" and ax.get_xlabel().startswith("layer")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(ax.figure)
    for bad, message in [({}, "non-empty"), ({"a": [1.0, 0.0]}, "positive"), ({"a": []}, "1D")]:
        with pytest.raises(ValueError, match=message):
            plots.layer_gradient_norms(bad)
    values = {"η small": {"relu": 0.1, "elu": 0.0}, "η large": {"relu": 0.9, "elu": 0.6}}
    ax = plots.grouped_bars(values, errors=values, ylabel="dead fraction", fmt=".2f")
    assert len(ax.patches) == 4 and ax.get_ylabel() == "dead fraction"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "elu"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="categories"):
        plots.grouped_bars({"a": {"x": 1}, "b": {"y": 2}}, ylabel="v")
    with pytest.raises(ValueError, match="errors"):
        plots.grouped_bars(values, errors={"η small": {"relu": 0.1}}, ylabel="v")
