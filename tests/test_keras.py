"""nnscratch against TensorFlow/Keras: backprop equals autodiff, the Keras twin of a Network
computes the same outputs, cost and SGD step, the CNN builds, and ``import nnscratch`` stays
fast and TensorFlow-free."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys

import numpy as np
import pytest

from nnscratch import Network
from nnscratch import keras_baselines as kb

HAVE_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = [
    pytest.mark.tensorflow,
    pytest.mark.skipif(not HAVE_TF, reason="TensorFlow is not installed"),
]

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "identity")
#: Every (output activation, loss) pair the tests cover.
OUTPUT_LOSS = (
    ("sigmoid", "quadratic"),
    ("identity", "quadratic"),
    ("tanh", "quadratic"),
    ("softmax", "quadratic"),
    ("softmax", "cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("identity", "perceptron"),
)
DEPTHS = (1, 2, 3)  # hidden layers


@pytest.fixture(scope="module")
def tf():
    if not HAVE_TF:
        pytest.skip("TensorFlow is not installed")
    kb._keras()  # the quiet first import
    import tensorflow

    return tensorflow


def _net(hidden: str, output: str, loss: str, depth: int, seed: int) -> Network:
    n_out = 1 if loss == "perceptron" else 3
    sizes = [4, *[5, 6, 5][:depth], n_out]
    return Network(sizes, activation=hidden, output=output, loss=loss, seed=seed)


def _data(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.sizes[0]))
    if net.loss.name == "perceptron":
        y = rng.integers(0, 2, n)
    elif net.loss.name in ("cross_entropy",) or net.output.name == "softmax":
        y = rng.integers(0, net.sizes[-1], n)
    elif net.loss.name == "binary_cross_entropy" or net.output.name == "sigmoid":
        return X, rng.uniform(size=(n, net.sizes[-1]))  # soft targets in [0, 1]
    else:
        return X, rng.normal(size=(n, net.sizes[-1]))
    return X, net.encode(y)


# ---------------------------------------------------------------------- TF autodiff
def _tf_activation(tf, name: str, z):
    if name == "sigmoid":
        return tf.math.sigmoid(z)
    if name == "tanh":
        return tf.math.tanh(z)
    if name == "relu":
        return tf.nn.relu(z)
    if name == "leaky_relu":  # tf.nn.leaky_relu's alpha is a float32 attribute: write it out
        return tf.where(z > 0, z, 0.01 * z)
    if name == "elu":
        return tf.nn.elu(z)
    if name == "identity":
        return z
    if name == "softmax":
        return tf.nn.softmax(z, axis=1)
    raise AssertionError(name)


def _tf_cost(tf, loss: str, z, a, Y):
    """The batch-averaged cost, written in TF the way nnscratch.losses defines it."""
    n = tf.cast(tf.shape(z)[0], tf.float64)
    if loss == "quadratic":
        return 0.5 * tf.reduce_sum((a - Y) ** 2) / n
    if loss == "cross_entropy":
        return -tf.reduce_sum(Y * tf.nn.log_softmax(z, axis=1)) / n
    if loss == "binary_cross_entropy":
        return tf.reduce_sum(Y * tf.math.softplus(-z) + (1 - Y) * tf.math.softplus(z)) / n
    if loss == "perceptron":
        return tf.reduce_sum(tf.nn.relu(-a * Y)) / n
    raise AssertionError(loss)


def _rel_err(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS, ids=[f"{o}-{c}" for o, c in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.tensorflow
def test_backprop_equals_tf_autodiff(tf, hidden, output, loss, depth):
    seed = hash((hidden, output, loss, depth)) % 2**32
    net = _net(hidden, output, loss, depth, seed)
    X, Y = _data(net, 11, seed + 1)
    nabla_W, nabla_b = net.backprop(X, Y)

    Ws = [tf.Variable(W, dtype=tf.float64) for W in net.W]
    bs = [tf.Variable(b, dtype=tf.float64) for b in net.b]
    with tf.GradientTape() as tape:
        a = tf.constant(X, dtype=tf.float64)
        for l, (W, b) in enumerate(zip(Ws, bs)):
            z = a @ W + b
            name = net.output.name if l == net.n_layers - 1 else net.hidden[l].name
            a = _tf_activation(tf, name, z)
        cost = _tf_cost(tf, loss, z, a, tf.constant(Y, dtype=tf.float64))
    gW, gb = tape.gradient(cost, [Ws, bs])

    assert float(cost) == pytest.approx(net.cost(X, Y), rel=1e-12, abs=1e-15)
    for l in range(net.n_layers):
        assert _rel_err(nabla_W[l], gW[l].numpy()) < 1e-10, f"dC/dW[{l}]"
        assert _rel_err(nabla_b[l], gb[l].numpy()) < 1e-10, f"dC/db[{l}]"
    # the test is not vacuous: some gradient is non-zero
    assert any(np.abs(g).max() > 0 for g in nabla_W)


# ---------------------------------------------------------------------- Keras twin
@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS, ids=[f"{o}-{c}" for o, c in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.tensorflow
def test_keras_model_same_outputs_and_cost(tf, hidden, output, loss):
    net = _net(hidden, output, loss, depth=2, seed=7)
    X, Y = _data(net, 9, 8)
    model = kb.keras_model(net)
    assert [layer.kernel.shape for layer in model.layers] == [W.shape for W in net.W]
    a = kb.keras_predict(model, X)
    np.testing.assert_allclose(a, net.feedforward(X), rtol=2e-5, atol=2e-6)
    keras_cost = float(model.loss(Y.astype("float32"), model(X.astype("float32"))))
    assert keras_cost == pytest.approx(net.cost(X, Y), rel=2e-5, abs=1e-6)


@pytest.mark.parametrize(("output", "loss"), OUTPUT_LOSS, ids=[f"{o}-{c}" for o, c in OUTPUT_LOSS])
@pytest.mark.tensorflow
def test_keras_sgd_steps_equal_nnscratch_float64(tf, output, loss):
    """Same cost, same learning rate: two epochs of Keras SGD (float64, no shuffling) end on
    the same weights as nnscratch."""
    net = _net("tanh", output, loss, depth=1, seed=3)
    X, Y = _data(net, 12, 4)
    # 0.75 is exact in float32, the dtype of Keras' learning-rate variable (0.7 would differ ~1e-8)
    model = kb.keras_model(net, eta=0.75, dtype="float64")
    np.testing.assert_allclose(kb.keras_predict(model, X), net.feedforward(X), rtol=1e-13)
    history = kb.fit_keras(model, X, Y, epochs=2, batch_size=5, shuffle=False)
    net.fit(X, Y, epochs=2, batch_size=5, eta=0.75, shuffle=False, monitor=False)
    for layer, W, b in zip(model.layers, net.W, net.b):
        kW, kb_ = layer.get_weights()
        np.testing.assert_allclose(kW, W, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(kb_, b, rtol=1e-11, atol=1e-13)
    assert len(history.epoch_times) == 2


@pytest.mark.tensorflow
def test_keras_model_from_sizes_has_the_networks_initial_weights(tf):
    model = kb.keras_model([6, 4, 3], activation="relu", loss="cross_entropy", seed=5)
    net = Network([6, 4, 3], activation="relu", loss="cross_entropy", seed=5)
    for layer, W, b in zip(model.layers, net.W, net.b):
        np.testing.assert_allclose(layer.get_weights()[0], W, rtol=1e-6)
        np.testing.assert_allclose(layer.get_weights()[1], b, rtol=1e-6)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(3.0)
    own = kb.keras_model([6, 4, 3], copy_weights=False, seed=5)
    assert not np.allclose(own.layers[0].get_weights()[0], net.W[0])


@pytest.mark.tensorflow
def test_keras_losses_match_nnscratch_scale(tf):
    """The quadratic cost is 1/2 sum over outputs (not Keras' MSE mean), the binary
    cross-entropy sums over outputs (not Keras' mean)."""
    keras = kb._keras()
    rng = np.random.default_rng(0)
    a = rng.uniform(0.05, 0.95, size=(8, 4)).astype("float32")
    y = rng.uniform(size=(8, 4)).astype("float32")
    mse = float(keras.losses.MeanSquaredError()(y, a))
    assert float(np.mean(kb.quadratic_loss(y, a))) == pytest.approx(2.0 * mse, rel=1e-6)
    bce = float(keras.losses.BinaryCrossentropy()(y, a))
    assert float(np.mean(kb.binary_cross_entropy_loss(y, a))) == pytest.approx(4 * bce, rel=1e-4)


@pytest.mark.tensorflow
def test_keras_model_errors(tf):
    net = Network([3, 2, 2], seed=0)
    with pytest.raises(ValueError, match="leave activation as None"):
        kb.keras_model(net, activation="relu")
    with pytest.raises(ValueError, match="unknown loss"):
        kb.keras_model([3, 2, 2], loss="hinge")
    with pytest.raises(ValueError, match="eta must be a positive number"):
        kb.keras_model(net, eta=0)
    with pytest.raises(ValueError, match="unknown dtype"):
        kb.keras_model(net, dtype="float16")


@pytest.mark.tensorflow
def test_fit_keras_trains_and_scores(tf):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = kb.keras_model([2, 16, 2], activation="tanh", loss="cross_entropy", eta=0.5, seed=0)
    before = kb.keras_accuracy(model, X, y)
    kb.fit_keras(model, X, y, epochs=20, batch_size=10, seed=0)
    assert kb.keras_accuracy(model, X, y) > max(0.85, before)


# ---------------------------------------------------------------------- CNN
@pytest.mark.tensorflow
def test_small_cnn_builds_predicts_and_fits(tf):
    model = kb.small_cnn(seed=0)
    X = np.random.default_rng(0).uniform(size=(16, 28, 28, 1))
    proba = kb.keras_predict(model, X)
    assert proba.shape == (16, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    history = kb.fit_keras(model, X, np.arange(16) % 10, epochs=1, batch_size=8)
    assert np.isfinite(history.history["loss"][0])
    assert kb.small_cnn((8, 8, 3), n_classes=4).output_shape == (None, 4)
    with pytest.raises(ValueError, match="input_shape must be"):
        kb.small_cnn((28, 28))


# ---------------------------------------------------------------------- imports
def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stderr == "", out.stderr
    return out.stdout


def test_import_nnscratch_is_fast_and_tensorflow_free():
    code = (
        "import sys, time; t = time.perf_counter(); import nnscratch; "
        "dt = time.perf_counter() - t; "
        "import nnscratch.keras_baselines, nnscratch.estimators; "
        "print(dt, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    runs = [_run(code).split() for _ in range(3)]
    best = min(float(r[0]) for r in runs)
    print(f"\nimport nnscratch: {best * 1000:.0f} ms (best of 3)")
    assert all(r[1:] == ["False", "False"] for r in runs), runs
    assert best < 1.0  # the requirement is < 0.5 s; generous for a loaded CI machine


@pytest.mark.tensorflow
@pytest.mark.skipif(not HAVE_TF, reason="TensorFlow is not installed")
def test_first_keras_use_prints_nothing_on_stderr():
    code = (
        "import sys, numpy as np; import nnscratch.keras_baselines as kb; "
        "assert 'tensorflow' not in sys.modules; "
        "m = kb.keras_model([3, 2, 2], seed=0); print(kb.keras_predict(m, np.ones((1, 3))).shape)"
    )
    env_free = "import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None); "
    assert _run(env_free + code).strip() == "(1, 2)"


def test_parametrization_covers_every_pair():
    assert len(list(itertools.product(HIDDEN, OUTPUT_LOSS, DEPTHS))) == 126


# ---------------------------------------------------------------------- copying weights
def _hand_built(keras, sizes, hidden="sigmoid", dtype="float32", eta=0.5):
    """The lecture's way: Sequential, Dense, compile (no nnscratch helper)."""
    layers = [keras.Input(shape=(sizes[0],), dtype=dtype)]
    layers += [keras.layers.Dense(n, activation=hidden, dtype=dtype) for n in sizes[1:-1]]
    layers.append(keras.layers.Dense(sizes[-1], activation="softmax", dtype=dtype))
    model = keras.Sequential(layers)
    model.compile(
        loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=eta)
    )
    return model


@pytest.mark.tensorflow
def test_weights_to_keras_same_forward_pass_and_sgd_step(tf):
    keras = kb._keras()
    net = Network([7, 6, 5, 4], activation="sigmoid", loss="cross_entropy", seed=11)
    model = _hand_built(keras, net.sizes, eta=0.5)
    X, Y = _data(net, 13, 12)
    before = kb.keras_predict(model, X)
    assert np.abs(before - net.feedforward(X)).max() > 1e-3  # Keras' own weights differ
    kb.weights_to_keras(net, model)
    np.testing.assert_allclose(model.predict_on_batch(X), net.feedforward(X), rtol=1e-5, atol=1e-7)
    # one SGD step: train_on_batch returns the cost before the update, as nnscratch records it
    keras_cost = float(model.train_on_batch(X.astype("float32"), Y.astype("float32")))
    history = net.fit(X, Y, epochs=1, batch_size=len(X), eta=0.5, shuffle=False)
    assert keras_cost == pytest.approx(history.loss[0], rel=1e-5)
    stepped = Network(net.sizes, activation="sigmoid", loss="cross_entropy", seed=0)
    kb.weights_from_keras(model, stepped)
    for l in range(net.n_layers):
        assert np.abs(net.W[l]).max() > 0
        np.testing.assert_allclose(stepped.W[l], net.W[l], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(stepped.b[l], net.b[l], rtol=1e-5, atol=1e-6)


@pytest.mark.tensorflow
def test_weights_round_trip_is_exact_in_float64(tf):
    net = Network([5, 4, 3], activation="tanh", loss="cross_entropy", seed=2)
    model = kb.keras_model(
        [5, 4, 3], activation="tanh", loss="cross_entropy", seed=9, dtype="float64"
    )
    kb.weights_to_keras(net, model)
    other = Network([5, 4, 3], activation="tanh", loss="cross_entropy", seed=3)
    kb.weights_from_keras(model, other)
    for l in range(2):
        np.testing.assert_array_equal(other.W[l], net.W[l])
        np.testing.assert_array_equal(other.b[l], net.b[l])


@pytest.mark.tensorflow
def test_weight_copy_errors(tf):
    keras = kb._keras()
    net = Network([5, 4, 3], seed=0)
    with pytest.raises(ValueError, match="2 Dense layers, the Network 3"):
        kb.weights_to_keras(Network([5, 4, 4, 3], seed=0), _hand_built(keras, [5, 4, 3]))
    with pytest.raises(ValueError, match=r"kernel of shape \(5, 6\)"):
        kb.weights_to_keras(net, _hand_built(keras, [5, 6, 3]))
    with pytest.raises(ValueError, match="only Dense layers"):
        kb.weights_from_keras(kb.small_cnn((8, 8, 1), n_classes=3), net)
    with pytest.raises(ValueError, match="must be an nnscratch Network"):
        kb.weights_to_keras("net", _hand_built(keras, [5, 4, 3]))


@pytest.mark.tensorflow
def test_keras_model_adam_option(tf):
    keras = kb._keras()
    model = kb.keras_model([4, 3, 2], loss="cross_entropy", optimizer="adam", eta=0.01, seed=0)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="optimizer"):
        kb.keras_model([4, 3, 2], optimizer="rmsprop")


# ---------------------------------------------------------------------- logits
@pytest.mark.tensorflow
def test_keras_logits_are_the_networks_z(tf):
    from nnscratch.losses import logsumexp

    net = Network([6, 5, 4], activation="relu", loss="cross_entropy", seed=4)
    model = kb.keras_model(net, dtype="float64")
    X = np.random.default_rng(5).normal(size=(2100, 6))
    z = kb.keras_logits(model, X, batch_size=1000)  # three batches, the last one short
    zs, _ = net.forward(X)
    np.testing.assert_allclose(z, zs[-1], rtol=1e-12, atol=1e-12)
    log_p = z - logsumexp(z)
    np.testing.assert_allclose(np.exp(log_p), kb.keras_predict(model, X), rtol=1e-10)
    # far outside the data the stable log-probabilities stay finite where log(p) would not
    big = kb.keras_logits(model, 1e4 * X[:50])
    assert np.all(np.isfinite(big - logsumexp(big)))


@pytest.mark.tensorflow
def test_keras_logits_of_the_cnn_and_errors(tf):
    keras = kb._keras()
    model = kb.small_cnn((8, 8, 1), n_classes=3, seed=1)
    X = np.random.default_rng(0).uniform(size=(5, 8, 8, 1))
    z = kb.keras_logits(model, X)
    assert z.shape == (5, 3) and z.dtype == np.float64
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        p / p.sum(axis=1, keepdims=True), kb.keras_predict(model, X), rtol=1e-5
    )
    with pytest.raises(ValueError, match="must be Dense"):
        kb.keras_logits(
            keras.Sequential([keras.Input((4,)), keras.layers.Softmax()]), np.ones((2, 4))
        )
    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match=r"keras\.Sequential"):
        kb.keras_logits(functional, np.ones((2, 4)))


# ---------------------------------------------------------------------- figure
def test_cost_comparison_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnscratch import plots

    a = np.linspace(2.0, 0.5, 40)
    fig = plots.cost_comparison({"nnscratch": a, "Keras": a + 1e-7})
    top, bottom = fig.axes
    assert top.get_ylabel() == "mini-batch cost" and bottom.get_xlabel() == "training step"
    assert bottom.get_yscale() == "log"
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), 1e-7, rtol=1e-6)
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["nnscratch", "Keras"]
    plt.close(fig)
    with pytest.raises(ValueError, match="exactly two curves"):
        plots.cost_comparison({"a": a})
    with pytest.raises(ValueError, match="same length"):
        plots.cost_comparison({"a": a, "b": a[:-1]})
    with pytest.raises(ValueError, match="finite"):
        plots.cost_comparison({"a": a, "b": np.full_like(a, np.nan)})


@pytest.mark.slow
@pytest.mark.tensorflow
@pytest.mark.skipif(not HAVE_TF, reason="TensorFlow is not installed")
def test_keras_api_path_prints_nothing_on_stderr():
    """What the Keras chapter's notebook does, in a fresh process: nothing may reach stderr."""
    code = (
        "import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
        "import numpy as np, nnscratch as nn, nnscratch.keras_baselines as kb\n"
        "keras = kb.import_keras(); import keras as k2; assert k2 is keras\n"
        "keras.utils.set_random_seed(0)\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='sigmoid'),"
        " keras.layers.Dense(2, activation='softmax')])\n"
        "m.compile(loss='categorical_crossentropy', optimizer=keras.optimizers.SGD(0.5))\n"
        "net = nn.Network([4, 3, 2], loss='cross_entropy', seed=0); kb.weights_to_keras(net, m)\n"
        "X = np.ones((5, 4)); Y = net.encode(np.arange(5) % 2)\n"
        "c = float(m.train_on_batch(X, Y)); m.predict_on_batch(X)\n"
        "cnn = kb.small_cnn((8, 8, 1), n_classes=2, seed=0)\n"
        "kb.fit_keras(cnn, np.ones((4, 8, 8, 1)), np.arange(4) % 2, epochs=1, batch_size=2)\n"
        "print(kb.keras_logits(cnn, np.ones((3, 8, 8, 1))).shape)"
    )
    assert _run(code).strip() == "(3, 2)"
