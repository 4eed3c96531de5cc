"""Synthetic sets, scikit-learn digits and target images: shapes, dtypes, seeds, validation."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch._checks import as_generator
from nnscratch.data import (
    FUNCTIONS_2D,
    IMAGE_NAMES,
    LOGIC_GATES,
    PLAYGROUND_SETS,
    ImageTarget,
    function_2d,
    load_digits_split,
    logic_gate,
    make_function_2d,
    make_image,
    make_moons,
    playground,
)
from nnscratch.data._checks import stratified_split

TRUTH = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "XOR": [0, 1, 1, 0],
    "NAND": [1, 1, 1, 0],
    "NOR": [1, 0, 0, 0],
}


def _check_xy(X, y, n, labels):
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y).tolist()) <= set(labels)
    assert np.all(np.isfinite(X))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_as_generator():
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(as_generator(None), np.random.Generator)
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ValueError):
            as_generator(bad)


def test_stratified_split_sizes():
    y = np.repeat(np.arange(3), [50, 30, 20])
    a, b = stratified_split(y, 10, np.random.default_rng(0))
    assert len(a) == 90 and len(b) == 10
    assert np.bincount(y[b]).tolist() == [5, 3, 2]
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(100))
    with pytest.raises(ValueError):
        stratified_split(y, 100, np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# Logic gates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LOGIC_GATES)
def test_logic_gates(name):
    X, y = logic_gate(name)
    assert X.shape == (4, 2) and X.dtype == np.float64
    assert y.shape == (4,) and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert y.tolist() == TRUTH[name]
    assert logic_gate(name.lower())[1].tolist() == TRUTH[name]
    _, s = logic_gate(name, signed=True)
    assert s.tolist() == [2 * v - 1 for v in TRUTH[name]]


def test_logic_gate_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match=r"XNOR.*AND, OR, XOR, NAND, NOR"):
        logic_gate("XNOR")
    with pytest.raises(ValueError):
        logic_gate(3)  # type: ignore[arg-type]


def test_logic_gate_returns_fresh_arrays():
    X, _ = logic_gate("AND")
    X[0, 0] = 7
    assert logic_gate("AND")[0][0, 0] == 0


# --------------------------------------------------------------------------------------------
# Moons
# --------------------------------------------------------------------------------------------


def test_moons_shapes_and_seed():
    X, y = make_moons(101, 0.1, seed=0)
    _check_xy(X, y, 101, {0, 1})
    assert np.bincount(y).tolist() == [50, 51]
    X2, y2 = make_moons(101, 0.1, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = make_moons(101, 0.1, seed=1)
    assert not np.array_equal(X, X3)
    _, s = make_moons(10, signed=True)
    assert set(s.tolist()) == {-1, 1}


def test_moons_without_noise_lie_on_the_half_circles():
    X, y = make_moons(50, noise=0.0)
    upper = X[y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)


def test_moons_accepts_a_generator():
    g = np.random.default_rng(3)
    a, _ = make_moons(20, seed=g)
    b, _ = make_moons(20, seed=g)
    assert not np.array_equal(a, b)  # the generator advances


@pytest.mark.parametrize("n", [0, -3, 2.5, "10"])
def test_moons_bad_n(n):
    with pytest.raises(ValueError, match="n must be"):
        make_moons(n)


def test_moons_bad_noise():
    with pytest.raises(ValueError, match="noise"):
        make_moons(10, noise=-0.1)


# --------------------------------------------------------------------------------------------
# TensorFlow Playground
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PLAYGROUND_SETS)
def test_playground_shapes_seeds(name):
    X, y = playground(name, 301, noise=0.1, seed=0)
    _check_xy(X, y, 301, {0, 1})
    assert set(y.tolist()) == {0, 1}
    X2, y2 = playground(name, 301, noise=0.1, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = playground(name, 301, noise=0.1, seed=1)
    assert not np.array_equal(X, X3)
    _, s = playground(name, 20, seed=0, signed=True)
    assert set(s.tolist()) <= {-1, 1}


def test_playground_geometry_without_noise():
    X, y = playground("circle", 400, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(r[y == 1] <= 2.5) and np.all((r[y == 0] >= 3.5) & (r[y == 0] <= 5))
    assert np.bincount(y).tolist() == [200, 200]
    X, y = playground("xor", 400, noise=0.0)
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    X, y = playground("gauss", 2000, noise=0.0)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].var(axis=0), [0.5, 0.5], rtol=0.2)
    X, y = playground("spiral", 400, noise=0.0)
    assert np.hypot(X[:, 0], X[:, 1]).max() < 5


def test_playground_noise_flips_some_circle_labels_only():
    X5, y5 = playground("circle", 1000, noise=0.5, seed=2)
    r = np.hypot(X5[:, 0], X5[:, 1])
    assert r.max() <= 5  # the points themselves are not moved ...
    assert np.mean((r < 2.5) != (y5 == 1)) > 0.05  # ... but labels near the edge flip
    gauss_wide = playground("gauss", 2000, noise=0.5)[0]
    assert gauss_wide.std() > playground("gauss", 2000, noise=0.0)[0].std()


def test_playground_bad_inputs():
    with pytest.raises(ValueError, match="circle, xor, gauss, spiral"):
        playground("moons")
    with pytest.raises(ValueError, match="n must be"):
        playground("xor", 0)
    with pytest.raises(ValueError, match="noise"):
        playground("xor", 10, noise=0.7)


# --------------------------------------------------------------------------------------------
# 2D functions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FUNCTIONS_2D))
def test_functions_2d(name):
    X, y = make_function_2d(name, 200, seed=0)
    assert X.shape == (200, 2) and y.shape == (200, 1)
    assert X.dtype == y.dtype == np.float64
    assert X.min() >= -1 and X.max() <= 1
    np.testing.assert_allclose(y[:, 0], function_2d(name)(X))
    X2, y2 = make_function_2d(name, 200, seed=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make_function_2d(name, 200, seed=1)[0])
    _, noisy = make_function_2d(name, 200, seed=0, noise=0.1)
    assert 0.05 < np.std(noisy - y) < 0.15


def test_exp_abs_formula():
    f = function_2d("exp_abs")
    X = np.array([[0.0, 0.0], [0.3, -0.1], [1.0, 1.0]])
    expected = np.exp(-5 * (X**2).sum(axis=1)) * np.abs(X.sum(axis=1))
    np.testing.assert_allclose(f(X), expected)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        f(np.zeros(3))


def test_functions_2d_bad_inputs():
    with pytest.raises(ValueError, match="exp_abs"):
        function_2d("gaussian_bump")
    with pytest.raises(ValueError, match="n must be"):
        make_function_2d("saddle", -1)
    with pytest.raises(ValueError, match="low < high"):
        make_function_2d("saddle", 5, low=1, high=0)


# --------------------------------------------------------------------------------------------
# scikit-learn digits
# --------------------------------------------------------------------------------------------


def test_digits_split():
    X_train, X_test, y_train, y_test = load_digits_split()
    assert X_train.shape == (1438, 64) and X_test.shape == (359, 64)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    assert X_train.min() == 0 and X_train.max() == 1
    # Stratified: every digit keeps its share (within one image).
    full = np.bincount(np.concatenate([y_train, y_test]))
    assert np.all(np.abs(np.bincount(y_test) - 0.2 * full) <= 1)
    again = load_digits_split(seed=0)
    np.testing.assert_array_equal(again.X_train, X_train)
    np.testing.assert_array_equal(again.y_test, y_test)
    other = load_digits_split(seed=1)
    assert not np.array_equal(other.y_train, y_train)


def test_digits_one_hot_float32_and_bad_sizes():
    s = load_digits_split(test_size=100, one_hot=True, dtype=np.float32)
    assert s.X_test.shape == (100, 64) and s.X_train.dtype == np.float32
    assert s.y_test.shape == (100, 10) and s.y_train.shape == (1697, 10)
    for bad in (0, 1.0, -0.2, 1797, True):
        with pytest.raises(ValueError, match="test_size"):
            load_digits_split(test_size=bad)


# --------------------------------------------------------------------------------------------
# Target images
# --------------------------------------------------------------------------------------------

CHEAP_IMAGES = [n for n in IMAGE_NAMES if n not in ("text", "hopper")]


@pytest.mark.parametrize("name", CHEAP_IMAGES)
def test_image_target_sampling(name):
    t = ImageTarget(name, size=32)
    assert t.image.shape == (32, 32) and t.channels == 1
    assert t.image.min() >= 0 and t.image.max() <= 1 and t.image.std() > 0.1
    xy, v = t.sample(100, np.random.default_rng(0))
    assert xy.shape == (100, 2) and v.shape == (100, 1)
    assert xy.dtype == v.dtype == np.float64
    assert xy.min() >= 0 and xy.max() <= 1 and v.min() >= 0 and v.max() <= 1
    xy2, v2 = t.sample(100, 0)
    np.testing.assert_array_equal(xy, xy2)
    np.testing.assert_array_equal(v, v2)
    assert not np.array_equal(xy, t.sample(100, 1)[0])


@pytest.mark.parametrize("name", CHEAP_IMAGES)
def test_image_target_color(name):
    t = ImageTarget(name, size=16, color=True)
    assert t.image.shape == (16, 16, 3) and t.channels == 3
    _, v = t.sample(10, 0)
    assert v.shape == (10, 3)


def test_image_grid_round_trip():
    t = ImageTarget("shapes", size=24, color=True)
    xy, v = t.grid()
    assert xy.shape == (24 * 24, 2) and v.shape == (24 * 24, 3)
    np.testing.assert_array_equal(t.to_image(v), t.image)
    xy, v = t.grid(10)
    assert t.to_image(v, 10).shape == (10, 10, 3)
    assert t.to_image(v[:, 0], 10).shape == (10, 10)
    with pytest.raises(ValueError, match="values must have shape"):
        t.to_image(v)


def test_image_orientation():
    """y runs upwards: the smiley's eyes are in the upper half, row 0 is the top row."""
    img = np.zeros((4, 4))
    img[0, 3] = 1.0  # top right
    t = ImageTarget(img)
    assert t.value_at(np.array([[0.9, 0.9]]))[0, 0] == 1.0
    assert t.value_at(np.array([[0.1, 0.1], [0.9, 0.1]])).sum() == 0
    smiley = ImageTarget("smiley", size=40)
    eye = smiley.value_at(np.array([[0.36, 0.62]]))[0, 0]
    below = smiley.value_at(np.array([[0.36, 0.38]]))[0, 0]
    assert eye == 0.0 and below == 1.0


def test_image_bilinear_interpolation():
    img = np.array([[0.0, 1.0], [0.0, 1.0]])
    t = ImageTarget(img, interpolation="bilinear")
    v = t.value_at(np.array([[0.5, 0.5], [0.25, 0.5], [0.0, 0.0], [1.0, 1.0]]))[:, 0]
    np.testing.assert_allclose(v, [0.5, 0.0, 0.0, 1.0])
    nearest = ImageTarget(img).value_at(np.array([[0.49, 0.5], [0.51, 0.5]]))[:, 0]
    np.testing.assert_array_equal(nearest, [0.0, 1.0])


def test_image_from_arrays():
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 0] = 255
    t = ImageTarget(rgba)
    assert t.channels == 3 and t.shape == (5, 6)
    np.testing.assert_allclose(t.image[..., 0], 1.0)
    gray = ImageTarget(rgba, color=False)
    assert gray.channels == 1
    np.testing.assert_allclose(gray.image, 0.299)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ImageTarget(np.full((4, 4), 2.0))
    with pytest.raises(ValueError, match="shape"):
        ImageTarget(np.zeros((4, 4, 2)))


def test_text_image_rendered_with_agg():
    pytest.importorskip("matplotlib")
    t = ImageTarget("text", size=32, text="Hi")
    assert t.image.shape == (32, 32)
    assert 0.05 < t.image.mean() < 0.6  # some white glyphs on black
    np.testing.assert_array_equal(make_image("text", 32, text="Hi"), t.image)  # deterministic
    assert not np.array_equal(make_image("text", 32, text="AB"), t.image)
    with pytest.raises(ValueError, match="text"):
        make_image("text", 32, text="  ")


def test_hopper_sample_image_if_installed():
    try:
        t = ImageTarget("hopper", size=32, color=True)
    except ValueError as exc:
        pytest.skip(f"matplotlib sample data not available: {exc}")
    assert t.image.shape == (32, 32, 3) and 0 <= t.image.min() and t.image.max() <= 1


def test_image_bad_inputs():
    with pytest.raises(ValueError, match="smiley, shapes"):
        ImageTarget("mona_lisa")
    with pytest.raises(ValueError, match="size"):
        make_image("smiley", 0)
    t = ImageTarget("rings", size=8)
    with pytest.raises(ValueError, match="n must be"):
        t.sample(0, 0)
    with pytest.raises(ValueError, match="rng"):
        t.sample(5, -1)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        t.value_at(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="interpolation"):
        ImageTarget("rings", interpolation="cubic")
