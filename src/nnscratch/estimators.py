r"""scikit-learn compatible estimators around :class:`nnscratch.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` follow the scikit-learn estimator API
(``fit`` / ``predict`` / ``predict_proba`` / ``score``, ``get_params`` / ``set_params``, cloning,
pickling), so the book's :math:`\eta \times \lambda` search is a plain ``GridSearchCV``::

    from sklearn.model_selection import GridSearchCV
    from nnscratch.estimators import MLPClassifier

    search = GridSearchCV(
        MLPClassifier((30,), epochs=10, seed=0),
        {"eta": [0.1, 0.5, 2.0], "lmbda": [0.0, 1.0, 5.0]},
        cv=3,
    )
    search.fit(X, y)

The fitted network is ``network_`` (a :class:`~nnscratch.Network`: its ``W``, ``b`` are the
weights of the book) and the per-epoch record is ``history_`` (a
:class:`~nnscratch.training.History`). Class labels may be anything scikit-learn accepts (strings,
non-contiguous integers, ...): they are mapped to ``0..k-1`` (``classes_``) for the network.
Both estimators pass scikit-learn's ``check_estimator`` (see ``tests/test_estimators.py``).

Every random choice (initial weights, shuffling, the early-stopping split) comes from ``seed``:
with an integer seed two fits on the same data give identical networks.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import activations as act
from . import losses, optim
from ._checks import (
    as_generator,
    check_choice,
    check_count,
    check_non_negative,
    check_positive,
)
from .network import INITS, Network
from .training import EarlyStopping, History, train

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


__all__ = ["MLPClassifier", "MLPRegressor"]

Array = np.ndarray

#: Learning rate used when ``eta=None``, per optimiser name (classifier, regressor).
DEFAULT_ETA = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05, "adam": 1e-3}
DEFAULT_ETA_REGRESSION = {"sgd": 0.05, "momentum": 0.005, "nesterov": 0.005, "adam": 1e-3}


class _BaseMLP(BaseEstimator):
    """Shared parameter checking, network construction and training."""

    _losses: tuple[str, ...] = ()
    _task: str = ""
    _default_eta: dict[str, float] = DEFAULT_ETA

    # ------------------------------------------------------------------ parameters
    def _name(self) -> str:
        return type(self).__name__

    def _fail(self, message: str) -> ValueError:
        return ValueError(f"{self._name()}: {message}")

    def _loss_name(self) -> str:
        loss = self.loss
        if isinstance(loss, str):
            loss = losses.ALIASES.get(loss, loss)
        return check_choice(loss, "loss", self._losses)

    def _output_name(self) -> str:
        """The output activation actually used (``output``, or the loss's default)."""
        loss = self._loss_name()
        if self.output is None:
            if self._task == "regression" and loss == "quadratic":
                return "identity"
            return losses.get(loss).default_output
        allowed = losses.get(loss).outputs
        if not isinstance(self.output, str) or self.output not in allowed:
            raise self._fail(
                f"output {self.output!r} does not go with loss {loss!r}; expected None or one "
                f"of: {', '.join(allowed)}"
            )
        return self.output

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
            sizes = (sizes,)
        elif isinstance(sizes, np.ndarray) and sizes.ndim == 1:
            sizes = sizes.tolist()
        if (
            isinstance(sizes, (str, bytes))
            or not isinstance(sizes, Sequence)
            or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                for s in sizes
            )
        ):
            raise self._fail(
                "hidden_layer_sizes must be a tuple of positive integers, one per hidden layer "
                f"(e.g. (30,), or () for none), got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _activations(self, n_hidden: int) -> list[str]:
        names = self.activation
        names = [names] * n_hidden if isinstance(names, str) else names
        if not isinstance(names, Sequence) or len(names) != n_hidden:
            raise self._fail(
                "activation must be one name, or one name per hidden layer "
                f"({n_hidden} for hidden_layer_sizes={self.hidden_layer_sizes!r}), "
                f"got {self.activation!r}"
            )
        return [check_choice(name, "activation", act.HIDDEN) for name in names]

    def _optimizer(self) -> tuple[str | optim.Optimizer, float | None]:
        """A fresh optimiser spec (instances are copied so fits do not share state) and eta."""
        opt = self.optimizer
        if isinstance(opt, optim.Optimizer):
            opt = copy.deepcopy(opt)
            opt.reset()
            default = opt.eta
        elif isinstance(opt, str) and opt in optim.OPTIMIZERS:
            default = self._default_eta[opt]
        else:
            raise self._fail(
                f"unknown optimizer {opt!r}; expected one of: {', '.join(optim.OPTIMIZERS)}, "
                "or an nnscratch.optim.Optimizer"
            )
        eta = default if self.eta is None else self.eta
        return opt, eta

    def _check_params(self) -> dict:
        """Validate every hyper-parameter (at fit time, as scikit-learn wants) and return the
        keyword arguments for :class:`Network` and :func:`train`."""
        try:
            hidden = self._hidden_sizes()
            activation = self._activations(len(hidden))
            loss = self._loss_name()
            output = self._output_name()
            check_choice(self.init, "init", INITS)
            opt, eta = self._optimizer()
            check_positive(eta, "eta")
            check_non_negative(self.lmbda, "lmbda")
            check_count(self.epochs, "epochs")
            check_count(self.batch_size, "batch_size")
            if self.clip is not None:
                check_positive(self.clip, "clip")
            if not isinstance(self.early_stopping, (bool, np.bool_)):
                raise ValueError(
                    f"early_stopping must be True or False, got {self.early_stopping!r}"
                )
            if self.early_stopping:
                frac = self.validation_fraction
                if (
                    isinstance(frac, bool)
                    or not isinstance(frac, (int, float, np.integer, np.floating))
                    or not 0 < frac < 1
                ):
                    raise ValueError(
                        f"validation_fraction must be a number in (0, 1), got {frac!r}"
                    )
                check_count(self.patience, "patience")
            if not isinstance(self.verbose, (bool, np.bool_)):
                raise ValueError(f"verbose must be True or False, got {self.verbose!r}")
            rng = as_generator(self.seed)
        except ValueError as exc:
            message = str(exc)
            if message.startswith(self._name()):
                raise
            raise self._fail(message) from None
        return {
            "hidden": hidden,
            "activation": activation,
            "loss": loss,
            "output": output,
            "optimizer": opt,
            "eta": float(eta),
            "rng": rng,
        }

    # ------------------------------------------------------------------ training
    def _train(self, X: Array, Y: Array, n_out: int, p: dict, stratify: Array | None) -> None:
        """Build ``network_`` and train it on ``X`` ``(n, n_features)``, targets ``Y``."""
        rng: np.random.Generator = p["rng"]
        try:
            net = Network(
                [X.shape[1], *p["hidden"], n_out],
                activation=p["activation"],
                output=p["output"],
                loss=p["loss"],
                init=self.init,
                task=self._task,
                seed=rng,
            )
        except ValueError as exc:  # e.g. a softmax output for a single target
            raise self._fail(str(exc)) from None
        validation_data = None
        callbacks = []
        if self.early_stopping:
            X, Y, validation_data = self._split(X, Y, stratify, rng)
            callbacks.append(EarlyStopping("val_loss", patience=self.patience, restore_best=True))
        self.history_: History = train(
            net,
            X,
            Y,
            epochs=self.epochs,
            batch_size=self.batch_size,
            eta=p["eta"],
            optimizer=p["optimizer"],
            lmbda=self.lmbda,
            clip=self.clip,
            validation_data=validation_data,
            callbacks=callbacks,
            seed=rng,
            progress=bool(self.verbose),
        )
        self.network_ = net
        self.n_iter_ = self.history_.epochs

    def _split(self, X: Array, Y: Array, stratify: Array | None, rng: np.random.Generator):
        """Hold out ``validation_fraction`` of the samples (at least one), stratified by class
        when every class can be represented, else a plain random split."""
        n = X.shape[0]
        if n < 2:
            raise self._fail(
                "early_stopping needs at least 2 samples (one to train on, one to validate), "
                f"got n_samples = {n}"
            )
        n_val = min(max(1, round(self.validation_fraction * n)), n - 1)
        val = None
        if stratify is not None:
            from sklearn.model_selection import StratifiedShuffleSplit

            splitter = StratifiedShuffleSplit(
                n_splits=1, test_size=n_val, random_state=int(rng.integers(2**31 - 1))
            )
            try:
                val = next(splitter.split(X, stratify))[1]
            except ValueError:  # too few samples of some class: fall back to a random split
                val = None
        if val is None:
            val = rng.permutation(n)[:n_val]
        keep = np.ones(n, dtype=bool)
        keep[val] = False
        return X[keep], Y[keep], (X[val], Y[val])

    def _check_X(self, X) -> Array:
        check_is_fitted(self, "network_")
        return validate_data(self, X, dtype=np.float64, reset=False)


def _mlp_init(default_loss: str):
    """The ``__init__`` of both estimators, differing only in the default ``loss``.

    scikit-learn reads the hyper-parameters from the signature of ``__init__`` and wants it to
    store each one unchanged under its own name (validation happens in ``fit``); this writes
    that signature once.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (30,),
        activation: str | Sequence[str] = "sigmoid",
        *,
        loss: str = default_loss,
        output: str | None = None,
        init: str = "nielsen",
        optimizer: str | optim.Optimizer = "sgd",
        eta: float | None = None,
        lmbda: float = 0.0,
        epochs: int = 30,
        batch_size: int = 10,
        clip: float | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        seed: int | np.random.Generator | None = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.output = output
        self.init = init
        self.optimizer = optimizer
        self.eta = eta
        self.lmbda = lmbda
        self.epochs = epochs
        self.batch_size = batch_size
        self.clip = clip
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.seed = seed
        self.verbose = verbose

    return __init__


_COMMON_PARAMS = """\
    hidden_layer_sizes : tuple of int, default=(30,)
        Neurons per hidden layer; ``()`` gives no hidden layer (a linear model / perceptron).
    activation : str or sequence of str, default='sigmoid'
        Hidden activation(s): ``'sigmoid'``, ``'tanh'``, ``'relu'``, ``'leaky_relu'``,
        ``'elu'``, ``'identity'``; one name for all hidden layers or one per layer.
    output : str or None, default=None
        Output activation; ``None`` picks the one that goes with ``loss``.
    init : str, default='nielsen'
        Weight initialisation of :class:`~nnscratch.Network`: ``'nielsen'``, ``'glorot'``,
        ``'he'`` or ``'normal'``.
    optimizer : str or nnscratch.optim.Optimizer, default='sgd'
        ``'sgd'``, ``'momentum'``, ``'nesterov'``, ``'adam'``, or an optimiser instance (copied
        at every fit, so fits never share its state).
    eta : float or None, default=None
        Learning rate :math:`\\eta`. ``None`` uses {eta_default}.
    lmbda : float, default=0.0
        L2 strength :math:`\\lambda` (cost term :math:`\\frac{{\\lambda}}{{2n}}\\sum w^2`).
    epochs : int, default=30
        Passes over the training data (fewer if early stopping ends training).
    batch_size : int, default=10
        Mini-batch size.
    clip : float or None, default=None
        Clip each mini-batch gradient to this global norm.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data{stratified} and stop when its cost
        has not improved for ``patience`` epochs, restoring the best weights.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping`` is on.
    patience : int, default=10
        Epochs without improvement before early stopping ends training.
    seed : int, numpy.random.Generator or None, default=None
        Seed for the initial weights, the shuffling and the validation split. With an int,
        refitting on the same data reproduces the same network exactly.
    verbose : bool, default=False
        Show a progress bar over epochs (tqdm, on stderr).

    Attributes
    ----------
    network_ : nnscratch.Network
        The trained network; ``network_.W[l]`` has shape ``(n_in, n_out)``.
    history_ : nnscratch.training.History
        Per-epoch training cost and score, running means over each epoch's mini-batches
        (``monitor='running'`` of :func:`~nnscratch.training.train`), and the validation ones
        with early stopping.
    n_iter_ : int
        Number of epochs run.
    n_features_in_ : int
        Number of input features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier trained with nnscratch's backpropagation.

        The network has ``n_features`` inputs, the hidden layers of ``hidden_layer_sizes`` and one
        output per class (softmax + cross-entropy by default). With ``loss='binary_cross_entropy'``
        or ``'perceptron'`` a two-class problem uses a single output neuron (threshold 0.5 for a
        sigmoid, 0 for the perceptron's linear output); ``'perceptron'`` only handles two classes.

        Parameters
        ----------
        loss : str, default='cross_entropy'
            ``'cross_entropy'`` (softmax output), ``'quadratic'`` (sigmoid outputs against one-hot
            targets, as in Nielsen's chapter 1), ``'binary_cross_entropy'`` (sigmoid outputs) or
            ``'perceptron'`` (linear output, two classes).
    {common}    classes_ : ndarray of shape (n_classes,)
            The class labels; output ``j`` of the network stands for ``classes_[j]``.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = MLPClassifier((30,), epochs=5, seed=0).fit(X / 16, y)
        >>> clf.predict(X[:3] / 16).shape
        (3,)
    """

    _losses = ("cross_entropy", "quadratic", "binary_cross_entropy", "perceptron")
    _task = "classification"

    __init__ = _mlp_init(default_loss="cross_entropy")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.loss not in ("perceptron", "hinge0")
        return tags

    def fit(self, X, y) -> MLPClassifier:
        """Train a fresh network on ``X`` ``(n_samples, n_features)`` and labels ``y``
        ``(n_samples,)`` (any hashable labels). Returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        p = self._check_params()
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise self._fail(
                f"needs samples of at least 2 classes to fit, got 1 class ({classes[0]!r})"
            )
        if p["loss"] == "perceptron" and classes.size > 2:
            raise self._fail(
                "Only binary classification is supported with loss='perceptron' (one linear "
                f"output, targets -1/+1), got {classes.size} classes; use 'cross_entropy'"
            )
        single = classes.size == 2 and p["loss"] in ("binary_cross_entropy", "perceptron")
        n_out = 1 if single else classes.size
        Y = y_idx.astype(np.float64)[:, None] if single else y_idx
        self._train(X, Y, n_out, p, stratify=y_idx)
        self.classes_ = classes
        return self

    def predict(self, X) -> Array:
        """Class labels ``(n_samples,)`` for ``X`` ``(n_samples, n_features)``."""
        X = self._check_X(X)
        return self.classes_[self.network_.predict(X)]

    def _has_proba(self) -> bool:
        try:
            return self._output_name() in ("softmax", "sigmoid")
        except ValueError:
            return True  # bad parameters: let fit report them

    @available_if(_has_proba)
    def predict_proba(self, X) -> Array:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of
        ``classes_`` (softmax outputs; sigmoid outputs normalised to sum to 1)."""
        X = self._check_X(X)
        return self.network_.predict_proba(X)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor trained with nnscratch's backpropagation.

        One output neuron per target column (``y`` of shape ``(n,)`` or ``(n, n_targets)``), a
        linear (identity) output and the quadratic cost by default. ``loss='binary_cross_entropy'``
        with a sigmoid output fits targets in ``[0, 1]`` (e.g. pixel intensities).

        Parameters
        ----------
        loss : str, default='quadratic'
            ``'quadratic'`` or ``'binary_cross_entropy'``.
    {common}    n_outputs_ : int
            Number of targets.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 200)[:, None]
        >>> reg = MLPRegressor((20,), activation="tanh", epochs=50, eta=0.05, seed=0)
        >>> reg.fit(X, X[:, 0] ** 2).predict(X[:2]).shape
        (2,)
    """

    _losses = ("quadratic", "binary_cross_entropy")
    _task = "regression"
    _default_eta = DEFAULT_ETA_REGRESSION

    __init__ = _mlp_init(default_loss="quadratic")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y) -> MLPRegressor:
        """Train a fresh network on ``X`` ``(n_samples, n_features)`` and targets ``y``
        ``(n_samples,)`` or ``(n_samples, n_targets)``. Returns ``self``."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        p = self._check_params()
        Y = np.asarray(y, dtype=np.float64)
        self._y_1d = Y.ndim == 1
        Y = Y[:, None] if Y.ndim == 1 else Y
        self.n_outputs_ = Y.shape[1]
        self._train(X, Y, Y.shape[1], p, stratify=None)
        return self

    def predict(self, X) -> Array:
        """Predicted targets: ``(n_samples,)`` if ``fit`` saw a 1D ``y``, else
        ``(n_samples, n_targets)``."""
        X = self._check_X(X)
        a = self.network_.feedforward(X)
        return a[:, 0] if self._y_1d else a


MLPClassifier.__doc__ = MLPClassifier.__doc__.format(
    common=_COMMON_PARAMS.format(
        eta_default=", ".join(f"{v:g} for {k!r}" for k, v in DEFAULT_ETA.items())
        + " (the instance's own for an Optimizer)",
        stratified=" (stratified by class)",
    )
)
MLPRegressor.__doc__ = MLPRegressor.__doc__.format(
    common=_COMMON_PARAMS.format(
        eta_default=", ".join(f"{v:g} for {k!r}" for k, v in DEFAULT_ETA_REGRESSION.items())
        + " (the instance's own for an Optimizer)",
        stratified="",
    )
)
