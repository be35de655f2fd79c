"""Brax envs drawn by MuJoCo's own offscreen renderer from the recorded joint positions.

A rollout records the pipeline state's ``q`` before every step
(:func:`record_brax`); brax builds its system from a MuJoCo model
(``env.sys.mj_model``, ``engine.envs.brax.adapter.brax_scene``) whose ``qpos`` has the
layout of ``q``, so each frame is: ``qpos = q``, ``mj_forward`` (body poses and the
camera), ``mujoco.Renderer.render``. Locomotion models carry a ``track`` camera that
follows the torso (hopper, walker2d, halfcheetah, ant, humanoid); the fixed-base ones
(reacher, the pendulums) get a fixed free camera from :data:`_FREE_CAMERAS`.

Shadows and reflections are off: with OSMesa's software renderer they cost about 7x
the rest of a frame (hopper at 320 x 240 on a loaded 2-core machine: 0.32 s with,
0.045 s without) and add nothing to what the policy does.
"""

from __future__ import annotations

import copy

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


def _camera(mujoco, model, name: str):
    """The ``track`` camera's name, or a free ``MjvCamera`` aimed at the model."""
    if any(model.camera(i).name == "track" for i in range(model.ncam)):
        return "track"
    offset, distance, azimuth, elevation = _FREE_CAMERAS.get(name, _DEFAULT_FREE)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.lookat[:] = np.asarray(model.stat.center) + np.asarray(offset)
    cam.distance = distance * float(model.stat.extent)
    cam.azimuth, cam.elevation = azimuth, elevation
    return cam


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

    check_brax(env_config)
    import mujoco

    model = copy.deepcopy(brax_scene(env_config)[0])  # the cached one stays untouched
    model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), width)
    model.vis.global_.offheight = max(int(model.vis.global_.offheight), height)
    data = mujoco.MjData(model)
    q = np.asarray(episode.states, np.float64).reshape(episode.frames, -1)
    frames = np.empty((episode.frames, height, width, 3), np.uint8)
    renderer = mujoco.Renderer(model, height, width)
    try:
        flags = mujoco.mjtRndFlag
        renderer.scene.flags[flags.mjRND_SHADOW] = 0
        renderer.scene.flags[flags.mjRND_REFLECTION] = 0
        camera = _camera(mujoco, model, env_config.name)
        for t in range(episode.frames):
            data.qpos[:] = q[t, : model.nq]
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=camera)
            frames[t] = renderer.render()
    finally:
        renderer.close()
    return frames
