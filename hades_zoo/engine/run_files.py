"""What a distillation run writes besides its checkpoint: ``metrics.jsonl`` (one JSON
row per generation), the ``ES`` baseline's ``policy.safetensors``, and the
``CheckpointEvent`` handed to ``distill``'s ``on_checkpoint`` hook.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import jax
import numpy as np

from hades_zoo.data.dataset import SyntheticDataset

__all__ = ["METRICS_FILE", "POLICY_FILE", "CheckpointEvent", "save_policy_params",
           "metric_rows", "read_metrics", "write_metrics", "append_metrics"]

METRICS_FILE = "metrics.jsonl"
POLICY_FILE = "policy.safetensors"


@dataclasses.dataclass(frozen=True)
class CheckpointEvent:
    """What ``distill`` passes to ``on_checkpoint`` after writing a chunk's files.

    Attributes:
        generation: generations completed.
        total: generations this call runs to.
        dataset: the current dataset (ES mean); None for the ``ES`` baseline.
        policy_params: the current policy params (``ES`` baseline only).
        metrics: every metrics row so far (one per generation).
        wall_seconds: wall time of the run so far, across resumes (s).
        finished: this was the last chunk of the call.
    """

    generation: int
    total: int
    dataset: SyntheticDataset | None
    policy_params: Any
    metrics: tuple[dict[str, float], ...]
    wall_seconds: float
    finished: bool


def save_policy_params(params: Any, path: str | Path) -> Path:
    """Write policy params (the ``ES`` baseline's result) as safetensors, one tensor
    per leaf named by its pytree path (``['params']['Dense_0']['kernel']``)."""
    from safetensors.numpy import save

    from hades_zoo.data.cache import atomic_write_bytes

    flat = {jax.tree_util.keystr(p): np.asarray(v)
            for p, v in jax.tree_util.tree_leaves_with_path(params)}
    return atomic_write_bytes(path, save(flat))


def metric_rows(metrics: dict[str, jax.Array], first_gen: int) -> list[dict[str, float]]:
    """Per-generation rows (host floats; NaN/inf as None) from a chunk's stacked metrics."""
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


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The rows of a ``metrics.jsonl`` file ([] if absent)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Replace ``path`` with these rows (atomic)."""
    from hades_zoo.data.cache import atomic_write_bytes

    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def append_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Append rows to ``path``."""
    with path.open("a") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
