"""MinAtar games (and other ``rows x cols x C`` boolean-channel observations) drawn
as coloured object channels, with a legend naming each channel and the action taken.

The observation is the game's whole screen: ``10 x 10`` cells, one boolean channel per
kind of object (Breakout: paddle, ball, trail, brick; names from the game's docstring,
``engine.envs.names.channel_names``). Each channel gets a fixed colour of
``canvas.PALETTE`` (the dataset plots' colours, ``zoo.plotting``) and a cell's colour
is the sum of its channels' (clipped), on black. The game fills a square on the left;
the legend (colour, channel number and name) and the action's name fill the right.

MinAtar has no physical clock: a replay plays at :data:`MINATAR_FPS` steps per second
(one cell of ball movement per frame is easy to follow at 10).
"""

from __future__ import annotations

import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.render.canvas import channel_colours, font, pil
from hades_zoo.engine.render.episode import Episode

__all__ = ["MINATAR_FPS", "draw_minatar", "minatar_control_rate", "observation_grid"]

#: Frames per second of a MinAtar replay (module docstring).
MINATAR_FPS = 10.0


def minatar_control_rate(cfg: EnvConfig) -> float:
    """Frames per second a MinAtar replay plays at (:data:`MINATAR_FPS`)."""
    return MINATAR_FPS


def observation_grid(cfg: EnvConfig) -> tuple[int, int, int]:
    """``(rows, cols, channels)`` of a gymnax image observation.

    Raises:
        NoRendererError: the env's observation is not ``rows x cols x C``.
    """
    import gymnax

    from hades_zoo.errors import NoRendererError

    env, params = gymnax.make(cfg.name)
    shape = tuple(int(s) for s in env.observation_space(params).shape)
    if len(shape) != 3:
        raise NoRendererError(f"{cfg.name!r} observes a vector of shape {shape}, not "
                          "rows x cols x channels: it has no MinAtar-style drawing.")
    return shape  # type: ignore[return-value]


def _names(cfg: EnvConfig, kind: str, n: int) -> list[str]:
    from hades_zoo.engine.envs import names
    from hades_zoo.errors import EnvError

    fn = names.channel_names if kind == "channel" else names.action_names
    try:
        found = fn(cfg)
    except EnvError:
        found = None
    return list(found) if found and len(found) >= n else [f"{kind} {k}" for k in range(n)]


def draw_minatar(env_config: EnvConfig, episode: Episode, *, width: int, height: int
                 ) -> np.ndarray:
    """Draw each observation of ``episode`` as coloured channels (module docstring).

    Returns:
        (T, height, width, 3) uint8 frames.

    Raises:
        NoRendererError: the observation is not ``rows x cols x C``.
    """
    Image, ImageDraw, _ = pil()
    rows, cols, chans = observation_grid(env_config)
    colours = channel_colours(chans)  # (C, 3)
    channels = _names(env_config, "channel", chans)
    actions = _names(env_config, "action", int(np.max(episode.actions, initial=0)) + 1)
    layers = np.asarray(episode.observations, np.float64).reshape(
        episode.frames, rows, cols, chans).clip(0.0, 1.0)
    rgb = (np.clip(layers @ colours, 0.0, 1.0) * 255).astype(np.uint8)  # (T, r, c, 3)
    cell = max(1, min(height // rows, int(width * 0.62) // cols))
    gw, gh = cell * cols, cell * rows
    top = (height - gh) // 2
    size = max(8, min(14, height // (chans + 4)))
    fnt, line = font(size), size + 4
    # the legend is the same on every frame: draw it once
    base = Image.new("RGB", (width, height), (18, 18, 18))
    pen = ImageDraw.Draw(base)
    x0 = gw + 8
    for k, name in enumerate(channels):
        y = 6 + k * line
        pen.rectangle((x0, y + 1, x0 + size, y + size), fill=tuple(
            int(v * 255) for v in colours[k]))
        pen.text((x0 + size + 5, y), f"{k}: {name}", fill=(235, 235, 235), font=fnt)
    base_arr = np.asarray(base).copy()
    frames = np.empty((episode.frames, height, width, 3), np.uint8)
    for t in range(episode.frames):
        frame = base_arr.copy()
        big = np.repeat(np.repeat(rgb[t], cell, 0), cell, 1)
        frame[top:top + gh, :gw] = big
        frame[top:top + gh, :gw][::cell, :] //= 2  # faint grid lines
        frame[top:top + gh, :gw][:, ::cell] //= 2
        img = Image.fromarray(frame)
        a = int(np.asarray(episode.actions[t]).reshape(-1)[0])
        ImageDraw.Draw(img).text(
            (x0, height - line - 4), f"action: {actions[a]}", fill=(255, 255, 255),
            font=fnt)
        frames[t] = np.asarray(img)
    return frames
