"""brax adapter: the reference's Brax protocol behind the functional Env API.

The env is ``brax.envs.get_environment(name, backend=...)`` wrapped in
``EpisodeWrapper(episode_length, action_repeat=1)`` and ``AutoResetWrapper``, with
actions clipped to [-1, 1] (the reference's ``ClipAction``). ``AutoResetWrapper``
resets a finished env to the initial state drawn at its first reset, so each eval env
replays the same start state. brax's wrappers need raw ``uint32[2]`` keys
(``PRNGKey``); typed keys are converted here.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs.adapters import raw_key
from hades_zoo.engine.envs.contract import Env, EnvSpec
from hades_zoo.engine.envs.headless import import_mujoco
from hades_zoo.engine.envs.quiet import captured

__all__ = ["base_env", "brax_scene", "make_brax_env"]


def base_env(cfg: EnvConfig):
    """The unwrapped brax env of ``cfg`` (the ``brax-0.9`` shim applied)."""
    try:
        import_mujoco()  # before brax does: MUJOCO_GL chosen, a broken one an EnvError
        from brax import envs
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("brax envs need brax: `pip install 'brax>=0.14,<0.15'`") from err
    if cfg.compat == "brax-0.9" and cfg.name == "inverted_double_pendulum":
        from hades_zoo.engine.envs.brax.compat import make_idp_brax09

        return make_idp_brax09(cfg.backend)
    return envs.get_environment(cfg.name, backend=cfg.backend)


def make_brax_env(cfg: EnvConfig) -> Env:
    """Build a brax env with the reference episode/auto-reset/clip wrappers."""
    with captured(f"loading brax {cfg.name} ({cfg.backend})"):
        base = base_env(cfg)  # imports mujoco first (``base_env``)
        from brax.envs.wrappers.training import AutoResetWrapper, EpisodeWrapper

        env = AutoResetWrapper(EpisodeWrapper(base, cfg.episode_length, 1))

    def reset(key):
        state = env.reset(raw_key(key))
        return state.obs, state

    def step(key, state, action):
        del key  # brax envs are deterministic given the action
        state = env.step(state, jnp.clip(action, -1.0, 1.0))
        return state.obs, state, state.reward, state.done > 0.5

    # brax's ``observation_size`` runs ``reset`` eagerly, op by op (seconds on CPU, on
    # every CLI call); the sizes are known statically, or from an abstract trace.
    from hades_zoo.engine.envs.brax import BRAX_SPECS

    if cfg.name in BRAX_SPECS:
        obs_dim, act_dim = BRAX_SPECS[cfg.name]
    else:  # pragma: no cover - every supported brax env is in BRAX_SPECS
        obs_dim = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs.shape[-1]
        act_dim = env.action_size
    spec = EnvSpec(int(obs_dim), int(act_dim), False, cfg.episode_length)
    return Env(cfg, spec, reset, step)


@functools.lru_cache(maxsize=8)
def brax_scene(cfg: EnvConfig):
    """``(mj_model, dt)`` of a brax env: the MuJoCo model brax built its system from
    (``env.sys.mj_model``; its ``qpos`` layout is the pipeline state's ``q``) and the
    control time step in seconds (``env.dt``: physics step x frames per env step).
    The renderer (``hades_zoo.engine.render.brax_frames``) draws ``q`` with it.
    Cached; do not modify the model (copy it)."""
    with captured(f"loading brax {cfg.name} ({cfg.backend})"):
        env = base_env(cfg)
    return env.sys.mj_model, float(env.dt)
