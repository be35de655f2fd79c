"""Multi-task behaviour cloning (paper section 5.3): train ONE policy on a merged dataset
(``hades_zoo.zoo.multitask``), evaluate it in every env on that env's own protocol, and
plot the normalised returns against the single-task datasets.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.zoo.multitask import MultiTaskDataset, merge

__all__ = ["multitask_recipe", "train_multitask", "evaluate_multitask", "MultiTaskResult", "run_multitask", "plot_multitask"]


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


def _make_train(mt: MultiTaskDataset, recipe):
    """``train(key) -> (params, losses)``: one BC run on the merged pairs (pure)."""
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
    targets, weights, dim_mask = _bc_arrays(mt)
    tx = make_optimizer(recipe.bc)

    def loss_fn(params):
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

    def train(key):
        params = fixed if fixed is not None else init_policy_params(module, key, obs)

        def update(carry, _):
            params, opt_state = carry
            loss, grads = grad_fn(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(update, (params, tx.init(params)), None,
                                           recipe.bc.steps)
        return params, losses

    return train, module


def train_multitask(mt: MultiTaskDataset, *, seeds: int = 1, seed: int = 0,
                    **overrides: Any):
    """Train ``seeds`` x ``num_inits`` policies on ``mt`` (module doc).

    Returns:
        ``(params, module, recipe, losses)``: params with leading axes (seeds,
        num_inits), the flax module of the merged sizes, the protocol used, and the
        BC losses (seeds, num_inits, steps).
    """
    recipe = multitask_recipe(mt, **overrides)
    train, module = _make_train(mt, recipe)
    k = recipe.num_inits
    keys = jax.random.split(jax.random.key(seed), seeds)

    def per_seed(key):  # key structure of ControlTask.make_fitness_fn
        inits = jax.random.split(key, k)
        k_init = jax.vmap(lambda kk: jax.random.split(kk)[0])(inits)
        return jax.vmap(train)(k_init)

    params, losses = jax.jit(jax.vmap(per_seed))(keys)
    return params, module, recipe, losses


def evaluate_multitask(mt: MultiTaskDataset, params, module, *, seed: int = 0
                       ) -> np.ndarray:
    """(tasks, seeds) returns: each task's env with its own dataset's eval protocol."""
    from hades_zoo.engine.rollout import make_evaluate
    from hades_zoo.engine.tasks.control import ControlTask
    from hades_zoo.zoo.transfer import _pool

    seeds = jax.tree_util.tree_leaves(params)[0].shape[0]
    k = jax.tree_util.tree_leaves(params)[0].shape[1]
    keys = jax.random.split(jax.random.key(seed), seeds)
    obs = int(np.asarray(mt.states).shape[1])
    out = []
    for i, tmpl in enumerate(mt.tasks):
        task = ControlTask(tmpl.recipe)
        padded = _PaddedPolicy(module, obs, int(np.asarray(mt.act_dims)[i]),
                               int(mt.offsets[i]))
        ev = make_evaluate(task.env, padded, tmpl.recipe.eval, tmpl.recipe.env.obs_norm)
        mean, var = task.norm_arrays(tmpl.obs_mean, tmpl.obs_var)

        def per_seed(key, p, ev=ev, mean=mean, var=var):
            k_eval = jax.vmap(lambda kk: jax.random.split(kk)[1])(jax.random.split(key, k))
            return _pool(jax.vmap(lambda kk, pp: ev(kk, pp, mean, var))(k_eval, p))

        out.append(np.asarray(jax.jit(jax.vmap(per_seed))(keys, params)))
    return np.stack(out)


@dataclasses.dataclass(frozen=True)
class MultiTaskResult:
    """Multi-task returns per env, beside single-task returns and records.

    Attributes:
        dataset_ids: the merged datasets, in order.
        returns: (tasks, seeds) multi-task protocol returns.
        single: (tasks, seeds) single-task protocol returns, or None.
        recorded: recorded fitness per task (None entries if unknown).
        recipe: the merged run's protocol (dict).
        seconds: wall time.
        layout: the merge layout (``merge``).
    """

    dataset_ids: tuple[str, ...]
    returns: np.ndarray
    single: np.ndarray | None
    recorded: tuple[float | None, ...]
    recipe: dict
    seconds: float = 0.0
    layout: str = "shared"

    @property
    def normalised(self) -> list[float | None]:
        """Mean multi-task return / mean single-task return, per env."""
        if self.single is None:
            return [None] * len(self.dataset_ids)
        return [float(m / s) if s > 0 else None for m, s in
                zip(self.returns.mean(1), self.single.mean(1))]

    @property
    def vs_recorded(self) -> list[float | None]:
        return [float(m / r) if r else None
                for m, r in zip(self.returns.mean(1), self.recorded)]

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, d in enumerate(self.dataset_ids):
            rows.append({
                "dataset_id": d, "multitask_mean": float(self.returns[i].mean()),
                "multitask_std": float(self.returns[i].std()),
                "multitask_returns": [float(x) for x in self.returns[i]],
                "single_mean": None if self.single is None else float(self.single[i].mean()),
                "single_std": None if self.single is None else float(self.single[i].std()),
                "recorded": self.recorded[i], "normalised": self.normalised[i],
                "vs_recorded": self.vs_recorded[i],
            })
        return {"datasets": list(self.dataset_ids), "layout": self.layout,
                "seeds": int(self.returns.shape[1]),
                "normalised_definition": "multi-task mean return / single-task mean "
                "return (dataset's own protocol), same seeds and eval protocol",
                "protocol": self.recipe, "seconds": round(self.seconds, 1), "tasks": rows}


def run_multitask(datasets: Sequence[SyntheticDataset], *, seeds: int = 3, seed: int = 0,
                  baseline: bool = True, single_returns: dict | None = None,
                  layout: str = "shared", **overrides: Any) -> MultiTaskResult:
    """Merge, train one policy per BC run, evaluate on every env, compare (module doc).

    Args:
        single_returns: ``{dataset_id: (seeds,) returns}`` already measured with
            ``protocol_returns(ds, seeds=seeds, seed=seed)`` (e.g. a certificate with
            ``seed=0``); used instead of re-running that baseline.
    """
    from hades_zoo.data.recipe_io import recipe_to_dict
    from hades_zoo.engine.evaluation import protocol_returns

    t0 = time.perf_counter()
    mt = merge(datasets, layout=layout)
    params, module, recipe, _ = train_multitask(mt, seeds=seeds, seed=seed, **overrides)
    returns = evaluate_multitask(mt, params, module, seed=seed)
    single_returns = single_returns or {}
    single = (np.stack([np.asarray(single_returns[ds.dataset_id])
                        if ds.dataset_id in single_returns
                        else protocol_returns(ds, seeds=seeds, seed=seed)
                        for ds in datasets]) if baseline else None)
    return MultiTaskResult(
        dataset_ids=mt.dataset_ids, returns=returns, single=single,
        recorded=tuple(ds.info.fitness for ds in datasets),
        recipe=recipe_to_dict(recipe), seconds=time.perf_counter() - t0,
        layout=layout)


def plot_multitask(result: MultiTaskResult, path) -> str:
    """Bar chart of normalised scores per env (Fig. 5 style); matplotlib is lazy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = result.normalised if result.single is not None else result.vs_recorded
    denom = (result.single.mean(1) if result.single is not None
             else np.array([r or np.nan for r in result.recorded]))
    err = result.returns.std(1) / denom
    fig, ax = plt.subplots(figsize=(1.6 * len(norm) + 2, 3.2))
    ax.bar(range(len(norm)), [n if n is not None else 0 for n in norm], yerr=err,
           capsize=4, color="tab:blue")
    ax.axhline(1.0, ls="--", c="grey", lw=1)
    ax.set_xticks(range(len(norm)), result.dataset_ids, fontsize=8)
    ax.set_ylabel("multi-task / single-task return" if result.single is not None
                  else "multi-task / recorded")
    ax.set_title("one policy, merged dataset", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
