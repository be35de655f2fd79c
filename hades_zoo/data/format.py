"""The dataset file format: one ``.safetensors`` file, named tensors plus string metadata.

This module is the codec only: bytes <-> (arrays by name, metadata). What the arrays
*mean* is ``hades_zoo.data.dataset``; this module never imports it.

Metadata keys (every value is a string, as safetensors requires; structured ones are
JSON objects):

- ``format_version``: decimal integer string; readers reject versions they do not know.
- ``dataset_id``, ``env``, ``backend``, ``variant``: for humans and indexes.
- ``recipe``: canonical JSON object of the full ``Recipe`` (the protocol).
- ``info``: JSON object of ``DatasetInfo`` (fitness, provenance, notes).
- ``library``: JSON object of the library versions that wrote the file.
- ``env_provider`` (optional, written since the env-provider registry): JSON object
  of the env provider the dataset was made with, ``{"name", "version", "package",
  "install"}`` (``hades_zoo.data.env_provider``). A loader lacking that provider
  names the package to install. It did not bump ``format_version``: files without
  it are read as before, and readers that predate it ignore a metadata key they do
  not know, so a new file whose env they have reads there unchanged.

Bytes are deterministic (the header is re-emitted with sorted keys) so a dataset has one
sha256. Nothing is pickled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hades_zoo.data.untrusted import (
    MAX_DATASET_BYTES,
    link_target,
    load_json,
    read_regular_file,
    show_path,
)
from hades_zoo.errors import DatasetFormatError

__all__ = ["FORMAT_VERSION", "SUPPORTED_FORMAT_VERSIONS", "METADATA_KEYS", "JSON_KEYS",
           "encode", "decode", "read_metadata", "library_versions", "file_source"]

FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
METADATA_KEYS = ("format_version", "dataset_id", "env", "backend", "variant", "recipe",
                 "info", "library", "env_provider")
JSON_KEYS = ("recipe", "info", "library", "env_provider")
#: safetensors' own bound on the header (tensor table + metadata) of a file.
MAX_HEADER_BYTES = 100_000_000
#: What to do about a file that is not safetensors: the usual cause is a cut download.
REFETCH = ("check the path: it is not a hades_zoo dataset, or a damaged one (a dataset "
           "you fetched or wrote: fetch or regenerate it)")


def library_versions() -> dict[str, str]:
    """Versions of the libraries that fix a dataset's meaning, as recorded in files:
    the learning stack, and the physics under the env families (``mujoco`` /
    ``mujoco-mjx`` under brax and MuJoCo Playground: the same recipe evolves another
    dataset when they change), each only when installed."""
    from importlib import metadata

    out = {}
    for name in ("hades_zoo", "jax", "flax", "optax", "evosax", "brax", "gymnax",
                 "mujoco", "mujoco-mjx", "playground"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


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


def encode(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> bytes:
    """Named arrays + str->str metadata -> canonical safetensors bytes.

    Raises:
        DatasetFormatError: a metadata value is not a string (names the key).
    """
    from safetensors.numpy import save

    check_metadata_types(metadata, source="<dataset>")
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    return _canonical_safetensors(save(arrays, metadata=dict(metadata)))


def _parse_header(source: str, data: bytes, advice: str = REFETCH) -> dict:
    if len(data) < 8:
        raise DatasetFormatError(
            f"{source}: file is {len(data)} bytes, too short for safetensors (truncated "
            f"download?); {advice}."
        )
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data) or n > MAX_HEADER_BYTES:
        raise DatasetFormatError(
            f"{source}: corrupt or truncated safetensors header (header length {n}, file "
            f"{len(data)} bytes); {advice}."
        )
    header = load_json(data[8 : 8 + n], source=source, what="the safetensors header",
                       error=DatasetFormatError)
    if not isinstance(header, dict):
        raise DatasetFormatError(f"{source}: safetensors header is not a JSON object.")
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise DatasetFormatError(f"{source}: safetensors metadata is not a string mapping.")
    return meta


def check_metadata_types(meta: Mapping[str, object], *, source: str) -> None:
    """Every metadata value must be a string, and the JSON keys must hold JSON objects.

    Raises:
        DatasetFormatError: naming the first key whose value has the wrong type.
    """
    for key, value in meta.items():
        if not isinstance(value, str):
            kind = {bool: "a JSON boolean", int: "a JSON number", float: "a JSON number",
                    list: "a JSON array", dict: "a JSON object",
                    type(None): "JSON null"}.get(type(value), type(value).__name__)
            raise DatasetFormatError(
                f"{source}: metadata key {key!r} holds {kind} ({value!r}); safetensors "
                f"metadata values are strings (write {key!r}: {json.dumps(str(value))} "
                "or re-save the dataset with hades_zoo)."
            )
    for key in JSON_KEYS:
        if key in meta:
            value = load_json(meta[key], source=source, what=f"metadata key {key!r}",
                              error=DatasetFormatError)
            if not isinstance(value, dict):
                raise DatasetFormatError(
                    f"{source}: metadata key {key!r} must be a JSON object, got "
                    f"{type(value).__name__}; re-save the dataset with hades_zoo."
                )


def file_source(path: str | Path) -> tuple[str, str]:
    """(how messages name ``path``, the fix when it is not safetensors at all).

    A symbolic link is named with its target, and the fix is to point the link at a
    dataset: the target is some other file, which "delete it" would destroy.
    """
    target = link_target(path)
    if target is None:
        return show_path(path), REFETCH
    return (f"{show_path(path)} (a link to {show_path(target)})",
            "the link points at a file that is not a hades_zoo dataset: point it at a "
            f"dataset file, or give a dataset's path (keep {show_path(target)}, it is "
            "another file)")


def read_metadata(path: str | Path) -> dict[str, str]:
    """Read only the metadata block of a dataset file (cheap; arrays untouched).

    Raises:
        DatasetFormatError: unreadable file (missing, not a regular file, over
            ``MAX_DATASET_BYTES``), corrupt header, a non-string value.
    """
    data = read_regular_file(path, what="dataset", error=DatasetFormatError,
                             max_bytes=MAX_DATASET_BYTES)
    source, advice = file_source(path)
    meta = _parse_header(source, data, advice)
    check_metadata_types(meta, source=source)
    return meta


def _check_version(meta: Mapping[str, str], source: str) -> None:
    version = meta.get("format_version")
    if version is None:
        raise DatasetFormatError(
            f"{source}: no 'format_version' in the metadata; this is not a hades_zoo "
            "dataset file (convert reference .npz files with `hades-zoo import-reference`)."
        )
    digits = version.isascii() and version.isdigit() and len(version) <= 9
    if not digits or int(version) not in SUPPORTED_FORMAT_VERSIONS:
        raise DatasetFormatError(
            f"{source}: format_version {show_path(repr(version), 40)} is not "
            "supported by this hades_zoo "
            f"(reads {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}); upgrade hades_zoo "
            "(`pip install -U hades_zoo`)."
        )


def decode(data: bytes, *, source: str = "<bytes>", advice: str = REFETCH
           ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Safetensors bytes -> (arrays by name, metadata), format checks included.

    Args:
        data: the whole file.
        source: where the bytes came from, for error messages.
        advice: the fix named when the bytes are not safetensors at all (default:
            delete and fetch again; a link names its target instead).

    Raises:
        DatasetFormatError: truncated or corrupt file, a metadata value of the wrong
            type (the key is named), a missing or unsupported ``format_version``.
    """
    from safetensors.numpy import load

    meta = _parse_header(source, data, advice)
    check_metadata_types(meta, source=source)
    _check_version(meta, source)
    try:
        arrays = load(data)
    except Exception as err:  # safetensors raises its own SafetensorError
        raise DatasetFormatError(
            f"{source}: corrupt safetensors data ({err}); {advice}."
        ) from err
    return arrays, meta
