"""Cache: where hades_zoo keeps downloaded datasets, and how files get there safely.

The cache root is ``$HADES_ZOO_CACHE`` (default ``~/.cache/hades_zoo``) and is resolved
by :func:`cache_dir` only; the CLI and the hub code call it instead of re-deriving the
path. Writes go to a temporary file in the destination folder followed by
``os.replace``, so concurrent readers and writers only ever see complete files.

Hub downloads themselves live in huggingface_hub's cache (``$HF_HOME/hub``), which we
never write into by hand; :func:`hf_cache_dir` resolves it at call time because
huggingface_hub reads its environment variables once, at import.

JAX's persistent compilation cache can live under the cache root too
(:func:`enable_compilation_cache`, ``<root>/jax``): a later process that builds the same
program loads the compiled executable instead of compiling it again (Python tracing
still runs). The CLI and the Python API turn it on the same way, once per process, on
first use (:func:`use_compilation_cache`: ``hz.load``, and every task that
``train_policy``, ``evaluate``, ``distill``, ... build), unless
``HADES_ZOO_JIT_CACHE=0``, ``hz.set_compilation_cache(False)`` or the user already gave
JAX a cache folder of their own.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from hades_zoo.errors import DatasetFormatError, StorageError

logger = logging.getLogger(__name__)

__all__ = [
    "cache_dir",
    "hf_cache_dir",
    "sha256_bytes",
    "sha256_file",
    "verify_sha256",
    "atomic_write_bytes",
    "atomic_copy",
    "storage_error",
    "enable_compilation_cache",
    "use_compilation_cache",
    "set_compilation_cache",
]

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The hades_zoo cache root, read from the environment at call time.

    Returns:
        ``$HADES_ZOO_CACHE`` if set and non-empty, else ``~/.cache/hades_zoo``
        (``$XDG_CACHE_HOME/hades_zoo`` when ``XDG_CACHE_HOME`` is set). The folder is
        not created here.
    """
    env = os.environ.get("HADES_ZOO_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "hades_zoo"


def hf_cache_dir() -> Path:
    """huggingface_hub's download cache, resolved from the environment at call time.

    Returns:
        ``$HF_HUB_CACHE`` if set, else ``$HF_HOME/hub`` (default
        ``~/.cache/huggingface/hub``).
    """
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    Args:
        path: the file.

    Returns:
        64 lowercase hex characters.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(data: bytes, expected: str, *, source: str) -> None:
    """Check that ``data`` hashes to ``expected``.

    Args:
        data: the file content.
        expected: hex sha256 recorded for it.
        source: what the data is (for the message).

    Raises:
        DatasetFormatError: the hashes differ (truncated or altered file).
    """
    actual = sha256_bytes(data)
    if actual != expected.lower():
        raise DatasetFormatError(
            f"{source}: sha256 mismatch (expected {expected}, got {actual}, "
            f"{len(data)} bytes); the file is truncated or altered. Delete it and "
            "fetch it again."
        )


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _in_cache(path: Path) -> bool:
    """Whether ``path`` lies under the hades_zoo cache root."""
    try:
        return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(cache_dir()))
    except (OSError, ValueError):  # pragma: no cover
        return False


def _file_ancestor(path: Path) -> Path | None:
    """The first existing ancestor of ``path`` that is not a folder, if any."""
    for parent in reversed(Path(os.path.abspath(path)).parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def storage_error(err: OSError, path: str | Path | None, *,
                  existed: bool | None = None, atomic: bool = True) -> StorageError:
    """A ``StorageError`` for a failed write of ``path``, naming the path and the fix.

    Args:
        err: the ``OSError`` the write raised (its errno picks the message).
        path: the destination that could not be written (None: unknown).
        existed: whether ``path`` existed before the write (default: whether it exists
            now); the message says the old file is unchanged, or nothing was written.
        atomic: the write was atomic (temporary file + rename), so that promise
            holds; False says nothing about what the file now holds.

    Returns:
        The error to raise (``from err``).
    """
    if isinstance(err, StorageError):
        return err
    code = err.errno
    if path is None:
        where, kept = "a file", ""
    else:
        path = Path(path)
        where = str(path)
        existed = path.exists() if existed is None else existed
        kept = ("" if not atomic else f" The previous {path.name} is unchanged."
                if existed else " Nothing was written there.")
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        what = "no space left on the device (or the disk quota is exhausted)"
        fix = "free some space, or write somewhere else, then run the command again"
    elif code == errno.EROFS:
        what = "the file system is read-only"
        fix = "write to a writable folder"
    elif code in (errno.EACCES, errno.EPERM):
        what = "permission denied"
        fix = "make the folder writable for this user, or write to another folder"
    elif (code in (errno.ENOTDIR, errno.EEXIST) and path is not None
          and _file_ancestor(path) is not None):
        what = f"{_file_ancestor(path)} is a file, not a folder"
        fix = "move that file away, or write to another folder"
    else:
        what = err.strerror or type(err).__name__
        fix = "check the path and the disk, then run the command again"
    if path is not None and _in_cache(path):
        fix += (f"; it is in the hades_zoo cache ({cache_dir()}): point HADES_ZOO_CACHE "
                "at a writable folder with free space")
    return StorageError(code, f"cannot write {where}: {what}.{kept} Fix: {fix}.",
                        None if path is None else str(path))


def _atomic_write(dst: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Run ``write`` on a temporary file beside ``dst``, fsync it, then os.replace.

    An ``OSError`` (full disk, read-only or missing folder) becomes a ``StorageError``
    naming ``dst``; ``dst`` is left as it was and the temporary file is removed.
    """
    existed = dst.exists()
    tmp: str | None = None
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            # mkstemp creates 0600; a written file gets what open() would give it
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and not isinstance(err, StorageError):
            raise storage_error(err, dst, existed=existed) from err
        raise
    return dst


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder + os.replace.

    Args:
        path: destination; parent folders are created.
        data: content.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        StorageError: the write failed (full disk, read-only folder, a path component
            that is a file); ``path`` is unchanged and no temporary file is left.
    """
    return _atomic_write(Path(path), lambda fh: fh.write(data))


def atomic_copy(src: str | Path, dst: str | Path) -> Path:
    """Copy ``src`` to ``dst`` atomically (temporary file + os.replace).

    Args:
        src: an existing file (symlinks are followed, so huggingface_hub snapshot
            entries copy their blob content).
        dst: destination; parent folders are created.

    Returns:
        ``dst`` as a ``Path``.

    Raises:
        StorageError: as in :func:`atomic_write_bytes` (reading ``src`` may also fail).
    """

    def copy(out: BinaryIO) -> None:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, _CHUNK)

    return _atomic_write(Path(dst), copy)


def enable_compilation_cache(path: str | Path | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache (default ``<cache root>/jax``).

    Every program is stored, however quick its compile: a warm ``eval`` otherwise
    still compiled its few small eager programs (array conversions, key seeding) each
    run, tens of milliseconds apiece (``benchmarks/bench_eval.py``). Returns the
    folder, or None when ``HADES_ZOO_JIT_CACHE=0`` disables it or the folder cannot be
    created or written (``HADES_ZOO_CACHE`` is a file, read-only, ...): the cache only
    saves time, so that is a logged warning and every command still runs.
    """
    if os.environ.get("HADES_ZOO_JIT_CACHE", "1") == "0":
        return None
    folder = Path(path) if path is not None else cache_dir() / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK | os.X_OK)
    except OSError as err:
        reason = str(storage_error(err, folder / "x", existed=False))
        writable = False
    else:
        reason = f"{folder} is not writable"
    if not writable:
        logger.warning("JAX compilation cache off (programs compile every run): %s. "
                       "Set HADES_ZOO_CACHE to a writable folder, or "
                       "HADES_ZOO_JIT_CACHE=0 to silence this.", reason)
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


#: hades_zoo's own switch: "auto" (on at first use), "on" (set by the user), "off".
_JIT = {"mode": "auto", "tried": False, "ours": None}


def _jax_cache_dir() -> str | None:
    """The folder JAX's persistent cache uses now (None: off)."""
    import jax

    return jax.config.jax_compilation_cache_dir


def use_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache once per process, on first use.

    Called where hades_zoo starts work that compiles (``load``, every
    ``ControlTask`` / ``ImageTask``, which ``train_policy``, ``evaluate``,
    ``protocol_returns``, ``distill`` and ``transfer_grid`` build, ``run_multitask``,
    the CLI commands), so the Python API and the CLI share one cache,
    ``<cache root>/jax``. It leaves JAX alone when ``HADES_ZOO_JIT_CACHE=0``, after
    ``set_compilation_cache(False)``, or when JAX already has a cache folder (set
    with ``jax.config.update("jax_compilation_cache_dir", ...)`` or
    ``JAX_COMPILATION_CACHE_DIR``): the user's choice wins. An unusable folder is a
    logged warning, once (see :func:`enable_compilation_cache`).

    Returns:
        The folder JAX caches compiled programs in, or None when none is used.
    """
    if _JIT["mode"] == "off" or os.environ.get("HADES_ZOO_JIT_CACHE", "1") == "0":
        return None
    current = _jax_cache_dir()
    if _JIT["tried"]:
        return Path(current) if current else None
    _JIT["tried"] = True
    if current:
        logger.debug("JAX compilation cache already set by the user: %s", current)
        return Path(current)
    _JIT["ours"] = enable_compilation_cache()
    return _JIT["ours"]


def set_compilation_cache(enabled: bool | str | Path = True) -> Path | None:
    """Choose whether hades_zoo keeps compiled programs in JAX's persistent cache.

    By default the cache is turned on at first use (:func:`use_compilation_cache`);
    this is the Python opt-out (the environment's is ``HADES_ZOO_JIT_CACHE=0``, which
    wins over this function).

    Args:
        enabled: False: never turn it on (and turn off the cache hades_zoo turned
            on; a folder the user gave JAX is left alone). True: turn it on now in
            ``<cache root>/jax``. A path: turn it on in that folder.

    Returns:
        The folder in use, or None when the cache is off (disabled, or the folder
        is unusable: a logged warning).

    Example:
        >>> import hades_zoo as hz
        >>> hz.set_compilation_cache(False)  # compile afresh in every process
    """
    if enabled is False:
        _JIT.update(mode="off", tried=True)
        if _JIT["ours"] is not None and _jax_cache_dir() == str(_JIT["ours"]):
            import jax

            jax.config.update("jax_compilation_cache_dir", None)
        _JIT["ours"] = None
        return None
    _JIT.update(mode="on", tried=True)
    folder = enable_compilation_cache(None if enabled is True else enabled)
    _JIT["ours"] = folder
    return folder
