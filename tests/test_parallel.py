"""engine.parallel: padding, the population evaluator, any device count, host copies."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hades_zoo as hz
from hades_zoo.engine.parallel import (
    broadcast_from_writer,
    global_mesh,
    is_writer,
    local_block,
    local_copy,
    make_population_evaluator,
    pad_population,
    padded_size,
    device_chunk,
    replicate,
    strong_types,
)
from tests import distill_runs


def test_padded_size_and_block():
    assert [padded_size(64, n) for n in (1, 2, 3, 6, 7)] == [64, 64, 66, 66, 70]
    assert [local_block(64, n) for n in (1, 2, 3, 6)] == [64, 32, 22, 11]
    assert padded_size(2, 8) == 8 and local_block(2048, 3) == 683
    # with eval_chunk, every device's block is whole chunks
    assert [local_block(8, n, 2) for n in (1, 2, 3, 6)] == [8, 4, 4, 2]
    assert padded_size(8, 1, 3) == 9 and padded_size(2048, 3, 256) == 2304
    # a chunk larger than a device's share is capped at it: no padding-only work
    assert [local_block(8, n, 100_000) for n in (1, 2, 3, 8)] == [8, 4, 3, 1]
    assert padded_size(8, 3, 100_000) == 9
    assert device_chunk(8, 2, 100_000) == 4 and device_chunk(8, 2, 0) == 0


def test_pad_population_appends_copies_and_keeps_antithetic_pairs():
    # OpenES pairs candidate i with i + popsize/2: rows [:popsize] must be untouched.
    half = jnp.arange(3.0)[:, None] * jnp.ones((3, 2))
    pop = {"states": jnp.concatenate([half, -half])}  # (6, 2)
    padded = pad_population(pop, 8)["states"]
    assert padded.shape == (8, 2)
    np.testing.assert_array_equal(padded[:6], pop["states"])
    np.testing.assert_array_equal(padded[6:], pop["states"][:2])
    np.testing.assert_array_equal(padded[:3], -padded[3:6])
    tiny = pad_population({"x": jnp.arange(2)}, 7)["x"]  # more padding than candidates
    np.testing.assert_array_equal(tiny, [0, 1, 0, 1, 0, 1, 0])
    assert pad_population(pop, 6) is pop


@pytest.mark.parametrize("chunk", [0, 2, 3])
def test_evaluator_equals_vmap_and_drops_padding(chunk):
    def fitness(key, cand):
        noise = jax.random.normal(key, ())
        return jnp.sum(cand["x"] ** 2) + noise, {"first": cand["x"][0]}

    pop = {"x": jnp.arange(15.0).reshape(5, 3)}
    key = jax.random.key(0)
    evaluate = jax.jit(make_population_evaluator(fitness, global_mesh(), 5, chunk))
    got, aux = evaluate(key, pop)
    want, want_aux = jax.vmap(fitness, in_axes=(None, 0))(key, pop)
    assert got.shape == (5,) and aux["first"].shape == (5,)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(aux["first"], want_aux["first"])


def test_evaluator_rejects_bad_chunk():
    from hades_zoo.errors import RecipeError

    for bad in (-1, 2.5, True):
        with pytest.raises(RecipeError, match="eval_chunk must be an integer >= 0"):
            make_population_evaluator(lambda k, c: (c, {}), global_mesh(), 4, bad)


def test_single_process_helpers():
    mesh = global_mesh()
    assert is_writer() and mesh.axis_names == ("pop",) and mesh.size == jax.device_count()
    tree = {"a": np.arange(3.0, dtype=np.float32), "k": jax.random.key(3),
            "nan": np.float32("nan")}
    rep = replicate(tree, mesh)
    assert rep["a"].sharding.is_fully_replicated
    assert jax.dtypes.issubdtype(rep["k"].dtype, jax.dtypes.prng_key)
    back = broadcast_from_writer(rep)
    np.testing.assert_array_equal(back["a"], tree["a"])
    np.testing.assert_array_equal(jax.random.key_data(back["k"]),
                                  jax.random.key_data(tree["k"]))
    assert np.isnan(back["nan"])
    assert local_copy(rep)["a"] is rep["a"]  # already addressable: unchanged
    weak = strong_types({"w": jnp.asarray(1.0) * 2.0, "k": jax.random.key(0)})
    assert not weak["w"].weak_type


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Memoised CLI runs of the tiny recipe, one fresh process per device count."""
    root = tmp_path_factory.mktemp("devices")
    recipe = distill_runs.write_tiny_recipe(root / "tiny.yaml")
    done = {}

    def run(devices: int, *args: str):
        key = (devices, args)
        if key not in done:
            out = root / f"d{devices}{''.join(args).replace('-', '_')}"
            distill_runs.distill(recipe, out, devices=devices, cache=root / "cache",
                                 args=args)
            done[key] = out
        return done[key]

    run.recipe = recipe
    run.root = root
    return run


@pytest.mark.parametrize("devices", [2, *(pytest.param(n, marks=pytest.mark.slow)
                                         for n in (3, 6))])
def test_any_device_count_gives_the_one_device_dataset(runs, devices):
    """pop 8 over 3 or 6 devices is padded to 9 or 12; the dataset is bitwise the
    1-device one (metrics to float32 rounding, docs/SCALING.md)."""
    distill_runs.assert_same_dataset(runs(1), runs(devices))


def test_chunked_evaluation_on_three_devices(runs):
    """pop 8 on 3 devices in chunks of 2: blocks of 3 padded to 4 (2 chunks), 12
    candidates in all; the 1-device unchunked dataset."""
    distill_runs.assert_same_dataset(runs(1), runs(3, "--eval-chunk", "2"))


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_chunk_that_does_not_divide_the_block_in_process(tiny_recipe):
    """``distill(eval_chunk=3)`` on pop 8: the block is padded to 9, 3 chunks of 3;
    the override leaves the recipe (and so the dataset's metadata) unchanged."""
    a = hz.distill(tiny_recipe)
    b = hz.distill(tiny_recipe, eval_chunk=3)
    np.testing.assert_array_equal(a.dataset.states, b.dataset.states)
    assert b.dataset.recipe == a.dataset.recipe and b.dataset.recipe.es.eval_chunk == 0


_HOPPER_RETURNS = r"""
import sys, jax, numpy as np
sys.path.insert(0, "benchmarks")
import _generation as g
from hades_zoo.engine.tasks.control import ControlTask
from hades_zoo.engine.parallel import global_mesh, make_population_evaluator
r = g.shrink(g.load("recipes/hopper-R-64.yaml"), popsize=16, width=64, bc_steps=50,
             env_steps=200)
task = ControlTask(r)
pop = jax.tree.map(lambda a: 0.1 * jax.random.normal(jax.random.key(5), (16,) + a.shape),
                   task.solution_template())
ev = jax.jit(make_population_evaluator(task.make_fitness_fn(), global_mesh(), 16))
ret, aux = ev(jax.random.key(7), pop)
np.save(sys.argv[1], np.stack([np.asarray(ret), np.asarray(aux["bc_loss"])]))
"""


@pytest.mark.slow
def test_hopper_returns_equal_on_two_and_three_devices(tmp_path):
    """brax hopper on CPU: the programs XLA's SPMD partitioner makes for a mesh of 2 and
    of 3 devices give bitwise-equal returns and BC losses (16 candidates, 4 envs x 200
    steps). The unpartitioned 1-device program does not: measured 2026-12-03 (jax
    0.10.2), 1 vs 2 devices differ in 16 of 16 returns and 5 of 16 BC losses, with
    ``--xla_cpu_max_isa=AVX`` too (with jax 0.7.2, 2026-11-29, that cap made them
    equal: docs/SCALING.md)."""
    import os
    import subprocess
    import sys

    out = {}
    for n in (2, 3):
        env = dict(os.environ, JAX_PLATFORMS="cpu",
                   XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        path = tmp_path / f"d{n}.npy"
        subprocess.run([sys.executable, "-c", _HOPPER_RETURNS, str(path)], env=env,
                       cwd=distill_runs.ROOT, check=True, capture_output=True, timeout=300)
        out[n] = np.load(path)
    np.testing.assert_array_equal(out[2], out[3])
