"""Programs traced once per protocol shape and kept in the cache (``jax.export``).

A warm ``hades-zoo eval`` spent most of its time before any simulation: importing
brax (and, with NVIDIA Warp installed, MJX's Warp support), building the env,
tracing the BC and episode programs and lowering them to StableHLO; JAX's persistent
compilation cache only skips the XLA compile after all that. This module keeps the
traced program itself: the first run of a protocol shape exports it
(``jax.export.export``), serializes it (a flatbuffer holding the StableHLO module,
never pickle) and stores it under ``<cache root>/programs/``; a later process
deserializes it and calls it through ``jax.jit(exported.call)``, whose compiled
executable JAX's persistent cache (``<cache root>/jax``) already holds. No env is
built, nothing is traced, brax is not imported.

Both runs execute the same deserialized program, and ``jit(exported.call)`` compiles
to the same executable as ``jit(fn)`` (``tests/test_compiled.py`` checks the returns
bit for bit against the direct ``jit``).

The key of a stored program (kept in full inside the file and compared on read; its
sha256 names the file) is everything the traced program depends on: what it
computes (``kind`` and the protocol fields, e.g. the recipe's env / policy / BC
sections, episodes, greedy, batching), the argument shapes and dtypes (and the
pytree structure), the JAX backend, the JAX config values that change tracing
(x64, threefry partitioning, matmul precision, PRNG impl), the versions of the
libraries that are traced (jax, jaxlib, brax, flax, optax, gymnax, mujoco, numpy,
ml_dtypes), and a sha256 of hades_zoo's ``engine/`` and ``data/`` sources (so an
edited checkout never reuses a stale program).

A file that cannot be used (truncated, altered, foreign, made by other software or
for another key, not deserializable) is ignored with a logged warning and the program
is traced and stored again. Files are written atomically (``data.cache``); a cache
that cannot be written (read-only, full) is a logged warning, once, and the program
is still traced and run. ``HADES_ZOO_JIT_CACHE=0`` and
``hz.set_compilation_cache(False)`` turn this cache off with JAX's (every run traces
and compiles).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
from jax import export  # a submodule: jax 0.7 does not import it with jax

from hades_zoo.data.cache import (
    atomic_write_bytes,
    cache_dir,
    sha256_bytes,
    use_compilation_cache,
)
from hades_zoo.errors import StorageError

__all__ = ["FORMAT", "Program", "program", "program_key", "programs_dir"]

logger = logging.getLogger(__name__)

#: Bump when the file layout or the key's meaning changes (old files are then foreign).
FORMAT = 1
_MAGIC = b"HADES-ZOO-PROGRAM\n"
_SUFFIX = ".jaxexport"
_HEADER_MAX = 1 << 20

#: Libraries whose code ends up in a traced program (their versions key it).
_TRACED_LIBRARIES = ("jax", "jaxlib", "brax", "flax", "optax", "gymnax", "mujoco",
                     "numpy", "ml_dtypes", "evosax")
#: JAX config values that change what tracing produces.
_JAX_CONFIG = ("jax_enable_x64", "jax_threefry_partitionable",
               "jax_default_matmul_precision", "jax_default_prng_impl",
               "jax_numpy_rank_promotion", "jax_numpy_dtype_promotion")

_WARNED_WRITE: set[str] = set()


@dataclasses.dataclass(frozen=True)
class Program:
    """A jittable program and where it came from.

    Attributes:
        fn: the function to ``jax.jit`` (``Exported.call`` of the stored program, or
            the traceable function itself when the cache is off).
        source: ``"cache"`` (read from a stored file), ``"traced"`` (traced now and
            stored, or storing failed), ``"direct"`` (the cache is off).
        path: the file of the stored program (None when the cache is off).
    """

    fn: Callable[..., Any]
    source: str
    path: Path | None = None

    def lower(self, *args: Any) -> Any:
        """``jax.jit(fn).lower(*args)`` (then ``.compile(options)``)."""
        return jax.jit(self.fn).lower(*args)


def programs_dir() -> Path | None:
    """``<cache root>/programs``, or None when JAX's persistent compilation cache is
    not in use (``HADES_ZOO_JIT_CACHE=0``, ``hz.set_compilation_cache(False)``, an
    unusable cache folder): a stored program saves little without its executable."""
    if use_compilation_cache() is None:
        return None
    return cache_dir() / "programs"


@functools.lru_cache(maxsize=1)
def _software() -> dict[str, Any]:
    """Versions of the traced libraries and the sha256 of hades_zoo's engine/data code."""
    versions: dict[str, str] = {}
    pattern = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)\.dist-info$")
    wanted = {name.replace("-", "_").lower() for name in _TRACED_LIBRARIES}
    for entry in sys.path:  # dist-info folder names: no metadata parsing (fast)
        if not entry:  # the working directory: not where libraries are installed
            continue
        try:
            names = os.listdir(entry)
        except OSError:
            continue
        for name in names:
            match = pattern.match(name)
            if match:
                lib = match["name"].replace("-", "_").lower()
                if lib in wanted and lib not in versions:
                    versions[lib] = match["version"]
    for lib in wanted - set(versions):  # a source install: its module's version
        module = sys.modules.get(lib)
        versions[lib] = str(getattr(module, "__version__", "absent"))
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for folder in ("engine", "data"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return {"versions": dict(sorted(versions.items())), "hades_zoo_code": digest.hexdigest()}


def _aval(x: Any) -> str:
    return f"{x.dtype}{list(x.shape)}"


def _describe_args(args: tuple) -> dict[str, Any]:
    leaves, tree = jax.tree_util.tree_flatten((tuple(args), {}))  # as Exported.in_tree
    return {"tree": str(tree), "avals": [_aval(x) for x in leaves]}


def program_key(kind: str, protocol: dict[str, Any], args: tuple) -> dict[str, Any]:
    """The full key of a stored program (see the module docstring).

    Args:
        kind: what the program is (``"bc"``, ``"episodes"``).
        protocol: JSON-able facts the traced function depends on.
        args: example arguments (arrays or ``jax.ShapeDtypeStruct``), as passed.

    Returns:
        A JSON-able dict; equal keys mean the same program.
    """
    config = {name: str(getattr(jax.config, name, None)) for name in _JAX_CONFIG}
    return {"format": FORMAT, "kind": kind, "protocol": protocol,
            "args": _describe_args(args), "backend": jax.default_backend(),
            "jax_config": config, **_software()}


def _canonical(key: dict[str, Any]) -> bytes:
    return json.dumps(key, sort_keys=True, separators=(",", ":")).encode()


def _pack(key: dict[str, Any], payload: bytes) -> bytes:
    header = json.dumps({"key": key, "sha256": sha256_bytes(payload),
                         "size": len(payload)}, sort_keys=True).encode()
    return _MAGIC + struct.pack("<Q", len(header)) + header + payload


def _unpack(data: bytes, key: dict[str, Any]) -> bytes:
    """The payload of a stored program made for ``key``; ValueError says why not."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a hades_zoo program file")
    start = len(_MAGIC) + 8
    if len(data) < start:
        raise ValueError("truncated header")
    (size,) = struct.unpack("<Q", data[len(_MAGIC):start])
    if size > _HEADER_MAX or len(data) < start + size:
        raise ValueError("truncated or corrupt header")
    try:
        header = json.loads(data[start:start + size])
    except ValueError as err:
        raise ValueError(f"corrupt header ({err})") from None
    if not isinstance(header, dict) or header.get("key") != key:
        raise ValueError("made for another program, protocol or software version")
    payload = data[start + size:]
    if len(payload) != header.get("size") or sha256_bytes(payload) != header.get("sha256"):
        raise ValueError("its content does not match its sha256 (truncated or altered)")
    return payload


@functools.cache
def _lapack_ready() -> None:
    """Load jaxlib's LAPACK kernels before a deserialized program runs on CPU.

    jaxlib registers its LAPACK kernels (QR, Cholesky, ...) with null function pointers
    and fills them in when a program using them is *lowered*. A deserialized program
    is never lowered, so on jax 0.7.2 (measured) the BC program (flax's ``orthogonal``
    init is a QR) crashed its process with SIGSEGV when read from the cache
    (jax-ml/jax#33522; from jax 0.10 the lowering of ``Exported.call`` loads them
    itself, so this is skipped). Lowering a 2x2 QR through the public API loads them
    all, once (~0.2 s).
    """
    if jax.__version_info__ < (0, 10, 0) and jax.default_backend() == "cpu":
        import jax.numpy as jnp

        jax.jit(jnp.linalg.qr).lower(jax.ShapeDtypeStruct((2, 2), jnp.float32))


def _read(path: Path, key: dict[str, Any], args: tuple):
    """The stored ``Exported`` for ``key``, or None (missing; unusable: a warning)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        logger.warning("cannot read the stored program %s (%s); tracing it again.",
                       path, err)
        return None
    try:
        exported = export.deserialize(bytearray(_unpack(data, key)))
        want = _describe_args(args)
        got = {"tree": str(exported.in_tree),
               "avals": [_aval(a) for a in exported.in_avals]}
        if got != want:
            raise ValueError(f"its arguments are {got}, not {want}")
        _lapack_ready()
    except Exception as err:  # noqa: BLE001 - any unusable file is rebuilt
        logger.warning("ignoring the stored program %s: %s; tracing it again.", path, err)
        return None
    return exported


def _write(path: Path, blob: bytes) -> None:
    try:
        atomic_write_bytes(path, blob)
    except StorageError as err:
        folder = str(path.parent)
        if folder not in _WARNED_WRITE:
            _WARNED_WRITE.add(folder)
            logger.warning("cannot store traced programs (%s); each run traces them "
                           "again. Set HADES_ZOO_CACHE to a writable folder, or "
                           "HADES_ZOO_JIT_CACHE=0 to silence this.", err)


def program(kind: str, protocol: dict[str, Any], build: Callable[[], Callable[..., Any]],
            args: tuple) -> Program:
    """The program ``build()`` returns, traced for ``args``: stored, or traced now.

    Args:
        kind: a short name for the program (the file name starts with it).
        protocol: JSON-able facts that fix what ``build()`` returns (the recipe
            sections it reads, episode count, flags). Two calls with equal ``kind``,
            ``protocol`` and argument shapes must build the same function.
        build: returns the jittable function; called only when the program is not
            stored (it may build envs and import brax).
        args: arguments (or ``jax.ShapeDtypeStruct``) with the shapes it will be
            called with.

    Returns:
        A ``Program``; ``program.lower(*args).compile()`` then runs it. Its results
        are those of ``jax.jit(build())(*args)``.
    """
    folder = programs_dir()
    if folder is None:
        return Program(build(), "direct")
    key = program_key(kind, protocol, args)
    path = folder / f"{kind}-{hashlib.sha256(_canonical(key)).hexdigest()[:40]}{_SUFFIX}"
    exported = _read(path, key, args)
    if exported is not None:
        return Program(exported.call, "cache", path)
    fn = build()
    try:
        payload = bytes(export.export(jax.jit(fn))(*args).serialize())
    except ImportError as err:  # jax's serializer needs flatbuffers
        logger.warning("traced programs are not stored (%s).", err)
        return Program(fn, "direct")
    _write(path, _pack(key, payload))
    # Run what a later process will read, so the first run and the next agree.
    return Program(export.deserialize(bytearray(payload)).call, "traced", path)
