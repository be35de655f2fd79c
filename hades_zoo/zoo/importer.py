"""Reference importer: FLAIROx/behaviour-distillation ``.npz`` -> SyntheticDataset.

Reads the file and its protocol with ``hades_zoo.zoo.reference`` (the config-key
mapping is documented there), then builds the named arrays, the fitness summary of the
run and the notes (known defects, collapsed or low-fitness runs) of the zoo entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.data.ids import (
    InvalidDatasetIdError,
    format_dataset_id,
    parse_dataset_id,
)
from hades_zoo.data.recipe import (
    Recipe,
)
from hades_zoo.errors import HadesZooError
from hades_zoo.zoo.reference import (
    FITNESS_KIND,
    IMAGE_FITNESS_KIND,
    PAPER,
    REFERENCE_COMMIT,
    REFERENCE_REPO,
    ReferenceFile,
    _fail,
    _require,
    read_reference,
    reference_dataset_id,
    reference_recipe,
)

__all__ = ["import_reference"]


# Collapse heuristics on (final population mean) / (best ever), for positive bests.
_COLLAPSED_RATIO = 0.1


_LOW_RATIO = 0.5


def _image_arrays(ref: ReferenceFile, recipe: Recipe) -> dict[str, np.ndarray]:
    """``states (D, H*W*C)`` from the ``images`` array, and the fixed ``labels``."""
    from hades_zoo.engine.tasks.image import fixed_image_labels

    _require(ref, "images", "labels")
    img = recipe.image
    d = recipe.dataset.size
    images = np.asarray(ref.arrays["images"], np.float32)
    if images.shape[0] != d or images.size != d * img.num_pixels:
        raise _fail(ref.path, f"'images' has shape {images.shape}; expected ({d}, "
                    f"{img.height}, {img.width}) for dataset_size={d}.")
    labels = np.asarray(ref.arrays["labels"]).astype(np.int32)
    want = fixed_image_labels(d, img.num_classes)
    if not np.array_equal(labels, want):
        raise _fail(ref.path, f"'labels' {labels.tolist()} are not the fixed labels "
                    f"{want.tolist()} the protocol trains on.")
    return {"states": images.reshape(d, img.num_pixels), "labels": labels}


def _arrays(ref: ReferenceFile, recipe: Recipe) -> dict[str, np.ndarray]:
    """The dataset arrays (ES mean), checked against the recipe."""
    if ref.family == "images":
        return _image_arrays(ref, recipe)
    d = recipe.dataset.size
    out: dict[str, np.ndarray] = {}
    _require(ref, "states")
    out["states"] = np.asarray(ref.arrays["states"], np.float32)
    if out["states"].ndim != 2 or out["states"].shape[0] != d:
        raise _fail(
            ref.path,
            f"'states' has shape {out['states'].shape}; expected "
            f"({d}, obs_dim) for dataset_size={d}.",
        )
    if ref.family == "brax":
        _require(ref, "actions")
        out["actions"] = np.asarray(ref.arrays["actions"], np.float32)
    else:
        _require(ref, "action_labels", "state_used_in_bc")
        used = np.asarray(ref.arrays["action_labels"]).astype(np.int32)
        mask = np.asarray(ref.arrays["state_used_in_bc"]).astype(bool)
        if (
            mask.shape != (d,)
            or used.ndim != 1
            or used.size != int(mask.sum())
            or not np.all(mask[: used.size])
        ):
            raise _fail(
                ref.path,
                f"'action_labels' {used.shape} and 'state_used_in_bc' "
                f"{mask.shape} disagree: BC uses the first "
                "len(action_labels) states.",
            )
        labels = np.zeros(d, np.int32)
        labels[: used.size] = used
        out["labels"], out["mask"] = labels, mask
    if recipe.env.obs_norm == "const":
        _require(ref, "obs_mean", "obs_var")
        out["obs_mean"] = np.asarray(ref.arrays["obs_mean"], np.float32)
        out["obs_var"] = np.asarray(ref.arrays["obs_var"], np.float32)
    return out


def _fitness_summary(ref: ReferenceFile) -> dict[str, float | int]:
    pop = np.asarray(ref.arrays["final_population_fitness"], np.float64)
    out = {
        "final_population_mean_fitness": float(pop.mean()),
        "final_population_max_fitness": float(pop.max()),
        "es_best_fitness": float(ref.arrays["best_fitness"]),
        "es_generation": int(ref.arrays["es_generation"]),
        "popsize": int(pop.size),
    }
    if "final_mean_train_accuracy" in ref.arrays:
        out["final_mean_train_accuracy"] = float(ref.arrays["final_mean_train_accuracy"])
    curve = ref.arrays.get("max_fitness_per_generation")
    if curve is not None:
        out["max_fitness_ever_zero"] = bool(np.all(np.asarray(curve) == 0))
    return out


def _notes(recipe: Recipe, summary: dict[str, Any], mask: np.ndarray | None) -> str:
    """Caveats derived from the file: collapse, all-zero fitness, masks, spaces."""
    notes = []
    mean, best = summary["final_population_mean_fitness"], summary["es_best_fitness"]
    if recipe.image is not None:
        acc = summary.get("final_mean_train_accuracy")
        return (
            f"Image-classification dataset ({recipe.env.name}): the fitness is the loss "
            "-mean(log_softmax(logits) * onehot) = cross-entropy / 10 on the 60k real "
            "training images (lower is better), averaged over the final perturbed ES "
            f"population: {mean:.4f} (cross-entropy {10 * mean:.3f} nats)"
            + (f"; that population's mean training accuracy was {acc:.3f}" if acc else "")
            + ". Evaluating needs the real images: see `hades-zoo eval --data-dir`."
        )
    if summary.get("max_fitness_ever_zero") and best == 0:
        notes.append(
            "Every recorded fitness is exactly 0: no evaluation episode ever "
            "completed within the eval window, so the ES had no signal and these "
            "states are drift. Do not use it as a behaviour dataset."
        )
    elif best > 0 and mean < _COLLAPSED_RATIO * best:
        notes.append(
            f"The ES population collapsed at the end of the run: final "
            f"population-mean fitness {mean:.1f} vs best candidate {best:.1f}. "
            "Kept for completeness; retrain and evaluate (`hades-zoo eval`) "
            "before trusting it."
        )
    elif best > 0 and mean < _LOW_RATIO * best:
        notes.append(
            f"Final population-mean fitness {mean:.1f} is well below the best "
            f"candidate {best:.1f}: the run is noisy; retrain before trusting it."
        )
    if mask is not None and not mask.all():
        notes.append(
            f"BC uses only the first {int(mask.sum())} of {mask.size} states "
            "(fixed labels repeat(arange(A), D // A)); the rest are masked out."
        )
    if recipe.env.obs_norm == "running":
        notes.append(
            "States live in the space of a running observation normaliser "
            "re-estimated online over the eval envs; there is no fixed inverse "
            "to raw observations."
        )
    if recipe.env.compat:
        notes.append(
            f"Evaluate with env compat '{recipe.env.compat}': the installed library "
            "changed this env since the data was evolved (hades_zoo/envs/compat.py)."
        )
    if recipe.env.backend == "gymnax" and recipe.bc.max_grad_norm is None:
        notes.append(
            "The reference BC for gymnax/MinAtar did not clip gradients "
            "(its config's MAX_GRAD_NORM was unused)."
        )
    return " ".join(notes)


def import_reference(
    path: str | Path, *, dataset_id: str | None = None
) -> SyntheticDataset:
    """Convert one reference ``.npz`` into a ``SyntheticDataset`` with its protocol.

    Args:
        path: a FLAIROx/behaviour-distillation export (``npz/<...>.npz``).
        dataset_id: id to give the dataset; default: derived from the file's own
            config (``reference_dataset_id``). Must follow ``hades_zoo.data.ids``.

    Returns:
        A validated dataset; ``info.fitness`` is the final population-mean fitness and
        ``info.provenance`` holds the summary numbers, the reference configs and the
        source.

    Raises:
        DatasetFormatError: missing keys, unsupported content (learned labels,
            non-CNN image runs), or arrays that do not fit the env.
        UnknownDatasetError: ``dataset_id`` is not a valid id.
    """
    ref = read_reference(path)
    own_id = reference_dataset_id(ref)
    if dataset_id is None:
        dataset_id = own_id
    else:
        given, own = parse_dataset_id(dataset_id), parse_dataset_id(own_id)
        wrong = [f"{field} {getattr(given, field)!r} (the file's: {getattr(own, field)!r})"
                 for field in ("env", "variant", "size")
                 if getattr(given, field) != getattr(own, field)]
        if wrong:  # an id is read as what the dataset is: it must not name another
            raise InvalidDatasetIdError(
                f"--id {dataset_id!r} does not describe {Path(path).name}: "
                f"{'; '.join(wrong)}. Its own id is {own_id!r}; an id may add tags to "
                "it but not change its env, variant or size.")
        dataset_id = format_dataset_id(given)
    recipe = reference_recipe(ref, dataset_id)
    arrays = _arrays(ref, recipe)
    summary = _fitness_summary(ref)
    config = {k: v for k, v in ref.config.items() if k != "FOLDER"}  # a cluster path
    provenance = {
        "paper": PAPER,
        "repository": REFERENCE_REPO,
        "commit": REFERENCE_COMMIT,
        "license": "Apache-2.0",
        "source": ref.source,
        "source_file": ref.path.name,
        "dataset_is": "ES search-distribution mean (state.mean)",
        **summary,
        "reference_config": config,
        "reference_es_config": ref.es_config,
    }
    ds = SyntheticDataset(
        **arrays,
        recipe=recipe,
        info=DatasetInfo(
            dataset_id=dataset_id,
            fitness=summary["final_population_mean_fitness"],
            fitness_kind=IMAGE_FITNESS_KIND if ref.family == "images" else FITNESS_KIND,
            provenance_json=json.dumps(provenance, sort_keys=True),
            notes=_notes(recipe, summary, arrays.get("mask")),
        ),
    )
    try:
        ds.validate()
        from hades_zoo.engine.envs import check_dataset_fits_env

        check_dataset_fits_env(ds)
    except HadesZooError as err:
        raise _fail(
            ref.path, f"imported arrays do not fit the protocol: {err}"
        ) from err
    return ds
