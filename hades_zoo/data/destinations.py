"""Where a user's command may write: the one gate for every user-given output path.

Every command that writes to a path the user gave (``distill``, ``certify``,
``transfer``, ``merge``, ``import-reference``, ``train``, ``render``, ``plot``,
``pull``, ``catalogue``) checks it here before any work:

- an empty path names nothing (``Path("")`` is the current folder: ``--out ""`` once
  wrote a run into it, and crashed ``plot``/``render``): :class:`OutputPathError`;
- a path inside the installed ``hades_zoo`` package is refused (a run's files once
  replaced packaged zoo files): :class:`OutputPathError`. Maintainers update the
  packaged zoo through ``--update-zoo`` and ``scripts/``, never through ``--out``;
- a folder must be usable before minutes of work are spent: it exists and is a
  writable folder, or it can be created (its nearest existing parent is a writable
  folder); a file, a device (``/dev/null``) or a read-only folder is a
  :class:`StorageError`. Writability is asked of the OS (``os.access``, which
  answers for root and for read-only mounts too); nothing is written to find out.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from hades_zoo.errors import HadesZooError, OutputPathError, StorageError

__all__ = ["check_out_file", "check_out_folder", "check_outside_package",
           "package_dir"]


def package_dir() -> Path:
    """The installed ``hades_zoo`` package folder (resolved)."""
    return Path(__file__).resolve().parents[1]  # hades_zoo/data/destinations.py


def _absolute(path: str | Path, what: str) -> Path:
    if os.fspath(path) == "":
        raise OutputPathError(f"{what} is empty; give a path, e.g. {what} runs/x.")
    return Path(os.path.realpath(os.fspath(path)))


def check_outside_package(path: str | Path, *, what: str = "--out",
                          error: type[HadesZooError] = OutputPathError) -> Path:
    """``path``, absolute, after refusing an empty path or one inside the package.

    Raises:
        OutputPathError (or ``error``): ``path`` is empty, the package folder or
            inside it (symbolic links followed).
    """
    real = _absolute(path, what)
    package = package_dir()
    if real == package or package in real.parents:
        raise error(f"{what} {path} is inside the installed hades_zoo package "
                    f"({package}); a command writes there only for maintainers "
                    "(--update-zoo, scripts/): give a folder outside it, e.g. "
                    f"{what} runs/x.")
    return Path(os.path.abspath(os.fspath(path)))


def _writable(folder: Path, what: str, shown: str | Path) -> None:
    """A folder the OS would refuse a new file in is a StorageError now, not after
    the work."""
    if os.access(folder, os.W_OK | os.X_OK):
        return
    try:
        readonly = bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        readonly = False
    raise StorageError(
        errno.EROFS if readonly else errno.EACCES,
        f"{what} {shown}: cannot write in {folder} "
        f"({'read-only file system' if readonly else 'permission denied'}); give a "
        "folder you may write to.", str(folder))


def _refused(err: OSError, path: str | Path, what: str) -> StorageError:
    """A path the OS will not even look at (a name over 255 bytes, a loop of links,
    no permission to search a folder above it): one StorageError, not a traceback."""
    return StorageError(err.errno, f"{what} {path}: cannot use it: "
                        f"{err.strerror or err}; check the path (each name at most 255 "
                        "bytes, a folder where a folder belongs).", str(path))


def check_out_folder(path: str | Path, *, what: str = "--out") -> Path:
    """``path``, absolute, after checking a folder may be written there.

    It exists and is a writable folder, or the nearest existing folder above it is
    writable (``path`` is then created by the command that writes it). Nothing is
    written.

    Raises:
        OutputPathError: empty, or inside the installed package.
        StorageError: ``path`` or a folder above it is a file or device, or the
            folder that would hold it is not writable.
    """
    absolute = check_outside_package(path, what=what)
    existing = absolute
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as err:
        raise _refused(err, path, what) from None
    if not is_dir:
        where = "is" if existing == absolute else f"lies under {existing}, which is"
        raise StorageError(errno.ENOTDIR,
                           f"{what} {path} {where} a file or device, not a folder; "
                           "give a folder (created if missing).", str(existing))
    _writable(existing, what, path)
    return absolute


def check_out_file(path: str | Path, *, what: str = "--out") -> Path:
    """``path``, absolute, after checking a file may be written there: not empty,
    not a folder, outside the package, in a usable folder (:func:`check_out_folder`).

    Raises:
        OutputPathError: empty, a folder, or inside the installed package.
        StorageError: the folder that would hold it cannot be written.
    """
    absolute = check_outside_package(path, what=what)
    try:
        is_dir = absolute.is_dir()
    except OSError as err:
        raise _refused(err, path, what) from None
    if is_dir or os.fspath(path).endswith(("/", os.sep)):
        raise OutputPathError(f"{what} {path} is a folder; give a file name, e.g. "
                              f"{what} {Path(path) / 'out'}.")
    check_out_folder(absolute.parent, what=what)
    return absolute
