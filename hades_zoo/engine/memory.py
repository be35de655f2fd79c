"""Memory of a compiled generation, and the evaluation chunk that fits a budget.

XLA reports, for a compiled program, the bytes of its arguments, outputs and
temporaries on one device (``jax.jit(f).lower(...).compile().memory_analysis()``).
For a generation of HaDES the temporaries are dominated by the population evaluation:
``candidates at once x num_inits x (BC activations + eval envs)``. Evaluating the
population in chunks (``lax.map(batch_size=eval_chunk)``, ``engine.parallel``) shrinks
them without changing the results, so ``choose_eval_chunk`` compiles (never runs) the
generation for a few chunk sizes and keeps the largest one that fits ``--max-memory``.

The figures are XLA's static buffer assignment for one device: they do not include the
runtime's own allocations, the Python process, or (on GPU) the allocator's slack, so
leave headroom.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from hades_zoo.errors import MemoryBudgetError

__all__ = ["CompiledMemory", "ChunkChoice", "compiled_memory", "parse_memory_size",
           "out_of_memory_as_budget_error",
           "format_bytes", "chunk_candidates", "choose_eval_chunk"]

log = logging.getLogger(__name__)

_UNITS = {"": 1, "B": 1,
          "K": 1024, "KB": 1000, "KIB": 1024,
          "M": 1024**2, "MB": 1000**2, "MIB": 1024**2,
          "G": 1024**3, "GB": 1000**3, "GIB": 1024**3,
          "T": 1024**4, "TB": 1000**4, "TIB": 1024**4}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*$")


@dataclasses.dataclass(frozen=True)
class CompiledMemory:
    """XLA's memory analysis of one compiled program, per device, in bytes.

    Attributes:
        argument_bytes: inputs (the ES state, for a generation).
        output_bytes: outputs (the new state and the metrics).
        temp_bytes: temporaries live at the peak of the buffer assignment.
        alias_bytes: outputs that reuse a donated input's buffer (counted in both
            ``argument_bytes`` and ``output_bytes``).
        code_bytes: generated code.
    """

    argument_bytes: int
    output_bytes: int
    temp_bytes: int
    alias_bytes: int = 0
    code_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        """``temp + argument + output``: what ``--max-memory`` is compared with
        (an upper bound: donated buffers are counted twice)."""
        return self.temp_bytes + self.argument_bytes + self.output_bytes

    def as_dict(self) -> dict[str, int]:
        """The fields and ``total_bytes``, for JSON."""
        return {**dataclasses.asdict(self), "total_bytes": self.total_bytes}


@dataclasses.dataclass(frozen=True)
class ChunkChoice:
    """The result of ``choose_eval_chunk``.

    Attributes:
        chunk: candidates per device evaluated at once (the block size = no chunking).
        memory: the compiled memory with that chunk.
        tried: every chunk compiled, with its memory.
    """

    chunk: int
    memory: CompiledMemory
    tried: dict[int, CompiledMemory]


def compiled_memory(compiled: Any) -> CompiledMemory:
    """Read ``compiled.memory_analysis()`` (a ``jax.stages.Compiled``).

    Raises:
        MemoryBudgetError: the backend gives no memory analysis (then ``--max-memory``
            cannot be used: set ``es.eval_chunk`` in the recipe instead).
    """
    stats = compiled.memory_analysis()
    if stats is None:
        raise MemoryBudgetError(
            "this JAX backend reports no memory analysis for compiled programs, so "
            "--max-memory cannot pick a chunk; set es.eval_chunk in the recipe instead.")
    return CompiledMemory(
        argument_bytes=int(stats.argument_size_in_bytes),
        output_bytes=int(stats.output_size_in_bytes),
        temp_bytes=int(stats.temp_size_in_bytes),
        alias_bytes=int(getattr(stats, "alias_size_in_bytes", 0)),
        code_bytes=int(getattr(stats, "generated_code_size_in_bytes", 0)),
    )


def parse_memory_size(text: str | int) -> int:
    """Bytes in a size such as ``8GiB``, ``512MiB``, ``8G`` (= GiB), ``8GB`` (10^9),
    ``1.5GiB`` or ``1000000`` (bytes).

    Raises:
        MemoryBudgetError: not a positive size with a known unit.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise MemoryBudgetError(f"memory size {text} must be > 0 bytes.")
        return text
    match = _SIZE.match(str(text))
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _UNITS:
        raise MemoryBudgetError(
            f"cannot read memory size {text!r}; write a number and a unit, e.g. 8GiB, "
            "512MiB, 8G (= GiB) or 8GB (= 10^9 bytes), or plain bytes.")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise MemoryBudgetError(f"memory size {text!r} must be more than 0 bytes.")
    return size


def format_bytes(size: int) -> str:
    """``1536 -> '1.5 KiB'``: binary units, 3 significant digits."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def chunk_candidates(block: int) -> list[int]:
    """Chunk sizes worth compiling for a block of ``block`` candidates per device:
    its divisors, largest first (a divisor leaves no smaller last batch to compile)."""
    return sorted((d for d in range(1, block + 1) if block % d == 0), reverse=True)


def choose_eval_chunk(lower: Callable[[int], Any], popsize: int, num_devices: int,
                      budget_bytes: int | str) -> ChunkChoice:
    """The largest chunk whose compiled generation fits ``budget_bytes`` per device.

    Compiles (never runs) ``lower(chunk)`` for divisors of the per-device block,
    bisecting on the assumption that memory grows with the chunk: one compilation
    when the whole block fits, else about ``log2(number of divisors) + 1``.

    Args:
        lower: ``chunk -> jax.stages.Lowered`` of one generation evaluated with that
            chunk (the block size means one ``vmap``).
        popsize: candidates per generation.
        num_devices: devices the population is sharded over.
        budget_bytes: per-device budget in bytes, or a size string such as ``8GiB``
            (``parse_memory_size``).

    Returns:
        ChunkChoice with the chunk, its memory and every compilation tried.

    Raises:
        MemoryBudgetError: a malformed budget, or even one candidate at a time needs
            more than the budget; the message gives the smallest requirement and the
            ways to lower it.
    """
    from hades_zoo.engine.parallel import broadcast_from_writer, local_block

    budget_bytes = parse_memory_size(budget_bytes)

    block = local_block(popsize, num_devices)
    options = chunk_candidates(block)  # descending
    tried: dict[int, CompiledMemory] = {}

    def fits(i: int) -> bool:
        chunk = options[i]
        if chunk not in tried:
            tried[chunk] = compiled_memory(lower(chunk).compile())
            log.info("eval_chunk %d: %s per device", chunk,
                     format_bytes(tried[chunk].total_bytes))
        return tried[chunk].total_bytes <= budget_bytes

    # Find the first index (largest chunk) that fits: the whole block first (enough
    # memory is the common case), then bisect the rest, smallest last.
    lo, hi = 0, len(options) - 1
    if not fits(0):
        lo = min(1, hi)
        while lo < hi:
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid + 1
        if not fits(lo):
            need = tried[options[lo]]
            raise MemoryBudgetError(
                f"--max-memory {format_bytes(budget_bytes)} is too small: even evaluating "
                f"one candidate at a time needs {format_bytes(need.total_bytes)} per "
                f"device (temp {format_bytes(need.temp_bytes)}, arguments "
                f"{format_bytes(need.argument_bytes)}, outputs "
                f"{format_bytes(need.output_bytes)}). Raise --max-memory, or shrink the "
                "recipe's eval.num_envs, num_inits or policy.width.")
    # Every process compiles the same program, so they agree; process 0 decides anyway
    # (a different chunk on one host would deadlock the collectives).
    chunk = int(broadcast_from_writer(np.int32(options[lo])))
    return ChunkChoice(chunk=chunk, memory=tried[chunk], tried=dict(sorted(tried.items())))


def _is_out_of_memory(err: BaseException) -> bool:
    """An XLA runtime error that reports an allocation the device could not make."""
    text = str(err)
    return type(err).__name__ in ("XlaRuntimeError", "JaxRuntimeError") and (
        "RESOURCE_EXHAUSTED" in text or "Out of memory" in text)


def out_of_memory_as_budget_error(fn: Callable) -> Callable:
    """Decorate ``fn(recipe, ...)``: a device out-of-memory error becomes a
    :class:`MemoryBudgetError` that names the population and the fix.

    XLA raises ``XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory allocating N bytes``
    when a generation does not fit (``es.popsize=1073741824`` asks for ~114 TB);
    users should read which knob to turn, not a runtime traceback.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(recipe, *args, **kwargs):
        try:
            return fn(recipe, *args, **kwargs)
        except Exception as err:
            if not _is_out_of_memory(err):
                raise
            first = str(err).strip().splitlines()[0][:200]
            raise MemoryBudgetError(
                f"a generation of {recipe.name!r} (es.popsize={recipe.es.popsize}, "
                f"es.eval_chunk={recipe.es.eval_chunk}) does not fit in device memory "
                f"({first}); lower es.popsize, or evaluate the population in chunks "
                "(--set es.eval_chunk=N, or --max-memory SIZE to pick N)."
            ) from None

    return wrapper
