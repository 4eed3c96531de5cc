"""The grader of ps4-softmax-ising: references, diagnoses, partial credit, hostile code."""

from __future__ import annotations

import builtins
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnscratch.gradcheck import numerical_gradient
from nnscratch.grading import ps4
from nnscratch.grading import softmax_mutations as sm

FLOAT = builtins.float


# --------------------------------------------------------------------------------------------
# Student code, written independently of the grader (plain numpy, in this file)
# --------------------------------------------------------------------------------------------


def good_log_softmax(z):
    z = np.asarray(z, dtype=float)
    m = z.max(axis=-1, keepdims=True)
    return (z - m) - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _lse(z, axis=-1):
    m = z.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


LOG_SOFTMAX_BUGS = {
    # name: (function, visible score of 1, hidden score of 3, phrase in the hidden report)
    "naive": (lambda z: np.log(np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)),
              1.0, 1.5, "exp(z) overflows"),
    "naive_lse": (lambda z: z - np.log(np.exp(z).sum(axis=-1, keepdims=True)),
                  1.0, 1.5, "RuntimeWarning"),
    "divide": (lambda z: z / _lse(z), 0.0, 0.75,
               "divides by logsumexp(z) instead of subtracting it"),
    "probabilities": (lambda z: np.exp(good_log_softmax(z)), 0.0, 0.75,
                      "returns the softmax probabilities"),
    "sign": (lambda z: -good_log_softmax(z), 0.0, 1.12, "the sign is flipped"),
    "no_add_back": (lambda z: z - np.log(np.exp(z - z.max(axis=-1, keepdims=True))
                                         .sum(axis=-1, keepdims=True)),
                    0.0, 0.75, "too large by the row maximum"),
    "columns": (lambda z: z - _lse(z, axis=0), 0.5, 1.88, "each column is normalised"),
    "whole": (lambda z: z - _lse(z.reshape(-1), axis=-1), 0.5, 1.88,
              "the whole array is normalised"),
    "global_max": (lambda z: z - z.max() - np.log(np.exp(z - z.max()).sum(axis=-1,
                                                                         keepdims=True)),
                   1.0, 2.25, "contains inf"),
    "in_place": (lambda z: _in_place(z), 1.0, 2.62, "changed its input z"),
}


def _in_place(z):
    z -= z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def make_backprop(output="ok", mean="ok", hidden_df="z", hidden_w="T", grad_w="ok",
                  grad_b="ok"):
    """A student's backprop with the mistakes named as in softmax_mutations.SoftmaxBug."""

    def backprop(X, T, W1, b1, W2, b2):
        N = X.shape[0]
        Z1 = X @ W1 + b1
        A1 = _sigmoid(Z1)
        Z2 = A1 @ W2 + b2
        E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        A2 = E / E.sum(axis=1, keepdims=True)
        err = {"ok": A2 - T, "no_t": A2, "sign": T - A2,
               "sigma_prime": (A2 - T) * _sigmoid(Z2) * (1 - _sigmoid(Z2)),
               "softmax_diag": (A2 - T) * A2 * (1 - A2), "logits": Z2 - T,
               "sigmoid": _sigmoid(Z2) - T}[output]
        D2 = err / {"ok": N, "none": 1, "twice": N * N}[mean]
        back = D2 @ (W2.T if hidden_w == "T" else W2)
        df = {"z": _sigmoid(Z1) * (1 - _sigmoid(Z1)), "a": _sigmoid(A1) * (1 - _sigmoid(A1)),
              "none": 1.0}[hidden_df]
        D1 = back * df
        grads = []
        for A, D in ((X, D1), (A1, D2)):
            gw = A.T @ D if grad_w == "ok" else (A.T @ D).T
            gb = {"ok": D.sum(axis=0), "unsummed": D, "mean": D.mean(axis=0)}[grad_b]
            grads += [gw, gb]
        return tuple(grads)

    return backprop


good_backprop = make_backprop()


def _cost(X, T, W1, b1, W2, b2):
    A2 = sm.softmax(_sigmoid(X @ W1 + b1) @ W2 + b2)
    return -float(np.sum(T * np.log(A2))) / X.shape[0]


# --------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------


def test_reference_log_softmax_matches_scipy_and_never_overflows():
    from scipy.special import log_softmax

    rng = np.random.default_rng(0)
    for z in (rng.normal(0, 3, 7), rng.normal(0, 30, (6, 5)), rng.normal(0, 1, (3, 1)),
              np.array([1000.0, 0.0, -1000.0]), np.array([[-1e4, -1e4 - 1], [1e4, 0.0]])):
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            got = sm.reference_log_softmax(z)
        np.testing.assert_allclose(got, log_softmax(z, axis=-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sm.reference_log_softmax(np.array([1000.0, 0.0, -1000.0])),
                               [0.0, -1000.0, -2000.0])


@pytest.mark.parametrize("sizes,N", [((4, 5, 3), 5), ((3, 3, 3), 2), ((6, 2, 4), 7)])
def test_reference_backprop_matches_finite_differences(sizes, N):
    case = ps4._make_cases(sizes, N, 1, seed=3, salt=0)[0]
    X, T, W1, b1, W2, b2 = [a.copy() for a in case]
    grads = sm.reference_backprop(X, T, W1, b1, W2, b2)
    for p, g in zip((W1, b1, W2, b2), grads):
        num = numerical_gradient(lambda: _cost(X, T, W1, b1, W2, b2), p)
        assert g.shape == p.shape
        assert sm.relative_error(g, num) < 1e-7


@pytest.mark.slow
def test_reference_backprop_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    X, T, W1, b1, W2, b2 = ps4._make_cases((5, 4, 3), 6, 1, seed=9, salt=0)[0]
    params = [tf.Variable(a) for a in (W1, b1, W2, b2)]
    with tf.GradientTape() as tape:
        Z2 = tf.sigmoid(X @ params[0] + params[1]) @ params[2] + params[3]
        cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(T, Z2))
    want = tape.gradient(cost, params)
    for g, w in zip(sm.reference_backprop(X, T, W1, b1, W2, b2), want):
        assert sm.relative_error(g, w.numpy()) < 1e-12


def test_student_bugs_written_here_equal_the_grader_mutations():
    """Each mutation of the catalogue is the same function as the bug written independently."""
    for m in sm.CATALOGUE:
        kwargs = {k: getattr(m.bug, k) for k in ("output", "mean", "hidden_df", "hidden_w",
                                                 "grad_w", "grad_b")}
        student = make_backprop(**kwargs)
        case = ps4._make_cases((3, 3, 3), 4, 1, seed=0, salt=0)[0]
        for a, b in zip(student(*case), sm.backprop_variant(*case, bug=m.bug)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------------------------
# log_softmax
# --------------------------------------------------------------------------------------------


def test_correct_log_softmax_gets_full_marks(capfd):
    assert ps4.check_log_softmax(good_log_softmax) == 1.0
    score = ps4.grade_log_softmax(good_log_softmax)
    out = capfd.readouterr()
    assert type(score) is FLOAT and score == 3.0, out.out
    assert out.err == "" and "✗" not in out.out and "⚠" not in out.out


@pytest.mark.parametrize("name", sorted(LOG_SOFTMAX_BUGS))
def test_log_softmax_mistakes_are_diagnosed(name, capfd):
    fn, visible, hidden, phrase = LOG_SOFTMAX_BUGS[name]
    assert ps4.check_log_softmax(fn) == visible
    out_visible = capfd.readouterr().out
    score = ps4.grade_log_softmax(fn)
    out = capfd.readouterr()
    assert type(score) is FLOAT and score == hidden, out.out
    assert phrase in out.out
    assert out.err == ""
    if visible < 1.0:
        assert "✗" in out_visible


def test_log_softmax_delegating_to_scipy_earns_nothing(capfd):
    from scipy.special import log_softmax

    score = ps4.grade_log_softmax(lambda z: log_softmax(z, axis=-1))
    out = capfd.readouterr().out
    assert score == 0.0 and "calls an existing implementation" in out


# --------------------------------------------------------------------------------------------
# backprop
# --------------------------------------------------------------------------------------------


def test_correct_backprop_gets_full_marks(capfd):
    assert ps4.check_backprop(good_backprop) == 1.0
    score = ps4.grade_backprop(good_backprop)
    out = capfd.readouterr()
    assert type(score) is FLOAT and score == 4.0, out.out
    assert out.out.count("all 4 gradients correct") == 1 + len(ps4.BACKPROP_ARCHITECTURES)
    assert out.err == ""


#: mutation key -> points of grade_backprop (of 4; 16 gradients) it keeps
BACKPROP_EXPECTED = {
    "no_t": 0.0, "sigma_prime": 0.0, "softmax_diag": 0.0, "logits": 0.0, "sigmoid_output": 0.0,
    "sign": 0.0, "no_mean": 0.0, "mean_twice": 0.0, "bias_mean": 2.0, "bias_unsummed": 2.0,
    "no_df_hidden": 2.0, "df_of_a_hidden": 2.0, "no_transpose": 0.5, "transposed_w": 2.0,
}


@pytest.mark.parametrize("key", sorted(BACKPROP_EXPECTED))
def test_each_backprop_mutation_is_diagnosed_as_itself(key, capfd):
    m = next(m for m in sm.CATALOGUE if m.key == key)
    kwargs = {k: getattr(m.bug, k) for k in ("output", "mean", "hidden_df", "hidden_w",
                                             "grad_w", "grad_b")}
    student = make_backprop(**kwargs)
    score = ps4.grade_backprop(student)
    out = capfd.readouterr()
    assert type(score) is FLOAT and score == BACKPROP_EXPECTED[key], out.out
    assert out.err == ""
    if key == "no_transpose":  # crashes on non-square W2: only the square network explains it
        assert "Δ2 @ W2 is used instead of Δ2 @ W2.T" in out.out
        assert "your backprop raised ValueError" in out.out
    elif key == "transposed_w":  # shapes differ except on the square network
        assert "is transposed" in out.out
    else:
        assert f"diagnosis: {m.summary}" in out.out, out.out


def test_the_visible_check_splits_shapes_and_values(capfd):
    assert ps4.check_backprop(make_backprop(output="no_t")) == 0.5
    assert ps4.check_backprop(make_backprop(grad_b="unsummed")) == 0.5
    out = capfd.readouterr().out
    assert "the target is not subtracted" in out and "is Δ for every sample" in out


def test_a_stray_factor_is_named_on_top_of_the_mutation(capfd):
    bug = make_backprop(output="sign")

    def student(*args):
        return tuple(2 * g for g in bug(*args))

    assert ps4.grade_backprop(student) == 0.0
    out = capfd.readouterr().out
    assert "diagnosis: the sign of the output error is flipped" in out
    assert "also everything is 2 times too large" in out


def _memory_bomb(*args):
    blocks = []
    while True:
        blocks.append(np.ones(2**24))


def _loop(*args):
    while True:
        pass


def _exit(*args):
    import os

    os._exit(0)


def _sys_exit(*args):
    sys.exit(3)


def _spam(*args):
    print("spam " * 100)
    print("spam", file=sys.stderr)
    return good_backprop(*args)


HOSTILE = {
    "loop": (_loop, "did not finish within"),
    "os_exit": (_exit, "ended the process"),
    "sys_exit": (_sys_exit, "called sys.exit()"),
    "memory_bomb": (_memory_bomb, "MB of memory"),
    "none": (lambda *a: None, "did you forget the return statement?"),
    "string": (lambda *a: "gradients", "backprop returned str"),
    "three": (lambda *a: good_backprop(*a)[:3], "a tuple of 3 items"),
    "garbage": (lambda *a: ("a", "b", "c", "d"), "not an array of numbers"),
    "nan": (lambda *a: tuple(np.full_like(g, np.nan) for g in good_backprop(*a)),
            "contains NaN or inf"),
    "shapes": (lambda *a: tuple(g.reshape(1, -1) for g in good_backprop(*a)),
               "has the right values but shape"),
    "modifies": (lambda X, T, W1, b1, W2, b2: (W1.fill(0), good_backprop(X, T, W1, b1, W2,
                                                                          b2))[1],
                 "changed its argument(s) W1"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_backprop_is_contained(name, capfd):
    fn, phrase = HOSTILE[name]
    t0 = time.monotonic()
    timeout = 10.0 if name == "memory_bomb" else 1.0
    score = ps4.grade_backprop(fn, timeout=timeout, memory_mb=200)
    elapsed = time.monotonic() - t0
    out = capfd.readouterr()
    assert out.err == ""
    assert type(score) is FLOAT and score == 0.0, out.out
    assert phrase in out.out, out.out
    assert "spam" not in out.out
    assert elapsed < timeout + 5


@pytest.mark.parametrize("name", ["loop", "os_exit", "memory_bomb", "none"])
def test_hostile_log_softmax_is_contained(name, capfd):
    fn, phrase = HOSTILE[name]
    score = ps4.grade_log_softmax(fn, timeout=1.0 if name != "memory_bomb" else 10.0,
                                  memory_mb=200)
    out = capfd.readouterr()
    assert out.err == "" and type(score) is FLOAT and score == 0.0, out.out
    assert phrase in out.out


def test_printing_costs_nothing(capfd):
    score = ps4.grade_backprop(_spam)
    out = capfd.readouterr()
    assert score == 4.0 and out.err == ""
    assert "spam" not in out.out and "(not shown)" in out.out


def test_monkeypatching_numpy_does_not_help(capfd):
    original = np.allclose, np.exp
    np.allclose = lambda *a, **k: True
    np.exp = lambda z: z
    try:
        score = ps4.grade_log_softmax(lambda z: np.zeros_like(np.asarray(z, dtype=float)))
    finally:
        np.allclose, np.exp = original
    out = capfd.readouterr().out
    assert score == 1.12, out  # only the single class (zeros), no warnings, z unchanged
    assert "your code replaced" in out and "numpy.allclose" in out and "numpy.exp" in out


def test_not_a_function_and_bad_arguments(capfd):
    assert ps4.grade_backprop(None) == 0.0
    assert "expected your function backprop, got NoneType" in capfd.readouterr().out
    with pytest.raises(ValueError, match="points"):
        ps4.grade_backprop(good_backprop, points=-1)
    with pytest.raises(ValueError, match="threshold"):
        ps4.check_ising(good_backprop, threshold=2.0)


# --------------------------------------------------------------------------------------------
# Ising
# --------------------------------------------------------------------------------------------


def test_check_ising(capfd):
    score = ps4.check_ising(good_backprop)
    out = capfd.readouterr()
    assert type(score) is FLOAT and score == 2.0, out.out
    assert out.err == ""
    X, y, L = ps4.ising_data()
    assert X.shape == (900, 256) and L == 16 and set(np.unique(X)) == {-1.0, 1.0}
    assert np.bincount(y).tolist() == [300, 300, 300]
    # a backprop that ignores the targets cannot learn the temperature
    assert ps4.check_ising(make_backprop(output="no_t")) == 0.0
    out = capfd.readouterr().out
    assert "test accuracy" in out and "check backprop" in out


def test_check_ising_contains_a_crash(capfd):
    assert ps4.check_ising(_exit, timeout=5.0) == 0.0
    assert "ended the process" in capfd.readouterr().out
    assert ps4.check_ising(lambda *a: good_backprop(*a)[:2]) == 0.0
    assert "did not return the tuple" in capfd.readouterr().out


def test_numba_gets_a_writable_cache_in_a_read_only_tree(monkeypatch, tmp_path):
    numba = pytest.importorskip("numba")
    # setenv first, so that undo() also removes the variable the fallback sets (a leaked
    # NUMBA_CACHE_DIR reached the sandboxed kernels of later tests)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.delitem(sys.modules, "nnscratch.ising._kernels", raising=False)
    monkeypatch.setattr(ps4.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(ps4.os, "access", lambda *a, **k: False)
    try:
        ps4._numba_cache_fallback()
        assert ps4.os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "nnscratch-numba")
        assert numba.core.config.CACHE_DIR == str(tmp_path / "nnscratch-numba")
        tree = Path(ps4.__file__).resolve().parents[1] / "ising" / "__pycache__"
        compiled = sorted(p.name for p in tree.glob("_kernels.*.nb[ic]"))
        copied = sorted(p.name for p in (tmp_path / "nnscratch-numba").glob("ising_*/*"))
        assert copied == compiled
    finally:
        monkeypatch.undo()
        numba.core.config.reload_config()
    assert "NUMBA_CACHE_DIR" not in os.environ or os.environ["NUMBA_CACHE_DIR"] != str(
        tmp_path / "nnscratch-numba")


def test_tampering_with_the_grader_earns_nothing(capfd):
    from nnscratch.grading import _pristine

    if not any(entry[0] == "nnscratch.grading.ps4" for entry in _pristine._GRADER):
        pytest.skip("ps4 is not in nnscratch.grading's freeze_grader list yet")
    original = sm.reference_log_softmax
    sm.reference_log_softmax = lambda z: np.zeros(np.shape(z))
    try:
        score = ps4.grade_log_softmax(lambda z: np.zeros_like(np.asarray(z, dtype=float)))
    finally:
        sm.reference_log_softmax = original
    out = capfd.readouterr().out
    assert score == 0.0 and "your code changed the grader itself" in out
