"""Adapters from env objects to the Env contract: gymnax-style and brax/Playground-style.

Each returns a factory ``factory(cfg: EnvConfig) -> Env`` for ``register_env``:

- ``from_gymnax(env, params)``: an object with gymnax's API,
  ``reset(key, params) -> (obs, state)``, ``step(key, state, action, params) ->
  (obs, state, reward, terminated, truncated, info)`` (gymnax >= 1.0; the five-value
  ``(obs, state, reward, done, info)`` of gymnax 0.0.x is read too),
  ``observation_space(params)`` / ``action_space(params)``. gymnax's ``step``
  auto-resets and truncates at ``params.max_steps_in_episode`` itself.
  Observations of any shape are flattened row-major to float32 (MinAtar's
  ``(10, 10, C)`` booleans as the reference's ``FlattenObservationWrapper``). The
  built-in gymnax family uses this adapter.
- ``from_brax_like(env)``: an object with ``reset(rng) -> State`` and
  ``step(state, action) -> State``, ``State`` having ``obs``, ``reward`` and
  ``done`` (brax's ``envs.Env``, MuJoCo Playground's ``MjxEnv``), and
  ``action_size``. As the reference's brax protocol (``brax_env``): actions are
  clipped to [-1, 1]; the episode is truncated at ``cfg.episode_length`` steps
  (brax's ``EpisodeWrapper``); a finished env restarts from the state its first
  ``reset`` drew (brax's ``AutoResetWrapper``), so reset runs once, not every step.
  Keys are passed as raw ``uint32[2]`` (brax's and Playground's ``PRNGKey``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.contract import Env, EnvSpec

__all__ = ["from_brax_like", "from_gymnax", "gymnax_env", "raw_key"]


def raw_key(key):
    """A typed ``jax.random.key`` as the raw ``uint32[2]`` brax-style envs take."""
    import jax
    import jax.numpy as jnp

    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


# --------------------------------------------------------------------------- gymnax
def gymnax_env(env: Any, params: Any, cfg: EnvConfig) -> Env:
    """The Env of a gymnax-style ``env`` with ``params`` (module doc)."""
    import jax.numpy as jnp
    import numpy as np

    obs_shape = env.observation_space(params).shape
    space = env.action_space(params)
    discrete = hasattr(space, "n")  # gymnax's Discrete; a Box has shape/low/high
    action_dim = int(space.n) if discrete else int(np.prod(space.shape))
    obs_dim = int(np.prod(obs_shape))

    def reset(key):
        obs, state = env.reset(key, params)
        return jnp.reshape(obs, (-1,)).astype(jnp.float32), state

    def step(key, state, action):
        if not discrete:
            action = jnp.reshape(action, space.shape)
        out = env.step(key, state, action, params)
        if len(out) == 6:  # gymnax >= 1.0
            obs, state, reward, terminated, truncated, _ = out
            done = jnp.logical_or(terminated, truncated)
        else:  # gymnax 0.0.x: (obs, state, reward, done, info)
            obs, state, reward, done, _ = out
        return (jnp.reshape(obs, (-1,)).astype(jnp.float32), state,
                jnp.asarray(reward).astype(jnp.float32), jnp.asarray(done).astype(bool))

    max_steps = int(getattr(params, "max_steps_in_episode", 1000))
    return Env(cfg, EnvSpec(obs_dim, action_dim, discrete, max_steps), reset, step)


def from_gymnax(env: Any, params: Any = None) -> Callable[[EnvConfig], Env]:
    """A ``register_env`` factory of a gymnax-style env object.

    Args:
        env: a ``gymnax.environments.environment.Environment`` (or same API).
        params: its ``EnvParams``; None: ``env.default_params``.

    Returns:
        ``factory(cfg) -> Env`` (module doc); ``spec.max_episode_steps`` is
        ``params.max_steps_in_episode`` (1000 when it has none).
    """

    def factory(cfg: EnvConfig) -> Env:
        return gymnax_env(env, env.default_params if params is None else params, cfg)

    return factory


# ---------------------------------------------------------------------- brax-like
class BraxLikeState(NamedTuple):
    """The Env state of ``from_brax_like``: the env's state, the state its first
    reset drew (where a finished episode restarts) and the steps taken."""

    env: Any
    first: Any
    steps: Any


def from_brax_like(env: Any, *, clip_actions: bool = True) -> Callable[[EnvConfig], Env]:
    """A ``register_env`` factory of a brax / MuJoCo Playground-style env object.

    Args:
        env: an object with ``reset(rng) -> State``, ``step(state, action) ->
            State`` (``State.obs`` a flat array, ``.reward``, ``.done`` scalars)
            and ``action_size``.
        clip_actions: clip actions to [-1, 1] before stepping (brax's and
            Playground's actuator range; the reference's ``ClipAction``).

    Returns:
        ``factory(cfg) -> Env`` (module doc); episodes truncate at
        ``cfg.episode_length`` (``spec.max_episode_steps``).
    """

    def factory(cfg: EnvConfig) -> Env:
        import jax
        import jax.numpy as jnp

        length = cfg.episode_length

        def reset(key):
            state = env.reset(raw_key(key))
            return state.obs, BraxLikeState(state, state, jnp.zeros((), jnp.int32))

        def step(key, state, action):
            del key  # brax-style envs are deterministic given the action
            if clip_actions:
                action = jnp.clip(action, -1.0, 1.0)
            nxt = env.step(state.env, action)
            steps = state.steps + 1
            done = jnp.logical_or(nxt.done > 0.5, steps >= length)
            restart = jax.tree.map(lambda first, now: jnp.where(done, first, now),
                                   state.first, nxt)
            return (restart.obs, BraxLikeState(restart, state.first,
                                               jnp.where(done, 0, steps)),
                    jnp.asarray(nxt.reward, jnp.float32), done)

        obs = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs
        obs_dim = int(obs.shape[-1]) if getattr(obs, "ndim", 0) == 1 else 0
        if obs_dim == 0:  # let check_env name the shape it has
            import math

            obs_dim = max(1, math.prod(getattr(obs, "shape", (1,))))
        spec = EnvSpec(obs_dim, int(env.action_size), False, length)
        return Env(cfg, spec, reset, step)

    return factory
