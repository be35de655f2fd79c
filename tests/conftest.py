"""Shared fixtures: keys, an isolated cache, tiny recipes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest

from hades_zoo.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.recipes import Recipe, load_recipe

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def key() -> jax.Array:
    return jax.random.key(0)


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own hades_zoo and Hugging Face cache."""
    monkeypatch.setenv("HADES_ZOO_CACHE", str(tmp_path / "hz_cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "0")  # jax's cache dir is process-global
    return tmp_path / "hz_cache"


@pytest.fixture
def cartpole_recipe() -> Recipe:
    return load_recipe(REPO / "recipes" / "cartpole-R-2.yaml")


@pytest.fixture
def tiny_recipe(cartpole_recipe) -> Recipe:
    """pop 8, D 2, 2 generations, 10 BC steps, 50 env steps."""
    r = cartpole_recipe
    return r.replace(
        name="tiny-R-2",
        policy=dataclasses.replace(r.policy, width=16),
        bc=dataclasses.replace(r.bc, steps=10),
        eval=dataclasses.replace(r.eval, num_envs=2, num_steps=50),
        es=dataclasses.replace(r.es, popsize=8, generations=2, log_every=1),
    )


@pytest.fixture
def cartpole_dataset(cartpole_recipe) -> SyntheticDataset:
    """A hand-made 2-pair CartPole dataset (push left when the pole leans left)."""
    states = np.array([[0.0, 0.0, -0.2, -1.0], [0.0, 0.0, 0.2, 1.0]], np.float32)
    return SyntheticDataset(
        states=states,
        labels=np.array([0, 1], np.int32),
        mask=np.array([True, True]),
        recipe=cartpole_recipe,
        info=DatasetInfo(dataset_id="cartpole-R-2", fitness=500.0,
                         fitness_kind="hand-made", provenance_json='{"source": "test"}'),
    )


@pytest.fixture
def hopper_dataset() -> SyntheticDataset:
    """A small continuous (brax hopper) dataset; arrays are arbitrary but valid."""
    from hades_zoo.recipes import (BCConfig, DatasetConfig, EnvConfig, EvalConfig,
                                   PolicyConfig)

    rng = np.random.default_rng(0)
    recipe = Recipe(name="hopper-R-4", variant="R",
                    env=EnvConfig(name="hopper", backend="positional", obs_norm="const"),
                    dataset=DatasetConfig(size=4), policy=PolicyConfig(width=32),
                    bc=BCConfig(steps=5), eval=EvalConfig(num_envs=2, num_steps=20))
    return SyntheticDataset(
        states=rng.normal(size=(4, 11)).astype(np.float32),
        actions=rng.normal(size=(4, 3)).astype(np.float32),
        obs_mean=np.zeros(11, np.float32), obs_var=np.ones(11, np.float32),
        recipe=recipe, info=DatasetInfo(dataset_id="hopper-R-4"),
    )
