"""gymnax adapter: classic control and MinAtar behind the functional Env API.

gymnax 1.0's ``step`` returns six values ``(obs, state, reward, terminated,
truncated, info)`` and auto-resets internally; ``done = terminated | truncated``.
MinAtar observations (10, 10, C) booleans are flattened row-major to float32, as the
reference's ``FlattenObservationWrapper``. The conversion is the public
``adapters.gymnax_env`` (what ``from_gymnax`` gives a user's gymnax-style env); this
module adds ``gymnax.make`` and the ``gymnax-0.0.6`` shim.
"""

from __future__ import annotations

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.adapters import gymnax_env
from hades_zoo.engine.envs.contract import Env

__all__ = ["gymnax_make", "make_gymnax_env"]


def gymnax_make(cfg: EnvConfig):
    """``(env, params)`` of ``cfg`` from gymnax's registry, the shim applied."""
    try:
        import gymnax
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError(
            "gymnax envs need gymnax and six: `pip install 'gymnax>=1.0,<1.1' six`"
        ) from err

    env, params = gymnax.make(cfg.name)
    if cfg.compat == "gymnax-0.0.6" and cfg.name == "SpaceInvaders-MinAtar":
        from hades_zoo.engine.envs.gymnax.compat import make_space_invaders_gymnax006

        env = make_space_invaders_gymnax006()
    return env, params


def make_gymnax_env(cfg: EnvConfig) -> Env:
    """Build a gymnax env (gymnax imports ``six`` without declaring it)."""
    env, params = gymnax_make(cfg)
    return gymnax_env(env, params, cfg)
