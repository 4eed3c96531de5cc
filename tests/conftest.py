"""Shared pytest configuration: locate the offline MNIST test set and keep tests offline."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

# pytest's own figures draw off screen (never set MPLBACKEND for the book's kernels, see DESIGN).
matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"

# No test may reach the internet: the MNIST loader must never try a download during tests.
os.environ.setdefault("NNSCRATCH_OFFLINE", "1")
# TensorFlow: no banner on stderr.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The processes the tests start (nbval's notebook kernels, nbgrader, JupyterHub) use one BLAS
# thread, as the book build in .ci/run does: as fast on a quiet 2-core machine, and robust when it
# is shared (under load two spinning OpenBLAS threads made a 23 s notebook cell take over 120 s,
# nbval's per-cell limit). numpy is already loaded here, so this process keeps its threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture
def close_figures():
    """A test that draws starts and ends without open figures (``pytestmark = pytest.mark.
    usefixtures("close_figures")`` in a module whose tests all draw)."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder with the official MNIST test set (`t10k-*`): $NNSCRATCH_DATA or ../shared."""
    env = os.environ.get("NNSCRATCH_DATA")
    for d in ([Path(env)] if env else []) + [SHARED_MNIST]:
        if (d / "t10k-images-idx3-ubyte.gz").is_file():
            return d
    pytest.skip(
        f"official MNIST test files not found (set NNSCRATCH_DATA; looked in {SHARED_MNIST})"
    )


def pytest_collection_modifyitems(config, items):
    """The book's notebooks (collected by nbval from book/) are slow tests."""
    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.notebook)
