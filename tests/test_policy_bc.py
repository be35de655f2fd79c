"""Policy init and behaviour cloning match the reference protocol."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.recipe import BCConfig, PolicyConfig
from hades_zoo.engine.bc import make_bc_loss, make_bc_train
from hades_zoo.engine.policy import fixed_init_params, init_policy_params, make_policy


def test_param_names_match_reference():
    module = make_policy(PolicyConfig(width=8), action_dim=3, discrete=False)
    params = init_policy_params(module, jax.random.key(0), 5)["params"]
    assert sorted(params) == ["Dense_0", "Dense_1", "Dense_2", "log_std"]
    assert params["Dense_2"]["kernel"].shape == (8, 3)
    np.testing.assert_array_equal(params["log_std"], np.zeros(3))
    # orthogonal(0.01) output layer: tiny initial actions
    assert float(jnp.abs(params["Dense_2"]["kernel"]).max()) < 0.05
    disc = make_policy(PolicyConfig(width=8, depth=3), action_dim=4, discrete=True)
    dparams = init_policy_params(disc, jax.random.key(0), 5)["params"]
    assert sorted(dparams) == ["Dense_0", "Dense_1", "Dense_2", "Dense_3"]


def test_fixed_init_uses_legacy_threefry():
    cfg = PolicyConfig(width=8, init_seed=420, legacy_threefry=True)
    module = make_policy(cfg, action_dim=2, discrete=False)
    a = fixed_init_params(module, cfg, 3)
    b = fixed_init_params(module, cfg, 3)
    new = fixed_init_params(module, PolicyConfig(width=8, init_seed=420,
                                                 legacy_threefry=False), 3)
    k = lambda p: np.asarray(p["params"]["Dense_0"]["kernel"])  # noqa: E731
    np.testing.assert_array_equal(k(a), k(b))
    assert not np.allclose(k(a), k(new))
    with jax.threefry_partitionable(False):
        ref = module.init(jax.random.PRNGKey(420), jnp.zeros(3))
    np.testing.assert_array_equal(k(a), k(ref))


def _data():
    states = jnp.asarray(np.random.default_rng(0).normal(size=(6, 4)), jnp.float32)
    return states, jnp.asarray(np.random.default_rng(1).normal(size=(6, 2)), jnp.float32)


def test_bc_reduces_loss_and_jit_agrees():
    module = make_policy(PolicyConfig(width=32), action_dim=2, discrete=False)
    train = make_bc_train(module, BCConfig(lr=5e-3, steps=100))
    states, actions = _data()
    params0 = init_policy_params(module, jax.random.key(1), 4)
    w = jnp.ones(6)
    p_jit, losses = jax.jit(train)(params0, states, actions, w)
    assert float(losses[-1]) < float(losses[0]) - 1.0
    # the same program without jit (eagerly, op by op: 12 steps keep it quick)
    short = make_bc_train(module, BCConfig(lr=5e-3, steps=12))
    _, losses_jit = jax.jit(short)(params0, states, actions, w)
    with jax.disable_jit():
        _, losses_eager = short(params0, states, actions, w)
    np.testing.assert_allclose(losses_jit, losses_eager, rtol=1e-4, atol=1e-4)


def test_discrete_loss_is_reference_ce_over_actions():
    module = make_policy(PolicyConfig(width=8), action_dim=3, discrete=True)
    params = init_policy_params(module, jax.random.key(2), 4)
    states = jnp.ones((2, 4))
    targets = jax.nn.one_hot(jnp.array([0, 2]), 3)
    loss = make_bc_loss(module)(params, states, targets, jnp.ones(2))
    logits, _ = module.apply(params, states)
    ref = -jnp.mean(jax.nn.log_softmax(logits) * targets)  # over pairs and actions
    np.testing.assert_allclose(loss, ref, rtol=1e-6)
    # masked pairs do not count
    masked = make_bc_loss(module)(params, states, targets, jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(masked, -jnp.mean(jax.nn.log_softmax(logits[0]) * targets[0]),
                               rtol=1e-6)


def test_gaussian_nll_matches_closed_form():
    module = make_policy(PolicyConfig(width=8), action_dim=2, discrete=False)
    params = init_policy_params(module, jax.random.key(3), 4)
    states, actions = _data()
    loss = make_bc_loss(module)(params, states, actions, jnp.ones(6))
    mean, log_std = module.apply(params, states)
    var = jnp.exp(2 * log_std)
    nll = 0.5 * jnp.sum((actions - mean) ** 2 / var + jnp.log(2 * jnp.pi * var), -1)
    np.testing.assert_allclose(loss, jnp.mean(nll), rtol=1e-5)
