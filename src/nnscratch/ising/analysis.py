r"""Reading classifiers of Ising configurations: where their outputs cross, what the best
classifier of a few observables could reach, and the finite-size extrapolation of a crossing.

These are the small numerical steps of the chapter "Phases of the 2D Ising model":

- :func:`split_by_temperature`: a train/test split that keeps the same fraction of every
  temperature;
- :func:`train_phase_network`: a network trained on "ordered" versus "disordered"
  configurations far from the transition (the recipe of the chapter);
- :func:`mean_by_temperature`: average a per-configuration quantity (a network output) over the
  configurations of each temperature;
- :func:`output_crossing`: the temperature where two averaged outputs cross (eq.
  ``tc-crossing``), by linear interpolation between neighbouring temperatures;
- :func:`bootstrap_crossings`: the statistical error of a crossing, by resampling the
  configurations;
- :func:`extrapolate_crossing`: the crossings of several lattice sizes extrapolated to the
  infinite lattice with :math:`T^*(L) = T_c + a L^{-1/\nu}` (eq. ``finite-size-shift``);
- :func:`histogram_classifier`: the Bayes-optimal classifier of one or two observables
  (:math:`|m|`, :math:`E`), with class densities estimated by histograms (eq. ``bayes-rule``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from .._checks import SeedLike, as_generator, check_count, check_non_negative, check_positive
from ..network import Network

if TYPE_CHECKING:
    from .dataset import IsingData


def _as_1d(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return a


def split_by_temperature(T: ArrayLike, test_fraction: float = 0.5,
                         seed: SeedLike = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split with the same ``test_fraction`` of the samples of every
    temperature. T: (n,) the temperature of each sample. Returns two sorted index arrays
    (train, test) that together hold every index once."""
    T = _as_1d(T, "T")
    f = check_positive(test_fraction, "test_fraction")
    if f >= 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = as_generator(seed)
    test = []
    for t in np.unique(T):
        idx = np.flatnonzero(T == t)
        n_test = round(f * idx.size)
        test.append(rng.choice(idx, size=n_test, replace=False))
    is_test = np.zeros(T.size, dtype=bool)
    is_test[np.concatenate(test)] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def mean_by_temperature(values: ArrayLike, T: ArrayLike,
                        temperatures: ArrayLike) -> np.ndarray:
    """Average of ``values`` over the samples at each of ``temperatures``.

    values: (n,) or (n, k) (e.g. the k outputs of a network); T: (n,). Returns (n_T,) or
    (n_T, k). A temperature without samples is an error.
    """
    v = np.asarray(values, dtype=np.float64)
    T = _as_1d(T, "T")
    temps = _as_1d(temperatures, "temperatures")
    if v.ndim not in (1, 2) or v.shape[0] != T.size:
        raise ValueError(f"values must have shape (n,) or (n, k) with n = len(T) = {T.size}, "
                         f"got shape {v.shape}")
    out = []
    for t in temps:
        sel = T == t
        if not sel.any():
            raise ValueError(f"no sample at temperature {t}")
        out.append(v[sel].mean(axis=0))
    return np.array(out)


def output_crossing(T: ArrayLike, a: ArrayLike, b: ArrayLike) -> float:
    r"""The temperature :math:`T^*` where the curves a(T) and b(T) cross (eq. ``tc-crossing``).

    T: (n,) increasing temperatures; a, b: (n,) e.g. the averaged "ordered" and "disordered"
    outputs of a network. The crossing is located between the two neighbouring temperatures where
    d = a - b changes sign and found by linear interpolation of d there; a zero of d at a grid
    point is returned as it is. Raises ValueError when the curves do not cross, or cross more
    than once (then the crossing is not defined; the message lists where they cross).
    """
    T = _as_1d(T, "T")
    a, b = _as_1d(a, "a"), _as_1d(b, "b")
    if not (a.shape == b.shape == T.shape):
        raise ValueError(f"T, a and b must have the same shape, got {T.shape}, {a.shape}, "
                         f"{b.shape}")
    if T.size < 2 or np.any(np.diff(T) <= 0):
        raise ValueError("T must hold at least two strictly increasing temperatures")
    d = a - b
    crossings = []
    k = 0
    while k < d.size:
        if d[k] == 0:  # exactly on a grid point: one crossing for a run of zeros
            j = k
            while j + 1 < d.size and d[j + 1] == 0:
                j += 1
            left = d[k - 1] if k > 0 else 0.0
            right = d[j + 1] if j + 1 < d.size else 0.0
            if left * right < 0:
                crossings.append(0.5 * (T[k] + T[j]))
            k = j + 1
            continue
        if k + 1 < d.size and d[k] * d[k + 1] < 0:
            crossings.append(T[k] - d[k] * (T[k + 1] - T[k]) / (d[k + 1] - d[k]))
        k += 1
    if not crossings:
        raise ValueError(f"the curves do not cross between T = {T[0]:g} and {T[-1]:g} "
                         f"(a - b goes from {d[0]:.3g} to {d[-1]:.3g})")
    if len(crossings) > 1:
        where = ", ".join(f"{c:.3f}" for c in crossings)
        raise ValueError(f"the curves cross {len(crossings)} times (at T = {where}): "
                         "the crossing is ambiguous; average more samples or seeds")
    return float(crossings[0])


def bootstrap_crossings(temperatures: ArrayLike, T: ArrayLike, a: ArrayLike, b: ArrayLike,
                        n_boot: int = 200, seed: SeedLike = 0) -> np.ndarray:
    """Crossings (eq. ``tc-crossing``) of bootstrap replicates of the averaged outputs.

    temperatures: (n_T,) increasing; T: (n,) the temperature of each configuration; a, b: (n,)
    the two outputs for each configuration. Each replicate draws, at every temperature, as many
    configurations as there are, with replacement, averages a and b over them and locates the
    crossing with :func:`output_crossing`. The spread of the result estimates the statistical
    error of the crossing due to the finite number of configurations (treated as independent).
    Replicates whose curves do not cross exactly once are dropped; returns the others, shape
    (<= n_boot,), and raises ValueError if more than a tenth are dropped.
    """
    temps = _as_1d(temperatures, "temperatures")
    T = _as_1d(T, "T")
    a, b = _as_1d(a, "a"), _as_1d(b, "b")
    if not (a.shape == b.shape == T.shape):
        raise ValueError(f"T, a and b must have the same shape, got {T.shape}, {a.shape}, "
                         f"{b.shape}")
    n_boot = check_count(n_boot, "n_boot")
    rng = as_generator(seed)
    groups = [np.flatnonzero(T == t) for t in temps]
    if any(g.size == 0 for g in groups):
        raise ValueError("every temperature needs at least one configuration")
    d = a - b
    out = []
    for _ in range(n_boot):
        mean_d = np.array([d[rng.choice(g, size=g.size)].mean() for g in groups])
        try:
            out.append(output_crossing(temps, mean_d, np.zeros_like(mean_d)))
        except ValueError:
            continue
    if len(out) < 0.9 * n_boot:
        raise ValueError(f"only {len(out)} of {n_boot} bootstrap replicates have a unique "
                         "crossing")
    return np.array(out)


def extrapolate_crossing(L: ArrayLike, T_star: ArrayLike, nu: float = 1.0,
                         T_err: ArrayLike | None = None) -> tuple[float, float, float]:
    r"""Fit :math:`T^*(L) = T_c + a L^{-1/\nu}` (eq. ``finite-size-shift``) by least squares.

    L: (k,) lattice sizes, at least two distinct; T_star: (k,) the crossing at each size;
    nu: the correlation-length exponent (1 for the 2D Ising model); T_err: (k,) optional
    independent errors of T_star. Returns (T_c, a, T_c error): the error is the propagation of
    T_err through the (unweighted) fit, NaN without T_err. With two sizes the line goes through
    both points and :math:`T_c = (x_2 T^*_1 - x_1 T^*_2)/(x_2 - x_1)`, :math:`x = L^{-1/\nu}`.
    """
    L = _as_1d(L, "L")
    T_star = _as_1d(T_star, "T_star")
    nu = check_positive(nu, "nu")
    if L.shape != T_star.shape:
        raise ValueError(f"L and T_star must have the same shape, got {L.shape} and "
                         f"{T_star.shape}")
    if np.any(L <= 0) or np.unique(L).size < 2:
        raise ValueError(f"L must hold at least two distinct positive sizes, got {L.tolist()}")
    x = L ** (-1.0 / nu)
    A = np.column_stack([np.ones_like(x), x])
    coef = np.linalg.pinv(A)  # (2, k): [T_c, a] = coef @ T_star
    Tc, a = coef @ T_star
    if T_err is None:
        return float(Tc), float(a), float("nan")
    err = _as_1d(T_err, "T_err")
    if err.shape != L.shape or np.any(err < 0):
        raise ValueError(f"T_err must hold {L.size} errors >= 0, got {err.tolist()}")
    return float(Tc), float(a), float(np.sqrt(np.sum((coef[0] * err) ** 2)))


def histogram_classifier(F_train: ArrayLike, y_train: ArrayLike, F_test: ArrayLike,
                         bins: int = 40) -> np.ndarray:
    r"""Bayes-optimal classification of observables with histogram densities (eq.
    ``bayes-rule``).

    F_train: (n, d) or (n,) features (d = 1 or 2, e.g. |m| and E per spin); y_train: (n,) labels
    0 ... K-1; F_test: (n_test, d) or (n_test,). Each class density :math:`p(F|k)` is a
    histogram with ``bins`` equal bins per feature over the range of the training features
    (test values outside it count in the edge bins); the prior :math:`P(k)` is the class
    frequency. Returns the labels (n_test,) of the class with the largest
    :math:`P(k)\, p(F|k)`; in a bin no training sample fell in, the most frequent class.
    """
    Ftr = np.asarray(F_train, dtype=np.float64)
    Fte = np.asarray(F_test, dtype=np.float64)
    Ftr = Ftr[:, None] if Ftr.ndim == 1 else Ftr
    Fte = Fte[:, None] if Fte.ndim == 1 else Fte
    if Ftr.ndim != 2 or Fte.ndim != 2 or Ftr.shape[1] != Fte.shape[1] or Ftr.shape[1] > 2:
        raise ValueError(f"F_train and F_test must have shapes (n, d) with the same d <= 2, got "
                         f"{Ftr.shape} and {Fte.shape}")
    if not (np.all(np.isfinite(Ftr)) and np.all(np.isfinite(Fte))):
        raise ValueError("features must be finite")
    y = np.asarray(y_train)
    if y.shape != (Ftr.shape[0],) or y.dtype.kind not in "iu" or y.size == 0 or y.min() < 0:
        raise ValueError(f"y_train must hold {Ftr.shape[0]} integer labels >= 0, got shape "
                         f"{y.shape} and dtype {y.dtype}")
    bins = check_count(bins, "bins")
    K = int(y.max()) + 1
    edges = [np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
             for lo, hi in zip(Ftr.min(axis=0), Ftr.max(axis=0), strict=True)]
    # counts[k] = number of training samples of class k in each bin = n_k p(F|k) * bin volume
    counts = np.stack([np.histogramdd(Ftr[y == k], bins=edges)[0] for k in range(K)])
    index = tuple(np.clip(np.searchsorted(e, Fte[:, j], side="right") - 1, 0, bins - 1)
                  for j, e in enumerate(edges))
    scores = counts[(slice(None), *index)]  # (K, n_test): proportional to P(k) p(F|k)
    pred = scores.argmax(axis=0)
    empty = scores.sum(axis=0) == 0
    pred[empty] = np.bincount(y, minlength=K).argmax()
    return pred.astype(np.int64)


def train_phase_network(data: IsingData, seed: int = 0, *, T_low: float = 1.5, T_high: float = 3.0,
                        n_hidden: int = 30, epochs: int = 20, eta: float | None = None,
                        lmbda: float = 0.0,
                        test_fraction: float = 0.5) -> tuple[Network, np.ndarray]:
    """Train ``[L^2, n_hidden, 2]`` on the phases far from the transition; return (net, test).

    data: an :class:`~nnscratch.ising.IsingData` with ``labels="phase"`` (y = 1 ordered) over a
    sweep of temperatures. The network (sigmoid hidden neurons, softmax outputs, cross-entropy,
    initial weights from ``seed``) is trained by SGD with mini-batches of 10 (order from
    ``seed + 100``) on the configurations at T <= T_low and T >= T_high that fall into the
    training part of :func:`split_by_temperature` (``seed``), each also with all spins flipped
    (eq. ``ising-symmetry``). ``eta=None`` means 50 / L^2: one step then changes the weighted
    inputs z by about the same amount at every L. Returns the network and the sorted indices of
    the test configurations: the rest of the far temperatures and every configuration in between.
    """
    T_low, T_high = check_positive(T_low, "T_low"), check_positive(T_high, "T_high")
    if T_low >= T_high:
        raise ValueError(f"need T_low < T_high, got T_low={T_low}, T_high={T_high}")
    if not np.all(np.isin(data.y, (0, 1))):
        raise ValueError("data must carry phase labels 0/1 (make_dataset(labels='phase'))")
    far = (data.T <= T_low + 1e-9) | (data.T >= T_high - 1e-9)
    if not (np.any(data.T <= T_low + 1e-9) and np.any(data.T >= T_high - 1e-9)):
        raise ValueError(f"data has no configuration at T <= {T_low} or none at T >= {T_high}")
    train, test = split_by_temperature(data.T, test_fraction, seed=seed)
    train, test = train[far[train]], np.union1d(test, np.flatnonzero(~far))
    eta = 50.0 / data.L**2 if eta is None else check_positive(eta, "eta")
    net = Network([data.L**2, check_count(n_hidden, "n_hidden"), 2], loss="cross_entropy",
                  seed=seed)
    net.fit(np.concatenate([data.X[train], -data.X[train]]),
            np.concatenate([data.y[train], data.y[train]]),
            epochs=check_count(epochs, "epochs"), batch_size=10, eta=eta,
            lmbda=check_non_negative(lmbda, "lmbda"), seed=seed + 100)
    return net, test
