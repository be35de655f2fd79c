"""distill --out DIR makes a whole, pushable zoo entry; --set overrides; the episodes
eval protocol; common random numbers; own-entry ids."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.ids import InvalidDatasetIdError, format_dataset_id, parse_dataset_id
from hades_zoo.data.recipe_io import apply_overrides, load_recipe, recipe_to_dict
from hades_zoo.engine.envs import make_env
from hades_zoo.engine.policy import init_policy_params, make_policy
from hades_zoo.engine.rollout import make_episode_evaluate, make_evaluate
from hades_zoo.errors import RecipeError


def _write(tmp_path, recipe, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe)))
    return path


def test_distill_writes_a_whole_entry_that_resumes(tmp_path, tiny_recipe):
    rec = tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es, generations=3))
    out = tmp_path / "entry"
    runner = CliRunner()
    r = runner.invoke(cli, ["distill", str(_write(tmp_path, rec)), "--out", str(out),
                            "--generations", "2", "--set", "bc.lr=0.02"])
    assert r.exit_code == 0, r.output
    # stopped early (2 of 3): still a complete, loadable entry
    names = {p.name for p in out.iterdir()}
    assert {"tiny-R-2.safetensors", "tiny-R-2.safetensors.sha256", "README.md",
            "recipe.yaml", "metrics.jsonl", "curve.png", "evolution.json", "data",
            "checkpoint.safetensors", "checkpoint.json"} <= names
    card = (out / "README.md").read_text()
    assert "stopped early** at generation 2 of 3" in card and "`bc.lr=0.02`" in card
    assert "evolved by hades_zoo" in card and "![learning curve](curve.png)" in card
    ds = hz.load(f"file:{out}")  # the folder itself is a source
    assert ds.recipe.bc.lr == 0.02 and ds.info.provenance["overrides"] == ["bc.lr=0.02"]
    assert load_recipe(out / "recipe.yaml") == ds.recipe
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [1, 2]
    assert rows[1]["env_steps_total"] == 2 * rows[0]["env_steps_total"] > 0
    # resume to the end: the same files, now finished, wall time carried over
    r = runner.invoke(cli, ["distill", str(_write(tmp_path, rec)), "--out", str(out),
                            "--set", "bc.lr=0.02"])
    assert r.exit_code == 0, r.output
    card = (out / "README.md").read_text()
    assert "finished" in card and "stopped early" not in card
    summary = json.loads((out / "evolution.json").read_text())
    assert summary["generations"] == 3 and summary["wall_seconds"] >= rows[1]["wall_seconds"]
    # once more, or with fewer --generations: nothing to evolve, said so (was "wrote ...")
    for more in ([], ["--generations", "2"]):
        r = runner.invoke(cli, ["distill", str(_write(tmp_path, rec)), "--out", str(out),
                                "--set", "bc.lr=0.02", "--no-replay", *more])
        assert r.exit_code == 0 and "nothing to evolve" in r.output, r.output
        assert "wrote" not in r.output and "3 generations" in r.output
    # eval and plot take the folder
    r = runner.invoke(cli, ["eval", str(out), "--episodes", "2", "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["plot", str(out), "--out", str(tmp_path / "p.png")])
    assert r.exit_code == 0 and (tmp_path / "p.png").stat().st_size > 0, r.output


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_certify_a_folder_writes_its_card(tmp_path, tiny_recipe):
    out = tmp_path / "entry"
    r = CliRunner().invoke(cli, ["distill", str(_write(tmp_path, tiny_recipe)), "--out",
                                 str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["certify", str(out), "--seeds", "2"])
    assert r.exit_code == 0, r.output
    card = (out / "README.md").read_text()
    assert "## Reproduction certificate" in card and f"hades-zoo certify {out}" in card
    assert len(json.loads((out / "certificate.json").read_text())["returns"]) == 2
    # a later checkpoint rewrite keeps the certificate section
    r = CliRunner().invoke(cli, ["distill", str(_write(tmp_path, tiny_recipe.replace(
        es=dataclasses.replace(tiny_recipe.es, generations=3)), "t3.yaml")), "--out",
        str(tmp_path / "other")])
    assert r.exit_code == 0


def test_a_run_that_goes_on_evolving_drops_the_old_dataset_s_certificate(tmp_path,
                                                                         tiny_recipe):
    """certify DIR, then resume the run to more generations: the certificate (card
    section and certificate.json) measured the previous dataset and is removed; the
    card no longer claims it (a reviewer: "reproduced ... 54.8" stayed beside the new
    fitness 50.47)."""
    rec = tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es, generations=3))
    out, runner = tmp_path / "entry", CliRunner()
    r = runner.invoke(cli, ["distill", str(_write(tmp_path, rec)), "--out", str(out),
                            "--generations", "2", "--no-replay"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["certify", str(out), "--seeds", "1"])
    assert r.exit_code == 0, r.output
    assert "## Reproduction certificate" in (out / "README.md").read_text()
    (out / "transfer.json").write_text(json.dumps({"widths": [64], "lrs": [0.01],
                                                   "returns": [1.0]}))
    (out / "notes.json").write_text("{}")  # a user's file: left alone
    r = runner.invoke(cli, ["distill", str(_write(tmp_path, rec)), "--out", str(out),
                            "--no-replay"])
    assert r.exit_code == 0, r.output
    card = (out / "README.md").read_text()
    assert "finished" in card and "## Reproduction certificate" not in card
    assert not (out / "certificate.json").exists() and not (out / "transfer.json").exists()
    assert (out / "notes.json").exists()


def test_push_a_folder_as_it_is(tmp_path, tiny_recipe, hub_server):
    out = tmp_path / "entry"
    r = CliRunner().invoke(cli, ["distill", str(_write(tmp_path, tiny_recipe)), "--out",
                                 str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner(env={"HF_TOKEN": "hf_write"}).invoke(
        cli, ["push", str(out), "--repo-id", "org/tiny"])
    assert r.exit_code == 0, r.output
    remote = hub_server.files("org/tiny")
    local = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert set(remote) - {".gitattributes"} == local - {"checkpoint.safetensors",
                                                        "checkpoint.json"}
    assert remote["README.md"] == (out / "README.md").read_bytes()
    assert remote["curve.png"] == (out / "curve.png").read_bytes()
    pulled = hz.load_from_hub("hf:org/tiny")
    assert np.array_equal(pulled.states, hz.load(f"file:{out}").states)


def test_push_refuses_a_folder_whose_dataset_was_altered(tmp_path, tiny_recipe, hub_server):
    out = tmp_path / "entry"
    CliRunner().invoke(cli, ["distill", str(_write(tmp_path, tiny_recipe)), "--out", str(out)])
    path = out / "tiny-R-2.safetensors"
    ds = hz.load(f"file:{path}")
    ds.replace(states=np.asarray(ds.states) + 1).save(path)
    r = CliRunner(env={"HF_TOKEN": "hf_write"}).invoke(
        cli, ["push", str(out), "--repo-id", "org/tiny"])
    assert r.exit_code == 1 and "sha256" in r.output
    assert "org/tiny" not in hub_server.repos


@pytest.mark.parametrize("override, match", [
    ("es.popsiz=3", r"es.popsiz is not a recipe field. Did you mean: popsize"),
    ("es.popsize=abc", r"es.popsize: expected an integer, got 'abc'"),
    ("es.popsize=7", r"popsize must be even|antithetic"),
    ("eval.mode=episode", r"eval.mode: 'episode' is not one of"),
    ("nokey", r"expected dotted.key=value"),
    ("eval.greedy.x=1", r"eval.greedy is a value, not a section"),
])
def test_bad_overrides_are_recipe_errors_naming_the_key(tmp_path, tiny_recipe, override,
                                                        match):
    path = _write(tmp_path, tiny_recipe)
    with pytest.raises(RecipeError, match=match):
        load_recipe(path, [override])
    r = CliRunner().invoke(cli, ["distill", str(path), "--out", str(tmp_path / "o"),
                                 "--set", override])
    assert r.exit_code == 1 and "RecipeError" in r.output
    assert not (tmp_path / "o").exists()


def test_overrides_apply_nested_values():
    data = {"name": "x", "es": {"popsize": 8}}
    out = apply_overrides(data, ["es.popsize=16", "eval.mode=episodes",
                                 "bc.max_grad_norm=null", "policy.init_seed=3"])
    assert out["es"]["popsize"] == 16 and out["eval"] == {"mode": "episodes"}
    assert out["bc"]["max_grad_norm"] is None and data["es"]["popsize"] == 8


# ---------------------------------------------------------------- evaluation protocol
def _cartpole(recipe, **eval_changes):
    env = make_env(recipe.env)
    module = make_policy(recipe.policy, env.spec.action_dim, env.spec.discrete)
    params = init_policy_params(module, jax.random.key(3), env.spec.obs_dim)
    cfg = dataclasses.replace(recipe.eval, **eval_changes)
    return env, module, params, cfg


def test_episodes_mode_equals_full_episodes_and_stops_early(cartpole_recipe):
    env, module, params, cfg = _cartpole(cartpole_recipe, mode="episodes", num_envs=3,
                                         num_steps=500, greedy=False)
    zeros, ones = jnp.zeros(4), jnp.ones(4)
    res = jax.jit(make_evaluate(env, module, cfg, "none"))(jax.random.key(5), params,
                                                          zeros, ones)
    full = make_episode_evaluate(env, module, num_episodes=3, greedy=False,
                                 obs_norm="none", batching="vmap")
    returns = jax.jit(full)(jax.random.key(5), params, zeros, ones)
    np.testing.assert_allclose(float(res.mean_return), float(jnp.mean(returns)), rtol=1e-6)
    # a random policy drops the pole within tens of steps: the loop stopped there,
    # at the longest of the three episodes, not at the 500-step cap
    assert int(res.episodes) == 3
    assert int(res.env_steps) == 3 * int(jnp.max(returns)) < 3 * 500
    # the pooled protocol always pays num_envs x num_steps
    pooled = make_evaluate(env, module, dataclasses.replace(cfg, mode="pooled"), "none")
    assert int(pooled(jax.random.key(5), params, zeros, ones).env_steps) == 3 * 500


def _population_fitness(recipe, crn):
    from jax.sharding import Mesh

    from hades_zoo.engine.distill import make_population_fitness
    from hades_zoo.engine.tasks.control import ControlTask

    recipe = recipe.replace(eval=dataclasses.replace(recipe.eval, greedy=False,
                                                     common_random_numbers=crn,
                                                     mode="episodes"))
    task = ControlTask(recipe)
    fit = make_population_fitness(recipe, task.make_fitness_fn(),
                                  Mesh(np.array(jax.local_devices()), ("pop",)))
    sol = jax.tree.map(lambda a: jnp.broadcast_to(a + 0.3, (recipe.es.popsize, *a.shape)),
                       task.solution_template())
    return jax.jit(fit)(jax.random.key(0), sol)


def test_common_random_numbers_score_equal_candidates_equally(tiny_recipe):
    """Identical candidates: the same fitness with CRN, different draws without."""
    returns, aux = _population_fitness(tiny_recipe, crn=True)
    assert np.unique(np.asarray(returns)).size == 1
    returns, _ = _population_fitness(tiny_recipe, crn=False)
    assert np.unique(np.asarray(returns)).size > 1
    assert aux["env_steps"].shape == (tiny_recipe.es.popsize,)


def test_existing_recipes_keep_their_bytes(cartpole_recipe):
    """The new eval fields are omitted at their defaults: published files unchanged."""
    data = recipe_to_dict(cartpole_recipe)
    assert "mode" not in data["eval"] and "common_random_numbers" not in data["eval"]
    data = recipe_to_dict(cartpole_recipe.replace(
        eval=dataclasses.replace(cartpole_recipe.eval, mode="episodes")))
    assert data["eval"]["mode"] == "episodes"


# ---------------------------------------------------------------- own-entry ids
@pytest.mark.parametrize("text", ["hopper-F-4.hz", "cartpole-R-2.hz.s1",
                                  "breakout-minatar-F-16.hz"])
def test_own_entry_ids_round_trip(text):
    i = parse_dataset_id(text)
    assert i.own and format_dataset_id(i) == text


@pytest.mark.parametrize("text, match", [
    ("hopper-F-4.s1.hz", "out of order"),
    ("hopper-F-4.hz.w64", "only .s<N> may follow .hz"),
    ("hopper-F-4.hz.hz", "repeated"),
    ("hopper-F-4.HZ", "unknown tag"),
])
def test_bad_own_entry_ids(text, match):
    with pytest.raises(InvalidDatasetIdError, match=match):
        parse_dataset_id(text)
