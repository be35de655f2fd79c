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
    "PROVIDER",
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


def _make(cfg):
    check_playground_config(cfg)
    return make_playground_env(cfg)


def _spec(cfg):
    from hades_zoo.engine.envs.contract import EnvSpec

    dims = playground_spec(cfg)
    if dims is None:  # a task outside the DM Control Suite table: build it
        return make_playground_env(cfg).spec
    return EnvSpec(int(dims[0]), int(dims[1]), False, cfg.episode_length)


def _names(index: int):
    def names(cfg):
        from hades_zoo.engine.envs.playground.names import playground_names

        return list(playground_names(cfg)[index])

    return names


def _accepts(cfg) -> bool:
    """A Playground task beyond the offline suite table: known to Playground's registry
    (imports it) and, for a Menagerie robot, its assets on disk; else EnvError."""
    check_playground_config(cfg)
    return True


def _provider():
    from hades_zoo.engine.envs.playground.specs import INSTALL_HINT
    from hades_zoo.engine.envs.provider import EnvProvider

    return EnvProvider(
        name=PLAYGROUND_BACKEND,
        make=_make,
        spec=_spec,
        env_ids=lambda: PLAYGROUND_SPECS,
        package="playground",
        install_hint=INSTALL_HINT,
        observation_names=_names(0),
        action_names=_names(1),
        accepts=_accepts,
        description="MuJoCo Playground (MJX): DM Control Suite tasks offline, "
                    "extra hades_zoo[playground]; env.impl jax | warp",
        checked=False,
    )


PROVIDER = _provider()
