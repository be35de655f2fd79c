"""Evaluate and certify image datasets: retrain the CNN, score it on real images.

``evaluate_image_dataset`` is what ``hades-zoo eval`` runs for an image dataset;
``certify_image_dataset`` what ``hades-zoo certify`` runs. Both use the protocol
stored in the dataset (``hades_zoo.engine.tasks.image``) and real images found by
``hades_zoo.engine.image_data``.

Certificate convention for a minimised loss: ``ratio = recorded / mean`` (so, as for
returns, > 1 means the retrained dataset does better than recorded), and
"reproduced" means ``mean <= recorded / 0.95``. The recorded loss was measured on the
60k real *training* images; when those are missing (MNIST offline) the certificate
says so and reports the splits it could measure (``train5k``, ``test``) instead.
"""

from __future__ import annotations

import datetime as _dt
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.limits import MAX_SEEDS, check_count
from hades_zoo.engine.image_data import available_splits, load_split
from hades_zoo.engine.tasks.image import (
    ImageTask,
    image_protocol_scores,
    image_protocol_scores_splits,
)
from hades_zoo.errors import DataNotFoundError, RecipeError

__all__ = ["evaluate_image_dataset", "certify_image_dataset", "CERTIFY_FRACTION"]

CERTIFY_FRACTION = 0.95


def _check(ds: SyntheticDataset) -> ImageTask:
    if ds.recipe is None or ds.recipe.image is None:
        raise RecipeError(f"{ds.dataset_id!r} is not an image dataset.")
    task = ImageTask(ds.recipe)
    want = (ds.recipe.dataset.size, ds.recipe.image.num_pixels)
    if tuple(ds.states.shape) != want:
        raise RecipeError(f"{ds.dataset_id!r}: states have shape {tuple(ds.states.shape)}, "
                          f"the recipe needs {want}.")
    return task


def _scores(task, ds, split, seeds, seed, data_dir, limit):
    check_count(seeds, "seeds", MAX_SEEDS, "number of BC seeds")
    data = load_split(ds.recipe.env.name, split, data_dir=data_dir, limit=limit)
    s = image_protocol_scores(task, jnp.asarray(ds.states, jnp.float32),
                              data.pixels(ds.recipe.image.normalize), data.labels,
                              seeds=seeds, seed=seed)
    return data, {k: np.asarray(v, np.float64) for k, v in s._asdict().items()}


def evaluate_image_dataset(ds: SyntheticDataset, *, split: str = "test", seeds: int = 1,
                           seed: int = 0, data_dir: str | Path | None = None,
                           limit: int | None = None) -> dict[str, Any]:
    """Train the protocol's CNN on ``ds`` and score it on real ``split`` images.

    Returns:
        ``{"split", "examples", "seeds", "loss", "cross_entropy", "accuracy",
        "per_seed": {...}, "data_dir", "seconds"}``; ``loss`` is the reference
        fitness unit (cross-entropy / classes), means over seeds.

    Raises:
        DataNotFoundError: the real images are not found (says where to put them).
    """
    task = _check(ds)
    t0 = time.perf_counter()
    data, per_seed = _scores(task, ds, split, seeds, seed, data_dir, limit)
    return {
        "split": split, "examples": data.size, "seeds": seeds,
        **{k: float(np.mean(v)) for k, v in per_seed.items()},
        "per_seed": {k: [float(x) for x in v] for k, v in per_seed.items()},
        "data_dir": data.source, "seconds": round(time.perf_counter() - t0, 1),
    }


def certify_image_dataset(ds: SyntheticDataset, *, seeds: int = 5, seed: int = 0,
                          data_dir: str | Path | None = None) -> dict[str, Any]:
    """Certificate record of an image dataset (see module doc for the convention).

    Measures the recipe's ``fitness_split`` (``train``) when its files are found;
    otherwise ``train5k`` where available; always ``test`` when available.

    Raises:
        DataNotFoundError: none of the needed splits is found.
    """
    from hades_zoo.zoo.certify import machine_description

    task = _check(ds)
    name = ds.recipe.env.name
    have = available_splits(name, data_dir)
    want = ds.recipe.image.fitness_split
    splits = list(dict.fromkeys(s for s in (want, "train5k", "test") if s in have))
    if want in have and "train5k" in splits and want != "train5k":
        splits.remove("train5k")
    if not splits:
        raise DataNotFoundError(
            f"no {name} images found for certifying {ds.dataset_id!r}; "
            + str(_missing(name, data_dir)))
    t0 = time.perf_counter()
    measured = {}
    datas = [load_split(name, split, data_dir=data_dir) for split in splits]
    # one training per classifier, scored on every split (same classifiers as one
    # split at a time: the seeds' keys do not depend on the split)
    all_scores = image_protocol_scores_splits(
        task, jnp.asarray(ds.states, jnp.float32),
        [(d.pixels(ds.recipe.image.normalize), d.labels) for d in datas],
        seeds=seeds, seed=seed)
    for split, data, s in zip(splits, datas, all_scores):
        per_seed = {k: np.asarray(v, np.float64) for k, v in s._asdict().items()}
        measured[split] = {
            "examples": data.size,
            **{k: float(np.mean(v)) for k, v in per_seed.items()},
            **{f"{k}_std": float(np.std(v)) for k, v in per_seed.items()},
            "per_seed_loss": [float(x) for x in per_seed["loss"]],
            "per_seed_accuracy": [float(x) for x in per_seed["accuracy"]],
        }
    primary = want if want in measured else next(iter(measured))
    m = measured[primary]
    recorded = ds.info.fitness
    prov = ds.info.provenance
    rec_acc = prov.get("final_mean_train_accuracy")
    note = ""
    if primary != want:
        note = (f"the recorded loss was measured on the 60k real {want} images, which "
                f"are not available here; mean ± std are on '{primary}' "
                f"({m['examples']} images) instead, so the ratio compares different "
                "image sets")
    img = ds.recipe.image
    if img.fitness_steps and img.fitness_steps < ds.recipe.bc.steps:
        batch = f", on {img.fitness_batch} images per generation" if img.fitness_batch else ""
        truncated = (f"the recorded loss is the evolution's truncated fitness (classifiers "
                     f"trained {img.fitness_steps} of the protocol's {ds.recipe.bc.steps} "
                     f"SGD steps{batch}), so it is not the protocol's loss measured here")
        note = f"{note}; {truncated}" if note else truncated
    versions = {}
    for lib in ("hades_zoo", "jax", "flax", "optax"):
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            pass
    return {
        "dataset_id": ds.dataset_id, "env": name, "variant": ds.recipe.variant,
        "metric": "loss", "fitness_split": want, "measured_split": primary,
        "returns": m["per_seed_loss"], "mean": m["loss"], "std": m["loss_std"],
        "recorded": recorded,
        "ratio": None if not recorded else recorded / m["loss"],
        "reproduced_95": None if recorded is None
        else bool(m["loss"] <= recorded / CERTIFY_FRACTION),
        "accuracy": m["accuracy"], "accuracy_std": m["accuracy_std"],
        "recorded_train_accuracy": rec_acc,
        "accuracy_ratio": None if not rec_acc else m["accuracy"] / rec_acc,
        "splits": measured, "note": note,
        "protocol": (f"{name} CNN (conv {ds.recipe.image.conv_features} + dense "
                     f"{ds.recipe.policy.width}), {ds.recipe.num_inits} fresh inits, "
                     f"{ds.recipe.bc.steps} SGD steps lr {ds.recipe.bc.lr}"),
        "seconds": round(time.perf_counter() - t0, 1), "machine": machine_description(),
        "versions": versions,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
    }


def _missing(name: str, data_dir) -> str:
    from hades_zoo.engine.image_data import find_data_dir

    try:
        find_data_dir(name, "test", data_dir)
    except DataNotFoundError as err:
        return str(err)
    return ""
