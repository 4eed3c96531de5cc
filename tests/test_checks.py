"""The package's one module of input checks (nnscratch._checks) and the data-only helpers left in
nnscratch.data._checks; and that the modules depend on each other one way."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import nnscratch
from nnscratch import _checks
from nnscratch._checks import (
    as_generator,
    check_choice,
    check_count,
    check_dtype,
    check_non_negative,
    check_positive,
    one_hot,
)
from nnscratch.data._checks import split_count

SRC = Path(nnscratch.__file__).parent


# ---------------------------------------------------------------------- seeds
def test_as_generator_accepts_the_seed_kinds():
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    same = np.random.default_rng(7).integers(10**9)
    assert as_generator(7).integers(10**9) == same
    assert as_generator(np.int64(7)).integers(10**9) == same
    assert as_generator(np.random.SeedSequence(7)).integers(10**9) == same
    assert isinstance(as_generator(None), np.random.Generator)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, [1, 2]])
def test_as_generator_names_the_argument(bad):
    with pytest.raises(ValueError, match=r"^rng must be an int >= 0, a numpy.random.Generator"):
        as_generator(bad, "rng")
    with pytest.raises(ValueError, match=r"^seed must be .* got ") as info:
        as_generator(bad)
    assert str(info.value).endswith(f"got {bad!r}")


def test_the_ising_sampler_checks_its_rng_like_everyone_else():
    with pytest.raises(ValueError, match="rng must be an int >= 0"):
        nnscratch.ising.initial_spins(2, 4, "hot", rng="abc")
    with pytest.raises(ValueError, match="rng must be an int >= 0"):
        nnscratch.ising.simulate(nnscratch.ising.initial_spins(2, 4), 2.0, rng=-3)


# ---------------------------------------------------------------------- numbers and counts
def test_check_count():
    assert check_count(3, "n") == 3 and type(check_count(np.int32(3), "n")) is int
    assert check_count(0, "n_sweeps", minimum=0) == 0
    for bad, message in [
        (0, r"epochs must be a positive integer, got 0"),
        (2.0, r"epochs must be a positive integer, got 2.0"),
        (True, r"epochs must be a positive integer, got True"),
        ("3", r"epochs must be a positive integer, got '3'"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_count(bad, "epochs")
    with pytest.raises(ValueError, match=r"L must be an integer >= 2, got 1"):
        check_count(1, "L", minimum=2)


def test_check_positive_and_non_negative():
    assert check_positive(np.float32(0.5), "eta") == 0.5
    assert check_non_negative(0, "noise") == 0.0
    for bad in (0, -1.0, float("nan"), float("inf"), "1", True, None):
        with pytest.raises(ValueError, match=r"eta must be a positive number"):
            check_positive(bad, "eta")
    for bad in (-0.1, float("nan"), "0", False):
        with pytest.raises(ValueError, match=r"noise must be a number >= 0"):
            check_non_negative(bad, "noise")


def test_check_dtype():
    assert check_dtype("float32") == np.float32 and check_dtype(np.float64) == np.float64
    for bad, shown in [(np.int64, "int64"), (np.float16, "float16"), ("no-such-type", "'no")]:
        with pytest.raises(ValueError, match=rf"dtype must be float32 or float64, got {shown}"):
            check_dtype(bad)


# ---------------------------------------------------------------------- names
def test_check_choice_lists_the_choices_in_the_order_given():
    assert check_choice("b", "letter", ("c", "b", "a")) == "b"
    with pytest.raises(ValueError, match=r"^unknown letter 'B'; expected one of: c, b, a$"):
        check_choice("B", "letter", ("c", "b", "a"))
    with pytest.raises(ValueError, match=r"unknown letter 3"):
        check_choice(3, "letter", ("c", "b", "a"))


def test_check_choice_normalize_returns_the_canonical_spelling():
    assert check_choice(" xor ", "gate", ("AND", "XOR"), normalize=True) == "XOR"
    assert check_choice("two-moons", "set", ("two_moons",), normalize=True) == "two_moons"
    assert check_choice("Two Moons", "set", ("two_moons",), normalize=True) == "two_moons"
    with pytest.raises(ValueError, match="unknown set 'moon'; expected one of: two_moons"):
        check_choice("moon", "set", ("two_moons",), normalize=True)


# ---------------------------------------------------------------------- one-hot labels
def test_one_hot():
    Y = one_hot([2, 0, 1], 3)
    np.testing.assert_array_equal(Y, np.eye(3)[[2, 0, 1]])
    assert Y.dtype == np.float64 and one_hot(np.array([1]), 2, np.float32).dtype == np.float32
    np.testing.assert_array_equal(one_hot(np.array([1.0, 0.0]), 2), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(one_hot(np.array([True, False]), 2), [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"out of range: got 3, expected integers in 0\.\.2"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"out of range: got -1"):
        one_hot([0, -1], 3)
    with pytest.raises(ValueError, match=r"integers in 0\.\.2; got non-integer values such as 0.5"):
        one_hot([0, 0.5], 3)
    with pytest.raises(ValueError, match=r"non-integer values such as nan"):
        one_hot([0, np.nan], 3)
    with pytest.raises(ValueError, match=r"1D array \(n,\), got shape \(1, 2\)"):
        one_hot([[0, 1]], 3)
    with pytest.raises(ValueError, match=r"must be integers, got an array of dtype <U1"):
        one_hot(["a"], 3)


def test_the_loaders_and_the_network_share_one_hot():
    from nnscratch.data import load_digits_split

    s = load_digits_split(test_size=100, one_hot=True)
    labels = load_digits_split(test_size=100).y_test
    np.testing.assert_array_equal(s.y_test, one_hot(labels, 10))
    net = nnscratch.Network([64, 5, 10], seed=0)
    np.testing.assert_array_equal(net.encode(labels), one_hot(labels, 10))


# ---------------------------------------------------------------------- data-only helpers
def test_split_count():
    assert split_count(100, 1000, "test_size") == 100
    assert split_count(np.int64(5), 1000, "test_size") == 5
    assert split_count(0.25, 10, "validation") == 2  # round(2.5) -> 2, as Python rounds
    assert split_count(1 / 6, 60000, "validation") == 10000
    for bad in (0.0, 1.0, 1.5, True, "10", None):
        with pytest.raises(ValueError, match=r"validation must be a count \(an int\) or a fracti"):
            split_count(bad, 10, "validation")


def test_data_checks_holds_only_data_specific_helpers():
    from nnscratch.data import _checks as data_checks

    public = {
        name
        for name, obj in vars(data_checks).items()
        if inspect.isfunction(obj) and obj.__module__ == data_checks.__name__
    }
    assert public == {"split_count", "stratified_split"}
    general = {name for name, obj in vars(_checks).items() if inspect.isfunction(obj)}
    assert not {"as_generator", "one_hot", "check_n", "check_name"} & public
    assert {"as_generator", "one_hot", "check_count", "check_choice"} <= general


# ---------------------------------------------------------------------- module dependencies
def _imported_modules(path: Path) -> set[str]:
    """Relative module names a file imports (at any level: top, functions, TYPE_CHECKING)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            names.add(node.module or "")
            names.update(f"{node.module or ''}.{a.name}".strip(".") for a in node.names)
    return names


def test_training_does_not_import_network():
    imported = _imported_modules(SRC / "training.py")
    assert not {m for m in imported if m.split(".")[0] == "network"}, imported
    assert "training.train" in _imported_modules(SRC / "network.py")


def test_the_estimators_share_one_signature():
    from nnscratch.estimators import MLPClassifier, MLPRegressor

    c = inspect.signature(MLPClassifier.__init__).parameters
    r = inspect.signature(MLPRegressor.__init__).parameters
    assert list(c) == list(r)
    assert c["loss"].default == "cross_entropy" and r["loss"].default == "quadratic"
    assert MLPClassifier().get_params()["loss"] == "cross_entropy"
    assert MLPRegressor(eta=0.1).get_params()["eta"] == 0.1
