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
    assert "new-folder" in str(err.value)  # names a folder inside it to pass instead
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


@pytest.mark.parametrize("kind", KINDS)
def test_the_current_folder_reached_through_a_symlinked_parent_is_refused(
        tmp_path, monkeypatch, kind):
    """A reviewer's case: ``cd real; train --out ../lp/real`` with ``lp -> .`` deleted
    the shell's folder under it (the check compared paths, not real paths)."""
    (tmp_path / "real").mkdir()
    (tmp_path / "lp").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path / "real")
    ino = os.stat(".").st_ino
    with pytest.raises(StorageError, match="current folder"):
        _write(kind, "../lp/real")
    assert os.stat(tmp_path / "real").st_ino == ino


@pytest.mark.parametrize("kind", KINDS)
def test_a_symlink_loop_is_refused_before_any_work(tmp_path, kind):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(StorageError, match="loop"):
        check_replaceable(tmp_path / "a")
    with pytest.raises(StorageError, match="loop"):
        _write(kind, tmp_path / "a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_old_folder_that_resists_removal_does_not_fail_the_write(tmp_path, monkeypatch,
                                                                    kind):
    """A reviewer's case (as a non-root user): replacing a ``chmod 555`` policy folder
    swapped it in, then failed to delete the old one and said "unchanged", leaving it
    as ``.p5.*.tmp``. Removal is made writable and retried; the write succeeds."""
    target = tmp_path / "p"
    _write(kind, target, "old")
    real_unlink = os.unlink
    refused = []

    def unlink_once(path, *a, **k):  # what a read-only folder does to a non-root user
        if not refused:
            refused.append(path)
            raise PermissionError(13, "Permission denied", str(path))
        return real_unlink(path, *a, **k)

    monkeypatch.setattr(os, "unlink", unlink_once)
    _write(kind, target, "new")
    assert refused and (target / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # nothing stray


def test_carried_over_files_keep_their_group(tmp_path):
    """``write_folder`` keeps a user's other files by hard link: giving the folder's
    group to them would change the user's own file (a reviewer's case)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "NOTES.txt").write_text("mine")
    gid = os.stat(shared / "NOTES.txt").st_gid
    other = 1 if os.geteuid() == 0 and gid != 1 else 2
    if os.geteuid() != 0:
        pytest.skip("needs root to give the folder another group")
    os.chown(shared, -1, other)
    os.chmod(shared, 0o2775)
    write_folder(shared, {"a.txt": b"x"})
    assert os.stat(shared / "NOTES.txt").st_gid == gid
    assert os.stat(shared / "a.txt").st_gid == other
