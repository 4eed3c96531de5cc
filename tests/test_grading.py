"""The autograder (nnscratch.grading): child runner, comparison, diagnosis, ps1's three tests.

Student submissions are source strings (tests/grading_variants.py) executed into a module with
Nielsen's Network scaffold, as a notebook cell would be.
"""

from __future__ import annotations

import builtins
import os
import sys
import textwrap
import time
from pathlib import Path

import grading_variants as gv
import numpy as np
import pytest

import nnscratch
from nnscratch.grading import _pristine, compare, mutations, nielsen, ps1
from nnscratch.grading._child import WireError, decode, encode, run_in_child, split_messages
from nnscratch.grading.compare import relative_error, share
from nnscratch.grading.mutations import CATALOGUE, ROWS, NetworkData, backprop_variant, diagnose

N_ITEMS = sum(2 * (len(s) - 1) for s in ps1.ARCHITECTURES)  # 28
N_OUTPUT = 2 * len(ps1.ARCHITECTURES)  # output-layer gradients: 10
N_HALF = N_ITEMS // 2  # all b (or all w) gradients: 14
FLOAT = float  # the real float type, even while a test replaces builtins.float


@pytest.fixture(scope="module")
def networks():
    """Network classes, built once per module."""
    cache: dict[str, type] = {}

    def get(name: str) -> type:
        if name not in cache:
            body = {**gv.CORRECT, **gv.BUGGY, **gv.DELEGATING, **gv.HOSTILE, **gv.NOISY}[name]
            cache[name] = gv.make_network(body, name)
        return cache[name]

    return get


def grade(N, capsys, **kw) -> tuple[float, str]:
    score = ps1.grade_backprop(N, **kw)
    out = capsys.readouterr()
    assert out.err == ""
    assert type(score) is FLOAT
    return score, out.out


# --------------------------------------------------------------------------------------------
# Wire format and child runner
# --------------------------------------------------------------------------------------------


def test_wire_roundtrip_and_rejects_garbage():
    obj = {
        "a": [np.arange(6.0).reshape(2, 3), np.array([1, 2]), np.array([True])],
        "b": (1, 2.5, None, "x", float("nan")),
        "c": np.float64(3.0),
    }
    back = decode(encode(obj))
    np.testing.assert_array_equal(back["a"][0], obj["a"][0])
    assert back["a"][0].dtype == np.float64 and back["a"][1].dtype == np.int64
    assert back["b"][:4] == [1, 2.5, None, "x"] and np.isnan(back["b"][4])
    assert back["c"] == 3.0 and type(back["c"]) is float
    with pytest.raises(WireError, match="dtype object"):
        encode(np.array([object()]))
    with pytest.raises(WireError, match="type set"):
        encode({1, 2})
    data = encode([np.ones(100)])
    with pytest.raises(WireError):
        decode(data[:-1])  # truncated
    with pytest.raises(WireError):
        decode(b"\x80\x04garbage-pickle" + data)
    messages, rest = split_messages(data + encode(1) + encode(2)[:9])
    assert len(messages) == 2 and messages[1] == 1 and len(rest) == 9


def _raise_in_child():
    x = [1, 2]
    return x[5]


def _print_and_return(n):
    for i in range(n):
        print("out", i)
        print("err", i, file=sys.stderr)
    os.write(1, b"raw fd 1\n")
    return {"v": np.ones(3) * n}


def test_run_in_child_returns_value_and_captures_output(capfd):
    res = run_in_child(_print_and_return, 3)
    assert res.ok and np.array_equal(res.value["v"], np.full(3, 3.0))
    assert (res.stdout_lines, res.stderr_lines) == (4, 3)
    assert "out 2" in res.stdout and "raw fd 1" in res.stdout and "err 0" in res.stderr
    assert res.printed_note() == "your code printed 4 lines and 3 lines to stderr (not shown)"
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_run_in_child_exception_names_the_line():
    res = run_in_child(_raise_in_child)
    assert res.status == "exception"
    assert res.error["type"] == "IndexError" and res.error["function"] == "_raise_in_child"
    assert "x[5]" in res.describe("your code")


def _sleep_then_loop():
    while True:
        pass


def _exit0():
    os._exit(0)


def _sys_exit():
    sys.exit(2)


def _segfault():
    import ctypes

    ctypes.string_at(0)


def _memory_bomb():
    hog = []
    while True:
        hog.append(np.ones(10**6))


def _unencodable():
    return object()


@pytest.mark.parametrize(
    ("fn", "status", "phrase"),
    [
        (_sleep_then_loop, "timeout", "did not finish within 0.5 s (infinite loop?)"),
        (_exit0, "exit", "os._exit(0)"),
        (_sys_exit, "exit", "called sys.exit()"),
        (_segfault, "signal", "SIGSEGV"),
        (_memory_bomb, "memory", "used more than 100 MB"),
        (_unencodable, "exception", "WireError"),
    ],
)
def test_run_in_child_failures_are_contained(fn, status, phrase, capfd):
    t0 = time.monotonic()
    timeout = 10 if fn is _memory_bomb else 0.5  # filling 100 MB takes a while on a busy box
    res = run_in_child(fn, timeout=timeout, memory_mb=100)
    assert time.monotonic() - t0 < timeout + 4
    assert res.status == status, res
    assert phrase in res.describe("your code")
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def _stream_then_crash(emit):
    emit({"first": np.zeros(2)})
    emit(2)
    os._exit(1)


def test_run_in_child_stream_keeps_results_before_a_crash():
    res = run_in_child(_stream_then_crash, stream=True)
    assert res.status == "exit" and res.exit_code == 1
    assert len(res.messages) == 2 and res.messages[1] == 2


def _spawn_and_hang(marker):
    import subprocess

    subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({marker})"])
    while True:
        pass


def _alive_with(marker: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if marker.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def test_run_in_child_kills_the_process_group():
    marker = "301.2345"
    res = run_in_child(_spawn_and_hang, marker, timeout=1.0)
    assert res.status == "timeout"
    for _ in range(50):
        if not _alive_with(marker):
            break
        time.sleep(0.05)
    assert _alive_with(marker) == []


def test_run_in_child_rejects_bad_limits():
    with pytest.raises(ValueError, match="timeout must be a positive"):
        run_in_child(print, timeout=0)
    with pytest.raises(ValueError, match="memory_mb must be a positive"):
        run_in_child(print, memory_mb="lots")


# --------------------------------------------------------------------------------------------
# Comparison, reference, mutations
# --------------------------------------------------------------------------------------------


def test_relative_error_and_share():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, np.zeros_like(a)) == 1.0
    assert relative_error(a, -a) == 1.0
    assert relative_error(a, a.T) > 0 and relative_error(a, a[:1]) == np.inf
    assert relative_error(a, a * np.nan) == np.inf
    assert relative_error(a, 2 * a) == pytest.approx(1 / 3)
    assert share(6.0, 10, 28) == 2.14 and type(share(6.0, 10, 28)) is float
    assert share(6.0, 28, 28) == 6.0 and share(1.0, 0, 4) == 0.0


def _cost(weights, biases, x, y) -> float:
    a = x
    for W, b in zip(weights, biases):
        a = 1 / (1 + np.exp(-(W @ a + b)))
    return 0.5 * float(np.sum((a - y) ** 2))


@pytest.mark.parametrize("sizes", [(3, 4, 2), (5, 4, 3, 2)])
def test_reference_backprop_matches_finite_differences(sizes):
    case = nielsen.make_cases(sizes, 1, seed=3)[0]
    nabla_b, nabla_w = ps1.reference_backprop(case.weights, case.biases, case.x, case.y)
    h = 1e-6
    for params, grads in ((case.biases, nabla_b), (case.weights, nabla_w)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape and g.dtype == np.float64
            numeric = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                plus = _cost(case.weights, case.biases, case.x, case.y)
                p[idx] = old - h
                minus = _cost(case.weights, case.biases, case.x, case.y)
                p[idx] = old
                numeric[idx] = (plus - minus) / (2 * h)
            assert relative_error(g, numeric) < 1e-7


def test_reference_backprop_validates_its_input():
    W = [np.ones((4, 3)), np.ones((2, 4))]
    b = [np.ones((4, 1)), np.ones((2, 1))]
    with pytest.raises(ValueError, match=r"x must be a column vector of shape \(3, 1\)"):
        ps1.reference_backprop(W, b, np.ones(3), np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"biases\[1\] must have shape \(2, 1\)"):
        ps1.reference_backprop(W, [b[0], np.ones(2)], np.ones((3, 1)), np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"expected \(2, 4\)"):
        ps1.reference_backprop([W[0], np.ones((2, 3))], b, np.ones((3, 1)), np.ones((2, 1)))


def test_rows_layout_matches_the_library_network(rng):
    """The generic engine in the library's own layout (rows = samples, 1/N) agrees with
    nnscratch.Network.backprop, so the engine is not Nielsen-specific."""
    net = nnscratch.Network([5, 4, 3], seed=1)
    X = rng.uniform(size=(7, 5))
    Y = np.eye(3)[rng.integers(3, size=7)]
    nabla_W, nabla_b = net.backprop(X, Y)
    ours_b, ours_W = backprop_variant(ROWS, net.W, net.b, X, Y)
    for a, b in zip([*ours_b, *ours_W], [*nabla_b, *nabla_W]):
        assert relative_error(a, b) < 1e-12


@pytest.mark.parametrize(
    "mutation", [m for m in CATALOGUE if not m.batched_only], ids=lambda m: m.key
)
def test_each_mutation_is_diagnosed_as_itself(mutation):
    """A student whose gradients *are* a mutation gets that mutation's diagnosis on every
    wrong gradient and as the summary: the catalogue is unambiguous."""
    nets = []
    for k, sizes in enumerate(ps1.ARCHITECTURES):
        cases = nielsen.make_cases(sizes, 2, seed=11, salt=k, with_mutants=True)
        student = [c.mutants[mutation.key] for c in cases]
        if any(s is None for s in student):  # the bug cannot run on this network
            student = [None] * len(cases)
        nets.append(NetworkData(sizes, student, [c.mutants for c in cases]))
    results, summary = diagnose(nets, nielsen.NIELSEN)
    wrong = [
        r
        for row, net in zip(results, nets)
        if net.student[0] is not None
        for r in row
        if not r.correct
    ]
    assert wrong, "the mutation changes nothing"
    assert {r.cause for r in wrong} == {mutation.key}
    assert summary == mutation.summary


# --------------------------------------------------------------------------------------------
# grade_backprop: correct, buggy, delegating, hostile, noisy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(gv.CORRECT))
def test_correct_solutions_get_full_marks(name, networks, capsys):
    score, out = grade(networks(name), capsys)
    assert score == 6.0, out
    assert out.strip().endswith("score: 6.0 / 6.0")
    assert out.count("✓") == len(ps1.ARCHITECTURES)


@pytest.mark.slow
def test_no_false_failures_over_200_seeds(networks, capsys):
    """Three correct solutions, 200 seeds each (all 28 gradients of 10 random networks per
    seed): not one gradient judged wrong. The seeds run through grade_backprop's own pipeline
    (cases, child, comparison, diagnosis), one child per solution to keep this under a minute;
    10 more seeds per solution go through the public function."""
    t0 = time.monotonic()
    failures = []
    for name in sorted(gv.CORRECT):
        N = networks(name)
        runs, child, calls = ps1._run_networks(
            N,
            ps1.ARCHITECTURES,
            ps1.EXAMPLES_PER_NETWORK,
            range(200),
            timeout=120,
            memory_mb=1024,
        )
        assert child.ok and not calls
        for seed, (nets, problems, complete) in enumerate(runs):
            results, _ = diagnose(nets, nielsen.NIELSEN, complete)
            n_correct = sum(r.correct for row in results for r in row)
            if any(problems) or n_correct != N_ITEMS:
                failures.append((name, seed, n_correct, problems))
        for seed in range(200, 210):
            score = ps1.grade_backprop(N, seed=seed)
            if score != 6.0:
                failures.append((name, seed, score))
    capsys.readouterr()
    assert failures == []
    assert time.monotonic() - t0 < 60


# variant -> (correct gradients out of 28, phrase in the report)
BUGGY_EXPECTED = {
    "sign": (
        0,
        "✗ ∂C/∂b, ∂C/∂w, layers 1, 2: the sign is flipped: the output error is "
        "∇_a C = a^L − y, not y − a^L (eq. BP1)",
    ),
    "no_sp_output": (
        0,
        "✗ ∂C/∂b, ∂C/∂w, layer 2: the activation derivative σ′(z^L) is missing in δ^L (eq. BP1)",
    ),
    "no_sp_hidden": (
        N_OUTPUT,
        "✗ ∂C/∂b, ∂C/∂w, layers 1, 2: the activation derivative σ′(z) is missing (eq. BP2)",
    ),
    "sp_of_a_hidden": (
        N_OUTPUT,
        "σ′ is applied to the activation a^l instead of the weighted "
        "input z^l: δ^l needs σ′(z^l) (eq. BP2)",
    ),
    "sp_of_a_all": (
        0,
        "σ′ is applied to the activation a^L instead of the weighted input z^L "
        "in δ^L: use σ′(z^L) (eq. BP1)",
    ),
    "wrong_layer_weights": (
        2,
        "the recursion uses this layer's weights W^l instead of the next layer's W^{l+1}",
    ),
    "transposed_outer": (
        N_HALF,
        "✗ ∂C/∂w, layer 2: is transposed: ∂C/∂w^l = δ^l (a^{l-1})ᵀ "
        "has the shape of weights[1], (2, 4), not its transpose "
        "(eq. BP4)",
    ),
    "bp4_same_layer": (
        N_HALF,
        "uses the activation of the wrong layer: ∂C/∂w^l = "
        "δ^l (a^{l-1})ᵀ needs the previous layer's activation a^{l-1}, "
        "not a^l (eq. BP4)",
    ),
    "bias_flat": (N_HALF, "has the right values but shape (4,); biases[0] has shape (4, 1)"),
    "bias_summed": (N_HALF, "is a single number (δ^l summed up)"),
    "swapped": (
        0,
        "backprop returned (nabla_w, nabla_b), swapped: it must return "
        "(nabla_b, nabla_w) in that order (with the order fixed 4 of 4 gradients "
        "would be right)",
    ),
    "factor2": (0, "is twice the correct value"),
    "half": (0, "is half the correct value"),
    "hidden_zero": (
        N_OUTPUT,
        "is all zeros: the loop over the hidden layers does not fill it in (eq. BP2)",
    ),
    "delta_reused": (
        N_OUTPUT,
        "uses the output layer's δ^L instead of this layer's δ^l: δ is not propagated back",
    ),
    "local_sp_only": (N_OUTPUT, "each layer applies only its own σ′(z^l)"),
    "modifies_weights": (0, "your backprop changed the network's weights[1] during the call"),
    "extra_layer": (
        0,
        "backprop returned 3 bias gradient(s) and 3 weight gradient(s); this network has 2 layers",
    ),
    "nan": (N_ITEMS - len(ps1.ARCHITECTURES), "✗ ∂C/∂w, layer 1: contains NaN or inf values"),
    "returns_none": (0, "backprop returned None (did you forget the return statement?)"),
    "one_array": (0, "nabla_b is one array of shape (6,); it must be a list"),
    "raises": (0, "your backprop raised ValueError: shapes (4,1) and (3,1) not aligned"),
    "sign_and_no_sp_hidden": (
        0,
        "the activation derivative σ′(z) is missing (eq. BP2); also the sign is flipped",
    ),
    "unknown_hidden": (N_ITEMS - 9, "✗ ∂C/∂b, layer 1: wrong values (relative error"),
}


@pytest.mark.parametrize("name", sorted(BUGGY_EXPECTED))
def test_buggy_solutions_lose_exactly_their_wrong_gradients(name, networks, capsys):
    n_correct, phrase = BUGGY_EXPECTED[name]
    score, out = grade(networks(name), capsys)
    assert score == share(6.0, n_correct, N_ITEMS), out
    assert phrase in out, out


def test_unknown_mistake_gets_a_hint(networks, capsys):
    _, out = grade(networks("unknown_hidden"), capsys)
    assert "shapes are right; ∂C/∂w is right here, so δ^l is right: ∂C/∂b^l = δ^l (eq. BP3)" in out
    assert "diagnosis:" not in out  # no catalogued mutation explains it


def test_diagnosis_summary_names_the_single_cause(networks, capsys):
    _, out = grade(networks("no_sp_hidden"), capsys)
    assert "diagnosis: the activation derivative σ′(z^l) is missing in the recursion (BP2)" in out


@pytest.mark.parametrize("name", sorted(gv.DELEGATING))
def test_delegating_to_nnscratch_earns_nothing(name, networks, capsys):
    score, out = grade(networks(name), capsys)
    assert score == 0.0
    assert "your backprop calls nnscratch's own implementation" in out


HOSTILE_EXPECTED = {
    "infinite_loop": "your backprop did not finish within 1 s (infinite loop?)",
    "sleep_forever": "your backprop did not finish within 1 s (infinite loop?)",
    "os_exit": "ended the process (os._exit(0) or similar)",
    "sys_exit": "your backprop called sys.exit()",
    "raise_systemexit": "your backprop called sys.exit()",
    "memory_bomb": "your backprop used more than 200 MB of memory",
    "segfault": "your backprop crashed the process (SIGSEGV)",
    "spawn_and_loop": "did not finish within 1 s",
    "flood_stdout": "lines (not shown)",
    "kill_self": "was killed (SIGKILL)",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_EXPECTED))
def test_hostile_code_is_contained(name, networks, capfd):
    t0 = time.monotonic()
    timeout = 10.0 if name == "memory_bomb" else 1.0
    score = ps1.grade_backprop(networks(name), timeout=timeout, memory_mb=200)
    elapsed = time.monotonic() - t0
    out = capfd.readouterr()
    assert out.err == ""
    assert type(score) is FLOAT and score == 0.0
    assert HOSTILE_EXPECTED[name] in out.out, out.out
    assert "spam" not in out.out
    assert elapsed < timeout + 5


@pytest.mark.parametrize("name", sorted(gv.NOISY))
def test_correct_code_that_prints_keeps_full_marks(name, networks, capfd):
    score = ps1.grade_backprop(networks(name))
    out = capfd.readouterr()
    assert score == 6.0 and out.err == ""
    assert "debug" not in out.out and "delta" not in out.out and "student" not in out.out
    if name != "warning":  # warnings are ignored while grading, also in the child
        assert "(not shown)" in out.out


# --------------------------------------------------------------------------------------------
# Monkeypatching before the hidden test
# --------------------------------------------------------------------------------------------

PATCHES = {
    "numpy.allclose": (np, "allclose", lambda *a, **k: True),
    "numpy.linalg.norm": (np.linalg, "norm", lambda *a, **k: 0.0),
    "numpy.testing.assert_allclose": (np.testing, "assert_allclose", lambda *a, **k: None),
    "numpy.random.default_rng": (
        np.random,
        "default_rng",
        lambda *a, **k: np.random.Generator(np.random.PCG64(0)),
    ),
    "numpy.exp": (np, "exp", lambda z: z),
    "numpy.dot": (np, "dot", lambda a, b: 0 * (a @ b)),
    "builtins.abs": (builtins, "abs", lambda x: 0),
    "builtins.float": (builtins, "float", lambda *a: 6.0),
    "builtins.isinstance": (builtins, "isinstance", lambda *a: True),
    "builtins.max": (builtins, "max", lambda *a, **k: 0),
    "builtins.sum": (builtins, "sum", lambda *a, **k: 0),
}


@pytest.mark.parametrize("patched", sorted(PATCHES))
def test_monkeypatching_numpy_or_builtins_does_not_help(patched, networks, capsys):
    N = networks("no_sp_hidden")
    module, attr, fake = PATCHES[patched]
    original = getattr(module, attr)
    setattr(module, attr, fake)
    try:
        score = ps1.grade_backprop(N)
    finally:
        setattr(module, attr, original)
    out = capsys.readouterr().out
    assert type(score) is FLOAT and score == share(6.0, N_OUTPUT, N_ITEMS), out
    assert f"your code replaced {patched}; the grader does not use them" in out
    assert _pristine.check_environment() == []


def test_all_patches_at_once(networks, capsys):
    N = networks("nielsen")
    saved = [(m, a, getattr(m, a)) for m, a, _ in PATCHES.values()]
    for m, a, fake in PATCHES.values():
        setattr(m, a, fake)
    try:
        scores = (ps1.check_shapes(N), ps1.grade_backprop(N))
    finally:
        for m, a, orig in saved:
            setattr(m, a, orig)
    out = capsys.readouterr().out
    assert scores == (1.0, 6.0), out
    assert all(type(s) is FLOAT for s in scores)


def test_patches_are_undone_after_grading_but_the_students_kernel_is_left_alone(networks, capsys):
    original = np.allclose
    fake = lambda *a, **k: True  # noqa: E731
    np.allclose = fake
    try:
        ps1.grade_backprop(networks("nielsen"))
        assert np.allclose is fake  # the grader does not change the student's kernel
    finally:
        np.allclose = original
    capsys.readouterr()


@pytest.mark.parametrize(
    "how",
    ["replace_function", "replace_code", "replace_constant", "replace_pristine_numpy"],
)
def test_tampering_with_the_grader_earns_nothing(how, networks, capsys):
    N = networks("sign")
    if how == "replace_function":
        saved = (compare, "relative_error", compare.relative_error)
        compare.relative_error = lambda a, b: 0.0
    elif how == "replace_code":
        saved = (compare.matches, "__code__", compare.matches.__code__)
        compare.matches.__code__ = (lambda a, b, tol=0: True).__code__
    elif how == "replace_constant":
        saved = (mutations, "TOL", mutations.TOL)
        mutations.TOL = 1e9
    else:
        saved = (_pristine.np, "exp", _pristine.np.exp)
        _pristine.np.exp = lambda z: z
    try:
        score = ps1.grade_backprop(N)
    finally:
        setattr(*saved)
    out = capsys.readouterr().out
    assert score == 0.0
    assert "your code changed the grader itself" in out
    assert _pristine.check_grader() == []
    assert ps1.grade_backprop(networks("nielsen")) == 6.0  # the grader was put back
    capsys.readouterr()


# --------------------------------------------------------------------------------------------
# check_shapes (visible) and check_training (hidden)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected", "phrase"),
    [
        ("nielsen", 1.0, "✓ ∂C/∂w, layer 2: shape (2, 4), values correct"),
        ("recursive", 1.0, "✓ ∂C/∂b, layer 1: shape (4, 1), values correct"),
        ("bias_flat", 0.5, "✗ ∂C/∂b, layer 1: has the right values but shape (4,)"),
        (
            "no_sp_hidden",
            0.75,
            "✗ ∂C/∂w, layer 1: shape (4, 3) right, but the activation "
            "derivative σ′(z) is missing (eq. BP2)",
        ),
        ("returns_none", 0.0, "backprop returned None"),
        ("library_network", 0.0, "your backprop calls nnscratch's own implementation"),
    ],
)
def test_check_shapes(name, expected, phrase, networks, capfd):
    score = ps1.check_shapes(networks(name))
    out = capfd.readouterr()
    assert out.err == "" and type(score) is FLOAT
    assert score == expected, out.out
    assert phrase in out.out, out.out
    assert out.out.strip().endswith("/ 1.0")


def test_check_shapes_timeout(networks, capfd):
    score = ps1.check_shapes(networks("infinite_loop"), timeout=0.5)
    out = capfd.readouterr()
    assert score == 0.0 and out.err == ""
    assert "did not finish within 0.5 s" in out.out


def test_bad_arguments_raise_for_the_instructor(networks):
    with pytest.raises(ValueError, match="points must be"):
        ps1.grade_backprop(networks("nielsen"), points=-1)
    with pytest.raises(ValueError, match="threshold"):
        ps1.check_training(networks("nielsen"), threshold=1.5)


def test_not_a_class(capsys):
    assert ps1.grade_backprop(None) == 0.0
    assert "expected the class Network, got NoneType" in capsys.readouterr().out


@pytest.fixture
def offline_mnist(mnist_dir, monkeypatch):
    monkeypatch.setenv("NNSCRATCH_DATA", str(mnist_dir))
    monkeypatch.setenv("NNSCRATCH_OFFLINE", "1")


@pytest.mark.parametrize(
    ("name", "expected", "phrase"),
    [
        ("nielsen", 2.0, "✓ training: test accuracy"),
        ("sign", 0.0, "✗ training: test accuracy"),
        ("library_network", 0.0, "your backprop calls nnscratch's own implementation"),
        ("infinite_loop", 0.0, "your network's SGD did not finish within 2 s"),
    ],
)
def test_check_training(name, expected, phrase, networks, capfd, offline_mnist):
    kw = {"timeout": 2.0} if name == "infinite_loop" else {}
    if name == "library_network":
        kw["n_train"] = 100  # the delegation is seen at the first call
    score = ps1.check_training(networks(name), **kw)
    out = capfd.readouterr()
    assert out.err == "" and type(score) is FLOAT
    if expected is not None:
        assert score == expected, out.out
    assert phrase in out.out


def test_check_training_weights_unchanged(capfd, offline_mnist):
    body = (
        "return [np.zeros(b.shape) for b in self.biases], [np.zeros(w.shape) for w in self.weights]"
    )
    score = ps1.check_training(gv.make_network(body, "zeros"))
    out = capfd.readouterr().out
    assert score == 0.0 and "SGD did not change the weights at all" in out


# --------------------------------------------------------------------------------------------
# In a real Jupyter kernel (fork + ipykernel's streams and sockets)
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_in_a_real_ipython_kernel():
    """What nbgrader sees: no stderr stream, no error, a plain float as text/plain, and a kernel
    that survives os._exit, a segfault and monkeypatching."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:

        def run(code: str) -> dict:
            out = {"stdout": "", "stderr": "", "result": None, "error": None}

            def hook(msg):
                kind, content = msg["header"]["msg_type"], msg["content"]
                if kind == "stream":
                    out[content["name"]] += content["text"]
                elif kind == "execute_result":
                    out["result"] = content["data"]["text/plain"]
                elif kind == "error":
                    out["error"] = content["ename"]

            kc.execute_interactive(code, output_hook=hook, timeout=120)
            return out

        assert run("from nnscratch.grading import ps1")["error"] is None
        cells = {
            "Correct": gv.NOISY["stderr"],
            "Exits": gv.HOSTILE["os_exit"],
            "Crashes": gv.HOSTILE["segfault"],
        }
        for name, body in cells.items():
            source = gv.SCAFFOLD.replace("class Network:", f"class {name}:").replace(
                "{body}", textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 8)
            )
            assert run(source)["error"] is None
        clean = run("ps1.check_shapes(Correct)")  # ipykernel's own changes are not reported
        assert clean["result"] == "1.0" and "⚠" not in clean["stdout"], clean
        assert run("import numpy as np; np.allclose = lambda *a, **k: True")["error"] is None

        for call, expected in [
            ("ps1.check_shapes(Correct)", "1.0"),
            ("ps1.grade_backprop(Correct)", "6.0"),
            ("ps1.grade_backprop(Exits)", "0.0"),
            ("ps1.check_shapes(Crashes)", "0.0"),
        ]:
            out = run(call)
            assert out["error"] is None and out["stderr"] == "", (call, out)
            assert out["result"] == expected, (call, out)
            assert "your code replaced numpy.allclose" in out["stdout"]
            assert "debug" not in out["stdout"] and "more on stderr" not in out["stdout"]
        assert run("1 + 1")["result"] == "2"  # the kernel is alive
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
