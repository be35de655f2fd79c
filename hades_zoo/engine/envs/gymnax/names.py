"""What each number of a gymnax env's observation and action means, read from gymnax.

- classic control: the ``state.<field>`` terms of the env's ``get_obs`` source, in
  order (``jnp.cos``/``jnp.sin`` kept); discrete actions from a table citing the line
  that turns an action into a force, Acrobot's from its ``available_torque``.
- MinAtar: channel names from the ``Channels are encoded as ...`` line of the game's
  docstring (Seaquest: a table from its ``get_obs``), actions from the game's
  ``action_set`` indexing MinAtar's full action set.
- Pong-misc: tables citing ``gymnax/environments/misc/pong.py``.

Other gymnax envs (bsuite, ...) have no table (None). ``hades_zoo.engine.envs.names``
asks the gymnax provider, which asks this module.
"""

from __future__ import annotations

import functools
import inspect
import re

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import EnvError

__all__ = ["NAMED_ENVS", "channel_names", "gymnax_names"]

#: The gymnax envs with name tables (the zoo's and a few more).
NAMED_ENVS = ("Acrobot-v1", "Asterix-MinAtar", "Breakout-MinAtar", "CartPole-v1",
              "Freeway-MinAtar", "MountainCar-v0", "MountainCarContinuous-v0",
              "Pendulum-v1", "Pong-misc", "Seaquest-MinAtar", "SpaceInvaders-MinAtar")

# MinAtar's full action set, in order: the comment "Full action set:
# ['n','l','u','r','d','f']" in gymnax/environments/minatar/breakout.py:56 (also
# asterix.py:63, freeway.py:53, space_invaders.py:67); each game's ``action_set``
# indexes it.
_MINATAR_FULL_ACTIONS = ("noop", "left", "up", "right", "down", "fire")
# gymnax/environments/minatar/seaquest.py:431-445 (``get_obs``; its docstring has no
# channel line): sub at ch 0, its back at 1, draw_entities(..., 2) friendly bullets,
# (..., 4) enemy bullets, (..., 5) enemy fish, (..., 6) enemy subs, (..., 9) divers,
# oxygen gauge at 7, diver gauge at 8; draw_entities writes trails to channel 3
# (seaquest_helpers.py:117-119).
_SEAQUEST_CHANNELS = ("sub_front", "sub_back", "friendly_bullet", "trail",
                      "enemy_bullet", "enemy_fish", "enemy_sub", "oxygen_gauge",
                      "diver_gauge", "diver")
# gymnax/environments/misc/pong.py: ``get_obs`` sets ch 1 "# ball" (line 128), ch 2
# "# ball last time step" (129), ch 0 "# paddle" (140-142); ``move_paddles`` (312):
# direction = (action == 2) - (action == 1), added to the paddle's row.
_PONG_CHANNELS = ("paddle", "ball", "ball_last_step")
_PONG_ACTIONS = ("stay", "paddle up (row -1)", "paddle down (row +1)")
# Discrete classic-control actions (gymnax/environments/classic_control/):
# cartpole.py:61 ``force = force_mag * action - force_mag * (1 - action)``;
# mountain_car.py:54 ``(action - 1) * params.force``.
_CLASSIC_ACTIONS = {
    "CartPole-v1": ("push left (-force_mag)", "push right (+force_mag)"),
    "MountainCar-v0": ("push left", "no push", "push right"),
}


def _gymnax_env(cfg: EnvConfig):
    from hades_zoo.engine.envs.gymnax.adapter import gymnax_make

    return gymnax_make(cfg)


def _minatar_channels(env) -> tuple[str, ...]:
    """``'name':index`` pairs of the "Channels are encoded as" docstring line."""
    if type(env).__name__.startswith("MinSeaquest"):
        return _SEAQUEST_CHANNELS
    for cls in type(env).__mro__:
        source = inspect.getsource(inspect.getmodule(cls))
        at = source.find("Channels are encoded as")
        if at >= 0:
            text = source[at:source.find('"""', at)]
            pairs = sorted((int(i), n) for n, i in re.findall(r"'(\w+)':\s*(\d+)", text))
            return tuple(n for _, n in pairs)
    raise EnvError(f"no channel line in the source of {type(env).__name__}.")


def _image_channels(cfg: EnvConfig, env) -> tuple[str, ...] | None:
    if cfg.name.endswith("-MinAtar"):
        return _minatar_channels(env)
    if cfg.name == "Pong-misc":
        return _PONG_CHANNELS
    return None


@functools.lru_cache(maxsize=32)
def gymnax_names(name: str, compat: str) -> tuple[tuple[str, ...] | None,
                                                  tuple[str, ...] | None,
                                                  tuple[str, ...] | None]:
    """(observation, action, channel) names of a gymnax env; None where it has no
    table (channels: None for a flat observation)."""
    import numpy as np

    cfg = EnvConfig(name=name, backend="gymnax", compat=compat)
    env, params = _gymnax_env(cfg)
    shape = tuple(int(s) for s in env.observation_space(params).shape)
    space = env.action_space(params)
    channels = _image_channels(cfg, env)
    if channels is not None:
        h, w, c = shape
        obs = tuple(f"{channels[k]} at (row {r}, col {x})"
                    for r in range(h) for x in range(w) for k in range(c))
        if name.endswith("-MinAtar"):
            actions = tuple(_MINATAR_FULL_ACTIONS[int(i)]
                            for i in np.asarray(env.action_set))
        else:
            actions = _PONG_ACTIONS
        return obs, actions, channels
    if type(env).__module__.split(".")[-2:-1] != ["classic_control"]:
        return None, None, None
    terms = re.findall(r"(?:jnp\.(cos|sin)\(\s*)?state\.(\w+)",
                       inspect.getsource(type(env).get_obs))
    obs = tuple(f"{fn}({field})" if fn else field for fn, field in terms)
    if hasattr(space, "n"):
        if hasattr(params, "available_torque"):  # acrobot.py:58, 68
            actions = tuple(f"torque {float(t):+g}" if t else "torque 0"
                            for t in np.asarray(params.available_torque))
        else:
            actions = _CLASSIC_ACTIONS.get(name, ())
    else:  # pendulum.py:57 (max_torque), continuous_mountain_car.py:56 (min/max_action)
        lim = getattr(params, "max_torque", None)
        actions = ((f"torque (clipped to ±{float(lim):g})",) if lim is not None else
                   (f"force (clipped to [{params.min_action:g}, {params.max_action:g}])",))
    return obs, actions, None


def channel_names(cfg: EnvConfig) -> tuple[str, ...] | None:
    """The channels of an image observation (MinAtar, Pong-misc), else None."""
    try:
        return gymnax_names(cfg.name, cfg.compat)[2]
    except EnvError:
        return None
