"""What each number of an env's observation and action means: asked of the env's provider.

``observation_names(cfg)`` names every entry of the flat observation a dataset stores
(``obs_dim`` names), ``action_names(cfg)`` every continuous action dim or discrete
action (``action_dim`` names), and ``channel_names(cfg)`` the channels of an image
observation (MinAtar ``10x10xC``, Pong-misc ``30x40x3``; None for flat observations).
The plots (``hades_zoo.zoo.plotting``) label their axes with them.

The names live with each env family (``EnvProvider.observation_names`` & co.): brax's
are read from the MJCF model and ``_get_obs`` (``brax/names.py``), gymnax's from the
gymnax sources (``gymnax/names.py``); a registered env gives its own
(``register_env(..., observation_names=...)``). This module checks that there is one
name per entry. An env without names raises ``EnvError``; plots then fall back to
indices.
"""

from __future__ import annotations

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.registry import EnvProvider, env_spec, provider_for
from hades_zoo.errors import EnvError

__all__ = ["action_names", "channel_names", "named_envs", "observation_names"]


def _where_to_add(provider: EnvProvider, what: str) -> str:
    if provider.name in ("brax", "gymnax"):
        return f"add the env to hades_zoo/engine/envs/{provider.name}/names.py"
    return (f"give them to its provider (register_env(..., {what}_names=[...]) or "
            f"EnvProvider({what}_names=...))")


def _unnamed(cfg: EnvConfig, provider: EnvProvider, what: str) -> EnvError:
    return EnvError(
        f"no {what} names for env {cfg.name!r} (provider {provider.name!r}): names are "
        f"known for {', '.join(named_envs())}. Use indices, or "
        f"{_where_to_add(provider, what)}.")


def named_envs() -> list[str]:
    """The env names ``observation_names`` / ``action_names`` know (zoo envs and more):
    the built-in tables and registered envs given names."""
    from hades_zoo.engine.envs import registry
    from hades_zoo.engine.envs.brax import BRAX_SPECS
    from hades_zoo.engine.envs.gymnax.names import NAMED_ENVS

    own = [name for envs in registry._ENVS.values() for name, entry in envs.items()
           if entry.observation_names is not None]
    from hades_zoo.engine.envs.playground.names import NAMED_TASKS

    return sorted(BRAX_SPECS) + list(NAMED_ENVS) + sorted(NAMED_TASKS) + sorted(own)


def _checked(cfg: EnvConfig, names, size: int, what: str) -> list[str]:
    if len(names) != size:
        raise EnvError(
            f"{len(names)} {what} names for env {cfg.name!r} but it has {size} "
            f"{what}s: the installed env differs from the one its name table was "
            "written for; fix the table (hades_zoo/engine/envs/<family>/names.py, or "
            "the names the env was registered with).")
    if not all(isinstance(n, str) for n in names):
        raise EnvError(f"the {what} names of env {cfg.name!r} must be strings.")
    return list(names)


def _names(cfg: EnvConfig, what: str, size_of: str) -> list[str]:
    provider = provider_for(cfg)
    fn = getattr(provider, f"{what}_names")
    names = None if fn is None else fn(cfg)
    if names is None:
        raise _unnamed(cfg, provider, what)
    return _checked(cfg, names, getattr(env_spec(cfg), size_of), what)


def observation_names(cfg: EnvConfig) -> list[str]:
    """Names of the (obs_dim,) flat observation, e.g. hopper's ``"torso z (height)"``.

    Args:
        cfg: the env (``recipe.env``).

    Returns:
        ``obs_dim`` strings. Image observations (MinAtar, Pong-misc) are flattened
        row-major ``(row, col, channel)``: ``"ball at (row 3, col 5)"``.

    Raises:
        EnvError: an unknown env, an image-classification dataset, an env without a
            name table, or names that do not fit the installed env's size.

    Source: the env definitions, through the env's provider (module doc).
    """
    return _names(cfg, "observation", "obs_dim")


def action_names(cfg: EnvConfig) -> list[str]:
    """Names of the actions: continuous dims (brax: ``"<joint> torque"``) or the
    discrete actions (MinAtar ``noop``/``left``/``right``/``fire``...).

    Args:
        cfg: the env (``recipe.env``).

    Returns:
        ``action_dim`` strings, in action order.

    Raises:
        EnvError: as ``observation_names``.
    """
    return _names(cfg, "action", "action_dim")


def channel_names(cfg: EnvConfig) -> list[str] | None:
    """Names of the channels of an image observation (MinAtar Breakout: ``paddle``,
    ``ball``, ``trail``, ``brick``), or None for a flat observation.

    Raises:
        EnvError: an unknown env or an image-classification dataset.
    """
    provider = provider_for(cfg)
    channels = None if provider.channel_names is None else provider.channel_names(cfg)
    return None if channels is None else list(channels)

