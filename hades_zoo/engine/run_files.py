"""What a distillation run writes besides its checkpoint: ``metrics.jsonl`` (one JSON
row per generation, appended one whole line per ``write``; a torn last line is dropped
on reading), the ``ES`` baseline's ``policy.safetensors``, and the
``CheckpointEvent`` handed to ``distill``'s ``on_checkpoint`` hook, and the dataset
made of an ES mean (``solution_to_dataset``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np

from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.data.recipe import Recipe
from hades_zoo.engine.envs import provider_record
from hades_zoo.errors import DatasetFormatError

__all__ = ["METRICS_FILE", "POLICY_FILE", "CheckpointEvent", "save_policy_params",
           "metric_rows", "read_metrics", "write_metrics", "append_metrics",
           "solution_to_dataset"]

METRICS_FILE = "metrics.jsonl"
POLICY_FILE = "policy.safetensors"

log = logging.getLogger(__name__)


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
    """The rows of a ``metrics.jsonl`` file ([] if absent).

    A torn last line (a run stopped while appending it: no newline, or not JSON) is
    dropped with a warning; the resume that reads it rewrites the file without it.

    Raises:
        DatasetFormatError: a line other than the last is not a JSON object.
    """
    if not path.exists():
        return []
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as err:
        raise DatasetFormatError(f"cannot read {path}: {err.strerror}.") from err
    lines = text.split("\n")  # the piece after the last newline is "" when whole
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            if i == len(lines) - 1:  # no newline after it
                raise ValueError("no newline at its end")
        except (ValueError, RecursionError) as err:
            if i == last:
                log.warning("%s: dropping its torn last line %d (%s); a run stopped "
                            "while writing it", path, i + 1, err)
                continue
            raise DatasetFormatError(
                f"{path}: line {i + 1} is not a metrics row ({err}); delete that line, "
                "or pass --no-resume to start the run over."
            ) from None
        rows.append(row)
    return rows


def write_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Replace ``path`` with these rows (atomic)."""
    from hades_zoo.data.cache import atomic_write_bytes

    atomic_write_bytes(path, "".join(json.dumps(r) + "\n" for r in rows).encode())


def append_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Append rows to ``path``, each one whole line in one ``write`` (O_APPEND), then
    fsync: a stop leaves at most a torn last line, which ``read_metrics`` drops."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        for r in rows:
            line = (json.dumps(r) + "\n").encode()
            while line:  # a regular file takes it in one write; loop on a short one
                line = line[os.write(fd, line):]
        os.fsync(fd)
    finally:
        os.close(fd)


def solution_to_dataset(recipe: Recipe, task: Any, solution: dict[str, Any],
                        obs_mean, obs_var, last_metrics: dict[str, float],
                        generations: int, *, overrides: Sequence[str] = ()
                        ) -> SyntheticDataset:
    """Wrap an ES mean into a ``SyntheticDataset`` with its protocol and provenance
    (``task``: the run's ``ControlTask`` or ``ImageTask``)."""
    from importlib import metadata

    if recipe.image is not None:  # the ES may search a low-resolution offset
        arrays = {"states": np.asarray(task.decode(solution), np.float32),
                  "labels": task.labels}
    else:
        arrays = {k: np.asarray(v, np.float32) for k, v in solution.items()}
        arrays.update(task.static_arrays())
    if recipe.env.obs_norm == "const":
        arrays["obs_mean"] = np.asarray(obs_mean, np.float32)
        arrays["obs_var"] = np.asarray(obs_var, np.float32)
    provenance = {
        "source": "hades_zoo distill",
        "generations": generations,
        "hades_zoo_version": metadata.version("hades_zoo"),
        # the run's results, not its timing: equal runs give equal bytes
        "last_generation": {k: v for k, v in last_metrics.items() if k != "wall_seconds"},
    }
    if overrides:
        provenance["overrides"] = list(overrides)
    image = recipe.image is not None
    if image:
        provenance["fitness_images"] = task.data_name
    info = DatasetInfo(
        dataset_id=recipe.name,
        fitness=last_metrics.get("mean_loss" if image else "mean_return"),
        fitness_kind="final_population_mean_loss" if image
        else "final_population_mean_return",
        provenance_json=json.dumps(provenance, sort_keys=True),
        env_provider=provider_record(recipe.env),  # what a reader must install
    )
    return SyntheticDataset(**arrays, recipe=recipe, info=info).validate()


