"""Numba kernels behind :mod:`nnscratch.ising` (read :mod:`.monte_carlo` first).

Everything here works on one replica at a time; :func:`run_chains` runs the replicas in parallel
(``prange``). Each replica owns its random stream, so the result does not depend on how the
replicas are spread over threads.

Random numbers: SplitMix64. The state of replica ``r`` is a 64-bit counter that starts at a seed
drawn from the caller's ``np.random.Generator`` and advances by a fixed odd constant; each output is
a strong hash ("mix") of the counter. It passes BigCrush, costs an add and two multiplications, and
a row's worth of numbers can be made from ``counter + q * GAMMA`` without a serial dependency.

Acceptance without ``exp``: a 32-bit random integer ``r`` is uniform on ``[0, 2**32)``, so
``r < round(p * 2**32)`` happens with probability ``p`` (to 2**-32). The thresholds are tabulated
once per temperature by the caller, and ``r < threshold`` is computed as the borrow bit of
``r - threshold`` so that the compiler cannot turn it into an unpredictable branch.
"""

import numpy as np

try:
    from numba import njit, prange
except ImportError as err:  # numba is in requirements.txt and in the "data" extra
    raise ImportError("nnscratch.ising needs numba: pip install numba") from err

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64 counter increment (golden ratio * 2**64)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_U27, _U30, _U31 = np.uint64(27), np.uint64(30), np.uint64(31)
_U32, _U63 = np.uint64(32), np.uint64(63)


@njit(inline="always")
def _mix(z):
    """SplitMix64 output function: a bijective 64-bit hash of the counter ``z``."""
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


@njit(inline="always")
def _metropolis_site(row, up, down, j, left, right, thresholds, r):
    """Propose flipping spin ``row[j]``; return 1 if it flipped, else 0.

    With h the sum of the four neighbours, k = s h is in {-4, -2, 0, 2, 4} and the energy change
    of the flip is dE = 2 k in {-8, -4, 0, 4, 8}; ``thresholds[(k + 4) // 2]`` is
    round(min(1, exp(-dE / T)) * 2**32).
    """
    s = row[j]
    k = s * (up[j] + down[j] + row[left] + row[right])
    accept = np.int64((r - thresholds[(k + 4) >> 1]) >> _U63)  # 1 iff r < threshold
    row[j] = s * (1 - 2 * accept)
    return accept


@njit(cache=True)
def _metropolis_sweep(s, thresholds, state, randoms):
    """One checkerboard sweep over the (L, L) lattice ``s``: first the sites with (i + j) even,
    then the odd ones (L*L flip attempts). Returns (new RNG state, number of flips)."""
    L = s.shape[0]
    n_pairs = randoms.shape[0] // 2
    flips = 0
    for colour in range(2):
        for i in range(L):
            row = s[i]
            up = s[i - 1 if i > 0 else L - 1]
            down = s[i + 1 if i < L - 1 else 0]
            for q in range(n_pairs):  # two 32-bit numbers per 64-bit output
                z = _mix(state + np.uint64(q + 1) * _GAMMA)
                randoms[2 * q] = z >> _U32
                randoms[2 * q + 1] = z & _LOW32
            state += np.uint64(n_pairs) * _GAMMA
            j0 = (i + colour) & 1  # first column of this colour in row i
            start = j0
            if j0 == 0:  # column 0: left neighbour wraps around
                flips += _metropolis_site(row, up, down, 0, L - 1, 1, thresholds, randoms[0])
                start = 2
            for j in range(start, L - 1, 2):  # interior columns
                r = randoms[j >> 1]
                flips += _metropolis_site(row, up, down, j, j - 1, j + 1, thresholds, r)
            last = L - 1  # column L-1: right neighbour wraps around
            if (last - j0) % 2 == 0 and last >= start:
                flips += _metropolis_site(
                    row, up, down, last, last - 1, 0, thresholds, randoms[last >> 1]
                )
    return state, flips


@njit(inline="always")
def _wolff_try_add(s, i, j, L, s0, p_add_threshold, state, stack, top):
    """Add neighbour (i, j) to the cluster with probability p_add if it is aligned with it."""
    if s[i, j] == s0:
        state += _GAMMA
        if (_mix(state) >> _U32) < p_add_threshold:
            s[i, j] = -s0  # flipping on entry marks the site as visited
            stack[top] = i * L + j
            top += 1
    return state, top


@njit(cache=True)
def _wolff_cluster(s, p_add_threshold, state, stack):
    """Grow one Wolff cluster from a random seed site and flip it.

    Returns (new RNG state, cluster size). ``stack`` is scratch space of L*L int64.
    """
    L = s.shape[0]
    state += _GAMMA
    site = np.int64(((_mix(state) >> _U32) * np.uint64(L * L)) >> _U32)  # uniform in [0, L*L)
    i, j = site // L, site % L
    s0 = s[i, j]
    s[i, j] = -s0
    stack[0] = site
    top = 1
    size = 1
    while top > 0:
        top -= 1
        i, j = stack[top] // L, stack[top] % L
        before = top
        state, top = _wolff_try_add(s, i - 1 if i > 0 else L - 1, j, L, s0, p_add_threshold,
                                    state, stack, top)
        state, top = _wolff_try_add(s, i + 1 if i < L - 1 else 0, j, L, s0, p_add_threshold,
                                    state, stack, top)
        state, top = _wolff_try_add(s, i, j - 1 if j > 0 else L - 1, L, s0, p_add_threshold,
                                    state, stack, top)
        state, top = _wolff_try_add(s, i, j + 1 if j < L - 1 else 0, L, s0, p_add_threshold,
                                    state, stack, top)
        size += top - before
    return state, size


@njit(parallel=True, cache=True)
def run_chains(spins, thresholds, p_add_thresholds, seeds, n_sweeps, metropolis, n_clusters):
    """Advance every replica ``r`` of ``spins`` (R, L, L) int8 in place by ``n_sweeps[r]`` steps.

    One step = one Metropolis checkerboard sweep (if ``metropolis``) followed by ``n_clusters``
    Wolff clusters. ``thresholds`` (R, 5) and ``p_add_thresholds`` (R,) are the uint64 acceptance
    thresholds for each replica's temperature, ``seeds`` (R,) uint64 start the random streams.
    Returns the number of flipped spins per replica, (R,) int64.
    """
    R, L = spins.shape[0], spins.shape[1]
    flipped = np.zeros(R, np.int64)
    for r in prange(R):
        s = spins[r]
        state = seeds[r]
        randoms = np.empty(2 * ((L + 3) // 4), np.uint64)  # >= ceil(L / 2), even
        stack = np.empty(L * L, np.int64)
        for _ in range(n_sweeps[r]):
            if metropolis:
                state, n = _metropolis_sweep(s, thresholds[r], state, randoms)
                flipped[r] += n
            for _ in range(n_clusters):
                state, n = _wolff_cluster(s, p_add_thresholds[r], state, stack)
                flipped[r] += n
    return flipped
