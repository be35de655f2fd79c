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


# ------------------------------------------------------------------ failed writes
import errno  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

from hades_zoo.data.cache import enable_compilation_cache  # noqa: E402
from hades_zoo.errors import StorageError  # noqa: E402


def _raise(code: int):
    def boom(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return boom


@pytest.mark.parametrize("code,what", [
    (errno.ENOSPC, "no space left on the device"),
    (errno.EROFS, "the file system is read-only"),
    (errno.EACCES, "permission denied"),
])
def test_failed_atomic_write_is_a_storage_error_and_changes_nothing(
        tmp_path, monkeypatch, code, what):
    target = atomic_write_bytes(tmp_path / "f.bin", b"old")
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", _raise(code))  # the write fails at its last step
        with pytest.raises(StorageError) as info:
            atomic_write_bytes(target, b"new")
        err = info.value
        assert isinstance(err, OSError) and err.errno == code
        assert err.filename == str(target)
        assert str(err).startswith(f"cannot write {target}: {what}")
        assert "The previous f.bin is unchanged." in str(err) and "Fix:" in str(err)
        with pytest.raises(StorageError, match="Nothing was written there"):
            atomic_copy(target, tmp_path / "copy.bin")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no temp file


def test_disk_full_in_the_middle_of_a_copy(tmp_path, monkeypatch):
    src = atomic_write_bytes(tmp_path / "src.bin", b"x" * 1000)
    dst = atomic_write_bytes(tmp_path / "dst.bin", b"old")

    def half(inp, out, size):
        out.write(inp.read(500))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfileobj", half)
    with pytest.raises(StorageError, match=re.escape(f"cannot write {dst}: no space")):
        atomic_copy(src, dst)
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst.bin", "src.bin"]


def test_cache_that_is_a_file(tmp_path, monkeypatch):
    cache = tmp_path / "cache-file"
    cache.write_text("not a folder")
    monkeypatch.setenv("HADES_ZOO_CACHE", str(cache))
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "1")
    warnings = []
    monkeypatch.setattr("hades_zoo.data.cache.logger.warning",
                        lambda msg, *args: warnings.append(msg % args))
    assert enable_compilation_cache() is None  # degrades, JAX is left alone
    assert len(warnings) == 1 and "JAX compilation cache off" in warnings[0]
    assert f"{cache} is a file, not a folder" in warnings[0]
    with pytest.raises(StorageError) as info:
        atomic_write_bytes(cache_dir() / "hub" / "x.bin", b"x")
    text = str(info.value)
    assert f"{cache} is a file, not a folder" in text
    assert "point HADES_ZOO_CACHE at a writable folder" in text
    assert cache.read_text() == "not a folder"


def test_read_only_cache(tmp_path, monkeypatch):
    # tests may run as root, where chmod does not stop writes: simulate the refusal
    monkeypatch.setenv("HADES_ZOO_JIT_CACHE", "1")
    warnings = []
    monkeypatch.setattr("hades_zoo.data.cache.logger.warning",
                        lambda msg, *args: warnings.append(msg % args))
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    assert enable_compilation_cache() is None
    assert "not writable" in warnings[0] and "HADES_ZOO_CACHE" in warnings[0]
    monkeypatch.setattr(tempfile, "mkstemp", _raise(errno.EACCES))
    with pytest.raises(StorageError, match="permission denied.*HADES_ZOO_CACHE"):
        atomic_write_bytes(cache_dir() / "hub" / "x.bin", b"x")
