"""The zoo's own entries (evolved by hades_zoo, id tag .hz): packaged, carded, and
regenerable from their recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

import hades_zoo as hz
from hades_zoo.data.ids import parse_dataset_id
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.zoo import registry

from .conftest import load_script

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
    image = ds.recipe.image is not None
    cost = "classifiers trained" if image else "environment steps simulated"
    for needle in ("## Evolution", "evolved by hades_zoo", cost,
                   f"]({dataset_id}.curve.png)", "## Reproduction certificate"):
        assert needle in card, needle
    assert (REPO / "cards" / f"{dataset_id}.curve.png").stat().st_size > 1000
    evo = ds.info.provenance["evolution"]
    assert evo["wall_seconds"] <= 60 * 60
    assert evo["classifier_trainings"] > 0 if image else evo["env_steps"] > 0


@pytest.mark.parametrize("dataset_id", [i for i in OWN if parse_dataset_id(i).variant != "RR"])
def test_own_entry_card_states_its_target_and_baselines(dataset_id):
    card = (REPO / registry.info(dataset_id).card).read_text()
    assert "## Target and baselines" in card and "- Target: " in card
    assert ("**met**" in card) or ("**missed**" in card)


def _own_entries_script():
    return load_script("own_entries")


def _row(cert, centre=None):
    hades = {"certificate_mean": sum(cert) / len(cert), "certificate_std": 1.0,
             "certificate_returns": cert, "final_population_mean": 1.0,
             "generations": 10, "env_steps": 1000, "wall_seconds": 60.0}
    es = None if centre is None else {
        "final_population_mean": 2.0, "final_population_max": 3.0, "generations": 5,
        "env_steps": 1000.0, "wall_seconds": 30.0, "centre_returns": centre}
    return {"hades": hades, "es": es, "machine": "test CPU"}


def test_target_section_reports_met_missed_and_the_paired_gap():
    m = _own_entries_script()
    met = m.target_section("hopper-R-4.hz", _row([1300.0, 1310.0], [1200.0, 1250.0]),
                           "hopper", "R", None, "first try")
    assert "**met**" in met and "What was tried: first try" in met
    assert "certificate - ES = +80.0" in met
    missed = m.target_section("breakout-minatar-F-16.hz", _row([7.0, 8.0]),
                              "Breakout-MinAtar", "F", None, "")
    assert "**missed** by 9.5" in missed and "Direct ES" not in missed
    constant = {"returns": {"0": [0.0, 0.0, 0.0], "1": [10.0, 20.0, 30.0]},
                "best_action": 1, "protocol": {"seeds": 3}}
    # paired: the dataset beats always-up on every seed by 2, 4, 6
    paired = m.target_section("freeway-minatar-F-16.hz", _row([12.0, 24.0, 36.0]),
                              "Freeway-MinAtar", "F", constant, "")
    assert "**met**: +4.0 ± 1.2" in paired and "action 1: 20.0" in paired
    worse = m.target_section("freeway-minatar-F-16.hz", _row([9.0, 19.0, 29.0]),
                             "Freeway-MinAtar", "F", constant, "")
    assert "**missed**: -1.0" in worse


def test_image_target_pools_the_runs_and_reports_the_gap():
    """scripts/own_image_entries.py: the target is the mean over runs of each run's
    20-classifier test accuracy; a miss states the gap in points."""
    m = load_script("own_image_entries")
    recipe = load_recipe(REPO / "recipes" / "fashionmnist-R-10.yaml")

    def run(acc):
        return {"test_accuracy": [acc - 0.01, acc + 0.01], "generations": 100,
                "wall_seconds": 1800.0, "machine": "test CPU"}

    refs = {"start": {"accuracy": [0.69, 0.69]},
            "fashionmnist-R-10": {"accuracy": [0.80, 0.80]}}
    runs = {"fashionmnist-R-10.hz": run(0.76), "fashionmnist-R-10.hz.s1": run(0.78)}
    row = m.summarise("fashionmnist-R-10.hz", recipe, runs, refs)
    assert row["accuracy"] == pytest.approx(0.77) and not row["met"]
    assert row["gap_points"] == pytest.approx(3.2)
    section = m.target_section(row, "fashionmnist-R-10.hz.s1", "tried this")
    assert "**missed** by 3.2 points" in section and "78.0 %" in section
    assert "ES start (class-mean images) 69.0 %" in section and "datasets 80.0 %" in section
    assert "What was tried: tried this" in section
    table = m.render({"fashionmnist-R-10.hz": row})
    assert "| fashionmnist-R-10.hz | 2 | 77.0 % | 76.0 %, 78.0 % |" in table
    assert "no (3.2 points short)" in table
    met = m.summarise("x", recipe, {"a": run(0.81)}, refs)
    assert met["met"] and "**met**" in m.target_section(met, "a", "")
