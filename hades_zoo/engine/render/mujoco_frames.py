"""MuJoCo models drawn from recorded joint positions (``qpos``), one frame per row.

The shared loop of the families simulated by MuJoCo models (brax's envs, MuJoCo
Playground's): ``qpos = q``, ``mj_forward`` (body poses and the camera),
``mujoco.Renderer.render``. Shadows and reflections are off: with OSMesa's software
renderer they cost about 7x the rest of a frame (hopper at 320 x 240 on a loaded
2-core machine: 0.32 s with, 0.045 s without) and add nothing to what the policy does.

MuJoCo is imported inside the functions, after the caller checked for an OpenGL
backend (``engine.render.gl``).
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["draw_qpos", "free_camera"]


def free_camera(model, offset=(0.0, 0.0, 0.0), distance: float = 1.2,
                azimuth: float = 90.0, elevation: float = -20.0):
    """A free ``MjvCamera`` aimed at the model's centre (``model.stat``) plus
    ``offset`` (metres), ``distance`` in model extents, angles in degrees."""
    import mujoco

    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.lookat[:] = np.asarray(model.stat.center) + np.asarray(offset)
    cam.distance = distance * float(model.stat.extent)
    cam.azimuth, cam.elevation = azimuth, elevation
    return cam


def draw_qpos(model, qpos: np.ndarray, camera, *, width: int, height: int) -> np.ndarray:
    """Draw ``model`` at each row of ``qpos``.

    Args:
        model: a ``mujoco.MjModel`` (copied: the caller's stays untouched).
        qpos: (T, >= nq) joint positions; the first ``nq`` columns are used.
        camera: a camera name or id of ``model``, or an ``MjvCamera``
            (:func:`free_camera`).
        width, height: frame size in pixels.

    Returns:
        (T, height, width, 3) uint8 frames.
    """
    import mujoco

    model = copy.deepcopy(model)
    model.vis.global_.offwidth = max(int(model.vis.global_.offwidth), width)
    model.vis.global_.offheight = max(int(model.vis.global_.offheight), height)
    data = mujoco.MjData(model)
    q = np.asarray(qpos, np.float64).reshape(len(qpos), -1)
    frames = np.empty((len(q), height, width, 3), np.uint8)
    renderer = mujoco.Renderer(model, height, width)
    try:
        flags = mujoco.mjtRndFlag
        renderer.scene.flags[flags.mjRND_SHADOW] = 0
        renderer.scene.flags[flags.mjRND_REFLECTION] = 0
        for t in range(len(q)):
            data.qpos[:] = q[t, : model.nq]
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=camera)
            frames[t] = renderer.render()
    finally:
        renderer.close()
    return frames
