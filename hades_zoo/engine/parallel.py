"""Parallel population evaluation: one global ``("pop",)`` mesh, padding, chunks, writers.

The ES population is the only sharded axis (STYLE.md section 6). This module holds what
makes that work on any number of devices and processes:

- ``global_mesh()``: a 1-D mesh over ``jax.devices()``, every device of every process
  (``jax.distributed``); one device is a mesh of size 1, the same code path.
- ``make_population_evaluator``: pads the population to a multiple of the device count
  (times ``eval_chunk``, if set) with copies of its first candidates, evaluates each
  device's block with ``shard_map`` (a ``vmap``, or ``lax.map`` over chunks of
  ``eval_chunk`` candidates to bound memory), drops the padding and gathers the fitness
  to every device. A ``BlockFitness`` is evaluated a block (or chunk) at a time by its
  own ``block`` function (e.g. continuous batching of the block's episodes,
  ``engine.continuous``) instead of a ``vmap`` of its per-candidate function.
  The padding is appended after the real candidates, so OpenES's antithetic pairs
  (candidate ``i`` and ``i + popsize / 2``) are untouched and ``tell`` sees exactly the
  population that ``ask`` made.
- ``is_writer()``: process 0 writes metrics, checkpoints and the dataset;
  ``replicate`` / ``local_copy`` move replicated state onto the global mesh and back to
  host memory; ``broadcast_from_writer`` sends process 0's values (a restored
  checkpoint, a chosen chunk) to every process, so no shared file system is needed.

Per-device numerics: XLA compiles the vmapped fitness for the block size it is given,
and on CPU a different block size can change a candidate's return in its last bits
(see ``docs/SCALING.md``, "Same results on any device count").
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from hades_zoo.errors import DistributedError, HadesZooError, RecipeError

__all__ = [
    "device_chunk",
    "global_mesh",
    "padded_size",
    "pad_population",
    "local_block",
    "make_population_evaluator",
    "BlockFitness",
    "jit_generations",
    "is_writer",
    "replicate",
    "strong_types",
    "local_copy",
    "broadcast_from_writer",
    "restore_on_every_process",
]

log = logging.getLogger(__name__)

POP_AXIS = "pop"


def global_mesh() -> Mesh:
    """The ``("pop",)`` mesh over every device of every process, in ``jax.devices()``
    order (process 0's devices first)."""
    return Mesh(np.array(jax.devices()), (POP_AXIS,))


def device_chunk(popsize: int, num_devices: int, eval_chunk: int = 0) -> int:
    """The ``eval_chunk`` a device uses: the one asked for, capped at the device's
    ``ceil(popsize / num_devices)`` candidates (a larger chunk would only evaluate
    padding: ``--eval-chunk 100000`` on a population of 8 once ran 100,000 padded
    candidates per device until the kernel killed it for memory). 0 stays 0 (the
    whole block at once)."""
    return min(eval_chunk, -(-popsize // num_devices)) if eval_chunk else 0


def local_block(popsize: int, num_devices: int, eval_chunk: int = 0) -> int:
    """Candidates each device evaluates per generation, padding included.

    Args:
        popsize: candidates per generation (> 0).
        num_devices: devices the population is sharded over (> 0).
        eval_chunk: candidates evaluated at once (0 = all of the block at once;
            capped by :func:`device_chunk`).

    Returns:
        ``ceil(popsize / num_devices)``, rounded up to a multiple of the chunk
        when it is set, so that every chunk on every device has exactly
        that many candidates.
    """
    block = -(-popsize // num_devices)
    chunk = device_chunk(popsize, num_devices, eval_chunk)
    return -(-block // chunk) * chunk if chunk else block


def padded_size(popsize: int, num_devices: int, eval_chunk: int = 0) -> int:
    """Candidates evaluated per generation over all devices, padding included:
    ``num_devices * local_block(popsize, num_devices, eval_chunk)``."""
    return num_devices * local_block(popsize, num_devices, eval_chunk)


def pad_population(population: Any, padded: int) -> Any:
    """Append copies of the first candidates until every leaf has ``padded`` rows.

    Args:
        population: pytree of arrays with leading axis ``popsize``.
        padded: target leading size, ``>= popsize``.

    Returns:
        The same pytree with leading axis ``padded``; rows ``[:popsize]`` are the input
        unchanged, row ``popsize + j`` is a copy of row ``j % popsize``.
    """
    popsize = jax.tree.leaves(population)[0].shape[0]
    if padded == popsize:
        return population
    index = np.arange(padded) % popsize
    return jax.tree.map(lambda x: x[index], population)


@dataclasses.dataclass(frozen=True)
class BlockFitness:
    """A fitness that also evaluates a whole block of candidates in one program.

    Attributes:
        one: ``one(key, candidate) -> (fitness, aux of scalars)``, the per-candidate
            function (what calling a ``BlockFitness`` does).
        block: ``block(keys (B,), candidates (B, ...)) -> (fitness (B,), aux (B,))``:
            the same values as ``vmap(one)``, computed together (the continuous
            scheduler of ``engine.continuous`` steps the block's episodes through one
            pool of env slots). ``aux`` may hold extra keys ``one`` does not.
    """

    one: Callable[[jax.Array, Any], tuple[jax.Array, dict]]
    block: Callable[[jax.Array, Any], tuple[jax.Array, dict]]

    def __call__(self, key: jax.Array, candidate: Any) -> tuple[jax.Array, dict]:
        return self.one(key, candidate)


def make_population_evaluator(
    fitness_fn: Callable[[jax.Array, Any], tuple[jax.Array, dict]],
    mesh: Mesh,
    popsize: int,
    eval_chunk: int = 0,
    *,
    common_random_numbers: bool = True,
) -> Callable[[jax.Array, Any], tuple[jax.Array, dict]]:
    """``evaluate(key, population) -> (fitness (popsize,), aux {name: (popsize,)})``.

    The population is padded to ``padded_size(popsize, mesh.size, eval_chunk)`` with
    copies, each device evaluates its block of ``local_block(...)`` candidates (one
    ``vmap``; or, with ``eval_chunk``, ``lax.map`` over chunks of exactly
    ``eval_chunk`` candidates, the block being padded to a multiple of it), the padding
    is dropped and the result is replicated on every device. Every candidate is
    evaluated with the same ``key`` (common random numbers), or, with
    ``common_random_numbers=False``, with its own key ``split(key, popsize)[i]``.

    Args:
        fitness_fn: pure ``fitness(key, candidate) -> (scalar, aux of scalars)``; a
            ``BlockFitness`` is evaluated with its ``block`` function, on each device's
            block or on each chunk of ``eval_chunk`` candidates.
        mesh: a 1-D mesh with axis ``"pop"`` (``global_mesh()``).
        popsize: candidates per generation.
        eval_chunk: candidates evaluated at once per device; 0 = the whole block.

    Returns:
        The jittable evaluator (call it inside ``jax.jit``).

    Raises:
        RecipeError: ``eval_chunk`` is not an integer >= 0.
    """
    if isinstance(eval_chunk, bool) or not isinstance(eval_chunk, int) or eval_chunk < 0:
        raise RecipeError(f"eval_chunk must be an integer >= 0 (0 = the whole block), "
                          f"got {eval_chunk!r}.")
    n = mesh.size
    chunk = device_chunk(popsize, n, eval_chunk)
    block = local_block(popsize, n, chunk)
    padded = n * block
    replicated = NamedSharding(mesh, P())

    def evaluate_block(keys, candidates):  # keys, candidates: (block, ...)
        if isinstance(fitness_fn, BlockFitness):
            if not chunk or chunk == block:
                return fitness_fn.block(keys, candidates)
            split = jax.tree.map(lambda x: x.reshape(block // chunk, chunk, *x.shape[1:]),
                                 (keys, candidates))
            out = jax.lax.map(lambda a: fitness_fn.block(*a), split)
            return jax.tree.map(lambda x: x.reshape(block, *x.shape[2:]), out)
        if chunk:  # block // chunk steps of exactly ``chunk`` candidates each
            return jax.lax.map(lambda a: fitness_fn(*a), (keys, candidates),
                               batch_size=chunk)
        return jax.vmap(fitness_fn)(keys, candidates)

    sharded = jax.shard_map(evaluate_block, mesh=mesh, in_specs=(P(POP_AXIS), P(POP_AXIS)),
                            out_specs=P(POP_AXIS), check_vma=False)

    def evaluate(key, population):
        population = jax.lax.with_sharding_constraint(
            population, jax.tree.map(lambda _: replicated, population))
        keys = (jnp.broadcast_to(key, (popsize, *key.shape)) if common_random_numbers
                else jax.random.split(key, popsize))
        out = sharded(pad_population(keys, padded), pad_population(population, padded))
        out = jax.tree.map(lambda x: x[:popsize], out)
        return jax.lax.with_sharding_constraint(out, jax.tree.map(lambda _: replicated, out))

    return evaluate


def jit_generations(generation: Callable[[Any, Any], tuple[Any, dict]], mesh: Mesh
                    ) -> Callable[[Any, int], tuple[Any, dict]]:
    """``run(state, length) -> (state, metrics (length, ...))``: ``length`` generations
    in one jitted ``lax.scan`` (``length`` static, the state donated), every output
    replicated over ``mesh`` so that any process can read it (``local_copy``)."""
    def run(state, length):
        state, metrics = jax.lax.scan(generation, state, None, length=length)
        return strong_types(state), metrics  # the input types again: one compile

    return jax.jit(run, static_argnums=1, donate_argnums=0,
                   out_shardings=NamedSharding(mesh, P()))


# --------------------------------------------------------------------------- processes
def is_writer() -> bool:
    """True in the process that writes files: process 0 (always true without
    ``jax.distributed``)."""
    return jax.process_index() == 0


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key)


def local_copy(tree: Any) -> Any:
    """Each replicated leaf as an array on this process's first device.

    ``np.asarray`` cannot read an array that spans other processes' devices; a fully
    replicated one holds the whole value on every device, so one local shard is it.

    Raises:
        ValueError: a leaf spans other processes and is not replicated (an internal
            error: the ES state and the metrics are always replicated).
    """
    def one(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return x
        if not x.sharding.is_fully_replicated:
            raise ValueError(f"leaf with sharding {x.sharding} is not replicated")
        return x.addressable_data(0)

    return jax.tree.map(one, tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Put a host-identical pytree on every device of ``mesh`` (replicated).

    Every process must pass the same values (they come from the same seed or from
    ``broadcast_from_writer``). Typed PRNG keys keep their type.
    """
    sharding = NamedSharding(mesh, P())

    def put(value: np.ndarray) -> jax.Array:
        # Not jax.device_put: across processes it first checks that every process
        # passes equal values, which fails on NaN (evosax's initial best_fitness).
        return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])

    def one(x):
        x = local_copy(x)
        if _is_key(x):
            data = put(np.asarray(jax.random.key_data(x)))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return put(np.asarray(x))

    return jax.tree.map(one, tree)


def strong_types(tree: Any) -> Any:
    """Every non-key leaf with ``weak_type=False`` (traceable).

    ``replicate`` builds arrays from host values, which carry no weak type, while
    evosax's ``tell`` returns some weakly typed scalars (``std`` from a Python-float
    schedule). A jitted generation chunk that returns its carry through this function
    sees the same input types on every call, so it compiles once.
    """
    return jax.tree.map(
        lambda x: x if _is_key(x) else jax.lax.convert_element_type(x, x.dtype), tree)


def broadcast_from_writer(tree: Any) -> Any:
    """Process 0's values of ``tree`` on every process (numpy leaves).

    Every process must pass a tree of the same structure, shapes and dtypes; the
    values of processes other than 0 are ignored. One process: returned as numpy.
    Typed PRNG keys are sent as their raw ``uint32`` data and re-wrapped.
    """
    from jax.experimental import multihost_utils

    leaves, treedef = jax.tree.flatten(local_copy(tree))
    impls = [jax.random.key_impl(x) if _is_key(x) else None for x in leaves]
    raw = [np.asarray(jax.random.key_data(x)) if impl is not None else np.asarray(x)
           for x, impl in zip(leaves, impls)]
    if jax.process_count() > 1:
        raw = multihost_utils.broadcast_one_to_all(raw)
    out = [jax.random.wrap_key_data(np.asarray(x), impl=impl) if impl is not None
           else np.asarray(x) for x, impl in zip(raw, impls)]
    return jax.tree.unflatten(treedef, out)


_NONE, _FOUND, _FAILED = 0, 1, 2


def restore_on_every_process(load: Callable[[], tuple[Any, int] | None],
                             template: Any) -> tuple[Any, int] | None:
    """Run ``load()`` on process 0 only and give its result to every process.

    Only process 0 reads the output folder, so other hosts need no shared file system
    and may be given any (even empty) ``--out``.

    Args:
        load: returns ``(state, generation)`` or None (no checkpoint); may raise a
            ``HadesZooError`` (corrupt checkpoint, other recipe).
        template: a state of the same structure, shapes and dtypes (what other
            processes send in the broadcast).

    Returns:
        ``(state as host arrays, generation)`` or None, the same on every process.

    Raises:
        HadesZooError: on process 0, whatever ``load`` raised.
        DistributedError: on the other processes, when ``load`` failed on process 0.
    """
    found: tuple[Any, int] | None = None
    error: HadesZooError | None = None
    if is_writer():
        try:
            found = load()
        except HadesZooError as err:
            error = err
    if jax.process_count() == 1:
        if error is not None:
            raise error
        return found
    status = _FAILED if error is not None else _FOUND if found is not None else _NONE
    state = found[0] if found is not None else template
    generation = found[1] if found is not None else 0
    status, generation, state = broadcast_from_writer(
        (np.int32(status), np.int32(generation), state))
    if error is not None:
        raise error
    if int(status) == _FAILED:
        raise DistributedError(
            "process 0 could not restore the checkpoint in its --out folder; its error "
            "message says why (fix it there, or rerun every process with --no-resume).")
    return (state, int(generation)) if int(status) == _FOUND else None
