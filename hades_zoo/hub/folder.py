"""A dataset repo as a local folder: ``save_pretrained`` writes it, ``from_pretrained`` reads
it (or a Hub repo) back with its sha256 checked; ``parquet_bytes`` is the viewer table.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import (
    atomic_write_bytes,
    sha256_bytes,
    verify_sha256,
)
from hades_zoo.data.dataset import dataset_from_bytes, read_dataset_file
from hades_zoo.data.untrusted import (
    MAX_DATASET_BYTES,
    is_dir,
    read_regular_file,
    show_path,
)
from hades_zoo.errors import DatasetFormatError
from hades_zoo.hub.cards import (
    PARQUET_FILE,
    RECIPE_FILE,
    card_block,
    dataset_filename,
    render_card,
)
from hades_zoo.hub.client import CARD_FILE
from hades_zoo.hub.pull import _checked, load_from_hub
from hades_zoo.hub.refs import (
    check_repo_filename,
    repo_path,
)

logger = logging.getLogger(__name__)

#: .safetensors files of a distill --out folder that are not datasets.
NOT_DATASETS = ("checkpoint.safetensors", "policy.safetensors")

__all__ = ["RepoFile", "parquet_bytes", "save_pretrained", "from_pretrained",
           "local_dataset_file"]


@dataclasses.dataclass(frozen=True)
class RepoFile:
    """One file of a dataset repo: repo path, size in bytes and hex sha256."""

    path: str
    size: int
    sha256: str


# ----------------------------------------------------------------------- writing
def parquet_bytes(ds: Any) -> bytes:
    """The dataset as parquet: one row per state-action pair.

    Columns: ``index`` (int32), ``state`` (list of float32), ``action`` (list of
    float32) or ``label`` (int32), ``label_logits`` (list of float32, when learned),
    ``mask`` (bool; all true when the dataset has no mask).

    Args:
        ds: a ``SyntheticDataset``.

    Returns:
        Parquet file content.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    def rows(matrix: np.ndarray) -> pa.Array:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        offsets = np.arange(0, matrix.size + 1, matrix.shape[1], dtype=np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.reshape(-1)))

    arrays = ds.arrays()
    d = ds.size
    columns: dict[str, pa.Array] = {
        "index": pa.array(np.arange(d, dtype=np.int32)),
        "state": rows(arrays["states"]),
    }
    if "actions" in arrays:
        columns["action"] = rows(arrays["actions"])
    if "labels" in arrays:
        columns["label"] = pa.array(arrays["labels"].astype(np.int32))
    if "label_logits" in arrays:
        columns["label_logits"] = rows(arrays["label_logits"])
    mask = arrays.get("mask", np.ones((d,), bool))
    columns["mask"] = pa.array(mask.astype(bool))
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf)
    return buf.getvalue()


def save_pretrained(
    ds: Any,
    directory: str | Path,
    *,
    certificate: dict[str, Any] | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
) -> tuple[RepoFile, ...]:
    """Write a dataset repo folder: safetensors, README.md card, recipe.yaml, parquet.

    Args:
        ds: a ``SyntheticDataset`` with a recipe.
        directory: output folder (created); existing files of the same names are
            replaced atomically, other files are left alone.
        certificate: reproduction certificate for the card (default: the one in
            ``ds.info.provenance``).
        repo_id: Hub repo id for the card's usage snippet.
        license: card license.

    Returns:
        The files written (repo path, size, sha256), sorted by path.

    Raises:
        DatasetFormatError: invalid dataset.
        UnsafeNameError: a dataset id that cannot name a file (``../x``, ``/abs``,
            over 200 characters...); nothing is written.
    """
    from hades_zoo.data.dataset import dataset_to_bytes
    from hades_zoo.data.recipe_io import dump_recipe

    directory = Path(directory)
    data = dataset_to_bytes(ds)
    sha = sha256_bytes(data)
    card = render_card(ds, certificate=certificate, sha256=sha, repo_id=repo_id,
                       license=license)
    name = dataset_filename(ds.info.dataset_id)
    contents = {
        name: data,
        f"{name}.sha256": f"{sha}  {name}\n".encode(),
        CARD_FILE: str(card).encode(),
        RECIPE_FILE: dump_recipe(ds.recipe).encode(),
        PARQUET_FILE: parquet_bytes(ds),
    }
    # every path through the one gate, before the first file is written
    paths = {rel: repo_path(directory, rel) for rel in contents}
    files = []
    for rel, content in sorted(contents.items()):
        atomic_write_bytes(paths[rel], content)
        files.append(RepoFile(rel, len(content), sha256_bytes(content)))
    logger.info("wrote %s (%d files)", directory, len(files))
    return tuple(files)


def local_dataset_file(directory: Path, filename: str | None = None
                       ) -> tuple[Path, str | None]:
    """The dataset file of a save_pretrained folder and its recorded sha256 (None when
    neither a card nor a sidecar records one: ``verify`` then says so).

    The sha256 comes from the ``<file>.sha256`` sidecar, else from the card.
    """
    return _local_dataset_file(Path(directory), filename)


def _local_dataset_file(directory: Path, filename: str | None) -> tuple[Path, str | None]:
    """The dataset file of a save_pretrained folder and its recorded sha256.

    The sha256 comes from the ``<file>.sha256`` sidecar, else from the card.
    """
    card = directory / CARD_FILE
    recorded = None
    if card.is_file():
        try:
            block = card_block(card.read_text(encoding="utf-8"))
        except DatasetFormatError:
            block = {}
        if filename is None or block.get("file") == filename:
            filename = filename or block.get("file")
            recorded = block.get("sha256")
    if filename is None:
        # a distill --out folder also holds its resume state (and, for the ES
        # baseline, policy params): neither is a dataset
        found = sorted(p for p in directory.glob("*.safetensors")
                       if p.name not in NOT_DATASETS)
        if len(found) != 1:
            raise DatasetFormatError(
                f"{directory}: expected one .safetensors file (or a README.md card naming "
                f"it), found {len(found)}; pass filename=."
            )
        return found[0], None
    check_repo_filename(filename)
    sidecar = repo_path(directory, f"{filename}.sha256")
    if sidecar.is_file():  # committed with the file; a kept card may be older
        recorded = (sidecar.read_text().split() or [recorded])[0]
    return repo_path(directory, filename), recorded


def from_pretrained(
    dir_or_repo: str | Path,
    *,
    filename: str | None = None,
    sha256: str | None = None,
) -> Any:
    """Load a dataset from a :func:`save_pretrained` folder or a Hub dataset repo.

    Args:
        dir_or_repo: an existing folder, or ``hf:<org>/<name>[@rev]`` /
            ``<org>/<name>[@rev]`` (read through :func:`load_from_hub`).
        filename: the ``.safetensors`` file (default: the one the card names).
        sha256: expected hex sha256 (default: the card's).

    Returns:
        The verified ``SyntheticDataset``.

    Raises:
        DatasetFormatError: unreadable, altered (sha256) or invalid file.
        HubError: Hub failures (see :func:`load_from_hub`).
    """
    text = str(dir_or_repo)
    if not text.startswith("hf:"):
        path = Path(dir_or_repo)
        if is_dir(path):
            file, recorded = _local_dataset_file(path, filename)
            data = read_regular_file(file, what="dataset", error=DatasetFormatError,
                                     max_bytes=MAX_DATASET_BYTES)
            expected = sha256 or recorded
            if expected:
                verify_sha256(data, expected, source=str(file))
            return _checked(dataset_from_bytes(data, source=str(file)))
        if os.path.lexists(path) or text.endswith(".safetensors"):
            # a file; a FIFO, device, link, missing file or too long a name: the
            # reader names it
            return _checked(read_dataset_file(path))
        if isinstance(dir_or_repo, Path) or text.startswith((".", "/", "~")):
            raise DatasetFormatError(f"{show_path(text)}: no such folder; check the path.")
    return load_from_hub(text, filename=filename, sha256=sha256)
