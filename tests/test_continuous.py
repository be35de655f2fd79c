"""Continuous batching of ``episodes`` evaluations gives the ``episodes`` mode's results.

Exact equality (``==``, not a tolerance): the scheduler replays the same keys through
the same step function, so every return, length and step count must be bit-identical
to the one-``vmap`` evaluation, on CartPole (fast) and on brax hopper (slow).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_zoo.data.recipe import EnvConfig, EvalConfig, PolicyConfig
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_dict, recipe_to_json
from hades_zoo.engine.continuous import make_continuous_evaluate, pool_sizes
from hades_zoo.engine.distill import make_population_fitness
from hades_zoo.engine.envs import make_env
from hades_zoo.engine.parallel import BlockFitness, global_mesh
from hades_zoo.engine.policy import init_policy_params, make_policy
from hades_zoo.engine.rollout import make_evaluate
from hades_zoo.engine.tasks.control import ControlTask
from hades_zoo.errors import RecipeError


def _equal(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        x.shape == y.shape and bool(jnp.all(x == y)) for x, y in zip(la, lb))


def _compare(env, module, obs_dim, *, num_evals, num_envs, greedy, obs_norm, settings,
             scale=1.0, num_steps=500):
    """Continuous evaluate == vmap of the episodes evaluate, for each (slots, shrink)."""
    params = jax.vmap(lambda k: init_policy_params(module, k, obs_dim))(
        jax.random.split(jax.random.key(0), num_evals))
    params = jax.tree.map(lambda a: a * scale, params)
    keys = jax.random.split(jax.random.key(1), num_evals)
    cfg = EvalConfig(num_envs=num_envs, num_steps=num_steps, greedy=greedy, mode="episodes")
    mean, var = jnp.zeros(obs_dim), jnp.ones(obs_dim)
    ev = make_evaluate(env, module, cfg, obs_norm)
    ref = jax.jit(jax.vmap(lambda k, p: ev(k, p, mean, var)))(keys, params)
    for slots, shrink in settings:
        cont = make_continuous_evaluate(env, module, cfg, obs_norm, slots=slots,
                                        shrink=shrink)
        res, stats = jax.jit(cont)(keys, params, mean, var)
        assert _equal(ref, res), (slots, shrink, ref.mean_return, res.mean_return)
        # busy slots simulate exactly the env steps the episodes mode counts
        assert int(stats.busy_steps) == int(jnp.sum(ref.env_steps))
        assert int(stats.slot_steps) >= int(stats.busy_steps)
    return ref


@pytest.mark.parametrize("obs_norm,greedy,settings", [
    ("none", True, [(4, 2), (13, 4)]),  # refill + shrink; all at once + shrink
    pytest.param("running", False, [(1, 1), (5, 1)],  # one slot; refill, never shrink
                 marks=pytest.mark.slow),  # CI time
])
def test_cartpole_continuous_equals_episodes(obs_norm, greedy, settings):
    env = make_env(EnvConfig(name="CartPole-v1"))
    module = make_policy(PolicyConfig(width=16), 2, True)
    ref = _compare(env, module, 4, num_evals=13, num_envs=3, greedy=greedy,
                   obs_norm=obs_norm, settings=settings)
    assert len(set(np.asarray(ref.mean_length).tolist())) > 3  # episodes of many lengths


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_policy_index_shares_params():
    """``policy[e]`` picks evaluation e's parameters (the ES baseline's k evaluations
    of one candidate)."""
    env = make_env(EnvConfig(name="CartPole-v1"))
    module = make_policy(PolicyConfig(width=8), 2, True)
    params = jax.vmap(lambda k: init_policy_params(module, k, 4))(
        jax.random.split(jax.random.key(0), 3))
    keys = jax.random.split(jax.random.key(1), 6)
    policy = jnp.array([0, 0, 1, 1, 2, 2])
    cfg = EvalConfig(num_envs=2, num_steps=200, mode="episodes")
    mean, var = jnp.zeros(4), jnp.ones(4)
    ev = make_evaluate(env, module, cfg, "none")
    ref = jax.vmap(lambda k, i: ev(k, jax.tree.map(lambda a: a[i], params), mean, var))(
        keys, policy)
    res, _ = make_continuous_evaluate(env, module, cfg, "none", slots=2, shrink=2)(
        keys, params, mean, var, policy)
    assert _equal(ref, res)


def test_pool_sizes():
    assert pool_sizes(64, 64, 4) == [64, 16, 4, 1]
    assert pool_sizes(10, 64, 4) == [10, 2]
    assert pool_sizes(64, 16, 1) == [16]
    assert pool_sizes(1, 8, 4) == [1]
    with pytest.raises(ValueError):
        make_continuous_evaluate(make_env(EnvConfig(name="CartPole-v1")),
                                 make_policy(PolicyConfig(width=8), 2, True),
                                 EvalConfig(mode="episodes"), "none", slots=0, shrink=1)


def _population_equal(recipe, eval_chunk=0, pop=8):
    """Population fitness: scheduler block vs continuous, same keys, exact."""
    mesh = global_mesh()
    out = {}
    key = jax.random.key(3)
    for scheduler in ("block", "continuous"):
        r = recipe.replace(eval=dataclasses.replace(recipe.eval, scheduler=scheduler))
        task = ControlTask(r)
        fitness = task.make_fitness_fn()
        assert isinstance(fitness, BlockFitness) == (scheduler == "continuous")
        if r.variant == "ES":
            template = task.init_params(key)
            population = jax.tree.map(
                lambda a: a[None] + 0.3 * jax.random.normal(key, (pop, *a.shape)), template)
        else:
            template = task.solution_template()
            population = {k: jax.random.normal(jax.random.fold_in(key, i), (pop, *v.shape))
                          for i, (k, v) in enumerate(sorted(template.items()))}
        run = jax.jit(make_population_fitness(r, fitness, mesh, eval_chunk))
        out[scheduler] = run(key, population)
    (f_block, aux_block), (f_cont, aux_cont) = out["block"], out["continuous"]
    assert "simulated_steps" in aux_cont
    aux_cont = {k: v for k, v in aux_cont.items() if k != "simulated_steps"}
    assert _equal(f_block, f_cont), (f_block, f_cont)
    assert _equal(aux_block, aux_cont)
    assert len(set(np.asarray(f_block).tolist())) > 1  # candidates differ
    return f_block


def _cartpole_population(variant, num_inits, obs_norm="none", greedy=True):
    data = recipe_to_dict(recipe_from_dict({
        "name": "cartpole-test", "variant": variant, "num_inits": num_inits,
        "env": {"name": "CartPole-v1", "backend": "gymnax", "obs_norm": obs_norm},
        "dataset": {"size": 2},
        "policy": {"width": 16, "init_seed": 0 if variant == "F" else None},
        "bc": {"lr": 0.01, "steps": 5},
        "eval": {"num_envs": 2, "num_steps": 300, "greedy": greedy, "mode": "episodes"},
        "es": {"popsize": 8, "generations": 1, "sigma_init": 0.3},
    }))
    return recipe_from_dict(data)


def test_population_fitness_continuous_equals_block_hades_f():
    _population_equal(_cartpole_population("F", 1))


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_population_fitness_continuous_equals_block_hades_r_chunked():
    _population_equal(_cartpole_population("R", 2, obs_norm="running", greedy=False),
                      eval_chunk=2)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_population_fitness_continuous_equals_block_es():
    _population_equal(_cartpole_population("ES", 2))


def test_scheduler_field_written_only_when_not_default():
    r = _cartpole_population("F", 1)
    assert r.eval.scheduler == "block"
    assert "scheduler" not in recipe_to_json(r)
    c = r.replace(eval=dataclasses.replace(r.eval, scheduler="continuous"))
    assert recipe_to_dict(c)["eval"]["scheduler"] == "continuous"
    assert recipe_from_dict(recipe_to_dict(c)) == c
    data = recipe_to_dict(r)
    data["eval"]["scheduler"] = "continous"
    with pytest.raises(RecipeError, match="continuous"):
        recipe_from_dict(data)


@pytest.mark.slow
@pytest.mark.parametrize("obs_norm,greedy", [("running", True), ("running", False),
                                             ("none", True)])
def test_hopper_continuous_equals_episodes(obs_norm, greedy):
    """brax hopper (positional), 60-step episodes: bit-identical returns."""
    env = make_env(EnvConfig(name="hopper", backend="positional", episode_length=60))
    module = make_policy(PolicyConfig(width=16), 3, False)
    _compare(env, module, 11, num_evals=6, num_envs=2, greedy=greedy, obs_norm=obs_norm,
             settings=[(3, 2)], scale=3.0)
