"""A MuJoCo Playground env behind the functional ``Env`` contract.

``registry.load(name, config_overrides={"impl": impl})`` returns an ``MjxEnv`` whose
``reset(rng) -> State`` and ``step(state, action) -> State`` carry ``State(data, obs,
reward, done, metrics, info)``. Playground's DM Control Suite tasks never end an
episode themselves (``done`` is set only when the physics returns NaN); Playground's
training wrapper (``wrapper.wrap_for_brax_training``) adds brax's ``EpisodeWrapper``
and an auto-reset. Here, as for the other families:

- ``step(key, state, action)`` clips the action to [-1, 1], steps the physics
  (Playground's ``n_substeps`` physics steps per control step), and ends the episode
  when Playground says done or after ``env.episode_length`` control steps
  (truncation); a finished env restarts from a fresh initial state drawn with ``key``
  (as gymnax; brax's adapter replays the first one). The reset is computed every step
  and selected where done (``jnp.where``), which ``vmap`` would do with a ``cond``
  anyway;
- observations are flattened to float32 (Playground's are (obs_dim,) float32 already);
- keys are raw ``uint32[2]`` inside the state (typed keys are converted).

The state is ``PlaygroundState(inner, t)``: Playground's ``State`` and the control
steps taken in this episode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs import Env, EnvSpec
from hades_zoo.engine.envs.playground.specs import (
    check_playground_config,
    import_playground,
    resolve_impl,
)
from hades_zoo.engine.envs.quiet import captured
from hades_zoo.errors import EnvError

__all__ = ["PlaygroundState", "load_playground", "make_playground_env"]


@struct.dataclass
class PlaygroundState:
    """Playground's ``State`` plus the episode's control steps so far (int32 ())."""

    inner: object
    t: jax.Array


def _raw_key(key: jax.Array) -> jax.Array:
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def load_playground(cfg: EnvConfig):
    """The raw ``MjxEnv`` of ``cfg`` on its resolved impl (checked, output captured).

    Raises:
        EnvError: see ``check_playground_config`` / ``resolve_impl``; or Playground
            failed to build the task (its error is chained).
    """
    check_playground_config(cfg)
    registry = import_playground()
    impl = resolve_impl(cfg)
    try:
        with captured(f"loading MuJoCo Playground {cfg.name} (impl={impl})"):
            return registry.load(cfg.name, config_overrides={"impl": impl})
    except Exception as err:
        raise EnvError(
            f"MuJoCo Playground could not build {cfg.name!r} with impl={impl!r}: "
            f"{type(err).__name__}: {err}") from err


def make_playground_env(cfg: EnvConfig) -> Env:
    """Build ``cfg``'s Playground task as an ``Env`` (module doc for the protocol)."""
    env = load_playground(cfg)
    episode_length = int(cfg.episode_length)

    def reset(key):
        inner = env.reset(_raw_key(key))
        obs = jnp.ravel(inner.obs).astype(jnp.float32)
        return obs, PlaygroundState(inner, jnp.zeros((), jnp.int32))

    def step(key, state, action):
        inner = env.step(state.inner, jnp.clip(action, -1.0, 1.0))
        t = state.t + 1
        done = jnp.logical_or(inner.done > 0.5, t >= episode_length)
        _, fresh = reset(key)
        nxt = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b),
                                     fresh, PlaygroundState(inner, t))
        obs = jnp.ravel(nxt.inner.obs).astype(jnp.float32)
        return obs, nxt, inner.reward.astype(jnp.float32), done

    obs_shape = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs
    if not hasattr(obs_shape, "shape"):
        raise EnvError(
            f"Playground task {cfg.name!r} observes a dict ({sorted(obs_shape)}), not one "
            "vector; hades_zoo datasets store flat state vectors.")
    obs_dim = 1
    for s in obs_shape.shape:
        obs_dim *= int(s)
    spec = EnvSpec(obs_dim, int(env.action_size), False, episode_length)
    return Env(cfg, spec, reset, step)
