"""engine.memory: sizes, compiled memory, the chunk that fits --max-memory."""

from __future__ import annotations

import types

import numpy as np
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.engine.memory import (
    CompiledMemory,
    choose_eval_chunk,
    chunk_candidates,
    format_bytes,
    parse_memory_size,
)
from hades_zoo.errors import MemoryBudgetError


@pytest.mark.parametrize("text,size", [
    ("8GiB", 8 * 1024**3), ("8G", 8 * 1024**3), ("8GB", 8 * 10**9), ("512MiB", 512 * 2**20),
    ("1.5 GiB", 3 * 2**29), ("1000", 1000), ("64kib", 65536), (4096, 4096),
])
def test_parse_memory_size(text, size):
    assert parse_memory_size(text) == size


@pytest.mark.parametrize("text", ["eight GiB", "8 GiBs", "8XB", "", "-1G", "GiB"])
def test_parse_memory_size_rejects(text):
    with pytest.raises(MemoryBudgetError, match="cannot read memory size.*e.g. 8GiB"):
        parse_memory_size(text)


def test_parse_memory_size_rejects_zero():
    with pytest.raises(MemoryBudgetError, match="must be more than 0 bytes"):
        parse_memory_size("0GiB")
    with pytest.raises(MemoryBudgetError, match="must be > 0 bytes"):
        parse_memory_size(0)


def test_format_bytes():
    assert [format_bytes(n) for n in (12, 1536, 3 * 2**30)] == ["12 B", "1.5 KiB", "3 GiB"]


def _fake_lower(per_candidate: int, fixed: int, log: list[int]):
    """A ``lower(chunk)`` whose compiled memory is ``fixed + chunk * per_candidate``."""
    def lower(chunk):
        log.append(chunk)
        stats = types.SimpleNamespace(argument_size_in_bytes=fixed, output_size_in_bytes=0,
                                      temp_size_in_bytes=chunk * per_candidate,
                                      alias_size_in_bytes=0,
                                      generated_code_size_in_bytes=0)
        compiled = types.SimpleNamespace(memory_analysis=lambda: stats)
        return types.SimpleNamespace(compile=lambda: compiled)
    return lower


def test_choose_eval_chunk_bisects_over_divisors():
    assert chunk_candidates(12) == [12, 6, 4, 3, 2, 1]
    log: list[int] = []
    # pop 2048 on 1 device: chunks 2048, 1024, ..., 1; 100 bytes per candidate
    choice = choose_eval_chunk(_fake_lower(100, 1000, log), 2048, 1, 1000 + 100 * 300)
    assert choice.chunk == 256 and choice.memory.total_bytes == 1000 + 25600
    assert len(log) <= 6 and set(choice.tried) == set(log)
    assert choose_eval_chunk(_fake_lower(100, 1000, []), 2048, 1, "30KiB").chunk == 256
    with pytest.raises(MemoryBudgetError, match="cannot read memory size"):
        choose_eval_chunk(_fake_lower(100, 1000, []), 2048, 1, "lots")
    # everything fits: one compilation
    log.clear()
    assert choose_eval_chunk(_fake_lower(1, 0, log), 64, 2, 10**9).chunk == 32
    assert log == [32]
    # pop 64 on 3 devices: block of 22 -> chunks 22, 11, 2, 1
    log.clear()
    assert choose_eval_chunk(_fake_lower(10, 0, log), 64, 3, 150).chunk == 11


def test_choose_eval_chunk_none_fits():
    with pytest.raises(MemoryBudgetError, match=r"too small: even evaluating one "
                       r"candidate at a time needs 1.1 KiB.*Raise --max-memory"):
        choose_eval_chunk(_fake_lower(100, 1024, []), 64, 1, 1000)


def test_compiled_memory_without_analysis():
    from hades_zoo.engine.memory import compiled_memory

    with pytest.raises(MemoryBudgetError, match="no memory analysis.*es.eval_chunk"):
        compiled_memory(types.SimpleNamespace(memory_analysis=lambda: None))


@pytest.fixture
def lower_tiny(tiny_recipe):
    """``lower(chunk)`` of one real generation of the tiny recipe, and its block."""
    import jax

    from hades_zoo.engine import distill as engine
    from hades_zoo.engine.parallel import global_mesh, local_block, replicate
    from hades_zoo.engine.tasks.control import ControlTask

    mesh = global_mesh()
    task = ControlTask(tiny_recipe)
    sol = task.solution_template()
    es, params = engine.make_strategy(tiny_recipe, sol)
    state = replicate(engine.DistillState(es.init(jax.random.key(0), sol, params),
                                          jax.random.key(1)), mesh)
    fitness = task.make_fitness_fn()

    def lower(chunk):
        gen = engine.make_generation_fn(tiny_recipe, es, params, fitness, mesh, chunk)
        return jax.jit(lambda s: jax.lax.scan(gen, s, None, length=1)).lower(state)

    return lower, local_block(tiny_recipe.es.popsize, mesh.size), mesh.size


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_memory_analysis_shrinks_with_chunk_and_budget_picks_it(lower_tiny, tiny_recipe):
    from hades_zoo.engine.memory import compiled_memory

    lower, block, devices = lower_tiny
    compiled = {c: lower(c).compile() for c in (block, 1)}
    mem = {c: compiled_memory(x) for c, x in compiled.items()}
    assert isinstance(mem[1], CompiledMemory)
    assert mem[1].temp_bytes < mem[block].temp_bytes
    assert mem[1].argument_bytes == mem[block].argument_bytes > 0
    budget = (mem[1].total_bytes + mem[block].total_bytes) // 2
    reuse = types.SimpleNamespace  # hand back what was compiled above, compile the rest
    choice = choose_eval_chunk(
        lambda c: reuse(compile=lambda: compiled[c]) if c in compiled else lower(c),
        tiny_recipe.es.popsize, devices, budget)
    assert 1 <= choice.chunk < block and choice.memory.total_bytes <= budget
    larger = [c for c in choice.tried if c > choice.chunk]
    assert larger and all(choice.tried[c].total_bytes > budget for c in larger)


@pytest.mark.slow  # CI time (pytest -m slow runs it)
def test_distill_max_memory_same_dataset(tiny_recipe):
    """The chunk --max-memory picks (here 1 or 2 of a block of 8 or 4; measured on one
    device: 21 KB for chunk 1, 33 KB for 2, 106 KB for 8) leaves the dataset as it is."""
    free = hz.distill(tiny_recipe)
    tight = hz.distill(tiny_recipe, max_memory=30_000)
    np.testing.assert_array_equal(free.dataset.states, tight.dataset.states)


def test_cli_max_memory_errors(tmp_path):
    from hades_zoo.cli import cli

    recipe = "recipes/cartpole-R-2.yaml"
    res = CliRunner().invoke(cli, ["distill", recipe, "--out", str(tmp_path / "o"),
                                   "--max-memory", "lots"])
    assert res.exit_code == 1
    assert "MemoryBudgetError: cannot read memory size 'lots'" in res.output


def test_device_out_of_memory_becomes_a_memory_budget_error(tiny_recipe):
    """XLA's RESOURCE_EXHAUSTED (e.g. es.popsize=2**30) is a typed error naming the fix."""
    from hades_zoo.engine.memory import out_of_memory_as_budget_error
    from hades_zoo.errors import MemoryBudgetError

    class XlaRuntimeError(RuntimeError):
        pass

    @out_of_memory_as_budget_error
    def run(recipe):
        raise XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating "
                              "114000000000000 bytes.")

    with pytest.raises(MemoryBudgetError, match=r"es.popsize=8.*es.eval_chunk"):
        run(tiny_recipe)

    @out_of_memory_as_budget_error
    def other(recipe):
        raise XlaRuntimeError("INVALID_ARGUMENT: something else")

    with pytest.raises(XlaRuntimeError):
        other(tiny_recipe)
