"""HaDES-RR's randomised inner loop: the masked network and BC run are the drawn ones,
the draws cover their ranges and are common to the population under CRN, and an RR
recipe runs end to end through ``hades-zoo distill``."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from hades_zoo.data.inner_loop import InnerLoopConfig
from hades_zoo.data.recipe import BCConfig, PolicyConfig
from hades_zoo.data.recipe_io import recipe_to_dict
from hades_zoo.engine.bc import make_bc_train
from hades_zoo.engine.policy import MLPPolicy, init_policy_params, make_policy
from hades_zoo.engine.randomised import (
    InnerLoopSample,
    MaskedMLPPolicy,
    RandomisedInnerLoop,
    embed_params,
    make_masked_bc_train,
    sample_inner_loop,
)

MAX_W, MAX_D, OBS = 16, 3, 5


def _arch(width, depth, activation):
    return {"width": jnp.int32(width), "depth": jnp.int32(depth),
            "activation": jnp.int32(("tanh", "relu").index(activation))}


def _noisy_embedding(plain, depth, masked_module, key):
    """``plain`` written into a random max-size parameter tree: every entry the drawn
    net does not use is noise, so only the masks can hide it."""
    noise = masked_module.init(key, jnp.zeros(OBS))["params"]
    noise = jax.tree.map(lambda a: a + jax.random.normal(key, a.shape), noise)
    emb = embed_params(plain, depth, MAX_W, MAX_D)
    used = embed_params(jax.tree.map(jnp.ones_like, plain), depth, MAX_W, MAX_D)
    return jax.tree.map(lambda e, u, n: jnp.where(u > 0, e, n), emb, used, noise)


@pytest.mark.parametrize("width, depth, activation, discrete", [
    (5, 1, "tanh", False), (8, 2, "relu", True), (16, 3, "tanh", True),
    (3, 3, "relu", False), (16, 1, "relu", False)])
def test_masked_net_equals_the_plain_net_of_the_drawn_size(width, depth, activation,
                                                            discrete):
    plain_module = MLPPolicy(action_dim=3, discrete=discrete, width=width, depth=depth,
                             activation=activation)
    plain = init_policy_params(plain_module, jax.random.key(1), OBS)["params"]
    bump = jax.random.key(2)
    plain = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(bump, a.shape),
                         plain)  # nonzero biases and log_std too
    masked_module = MaskedMLPPolicy(action_dim=3, discrete=discrete, max_width=MAX_W,
                                    max_depth=MAX_D)
    params = _noisy_embedding(plain, depth, masked_module, jax.random.key(3))
    x = jax.random.normal(jax.random.key(4), (7, OBS))
    want = plain_module.apply({"params": plain}, x)
    got = jax.jit(masked_module.apply)(
        {"params": params, "arch": _arch(width, depth, activation)}, x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-6)
    if not discrete:
        np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("discrete, clip", [(False, 0.5), (True, None)])
def test_masked_bc_equals_plain_bc_for_the_drawn_steps(discrete, clip):
    width, depth, steps, max_steps, lr = 8, 2, 7, 12, 0.02
    bc = BCConfig(lr=lr, steps=steps, max_grad_norm=clip)
    plain_module = MLPPolicy(action_dim=3, discrete=discrete, width=width, depth=depth)
    plain0 = init_policy_params(plain_module, jax.random.key(0), OBS)
    states = jax.random.normal(jax.random.key(1), (6, OBS))
    targets = (jax.nn.one_hot(jnp.arange(6) % 3, 3) if discrete
               else jax.random.normal(jax.random.key(2), (6, 3)))
    weights = jnp.ones(6)
    plain, plain_losses = jax.jit(make_bc_train(plain_module, bc))(
        plain0, states, targets, weights)

    masked_module = MaskedMLPPolicy(action_dim=3, discrete=discrete, max_width=MAX_W,
                                    max_depth=MAX_D)
    train = jax.jit(make_masked_bc_train(masked_module, bc, max_steps))
    variables = {"params": embed_params(plain0["params"], depth, MAX_W, MAX_D),
                 "arch": _arch(width, depth, "tanh")}
    out, losses = train(variables, states, targets, weights, jnp.float32(lr),
                        jnp.int32(steps))
    want = embed_params(plain["params"], depth, MAX_W, MAX_D)
    for got_leaf, want_leaf in zip(jax.tree.leaves(out["params"]),
                                   jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(got_leaf, want_leaf, rtol=2e-5, atol=2e-6)
        # what the drawn net does not use got no gradient: still exactly zero
        assert np.all(np.asarray(got_leaf)[np.asarray(want_leaf) == 0] == 0)
    np.testing.assert_allclose(losses[:steps], plain_losses, rtol=2e-5, atol=2e-6)
    # after the drawn step count the params stop: the remaining losses are all equal
    np.testing.assert_array_equal(losses[steps:], np.full(max_steps - steps,
                                                          losses[steps]))


def test_init_is_the_plain_orthogonal_init_of_the_drawn_width():
    cfg = InnerLoopConfig(widths=(4, 16), depths=(1, 2, 3))
    loop = RandomisedInnerLoop(cfg, BCConfig(), action_dim=2, discrete=False,
                               obs_dim=OBS)
    sample = InnerLoopSample(width=jnp.int32(4), depth=jnp.int32(2),
                             activation=jnp.int32(1), lr=jnp.float32(0.01),
                             steps=jnp.int32(3))
    got = jax.jit(loop.init_params)(jax.random.key(5), sample)
    ref = MLPPolicy(action_dim=2, discrete=False, width=4, depth=3).init(
        jax.random.key(5), jnp.zeros(OBS))["params"]
    names = [name for name in ref if name.startswith("Dense_")]
    p = {name: np.asarray(got["params"][name]["kernel"]) for name in names}
    r = {name: np.asarray(ref[name]["kernel"]) for name in names}
    np.testing.assert_array_equal(p["Dense_0"][:, :4], r["Dense_0"])
    np.testing.assert_array_equal(p["Dense_1"][:4, :4], r["Dense_1"])
    np.testing.assert_array_equal(p["Dense_3"][:4], r["Dense_3"])
    assert not np.any(p["Dense_0"][:, 4:]) and not np.any(p["Dense_1"][4:])
    assert not np.any(p["Dense_3"][4:])
    assert not np.any(p["Dense_2"])  # past the drawn depth
    assert {k: int(v) for k, v in got["arch"].items()} == {"width": 4, "depth": 2,
                                                           "activation": 1}


def test_draws_cover_the_ranges():
    cfg = InnerLoopConfig(widths=(8, 32, 16), depths=(1, 3), activations=("relu",),
                          bc_lr=(1e-3, 1e-1), bc_steps=(5, 9))
    s = jax.jit(jax.vmap(lambda k: sample_inner_loop(k, cfg)))(
        jax.random.split(jax.random.key(0), 4000))
    assert set(np.asarray(s.width).tolist()) == {8, 16, 32}
    assert set(np.asarray(s.depth).tolist()) == {1, 3}
    assert set(np.asarray(s.activation).tolist()) == {1}  # relu
    assert set(np.asarray(s.steps).tolist()) == {5, 6, 7, 8, 9}  # both ends included
    lr = np.asarray(s.lr)
    assert lr.min() >= 1e-3 and lr.max() <= 1e-1
    # log-uniform: a quarter of the draws below 10^-2.5, half below 10^-2
    assert abs(np.mean(lr < 10 ** -2.5) - 0.25) < 0.03
    assert abs(np.mean(lr < 1e-2) - 0.5) < 0.03


def _rr_recipe(tiny_recipe, **eval_changes):
    r = tiny_recipe
    return r.replace(
        name="tiny-RR-2", variant="RR",
        inner_loop=InnerLoopConfig(widths=(8, 16), depths=(1, 2), bc_lr=(3e-3, 3e-2),
                                   bc_steps=(5, 10)),
        eval=dataclasses.replace(r.eval, **eval_changes),
    ).validate()


@pytest.mark.parametrize("crn", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_draws_are_common_to_the_population_under_crn(tiny_recipe, crn):
    from hades_zoo.engine.distill import make_population_fitness
    from hades_zoo.engine.parallel import global_mesh
    from hades_zoo.engine.tasks.control import ControlTask

    recipe = _rr_recipe(tiny_recipe, common_random_numbers=crn, num_steps=20)
    task = ControlTask(recipe)
    evaluate = make_population_fitness(recipe, task.make_fitness_fn(), global_mesh())
    pop = recipe.es.popsize
    population = {"states": jax.random.normal(jax.random.key(0), (pop, 2, 4))}
    returns, aux = jax.jit(evaluate)(jax.random.key(1), population)
    draws = aux["inner_loop"]
    assert draws.lr.shape == (pop, recipe.num_inits) and returns.shape == (pop,)
    same = [np.all(np.asarray(x) == np.asarray(x)[:1]) for x in
            (draws.width, draws.depth, draws.activation, draws.lr, draws.steps)]
    assert all(same) if crn else not same[3]  # the lr is continuous: never equal
    assert np.asarray(draws.lr)[0, 0] != np.asarray(draws.lr)[0, 1]  # per init


def test_rr_distillation_end_to_end_through_the_cli(tmp_path, tiny_recipe):
    import hades_zoo as hz
    from hades_zoo.cli import cli

    recipe = _rr_recipe(tiny_recipe)
    path = tmp_path / "tiny-RR-2.yaml"
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe), sort_keys=False))
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["distill", str(path), "--out", str(out)])
    assert r.exit_code == 0, r.output
    lines = (out / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["generation"] for row in rows] == [1, 2]
    assert all(np.isfinite(row["mean_return"]) and np.isfinite(row["bc_loss"])
               for row in rows)
    data = out / "tiny-RR-2.safetensors"
    ds = hz.load_dataset_file(data)
    assert ds.recipe == recipe and ds.recipe.inner_loop.widths == (8, 16)
    assert "HaDES-RR" in (out / "README.md").read_text()

    r = CliRunner().invoke(cli, ["eval", str(data), "--episodes", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["episodes"] == 2
    # the dataset's own protocol is the nominal net: exactly HaDES-R's
    as_r = ds.replace(recipe=recipe.replace(variant="R", inner_loop=None))
    np.testing.assert_array_equal(hz.protocol_returns(ds, seeds=2),
                                  hz.protocol_returns(as_r, seeds=2))


def test_nominal_module_is_unchanged_for_rr(tiny_recipe):
    """``train_policy`` on an RR dataset builds the nominal ``policy:`` network."""
    module = make_policy(PolicyConfig(width=16), 2, True)
    from hades_zoo.engine.tasks.control import ControlTask

    assert ControlTask(_rr_recipe(tiny_recipe)).module == module
