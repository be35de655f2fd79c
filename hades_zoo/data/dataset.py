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

This module is over 400 lines because a dataset is checked where its bytes are read
and written: the arrays, the info and their agreement with the recipe and metadata
are one concept with the class.
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
from hades_zoo.data.env_provider import EnvProviderRecord
from hades_zoo.data.paths import check_name, name_only_extension_message
from hades_zoo.data.recipe import Recipe
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_json
from hades_zoo.data.untrusted import (
    MAX_DATASET_BYTES,
    load_json,
    read_regular_file,
    show_path,
)
from hades_zoo.errors import (
    DatasetFormatError,
    OutputPathError,
    RecipeError,
    UnsafeNameError,
)

__all__ = ["SyntheticDataset", "DatasetInfo", "ARRAY_NAMES", "validate_arrays", "check_replaceable_dataset",
           "dataset_metadata", "dataset_to_bytes", "dataset_from_bytes", "save_dataset",
           "read_dataset_file", "register_sharing", "check_consistent"]

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
        env_provider: the env provider the dataset was made with (name, version,
            package; ``hades_zoo.data.env_provider``), or None (files written before
            it was recorded, hand-made datasets). Stored in the file's own metadata
            key ``env_provider``, not in the ``info`` JSON, so readers that predate
            it read the file unchanged.
    """

    dataset_id: str = "unnamed"
    fitness: float | None = None
    fitness_kind: str = ""
    provenance_json: str = "{}"
    notes: str = ""
    env_provider: EnvProviderRecord | None = None

    @property
    def provenance(self) -> dict[str, Any]:
        """``provenance_json`` parsed.

        Raises:
            DatasetFormatError: it is not a JSON object (or nested over 64 levels).
        """
        return _provenance(self.provenance_json, f"dataset {self.dataset_id!r}")

    def validate(self, source: str = "<dataset>") -> DatasetInfo:
        """Check the field types and that ``provenance_json`` is a JSON object.

        Raises:
            DatasetFormatError: naming the field and its value's type.
        """
        for name, kinds in _INFO_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kinds):
                want = " or ".join("null" if k is type(None) else k.__name__
                                   for k in kinds)
                raise DatasetFormatError(
                    f"{source}: info.{name} must be {want}, got {type(value).__name__} "
                    f"({show_path(repr(value), 60)}); re-save the dataset with "
                    "hades_zoo."
                )
        _provenance(self.provenance_json, source)
        if self.env_provider is not None and not isinstance(self.env_provider,
                                                            EnvProviderRecord):
            raise DatasetFormatError(
                f"{source}: info.env_provider must be an EnvProviderRecord or None, got "
                f"{type(self.env_provider).__name__}.")
        return self


_INFO_TYPES = {"dataset_id": (str,), "fitness": (int, float, type(None)),
               "fitness_kind": (str,), "provenance_json": (str,), "notes": (str,)}


def _provenance(text: str, source: str) -> dict[str, Any]:
    value = load_json(text, source=source, what="info.provenance_json",
                      error=DatasetFormatError)
    if not isinstance(value, dict):
        raise DatasetFormatError(
            f"{source}: info.provenance_json must be a JSON object ({{...}}), got "
            f"{type(value).__name__}; re-save the dataset with hades_zoo (provenance "
            "is a mapping such as {\"source\": ...})."
        )
    return value


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

    def same_arrays(self, other: SyntheticDataset) -> bool:
        """Whether ``other`` holds the same arrays as this dataset (the same names,
        shapes and values); the recipe and metadata are not compared."""
        a, b = self.arrays(), other.arrays()
        return a.keys() == b.keys() and all(
            a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a)

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
    info = dataclasses.asdict(ds.info)
    del info["env_provider"]  # its own key: readers that predate it ignore that
    meta = {
        "format_version": str(_format.FORMAT_VERSION),
        "dataset_id": ds.info.dataset_id,
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "variant": ds.recipe.variant,
        "recipe": recipe_to_json(ds.recipe),
        "info": json.dumps(info, sort_keys=True),
        "library": json.dumps(_format.library_versions(), sort_keys=True),
    }
    if ds.info.env_provider is not None:
        meta["env_provider"] = ds.info.env_provider.to_json()
    return meta


def dataset_to_bytes(ds: SyntheticDataset) -> bytes:
    """Serialise a dataset to safetensors bytes (deterministic: same dataset, same bytes).

    Raises:
        DatasetFormatError: invalid arrays, info or no recipe; a recipe whose
            ``dataset.size`` is not the number of pairs.
    """
    arrays = ds.arrays()
    validate_arrays(arrays)
    meta = dataset_metadata(ds)
    ds.info.validate(f"dataset {ds.info.dataset_id!r}")
    check_consistent(arrays, ds.recipe, source=f"dataset {ds.info.dataset_id!r}")
    return _format.encode(arrays, meta)


def check_replaceable_dataset(path: str | Path) -> None:
    """A dataset may be written to ``path``: it does not exist, or it is a hades_zoo
    dataset file (its metadata has a ``format_version``), which is replaced.

    Raises:
        OutputPathError: ``path`` exists (or is a link) and is something else.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return
    try:
        is_dataset = "format_version" in _format.read_metadata(path)
    except (DatasetFormatError, OSError):
        is_dataset = False
    if not is_dataset:
        raise OutputPathError(
            f"{path} exists and is not a hades_zoo dataset file; refusing to replace "
            f"it. Give a new file name (e.g. {path.with_name(path.stem + '-1')}"
            ".safetensors), or move that file away first.")


def save_dataset(ds: SyntheticDataset, path) -> Path:
    """Atomically write ``ds`` to ``path`` (a ``.safetensors`` file).

    An existing ``path`` is replaced only when it is a hades_zoo dataset file (any
    ``format_version``): ``import-reference --out`` once replaced any file silently.

    Raises:
        DatasetFormatError: the dataset is invalid or the suffix is not
            ``.safetensors`` (nothing is written; an existing file is kept).
        OutputPathError: ``path`` exists and is not a hades_zoo dataset file (a
            folder, another file, a link to one); nothing is written.
    """
    path = Path(path)
    bare = name_only_extension_message(path, "dataset", (".safetensors",))
    if bare:  # --out .safetensors: a file with no name
        raise DatasetFormatError(bare)
    if path.suffix != ".safetensors":
        raise DatasetFormatError(f"{path}: dataset files end in '.safetensors'.")
    check_replaceable_dataset(path)
    atomic_write_bytes(path, dataset_to_bytes(ds))
    return path


def check_consistent(arrays: dict[str, np.ndarray], recipe: Recipe,
                     meta: dict[str, str] | None = None,
                     info: DatasetInfo | None = None, *, source: str) -> None:
    """The arrays, the recipe and the metadata's index keys tell one story.

    ``recipe.dataset.size`` is the number of pairs (``states`` rows); the metadata's
    ``dataset_id``, ``env``, ``backend`` and ``variant`` (written for indexes) equal
    the info's and the recipe's.

    Raises:
        DatasetFormatError: naming both values and the fix.
    """
    d = int(arrays["states"].shape[0])
    if recipe.dataset.size != d:
        raise DatasetFormatError(
            f"{source}: the recipe says dataset.size={recipe.dataset.size} but the "
            f"arrays hold {d} pairs; the file was edited or written by a broken tool: "
            "regenerate it, or set recipe dataset.size to the number of states."
        )
    if meta is None or info is None:
        return
    for key, truth in (("dataset_id", info.dataset_id), ("env", recipe.env.name),
                       ("backend", recipe.env.backend), ("variant", recipe.variant)):
        if key in meta and meta[key] != truth:
            raise DatasetFormatError(
                f"{source}: metadata {key!r} is {show_path(repr(meta[key]), 60)} but "
                f"the {'info' if key == 'dataset_id' else 'recipe'} says "
                f"{show_path(repr(truth), 60)}; the file was edited by hand: "
                "regenerate it (or re-save it with hades_zoo)."
            )


def dataset_from_bytes(data: bytes, *, source: str = "<bytes>",
                       advice: str = _format.REFETCH) -> SyntheticDataset:
    """Parse safetensors bytes into a validated ``SyntheticDataset``.

    Checks the format, the arrays and their agreement with the recipe and metadata
    (``check_consistent``); whether the arrays fit the env is checked one layer up
    (``hades_zoo.engine.envs.check_dataset_fits_env``), by every loader.

    Args:
        data: the whole file.
        source: where the bytes came from, for error messages.
        advice: the fix named when the bytes are not safetensors (``format.decode``).

    Raises:
        DatasetFormatError: corrupt file, bad metadata (the key is named), unknown
            ``format_version``, invalid arrays, recipe or info, a recipe or metadata
            that disagrees with the arrays.
        UnsafeNameError: the stored dataset id (``info`` or the ``dataset_id`` key)
            cannot be a file name (``../victim``, ``/abs``, a control character, over
            255 bytes): every writer names files after it, so it is refused here.
    """
    arrays, meta = _format.decode(data, source=source, advice=advice)
    validate_arrays(arrays)
    if "recipe" not in meta:
        raise DatasetFormatError(f"{source}: metadata lacks 'recipe'; a dataset file "
                                 "carries its protocol: regenerate it with hades_zoo.")
    try:
        recipe = recipe_from_dict(load_json(meta["recipe"], source=source,
                                            what="metadata key 'recipe'",
                                            error=DatasetFormatError))
    except RecipeError as err:
        raise DatasetFormatError(f"{source}: invalid metadata: {err}") from err
    info = _info_from_json(meta.get("info", "{}"), source)
    if "env_provider" in meta:
        info = dataclasses.replace(info, env_provider=EnvProviderRecord.from_json(
            meta["env_provider"], source=source))
    _check_stored_id(info.dataset_id, source)
    if "dataset_id" in meta:
        _check_stored_id(meta["dataset_id"], source)
    check_consistent(arrays, recipe, meta, info, source=source)
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


def _info_from_json(text: str, source: str) -> DatasetInfo:
    data = load_json(text, source=source, what="metadata key 'info'",
                     error=DatasetFormatError)
    if not isinstance(data, dict):
        raise DatasetFormatError(
            f"{source}: metadata key 'info' must be a JSON object; regenerate it.")
    known = {f.name for f in dataclasses.fields(DatasetInfo)} - {"env_provider"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DatasetFormatError(
            f"{source}: invalid metadata: info has unknown key(s) "
            f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))}); "
            "upgrade hades_zoo or re-save the dataset."
        )
    return DatasetInfo(**data).validate(source)


def read_dataset_file(path) -> SyntheticDataset:
    """Read a ``.safetensors`` dataset file (format and arrays checked, not the env).

    The path must be a regular file of at most ``MAX_DATASET_BYTES`` (a link is
    followed; a FIFO, a device or a folder is refused before it is opened).

    Raises:
        DatasetFormatError: missing, not a regular file, too large, truncated or
            corrupt file (a link that does not point at a dataset is named as a link);
            see ``dataset_from_bytes``.
    """
    data = read_regular_file(path, what="dataset", error=DatasetFormatError,
                             max_bytes=MAX_DATASET_BYTES)
    source, advice = _format.file_source(path)
    return dataset_from_bytes(data, source=source, advice=advice)
