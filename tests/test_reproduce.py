"""Certificates, transfer grid, multi-task training and their CLI commands (tiny)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset, save_dataset
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.errors import DatasetFormatError, RecipeError
from hades_zoo.zoo import results
from hades_zoo.zoo.certify import certify, record_certificate_in_repo
from hades_zoo.zoo.multitask import merge
from hades_zoo.zoo.multitask_train import run_multitask
from hades_zoo.zoo.transfer import transfer_grid

REPO = Path(__file__).resolve().parents[1]

CARD = """# cartpole-R-2

## Reproduction certificate

<!-- reproduction-certificate:start -->
**Status: not yet certified.**
<!-- reproduction-certificate:end -->

## Citation

bib
"""


def _tiny_cartpole():
    """conftest's hand-made CartPole dataset with a tiny protocol."""
    r = load_recipe(REPO / "recipes" / "cartpole-R-2.yaml")
    r = r.replace(policy=dataclasses.replace(r.policy, width=8),
                  bc=dataclasses.replace(r.bc, steps=10),
                  eval=dataclasses.replace(r.eval, num_envs=2, num_steps=60))
    return SyntheticDataset(
        states=np.array([[0.0, 0.0, -0.2, -1.0], [0.0, 0.0, 0.2, 1.0]], np.float32),
        labels=np.array([0, 1], np.int32), mask=np.array([True, True]), recipe=r,
        info=DatasetInfo(dataset_id="cartpole-R-2", fitness=500.0))


@pytest.fixture
def tiny_cartpole():
    return _tiny_cartpole()


@pytest.fixture(scope="module")
def reference_returns():
    """protocol_returns of the tiny dataset, 2 seeds (compiled once per module)."""
    return hz.protocol_returns(_tiny_cartpole(), seeds=2)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "cards").mkdir(parents=True)
    (root / "cards" / "cartpole-R-2.md").write_text(CARD)
    return root


def test_card_sections_replace_and_insert():
    text = results.set_card_section(CARD, results.CERT_SECTION, "certified!")
    assert results.get_card_section(text, results.CERT_SECTION) == "certified!"
    assert "not yet certified" not in text
    text = results.set_card_section(text, results.TRANSFER_SECTION, "score 1")
    assert text.index("## Transfer") < text.index("## Citation")
    again = results.set_card_section(text, results.TRANSFER_SECTION, "score 2")
    assert again.count("## Transfer") == 1 and "score 2" in again


def test_certificate_written_to_card_and_table(tiny_cartpole, repo, monkeypatch):
    # certify == protocol_returns (tested through the transfer/multitask tests below)
    monkeypatch.setattr("hades_zoo.zoo.certify.protocol_returns",
                        lambda ds, seeds, seed: np.array([480.0, 500.0])[:seeds])
    cert = certify(tiny_cartpole, seeds=2)
    assert cert.returns == (480.0, 500.0) and cert.recorded == 500.0
    assert cert.reproduced() is True and cert.ratio == pytest.approx(0.98)
    rec = record_certificate_in_repo(cert, tiny_cartpole, repo)
    card = (repo / "cards" / "cartpole-R-2.md").read_text()
    body = results.get_card_section(card, results.CERT_SECTION)
    assert f"{cert.mean:.1f} ± {cert.std:.1f}" in body and "hades-zoo certify" in body
    table = json.loads((repo / "results" / "certificates.json").read_text())
    assert table["certificates"]["cartpole-R-2"]["mean"] == rec["mean"]
    md = (repo / "results" / "CERTIFICATES.md").read_text()
    assert "| cartpole-R-2 | CartPole-v1 | R | 500.0 |" in md
    assert "| hopper-R-4 | hopper | R | 1742.1 | not yet certified |" in md
    # merge: a second record keeps the first one
    other = dataclasses.replace(cert, dataset_id="other-R-2", returns=(1.0, 2.0))
    results.record_certificate(repo, {**other.to_dict(), "env": "x", "variant": "R"})
    table = results.load_table(repo)
    assert set(table) == {"cartpole-R-2", "other-R-2"}


def test_transfer_grid_matches_protocol(tiny_cartpole, reference_returns):
    r = tiny_cartpole.recipe
    res = transfer_grid(tiny_cartpole, widths=(8,), lrs=(1e-3, r.bc.lr),
                        steps=(5, 10), seeds=2)
    assert res.returns.shape == (1, 2, 2, 2)
    # the stored config inside the grid is exactly protocol_returns
    np.testing.assert_allclose(res.returns[0, 1, 1], reference_returns)
    top = res.top_half(0)
    assert top.shape == (2, 2)
    assert np.all(top.mean(1) >= np.sort(res.returns[0].reshape(4, 2).mean(1))[1])
    assert res.score == pytest.approx(res.top50.mean() / 500.0)
    d = res.to_dict()
    assert len(d["grid"]) == 4 and d["score"] == res.score


def test_transfer_rejects_bad_grid(tiny_cartpole):
    with pytest.raises(RecipeError, match="width=0 is out of range"):
        transfer_grid(tiny_cartpole, widths=(0,), lrs=(1e-3,), steps=(5,))
    with pytest.raises(RecipeError, match="strictly increasing"):
        transfer_grid(tiny_cartpole, widths=(8,), lrs=(1e-3,), steps=(10, 5))


def test_multitask_single_task_equals_protocol(tiny_cartpole, reference_returns):
    res = run_multitask([tiny_cartpole], seeds=2, baseline=False)
    np.testing.assert_allclose(res.returns[0], reference_returns)
    res = dataclasses.replace(res, single=reference_returns[None])
    assert res.normalised == [pytest.approx(1.0)]


def test_multitask_two_copies_equal_single_task(tiny_cartpole, reference_returns):
    # a dataset merged with a copy of itself has the same BC loss (a mean over pairs):
    # both tasks must score exactly the single-task protocol returns
    copy = tiny_cartpole.replace(
        info=dataclasses.replace(tiny_cartpole.info, dataset_id="cartpole-R-2.copy"))
    # (shared layout: same input columns, so the same init as the single-task run).
    # The wrong-dataset policy of env 0 is trained on the copy's pairs alone: the
    # single-task BC run again, so it scores the same returns too.
    res = run_multitask([tiny_cartpole, copy], seeds=2, baseline=False, layout="shared")
    assert res.returns.shape == (2, 2) and res.single is None
    assert res.wrong.shape == (2, 2, 2) and np.isnan(res.wrong[0, 0]).all()
    for i in range(2):
        np.testing.assert_allclose(res.returns[i], reference_returns, rtol=1e-5)
        np.testing.assert_allclose(res.wrong[i, 1 - i], reference_returns, rtol=1e-5)
    assert res.to_dict()["tasks"][1]["dataset_id"] == "cartpole-R-2.copy"


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_multitask_three_bars_disjoint(tiny_cartpole, reference_returns, tmp_path):
    from hades_zoo.zoo.multitask_train import MultiTaskResult, plot_multitask

    copy = tiny_cartpole.replace(
        info=dataclasses.replace(tiny_cartpole.info, dataset_id="cartpole-R-2.copy"))
    res = run_multitask([tiny_cartpole, copy], seeds=2,
                        single_returns={"cartpole-R-2": reference_returns,
                                        "cartpole-R-2.copy": reference_returns})
    assert res.layout == "disjoint" and res.obs_offsets == (0, 4)
    d = res.to_dict()
    row = d["tasks"][0]
    assert row["input_columns"] == [0, 4] and d["input_width"] == 8
    right_mean = float(np.mean(reference_returns))
    assert row["right"]["normalised"] == pytest.approx(1.0)
    assert row["right"]["normalised_stderr"] == pytest.approx(
        np.std(reference_returns, ddof=1) / np.sqrt(2) / right_mean)
    (w,) = row["wrong"]
    assert w["trained_on"] == "cartpole-R-2.copy"
    assert w["normalised"] == pytest.approx(np.mean(res.wrong[0, 1]) / right_mean)
    assert [b[0] for b in res.bars(1)] == ["right: cartpole-R-2.copy",
                                            "wrong: cartpole-R-2", "merged (disjoint)"]
    text = json.dumps(d, allow_nan=False)  # every number is plain JSON
    again = MultiTaskResult.from_dict(json.loads(text))  # redraw from the JSON alone
    assert json.loads(json.dumps(again.to_dict())) == json.loads(text)
    with pytest.raises(DatasetFormatError, match="predates the right / wrong / merged"):
        MultiTaskResult.from_dict({"datasets": ["a"], "tasks": [{"dataset_id": "a"}]})
    path = plot_multitask(res, tmp_path / "mt.png")
    assert Path(path).stat().st_size > 0


def test_multitask_only_task_is_checked(tiny_cartpole):
    from hades_zoo.zoo.multitask_train import train_multitask

    with pytest.raises(DatasetFormatError, match="only_task=2 is not a task of this merge"):
        train_multitask(merge([tiny_cartpole, tiny_cartpole]), only_task=2)


def test_merge_continuous_with_discrete_is_refused(tiny_cartpole, hopper_dataset):
    with pytest.raises(DatasetFormatError, match="cannot merge discrete-label"):
        merge([hopper_dataset, tiny_cartpole])


# ------------------------------------------------------------------------- CLI
def _one_line_error(r, name):
    assert r.exit_code == 1, r.output
    assert name in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_cli_train_out_of_range_is_one_line(tmp_path, tiny_cartpole):
    path = save_dataset(tiny_cartpole, tmp_path / "cp.safetensors")
    r = CliRunner().invoke(cli, ["train", str(path), "--width", "0"])
    _one_line_error(r, "RecipeError")
    r = CliRunner().invoke(cli, ["train", str(path), "--lr", "100"])
    _one_line_error(r, "lr=100.0 is out of range")
    r = CliRunner().invoke(cli, ["train", str(path), "--activation", "gelu"])
    _one_line_error(r, "activation must be")


def test_cli_transfer_bad_input(tmp_path, tiny_cartpole):
    path = save_dataset(tiny_cartpole, tmp_path / "cp.safetensors")
    r = CliRunner().invoke(cli, ["transfer", str(path), "--widths", "0,8", "--no-write"])
    _one_line_error(r, "width=0 is out of range")
    r = CliRunner().invoke(cli, ["transfer", str(path), "--lrs", "fast", "--no-write"])
    assert r.exit_code == 2 and "comma-separated floats" in r.output


def test_cli_merge_mixed_kinds(tmp_path):
    r = CliRunner().invoke(cli, ["merge", "hopper-R-4", "pong-misc-F-3", "--out",
                                 str(tmp_path / "m")])
    _one_line_error(r, "DatasetFormatError: cannot merge discrete-label")
    r = CliRunner().invoke(cli, ["merge", "hopper-R-4", "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "at least two" in r.output


def test_cli_merge_three_bars(tmp_path, tiny_cartpole):
    a = save_dataset(tiny_cartpole, tmp_path / "a.safetensors")
    copy = tiny_cartpole.replace(  # another dataset (merge refuses the same one twice)
        states=tiny_cartpole.states + 0.01,
        info=dataclasses.replace(tiny_cartpole.info, dataset_id="cartpole-R-2.copy"))
    b = save_dataset(copy, tmp_path / "b.safetensors")
    out = tmp_path / "m"
    r = CliRunner().invoke(cli, ["merge", str(a), str(b), "--seeds", "2", "--no-baseline",
                                 "--out", str(out)])  # (the baseline: tested above)
    assert r.exit_code == 0, r.output
    assert "in cartpole-R-2: wrong (cartpole-R-2.copy)" in r.output
    data = json.loads((out / "multitask.json").read_text())
    assert data["layout"] == "disjoint" and data["seeds"] == 2
    assert data["tasks"][0]["wrong"][0]["trained_on"] == "cartpole-R-2.copy"
    assert (out / "multitask.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_train_saves_policy_and_certify_json(tmp_path, tiny_cartpole):
    path = save_dataset(tiny_cartpole, tmp_path / "cp.safetensors")
    out = tmp_path / "pol"  # a policy is a folder: model.safetensors + config.json + card
    r = CliRunner().invoke(cli, ["train", str(path), "--steps", "10", "--episodes", "2",
                                 "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["episodes"] == 2 and (out / "README.md").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["network"]["width"] == 8
    assert config["training"]["overrides"] == {"steps": 10}
    assert config["evaluation"]["episodes"] == 2
    from safetensors.numpy import load_file

    assert any("Dense_0" in k for k in load_file(str(out / "model.safetensors")))
    r = CliRunner().invoke(cli, ["certify", str(path), "--seeds", "1", "--no-write",
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["returns"]) == 1


def test_cli_certify_without_checkout(tmp_path):
    """--update-zoo (maintainers) is refused, before measuring, without a checkout."""
    r = CliRunner().invoke(cli, ["certify", "cartpole-F-2.hz", "--seeds", "1",
                                 "--update-zoo", "--repo", str(tmp_path / "nowhere")])
    _one_line_error(r, "no cards/ folder, so it is not a source checkout")


def test_explain_collapsed_and_noise():
    collapsed = {"mean": 3.0, "std": 1.0, "returns": [2.0, 4.0], "recorded": -0.4,
                 "reproduced_95": True}
    assert "meaningless" in results.explain(collapsed, es_best=4.2)
    md = results.render_table({"ant-R-64": {**collapsed, "ratio": -7.5}})
    assert "| n/a |" in md
    noisy = {"mean": 94.0, "std": 5.0, "returns": [89.0, 99.0], "recorded": 100.0,
             "reproduced_95": False}
    note = results.explain(noisy)
    assert "within one seed-std" in note and "1/2 seeds reach it" in note
    assert results.explain({**noisy, "reproduced_95": True}) == ""
    bimodal = {"mean": 740.0, "std": 980.0, "returns": [-2.0, 1.0, 2400.0],
               "recorded": 1349.0, "reproduced_95": False, "variant": "F"}
    assert "bimodal per-seed returns: 2/3 seeds near 0" in results.explain(bimodal)
    assert "evaluation randomness" in results.explain(bimodal)
    worse = {"mean": -182.0, "std": 5.8, "returns": [-187.0, -171.3], "recorded": -156.3,
             "reproduced_95": False}
    assert "not seed noise" in results.explain(worse)
    assert "cause not identified yet" in results.explain(worse)


def test_certificate_note_defers_to_a_measured_analysis(tmp_path):
    worse = {"dataset_id": "reacher-R-64", "mean": -182.0, "std": 5.8,
             "returns": [-187.0, -171.3], "recorded": -156.3, "reproduced_95": False}
    assert "cause not identified yet" in results.certificate_note(tmp_path, worse)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "certificate_analysis.json").write_text(
        '{"reacher-R-64": "Measured: the recorded number is one noisy draw."}')
    note = results.certificate_note(tmp_path, worse)
    assert "cause not identified" not in note and "see the measured analysis" in note
    assert note.endswith("Measured: the recorded number is one noisy draw.")


def test_compilation_cache_switch(tmp_path, monkeypatch):
    from hades_zoo.data.cache import cache_dir, enable_compilation_cache

    assert enable_compilation_cache() is None  # conftest sets HADES_ZOO_JIT_CACHE=0
    monkeypatch.setenv("HADES_ZOO_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"


def test_train_and_evaluate_equals_separate_calls(tiny_cartpole):
    pol, res = hz.train_and_evaluate(tiny_cartpole, seed=3, episodes=2, steps=5)
    ref = hz.evaluate(hz.train_policy(tiny_cartpole, seed=3, steps=5), episodes=2, seed=3)
    np.testing.assert_array_equal(res.returns, ref.returns)
    assert pol.recipe.bc.steps == 5



def test_transfer_result_dict_round_trip(tiny_cartpole):
    from hades_zoo.zoo.transfer import TransferResult

    rng = np.random.default_rng(0)
    res = TransferResult("cartpole-R-2", (8, 16), (1e-3, 1e-2), (5, 10),
                         rng.normal(size=(2, 2, 2, 3)), 500.0, 1.5)
    back = TransferResult.from_dict(res.to_dict())
    np.testing.assert_allclose(back.returns, res.returns)
    assert (back.widths, back.lrs, back.steps, back.recorded) == (
        res.widths, res.lrs, res.steps, res.recorded)
    assert back.score == pytest.approx(res.score)


def test_explain_loss_records_lower_is_better():
    rec = {"dataset_id": "mnist-R-10", "metric": "loss", "mean": 0.0384, "std": 0.0024,
           "returns": [0.0384, 0.0364, 0.0361, 0.0430, 0.0382], "recorded": 0.0352,
           "reproduced_95": False, "fitness_split": "train", "measured_split": "train5k",
           "splits": {"train5k": {"examples": 5000}}, "accuracy": 0.897,
           "recorded_train_accuracy": 0.896}
    note = results.explain(rec)
    assert "collapsed" not in note and "~0" not in note
    assert "on 'train5k' (5000 images)" in note
    assert "95% mark 0.0371 (2/5 seeds reach it)" in note
    assert "accuracy 0.897 vs recorded train accuracy 0.896" in note
    ok = {**rec, "measured_split": "train", "reproduced_95": True}
    assert results.explain(ok) == "accuracy 0.897 vs recorded train accuracy 0.896"
