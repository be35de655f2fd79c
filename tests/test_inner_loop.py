"""HaDES-RR's ``inner_loop:`` recipe section: strict YAML, validation, byte-stable JSON."""

from __future__ import annotations

import json

import pytest
import yaml

from hades_zoo.data.inner_loop import InnerLoopConfig
from hades_zoo.data.recipe_io import (
    apply_overrides,
    dump_recipe,
    load_recipe,
    recipe_from_dict,
    recipe_to_dict,
    recipe_to_json,
)
from hades_zoo.errors import RecipeError

INNER = ("inner_loop:\n  widths: [32, 64, 128]\n  depths: [1, 2, 3]\n"
         "  activations: [tanh, relu]\n  bc_lr: [3e-3, 3.0e-2]\n  bc_steps: [25, 100]\n")


def _rr_dict(cartpole_recipe) -> dict:
    data = recipe_to_dict(cartpole_recipe)
    data.update(name="cartpole-RR-2", variant="RR")
    data.update(yaml.safe_load(INNER))
    return data


def test_yaml_round_trip(tmp_path, cartpole_recipe):
    path = tmp_path / "rr.yaml"
    path.write_text(yaml.safe_dump(_rr_dict(cartpole_recipe)))
    r = load_recipe(path)
    assert r.inner_loop == InnerLoopConfig(widths=(32, 64, 128), depths=(1, 2, 3),
                                           activations=("tanh", "relu"),
                                           bc_lr=(3e-3, 3e-2), bc_steps=(25, 100))
    assert (r.inner_loop.max_width, r.inner_loop.max_depth, r.inner_loop.max_steps) == (
        128, 3, 100)
    hash(r)
    (tmp_path / "again.yaml").write_text(dump_recipe(r))
    assert load_recipe(tmp_path / "again.yaml") == r
    assert recipe_from_dict(json.loads(recipe_to_json(r))) == r
    assert json.loads(recipe_to_json(r))["inner_loop"]["widths"] == [32, 64, 128]


def test_1e_minus_3_without_a_dot_reads_as_a_number(tmp_path, cartpole_recipe):
    """PyYAML reads '3e-3' as a string; recipes accept it as the number it means."""
    data = yaml.safe_load(yaml.safe_dump(recipe_to_dict(cartpole_recipe)) + INNER)
    data.update(variant="RR")
    assert data["inner_loop"]["bc_lr"][0] == "3e-3"  # what PyYAML gives
    assert recipe_from_dict(data).inner_loop.bc_lr == (3e-3, 3e-2)


def test_defaults_and_other_variants_keep_their_bytes(cartpole_recipe):
    """No inner_loop key in non-RR recipes: their JSON (and every file's sha256) is
    unchanged."""
    assert "inner_loop" not in recipe_to_json(cartpole_recipe)
    rr = recipe_from_dict({**_rr_dict(cartpole_recipe), "inner_loop": {}})
    assert rr.inner_loop == InnerLoopConfig()


def test_override_sets_a_range(cartpole_recipe):
    data = apply_overrides(_rr_dict(cartpole_recipe),
                           ["inner_loop.widths=[16, 8]", "inner_loop.bc_steps=[5, 10]"])
    r = recipe_from_dict(data)
    assert r.inner_loop.widths == (16, 8) and r.inner_loop.max_width == 16
    assert r.inner_loop.bc_steps == (5, 10)


@pytest.mark.parametrize("change, match", [
    ({"widths": []}, r"inner_loop\.widths is empty"),
    ({"widths": [0, 64]}, r"inner_loop\.widths: 0 is not an integer in \[1, 16384\]"),
    ({"widths": [64, 64]}, r"inner_loop\.widths lists a value twice"),
    ({"widths": 64}, r"inner_loop\.widths: expected a list, got 64"),
    ({"widths": [32.5]}, r"inner_loop\.widths\[0\]: expected an integer"),
    ({"depths": [0]}, r"inner_loop\.depths: 0 is not an integer in \[1, 64\]"),
    ({"depths": [65]}, r"inner_loop\.depths: 65 is not"),
    ({"activations": ["tahn"]},
     r"inner_loop\.activations\[0\]: 'tahn' is not one of.*Did you mean: tanh"),
    ({"activations": []}, r"inner_loop\.activations must list"),
    ({"bc_lr": [0.03, 0.001]},
     r"inner_loop\.bc_lr must be \[low, high\].*0\.0 < low <= high < 10\.0"),
    ({"bc_lr": [0.0, 0.01]}, r"inner_loop\.bc_lr must be \[low, high\]"),
    ({"bc_lr": [0.001, 20.0]}, r"inner_loop\.bc_lr must be \[low, high\]"),
    ({"bc_lr": [0.001]}, r"inner_loop\.bc_lr: expected a list of 2 values"),
    ({"bc_steps": [0, 10]}, r"inner_loop\.bc_steps must be \[low, high\].*1 <= low"),
    ({"bc_steps": [100, 50]}, r"inner_loop\.bc_steps must be \[low, high\]"),
    ({"bc_steps": [10, 20.5]}, r"inner_loop\.bc_steps\[1\]: expected an integer"),
    ({"bc_step": [10, 20]}, r"inner_loop\.bc_step: unknown key\. Did you mean: bc_steps"),
])
def test_bad_ranges_raise_recipe_error(tmp_path, cartpole_recipe, change, match):
    data = _rr_dict(cartpole_recipe)
    data["inner_loop"].update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RecipeError, match=match):
        load_recipe(path)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.pop("inner_loop"), r"variant 'RR' needs an inner_loop: section"),
    (lambda d: d.update(variant="R"), r"inner_loop: is only used by variant 'RR'.*remove"),
    (lambda d: d.update(num_inits=1), r"num_inits must be >= 2 for HaDES-RR"),
    (lambda d: d["policy"].update(init_seed=420),
     r"variant 'RR' draws a fresh init.*init_seed: null"),
    (lambda d: d["policy"].update(init="lecun"), r"policy\.init: orthogonal"),
    (lambda d: d.update(variant="RX"),
     r"variant: 'RX' is not one of .*'RR'.*Did you mean: R, RR"),
])
def test_bad_rr_recipes_raise_recipe_error(cartpole_recipe, change, match):
    data = _rr_dict(cartpole_recipe)
    change(data)
    with pytest.raises(RecipeError, match=match):
        recipe_from_dict(data)


def test_direct_construction_is_validated_too():
    with pytest.raises(RecipeError, match=r"inner_loop\.bc_steps: 2\.5 is not an integer"):
        InnerLoopConfig(bc_steps=(1, 2.5)).validate()
    with pytest.raises(RecipeError, match=r"activations: 'gelu' is not 'tanh' or 'relu'"):
        InnerLoopConfig(activations=("gelu",)).validate()
