"""Tests for hades_zoo.hub.cards: rendering and validating dataset cards."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from huggingface_hub import DatasetCard

from hades_zoo.data.cache import sha256_bytes
from hades_zoo.data.dataset import SyntheticDataset, dataset_to_bytes
from hades_zoo.data.format import FORMAT_VERSION
from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import DatasetFormatError, UnsafeNameError
from hades_zoo.hub.cards import PARQUET_GLOB, render_card, size_category, validate_card
from tests.conftest import make_dataset


def test_card_metadata(tiny_dataset, tmp_path):
    card = render_card(tiny_dataset, repo_id="org/cp")
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0"
    assert "cartpole-R-2" in data["pretty_name"]
    assert data["task_categories"] == ["reinforcement-learning"]
    assert data["tags"] == ["behaviour-distillation", "hades", "cartpole-v1"]
    assert data["size_categories"] == ["n<1K"]
    assert data["configs"][0]["data_files"][0]["path"] == PARQUET_GLOB
    block = validate_card(card)
    assert block["sha256"] == sha256_bytes(dataset_to_bytes(tiny_dataset))
    assert block["format_version"] == FORMAT_VERSION
    assert block["file"] == "cartpole-R-2.safetensors"
    assert block["protocol"]["bc"]["steps"] == tiny_dataset.recipe.bc.steps
    assert "certificate" not in block
    assert 'hz.load("hf:org/cp")' in card.text
    path = tmp_path / "README.md"
    card.save(path)
    loaded = DatasetCard.load(path)
    assert validate_card(loaded) == block
    assert validate_card(path.read_text()) == block


def test_certificate_from_provenance_and_explicit():
    cert = {"recipe_sha256": "ab" * 32, "return": 500.0, "seeds": [0, 1]}
    ds = make_dataset(provenance={"certificate": cert})
    assert validate_card(render_card(ds))["certificate"] == cert
    other = {"note": "explicit"}
    assert validate_card(render_card(ds, certificate=other))["certificate"] == other


def test_card_is_generic_for_continuous_datasets():
    base = make_dataset()
    recipe = dataclasses.replace(
        base.recipe, env=EnvConfig(name="hopper", backend="positional"),
        dataset=dataclasses.replace(base.recipe.dataset, size=3))
    ds = SyntheticDataset(states=np.zeros((3, 11), np.float32),
                          actions=np.ones((3, 3), np.float32), recipe=recipe,
                          info=dataclasses.replace(base.info, dataset_id="hopper-R-3"))
    block = validate_card(render_card(ds))
    assert block["kind"] == "continuous" and block["obs_dim"] == 11


def test_rr_card_names_the_inner_loop_and_others_do_not(tiny_dataset):
    from hades_zoo.data.inner_loop import InnerLoopConfig

    plain = render_card(tiny_dataset)
    assert "inner_loop" not in validate_card(plain)["protocol"]
    assert "inner loop" not in plain.text
    recipe = tiny_dataset.recipe.replace(variant="RR", inner_loop=InnerLoopConfig(
        widths=(32, 64), bc_steps=(25, 75))).validate()
    card = render_card(tiny_dataset.replace(recipe=recipe))
    assert validate_card(card)["protocol"]["inner_loop"]["widths"] == [32, 64]
    assert "| variant | HaDES-RR, 2 inits |\n| inner loop (distillation only) |" in card.text
    assert "bc_steps" not in card.text and "steps on [25, 75]" in card.text



def test_a_playground_card_names_the_impl_and_others_do_not(tiny_dataset):
    assert "impl" not in validate_card(render_card(tiny_dataset))["protocol"]["env"]
    env = EnvConfig(name="CartpoleSwingup", backend="playground", impl="jax",
                    episode_length=1000)
    ds = tiny_dataset.replace(recipe=tiny_dataset.recipe.replace(env=env))
    assert validate_card(render_card(ds))["protocol"]["env"]["impl"] == "jax"

def test_size_categories():
    assert [size_category(n) for n in (1, 999, 1000, 50_000, 2_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]


def test_render_rejects_unsafe_dataset_ids():
    with pytest.raises(UnsafeNameError, match="'../evil' contains a path separator"):
        render_card(make_dataset("../evil"))
    with pytest.raises(UnsafeNameError, match="cannot name a dataset repo file"):
        render_card(make_dataset("has space"))


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old,new,match", [
    ("license: apache-2.0", "", "lacks 'license'"),
    ("- reinforcement-learning", "- tabular-classification", "reinforcement-learning"),
    ("- hades\n", "", r"tags lack \['hades'\]"),
    ("path: data/train-*.parquet", "path: other/*.parquet", "configs do not point"),
    ("file: cartpole-R-2.safetensors", "file: ../cartpole-R-2.safetensors", "not a plain"),
    ("format_version: 1", "format_version: 'one'", "not an integer"),
])
def test_validate_card_rejects(tiny_dataset, old, new, match):
    text = str(render_card(tiny_dataset))
    with pytest.raises(DatasetFormatError, match=match):
        validate_card(_edit(text, old, new))


def test_validate_card_rejects_bad_sha_and_missing_block(tiny_dataset):
    text = str(render_card(tiny_dataset))
    sha = re.search(r"sha256: ([0-9a-f]{64})", text).group(1)
    with pytest.raises(DatasetFormatError, match="64 lowercase hex"):
        validate_card(text.replace(sha, sha[:-1]))
    with pytest.raises(DatasetFormatError, match="no 'hades_zoo:' block"):
        validate_card("---\nlicense: mit\npretty_name: x\ntask_categories: "
                      "[reinforcement-learning]\ntags: [behaviour-distillation, hades]\n"
                      "size_categories: [n<1K]\nconfigs: [{config_name: default, "
                      "data_files: [{split: train, path: 'data/train-*.parquet'}]}]\n---\n")
