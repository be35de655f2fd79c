"""Env adapters: one functional API, unknown names rejected, specs match the real envs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs import BRAX_SPECS, env_spec, make_env
from hades_zoo.errors import EnvError


def test_gymnax_six_value_step_adapted(key):
    env = make_env(EnvConfig(name="CartPole-v1"))
    assert (env.spec.obs_dim, env.spec.action_dim, env.spec.discrete) == (4, 2, True)
    assert env.spec.max_episode_steps == 500
    obs, state = env.reset(key)
    out = jax.jit(env.step)(key, state, jnp.asarray(1))
    assert len(out) == 4 and out[0].shape == (4,) and out[3].dtype == jnp.bool_


def test_minatar_obs_flattened(key):
    env = make_env(EnvConfig(name="Breakout-MinAtar"))
    obs, _ = env.reset(key)
    assert obs.shape == (400,) and obs.dtype == jnp.float32
    assert env.spec.action_dim == 3


@pytest.mark.parametrize(
    "cfg, match",
    [
        (EnvConfig(name="hoper", backend="positional"), r"unknown env 'hoper'.*Did you mean: hopper"),
        (EnvConfig(name="hopper", backend="gymnax"), r"needs a physics backend"),
        (EnvConfig(name="CartPole-v1", backend="positional"), r"is a gymnax env"),
    ],
)
def test_unknown_env_or_backend(cfg, match):
    with pytest.raises(EnvError, match=match):
        make_env(cfg)


def test_brax_adapter_steps_with_typed_key(key):
    env = make_env(EnvConfig(name="hopper", backend="positional"))
    obs, state = env.reset(key)  # typed key converted for brax's wrappers
    obs, state, reward, done = jax.jit(env.step)(key, state, 5.0 * jnp.ones(3))
    assert obs.shape == (11,) and reward.shape == ()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BRAX_SPECS))
def test_brax_static_specs_match_real_envs(name):
    cfg = EnvConfig(name=name, backend="positional")
    env = make_env(cfg)
    assert env_spec(cfg) == env.spec
    obs, _ = jax.eval_shape(env.reset, jax.random.key(0))  # the real env's sizes
    assert obs.shape == (env.spec.obs_dim,)
    from brax import envs

    assert envs.get_environment(name, backend="positional").action_size == \
        env.spec.action_dim


@pytest.mark.slow
def test_idp_brax09_shim_terminates_later(key):
    """Zero actions: stock brax 0.14 ends an IDP episode far earlier than brax 0.9 did."""

    def first_done(compat):
        env = make_env(EnvConfig(name="inverted_double_pendulum", backend="positional",
                                 compat=compat))
        _, state = env.reset(jax.random.PRNGKey(3))

        def body(c, _):
            s, done_seen, t = c
            _, s, _, d = env.step(None, s, jnp.zeros(1))
            return (s, done_seen | d, t + (~(done_seen | d)).astype(jnp.int32)), None

        (_, _, t), _ = jax.lax.scan(body, (state, False, 0), None, 300)
        return int(t)

    assert first_done("brax-0.9") > first_done("")


def test_space_invaders_gymnax006_shim(key):
    """gymnax 0.0.6 started with 4 x 7 aliens and tested bullet hits before the move."""
    stock = make_env(EnvConfig(name="SpaceInvaders-MinAtar"))
    old = make_env(EnvConfig(name="SpaceInvaders-MinAtar", compat="gymnax-0.0.6"))
    aliens = lambda obs: int(obs.reshape(10, 10, 6)[..., 1].sum())  # noqa: E731
    assert aliens(stock.reset(key)[0]) == 24 and aliens(old.reset(key)[0]) == 28
    # An enemy bullet one row above the cannon at its current column: moving away
    # dodges it in gymnax 1.0 but not in 0.0.6 (hit tested at the pre-move position).
    _, state = old.reset(key)
    state = state.replace(e_bullet_map=state.e_bullet_map.at[8, state.pos].set(1.0))
    left = jnp.asarray(1)  # minimal action set [0, 1, 3, 5]: index 1 = move left
    *_, done_old = old.step(key, state, left)
    *_, done_stock = stock.step(key, state, left)
    assert bool(done_old) and not bool(done_stock)


def test_unknown_compat_shim_rejected():
    """A shim is its provider's: one it does not declare is refused when the env is
    built; one that cannot be a shim name already by the recipe."""
    from hades_zoo.errors import RecipeError

    with pytest.raises(EnvError, match="unknown shim 'gymnax-9' for gymnax env "
                                       "'CartPole-v1'.*'gymnax-0.0.6'"):
        make_env(EnvConfig(name="CartPole-v1", compat="gymnax-9"))
    with pytest.raises(EnvError, match="unknown shim 'gymnax-0.0.6' for brax env"):
        env_spec(EnvConfig(name="hopper", backend="positional", compat="gymnax-0.0.6"))
    with pytest.raises(RecipeError, match="'gymnax 9' is not a shim name"):
        EnvConfig(name="CartPole-v1", compat="gymnax 9").validate()


def test_env_first_built_inside_a_trace_leaks_no_tracer():
    """``make_env`` is cached: an env first built while jit is tracing (e.g. by a lazy
    property) must hold concrete arrays, or the next program hits a leaked tracer."""
    import jax

    from hades_zoo.engine.envs import make_env

    cfg = EnvConfig(name="hopper", backend="positional", episode_length=10)
    make_env.cache_clear()

    def first(key):
        return make_env(cfg).reset(key)[0]

    obs1 = jax.jit(first)(jax.random.PRNGKey(0))
    obs2 = jax.jit(lambda k: make_env(cfg).reset(k)[0] * 2.0)(jax.random.PRNGKey(0))
    np.testing.assert_allclose(np.asarray(obs2), 2.0 * np.asarray(obs1), rtol=1e-6)
