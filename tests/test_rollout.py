"""Evaluation accounting: completed episodes only; running obs-normalisation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_zoo.data.recipe import EnvConfig, EvalConfig, PolicyConfig
from hades_zoo.engine.envs import make_env
from hades_zoo.engine.policy import init_policy_params, make_policy
from hades_zoo.engine.rollout import RunningNorm, make_episode_evaluate, make_evaluate


def test_running_norm_matches_numpy():
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=3.0, size=(4, 5)) for _ in range(50)]
    norm = RunningNorm.create(5)
    for b in batches:
        norm = norm.update(jnp.asarray(b))
    allx = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean, allx.mean(0), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(norm.var, allx.var(0), rtol=1e-2)


def _cartpole(width=8):
    env = make_env(EnvConfig(name="CartPole-v1"))
    module = make_policy(PolicyConfig(width=width), 2, True)
    return env, module, init_policy_params(module, jax.random.key(0), 4)


def test_episode_accounting_counts_completed_episodes():
    env, module, params = _cartpole()
    ev = make_evaluate(env, module, EvalConfig(num_envs=3, num_steps=200, greedy=False), "none")
    res = jax.jit(ev)(jax.random.key(1), params, jnp.zeros(4), jnp.ones(4))
    # CartPole gives reward 1 per step: completed returns == completed lengths
    assert int(res.episodes) > 3
    np.testing.assert_allclose(res.mean_return, res.mean_length, rtol=1e-6)
    assert float(res.return_sum) <= 3 * 200


def test_no_completed_episode_falls_back_to_partial():
    env, module, params = _cartpole()
    ev = make_evaluate(env, module, EvalConfig(num_envs=2, num_steps=3), "none")
    res = jax.jit(ev)(jax.random.key(1), params, jnp.zeros(4), jnp.ones(4))
    assert int(res.episodes) == 0
    np.testing.assert_allclose(res.mean_return, 3.0)


def test_episode_evaluate_returns_one_per_episode():
    env, module, params = _cartpole()
    ev = make_episode_evaluate(env, module, num_episodes=5, greedy=True, obs_norm="running")
    returns = jax.jit(ev)(jax.random.key(2), params, jnp.zeros(4), jnp.ones(4))
    assert returns.shape == (5,)
    assert np.all((returns >= 1) & (returns <= 500))


def test_episode_evaluate_map_and_vmap_agree():
    """``batching`` is a compile/run trade, not a protocol change: same keys, same
    episodes (CartPole greedy with a sampling-free policy is exactly reproducible)."""
    env, module, params = _cartpole()
    out = {}
    for batching in ("map", "vmap"):
        ev = make_episode_evaluate(env, module, num_episodes=6, greedy=False,
                                   obs_norm="running", batching=batching)
        out[batching] = np.asarray(jax.jit(ev)(jax.random.key(3), params, jnp.zeros(4),
                                               jnp.ones(4)))
    np.testing.assert_array_equal(out["map"], out["vmap"])
    assert len(set(out["map"].tolist())) > 1  # six different episodes, not one replayed


def test_episode_evaluate_auto_batching_and_bad_value():
    from hades_zoo.engine.rollout import MAP_MAX_EPISODES, _env_batching

    assert _env_batching("auto", 4) == ("map" if jax.default_backend() == "cpu" else "vmap")
    assert _env_batching("auto", MAP_MAX_EPISODES + 1) == "vmap"
    env, module, _ = _cartpole()
    with pytest.raises(ValueError, match="batching must be"):
        make_episode_evaluate(env, module, num_episodes=2, greedy=True, obs_norm="none",
                              batching="pmap")


def test_compile_fast_runs_the_same_protocol():
    from hades_zoo.engine.rollout import compile_fast

    env, module, params = _cartpole()
    ev = make_episode_evaluate(env, module, num_episodes=4, greedy=True, obs_norm="none")
    args = (jax.random.key(5), params, jnp.zeros(4), jnp.ones(4))
    lowered = jax.jit(ev).lower(*args)
    fast = np.asarray(compile_fast(lowered, "map", 4)(*args))
    ref = np.asarray(jax.jit(ev)(*args))
    # greedy CartPole with a fixed policy: integer returns, float codegen cannot move them
    np.testing.assert_array_equal(fast, ref)


def test_record_state_records_without_changing_returns():
    """``record_state`` reads the state each action was taken in; the returns are
    ``evaluate``'s bit for bit (vmap and map batching)."""
    import hades_zoo as hz
    from tests.conftest import make_dataset

    pol = hz.train_policy(make_dataset(), seed=0)
    for batching in ("map", "vmap"):
        plain = hz.rollout(pol, episodes=2, seed=4, batching=batching)
        traj = hz.rollout(pol, episodes=2, seed=4, batching=batching,
                          record_state=lambda s: {"x": s.x, "theta": s.theta})
        assert plain.states is None
        assert np.array_equal(traj.returns, plain.returns)
        assert np.array_equal(traj.returns, hz.evaluate(pol, episodes=2, seed=4,
                                                        batching=batching).returns)
        assert traj.states["theta"].shape == (2, 500)
        # CartPole observes [x, x_dot, theta, theta_dot]: the state of the same step
        # (equal up to XLA's fusion of the observation's copy)
        np.testing.assert_allclose(traj.states["x"], traj.observations[..., 0],
                                   rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(traj.states["theta"], traj.observations[..., 2],
                                   rtol=1e-5, atol=1e-7)
