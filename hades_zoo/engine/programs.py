"""A recipe's BC and episode programs, stored once traced (``engine.compiled``).

``evaluation.train_policy``, ``evaluate``, ``train_and_evaluate`` and ``rollout``
(without ``record_state``) run these: ``ControlTask(recipe).train`` and
``rollout.make_episode_rollout`` (recording the steps for ``rollout``, and for
``evaluate`` too in the quick-compile tier: ``episodes_runner``), built only when no
stored program fits, so a warm run builds no env and imports no brax. The shapes the env
fixes (observation size, action size and kind) come from ``envs.env_spec``, which
needs no physics.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.recipe import Recipe
from hades_zoo.engine import compiled
from hades_zoo.engine.envs import EnvSpec, env_spec
from hades_zoo.engine.rollout import (
    _env_batching,
    compile_fast,
    fast_tier,
    make_episode_rollout,
)
from hades_zoo.engine.tasks.control import ControlTask
from hades_zoo.errors import RecipeError

__all__ = ["bc_arrays", "episodes_runner", "norm_arrays", "train_program"]


def bc_arrays(ds: SyntheticDataset, spec: EnvSpec) -> tuple[jax.Array, Any, Any]:
    """``(states (D, obs) float32, BC targets, BC weights (D,))`` of ``ds``, as
    ``evaluation._task_and_arrays`` gives them, without building the env."""
    return (jnp.asarray(ds.states, jnp.float32), ds.bc_targets(spec.action_dim),
            ds.bc_weights())


def norm_arrays(spec: EnvSpec, obs_mean, obs_var) -> tuple[jax.Array, jax.Array]:
    """``ControlTask.norm_arrays`` (the ``const`` statistics, or 0 / 1) from the spec."""
    mean = (jnp.zeros(spec.obs_dim) if obs_mean is None
            else jnp.asarray(obs_mean, jnp.float32))
    var = jnp.ones(spec.obs_dim) if obs_var is None else jnp.asarray(obs_var, jnp.float32)
    return mean, var


def _protocol(recipe: Recipe, spec: EnvSpec) -> dict[str, Any]:
    """The recipe sections a traced program reads (part of its stored key)."""
    return {"env": dataclasses.asdict(recipe.env), "spec": dataclasses.asdict(spec),
            "policy": dataclasses.asdict(recipe.policy),
            "bc": dataclasses.asdict(recipe.bc)}


def train_program(recipe: Recipe, args: tuple) -> compiled.Program:
    """``ControlTask(recipe).train`` for ``args = (key, states, targets, weights)``.

    Returns:
        A ``compiled.Program``; ``.lower(*args).compile()(*args)`` is
        ``jax.jit(ControlTask(recipe).train)(*args)``: ``(params, losses (steps,))``.
    """
    return compiled.program("bc", _protocol(recipe, env_spec(recipe.env)),
                            lambda: ControlTask(recipe).train, args)


def episodes_runner(recipe: Recipe, module, obs_mean, obs_var, *, episodes: int,
                    greedy: bool | None, batching: str, key: jax.Array, params: Any,
                    compile_in=None, steps: bool = False):
    """``run(params) -> returns (episodes,)``: ``module``'s episodes in ``recipe``'s
    env from ``key`` (``rollout.make_episode_evaluate``), compiled as ``evaluate``
    compiles them (``rollout.compile_fast``).

    With ``steps``, ``run(params) -> (returns, steps)``: the episodes recorded
    (``rollout.make_episode_rollout(record=True)``'s ``steps``), what
    ``evaluation.rollout`` plays. In the quick-compile tier (``rollout.fast_tier``:
    ``map`` on CPU) the program records the steps either way and ``run`` drops them
    when not asked for, so ``evaluate`` and ``rollout`` run one program and their
    returns are equal bit for bit (a program without the steps is fused differently
    there, with other last bits).

    Args:
        params: the parameters, or their shapes (``jax.ShapeDtypeStruct``).
        compile_in: an executor to compile in; ``run`` then waits for it.
        steps: also return the recorded steps.

    Raises:
        RecipeError: ``episodes`` < 1.
    """
    if episodes < 1:
        raise RecipeError(f"episodes must be >= 1, got {episodes}.")
    spec = env_spec(recipe.env)
    greedy = recipe.eval.greedy if greedy is None else greedy
    mode = _env_batching(batching, episodes)
    record = steps or fast_tier(batching, episodes)
    mean, var = norm_arrays(spec, obs_mean, obs_var)
    args = (key, params, mean, var)

    def build():
        return make_episode_rollout(ControlTask(recipe).env, module,
                                    num_episodes=episodes, greedy=greedy,
                                    obs_norm=recipe.env.obs_norm, batching=mode,
                                    record=record)

    protocol = {**_protocol(recipe, spec), "module": repr(module), "episodes": episodes,
                "greedy": bool(greedy), "batching": mode, "record": record}
    lowered = compiled.program("episodes", protocol, build, args).lower(*args)

    def pick(out):
        return out if steps or not record else out[0]

    if compile_in is None:
        executable = compile_fast(lowered, mode, episodes)
        return lambda p: pick(executable(key, p, mean, var))
    future = compile_in.submit(compile_fast, lowered, mode, episodes)
    return lambda p: pick(future.result()(key, p, mean, var))
