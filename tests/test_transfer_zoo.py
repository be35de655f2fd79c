"""Transfer over the zoo: the resumable driver, filed results, packaged scores, list."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.zoo import registry, results, transfer, transfer_zoo
from hades_zoo.zoo.transfer import TransferGrid, TransferResult, transfer_grid

from .conftest import load_script

REPO = Path(__file__).resolve().parents[1]
ID = "cartpole-F-2.hz"
# a 2-point grid; the driver tests make it the common one
TINY = TransferGrid(name="common", widths=(8, 16), lrs=(1e-2,), steps=(5,), seeds=1)


def _driver():
    return load_script("transfer_all")


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A checkout with two cards and a results README; the registry reads its scores."""
    root = tmp_path / "repo"
    (root / "cards").mkdir(parents=True)
    (root / "results").mkdir()
    (root / "hades_zoo" / "zoo" / "entries").mkdir(parents=True)
    for i in (ID, "reacher-R-64"):
        shutil.copy(REPO / "cards" / f"{i}.md", root / "cards" / f"{i}.md")
    (root / "results" / "README.md").write_text(
        "# Results\n\n## Transfer over the zoo\n\n<!-- transfer-table:start -->\n"
        "<!-- transfer-table:end -->\n\n## Later\n")  # an empty section, as committed
    monkeypatch.setattr(registry, "_transfer_path",
                        lambda: root / "hades_zoo" / "zoo" / "entries" / "transfer.json")
    registry.refresh_transfer_scores()
    yield root
    registry.refresh_transfer_scores()


def _tiny_load(dataset_id):
    """The zoo entry with a short evaluation (2 envs x 60 steps)."""
    ds = hz.load(dataset_id)
    r = ds.recipe
    return ds.replace(recipe=r.replace(eval=dataclasses.replace(r.eval, num_steps=60)))


def _result(dataset_id, recorded, shift=0.0, grid="common"):
    rng = np.random.default_rng(0)
    g = transfer.GRIDS[grid]
    returns = shift + rng.normal(size=(len(g.widths), len(g.lrs), len(g.steps), g.seeds))
    return TransferResult(dataset_id, g.widths, g.lrs, g.steps, returns, recorded, 2.0,
                          grid=grid)


def test_default_ids_are_the_seed0_brax_and_minatar_entries():
    ids = transfer_zoo.default_ids()
    assert "hopper-R-4" in ids and "walker2d-R-4" in ids and "humanoid-F-64" in ids
    assert "breakout-minatar-R-16.w256.g5000" in ids and "asterix-minatar-F-16" in ids
    assert not any(".s" in i for i in ids)
    assert not any(i.startswith(("pong-", "cartpole-", "mnist-")) for i in ids)
    envs = {registry.info(i).env for i in ids}
    assert envs == set(transfer_zoo.BRAX_ENVS) | set(transfer_zoo.MINATAR_ENVS)
    own = [i for i in ids if registry.info(i).origin == "hades_zoo"]
    assert "hopper-F-4.hz" in own and all(registry.info(i).env in transfer_zoo.BRAX_ENVS
                                          or registry.info(i).env in transfer_zoo.MINATAR_ENVS
                                          for i in own)
    # the paper's: 3 games x F/R x 4 variants; 8 brax envs x F/R + hopper-R-4, walker2d-R-4
    assert len(ids) - len(own) == 24 + 18


def test_grid_names():
    common = transfer.GRIDS["common"]
    assert transfer.grid_name(common.widths, common.lrs, common.steps, 2) == "common"
    assert transfer.grid_name(common.widths, common.lrs, common.steps, 3) == "custom"
    full = transfer.GRIDS["full"]
    assert (full.widths, full.lrs, full.steps) == (
        transfer.DEFAULT_WIDTHS, transfer.DEFAULT_LRS, transfer.DEFAULT_STEPS)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_driver_writes_resumes_and_lists(repo, capsys, monkeypatch):
    monkeypatch.setitem(transfer.GRIDS, "common", TINY)
    driver = _driver()
    assert driver.main([ID, "--repo", str(repo)], load_fn=_tiny_load) == 0
    out = repo / "results" / "transfer"
    data = json.loads((out / f"{ID}.json").read_text())
    assert data["grid_name"] == "common" and data["widths"] == [8, 16]
    assert data["score"] == pytest.approx(data["top50_mean"] / 500.0)
    assert (out / f"{ID}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "envs" / "cartpole-v1.png").read_bytes()[:4] == b"\x89PNG"
    card = (repo / "cards" / f"{ID}.md").read_text()
    body = results.get_card_section(card, results.TRANSFER_SECTION)
    assert f"Transfer-robustness score: {data['score']:.3f}" in body
    assert f"results/transfer/{ID}.png" in body and "--grid common" in body
    readme = (repo / "results" / "README.md").read_text()
    assert f"| {ID} | 500 |" in readme and readme.index(ID) < readme.index("## Later")
    assert readme.count("transfer-table:start") == 1
    assert "not yet measured" in readme  # the other default ids, not run here
    packaged = json.loads((repo / "hades_zoo/zoo/entries/transfer.json").read_text())
    assert packaged["scores"][ID]["common"]["score"] == pytest.approx(data["score"])
    assert registry.info(ID).transfer_score == pytest.approx(data["score"])
    assert registry.info(ID).transfer_grid == "common"

    def no_load(dataset_id):
        raise AssertionError(f"{dataset_id} was done already")

    capsys.readouterr()
    assert driver.main([ID, "--repo", str(repo)], load_fn=no_load) == 0
    assert "1 done, 0 to run" in capsys.readouterr().out
    other = dataclasses.replace(TINY, seeds=2)  # another grid is not done
    assert driver.main([ID, "--repo", str(repo), "--list"], grid=other) == 0
    assert capsys.readouterr().out.strip().endswith(ID)
    monkeypatch.setitem(transfer.GRIDS, "common", other)  # the common grid changed:
    transfer_zoo.write_packaged_scores(repo)  # the old result is no longer listed
    assert registry.info(ID).transfer_score is None


def test_non_positive_fitness_reports_the_raw_mean(repo):
    res = _result("reacher-R-64", -156.3, shift=-120.0)
    assert res.score is None and "<= 0" in res.score_note
    transfer_zoo.write_result(repo, res)
    body = results.get_card_section((repo / "cards" / "reacher-R-64.md").read_text(),
                                    results.TRANSFER_SECTION)
    assert "score: n/a** (recorded fitness -156.3 <= 0" in body
    assert f"**{res.top50_mean:.1f}**" in body and "--grid common" in body
    table = transfer_zoo.render_table(repo, ["reacher-R-64"], registry.entries())
    assert "| reacher-R-64 | -156.3 |" in table and "n/a (recorded <= 0)" in table
    entry = registry.info("reacher-R-64")
    assert entry.transfer_score is None
    assert entry.transfer_top50_mean == pytest.approx(res.top50_mean)
    out = CliRunner().invoke(cli, ["list", "reacher-R-64"]).output
    assert f"[{res.top50_mean:.4g}]" in out


def test_list_sort_transfer_and_json(repo):
    for i, recorded, shift in (("hopper-R-4", 100.0, 50.0), ("ant-F-64", 100.0, 80.0),
                               ("ant-R-64", -0.4, 10.0)):
        transfer_zoo.write_result(repo, _result(i, recorded, shift), card=False)
    # a full-grid result is kept beside the common one, and is not what list shows
    transfer_zoo.write_result(repo, _result("walker2d-R-4", 100.0, 90.0, "full"),
                              card=False)
    assert (repo / "results/transfer/full/walker2d-R-4.json").is_file()
    r = CliRunner().invoke(cli, ["list", "--sort", "transfer"])
    assert r.exit_code == 0, r.output
    rows = [line.split()[0] for line in r.output.splitlines()[1:-1]]
    assert rows[:2] == ["ant-F-64", "hopper-R-4"]  # scores 0.8, 0.5
    assert rows[2:] == sorted(rows[2:]) and "ant-R-64" in rows[2:]
    r = CliRunner().invoke(cli, ["list", "ant-*", "--sort", "transfer", "--json"])
    got = {d["dataset_id"]: d for d in json.loads(r.output)}
    assert next(iter(got)) == "ant-F-64"
    assert got["ant-F-64"]["transfer_score"] == pytest.approx(0.8, abs=0.1)
    assert got["ant-F-64"]["transfer_grid"] == "common"
    assert got["ant-R-64"]["transfer_score"] is None
    assert got["ant-R-64"]["transfer_top50_mean"] == pytest.approx(10.0, abs=1.0)
    assert got["ant-R-64.s1"]["transfer_grid"] is None
    walker = json.loads(CliRunner().invoke(cli, ["list", "walker2d-R-4", "--json"]).output)
    assert walker[0]["transfer_score"] is None  # measured on 'full' only


def test_card_shows_common_and_names_other_grids(repo):
    transfer_zoo.write_result(repo, _result(ID, 500.0, 300.0, "full"))
    body = results.get_card_section((repo / "cards" / f"{ID}.md").read_text(),
                                    results.TRANSFER_SECTION)
    assert "Grid 'full'" in body  # the only result so far
    transfer_zoo.write_result(repo, _result(ID, 500.0, 400.0))
    body = results.get_card_section((repo / "cards" / f"{ID}.md").read_text(),
                                    results.TRANSFER_SECTION)
    assert body.startswith("**Transfer-robustness score: 0.8")
    assert "Grid 'common'" in body
    assert "Also measured on grid 'full'" in body
    assert f"`results/transfer/full/{ID}.json`" in body


def test_rerender_rebuilds_everything_from_the_jsons(repo, capsys):
    transfer_zoo.write_result(repo, _result("hopper-R-4", 100.0, 50.0), card=False)
    (repo / "hades_zoo/zoo/entries/transfer.json").unlink()
    assert _driver().main(["--repo", str(repo), "--rerender"]) == 0
    assert (repo / "results/transfer/envs/hopper.png").is_file()
    assert registry.info("hopper-R-4").transfer_score == pytest.approx(0.5, abs=0.05)


def test_datasets_of_one_protocol_share_a_compiled_program():
    ds = _tiny_load(ID)
    other = ds.replace(states=ds.states + 0.5)
    transfer._PROGRAMS.clear()
    a = transfer_grid(ds, widths=(8,), lrs=(1e-2,), steps=(5,), seeds=1)
    b = transfer_grid(other, widths=(8,), lrs=(1e-2,), steps=(5,), seeds=1)
    assert len(transfer._PROGRAMS) == 1
    assert a.grid_name == "custom" and a.returns.shape == b.returns.shape


def test_cli_transfer_update_zoo_files_a_custom_grid_under_its_name(repo, monkeypatch):
    """--update-zoo (maintainers) files a zoo id's result in the checkout; the zoo id
    loads with a short evaluation."""
    from hades_zoo.zoo import loading

    monkeypatch.setattr(loading, "load", lambda source: _tiny_load(ID))
    r = CliRunner().invoke(cli, ["transfer", ID, "--widths", "8", "--lrs", "1e-2",
                                 "--steps", "5", "--seeds", "1", "--update-zoo",
                                 "--repo", str(repo)])
    assert r.exit_code == 0, r.output
    assert "on grid 'custom'" in r.output
    data = json.loads((repo / "results/transfer/custom" / f"{ID}.json").read_text())
    assert data["grid_name"] == "custom" and data["widths"] == [8]
    assert not (repo / "results/transfer" / f"{ID}.json").exists()
    body = results.get_card_section((repo / "cards" / f"{ID}.md").read_text(),
                                    results.TRANSFER_SECTION)
    assert "Grid 'custom'" in body  # the only result: shown until a common one exists
    assert registry.info(ID).transfer_score is None  # list shows the common grid only
    from hades_zoo.zoo import certify

    monkeypatch.setattr(certify, "protocol_returns",
                        lambda ds, seeds, seed: np.array([480.0, 500.0])[:seeds])
    r = CliRunner().invoke(cli, ["certify", ID, "--seeds", "2", "--update-zoo",
                                 "--repo", str(repo)])
    assert r.exit_code == 0, r.output
    assert f"wrote {repo / 'results' / 'certificates.json'}" in r.output
    assert ID in json.loads((repo / "results/certificates.json").read_text())[
        "certificates"]
    assert "490.0 ± 10.0" in results.get_card_section(
        (repo / "cards" / f"{ID}.md").read_text(), results.CERT_SECTION)


def test_cli_update_zoo_refuses_a_path_and_an_installed_package(repo, tmp_path,
                                                                 monkeypatch):
    """A user's file or run folder whose id equals a zoo id never reaches the zoo's
    card; an installed package (site-packages) is not a checkout. Both are refused
    before anything is measured."""
    from hades_zoo.data.dataset import save_dataset
    from hades_zoo.zoo import transfer as transfer_mod

    monkeypatch.setattr(transfer_mod, "transfer_grid", lambda *a, **k: pytest.fail(
        "measured before refusing"))
    path = save_dataset(_tiny_load(ID), tmp_path / f"{ID}.safetensors")
    for cmd in ("transfer", "certify"):
        r = CliRunner().invoke(cli, [cmd, str(path), "--update-zoo", "--repo",
                                     str(repo)])
        assert r.exit_code == 1 and "is not a zoo id" in r.output, r.output
        r = CliRunner().invoke(cli, [cmd, ID, "--repo", str(repo)])
        assert r.exit_code == 2 and "--repo names the checkout" in r.output
        r = CliRunner().invoke(cli, [cmd, ID, "--no-write", "--out",
                                     str(tmp_path / "o")])
        assert r.exit_code == 2 and "--no-write writes nothing" in r.output
    monkeypatch.setattr(results, "__file__", str(
        tmp_path / "venv/lib/python3.12/site-packages/hades_zoo/zoo/results.py"))
    r = CliRunner().invoke(cli, ["transfer", ID, "--update-zoo"])
    assert r.exit_code == 1 and "installed in" in r.output
    assert "site-packages" in r.output
    assert "--out DIR" in r.output
    assert not list(repo.glob("results/transfer/**/*.json"))


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_shards_write_only_their_jsons_then_rerender_files_the_rest(repo, capsys, monkeypatch):
    monkeypatch.setitem(transfer.GRIDS, "common", TINY)
    driver = _driver()
    ids = [ID, "acrobot-F-3.hz"]
    seen = []

    def load(dataset_id):
        seen.append(dataset_id)
        return _tiny_load(dataset_id)

    assert driver.main([*ids, "--repo", str(repo), "--shard", "2/2", "--json-only"],
                       load_fn=load) == 0
    assert len(seen) == 1  # the second of the two entries to run
    out = repo / "results" / "transfer"
    assert sorted(p.name for p in out.iterdir()) == [f"{seen[0]}.json"]
    data = json.loads((out / f"{seen[0]}.json").read_text())
    assert data["machine"].endswith(f"jax {__import__('jax').__version__}")
    assert TransferResult.from_dict(data).machine == data["machine"]
    assert not (repo / "hades_zoo/zoo/entries/transfer.json").exists()
    assert driver.main([*ids, "--repo", str(repo), "--shard", "1/2", "--json-only"],
                       load_fn=load) == 0
    assert set(seen) == set(ids)
    assert driver.main(["--repo", str(repo), "--rerender"]) == 0
    assert (out / f"{ID}.png").exists()
    with pytest.raises(SystemExit):
        driver.main([ID, "--repo", str(repo), "--shard", "3/2"])
