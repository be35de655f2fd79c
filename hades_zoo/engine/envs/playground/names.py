"""Observation and action names of Playground's DM Control Suite tasks, read from the MJCF.

Each task's ``_get_obs`` (``mujoco_playground/_src/dm_control_suite/<task>.py``, 0.2.0)
says how the observation is assembled; the joints, bodies and actuators are read from
the task's loaded ``MjModel`` (``env.mj_model``), as ``engine.envs.names`` does for brax:

- cartpole.py ``_get_obs``: ``qpos[slider]``, ``xmat[2:, 2, 2]`` (cos of each pole's
  world angle), ``xmat[2:, 0, 2]`` (its sin), ``qvel``;
- pendulum.py ``_pole_orientation`` / ``_angular_velocity``: ``xmat[pole, 0, 2]``
  (sin), ``xmat[pole, 2, 2]`` (cos), ``qvel[hinge]``;
- acrobot.py ``_orientations``: sin then cos of the upper and lower arm, ``qvel``;
- reacher.py: ``qpos``, target - finger (x, y), ``qvel``;
- point_mass.py: ``qpos``, ``qvel``;
- hopper.py: ``qpos[1:]``, ``qvel``, ``log1p`` of the toe and heel touch sensors.

Actions are the actuators in order, named by the joint each drives (a hinge gets a
torque, a slide a force). Other tasks raise ``EnvError`` (plots fall back to indices).
"""

from __future__ import annotations

import functools

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import EnvError

__all__ = ["NAMED_TASKS", "playground_names"]

_CARTPOLES = ("CartpoleBalance", "CartpoleBalanceSparse", "CartpoleSwingup",
              "CartpoleSwingupSparse")
NAMED_TASKS = (*_CARTPOLES, "PendulumSwingup", "AcrobotSwingup", "AcrobotSwingupSparse",
               "ReacherEasy", "ReacherHard", "PointMass", "HopperHop", "HopperStand")


def _actions(m) -> list[str]:
    names = []
    for a in range(m.nu):
        j = int(m.actuator_trnid[a, 0])
        kind = "force" if int(m.jnt_type[j]) == 2 else "torque"  # mjJNT_SLIDE = 2
        names.append(f"{m.joint(j).name or f'joint{j}'} {kind}")
    return names


def _observations(name: str, m) -> list[str]:
    from hades_zoo.engine.envs.brax.names import _joint_coordinates

    q, qd, _ = _joint_coordinates(m)
    if name in _CARTPOLES:
        poles = [m.body(b).name for b in range(2, m.nbody)]
        return (["cart position (slider)"] + [f"cos({p} world angle)" for p in poles]
                + [f"sin({p} world angle)" for p in poles] + qd)
    if name == "PendulumSwingup":
        return ["sin(pole world angle)", "cos(pole world angle)", qd[0]]
    if name.startswith("Acrobot"):
        arms = ("upper_arm", "lower_arm")
        return ([f"sin({a} world angle)" for a in arms]
                + [f"cos({a} world angle)" for a in arms] + qd)
    if name.startswith("Reacher"):
        return q + ["target - finger x", "target - finger y"] + qd
    if name == "PointMass":
        return q + qd
    if name.startswith("Hopper"):
        return q[1:] + qd + ["log1p(toe touch)", "log1p(heel touch)"]
    raise EnvError(
        f"no observation names for Playground task {name!r}: names are read for "
        f"{', '.join(NAMED_TASKS)}. Use indices, or add the task to "
        "hades_zoo/engine/envs/playground/names.py.")


@functools.lru_cache(maxsize=16)
def _names(name: str, impl: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from hades_zoo.engine.envs.playground.adapter import load_playground

    m = load_playground(EnvConfig(name=name, backend="playground", impl=impl)).mj_model
    return tuple(_observations(name, m)), tuple(_actions(m))


def playground_names(cfg: EnvConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(observation names, action names) of ``cfg``'s task (builds the env once).

    Raises:
        EnvError: a task without a name table, or the env cannot be built.
    """
    if cfg.name not in NAMED_TASKS:
        _observations(cfg.name, None)  # raises the no-table error
    return _names(cfg.name, cfg.impl)
