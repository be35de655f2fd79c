"""The zoo's own entries (evolved by hades_zoo, id tag .hz): packaged, carded, and
regenerable from their recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

import hades_zoo as hz
from hades_zoo.data.ids import parse_dataset_id
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.zoo import registry

REPO = Path(__file__).resolve().parents[1]
OWN = [i for i, e in registry.entries().items() if e.origin == "hades_zoo"]


def test_own_entries_are_distinguishable_from_the_papers():
    assert OWN, "the zoo ships own entries"
    for i, e in registry.entries().items():
        assert parse_dataset_id(i).own == (e.origin == "hades_zoo"), i
        assert e.origin in ("paper", "hades_zoo")
        if e.origin == "hades_zoo":
            assert e.source.startswith("evolved by hades_zoo"), e.source


@pytest.mark.parametrize("dataset_id", OWN)
def test_own_entry_has_recipe_card_curve_and_certificate(dataset_id):
    e = registry.info(dataset_id)
    ds = hz.load(dataset_id)
    assert load_recipe(REPO / e.recipe) == ds.recipe  # `distill` on it regenerates it
    card = (REPO / e.card).read_text()
    for needle in ("## Evolution", "evolved by hades_zoo", "environment steps simulated",
                   f"]({dataset_id}.curve.png)", "## Reproduction certificate"):
        assert needle in card, needle
    assert (REPO / "cards" / f"{dataset_id}.curve.png").stat().st_size > 1000
    evo = ds.info.provenance["evolution"]
    assert evo["wall_seconds"] <= 60 * 60 and evo["env_steps"] > 0
