"""Multi-task behaviour cloning (paper section 5.3): train ONE policy on a merged dataset
(``hades_zoo.zoo.multitask``), evaluate it in every env on that env's own protocol, beside
the right dataset (each dataset alone) and the wrong one (another env's dataset alone).

The numbers, their JSON and the figure are ``hades_zoo.zoo.multitask_result``
(``MultiTaskResult``, ``plot_multitask``, re-exported here).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.cache import use_compilation_cache
from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.engine.progress import Steps
from hades_zoo.errors import DatasetFormatError
from hades_zoo.zoo.multitask import MultiTaskDataset, merge
from hades_zoo.zoo.multitask_result import MultiTaskResult, plot_multitask

__all__ = ["multitask_recipe", "train_multitask", "evaluate_multitask", "MultiTaskResult",
           "run_multitask", "plot_multitask"]


# ---------------------------------------------------------------------- training
def multitask_recipe(mt: MultiTaskDataset, **overrides: Any):
    """The merged run's protocol: the first task's recipe with ``overrides``."""
    from hades_zoo.engine.evaluation import with_overrides

    recipe = with_overrides(mt.tasks[0].recipe, **overrides)
    same_dims = (len(set(np.asarray(mt.obs_dims).tolist())) == 1
                 and len(set(np.asarray(mt.act_dims).tolist())) == 1
                 and mt.layout == "shared")
    if recipe.policy.init_seed is not None and not same_dims:
        recipe = recipe.replace(policy=dataclasses.replace(recipe.policy, init_seed=None),
                                variant="R")
    return recipe


@dataclasses.dataclass(frozen=True)
class _PaddedPolicy:
    """A policy of the merged sizes seen from one env: pad obs, slice actions."""

    module: Any
    in_dim: int
    act_dim: int
    offset: int = 0

    @property
    def discrete(self) -> bool:
        return self.module.discrete

    def apply(self, params, x):
        pad = ([(0, 0)] * (x.ndim - 1)
               + [(self.offset, self.in_dim - self.offset - x.shape[-1])])
        out, log_std = self.module.apply(params, jnp.pad(x, pad))
        return out[..., : self.act_dim], (None if log_std is None
                                          else log_std[..., : self.act_dim])


def _bc_arrays(mt: MultiTaskDataset):
    """Targets (N, A), per-pair weights (N,) and per-target-dim mask (N, A)."""
    act_dims = np.asarray(mt.act_dims)[np.asarray(mt.task_ids)]
    a = int(np.max(np.asarray(mt.act_dims)))
    dim_mask = (np.arange(a)[None, :] < act_dims[:, None]).astype(np.float32)
    targets = (np.eye(a, dtype=np.float32)[np.asarray(mt.labels)] if mt.discrete
               else np.asarray(mt.actions, np.float32))
    return (jnp.asarray(targets), jnp.asarray(np.asarray(mt.mask), jnp.float32),
            jnp.asarray(dim_mask))


def _group_weights(mt: MultiTaskDataset, groups: Sequence[int | None]) -> np.ndarray:
    """(G, N) BC weights: the mask, restricted to one task's pairs for an int group."""
    mask = np.asarray(mt.mask, np.float32)
    ids = np.asarray(mt.task_ids)
    return np.stack([mask if g is None else mask * (ids == g) for g in groups])


def _make_train(mt: MultiTaskDataset, recipe):
    """``train(key, weights (N,)) -> (params, losses)``: one BC run (pure)."""
    import optax

    from hades_zoo.engine.bc import make_optimizer
    from hades_zoo.engine.policy import (
        fixed_init_params,
        init_policy_params,
        make_policy,
    )

    obs = int(np.asarray(mt.states).shape[1])
    a = int(np.max(np.asarray(mt.act_dims)))
    module = make_policy(recipe.policy, a, mt.discrete)
    fixed = (fixed_init_params(module, recipe.policy, obs)
             if recipe.policy.init_seed is not None else None)
    states = jnp.asarray(mt.states, jnp.float32)
    targets, _, dim_mask = _bc_arrays(mt)
    tx = make_optimizer(recipe.bc)

    def loss_fn(params, weights):
        out, log_std = module.apply(params, states)
        if mt.discrete:  # reference loss: mean over (real) actions of -log p * target
            logits = jnp.where(dim_mask > 0, out, -1e9)
            per = -jnp.sum(jax.nn.log_softmax(logits) * targets * dim_mask, -1) / \
                jnp.sum(dim_mask, -1)
        else:  # diagonal Gaussian NLL over each pair's own action dims
            z = (targets - out) * jnp.exp(-log_std)
            per = -jnp.sum((-0.5 * z**2 - log_std - 0.5 * jnp.log(2 * jnp.pi))
                           * dim_mask, -1)
        return jnp.sum(per * weights) / jnp.maximum(jnp.sum(weights), 1.0)

    grad_fn = jax.value_and_grad(loss_fn)

    def train(key, weights):
        params = fixed if fixed is not None else init_policy_params(module, key, obs)

        def update(carry, _):
            params, opt_state = carry
            loss, grads = grad_fn(params, weights)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(update, (params, tx.init(params)), None,
                                           recipe.bc.steps)
        return params, losses

    return train, module


def _train_groups(mt: MultiTaskDataset, recipe, groups: Sequence[int | None],
                  seeds: int, seed: int):
    """BC runs for each group (None: all pairs; j: task j's pairs only), one program.

    Returns ``(params, module, losses)``, params with leading axes (G, seeds,
    num_inits); every group uses the same keys.
    """
    train, module = _make_train(mt, recipe)
    k = recipe.num_inits
    keys = jax.random.split(jax.random.key(seed), seeds)
    weights = jnp.asarray(_group_weights(mt, groups))

    def per_seed(key, w):  # key structure of ControlTask.make_fitness_fn
        inits = jax.random.split(key, k)
        k_init = jax.vmap(lambda kk: jax.random.split(kk)[0])(inits)
        return jax.vmap(train, in_axes=(0, None))(k_init, w)

    per_group = jax.vmap(per_seed, in_axes=(None, 0))  # over groups
    params, losses = jax.jit(jax.vmap(per_group, in_axes=(0, None)))(keys, weights)
    swap = functools.partial(jnp.swapaxes, axis1=0, axis2=1)  # -> (G, seeds, ...)
    return jax.tree_util.tree_map(swap, params), module, swap(losses)


def train_multitask(mt: MultiTaskDataset, *, seeds: int = 1, seed: int = 0,
                    only_task: int | None = None, **overrides: Any):
    """Train ``seeds`` x ``num_inits`` policies on ``mt`` (module doc of ``multitask``).

    Args:
        mt: the merged dataset.
        seeds: BC seeds; seed: the first key (``jax.random.key(seed)`` split).
        only_task: train on this task's pairs only (the "wrong dataset" bar: its
            states stay in their merged input columns); None: all pairs.
        **overrides: ``width``, ``depth``, ``activation``, ``lr``, ``steps``.

    Returns:
        ``(params, module, recipe, losses)``: params with leading axes (seeds,
        num_inits), the flax module of the merged sizes, the protocol used, and the
        BC losses (seeds, num_inits, steps).

    Raises:
        DatasetFormatError: ``only_task`` is not a task index of ``mt``.
        RecipeError: an override out of range.
    """
    if only_task is not None and not (isinstance(only_task, int)
                                      and 0 <= only_task < mt.num_tasks):
        raise DatasetFormatError(
            f"only_task={only_task!r} is not a task of this merge; use 0..."
            f"{mt.num_tasks - 1} ({', '.join(mt.dataset_ids)}) or None for all pairs.")
    recipe = multitask_recipe(mt, **overrides)
    params, module, losses = _train_groups(mt, recipe, (only_task,), seeds, seed)
    return jax.tree_util.tree_map(lambda x: x[0], params), module, recipe, losses[0]


def _evaluate_in_env(mt: MultiTaskDataset, i: int, params, module, keys) -> np.ndarray:
    """(P,) returns in task i's env of P policy sets (params (P, num_inits, ...))."""
    from hades_zoo.engine.rollout import make_evaluate
    from hades_zoo.engine.tasks.control import ControlTask
    from hades_zoo.zoo.transfer import _pool

    k = jax.tree_util.tree_leaves(params)[0].shape[1]
    tmpl = mt.tasks[i]
    task = ControlTask(tmpl.recipe)
    padded = _PaddedPolicy(module, int(np.asarray(mt.states).shape[1]),
                           int(np.asarray(mt.act_dims)[i]), int(mt.offsets[i]))
    ev = make_evaluate(task.env, padded, tmpl.recipe.eval, tmpl.recipe.env.obs_norm)
    mean, var = task.norm_arrays(tmpl.obs_mean, tmpl.obs_var)

    def per_seed(key, p):
        k_eval = jax.vmap(lambda kk: jax.random.split(kk)[1])(jax.random.split(key, k))
        return _pool(jax.vmap(lambda kk, pp: ev(kk, pp, mean, var))(k_eval, p))

    return np.asarray(jax.jit(jax.vmap(per_seed))(keys, params))


def evaluate_multitask(mt: MultiTaskDataset, params, module, *, seed: int = 0
                       ) -> np.ndarray:
    """(tasks, seeds) returns: each task's env with its own dataset's eval protocol.

    Args:
        params: leading axes (seeds, num_inits), as ``train_multitask`` returns.
    """
    seeds = jax.tree_util.tree_leaves(params)[0].shape[0]
    keys = jax.random.split(jax.random.key(seed), seeds)
    return np.stack([_evaluate_in_env(mt, i, params, module, keys)
                     for i in range(mt.num_tasks)])


def run_multitask(datasets: Sequence[SyntheticDataset], *, seeds: int = 3, seed: int = 0,
                  baseline: bool = True, single_returns: dict | None = None,
                  layout: str = "disjoint", wrong: bool = True, **overrides: Any
                  ) -> MultiTaskResult:
    """The paper's multi-task comparison (Fig. 5): right, wrong and merged datasets.

    Merges ``datasets`` (``merge(layout=)``), then trains in one program the merged
    policy and, with ``wrong``, one policy per dataset on its pairs alone (same merged
    protocol and input layout), and evaluates, in every env i, the merged policy and
    the policies of the other datasets (one program per env). With ``baseline`` it
    also measures each dataset alone on its own protocol (the right dataset).

    Args:
        datasets: two or more datasets (one works too: no wrong bars).
        seeds: BC seeds (each pools ``num_inits`` runs); seed: first key.
        baseline: measure the right-dataset returns (the normaliser).
        single_returns: ``{dataset_id: (seeds,) returns}`` already measured with
            ``protocol_returns(ds, seeds=seeds, seed=seed)`` (e.g. a certificate with
            ``seed=0``); used instead of re-running that baseline.
        layout: ``"disjoint"`` (default) or ``"shared"`` (see ``merge``).
        wrong: measure the wrong-dataset bars (costs one extra evaluation per other
            dataset and env).
        **overrides: the merged run's ``width``, ``depth``, ``activation``, ``lr``,
            ``steps``.

    Returns:
        MultiTaskResult with returns (tasks, seeds) and, if asked, single (tasks,
        seeds) and wrong (tasks, tasks, seeds).

    Raises:
        DatasetFormatError: datasets that cannot be merged (``merge``).
        RecipeError: an override out of range.
    """
    import datetime as _dt

    from hades_zoo.data.recipe_io import recipe_to_dict
    from hades_zoo.engine.evaluation import protocol_returns
    from hades_zoo.zoo.certify import machine_description

    use_compilation_cache()
    t0 = time.perf_counter()
    mt = merge(datasets, layout=layout)
    t = mt.num_tasks
    recipe = multitask_recipe(mt, **overrides)
    groups: list[int | None] = [None] + (list(range(t)) if wrong and t > 1 else [])
    single_returns = single_returns or {}
    todo = ([i for i, ds in enumerate(datasets) if ds.dataset_id not in single_returns]
            if baseline else [])
    bar = Steps(f"{' + '.join(mt.dataset_ids)}: merged, {seeds} seeds",
                total=1 + t + len(todo))
    wrong_note = (f" + {len(groups) - 1} single-dataset (wrong)" if len(groups) > 1
                  else "")
    with bar.step(f"train the merged policy{wrong_note}: {seeds} seeds x "
                  f"{recipe.num_inits} inits, {recipe.bc.steps} BC steps"):
        params, module, _ = _train_groups(mt, recipe, groups, seeds, seed)
        jax.block_until_ready(params)
    keys = jax.random.split(jax.random.key(seed), seeds)
    returns = np.zeros((t, seeds))
    cross = np.full((t, t, seeds), np.nan) if len(groups) > 1 else None
    for i in range(t):
        # env i: the merged policy and the policies of every other dataset, stacked
        # on the seed axis so one compiled program evaluates them all
        others = [g for g in range(1, len(groups)) if groups[g] != i]
        sel = [0] + others
        stacked = jax.tree_util.tree_map(
            lambda x, sel=sel: x[np.asarray(sel)].reshape((-1, *x.shape[2:])), params)
        with bar.step(f"evaluate in {datasets[i].recipe.env.name} "
                      f"({mt.dataset_ids[i]}'s protocol): merged"
                      + (f" + {len(others)} wrong" if others else "")):
            out = _evaluate_in_env(mt, i, stacked, module, jnp.concatenate(
                [keys] * len(sel))).reshape(len(sel), seeds)
        returns[i] = out[0]
        for row, g in zip(out[1:], others, strict=True):
            cross[i, groups[g]] = row
    measured = {}
    for j in todo:
        with bar.step(f"right-dataset baseline: {datasets[j].dataset_id} alone, own "
                      "protocol"):
            measured[j] = protocol_returns(datasets[j], seeds=seeds, seed=seed)
    single = (np.stack([np.asarray(single_returns[ds.dataset_id]) if j not in measured
                        else measured[j] for j, ds in enumerate(datasets)]
                       ).astype(np.float64) if baseline else None)
    return MultiTaskResult(
        dataset_ids=mt.dataset_ids, returns=returns, single=single,
        recorded=tuple(ds.info.fitness for ds in datasets),
        recipe=recipe_to_dict(recipe), seconds=time.perf_counter() - t0,
        layout=mt.layout if t > 1 else layout, wrong=cross,
        obs_offsets=tuple(int(x) for x in mt.offsets),
        obs_dims=tuple(int(x) for x in np.asarray(mt.obs_dims)),
        act_dims=tuple(int(x) for x in np.asarray(mt.act_dims)),
        machine=machine_description(),
        date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
