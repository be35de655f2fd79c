"""MuJoCo Playground envs (``env.backend: playground``): one folder, the whole family.

`MuJoCo Playground <https://github.com/google-deepmind/mujoco_playground>`_ (the
``playground`` package, imported as ``mujoco_playground``; install it with
``pip install 'hades_zoo[playground]'``) runs MuJoCo models in JAX through MJX, either
on MJX's JAX implementation (``impl="jax"``, any JAX device, the one that works on CPU)
or on MuJoCo Warp (``impl="warp"``, NVIDIA GPUs). This folder puts its envs behind
hades_zoo's functional ``Env`` contract (``hades_zoo.engine.envs``):

- ``specs``: the DM Control Suite tasks hades_zoo knows, their (obs_dim, action_dim)
  without building physics, the ``impl`` rule (``env.impl``: ``jax`` / ``warp`` /
  ``""`` = by platform), and the typed errors for a missing extra, an unknown task and
  a MuJoCo Menagerie task whose robot files are not on disk;
- ``adapter``: ``make_playground_env``: ``registry.load(name, config_overrides=
  {"impl": ...})`` behind pure ``reset`` / ``step`` with truncation at
  ``env.episode_length``, auto-reset to a freshly drawn initial state, actions clipped
  to [-1, 1] and flat float32 observations;
- ``names``: observation / action names read from each task's MJCF model.

Which tasks work offline: the DM Control Suite tasks (``CartpoleSwingup``,
``PendulumSwingup``, ``ReacherEasy``, ``HopperHop``, ...) ship their XML inside the
package. The locomotion and manipulation tasks (``Go1JoystickFlatTerrain``,
``PandaPickCube``, ...) load robot files from MuJoCo Menagerie, which Playground
``git clone``s into its own install folder on first use; hades_zoo does not trigger
that clone (it raises ``EnvError`` saying how to fetch it), so a run never stalls on
the network.

Imports: ``hades_zoo.engine.envs`` (the ``Env`` contract), ``hades_zoo.data``,
``hades_zoo.errors``; ``mujoco_playground`` only inside functions.
"""

from __future__ import annotations

from hades_zoo.engine.envs.playground.specs import (
    PLAYGROUND_BACKEND,
    PLAYGROUND_IMPLS,
    PLAYGROUND_SPECS,
    check_playground_config,
    playground_spec,
    resolve_impl,
)

__all__ = [
    "PLAYGROUND_BACKEND",
    "PLAYGROUND_IMPLS",
    "PLAYGROUND_SPECS",
    "check_playground_config",
    "make_playground_env",
    "playground_spec",
    "resolve_impl",
]


def make_playground_env(cfg):
    """Build a Playground env (``adapter.make_playground_env``; imported lazily)."""
    from hades_zoo.engine.envs.playground.adapter import make_playground_env as make

    return make(cfg)
