"""Old module paths (hades_zoo <= 0.1, one flat package) keep working until 0.3.

``import hades_zoo.registry`` (or ``from hades_zoo import registry``) returns the module
that now holds that code, here ``hades_zoo.zoo.registry``, and emits a
``FutureWarning`` naming the new path. Such aliases are the *same module objects*, so
code that patches an old path patches the new one. ``hades_zoo.io`` was split in three
(``data.format``, ``data.dataset``, ``zoo.loading``): its alias is a read-only view
that looks each name up in those modules, in that order.
docs/ARCHITECTURE.md lists the moves.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

__all__ = ["MOVED", "install"]

#: old dotted path -> new dotted path (hades_zoo 0.2 layers).
MOVED: dict[str, str | tuple[str, ...]] = {
    "hades_zoo.recipes": ("hades_zoo.data.recipe", "hades_zoo.data.recipe_io"),
    "hades_zoo.ids": "hades_zoo.data.ids",
    "hades_zoo.dataset": "hades_zoo.data.dataset",
    "hades_zoo.io": ("hades_zoo.zoo.loading", "hades_zoo.data.dataset",
                     "hades_zoo.data.format"),
    "hades_zoo.normalization": "hades_zoo.data.normalization",
    "hades_zoo.cache": "hades_zoo.data.cache",
    "hades_zoo.envs": "hades_zoo.engine.envs",
    "hades_zoo.envs.brax_env": "hades_zoo.engine.envs.brax.adapter",
    "hades_zoo.envs.gymnax_env": "hades_zoo.engine.envs.gymnax.adapter",
    "hades_zoo.envs.compat": "hades_zoo.engine.envs.compat",
    "hades_zoo.tasks": "hades_zoo.engine.tasks",
    "hades_zoo.tasks.control": "hades_zoo.engine.tasks.control",
    "hades_zoo.tasks.image": "hades_zoo.engine.tasks.image",
    "hades_zoo.policy": "hades_zoo.engine.policy",
    "hades_zoo.bc": "hades_zoo.engine.bc",
    "hades_zoo.rollout": "hades_zoo.engine.rollout",
    "hades_zoo.checkpoint": "hades_zoo.engine.checkpoint",
    "hades_zoo.distill": "hades_zoo.engine.distill",
    "hades_zoo.image_data": "hades_zoo.engine.image_data",
    "hades_zoo.api": ("hades_zoo.engine.evaluation", "hades_zoo.zoo.loading"),
    "hades_zoo.hub_refs": "hades_zoo.hub.refs",
    "hades_zoo.cards": "hades_zoo.hub.cards",
    "hades_zoo.registry": "hades_zoo.zoo.registry",
    "hades_zoo.importer": ("hades_zoo.zoo.importer", "hades_zoo.zoo.reference"),
    "hades_zoo.certify": "hades_zoo.zoo.certify",
    "hades_zoo.results": "hades_zoo.zoo.results",
    "hades_zoo.transfer": "hades_zoo.zoo.transfer",
    "hades_zoo.multitask": ("hades_zoo.zoo.multitask", "hades_zoo.zoo.multitask_train"),
    "hades_zoo.image_eval": "hades_zoo.zoo.image_eval",
    "hades_zoo.plotting": "hades_zoo.zoo.plotting",
}


class _AliasLoader(importlib.abc.Loader):
    """Returns the already-imported new module under the old name."""

    def __init__(self, new: str | tuple[str, ...]) -> None:
        self.new = new
        self._spec = None

    def create_module(self, spec):
        names = self.new if isinstance(self.new, tuple) else (self.new,)
        warnings.warn(
            f"{spec.name} moved to {' / '.join(names)} in hades_zoo 0.2; the old path "
            "stops working in 0.3 (docs/ARCHITECTURE.md).",
            FutureWarning,
            stacklevel=4,
        )
        modules = [importlib.import_module(n) for n in names]
        if len(modules) == 1:
            self._spec = modules[0].__spec__
            return modules[0]
        view = types.ModuleType(spec.name, f"Alias of {', '.join(names)}.")

        def __getattr__(name: str):
            for module in modules:
                if hasattr(module, name):
                    return getattr(module, name)
            raise AttributeError(f"{spec.name} has no {name!r} (moved to {', '.join(names)})")

        view.__getattr__ = __getattr__
        return view

    def exec_module(self, module) -> None:
        # The import system stamped the alias spec on the real module; put its own back.
        if self._spec is not None:
            module.__spec__ = self._spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    """Finds the old flat module paths and serves them as aliases."""

    def find_spec(self, fullname, path=None, target=None):
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once (``import hades_zoo`` does it)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
