"""Number options: NaN is refused everywhere, infinity where it means "no limit"
(a newcomer's review, 2026-12-03: ``distill --max-env-steps nan`` ran no generation
and reported success; ``render --max-seconds inf`` crashed with a traceback after the
work; ``--eval-chunk 100000`` on a population of 8 ran until the kernel killed it)."""

from __future__ import annotations

import math

import click
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.cli.base import Number
from hades_zoo.errors import RecipeError


@pytest.mark.parametrize("args,needle", [
    (["distill", "recipes/cartpole-R-2.yaml", "--out", "OUT", "--max-env-steps", "nan"],
     "NaN"),
    (["distill", "recipes/cartpole-R-2.yaml", "--out", "OUT", "--max-env-steps", "0.5"],
     ">= 1"),
    (["distill", "recipes/cartpole-R-2.yaml", "--out", "OUT", "--distributed-timeout",
      "inf"], "not finite"),
    (["train", "cartpole-R-2.hz", "--lr", "nan", "--out", "OUT"], "NaN"),
    (["train", "cartpole-R-2.hz", "--lr", "0", "--out", "OUT"], "> 0"),
    (["render", "cartpole-F-2.hz", "--out", "OUT.gif", "--max-seconds", "nan"], "NaN"),
    (["render", "cartpole-F-2.hz", "--out", "OUT.gif", "--max-seconds", "-1"], ">= 0"),
    (["render", "cartpole-F-2.hz", "--out", "OUT.gif", "--fps", "inf"], "not finite"),
    (["render", "cartpole-F-2.hz", "--out", "OUT.gif", "--fps", "ten"], "not a number"),
])
def test_bad_numbers_are_refused_before_any_work(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    args = [str(repo / a) if a.startswith("recipes/") else a for a in args]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []


def test_number_type():
    n = Number(min=1, allow_inf=True)
    assert n.convert("inf", None, None) == math.inf and n.convert("3", None, None) == 3.0
    for bad in ("nan", "-inf", "0.999"):
        with pytest.raises(click.BadParameter):
            n.convert(bad, None, None)
    with pytest.raises(click.BadParameter, match="> 0"):
        Number(min=0, min_open=True).convert("0", None, None)
    with pytest.raises(click.BadParameter, match="not finite"):
        Number().convert("inf", None, None)


@pytest.mark.parametrize("budget", [math.nan, 0, -5, "1e6"])
def test_distill_refuses_a_bad_env_step_budget_before_its_folder(tmp_path, tiny_recipe,
                                                                  budget):
    with pytest.raises(RecipeError, match="max_env_steps"):
        hz.distill(tiny_recipe, out_dir=tmp_path / "run", max_env_steps=budget)
    assert not (tmp_path / "run").exists()
