"""The gymnax env family: classic control, MinAtar, bsuite and misc envs of gymnax.

Provider ``gymnax``, recipe backend ``gymnax``. The folder holds all that is
gymnax-specific: ``adapter`` (``gymnax.make`` + the six-value step and flattening of
``adapters.gymnax_env``), ``names`` (observation / action / channel names read from
the gymnax sources), ``compat`` (the ``gymnax-0.0.6`` SpaceInvaders shim). gymnax is
imported only when its env list, an env or names are needed.
"""

from __future__ import annotations

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.contract import Env
from hades_zoo.engine.envs.provider import EnvProvider

__all__ = ["PROVIDER"]


def _env_ids() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs)


def _make(cfg: EnvConfig) -> Env:
    from hades_zoo.engine.envs.gymnax.adapter import make_gymnax_env

    return make_gymnax_env(cfg)


def _names(index: int):
    def names(cfg: EnvConfig):
        from hades_zoo.engine.envs.gymnax.names import gymnax_names

        return gymnax_names(cfg.name, cfg.compat)[index]

    return names


def _channel_names(cfg: EnvConfig):
    from hades_zoo.engine.envs.gymnax.names import channel_names

    return channel_names(cfg)


PROVIDER = EnvProvider(
    name="gymnax",
    make=_make,
    env_ids=_env_ids,
    package="gymnax",
    install_hint="pip install 'gymnax>=1.0,<1.1' six",
    observation_names=_names(0),
    action_names=_names(1),
    channel_names=_channel_names,
    compat=("gymnax-0.0.6",),
    description="gymnax: classic control, MinAtar, bsuite, misc",
    checked=False,
)
