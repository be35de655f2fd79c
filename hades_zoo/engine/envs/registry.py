"""The env registry: providers by name and backend, lookups, building and caching envs.

A recipe's ``env.backend`` selects a provider (``provider.EnvProvider``): brax's
physics backends (``positional`` ...) select ``brax``, ``gymnax`` and ``image`` their
families, any other backend the provider of that name. The built-in families are
folders beside this module (``BUILTIN_FAMILIES``, each exporting ``PROVIDER``),
registered on first use. Users add providers with ``register_provider``, single envs
with ``registered.register_env``, or from a package through the ``hades_zoo.envs``
entry-point group (``entry_points``), loaded lazily: the first time a backend or env
name is not found, the entry point named like the backend first, then the others.
So every published file reads as before, and a new env family is one folder or one
package.

Errors are ``EnvError`` naming the env, the provider or the package and the fix; a
backend that no installed provider serves is ``MissingEnvProviderError``.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from typing import Any

from hades_zoo.data.env_provider import EnvProviderRecord
from hades_zoo.data.recipe import BACKEND_NAME, COMPAT_NAME, EnvConfig
from hades_zoo.engine.envs.contract import Env, EnvSpec, check_env
from hades_zoo.engine.envs.provider import EnvProvider
from hades_zoo.errors import EnvError, MissingEnvProviderError, close_matches

__all__ = [
    "BUILTIN_FAMILIES",
    "describe_providers",
    "env_spec",
    "known_envs",
    "make_env",
    "provider_for",
    "provider_record",
    "providers",
    "register_provider",
    "render_for",
]

#: Built-in families: ``hades_zoo.engine.envs.<family>.PROVIDER``, registered first.
BUILTIN_FAMILIES = ("brax", "gymnax", "image", "playground")
BUILT_IN = "hades_zoo (built in)"

# ------------------------------------------------------------------ registry state
_LOCK = threading.RLock()
_PROVIDERS: dict[str, EnvProvider] = {}  # by name, in registration order
_ORIGINS: dict[str, str] = {}  # provider name -> who registered it
_BY_BACKEND: dict[str, str] = {}  # env.backend -> provider name
_ENVS: dict[str, dict[str, Any]] = {}  # register_env providers: env name -> entry
_ENTRY_POINTS: dict[str, EnvError | None] = {}  # tried entry points -> failure
_LOADING: list[tuple[str, str, str]] = []  # entry points being loaded: (dist, version, label)
_BUILTINS: list[bool] = []  # [True] once the built-in families are registered


def _ensure_builtins() -> None:
    if _BUILTINS:
        return
    with _LOCK:
        if _BUILTINS:
            return
        for family in BUILTIN_FAMILIES:
            module = importlib.import_module(f"hades_zoo.engine.envs.{family}")
            _add(module.PROVIDER, origin=BUILT_IN, replace=False)
        _BUILTINS.append(True)


def _origin() -> str:
    if _LOADING:
        return _LOADING[-1][2]
    return "this program"


def _check_provider(provider: Any) -> EnvProvider:
    if not isinstance(provider, EnvProvider):
        raise EnvError(f"register_provider takes an EnvProvider, got "
                       f"{type(provider).__name__}.")
    for backend in (provider.name, *provider.backends):
        if not isinstance(backend, str) or not BACKEND_NAME.fullmatch(backend):
            raise EnvError(
                f"env provider name or backend {backend!r} cannot be a recipe's "
                "env.backend; use lowercase letters, digits, '-', '_' and '.' (at most "
                "64 characters), e.g. 'myenvs'.")
    for field in ("make", "env_ids"):
        if not callable(getattr(provider, field)):
            raise EnvError(f"env provider {provider.name!r}: {field} must be a function.")
    for shim in provider.compat:
        if not isinstance(shim, str) or not COMPAT_NAME.fullmatch(shim):
            raise EnvError(f"env provider {provider.name!r}: compat shim {shim!r} is not "
                           "a shim name (letters, digits, '.', '_', '+', '-').")
    return provider


def _add(provider: EnvProvider, *, origin: str, replace: bool) -> None:
    with _LOCK:
        old = _PROVIDERS.get(provider.name)
        if old is not None and not replace:
            raise EnvError(
                f"env provider {provider.name!r} is registered twice: by "
                f"{_ORIGINS[provider.name]} and by {origin}; uninstall one of them, or "
                "register under another provider name.")
        for backend in provider.recipe_backends:
            owner = _BY_BACKEND.get(backend)
            if owner is not None and owner != provider.name:
                raise EnvError(
                    f"env provider {provider.name!r} (from {origin}) claims backend "
                    f"{backend!r}, which is provider {owner!r}'s (from "
                    f"{_ORIGINS[owner]}); pick another backend name.")
        if old is not None:
            for backend in old.recipe_backends:
                _BY_BACKEND.pop(backend, None)
        _PROVIDERS[provider.name] = provider
        _ORIGINS[provider.name] = origin
        for backend in provider.recipe_backends:
            _BY_BACKEND[backend] = provider.name
        make_env.cache_clear()


def register_provider(provider: EnvProvider, *, replace: bool = False) -> EnvProvider:
    """Register a whole env family (see ``EnvProvider``).

    Args:
        provider: the family.
        replace: replace a provider of the same name registered before (not a
            built-in one).

    Returns:
        ``provider``.

    Raises:
        EnvError: a name or backend that cannot be a recipe backend, a provider or
            backend registered twice (naming both origins), a built-in replaced.
    """
    _ensure_builtins()
    _check_provider(provider)
    if replace and _ORIGINS.get(provider.name) == BUILT_IN:
        raise EnvError(f"env provider {provider.name!r} is built in; register yours "
                       "under another name.")
    _add(provider, origin=_origin(), replace=replace)
    return provider


# ---------------------------------------------------------------------------- lookup
def providers() -> list[EnvProvider]:
    """Every provider: built in, registered, and every installed entry point's."""
    from hades_zoo.engine.envs.entry_points import load_entry_points

    load_entry_points()
    with _LOCK:
        return list(_PROVIDERS.values())


def _provider_of_backend(backend: str) -> EnvProvider:
    from hades_zoo.engine.envs.entry_points import (
        ENTRY_POINT_GROUP,
        entry_point_failures,
        load_entry_points,
    )

    _ensure_builtins()
    with _LOCK:
        name = _BY_BACKEND.get(backend)
        if name is None:
            load_entry_points(only=backend)
            name = _BY_BACKEND.get(backend)
        if name is None:
            load_entry_points()
            name = _BY_BACKEND.get(backend)
        if name is not None:
            return _PROVIDERS[name]
        known = list(_BY_BACKEND)
        listed = ", ".join(p.name + ("" if p.recipe_backends == (p.name,) else
                                     f" ({', '.join(p.recipe_backends)})")
                           for p in _PROVIDERS.values())
    failed = _failures(entry_point_failures())
    raise MissingEnvProviderError(
        f"unknown env backend {backend!r}: no env provider of that name is installed."
        f"{close_matches(backend, known)} Installed providers: {listed}. An env from a "
        f"package: install that package (it registers under the '{ENTRY_POINT_GROUP}' "
        "entry-point group); an env of your own: hades_zoo.register_env(name, factory, "
        f"provider={backend!r}) (docs/ENVIRONMENTS.md).{failed}")


def _ids(provider: EnvProvider) -> list[str]:
    try:
        return list(provider.env_ids())
    except ImportError as err:
        install = provider.install_command()
        raise EnvError(
            f"env provider {provider.name!r} needs a package that is not installed "
            f"({err}); {install or 'install it'}.") from err


def _quiet_ids(provider: EnvProvider) -> list[str]:
    try:
        return _ids(provider)
    except Exception:  # noqa: BLE001 - only looking for hints
        return []


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


def _wrong_backend(cfg: EnvConfig, provider: EnvProvider, ids: list[str]) -> EnvError:
    """The error for an env name its backend's provider does not know."""
    for other in providers():
        if other is provider or cfg.name not in _quiet_ids(other):
            continue
        backends = other.recipe_backends
        if len(backends) > 1:
            return EnvError(
                f"{other.name} env {cfg.name!r} needs a physics backend, one of "
                f"{', '.join(backends)}; got {cfg.backend!r}"
                + (" (the published datasets used 'positional')." if other.name == "brax"
                   else "."))
        return EnvError(f"{cfg.name!r} is {_article(other.name)} {other.name} env; set "
                        f"backend: {backends[0]} (got {cfg.backend!r}).")
    from hades_zoo.engine.envs.entry_points import entry_point_failures

    shown = ", ".join(sorted(ids)[:40]) + (" ..." if len(ids) > 40 else "")
    return EnvError(
        f"unknown env {cfg.name!r} for backend {cfg.backend!r} (provider "
        f"{provider.name!r}).{close_matches(cfg.name, ids)} Its envs: {shown or 'none'}. "
        "`hades-zoo envs` lists every provider's envs." + _failures(entry_point_failures()))


def _failures(failed: dict[str, str]) -> str:
    """The unknown-env/backend message's tail: installed packages that failed."""
    return "".join(f" An installed env package failed to load: {msg}"
                   for msg in failed.values())


def _compat_of(provider: EnvProvider, name: str) -> tuple[str, ...]:
    if provider.name in _ENVS and name in _ENVS[provider.name]:
        return _ENVS[provider.name][name].compat
    return tuple(provider.compat)


def provider_for(cfg: EnvConfig) -> EnvProvider:
    """The provider that builds ``cfg``'s env, its name and shim checked.

    Raises:
        MissingEnvProviderError: no provider serves ``cfg.backend`` (entry points
            were loaded first).
        EnvError: the provider does not know ``cfg.name`` (naming the provider that
            does, when one does), or not the shim ``cfg.compat``.
    """
    provider = _provider_of_backend(cfg.backend)
    ids = _ids(provider)
    if cfg.name not in ids and not (provider.accepts is not None and provider.accepts(cfg)):
        raise _wrong_backend(cfg, provider, ids)
    if cfg.compat:
        shims = _compat_of(provider, cfg.name)
        if cfg.compat not in shims:
            raise EnvError(
                f"unknown shim {cfg.compat!r} for {provider.name} env {cfg.name!r}; use "
                "'' (the installed env)"
                + (f" or one of {', '.join(map(repr, shims))}." if shims else "."))
    return provider


def provider_record(cfg: EnvConfig) -> EnvProviderRecord:
    """What a dataset of ``cfg``'s env records about its provider."""
    return provider_for(cfg).record()


def render_for(cfg: EnvConfig) -> Callable[..., Any] | None:
    """The drawer of ``cfg``'s env (``EnvProvider.render``), or None."""
    provider = provider_for(cfg)
    if provider.name in _ENVS:
        return _ENVS[provider.name][cfg.name].render
    return provider.render


@functools.lru_cache(maxsize=32)
def make_env(cfg: EnvConfig) -> Env:
    """Build (and cache) the env described by ``cfg``.

    Raises:
        MissingEnvProviderError: no provider serves ``cfg.backend``.
        EnvError: unknown env or shim; an env that breaks the contract
            (``contract.check_env``, for registered providers).
    """
    import jax

    provider = provider_for(cfg)
    # Env constructors compute arrays (brax's system); when the first call happens
    # inside a jit trace they must still be concrete, or this cache would keep tracers.
    with jax.ensure_compile_time_eval():
        env = provider.make(cfg)
    if not isinstance(env, Env):
        raise EnvError(f"env provider {provider.name!r} ({_ORIGINS[provider.name]}) "
                       f"built a {type(env).__name__} for {cfg.name!r}, not an Env; its "
                       "make must return hades_zoo.engine.envs.Env.")
    if provider.checked:
        check_env(env, where=(f"env {cfg.name!r} (provider {provider.name!r}, from "
                              f"{_ORIGINS[provider.name]})"))
    return env


def env_spec(cfg: EnvConfig) -> EnvSpec:
    """Shapes of an env, without building its physics when the provider can say.

    Raises:
        EnvError: as ``make_env``.
    """
    provider = provider_for(cfg)
    if provider.spec is not None:
        return provider.spec(cfg)
    return make_env(cfg).spec


def known_envs() -> list[str]:
    """Every env name a provider builds, provider by provider (each sorted)."""
    out = []
    for provider in providers():
        out += sorted(_quiet_ids(provider))
    return out


def describe_providers() -> list[dict[str, Any]]:
    """One row per provider for ``hades-zoo envs``: name, backends, version, package,
    whether that package is installed (``installed``; ``install`` says how), origin,
    envs (or the error listing them), shims; then failed entry points."""
    from hades_zoo.engine.envs.entry_points import entry_point_failures

    rows = []
    for provider in providers():
        try:
            envs, error = sorted(_ids(provider)), ""
        except EnvError as err:
            envs, error = [], str(err)
        rows.append({"provider": provider.name, "backends": list(provider.recipe_backends),
                     "version": provider.package_version(), "package": provider.package,
                     "install": provider.install_command(),
                     "installed": provider.installed(),
                     "origin": _ORIGINS.get(provider.name, ""), "envs": envs,
                     "compat": list(provider.compat), "description": provider.description,
                     "error": error})
    for key, msg in entry_point_failures().items():
        rows.append({"provider": None, "entry_point": key, "error": msg})
    return rows


def _forget(provider: str) -> None:
    """Remove a registered (non built-in) provider and its envs (tests)."""
    with _LOCK:
        if _ORIGINS.get(provider) == BUILT_IN:
            raise EnvError(f"env provider {provider!r} is built in.")
        old = _PROVIDERS.pop(provider, None)
        _ORIGINS.pop(provider, None)
        _ENVS.pop(provider, None)
        if old is not None:
            for backend in old.recipe_backends:
                _BY_BACKEND.pop(backend, None)
        make_env.cache_clear()
