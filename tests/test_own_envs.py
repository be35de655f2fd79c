"""Users' own envs: ``register_env``, the adapters, the ``hades_zoo.envs`` entry-point
group, what a dataset records about its env provider, and the message when that
provider is missing.

Two envs are distilled end to end: a 1-D point mass defined in this file
(``register_env``, Python API) and the envs of a separate package,
``tests/fixtures/hz_env_pkg`` (installed as a distribution: its ``*.dist-info`` with
``entry_points.txt`` written into a folder on the path, as pip would; the slow tests
run the CLI in fresh processes, and one ``pip install``s it for real).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hades_zoo as hz
from hades_zoo.data.recipe import (
    BCConfig,
    DatasetConfig,
    EnvConfig,
    ESConfig,
    EvalConfig,
    PolicyConfig,
    Recipe,
)
from hades_zoo.engine.envs import env_spec, make_env, registry
from hades_zoo.errors import EnvError, MissingEnvProviderError
from tests.conftest import REPO

PKG = REPO / "tests" / "fixtures" / "hz_env_pkg"


# ------------------------------------------------------------------ a test's own env
def point_mass(cfg: EnvConfig):
    """A block on a line: obs (x, v), action a force in [-1, 1], reward -x**2; the
    episode ends after ``cfg.episode_length`` steps and restarts from a new x."""

    def reset(key):
        x = jax.random.uniform(key, (), minval=-1.0, maxval=1.0)
        state = (x, jnp.zeros(()), jnp.zeros((), jnp.int32))
        return jnp.stack([x, 0.0]), state

    def step(key, state, action):
        x, v, t = state
        v = 0.9 * v + 0.1 * jnp.clip(action[0], -1.0, 1.0)
        x, t = x + 0.1 * v, t + 1
        done = t >= cfg.episode_length
        obs0, state0 = reset(key)
        state = jax.tree.map(lambda a, b: jnp.where(done, a, b), state0, (x, v, t))
        obs = jnp.where(done, obs0, jnp.stack([x, v]))
        return obs, state, -(x**2), done

    return reset, step


def tiny_recipe(name: str, env: str, backend: str) -> Recipe:
    """HaDES-R, 4 pairs, pop 8, 2 generations, 10 BC steps, 2 envs x 20 steps."""
    return Recipe(name=name, variant="R", num_inits=2,
                  env=EnvConfig(name=env, backend=backend, episode_length=20),
                  dataset=DatasetConfig(size=4), policy=PolicyConfig(width=16, depth=1),
                  bc=BCConfig(steps=10), eval=EvalConfig(num_envs=2, num_steps=20),
                  es=ESConfig(popsize=8, generations=2, log_every=1)).validate()


@pytest.fixture
def clean_registry(monkeypatch):
    """The env registry as it was before the test (registrations, tried entry points)."""
    registry._ensure_builtins()
    for name in ("_PROVIDERS", "_ORIGINS", "_BY_BACKEND", "_ENTRY_POINTS"):
        monkeypatch.setattr(registry, name, dict(getattr(registry, name)))
    monkeypatch.setattr(registry, "_ENVS", {k: dict(v) for k, v in registry._ENVS.items()})
    make_env.cache_clear()
    yield registry
    make_env.cache_clear()


def installed(site: Path, *, entry_points: str | None = None) -> Path:
    """Write the fixture package's ``*.dist-info`` (METADATA, entry_points.txt) into
    ``site``, as ``pip install`` would, from its pyproject.toml; return ``site``."""
    project = tomllib.loads((PKG / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n")
    if entry_points is None:
        group = project["entry-points"]["hades_zoo.envs"]
        entry_points = "".join(f"{k} = {v}\n" for k, v in group.items())
    (info / "entry_points.txt").write_text(f"[hades_zoo.envs]\n{entry_points}")
    return site


@pytest.fixture
def env_package(tmp_path, monkeypatch, clean_registry):
    """The fixture package importable and installed (dist-info on sys.path)."""
    site = installed(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PKG))
    importlib.invalidate_caches()
    yield site
    sys.modules.pop("hz_env_pkg", None)


# ----------------------------------------------------------------------- register_env
def test_a_registered_env_keeps_the_contract_and_is_found_by_backend(clean_registry, key):
    hz.register_env("PointMass-v0", point_mass, provider="testenvs", action_dim=1,
                    observation_names=["x", "v"], action_names=["force"])
    cfg = EnvConfig(name="PointMass-v0", backend="testenvs", episode_length=5)
    env = make_env(cfg)
    assert env.spec == hz.EnvSpec(2, 1, False, 5) == env_spec(cfg)
    obs, state = env.reset(key)
    assert obs.shape == (2,)
    step = jax.jit(env.step)
    for _ in range(5):
        obs, state, _, done = step(key, state, jnp.ones(1))
    assert bool(done) and int(state[2]) == 0  # truncated at 5, auto-reset
    from hades_zoo.engine.envs import names

    assert names.observation_names(cfg) == ["x", "v"]
    assert names.action_names(cfg) == ["force"]
    assert "PointMass-v0" in registry.known_envs()
    record = registry.provider_record(cfg)
    assert (record.name, record.version, record.package) == ("testenvs", "", "")
    # the same env under another name: the default provider, obs_dim read by tracing
    hz.register_env("PointMass-v1", point_mass, action_dim=1)
    assert make_env(EnvConfig(name="PointMass-v1", backend="local")).spec.obs_dim == 2


def test_a_recipe_names_a_registered_env_and_a_typo_gets_the_provider(clean_registry,
                                                                       tmp_path):
    hz.register_env("PointMass-v0", point_mass, provider="testenvs", action_dim=1)
    (tmp_path / "r.yaml").write_text(
        "name: pm-R-4\nvariant: R\nnum_inits: 2\nenv: {name: PointMass-v0, backend: "
        "testenvs}\ndataset: {size: 4}\npolicy: {width: 16}\nbc: {steps: 5}\n"
        "eval: {num_envs: 2, num_steps: 10}\nes: {popsize: 8, generations: 2}\n")
    recipe = hz.load_recipe(tmp_path / "r.yaml")
    assert make_env(recipe.env).spec.obs_dim == 2
    with pytest.raises(EnvError, match="'PointMass-v0' is a testenvs env; set backend: "
                                       "testenvs"):
        make_env(EnvConfig(name="PointMass-v0"))  # default backend gymnax
    with pytest.raises(EnvError, match="unknown env 'PointMas-v0' for backend 'testenvs'"
                                       ".*Did you mean: PointMass-v0"):
        make_env(EnvConfig(name="PointMas-v0", backend="testenvs"))
    with pytest.raises(MissingEnvProviderError, match="unknown env backend 'testenv'.*"
                                                      "Did you mean: testenvs"):
        make_env(EnvConfig(name="PointMass-v0", backend="testenv"))


def _factory_returning(*outs):
    return lambda cfg: outs


def _env_with(reset=None, step=None):
    """A point-mass factory with ``reset`` / ``step`` swapped for broken ones."""

    def factory(cfg):
        r, s = point_mass(cfg)
        return (reset or r), (step or s)

    return factory


_R, _S = point_mass(EnvConfig(name="x", backend="x", episode_length=5))


@pytest.mark.parametrize("factory, match", [
    (_factory_returning(_R, _S, _S), (r"factory returned a tuple of 3 values; return "
                                      r"\(reset, step\)")),
    (lambda cfg: None, "factory returned a NoneType"),
    (lambda cfg: 1 / 0, "its factory raised ZeroDivisionError"),
    (_env_with(reset=lambda k: (_R(k)[0], _R(k)[1], 0)),
     r"reset\(key\) returned a tuple of 3 values; it must return \(obs, state\)"),
    (_env_with(reset=lambda k: ({"x": _R(k)[0]}, _R(k)[1])),
     "reset's obs is a dict, not an array"),
    (_env_with(reset=lambda k: (jnp.zeros((2, 1)), _R(k)[1])),
     r"reset's obs has shape \(2, 1\); it must be flat, \(2,\)"),
    (_env_with(reset=lambda k: (jnp.zeros(2, jnp.int32), _R(k)[1])),
     "reset's obs has dtype int32; return floats"),
    (_env_with(step=lambda k, s, a: _S(k, s, a)[:3]),
     r"step\(key, state, action\) returned a tuple of 3 values"),
    (_env_with(step=lambda k, s, a: (*_S(k, s, a)[:3], jnp.zeros(()))),
     "step's done has dtype float32; return a bool scalar"),
    (_env_with(step=lambda k, s, a: (*_S(k, s, a)[:2], jnp.zeros(3), _S(k, s, a)[3])),
     r"step's reward is an array of shape \(3,\).*scalar"),
    (_env_with(step=lambda k, s, a: (_S(k, s, a)[0], s[:2], *_S(k, s, a)[2:])),
     "step returns a state of another structure"),
    (_env_with(step=lambda k, s, a: print("host") or _S(k, s, a)), None),  # traced once: fine
    (_env_with(reset=lambda k: (np.asarray(jax.random.key_data(k), np.float32) + [0, 1],
                                _R(k)[1])), "reset\\(key\\) failed when traced by jax"),
])
def test_a_bad_factory_names_the_env_and_the_fix(clean_registry, factory, match):
    hz.register_env("Bad-v0", factory, provider="testenvs", action_dim=1)
    cfg = EnvConfig(name="Bad-v0", backend="testenvs", episode_length=5)
    if match is None:
        make_env(cfg)
        return
    with pytest.raises(EnvError, match=r"env 'Bad-v0' \(provider 'testenvs', from this "
                                       r"program\).*" + match):
        make_env(cfg)


def test_registration_mistakes_are_refused(clean_registry):
    hz.register_env("PointMass-v0", point_mass, provider="testenvs", action_dim=1)
    with pytest.raises(EnvError, match="env 'PointMass-v0' of provider 'testenvs' is "
                                       "registered twice.*replace=True"):
        hz.register_env("PointMass-v0", point_mass, provider="testenvs", action_dim=1)
    hz.register_env("PointMass-v0", point_mass, provider="testenvs", action_dim=1,
                    max_episode_steps=7, replace=True)
    assert env_spec(EnvConfig(name="PointMass-v0", backend="testenvs")).max_episode_steps == 7
    with pytest.raises(EnvError, match="provider 'gymnax' is an EnvProvider of hades_zoo "
                                       r"\(built in\); name your own provider"):
        hz.register_env("Mine-v0", point_mass, provider="gymnax", action_dim=1)
    with pytest.raises(EnvError, match="provider 'My Envs' cannot be a recipe's "
                                       "env.backend"):
        hz.register_env("Mine-v0", point_mass, provider="My Envs", action_dim=1)
    with pytest.raises(EnvError, match="factory must be a function"):
        hz.register_env("Mine-v0", "point_mass", provider="testenvs")
    with pytest.raises(EnvError, match="action_dim must be a positive integer"):
        hz.register_env("Mine-v0", point_mass, provider="testenvs", action_dim=0)
    hz.register_env("NoSize-v0", point_mass, provider="testenvs")
    with pytest.raises(EnvError, match=r"register_env\(\.\.\., action_dim=N\)"):
        make_env(EnvConfig(name="NoSize-v0", backend="testenvs"))
    provider = hz.EnvProvider(name="positional2", backends=("positional",),
                              make=lambda cfg: None, env_ids=lambda: ())
    with pytest.raises(EnvError, match="claims backend 'positional', which is provider "
                                       "'brax'"):
        hz.register_provider(provider)
    with pytest.raises(EnvError, match="shim 'v1' for testenvs env 'PointMass-v0'; use "
                                       r"'' \(the installed env\)\."):
        make_env(EnvConfig(name="PointMass-v0", backend="testenvs", compat="v1"))


def test_distill_of_an_unknown_backend_touches_no_folder(clean_registry, tmp_path):
    from click.testing import CliRunner

    from hades_zoo.cli import cli
    from hades_zoo.data.recipe_io import dump_recipe

    dump_recipe(tiny_recipe("pm-R-4", "PointMass-v0", "nosuchenvs"), tmp_path / "r.yaml")
    run = CliRunner().invoke(cli, ["distill", str(tmp_path / "r.yaml"), "--out",
                                   str(tmp_path / "run")])
    assert run.exit_code == 1 and not (tmp_path / "run").exists()
    assert run.output.startswith("Error: MissingEnvProviderError: unknown env backend "
                                 "'nosuchenvs'") and len(run.output.splitlines()) == 1
    with pytest.raises(MissingEnvProviderError):
        hz.distill(tiny_recipe("pm-R-4", "PointMass-v0", "nosuchenvs"),
                   out_dir=tmp_path / "api")
    assert not (tmp_path / "api").exists()


# ------------------------------------------------------------------------- adapters
def test_from_brax_like_truncates_clips_and_restarts_from_the_first_reset(
        clean_registry, env_package, key):
    from hz_env_pkg import Slide

    env = hz.from_brax_like(Slide())(EnvConfig(name="Slide-v0", backend="hzpkg",
                                               episode_length=3))
    obs0, state = env.reset(key)
    assert env.spec == hz.EnvSpec(2, 1, False, 3)
    dones = []
    for _ in range(3):
        obs, state, _, done = env.step(key, state, jnp.asarray([5.0]))
        dones.append(bool(done))
    assert dones == [False, False, True]
    np.testing.assert_array_equal(obs, obs0)  # restarted where the first reset began
    _, state, _, _ = env.step(key, state, jnp.asarray([5.0]))
    assert float(state.env.v) == pytest.approx(0.1)  # the action was clipped to 1


def test_from_gymnax_matches_the_built_in_gymnax_family(key):
    """The built-in gymnax family is from_gymnax plus gymnax.make: same numbers."""
    import gymnax

    cfg = EnvConfig(name="CartPole-v1")
    ours = hz.from_gymnax(*gymnax.make("CartPole-v1"))(cfg)
    built = make_env(cfg)
    assert ours.spec == built.spec
    _, s1 = ours.reset(key)
    _, s2 = built.reset(key)
    out1, out2 = ours.step(key, s1, jnp.asarray(1)), built.step(key, s2, jnp.asarray(1))
    for a, b in zip(jax.tree.leaves(out1), jax.tree.leaves(out2), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------- distilled end to end (Python)
def test_a_registered_env_is_distilled_saved_loaded_and_evaluated(clean_registry,
                                                                  tmp_path):
    """register_env -> distill -> the file records the provider -> load, train,
    evaluate -> without the registration, loading names what to do."""
    hz.register_env("PointMass-v0", point_mass, provider="testenvs", obs_dim=2,
                    action_dim=1, version="1.2")
    recipe = tiny_recipe("pointmass-R-4", "PointMass-v0", "testenvs")
    out = hz.distill(recipe, out_dir=tmp_path / "run")
    ds = out.dataset
    assert (ds.info.env_provider.name, ds.info.env_provider.version) == ("testenvs", "1.2")
    path = tmp_path / "pm.safetensors"
    hz.save_dataset(ds, path)
    from hades_zoo.data.format import read_metadata

    meta = read_metadata(path)
    assert json.loads(meta["env_provider"]) == {"name": "testenvs", "version": "1.2",
                                                "package": "", "install": ""}
    assert meta["format_version"] == "1"
    back = hz.load(f"file:{path}")
    assert back.info.env_provider == ds.info.env_provider
    policy = hz.train_policy(back)
    res = hz.evaluate(policy, episodes=2)
    assert res.episodes == 2 and np.isfinite(res.mean_return) and res.mean_return < 0
    policy.save_pretrained(tmp_path / "pol")  # its config records the provider too
    config = json.loads((tmp_path / "pol" / "config.json").read_text())
    assert config["env_provider"] == {"name": "testenvs", "version": "1.2",
                                      "package": "", "install": ""}
    registry._forget("testenvs")
    with pytest.raises(MissingEnvProviderError,
                       match="dataset 'pointmass-R-4' needs env 'PointMass-v0' of env "
                             "provider testenvs 1.2, which is not installed: register "
                             r"the env first.*register_env\('PointMass-v0', \.\.\., "
                             "provider='testenvs'\\)"):
        hz.load(f"file:{path}")
    with pytest.raises(MissingEnvProviderError,
                       match="policy .*pol needs env 'PointMass-v0' of env provider "
                             "testenvs 1.2, which is not installed: register the env"):
        hz.load_policy(tmp_path / "pol")


# ------------------------------------------------------------ a package's entry point
def test_an_installed_package_provides_envs_through_its_entry_point(env_package, key):
    """The first lookup of backend 'hzpkg' loads the package's entry point; its envs
    record the package and its installed version."""
    assert "hzpkg" not in registry._PROVIDERS  # nothing loaded before the lookup
    cfg = EnvConfig(name="Slide-v0", backend="hzpkg", episode_length=10)
    env = make_env(cfg)
    assert env.spec == hz.EnvSpec(2, 1, False, 10)
    record = registry.provider_record(cfg)
    assert (record.name, record.version, record.package, record.install) == (
        "hzpkg", "0.3.0", "hz-env-pkg", "pip install hz-env-pkg")
    chain = make_env(EnvConfig(name="Chain-v0", backend="hzpkg"))
    assert chain.spec == hz.EnvSpec(6, 2, True, 20)
    obs, state = chain.reset(key)
    for _ in range(5):
        obs, state, reward, done = chain.step(key, state, jnp.asarray(1))
    assert float(reward) == 1.0 and bool(done) and float(obs[0]) == 1.0  # auto-reset
    from hades_zoo.engine.envs import names

    assert names.action_names(EnvConfig(name="Chain-v0", backend="hzpkg")) == [
        "left", "right"]
    from click.testing import CliRunner

    from hades_zoo.cli import cli

    run = CliRunner().invoke(cli, ["envs"])
    assert run.exit_code == 0, run.output
    assert "hzpkg 0.3.0 (package hz-env-pkg, entry point 'hzpkg = hz_env_pkg:register'): " \
           "backend hzpkg" in run.output
    assert "  Chain-v0, Slide-v0\n" in run.output
    rows = json.loads(CliRunner().invoke(cli, ["envs", "--json"]).output)
    assert {"provider": "hzpkg", "version": "0.3.0", "envs": ["Chain-v0", "Slide-v0"]}.items() \
        <= next(r for r in rows if r["provider"] == "hzpkg").items()


@pytest.mark.parametrize("entry, match", [
    ("hzgone = hz_env_missing_module:register\n",
     (r"env package 'hz-env-pkg' \(entry point 'hzgone = hz_env_missing_module:register' "
      r"in group 'hades_zoo.envs'\) failed to import: ModuleNotFoundError: .*"
      r"pip install -U hz-env-pkg.*pip uninstall hz-env-pkg")),
    ("hzgone = hz_env_pkg:Slide.action_size\n", "names a int, not a function"),
    ("hzgone = hz_env_pkg:Slide\n", "its function returned a Slide; return None"),
])
def test_a_failing_entry_point_names_the_package_and_the_fix(clean_registry, tmp_path,
                                                             monkeypatch, entry, match):
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site", entry_points=entry)))
    monkeypatch.syspath_prepend(str(PKG))
    importlib.invalidate_caches()
    # the backend it is named after: its failure is the error
    with pytest.raises(EnvError, match=match):
        make_env(EnvConfig(name="Slide-v0", backend="hzgone"))
    # another backend: the failure is reported with the unknown backend, and listed
    with pytest.raises(MissingEnvProviderError, match="unknown env backend 'other'.*An "
                                                      "installed env package failed "
                                                      "to load: env package 'hz-env-pkg'"):
        make_env(EnvConfig(name="Slide-v0", backend="other"))
    assert make_env(EnvConfig(name="CartPole-v1")).spec.obs_dim == 4  # others still work
    from click.testing import CliRunner

    from hades_zoo.cli import cli

    run = CliRunner().invoke(cli, ["envs"])
    assert run.exit_code == 0 and "(failed) hzgone = " in run.output
    sys.modules.pop("hz_env_pkg", None)


def test_a_package_that_registers_a_taken_name_is_named(clean_registry, tmp_path,
                                                        monkeypatch):
    hz.register_env("Slide-v0", point_mass, provider="hzpkg", action_dim=1)
    monkeypatch.syspath_prepend(str(installed(tmp_path / "site")))
    monkeypatch.syspath_prepend(str(PKG))
    importlib.invalidate_caches()
    with pytest.raises(EnvError, match="unknown env 'Chain-v0' for backend 'hzpkg'.*An "
                                       "installed env package failed to load: env "
                                       "package 'hz-env-pkg' .*: register_env"
                                       r"\('Slide-v0'\): provider 'hzpkg' was registered "
                                       "by this program, not by package 'hz-env-pkg'"):
        make_env(EnvConfig(name="Chain-v0", backend="hzpkg"))
    sys.modules.pop("hz_env_pkg", None)


# ------------------------------------------------------ distilled end to end (CLI)
def _child_env(*paths: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(JAX_PLATFORMS="cpu", HADES_ZOO_CACHE=str(cache), HADES_ZOO_JIT_CACHE="0",
               PYTHONPATH=os.pathsep.join(str(p) for p in (REPO, *paths)))
    return env


def _cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "hades_zoo.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600, cwd=cwd, check=False)


@pytest.mark.slow
def test_a_packaged_env_is_distilled_and_evaluated_by_the_cli(tmp_path):
    """hades-zoo distill / eval / info of a recipe naming the package's env, in fresh
    processes (the entry point found through the installed dist-info); without the
    package, loading the dataset says to install it."""
    site = installed(tmp_path / "site")
    env = _child_env(site, PKG, cache=tmp_path / "cache")
    recipe = tmp_path / "slide-R-4.yaml"
    from hades_zoo.data.recipe_io import dump_recipe

    dump_recipe(tiny_recipe("slide-R-4", "Slide-v0", "hzpkg"), recipe)
    run = _cli(["distill", str(recipe), "--out", str(tmp_path / "run")], env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    data = tmp_path / "run" / "slide-R-4.safetensors"
    from hades_zoo.data.format import read_metadata

    assert json.loads(read_metadata(data)["env_provider"]) == {
        "name": "hzpkg", "version": "0.3.0", "package": "hz-env-pkg",
        "install": "pip install hz-env-pkg"}
    run = _cli(["eval", str(data), "--episodes", "2", "--json"], env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout)["env"] == "Slide-v0"
    run = _cli(["info", str(data)], env, tmp_path)
    assert "env provider: hzpkg 0.3.0 (package hz-env-pkg)" in run.stdout
    run = _cli(["show", str(tmp_path / "run")], env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "env provider   hzpkg 0.3.0 (package hz-env-pkg)" in run.stdout
    run = _cli(["train", str(data), "--episodes", "2", "--out", str(tmp_path / "pol"),
                "--json"], env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    run = _cli(["eval", str(tmp_path / "pol"), "--episodes", "2", "--json"], env, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    bare = _child_env(cache=tmp_path / "cache")  # the package is gone
    run = _cli(["info", str(data)], bare, tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [(
        "Error: MissingEnvProviderError: dataset 'slide-R-4' needs env 'Slide-v0' of env "
        "provider hzpkg 0.3.0 (package hz-env-pkg), which is not installed: install it "
        "(pip install hz-env-pkg; it was made with version 0.3.0), then load it again.")]


@pytest.mark.slow
def test_the_fixture_package_installs_with_pip_and_is_listed(tmp_path):
    """A real ``pip install`` (of a copy: building writes beside the sources) puts the
    entry point where a fresh process finds it. Offline: the build uses the installed
    setuptools, which builds wheels from 70.1 on (before, with the ``wheel`` package)."""
    import importlib.util

    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    if (major, minor) < (70, 1) and importlib.util.find_spec("wheel") is None:
        pytest.skip(f"setuptools {setuptools.__version__} without the wheel package "
                    "cannot build the fixture package offline")
    src = tmp_path / "src"
    shutil.copytree(PKG, src)
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                          "--no-build-isolation", "--no-index", "--target", str(site),
                          str(src)], capture_output=True, text=True, timeout=600,
                         check=False)
    assert pip.returncode == 0, pip.stderr[-3000:]
    run = _cli(["envs", "--json"], _child_env(site, cache=tmp_path / "cache"), tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    row = next(r for r in json.loads(run.stdout) if r.get("provider") == "hzpkg")
    assert (row["version"], row["package"], row["envs"]) == (
        "0.3.0", "hz-env-pkg", ["Chain-v0", "Slide-v0"])


# ------------------------------------------------------------- the record in the file
@pytest.mark.parametrize("value, match", [
    ('[1]', "'env_provider' must be a JSON object, got list"),
    ('{"name": "x", "colour": "red"}', r"unknown key\(s\) 'colour'"),
    ('{"name": "x", "version": 3}', "env_provider.version must be a string, got int"),
    ('{"version": "1"}', "'env_provider' has no 'name'"),
])
def test_a_malformed_env_provider_record_is_refused(tiny_dataset, value, match):
    from hades_zoo.data import format as fmt
    from hades_zoo.data.dataset import dataset_from_bytes, dataset_metadata
    from hades_zoo.errors import DatasetFormatError

    meta = {**dataset_metadata(tiny_dataset), "env_provider": value}
    with pytest.raises(DatasetFormatError, match=match):  # the codec refuses a non-object
        dataset_from_bytes(fmt.encode(tiny_dataset.arrays(), meta), source="d.safetensors")


def test_the_record_is_its_own_key_and_old_files_have_none(tiny_dataset):
    """Files without the key (every published one) read as before: no record; the
    ``info`` JSON never holds it, so readers that predate it read new files."""
    from hades_zoo.data.dataset import (
        dataset_from_bytes,
        dataset_metadata,
        dataset_to_bytes,
    )
    from hades_zoo.data.env_provider import EnvProviderRecord

    assert "env_provider" not in dataset_metadata(tiny_dataset)
    assert dataset_from_bytes(dataset_to_bytes(tiny_dataset)).info.env_provider is None
    record = EnvProviderRecord(name="gymnax", version="1.0.1", package="gymnax")
    ds = tiny_dataset.replace_info(env_provider=record)
    meta = dataset_metadata(ds)
    assert "env_provider" not in json.loads(meta["info"])
    assert json.loads(meta["env_provider"])["name"] == "gymnax"
    assert dataset_from_bytes(dataset_to_bytes(ds)).info.env_provider == record
    card = ds.info.env_provider.install_command()
    assert card == "pip install gymnax"
