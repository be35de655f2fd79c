"""Dataset plots: the synthetic state-action pairs as a picture (matplotlib, lazy).

Every axis says what it shows (paper Fig. 1, §5.5): the names of the observation
features, actions and image channels come from the env definitions
(``hades_zoo.engine.envs.names``); an env without names falls back to indices.

- Continuous (brax) datasets: two heatmaps, ``states (D x obs_dim)`` with one column
  per named observation feature (hopper: ``torso z (height) [m]``, ``rooty angle
  (torso) [rad]``, ``thigh_joint angle [rad]``, ...; units when raw) and ``actions
  (D x act_dim)`` with one column per actuator (``thigh_joint torque``), each on a
  symmetric diverging colour scale with a full-height colour bar that names its unit
  (raw units, or standard deviations for running-normalised states).
- Image-observation gymnax datasets (MinAtar ``10x10xC``, Pong-misc ``30x40x3``):
  one frame per synthetic state, each channel drawn as its own coloured layer with
  a legend naming its object (Breakout: paddle, ball, trail, brick), titled with the
  state's action by name (masked states are marked "unused").
- Other discrete datasets (vector observations, e.g. CartPole): a states heatmap
  with named feature columns and the actions by name on the rows.
- Image-classification datasets (MNIST): the images, titled with their class.

Every figure uses the one style of ``zoo.plot_style``.

Constant-normalised states are mapped back to raw observation units first
(``x * sqrt(var + 1e-8) + mean``) so frames look like the game; running-normalised
states have no fixed inverse and are drawn as stored.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.paths import name_only_extension_message
from hades_zoo.errors import OutputFormatError
from hades_zoo.zoo.plot_style import PLOT_HINT, colorbar, save_figure, styled

__all__ = ["plot_dataset", "display_states", "observation_shape", "check_plot_path"]

_PLOT_HINT = PLOT_HINT


def pyplot():
    """``matplotlib.pyplot``, imported lazily with the non-interactive Agg backend.

    Raises:
        ImportError: matplotlib is missing (``pip install hades_zoo[plot]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(_PLOT_HINT) from err
    return plt


def check_plot_path(path: str | Path) -> Path:
    """``path`` as a ``Path`` when its suffix is a format matplotlib writes.

    Raises:
        ImportError: matplotlib is missing (``pip install hades_zoo[plot]``).
        OutputFormatError: no suffix, one matplotlib cannot write (the message
            lists the formats it can), or a name that is only an extension (``.png``).
    """
    pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    path = Path(path)
    bare = name_only_extension_message(  # --out .png: a file with no name
        path, "plot", [".png", *(f".{f}" for f in formats if f != "png")])
    if bare:
        raise OutputFormatError(bare)
    suffix = path.suffix.lower()
    if suffix.lstrip(".") not in formats:
        what = (f"suffix {path.suffix!r} is not an image format matplotlib writes"
                if path.suffix else "no suffix names the image format")
        raise OutputFormatError(
            f"{path}: {what}; end the file "
            f"name in one of {', '.join('.' + f for f in formats)} (e.g. "
            f"{path.with_suffix('.png').name})."
        )
    return path


def display_states(ds: SyntheticDataset) -> np.ndarray:
    """(D, obs_dim) states in raw observation units when the protocol allows it."""
    states = np.asarray(ds.states, np.float32)
    if (
        ds.recipe is not None
        and ds.recipe.env.obs_norm == "const"
        and ds.obs_mean is not None
    ):
        states = states * np.sqrt(np.asarray(ds.obs_var) + 1e-8) + np.asarray(
            ds.obs_mean
        )
    return states


def observation_shape(ds: SyntheticDataset) -> tuple[int, ...]:
    """The env's observation shape (gymnax), or ``(obs_dim,)`` for flat observations."""
    if ds.recipe is None or ds.recipe.env.backend != "gymnax":
        return (ds.obs_dim,)
    import gymnax

    env, params = gymnax.make(ds.recipe.env.name)
    shape = tuple(int(s) for s in env.observation_space(params).shape)
    return shape if int(np.prod(shape)) == ds.obs_dim else (ds.obs_dim,)


def _names(ds: SyntheticDataset, kind: str) -> list[str] | None:
    """Observation / action / channel names of the dataset's env, or None (indices)."""
    from hades_zoo.engine.envs import names
    from hades_zoo.errors import EnvError

    if ds.recipe is None:
        return None
    fn = {"observation": names.observation_names, "action": names.action_names,
          "channel": names.channel_names}[kind]
    try:
        return fn(ds.recipe.env)
    except EnvError:
        return None


def _label_text(ds: SyntheticDataset, i: int, actions: list[str] | None = None) -> str:
    used = ds.mask is None or bool(np.asarray(ds.mask)[i])
    if ds.label_logits is not None:
        label = int(np.argmax(np.asarray(ds.label_logits)[i]))
    else:
        label = int(np.asarray(ds.labels)[i])
    name = actions[label] if actions and label < len(actions) else f"a={label}"
    return f"#{i}: {name}" + ("" if used else " (unused)")


def _name_columns(ax, names: list[str] | None, fontsize: float = 6) -> None:
    """One x tick per column, labelled with its feature name (vertical)."""
    if names:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=fontsize)


def _heatmap(fig, ax, values: np.ndarray, title: str, xlabel: str, ylabel: str,
             unit: str) -> None:
    """A symmetric diverging heatmap with a full-height colour bar labelled ``unit``."""
    lim = float(np.max(np.abs(values))) or 1.0
    im = ax.imshow(
        values,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-lim,
        vmax=lim,
        interpolation="nearest",
    )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    colorbar(fig, ax, im, unit)


# brax observation names (``engine.envs.names``) -> SI unit, first match wins; a name
# that matches none (humanoid's inertias and contact forces) gets no unit.
_UNITS = (("cos(", ""), ("sin(", ""), ("quat", ""), ("angular velocity", "rad/s"),
          ("velocity", "m/s"), ("angle", "rad"), ("(height)", "m"), ("position", "m"),
          ("fingertip - target", "m"))


def _feature_unit(name: str) -> str | None:
    """The unit of a brax observation feature ('' for a cos/sin/quaternion, None when
    unknown)."""
    for key, unit in _UNITS:
        if key in name:
            return unit
    return None


def _state_unit(ds: SyntheticDataset, names: list[str] | None, space: str
                ) -> tuple[str, list[str] | None]:
    """(colour bar label, column names with units) of a states heatmap."""
    if space == "normalised":
        return ("standard deviations from\nthe running mean (no unit)", names)
    from hades_zoo.engine.envs import BRAX_SPECS

    if not names or ds.recipe is None or ds.recipe.env.name not in BRAX_SPECS:
        return ("raw observation value\n(each feature's own unit)", names)
    units = [_feature_unit(n) for n in names]
    shown = [f"{n} [{u}]" if u else n for n, u in zip(names, units, strict=True)]
    return ("raw value, in the unit\n[ ] of its column" if any(units)
            else "raw observation value", shown)


def _frames(plt, ds: SyntheticDataset, shape: tuple[int, int, int]):
    """Grid of coloured frames, one per state."""
    states = display_states(ds).reshape((ds.size, *shape))
    h, w, c = shape
    channels = _names(ds, "channel") or [f"ch {k}" for k in range(c)]
    actions = _names(ds, "action")
    cmap = plt.get_cmap("tab10" if c <= 10 else "tab20")
    colours = np.array([cmap(k % cmap.N)[:3] for k in range(c)])  # (C, 3)
    cell = 1.9  # inches per frame (height); width follows the frame's aspect
    fig, axes = _panel_grid(plt, ds.size, 8, lambda rows, cols: (
        cell * cols * w / h + 0.4, (cell + 0.45) * rows + 0.9))
    for i, ax in enumerate(axes):
        layers = np.clip(states[i], 0.0, 1.0)  # (h, w, C): channel presence
        rgb = np.clip(layers @ colours, 0.0, 1.0)  # additive colour layers
        ax.imshow(rgb, interpolation="nearest")
        ax.set_title(_label_text(ds, i, actions), fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[k]) for k in range(c)]
    fig.legend(
        handles,
        [f"ch {k}: {name}" if name != f"ch {k}" else name
         for k, name in enumerate(channels)],
        loc="lower center",
        ncol=min(c, 10),
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(
        f"{ds.dataset_id} ({ds.recipe.env.name}, D={ds.size}); "
        "states in raw units, clipped to [0, 1]"
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    return fig


def _panel_grid(plt, n: int, max_cols: int, figsize):
    """A figure of ``n`` tick-less panels, ``max_cols`` per row (spare panels hidden).

    ``figsize(rows, cols)`` gives the figure size. Returns ``(fig, the n axes)``.
    """
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=figsize(rows, cols), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


_CLASS_NAMES = {
    "FashionMNIST": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                     "Shirt", "Sneaker", "Bag", "Ankle boot"),
}


def _images(plt, ds: SyntheticDataset):
    """Grid of grayscale images (image datasets), titled with their labels."""
    img = ds.recipe.image
    images = np.asarray(ds.states, np.float32).reshape(ds.size, img.height, img.width,
                                                        img.channels)
    names = _CLASS_NAMES.get(ds.recipe.env.name)
    lo, hi = float(images.min()), float(images.max())
    fig, axes = _panel_grid(plt, ds.size, 5,
                            lambda rows, cols: (1.9 * cols, 2.2 * rows + 0.6))
    for i, ax in enumerate(axes):
        x = images[i, ..., 0] if img.channels == 1 else np.clip(images[i], 0, 1)
        ax.imshow(x, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        label = int(np.asarray(ds.labels)[i])
        ax.set_title(f"{label}" + (f": {names[label]}" if names else ""), fontsize=9)
    fig.suptitle(f"{ds.dataset_id} ({ds.recipe.env.name}, D={ds.size}); pixel/255 "
                 f"scale, shown over [{lo:.2f}, {hi:.2f}]", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


@styled
def plot_dataset(ds: SyntheticDataset, path: str | Path | None = None):
    """Draw ``ds`` (see module doc) and optionally save it.

    Args:
        ds: a dataset with its recipe.
        path: output file (format from the suffix: .png, .pdf, .svg); None to only
            return the figure.

    Returns:
        The written ``Path`` when ``path`` is given, else the matplotlib figure.

    Raises:
        ImportError: matplotlib is missing (``pip install hades_zoo[plot]``).
        OutputFormatError: ``path``'s suffix is not a format matplotlib writes
            (checked before drawing).
    """
    plt = pyplot()
    if path is not None:
        path = check_plot_path(path)
    title = f"{ds.dataset_id}" + (f" ({ds.recipe.env.name})" if ds.recipe else "")
    if ds.recipe is not None and ds.recipe.image is not None:
        fig = _images(plt, ds)
    elif not ds.discrete:
        states = display_states(ds)
        actions = np.asarray(ds.actions)
        fig, (ax_s, ax_a) = plt.subplots(
            1,
            2,
            figsize=(
                # + two fixed-width colour bars with their labels
                5.4 + 0.25 * states.shape[1] + 0.4 * actions.shape[1],
                4.4 + 0.08 * ds.size,  # + room for the vertical feature names
            ),
            gridspec_kw={
                "width_ratios": [max(states.shape[1], 4), max(actions.shape[1], 2)]
            },
        )
        space = (
            "normalised" if ds.recipe and ds.recipe.env.obs_norm == "running" else "raw"
        )
        obs_names, act_names = _names(ds, "observation"), _names(ds, "action")
        state_unit, obs_names = _state_unit(ds, obs_names, space)
        _heatmap(fig, ax_s, states, f"states ({space})",
                 "observation feature" if obs_names else "observation dim", "pair",
                 state_unit)
        from hades_zoo.engine.envs import BRAX_SPECS

        brax = ds.recipe is not None and ds.recipe.env.name in BRAX_SPECS
        _heatmap(fig, ax_a, actions, "actions (BC targets)",
                 "actuator" if act_names else "action dim", "pair",
                 "action (±1: full force;\nthe env clips to ±1)" if brax
                 else "action")
        _name_columns(ax_s, obs_names,
                      8 if states.shape[1] <= 20 else 6 if states.shape[1] <= 64 else 4)
        _name_columns(ax_a, act_names, 8 if actions.shape[1] <= 8 else 6)
        fig.suptitle(title)
        fig.tight_layout()
    else:
        shape = observation_shape(ds)
        if len(shape) == 3:
            fig = _frames(plt, ds, shape)
        else:
            fig, ax = plt.subplots(figsize=(4 + 0.3 * ds.obs_dim, 2.5 + 0.3 * ds.size))
            obs_names, act_names = _names(ds, "observation"), _names(ds, "action")
            _heatmap(fig, ax, display_states(ds), "states",
                     "observation feature" if obs_names else "observation dim", "pair",
                     "raw observation value" if ds.recipe.env.obs_norm != "running"
                     else "standard deviations from the running mean")
            _name_columns(ax, obs_names, 8)
            ax.set_yticks(range(ds.size),
                          [_label_text(ds, i, act_names) for i in range(ds.size)])
            fig.suptitle(title)
            fig.tight_layout()
    if path is None:
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)
    return path
