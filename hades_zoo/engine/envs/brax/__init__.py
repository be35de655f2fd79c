"""The brax env family: brax's envs on its physics backends, as the reference ran them.

Provider ``brax``; a recipe names one of its physics backends, ``positional``,
``spring``, ``generalized`` or ``mjx`` (every published brax dataset used
``positional``). The folder holds all that is brax-specific: ``adapter`` (the
reference's episode / auto-reset / clip wrappers), ``names`` (observation and action
names read from the MJCF model and brax's ``_get_obs``), ``compat`` (the ``brax-0.9``
shim). brax itself is imported only when an env is built or named.
"""

from __future__ import annotations

from hades_zoo.data.recipe import BRAX_BACKENDS, EnvConfig
from hades_zoo.engine.envs.contract import Env, EnvSpec
from hades_zoo.engine.envs.provider import EnvProvider

__all__ = ["BRAX_SPECS", "PROVIDER"]

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


def _make(cfg: EnvConfig) -> Env:
    from hades_zoo.engine.envs.brax.adapter import make_brax_env

    return make_brax_env(cfg)


def _spec(cfg: EnvConfig) -> EnvSpec:
    obs, act = BRAX_SPECS[cfg.name]
    return EnvSpec(obs, act, False, cfg.episode_length)


def _observation_names(cfg: EnvConfig):
    from hades_zoo.engine.envs.brax.names import brax_names

    return brax_names(cfg.name, cfg.backend, cfg.compat)[0]


def _action_names(cfg: EnvConfig):
    from hades_zoo.engine.envs.brax.names import brax_names

    return brax_names(cfg.name, cfg.backend, cfg.compat)[1]


PROVIDER = EnvProvider(
    name="brax",
    backends=BRAX_BACKENDS,
    make=_make,
    spec=_spec,
    env_ids=lambda: BRAX_SPECS,
    package="brax",
    install_hint="pip install 'brax>=0.14,<0.15'",
    observation_names=_observation_names,
    action_names=_action_names,
    channel_names=lambda cfg: None,
    compat=("brax-0.9",),
    description="brax envs (the reference's protocol); backend: its physics pipeline",
    checked=False,
)
