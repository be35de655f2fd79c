"""Zoo registry: dataset id -> ZooEntry (file, sha256, env, fitness, source, hub repo).

The registry is ``hades_zoo/zoo/entries/index.json``, written by ``scripts/build_zoo.py``::

    {
      "index_version": 1,
      "datasets": {"<id>": {"file": "<id>.safetensors", "sha256": "...", "env": ...,
                            "backend": ..., "variant": "F|R", "size": D, "seed": s,
                            "fitness": f, "fitness_kind": ..., "source": ...,
                            "notes": ..., "card": "cards/<id>.md",
                            "recipe": "recipes/<id>.yaml",
                            "hub": {"repo_id": ..., "revision": ..., "filename": ...}}},
      "excluded": {"<id>": "<reason>"},
      "excluded_patterns": [{"pattern": "freeway-minatar-*", "reason": "..."}]
    }

Transfer scores are packaged beside it in ``entries/transfer.json`` (``TRANSFER_FILE``,
written by ``hades_zoo.zoo.transfer_zoo`` from ``results/transfer/``, which is not
packaged); each entry's ``transfer_*`` fields are its result on the file's
``shown_grid`` (the ``common`` grid every entry is scored on), so they compare.

``hub`` is optional. Entries whose file is packaged load from the package (sha256
checked); an entry without a packaged file but with a ``hub`` reference is fetched
with ``hades_zoo.hub.load_from_hub``. ``excluded`` names published datasets that are
deliberately not in the zoo; asking for one raises ``UnknownDatasetError`` that
explains why.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import json
import re
from importlib import resources
from typing import Any

from hades_zoo.data.dataset import SyntheticDataset, dataset_from_bytes
from hades_zoo.data.ids import InvalidDatasetIdError, parse_dataset_id
from hades_zoo.engine.envs import check_dataset_fits_env
from hades_zoo.errors import DatasetFormatError, UnknownDatasetError, close_matches

__all__ = [
    "ZooEntry",
    "HubRef",
    "list_datasets",
    "info",
    "load_zoo_dataset",
    "entries",
    "excluded_reason",
    "INDEX_VERSION",
    "TRANSFER_FILE",
    "refresh_transfer_scores",
    "packaged_file",
]

INDEX_VERSION = 1
TRANSFER_FILE = "transfer.json"


@dataclasses.dataclass(frozen=True, kw_only=True)
class HubRef:
    """Where a zoo entry lives on the Hugging Face Hub (a dataset repo)."""

    repo_id: str
    revision: str = "main"
    filename: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ZooEntry:
    """One registered dataset.

    Attributes:
        dataset_id: canonical id (``hopper-R-64``).
        file: packaged file name under ``hades_zoo/zoo/entries/``.
        sha256: hex digest of that file.
        env, backend, variant, size, seed: the protocol at a glance.
        fitness: recorded fitness (natural sign); ``fitness_kind`` says which.
        source: where the data came from (reference pickle path at its commit, or
            "evolved by hades_zoo <version>" for the zoo's own entries).
        origin: ``paper`` (imported from the authors' published runs) or
            ``hades_zoo`` (evolved from scratch by this library; id tag ``.hz``).
        notes: caveats (collapsed runs, masks...).
        card, recipe: repo-relative paths of the dataset card and recipe YAML.
        hub: optional Hub location.
        transfer_score: transfer-robustness score on ``transfer_grid`` (None: not
            measured, or a recorded fitness <= 0, which makes a ratio meaningless).
        transfer_top50_mean: the score's numerator, a raw return (mean over widths of
            the top-50% configs' mean return); set whenever the entry was measured.
        transfer_grid: the grid of those two (None: not measured on it).
    """

    dataset_id: str
    file: str
    sha256: str
    env: str
    backend: str
    variant: str
    size: int
    seed: int = 0
    fitness: float | None = None
    fitness_kind: str = ""
    source: str = ""
    origin: str = "paper"
    notes: str = ""
    card: str = ""
    recipe: str = ""
    hub: HubRef | None = None
    transfer_score: float | None = None
    transfer_top50_mean: float | None = None
    transfer_grid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _zoo_root():
    return resources.files("hades_zoo") / "zoo" / "entries"


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    """The parsed index.json (cached)."""
    path = _zoo_root() / "index.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {
            "index_version": INDEX_VERSION,
            "datasets": {},
            "excluded": {},
            "excluded_patterns": [],
        }
    except json.JSONDecodeError as err:
        raise DatasetFormatError(
            f"packaged zoo index is corrupt ({err}); reinstall hades_zoo."
        ) from err
    if data.get("index_version") != INDEX_VERSION:
        raise DatasetFormatError(
            f"zoo index version {data.get('index_version')!r} is not supported (reads "
            f"{INDEX_VERSION}); reinstall or upgrade hades_zoo."
        )
    return data


def _transfer_path():
    return _zoo_root() / TRANSFER_FILE


@functools.lru_cache(maxsize=1)
def _transfer() -> dict[str, Any]:
    """``{dataset_id: {"transfer_score", "transfer_top50_mean", "transfer_grid"}}`` on
    the packaged file's shown grid (empty when the file is absent)."""
    try:
        data = json.loads(_transfer_path().read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as err:
        raise DatasetFormatError(
            f"packaged transfer scores are corrupt ({err}); reinstall hades_zoo."
        ) from err
    grid = data.get("shown_grid")
    out = {}
    for dataset_id, by_grid in data.get("scores", {}).items():
        rec = by_grid.get(grid)
        if rec is not None:
            out[dataset_id] = {"transfer_score": rec.get("score"),
                               "transfer_top50_mean": rec.get("top50_mean"),
                               "transfer_grid": grid}
    return out


def refresh_transfer_scores() -> None:
    """Re-read the packaged transfer scores (after ``transfer_zoo`` rewrote them)."""
    _transfer.cache_clear()


def _entry(dataset_id: str, raw: dict[str, Any]) -> ZooEntry:
    raw = dict(raw)
    hub = raw.pop("hub", None)
    fields = {f.name for f in dataclasses.fields(ZooEntry)} - {
        "transfer_score", "transfer_top50_mean", "transfer_grid"}
    return ZooEntry(
        dataset_id=dataset_id,
        hub=HubRef(**hub) if hub else None,
        **{k: v for k, v in raw.items() if k in fields},
        **_transfer().get(dataset_id, {}),
    )


def entries() -> dict[str, ZooEntry]:
    """All registered entries by id (sorted)."""
    datasets = _index()["datasets"]
    return {i: _entry(i, datasets[i]) for i in sorted(datasets)}


def packaged_file(entry: ZooEntry):
    """The installed file of a zoo entry (a ``Traversable``), or None when it is not
    packaged (an entry that lives on the Hub)."""
    path = _zoo_root() / entry.file
    return path if path.is_file() else None


def list_datasets(pattern: str = "*") -> list[str]:
    """Sorted zoo ids matching a shell-style ``pattern`` (fnmatch, case-sensitive).

    Example: ``list_datasets("hopper-*")``, ``list_datasets("*-F-*")``.
    """
    return sorted(i for i in _index()["datasets"] if fnmatch.fnmatchcase(i, pattern))


def excluded_reason(dataset_id: str) -> str | None:
    """Why a published dataset is not in the zoo, or None."""
    index = _index()
    if dataset_id in index.get("excluded", {}):
        return index["excluded"][dataset_id]
    for rule in index.get("excluded_patterns", []):
        if fnmatch.fnmatchcase(dataset_id, rule["pattern"]):
            return rule["reason"]
    return None


def info(dataset_id: str) -> ZooEntry:
    """The registry entry of ``dataset_id``.

    Raises:
        UnknownDatasetError: malformed id (names the ``file:``/``hf:`` prefixes),
            an excluded dataset (with the reason), or an unknown id (with close
            matches).
    """
    datasets = _index()["datasets"]
    try:
        parse_dataset_id(dataset_id)  # malformed/path-like ids fail here with the hint
    except InvalidDatasetIdError as err:
        slips = slip_matches(dataset_id, datasets)
        if slips:
            raise InvalidDatasetIdError(
                f"{dataset_id!r} is not a valid dataset id; did you mean {slips[0]!r}? Zoo "
                "ids are case-sensitive: the env in lowercase, the variant 'F', 'R' or "
                "'RR' in upper case, fields joined by '-' (`hades-zoo list` shows them "
                "all)."
            ) from err
        raise
    if dataset_id in datasets:
        return _entry(dataset_id, datasets[dataset_id])
    reason = excluded_reason(dataset_id)
    if reason is not None:
        raise UnknownDatasetError(f"{dataset_id!r} is not in the zoo: {reason}")
    slips = slip_matches(dataset_id, datasets)
    hint = (f" Did you mean: {', '.join(slips)}?" if slips
            else close_matches(dataset_id, datasets))
    raise UnknownDatasetError(
        f"unknown dataset id {dataset_id!r}.{hint} "
        "List the zoo with `hades-zoo list` (or hades_zoo.zoo.registry.list_datasets()); "
        "load other sources with 'file:<path>' or 'hf:<owner>/<repo>[@revision]'."
    )


def _slip_key(text: str) -> str:
    """An id with case and separators erased: 'Hopper_r_64' and 'hopper-R-64' agree."""
    return re.sub(r"[\s_.\-]+", "", text.lower())


def slip_matches(text: str, ids) -> list[str]:
    """Zoo ids that ``text`` names up to case and separators (``-``, ``_``, ``.``, spaces).

    Example: ``slip_matches("Hopper-r-64", ids) == ["hopper-R-64"]``.
    """
    key = _slip_key(text)
    return sorted(i for i in ids if _slip_key(i) == key)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_zoo_dataset(dataset_id: str) -> SyntheticDataset:
    """Load a zoo dataset (packaged file, sha256-checked; else its Hub reference).

    Raises:
        UnknownDatasetError: see ``info``.
        DatasetFormatError: the packaged file is missing or fails its sha256 check.
        HubError: the Hub fetch failed (entries with a ``hub`` reference only).
    """
    entry = info(dataset_id)
    path = _zoo_root() / entry.file
    if path.is_file():
        data = path.read_bytes()
        digest = _sha256(data)
        if digest != entry.sha256:
            raise DatasetFormatError(
                f"packaged zoo file {entry.file} has sha256 {digest[:12]}... but the "
                f"index records {entry.sha256[:12]}...; the installation is corrupt: "
                "reinstall "
                "hades_zoo (`pip install --force-reinstall hades_zoo`)."
            )
        ds = dataset_from_bytes(data, source=f"hades_zoo/zoo/entries/{entry.file}")
        check_dataset_fits_env(ds)
        return ds
    if entry.hub is not None:
        from hades_zoo.hub import load_from_hub

        rev = f"@{entry.hub.revision}" if entry.hub.revision else ""
        return load_from_hub(
            f"hf:{entry.hub.repo_id}{rev}",
            filename=entry.hub.filename or entry.file,
            sha256=entry.sha256,
        )
    raise DatasetFormatError(
        f"zoo entry {dataset_id!r} points at {entry.file}, which is not in this "
        "installation and has no Hub location; reinstall hades_zoo."
    )
