"""Hostile names against every writer: nothing is written outside its folder.

A dataset id, a recipe name or a Hub file name becomes a file name only through
``hades_zoo.data.paths`` (``check_name`` / ``child_path``). Each hostile id below is
fed to every writer (``distill``, ``certify``, ``transfer``, ``merge``, ``plot``,
``train``, ``pull``, ``push``, ``show``, ``save_pretrained``; and the policy writers:
``train --out DIR``, a policy's ``save_pretrained`` / ``push_to_hub``, ``eval`` /
``push`` of a policy folder) from a local file, an entry folder, a policy folder and a
Hub repo (the fake Hub), and each must end with a typed error that names the id
(CLI: exit status 1, one line, no traceback), before any training, with nothing
changed anywhere under ``tmp_path`` but the caches. Ids a file cannot carry are
refused when the file is decoded; the API tests feed the same ids to the writers
directly (an in-memory dataset or recipe), where each writer's own gate fires.

A new writer belongs in ``cli_writers`` (or ``test_api_writers_refuse``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.cache import sha256_bytes
from hades_zoo.data.dataset import dataset_metadata, save_dataset
from hades_zoo.data.format import encode
from hades_zoo.data.recipe_io import recipe_to_dict
from hades_zoo.errors import HubSourceError, RecipeError, UnsafeNameError

from .conftest import make_dataset

WRITE = "hf_write"
#: name -> id; "abs" is made absolute under tmp_path, where a snapshot can see it.
HOSTILE = {"dotdot": "../../victim", "abs": "ABS", "backslash": "a\\b",
           "control": "a\x01b", "long": "x" * 300}
CACHES = ("hades_zoo_cache", "hf_home")
PLAIN_ID = "cartpole-R-2"


# --------------------------------------------------------------------- helpers
def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` but the caches -> sha256 of its bytes (or 'dir')."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.split("/")[0] in CACHES:
            continue
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def hostile_bytes(dataset_id: str) -> bytes:
    """A valid dataset file whose stored id (metadata and info) is ``dataset_id``."""
    ds = make_dataset(PLAIN_ID)
    meta = dataset_metadata(ds)
    info = json.loads(meta["info"])
    info["dataset_id"] = meta["dataset_id"] = dataset_id
    meta["info"] = json.dumps(info, sort_keys=True)
    return encode(ds.arrays(), meta)


def repo_files(dataset_id: str, *, card_file: str | None = None) -> dict[str, bytes]:
    """A dataset repo (card, sidecar, recipe) whose plain-named file stores
    ``dataset_id``; the card records that file's true sha256 (``card_file``: the file
    name the card gives instead)."""
    from hades_zoo.hub.cards import render_card

    data = hostile_bytes(dataset_id)
    sha = sha256_bytes(data)
    name = f"{PLAIN_ID}.safetensors"
    card = str(render_card(make_dataset(PLAIN_ID), sha256=sha))
    if card_file is not None:
        card = card.replace(f"file: {name}", f"file: {card_file}")
    return {"README.md": card.encode(), name: data,
            f"{name}.sha256": f"{sha}  {name}\n".encode(),
            "recipe.yaml": yaml.safe_dump(recipe_to_dict(make_dataset().recipe)).encode()}


@dataclasses.dataclass
class Box:
    """tmp_path laid out so that any escape lands where the snapshot sees it."""

    root: Path
    out: Path  # the intended folder: does not exist before a command
    repo: Path  # a checkout with cards/ and results/ (what --update-zoo writes)
    hostile_id: str


@pytest.fixture(params=sorted(HOSTILE))
def box(request, tmp_path, monkeypatch) -> Box:
    base = tmp_path / "work" / "a" / "b"
    repo = base / "repo"
    (repo / "cards").mkdir(parents=True)
    (repo / "results").mkdir()
    for folder in (tmp_path, tmp_path / "work", tmp_path / "work" / "a", base, repo):
        (folder / "victim.md").write_text("victim\n")
    cwd = base / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a relative escape lands inside tmp_path too
    hostile = HOSTILE[request.param]
    if request.param == "abs":
        hostile = str(tmp_path / "ABS")
    return Box(tmp_path, base / "out", repo, hostile)


def assert_refused(result, dataset_id: str, kinds=("UnsafeNameError",)) -> None:
    """Exit 1, one line, no traceback, a typed error that names the id."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert any(f"Error: {k}:" in lines[0] for k in kinds), lines[0]
    assert repr(dataset_id)[1:30] in lines[0], lines[0]  # as the message shows it


def cli_writers(box: Box, source: str, plain: str) -> dict[str, list[str]]:
    """Every writing command, reading ``source`` and writing into ``box.out``."""
    out = str(box.out)
    return {
        "certify": ["certify", source, "--seeds", "1", "--out", out],
        "transfer": ["transfer", source, "--widths", "16", "--lrs", "1e-3", "--steps",
                     "5", "--seeds", "1", "--out", out],
        "merge": ["merge", plain, source, "--out", out, "--seeds", "1", "--no-baseline",
                  "--no-wrong", "--steps", "5"],
        "plot": ["plot", source, "--out", str(box.out / "plot.png")],
        "train": ["train", source, "--steps", "5", "--episodes", "1", "--out",
                  str(box.out / "pol")],
        "push": ["push", source, "--repo-id", "org/pushed"],
        # show writes nothing but the pulled copy of an hf: source (into the cache)
        "show": ["show", source],
    }


# --------------------------------------------------------------------- CLI
def test_cli_writers_refuse_a_hostile_local_file(box, hub_server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", WRITE)
    src = box.root / "work" / "a" / "b" / "src"
    src.mkdir()
    (src / "hostile.safetensors").write_bytes(hostile_bytes(box.hostile_id))
    plain = save_dataset(make_dataset(), src / "plain.safetensors")
    folder = src / "entry"  # an entry folder (distill --out / save_pretrained)
    folder.mkdir()
    for rel, data in repo_files(box.hostile_id).items():
        (folder / rel).write_bytes(data)
    before = snapshot(box.root)
    runner = CliRunner()
    for source in (str(src / "hostile.safetensors"), str(folder)):
        for name, args in cli_writers(box, source, str(plain)).items():
            assert_refused(runner.invoke(cli, args), box.hostile_id)
            assert snapshot(box.root) == before, (name, source)
    assert_refused(runner.invoke(cli, ["certify", str(folder), "--seeds", "1"]),
                   box.hostile_id)
    assert snapshot(box.root) == before
    assert [r for r in hub_server.requests if not r.startswith(("GET", "HEAD"))] == []


def test_cli_writers_refuse_a_hostile_hub_repo(box, hub_server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", WRITE)
    hub_server.create_repo("org/evil")
    hub_server.add_commit("org/evil", "main", repo_files(box.hostile_id))
    plain = save_dataset(make_dataset(), box.root / "plain.safetensors")
    before = snapshot(box.root)
    runner = CliRunner()
    writers = cli_writers(box, "hf:org/evil", str(plain))
    writers["pull"] = ["pull", "hf:org/evil", "--out", str(box.out)]
    for name, args in writers.items():
        assert_refused(runner.invoke(cli, args), box.hostile_id)
        assert snapshot(box.root) == before, name
    assert [r for r in hub_server.requests if not r.startswith(("GET", "HEAD"))] == []


@pytest.mark.parametrize("card_file", ["../../victim.safetensors", "/etc/x.safetensors",
                                       "a\\b.safetensors"])
def test_pull_refuses_a_hostile_hub_file_name(tmp_path, hub_server, card_file):
    hub_server.create_repo("org/evil")
    hub_server.add_commit("org/evil", "main",
                          repo_files(PLAIN_ID, card_file=card_file))
    before = snapshot(tmp_path)
    r = CliRunner().invoke(cli, ["pull", "hf:org/evil", "--out", str(tmp_path / "o")])
    assert_refused(r, card_file, kinds=("HubSourceError",))
    assert snapshot(tmp_path) == before


def test_distill_refuses_a_hostile_name_before_any_work(box, tiny_recipe):
    recipe = box.root / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(recipe_to_dict(tiny_recipe)))
    named = box.root / "named.yaml"
    named.write_text(yaml.safe_dump({**recipe_to_dict(tiny_recipe),
                                     "name": box.hostile_id}))
    before = snapshot(box.root)
    runner = CliRunner()
    for args in (["distill", str(recipe), "--out", str(box.out), "--set",
                  f"name={box.hostile_id}"],
                 ["distill", str(named), "--out", str(box.out)]):
        assert_refused(runner.invoke(cli, args), box.hostile_id, kinds=("RecipeError",))
        assert snapshot(box.root) == before


def hostile_policy(dataset_id: str):
    """An untrained CartPole policy whose recorded dataset id is ``dataset_id``."""
    import jax

    from hades_zoo.engine.acting import PolicyInfo, TrainedPolicy
    from hades_zoo.engine.tasks.control import ControlTask

    task = ControlTask(make_dataset().recipe)
    return TrainedPolicy(params=task.init_params(jax.random.key(0)),
                         bc_losses=np.zeros(3, np.float32), module=task.module,
                         recipe=task.recipe, info=PolicyInfo(dataset_id=dataset_id))


def hostile_policy_folder(folder: Path, dataset_id: str) -> Path:
    """A policy folder whose config records ``dataset_id`` (the card's sha256 of the
    config follows, so only the id is wrong)."""
    hostile_policy(PLAIN_ID).save_pretrained(folder)
    old = (folder / "config.json").read_bytes()
    config = json.loads(old)
    config["dataset"]["id"] = dataset_id
    new = json.dumps(config).encode()
    (folder / "config.json").write_bytes(new)
    card = folder / "README.md"
    card.write_text(card.read_text().replace(sha256_bytes(old), sha256_bytes(new)))
    return folder


def test_cli_refuses_a_policy_folder_with_a_hostile_dataset_id(box, hub_server,
                                                                monkeypatch):
    monkeypatch.setenv("HF_TOKEN", WRITE)
    folder = hostile_policy_folder(box.root / "work" / "a" / "b" / "pol", box.hostile_id)
    before = snapshot(box.root)
    runner = CliRunner()
    for args in (["eval", str(folder), "--episodes", "1"],
                 ["push", str(folder), "--repo-id", "org/pushed"]):
        assert_refused(runner.invoke(cli, args), box.hostile_id)
        assert snapshot(box.root) == before, args
    assert [r for r in hub_server.requests if not r.startswith(("GET", "HEAD"))] == []
    # the same folder as a Hub model repo
    from hades_zoo.hub import load_policy

    hub_server.create_repo("models/org/evil-pol")
    hub_server.add_commit("models/org/evil-pol", "main",
                          {p.name: p.read_bytes() for p in folder.iterdir()})
    with pytest.raises(UnsafeNameError, match="dataset id") as err:
        load_policy("hf:org/evil-pol")
    assert repr(box.hostile_id)[1:30] in str(err.value)
    assert snapshot(box.root) == before


# --------------------------------------------------------------------- API
def test_api_writers_refuse(box, hub_server, tiny_recipe):
    """In-memory datasets and recipes (no file to refuse them): each writer's gate."""
    from hades_zoo.engine.distill import distill
    from hades_zoo.hub import from_pretrained, load_from_hub, push_to_hub, save_pretrained
    from hades_zoo.zoo.certify import Certificate, record_certificate_in_repo
    from hades_zoo.zoo.loading import load
    from hades_zoo.zoo.transfer import GRIDS, TransferResult
    from hades_zoo.zoo.transfer_zoo import write_result

    from hades_zoo.hub import save_policy

    h = box.hostile_id
    ds = make_dataset(h)
    pol = hostile_policy(h)
    hub_server.create_repo("org/evil")
    hub_server.add_commit("org/evil", "main", repo_files(h))
    src = box.root / "hostile.safetensors"
    src.write_bytes(hostile_bytes(h))
    before = snapshot(box.root)
    g = GRIDS["common"]
    calls = {
        "save_pretrained": lambda: save_pretrained(ds, box.out),
        "ds.save_pretrained": lambda: ds.save_pretrained(box.out),
        "push_to_hub": lambda: push_to_hub(ds, "org/pushed", token=WRITE),
        "certify --repo": lambda: record_certificate_in_repo(
            Certificate(h, (1.0,), 1.0, 0.0, "m", {}, "d"), ds, box.repo),
        "transfer result": lambda: write_result(box.repo, TransferResult(
            h, g.widths, g.lrs, g.steps,
            np.zeros((len(g.widths), len(g.lrs), len(g.steps), g.seeds)), 1.0, 1.0)),
        "load file": lambda: load(f"file:{src}"),
        "load hf": lambda: load_from_hub("hf:org/evil"),
        "from_pretrained": lambda: from_pretrained("hf:org/evil"),
        "policy.save_pretrained": lambda: pol.save_pretrained(box.out),
        "policy.push_to_hub": lambda: pol.push_to_hub("org/pushed", token=WRITE),
        "save_policy": lambda: save_policy(pol, box.out / "pol", evaluate=True),
    }
    for name, call in calls.items():
        with pytest.raises(UnsafeNameError, match="dataset id") as err:
            call()
        assert repr(h)[1:30] in str(err.value), name
        assert snapshot(box.root) == before, name
    with pytest.raises(RecipeError, match="name: recipe name"):
        distill(tiny_recipe.replace(name=h), out_dir=box.out)
    assert snapshot(box.root) == before
    assert [r for r in hub_server.requests if not r.startswith(("GET", "HEAD"))] == []


@pytest.mark.parametrize("which", ["dotdot", "long"])
def test_writers_gate_ids_even_past_the_decoder(which, tmp_path, hub_server,
                                                monkeypatch):
    """Defence in depth: with the decoder's check switched off, every writer that names
    a file after the id still refuses it, and before it measures anything."""
    import hades_zoo.data.dataset as dataset_mod
    import hades_zoo.zoo.certify as certify_mod
    import hades_zoo.zoo.transfer as transfer_mod

    def trained(*args, **kwargs):
        raise AssertionError("measured before the gate")

    monkeypatch.setattr(dataset_mod, "_check_stored_id", lambda *a: None)
    monkeypatch.setattr(certify_mod, "certify", trained)
    monkeypatch.setattr(transfer_mod, "transfer_grid", trained)
    monkeypatch.setenv("HF_TOKEN", WRITE)
    h = HOSTILE[which]
    work = tmp_path / "work" / "a" / "b"
    repo = work / "repo"
    (repo / "cards").mkdir(parents=True)
    (repo / "results").mkdir()
    (work / "victim.md").write_text("victim\n")  # certify once appended to this
    src = work / "hostile.safetensors"
    src.write_bytes(hostile_bytes(h))
    before = snapshot(tmp_path)
    runner = CliRunner()
    for args in (["certify", str(src), "--seeds", "1", "--out", str(work / "out")],
                 ["transfer", str(src), "--out", str(work / "out")],
                 ["push", str(src), "--repo-id", "org/pushed"]):
        assert_refused(runner.invoke(cli, args), h)
        assert snapshot(tmp_path) == before, args
    assert hub_server.requests == []


def test_pull_refuses_hostile_file_names(tmp_path, hub_server):
    from hades_zoo.hub import pull_from_hub
    from hades_zoo.hub.refs import repo_path

    with pytest.raises(HubSourceError, match="invalid file name"):
        pull_from_hub("hf:org/x", out=tmp_path, filename="../x.safetensors")
    assert hub_server.requests == []
    assert repo_path(tmp_path, "data/train-0.parquet") == tmp_path / "data" / "train-0.parquet"
    for bad in ("../x", "/abs", "a\\b", "a/../b", "a//b", "a\x01b", "x" * 300):
        with pytest.raises(HubSourceError):
            repo_path(tmp_path, bad)


# --------------------------------------------------------------------- borderline
def test_plain_but_too_long_names_are_refused_before_any_work(tmp_path, tiny_recipe):
    """Ids that are file names alone but not with their suffixes fail up front, not
    after a chunk of evolution or a transfer grid."""
    runner = CliRunner()
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(recipe_to_dict(tiny_recipe)))
    out = tmp_path / "out"
    for name, kind, match in (("x" * 240, "RecipeError", "at most 236 bytes"),
                              ("my run", "UnsafeNameError", "cannot name a dataset"),
                              ("x" * 201, "UnsafeNameError", "at most 200")):
        r = runner.invoke(cli, ["distill", str(recipe), "--out", str(out), "--set",
                                f"name={name}"])
        assert r.exit_code == 1 and f"{kind}:" in r.output and match in r.output, r.output
        assert not out.exists()
    src = tmp_path / "long.safetensors"
    src.write_bytes(hostile_bytes("x" * 252))  # a valid id; <id>.json is 257 bytes
    r = runner.invoke(cli, ["transfer", str(src), "--widths", "16", "--steps", "5",
                            "--seeds", "1", "--out", str(out)])
    assert r.exit_code == 1 and "UnsafeNameError" in r.output and "257 bytes" in r.output
    assert not out.exists()
    with pytest.raises(UnsafeNameError, match="at most 200"):
        make_dataset("x" * 240).save_pretrained(out)
    assert not out.exists()


def test_published_ids_still_load(tmp_path):
    """The gate refuses nothing the zoo ships: every packaged dataset decodes."""
    from hades_zoo.data.dataset import read_dataset_file
    from hades_zoo.zoo.registry import _zoo_root, entries

    table = entries()
    for i in sorted(table):
        assert read_dataset_file(Path(str(_zoo_root() / table[i].file))).dataset_id == i
