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
- ``ES``: direct neuroevolution of the policy parameters (baseline).

Image recipes (``env.backend: image``) evolve ``states`` (the flattened images) with
fixed labels; their fitness is the CNN's loss on real training images
(``hades_zoo.engine.tasks.image``), already a quantity to minimise, so it reaches evosax
unchanged and the metrics report losses (``mean_loss`` ...) and accuracy.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.data.recipe import Recipe
from hades_zoo.data.recipe_io import recipe_to_json
from hades_zoo.engine.checkpoint import load_checkpoint, save_checkpoint
from hades_zoo.engine.parallel import (
    global_mesh,
    is_writer,
    jit_generations,
    local_copy,
    make_population_evaluator,
    replicate,
    restore_on_every_process,
)
from hades_zoo.engine.tasks.control import ControlTask, to_es_fitness
from hades_zoo.errors import RecipeError

__all__ = ["distill", "DistillResult", "DistillState", "make_strategy", "make_generation_fn",
           "snes_temperature_weights"]

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


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


def make_strategy(recipe: Recipe, solution: Any):
    """The evosax 0.3 strategy and its params for ``recipe.es``."""
    from evosax.algorithms import SNES, Open_ES

    es_cfg = recipe.es
    lrate = (es_cfg.lrate_init if es_cfg.lrate_decay == 1.0
             else optax.exponential_decay(es_cfg.lrate_init, 1, es_cfg.lrate_decay))
    if es_cfg.strategy == "OpenES":
        if es_cfg.sigma_decay == 1.0:
            std_schedule = optax.constant_schedule(es_cfg.sigma_init)
        else:
            std_schedule = optax.exponential_decay(
                es_cfg.sigma_init, 1, es_cfg.sigma_decay,
                end_value=es_cfg.sigma_limit or None)
        es = Open_ES(es_cfg.popsize, solution, use_antithetic_sampling=True,
                     optimizer=optax.adam(lrate), std_schedule=std_schedule)
        return es, es.default_params
    es = SNES(es_cfg.popsize, solution)
    params = es.default_params.replace(std_init=jnp.asarray(es_cfg.sigma_init))
    if es_cfg.temperature > 0:
        params = params.replace(weights=snes_temperature_weights(es_cfg.popsize,
                                                                 es_cfg.temperature))
    return es, params


def snes_temperature_weights(popsize: int, temperature: float) -> jax.Array:
    """evosax 0.1 SNES "temperature" weights, used by the published MinAtar runs.

    ``softmax(-temperature * (rank / (popsize - 1) - 0.5))`` over fitness ranks (rank 0
    = best), positive and summing to 1, instead of SNES's log-rank utilities with a
    baseline. evosax 0.3 indexes ``params.weights`` by rank the same way.
    """
    ranks = jnp.arange(popsize) / max(popsize - 1, 1) - 0.5
    return jax.nn.softmax(-temperature * ranks)


def make_generation_fn(recipe: Recipe, es, es_params, fitness_fn: Callable,
                       mesh: Mesh, eval_chunk: int | None = None
                       ) -> Callable[[DistillState, Any], tuple[DistillState, dict]]:
    """One pure generation: ask -> fitness over the (sharded) population -> tell.

    ``eval_chunk`` (candidates evaluated at once per device; default
    ``recipe.es.eval_chunk``) bounds memory without changing the results.
    """
    replicated = NamedSharding(mesh, P())
    chunk = recipe.es.eval_chunk if eval_chunk is None else eval_chunk
    evaluate_population = make_population_evaluator(fitness_fn, mesh, recipe.es.popsize,
                                                    chunk)

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
                "mean_loss": jnp.mean(returns),
                "min_loss": jnp.min(returns),
                "max_loss": jnp.max(returns),
                "std_loss": jnp.std(returns),
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
            "sigma": jnp.mean(es_state.std),
        }
        return DistillState(es_state, key), metrics

    return generation


def _initial_solution(recipe: Recipe, task: ControlTask, key: jax.Array) -> Any:
    if recipe.image is not None:
        return {"states": jnp.asarray(task.initial_states)}
    if recipe.variant == "ES":
        return task.init_params(key)
    sol = task.solution_template()
    if recipe.dataset.init_std > 0:
        keys = jax.random.split(key, len(sol))
        sol = {name: recipe.dataset.init_std * jax.random.normal(k, a.shape)
               for k, (name, a) in zip(keys, sorted(sol.items()))}
    return sol


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
    eval_chunk: int | None = None,
    max_memory: int | str | None = None,
) -> DistillResult:
    """Run a recipe: evolve a dataset (or policy, for ``ES``) and return it.

    Args:
        recipe: the run's full config (validated here).
        out_dir: where to write ``metrics.jsonl`` and checkpoints (and resume from).
        progress_fn: called as ``progress_fn(generation, metrics)`` after each chunk.
        resume: continue from ``out_dir``'s checkpoint when it has one.
        obs_mean, obs_var: constant normalisation statistics (``obs_norm: const``).
        max_generations: stop after this many generations in total (for tests and for
            splitting a long run); the checkpoint allows resuming later.
        data_dir, image_split, image_limit: image recipes only: where the real
            images are (``hades_zoo.engine.image_data``), the split the fitness is measured
            on (default ``image.fitness_split``; e.g. ``train5k`` for MNIST offline)
            and how many of its images to use (default all).
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
        RecipeError: an invalid recipe or ``eval_chunk``, or const normalisation
            without statistics.
        MemoryBudgetError: ``max_memory`` is malformed or smaller than the smallest
            chunk needs.
        DatasetFormatError: ``out_dir`` holds a corrupt checkpoint or another recipe's.
    """
    recipe.validate()
    if recipe.env.obs_norm == "const" and (obs_mean is None or obs_var is None):
        raise RecipeError(
            "env.obs_norm is 'const' but no obs_mean/obs_var were given; pass the "
            "normalisation statistics (hades_zoo.data.normalization.load_stats(env))."
        )
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

    out = Path(out_dir) if out_dir is not None else None
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
            metrics_rows = _read_metrics(out / METRICS_FILE)[:start] if start else []
            _write_metrics(out / METRICS_FILE, metrics_rows)

    def make_run_chunk(chunk):
        return jit_generations(
            make_generation_fn(recipe, es, es_params, fitness_fn, mesh, chunk), mesh)

    if max_memory is not None:
        from hades_zoo.engine.memory import choose_eval_chunk

        eval_chunk = choose_eval_chunk(lambda c: make_run_chunk(c).lower(state, 1),
                                       recipe.es.popsize, mesh.size, max_memory).chunk
    run_chunk = make_run_chunk(eval_chunk)

    total = recipe.es.generations if max_generations is None else min(
        max_generations, recipe.es.generations)
    gen = start
    while gen < total:
        # Chunks end on multiples of log_every, so a resumed run chunks identically.
        length = min(recipe.es.log_every - gen % recipe.es.log_every, total - gen)
        state, metrics = run_chunk(state, length)
        rows = _metric_rows(local_copy(metrics), gen)
        gen += length
        metrics_rows.extend(rows)
        if out is not None and writer:
            _append_metrics(out / METRICS_FILE, rows)
            save_checkpoint(out, local_copy(state), generation=gen, recipe_json=recipe_json)
        if progress_fn is not None:
            progress_fn(gen, rows[-1])

    mean = local_copy(es.get_mean(state.es_state))
    last = metrics_rows[-1] if metrics_rows else {}
    if recipe.variant == "ES":
        return DistillResult(None, mean, metrics_rows, gen)
    ds = solution_to_dataset(recipe, task, mean, obs_mean, obs_var, last, gen)
    return DistillResult(ds, None, metrics_rows, gen)


def _image_task(recipe: Recipe, data_dir, split: str | None, limit: int | None):
    """An ImageTask with the real fitness images and the ES start attached."""
    from hades_zoo.engine.image_data import load_split
    from hades_zoo.engine.tasks.image import ImageTask, class_mean_images

    task = ImageTask(recipe)
    img = recipe.image
    data = load_split(recipe.env.name, split or img.fitness_split, data_dir=data_dir,
                      limit=limit)
    task.real_pixels = data.pixels(img.normalize)
    task.real_labels = data.labels
    d = recipe.dataset.size
    task.initial_states = (
        class_mean_images(task.real_pixels, data.labels, d, img.num_classes)
        if img.init_mode == "mean" else np.zeros((d, img.num_pixels), np.float32))
    task.data_name = data.name
    return task


def solution_to_dataset(recipe: Recipe, task: ControlTask, solution: dict[str, Any],
                        obs_mean, obs_var, last_metrics: dict[str, float],
                        generations: int) -> SyntheticDataset:
    """Wrap an ES mean into a ``SyntheticDataset`` with its protocol and provenance."""
    from importlib import metadata

    arrays = {k: np.asarray(v, np.float32) for k, v in solution.items()}
    if recipe.image is not None:
        arrays["labels"] = task.labels
    else:
        arrays.update(task.static_arrays())
    if recipe.env.obs_norm == "const":
        arrays["obs_mean"] = np.asarray(obs_mean, np.float32)
        arrays["obs_var"] = np.asarray(obs_var, np.float32)
    provenance = {
        "source": "hades_zoo distill",
        "generations": generations,
        "hades_zoo_version": metadata.version("hades_zoo"),
        "last_generation": last_metrics,
    }
    image = recipe.image is not None
    if image:
        provenance["fitness_images"] = task.data_name
    info = DatasetInfo(
        dataset_id=recipe.name,
        fitness=last_metrics.get("mean_loss" if image else "mean_return"),
        fitness_kind="final_population_mean_loss" if image
        else "final_population_mean_return",
        provenance_json=json.dumps(provenance, sort_keys=True),
    )
    return SyntheticDataset(**arrays, recipe=recipe, info=info).validate()


def _metric_rows(metrics: dict[str, jax.Array], first_gen: int) -> list[dict[str, float]]:
    host = {k: np.asarray(v) for k, v in metrics.items()}
    n = len(next(iter(host.values())))
    rows = []
    for i in range(n):
        row = {"generation": first_gen + i + 1}
        for k, v in host.items():
            x = float(v[i])
            row[k] = x if math.isfinite(x) else None
        rows.append(row)
    return rows


def _read_metrics(path: Path) -> list[dict[str, float]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    from hades_zoo.data.cache import atomic_write_bytes

    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def _append_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    with path.open("a") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
