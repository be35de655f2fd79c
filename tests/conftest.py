"""Shared fixtures: keys, isolated caches, tiny recipes and datasets, a fake Hub, olah."""

from __future__ import annotations

import os
import tempfile

# huggingface_hub reads these once, at import: make sure no test can reach the real
# Hub, send telemetry, use Xet or read a real token file.
_SESSION_HF_HOME = tempfile.mkdtemp(prefix="hades_zoo-tests-hf-")
os.environ["HF_HOME"] = _SESSION_HF_HOME
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # closed port: no real network
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
# hades_zoo turns JAX's persistent compilation cache on at first use (once per
# process, process-wide): off for the whole session, module-scoped fixtures included
# (tests/test_sources.py checks the switch in a subprocess and with a fake config).
os.environ["HADES_ZOO_JIT_CACHE"] = "0"
# distill --out writes a replay video when the run ends (seconds of rendering per run):
# off for the suite, as `--no-replay`; tests/test_replay.py turns it on with --replay.
os.environ["HADES_ZOO_REPLAY"] = "0"

import dataclasses  # noqa: E402
import functools  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset  # noqa: E402
from hades_zoo.data.recipe import Recipe  # noqa: E402
from hades_zoo.data.recipe_io import load_recipe  # noqa: E402

REPO = ROOT = Path(__file__).resolve().parents[1]

#: ``HADES_ZOO_REQUIRE_GL=1`` (CI, which installs OSMesa): a ``gl`` test on a machine
#: where MuJoCo cannot draw fails instead of being skipped.
REQUIRE_GL = os.environ.get("HADES_ZOO_REQUIRE_GL") == "1"


@functools.cache
def _mujoco_gl_problem() -> str | None:
    """Why MuJoCo cannot draw here (None: it can), checked once in a subprocess (a
    failing GL backend may abort the process that tries it)."""
    import subprocess
    import sys

    code = ("from hades_zoo.engine.render.gl import check_mujoco_gl\n"
            "from hades_zoo.errors import RenderError\n"
            "try:\n    check_mujoco_gl()\n"
            "except RenderError as err:\n    print(err)\n")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, check=False,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
    except subprocess.TimeoutExpired:
        return "checking MuJoCo's OpenGL backend timed out"
    if r.returncode != 0:
        return f"checking MuJoCo's OpenGL backend crashed: {r.stderr.strip()[-300:]}"
    return r.stdout.strip() or None


def pytest_runtest_setup(item):
    """``@pytest.mark.gl`` tests draw with MuJoCo: skipped, with the reason and the
    fix, on a machine without an OpenGL backend (a fresh headless one has none until
    ``apt-get install libosmesa6``); failed instead under ``HADES_ZOO_REQUIRE_GL=1``."""
    if item.get_closest_marker("gl") is None:
        return
    problem = _mujoco_gl_problem()
    if problem is None:
        return
    if REQUIRE_GL:
        pytest.fail(f"HADES_ZOO_REQUIRE_GL=1 but MuJoCo cannot draw: {problem}",
                    pytrace=False)
    pytest.skip(f"MuJoCo cannot draw here: {problem}")


@pytest.fixture
def key() -> jax.Array:
    return jax.random.key(0)


@pytest.fixture
def cartpole_recipe() -> Recipe:
    return load_recipe(REPO / "recipes" / "cartpole-R-2.yaml")


@pytest.fixture
def tiny_recipe(cartpole_recipe) -> Recipe:
    """pop 8, D 2, 2 generations, 10 BC steps, 50 env steps."""
    r = cartpole_recipe
    return r.replace(
        name="tiny-R-2",
        policy=dataclasses.replace(r.policy, width=16),
        bc=dataclasses.replace(r.bc, steps=10),
        eval=dataclasses.replace(r.eval, num_envs=2, num_steps=50),
        es=dataclasses.replace(r.es, popsize=8, generations=2, log_every=1),
    )


@pytest.fixture
def cartpole_dataset(cartpole_recipe) -> SyntheticDataset:
    """A hand-made 2-pair CartPole dataset (push left when the pole leans left)."""
    states = np.array([[0.0, 0.0, -0.2, -1.0], [0.0, 0.0, 0.2, 1.0]], np.float32)
    return SyntheticDataset(
        states=states,
        labels=np.array([0, 1], np.int32),
        mask=np.array([True, True]),
        recipe=cartpole_recipe,
        info=DatasetInfo(dataset_id="cartpole-R-2", fitness=500.0,
                         fitness_kind="hand-made", provenance_json='{"source": "test"}'),
    )


@pytest.fixture
def hopper_dataset() -> SyntheticDataset:
    """A small continuous (brax hopper) dataset; arrays are arbitrary but valid."""
    from hades_zoo.data.recipe import (
        BCConfig,
        DatasetConfig,
        EnvConfig,
        EvalConfig,
        PolicyConfig,
    )

    rng = np.random.default_rng(0)
    recipe = Recipe(name="hopper-R-4", variant="R",
                    env=EnvConfig(name="hopper", backend="positional", obs_norm="const"),
                    dataset=DatasetConfig(size=4), policy=PolicyConfig(width=32),
                    bc=BCConfig(steps=5), eval=EvalConfig(num_envs=2, num_steps=20))
    return SyntheticDataset(
        states=rng.normal(size=(4, 11)).astype(np.float32),
        actions=rng.normal(size=(4, 3)).astype(np.float32),
        obs_mean=np.zeros(11, np.float32), obs_var=np.ones(11, np.float32),
        recipe=recipe, info=DatasetInfo(dataset_id="hopper-R-4"),
    )


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    """Point HADES_ZOO_CACHE and HF_HOME at fresh folders; no token, online."""
    monkeypatch.setenv("HADES_ZOO_CACHE", str(tmp_path / "hades_zoo_cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "0")  # jax's cache dir is process-global
    return tmp_path / "hades_zoo_cache"


@pytest.fixture(autouse=True)
def fresh_hub_probes():
    """Forget which endpoints answered (hades_zoo.hub.client keeps it a few seconds):
    a port a test closes may be one an earlier test's server had."""
    from hades_zoo.hub.client import _PROBES

    _PROBES.clear()
    yield
    _PROBES.clear()


def make_dataset(dataset_id: str = "cartpole-R-2", *, provenance: dict | None = None):
    """A tiny valid CartPole dataset (2 pairs) with the real cartpole recipe."""
    import json

    from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
    from hades_zoo.data.recipe_io import load_recipe

    recipe = load_recipe(ROOT / "recipes" / "cartpole-R-2.yaml")
    return SyntheticDataset(
        states=np.array([[0.1, -0.2, 0.03, 0.4], [-0.5, 0.6, -0.07, 0.8]], np.float32),
        labels=np.array([0, 1], np.int32),
        mask=np.array([True, True]),
        recipe=recipe,
        info=DatasetInfo(dataset_id=dataset_id, fitness=500.0,
                         fitness_kind="final_population_mean_return",
                         provenance_json=json.dumps(provenance or {"source": "test"})),
    )


@pytest.fixture
def tiny_dataset():
    return make_dataset()


@pytest.fixture
def hub_server(monkeypatch):
    """A fake Hub on 127.0.0.1 (tests/fake_hub.py); HF_ENDPOINT points at it."""
    from tests.fake_hub import FakeHub

    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub


@pytest.fixture(scope="session")
def olah_mirror(tmp_path_factory):
    """One olah server (offline mirror mode) for the session; see tests/hub_server.py."""
    from tests.hub_server import OlahMirror

    mirror = OlahMirror(tmp_path_factory.mktemp("olah")).start()
    try:
        yield mirror
    finally:
        mirror.stop()


FIXTURES = Path(__file__).parent / "fixtures"


def write_image_fixture_dir(root: Path, sub: str = "mnist", *, train: bool = True) -> Path:
    """IDX .gz files (test, and train when asked) from the 200-image fixture."""
    from hades_zoo.engine.image_data import SPLIT_FILES, write_idx

    with np.load(FIXTURES / f"{sub}_test200.npz", allow_pickle=False) as z:
        images, labels = z["images"], z["labels"]
    out = root / sub
    out.mkdir(parents=True, exist_ok=True)
    for split in ("test", "train") if train else ("test",):
        img_name, lab_name = SPLIT_FILES[split]
        write_idx(out / img_name, images)
        write_idx(out / lab_name, labels)
    return out


@pytest.fixture
def image_data_dir(tmp_path) -> Path:
    """A HADES_ZOO_DATA-style root with mnist/ and fashion-mnist/ (200 images each)."""
    root = tmp_path / "data"
    write_image_fixture_dir(root, "mnist")
    write_image_fixture_dir(root, "fashion-mnist")
    return root


def load_script(name: str):
    """Import ``scripts/<name>.py`` (scripts are not a package) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
