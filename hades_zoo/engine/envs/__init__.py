"""Environment adapters behind one functional API (gymnax, brax, MuJoCo Playground).

``make_env(EnvConfig) -> Env`` returns pure, jittable single-env functions:

- ``reset(key) -> (obs (obs_dim,), state)``
- ``step(key, state, action) -> (obs, state, reward, done)``

``step`` auto-resets: when ``done`` is true the returned ``obs``/``state`` already
belong to the next episode. gymnax resets to a freshly sampled initial state; brax's
``AutoResetWrapper`` (as in the reference protocol) resets each env to the initial
state drawn at its first ``reset``. Observations are flat float32 vectors; brax
actions are clipped to [-1, 1] before stepping (the reference ``ClipAction``).
MuJoCo Playground tasks (``backend: playground``, the folder ``playground/``) truncate
at ``episode_length``, reset to a freshly drawn state and clip actions likewise.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from hades_zoo.data.recipe import (
    BRAX_BACKENDS,
    IMAGE_BACKEND,
    PLAYGROUND_BACKEND,
    EnvConfig,
)
from hades_zoo.errors import EnvError, close_matches

__all__ = ["Env", "EnvSpec", "make_env", "env_spec", "check_dataset_fits_env", "known_envs",
           "IMAGE_SPECS"]


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Static facts of an env: obs size, action size (or count), kind, episode cap."""

    obs_dim: int
    action_dim: int
    discrete: bool
    max_episode_steps: int = 1000


@dataclasses.dataclass(frozen=True, eq=False)
class Env:
    """A built environment: spec plus pure ``reset`` / ``step`` functions."""

    config: EnvConfig
    spec: EnvSpec
    reset: Callable[[Any], tuple[Any, Any]]
    step: Callable[[Any, Any, Any], tuple[Any, Any, Any, Any]]


# Brax envs we support and their (obs_dim, action_dim) under brax 0.14; verified by
# tests/test_envs.py against the real envs, so `load` can check shapes without physics.
BRAX_SPECS: dict[str, tuple[int, int]] = {
    "ant": (27, 8),
    "halfcheetah": (17, 6),
    "hopper": (11, 3),
    "humanoid": (244, 17),
    "humanoidstandup": (244, 17),
    "inverted_double_pendulum": (8, 1),
    "inverted_pendulum": (4, 1),
    "reacher": (11, 2),
    "walker2d": (17, 6),
}


# Image-classification datasets: (pixels per image, classes). No simulator: the
# "observations" are flattened images and the "actions" class labels.
IMAGE_SPECS: dict[str, tuple[int, int]] = {
    "MNIST": (28 * 28, 10),
    "FashionMNIST": (28 * 28, 10),
}


def _gymnax_ids() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs)


def known_envs() -> list[str]:
    """All env names ``make_env`` accepts (Playground: its offline DM Control tasks)."""
    from hades_zoo.engine.envs.playground import PLAYGROUND_SPECS

    return (sorted(BRAX_SPECS) + sorted(_gymnax_ids()) + sorted(IMAGE_SPECS)
            + sorted(PLAYGROUND_SPECS))


def _check_config(cfg: EnvConfig) -> str:
    """Return 'brax', 'gymnax', 'image' or 'playground', raising EnvError on unknown
    names/backends."""
    # MuJoCo Playground: the one hook of the family (hades_zoo/engine/envs/playground/).
    if cfg.backend == PLAYGROUND_BACKEND:
        from hades_zoo.engine.envs.playground import check_playground_config

        check_playground_config(cfg)
        return "playground"
    if cfg.name in IMAGE_SPECS or cfg.backend == IMAGE_BACKEND:
        if cfg.name not in IMAGE_SPECS or cfg.backend != IMAGE_BACKEND:
            raise EnvError(
                f"image datasets use backend {IMAGE_BACKEND!r} with one of "
                f"{', '.join(sorted(IMAGE_SPECS))}; got env {cfg.name!r} on backend "
                f"{cfg.backend!r}.{close_matches(cfg.name, IMAGE_SPECS)}"
            )
        return "image"
    if cfg.name in BRAX_SPECS:
        if cfg.backend not in BRAX_BACKENDS:
            raise EnvError(
                f"brax env {cfg.name!r} needs a physics backend, one of "
                f"{', '.join(BRAX_BACKENDS)}; got {cfg.backend!r} (the published "
                "datasets used 'positional')."
            )
        return "brax"
    from hades_zoo.engine.envs.playground import PLAYGROUND_SPECS

    if cfg.name in PLAYGROUND_SPECS:
        raise EnvError(f"{cfg.name!r} is a MuJoCo Playground task; set backend: "
                       f"{PLAYGROUND_BACKEND} (got {cfg.backend!r}).")
    if cfg.name in _gymnax_ids():
        if cfg.backend != "gymnax":
            raise EnvError(
                f"{cfg.name!r} is a gymnax env; set backend: gymnax (got {cfg.backend!r})."
            )
        return "gymnax"
    raise EnvError(
        f"unknown env {cfg.name!r}.{close_matches(cfg.name, known_envs())} Known envs: "
        f"{', '.join(known_envs())}."
    )


def env_spec(cfg: EnvConfig) -> EnvSpec:
    """Shapes of an env without building its physics (cheap)."""
    family = _check_config(cfg)
    if family == "brax":
        obs, act = BRAX_SPECS[cfg.name]
        return EnvSpec(obs, act, False, cfg.episode_length)
    if family == "image":
        pixels, classes = IMAGE_SPECS[cfg.name]
        return EnvSpec(pixels, classes, True, 0)
    if family == "playground":
        from hades_zoo.engine.envs.playground import PLAYGROUND_SPECS

        if cfg.name in PLAYGROUND_SPECS:
            obs, act = PLAYGROUND_SPECS[cfg.name]
            return EnvSpec(obs, act, False, cfg.episode_length)
    return make_env(cfg).spec


@functools.lru_cache(maxsize=32)
def make_env(cfg: EnvConfig) -> Env:
    """Build (and cache) the env described by ``cfg``.

    Raises:
        EnvError: unknown env name or backend.
    """
    import jax

    family = _check_config(cfg)
    if family == "image":
        raise EnvError(
            f"{cfg.name!r} is an image-classification dataset, not an environment: "
            "train and evaluate it with hades_zoo.engine.tasks.image (`hades-zoo eval`)."
        )
    # Env constructors compute arrays (brax's system); when the first call happens
    # inside a jit trace they must still be concrete, or this cache would keep tracers.
    with jax.ensure_compile_time_eval():
        if family == "brax":
            from hades_zoo.engine.envs.brax_env import make_brax_env

            return make_brax_env(cfg)
        if family == "playground":
            from hades_zoo.engine.envs.playground import make_playground_env

            return make_playground_env(cfg)
        from hades_zoo.engine.envs.gymnax_env import make_gymnax_env

        return make_gymnax_env(cfg)


def check_dataset_fits_env(ds) -> None:
    """Raise EnvError when a dataset's arrays do not match its env's spaces: the
    observation size, the action kind, the action size (continuous), the label range
    and the ``label_logits`` width (discrete: one column per action)."""
    spec = env_spec(ds.recipe.env)
    if ds.obs_dim != spec.obs_dim:
        raise EnvError(
            f"dataset {ds.info.dataset_id!r} has states of size {ds.obs_dim} but env "
            f"{ds.recipe.env.name!r} ({ds.recipe.env.backend}) observes {spec.obs_dim} "
            "values; was it distilled for another env or env version?"
        )
    if spec.discrete != ds.discrete:
        kind = "discrete" if spec.discrete else "continuous"
        raise EnvError(
            f"env {ds.recipe.env.name!r} has {kind} actions but dataset "
            f"{ds.info.dataset_id!r} stores {'labels' if ds.discrete else 'actions'}."
        )
    if not spec.discrete and ds.actions.shape[1] != spec.action_dim:
        raise EnvError(
            f"dataset {ds.info.dataset_id!r} has actions of size {ds.actions.shape[1]} but "
            f"env {ds.recipe.env.name!r} takes {spec.action_dim}."
        )
    if spec.discrete and ds.label_logits is not None:
        width = int(ds.label_logits.shape[1])
        if width != spec.action_dim:
            raise EnvError(
                f"dataset {ds.info.dataset_id!r} has label_logits of width {width} but "
                f"env {ds.recipe.env.name!r} has {spec.action_dim} actions; the logits "
                "need one column per action: was it distilled for another env? "
                "Regenerate it for this env."
            )
    if spec.discrete and ds.labels is not None:
        import numpy as np

        if int(np.max(np.asarray(ds.labels))) >= spec.action_dim:
            raise EnvError(
                f"dataset {ds.info.dataset_id!r} has labels up to "
                f"{int(np.max(np.asarray(ds.labels)))} but env {ds.recipe.env.name!r} has "
                f"{spec.action_dim} actions."
            )
