"""Every bad input gets a ValueError whose message says what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch import SGD, Adam, Network, train
from nnscratch.losses import encode_targets


@pytest.fixture
def net():
    return Network([4, 3, 2], loss="cross_entropy", seed=0)


X_OK = np.zeros((5, 4))
Y_OK = np.array([0, 1, 0, 1, 1])


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((5, 3)), Y_OK, r"3 features per sample .* expects 4"),
        (np.zeros(4), Y_OK[:1], r"must be 2D .* got shape \(4,\).*reshape\(1, -1\)"),
        (np.zeros((5, 4, 1)), Y_OK, r"must be 2D"),
        (np.zeros((0, 4)), Y_OK[:0], r"empty"),
        (X_OK, Y_OK[:4], r"disagree on the number of samples: 5 vs 4"),
        (
            X_OK,
            np.array([0, 1, 2, 0, 1]),
            r"label out of range: got 2, expected integers in 0\.\.1",
        ),
        (X_OK, np.array([0, 1, -1, 0, 1]), r"out of range: got -1"),
        (X_OK, np.eye(3)[[0, 1, 2, 0, 1]], r"3 columns but the network has 2 outputs"),
        (X_OK, np.array([0, 0.5, 1, 0, 1]), r"must be integers"),
        (np.full((5, 4), np.nan), Y_OK, r"20 NaN and 0 inf .*first at index \(0, 0\)"),
        (np.where(np.eye(5, 4) > 0, np.inf, 0.0), Y_OK, r"0 NaN and 4 inf"),
        (X_OK, np.array([0, 1, np.nan, 0, 1]), r"NaN/inf"),
        ([["a", "b", "c", "d"]] * 5, Y_OK, r"array of numbers"),
        (X_OK, np.array(["a", "b", "a", "b", "a"]), r"must be numbers"),
    ],
)
def test_bad_data(net, X, y, message):
    for call in (net.backprop, net.score, net.cost, lambda X, y: net.fit(X, y, epochs=1)):
        with pytest.raises(ValueError, match=message):
            call(X, y)


def test_hints_for_the_usual_shape_mistakes():
    net = Network([784, 30, 10], seed=0)
    images = np.zeros((5, 28, 28))
    with pytest.raises(ValueError, match=r"flatten each one: X.reshape\(len\(X\), -1\)"):
        net.feedforward(images)
    with pytest.raises(ValueError, match=r"looks transposed: .* column vectors, so pass X.T"):
        net.feedforward(np.zeros((784, 5)))
    net.feedforward(images.reshape(5, -1))  # and the suggested fixes work


def test_bad_data_in_feedforward_and_validation_data(net):
    with pytest.raises(ValueError, match="features per sample"):
        net.feedforward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"validation data: .*label out of range"):
        net.fit(X_OK, Y_OK, epochs=1, validation_data=(X_OK, Y_OK + 5))
    with pytest.raises(ValueError, match="pair"):
        net.fit(X_OK, Y_OK, epochs=1, validation_data=X_OK)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [4]}, r"at least two positive integers"),
        ({"sizes": [4, 0, 2]}, r"at least two positive integers"),
        ({"sizes": [4, 2.5, 2]}, r"at least two positive integers"),
        ({"activation": "sigmod"}, r"unknown hidden activation 'sigmod'; expected one of: elu, "),
        ({"activation": "softmax"}, r"unknown hidden activation 'softmax'"),
        ({"activation": ["relu", "tanh"]}, r"one name per hidden layer: 1 expected .* got 2"),
        (
            {"loss": "crossentropy"},
            r"unknown loss 'crossentropy'; expected one of: .*cross_entropy",
        ),
        ({"output": "softmx"}, r"unknown output activation 'softmx'"),
        ({"loss": "cross_entropy", "output": "sigmoid"}, r"'sigmoid' does not go with loss "),
        ({"loss": "perceptron"}, r"exactly 1 output neuron, got 2"),
        ({"init": "xavier"}, r"unknown init 'xavier'"),
        ({"task": "clustering"}, r"unknown task"),
        ({"dtype": np.int32}, r"float32 or float64"),
        ({"seed": "abc"}, r"seed must be"),
    ],
)
def test_bad_network_arguments(kwargs, message):
    args = {"sizes": [4, 3, 2], **kwargs}
    with pytest.raises(ValueError, match=message):
        Network(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eta": 0}, r"learning rate eta must be a positive number, got 0"),
        ({"eta": -0.1}, r"positive number, got -0.1"),
        ({"eta": float("nan")}, r"positive number, got nan"),
        ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
        ({"batch_size": 2.5}, r"batch_size must be a positive integer, got 2.5"),
        ({"epochs": -1}, r"epochs must be a positive integer"),
        ({"lmbda": -1.0}, r"lmbda must be a number >= 0"),
        ({"clip": 0.0}, r"clip must be a positive number"),
        ({"optimizer": "rmsprop"}, r"unknown optimizer 'rmsprop'; expected one of: adam"),
        ({"on_divergence": "ignore"}, r"on_divergence"),
        ({"schedule": lambda eta0, epoch: -1.0}, r"learning rate from the schedule at epoch 0"),
    ],
)
def test_bad_training_arguments(net, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(net, X_OK, Y_OK, **{"epochs": 1, **kwargs})


def test_bad_optimizer_arguments():
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ValueError, match="nesterov"):
        SGD(0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta1"):
        Adam(beta1=1.0)


def test_bad_weights(net):
    W, b = net.get_weights()
    with pytest.raises(ValueError, match=r"W\[0\] must have shape \(4, 3\), got \(3, 4\)"):
        net.set_weights([W[0].T, W[1]], b)
    with pytest.raises(ValueError, match=r"b\[1\] must have shape"):
        net.set_weights(W, [b[0], b[1][:1]])
    with pytest.raises(ValueError, match="expected 2 weight matrices"):
        net.set_weights(W[:1], b)
    W[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"W\[1\] contains 1 NaN"):
        net.set_weights(W, b)


def test_target_encoding_rules():
    np.testing.assert_array_equal(encode_targets([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    assert encode_targets([0.5, 1.5], 1).shape == (2, 1)  # regression column
    np.testing.assert_array_equal(encode_targets([0, 1], 1, "perceptron"), [[-1], [1]])
    with pytest.raises(ValueError, match=r"-1/\+1"):
        encode_targets([0, 2], 1, "perceptron")
    with pytest.raises(ValueError, match="one-hot rows"):
        encode_targets([[1.0, 1.0]], 2, "cross_entropy")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        encode_targets([[2.0, 0.0]], 2, "binary_cross_entropy")
    with pytest.raises(ValueError, match="1D labels or a 2D"):
        encode_targets(np.zeros((2, 2, 2)), 2)
