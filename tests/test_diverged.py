"""A diverged run (NaN/inf ES state) writes nothing of it and names --no-resume; a
recipe whose floats cannot be float32 (subnormal, overflow) or would blow the search
up is refused when it is read."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.engine import checkpoint as ckpt
from hades_zoo.errors import DivergedError, RecipeError
from tests.conftest import REPO

RECIPE = REPO / "recipes" / "cartpole-R-2.yaml"


@pytest.mark.parametrize("override, said", [
    ("es.sigma_init=1e-320", "below float32's smallest normal number"),
    ("es.sigma_init=1e300", "overflows float32"),
    ("es.lrate_init=1e300", "overflows float32"),
    ("dataset.init_std=1e300", "overflows float32"),
    ("bc.eps=1e-40", "below float32's smallest normal number"),
    ("es.sigma_init=1e5", r"outside \[1e-08, 1000\]"),
    ("es.lrate_init=100", r"outside \[1e-08, 10\]"),
    ("dataset.init_std=1e6", r"outside \[0, 1000\]"),
])
def test_degenerate_floats_are_refused_before_any_folder(override, said, tmp_path):
    """Each of these ran one chunk, wrote a NaN checkpoint, then failed on every rerun."""
    with pytest.raises(RecipeError, match=said):
        load_recipe(RECIPE, [override])
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["distill", str(RECIPE), "--set", override, "--out",
                                   str(out), "--no-replay"])
    assert res.exit_code == 1 and "RecipeError:" in res.output, res.output
    assert override.split("=")[0] in res.output and not out.exists()


def _poison_second_chunk(monkeypatch):
    """The chunks after the first return an ES state whose mean is NaN."""
    import hades_zoo.engine.distill as distill_mod

    real = distill_mod.jit_generations
    calls = []

    def jit_generations(generation, mesh):
        run = real(generation, mesh)

        def poisoned(state, length):
            state, metrics = run(state, length)
            calls.append(length)
            if len(calls) >= 2:
                state = jax.tree_util.tree_map_with_path(
                    lambda p, x: jnp.full_like(x, jnp.nan)
                    if jax.tree_util.keystr(p).endswith(".mean") else x, state)
            return state, metrics

        return poisoned

    monkeypatch.setattr(distill_mod, "jit_generations", jit_generations)


def test_a_diverged_chunk_writes_nothing_and_names_no_resume(tmp_path, tiny_recipe,
                                                             monkeypatch):
    recipe = tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es, generations=2,
                                                        log_every=1))
    _poison_second_chunk(monkeypatch)
    with pytest.raises(DivergedError, match=(
            r"after generation 2 the ES state has \d+ NaN/inf value\(s\) "
            r"\(es_state.mean.*keeps its last good checkpoint, at generation 1.*"
            r"--no-resume")):
        hz.distill(recipe, out_dir=tmp_path)
    # the folder is the run at generation 1: finite checkpoint, one metrics row
    assert ckpt.read_generation(tmp_path) == 1
    rows = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["generation"] for r in rows] == [1]
    monkeypatch.undo()
    res = hz.distill(recipe, out_dir=tmp_path)  # the last good checkpoint resumes
    assert res.generations == 2


def test_save_checkpoint_refuses_a_nan_state_and_load_refuses_an_old_one(tmp_path):
    state = {"es_state": {"mean": jnp.array([0.0, jnp.nan]),
                          "best_fitness": jnp.array(jnp.inf)}}  # a record: ignored
    with pytest.raises(DivergedError, match=r"holds no checkpoint.*--no-resume"):
        ckpt.save_checkpoint(tmp_path, state, generation=3, recipe_json="{}")
    assert not list(tmp_path.iterdir())
    # a NaN checkpoint written before this check (an older hades_zoo): not resumed
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ckpt, "check_finite_state", lambda *a, **k: None)
        ckpt.save_checkpoint(tmp_path, state, generation=3, recipe_json="{}")
    with pytest.raises(DivergedError, match=r"\(generation 3\) holds 1 NaN/inf.*"
                                            r"--no-resume"):
        ckpt.load_checkpoint(tmp_path, state, recipe_json="{}")
