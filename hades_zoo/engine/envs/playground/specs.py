"""Which Playground tasks hades_zoo knows, their sizes without physics, and the ``impl`` rule.

``PLAYGROUND_SPECS`` lists MuJoCo Playground 0.2.0's DM Control Suite tasks with their
(obs_dim, action_dim), read from the built envs (``jax.eval_shape(env.reset)``,
``env.action_size``) and checked against them by ``tests/test_playground.py``, so that
loading a dataset checks its shapes without importing Playground or building physics.
All of them have ``episode_length`` 1000 in Playground's default config and observe a
flat vector. Their XML ships inside the package (``mujoco_playground/_src/
dm_control_suite/xmls``): they work offline.

Any other name is looked up in the installed Playground's registry: a locomotion or
manipulation task needs MuJoCo Menagerie on disk (see ``check_playground_config``).

``impl`` (``env.impl`` of the recipe): ``"jax"`` is MJX's JAX implementation (CPU,
GPU, TPU); ``"warp"`` is MuJoCo Warp (NVIDIA GPU only); ``""`` picks by platform when
the env is built: ``warp`` when JAX's default backend is a GPU and Warp imports,
``jax`` otherwise. A recipe that must replay the same numerics everywhere names its
impl (the zoo's own Playground recipes say ``impl: jax``).
"""

from __future__ import annotations

import functools

from hades_zoo.data.recipe import PLAYGROUND_BACKEND, PLAYGROUND_IMPLS, EnvConfig
from hades_zoo.errors import EnvError, close_matches

__all__ = [
    "INSTALL_HINT",
    "PLAYGROUND_BACKEND",
    "PLAYGROUND_IMPLS",
    "PLAYGROUND_SPECS",
    "check_playground_config",
    "import_playground",
    "playground_spec",
    "resolve_impl",
]

INSTALL_HINT = "pip install 'hades_zoo[playground]'"

# (obs_dim, action_dim) of Playground 0.2.0's DM Control Suite tasks (module doc).
PLAYGROUND_SPECS: dict[str, tuple[int, int]] = {
    "AcrobotSwingup": (6, 1),
    "AcrobotSwingupSparse": (6, 1),
    "BallInCup": (8, 2),
    "CartpoleBalance": (5, 1),
    "CartpoleBalanceSparse": (5, 1),
    "CartpoleSwingup": (5, 1),
    "CartpoleSwingupSparse": (5, 1),
    "CheetahRun": (17, 6),
    "FingerSpin": (9, 2),
    "FingerTurnEasy": (12, 2),
    "FingerTurnHard": (12, 2),
    "FishSwim": (24, 5),
    "HopperHop": (15, 4),
    "HopperStand": (15, 4),
    "HumanoidRun": (67, 21),
    "HumanoidStand": (67, 21),
    "HumanoidWalk": (67, 21),
    "PendulumSwingup": (3, 1),
    "PointMass": (4, 2),
    "ReacherEasy": (6, 2),
    "ReacherHard": (6, 2),
    "SwimmerSwimmer6": (25, 5),
    "WalkerRun": (24, 6),
    "WalkerStand": (24, 6),
    "WalkerWalk": (24, 6),
}


def import_playground():
    """``mujoco_playground``'s registry module, or EnvError naming the extra to install."""
    from hades_zoo.engine.envs.headless import import_mujoco

    try:
        import_mujoco()  # before Playground does: MUJOCO_GL chosen, a broken one an EnvError
        from mujoco_playground._src import registry
    except ImportError as err:
        raise EnvError(
            "MuJoCo Playground envs (env.backend: playground) need the playground extra: "
            f"`{INSTALL_HINT}` (the `playground` package; it could not be imported: "
            f"{err})."
        ) from err
    return registry


def _menagerie_path():
    import_playground()  # the GL default first, the extra's error if missing
    from mujoco_playground._src import mjx_env

    return mjx_env.MENAGERIE_PATH


@functools.lru_cache(maxsize=1)
def _other_tasks() -> tuple[frozenset[str], frozenset[str]]:
    """(every task of the installed Playground, its Menagerie ones) (imports it)."""
    registry = import_playground()
    from mujoco_playground._src import locomotion, manipulation

    menagerie = frozenset(locomotion.ALL_ENVS) | frozenset(manipulation.ALL_ENVS)
    return frozenset(registry.ALL_ENVS), menagerie


def check_playground_config(cfg: EnvConfig) -> None:
    """Raise EnvError when ``cfg`` cannot name a usable Playground task here.

    A DM Control Suite task (``PLAYGROUND_SPECS``) always passes (no import). Any other
    name imports Playground (EnvError with the install line when it is missing) and
    must be in its registry; a locomotion / manipulation task must find MuJoCo
    Menagerie on disk, where Playground clones it on first use
    (``mujoco_playground/external_deps/mujoco_menagerie``): hades_zoo does not start
    that network clone itself.

    Raises:
        EnvError: unknown task, missing extra, Menagerie absent, or ``impl`` unknown.
    """
    if cfg.impl not in PLAYGROUND_IMPLS:  # validate() checks recipes; make_env direct too
        raise EnvError(f"unknown Playground impl {cfg.impl!r}; use one of "
                       f"{', '.join(map(repr, PLAYGROUND_IMPLS))}.")
    if cfg.name in PLAYGROUND_SPECS:
        return
    every, menagerie = _other_tasks()
    if cfg.name not in every:
        raise EnvError(
            f"unknown MuJoCo Playground task {cfg.name!r}."
            f"{close_matches(cfg.name, sorted(every))} The DM Control Suite tasks, "
            f"which work offline: {', '.join(sorted(PLAYGROUND_SPECS))}.")
    if cfg.name in menagerie and not _menagerie_path().exists():
        raise EnvError(
            f"Playground task {cfg.name!r} loads its robot from MuJoCo Menagerie, which is "
            f"not on disk ({_menagerie_path()}); Playground clones it from GitHub on "
            "first use, which needs the network. Fetch it once where the network is "
            "reachable: `python -c \"from mujoco_playground._src import mjx_env; "
            "mjx_env.ensure_menagerie_exists()\"`, or use a DM Control Suite task "
            f"(offline): {', '.join(sorted(PLAYGROUND_SPECS))}.")


def playground_spec(cfg: EnvConfig) -> tuple[int, int] | None:
    """(obs_dim, action_dim) without physics for a known task, else None (build it)."""
    check_playground_config(cfg)
    return PLAYGROUND_SPECS.get(cfg.name)


def resolve_impl(cfg: EnvConfig) -> str:
    """The MJX implementation the env runs on: ``cfg.impl``, or by platform when ``""``.

    Raises:
        EnvError: ``impl: warp`` without a GPU as JAX's default backend.
    """
    import jax

    on_gpu = jax.default_backend() == "gpu"
    if cfg.impl == "warp" and not on_gpu:
        raise EnvError(
            f"env.impl: warp runs MuJoCo Warp, which needs an NVIDIA GPU; JAX's default "
            f"backend here is {jax.default_backend()!r}. Use env.impl: jax (MJX on any "
            "device) or leave env.impl empty to pick by platform.")
    if cfg.impl:
        return cfg.impl
    if on_gpu:
        import importlib.util

        return "warp" if importlib.util.find_spec("warp") is not None else "jax"
    return "jax"
