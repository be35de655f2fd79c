"""Tests for hades_zoo.data.cache: cache root, sha256 and atomic writes."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from pathlib import Path

import pytest

from hades_zoo.data.cache import (
    atomic_copy,
    atomic_write_bytes,
    cache_dir,
    hf_cache_dir,
    sha256_bytes,
    sha256_file,
    verify_sha256,
)
from hades_zoo.errors import DatasetFormatError


def test_cache_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("HADES_ZOO_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("HADES_ZOO_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "hades_zoo"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "hades_zoo"


def test_hf_cache_dir_is_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hf_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hf_cache_dir() == tmp_path / "hub"


def test_sha256(tmp_path):
    data = b"hades" * 300_000
    path = atomic_write_bytes(tmp_path / "a" / "x.bin", data)
    assert sha256_file(path) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    verify_sha256(data, sha256_bytes(data).upper(), source="x")
    with pytest.raises(DatasetFormatError, match="sha256 mismatch.*truncated or altered"):
        verify_sha256(data[:-1], sha256_bytes(data), source="x")


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_bytes(tmp_path / "f.bin", b"one")
    atomic_write_bytes(tmp_path / "f.bin", b"two")
    assert (tmp_path / "f.bin").read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "blocker" / "f.bin", b"x")
    copy = atomic_copy(tmp_path / "f.bin", tmp_path / "sub" / "g.bin")
    assert copy.read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["g.bin"]


def _writer(path: str, i: int) -> None:
    for _ in range(20):
        atomic_write_bytes(path, bytes([i]) * 100_000)


def test_concurrent_atomic_writers(tmp_path):
    target = tmp_path / "shared.bin"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(target), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    data = target.read_bytes()
    assert len(data) == 100_000 and len(set(data)) == 1  # one writer's complete file
    assert [p.name for p in Path(tmp_path).iterdir()] == ["shared.bin"]
