"""nnscratch: neural networks from scratch, the library behind the course book.

``import nnscratch`` is fast and side-effect free: TensorFlow, matplotlib, scikit-learn's
estimator machinery and the data loaders are imported only when their modules are used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from . import activations, gradcheck, losses, optim
from .network import Network
from .optim import SGD, Adam
from .training import EarlyStopping, History, TrainingDiverged, train

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "EarlyStopping",
    "History",
    "Network",
    "TrainingDiverged",
    "__version__",
    "activations",
    "data",
    "estimators",
    "gradcheck",
    "ising",
    "keras_baselines",
    "losses",
    "optim",
    "train",
]

_LAZY = ("data", "estimators", "ising", "keras_baselines", "plots", "grading")

if TYPE_CHECKING:  # pragma: no cover
    from . import data, estimators, ising, keras_baselines


def __getattr__(name: str):
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'nnscratch' has no attribute {name!r}")
