"""A distill ``--out`` folder's checkpoint is not trusted blindly: a missing or edited
``checkpoint.json`` stops the resume with a typed error naming ``--no-resume``, and
the run's state is not discarded (a reviewer, 2026-12-03: with ``checkpoint.json``
deleted, a run at generation 20 restarted from scratch without a word; with its
generation edited from 20 to 5 it resumed into another dataset)."""

from __future__ import annotations

import dataclasses
import json

import yaml
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import recipe_to_dict


def _run(tmp_path, recipe, out, *args):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe)))
    return CliRunner().invoke(cli, ["distill", str(path), "--out", str(out), "--no-replay",
                                    *args])


def test_a_checkpoint_without_its_sidecar_is_not_discarded(tmp_path, tiny_recipe):
    rec = tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es, generations=3))
    out = tmp_path / "run"
    assert _run(tmp_path, rec, out, "--generations", "2").exit_code == 0
    (out / "checkpoint.json").unlink()
    before = (out / "checkpoint.safetensors").read_bytes()
    r = _run(tmp_path, rec, out)
    assert r.exit_code == 1
    assert "DatasetFormatError" in r.output and "--no-resume" in r.output, r.output
    assert (out / "checkpoint.safetensors").read_bytes() == before
    assert _run(tmp_path, rec, out, "--no-resume").exit_code == 0  # the fix it names


def test_an_edited_generation_is_refused(tmp_path, tiny_recipe):
    rec = tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es, generations=3))
    out = tmp_path / "run"
    assert _run(tmp_path, rec, out, "--generations", "2").exit_code == 0
    side = out / "checkpoint.json"
    for bad in (1, "2", True):
        sidecar = json.loads(side.read_text())
        sidecar["generation"] = bad
        side.write_text(json.dumps(sidecar))
        r = _run(tmp_path, rec, out)
        assert r.exit_code == 1
        assert "generation" in r.output and "--no-resume" in r.output, r.output
    sidecar["generation"] = 2  # put back: resumes
    side.write_text(json.dumps(sidecar))
    r = _run(tmp_path, rec, out)
    assert r.exit_code == 0, r.output
