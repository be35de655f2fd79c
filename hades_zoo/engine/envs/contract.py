"""The Env contract: a spec plus pure, jittable single-env ``reset`` / ``step`` functions.

Every env hades_zoo distils or evaluates, built in or registered, is an ``Env``:

- ``reset(key) -> (obs, state)``: ``key`` a typed ``jax.random.key``; ``obs`` float
  ``(obs_dim,)``; ``state`` any pytree of arrays.
- ``step(key, state, action) -> (obs, state, reward, done)``: ``action`` float32
  ``(action_dim,)`` (continuous) or an int32 scalar in ``[0, action_dim)``
  (discrete); ``obs`` as from ``reset``; ``state`` of the same tree structure,
  shapes and dtypes as ``reset``'s; ``reward`` a float scalar ``()``; ``done`` a
  bool scalar ``()``.

``step`` auto-resets: when ``done`` is true, the returned ``obs`` / ``state`` already
belong to the next episode, and an episode that reaches the env's cap
(``spec.max_episode_steps``) ends with ``done`` true (truncation). Both functions are
pure (no Python side effects, no host calls), so the rollout can ``jax.vmap`` them over
envs and ``jax.lax.scan`` them over steps. ``check_env`` verifies all of this by
abstract evaluation (``jax.eval_shape``: nothing runs) for every env a registered
provider builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import EnvError

__all__ = ["Env", "EnvSpec", "check_env"]


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Static facts of an env: obs size, action size (or count), kind, episode cap.

    Attributes:
        obs_dim: length of the flat float observation.
        action_dim: continuous action size, or the number of discrete actions.
        discrete: whether actions are integers in ``[0, action_dim)``.
        max_episode_steps: the episode cap (truncation); 0 for the image sets.
    """

    obs_dim: int
    action_dim: int
    discrete: bool
    max_episode_steps: int = 1000


@dataclasses.dataclass(frozen=True, eq=False)
class Env:
    """A built environment: spec plus pure ``reset`` / ``step`` functions (module doc)."""

    config: EnvConfig
    spec: EnvSpec
    reset: Callable[[Any], tuple[Any, Any]]
    step: Callable[[Any, Any, Any], tuple[Any, Any, Any, Any]]


def _what(value: Any) -> str:
    """A short description of a traced value for messages."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    return f"a {type(value).__name__}"


def _traced(fn: Callable, args: tuple, where: str, call: str) -> Any:
    import jax

    try:
        return jax.eval_shape(fn, *args)
    except EnvError:
        raise
    except Exception as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise EnvError(
            f"{where}: {call} failed when traced by jax ({type(err).__name__}: "
            f"{text[:300]}); reset and step must be pure jax functions (jnp, "
            "jax.random, lax), taking a typed key from jax.random.key "
            "(docs/ENVIRONMENTS.md).") from err


def check_env(env: Env, *, where: str) -> None:
    """Check that ``env`` keeps the contract (module doc), by ``jax.eval_shape``.

    Args:
        env: the env a provider built.
        where: names the env and its provider in messages, e.g.
            ``"env 'PointMass-v0' (provider 'myenvs')"``.

    Raises:
        EnvError: a spec that is not positive integers; ``reset`` / ``step`` that
            fail to trace, return the wrong number of values, a non-array or
            wrongly shaped observation, a non-scalar reward or done, a non-bool
            done, or a state whose structure changes between reset and step. The
            message names the env and what to return instead.
    """
    import jax
    import jax.numpy as jnp

    spec = env.spec
    for field in ("obs_dim", "action_dim", "max_episode_steps"):
        value = getattr(spec, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (
                value == 0 and field != "max_episode_steps"):
            raise EnvError(f"{where}: spec.{field} must be a positive integer, got "
                           f"{value!r}.")
    if not callable(env.reset) or not callable(env.step):
        raise EnvError(f"{where}: reset and step must be functions, got "
                       f"{type(env.reset).__name__} and {type(env.step).__name__}.")
    key = jax.random.key(0)
    out = _traced(env.reset, (key,), where, "reset(key)")
    if not isinstance(out, tuple) or len(out) != 2:
        raise EnvError(f"{where}: reset(key) returned {_what(out)}; it must return "
                       "(obs, state).")
    obs, state = out
    _check_obs(obs, spec, where, "reset")
    if spec.discrete:
        action = jax.ShapeDtypeStruct((), jnp.int32)
    else:
        action = jax.ShapeDtypeStruct((spec.action_dim,), jnp.float32)
    out = _traced(env.step, (key, state, action), where, "step(key, state, action)")
    if not isinstance(out, tuple) or len(out) != 4:
        raise EnvError(f"{where}: step(key, state, action) returned {_what(out)}; it "
                       "must return (obs, state, reward, done).")
    obs2, state2, reward, done = out
    _check_obs(obs2, spec, where, "step")
    for name, value, kind in (("reward", reward, "a float"), ("done", done, "a bool")):
        if not hasattr(value, "shape") or tuple(value.shape) != ():
            raise EnvError(f"{where}: step's {name} is {_what(value)}; it must be "
                           f"{kind} scalar (shape ()) for one env.")
    if not jnp.issubdtype(reward.dtype, jnp.number) or jnp.issubdtype(reward.dtype,
                                                                        jnp.complexfloating):
        raise EnvError(f"{where}: step's reward has dtype {reward.dtype}; return a "
                       "float scalar.")
    if done.dtype != jnp.bool_:
        raise EnvError(f"{where}: step's done has dtype {done.dtype}; return a bool "
                       "scalar (e.g. `done > 0.5`, `jnp.logical_or(terminated, "
                       "truncated)`).")
    leaves = lambda tree: [(tuple(x.shape), x.dtype) for x in jax.tree.leaves(tree)]
    if (jax.tree.structure(state) != jax.tree.structure(state2)
            or leaves(state) != leaves(state2)):
        raise EnvError(f"{where}: step returns a state of another structure, shape or "
                       "dtype than reset's; the state must keep one pytree structure "
                       "(jax.lax.scan carries it). reset: "
                       f"{jax.tree.structure(state)}; step: {jax.tree.structure(state2)}.")


def _check_obs(obs: Any, spec: EnvSpec, where: str, fn: str) -> None:
    import jax.numpy as jnp

    if not hasattr(obs, "shape") or not hasattr(obs, "dtype"):
        raise EnvError(f"{where}: {fn}'s obs is {_what(obs)}, not an array; return the "
                       f"observation as one flat float array of shape ({spec.obs_dim},) "
                       "(jnp.concatenate the parts).")
    if tuple(obs.shape) != (spec.obs_dim,):
        raise EnvError(f"{where}: {fn}'s obs has shape {tuple(obs.shape)}; it must be "
                       f"flat, ({spec.obs_dim},) (spec.obs_dim): reshape it with "
                       "jnp.ravel, or fix obs_dim.")
    if not jnp.issubdtype(obs.dtype, jnp.floating):
        raise EnvError(f"{where}: {fn}'s obs has dtype {obs.dtype}; return floats "
                       "(obs.astype(jnp.float32)).")
