"""What each number of a brax env's observation and action means, read from the env.

The names come from the env's MJCF model as brax loaded it (``env.sys.mj_model``:
joint names, types and ``qpos``/``qvel`` addresses, body names, the joint each
actuator drives) and brax's ``_get_obs`` for how the observation is assembled from
``q``/``qd`` (which leading positions it drops, per env, cited below for brax 0.14;
whether it drops them is read from the env's
``_exclude_current_positions_from_observation``). Actuators are named by the joint
they drive: a hinge gets a torque, a slide a force. ``hades_zoo.engine.envs.names``
asks the brax provider, which asks this module.
"""

from __future__ import annotations

import functools

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import EnvError

__all__ = ["brax_names"]

# brax 0.14 ``_get_obs``: leading entries of ``q`` dropped when
# ``_exclude_current_positions_from_observation`` is true (the torso's world x, and y
# for the 3-D robots): ant.py:276-277 (q[2:]), half_cheetah.py:206-207 (position[1:]),
# hopper.py:272-273, walker2d.py:248-249 (position[1:]), humanoid.py:308-309 (q[2:]);
# humanoidstandup.py:245 always drops two (``pipeline_state.q[2:]``).
_BRAX_DROPPED_Q = {"ant": 2, "halfcheetah": 1, "hopper": 1, "walker2d": 1,
                   "humanoid": 2, "humanoidstandup": 2}
# hopper.py:269 / walker2d.py:245: ``position.at[1].set(pipeline_state.x.pos[0, 2])``:
# q[1] (rootz, relative) is replaced by the torso body's world height; velocities are
# clipped to [-10, 10] (hopper.py:270, walker2d.py:246).
_BRAX_TORSO_HEIGHT = ("hopper", "walker2d")


def _joint_coordinates(m) -> tuple[list[str], list[str], list[str]]:
    """Names of ``qpos`` (nq,), ``qvel`` (nv,) and the dof forces (nv,) of MjModel m."""
    import mujoco

    jt = mujoco.mjtJoint
    q, qd, force = [""] * m.nq, [""] * m.nv, [""] * m.nv
    for j in range(m.njnt):
        name = m.joint(j).name or f"joint{j}"
        body = m.body(int(m.jnt_bodyid[j])).name
        tag = name if (not body or body in name) else f"{name} ({body})"
        qa, va, kind = int(m.jnt_qposadr[j]), int(m.jnt_dofadr[j]), int(m.jnt_type[j])
        if kind == jt.mjJNT_FREE:
            pos = [f"{tag} {c}" for c in ("x", "y", "z (height)")]
            quat = [f"{tag} orientation quat {c}" for c in "wxyz"]
            vel = [f"{tag} velocity {c}" for c in "xyz"]
            ang = [f"{tag} angular velocity {c}" for c in "xyz"]
            q[qa:qa + 7], qd[va:va + 6] = pos + quat, vel + ang
            force[va:va + 6] = ([f"{tag} force {c}" for c in "xyz"]
                                + [f"{tag} torque {c}" for c in "xyz"])
        elif kind == jt.mjJNT_BALL:
            q[qa:qa + 4] = [f"{tag} quat {c}" for c in "wxyz"]
            qd[va:va + 3] = [f"{tag} angular velocity {c}" for c in "xyz"]
            force[va:va + 3] = [f"{tag} torque {c}" for c in "xyz"]
        elif kind == jt.mjJNT_SLIDE:
            q[qa], qd[va], force[va] = (f"{tag} position", f"{tag} velocity",
                                        f"{tag} force")
        else:  # hinge
            q[qa], qd[va], force[va] = (f"{tag} angle", f"{tag} angular velocity",
                                        f"{tag} torque")
    return q, qd, force


@functools.lru_cache(maxsize=16)
def brax_names(name: str, backend: str, compat: str) -> tuple[tuple[str, ...],
                                                               tuple[str, ...]]:
    """(observation names, action names) of a brax env, from its loaded system."""
    from hades_zoo.engine.envs.brax.adapter import base_env
    from hades_zoo.engine.envs.quiet import captured

    cfg = EnvConfig(name=name, backend=backend, compat=compat)
    with captured(f"loading brax {name} for its names"):
        env = base_env(cfg)
    m = env.sys.mj_model
    q, qd, force = _joint_coordinates(m)
    actions = []  # brax's action i drives actuator i (``sys.actuator``)
    for a in range(m.nu):
        j = int(m.actuator_trnid[a, 0])
        kind = "force" if int(m.jnt_type[j]) == 2 else "torque"  # mjJNT_SLIDE = 2
        actions.append(f"{m.joint(j).name or f'joint{j}'} {kind}")
    if name in _BRAX_DROPPED_Q:
        if name in _BRAX_TORSO_HEIGHT:
            q[1] = f"{m.body(1).name} z (height)"
        drop = (_BRAX_DROPPED_Q[name]
                if getattr(env, "_exclude_current_positions_from_observation", True)
                else 0)
        obs = q[drop:] + qd
        if name in ("humanoid", "humanoidstandup"):
            obs += _humanoid_tail(env, force)
    elif name == "inverted_double_pendulum":  # inverted_double_pendulum.py:189-195
        obs = ([q[0]] + [f"sin({n})" for n in q[1:]] + [f"cos({n})" for n in q[1:]]
               + qd)
    elif name == "inverted_pendulum":  # inverted_pendulum.py:154
        obs = q + qd
    elif name == "reacher":  # reacher.py:217-239
        arm = q[:2]
        obs = ([f"cos({n})" for n in arm] + [f"sin({n})" for n in arm] + q[2:]
               + ["fingertip velocity x", "fingertip velocity y"]
               + [f"fingertip - target {c}" for c in "xyz"])
    else:  # pragma: no cover - every BRAX_SPECS env is handled above
        raise EnvError(f"no observation names for brax env {name!r}: add it to "
                       "hades_zoo/engine/envs/brax/names.py.")
    return tuple(obs), tuple(actions)


def _humanoid_tail(env, force: list[str]) -> list[str]:
    """humanoid.py:311-337 / humanoidstandup.py:248-274: per link (``sys.link_names``)
    the 3x3 inertia about the centre of mass and the mass, then per link the centre
    of mass velocity and angular velocity, then the actuator force on every dof."""
    links = list(env.sys.link_names)
    inertia = [f"{ln} com inertia {r}{c}" for ln in links for r in "xyz" for c in "xyz"]
    per_link_inertia = [inertia[9 * i:9 * i + 9] + [f"{ln} mass"]
                        for i, ln in enumerate(links)]
    velocity = [f"{ln} com {k} {c}" for ln in links
                for k, cs in (("velocity", "xyz"), ("angular velocity", "xyz"))
                for c in cs]
    return ([n for block in per_link_inertia for n in block] + velocity
            + [f"actuator {f}" for f in force])
