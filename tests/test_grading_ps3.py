"""The ps3-moons grader (nnscratch.grading.ps3 / .moons): reference, diagnoses, hostile code.

Student answers are source strings of ``backprop(X1, X2, T)`` executed into a fresh module whose
globals ``W``, ``B``, ``V`` play the notebook's global variables, as a notebook cell would be.
"""

from __future__ import annotations

import json
import linecache
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

import nnscratch as nn
from nnscratch.grading import _pristine, moons, ps3
from nnscratch.grading.moons import CATALOGUE, Group, backprop_variant, diagnose

REPO = Path(__file__).resolve().parents[1]
SOURCE_NB = REPO / "exercises" / "source" / "ps3-moons" / "ps3-moons.ipynb"
FLOAT = float

# --------------------------------------------------------------------------------------------
# Student answers
# --------------------------------------------------------------------------------------------


def _solution_from_notebook() -> str:
    """The instructor's backprop cell of the source notebook, markers removed."""
    nb = json.loads(SOURCE_NB.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "backprop":
            lines = "".join(cell["source"]).splitlines(keepends=True)
            return "".join(ln for ln in lines if "### " not in ln)
    raise AssertionError("no backprop cell in the source notebook")


NOTEBOOK = _solution_from_notebook()

# the book's matrix form: X @ W with X = [X1 X2], delta-rule written with broadcasting
MATRIX = """
def backprop(X1, X2, T):
    X = np.column_stack([X1, X2])
    Z = X @ W + B
    H = np.maximum(Z, 0)
    Y = H @ V
    g = -T * (Y * T < 0) / len(T)
    delta = g[:, None] * V[None, :] * np.heaviside(Z, 0.0)
    return X.T @ delta, delta.sum(0), H.T @ g
"""

# loops over the points
LOOPS = """
def backprop(X1, X2, T):
    DW = np.zeros_like(W); DB = np.zeros_like(B); DV = np.zeros_like(V)
    for x1, x2, t in zip(X1, X2, T):
        z = x1 * W[0] + x2 * W[1] + B
        h = np.where(z > 0, z, 0.0)
        y = float(np.dot(h, V))
        if y * t < 0:
            g = -t / len(T)
            DV += g * h
            d = g * V * (z > 0)
            DB += d
            DW[0] += x1 * d
            DW[1] += x2 * d
    return DW, DB, DV
"""

CORRECT = {"notebook": NOTEBOOK, "matrix": MATRIX, "loops": LOOPS}


def _edit(old: str, new: str, source: str = NOTEBOOK) -> str:
    assert old in source, f"{old!r} not in the notebook's solution"
    return source.replace(old, new)


_DY = "dY = np.where(Y * T < 0, -T, 0.0) / N"
_DELTA = "delta = np.outer(dY, V) * (Z > 0)"

#: name -> (source, hidden score range, text the hidden report must contain)
BUGGY = {
    "relu_ge": (_edit("(Z > 0)", "(Z >= 0)"), (5.0, 5.6), "z >= 0 instead of z > 0"),
    "relu_none": (_edit(_DELTA, "delta = np.outer(dY, V)"), (1.5, 4.5),
                  "the ReLU derivative Θ(z) is missing in δ"),
    "relu_value": (_edit(_DELTA, "delta = np.outer(dY, V) * H"), (1.5, 4.5),
                   "δ uses ReLU(z) instead of the ReLU derivative"),
    "tie_loss": (_edit("Y * T < 0", "Y * T <= 0"), (5.5, 5.7),
                 "y t <= 0 instead of y t < 0"),
    "sign": (_edit(_DY, "dY = np.where(Y * T < 0, T, 0.0) / N"), (0.0, 0.4),
             "the sign of ∂C/∂y is flipped"),
    "no_mean": (_edit(_DY, "dY = np.where(Y * T < 0, -T, 0.0)"), (0.8, 1.6),
                "the 1/N of the average over the data set is missing"),
    "all_points": (_edit(_DY, "dY = -T / N"), (0.0, 2.5),
                   "the correctly classified points are included"),
    "quadratic": (_edit(_DY, "dY = (Y - T) / N"), (0.0, 0.5), "that of the quadratic cost"),
    "hinge": (_edit(_DY, "dY = np.where(Y * T < 1, -T, 0.0) / N"), (0.0, 2.5),
              "that of the hinge loss"),
    "x_swapped_in_dw": (_edit("np.array([X1 @ delta, X2 @ delta])",
                              "np.array([X2 @ delta, X1 @ delta])"), (3.5, 4.5),
                        "X1 and X2 are swapped in DW"),
    "x_swapped_forward": (_edit("np.outer(X1, W[0]) + np.outer(X2, W[1])",
                                "np.outer(X2, W[0]) + np.outer(X1, W[1])"), (0.0, 2.5),
                          "X1 and X2 are swapped (z = X1 W[0]"),
    "db_dv_swapped": (_edit("return DW, DB, DV", "return DW, DV, DB"), (1.5, 2.5),
                      "DB and DV are returned in each other's place"),
    "dv_from_z": (_edit("DV = H.T @ dY", "DV = Z.T @ dY"), (3.5, 4.5),
                  "DV uses z instead of h"),
    "no_v": (_edit(_DELTA, "delta = dY[:, None] * (Z > 0)"), (1.5, 4.5),
             "missing the factor V"),
    "hidden_zero": (_edit("return DW, DB, DV", "return 0 * DW, 0 * DB, DV"), (1.5, 4.5),
                    "DW and DB are left at zero"),
    "factor2": (_edit("return DW, DB, DV", "return 2 * DW, 2 * DB, 2 * DV"), (0.0, 0.5),
                "is 2 times"),
}

#: name -> (source, text the hidden report must contain): no credit at all
HOSTILE = {
    "loop": ("def backprop(X1, X2, T):\n    while True:\n        pass\n", "did not finish within"),
    "os_exit": ("def backprop(X1, X2, T):\n    import os\n    os._exit(3)\n", "ended the process"),
    "sys_exit": ("def backprop(X1, X2, T):\n    import sys\n    sys.exit(1)\n",
                 "called sys.exit()"),
    "memory": ("def backprop(X1, X2, T):\n    a = []\n    while True:\n"
               "        a.append(np.ones(2**24))\n", "MB of memory"),
    "raises": ("def backprop(X1, X2, T):\n    return W[5, 0]\n", "raised IndexError"),
    "none": ("def backprop(X1, X2, T):\n    DW = W * 0\n", "returned None"),
    "two_items": ("def backprop(X1, X2, T):\n    return W * 0, B * 0\n", "of 2 items"),
    "strings": ("def backprop(X1, X2, T):\n    return 'DW', 'DB', 'DV'\n",
                "is not an array of numbers"),
    "huge": ("def backprop(X1, X2, T):\n    return np.zeros((3000, 3000)), B, V\n",
             "far too large"),
    "updates_w": (_edit("return DW, DB, DV", "W[:] = W - 0.1 * DW\n    return DW, DB, DV"),
                  "changed W during the call"),
    "order": (_edit("return DW, DB, DV", "return DV, DB, DW"), "must return DW, DB, DV"),
    "delegates": ("""
def backprop(X1, X2, T):
    net = nn.Network([2, W.shape[1], 1], activation="relu", loss="perceptron")
    net.set_weights([W, V[:, None]], [B, np.zeros(1)])
    gW, gb = net.backprop(np.column_stack([X1, X2]), T)
    return gW[0], gb[0], gW[1][:, 0]
""", "calls nnscratch's own implementation"),
}


def make_backprop(source: str, name: str = "student"):
    """``backprop`` defined by ``source`` in a fresh module (its globals play the notebook's),
    with ``np``, ``nn`` and notebook-like ``W``, ``B``, ``V``."""
    filename = f"<ps3-{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    mod = types.ModuleType(f"ps3_student_{name}")
    mod.np, mod.nn = np, nn
    mod.W, mod.B, mod.V = moons.he_init(50, 0)
    exec(compile(textwrap.dedent(source), filename, "exec"), vars(mod))
    return mod.backprop


def run(fn, capsys, *args, **kw) -> tuple[float, str]:
    score = fn(*args, **kw)
    out = capsys.readouterr()
    assert out.err == ""
    assert type(score) is FLOAT
    return score, out.out


# --------------------------------------------------------------------------------------------
# The reference
# --------------------------------------------------------------------------------------------


def _cost(X1, X2, T, W, B, V) -> float:
    return float(np.mean(np.maximum(0.0, -moons.output(X1, X2, W, B, V) * T)))


@pytest.mark.parametrize("case", range(4))
def test_reference_matches_finite_differences(case):
    c = moons.random_cases(23, 7, 4, seed=5)[case]
    grads = moons.reference_backprop(c.X1, c.X2, c.T, c.W, c.B, c.V)
    params = [c.W.copy(), c.B.copy(), c.V.copy()]
    for p, g in zip(params, grads):
        fd = nn.gradcheck.numerical_gradient(lambda: _cost(c.X1, c.X2, c.T, *params), p, h=1e-6)
        assert nn.gradcheck.relative_error(g, fd) < 1e-7
        assert np.abs(g).max() > 0


def test_reference_is_the_books_network_without_output_bias():
    """DW, DB, DV are nnscratch.Network's gradients of W[0], b[0], W[1] (the book's notebook's
    network with b^2 = 0)."""
    for c in moons.moons_cases(2, seed=3) + moons.random_cases(9, 4, 2, seed=1):
        net = nn.Network([2, c.n, 1], activation="relu", loss="perceptron")
        net.set_weights([c.W, c.V[:, None]], [c.B, np.zeros(1)])
        gW, gb = net.backprop(np.column_stack([c.X1, c.X2]), c.T)
        DW, DB, DV = moons.reference_backprop(c.X1, c.X2, c.T, c.W, c.B, c.V)
        np.testing.assert_allclose(DW, gW[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(DB, gb[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(DV, gW[1][:, 0], rtol=1e-12, atol=1e-15)


def test_reference_uses_subgradient_zero_at_the_kinks():
    tie_z, tie_y = moons.kink_cases(0)
    Z = np.outer(tie_z.X1, tie_z.W[0]) + np.outer(tie_z.X2, tie_z.W[1]) + tie_z.B
    assert (Z == 0).sum() >= 5  # the case really has weighted inputs at the kink
    assert np.all(moons.output(tie_y.X1, tie_y.X2, tie_y.W, tie_y.B, tie_y.V) == 0)
    for c in (tie_z, tie_y):
        ref = c.mutants["reference"]
        for key in ("relu_ge", "tie_loss"):
            m = next(m for m in CATALOGUE if m.key == key)
            mutant = backprop_variant(c.X1, c.X2, c.T, c.W, c.B, c.V, m.bug)
            if (c is tie_z) == (key == "relu_ge"):  # each case shows its own kink
                assert any(moons.relative_error(a, b) > 1e-3 for a, b in zip(mutant, ref))
    assert all(np.all(g == 0) for g in tie_y.mutants["reference"])


def test_reference_validates_its_input():
    W, B, V = moons.he_init(3, 0)
    x = np.zeros(4)
    with pytest.raises(ValueError, match=r"X2 must have shape \(4,\)"):
        moons.reference_backprop(x, np.zeros(5), x, W, B, V)
    with pytest.raises(ValueError, match=r"W must have shape \(2, n\)"):
        moons.reference_backprop(x, x, x, W.T, B, V)
    with pytest.raises(ValueError, match="NaN"):
        moons.reference_backprop(x, x, np.full(4, np.nan), W, B, V)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_reference_matches_tensorflow():
    pytest.importorskip("tensorflow")
    from nnscratch import keras_baselines as kb

    kb._keras()  # the quiet first import
    import tensorflow as tf

    c = moons.moons_cases(1, seed=11)[0]
    Wt, Bt, Vt = (tf.Variable(p, dtype=tf.float64) for p in (c.W, c.B, c.V))
    with tf.GradientTape() as tape:
        X = tf.constant(np.column_stack([c.X1, c.X2]))
        Y = tf.linalg.matvec(tf.nn.relu(X @ Wt + Bt), Vt)
        cost = tf.reduce_mean(tf.maximum(0.0 * Y, -Y * tf.constant(c.T)))
    grads = tape.gradient(cost, [Wt, Bt, Vt])
    for ours, theirs in zip(c.mutants["reference"], grads):
        assert moons.relative_error(ours, theirs.numpy()) < 1e-12


@pytest.mark.parametrize("mutation", CATALOGUE, ids=[m.key for m in CATALOGUE])
def test_each_mutation_is_diagnosed_as_itself(mutation):
    groups = [Group(label, build(0)) for label, build in ps3.GROUPS]
    answers = [
        [list(backprop_variant(c.X1, c.X2, c.T, c.W, c.B, c.V, mutation.bug)) for c in g.cases]
        for g in groups
    ]
    results, summary = diagnose(groups, answers)
    assert summary == mutation.summary
    wrong = [r for row in results for r in row if not r.correct]
    assert wrong and all(r.cause == mutation.key for r in wrong)


# --------------------------------------------------------------------------------------------
# grade_backprop and check_backprop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CORRECT)
def test_correct_solutions_get_full_marks(name, capsys):
    backprop = make_backprop(CORRECT[name], name)
    score, out = run(ps3.grade_backprop, capsys, backprop)
    assert score == 6.0, out
    assert out.count("✓") == len(ps3.GROUPS) and "⚠" not in out
    assert run(ps3.check_backprop, capsys, backprop)[0] == 1.0
    assert run(ps3.check_backprop, capsys, backprop, seed=1, points=6.0)[0] == 6.0


def test_no_false_failures_over_seeds(capsys):
    backprop = make_backprop(MATRIX, "matrix-seeds")
    for seed in range(30):
        score, out = run(ps3.grade_backprop, capsys, backprop, seed=seed)
        assert score == 6.0, f"seed {seed}\n{out}"


@pytest.mark.parametrize("name", BUGGY)
def test_buggy_solutions_get_partial_credit_and_the_right_diagnosis(name, capsys):
    source, (low, high), says = BUGGY[name]
    backprop = make_backprop(source, name)
    score, out = run(ps3.grade_backprop, capsys, backprop)
    assert low <= score <= high, out
    assert says in out, out
    assert "diagnosis:" in out, out


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (_edit("return DW, DB, DV", "return DW.T, DB, DV"), "the transpose of W's (2, 50)"),
        (_edit("return DW, DB, DV", "return DW, DB, DV[:, None]"),
         "has the right values but shape (50, 1); it must have the shape of V, (50,)"),
        (_edit("DB = delta.sum(axis=0)", "DB = delta"),
         "one row per data point: ∂C/∂B_j sums δ_xj over the points x"),
    ],
    ids=["dw-transposed", "dv-column", "db-unsummed"],
)
def test_wrong_shapes_are_explained(source, says, capsys):
    score, out = run(ps3.grade_backprop, capsys, make_backprop(source, "shape-" + says[:6]))
    assert 3.0 <= score <= 5.0 and says in out, out


def test_visible_check_gives_half_credit_and_the_diagnosis_for_a_kink_convention(capsys):
    backprop = make_backprop(BUGGY["relu_ge"][0], "ge-visible")
    score, out = run(ps3.check_backprop, capsys, backprop)
    assert score == 0.67, out  # 3 shapes + DV right, DW and DB wrong: 4 of 6
    assert "✗ DW: shape (2, 4) right, but takes the ReLU derivative as 1 at z = 0" in out
    assert "✓ DV" in out


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_code_is_contained(name, capsys):
    source, says = HOSTILE[name]
    backprop = make_backprop(source, name)
    timeout = 3.0 if name == "loop" else 20.0
    score, out = run(ps3.grade_backprop, capsys, backprop, timeout=timeout)
    assert score == 0.0, out
    assert says in out, out


def test_monkeypatched_numpy_is_reported_and_undone(capsys):
    backprop = make_backprop("def backprop(X1, X2, T):\n    return W * 0, B * 0, V * 0\n", "mp")
    saved = {k: getattr(np, k) for k in ("allclose", "isclose", "array", "where")}
    try:
        np.allclose = np.isclose = lambda *a, **k: True
        np.array = lambda *a, **k: None
        np.where = lambda *a, **k: None
        score, out = run(ps3.grade_backprop, capsys, backprop)
        assert np.array is not saved["array"]  # the student's kernel keeps its own numpy
    finally:
        for k, v in saved.items():
            setattr(np, k, v)
    assert "replaced numpy.allclose" in out and "is all zeros" in out, out
    assert score == 0.0, out
    assert "only the correctly classified" not in out  # zeros are zeros, not a lucky mutation


def test_not_a_function(capsys):
    score, out = run(ps3.grade_backprop, capsys, 42)
    assert score == 0.0 and "expected your function backprop" in out


@pytest.mark.skipif(
    not any(label == "nnscratch.grading.ps3" for label, *_ in _pristine._GRADER),
    reason="nnscratch.grading.__init__ does not freeze ps3 yet",
)
def test_rewritten_grader_earns_nothing(capsys):
    backprop = make_backprop(NOTEBOOK, "tamper")
    original = moons.diagnose.__code__
    try:
        moons.diagnose.__code__ = (lambda groups, student: ([], "")).__code__
        score, out = run(ps3.grade_backprop, capsys, backprop)
    finally:
        moons.diagnose.__code__ = original
        _pristine.restore_grader()
    assert score == 0.0 and "changed the grader itself" in out


def test_student_output_is_captured(capsys):
    source = _edit("N = len(T)", "N = len(T)\n    import sys\n    print('hello')\n"
                   "    print('oops', file=sys.stderr)")
    score, out = run(ps3.grade_backprop, capsys, make_backprop(source, "noisy"))
    assert score == 6.0 and "hello" not in out and "to stderr (not shown)" in out


# --------------------------------------------------------------------------------------------
# check_training
# --------------------------------------------------------------------------------------------


def test_training_with_the_solution_passes(capsys):
    score, out = run(ps3.check_training, capsys, make_backprop(NOTEBOOK, "train"))
    assert score == 2.0 and "training accuracy 1.00 after 300 steps" in out, out


@pytest.mark.slow
def test_reference_training_clears_the_bar_for_200_seeds():
    """The claim of check_training's docstring: the reference reaches 1.00 on seeds 0-199."""
    X1, X2, T = moons.moons_data()
    worst = 1.0
    for seed in range(200):
        W, B, V = moons.he_init(ps3.HIDDEN, seed, salt=99)
        for _ in range(300):
            DW, DB, DV = moons.reference_backprop(X1, X2, T, W, B, V)
            W, B, V = W - 0.3 * DW, B - 0.3 * DB, V - 0.3 * DV
        worst = min(worst, moons.accuracy(X1, X2, T, W, B, V))
    assert worst == 1.0


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("def backprop(X1, X2, T):\n    return W * 0, B * 0, V * 0\n",
         "the parameters did not change at all"),
        ("def backprop(X1, X2, T):\n    return W.T, B, V\n", "stopped after 0 steps"),
        ("def backprop(X1, X2, T):\n    while True:\n        pass\n", "did not finish within"),
        (BUGGY["sign"][0], "check backprop with the feedback"),
        (HOSTILE["delegates"][0], "calls nnscratch's own implementation"),
    ],
    ids=["zero", "shapes", "loop", "sign", "delegates"],
)
def test_training_failures(source, says, capsys):
    score, out = run(ps3.check_training, capsys, make_backprop(source, "t-" + says[:8]),
                     timeout=3.0)
    assert score == 0.0 and says in out, out


def test_grading_functions_validate_their_arguments():
    backprop = make_backprop(NOTEBOOK, "args")
    with pytest.raises(ValueError, match="points"):
        ps3.grade_backprop(backprop, points=-1)
    with pytest.raises(ValueError, match="threshold"):
        ps3.check_training(backprop, threshold=1.5)
    with pytest.raises(ValueError, match="iterations"):
        ps3.check_training(backprop, iterations=2.5)
