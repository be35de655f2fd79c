"""Cache root (``HADES_ZOO_CACHE``) and JAX's persistent compilation cache under it.

Compiling the BC scan and the evaluation scan dominates a short CLI run on CPU (see
``benchmarks/bench_eval.py``). JAX can store compiled executables on disk
(``jax_compilation_cache_dir``); a later process that builds the same program (same
shapes, same constants, same jax/jaxlib and flags) loads it instead of compiling.
The CLI enables it under ``<cache root>/jax`` unless ``HADES_ZOO_JIT_CACHE=0``.

That cache skips XLA compilation but not Python tracing and lowering, which for a
brax evaluation scan still takes ~5 s warm. Storing traced programs with
``jax.export`` would skip that too, but its serialization needs the ``flatbuffers``
package, which hades_zoo does not depend on.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root", "enable_compilation_cache"]


def cache_root() -> Path:
    """``$HADES_ZOO_CACHE``, default ``~/.cache/hades_zoo`` (the one place it is read)."""
    env = os.environ.get("HADES_ZOO_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hades_zoo"


def enable_compilation_cache(path: str | Path | None = None) -> Path | None:
    """Turn on JAX's persistent compilation cache (default ``<cache root>/jax``).

    Every program that takes longer than 0.5 s to compile is stored. Returns the
    folder, or None when ``HADES_ZOO_JIT_CACHE=0`` disables it.
    """
    if os.environ.get("HADES_ZOO_JIT_CACHE", "1") == "0":
        return None
    import jax

    folder = Path(path) if path is not None else cache_root() / "jax"
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder

