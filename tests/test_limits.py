"""Every count a recipe or command option asks for has a sane maximum (data.limits),
checked when it is read, before any folder is made; every shipped recipe still loads."""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data import limits as L
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.errors import RecipeError
from tests.conftest import REPO

RECIPE = REPO / "recipes" / "cartpole-R-2.yaml"
IMAGE = REPO / "recipes" / "mnist-R-10.yaml"

#: (recipe, field, largest allowed); the value one above it is refused
COUNTS = [
    (RECIPE, "dataset.size", L.MAX_DATASET_SIZE),
    (RECIPE, "es.popsize", L.MAX_POPSIZE),
    (RECIPE, "es.generations", L.MAX_GENERATIONS),
    (RECIPE, "es.log_every", L.MAX_LOG_EVERY),
    (RECIPE, "eval.num_envs", L.MAX_EVAL_ENVS),
    (RECIPE, "eval.num_steps", L.MAX_EPISODE_STEPS),
    (RECIPE, "env.episode_length", L.MAX_EPISODE_STEPS),
    (RECIPE, "bc.steps", L.MAX_BC_STEPS),
    (RECIPE, "num_inits", L.MAX_NUM_INITS),
    (IMAGE, "image.height", L.MAX_IMAGE_SIDE),
    (IMAGE, "image.width", L.MAX_IMAGE_SIDE),
    (IMAGE, "image.channels", L.MAX_IMAGE_CHANNELS),
    (IMAGE, "image.num_classes", L.MAX_NUM_CLASSES),
    (IMAGE, "image.conv_features", L.MAX_CONV_FEATURES),
    (IMAGE, "image.kernel_size", L.MAX_KERNEL_SIZE),
    (IMAGE, "image.fitness_limit", L.MAX_REAL_IMAGES),
    (IMAGE, "image.fitness_batch", L.MAX_REAL_IMAGES),
    (IMAGE, "image.search_basis", L.MAX_SEARCH_BASIS),
]


@pytest.mark.parametrize("recipe, field, top", COUNTS, ids=[c[1] for c in COUNTS])
def test_every_recipe_count_has_a_maximum_named_in_the_error(recipe, field, top):
    with pytest.raises(RecipeError, match=rf"{re.escape(field)}={top + 1:,} is over "
                                          rf"{top:,}.*use at most {top:,}"):
        load_recipe(recipe, [f"{field}={top + 1}"])


def test_the_reviewers_dataset_size_is_refused_before_any_folder(tmp_path):
    """dataset.size: 100000000 ran the host out of memory (exit 137, no message)."""
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["distill", str(RECIPE), "--set", "dataset.size=100000000",
                                   "--out", str(out), "--no-replay"])
    assert res.exit_code == 1, res.output
    (line,) = res.output.strip().splitlines()
    assert "RecipeError:" in line and "dataset.size=100,000,000 is over 65,536" in line
    assert not out.exists()


def test_products_that_size_memory_are_bounded():
    # each count in range, the population they make is not
    with pytest.raises(RecipeError, match=r"es.popsize=65,536 x dataset.size=65,536 .* "
                                          r"pairs in the ES population.*lower es.popsize"):
        load_recipe(RECIPE, ["es.popsize=65536", "dataset.size=65536"])
    with pytest.raises(RecipeError, match=r"num_inits=1,024 x eval.num_envs=4,096"):
        load_recipe(RECIPE, ["num_inits=1024", "eval.num_envs=4096"])
    with pytest.raises(RecipeError, match=r"image pixels=1,048,576 .* floats in the ES"):
        load_recipe(IMAGE, ["image.height=1024", "image.width=1024", "es.popsize=64",
                            "dataset.size=100"])
    # the paper's largest runs pass
    load_recipe(RECIPE, ["es.popsize=2048", "dataset.size=64", "eval.num_envs=64"])


def test_every_shipped_recipe_and_zoo_entry_is_within_the_limits():
    """The limits refuse nothing the project ships (recipes/, recipes/pending/,
    experiments/, and the recipe inside every packaged zoo dataset)."""
    from hades_zoo.data.dataset import read_dataset_file
    from hades_zoo.zoo.registry import _zoo_root, entries

    files = sorted(glob.glob(str(REPO / "recipes" / "**" / "*.yaml"), recursive=True)
                   + glob.glob(str(REPO / "experiments" / "**" / "*.yaml"), recursive=True))
    assert len(files) > 150
    for f in files:
        load_recipe(f).validate()
    table = entries()
    assert len(table) > 150
    for i in sorted(table):
        read_dataset_file(Path(str(_zoo_root() / table[i].file))).recipe.validate()


@pytest.mark.parametrize("args, option, top", [
    (["certify", "cartpole-R-2.hz", "--no-write", "--seeds", "999999999"], "--seeds",
     L.MAX_SEEDS),
    (["transfer", "cartpole-R-2.hz", "--no-write", "--seeds", "999999999"], "--seeds",
     L.MAX_SEEDS),
    (["eval", "cartpole-R-2.hz", "--seeds", "999999999"], "--seeds", L.MAX_SEEDS),
    (["merge", "cartpole-R-2.hz", "cartpole-F-2.hz", "--out", "OUT", "--seeds",
      "999999999"], "--seeds", L.MAX_SEEDS),
    (["eval", "cartpole-R-2.hz", "--episodes", "999999999"], "--episodes",
     L.MAX_EPISODES),
    (["train", "cartpole-R-2.hz", "--episodes", "999999999"], "--episodes",
     L.MAX_EPISODES),
    (["render", "cartpole-R-2.hz", "--out", "OUT.gif", "--episodes", "999999999"],
     "--episodes", L.MAX_EPISODES),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_seeds_and_episodes_options_have_a_maximum(args, option, top, tmp_path):
    """certify/transfer --seeds 999999999 printed a 45-line RESOURCE_EXHAUSTED
    traceback (148 TB asked of XLA)."""
    args = [str(tmp_path / a) if a.startswith("OUT") else a for a in args]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert option in res.output and f"1<=x<={top}" in res.output
    assert "Traceback" not in res.output and list(tmp_path.iterdir()) == []


def test_the_python_api_bounds_seeds_and_episodes_too():
    """hz.certify / protocol_returns / transfer_grid / evaluate: the CLI's limits."""
    import hades_zoo as hz
    from hades_zoo.engine.evaluation import protocol_returns
    from hades_zoo.zoo.transfer import transfer_grid

    ds = hz.load("cartpole-R-2.hz")
    for call in (lambda: protocol_returns(ds, seeds=L.MAX_SEEDS + 1),
                 lambda: transfer_grid(ds, widths=(8,), lrs=(1e-3,), steps=(10,),
                                       seeds=L.MAX_SEEDS + 1)):
        with pytest.raises(RecipeError, match=rf"seeds={L.MAX_SEEDS + 1:,} is over"):
            call()
    with pytest.raises(RecipeError, match=rf"episodes={L.MAX_EPISODES + 1:,} is over"):
        hz.train_and_evaluate(ds, episodes=L.MAX_EPISODES + 1)
