"""A folder written as one step: every file is written into a hidden sibling folder,
which then takes the folder's place.

A reader (or a stop at any instant: Ctrl-C, a full disk, a crash) sees the old folder
or the new one, never a mix: the files of a saved policy (weights, the config that
records their sha256, the card that records the config's) always agree. On Linux the
new folder is exchanged with the old one atomically (``renameat2(RENAME_EXCHANGE)``);
where that call is missing the old folder is renamed aside first, so for an instant
the path does not exist (never half-written). Files of the old folder that the new
contents do not name (a user's notes) are carried over by :func:`write_folder`;
:func:`replace_folder` builds a whole tree (subfolders too) and keeps nothing of the
old one (a generated site: a page the new build does not write must go).

What is replaced is the folder the path names: a symlink to a folder is followed (the
folder it points at is replaced, the link stays); a new folder takes the old one's
permission bits and group. A folder that cannot be swapped as a whole (the current
folder or one holding it, a mount point, ``/``) is refused by
:func:`check_replaceable` before any work, with a ``StorageError`` naming the fix.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from hades_zoo.data.cache import _umask, storage_error
from hades_zoo.data.paths import child_path
from hades_zoo.errors import StorageError

__all__ = ["check_replaceable", "replace_folder", "target_folder", "write_folder"]

log = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2
#: what a failed write of the new tree means (a read error inside ``fill`` is its own)
_STORAGE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS,
                   errno.EACCES, errno.EPERM}
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def target_folder(directory: str | Path) -> Path:
    """The folder a write of ``directory`` replaces: its real path (``.``, ``..``,
    doubled slashes and every symlink on the way resolved; a symlink names the folder
    it points at).

    Raises:
        StorageError: a symlink loop on the way (before any work).
    """
    path = os.path.abspath(os.fspath(directory))
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise StorageError(errno.ELOOP, (
                f"cannot write the folder {os.fspath(directory) or '.'}: a symbolic link "
                "on the way leads back to itself (a loop). Fix: point the link at a "
                "folder, or pass another folder."), str(directory)) from None
    return Path(os.path.realpath(path))


def check_replaceable(directory: str | Path) -> Path:
    """Refuse, before any work, a folder that cannot be replaced as one step.

    Returns:
        :func:`target_folder` of ``directory``.

    Raises:
        StorageError: ``directory`` is a file; or it is the current folder or holds it
            (swapping it would leave this process and the user's shell in a deleted
            folder); or it is a mount point or ``/`` (the kernel refuses to move it).
            The message names a folder inside it to pass instead.
    """
    target = target_folder(directory)
    shown = os.fspath(directory) or "."
    if target.exists() and not target.is_dir():
        raise StorageError(errno.EEXIST, (
            f"cannot write the folder {shown}: it is a file. Fix: move the file "
            "away, or pass another folder."), str(directory))
    inside = os.path.join(shown, "new-folder")
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the current folder was deleted: nothing holds it
        cwd = None
    if cwd is not None and (cwd == target or target in cwd.parents):
        raise StorageError(errno.EBUSY, (
            f"cannot replace {shown} as a whole: it is the current folder or holds it. "
            f"Fix: pass a new folder inside it, e.g. {inside}."), str(directory))
    if target.is_dir() and (os.path.ismount(target) or target.parent == target):
        raise StorageError(errno.EBUSY, (
            f"cannot replace {shown} as a whole: it is a mount point. Fix: pass a new "
            f"folder inside it, e.g. {inside}."), str(directory))
    return target


def _adopt(tmp: Path, old: os.stat_result) -> None:
    """Give the new folder ``tmp`` the replaced folder's permission bits and group
    (a shared folder stays shared; best effort where this user may not set them).
    With the setgid bit, files made in the old folder took its group: so do these."""
    os.chmod(tmp, stat.S_IMODE(old.st_mode))
    if os.stat(tmp).st_gid == old.st_gid:
        return
    paths = [tmp]
    if old.st_mode & stat.S_ISGID:
        paths += [Path(root) / name for root, dirs, files in os.walk(tmp)
                  for name in dirs + files]
    for path in paths:
        try:
            os.chown(path, -1, old.st_gid, follow_symlinks=False)
        except OSError:  # not a member of that group: the folder keeps this user's
            return


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _carry_over(old: Path, new: Path, names: set[str]) -> None:
    """Hard-link (else copy) the entries of ``old`` that ``names`` does not cover."""
    for entry in old.iterdir():
        if entry.name in names:
            continue
        target = new / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True)
        else:
            try:
                os.link(entry, target, follow_symlinks=False)
            except OSError:
                shutil.copy2(entry, target, follow_symlinks=False)


def write_folder(directory: str | Path, contents: Mapping[str, bytes]) -> Path:
    """Make ``directory`` hold ``contents`` (file name -> bytes), in one step.

    Args:
        directory: the folder; created with its parents if missing. An existing
            folder is replaced as a whole (files it holds that ``contents`` does not
            name are kept); the caller decides whether it may be.
        contents: plain file names (no folders) and their bytes.

    Returns:
        ``directory`` as a ``Path``.

    Raises:
        UnsafeNameError: a file name that is not one plain path component.
        StorageError: ``directory`` is a file or cannot be replaced as a whole
            (:func:`check_replaceable`), or the write failed (full disk, read-only,
            permission); the old folder is unchanged and no temporary folder is left.
    """
    given = Path(directory)
    paths = {name: child_path(given, name, what="file name") for name in contents}
    directory = check_replaceable(given)
    existed = directory.is_dir()
    tmp: Path | None = None
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp",
                                    dir=directory.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        for name, data in contents.items():
            with open(tmp / paths[name].name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp / name, 0o666 & ~_umask())
        if existed:  # the group goes to the files written here, not to carried ones
            _adopt(tmp, os.stat(directory))
            _carry_over(directory, tmp, set(contents))
        _install(tmp, directory, existed)
        tmp = None
    except BaseException as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError) and not isinstance(err, StorageError):
            raise storage_error(err, given, existed=existed) from err
        raise
    return given


def _remove_old(old: Path) -> None:
    """Remove the replaced folder once the new one is in place. A read-only old folder
    (``chmod 555``) is made writable first: its removal cannot undo the replacement,
    so it never fails the write; what cannot be removed is named in a warning."""
    def writable(func, path, _exc):
        parent = os.path.dirname(path)
        for p in (parent, path):
            with contextlib.suppress(OSError):
                os.chmod(p, os.stat(p, follow_symlinks=False).st_mode | stat.S_IRWXU)
        func(path)

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(old, onexc=writable)
        else:
            shutil.rmtree(old, onerror=writable)
    except OSError as err:
        log.warning("the new folder is in place; the replaced one could not be removed: "
                    "%s (%s). Delete it by hand.", old, err)


def _install(tmp: Path, directory: Path, existed: bool) -> None:
    """Put the finished ``tmp`` in ``directory``'s place (module doc); the old folder
    is removed. ``tmp`` no longer exists when this returns."""
    _fsync_dir(tmp)
    if not existed:
        os.rename(tmp, directory)  # an empty folder made meanwhile is replaced too
    elif _exchange(tmp, directory):
        _remove_old(tmp)  # tmp now holds the old folder
    else:
        aside = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old",
                                      dir=directory.parent))
        try:
            os.rename(directory, aside / "old")
            try:
                os.rename(tmp, directory)
            except BaseException:
                os.rename(aside / "old", directory)  # put the old one back
                raise
        except BaseException:
            shutil.rmtree(aside, ignore_errors=True)
            raise
        _remove_old(aside)
    _fsync_dir(directory.parent)


def replace_folder(directory: str | Path, fill: Callable[[Path], None]) -> Path:
    """Make ``directory`` hold what ``fill`` writes, in one step.

    ``fill`` is called with an empty hidden sibling folder (``.<name>.XXXX.tmp``) and
    writes the new contents into it, subfolders included; that folder then takes
    ``directory``'s place and the old folder, if any, is removed whole (nothing is
    carried over). A reader sees the old tree or the new one; an exception or a stop
    inside ``fill`` leaves ``directory`` as it was and no temporary folder behind.

    Args:
        directory: the folder; created with its parents if missing. The caller
            decides whether an existing one may be replaced.
        fill: writes the contents into the folder it is given.

    Returns:
        ``directory`` as a ``Path``.

    Raises:
        StorageError: ``directory`` is a file or cannot be replaced as a whole
            (:func:`check_replaceable`), or a write failed (full disk, read-only,
            permission); the old folder is unchanged.
        Whatever ``fill`` raises, after the temporary folder is removed.
    """
    given = Path(directory)
    directory = check_replaceable(given)
    existed = directory.is_dir()
    tmp: Path | None = None
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp",
                                    dir=directory.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        if existed:
            _adopt(tmp, os.stat(directory))
        _install(tmp, directory, existed)
        tmp = None
    except BaseException as err:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if (isinstance(err, OSError) and not isinstance(err, StorageError)
                and err.errno in _STORAGE_ERRNOS):
            raise storage_error(err, given, existed=existed) from err
        raise
    return given
