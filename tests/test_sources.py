"""The Python API and the CLI accept the same sources (one resolution rule), and both
use JAX's persistent compilation cache the same way (with an opt-out)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data import cache
from hades_zoo.data.dataset import dataset_to_bytes, save_dataset
from hades_zoo.data.ids import InvalidDatasetIdError
from hades_zoo.errors import UnknownDatasetError
from hades_zoo.zoo.loading import (
    AmbiguousSourceError,
    SourceNotFoundError,
    resolve_source,
)

REPO = Path(__file__).resolve().parents[1]


def _same(a, b) -> bool:
    return dataset_to_bytes(a) == dataset_to_bytes(b)


# ------------------------------------------------------------------ sources
def test_load_accepts_an_existing_file_or_folder_like_the_cli(tmp_path, tiny_dataset,
                                                             monkeypatch):
    path = save_dataset(tiny_dataset, tmp_path / "runs" / "x" / "x.safetensors")
    folder = tmp_path / "entry"
    hz.save_pretrained(tiny_dataset, folder)
    monkeypatch.chdir(tmp_path)
    for source in (str(path), "runs/x/x.safetensors", f"file:{path}", Path(path),
                   "entry", "./entry", f"file:{folder}", folder):
        assert _same(hz.load(source), tiny_dataset), source
    assert resolve_source("runs/x/x.safetensors").kind == "file"
    assert resolve_source("entry").kind == "folder"
    r = CliRunner().invoke(cli, ["verify", "runs/x/x.safetensors"])
    assert r.exit_code == 0 and "no card to check" in r.output, r.output
    r = CliRunner().invoke(cli, ["verify", "entry"])
    assert r.exit_code == 0 and "sha256 matches the card" in r.output, r.output


def test_explicit_prefix_wins_and_a_bare_zoo_id_that_is_a_path_is_refused(
        tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hz.save_pretrained(tiny_dataset, tmp_path / "cartpole-F-2.hz")  # a user's run
    with pytest.raises(AmbiguousSourceError) as info:
        hz.load("cartpole-F-2.hz")
    text = str(info.value)
    assert "both a zoo id and a local folder" in text
    assert "'zoo:cartpole-F-2.hz'" in text and "'./cartpole-F-2.hz'" in text
    assert isinstance(info.value, UnknownDatasetError)
    assert hz.load("zoo:cartpole-F-2.hz").dataset_id == "cartpole-F-2.hz"
    assert _same(hz.load("./cartpole-F-2.hz"), tiny_dataset)
    assert _same(hz.load("file:cartpole-F-2.hz"), tiny_dataset)
    # the CLI says the same, before measuring anything
    for args in (["eval", "cartpole-F-2.hz"], ["certify", "cartpole-F-2.hz"],
                 ["info", "cartpole-F-2.hz"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1 and "AmbiguousSourceError" in r.output, r.output
        assert "zoo:cartpole-F-2.hz" in r.output and len(r.output.splitlines()) == 1
    r = CliRunner().invoke(cli, ["info", "zoo:cartpole-F-2.hz", "--json"])
    assert r.exit_code == 0 and '"zoo"' in r.output, r.output
    # a bare name that is not a zoo id is the path, with no ambiguity
    hz.save_pretrained(tiny_dataset, tmp_path / "cartpole-R-2")  # not registered
    assert resolve_source("cartpole-R-2").kind == "folder"


def test_missing_paths_and_bad_sources_are_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceNotFoundError, match=r"x\.safetensors': no such file"):
        hz.load("runs/x.safetensors")
    with pytest.raises(InvalidDatasetIdError, match="hf:<owner>/<repo>"):
        hz.load("org/name")  # a Hub repo without hf:
    with pytest.raises(UnknownDatasetError, match="names nothing after 'zoo:'"):
        hz.load("zoo:")
    with pytest.raises(UnknownDatasetError, match="Did you mean: hopper-R-64"):
        hz.load("hopper-R-65")
    r = CliRunner().invoke(cli, ["eval", "runs/x.safetensors"])
    assert r.exit_code == 1 and "SourceNotFoundError" in r.output


def test_one_resolution_rule():
    """The CLI has no rule of its own: its helper passes SOURCE through to load."""
    import inspect

    from hades_zoo.cli import base

    assert not hasattr(base, "_resolve_source")  # the CLI passes SOURCE to load
    assert "resolve_source" in inspect.getsource(base._zoo_entry)
    assert "load_checked" in inspect.getsource(base._load_any)


# ------------------------------------------------------------------ JIT cache
@pytest.fixture
def fresh_switch(monkeypatch):
    """hades_zoo's cache switch as in a new process; JAX's config is not touched."""
    monkeypatch.setattr(cache, "_JIT", {"mode": "auto", "tried": False, "ours": None})
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "1")
    state = {"dir": None}
    monkeypatch.setattr(cache, "_jax_cache_dir", lambda: state["dir"])

    def update(name, value):
        if name == "jax_compilation_cache_dir":
            state["dir"] = value

    import jax

    monkeypatch.setattr(jax.config, "update", update)
    return state


def test_the_api_turns_the_cache_on_once_on_first_use(fresh_switch, tmp_cache):
    assert cache.use_compilation_cache() == tmp_cache / "jax"
    assert fresh_switch["dir"] == str(tmp_cache / "jax")
    fresh_switch["dir"] = "/elsewhere"  # the user changed it afterwards: left alone
    assert cache.use_compilation_cache() == Path("/elsewhere")


def test_the_users_jax_cache_wins(fresh_switch, tmp_path):
    fresh_switch["dir"] = str(tmp_path / "mine")
    assert cache.use_compilation_cache() == tmp_path / "mine"
    assert fresh_switch["dir"] == str(tmp_path / "mine")


def test_opt_outs(fresh_switch, monkeypatch, tmp_cache):
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "0")
    assert cache.use_compilation_cache() is None and fresh_switch["dir"] is None
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "1")
    assert hz.set_compilation_cache(False) is None
    assert cache.use_compilation_cache() is None and fresh_switch["dir"] is None
    assert hz.set_compilation_cache(True) == tmp_cache / "jax"
    assert hz.set_compilation_cache(False) is None and fresh_switch["dir"] is None
    assert hz.set_compilation_cache(tmp_cache / "other") == tmp_cache / "other"


def test_an_unusable_cache_folder_is_one_warning(fresh_switch, tmp_path, monkeypatch,
                                                 tiny_dataset):
    blocker = tmp_path / "cache-file"
    blocker.write_text("x")
    monkeypatch.setenv("HADES_ZOO_CACHE", str(blocker))
    warnings = []
    monkeypatch.setattr("hades_zoo.data.cache.logger.warning",
                        lambda msg, *args: warnings.append(msg % args))
    path = save_dataset(tiny_dataset, tmp_path / "cp.safetensors")
    assert _same(hz.load(str(path)), tiny_dataset)  # load still works
    assert _same(hz.load(str(path)), tiny_dataset)
    assert len(warnings) == 1 and "JAX compilation cache off" in warnings[0]
    assert fresh_switch["dir"] is None


def test_hz_load_enables_the_cache_in_a_fresh_process(tmp_path):
    """The real thing, in a subprocess (JAX's cache folder is process-wide)."""
    code = ("import jax, hades_zoo as hz; hz.load('cartpole-F-2.hz'); "
            "print(jax.config.jax_compilation_cache_dir)")
    env = {k: v for k, v in os.environ.items() if k != "HADES_ZOO_JIT_CACHE"}
    env.update(HADES_ZOO_CACHE=str(tmp_path / "c"), PYTHONPATH=str(REPO),
               JAX_PLATFORMS="cpu")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip().splitlines()[-1] == str(tmp_path / "c" / "jax")


def test_a_hand_built_dataset_turns_it_on_too(fresh_switch, tmp_cache, tiny_dataset):
    """No hz.load first: the task that train_policy / evaluate / distill build."""
    from hades_zoo.engine.tasks.control import ControlTask

    ControlTask(tiny_dataset.recipe)
    assert fresh_switch["dir"] == str(tmp_cache / "jax")


# ------------------------------------------------------- messages a CLI user can act on
@pytest.mark.parametrize("source", ["", " "])
def test_an_empty_source_says_it_is_empty(source):
    """Not "'zoo:' names nothing after 'zoo:'" (a prefix the user never typed)."""
    with pytest.raises(InvalidDatasetIdError, match="the dataset source is (empty|blank)"):
        resolve_source(source)
    for command in (["show", source], ["eval", source], ["verify", source]):
        r = CliRunner().invoke(cli, command)
        assert r.exit_code == 1, r.output
        assert "the dataset source is" in r.output and "zoo:'" not in r.output, r.output


def test_an_empty_recipe_or_npz_path_is_not_the_working_folder(tmp_path):
    """Path('') is '.': the message named a folder ('.') the user never typed."""
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.errors import DatasetFormatError, RecipeError
    from hades_zoo.zoo.reference import read_reference

    with pytest.raises(RecipeError, match="the recipe path is empty"):
        load_recipe("")
    with pytest.raises(DatasetFormatError, match="reference .npz path is empty"):
        read_reference("")
    r = CliRunner().invoke(cli, ["distill", "", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "the recipe path is empty" in r.output, r.output


def test_a_folder_without_one_dataset_says_what_to_do_in_either_form(tmp_path,
                                                                     tiny_dataset):
    """No 'pass filename=' to a CLI user: the CLI has no such option."""
    for name in ("empty", "d.safetensors"):
        (tmp_path / name).mkdir()
        for command in (["eval", str(tmp_path / name)], ["verify", str(tmp_path / name)]):
            r = CliRunner().invoke(cli, command)
            assert r.exit_code == 1, r.output
            assert "is a folder without a dataset" in r.output, r.output
            assert "pass filename=" not in r.output and "dataset file's path" in r.output
    two = tmp_path / "two"
    for name in ("a", "b"):
        save_dataset(tiny_dataset, two / f"{name}.safetensors")
    with pytest.raises(Exception, match=r"2 \.safetensors files \(a\.safetensors, "
                                        r"b\.safetensors\).*command line.*"
                                        r"filename='a\.safetensors' in Python"):
        hz.load(two)
