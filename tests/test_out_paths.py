"""Where a user's command may write (docs/RELIABILITY.md, "Output paths"): a folder
of the user's files is never a distill run folder; the installed package, an empty
path and an unusable folder are refused before any work."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import recipe_to_dict
from hades_zoo.errors import NotARunFolderError

import pytest


def _write(tmp_path, recipe, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe)))
    return path


def _user_folder(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    mine = {"README.md": "my notes", "recipe.yaml": "mine: 1\n",
            "metrics.jsonl": '{"mine": 1}\n', "certificate.json": "{}",
            "replay.mp4": "video"}
    for name, text in mine.items():
        (folder / name).write_text(text)
    return folder, mine


@pytest.mark.parametrize("no_resume", [False, True])
def test_distill_refuses_a_folder_of_user_files(tmp_path, tiny_recipe, no_resume):
    folder, mine = _user_folder(tmp_path)
    args = ["distill", str(_write(tmp_path, tiny_recipe)), "--out", str(folder),
            "--no-replay"] + (["--no-resume"] if no_resume else [])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1, r.output
    assert "NotARunFolderError" in r.output and "not a hades_zoo distill run" in r.output
    assert "removed" not in r.output and "Traceback" not in r.output
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine
    with pytest.raises(NotARunFolderError, match="new or empty folder"):
        hz.distill(tiny_recipe, out_dir=folder)
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine


def test_distill_takes_an_empty_folder_and_resumes_or_restarts_a_run(tmp_path,
                                                                     tiny_recipe):
    out = tmp_path / "run"
    out.mkdir()  # empty: fine
    recipe = str(_write(tmp_path, tiny_recipe))
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay",
                                 "--generations", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay"])
    assert r.exit_code == 0, r.output  # resumed
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay",
                                 "--no-resume"])
    assert r.exit_code == 0 and "removed the previous run's outputs" in r.output
    # what a run stopped before its first checkpoint leaves is still "empty"
    fresh = tmp_path / "stopped"
    fresh.mkdir()
    (fresh / ".lock").write_text("pid=1\n")
    (fresh / "metrics.jsonl").write_text("")
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(fresh), "--no-replay"])
    assert r.exit_code == 0, r.output
