"""Envs registered one at a time: ``register_env`` and the provider it fills.

``register_env(name, factory, provider="myenvs", ...)`` adds one env to a provider
made on first use (recipe ``env: {name: <name>, backend: myenvs}``). ``factory(cfg)``
returns ``(reset, step)``, pure functions in the Env contract (``contract``), or an
``Env``; ``adapters.from_gymnax`` / ``from_brax_like`` make such factories of env
objects. Called while a ``hades_zoo.envs`` entry point loads (``entry_points``), the
env's package and version default to that entry point's distribution, so a dataset
records what to install. Every env it builds is checked against the contract.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from hades_zoo.data.recipe import BACKEND_NAME, COMPAT_NAME, EnvConfig
from hades_zoo.engine.envs import registry
from hades_zoo.engine.envs.contract import Env, EnvSpec, _traced, _what
from hades_zoo.engine.envs.provider import EnvProvider, NamesFn
from hades_zoo.errors import EnvError, HadesZooError

__all__ = ["DEFAULT_PROVIDER", "register_env"]

#: The provider ``register_env`` uses when none is named.
DEFAULT_PROVIDER = "local"


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Registered:
    """One ``register_env`` env."""

    name: str
    factory: Callable[[EnvConfig], Any]
    obs_dim: int | None
    action_dim: int | None
    discrete: bool
    max_episode_steps: int | None
    observation_names: NamesFn | None
    action_names: NamesFn | None
    channel_names: NamesFn | None
    render: Callable[..., Any] | None
    compat: tuple[str, ...]
    origin: str


def _names_fn(value: Any, what: str, name: str) -> NamesFn | None:
    if value is None or callable(value):
        return value
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise EnvError(f"register_env({name!r}): {what} must be a sequence of strings "
                       "or a function of the EnvConfig.")
    names = tuple(value)
    return lambda cfg: names


def register_env(name: str, factory: Callable[[EnvConfig], Any], *,
                 provider: str = DEFAULT_PROVIDER, obs_dim: int | None = None,
                 action_dim: int | None = None, discrete: bool = False,
                 max_episode_steps: int | None = None, package: str | None = None,
                 version: str | None = None, install_hint: str = "",
                 observation_names: Sequence[str] | NamesFn | None = None,
                 action_names: Sequence[str] | NamesFn | None = None,
                 channel_names: Sequence[str] | NamesFn | None = None,
                 render: Callable[..., Any] | None = None, compat: Sequence[str] = (),
                 replace: bool = False) -> None:
    """Register one env, built by ``factory``, under ``provider``.

    A recipe then names it as ``env: {name: <name>, backend: <provider>}``.

    Args:
        name: the env id (``PointMass-v0``).
        factory: ``factory(cfg: EnvConfig) -> (reset, step)``, pure functions in the
            Env contract (``contract``: ``reset(key) -> (obs (obs_dim,), state)``,
            ``step(key, state, action) -> (obs, state, reward (), done ())`` with
            auto-reset), or ``-> Env``. ``adapters.from_gymnax(env, params)`` and
            ``adapters.from_brax_like(env)`` return such factories.
        provider: the provider (recipe backend) it belongs to; created on first use.
        obs_dim: observation size; None: read from ``reset`` by ``jax.eval_shape``
            when the env is built. Give it (with ``action_dim``) for a cheap spec.
        action_dim: continuous action size or number of discrete actions; needed
            when the factory returns ``(reset, step)``.
        discrete: integer actions in ``[0, action_dim)``.
        max_episode_steps: the episode cap ``step`` truncates at (None: the
            recipe's ``env.episode_length``).
        package, version, install_hint: the distribution that provides the env, for
            what a dataset records (default while a ``hades_zoo.envs`` entry point
            loads: that entry point's distribution and its version; else none).
        observation_names, action_names, channel_names: names for plots: a
            sequence, or ``fn(cfg) -> sequence``.
        render: the env's drawer, ``render(env_config, recorded, *, width, height)``.
        compat: env-version shim names ``factory`` understands (``env.compat``).
        replace: replace an env of this name registered before.

    Raises:
        EnvError: a bad name, factory or option; an env registered twice (naming
            both origins); a provider name that is built in or was registered by
            ``register_provider``; one provider claimed by two packages.
    """
    registry._ensure_builtins()
    if not isinstance(name, str) or not name or len(name) > 256 or not name.isprintable():
        raise EnvError(f"register_env: env name {name!r} must be a printable string of "
                       "1 to 256 characters.")
    if not callable(factory):
        raise EnvError(f"register_env({name!r}): factory must be a function of the "
                       f"EnvConfig returning (reset, step) or an Env, got "
                       f"{type(factory).__name__}.")
    for what, value in (("obs_dim", obs_dim), ("action_dim", action_dim),
                        ("max_episode_steps", max_episode_steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value <= 0):
            raise EnvError(f"register_env({name!r}): {what} must be a positive integer, "
                           f"got {value!r}.")
    for shim in compat:
        if not isinstance(shim, str) or not COMPAT_NAME.fullmatch(shim):
            raise EnvError(f"register_env({name!r}): compat shim {shim!r} is not a shim "
                           "name (letters, digits, '.', '_', '+', '-').")
    if not isinstance(provider, str) or not BACKEND_NAME.fullmatch(provider):
        raise EnvError(
            f"register_env: provider {provider!r} cannot be a recipe's env.backend; use "
            "lowercase letters, digits, '-', '_' and '.' (at most 64 characters).")
    origin = registry._origin()
    if package is None:
        package = registry._LOADING[-1][0] if registry._LOADING else ""
        if version is None and registry._LOADING:
            version = registry._LOADING[-1][1]
    entry = _Registered(
        name=name, factory=factory, obs_dim=obs_dim, action_dim=action_dim,
        discrete=bool(discrete), max_episode_steps=max_episode_steps,
        observation_names=_names_fn(observation_names, "observation_names", name),
        action_names=_names_fn(action_names, "action_names", name),
        channel_names=_names_fn(channel_names, "channel_names", name),
        render=render, compat=tuple(compat), origin=origin)
    with registry._LOCK:
        if provider not in registry._ENVS:
            if provider in registry._PROVIDERS:
                raise EnvError(
                    f"register_env({name!r}): provider {provider!r} is an EnvProvider "
                    f"of {registry._ORIGINS[provider]}; name your own provider, e.g. "
                    f"provider='my{provider}'.")
            registry._add(_registered_provider(provider, package, version, install_hint),
                          origin=origin, replace=False)
            registry._ENVS[provider] = {}
        else:
            current = registry._PROVIDERS[provider]
            if package != current.package:
                raise EnvError(
                    f"register_env({name!r}): provider {provider!r} was registered by "
                    f"{registry._ORIGINS[provider]}"
                    + (f" (package {current.package!r})" if current.package else "")
                    + f", not by {origin}; use another provider name.")
        envs = registry._ENVS[provider]
        if name in envs and not replace:
            raise EnvError(
                f"env {name!r} of provider {provider!r} is registered twice: by "
                f"{envs[name].origin} and by {origin}; pass replace=True to replace it, "
                "or register it under another name.")
        envs[name] = entry
        registry.make_env.cache_clear()


def _registered_provider(provider: str, package: str, version: str | None,
                         install_hint: str) -> EnvProvider:
    where = functools.partial
    return EnvProvider(
        name=provider, make=where(_make_registered, provider),
        env_ids=where(lambda p: tuple(registry._ENVS.get(p, ())), provider),
        spec=where(_spec_registered, provider), package=package, version=version,
        install_hint=install_hint,
        observation_names=where(_registered_names, provider, "observation_names"),
        action_names=where(_registered_names, provider, "action_names"),
        channel_names=where(_registered_names, provider, "channel_names"),
        render=where(_render_registered, provider),
        description="envs registered with register_env")


def _entry(provider: str, name: str) -> _Registered:
    try:
        return registry._ENVS[provider][name]
    except KeyError:
        raise EnvError(f"env {name!r} is not registered with provider {provider!r}.") from None


def _where(provider: str, name: str) -> str:
    return f"env {name!r} (provider {provider!r}, from {_entry(provider, name).origin})"


def _make_registered(provider: str, cfg: EnvConfig) -> Env:
    import jax

    entry, where = _entry(provider, cfg.name), _where(provider, cfg.name)
    try:
        out = entry.factory(cfg)
    except HadesZooError:
        raise
    except Exception as err:
        raise EnvError(f"{where}: its factory raised {type(err).__name__}: {err}; fix "
                       "the factory (docs/ENVIRONMENTS.md).") from err
    if isinstance(out, Env):
        return dataclasses.replace(out, config=cfg)
    if not (isinstance(out, tuple) and len(out) == 2 and all(map(callable, out))):
        raise EnvError(f"{where}: its factory returned {_what(out)}; return (reset, "
                       "step), two functions in the Env contract, or an Env "
                       "(docs/ENVIRONMENTS.md).")
    reset, step = out
    if entry.action_dim is None:
        raise EnvError(f"{where}: the factory returns (reset, step), so the action size "
                       "is unknown; pass register_env(..., action_dim=N) (and "
                       "discrete=True for N discrete actions).")
    obs_dim = entry.obs_dim
    if obs_dim is None:
        obs = _traced(reset, (jax.random.key(0),), where, "reset(key)")
        obs = obs[0] if isinstance(obs, tuple) and obs else obs
        shape = tuple(getattr(obs, "shape", ()))
        obs_dim = shape[0] if len(shape) == 1 else max(1, math.prod(shape))
    spec = EnvSpec(int(obs_dim), entry.action_dim, entry.discrete,
                   entry.max_episode_steps or cfg.episode_length)
    return Env(cfg, spec, reset, step)


def _spec_registered(provider: str, cfg: EnvConfig) -> EnvSpec:
    entry = _entry(provider, cfg.name)
    if entry.obs_dim is not None and entry.action_dim is not None:
        return EnvSpec(entry.obs_dim, entry.action_dim, entry.discrete,
                       entry.max_episode_steps or cfg.episode_length)
    return registry.make_env(cfg).spec


def _registered_names(provider: str, field: str, cfg: EnvConfig):
    fn = getattr(_entry(provider, cfg.name), field)
    return None if fn is None else fn(cfg)


def _render_registered(provider: str, env_config: EnvConfig, recorded: Any, **size: Any):
    fn = _entry(provider, env_config.name).render
    if fn is None:
        raise EnvError(f"env {env_config.name!r} (provider {provider!r}) has no renderer; "
                       "pass register_env(..., render=fn).")
    return fn(env_config, recorded, **size)
