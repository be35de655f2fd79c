"""data.paths: the one gate from a name to a file name; cache writes follow the umask."""

from __future__ import annotations

import os

import pytest

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.paths import check_name, child_path
from hades_zoo.errors import UnsafeNameError

HOSTILE = ["../victim", "a/b", "a\\b", "..", ".", "x..y", "/etc/passwd", "C:evil",
           "a\x00b", "a\nb", "a\x7fb", "a\u2028b", "", " lead", "x" * 256,
           "\u00e9" * 128]


@pytest.mark.parametrize("name", HOSTILE)
def test_check_name_refuses_hostile_names(name):
    with pytest.raises(UnsafeNameError, match="dataset id"):
        check_name(name, what="dataset id")


@pytest.mark.parametrize("name", ["hopper-R-64", "breakout-minatar-F-16.s1",
                                  "cartpole-R-2.hz", "x" * 255, "\u00e9" * 127])
def test_check_name_accepts_plain_names(name):
    assert check_name(name) == name


def test_child_path_checks_name_and_suffix(tmp_path):
    assert child_path(tmp_path, "hopper-R-4", suffix=".safetensors") == \
        tmp_path / "hopper-R-4.safetensors"
    with pytest.raises(UnsafeNameError, match="255"):
        child_path(tmp_path, "x" * 250, suffix=".safetensors")
    with pytest.raises(UnsafeNameError, match="must be a string"):
        child_path(tmp_path, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_atomic_writes_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = atomic_write_bytes(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask
