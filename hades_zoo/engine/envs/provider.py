"""An env provider: one env family, what builds its envs and what lives with them.

``EnvProvider`` names the family (recorded in every dataset made with it), the recipe
backends that select it, how it makes an ``Env`` (``contract``) and its spec, the env
ids it knows, its observation / action / channel names, its renderer, its compat
shims and the package that provides it (version, install hint). The built-in
families each export one (``brax/``, ``gymnax/``, ``image/``: ``PROVIDER``);
``registry`` finds them by backend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hades_zoo.data.env_provider import EnvProviderRecord
from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.contract import Env, EnvSpec

__all__ = ["EnvProvider", "NamesFn", "distribution_version"]

#: ``fn(cfg) -> names`` (one per observation entry / action / channel) or None.
NamesFn = Callable[[EnvConfig], "Sequence[str] | None"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvProvider:
    """One env family: how to build its envs and what lives with them.

    Attributes:
        name: the provider's name (lowercase letters, digits, ``-``, ``_``, ``.``):
            a recipe's ``env.backend`` when ``backends`` is empty; recorded in
            every dataset made with it.
        make: ``make(cfg) -> Env`` (``contract``); may raise ``EnvError``.
        env_ids: ``env_ids() -> iterable of env names`` it builds (may import the
            provider's package; an ImportError becomes the install hint).
        spec: ``spec(cfg) -> EnvSpec`` without building physics (cheap); None:
            ``make(cfg).spec``.
        backends: the ``env.backend`` values it serves (brax: ``positional``,
            ``spring``, ``generalized``, ``mjx``); empty: just ``name``.
        package: the distribution that provides it (``pip`` name): its version is
            recorded and its install command named when it is missing.
        version: the version to record; None: the installed ``package``'s.
        install_hint: how to install it (default ``pip install <package>``).
        observation_names, action_names, channel_names: ``fn(cfg) -> names`` (one
            per observation entry / action / image channel) or None
            (``hades_zoo.engine.envs.names``).
        render: draws recorded frames, ``render(env_config, recorded, *, width,
            height)`` (the render layer's per-family drawer); None: no renderer.
        compat: env-version shim names its ``make`` understands (``env.compat``).
        accepts: ``accepts(cfg) -> bool`` for a name outside ``env_ids()`` (a
            provider whose full list is costly to read, e.g. MuJoCo Playground's
            registry beyond its offline suite): True when it builds ``cfg``'s env; it
            may raise ``EnvError`` naming why not (a missing package, a missing
            asset). None: ``env_ids()`` is the whole list.
        description: one line for ``hades-zoo envs``.
        checked: check every env ``make`` builds against the contract
            (``contract.check_env``; the built-ins are trusted).
    """

    name: str
    make: Callable[[EnvConfig], Env]
    env_ids: Callable[[], Iterable[str]]
    spec: Callable[[EnvConfig], EnvSpec] | None = None
    backends: tuple[str, ...] = ()
    package: str = ""
    version: str | None = None
    install_hint: str = ""
    observation_names: NamesFn | None = None
    action_names: NamesFn | None = None
    channel_names: NamesFn | None = None
    render: Callable[..., Any] | None = None
    compat: tuple[str, ...] = ()
    accepts: Callable[[EnvConfig], bool] | None = None
    description: str = ""
    checked: bool = True

    @property
    def recipe_backends(self) -> tuple[str, ...]:
        """The ``env.backend`` values that select this provider."""
        return tuple(self.backends) or (self.name,)

    def package_version(self) -> str:
        """``version``, else the installed ``package``'s version, else ``""``."""
        if self.version is not None:
            return self.version
        return distribution_version(self.package)

    def installed(self) -> bool:
        """Whether the package that provides it is installed (True for a provider
        with no ``package`` or an explicit ``version``). ``env_ids()`` may list envs
        without it (MuJoCo Playground's offline table): building one needs it."""
        if not self.package or self.version is not None:
            return True
        return bool(distribution_version(self.package))

    def install_command(self) -> str:
        """``install_hint``, else ``pip install <package>``, else ``""``."""
        return self.install_hint or (f"pip install {self.package}" if self.package else "")

    def record(self) -> EnvProviderRecord:
        """What a dataset made with this provider records (``data.env_provider``)."""
        return EnvProviderRecord(name=self.name, version=self.package_version(),
                                 package=self.package, install=self.install_command())


def distribution_version(package: str) -> str:
    """The installed version of distribution ``package`` (``""``: none or not installed)."""
    from importlib import metadata

    if not package:
        return ""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""
