"""A dataset repo as a local folder: ``save_pretrained`` writes it, ``from_pretrained`` reads
it (or a Hub repo) back with its sha256 checked; ``parquet_bytes`` is the viewer table.

The dataset, its sidecar and its card change as one step (:func:`write_folder`). Each
file is replaced atomically (temporary file + ``os.replace``) and a reader checks the
dataset ``F`` against the sha256 its sidecar ``F.sha256`` lists (the card's when there
is no sidecar). Replacing dataset A by B (card CA by CB) goes:

1. every other file (``recipe.yaml``, parquet, ``curve.png``, ...);
2. the sidecar lists both: ``B`` and ``A`` (the update in flight);
3. the dataset becomes B;
4. the card becomes CB;
5. the sidecar lists ``B`` alone.

The file on disk is A or B and the sidecar lists it at every instant, so a folder left
by any stop (Ctrl-C, SIGKILL, a full disk) loads and verifies. Between steps 2 and 5 it
is not *settled* (the card may still name A): :func:`check_folder_settled` refuses to
publish it, and the next write (re-running ``distill``) settles it. An unchanged
dataset is not rewritten.
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

__all__ = ["RepoFile", "parquet_bytes", "repo_contents", "write_folder", "save_pretrained",
           "from_pretrained", "check_folder_settled", "local_dataset_file"]


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


def repo_contents(
    ds: Any,
    *,
    certificate: dict[str, Any] | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
) -> tuple[str, dict[str, bytes]]:
    """The files of a dataset repo folder, without writing them.

    Returns:
        ``(dataset file name, {repo path: content})``: the ``.safetensors`` file, its
        README.md card, recipe.yaml and parquet (the sidecar is :func:`write_folder`'s).

    Raises:
        DatasetFormatError: invalid dataset.
        UnsafeNameError: a dataset id that cannot be a file name.
    """
    from hades_zoo.data.dataset import dataset_to_bytes
    from hades_zoo.data.recipe_io import dump_recipe

    name = dataset_filename(ds.info.dataset_id)
    data = dataset_to_bytes(ds)
    card = render_card(ds, certificate=certificate, sha256=sha256_bytes(data),
                       repo_id=repo_id, license=license)
    return name, {
        name: data,
        CARD_FILE: str(card).encode(),
        RECIPE_FILE: dump_recipe(ds.recipe).encode(),
        PARQUET_FILE: parquet_bytes(ds),
    }


def _sidecar(shas: list[str], name: str) -> bytes:
    return "".join(f"{sha}  {name}\n" for sha in shas).encode()


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def write_folder(directory: str | Path, contents: dict[str, bytes], *,
                 dataset_file: str | None = None) -> tuple[RepoFile, ...]:
    """Write ``contents`` into ``directory`` so that the dataset, its ``.sha256``
    sidecar and the card change as one step (the order in the module docstring).

    Args:
        directory: the folder (created); other files in it are left alone.
        contents: repo path -> bytes; with ``dataset_file``, holds that file.
        dataset_file: the dataset's repo path; its sidecar is written here.

    Returns:
        The files written or kept as they were (repo path, size, sha256), by path.
    """
    directory = Path(directory)
    last = {CARD_FILE}
    data = sha = sidecar = None
    if dataset_file is not None:
        data = contents[dataset_file]
        sha = sha256_bytes(data)
        sidecar = f"{dataset_file}.sha256"
        last |= {dataset_file, sidecar}
    # every path through the one gate, before the first file is written
    paths = {rel: repo_path(directory, rel)
             for rel in [*contents, *([sidecar] if sidecar else [])]}
    for rel in sorted(contents):
        if rel not in last:
            atomic_write_bytes(paths[rel], contents[rel])
    out = {rel: content for rel, content in contents.items()}
    if dataset_file is not None:
        target = paths[dataset_file]
        old = _read_or_none(target)
        old_sha = sha256_bytes(old) if old is not None else None
        if old_sha != sha:
            atomic_write_bytes(paths[sidecar],
                               _sidecar([sha] + ([old_sha] if old_sha else []), dataset_file))
            atomic_write_bytes(target, data)
    if CARD_FILE in contents:
        atomic_write_bytes(paths[CARD_FILE], contents[CARD_FILE])
    if dataset_file is not None:
        settled = _sidecar([sha], dataset_file)
        if _read_or_none(paths[sidecar]) != settled:
            atomic_write_bytes(paths[sidecar], settled)
        out[sidecar] = settled
    files = tuple(RepoFile(rel, len(c), sha256_bytes(c)) for rel, c in sorted(out.items()))
    logger.info("wrote %s (%d files)", directory, len(files))
    return files


def save_pretrained(
    ds: Any,
    directory: str | Path,
    *,
    certificate: dict[str, Any] | None = None,
    repo_id: str | None = None,
    license: str = "apache-2.0",
) -> tuple[RepoFile, ...]:
    """Write a dataset repo folder: safetensors (+ sha256 sidecar), README.md card,
    recipe.yaml, parquet.

    Args:
        ds: a ``SyntheticDataset`` with a recipe.
        directory: output folder (created); existing files of the same names are
            replaced (the dataset, sidecar and card as one step: module docstring),
            other files are left alone.
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
    name, contents = repo_contents(ds, certificate=certificate, repo_id=repo_id,
                                   license=license)
    return write_folder(directory, contents, dataset_file=name)


def local_dataset_file(directory: Path, filename: str | None = None
                       ) -> tuple[Path, tuple[str, ...] | None]:
    """The dataset file of a save_pretrained folder and the sha256s recorded for it
    (None when neither a card nor a sidecar records one: ``verify`` then says so).
    """
    file, recorded = _local_dataset_file(Path(directory), filename)
    return file, (recorded or None)


def _sidecar_shas(path: Path) -> list[str]:
    """The sha256s a ``<file>.sha256`` sidecar lists (first word of each line)."""
    return [line.split()[0] for line in path.read_text(errors="replace").splitlines()
            if line.split()]


def _local_dataset_file(directory: Path, filename: str | None
                        ) -> tuple[Path, tuple[str, ...]]:
    """The dataset file of a save_pretrained folder and the sha256s it may have.

    They come from the ``<file>.sha256`` sidecar (two while an update is in flight,
    module docstring), else from the card; none when neither records one.
    """
    card = directory / CARD_FILE
    recorded: tuple[str, ...] = ()
    if card.is_file():
        try:
            block = card_block(card.read_text(encoding="utf-8"))
        except DatasetFormatError:
            block = {}
        if filename is None or block.get("file") == filename:
            filename = filename or block.get("file")
            recorded = tuple(s for s in [block.get("sha256")] if s)
    if filename is None:
        # a distill --out folder also holds its resume state (and, for the ES
        # baseline, policy params): neither is a dataset
        found = sorted(p for p in directory.glob("*.safetensors")
                       if p.name not in NOT_DATASETS)
        if len(found) != 1:
            raise DatasetFormatError(_not_one_dataset(directory, found))
        filename = found[0].name
    check_repo_filename(filename)
    sidecar = repo_path(directory, f"{filename}.sha256")
    if sidecar.is_file():  # written with the file; a kept card may be older
        recorded = tuple(_sidecar_shas(sidecar)) or recorded
    return repo_path(directory, filename), recorded


def _not_one_dataset(directory: Path, found: list[Path]) -> str:
    """Why a folder without a card naming its dataset has no one dataset file, and the
    fix in both forms a caller may use (a CLI user cannot pass ``filename=``)."""
    where = show_path(str(directory))
    if not found:
        return (f"{where} is a folder without a dataset: a dataset folder holds one "
                ".safetensors dataset file (or a README.md card naming it), this one none. "
                "Give a dataset file's path, or the folder `hades-zoo distill --out`, "
                "`hades-zoo pull --out` or save_pretrained wrote.")
    names = ", ".join(p.name for p in found[:4]) + (", ..." if len(found) > 4 else "")
    return (f"{where}: {len(found)} .safetensors files ({names}) and no README.md card "
            "naming the dataset; say which one: its path on the command line (e.g. "
            f"{show_path(str(found[0]))}), filename={found[0].name!r} in Python.")


def check_folder_settled(directory: str | Path) -> None:
    """Refuse a folder whose dataset, sidecar and card are not one settled version.

    A folder is settled when its sidecar lists one sha256, the card records the same,
    and the dataset file has it: what ``push`` publishes (a Hub pull refuses a
    sidecar and card that disagree). Only a stop in the middle of
    :func:`write_folder` leaves a folder unsettled; it still loads.

    Raises:
        DatasetFormatError: the folder is not settled (the message says how to settle
            it).
    """
    from hades_zoo.data.cache import sha256_file

    directory = Path(directory)
    file, _ = _local_dataset_file(directory, None)
    sidecar = directory / f"{file.name}.sha256"
    listed = _sidecar_shas(sidecar) if sidecar.is_file() else []
    block = {}
    if (directory / CARD_FILE).is_file():
        try:
            block = card_block((directory / CARD_FILE).read_text(encoding="utf-8"))
        except DatasetFormatError:
            block = {}
    carded = block.get("sha256") if block.get("file") == file.name else None
    actual = sha256_file(file)
    if len(listed) > 1 or (listed and listed[0] != actual) or (
            carded is not None and carded != actual):
        raise DatasetFormatError(
            f"{directory}: {file.name}, its sidecar {sidecar.name} and the README.md card "
            "are from two different checkpoints (a run stopped while writing them); run "
            "the same `hades-zoo distill` command again to finish the entry (it resumes "
            "and rewrites them), then push."
        )


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
            expected = (sha256,) if sha256 else recorded
            if expected and sha256_bytes(data) not in {e.lower() for e in expected}:
                verify_sha256(data, expected[0], source=str(file))
            return _checked(dataset_from_bytes(data, source=str(file)))
        if os.path.lexists(path) or text.endswith(".safetensors"):
            # a file; a FIFO, device, link, missing file or too long a name: the
            # reader names it
            return _checked(read_dataset_file(path))
        if isinstance(dir_or_repo, Path) or text.startswith((".", "/", "~")):
            raise DatasetFormatError(f"{show_path(text)}: no such folder; check the path.")
    return load_from_hub(text, filename=filename, sha256=sha256)
