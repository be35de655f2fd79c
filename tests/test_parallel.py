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
    replicate,
    strong_types,
)
from tests import distill_runs


def test_padded_size_and_block():
    assert [padded_size(64, n) for n in (1, 2, 3, 6, 7)] == [64, 64, 66, 66, 70]
    assert [local_block(64, n) for n in (1, 2, 3, 6)] == [64, 32, 22, 11]
    assert padded_size(2, 8) == 8 and local_block(2048, 3) == 683


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


@pytest.mark.parametrize("devices", [2, 3, 6])
def test_any_device_count_gives_the_one_device_dataset(runs, devices):
    """pop 8 over 3 or 6 devices is padded to 9 or 12; the dataset is bitwise the
    1-device one (metrics to float32 rounding, docs/SCALING.md)."""
    distill_runs.assert_same_dataset(runs(1), runs(devices))


def test_chunked_evaluation_on_three_devices(runs):
    """A per-device block of 3 evaluated in chunks of 2 (one lax.map step + a remainder
    of 1) gives the 1-device unchunked dataset."""
    distill_runs.assert_same_dataset(runs(1), runs(3, "--eval-chunk", "2"))


def test_chunk_that_does_not_divide_the_block_in_process(tiny_recipe):
    """``distill(eval_chunk=3)`` on pop 8: batches of 3, 3 and a remainder of 2; the
    override leaves the recipe (and so the dataset's metadata) unchanged."""
    a = hz.distill(tiny_recipe)
    b = hz.distill(tiny_recipe, eval_chunk=3)
    np.testing.assert_array_equal(a.dataset.states, b.dataset.states)
    assert b.dataset.recipe == a.dataset.recipe and b.dataset.recipe.es.eval_chunk == 0
