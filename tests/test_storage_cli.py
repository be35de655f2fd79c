"""The CLI with a cache it cannot use or a disk that fills up (issue 17, part "hub").

``eval`` of a local file never needs the cache (the JAX compilation cache degrades to
a log warning); ``pull`` into an unusable cache, or a full disk during ``pull`` or
``distill``, is one line ``StorageError: cannot write <path>: ...`` naming the fix, and
the files written before stay intact.
"""

from __future__ import annotations

import errno
import json
import os

import yaml
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.cache import sha256_file
from hades_zoo.data.dataset import save_dataset
from hades_zoo.data.recipe_io import recipe_to_dict
from hades_zoo.hub import push_to_hub
from tests.test_hub import WRITE


def _one_line_error(result, *parts: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    errors = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert len(errors) == 1, result.output  # progress lines may come before it
    for part in parts:
        assert part in errors[0], errors[0]
    return errors[0]


def _fsync_fails_after(monkeypatch, n_ok: int, code: int = errno.ENOSPC) -> None:
    """Let ``n_ok`` atomic writes succeed, then every later one fail with ``code``."""
    real = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > n_ok:
            raise OSError(code, os.strerror(code))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_eval_of_a_local_file_needs_no_cache(tmp_path, monkeypatch, cartpole_dataset):
    """A read-only cache takes the same path (enable_compilation_cache returns None):
    tests/test_cache.py::test_read_only_cache."""
    path = save_dataset(cartpole_dataset, tmp_path / "cp.safetensors")
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    monkeypatch.setenv("HADES_ZOO_CACHE", str(cache))
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "1")
    r = CliRunner().invoke(cli, ["eval", str(path), "--episodes", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["episodes"] == 2
    assert cache.read_text() == "not a folder"


def test_pull_into_a_cache_that_is_a_file(hub_server, tiny_dataset, tmp_path,
                                          monkeypatch):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    cache = tmp_path / "cache-file"
    cache.write_text("x")
    monkeypatch.setenv("HADES_ZOO_CACHE", str(cache))
    r = CliRunner().invoke(cli, ["pull", "hf:org/cp"])
    _one_line_error(r, "StorageError: cannot write", f"{cache} is a file, not a folder",
                    "HADES_ZOO_CACHE")
    assert cache.read_text() == "x"


def test_disk_full_during_pull(hub_server, tiny_dataset, tmp_path, monkeypatch):
    res = push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    sha = {f.path: f.sha256 for f in res.files}["cartpole-R-2.safetensors"]
    out = tmp_path / "out"
    _fsync_fails_after(monkeypatch, 1)  # the dataset is written, the card is not
    r = CliRunner().invoke(cli, ["pull", "hf:org/cp", "--out", str(out)])
    _one_line_error(r, f"StorageError: cannot write {out / 'README.md'}: no space left")
    assert sorted(p.name for p in out.iterdir()) == ["cartpole-R-2.safetensors"]
    assert sha256_file(out / "cartpole-R-2.safetensors") == sha


def test_disk_full_during_distill(tmp_path, tiny_recipe, monkeypatch):
    """Generation 1 is saved; the disk fills up while generation 2's checkpoint is
    written: one-line StorageError, generation 1's entry intact and verifiable."""
    import tempfile

    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(recipe_to_dict(tiny_recipe)))
    out = tmp_path / "run"
    real = tempfile.mkstemp
    seen = []

    def mkstemp(*args, prefix="", **kwargs):
        if prefix.startswith(".checkpoint.safetensors."):
            seen.append(prefix)
            if len(seen) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, prefix=prefix, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    r = CliRunner().invoke(cli, ["distill", str(recipe), "--out", str(out)])
    _one_line_error(r, f"StorageError: cannot write {out / 'checkpoint.safetensors'}: "
                    "no space left", "The previous checkpoint.safetensors is unchanged",
                    "Fix:")
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert json.loads((out / "checkpoint.json").read_text())["generation"] == 1
    monkeypatch.setattr(tempfile, "mkstemp", real)
    r = CliRunner().invoke(cli, ["verify", str(out)])
    assert r.exit_code == 0, r.output
