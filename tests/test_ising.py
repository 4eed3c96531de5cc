"""Tests of nnscratch.ising: physics against exact results, reproducibility, the data set cache."""

import os

import numba
import numpy as np
import pytest
from scipy.special import ellipk

from nnscratch import ising


def exact_abs_m(T):
    """Spontaneous magnetisation of the infinite lattice (Yang), T < T_c."""
    return (1.0 - np.sinh(2.0 / T) ** -4) ** 0.125


def exact_energy(T):
    """Onsager's energy per spin of the infinite lattice."""
    beta = 1.0 / T
    kappa = 2.0 * np.sinh(2 * beta) / np.cosh(2 * beta) ** 2
    K = ellipk(kappa**2)  # scipy's ellipk takes the parameter m = kappa^2
    return -1.0 / np.tanh(2 * beta) * (1 + 2 / np.pi * (2 * np.tanh(2 * beta) ** 2 - 1) * K)


def measure(T, L=32, n_replicas=32, n_equilibration=200, n_measure=300, start="cold", seed=0,
            update=ising.simulate):
    """Time series (n_measure, n_replicas) of |m| and E per spin, one entry per sweep."""
    rng = np.random.default_rng(seed)
    spins = ising.initial_spins(n_replicas, L, start, rng)
    update(spins, T, n_equilibration, rng)
    abs_m = np.empty((n_measure, n_replicas))
    E = np.empty((n_measure, n_replicas))
    for t in range(n_measure):
        update(spins, T, 1, rng)
        abs_m[t] = np.abs(ising.magnetisation(spins))
        E[t] = ising.energy(spins)
    return abs_m, E


def standard_error(x):
    """Error of the mean of a (n_steps, n_chains) series, corrected for autocorrelation."""
    tau = ising.integrated_autocorrelation_time(x)
    return x.std() * np.sqrt(tau / x.size)


# --- physics ------------------------------------------------------------------------------


def test_constants():
    assert ising.T_C == pytest.approx(2.269185314213022)
    assert ising.spontaneous_magnetisation(1.5) == pytest.approx(exact_abs_m(1.5))
    assert ising.spontaneous_magnetisation(3.0) == 0.0


@pytest.mark.parametrize("T", [1.5, 2.0])
def test_abs_magnetisation_matches_yang(T):
    # L = 32 is many correlation lengths at T <= 2 (xi ~ 1): finite-size effects << 1 %
    abs_m, _ = measure(T)
    assert abs(abs_m.mean() / exact_abs_m(T) - 1) < 0.01
    assert standard_error(abs_m) < 1e-3  # the 1 % test is not swamped by noise


def test_energy_matches_onsager_at_high_T():
    # At T = 3.5 the correlation length is about one lattice spacing, so the L = 32 value differs
    # from the infinite lattice's by far less than 1e-4 (corrections ~ exp(-L / xi)). The energy
    # per spin fluctuates by ~0.06 per configuration and tau ~ 1.5 sweeps, so the mean over
    # 64 replicas x 1000 sweeps has a standard error of ~3e-4 (asserted, measured with tau):
    # the tolerance 1.5e-3 is about 5 standard errors.
    _, E = measure(3.5, n_replicas=64, n_equilibration=100, n_measure=1000)
    assert standard_error(E) < 3.5e-4
    assert abs(E.mean() - exact_energy(3.5)) < 1.5e-3


def exact_small_lattice(L, T):
    """<E>/N and <|m|> of an L x L periodic lattice by summing over all 2^(L*L) states."""
    states = np.arange(2 ** (L * L))[:, None] >> np.arange(L * L) & 1
    spins = (2 * states - 1).astype(np.int8).reshape(-1, L, L)
    E, abs_m = ising.energy(spins), np.abs(ising.magnetisation(spins))
    weights = np.exp(-(E - E.min()) * L * L / T)
    return np.average(E, weights=weights), np.average(abs_m, weights=weights)


@pytest.mark.parametrize(
    ("L", "update"),
    [(4, ising.metropolis), (4, ising.wolff), (4, ising.simulate),
     # odd L: other wrap-around paths in the kernel. Plain Metropolis sweeps are not ergodic for
     # L <= 3 (the exact sweep transition matrix has several unit eigenvalues), so not tested.
     (3, ising.wolff), (3, ising.simulate)],
)
def test_small_lattice_matches_exact_enumeration(L, update):
    T = 2.5
    abs_m, E = measure(T, L=L, n_replicas=256, n_equilibration=50, n_measure=200, update=update)
    exact_E, exact_abs_m = exact_small_lattice(L, T)
    assert abs(E.mean() - exact_E) < 5 * standard_error(E)
    assert abs(abs_m.mean() - exact_abs_m) < 5 * standard_error(abs_m)


def test_wolff_and_metropolis_agree():
    T, L = 2.2, 16  # just below T_c, small L so that plain Metropolis decorrelates quickly
    m_metro, _ = measure(T, L=L, n_replicas=64, n_measure=1000, update=ising.metropolis, seed=1)
    m_wolff, _ = measure(T, L=L, n_replicas=64, n_measure=1000, update=ising.wolff, seed=2)
    error = np.hypot(standard_error(m_metro), standard_error(m_wolff))  # ~0.002
    assert error < 0.003
    assert abs(m_metro.mean() - m_wolff.mean()) < 4 * error


def test_cold_start_stays_ordered_at_low_T():
    spins = ising.initial_spins(8, 16, "cold")
    ising.metropolis(spins, 1.0, 200, rng=0)
    assert np.all(ising.magnetisation(spins) > 0.95)


def test_hot_and_cold_start_reach_the_same_equilibrium():
    _, E_cold = measure(3.0, L=16, n_replicas=16, n_equilibration=100, n_measure=200)
    _, E_hot = measure(3.0, L=16, n_replicas=16, n_equilibration=100, n_measure=200, start="hot")
    assert abs(E_cold.mean() - E_hot.mean()) < 4 * np.hypot(standard_error(E_cold),
                                                            standard_error(E_hot))


def test_initial_spins_and_observables():
    cold = ising.initial_spins(3, 8, "cold")
    assert cold.shape == (3, 8, 8) and cold.dtype == np.int8
    np.testing.assert_array_equal(ising.magnetisation(cold), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(ising.energy(cold), [-2.0, -2.0, -2.0])
    checkerboard = np.where(np.indices((8, 8)).sum(axis=0) % 2 == 0, 1, -1).astype(np.int8)
    assert ising.energy(checkerboard) == 2.0 and ising.magnetisation(checkerboard) == 0.0
    hot = ising.initial_spins(4, 64, "hot", rng=0)
    assert set(np.unique(hot)) == {-1, 1} and abs(hot.mean()) < 0.02


def test_acceptance_table():
    p = ising.acceptance_table(2.0)
    np.testing.assert_allclose(p, [1, 1, 1, np.exp(-2), np.exp(-4)])
    assert ising.DELTA_E == (-8, -4, 0, 4, 8)


def test_update_counts_and_single_lattice():
    spins = ising.initial_spins(4, 8, "cold")
    assert ising.metropolis(spins, 0.01, 3, rng=0).tolist() == [0, 0, 0, 0]  # nothing flips
    flipped = ising.wolff(spins, 1e-3, n_clusters=1, rng=0)  # p_add ~ 1: whole lattice
    assert flipped.tolist() == [64] * 4 and np.all(spins == -1)
    lattice = ising.initial_spins(1, 8, "hot", rng=1)[0]  # (L, L) works too, in place
    before = lattice.copy()
    assert ising.simulate(lattice, 2.0, 2, rng=0).shape == ()
    assert not np.array_equal(lattice, before)


def test_autocorrelation_time():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((20000, 4))
    assert ising.integrated_autocorrelation_time(noise) == pytest.approx(1.0, abs=0.1)
    phi = 0.8  # AR(1): tau = (1 + phi) / (1 - phi) = 9
    x = np.empty_like(noise)
    x[0] = noise[0]
    for t in range(1, len(x)):
        x[t] = phi * x[t - 1] + noise[t]
    assert ising.integrated_autocorrelation_time(x) == pytest.approx(9.0, rel=0.15)


# --- reproducibility ------------------------------------------------------------------------


def run_chain(seed, start="hot"):
    rng = np.random.default_rng(seed)
    spins = ising.initial_spins(6, 12, start, rng)
    ising.simulate(spins, np.linspace(1.5, 3.0, 6), 20, rng)
    return spins


def test_same_seed_same_output_different_seed_differs():
    np.testing.assert_array_equal(run_chain(7), run_chain(7))
    assert not np.array_equal(run_chain(7), run_chain(8))
    assert not np.array_equal(run_chain(7, "cold"), run_chain(8, "cold"))


def test_output_does_not_depend_on_thread_count():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = run_chain(3)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one_thread, run_chain(3))


# --- the data set ---------------------------------------------------------------------------

SMALL = dict(temperatures=(1.5, 3.0), n_per_T=20, L=8, n_replicas=4, n_equilibration=20)


def test_make_dataset_shapes_dtypes_labels(tmp_path):
    data = ising.make_dataset(**SMALL, seed=0, cache_dir=tmp_path)
    X, y, T = data
    assert X.shape == (40, 64) and X.dtype == np.float64
    assert set(np.unique(X)) == {-1.0, 1.0}
    assert y.dtype == np.int64 and y.tolist() == [1] * 20 + [0] * 20
    assert T.dtype == np.float64 and T.tolist() == [1.5] * 20 + [3.0] * 20
    assert data.spins.shape == (40, 8, 8) and data.spins.dtype == np.int8
    assert data.n_between.shape == data.tau.shape == (2,)
    assert np.all(data.n_between >= np.maximum(2, 2 * data.tau))
    assert np.abs(X[:20].mean(axis=1)).mean() > 0.9  # ordered
    assert np.abs(X[20:].mean(axis=1)).mean() < 0.5  # disordered
    assert data.path is not None and data.path.parent == tmp_path


def test_temperature_labels_index_the_given_temperatures(tmp_path):
    temps = (3.0, 1.5, 2.3)  # not sorted: the label is the position in this tuple
    kw = {**SMALL, "temperatures": temps, "n_per_T": 8}
    by_T = ising.make_dataset(**kw, seed=1, cache_dir=tmp_path, labels="temperature")
    by_phase = ising.make_dataset(**kw, seed=1, cache_dir=tmp_path)  # same cache file
    assert by_T.path == by_phase.path and len(list(tmp_path.glob("*.npz"))) == 1
    np.testing.assert_array_equal(by_T.X, by_phase.X)
    assert by_T.y.dtype == np.int64 and by_T.y.tolist() == [0] * 8 + [1] * 8 + [2] * 8
    np.testing.assert_array_equal(np.asarray(temps)[by_T.y], by_T.T)
    assert by_phase.y.tolist() == [0] * 8 + [1] * 8 + [0] * 8  # 2.3 > T_c: disordered
    fresh = ising.make_dataset(**kw, seed=1, use_cache=False, labels="temperature")
    np.testing.assert_array_equal(fresh.y, by_T.y)


def test_make_dataset_reproducible(tmp_path):
    a = ising.make_dataset(**SMALL, seed=5, use_cache=False)
    b = ising.make_dataset(**SMALL, seed=5, use_cache=False)
    c = ising.make_dataset(**SMALL, seed=6, use_cache=False)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert not list(tmp_path.iterdir())


def test_cache_hit_does_not_recompute(tmp_path, monkeypatch):
    first = ising.make_dataset(**SMALL, seed=1, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert files == [first.path]
    mtime = os.stat(first.path).st_mtime_ns

    def no_recompute(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(ising.dataset, "_generate", no_recompute)
    second = ising.make_dataset(**SMALL, seed=1, cache_dir=tmp_path)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.tau, second.tau)
    assert os.stat(first.path).st_mtime_ns == mtime
    with pytest.raises(AssertionError, match="cache was not used"):  # other parameters: a miss
        ising.make_dataset(**SMALL, seed=2, cache_dir=tmp_path)


def corrupt_by_truncation(path):
    path.write_bytes(path.read_bytes()[:100])


def corrupt_by_garbage(path):
    path.write_bytes(b"not a zip file" * 10)


def corrupt_spins(path):  # a valid .npz whose content no longer matches its checksum
    with np.load(path) as f:
        arrays = dict(f)
    arrays["spins"][0, 0, 0] *= -1
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("corrupt", [corrupt_by_truncation, corrupt_by_garbage, corrupt_spins])
def test_corrupt_cache_is_detected_and_regenerated(tmp_path, corrupt):
    first = ising.make_dataset(**SMALL, seed=3, cache_dir=tmp_path)
    corrupt(first.path)
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        again = ising.make_dataset(**SMALL, seed=3, cache_dir=tmp_path)
    np.testing.assert_array_equal(first.X, again.X)
    third = ising.make_dataset(**SMALL, seed=3, cache_dir=tmp_path)  # repaired: no warning
    np.testing.assert_array_equal(first.X, third.X)
    assert [p.name for p in tmp_path.iterdir()] == [first.path.name]  # no temporary files left


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NNSCRATCH_CACHE", str(tmp_path / "nn"))
    assert ising.default_cache_dir() == tmp_path / "nn" / "ising"
    monkeypatch.delenv("NNSCRATCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ising.default_cache_dir() == tmp_path / "xdg" / "nnscratch" / "ising"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ising.default_cache_dir() == ising.dataset.Path.home() / ".cache/nnscratch/ising"


def test_course_dataset(tmp_path):
    X, y, T = data = ising.make_dataset(cache_dir=tmp_path)
    assert X.shape == (3000, 32 * 32) and T.shape == (3000,)
    np.testing.assert_array_equal(data.temperatures, ising.COURSE_TEMPERATURES)
    assert np.bincount(y).tolist() == [2000, 1000]  # only T = 1.5 is below T_c
    assert np.all(data.n_between >= 2 * data.tau)
    sweep = ising.temperature_sweep()
    assert len(sweep) == 30 and sweep[0] == 1.0 and sweep[-1] == 3.5


# --- bad inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ising.initial_spins(2, 1), "L must be an integer >= 2, got 1"),
        (lambda: ising.initial_spins(0, 8), "n_replicas must be .* got 0"),
        (lambda: ising.initial_spins(2, 8, "warm"), "start must be one of .* got 'warm'"),
        (lambda: ising.simulate(ising.initial_spins(2, 8), 0.0), "> 0, got 0.0"),
        (lambda: ising.metropolis(ising.initial_spins(2, 8), -1.0), "> 0, got -1.0"),
        (lambda: ising.simulate(ising.initial_spins(2, 8), [1.0, 2.0, 3.0]), r"shape \(2,\)"),
        (lambda: ising.simulate(np.ones((2, 8, 8)), 2.0), "int8 .* got float64"),
        (lambda: ising.simulate(np.ones((2, 8, 6), np.int8), 2.0), r"got shape \(2, 8, 6\)"),
        (lambda: ising.simulate(np.zeros((8, 8), np.int8), 2.0), r"only \+1 and -1"),
        (lambda: ising.simulate(ising.initial_spins(2, 8), 2.0, -1), "n_sweeps .* got -1"),
        (lambda: ising.wolff(ising.initial_spins(2, 8), 2.0, 1.5), "n_clusters .* got 1.5"),
        (lambda: ising.make_dataset(L=1), "L must be an integer >= 2, got 1"),
        (lambda: ising.make_dataset(n_per_T=0), "n_per_T must be .* got 0"),
        (lambda: ising.make_dataset([1.0, 0.0]), r"> 0, got \[1.0, 0.0\]"),
        (lambda: ising.make_dataset(start="lukewarm"), "start must be one of"),
        (lambda: ising.make_dataset(labels="colour"), "labels must be one of"),
        (lambda: ising.make_dataset([1.5, 3.0, 1.5]), "temperatures must be distinct"),
        (lambda: ising.make_dataset(seed="abc"), "seed .* got 'abc'"),
        (lambda: ising.temperature_sweep(10, 3.0, 2.0), "T_min < T_max"),
        (lambda: ising.integrated_autocorrelation_time([1.0]), "n_steps >= 2"),
    ],
)
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- analysis: crossings, histogram classifier, finite-size extrapolation -------------------


def test_output_crossing_of_synthetic_curves():
    T = np.linspace(1.0, 3.5, 26)
    ordered = 1 / (1 + np.exp((T - 2.31) / 0.05))  # crosses 1/2 at exactly 2.31
    # linear interpolation between the grid points 2.3 and 2.4 of a steep logistic
    assert ising.output_crossing(T, ordered, 1 - ordered) == pytest.approx(2.31, abs=0.02)
    # straight lines: linear interpolation is exact, wherever the crossing falls
    a, b = 1.0 - 0.3 * T, 0.2 * T - 0.5
    assert ising.output_crossing(T, a, b) == pytest.approx(1.5 / 0.5)
    assert ising.output_crossing(T, b, a) == pytest.approx(3.0)  # symmetric in a and b
    # a crossing exactly on a grid point
    assert ising.output_crossing([1.0, 2.0, 3.0], [1.0, 0.5, 0.0], [0.0, 0.5, 1.0]) == 2.0


def test_output_crossing_raises_when_undefined():
    T = np.linspace(1.0, 3.5, 26)
    with pytest.raises(ValueError, match="do not cross"):
        ising.output_crossing(T, np.full(26, 0.9), np.full(26, 0.1))
    wiggle = 0.5 + 0.2 * np.sin(3 * T)  # crosses 1/2 three times
    with pytest.raises(ValueError, match="cross 3 times"):
        ising.output_crossing(T, wiggle, 1 - wiggle)
    with pytest.raises(ValueError, match="increasing"):
        ising.output_crossing(T[::-1], T, -T)
    with pytest.raises(ValueError, match="same shape"):
        ising.output_crossing(T, T, T[:-1])
    with pytest.raises(ValueError, match="at least two distinct"):
        ising.extrapolate_crossing([32, 32], [2.3, 2.31])


def test_extrapolate_crossing_recovers_the_line():
    L = np.array([16, 32, 64])
    Tc, a, err = ising.extrapolate_crossing(L, 2.269 + 1.5 / L)
    assert Tc == pytest.approx(2.269) and a == pytest.approx(1.5) and np.isnan(err)
    Tc, a, _ = ising.extrapolate_crossing(L, 2.0 + 0.7 * L**-0.5, nu=2.0)
    assert Tc == pytest.approx(2.0) and a == pytest.approx(0.7)
    # two sizes: T_c = 2 T*(64) - T*(32), so its error is sqrt(4 s64^2 + s32^2)
    Tc, _, err = ising.extrapolate_crossing([32, 64], [2.33, 2.30], T_err=[0.01, 0.02])
    assert Tc == pytest.approx(2.27) and err == pytest.approx(np.sqrt(4 * 0.02**2 + 0.01**2))


def test_bootstrap_crossings_spread_matches_the_noise():
    rng = np.random.default_rng(0)
    temps = np.linspace(2.0, 2.6, 7)
    T = np.repeat(temps, 400)
    p = 1 / (1 + np.exp((T - 2.3) / 0.1))
    ordered = (rng.random(T.size) < p).astype(float)  # 0/1 outputs, mean p(T)
    boot = ising.bootstrap_crossings(temps, T, ordered, 1 - ordered, n_boot=300, seed=1)
    assert boot.size >= 270
    assert boot.mean() == pytest.approx(2.3, abs=0.01)
    # binomial noise of the mean at T ~ 2.3: sd 0.5/sqrt(400) = 0.025 in p, slope dp/dT = 2.5
    assert 0.003 < boot.std() < 0.02


def test_split_and_mean_by_temperature():
    T = np.repeat([1.5, 2.3, 3.0], [10, 20, 30])
    train, test = ising.split_by_temperature(T, 0.5, seed=1)
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(60))
    assert np.bincount(np.searchsorted([1.5, 2.3, 3.0], T[test])).tolist() == [5, 10, 15]
    again = ising.split_by_temperature(T, 0.5, seed=1)
    assert np.array_equal(again[1], test)
    values = np.column_stack([T, 2 * T])
    np.testing.assert_allclose(ising.mean_by_temperature(values, T, [3.0, 1.5]),
                               [[3.0, 6.0], [1.5, 3.0]])
    with pytest.raises(ValueError, match="no sample at temperature 2"):
        ising.mean_by_temperature(T, T, [2.0])


def test_histogram_classifier_reaches_the_bayes_accuracy():
    # two Gaussians N(0, 1) and N(2, 1), equal priors: the Bayes rule thresholds at 1 and is
    # right with probability Phi(1) = 0.8413
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40_000)
    F = rng.normal(2.0 * y, 1.0)
    pred = ising.histogram_classifier(F[:20_000], y[:20_000], F[20_000:], bins=40)
    assert np.mean(pred == y[20_000:]) == pytest.approx(0.8413, abs=0.01)
    # two features, the second one useless: the same accuracy
    F2 = np.column_stack([F, rng.normal(size=F.size)])
    pred2 = ising.histogram_classifier(F2[:20_000], y[:20_000], F2[20_000:], bins=20)
    assert np.mean(pred2 == y[20_000:]) == pytest.approx(0.8413, abs=0.015)
    # unequal priors: an empty region goes to the most frequent class
    assert ising.histogram_classifier([0.0, 0.1, 5.0], [1, 1, 0], [2.5]).tolist() == [1]
    with pytest.raises(ValueError, match="integer labels"):
        ising.histogram_classifier([0.0, 1.0], [0.5, 1.0], [0.5])


def test_ising_plots_draw_and_validate():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnscratch import plots

    rng = np.random.default_rng(0)
    T = np.repeat([1.5, 3.0], 50)
    fig = plots.observable_histograms(rng.random(100), -rng.random(100), T)
    assert [ax.get_xlabel() for ax in fig.axes] == ["|m|", "E / L²"]
    temps = np.linspace(1.0, 3.5, 11)
    p = 1 / (1 + np.exp((temps - 2.3) / 0.1))
    out = np.stack([np.column_stack([1 - p, p])] * 3)
    fig2 = plots.phase_outputs(temps, {16: out, 32: out}, crossings={16: (2.3, 0.01)},
                               Tc=ising.T_C, train=(1.5, 3.0))
    assert len(fig2.axes) == 2 and fig2.axes[0].get_xlabel() == "T"
    ax = plots.crossing_vs_size([16, 32, 64], [2.35, 2.31, 2.29], [0.01, 0.01, 0.01],
                                Tc=ising.T_C, fit=(2.27, 1.3))
    assert ax.get_ylabel() == "T*"
    ax2 = plots.hidden_vs_magnetisation(rng.uniform(-1, 1, 50), rng.normal(size=(50, 2)))
    assert ax2.get_xlabel() == "m"
    with pytest.raises(ValueError, match="same length"):
        plots.observable_histograms([0.1, 0.2], [-1.0], [1.5, 1.5])
    with pytest.raises(ValueError, match=r"shape \(n_seeds, 11, 2\)"):
        plots.phase_outputs(temps, {16: out[:, :5]})
    with pytest.raises(ValueError, match=r"z must have shape \(50, k\)"):
        plots.hidden_vs_magnetisation(np.zeros(50), np.zeros((40, 2)))
    plt.close("all")


def test_block_spins_majority_rule():
    X = np.array([[1, 1, -1, -1], [1, -1, -1, -1], [1, 1, 1, -1], [-1, 1, -1, 1]], float)
    # blocks: sum 2 -> +1, sum -4 -> -1, sum 2 -> +1, sum 0 -> tie -> top-left spin (+1)
    assert ising.block_spins(X.reshape(1, 16), 2).tolist() == [[1.0, -1.0, 1.0, 1.0]]
    lattice = ising.block_spins(X.reshape(1, 4, 4).astype(np.int8), 2)
    assert lattice.dtype == np.int8 and lattice.shape == (1, 2, 2)
    # the rule commutes with the global flip, and b = 1 is the identity
    rng = np.random.default_rng(0)
    S = rng.choice([-1.0, 1.0], size=(5, 64))
    np.testing.assert_array_equal(ising.block_spins(-S, 2), -ising.block_spins(S, 2))
    np.testing.assert_array_equal(ising.block_spins(S, 1), S)
    with pytest.raises(ValueError, match="not a multiple"):
        ising.block_spins(S, 3)
    with pytest.raises(ValueError, match=r"only \+1 and -1"):
        ising.block_spins(np.zeros((1, 16)), 2)


def test_train_phase_network_learns_far_phases(tmp_path):
    temps = [1.2, 1.5, 2.2, 2.4, 3.0, 3.5]
    data = ising.make_dataset(temps, n_per_T=40, L=16, n_replicas=8, cache_dir=tmp_path)
    net, test = ising.train_phase_network(data, seed=0)
    assert net.sizes == [256, 30, 2]
    far = (data.T <= 1.5) | (data.T >= 3.0)
    assert set(np.flatnonzero(~far)) <= set(test)  # everything in between is test data
    assert net.score(data.X[test][far[test]], data.y[test][far[test]]) > 0.95
    p = ising.mean_by_temperature(net.predict_proba(data.X[test]), data.T[test], temps)
    assert 2.0 < ising.output_crossing(temps, p[:, 1], p[:, 0]) < 3.0
    with pytest.raises(ValueError, match="T_low < T_high"):
        ising.train_phase_network(data, T_low=3.0, T_high=1.5)
