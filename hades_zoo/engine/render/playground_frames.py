"""MuJoCo Playground envs (``env.backend: playground``) drawn by MuJoCo's offscreen
renderer from the recorded ``qpos``.

A rollout records the MJX ``data.qpos`` of each state before its step
(:func:`record_playground`); each frame sets it on the task's own MuJoCo model
(``env.mj_model``) and draws it (``engine.render.mujoco_frames``). The camera is the
model's first one (the DM Control Suite tasks define a fixed view first: cartpole,
pendulum, acrobot, reacher, ...; a tracking one for the walkers), else a free camera
aimed at the model. The video plays at the task's control rate, ``1 / env.dt``
(``ctrl_dt``: 100 steps/s for CartpoleSwingup, 50 for PendulumSwingup).
"""

from __future__ import annotations

import functools

import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.render.episode import Episode

__all__ = ["check_playground", "draw_playground", "playground_control_rate",
           "record_playground"]


def record_playground(state):
    """What a frame needs from one env state (``PlaygroundState``): ``qpos`` (nq,)."""
    return state.inner.data.qpos


@functools.lru_cache(maxsize=8)
def _task(cfg: EnvConfig):
    """The raw Playground env of ``cfg`` (built once per config)."""
    from hades_zoo.engine.envs.playground.adapter import load_playground

    return load_playground(cfg)


def playground_control_rate(cfg: EnvConfig) -> float:
    """Env steps per simulated second, ``1 / env.dt``."""
    return round(1.0 / float(_task(cfg).dt), 3)


def check_playground(cfg: EnvConfig) -> None:
    """Raise ``RenderError`` unless MuJoCo can open an offscreen GL context here."""
    from hades_zoo.engine.render.gl import check_mujoco_gl

    check_mujoco_gl()


def draw_playground(env_config: EnvConfig, episode: Episode, *, width: int, height: int
                    ) -> np.ndarray:
    """Draw each recorded ``qpos`` of ``episode`` with the task's MuJoCo model.

    Args:
        env_config: the Playground task (name, impl).
        episode: its ``states`` are the recorded ``qpos`` (T, nq).
        width, height: frame size in pixels.

    Returns:
        (T, height, width, 3) uint8 frames.

    Raises:
        RenderError: no OpenGL backend (see ``engine.render.gl``).
        EnvError: the task cannot be built (the extra is missing, ...).
    """
    from hades_zoo.engine.render.mujoco_frames import draw_qpos, free_camera

    check_playground(env_config)
    model = _task(env_config).mj_model
    camera = 0 if model.ncam else free_camera(model)
    q = np.asarray(episode.states).reshape(episode.frames, -1)
    return draw_qpos(model, q, camera, width=width, height=height)
