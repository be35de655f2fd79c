"""Shared by the benchmarks: one HaDES generation of a recipe, built as ``distill`` builds
it (same fitness, strategy, population evaluator and jitted ``lax.scan`` chunk), plus
process memory readings. Not a benchmark itself.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import sys


def machine() -> str:
    """CPU model, cores, RAM and the JAX devices, in one line."""
    import platform

    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        ram = float("nan")
    devs = jax.devices()
    return (f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; jax {jax.__version__}, "
            f"{len(devs)} x {devs[0].device_kind} ({devs[0].platform})")


def load(path: str):
    """A recipe from YAML (relative paths from the repository root)."""
    from hades_zoo.data.recipe_io import load_recipe

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return load_recipe(path if os.path.isabs(path) else os.path.join(root, path))


def shrink(recipe, *, popsize=None, width=None, variant=None, bc_steps=None,
           env_steps=None, num_envs=None):
    """The recipe with the given fields replaced (None keeps the recipe's value)."""
    r = recipe
    if popsize is not None:
        r = r.replace(es=dataclasses.replace(r.es, popsize=popsize, eval_chunk=0))
    if width is not None:
        r = r.replace(policy=dataclasses.replace(r.policy, width=width))
    if variant == "ES":
        r = r.replace(variant="ES", num_inits=1)
    elif variant == "F":
        r = r.replace(variant="F", num_inits=1,
                      policy=dataclasses.replace(r.policy, init_seed=r.policy.init_seed or 420))
    if bc_steps is not None:
        r = r.replace(bc=dataclasses.replace(r.bc, steps=bc_steps))
    if env_steps is not None or num_envs is not None:
        r = r.replace(eval=dataclasses.replace(
            r.eval, num_steps=env_steps or r.eval.num_steps,
            num_envs=num_envs or r.eval.num_envs))
    return r.validate()


def build(recipe, eval_chunk: int = 0):
    """``(run, state, mesh)``, where ``run`` is what ``distill`` runs:
    ``run(state, length) -> (state, metrics)``, ``length`` generations in one jitted
    ``lax.scan`` (state donated). ``run.lower(state, 1).compile()`` is one generation,
    called as ``compiled(state)``; its ``memory_analysis()`` is the compiled memory."""
    import jax

    from hades_zoo.data.normalization import load_stats
    from hades_zoo.engine import distill as engine
    from hades_zoo.engine.parallel import global_mesh, jit_generations, replicate
    from hades_zoo.engine.tasks.control import ControlTask

    mean = var = None
    if recipe.env.obs_norm == "const":
        mean, var = load_stats(recipe.env.name)
    task = ControlTask(recipe)
    fitness = task.make_fitness_fn(mean, var)
    mesh = global_mesh()
    key = jax.random.key(recipe.seed)
    key, k_init, k_sol = jax.random.split(key, 3)
    solution = engine._initial_solution(recipe, task, k_sol)
    es, params = engine.make_strategy(recipe, solution)
    state = replicate(engine.DistillState(es.init(k_init, solution, params), key), mesh)
    gen = engine.make_generation_fn(recipe, es, params, fitness, mesh, eval_chunk)
    return jit_generations(gen, mesh), state, mesh


def max_rss_bytes() -> int:
    """Peak resident set size of this process so far (``getrusage`` ``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def rss_bytes() -> int:
    """Current resident set size (``/proc/self/statm``), 0 where unavailable."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def env_steps_per_generation(recipe) -> int:
    """Env steps one generation simulates: popsize x num_inits x envs x steps."""
    return (recipe.es.popsize * recipe.num_inits * recipe.eval.num_envs
            * recipe.eval.num_steps)
