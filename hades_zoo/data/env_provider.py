"""What a dataset records about the env provider that made its env: name, version, package.

An env provider (``hades_zoo.engine.envs.registry.EnvProvider``) is the family that
builds an env: brax, gymnax, the image sets, or a user's own package registered under
the ``hades_zoo.envs`` entry-point group. ``hades-zoo distill`` writes its record into
the dataset file (metadata key ``env_provider``, ``hades_zoo.data.format``), so a
reader that lacks the provider is told which package to install instead of "unknown
env". Files written before the key existed have no record (``None``).

JSON form (every value a string)::

    {"name": "myenvs", "version": "0.3.0", "package": "hz-env-pkg",
     "install": "pip install hz-env-pkg"}
"""

from __future__ import annotations

import dataclasses
import json

from hades_zoo.data.untrusted import load_json, show_path
from hades_zoo.errors import DatasetFormatError

__all__ = ["EnvProviderRecord"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class EnvProviderRecord:
    """The env provider a dataset was made with.

    Attributes:
        name: the provider's name (``brax``, ``gymnax``, ``image`` or a registered
            provider such as ``myenvs``; a recipe's ``env.backend`` names it, or one
            of its backends: brax's ``positional`` ...).
        version: the provider package's version when the dataset was made (``""``:
            unknown, e.g. an env registered from a script).
        package: the distribution that provides it, as ``pip`` names it (``""``:
            none, the env was registered by the program that made the dataset).
        install: how to install it (``pip install hz-env-pkg``; ``""``: derive it from
            ``package``).
    """

    name: str
    version: str = ""
    package: str = ""
    install: str = ""

    def install_command(self) -> str:
        """The command that installs the provider (``""`` when no package is known)."""
        return self.install or (f"pip install {self.package}" if self.package else "")

    def describe(self) -> str:
        """``myenvs 0.3.0 (package hz-env-pkg)``: for messages and ``info``."""
        text = self.name + (f" {self.version}" if self.version else "")
        return text + (f" (package {self.package})" if self.package else "")

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): the metadata value."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str) -> EnvProviderRecord:
        """Parse the metadata value strictly.

        Raises:
            DatasetFormatError: not a JSON object, an unknown key, a value that is not
                a string, or no ``name``.
        """
        data = load_json(text, source=source, what="metadata key 'env_provider'",
                         error=DatasetFormatError)
        if not isinstance(data, dict):
            raise DatasetFormatError(
                f"{source}: metadata key 'env_provider' must be a JSON object, got "
                f"{type(data).__name__}; re-save the dataset with hades_zoo.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DatasetFormatError(
                f"{source}: metadata 'env_provider' has unknown key(s) "
                f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))}); "
                "upgrade hades_zoo or re-save the dataset.")
        for key, value in data.items():
            if not isinstance(value, str):
                raise DatasetFormatError(
                    f"{source}: metadata env_provider.{key} must be a string, got "
                    f"{type(value).__name__} ({show_path(repr(value), 60)}); re-save "
                    "the dataset with hades_zoo.")
        if not data.get("name"):
            raise DatasetFormatError(
                f"{source}: metadata 'env_provider' has no 'name'; re-save the dataset "
                "with hades_zoo.")
        return cls(**data)
