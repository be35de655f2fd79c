"""SyntheticDataset: a distilled set of state-action pairs plus its full protocol.

The arrays are named (never a flat ES vector):

- ``states (D, obs_dim)`` float32, in the space the policy sees (already normalised
  when the protocol normalises observations);
- ``actions (D, act_dim)`` float32 continuous BC targets (unbounded; the env clips
  the *sampled* action), or ``labels (D,)`` int32 class targets, optionally with
  learned ``label_logits (D, A)``;
- ``mask (D,)`` bool: which pairs behaviour cloning uses;
- ``obs_mean``, ``obs_var (obs_dim,)``: constant normalisation statistics.

``recipe`` (static) is the protocol: env, backend, normalisation, policy, BC and eval.
``info`` (static) holds the dataset id, recorded fitness and provenance.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from hades_zoo.data import format as _format
from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.paths import check_name
from hades_zoo.data.recipe import Recipe
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_json
from hades_zoo.errors import DatasetFormatError, RecipeError, UnsafeNameError

__all__ = ["SyntheticDataset", "DatasetInfo", "ARRAY_NAMES", "validate_arrays",
           "dataset_metadata", "dataset_to_bytes", "dataset_from_bytes", "save_dataset",
           "read_dataset_file", "register_sharing"]

ARRAY_NAMES = ("states", "actions", "labels", "label_logits", "mask", "obs_mean", "obs_var")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    """Static facts about a dataset.

    Attributes:
        dataset_id: zoo id (``hopper-R-64``) or a user name.
        fitness: recorded fitness (mean episode return for control; natural sign).
        fitness_kind: what ``fitness`` measures, e.g. ``final_population_mean_return``.
        provenance_json: JSON object: where the data came from (paper, source file,
            commit, generation, library versions).
        notes: free text shown by ``info`` (known defects, caveats).
    """

    dataset_id: str = "unnamed"
    fitness: float | None = None
    fitness_kind: str = ""
    provenance_json: str = "{}"
    notes: str = ""

    @property
    def provenance(self) -> dict[str, Any]:
        return json.loads(self.provenance_json)


@struct.dataclass
class SyntheticDataset:
    """Named arrays of a distilled dataset plus its static protocol (see module doc)."""

    states: Any
    actions: Any = None
    labels: Any = None
    label_logits: Any = None
    mask: Any = None
    obs_mean: Any = None
    obs_var: Any = None
    recipe: Recipe = struct.field(pytree_node=False, default=None)
    info: DatasetInfo = struct.field(pytree_node=False, default_factory=DatasetInfo)

    # ------------------------------------------------------------------ properties
    @property
    def size(self) -> int:
        return int(self.states.shape[0])

    @property
    def obs_dim(self) -> int:
        return int(self.states.shape[1])

    @property
    def discrete(self) -> bool:
        return self.actions is None

    @property
    def dataset_id(self) -> str:
        return self.info.dataset_id

    def arrays(self) -> dict[str, np.ndarray]:
        """The non-empty arrays as numpy, by name."""
        return {
            name: np.asarray(getattr(self, name))
            for name in ARRAY_NAMES
            if getattr(self, name) is not None
        }

    def bc_targets(self, num_actions: int | None = None) -> jnp.ndarray:
        """BC targets: actions (continuous) or one-hot / softmax label targets (discrete)."""
        if not self.discrete:
            return jnp.asarray(self.actions)
        if self.label_logits is not None:
            return jax.nn.softmax(jnp.asarray(self.label_logits), axis=-1)
        if num_actions is None:
            raise ValueError("num_actions is needed to one-hot the labels")
        return jnp.eye(num_actions, dtype=jnp.float32)[jnp.asarray(self.labels)]

    def bc_weights(self) -> jnp.ndarray:
        """(D,) float weights of each pair in the BC loss (the mask as 0/1)."""
        if self.mask is None:
            return jnp.ones((self.size,), jnp.float32)
        return jnp.asarray(self.mask, jnp.float32)

    def validate(self) -> SyntheticDataset:
        """Check shapes, dtypes and finiteness; return self.

        Raises:
            DatasetFormatError: naming the array and what is wrong with it.
        """
        validate_arrays(self.arrays())
        return self

    def replace_info(self, **changes: Any) -> SyntheticDataset:
        return self.replace(info=dataclasses.replace(self.info, **changes))

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write one ``.safetensors`` file (see ``save_dataset``)."""
        save_dataset(self, path)

    # The Hub methods are provided by ``hades_zoo.hub`` (a higher layer), which
    # registers them with ``register_sharing`` when it is imported: data/ never
    # imports hub/ (docs/ARCHITECTURE.md).
    def save_pretrained(self, directory, **kwargs: Any):
        """Write a dataset repo folder (see ``hades_zoo.hub.save_pretrained``)."""
        return _sharing("save_pretrained")(self, directory, **kwargs)

    @classmethod
    def from_pretrained(cls, dir_or_repo, **kwargs: Any) -> SyntheticDataset:
        """Load from a folder or Hub repo (see ``hades_zoo.hub.from_pretrained``)."""
        return _sharing("from_pretrained")(dir_or_repo, **kwargs)

    def push_to_hub(self, repo_id: str, **kwargs: Any):
        """Upload to a Hub dataset repo (see ``hades_zoo.hub.push_to_hub``)."""
        return _sharing("push_to_hub")(self, repo_id, **kwargs)

    def __repr__(self) -> str:
        kind = "discrete" if self.discrete else "continuous"
        env = self.recipe.env.name if self.recipe else "?"
        return (
            f"SyntheticDataset(id={self.info.dataset_id!r}, env={env!r}, {kind}, "
            f"D={self.size}, obs_dim={self.obs_dim})"
        )


def validate_arrays(arrays: dict[str, np.ndarray]) -> None:
    """Shape/dtype/finiteness checks shared by construction and file reading."""
    if "states" not in arrays:
        raise DatasetFormatError("dataset has no 'states' array; every dataset needs states (D, obs_dim).")
    states = arrays["states"]
    if states.ndim != 2 or states.shape[0] < 1 or states.shape[1] < 1:
        raise DatasetFormatError(
            f"'states' must have shape (D, obs_dim) with D, obs_dim >= 1, got {states.shape}."
        )
    d, obs_dim = states.shape
    has_actions = "actions" in arrays
    has_labels = "labels" in arrays or "label_logits" in arrays
    if has_actions == has_labels:
        raise DatasetFormatError(
            "a dataset needs exactly one of 'actions' (continuous) or 'labels'/'label_logits' "
            f"(discrete); got {sorted(k for k in arrays if k in ('actions', 'labels', 'label_logits'))}."
        )
    expect = {
        "actions": ((d, None), np.floating),
        "labels": ((d,), np.integer),
        "label_logits": ((d, None), np.floating),
        "mask": ((d,), np.bool_),
        "obs_mean": ((obs_dim,), np.floating),
        "obs_var": ((obs_dim,), np.floating),
    }
    if not np.issubdtype(states.dtype, np.floating):
        raise DatasetFormatError(f"'states' must be floating point, got dtype {states.dtype}.")
    for name, array in arrays.items():
        if name not in expect and name != "states":
            raise DatasetFormatError(f"unknown array {name!r}; known: {', '.join(ARRAY_NAMES)}.")
        if name in expect:
            shape, kind = expect[name]
            ok_shape = array.ndim == len(shape) and all(
                s is None or s == a for s, a in zip(shape, array.shape)
            )
            if not ok_shape:
                want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
                raise DatasetFormatError(
                    f"{name!r} has shape {array.shape} but this dataset (D={d}, "
                    f"obs_dim={obs_dim}) needs {want}."
                )
            if not np.issubdtype(array.dtype, kind):
                raise DatasetFormatError(
                    f"{name!r} has dtype {array.dtype}; expected {kind.__name__} values."
                )
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise DatasetFormatError(
                f"{name!r} has {bad} NaN/inf value(s); a dataset must be finite "
                "(a diverged ES run? re-run with a smaller sigma or learning rate)."
            )
    if "obs_var" in arrays and np.any(arrays["obs_var"] < 0):
        raise DatasetFormatError("'obs_var' has negative entries; variances must be >= 0.")
    if ("obs_mean" in arrays) != ("obs_var" in arrays):
        raise DatasetFormatError("'obs_mean' and 'obs_var' must be given together.")
    if "labels" in arrays and np.any(arrays["labels"] < 0):
        raise DatasetFormatError("'labels' must be non-negative class indices.")
    if "mask" in arrays and not np.any(arrays["mask"]):
        raise DatasetFormatError("'mask' selects no pair; at least one pair must be used.")


# ---------------------------------------------------------------------- sharing hooks
_SHARING: dict[str, Any] = {}


def register_sharing(**functions: Any) -> None:
    """Install the Hub functions behind ``SyntheticDataset.save_pretrained`` & co.

    Called once by ``hades_zoo.hub`` at import (dependency inversion: the data layer
    defines the method, the hub layer supplies it).
    """
    _SHARING.update(functions)


def _sharing(name: str):
    try:
        return _SHARING[name]
    except KeyError:
        raise ImportError(
            f"SyntheticDataset.{name} is provided by hades_zoo.hub; `import hades_zoo` "
            "(or hades_zoo.hub) first."
        ) from None


# ---------------------------------------------------------------------- files
def dataset_metadata(ds: SyntheticDataset) -> dict[str, str]:
    """The str->str metadata block written into the file (``hades_zoo.data.format``)."""
    if ds.recipe is None:
        raise DatasetFormatError(
            "dataset has no recipe; a dataset file must carry its protocol. Build it "
            "with a Recipe (SyntheticDataset(..., recipe=...))."
        )
    return {
        "format_version": str(_format.FORMAT_VERSION),
        "dataset_id": ds.info.dataset_id,
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "variant": ds.recipe.variant,
        "recipe": recipe_to_json(ds.recipe),
        "info": json.dumps(dataclasses.asdict(ds.info), sort_keys=True),
        "library": json.dumps(_format.library_versions(), sort_keys=True),
    }


def dataset_to_bytes(ds: SyntheticDataset) -> bytes:
    """Serialise a dataset to safetensors bytes (deterministic: same dataset, same bytes).

    Raises:
        DatasetFormatError: invalid arrays or no recipe.
    """
    arrays = ds.arrays()
    validate_arrays(arrays)
    return _format.encode(arrays, dataset_metadata(ds))


def save_dataset(ds: SyntheticDataset, path) -> Path:
    """Atomically write ``ds`` to ``path`` (a ``.safetensors`` file).

    Raises:
        DatasetFormatError: the dataset is invalid or the suffix is not
            ``.safetensors`` (nothing is written; an existing file is kept).
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise DatasetFormatError(f"{path}: dataset files end in '.safetensors'.")
    atomic_write_bytes(path, dataset_to_bytes(ds))
    return path


def dataset_from_bytes(data: bytes, *, source: str = "<bytes>") -> SyntheticDataset:
    """Parse safetensors bytes into a validated ``SyntheticDataset``.

    Checks the format and the arrays; whether the arrays fit the env is checked one
    layer up (``hades_zoo.engine.envs.check_dataset_fits_env``), by every loader.

    Raises:
        DatasetFormatError: corrupt file, bad metadata (the key is named), unknown
            ``format_version``, invalid arrays or recipe.
        UnsafeNameError: the stored dataset id (``info`` or the ``dataset_id`` key)
            cannot be a file name (``../victim``, ``/abs``, a control character, over
            255 bytes): every writer names files after it, so it is refused here.
    """
    arrays, meta = _format.decode(data, source=source)
    validate_arrays(arrays)
    try:
        recipe = recipe_from_dict(json.loads(meta["recipe"]))
        info = DatasetInfo(**json.loads(meta.get("info", "{}")))
    except KeyError as err:
        raise DatasetFormatError(f"{source}: metadata lacks {err}.") from err
    except (json.JSONDecodeError, TypeError, RecipeError) as err:
        raise DatasetFormatError(f"{source}: invalid metadata: {err}") from err
    _check_stored_id(info.dataset_id, source)
    if "dataset_id" in meta:
        _check_stored_id(meta["dataset_id"], source)
    return SyntheticDataset(**{k: arrays.get(k) for k in ARRAY_NAMES}, recipe=recipe, info=info)


def _check_stored_id(dataset_id: object, source: str) -> None:
    """A dataset id read from a file must be a plain file name (``data.paths``)."""
    try:
        check_name(dataset_id, what="dataset id")
    except UnsafeNameError as err:
        raise UnsafeNameError(
            f"{source}: {err} Its files would be named after this id, so the dataset "
            "is refused; ask its publisher to re-save it under a plain id."
        ) from None


def read_dataset_file(path) -> SyntheticDataset:
    """Read a ``.safetensors`` dataset file (format and arrays checked, not the env).

    Raises:
        DatasetFormatError: missing, truncated or corrupt file; see ``dataset_from_bytes``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetFormatError(f"cannot read {path}: {err.strerror}.") from err
    return dataset_from_bytes(data, source=str(path))
