"""Speed of nnscratch.ising: flip attempts per second, autocorrelation times, data set time.

    python benchmarks/ising_speed.py           # full run (about a minute)
    python benchmarks/ising_speed.py --quick   # smoke test (a few seconds)

Compares nnscratch's Metropolis sampler (numba, many replicas in parallel) with a straightforward
single-replica NumPy checkerboard written below, measures the integrated autocorrelation time of
the sampler at the course temperatures, and times the course data set from scratch. Prints
whether the targets are met; never fails on timing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from nnscratch import ising

TARGET_FLIPS = 2e8  # flip attempts per second
TARGET_DATASET = 30.0  # seconds for the 3-temperature course data set


def numpy_checkerboard(spins: np.ndarray, T: float, n_sweeps: int, rng: np.random.Generator):
    """The baseline: one (L, L) lattice, np.roll neighbour sums, rng.random for acceptance."""
    L = spins.shape[0]
    colours = [(np.add.outer(np.arange(L), np.arange(L)) % 2) == c for c in (0, 1)]
    for _ in range(n_sweeps):
        for colour in colours:
            h = (np.roll(spins, 1, 0) + np.roll(spins, -1, 0)
                 + np.roll(spins, 1, 1) + np.roll(spins, -1, 1))
            dE = 2 * spins * h
            accept = colour & (rng.random((L, L)) < np.exp(-dE / T))
            spins[accept] *= -1


def best_rate(run, n_attempts: int, repeats: int) -> float:
    """Flip attempts per second, best of ``repeats`` runs (the machine is shared and noisy)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return n_attempts / best


def flips_table(quick: bool) -> float:
    T = ising.T_C
    print(f"\n## Metropolis flip attempts per second at T = T_c = {T:.3f}")
    print(f"nnscratch: numba kernel, replicas in parallel on {numba.get_num_threads()} threads; "
          "NumPy baseline: one replica")
    print(f"{'L':>5} {'replicas':>8} {'nnscratch flips/s':>18} {'(1 replica)':>12} "
          f"{'NumPy flips/s':>14} {'ratio':>7}")
    rng = np.random.default_rng(0)
    worst = np.inf
    for L, R in ([(16, 8), (32, 8)] if quick else [(32, 64), (128, 16)]):
        spins = ising.initial_spins(R, L, "hot", rng)
        ising.metropolis(spins, T, 1, rng)  # warm up: JIT / thread pool
        n_sweeps = 20 if quick else max(1, int(4e8 / (R * L * L)))
        ours = best_rate(lambda: ising.metropolis(spins, T, n_sweeps, rng),  # noqa: B023
                         R * L * L * n_sweeps, 2 if quick else 3)
        one = ising.initial_spins(1, L, "hot", rng)
        n_one = max(1, n_sweeps * R // 8)
        single = best_rate(lambda: ising.metropolis(one, T, n_one, rng),  # noqa: B023
                           L * L * n_one, 2)
        lattice = ising.initial_spins(1, L, "hot", rng)[0]
        n_base = 5 if quick else max(1, int(2e6 / (L * L)))
        base = best_rate(lambda: numpy_checkerboard(lattice, T, n_base, rng),  # noqa: B023
                         L * L * n_base, 2)
        worst = min(worst, ours)
        print(f"{L:>5} {R:>8} {ours:>18.3g} {single:>12.3g} {base:>14.3g} {ours / base:>7.0f}")
    met = "met" if worst >= TARGET_FLIPS else "NOT met"
    met = "not judged (--quick sizes)" if quick else met
    print(f"target >= {TARGET_FLIPS:.0e} flips/s: {met} (slowest {worst:.3g}); ratio = "
          "nnscratch (all replicas) / NumPy")
    return worst


def autocorrelation(quick: bool) -> dict[float, float]:
    """Print tau at the course temperatures; return {T: tau} of simulate (the larger of |m|, E)."""
    L, R = 32, 32
    n_measure = 100 if quick else 2000
    print(f"\n## Integrated autocorrelation time tau (sweeps), L = {L}, {R} replicas x "
          f"{n_measure} sweeps")
    print("simulate = 1 Metropolis sweep + 1 Wolff cluster per sweep (what make_dataset uses)")
    print(f"{'T':>6} {'update':>10} {'tau |m|':>8} {'tau E':>7} {'2 tau':>6} {'us/sweep':>9}")
    rng = np.random.default_rng(1)
    taus = {}
    for T in ising.COURSE_TEMPERATURES:
        for name, n_clusters in (("simulate", 1), ("Metropolis", 0)):
            spins = ising.initial_spins(R, L, "cold", rng)
            ising.simulate(spins, T, 200, rng, n_clusters=n_clusters)
            abs_m, E = np.empty((n_measure, R)), np.empty((n_measure, R))
            t0 = time.perf_counter()
            for t in range(n_measure):
                ising.simulate(spins, T, 1, rng, n_clusters=n_clusters)
                abs_m[t], E[t] = np.abs(ising.magnetisation(spins)), ising.energy(spins)
            us = (time.perf_counter() - t0) / n_measure / R * 1e6
            tau_m = ising.integrated_autocorrelation_time(abs_m)
            tau_E = ising.integrated_autocorrelation_time(E)
            print(f"{T:>6.2f} {name:>10} {tau_m:>8.2f} {tau_E:>7.2f} "
                  f"{2 * max(tau_m, tau_E):>6.1f} {us:>9.1f}")
            if n_clusters == 1:
                taus[T] = max(tau_m, tau_E)
    print("(tau = 1 + 2 sum rho(t); us/sweep: wall time per replica-sweep incl. measuring)")
    return taus


def first_call_seconds(numba_cache_dir: str, n_per_T: int) -> tuple[float, float, float]:
    """In a fresh interpreter: seconds to import, for the first (tiny) call, for the data set."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from nnscratch import ising; t1 = time.perf_counter()\n"
        "ising.simulate(ising.initial_spins(2, 4), 2.0, 1, rng=0); t2 = time.perf_counter()\n"
        f"ising.make_dataset(n_per_T={n_per_T}, use_cache=False); t3 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1, t3 - t2)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=numba_cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return tuple(float(x) for x in out.split())


def dataset_time(quick: bool, taus: dict[float, float]) -> float:
    n_per_T = 50 if quick else 1000
    print(f"\n## Course data set: {n_per_T} configurations at each T in "
          f"{ising.COURSE_TEMPERATURES}, L = {ising.COURSE_L}")
    totals = []
    if not quick:
        with tempfile.TemporaryDirectory() as numba_cache:
            for label in ("empty numba cache (compiles)", "numba cache warm"):
                t_import, t_jit, t_data = first_call_seconds(numba_cache, n_per_T)
                totals.append(t_import + t_jit + t_data)
                print(f"fresh interpreter, {label}: import {t_import:.2f} s, first call "
                      f"(JIT) {t_jit:.2f} s, data set {t_data:.2f} s, total {totals[-1]:.2f} s")
    with tempfile.TemporaryDirectory() as cache_dir:
        t0 = time.perf_counter()
        data = ising.make_dataset(n_per_T=n_per_T, cache_dir=cache_dir)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        ising.make_dataset(n_per_T=n_per_T, cache_dir=cache_dir)
        t_hit = time.perf_counter() - t0
    print(f"in process (JIT done): generate + write cache {t_cold:.2f} s, cache hit {t_hit:.3f} s")
    for T, tau, gap in zip(data.temperatures, data.tau, data.n_between, strict=True):
        long = taus[float(T)]
        ok = "yes" if gap >= 2 * long else "NO"
        print(f"  T = {T:.2f}: pilot tau = {tau:.2f}, sample every {gap} sweeps; "
              f">= 2 tau of the long run above ({2 * long:.1f}): {ok}")
    worst = max([t_cold, *totals])
    met = "met" if worst <= TARGET_DATASET else "NOT met"
    met = "not judged (--quick sizes)" if quick else met
    print(f"target <= {TARGET_DATASET:.0f} s: {met} (slowest, compile included: {worst:.2f} s)")
    if not quick:
        sweep = ising.temperature_sweep()
        t0 = time.perf_counter()
        ising.make_dataset(sweep, 500, use_cache=False)
        print(f"temperature sweep, {len(sweep)} T in [1.0, 3.5] x 500: "
              f"{time.perf_counter() - t0:.2f} s")
    return t_cold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    args = parser.parse_args(argv)
    print(f"nnscratch.ising benchmark ({'quick' if args.quick else 'full'}): {os.cpu_count()} "
          f"CPUs, numba {numba.__version__}, NumPy {np.__version__}")
    flips_table(args.quick)
    taus = autocorrelation(args.quick)
    dataset_time(args.quick, taus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
