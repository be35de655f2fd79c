"""The hades-zoo CLI: commands, JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.dataset import save_dataset
from hades_zoo.data.recipe_io import recipe_to_dict


def test_distill_then_eval_json(tmp_path, tiny_recipe):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(recipe_to_dict(tiny_recipe)))
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["distill", str(recipe), "--out", str(out)])
    assert r.exit_code == 0, r.output
    path = out / "tiny-R-2.safetensors"
    assert path.exists() and (out / "metrics.jsonl").exists()
    r = CliRunner().invoke(cli, ["eval", str(path), "--episodes", "3", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output.strip().splitlines()[-1])
    assert data["episodes"] == 3 and len(data["returns"]) == 3
    assert {"mean_return", "std_return"} <= data.keys()


def test_eval_hand_made_dataset_balances(tmp_path, cartpole_dataset):
    path = save_dataset(cartpole_dataset, tmp_path / "cp.safetensors")
    r = CliRunner().invoke(cli, ["eval", f"file:{path}", "--episodes", "4", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["mean_return"] > 100


def test_errors_are_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nvariant: R\nenv: {name: CartPole-v1}\ndataset: {size: 2}\nes: {popsiz: 4}\n")
    r = CliRunner().invoke(cli, ["distill", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert "RecipeError" in r.output and "Did you mean: popsize" in r.output
    corrupt = tmp_path / "c.safetensors"
    corrupt.write_bytes(b"\x00" * 20)
    r = CliRunner().invoke(cli, ["eval", str(corrupt)])
    assert r.exit_code == 1 and "DatasetFormatError" in r.output
    assert "Traceback" not in r.output
