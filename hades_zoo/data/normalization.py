"""Constant observation-normalisation statistics shipped with the package.

The reference's ``normalize_params/{mean,var}_<env>.npy`` (Apache-2.0, FLAIROx/
behaviour-distillation) used by ``obs_norm: const`` recipes: (x - mean) / sqrt(var + 1e-8).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from hades_zoo.errors import RecipeError, close_matches

__all__ = ["load_stats", "available_stats"]


def _root():
    return resources.files("hades_zoo") / "zoo" / "entries" / "normalize_params"


def available_stats() -> list[str]:
    """Env names with packaged statistics."""
    return sorted(p.name[5:-4] for p in _root().iterdir() if p.name.startswith("mean_"))


def load_stats(env_name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, var)`` float32 arrays for ``env_name``.

    Raises:
        RecipeError: no packaged statistics for that env.
    """
    names = available_stats()
    if env_name not in names:
        raise RecipeError(
            f"no packaged obs-normalisation statistics for {env_name!r}; available: "
            f"{', '.join(names)}.{close_matches(env_name, names)} Use obs_norm: running "
            "or none instead."
        )
    root = _root()
    with (root / f"mean_{env_name}.npy").open("rb") as fm, (root / f"var_{env_name}.npy").open("rb") as fv:
        return (np.load(fm, allow_pickle=False).astype(np.float32),
                np.load(fv, allow_pickle=False).astype(np.float32))
