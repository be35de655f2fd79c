"""Recipe loading is strict; validation names the field and the fix."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from hades_zoo.data.recipe_io import (
    dump_recipe,
    load_recipe,
    recipe_from_dict,
    recipe_to_dict,
)
from hades_zoo.errors import RecipeError


def _write(tmp_path, data) -> str:
    p = tmp_path / "r.yaml"
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def test_roundtrip(tmp_path, cartpole_recipe):
    path = tmp_path / "out.yaml"
    dump_recipe(cartpole_recipe, path)
    assert load_recipe(path) == cartpole_recipe
    assert recipe_from_dict(recipe_to_dict(cartpole_recipe)) == cartpole_recipe
    hash(cartpole_recipe)  # frozen and hashable


def _base(cartpole_recipe):
    return recipe_to_dict(cartpole_recipe)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d["es"].update(popsiz=3), r"es\.popsiz: unknown key\. Did you mean: popsize"),
        (lambda d: d.update(variant="X"), r"variant: 'X' is not one of"),
        (lambda d: d["bc"].update(steps="ten"), r"bc\.steps: expected an integer"),
        (lambda d: d["bc"].update(lr=-1.0), r"bc\.lr must be in \(0, 10\)"),
        (lambda d: d["es"].update(popsize=7), r"antithetic pairs.*even"),
        (lambda d: d["env"].update(backend="Spring!"),
         r"env\.backend: 'Spring!' is not a backend name.*Did you mean: spring"),
        (lambda d: d["env"].update(compat="gymnax 0.0.6"),
         r"env\.compat: 'gymnax 0\.0\.6' is not a shim name"),
        (lambda d: d["env"].update(obs_norm="z"), r"env\.obs_norm: 'z' is not one of"),
        (lambda d: d.update(variant="F"), r"variant 'F' needs policy\.init_seed"),
        (lambda d: d.update(num_inits=1), r"num_inits must be >= 2 for HaDES-R"),
        (lambda d: d["eval"].update(greedy="yes"), r"eval\.greedy: expected true/false"),
        (lambda d: d.pop("env"), r"missing required key\(s\) env"),
        (lambda d: d["es"].update(eval_chunk=5), r"eval_chunk=5 must divide popsize=64"),
        (lambda d: d.update(recipe_version=99), r"recipe_version=99 is not supported"),
    ],
)
def test_invalid_recipes(tmp_path, cartpole_recipe, mutate, match):
    data = _base(cartpole_recipe)
    mutate(data)
    with pytest.raises(RecipeError, match=match):
        load_recipe(_write(tmp_path, data))


def test_a_backend_no_provider_serves_is_refused_when_the_env_is_built(tmp_path,
                                                                     cartpole_recipe):
    """A well-formed backend may name a provider that is not installed (a dataset names
    its provider wherever it is read): the recipe loads, building the env says which
    backends exist, as for an unknown env name."""
    from hades_zoo.engine.envs import make_env
    from hades_zoo.errors import EnvError, MissingEnvProviderError

    data = _base(cartpole_recipe)
    data["env"].update(backend="sprng")
    recipe = load_recipe(_write(tmp_path, data))
    with pytest.raises(MissingEnvProviderError,
                       match=r"unknown env backend 'sprng'.*Did you mean: spring"):
        make_env(recipe.env)
    assert issubclass(MissingEnvProviderError, EnvError)


def test_invalid_yaml_and_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(_write(tmp_path, "name: [unclosed"))
    with pytest.raises(RecipeError, match="cannot read recipe"):
        load_recipe(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError, match="must be a mapping"):
        load_recipe(_write(tmp_path, "- a\n- b\n"))


def test_popsize_need_not_divide_devices(cartpole_recipe):
    """The population is padded to a multiple of the device count (engine.parallel)."""
    r = cartpole_recipe.replace(es=dataclasses.replace(cartpole_recipe.es, popsize=6))
    assert r.validate(num_devices=4) is r


def test_one_width_and_depth_limit_for_recipes_overrides_and_inner_loops():
    """train --width allowed 8192 while a file's policy.width was checked against 16384
    'the largest policy width hades_zoo trains': one constant, one message."""
    import dataclasses

    from hades_zoo.data.inner_loop import InnerLoopConfig
    from hades_zoo.data.limits import MAX_POLICY_DEPTH, MAX_POLICY_WIDTH
    from hades_zoo.data.recipe import PolicyConfig
    from hades_zoo.engine.evaluation import with_overrides
    from hades_zoo.errors import RecipeError
    from hades_zoo.zoo.registry import load_zoo_dataset

    recipe = load_zoo_dataset("cartpole-F-2.hz").recipe
    for kind, top in (("width", MAX_POLICY_WIDTH), ("depth", MAX_POLICY_DEPTH)):
        said = f"over {top}, the largest policy {kind} hades_zoo trains; use at most {top}"
        with pytest.raises(RecipeError, match=said):
            PolicyConfig(**{"width": 64, "depth": 2, kind: top + 1}).validate()
        with pytest.raises(RecipeError, match=said):
            with_overrides(recipe, **{kind: top + 1})
        assert getattr(with_overrides(recipe, **{kind: top}).policy, kind) == top
        loop = InnerLoopConfig(**{f"{kind}s": (top,)})
        loop.validate()  # the same top is accepted in an inner loop's ranges
        with pytest.raises(RecipeError, match=rf"\[1, {top}\]"):
            dataclasses.replace(loop, **{f"{kind}s": (top + 1,)}).validate()
