"""Envs from installed packages: the ``hades_zoo.envs`` entry-point group.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."hades_zoo.envs"]
    myenvs = "my_envs:register"

``my_envs.register()`` calls ``hades_zoo.register_env(...)`` (the envs get the
package's name and version) or returns ``EnvProvider``(s). ``registry`` loads entry
points lazily: the one named like an unknown backend first (its failure raises),
then all the others (their failures are kept, shown by ``hades-zoo envs`` and in the
unknown-backend message). Each entry point is tried once per process.
"""

from __future__ import annotations

import dataclasses

from hades_zoo.engine.envs import registry
from hades_zoo.engine.envs.provider import EnvProvider
from hades_zoo.errors import EnvError

__all__ = ["ENTRY_POINT_GROUP", "entry_point_failures", "load_entry_points"]

#: The package entry-point group that registers envs (``importlib.metadata``).
ENTRY_POINT_GROUP = "hades_zoo.envs"


# --------------------------------------------------------------------- entry points
def _entry_points() -> list:
    from importlib import metadata

    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP),
                  key=lambda ep: (ep.name, ep.value))


def _entry_point_label(ep) -> tuple[str, str, str]:
    dist = getattr(ep, "dist", None)
    name = dist.name if dist is not None else ""
    version = (dist.version or "") if dist is not None else ""
    label = (f"package {name!r}" if name else "an installed package") + (
        f" (entry point '{ep.name} = {ep.value}' in group '{ENTRY_POINT_GROUP}')")
    return name, version, label


def _load_entry_point(ep) -> None:
    dist, version, label = _entry_point_label(ep)
    fix = (f"upgrade or reinstall it (pip install -U {dist}), or uninstall it "
           f"(pip uninstall {dist})" if dist else "upgrade, reinstall or uninstall it")
    try:
        hook = ep.load()
    except Exception as err:
        raise EnvError(f"env {label} failed to import: {type(err).__name__}: {err}; "
                       f"{fix}.") from err
    if not callable(hook):
        raise EnvError(f"env {label} names a {type(hook).__name__}, not a function; its "
                       "entry point must name a function that calls "
                       f"hades_zoo.register_env or returns EnvProvider(s); {fix}.")
    registry._LOADING.append((dist, version, label))
    try:
        result = hook()
        found = ([] if result is None else [result] if isinstance(result, EnvProvider)
                 else list(result) if isinstance(result, (list, tuple)) else None)
        if found is None:
            raise EnvError(f"its function returned a {type(result).__name__}; return "
                           "None (after register_env calls) or EnvProvider(s)")
        for provider in found:
            if isinstance(provider, EnvProvider) and provider.package == "" and dist:
                provider = dataclasses.replace(provider, package=dist)
            registry.register_provider(provider)
    except EnvError as err:
        raise EnvError(f"env {label}: {err}" + ("" if str(err).endswith(".") else
                                                f"; {fix}.")) from err
    except Exception as err:
        raise EnvError(f"env {label} raised {type(err).__name__}: {err} while registering "
                       f"its envs; {fix}.") from err
    finally:
        registry._LOADING.pop()


def load_entry_points(only: str | None = None) -> None:
    """Load the entry points not tried yet (``only``: those of that name, raising
    their failure; otherwise failures are kept for ``entry_point_failures``)."""
    registry._ensure_builtins()
    with registry._LOCK:
        for ep in _entry_points():
            if only is not None and ep.name != only:
                continue
            key = f"{ep.name} = {ep.value}"
            if key in registry._ENTRY_POINTS:
                if only is not None and registry._ENTRY_POINTS[key] is not None:
                    raise registry._ENTRY_POINTS[key]
                continue
            try:
                _load_entry_point(ep)
                registry._ENTRY_POINTS[key] = None
            except EnvError as err:
                registry._ENTRY_POINTS[key] = err
                if only is not None:
                    raise


def entry_point_failures() -> dict[str, str]:
    """Entry points of ``hades_zoo.envs`` that failed to load: ``{key: message}``."""
    load_entry_points()
    return {k: str(v) for k, v in registry._ENTRY_POINTS.items() if v is not None}
