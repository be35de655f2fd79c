"""Multi-task datasets: several SyntheticDatasets stacked into one (HaDES §5.3).

Lupu et al. (ICLR 2024, §5.3) train one policy on the union of datasets distilled
for different environments. Observations and actions of different envs have
different sizes, so they are zero-padded, and every pair carries the index of its
task. Two layouts:

- ``layout="disjoint"`` (the default; the layout issue #11 reads §5.3 as specifying):
  each env's observation gets its own input columns, task i at offset
  ``sum(obs_dims[:i])``, zeros elsewhere (input size = sum of the obs dims), so no
  input weight is shared between tasks.
- ``layout="shared"``: every env's observation starts at input 0 (zero-padded on the
  right to the largest obs dim), so the tasks feed the same input weights with
  unrelated meanings.

Measured here (results/multitask, each env's own protocol): halfcheetah-R-64 +
hopper-R-64 keep 0.965 / 0.973 of their single-task returns with ``disjoint`` (10 BC
seeds) and 0.18 / 0.16 with ``shared`` (5 seeds).

``merge([ds_a, ds_b])`` returns a ``MultiTaskDataset``; ``split()`` (or ``task(i)``)
recovers each original dataset exactly. Mixing discrete-label and continuous-action
datasets is rejected: there is no common BC target.

``train_multitask(mt, seeds=)`` trains ONE policy per BC run on the merged pairs and
``evaluate_multitask`` runs it in every task's env (Fig. 5 of the paper):

- Policy/BC config: the first dataset's recipe (width, depth, activation, lr, steps,
  clip, ``num_inits``) unless overridden. The input is the merged width (sum of the
  obs dims for ``disjoint``, the max for ``shared``), the output the max action dim
  (count, for discrete tasks). The init is fresh per run, except for a ``shared``
  merge whose tasks all have the first task's obs/action dims when the first recipe
  is HaDES-F: then its fixed init is used (nothing is padded, so it still applies).
- BC loss: the single-task loss, with padded action dims masked out (continuous:
  only a pair's own ``act_dim`` dims enter the Gaussian log-likelihood; discrete:
  logits of actions the pair's env does not have are masked to -inf).
- Evaluation in env i uses dataset i's own protocol (env, backend, compat,
  observation normalisation mode and stats, ``num_envs`` x ``num_steps``, greedy or
  sampled): the normalised observation is placed at task i's input columns (zeros
  elsewhere), and the first ``act_dim_i`` outputs are the action. Like
  ``protocol_returns``, each BC seed pools the completed episodes of its
  ``num_inits`` runs.
- The paper's three bars per env i (``run_multitask``): the right dataset (D_i
  alone, its own protocol: ``protocol_returns``), the wrong dataset (the merged
  run's protocol trained on D_j's pairs only, so D_j's states sit in their own
  columns exactly as in the merge, evaluated in env i as above) and the merged
  dataset. Normalised = mean return / mean right-dataset return, same seeds.
  ``/ recorded`` is also reported.

Training and evaluating a merged dataset is ``hades_zoo.zoo.multitask_train``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from flax import struct

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.errors import DatasetFormatError

__all__ = ["MultiTaskDataset", "merge"]


@struct.dataclass
class MultiTaskDataset:
    """Datasets of several tasks, padded to common sizes.

    Attributes:
        states: (N, W) float32, zero-padded; N = sum of the task sizes, W = sum of
            the obs dims (``disjoint``) or the largest obs dim (``shared``).
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
        """``"disjoint"`` when some task starts past column 0, else ``"shared"``
        (a one-task merge is both; it reports ``"shared"``)."""
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
    from hades_zoo.engine.envs import env_spec

    return (
        env_spec(ds.recipe.env).action_dim
        if ds.recipe is not None
        else int(np.max(np.asarray(ds.labels))) + 1
    )


LAYOUTS = ("disjoint", "shared")


def merge(datasets: Sequence[SyntheticDataset], *, layout: str = "disjoint"
          ) -> MultiTaskDataset:
    """Stack datasets of (possibly) different envs into one multi-task dataset.

    ``layout="disjoint"`` (default, §5.3): each task gets its own input columns (task i
    at offset sum(obs_dims[:i]), zeros elsewhere; input size = sum of the obs dims),
    so the tasks' states never share an input weight. ``"shared"``: states are
    zero-padded on the right to the largest ``obs_dim``, so every task's observation
    starts at input 0. Continuous actions are zero-padded on the right to the largest
    ``act_dim`` either way (padded dims never enter the loss); ``task_ids`` records
    the source task of each pair, in input order.

    Args:
        datasets: one or more datasets, all continuous or all discrete (fixed labels).
        layout: ``"disjoint"`` (default) or ``"shared"``.

    Returns:
        MultiTaskDataset with N = sum of the sizes: ``states`` (N, sum of obs dims)
        for ``disjoint``, (N, max obs dim) for ``shared``; ``actions`` (N, max act dim)
        or ``labels`` (N,).

    Raises:
        DatasetFormatError: an unknown layout, empty input, a mix of discrete and continuous datasets,
            or discrete datasets with learned label logits (not mergeable yet).
    """
    datasets = list(datasets)
    if layout not in LAYOUTS:
        raise DatasetFormatError(
            f"unknown merge layout {layout!r}; use one of {', '.join(LAYOUTS)} "
            "(disjoint: each env's states in their own input columns, the default).")
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
