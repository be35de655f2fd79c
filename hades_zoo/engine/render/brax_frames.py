"""Brax envs drawn by MuJoCo's own offscreen renderer from the recorded joint positions.

A rollout records the pipeline state's ``q`` before every step
(:func:`record_brax`); brax builds its system from a MuJoCo model
(``env.sys.mj_model``, ``engine.envs.brax.adapter.brax_scene``) whose ``qpos`` has the
layout of ``q``, so each frame is: ``qpos = q``, ``mj_forward`` (body poses and the
camera), ``mujoco.Renderer.render``. Locomotion models carry a ``track`` camera that
follows the torso (hopper, walker2d, halfcheetah, ant, humanoid); the fixed-base ones
(reacher, the pendulums) get a fixed free camera from :data:`_FREE_CAMERAS`.

The frames themselves are drawn by ``engine.render.mujoco_frames`` (shadows and
reflections off).
"""

from __future__ import annotations

import numpy as np

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.render.episode import Episode

__all__ = ["brax_control_rate", "check_brax", "draw_brax", "record_brax"]

# (lookat offset from the model's centre (x, y, z), distance in model extents,
# azimuth, elevation) in degrees, for models without a tracking camera.
_FREE_CAMERAS = {
    "reacher": ((0.0, 0.0, 0.0), 0.55, 90.0, -90.0),  # top-down on the arena
    "inverted_pendulum": ((0.0, 0.0, 0.3), 1.6, 90.0, -10.0),
    "inverted_double_pendulum": ((0.0, 0.0, 2.9), 0.45, 90.0, -5.0),
}
_DEFAULT_FREE = ((0.0, 0.0, 0.0), 1.2, 90.0, -20.0)


def record_brax(state):
    """What a brax frame needs from one env state: the joint positions ``q`` (nq,)."""
    return state.pipeline_state.q


def brax_control_rate(cfg: EnvConfig) -> float:
    """Env steps per simulated second, ``1 / env.dt`` (hopper: 125, halfcheetah: 20)."""
    from hades_zoo.engine.envs.brax.adapter import brax_scene

    return round(1.0 / brax_scene(cfg)[1], 3)  # dt is float32: 1 / 0.008 = 124.99999


def check_brax(cfg: EnvConfig) -> None:
    """Raise ``RenderError`` unless MuJoCo can open an offscreen GL context here."""
    from hades_zoo.engine.render.gl import check_mujoco_gl

    check_mujoco_gl()


def _camera(model, name: str):
    """The ``track`` camera's name, or a free camera aimed at the model."""
    from hades_zoo.engine.render.mujoco_frames import free_camera

    if any(model.camera(i).name == "track" for i in range(model.ncam)):
        return "track"
    offset, distance, azimuth, elevation = _FREE_CAMERAS.get(name, _DEFAULT_FREE)
    return free_camera(model, offset, distance, azimuth, elevation)


def draw_brax(env_config: EnvConfig, episode: Episode, *, width: int, height: int
              ) -> np.ndarray:
    """Draw each recorded ``q`` of ``episode`` with MuJoCo.

    Args:
        env_config: the brax env (name, backend, compat).
        episode: its ``states`` are the recorded ``q`` (T, nq).
        width, height: frame size in pixels.

    Returns:
        (T, height, width, 3) uint8 frames.

    Raises:
        RenderError: no OpenGL backend (see ``engine.render.gl``).
    """
    from hades_zoo.engine.envs.brax.adapter import brax_scene
    from hades_zoo.engine.render.mujoco_frames import draw_qpos

    check_brax(env_config)
    model = brax_scene(env_config)[0]
    q = np.asarray(episode.states).reshape(episode.frames, -1)
    return draw_qpos(model, q, _camera(model, env_config.name), width=width,
                     height=height)
