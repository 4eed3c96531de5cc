"""The grader of ps2-batched-backprop (nnscratch.grading.ps2 and .batched), in process.

Student functions are source strings executed into a fresh module namespace with the notebook's
ACTIVATIONS/cost, as notebook cells would be; forked children inherit that namespace.
"""

from __future__ import annotations

import linecache
import textwrap
import types

import numpy as np
import pytest

from nnscratch.grading import _pristine, ps2
from nnscratch.grading.batched import (
    CATALOGUE_BATCHED,
    BatchBug,
    backprop_batched,
    cost,
    diagnose_batched,
    make_cases,
    reference_backprop,
)
from nnscratch.grading.compare import relative_error
from nnscratch.grading.mutations import NetworkData

FLOAT = float

NOTEBOOK = '''
import numpy as np

def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))
def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1.0 - s)
def tanh_prime(z):
    return 1.0 - np.tanh(z) ** 2
def relu(z):
    return np.maximum(z, 0.0)
def relu_prime(z):
    return (z > 0).astype(float)
def identity(z):
    return z
def identity_prime(z):
    return np.ones_like(z)
ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_prime), "tanh": (np.tanh, tanh_prime),
               "relu": (relu, relu_prime), "identity": (identity, identity_prime)}

def feedforward(Ws, bs, activations, X):
    a = X
    for W, b, name in zip(Ws, bs, activations):
        a = ACTIVATIONS[name][0](a @ W + b)
    return a

def cost(Ws, bs, activations, X, Y):
    return 0.5 * float(np.sum((feedforward(Ws, bs, activations, X) - Y) ** 2)) / X.shape[0]
'''

BACKPROP = '''
def backprop(Ws, bs, activations, X, Y):
    N = X.shape[0]
    L = len(Ws)
    a = X
    As, Zs = [X], []
    for W, b, name in zip(Ws, bs, activations):
        z = a @ W + b
        a = ACTIVATIONS[name][0](z)
        Zs.append(z)
        As.append(a)
    dWs = [None] * L
    dbs = [None] * L
    delta = (As[-1] - Y) / N * ACTIVATIONS[activations[-1]][1](Zs[-1])
    for i in range(L - 1, -1, -1):
        dWs[i] = As[i].T @ delta
        dbs[i] = delta.sum(axis=0)
        if i > 0:
            delta = (delta @ Ws[i].T) * ACTIVATIONS[activations[i - 1]][1](Zs[i - 1])
    return dWs, dbs
'''

GRADCHECK = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f(x)
        x[idx] = old - eps
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad

def relative_error(a, b):
    d = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if d == 0 else float(np.linalg.norm(a - b) / d)

def check_backprop(backprop, Ws, bs, activations, X, Y):
    dWs, dbs = backprop(Ws, bs, activations, X, Y)
    worst = 0.0
    for params, grads in ((Ws, dWs), (bs, dbs)):
        for p, g in zip(params, grads):
            num = numerical_gradient(lambda _: cost(Ws, bs, activations, X, Y), p)
            worst = max(worst, relative_error(g, num))
    return worst
'''

_COUNTER = [0]


def student(*parts: str, replace: tuple[tuple[str, str], ...] = ()) -> types.SimpleNamespace:
    """Execute the notebook cells plus ``parts`` (with ``replace`` applied) in a new module."""
    src = NOTEBOOK + "".join(textwrap.dedent(p) for p in parts)
    for old, new in replace:
        assert old in src, old
        src = src.replace(old, new)
    _COUNTER[0] += 1
    name = f"<ps2-student-{_COUNTER[0]}>"
    linecache.cache[name] = (len(src), None, src.splitlines(True), name)
    ns: dict = {"__name__": "ps2_student"}
    exec(compile(src, name, "exec"), ns)
    return types.SimpleNamespace(**ns)


def run(fn, capsys, *args, **kw) -> tuple[float, str]:
    score = fn(*args, **kw)
    out = capsys.readouterr()
    assert out.err == ""
    assert type(score) is FLOAT
    return score, out.out


# --------------------------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(len(ps2.ARCHITECTURES)))
def test_reference_matches_finite_differences(k):
    sizes, acts, n = ps2.ARCHITECTURES[k]
    if sizes[0] > 10:
        sizes, n = (8, 6, 5), 6  # same activations, smaller so that the test stays fast
    case = make_cases(sizes, acts, n, 1, seed=5)[0]
    dWs, dbs = reference_backprop(case.Ws, case.bs, list(acts), case.X, case.Y)
    h = 1e-6
    for params, grads in ((case.Ws, dWs), (case.bs, dbs)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape
            numeric = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                plus = cost(case.Ws, case.bs, acts, case.X, case.Y)
                p[idx] = old - h
                minus = cost(case.Ws, case.bs, acts, case.X, case.Y)
                p[idx] = old
                numeric[idx] = (plus - minus) / (2 * h)
            assert relative_error(g, numeric) < 1e-7


@pytest.mark.slow
def test_reference_matches_tensorflow():
    tf = pytest.importorskip("tensorflow")
    case = make_cases((5, 4, 3, 2), ("tanh", "relu", "sigmoid"), 7, 1, seed=2)[0]
    dWs, dbs = reference_backprop(case.Ws, case.bs, list(case.activations), case.X, case.Y)
    Ws = [tf.Variable(w) for w in case.Ws]
    bs = [tf.Variable(b) for b in case.bs]
    fns = {"tanh": tf.tanh, "relu": tf.nn.relu, "sigmoid": tf.sigmoid}
    with tf.GradientTape() as tape:
        a = tf.constant(case.X)
        for W, b, name in zip(Ws, bs, case.activations):
            a = fns[name](a @ W + b)
        c = 0.5 * tf.reduce_sum((a - case.Y) ** 2) / case.X.shape[0]
    gW, gb = tape.gradient(c, [Ws, bs])
    for ours, theirs in zip([*dWs, *dbs], [*gW, *gb]):
        assert relative_error(ours, theirs.numpy()) < 1e-12


def test_reference_validates_its_input():
    W = [np.ones((3, 4)), np.ones((4, 2))]
    b = [np.ones(4), np.ones(2)]
    X, Y = np.ones((5, 3)), np.ones((5, 2))
    with pytest.raises(ValueError, match=r"bs\[1\] must have shape \(2,\)"):
        reference_backprop(W, [b[0], np.ones((2, 1))], ["tanh", "sigmoid"], X, Y)
    with pytest.raises(ValueError, match="activations must be names"):
        reference_backprop(W, b, ["tanh", "softplus"], X, Y)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\)"):
        reference_backprop(W, b, ["tanh", "sigmoid"], np.ones((5, 4)), Y)
    with pytest.raises(ValueError, match="one entry per layer"):
        reference_backprop(W, b, ["tanh"], X, Y)


@pytest.mark.parametrize(
    "mutation",
    [m for m in CATALOGUE_BATCHED if m.key not in ("half", "factor2")],
    ids=lambda m: m.key,
)
def test_each_mutation_is_diagnosed_as_itself(mutation):
    """A student whose gradients *are* a mutation gets that mutation's diagnosis everywhere."""
    nets = []
    for k, (sizes, acts, n) in enumerate(ps2.ARCHITECTURES):
        cases = make_cases(sizes, acts, n, 2, seed=11, salt=k)
        for c in cases:
            c.add_mutants()
        student = [c.mutants[mutation.key] for c in cases]
        if any(s is None for s in student):
            student = [None] * len(cases)
        nets.append(NetworkData(sizes, student, [c.mutants for c in cases]))
    results, summary = diagnose_batched(nets)
    wrong = [r for row, net in zip(results, nets) if net.student[0] is not None
             for r in row if not r.correct]
    assert wrong, "the mutation changes nothing"
    assert {r.cause for r in wrong} == {mutation.key}
    assert summary == mutation.summary


def test_batch_bug_changes_only_what_it_says():
    case = make_cases((4, 4, 4, 4), ("sigmoid", "tanh", "identity"), 6, 1, seed=1)[0]
    ref_b, ref_w = backprop_batched(case.Ws, case.bs, case.activations, case.X, case.Y)
    bug_b, bug_w = backprop_batched(case.Ws, case.bs, case.activations, case.X, case.Y,
                                    BatchBug(mean_b=False))
    assert all(relative_error(a, b) == 0 for a, b in zip(ref_w, bug_w))
    assert all(np.allclose(a, 6 * b) for a, b in zip(bug_b, ref_b))


# --------------------------------------------------------------------------------------------
# backprop: correct, buggy, hostile
# --------------------------------------------------------------------------------------------


def test_correct_solution_gets_full_marks(capsys):
    s = student(BACKPROP)
    score, out = run(ps2.grade_backprop, capsys, s.backprop)
    assert score == 6.0, out
    assert out.count("✓") == len(ps2.ARCHITECTURES)
    score, out = run(ps2.check_shapes, capsys, s.backprop)
    assert score == 1.0, out


def test_no_false_failures_over_100_seeds():
    """The correct solution on 100 seeds (28 gradients of 10 random networks each) through
    grade_backprop's own pipeline: not one gradient judged wrong."""
    s = student(BACKPROP)
    failures = []
    for seed in range(100):
        nets, problems, complete, child, calls = ps2._run_networks(
            s.backprop, ps2.ARCHITECTURES, ps2.EXAMPLES_PER_NETWORK, seed, 60, 1024
        )
        assert child.ok and not calls
        results, _ = diagnose_batched(nets, complete)
        n_correct = sum(r.correct for row in results for r in row)
        if any(problems) or n_correct != 28:
            failures.append((seed, n_correct, problems))
    assert failures == []


BUGS = {
    "no_mean": (("(As[-1] - Y) / N", "(As[-1] - Y)"), 0.0,
                "diagnosis: the 1/N of the average cost is missing"),
    "bias_wrong_axis": (("delta.sum(axis=0)", "delta.sum(axis=1)"), 3.0,
                        "diagnosis: ∂C/∂b is summed over the wrong axis"),
    "bias_unsummed": (("dbs[i] = delta.sum(axis=0)", "dbs[i] = delta"), 3.0,
                      "diagnosis: ∂C/∂b is not summed over the batch (BP3)"),
    "act_shift": (("ACTIVATIONS[activations[i - 1]][1](Zs[i - 1])",
                   "ACTIVATIONS[activations[i]][1](Zs[i - 1])"), (1.0, 5.0),
                  "activation derivative of the wrong layer"),
    "divide_features": (("/ N", "/ X.shape[1]"), (0.5, 2.0),
                        "divided by the number of input features X.shape[1]"),
    "sign": (("(As[-1] - Y)", "(Y - As[-1])"), 0.0,
             "diagnosis: the sign of the output error is flipped"),
    "no_df_hidden": ((" * ACTIVATIONS[activations[i - 1]][1](Zs[i - 1])", ""), (1.0, 5.0),
                     "diagnosis: the activation derivative σ′(z^l) is missing in the recursion"),
    "transposed": (("dWs[i] = As[i].T @ delta", "dWs[i] = delta.T @ As[i]"), 3.0,
                   "diagnosis: the outer product of BP4 is transposed"),
    "keepdims": (("delta.sum(axis=0)", "delta.sum(axis=0, keepdims=True)"), 3.0,
                 "(keepdims) (BP3)"),
    "swapped": (("return dWs, dbs", "return dbs, dWs"), 0.0, "swapped"),
}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_buggy_backprop_is_diagnosed(name, capsys):
    (old, new), want, phrase = BUGS[name]
    s = student(BACKPROP, replace=((old, new),))
    score, out = run(ps2.grade_backprop, capsys, s.backprop)
    if isinstance(want, tuple):
        assert want[0] <= score <= want[1], out
    else:
        assert score == want, out
    assert phrase in out, out


def test_mean_applied_twice_is_named(capsys):
    s = student(BACKPROP, replace=(("dWs[i] = As[i].T @ delta", "dWs[i] = As[i].T @ delta / N"),))
    score, out = run(ps2.grade_backprop, capsys, s.backprop)
    assert score == 3.0 and "the 1/N of the average is applied twice" in out, out


HOSTILE = {
    "loop": ("while True:\n        pass", "did not finish within"),
    "os_exit": ("import os\n    os._exit(0)", "ended the process"),
    "sys_exit": ("import sys\n    sys.exit(0)", "called sys.exit()"),
    "memory": ("hog = []\n    while True:\n        hog.append(np.ones(2**24))", "MB of memory"),
    "none": ("return None", "did you forget the return statement?"),
    "nan": ("return [W * np.nan for W in Ws], [b * np.nan for b in bs]", "NaN or inf"),
    "garbage": ("return 'gradients'", "it must return the tuple (dWs, dbs)"),
    "wrong_count": ("return [np.zeros_like(Ws[0])], [np.zeros_like(bs[0])]",
                    "need"),
    "modifies": ("Ws[0] += 1.0", "changed its input Ws[0]"),
    "delegates": ("from nnscratch.grading.batched import reference_backprop\n"
                  "    return reference_backprop(Ws, bs, activations, X, Y)",
                  "calls nnscratch's own implementation"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_backprop_is_contained(name, capsys):
    code, phrase = HOSTILE[name]
    head = "def backprop(Ws, bs, activations, X, Y):\n"
    s = student(BACKPROP, replace=((head, head + "    " + code + "\n"),))
    timeout = 10.0 if name == "memory" else 1.0
    score, out = run(ps2.grade_backprop, capsys, s.backprop, timeout=timeout, memory_mb=200)
    assert score == 0.0, out
    assert phrase in out, out


def test_monkeypatched_numpy_is_reported_and_undone(capsys):
    s = student(BACKPROP)
    saved = np.allclose, np.linalg.norm
    try:
        np.allclose = lambda *a, **k: True
        np.linalg.norm = lambda *a, **k: 0.0
        score, out = run(ps2.grade_backprop, capsys, s.backprop)
    finally:
        np.allclose, np.linalg.norm = saved
    assert score == 6.0 and "replaced numpy.allclose" in out, out


def test_nnscratch_functions_passed_as_the_answer_earn_nothing(capsys):
    from nnscratch import gradcheck

    score, out = run(ps2.grade_backprop, capsys, reference_backprop)
    assert score == 0.0 and "calls nnscratch's own implementation" in out, out
    s = student(GRADCHECK)
    score, out = run(ps2.grade_gradcheck, capsys, s.numerical_gradient, gradcheck.relative_error)
    assert score == 0.0 and "calls nnscratch's own implementation" in out, out


def test_not_a_function(capsys):
    score, out = run(ps2.grade_backprop, capsys, "backprop")
    assert score == 0.0 and "expected your function backprop" in out


# --------------------------------------------------------------------------------------------
# numerical_gradient, relative_error, check_backprop
# --------------------------------------------------------------------------------------------


def test_gradcheck_tools_full_marks(capsys):
    s = student(GRADCHECK)
    score, out = run(ps2.grade_gradcheck, capsys, s.numerical_gradient, s.relative_error)
    assert score == 3.0, out
    score, out = run(ps2.grade_gradcheck, capsys, s.numerical_gradient, s.relative_error,
                     full=False)
    assert score == 3.0, out


GRADCHECK_BUGS = {
    "forward": ((("x[idx] = old - eps\n        f_minus = f(x)",
                  "x[idx] = old\n        f_minus = f(x)"),
                 ("(2 * eps)", "eps")), 1.0, "one-sided difference"),
    "divided_by_eps": ((("(2 * eps)", "eps"),), 1.0, "twice the gradient"),
    "not_restored": ((("        x[idx] = old\n", ""),), (1.5, 2.0), "x is changed after the call"),
    "together": ((("x[idx] = old + eps", "x = x + eps"), ("x[idx] = old - eps", "x = x - 2 * eps"),
                  ("        x[idx] = old\n", "        x = x + eps\n")), 1.0,
                 "moves every entry of x at once"),
    "zero_zero_nan": ((("return 0.0 if d == 0 else float(np.linalg.norm(a - b) / d)",
                        "return float(np.linalg.norm(a - b) / d)"),), 2.0 + 5 / 6,
                      "(0/0: return 0 when both arrays are zero)"),
    "denominator_b": ((("d = np.linalg.norm(a) + np.linalg.norm(b)", "d = np.linalg.norm(b)"),),
                      None, "divides by ‖b‖ only"),
    "elementwise": ((("return 0.0 if d == 0 else float(np.linalg.norm(a - b) / d)",
                      "return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-300)))"),),
                    None, "works entry by entry"),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK_BUGS))
def test_gradcheck_bugs_are_named(name, capsys):
    replace, want, phrase = GRADCHECK_BUGS[name]
    s = student(GRADCHECK, replace=replace)
    score, out = run(ps2.grade_gradcheck, capsys, s.numerical_gradient, s.relative_error)
    if want is None:
        assert 2.0 <= score < 3.0, out
    elif isinstance(want, tuple):
        assert want[0] <= score <= want[1], out
    else:
        assert score == pytest.approx(want, abs=0.011), out
    assert phrase in out, out


def test_checker_accepts_correct_and_flags_bugs(capsys):
    s = student(GRADCHECK)
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert score == 2.0, out
    assert out.count("flagged") == len(ps2.PLANTED) - 1 and "accepted" in out


def test_checker_that_only_checks_weights_misses_the_bias_bug(capsys):
    s = student(GRADCHECK, replace=(("for params, grads in ((Ws, dWs), (bs, dbs)):",
                                     "for params, grads in ((Ws, dWs),):"),))
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert score == pytest.approx(2.0 - 1 / 3, abs=0.011), out
    assert "does your checker compare every bs[l] too?" in out


def test_checker_that_always_says_wrong_or_right(capsys):
    s = student("def check_backprop(*args):\n    return 1.0\n")
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert score == 1.0 and "but this backprop is correct" in out, out
    s = student("def check_backprop(*args):\n    return 0.0\n")
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert score == 1.0 and "not flagged" in out, out


def test_checker_with_a_broken_numerical_gradient(capsys):
    s = student(GRADCHECK, replace=(("(2 * eps)", "eps"),))
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert score < 2.0 and "but this backprop is correct" in out, out


def test_hostile_checker_is_contained(capsys):
    s = student("def check_backprop(*args):\n    while True:\n        pass\n")
    score, out = run(ps2.grade_checker, capsys, s.check_backprop, timeout=1.0)
    assert score == 0.0 and "did not finish within" in out, out


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def test_training_with_correct_backprop_passes(capsys):
    s = student(BACKPROP)
    for seed in (0, 1, 2):
        score, out = run(ps2.check_training, capsys, s.backprop, seed=seed)
        assert score == 2.0, out


def test_training_with_wrong_backprop_fails(capsys):
    s = student(BACKPROP, replace=(("(As[-1] - Y)", "(Y - As[-1])"),))
    score, out = run(ps2.check_training, capsys, s.backprop)
    assert score == 0.0 and "test accuracy" in out, out
    s = student(BACKPROP, replace=(("return dWs, dbs", "return dbs, dWs"),))
    score, out = run(ps2.check_training, capsys, s.backprop)
    assert score == 0.0 and "backprop returned gradients of shapes" in out, out


@pytest.mark.skipif(
    not any(label == "nnscratch.grading.ps2" for label, *_ in _pristine._GRADER),
    reason="nnscratch.grading.__init__ does not freeze ps2/batched yet",
)
def test_rewired_reference_earns_nothing(capsys):
    """A student who replaces the grader's reference by their own answer gets no credit."""
    from nnscratch.grading import batched

    s = student(BACKPROP, replace=(("(As[-1] - Y) / N", "(As[-1] - Y)"),))
    original = batched.backprop_batched
    try:
        batched.backprop_batched = lambda *a, **k: original(*a[:5], batched.BatchBug(mean=False))
        score, out = run(ps2.grade_backprop, capsys, s.backprop)
    finally:
        batched.backprop_batched = original
        _pristine.restore_grader()
    assert score == 0.0 and "changed the grader itself" in out, out


def test_code_that_calls_what_it_was_given_then_raises_is_no_delegation(capsys):
    """Calling the f (or the backprop) handed in, then raising, is an error in the student's
    code: it costs that item, not the whole cell as a 'call into nnscratch' would."""
    s = student("def numerical_gradient(f, x, eps=1e-5):\n    f(x)\n    raise ValueError('oops')\n"
                + "def relative_error(a, b):\n    d = np.linalg.norm(a) + np.linalg.norm(b)\n"
                + "    return 0.0 if d == 0 else float(np.linalg.norm(a - b) / d)\n")
    score, out = run(ps2.grade_gradcheck, capsys, s.numerical_gradient, s.relative_error)
    assert "calls nnscratch's own implementation" not in out and "ValueError" in out, out
    assert score == pytest.approx(1.0, abs=0.011), out  # the relative_error point is kept
    s = student("def check_backprop(backprop, Ws, bs, activations, X, Y):\n"
                "    backprop(Ws, bs, activations, X, Y)\n    raise ValueError('oops')\n")
    score, out = run(ps2.grade_checker, capsys, s.check_backprop)
    assert "calls nnscratch's own implementation" not in out and "ValueError" in out, out
    assert score == 0.0, out
