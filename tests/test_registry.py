"""Zoo registry: every packaged entry loads and matches its sha256; list/info/errors."""

import hashlib
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.ids import InvalidDatasetIdError
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.errors import DatasetFormatError, UnknownDatasetError
from hades_zoo.zoo import registry, results

REPO = Path(__file__).resolve().parents[1]
ZOO = resources.files("hades_zoo") / "zoo" / "entries"
IDS = registry.list_datasets()
CERTIFICATES = results.load_table(REPO)


def test_zoo_is_populated_and_consistent():
    paper = [i for i in IDS if registry.info(i).origin == "paper"]
    assert len(paper) == 135  # every valid published dataset
    packaged = sorted(p.name for p in ZOO.iterdir() if p.name.endswith(".safetensors"))
    assert packaged == sorted(registry.entries()[i].file for i in IDS)
    assert not any(i.startswith("freeway-") for i in paper)  # excluded: see index.json
    assert all(registry.info(i).origin != "paper" for i in IDS if i.startswith("freeway-"))
    images = [i for i in paper if i.startswith(("mnist-", "fashionmnist-"))]
    assert images == [f"{env}-R-10{tag}" for env in ("fashionmnist", "mnist")
                      for tag in ("", ".s1", ".s2")]


@pytest.mark.parametrize("dataset_id", IDS)
def test_every_entry_loads_and_matches(dataset_id):
    entry = registry.info(dataset_id)
    data = (ZOO / entry.file).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry.sha256
    ds = registry.load_zoo_dataset(dataset_id)
    assert ds.dataset_id == dataset_id == ds.recipe.name
    assert (ds.recipe.env.name, ds.recipe.variant, ds.size) == (
        entry.env,
        entry.variant,
        entry.size,
    )
    assert ds.info.fitness == entry.fitness
    assert ds.recipe.seed == entry.seed
    card = (REPO / entry.card).read_text()
    assert card.startswith("---\nlicense: apache-2.0\n")
    category = ("image-classification" if ds.recipe.env.backend == "image"
                else "reinforcement-learning")
    assert f"task_categories:\n- {category}\n" in card
    cert = results.get_card_section(card, results.CERT_SECTION)
    record = CERTIFICATES.get(dataset_id)
    if record is None:
        assert "not yet certified" in cert
    else:  # the card shows what results/certificates.json records
        fmt = ".4f" if record.get("metric") == "loss" else ".1f"
        assert f"{record['mean']:{fmt}} ± {record['std']:{fmt}}" in cert
    if entry.origin == "paper":
        assert "FLAIROx/behaviour-distillation" in card
    else:
        assert "evolved by hades_zoo" in card
    assert load_recipe(REPO / entry.recipe) == ds.recipe


def test_load_via_api_equals_registry():
    a = hz.load("hopper-R-4")
    b = registry.load_zoo_dataset("hopper-R-4")
    np.testing.assert_array_equal(a.states, b.states)
    assert a.recipe == b.recipe


def test_list_patterns():
    assert registry.list_datasets("hopper-R-4*") == [
        "hopper-R-4",
        "hopper-R-4.hz",  # the zoo's own entry
        "hopper-R-4.s1",
        "hopper-R-4.s2",
    ]
    assert registry.list_datasets("hopper-R-4.s*") == ["hopper-R-4.s1", "hopper-R-4.s2"]
    assert hz.list_datasets("nothing-*") == []
    f_ids = registry.list_datasets("*-F-*")
    assert f_ids == sorted(f_ids) and all("-F-" in i for i in f_ids)
    assert registry.list_datasets() == sorted(registry.list_datasets())


def test_info_and_notes():
    entry = registry.info("ant-R-64")
    assert entry.env == "ant" and entry.variant == "R" and entry.size == 64
    assert "collapsed" in entry.notes
    assert "collapsed" in registry.info("ant-R-64.s1").notes
    assert "collapsed" not in registry.info("hopper-R-64").notes
    assert entry.hub is None


def test_unknown_id_suggests_close_matches():
    with pytest.raises(UnknownDatasetError, match="Did you mean: hopper-R-64"):
        registry.info("hoper-R-64")
    with pytest.raises(UnknownDatasetError, match="hades-zoo list"):
        hz.load("hopper-R-999")


@pytest.mark.parametrize("slip, meant", [
    ("Hopper-R-64", "hopper-R-64"),
    ("hopper-r-64", "hopper-R-64"),
    ("hopper_R_64", "hopper-R-64"),
    ("HOPPER R 64", "hopper-R-64"),
    ("hopper-R-64.S1", "hopper-R-64.s1"),
    ("Inverted-Double-Pendulum-r-64", "inverted_double_pendulum-R-64"),
    ("Breakout-MinAtar-F-16", "breakout-minatar-F-16"),
])
def test_case_and_separator_slips_get_the_zoo_id(slip, meant):
    """A slip of case or separator names the zoo id it meant, via the API and the CLI."""
    with pytest.raises(UnknownDatasetError, match=f"did you mean '{meant}'"):
        hz.load(slip)
    res = CliRunner().invoke(cli, ["eval", slip])
    assert res.exit_code == 1 and f"did you mean '{meant}'" in res.output


def test_slip_matches_prefers_the_exact_slip_over_close_ids():
    assert registry.slip_matches("Hopper-r-4", registry.list_datasets()) == ["hopper-R-4"]
    assert registry.slip_matches("hopper-R-5", registry.list_datasets()) == []
    # no slip: a well-formed unknown id still gets the close ids
    with pytest.raises(UnknownDatasetError, match="Did you mean: hopper-R-64"):
        registry.info("hopper-R-65")


@pytest.mark.parametrize(
    "dataset_id",
    ["freeway-minatar-R-16", "freeway-minatar-F-16.s1", "freeway-minatar-R-32"],
)
def test_freeway_is_explained(dataset_id):
    with pytest.raises(UnknownDatasetError, match="2500 steps.*1024 steps"):
        registry.info(dataset_id)


def test_image_entries_are_listed_and_load():
    paper = [i for i in registry.list_datasets("*mnist*")
             if registry.info(i).origin == "paper"]
    assert paper == [
        "fashionmnist-R-10", "fashionmnist-R-10.s1", "fashionmnist-R-10.s2",
        "mnist-R-10", "mnist-R-10.s1", "mnist-R-10.s2"]
    own = set(registry.list_datasets("*mnist*")) - set(paper)
    assert own and all(i.split(".")[1] == "hz" for i in own)  # the zoo's own runs
    ds = hz.load("mnist-R-10")
    assert ds.states.shape == (10, 784) and ds.labels.tolist() == list(range(10))
    assert ds.recipe.image.shape == (28, 28, 1) and ds.recipe.env.backend == "image"
    entry = registry.info("fashionmnist-R-10.s2")
    assert entry.fitness_kind == "final_population_mean_loss"
    assert 0.05 < entry.fitness < 0.06
    with pytest.raises(UnknownDatasetError, match="mnist-R-10"):
        registry.info("mnist-R-10.g1000")


@pytest.mark.parametrize("bad", ["../x", "a/b", "hopper-X-64", "", "has space"])
def test_malformed_ids(bad):
    with pytest.raises(InvalidDatasetIdError, match="file:.*hf:"):
        hz.load(bad) if bad else registry.info(bad)


def test_sha_mismatch_is_detected(monkeypatch):
    index = json.loads(json.dumps(registry._index()))
    index["datasets"]["hopper-R-4"]["sha256"] = "0" * 64
    monkeypatch.setattr(registry, "_index", lambda: index)
    with pytest.raises(DatasetFormatError, match="sha256.*reinstall"):
        registry.load_zoo_dataset("hopper-R-4")


def test_hub_entries_are_delegated(monkeypatch):
    index = json.loads(json.dumps(registry._index()))
    raw = dict(
        index["datasets"]["hopper-R-4"],
        file="not-packaged.safetensors",
        hub={"repo_id": "org/hopper", "revision": "v1", "filename": "h.safetensors"},
    )
    index["datasets"]["hopper-R-4"] = raw
    monkeypatch.setattr(registry, "_index", lambda: index)
    calls = []
    import sys
    import types

    fake = types.ModuleType("hades_zoo.hub")
    fake.load_from_hub = lambda source, **kw: calls.append((source, kw)) or "ds"
    monkeypatch.setitem(sys.modules, "hades_zoo.hub", fake)
    assert registry.load_zoo_dataset("hopper-R-4") == "ds"
    assert calls == [
        ("hf:org/hopper@v1", {"filename": "h.safetensors", "sha256": raw["sha256"]})
    ]


def test_cli_list_and_info():
    runner = CliRunner()
    res = runner.invoke(cli, ["list", "hopper-R-*"])
    assert (
        res.exit_code == 0
        and "hopper-R-4.s2" in res.output
        and "7 dataset(s)" in res.output  # 6 of the paper's, 1 own
        and "paper" in res.output and "hades_zoo" in res.output
    )
    res = runner.invoke(cli, ["list", "ant-R-*", "--json"])
    rows = json.loads(res.output)
    assert [r["dataset_id"] for r in rows] == ["ant-R-64", "ant-R-64.s1", "ant-R-64.s2"]
    res = runner.invoke(cli, ["info", "ant-R-64"])
    assert res.exit_code == 0 and "collapsed" in res.output and "sha256" in res.output
    res = runner.invoke(cli, ["info", "hopper-R-4", "--json"])
    assert json.loads(res.output)["zoo"]["sha256"] == registry.info("hopper-R-4").sha256
    res = runner.invoke(cli, ["info", "freeway-minatar-R-16"])
    assert res.exit_code == 1 and "UnknownDatasetError" in res.output
    assert "2500 steps" in res.output
    res = runner.invoke(cli, ["info", "hoper-R-64"])
    assert res.exit_code == 1 and "Did you mean" in res.output


def test_recipes_and_cards_cover_exactly_the_zoo():
    cards = sorted(p.stem for p in (REPO / "cards").glob("*.md"))
    recipes = sorted(p.name[: -len(".yaml")] for p in (REPO / "recipes").glob("*.yaml"))
    assert cards == IDS
    assert sorted(set(recipes) - {"cartpole-R-2"}) == IDS
    front = (REPO / "cards" / "hopper-R-64.md").read_text().split("---")[1]
    meta = yaml.safe_load(front)
    assert meta["license"] == "apache-2.0"
    assert meta["task_categories"] == ["reinforcement-learning"]
    assert meta["size_categories"] == ["n<1K"]
