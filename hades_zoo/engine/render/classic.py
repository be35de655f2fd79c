"""gymnax classic control drawn from its observations: CartPole (cart and pole),
Acrobot (two links and the goal height), Pendulum (one link and its torque),
MountainCar (the hill, the car and the flag).

Each of these observations holds the whole configuration the picture needs
(gymnax ``get_obs``): CartPole ``[x, x_dot, theta, theta_dot]``, Acrobot ``[cos t1,
sin t1, cos t2, sin t2, dt1, dt2]``, Pendulum ``[cos t, sin t, t_dot]``, MountainCar
``[position, velocity]``, so the rollout records nothing else. The geometry follows
gymnasium's renderers of the same envs (``gymnasium/envs/classic_control/*.py``):
cart-pole track of +-2.4 (the termination bound), pole of length 1 (twice the
half-length 0.5), links of length 1, the hill ``y = sin(3x)``.

Rates: these envs have no common physical clock (Acrobot steps 0.2 s, CartPole
0.02 s, MountainCar none), so a video plays at gymnasium's ``metadata["render_fps"]``
for the same env: CartPole 50 (its real time), Acrobot 15, Pendulum 30, MountainCar 30.
"""

from __future__ import annotations

import math

import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.render.canvas import INK, PALETTE, Canvas
from hades_zoo.engine.render.episode import Episode

__all__ = ["CLASSIC_ENVS", "classic_control_rate", "draw_classic"]

#: env name -> frames per second (gymnasium's render_fps for that env).
CLASSIC_ENVS = {"CartPole-v1": 50.0, "Acrobot-v1": 15.0, "Pendulum-v1": 30.0,
                "MountainCar-v0": 30.0, "MountainCarContinuous-v0": 30.0}
_BLUE, _ORANGE, _GREEN, _RED = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3]


def classic_control_rate(cfg: EnvConfig) -> float:
    """Frames per second a replay of ``cfg`` plays at (module docstring)."""
    return CLASSIC_ENVS[cfg.name]


def _action_text(cfg: EnvConfig, action) -> str:
    a = np.asarray(action)
    if a.ndim == 0 or a.size == 1 and np.issubdtype(a.dtype, np.integer):
        from hades_zoo.engine.envs.names import action_names
        from hades_zoo.errors import EnvError

        try:
            return action_names(cfg)[int(a)]
        except (EnvError, IndexError):
            return f"action {int(a)}"
    return "action " + ", ".join(f"{v:+.2f}" for v in a.reshape(-1))


def _cartpole(c: Canvas, obs: np.ndarray) -> None:
    w, h = c.width, c.height
    scale = w / (2 * 2.4 * 1.1)  # the +-2.4 track and a margin
    ground = h * 0.72
    cx = w / 2 + obs[0] * scale
    c.line([(0, ground), (w, ground)], fill=(120, 120, 120), width=1.5)
    for x in (-2.4, 2.4):  # the termination bounds
        c.line([(w / 2 + x * scale, ground - 6), (w / 2 + x * scale, ground + 6)],
               fill=_RED, width=1.5)
    cw, ch = 0.5 * scale, 0.3 * scale
    c.rectangle((cx - cw / 2, ground - ch / 2, cx + cw / 2, ground + ch / 2), fill=INK)
    theta, length = float(obs[2]), 1.0 * scale
    tip = (cx + length * math.sin(theta), ground - length * math.cos(theta))
    c.line([(cx, ground), tip], fill=_ORANGE, width=max(3.0, 0.1 * scale))
    c.circle((cx, ground), max(2.0, 0.04 * scale), fill=_BLUE)


def _links(c: Canvas, angles: list[float], *, goal: float | None, scale: float) -> None:
    """Links of length 1 hanging from the centre; ``angles`` are absolute (0 = down)."""
    pivot = (c.width / 2, c.height / 2)
    if goal is not None:  # Acrobot: the tip must rise above the pivot by ``goal``
        y = pivot[1] - goal * scale
        c.line([(0, y), (c.width, y)], fill=_GREEN, width=1.5)
    points = [pivot]
    for a in angles:
        x, y = points[-1]
        points.append((x + scale * math.sin(a), y + scale * math.cos(a)))
    for k in range(len(angles)):
        c.line([points[k], points[k + 1]], fill=(_BLUE, _ORANGE)[k % 2], width=0.12 * scale)
    for p in points[:-1]:
        c.circle(p, 0.05 * scale, fill=INK)


def _acrobot(c: Canvas, obs: np.ndarray) -> None:
    t1 = math.atan2(obs[1], obs[0])
    t2 = math.atan2(obs[3], obs[2])
    _links(c, [t1, t1 + t2], goal=1.0, scale=min(c.width, c.height) / 4.6)


def _pendulum(c: Canvas, obs: np.ndarray, action) -> None:
    theta = math.atan2(obs[1], obs[0])  # 0 = upright
    scale = min(c.width, c.height) / 2.6
    _links(c, [math.pi - theta], goal=None, scale=scale)
    torque = float(np.asarray(action).reshape(-1)[0]) if np.size(action) else 0.0
    r, (x, y) = 0.3 * scale, (c.width / 2, c.height / 2)
    span = max(-1.0, min(1.0, torque / 2.0)) * math.pi * 0.75  # max torque 2
    arc = [(x + r * math.sin(s), y - r * math.cos(s))
           for s in np.linspace(0.0, span, 16)]
    if abs(span) > 1e-3:
        c.line(arc, fill=_RED, width=2.0)


def _mountain_car(c: Canvas, obs: np.ndarray, goal: float) -> None:
    lo, hi = -1.2, 0.6
    w, h = c.width, c.height

    def at(x: float) -> tuple[float, float]:
        y = math.sin(3 * x) * 0.45 + 0.55
        return ((x - lo) / (hi - lo) * w, h * 0.9 - y * h * 0.75)

    c.line([at(x) for x in np.linspace(lo, hi, 80)], fill=(120, 120, 120), width=2.0)
    fx, fy = at(goal)
    c.line([(fx, fy), (fx, fy - 0.12 * h)], fill=INK, width=1.5)
    c.polygon([(fx, fy - 0.12 * h), (fx + 0.05 * w, fy - 0.10 * h), (fx, fy - 0.08 * h)],
              fill=_GREEN)
    cx, cy = at(float(obs[0]))
    c.circle((cx, cy - 0.03 * h), 0.03 * h, fill=_BLUE)


def draw_classic(env_config: EnvConfig, episode: Episode, *, width: int, height: int
                 ) -> np.ndarray:
    """Draw each observation of ``episode`` (module docstring), its action below.

    Returns:
        (T, height, width, 3) uint8 frames.

    Raises:
        NoRendererError: an env this module does not draw.
    """
    from hades_zoo.errors import NoRendererError

    name = env_config.name
    if name not in CLASSIC_ENVS:
        raise NoRendererError(f"no classic-control drawing for {name!r}; drawn: "
                          f"{', '.join(CLASSIC_ENVS)}.")
    frames = np.empty((episode.frames, height, width, 3), np.uint8)
    for t in range(episode.frames):
        c = Canvas(width, height)
        obs, action = np.asarray(episode.observations[t], np.float64), episode.actions[t]
        if name == "CartPole-v1":
            _cartpole(c, obs)
        elif name == "Acrobot-v1":
            _acrobot(c, obs)
        elif name == "Pendulum-v1":
            _pendulum(c, obs, action)
        else:
            _mountain_car(c, obs, 0.45 if "Continuous" in name else 0.5)
        c.text((4, height - 4), _action_text(env_config, action),
               size=max(8, height // 20), anchor="ld")
        frames[t] = c.array()
    return frames
