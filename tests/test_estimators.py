"""The scikit-learn estimators: API compliance (``check_estimator``), model selection
(``GridSearchCV`` over eta x lambda, ``cross_val_score``), labels, regression, errors, pickling.

``check_estimator`` runs every applicable check, each as its own test; none is expected to fail.
The only check reported as *skipped* is scikit-learn's own ``check_array_api_input``, which skips
itself unless the environment variable ``SCIPY_ARRAY_API=1`` is set (nnscratch is NumPy-only and
does not declare array-API support, so that check does not apply).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnscratch import Network
from nnscratch.estimators import MLPClassifier, MLPRegressor
from nnscratch.optim import SGD
from nnscratch.training import History

# Small, fast instances (seeded, so that checks comparing two fits are deterministic).
CHECKED = [
    MLPClassifier((10,), epochs=20, seed=0),
    MLPClassifier((10,), loss="binary_cross_entropy", epochs=20, seed=0),
    MLPClassifier((10,), loss="quadratic", eta=3.0, epochs=20, seed=0),
    MLPClassifier((), loss="perceptron", eta=0.1, epochs=20, seed=0),
    MLPClassifier(
        (10, 10),
        activation="relu",
        optimizer="adam",
        eta=0.01,
        epochs=10,
        early_stopping=True,
        patience=3,
        seed=0,
    ),
    MLPRegressor((10,), epochs=20, seed=0),
    MLPRegressor(
        (10,), activation="tanh", optimizer="momentum", epochs=10, early_stopping=True, seed=0
    ),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


# ---------------------------------------------------------------------- model selection
def test_grid_search_eta_lambda(digits):
    X_tr, X_te, y_tr, y_te = digits
    grid = {"eta": [0.05, 0.5], "lmbda": [0.0, 1.0]}
    search = GridSearchCV(MLPClassifier((30,), epochs=5, seed=0), grid, cv=3)
    search.fit(X_tr, y_tr)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_["eta"] == 0.5  # 0.05 is far too slow in 5 epochs
    assert search.best_score_ > 0.8
    assert search.score(X_te, y_te) > 0.8
    assert isinstance(search.best_estimator_.network_, Network)


def test_cross_val_score(digits):
    X_tr, _, y_tr, _ = digits
    scores = cross_val_score(MLPClassifier((30,), epochs=5, seed=0), X_tr, y_tr, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.8


def test_cross_val_score_regressor():
    X, y = _smooth_2d(600, seed=1)
    scores = cross_val_score(MLPRegressor((20,), activation="tanh", seed=0), X, y, cv=3)
    assert scores.min() > 0.8


# ---------------------------------------------------------------------- classifier
def test_fitted_attributes(digits):
    X_tr, _, y_tr, _ = digits
    clf = MLPClassifier((20,), epochs=3, seed=0).fit(X_tr, y_tr)
    assert clf.network_.sizes == [64, 20, 10]
    assert clf.n_features_in_ == 64
    assert isinstance(clf.history_, History) and clf.history_.epochs == clf.n_iter_ == 3
    assert len(clf.history_.loss) == 3
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    proba = clf.predict_proba(X_tr[:5])
    assert proba.shape == (5, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]),
        np.array([3, 7, 42, -1, 100, 5, 6, 8, 9, 11]),
        np.array(
            ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
            dtype=object,
        ),
    ],
    ids=["str", "non-contiguous-int", "object"],
)
def test_arbitrary_labels(digits, labels):
    X_tr, X_te, y_tr, y_te = digits
    clf = MLPClassifier((30,), epochs=5, seed=0).fit(X_tr, labels[y_tr])
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X_te)
    assert set(pred) <= set(labels)
    assert clf.score(X_te, labels[y_te]) > 0.85
    # the probability columns follow classes_
    proba = clf.predict_proba(X_te)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    # same network as with the integer labels 0..9 when the label order agrees
    ref = MLPClassifier((30,), epochs=5, seed=0).fit(
        X_tr, np.searchsorted(clf.classes_, labels[y_tr])
    )
    np.testing.assert_array_equal(ref.network_.W[0], clf.network_.W[0])


@pytest.mark.parametrize(
    "loss", ["cross_entropy", "quadratic", "binary_cross_entropy", "perceptron"]
)
def test_binary_string_labels(digits, loss):
    X_tr, X_te, y_tr, y_te = digits
    keep_tr, keep_te = y_tr < 2, y_te < 2
    names = np.array(["no", "yes"])
    clf = MLPClassifier(
        (10,), loss=loss, epochs=5, seed=0, eta=None if loss != "perceptron" else 0.1
    )
    clf.fit(X_tr[keep_tr], names[y_tr[keep_tr]])
    n_out = 1 if loss in ("binary_cross_entropy", "perceptron") else 2
    assert clf.network_.sizes[-1] == n_out
    assert clf.score(X_te[keep_te], names[y_te[keep_te]]) > 0.95
    assert hasattr(clf, "predict_proba") == (loss != "perceptron")
    if loss != "perceptron":
        assert clf.predict_proba(X_te[:4]).shape == (4, 2)


def test_perceptron_refuses_multiclass(digits):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        MLPClassifier((), loss="perceptron").fit(X_tr, y_tr)


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match=r"at least 2 classes.*got 1 class"):
        MLPClassifier().fit(np.zeros((5, 2)), ["a"] * 5)


def test_seed_reproducibility(digits):
    X_tr, _, y_tr, _ = digits
    a = MLPClassifier((10,), epochs=2, seed=3).fit(X_tr, y_tr)
    b = MLPClassifier((10,), epochs=2, seed=3).fit(X_tr, y_tr)
    c = MLPClassifier((10,), epochs=2, seed=4).fit(X_tr, y_tr)
    for Wa, Wb in zip(a.network_.W, b.network_.W):
        np.testing.assert_array_equal(Wa, Wb)
    assert not np.array_equal(a.network_.W[0], c.network_.W[0])
    # refitting the same estimator reproduces it too
    W0 = a.network_.W[0].copy()
    a.fit(X_tr, y_tr)
    np.testing.assert_array_equal(a.network_.W[0], W0)


def test_optimizer_instance_is_not_shared(digits):
    X_tr, _, y_tr, _ = digits
    opt = SGD(0.1, momentum=0.5)
    clf = MLPClassifier((10,), optimizer=opt, epochs=2, seed=0).fit(X_tr, y_tr)
    assert opt._v is None  # the estimator trained a copy
    first = clf.network_.W[0].copy()
    clf.fit(X_tr, y_tr)
    np.testing.assert_array_equal(first, clf.network_.W[0])


def test_early_stopping_records_validation(digits):
    X_tr, _, y_tr, _ = digits
    clf = MLPClassifier((10,), epochs=50, early_stopping=True, patience=2, seed=0)
    clf.fit(X_tr, y_tr)
    assert len(clf.history_.val_loss) == clf.n_iter_ <= 50
    assert clf.score(X_tr, y_tr) > 0.8


def test_not_fitted():
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(np.zeros((2, 3)))


def test_wrong_number_of_features(digits):
    X_tr, _, y_tr, _ = digits
    clf = MLPClassifier((5,), epochs=1, seed=0).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 64"):
        clf.predict(np.zeros((2, 3)))


# ---------------------------------------------------------------------- regressor
def _smooth_2d(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, (n, 2))
    return X, np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.125 * X[:, 0] * X[:, 1]


@pytest.mark.parametrize("kwargs", [{}, {"activation": "tanh"}], ids=["sigmoid", "tanh"])
def test_regressor_smooth_2d(kwargs):
    X, y = _smooth_2d(1000, seed=0)
    X_te, y_te = _smooth_2d(500, seed=1)
    reg = MLPRegressor((30,), seed=0, **kwargs).fit(X, y)
    assert reg.predict(X_te).shape == (500,)
    assert reg.score(X_te, y_te) > 0.9


def test_regressor_multioutput():
    X, y = _smooth_2d(800, seed=0)
    Y = np.column_stack([y, X[:, 0] ** 2 / 4])
    reg = MLPRegressor((30,), activation="tanh", seed=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.network_.sizes == [2, 30, 2]
    assert reg.predict(X[:7]).shape == (7, 2)
    assert reg.score(X, Y) > 0.9


def test_regressor_bce_for_intensities():
    X, y = _smooth_2d(800, seed=0)
    target = 0.5 + 0.4 * np.tanh(y)  # in (0, 1), like pixel intensities
    reg = MLPRegressor((30,), activation="tanh", loss="binary_cross_entropy", eta=0.5, seed=0)
    reg.fit(X, target)
    assert reg.network_.output.name == "sigmoid"
    assert reg.score(X, target) > 0.9


# ---------------------------------------------------------------------- errors
BAD = [
    ({"hidden_layer_sizes": (30, 0)}, "hidden_layer_sizes must be a tuple of positive integers"),
    ({"hidden_layer_sizes": "30"}, "hidden_layer_sizes must be a tuple of positive integers"),
    ({"activation": "sigmoidd"}, "unknown activation 'sigmoidd'; expected one of"),
    ({"activation": ["relu", "tanh"]}, "one name per hidden layer"),
    ({"loss": "hinge"}, "unknown loss 'hinge'; expected one of"),
    ({"output": "relu"}, "output 'relu' does not go with loss 'cross_entropy'"),
    ({"init": "xavier"}, "unknown init 'xavier'"),
    ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'"),
    ({"eta": -0.1}, "eta must be a positive number, got -0.1"),
    ({"eta": "fast"}, "eta must be a positive number"),
    ({"lmbda": -1.0}, "lmbda must be a number >= 0, got -1.0"),
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"epochs": 2.5}, "epochs must be a positive integer, got 2.5"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"clip": 0.0}, "clip must be a positive number"),
    ({"early_stopping": "yes"}, "early_stopping must be True or False"),
    ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction must be"),
    ({"early_stopping": True, "patience": 0}, "patience must be a positive integer"),
    ({"seed": "abc"}, "seed must be an int"),
]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(("params", "match"), BAD, ids=[str(p) for p, _ in BAD])
def test_bad_params_raise_at_fit(Est, params, match):
    if Est is MLPRegressor and "output" in params:
        params = {"output": "relu", "loss": "binary_cross_entropy"}
        match = "output 'relu' does not go with loss 'binary_cross_entropy'"
    if Est is MLPRegressor and params.get("loss") == "hinge":
        match = "unknown loss 'hinge'; expected one of: quadratic, binary_cross_entropy"
    est = Est(**params)  # constructing never validates (scikit-learn convention)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(ValueError, match=match) as info:
        est.fit(X, y)
    assert str(info.value).startswith(Est.__name__)


def test_softmax_regressor_needs_two_targets():
    with pytest.raises(ValueError, match="MLPRegressor: a softmax output needs at least 2"):
        MLPRegressor(output="softmax").fit(np.zeros((4, 2)), np.zeros(4))


def test_bad_data_raise():
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(np.zeros((4, 2)), [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit([[0.0, np.nan]], [1.0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPRegressor().fit(np.zeros((4, 2)), np.zeros(3))


# ---------------------------------------------------------------------- pickling
@pytest.mark.parametrize(
    "est",
    [
        MLPClassifier((15,), epochs=3, seed=0),
        MLPClassifier((15,), loss="perceptron", seed=0),
        MLPRegressor((15,), epochs=3, seed=0),
    ],
    ids=["classifier", "perceptron", "regressor"],
)
def test_pickle_round_trip(digits, est):
    X_tr, X_te, y_tr, _ = digits
    y = y_tr if est.loss != "perceptron" else np.where(y_tr < 5, "low", "high")
    if isinstance(est, MLPRegressor):
        y = y_tr / 9.0
    est.fit(X_tr, y)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict(X_te), est.predict(X_te))
    if hasattr(est, "predict_proba"):
        np.testing.assert_array_equal(clone.predict_proba(X_te), est.predict_proba(X_te))
    assert clone.get_params() == est.get_params()
