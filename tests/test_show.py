"""``hades-zoo show``: a zoo id, a file, an entry folder, a Hub repo, unknown ids."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.cache import sha256_file
from hades_zoo.data.dataset import save_dataset
from hades_zoo.hub import push_to_hub
from hades_zoo.zoo import registry
from tests.test_hub import WRITE


def _show(*args: str) -> str:
    r = CliRunner().invoke(cli, ["show", *args])
    assert r.exit_code == 0, r.output
    assert all(line == line.rstrip() for line in r.output.splitlines())  # plain text
    return r.output


def test_show_zoo_id():
    out = _show("hopper-R-4")
    entry = registry.info("hopper-R-4")
    for part in ("hopper-R-4  (zoo entry:", "Protocol", "hopper (positional)",
                 "const (the dataset's obs_mean / obs_var)", "MLP 2 x 512 tanh",
                 "200 full-batch adam steps, lr 0.005", "pooled: 4 envs x 1024 steps",
                 "HaDES-R", "D (pairs)", "obs dim     11", "continuous, dim 3",
                 "recorded fitness   1742.12", "Transfer",
                 f"{entry.transfer_score:.3f}", "common", "entries/transfer.json",
                 "Provenance", "origin", "paper",
                 f"hopper-R-4.safetensors   3.5 KiB   {entry.sha256[:12]}",
                 "hz.load(\"hopper-R-4\")", "hades-zoo eval hopper-R-4 --episodes 10",
                 "hades-zoo certify hopper-R-4 --out results",
                 "hades-zoo push hopper-R-4 --repo-id ORG/hopper-R-4"):
        assert part in out, part
    if "render" in cli.commands:
        assert "hades-zoo render hopper-R-4 --out replay.mp4" in out
    else:  # never advertise a command that fails
        assert "hades-zoo render" not in out and "(not in this version" in out


def test_show_discrete_image_and_certified_entries():
    out = _show("breakout-minatar-F-16")
    assert "discrete, 3 choices" in out and "pairs in use (mask)   15" in out
    assert "fixed init (seed 420)" in out and "Breakout-MinAtar (gymnax)" in out
    out = _show("mnist-R-10")
    assert "CNN: conv 16 3x3" in out and "10 classes" in out


def test_show_a_file(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = save_dataset(tiny_dataset, tmp_path / "cp.safetensors")
    out = _show("cp.safetensors")
    assert f"cartpole-R-2  (file: {path.resolve()})" in out
    assert f"cp.safetensors   1.5 KiB   {sha256_file(path)[:12]}" in out
    assert "not certified here" in out and "no transfer score recorded" in out
    assert "discrete, 2 choices" in out
    assert "hades-zoo certify cp.safetensors --out results" in out
    assert 'hz.load("cp.safetensors")' in out


def test_show_an_entry_folder_with_its_certificate_and_transfer(tmp_path, tiny_dataset,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "run"
    hz.save_pretrained(tiny_dataset, folder)
    cert = {"mean": 480.0, "std": 10.0, "returns": [470.0, 490.0], "recorded": 500.0,
            "ratio": 0.96, "reproduced_95": True, "date": "2026-12-01",
            "machine": "test box"}
    (folder / "certificate.json").write_text(json.dumps(cert))
    (folder / "transfer.json").write_text(json.dumps(
        {"score": 0.812, "top50_mean": 406.0, "grid_name": "common"}))
    out = _show("run")
    assert f"(entry folder: {folder.resolve()})" in out
    assert "480 ± 10 over 2 seed(s) vs recorded 500" in out
    assert "0.960 (>= 95%: True)" in out and "certificate.json" in out
    assert "0.812" in out and "406" in out
    assert "README.md" in out and "cartpole-R-2.safetensors" in out
    assert "hades-zoo certify run\n" in out  # a folder records into its own card
    # the file of that folder finds the folder's certificate too
    out = _show("run/cartpole-R-2.safetensors")
    assert "480 ± 10" in out and "(file:" in out


def test_show_a_hub_repo(hub_server, tiny_dataset):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    out = _show("hf:org/cp")
    assert "cartpole-R-2  (Hub dataset: hf:org/cp@" in out
    assert "README.md" in out and "cartpole-R-2.safetensors" in out
    assert "hades-zoo pull hf:org/cp --out cartpole-R-2" in out
    assert "hades-zoo push" not in out


@pytest.mark.parametrize("source,match", [
    ("hoper-R-4", "UnknownDatasetError: unknown dataset id 'hoper-R-4'. Did you mean"),
    ("Hopper-r-4", "did you mean 'hopper-R-4'"),
    ("runs/missing.safetensors", "SourceNotFoundError: 'runs/missing.safetensors'"),
])
def test_show_unknown_sources_are_one_line_typed_errors(source, match):
    r = CliRunner().invoke(cli, ["show", source])
    assert r.exit_code == 1 and match in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_info_json_is_unchanged():
    r = CliRunner().invoke(cli, ["info", "hopper-R-4", "--json"])
    data = json.loads(r.output)
    assert set(data) == {"dataset_id", "size", "obs_dim", "kind", "recipe", "fitness",
                         "fitness_kind", "provenance", "notes", "zoo"}
