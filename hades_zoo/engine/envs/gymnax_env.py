"""gymnax adapter: classic control and MinAtar behind the functional Env API.

gymnax 1.0's ``step`` returns six values ``(obs, state, reward, terminated,
truncated, info)`` and auto-resets internally; ``done = terminated | truncated``.
MinAtar observations (10, 10, C) booleans are flattened row-major to float32, as the
reference's ``FlattenObservationWrapper``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs import Env, EnvSpec

__all__ = ["make_gymnax_env"]


def make_gymnax_env(cfg: EnvConfig) -> Env:
    """Build a gymnax env (gymnax imports ``six`` without declaring it)."""
    try:
        import gymnax
        from gymnax.environments import spaces
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "gymnax envs need gymnax and six: `pip install 'gymnax>=1.0,<1.1' six`"
        ) from err

    env, params = gymnax.make(cfg.name)
    if cfg.compat == "gymnax-0.0.6" and cfg.name == "SpaceInvaders-MinAtar":
        from hades_zoo.engine.envs.compat import make_space_invaders_gymnax006

        env = make_space_invaders_gymnax006()
    obs_shape = env.observation_space(params).shape
    space = env.action_space(params)
    discrete = isinstance(space, spaces.Discrete)
    action_dim = int(space.n) if discrete else int(np.prod(space.shape))
    obs_dim = int(np.prod(obs_shape))

    def reset(key):
        obs, state = env.reset(key, params)
        return jnp.reshape(obs, (-1,)).astype(jnp.float32), state

    def step(key, state, action):
        if not discrete:
            action = jnp.reshape(action, space.shape)
        obs, state, reward, terminated, truncated, _ = env.step(key, state, action, params)
        done = jnp.logical_or(terminated, truncated)
        return jnp.reshape(obs, (-1,)).astype(jnp.float32), state, reward.astype(jnp.float32), done

    max_steps = int(getattr(params, "max_steps_in_episode", 1000))
    return Env(cfg, EnvSpec(obs_dim, action_dim, discrete, max_steps), reset, step)
