"""What each number of an env's observation and action means, read from the env definitions.

``observation_names(cfg)`` names every entry of the flat observation a dataset stores
(``obs_dim`` names), ``action_names(cfg)`` every continuous action dim or discrete
action (``action_dim`` names), and ``channel_names(cfg)`` the channels of an image
observation (MinAtar ``10x10xC``, Pong-misc ``30x40x3``; None for flat observations).
The plots (``hades_zoo.zoo.plotting``) label their axes with them.

Where the names come from:

- brax: the env's MJCF model as brax loaded it (``env.sys.mj_model``: joint names,
  types and ``qpos``/``qvel`` addresses, body names, the joint each actuator drives)
  and brax's ``_get_obs`` for how the observation is assembled from ``q``/``qd``
  (which leading positions it drops, per env, cited below for brax 0.14; whether it
  drops them is read from the env's ``_exclude_current_positions_from_observation``).
  Actuators are named by the joint they drive: a hinge gets a torque, a slide a force.
- gymnax classic control: the ``state.<field>`` terms of the env's ``get_obs`` source,
  in order (``jnp.cos``/``jnp.sin`` kept); discrete actions from a table citing the
  line that turns an action into a force, Acrobot's from its ``available_torque``.
- MinAtar: channel names from the ``Channels are encoded as ...`` line of the game's
  docstring (Seaquest: a table from its ``get_obs``), actions from the game's
  ``action_set`` indexing MinAtar's full action set.
- Pong-misc: tables citing ``gymnax/environments/misc/pong.py``.
- MuJoCo Playground: ``hades_zoo/engine/envs/playground/names.py`` (the family's folder).

An env without a name table raises ``EnvError``; plots then fall back to indices.
"""

from __future__ import annotations

import functools
import inspect
import re

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.errors import EnvError

__all__ = ["observation_names", "action_names", "channel_names", "named_envs"]

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

# MinAtar's full action set, in order: the comment "Full action set:
# ['n','l','u','r','d','f']" in gymnax/environments/minatar/breakout.py:56 (also
# asterix.py:63, freeway.py:53, space_invaders.py:67); each game's ``action_set``
# indexes it.
_MINATAR_FULL_ACTIONS = ("noop", "left", "up", "right", "down", "fire")
# gymnax/environments/minatar/seaquest.py:431-445 (``get_obs``; its docstring has no
# channel line): sub at ch 0, its back at 1, draw_entities(..., 2) friendly bullets,
# (..., 4) enemy bullets, (..., 5) enemy fish, (..., 6) enemy subs, (..., 9) divers,
# oxygen gauge at 7, diver gauge at 8; draw_entities writes trails to channel 3
# (seaquest_helpers.py:117-119).
_SEAQUEST_CHANNELS = ("sub_front", "sub_back", "friendly_bullet", "trail",
                      "enemy_bullet", "enemy_fish", "enemy_sub", "oxygen_gauge",
                      "diver_gauge", "diver")
# gymnax/environments/misc/pong.py: ``get_obs`` sets ch 1 "# ball" (line 128), ch 2
# "# ball last time step" (129), ch 0 "# paddle" (140-142); ``move_paddles`` (312):
# direction = (action == 2) - (action == 1), added to the paddle's row.
_PONG_CHANNELS = ("paddle", "ball", "ball_last_step")
_PONG_ACTIONS = ("stay", "paddle up (row -1)", "paddle down (row +1)")
# Discrete classic-control actions (gymnax/environments/classic_control/):
# cartpole.py:61 ``force = force_mag * action - force_mag * (1 - action)``;
# mountain_car.py:54 ``(action - 1) * params.force``.
_CLASSIC_ACTIONS = {
    "CartPole-v1": ("push left (-force_mag)", "push right (+force_mag)"),
    "MountainCar-v0": ("push left", "no push", "push right"),
}


def _family(cfg: EnvConfig) -> str:
    from hades_zoo.engine.envs import _check_config

    family = _check_config(cfg)
    if family == "image":
        raise EnvError(
            f"{cfg.name!r} is an image-classification dataset: its observations are "
            "pixels and its actions class labels, not env features; plot it with "
            "hades_zoo.zoo.plotting.plot_dataset, which draws the images.")
    return family


def _unnamed(cfg: EnvConfig, what: str) -> EnvError:
    return EnvError(
        f"no {what} names for env {cfg.name!r}: names are read for the brax envs, "
        f"gymnax classic control, MinAtar and Pong-misc ({', '.join(named_envs())}). "
        "Use indices, or add the env to hades_zoo/engine/envs/names.py.")


def named_envs() -> list[str]:
    """The env names ``observation_names`` / ``action_names`` know (zoo envs and more)."""
    from hades_zoo.engine.envs import BRAX_SPECS
    from hades_zoo.engine.envs.playground.names import NAMED_TASKS

    return sorted(BRAX_SPECS) + sorted(NAMED_TASKS) + ["Acrobot-v1", "Asterix-MinAtar", "Breakout-MinAtar",
                                 "CartPole-v1", "Freeway-MinAtar", "MountainCar-v0",
                                 "MountainCarContinuous-v0", "Pendulum-v1", "Pong-misc",
                                 "Seaquest-MinAtar", "SpaceInvaders-MinAtar"]


# ------------------------------------------------------------------------------ brax
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
def _brax_names(name: str, backend: str, compat: str) -> tuple[tuple[str, ...],
                                                               tuple[str, ...]]:
    """(observation names, action names) of a brax env, from its loaded system."""
    from hades_zoo.engine.envs.brax_env import _base_env
    from hades_zoo.engine.envs.quiet import captured

    cfg = EnvConfig(name=name, backend=backend, compat=compat)
    with captured(f"loading brax {name} for its names"):
        env = _base_env(cfg)
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
        raise _unnamed(cfg, "observation")
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


# ---------------------------------------------------------------------------- gymnax
def _gymnax_env(cfg: EnvConfig):
    import gymnax

    return gymnax.make(cfg.name)


def _minatar_channels(env) -> tuple[str, ...]:
    """``'name':index`` pairs of the "Channels are encoded as" docstring line."""
    if type(env).__name__.startswith("MinSeaquest"):
        return _SEAQUEST_CHANNELS
    for cls in type(env).__mro__:
        source = inspect.getsource(inspect.getmodule(cls))
        at = source.find("Channels are encoded as")
        if at >= 0:
            text = source[at:source.find('"""', at)]
            pairs = sorted((int(i), n) for n, i in re.findall(r"'(\w+)':\s*(\d+)", text))
            return tuple(n for _, n in pairs)
    raise EnvError(f"no channel line in the source of {type(env).__name__}.")


def _image_channels(cfg: EnvConfig, env) -> tuple[str, ...] | None:
    if cfg.name.endswith("-MinAtar"):
        return _minatar_channels(env)
    if cfg.name == "Pong-misc":
        return _PONG_CHANNELS
    return None


@functools.lru_cache(maxsize=32)
def _gymnax_names(name: str, compat: str) -> tuple[tuple[str, ...], tuple[str, ...],
                                                   tuple[str, ...] | None]:
    import numpy as np

    cfg = EnvConfig(name=name, backend="gymnax", compat=compat)
    env, params = _gymnax_env(cfg)
    shape = tuple(int(s) for s in env.observation_space(params).shape)
    space = env.action_space(params)
    channels = _image_channels(cfg, env)
    if channels is not None:
        h, w, c = shape
        obs = tuple(f"{channels[k]} at (row {r}, col {x})"
                    for r in range(h) for x in range(w) for k in range(c))
        if name.endswith("-MinAtar"):
            actions = tuple(_MINATAR_FULL_ACTIONS[int(i)]
                            for i in np.asarray(env.action_set))
        else:
            actions = _PONG_ACTIONS
        return obs, actions, channels
    if type(env).__module__.split(".")[-2:-1] != ["classic_control"]:
        raise _unnamed(cfg, "observation")
    terms = re.findall(r"(?:jnp\.(cos|sin)\(\s*)?state\.(\w+)",
                       inspect.getsource(type(env).get_obs))
    obs = tuple(f"{fn}({field})" if fn else field for fn, field in terms)
    if hasattr(space, "n"):
        if hasattr(params, "available_torque"):  # acrobot.py:58, 68
            actions = tuple(f"torque {float(t):+g}" if t else "torque 0"
                            for t in np.asarray(params.available_torque))
        else:
            actions = _CLASSIC_ACTIONS.get(name, ())
    else:  # pendulum.py:57 (max_torque), continuous_mountain_car.py:56 (min/max_action)
        lim = getattr(params, "max_torque", None)
        actions = ((f"torque (clipped to ±{float(lim):g})",) if lim is not None else
                   (f"force (clipped to [{params.min_action:g}, {params.max_action:g}])",))
    return obs, actions, None


def _playground_names(cfg: EnvConfig):
    from hades_zoo.engine.envs.playground.names import playground_names

    return playground_names(cfg)


# ----------------------------------------------------------------------------- public
def _checked(cfg: EnvConfig, names, size: int, what: str) -> list[str]:
    if len(names) != size:
        raise EnvError(
            f"{len(names)} {what} names for env {cfg.name!r} but it has {size} "
            f"{what}s: the installed env differs from the one "
            "hades_zoo/engine/envs/names.py was written for; fix the table there.")
    return list(names)


def observation_names(cfg: EnvConfig) -> list[str]:
    """Names of the (obs_dim,) flat observation, e.g. hopper's ``"torso z (height)"``.

    Args:
        cfg: the env (``recipe.env``).

    Returns:
        ``obs_dim`` strings. Image observations (MinAtar, Pong-misc) are flattened
        row-major ``(row, col, channel)``: ``"ball at (row 3, col 5)"``.

    Raises:
        EnvError: an unknown env, an image-classification dataset, an env without a
            name table, or names that do not fit the installed env's size.

    Source: the env definitions (module doc).
    """
    from hades_zoo.engine.envs import env_spec

    family = _family(cfg)
    names = (_brax_names(cfg.name, cfg.backend, cfg.compat)[0] if family == "brax"
             else _playground_names(cfg)[0] if family == "playground"
             else _gymnax_names(cfg.name, cfg.compat)[0])
    return _checked(cfg, names, env_spec(cfg).obs_dim, "observation")


def action_names(cfg: EnvConfig) -> list[str]:
    """Names of the actions: continuous dims (brax: ``"<joint> torque"``) or the
    discrete actions (MinAtar ``noop``/``left``/``right``/``fire``...).

    Args:
        cfg: the env (``recipe.env``).

    Returns:
        ``action_dim`` strings, in action order.

    Raises:
        EnvError: as ``observation_names``.
    """
    from hades_zoo.engine.envs import env_spec

    family = _family(cfg)
    names = (_brax_names(cfg.name, cfg.backend, cfg.compat)[1] if family == "brax"
             else _playground_names(cfg)[1] if family == "playground"
             else _gymnax_names(cfg.name, cfg.compat)[1])
    return _checked(cfg, names, env_spec(cfg).action_dim, "action")


def channel_names(cfg: EnvConfig) -> list[str] | None:
    """Names of the channels of an image observation (MinAtar Breakout: ``paddle``,
    ``ball``, ``trail``, ``brick``), or None for a flat observation.

    Raises:
        EnvError: an unknown env or an image-classification dataset.
    """
    if _family(cfg) in ("brax", "playground"):
        return None
    try:
        channels = _gymnax_names(cfg.name, cfg.compat)[2]
    except EnvError:
        return None
    return None if channels is None else list(channels)
