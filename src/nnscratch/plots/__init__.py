r"""Every figure of the course book, so that notebooks hold no plotting code.

Modules: :mod:`._base` (the machinery and the figures of Foundations and Applications); one
module per chapter of Physics and tools is added beside it.

Each function returns the :class:`~matplotlib.figure.Figure` it drew (several panels) or the
:class:`~matplotlib.axes.Axes` (one panel; created when ``ax=None``, else drawn into ``ax``),
labels every axis it draws (image panels without axes get a title instead), and never calls
``plt.show()``. Bad input raises a :class:`ValueError` that says what was expected and what came.

Style. ``import nnscratch.plots`` imports matplotlib but changes no global state (no pyplot
import, no ``rcParams`` change); :func:`set_style` applies the book's style explicitly.

Display in Jupyter. New figures are created through pyplot, so the inline backend shows them at
the end of the cell; they also know not to be shown a second time when a cell ends with the call
itself. So all of these show the figure exactly once::

    plots.digit_grid(X[:20])           # returned Figure: shown once, not twice
    plots.digit_grid(X[:20]);          # output suppressed: shown once by the inline backend
    fig = plots.digit_grid(X[:20])     # shown once at the end of the cell
    plots.curves({"train": cost})      # returned Axes: its figure, no "<Axes: ...>" text

This works because the figure detaches itself from pyplot when IPython formats it (then
matplotlib's inline backend has nothing left to show), and a returned Axes displays its figure.
``myst_nb.glue("name", fig, display=False)`` therefore glues the figure without showing it.
Outside Jupyter (scripts, pytest with the Agg backend) the figures are ordinary matplotlib
figures: save them with ``fig.savefig`` and close them with ``plt.close(fig)``.
"""

from ._base import *  # noqa: F403
from ._base import CORRECT_COLOR, INCORRECT_COLOR  # noqa: F401
from ._base import __all__ as _base_all
from .ising import crossing_vs_size, hidden_vs_magnetisation, observable_histograms, phase_outputs
from .keras import cost_comparison
from .training import grouped_bars, layer_gradient_norms

__all__ = [*_base_all, "cost_comparison", "crossing_vs_size", "hidden_vs_magnetisation",
           "observable_histograms", "phase_outputs", "grouped_bars", "layer_gradient_norms"]
