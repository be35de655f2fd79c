"""The HaDES engine: evolve a synthetic dataset (or, for the baseline, policy weights).

One generation is one pure function: ``ask`` (evosax 0.3) -> ``vmap(fitness)`` over
the population -> ``tell``. ``log_every`` generations run inside one jitted
``lax.scan``; a host loop over chunks reports progress, appends one JSON line of
metrics per generation and writes a checkpoint, so ``resume`` continues exactly where
a run stopped. The population axis is sharded over every device of every process
(mesh ``("pop",)``, padded to a multiple of the device count; ``engine.parallel``);
one device is a mesh of size 1, the same code path. Under ``jax.distributed`` only
process 0 writes files.

Variants (Lupu et al., "Behaviour Distillation", ICLR 2024):

- ``F`` (HaDES-F): every candidate is trained from one fixed init;
- ``R`` (HaDES-R): ``num_inits`` fresh inits per generation;
- ``RR`` (HaDES-RR, the paper's section 5.2 suggestion): as ``R``, and every BC run
  also draws its width, depth, activation, BC lr and BC steps from the recipe's
  ``inner_loop`` ranges (``engine.randomised``; one compiled program for all draws);
- ``ES``: direct neuroevolution of the policy parameters (baseline).

Image recipes (``env.backend: image``) evolve ``states`` (the flattened images) with
fixed labels; their fitness is the CNN's loss on real training images
(``hades_zoo.engine.tasks.image``), already a quantity to minimise, so it reaches evosax
unchanged and the metrics report losses (``mean_loss`` ...) and accuracy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import numbers
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.paths import child_path
from hades_zoo.data.recipe import Recipe
from hades_zoo.data.recipe_io import recipe_to_json
from hades_zoo.engine.checkpoint import check_finite_state, load_checkpoint, save_checkpoint
from hades_zoo.engine.envs import provider_for
from hades_zoo.engine.memory import out_of_memory_as_budget_error
from hades_zoo.engine.parallel import (
    global_mesh,
    is_writer,
    jit_generations,
    local_copy,
    make_population_evaluator,
    replicate,
    restore_on_every_process,
)
from hades_zoo.engine.run_files import (
    METRICS_FILE,
    POLICY_FILE,
    CheckpointEvent,
    append_metrics,
    metric_rows,
    read_metrics,
    save_policy_params,
    solution_to_dataset,
    write_metrics,
)
from hades_zoo.engine.run_folder import deferred_interrupts, hold_run_folder, stop_requests
from hades_zoo.engine.strategy import make_strategy, snes_temperature_weights
from hades_zoo.engine.tasks.control import ControlTask, to_es_fitness
from hades_zoo.errors import RecipeError

__all__ = ["distill", "DistillResult", "DistillState", "CheckpointEvent", "make_strategy",
           "make_generation_fn", "make_population_fitness", "snes_temperature_weights", "save_policy_params"]

log = logging.getLogger(__name__)


@struct.dataclass
class DistillState:
    """Carry of the generation scan: ES state and the run's key."""

    es_state: Any
    key: jax.Array


@dataclasses.dataclass(frozen=True)
class DistillResult:
    """Outcome of ``distill``.

    Attributes:
        dataset: the distilled dataset (the ES mean); None for the ``ES`` baseline.
        policy_params: the evolved policy params (``ES`` baseline only).
        metrics: one dict per generation (natural-sign returns).
        generations: generations completed.
    """

    dataset: SyntheticDataset | None
    policy_params: Any
    metrics: list[dict[str, float]]
    generations: int


def make_population_fitness(recipe: Recipe, fitness_fn: Callable, mesh: Mesh,
                            eval_chunk: int | None = None
                            ) -> Callable[[jax.Array, Any], tuple[jax.Array, Any]]:
    """``population_fitness(key, population) -> (fitness (pop,), aux)``, sharded.

    ``engine.parallel.make_population_evaluator`` with the recipe's settings: every
    candidate gets the same key when ``eval.common_random_numbers`` (same BC inits, env
    resets and action noise), else one key each; each device evaluates its block of
    candidates (``shard_map``), so with the ``episodes`` eval protocol a device stops
    when its candidates' episodes have ended; ``es.eval_chunk`` (or ``eval_chunk``)
    candidates at a time (``lax.map``; 1 = every candidate stops on its own).
    """
    crn = recipe.image is not None or recipe.eval.common_random_numbers
    chunk = recipe.es.eval_chunk if eval_chunk is None else eval_chunk
    return make_population_evaluator(fitness_fn, mesh, recipe.es.popsize, chunk,
                                     common_random_numbers=crn)


def make_generation_fn(recipe: Recipe, es, es_params, fitness_fn: Callable,
                       mesh: Mesh, eval_chunk: int | None = None
                       ) -> Callable[[DistillState, Any], tuple[DistillState, dict]]:
    """One pure generation: ask -> fitness over the (sharded) population -> tell.

    ``eval_chunk`` (candidates evaluated at once per device; default
    ``recipe.es.eval_chunk``) bounds memory without changing the results.
    """
    replicated = NamedSharding(mesh, P())
    evaluate_population = make_population_fitness(recipe, fitness_fn, mesh, eval_chunk)

    image = recipe.image is not None

    def generation(state: DistillState, _):
        key, k_ask, k_eval, k_tell = jax.random.split(state.key, 4)
        population, es_state = es.ask(k_ask, state.es_state, es_params)
        # ask and tell run replicated, as on one device: a tell partitioned over "pop"
        # would sum over the candidates in another order (another dataset).
        population = jax.lax.with_sharding_constraint(
            population, jax.tree.map(lambda _: replicated, population))
        returns, aux = evaluate_population(k_eval, population)
        if image:  # a loss: evosax minimises it as it is
            es_state, _ = es.tell(k_tell, population, returns, es_state, es_params)
            return DistillState(es_state, key), {
                "mean_loss": jnp.mean(returns), "min_loss": jnp.min(returns),
                "max_loss": jnp.max(returns), "std_loss": jnp.std(returns),
                "best_loss_so_far": es_state.best_fitness,
                "accuracy": jnp.mean(aux["accuracy"]),
                "bc_loss": jnp.mean(aux["bc_loss"]),
                "sigma": jnp.mean(es_state.std),
            }
        es_state, _ = es.tell(k_tell, population, to_es_fitness(returns), es_state, es_params)
        metrics = {
            "mean_return": jnp.mean(returns),
            "max_return": jnp.max(returns),
            "min_return": jnp.min(returns),
            "std_return": jnp.std(returns),
            "best_return_so_far": -es_state.best_fitness,
            "bc_loss": jnp.mean(aux["bc_loss"]),
            "episodes": jnp.mean(aux["episodes"].astype(jnp.float32)),
            "env_steps": jnp.sum(aux["env_steps"]),
            "sigma": jnp.mean(es_state.std),
        }
        return DistillState(es_state, key), metrics

    return generation


def _initial_solution(recipe: Recipe, task: ControlTask, key: jax.Array) -> Any:
    if recipe.image is not None:
        return task.initial_solution()
    if recipe.variant == "ES":
        return task.init_params(key)
    sol = task.solution_template()
    if recipe.dataset.init_std > 0:
        keys = jax.random.split(key, len(sol))
        sol = {name: recipe.dataset.init_std * jax.random.normal(k, a.shape)
               for k, (name, a) in zip(keys, sorted(sol.items()))}
    return sol


@out_of_memory_as_budget_error
def distill(
    recipe: Recipe,
    *,
    out_dir: str | Path | None = None,
    progress_fn: Callable[[int, dict[str, float]], None] | None = None,
    resume: bool = True,
    obs_mean: np.ndarray | None = None,
    obs_var: np.ndarray | None = None,
    max_generations: int | None = None,
    data_dir: str | Path | None = None,
    image_split: str | None = None,
    image_limit: int | None = None,
    on_checkpoint: Callable[[CheckpointEvent], None] | None = None,
    overrides: Sequence[str] = (),
    max_env_steps: float | None = None,
    eval_chunk: int | None = None,
    max_memory: int | str | None = None,
) -> DistillResult:
    """Run a recipe: evolve a dataset (or policy, for ``ES``) and return it.

    With ``out_dir``, every chunk of ``es.log_every`` generations appends its rows to
    ``metrics.jsonl``, writes the checkpoint and writes the current ES mean as a
    usable result (``<name>.safetensors``, or ``policy.safetensors`` for ``ES``), so a
    run stopped at any point leaves a dataset. SIGINT / SIGTERM wait until a chunk's
    files are written, and ``out_dir/.lock`` keeps a second run out of the folder
    (``engine.run_folder``). Each metrics row also carries the
    cumulative ``wall_seconds`` and ``env_steps_total`` of the run, across resumes.

    Args:
        recipe: the run's full config (validated here).
        out_dir: where to write ``metrics.jsonl``, checkpoints and the current result
            (and resume from).
        progress_fn: called as ``progress_fn(generation, metrics)`` after each chunk.
        resume: continue from ``out_dir``'s checkpoint when it has one.
        obs_mean, obs_var: constant normalisation statistics (``obs_norm: const``).
        max_generations: stop after this many generations in total (for tests and for
            splitting a long run); the checkpoint allows resuming later.
        data_dir, image_split, image_limit: image recipes only: where the real
            images are (``hades_zoo.engine.image_data``), the split the fitness is measured
            on (default ``image.fitness_split``; e.g. ``train5k`` for MNIST offline)
            and how many of its images to use (default all).
        on_checkpoint: called after each chunk's metrics and checkpoint are written
            (``out_dir`` only) with a ``CheckpointEvent``; when given, it writes the
            dataset (distill then does not): the CLI's ``write_entry`` writes it with
            its sidecar and card as one step.
        overrides: the ``--set`` strings the recipe was built with, recorded in the
            dataset's provenance.
        max_env_steps: also stop after the chunk in which the run's simulated env
            steps reach this budget (the ES baseline is given the env steps of the
            HaDES run it is compared with).
        eval_chunk: candidates evaluated at once per device (overrides
            ``recipe.es.eval_chunk``, which stays in the recipe and its metadata).
        max_memory: per-device budget (bytes, or a size such as ``"8GiB"``): pick the
            largest ``eval_chunk`` whose compiled generation fits it
            (``engine.memory.choose_eval_chunk``).

    Under ``jax.distributed`` every process calls ``distill`` with the same arguments;
    the population is sharded over all their devices and only process 0 writes
    ``out_dir``; the other processes' ``metrics`` hold the generations run in this
    launch only.

    Returns:
        DistillResult with the dataset (ES mean), per-generation metrics and count.

    Raises:
        RecipeError: an invalid recipe, ``eval_chunk`` or ``max_env_steps`` (NaN,
            < 1), or const normalisation without statistics.
        MemoryBudgetError: ``max_memory`` is malformed or smaller than the smallest
            chunk needs.
        DatasetFormatError: ``out_dir`` holds a corrupt checkpoint.
        RecipeMismatchError: ``out_dir``'s checkpoint was written by another recipe
            (also a ``DatasetFormatError``); the message names the differing fields.
        RunFolderBusyError: another process is writing ``out_dir``
            (``engine.run_folder``: ``out_dir/.lock``); NotARunFolderError: it
            holds other files and no checkpoint (refused before any work).
        EnvError: the recipe's env, backend (``MissingEnvProviderError``) or shim is
            unknown, checked before ``out_dir`` is touched.
    """
    recipe.validate()
    if max_env_steps is not None and not (isinstance(max_env_steps, numbers.Real)
                                          and max_env_steps >= 1):  # NaN fails too
        raise RecipeError(f"max_env_steps must be a number >= 1 (or None: no budget), "
                          f"got {max_env_steps!r}.")
    provider_for(recipe.env)  # an unknown env or provider touches no folder
    if recipe.env.obs_norm == "const" and (obs_mean is None or obs_var is None):
        raise RecipeError(
            "env.obs_norm is 'const' but no obs_mean/obs_var were given; pass the "
            "normalisation statistics (hades_zoo.data.normalization.load_stats(env))."
        )
    out = Path(out_dir) if out_dir is not None else None
    with (hold_run_folder(out, command=f"hades-zoo distill {recipe.name} --out {out}",
                          new_or_run=True)
          if out is not None and is_writer() else contextlib.nullcontext()), \
            stop_requests() as stops:
        return _distill(recipe, out, stops=stops, progress_fn=progress_fn, resume=resume,
                        obs_mean=obs_mean, obs_var=obs_var,
                        max_generations=max_generations, data_dir=data_dir,
                        image_split=image_split, image_limit=image_limit,
                        on_checkpoint=on_checkpoint, overrides=overrides,
                        max_env_steps=max_env_steps, eval_chunk=eval_chunk,
                        max_memory=max_memory)


def _distill(recipe: Recipe, out: Path | None, *, stops, progress_fn, resume, obs_mean, obs_var,
             max_generations, data_dir, image_split, image_limit, on_checkpoint,
             overrides, max_env_steps, eval_chunk, max_memory) -> DistillResult:
    """``distill``'s body, run while the caller holds ``out``'s lock."""
    mesh = global_mesh()
    if recipe.image is not None:
        task = _image_task(recipe, data_dir, image_split, image_limit)
        fitness_fn = task.make_fitness_fn(task.real_pixels, task.real_labels)
    else:
        task = ControlTask(recipe)
        fitness_fn = task.make_fitness_fn(obs_mean, obs_var)
    recipe_json = recipe_to_json(recipe)

    key = jax.random.key(recipe.seed)
    key, k_init, k_sol = jax.random.split(key, 3)
    solution = _initial_solution(recipe, task, k_sol)
    es, es_params = make_strategy(recipe, solution)
    state = DistillState(es.init(k_init, solution, es_params), key)
    state = replicate(state, mesh)

    writer = is_writer()
    start = 0
    metrics_rows: list[dict[str, float]] = []
    if out is not None:
        restored = restore_on_every_process(
            lambda: load_checkpoint(out, state, recipe_json=recipe_json)
            if resume and out.exists() else None, state)
        if restored is not None:
            state, start = restored
            state = replicate(state, mesh)
            log.info("resuming %s at generation %d", recipe.name, start)
        if writer:
            out.mkdir(parents=True, exist_ok=True)
            metrics_rows = read_metrics(out / METRICS_FILE)[:start] if start else []
            write_metrics(out / METRICS_FILE, metrics_rows)

    def make_run_chunk(chunk):
        return jit_generations(
            make_generation_fn(recipe, es, es_params, fitness_fn, mesh, chunk), mesh)

    if max_memory is not None:
        from hades_zoo.engine.memory import choose_eval_chunk

        eval_chunk = choose_eval_chunk(lambda c: make_run_chunk(c).lower(state, 1),
                                       recipe.es.popsize, mesh.size, max_memory).chunk
    run_chunk = make_run_chunk(eval_chunk)

    def current_result(state, last, gen):
        mean = local_copy(es.get_mean(state.es_state))
        if recipe.variant == "ES":
            return mean, None
        return mean, solution_to_dataset(recipe, task, mean, obs_mean, obs_var, last, gen,
                                         overrides=overrides)

    def write_result(state, last, gen, wall, finished):
        """The current ES mean as the run's result file, then the on_checkpoint hook.

        With a hook the dataset is the hook's to write (the CLI's ``write_entry``
        writes it with its sidecar and card as one step): written once, not twice.
        """
        params, ds = current_result(state, last, gen)
        if ds is None:
            save_policy_params(params, out / POLICY_FILE)
        elif on_checkpoint is None:
            ds.save(child_path(out, recipe.name, suffix=".safetensors",
                               what="recipe name"))
        if on_checkpoint is not None:
            on_checkpoint(CheckpointEvent(gen, total, ds, params, tuple(metrics_rows),
                                          wall, finished))

    total = recipe.es.generations if max_generations is None else min(
        max_generations, recipe.es.generations)
    if start > recipe.es.generations:
        raise RecipeError(
            f"the checkpoint in {out} is at generation {start}, past "
            f"es.generations={recipe.es.generations}; set es.generations >= {start} to "
            "extend it, or pass --no-resume to start over."
        )
    gen = start
    wall0 = time.perf_counter() - (metrics_rows[-1].get("wall_seconds") or 0.0
                                   if metrics_rows else 0.0)
    steps_total = (metrics_rows[-1].get("env_steps_total") or 0.0) if metrics_rows else 0.0
    while gen < total and (max_env_steps is None or steps_total < max_env_steps):
        # Chunks end on multiples of log_every, so a resumed run chunks identically.
        length = min(recipe.es.log_every - gen % recipe.es.log_every, total - gen)
        state, metrics = run_chunk(state, length)
        rows = metric_rows(local_copy(metrics), gen)
        wall = time.perf_counter() - wall0
        for i, row in enumerate(rows):
            steps_total += row.get("env_steps") or 0.0
            row["env_steps_total"] = steps_total
            row["wall_seconds"] = round(wall, 2) if i == len(rows) - 1 else None
        gen += length
        metrics_rows.extend(rows)
        if out is not None and writer:
            check_finite_state(out, host := local_copy(state), generation=gen)  # NaN: write none
            with deferred_interrupts():  # Ctrl-C stops between whole checkpoints
                append_metrics(out / METRICS_FILE, rows)
                save_checkpoint(out, host, generation=gen, recipe_json=recipe_json)
                write_result(state, rows[-1], gen, wall, gen >= total)
        if progress_fn is not None:
            progress_fn(gen, rows[-1])
        stops.check()  # a Ctrl-C that landed in a gc callback was swallowed: stop here

    last = metrics_rows[-1] if metrics_rows else {}
    params, ds = current_result(state, last, gen)
    if out is not None and writer and gen == start and start > 0:
        # Nothing left to run (a finished run, or one closed with fewer
        # generations): rewrite the result files for the recipe as it now stands.
        with deferred_interrupts():
            write_result(state, last, gen, float(last.get("wall_seconds") or 0.0), True)
    if recipe.variant == "ES":
        return DistillResult(None, params, metrics_rows, gen)
    return DistillResult(ds, None, metrics_rows, gen)


def _image_task(recipe: Recipe, data_dir, split: str | None, limit: int | None):
    """An ImageTask with the real fitness images and the ES start attached."""
    from hades_zoo.engine.image_data import load_split
    from hades_zoo.engine.tasks.image import ImageTask

    task = ImageTask(recipe)
    img = recipe.image
    if limit is None and img.fitness_limit:
        limit = img.fitness_limit
    data = load_split(recipe.env.name, split or img.fitness_split, data_dir=data_dir,
                      limit=limit)
    task.set_real_images(data.pixels(img.normalize), data.labels)
    task.data_name = data.name
    return task
