"""Shared fixtures: isolated caches, a tiny dataset, a fake Hub and an olah mirror."""

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

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    """Point HADES_ZOO_CACHE and HF_HOME at fresh folders; no token, online."""
    monkeypatch.setenv("HADES_ZOO_CACHE", str(tmp_path / "hades_zoo_cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    return tmp_path / "hades_zoo_cache"


def make_dataset(dataset_id: str = "cartpole-R-2", *, provenance: dict | None = None):
    """A tiny valid CartPole dataset (2 pairs) with the real cartpole recipe."""
    import json

    from hades_zoo.dataset import DatasetInfo, SyntheticDataset
    from hades_zoo.recipes import load_recipe

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
