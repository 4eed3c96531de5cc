"""Target images for 2D image fitting: a network learns ``(x, y) -> pixel value``.

The images are generated procedurally (smiley, shapes, checkerboard, rings, text rendered with
matplotlib's Agg backend) or taken from matplotlib's bundled sample data (``"hopper"``, if that
data is installed); nothing is downloaded. :class:`ImageTarget` samples random batches and gives
the full pixel grid for plotting.

Coordinates: ``x`` runs left to right and ``y`` bottom to top over the unit square, so an image
(or a prediction reshaped with :meth:`ImageTarget.to_image`) displays upright with
``plt.imshow(img, extent=(0, 1, 0, 1))``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._checks import SeedLike, as_generator, check_choice, check_count

__all__ = ["IMAGE_NAMES", "ImageTarget", "make_image"]

#: Names accepted by :func:`make_image` and :class:`ImageTarget`.
IMAGE_NAMES: tuple[str, ...] = ("smiley", "shapes", "checkerboard", "rings", "text", "hopper")

_SUPERSAMPLE = 4  # sub-pixels per pixel side, for anti-aliased edges


def _disc(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _paint(layers: list[tuple[np.ndarray, tuple[float, ...]]], shape: tuple[int, ...], bg):
    out = np.empty((*shape, len(bg)))
    out[...] = bg
    for mask, value in layers:
        out[mask] = value
    return out


def _smiley(x: np.ndarray, y: np.ndarray, color: bool) -> np.ndarray:
    face = _disc(x, y, 0.5, 0.5, 0.4)
    eyes = _disc(x, y, 0.36, 0.62, 0.06) | _disc(x, y, 0.64, 0.62, 0.06)
    r = np.hypot(x - 0.5, y - 0.5)
    mouth = (r >= 0.2) & (r <= 0.26) & (y < 0.45)
    if color:
        return _paint(
            [(face, (1.0, 0.85, 0.1)), (eyes | mouth, (0.1, 0.1, 0.1))], x.shape, (0,) * 3
        )
    return _paint([(face, (1.0,)), (eyes | mouth, (0.0,))], x.shape, (0.0,))


def _shapes(x: np.ndarray, y: np.ndarray, color: bool) -> np.ndarray:
    circle = _disc(x, y, 0.3, 0.7, 0.18)
    square = (np.abs(x - 0.72) <= 0.16) & (np.abs(y - 0.7) <= 0.16)
    # Triangle with apex (0.5, 0.45), base from (0.25, 0.1) to (0.75, 0.1).
    triangle = (y >= 0.1) & (y <= 0.45) & (np.abs(x - 0.5) <= (0.45 - y) * (0.25 / 0.35))
    if color:
        cols = ((0.9, 0.15, 0.15), (0.15, 0.75, 0.2), (0.2, 0.35, 0.95))
    else:
        cols = ((1.0,), (0.7,), (0.4,))
    bg = (0.0,) * len(cols[0])
    return _paint(list(zip((circle, square, triangle), cols, strict=True)), x.shape, bg)


def _checkerboard(x: np.ndarray, y: np.ndarray, color: bool) -> np.ndarray:
    cells = 8
    v = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(np.float64)
    return v[..., None]


def _rings(x: np.ndarray, y: np.ndarray, color: bool) -> np.ndarray:
    r = np.hypot(x - 0.5, y - 0.5)
    return (0.5 + 0.5 * np.cos(2 * np.pi * 6 * r))[..., None]


_PROCEDURAL: dict[str, Callable[[np.ndarray, np.ndarray, bool], np.ndarray]] = {
    "smiley": _smiley,
    "shapes": _shapes,
    "checkerboard": _checkerboard,
    "rings": _rings,
}


def _render(fn: Callable[[np.ndarray, np.ndarray, bool], np.ndarray], size: int, color: bool):
    """Evaluate ``fn`` on sub-pixel centres and average each pixel's block (anti-aliasing)."""
    s = _SUPERSAMPLE
    m = size * s
    c = (np.arange(m) + 0.5) / m
    x = np.broadcast_to(c[None, :], (m, m))
    y = np.broadcast_to(1.0 - c[:, None], (m, m))  # row 0 at the top
    v = fn(x, y, color)
    return v.reshape(size, s, size, s, v.shape[-1]).mean(axis=(1, 3))


def _render_text(text: str, size: int) -> np.ndarray:
    """White ``text`` on black, rendered with matplotlib's Agg (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    m = size * _SUPERSAMPLE
    fig = Figure(figsize=(1, 1), dpi=m, facecolor="black")
    canvas = FigureCanvasAgg(fig)
    t = fig.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        color="white",
        fontsize=40,
        fontweight="bold",
        family="DejaVu Sans",
    )
    bbox = t.get_window_extent(renderer=canvas.get_renderer())
    scale = 0.9 * m / max(bbox.width, bbox.height, 1e-9)
    t.set_fontsize(40 * scale)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float64)[:m, :m, 0] / 255.0
    return rgba.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3))[..., None]


def _load_hopper(size: int, color: bool) -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data, cropped square and resized."""
    try:
        from matplotlib import cbook
        from PIL import Image

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            img = Image.open(fh)
            img.load()
    except Exception as exc:  # sample data not installed, Pillow missing, ...
        raise ValueError(
            "image 'hopper' needs matplotlib's sample data (grace_hopper.jpg) and Pillow, which "
            f"are not available here ({exc}); choose another of: {', '.join(IMAGE_NAMES[:-1])}"
        ) from exc
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.convert("RGB" if color else "L").crop((left, top, left + side, top + side))
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float64) / 255.0
    return arr if color else arr[..., None]


def make_image(name: str, size: int = 64, *, color: bool = False, text: str = "NN") -> np.ndarray:
    """A target image, generated or loaded without any download.

    Parameters
    ----------
    name : {"smiley", "shapes", "checkerboard", "rings", "text", "hopper"}
        ``"shapes"`` is a circle, a square and a triangle; ``"checkerboard"`` has 8x8 cells;
        ``"rings"`` are concentric cosine rings; ``"text"`` renders ``text``; ``"hopper"`` is
        matplotlib's sample photograph (only if matplotlib's sample data is installed).
    size : int, default 64
        The image is ``size x size`` pixels (at least 4).
    color : bool, default False
        RGB instead of grayscale.
    text : str, default "NN"
        The text for ``name="text"``.

    Returns
    -------
    numpy.ndarray, float64
        Shape ``(size, size)`` (grayscale) or ``(size, size, 3)`` (RGB), values in ``[0, 1]``,
        row 0 at the top.
    """
    key = check_choice(name, "image", IMAGE_NAMES, normalize=True)
    size = check_count(size, "size", minimum=4)
    if key == "text":
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"text must be a non-empty string, got {text!r}")
        img = _render_text(text, size)
    elif key == "hopper":
        img = _load_hopper(size, color)
    else:
        img = _render(_PROCEDURAL[key], size, color)
    if color and img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    img = np.clip(img, 0.0, 1.0)
    return img[..., 0] if img.shape[-1] == 1 else img


class ImageTarget:
    """An image on the unit square to be fitted by a network ``(x, y) -> value``.

    Parameters
    ----------
    image : str or numpy.ndarray, default "smiley"
        A name from :data:`IMAGE_NAMES` (see :func:`make_image`) or an array of shape ``(H, W)``,
        ``(H, W, 3)`` or ``(H, W, 4)`` (alpha dropped): uint8 (0-255) or floats in ``[0, 1]``;
        row 0 is the top of the image.
    size : int, default 64
        Pixel size of a named image (ignored for arrays).
    color : bool or None, default None
        ``True``: 3 channels; ``False``: grayscale; ``None``: grayscale for named images,
        arrays as given.
    text : str, default "NN"
        The text for ``image="text"``.
    interpolation : {"nearest", "bilinear"}, default "nearest"
        How values between pixel centres are read.

    Attributes
    ----------
    image : numpy.ndarray, float64
        ``(H, W)`` or ``(H, W, 3)`` in ``[0, 1]``.
    channels : int
        1 or 3: the width of the ``value`` arrays.
    extent : tuple
        ``(0, 1, 0, 1)``, for ``plt.imshow(..., extent=target.extent)``.

    Examples
    --------
    >>> target = ImageTarget("smiley", size=32)
    >>> xy, value = target.sample(128, np.random.default_rng(0))
    >>> xy.shape, value.shape
    ((128, 2), (128, 1))
    """

    extent = (0.0, 1.0, 0.0, 1.0)

    def __init__(
        self,
        image: str | np.ndarray = "smiley",
        *,
        size: int = 64,
        color: bool | None = None,
        text: str = "NN",
        interpolation: str = "nearest",
    ) -> None:
        self.interpolation = check_choice(
            interpolation, "interpolation", ("nearest", "bilinear"), normalize=True
        )
        if isinstance(image, str):
            self.name = check_choice(image, "image", IMAGE_NAMES, normalize=True)
            img = make_image(self.name, size, color=bool(color), text=text)
        else:
            self.name = "array"
            img = self._from_array(image)
            if color is True and img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=-1)
            elif color is False and img.ndim == 3:
                img = img @ np.array([0.299, 0.587, 0.114])
        self.image: np.ndarray = np.ascontiguousarray(img, dtype=np.float64)
        self.channels: int = 1 if self.image.ndim == 2 else 3
        self._pixels = self.image.reshape(*self.image.shape[:2], self.channels)

    @staticmethod
    def _from_array(image: object) -> np.ndarray:
        a = np.asarray(image)
        if a.ndim == 3 and a.shape[-1] == 4:
            a = a[..., :3]
        if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] == 3)) or min(a.shape[:2]) < 2:
            raise ValueError(
                f"image array must have shape (H, W), (H, W, 3) or (H, W, 4) with H, W >= 2, "
                f"got {a.shape}"
            )
        if a.dtype == np.uint8:
            return a.astype(np.float64) / 255.0
        if a.dtype.kind not in "fiu":
            raise ValueError(f"image array must be numeric, got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
            raise ValueError("a non-uint8 image array must hold finite values in [0, 1]")
        return a

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``: the image size in pixels."""
        return self.image.shape[0], self.image.shape[1]

    def __repr__(self) -> str:
        h, w = self.shape
        return f"ImageTarget({self.name!r}, {h}x{w}, channels={self.channels})"

    def value_at(self, xy: np.ndarray) -> np.ndarray:
        """Image values at points of the unit square.

        Parameters
        ----------
        xy : array_like, shape (n, 2)
            ``x`` (left to right) and ``y`` (bottom to top); clipped to ``[0, 1]``.

        Returns
        -------
        numpy.ndarray, float64, shape (n, channels)
        """
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"xy must have shape (n, 2), got {xy.shape}")
        h, w = self.shape
        x = np.clip(xy[:, 0], 0.0, 1.0)
        y = np.clip(xy[:, 1], 0.0, 1.0)
        col = x * w - 0.5  # continuous pixel coordinates, pixel centres at integers
        row = (1.0 - y) * h - 0.5
        if self.interpolation == "nearest":
            i = np.clip(np.floor(row + 0.5).astype(np.intp), 0, h - 1)
            j = np.clip(np.floor(col + 0.5).astype(np.intp), 0, w - 1)
            return self._pixels[i, j].copy()
        row = np.clip(row, 0, h - 1)
        col = np.clip(col, 0, w - 1)
        i0 = np.minimum(np.floor(row).astype(np.intp), h - 2)
        j0 = np.minimum(np.floor(col).astype(np.intp), w - 2)
        fi = (row - i0)[:, None]
        fj = (col - j0)[:, None]
        p = self._pixels
        top = p[i0, j0] * (1 - fj) + p[i0, j0 + 1] * fj
        bottom = p[i0 + 1, j0] * (1 - fj) + p[i0 + 1, j0 + 1] * fj
        return top * (1 - fi) + bottom * fi

    __call__ = value_at

    def sample(self, n: int, rng: SeedLike) -> tuple[np.ndarray, np.ndarray]:
        """A random batch of points, uniform on the unit square, and the image values there.

        Parameters
        ----------
        n : int
            Batch size.
        rng : numpy.random.Generator, int or None
            Pass one Generator for a whole training run (each call draws a new batch); an int
            seed gives the same batch every time; ``None`` is unseeded.

        Returns
        -------
        xy : numpy.ndarray, float64, shape (n, 2)
        value : numpy.ndarray, float64, shape (n, channels)
        """
        n = check_count(n, "n")
        gen = as_generator(rng, "rng")
        xy = gen.random((n, 2))
        return xy, self.value_at(xy)

    def _resolution(self, resolution: int | tuple[int, int] | None) -> tuple[int, int]:
        if resolution is None:
            return self.shape
        if isinstance(resolution, tuple):
            if len(resolution) != 2:
                raise ValueError(f"resolution must be an int or (height, width), got {resolution}")
            return check_count(resolution[0], "height"), check_count(resolution[1], "width")
        r = check_count(resolution, "resolution")
        return r, r

    def grid_points(self, resolution: int | tuple[int, int] | None = None) -> np.ndarray:
        """Pixel centres of an ``(h, w)`` grid, row by row from the top: shape ``(h * w, 2)``.

        Feed them to a network and turn its output back into a picture with :meth:`to_image`.
        ``resolution`` defaults to the image's own ``(H, W)``.
        """
        h, w = self._resolution(resolution)
        xs = (np.arange(w) + 0.5) / w
        ys = 1.0 - (np.arange(h) + 0.5) / h
        X, Y = np.meshgrid(xs, ys)
        return np.column_stack([X.ravel(), Y.ravel()])

    def grid(
        self, resolution: int | tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """All pixel centres and their values: ``(xy (h*w, 2), value (h*w, channels))``.

        At the default resolution (and nearest interpolation) ``to_image(value)`` is exactly
        :attr:`image`.
        """
        xy = self.grid_points(resolution)
        return xy, self.value_at(xy)

    def to_image(
        self, values: np.ndarray, resolution: int | tuple[int, int] | None = None
    ) -> np.ndarray:
        """Reshape grid values (e.g. a network's predictions on :meth:`grid_points`) to a picture.

        Parameters
        ----------
        values : array_like, shape (h * w,) or (h * w, c)
        resolution : int or (h, w), optional
            The grid that produced ``values``; defaults to the image size.

        Returns
        -------
        numpy.ndarray
            ``(h, w)`` for one channel, ``(h, w, c)`` otherwise; for ``plt.imshow`` with
            ``extent=(0, 1, 0, 1)`` (clip to ``[0, 1]`` yourself if the network overshoots).
        """
        h, w = self._resolution(resolution)
        v = np.asarray(values)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[0] != h * w:
            raise ValueError(
                f"values must have shape ({h * w}, c) for a {h}x{w} grid, got {v.shape}"
            )
        return v.reshape(h, w) if v.shape[1] == 1 else v.reshape(h, w, v.shape[1])
