"""``data.atomic_folder``: what a folder replaced as one step does with symlinks, the
current folder, mount points and the old folder's permissions (a newcomer's review,
2026-12-03: a symlinked ``--out`` was swapped for a real folder while the error said
"unchanged", ``--out .`` failed after the work with an empty name, a shared folder's
group and setgid bit were dropped)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hades_zoo.data import atomic_folder
from hades_zoo.data.atomic_folder import check_replaceable, replace_folder, write_folder
from hades_zoo.errors import StorageError


def _write(kind: str, directory, text: str = "new"):
    if kind == "write_folder":
        return write_folder(directory, {"a.txt": text.encode()})
    return replace_folder(directory, lambda tmp: (tmp / "a.txt").write_text(text))


KINDS = ("write_folder", "replace_folder")


@pytest.mark.parametrize("kind", KINDS)
def test_a_symlink_is_followed_and_stays(tmp_path, kind):
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("old")
    link = tmp_path / "lnk"
    link.symlink_to(real)
    _write(kind, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert (real / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lnk", "real"]  # no litter


@pytest.mark.parametrize("kind", KINDS)
def test_a_symlink_to_a_missing_folder_creates_it(tmp_path, kind):
    link = tmp_path / "lnk"
    link.symlink_to(tmp_path / "later")
    _write(kind, link)
    assert link.is_symlink() and (tmp_path / "later" / "a.txt").read_text() == "new"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", [".", "", "..", "sub/.."])
def test_the_current_folder_or_one_above_it_is_refused(tmp_path, monkeypatch, kind, where):
    cwd = tmp_path / "here"
    (cwd / "sub").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(cwd))
    with pytest.raises(StorageError, match="current folder") as err:
        _write(kind, where)
    assert "policy" in str(err.value)  # names a folder inside it to pass instead
    assert " is unchanged" not in str(err.value)
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(cwd))) == before


def test_a_folder_inside_the_current_folder_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_folder("./out//", {"a.txt": b"x"})
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"x"
    assert os.listdir(tmp_path) == ["out"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_mount_point_is_refused_before_any_write(tmp_path, monkeypatch, kind):
    mount = tmp_path / "mnt"
    mount.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(atomic_folder.os.path, "ismount",
                        lambda p: Path(p) == mount or real_ismount(p))
    with pytest.raises(StorageError, match="mount point"):
        _write(kind, mount)
    assert os.listdir(tmp_path) == ["mnt"] and os.listdir(mount) == []


def test_check_replaceable_refuses_a_file_and_root(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match="it is a file"):
        check_replaceable(tmp_path / "f")
    with pytest.raises(StorageError):
        check_replaceable("/")
    assert check_replaceable(tmp_path / "new") == tmp_path / "new"


@pytest.mark.parametrize("kind", KINDS)
def test_the_new_folder_keeps_the_old_permissions_and_group(tmp_path, kind):
    shared = tmp_path / "shared"
    shared.mkdir()
    other_gid = 1 if os.geteuid() == 0 else os.getegid()  # root may give any group
    os.chown(shared, -1, other_gid)
    os.chmod(shared, 0o2775)
    _write(kind, shared)
    st = os.stat(shared)
    assert stat.S_IMODE(st.st_mode) == 0o2775
    assert st.st_gid == other_gid
    assert os.stat(shared / "a.txt").st_gid == other_gid  # setgid: files take it too


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_folder_follows_the_umask(tmp_path, kind):
    old = os.umask(0o027)
    try:
        _write(kind, tmp_path / "new")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o750
