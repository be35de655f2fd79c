"""One look for every figure hades_zoo draws: dataset plots, learning curves, transfer
grids, multi-task bars.

:func:`styled` runs a plotting function inside ``matplotlib.rc_context(STYLE)``: the
same font sizes (titles 10 pt, labels 9, ticks and legends 8), no top/right spines,
light grids where a function asks for one, and one resolution (:data:`DPI`) for every
PNG. :func:`colorbar` gives a heatmap a colour bar as tall as its axes and of a fixed
width, whatever the axes' width (a narrow actions panel used to get a stub), with a
label that says the unit. matplotlib is imported lazily (``zoo.plotting.pyplot``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["DPI", "PLOT_HINT", "STYLE", "colorbar", "save_figure", "styled"]

#: What to install when matplotlib is missing.
PLOT_HINT = "plotting needs matplotlib: pip install hades_zoo[plot]"

#: Resolution of every saved figure (dots per inch).
DPI = 110

#: The rcParams every figure is drawn with.
STYLE: dict[str, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.4,
    "image.interpolation": "nearest",
}

F = TypeVar("F", bound=Callable[..., Any])


def styled(fn: F) -> F:
    """Run ``fn`` (which creates and saves figures) inside :data:`STYLE`.

    Raises:
        ImportError: matplotlib is missing (:data:`PLOT_HINT`).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            import matplotlib
        except ImportError as err:
            raise ImportError(PLOT_HINT) from err
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def colorbar(fig, ax, mappable, label: str, *, width_in: float = 0.14):
    """A colour bar beside ``ax``: full height, ``width_in`` inches wide, labelled.

    Returns:
        The colour bar.
    """
    from mpl_toolkits.axes_grid1 import make_axes_locatable
    from mpl_toolkits.axes_grid1.axes_size import Fixed

    cax = make_axes_locatable(ax).append_axes("right", size=Fixed(width_in),
                                              pad=Fixed(0.08))
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label(label)
    return bar


def save_figure(fig, target, **kwargs) -> None:
    """``fig.savefig(target, dpi=DPI, **kwargs)``, then close it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(target, dpi=DPI, **kwargs)
    finally:
        plt.close(fig)
