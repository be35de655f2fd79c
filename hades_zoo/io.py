"""Dataset files: one ``.safetensors`` file, named tensors plus string metadata.

Metadata keys (all values are strings; structured ones are JSON):

- ``format_version``: integer; readers reject versions they do not know.
- ``dataset_id``, ``env``, ``backend``, ``variant``: for humans and indexes.
- ``recipe``: canonical JSON of the full ``Recipe`` (the protocol).
- ``info``: JSON of ``DatasetInfo`` (fitness, provenance, notes).
- ``library``: JSON of the library versions that wrote the file.

Writes are atomic (temporary file + ``os.replace``). Nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from hades_zoo.cache import atomic_write_bytes
from hades_zoo.dataset import DatasetInfo, SyntheticDataset, validate_arrays
from hades_zoo.errors import DatasetFormatError, RecipeError
from hades_zoo.recipes import recipe_from_dict, recipe_to_json

__all__ = ["FORMAT_VERSION", "save_dataset", "load_dataset_file", "read_metadata"]

FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("hades_zoo", "jax", "flax", "optax", "evosax", "brax", "gymnax"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def dataset_metadata(ds: SyntheticDataset) -> dict[str, str]:
    """The str->str metadata block written into the file."""
    if ds.recipe is None:
        raise DatasetFormatError(
            "dataset has no recipe; a dataset file must carry its protocol. Build it "
            "with a Recipe (SyntheticDataset(..., recipe=...))."
        )
    return {
        "format_version": str(FORMAT_VERSION),
        "dataset_id": ds.info.dataset_id,
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "variant": ds.recipe.variant,
        "recipe": recipe_to_json(ds.recipe),
        "info": json.dumps(dataclasses.asdict(ds.info), sort_keys=True),
        "library": json.dumps(_library_versions(), sort_keys=True),
    }


def _canonical_safetensors(data: bytes) -> bytes:
    """Re-emit the header with sorted keys so equal datasets give equal bytes.

    safetensors writes its metadata map in hash order, which changes between calls;
    the sha256 recorded in dataset cards needs one byte string per dataset. The
    tensor data (and its offsets) is untouched; the header is space-padded to a
    multiple of 8 bytes as safetensors does.
    """
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + n :]


def dataset_to_bytes(ds: SyntheticDataset) -> bytes:
    """Serialise a dataset to safetensors bytes (deterministic: same dataset, same bytes)."""
    from safetensors.numpy import save

    arrays = ds.arrays()
    validate_arrays(arrays)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    return _canonical_safetensors(save(arrays, metadata=dataset_metadata(ds)))


def save_dataset(ds: SyntheticDataset, path: str | Path) -> Path:
    """Atomically write ``ds`` to ``path`` (a ``.safetensors`` file).

    Raises:
        DatasetFormatError: the dataset is invalid (nothing is written).
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise DatasetFormatError(f"{path}: dataset files end in '.safetensors'.")
    atomic_write_bytes(path, dataset_to_bytes(ds))
    return path


def _parse_header(path: Path, data: bytes) -> dict[str, str]:
    if len(data) < 8:
        raise DatasetFormatError(
            f"{path}: file is {len(data)} bytes, too short for safetensors (truncated "
            "download? delete it and fetch it again)."
        )
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise DatasetFormatError(
            f"{path}: corrupt or truncated safetensors header (header length {n}, file "
            f"{len(data)} bytes); delete the file and fetch or regenerate it."
        )
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetFormatError(f"{path}: safetensors header is not valid JSON ({err}).") from err
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise DatasetFormatError(f"{path}: safetensors metadata is not a string mapping.")
    return meta


def read_metadata(path: str | Path) -> dict[str, str]:
    """Read only the metadata block of a dataset file (cheap; arrays untouched)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetFormatError(f"cannot read {path}: {err.strerror}.") from err
    return _parse_header(path, data)


def dataset_from_bytes(data: bytes, *, source: str = "<bytes>") -> SyntheticDataset:
    """Parse safetensors bytes into a validated ``SyntheticDataset``."""
    from safetensors.numpy import load

    path = Path(source)
    meta = _parse_header(path, data)
    version = meta.get("format_version")
    if version is None:
        raise DatasetFormatError(
            f"{source}: no 'format_version' in the metadata; this is not a hades_zoo "
            "dataset file (convert reference .npz files with `hades-zoo import-reference`)."
        )
    if not version.isdigit() or int(version) not in SUPPORTED_FORMAT_VERSIONS:
        raise DatasetFormatError(
            f"{source}: format_version {version!r} is not supported by this hades_zoo "
            f"(reads {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}); upgrade hades_zoo "
            "(`pip install -U hades_zoo`)."
        )
    try:
        arrays = load(data)
    except Exception as err:  # safetensors raises its own SafetensorError
        raise DatasetFormatError(
            f"{source}: corrupt safetensors data ({err}); delete it and fetch or "
            "regenerate it."
        ) from err
    validate_arrays(arrays)
    try:
        recipe = recipe_from_dict(json.loads(meta["recipe"]))
        info = DatasetInfo(**json.loads(meta.get("info", "{}")))
    except KeyError as err:
        raise DatasetFormatError(f"{source}: metadata lacks {err}.") from err
    except (json.JSONDecodeError, TypeError, RecipeError) as err:
        raise DatasetFormatError(f"{source}: invalid metadata: {err}") from err
    ds = SyntheticDataset(
        **{k: arrays.get(k) for k in ("states", "actions", "labels", "label_logits",
                                      "mask", "obs_mean", "obs_var")},
        recipe=recipe,
        info=info,
    )
    from hades_zoo.envs import check_dataset_fits_env

    check_dataset_fits_env(ds)
    return ds


def load_dataset_file(path: str | Path) -> SyntheticDataset:
    """Read a ``.safetensors`` dataset file.

    Raises:
        DatasetFormatError: missing, truncated or corrupt file; unknown
            ``format_version``; invalid arrays or metadata.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DatasetFormatError(f"cannot read {path}: {err.strerror}.") from err
    return dataset_from_bytes(data, source=str(path))
