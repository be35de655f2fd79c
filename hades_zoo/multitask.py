"""Multi-task datasets: several SyntheticDatasets stacked into one (HaDES §5.3).

Lupu et al. (ICLR 2024, §5.3) train one policy on the union of datasets distilled
for different environments. Observations and actions of different envs have
different sizes, so states and continuous actions are zero-padded to the largest
dimension across the tasks, and every pair carries the index of its task. That is
``layout="shared"``: every env's observation starts at input 0, so the tasks share
input weights. ``layout="disjoint"`` gives each env its own input columns (zeros
elsewhere). Measured here (results/multitask, 5 BC seeds, each env's own protocol):
halfcheetah-R-64 + hopper-R-64 keep 0.18 / 0.16 of their single-task returns with
``shared`` and 0.97 / 0.96 with ``disjoint``.

``merge([ds_a, ds_b])`` returns a ``MultiTaskDataset``; ``split()`` (or ``task(i)``)
recovers each original dataset exactly. Mixing discrete-label and continuous-action
datasets is rejected: there is no common BC target.

``train_multitask(mt, seeds=)`` trains ONE policy per BC run on the merged pairs and
``evaluate_multitask`` runs it in every task's env (Fig. 5 of the paper):

- Policy/BC config: the first dataset's recipe (width, depth, activation, lr, steps,
  clip, ``num_inits``) unless overridden. The input is the merged (max) obs dim, the
  output the max action dim (count, for discrete tasks). The init is fresh per run,
  except when every task has the first task's obs/action dims and the first recipe
  is HaDES-F: then its fixed init is used (nothing is padded, so it still applies).
- BC loss: the single-task loss, with padded action dims masked out (continuous:
  only a pair's own ``act_dim`` dims enter the Gaussian log-likelihood; discrete:
  logits of actions the pair's env does not have are masked to -inf).
- Evaluation in env i uses dataset i's own protocol (env, backend, compat,
  observation normalisation mode and stats, ``num_envs`` x ``num_steps``, greedy or
  sampled): the normalised observation is zero-padded to the merged obs dim, and the
  first ``act_dim_i`` outputs are the action. Like ``protocol_returns``, each BC seed
  pools the completed episodes of its ``num_inits`` runs.
- Normalised score of env i = multi-task return / single-task return, both measured
  this way with the same number of seeds (single-task = ``protocol_returns`` of
  dataset i on its own protocol). ``/ recorded`` is also reported.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hades_zoo.dataset import SyntheticDataset
from hades_zoo.errors import DatasetFormatError

__all__ = ["MultiTaskDataset", "merge", "MultiTaskResult", "multitask_recipe",
           "train_multitask", "evaluate_multitask", "run_multitask", "plot_multitask"]


@struct.dataclass
class MultiTaskDataset:
    """Datasets of several tasks, padded to common sizes.

    Attributes:
        states: (N, max_obs_dim) float32, zero-padded; N = sum of the task sizes.
        actions: (N, max_act_dim) float32 zero-padded continuous targets, or None.
        labels: (N,) int32 discrete labels, or None.
        mask: (N,) bool: which pairs behaviour cloning uses (padding never masks).
        task_ids: (N,) int32 index of each pair's task in ``tasks``.
        obs_dims, act_dims: (T,) int32 true sizes per task (act_dims: number of
            actions for discrete tasks).
        obs_offsets: (T,) int32 first input column of each task's state: all 0 for
            the ``"shared"`` layout, cumulative obs dims for ``"disjoint"``.
        tasks: the original datasets without their pair arrays (static: recipes,
            info and per-task normalisation stats, kept for ``split``).
        had_mask: (T,) whether each original dataset had a mask (static).
    """

    states: Any
    task_ids: Any
    obs_dims: Any
    act_dims: Any
    actions: Any = None
    labels: Any = None
    mask: Any = None
    obs_offsets: Any = None
    tasks: tuple = struct.field(pytree_node=False, default=())
    had_mask: tuple = struct.field(pytree_node=False, default=())

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def discrete(self) -> bool:
        return self.actions is None

    @property
    def size(self) -> int:
        return int(self.states.shape[0])

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        return tuple(t.dataset_id for t in self.tasks)

    @property
    def offsets(self) -> np.ndarray:
        """(T,) first input column of each task (zeros when not stored)."""
        if self.obs_offsets is None:
            return np.zeros(self.num_tasks, np.int32)
        return np.asarray(self.obs_offsets, np.int32)

    @property
    def layout(self) -> str:
        return "disjoint" if self.offsets.any() else "shared"

    def task(self, index: int) -> SyntheticDataset:
        """The ``index``-th original dataset, unpadded (exact inverse of ``merge``)."""
        if not 0 <= index < self.num_tasks:
            raise IndexError(
                f"task index {index} out of range for {self.num_tasks} tasks"
            )
        rows = np.asarray(self.task_ids) == index
        obs, act = (
            int(np.asarray(self.obs_dims)[index]),
            int(np.asarray(self.act_dims)[index]),
        )
        template = self.tasks[index]
        off = int(self.offsets[index])
        out = {"states": np.asarray(self.states)[rows, off:off + obs]}
        if self.discrete:
            out["labels"] = np.asarray(self.labels)[rows]
        else:
            out["actions"] = np.asarray(self.actions)[rows, :act]
        out["mask"] = np.asarray(self.mask)[rows] if self.had_mask[index] else None
        return template.replace(**out)

    def split(self) -> list[SyntheticDataset]:
        """All original datasets, in merge order."""
        return [self.task(i) for i in range(self.num_tasks)]

    def __repr__(self) -> str:
        kind = "discrete" if self.discrete else "continuous"
        return (
            f"MultiTaskDataset({kind}, N={self.size}, obs_dim={self.states.shape[1]}, "
            f"layout={self.layout}, tasks={list(self.dataset_ids)})"
        )


def _action_count(ds: SyntheticDataset) -> int:
    if ds.label_logits is not None:
        return int(np.asarray(ds.label_logits).shape[1])
    from hades_zoo.envs import env_spec

    return (
        env_spec(ds.recipe.env).action_dim
        if ds.recipe is not None
        else int(np.max(np.asarray(ds.labels))) + 1
    )


LAYOUTS = ("shared", "disjoint")


def merge(datasets: Sequence[SyntheticDataset], *, layout: str = "shared"
          ) -> MultiTaskDataset:
    """Stack datasets of (possibly) different envs into one multi-task dataset.

    ``layout="shared"`` (the paper's §5.3): states are zero-padded on the right to the
    largest ``obs_dim``, so every task's observation starts at input 0. ``"disjoint"``:
    each task gets its own input columns (task i at offset sum(obs_dims[:i]), zeros
    elsewhere; input size = sum of the obs dims), so the tasks' states never share
    an input weight. Continuous actions are zero-padded on the right to the largest
    ``act_dim`` either way (padded dims never enter the loss); ``task_ids`` records
    the source task of each pair, in input order.

    Args:
        datasets: one or more datasets, all continuous or all discrete (fixed labels).
        layout: ``"shared"`` or ``"disjoint"``.

    Returns:
        MultiTaskDataset with N = sum of the sizes.

    Raises:
        DatasetFormatError: empty input, a mix of discrete and continuous datasets,
            or discrete datasets with learned label logits (not mergeable yet).
    """
    datasets = list(datasets)
    if layout not in LAYOUTS:
        raise DatasetFormatError(
            f"unknown merge layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    if not datasets:
        raise DatasetFormatError("merge() needs at least one dataset, got none.")
    for ds in datasets:
        if not isinstance(ds, SyntheticDataset):
            raise DatasetFormatError(
                f"merge() takes SyntheticDatasets, got {type(ds).__name__}."
            )
    kinds = {ds.discrete for ds in datasets}
    if len(kinds) > 1:
        desc = ", ".join(
            f"{ds.dataset_id} ({'discrete' if ds.discrete else 'continuous'})"
            for ds in datasets
        )
        raise DatasetFormatError(
            "cannot merge discrete-label and continuous-action datasets (no common BC "
            f"target): {desc}. Merge the discrete and the continuous ones separately."
        )
    discrete = kinds.pop()
    if discrete and any(ds.label_logits is not None for ds in datasets):
        raise DatasetFormatError(
            "merging datasets with learned label logits is not "
            "supported yet; merge fixed-label datasets only."
        )
    obs_dims = np.array([ds.obs_dim for ds in datasets], np.int32)
    if layout == "shared":
        offsets = np.zeros(len(datasets), np.int32)
        width = int(obs_dims.max())
    else:
        offsets = np.concatenate([[0], np.cumsum(obs_dims)[:-1]]).astype(np.int32)
        width = int(obs_dims.sum())
    states, task_ids, masks = [], [], []
    for i, ds in enumerate(datasets):
        s = np.asarray(ds.states, np.float32)
        off = int(offsets[i])
        states.append(np.pad(s, ((0, 0), (off, width - off - ds.obs_dim))))
        task_ids.append(np.full(ds.size, i, np.int32))
        masks.append(
            np.asarray(ds.mask, bool) if ds.mask is not None else np.ones(ds.size, bool)
        )
    fields: dict[str, Any] = {}
    if discrete:
        act_dims = np.array([_action_count(ds) for ds in datasets], np.int32)
        fields["labels"] = np.concatenate(
            [np.asarray(ds.labels, np.int32) for ds in datasets]
        )
    else:
        act_dims = np.array([ds.actions.shape[1] for ds in datasets], np.int32)
        max_act = int(act_dims.max())
        fields["actions"] = np.concatenate(
            [
                np.pad(
                    np.asarray(ds.actions, np.float32),
                    ((0, 0), (0, max_act - ds.actions.shape[1])),
                )
                for ds in datasets
            ]
        )
    templates = tuple(
        ds.replace(states=None, actions=None, labels=None, mask=None) for ds in datasets
    )
    return MultiTaskDataset(
        states=np.concatenate(states),
        task_ids=np.concatenate(task_ids),
        obs_dims=obs_dims,
        act_dims=act_dims,
        mask=np.concatenate(masks),
        obs_offsets=offsets,
        tasks=templates,
        had_mask=tuple(ds.mask is not None for ds in datasets),
        **fields,
    )


# ---------------------------------------------------------------------- training
def multitask_recipe(mt: MultiTaskDataset, **overrides: Any):
    """The merged run's protocol: the first task's recipe with ``overrides``."""
    from hades_zoo.api import with_overrides

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

    from hades_zoo.bc import make_optimizer
    from hades_zoo.policy import fixed_init_params, init_policy_params, make_policy

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
    from hades_zoo.rollout import make_evaluate
    from hades_zoo.tasks.control import ControlTask
    from hades_zoo.transfer import _pool

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
    from hades_zoo.api import protocol_returns
    from hades_zoo.recipes import recipe_to_dict

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
