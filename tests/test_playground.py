"""MuJoCo Playground envs (env.backend: playground) and brax envs on backend mjx."""

from __future__ import annotations

import sys

import pytest

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_dict
from hades_zoo.engine.envs import env_spec, make_env
from hades_zoo.engine.envs.playground import PLAYGROUND_SPECS
from hades_zoo.errors import EnvError, RecipeError

CP = EnvConfig(name="CartpoleSwingup", backend="playground", impl="jax")



def _recipe(**env):
    return {"name": "cartpoleswingup-F-8", "variant": "F", "num_inits": 1,
            "env": {"name": "CartpoleSwingup", "backend": "playground", **env},
            "dataset": {"size": 8}, "policy": {"width": 8, "depth": 1, "init_seed": 0},
            "bc": {"lr": 0.01, "steps": 2},
            "eval": {"num_envs": 2, "num_steps": 10},
            "es": {"strategy": "OpenES", "popsize": 4, "generations": 1}}


# ------------------------------------------------------------ fast: no physics built
def _needs_playground() -> None:
    """Skip without the playground extra. Not ``pytest.importorskip``: importing
    mujoco_playground imports mujoco, which picks its GL backend then, before hades_zoo
    sets ``MUJOCO_GL=osmesa`` on a headless machine (``engine.envs.headless``)."""
    import importlib.util

    if importlib.util.find_spec("mujoco_playground") is None:
        pytest.skip("the playground extra is not installed")


def test_recipe_accepts_playground_and_checks_impl():
    recipe = recipe_from_dict(_recipe(impl="jax"))
    assert recipe.env.backend == "playground" and recipe.env.impl == "jax"
    assert recipe_to_dict(recipe)["env"]["impl"] == "jax"
    # impl left at its default is not written: older recipes' JSON keeps its bytes
    assert "impl" not in recipe_to_dict(recipe_from_dict(_recipe()))["env"]
    with pytest.raises(RecipeError, match="env.impl: unknown MJX implementation 'wrap'"):
        recipe_from_dict(_recipe(impl="wrap"))
    hopper = _recipe(impl="jax")
    hopper["env"] = {"name": "hopper", "backend": "positional", "impl": "jax"}
    with pytest.raises(RecipeError, match="applies to backend 'playground' only"):
        recipe_from_dict(hopper)


def test_spec_of_a_suite_task_without_physics():
    assert env_spec(CP).obs_dim == 5 and env_spec(CP).action_dim == 1
    spec = env_spec(EnvConfig(name="ReacherEasy", backend="playground", episode_length=50))
    assert (spec.obs_dim, spec.action_dim, spec.discrete, spec.max_episode_steps) == (
        6, 2, False, 50)


def test_suite_task_on_another_backend_names_the_backend():
    with pytest.raises(EnvError, match="is a playground env; set backend: playground"):
        env_spec(EnvConfig(name="CartpoleSwingup", backend="gymnax"))


def test_warp_without_a_gpu_is_an_env_error():
    import jax

    from hades_zoo.engine.envs.playground import resolve_impl

    if jax.default_backend() == "gpu":
        pytest.skip("a GPU is JAX's default backend here")
    with pytest.raises(EnvError, match="needs an NVIDIA GPU"):
        resolve_impl(EnvConfig(name="CartpoleSwingup", backend="playground", impl="warp"))
    assert resolve_impl(EnvConfig(name="CartpoleSwingup", backend="playground")) == "jax"


def test_missing_extra_names_the_install(monkeypatch):
    for mod in ("mujoco_playground", "mujoco_playground._src",
                "mujoco_playground._src.registry"):
        monkeypatch.setitem(sys.modules, mod, None)  # import raises ImportError
    from hades_zoo.engine.envs.playground import specs

    specs._other_tasks.cache_clear()
    # a suite task's spec needs no import; building it does
    assert env_spec(CP).obs_dim == 5
    make_env.cache_clear()
    with pytest.raises(EnvError, match=r"pip install 'hades_zoo\[playground\]'"):
        make_env(EnvConfig(name="PendulumSwingup", backend="playground", impl="jax"))
    # a name outside the table needs the registry, hence the package
    with pytest.raises(EnvError, match=r"pip install 'hades_zoo\[playground\]'"):
        env_spec(EnvConfig(name="Go1JoystickFlatTerrain", backend="playground"))
    specs._other_tasks.cache_clear()
    make_env.cache_clear()


# ------------------------------------------------ these import Playground (~10 s)
def test_menagerie_task_offline_is_an_env_error(monkeypatch, tmp_path):
    _needs_playground()
    from hades_zoo.engine.envs.playground import specs

    monkeypatch.setattr(specs, "_menagerie_path", lambda: tmp_path / "absent")
    cfg = EnvConfig(name="Go1JoystickFlatTerrain", backend="playground")
    with pytest.raises(EnvError, match="MuJoCo Menagerie, which is not on disk"):
        env_spec(cfg)
    with pytest.raises(EnvError, match="MuJoCo Menagerie"):
        make_env(cfg)


def test_unknown_task_suggests_the_close_one():
    _needs_playground()
    with pytest.raises(EnvError, match="unknown MuJoCo Playground task 'CartpoleSwingUp'"
                                      ".*CartpoleSwingup"):
        env_spec(EnvConfig(name="CartpoleSwingUp", backend="playground"))


# ------------------------------------------------------------ slow: builds physics
@pytest.mark.slow
def test_adapter_truncates_resets_fresh_and_clips():
    _needs_playground()
    import jax
    import jax.numpy as jnp
    import numpy as np

    cfg = EnvConfig(name="CartpoleSwingup", backend="playground", impl="jax",
                    episode_length=3)
    env = make_env(cfg)
    assert (env.spec.obs_dim, env.spec.action_dim) == PLAYGROUND_SPECS[cfg.name]

    def run(key, action):
        obs, state = env.reset(key)
        out = []
        for i in range(4):  # unrolled: one compile
            obs, state, reward, done = env.step(jax.random.fold_in(key, i), state, action)
            out.append((obs, state.t, reward, done))
        return obs, out

    obs0, _ = jax.jit(env.reset)(jax.random.PRNGKey(0))
    assert obs0.shape == (5,) and obs0.dtype == jnp.float32
    _, out = jax.jit(run)(jax.random.PRNGKey(0), jnp.array([5.0]))
    dones = [bool(d) for *_, d in out]
    assert dones == [False, False, True, False]  # truncated at episode_length 3
    assert [int(t) for _, t, _, _ in out] == [1, 2, 0, 1]
    # after the reset the cart is back near the centre, pole hanging down (cos ~ -1)
    obs_after = np.asarray(out[2][0])
    assert abs(obs_after[0]) < 0.05 and obs_after[1] < -0.99
    # the action was clipped to 1: the same as stepping with exactly 1
    _, out1 = jax.jit(run)(jax.random.PRNGKey(0), jnp.array([1.0]))
    np.testing.assert_allclose(np.asarray(out[0][0]), np.asarray(out1[0][0]), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PLAYGROUND_SPECS))
def test_spec_table_matches_the_installed_playground(name):
    _needs_playground()
    import jax

    from hades_zoo.engine.envs.playground.adapter import load_playground

    env = load_playground(EnvConfig(name=name, backend="playground", impl="jax"))
    obs = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs
    assert (obs.shape[-1], env.action_size) == PLAYGROUND_SPECS[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["CartpoleSwingup", "PendulumSwingup", "ReacherEasy",
                                  "AcrobotSwingup", "PointMass", "HopperHop"])
def test_names_from_the_mjcf(name):
    _needs_playground()
    from hades_zoo.engine.envs.names import action_names, observation_names

    cfg = EnvConfig(name=name, backend="playground", impl="jax")
    obs, act = observation_names(cfg), action_names(cfg)
    assert len(obs) == PLAYGROUND_SPECS[name][0] and len(act) == PLAYGROUND_SPECS[name][1]
    if name == "CartpoleSwingup":
        assert obs[:3] == ["cart position (slider)", "cos(pole_1 world angle)",
                           "sin(pole_1 world angle)"]
        assert act == ["slider force"]


@pytest.mark.slow
def test_brax_hopper_builds_on_mjx():
    import jax

    env = make_env(EnvConfig(name="hopper", backend="mjx"))
    assert (env.spec.obs_dim, env.spec.action_dim) == (11, 3)
    obs, _ = jax.eval_shape(env.reset, jax.random.PRNGKey(0))
    assert obs.shape == (11,)


@pytest.mark.gl
def test_a_playground_task_is_drawn_from_its_recorded_qpos(tmp_path):
    """CartpoleSwingup: a policy's rollout records qpos; the frames move with the cart
    and pole; the video plays at 1 / ctrl_dt; family_of routes the backend."""
    _needs_playground()
    import jax
    import numpy as np

    from hades_zoo.engine.render import family_of, renderer_for
    from hades_zoo.engine.render.episode import Episode
    from hades_zoo.engine.render.playground_frames import (
        draw_playground,
        playground_control_rate,
        record_playground,
    )

    cfg = EnvConfig(name="CartpoleSwingup", backend="playground", impl="jax",
                    episode_length=6)
    assert family_of(cfg) == "playground" and renderer_for(cfg).record_state is not None
    env = make_env(cfg)
    _, state = env.reset(jax.random.PRNGKey(0))
    qpos = [np.asarray(record_playground(state))]
    step = jax.jit(env.step)
    for t in range(3):
        _, state, _, _ = step(jax.random.PRNGKey(t), state, np.ones(1, np.float32))
        qpos.append(np.asarray(record_playground(state)))
    qpos = np.stack(qpos)
    assert qpos.shape == (4, 2) and abs(qpos[-1, 0] - qpos[0, 0]) > 1e-4  # the cart moved
    episode = Episode(observations=np.zeros((4, 5), np.float32),
                      actions=np.zeros((4, 1), np.float32), rewards=np.zeros(4, np.float32),
                      states=qpos, steps=np.arange(4),
                      running_returns=np.zeros(4), episode_return=0.0, length=4)
    frames = draw_playground(cfg, episode, width=64, height=48)
    assert frames.shape == (4, 48, 64, 3) and frames.dtype == np.uint8 and frames.std() > 5
    moved = qpos.copy()
    moved[:, 0] += 0.5  # the cart half a metre to the side: another picture
    assert not np.array_equal(draw_playground(cfg, episode.__class__(
        **{**episode.__dict__, "states": moved}), width=64, height=48)[0], frames[0])
    assert playground_control_rate(cfg) == 100.0


@pytest.mark.parametrize("version", ["", "0.2.0"])
def test_envs_says_whether_the_playground_package_is_installed(monkeypatch, version):
    """`hades-zoo envs` listed 'playground (package playground, built in)' with its 25
    envs when the package was missing; eval of one then failed."""
    import json

    from click.testing import CliRunner

    from hades_zoo.cli import cli
    from hades_zoo.engine.envs import provider as provider_module

    real = provider_module.distribution_version
    monkeypatch.setattr(provider_module, "distribution_version",
                        lambda p: version if p == "playground" else real(p))
    out = CliRunner().invoke(cli, ["envs"]).output
    line = next(x for x in out.splitlines() if x.startswith("playground"))
    envs = out.splitlines()[out.splitlines().index(line) + 1]
    row = next(r for r in json.loads(CliRunner().invoke(cli, ["envs", "--json"]).output)
               if r.get("provider") == "playground")
    if version:
        assert "not installed" not in line and row["installed"] is True
        assert not envs.strip().startswith("once installed")
    else:
        assert "not installed: pip install 'hades_zoo[playground]'" in line, line
        assert envs.strip().startswith("once installed: AcrobotSwingup")
        assert row["installed"] is False
