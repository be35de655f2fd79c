"""Download: ``load_from_hub`` and ``pull_from_hub`` read a dataset repo at a pinned commit
through huggingface_hub's cache and check the sha256 its card records.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import (
    atomic_write_bytes,
    cache_dir,
    hf_cache_dir,
    verify_sha256,
)
from hades_zoo.data.dataset import dataset_from_bytes
from hades_zoo.data.paths import child_path
from hades_zoo.engine.envs import check_dataset_fits_env
from hades_zoo.errors import DatasetFormatError, HubError, HubSourceError
from hades_zoo.hub.cards import RECIPE_FILE, card_block
from hades_zoo.hub.client import (
    CARD_FILE,
    _endpoint,
    _hub_error,
    _library,
    _offline,
    _timeout,
)
from hades_zoo.hub.refs import (
    HubSource,
    check_repo_filename,
    parse_hub_source,
    repo_path,
)

logger = logging.getLogger(__name__)

__all__ = ["PullResult", "load_from_hub", "pull_from_hub"]


@dataclasses.dataclass(frozen=True)
class PullResult:
    """Files :func:`pull_from_hub` wrote after checking them.

    Attributes:
        source: the source as pulled (``hf:org/name@commit``).
        commit: the commit sha the files were read at.
        directory: where the files were written.
        dataset_file: path of the verified ``.safetensors`` file.
        sha256: its sha256.
        files: every file written.
    """

    source: str
    commit: str
    directory: Path
    dataset_file: Path
    sha256: str
    files: tuple[Path, ...]


# ----------------------------------------------------------------------- reading
def _checked(ds):
    """A dataset read from a folder or the Hub, checked against its env."""
    check_dataset_fits_env(ds)
    return ds


def _download(src: HubSource, filename: str, revision: str | None, *,
              force: bool = False) -> Path:
    """hf_hub_download with the call-time endpoint, cache and offline switch."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(
            src.repo_id, filename, repo_type="dataset", revision=revision,
            endpoint=_endpoint(), cache_dir=hf_cache_dir(), local_files_only=_offline(),
            force_download=force, etag_timeout=_timeout(), **_library(),
        ))
    except Exception as err:
        raise _hub_error(err, action="download", repo_id=src.repo_id, revision=revision,
                         filename=filename) from err


def _commit_of(path: Path, filename: str) -> str:
    """The commit sha of a huggingface_hub snapshot path ``.../snapshots/<sha>/<file>``."""
    return path.parts[-(len(filename.split("/")) + 1)]


def _expected_sha(src: HubSource, revision: str, filename: str | None,
                  sha256: str | None) -> tuple[str, str, str]:
    """(revision, filename, sha256): the file the card names and its recorded sha256.

    The sha256 comes from the ``<file>.sha256`` sidecar, which is committed together
    with the file, else from the card's ``hades_zoo`` block (a card kept by
    ``push_to_hub(overwrite_card=False)`` may describe an older upload). When the
    card is read, the returned revision is the commit it was read at, so every file
    is fetched from that one commit even if the branch moves meanwhile.
    """
    block: dict[str, Any] = {}
    if filename is None:
        try:
            card_path = _download(src, CARD_FILE, revision)
        except HubError as err:
            if "not found (404)" in str(err) and "is not in the repo" in str(err):
                raise HubError(
                    f"hf:{src.repo_id}@{revision}: the repo has no README.md dataset card "
                    "naming the dataset file; pass filename= and sha256=, or re-push it "
                    "with `hades-zoo push`."
                ) from err
            raise
        revision = _commit_of(card_path, CARD_FILE)
        try:
            block = card_block(card_path.read_text(encoding="utf-8"))
        except DatasetFormatError as err:
            raise HubError(f"hf:{src.repo_id}@{revision}: {err}") from err
        filename = block.get("file")
        if not isinstance(filename, str):
            raise HubError(
                f"hf:{src.repo_id}@{revision}: the card's hades_zoo block names no "
                "dataset file; pass filename= and sha256= or re-push with `hades-zoo push`."
            )
    check_repo_filename(filename)
    if sha256 is None:
        try:
            side = _download(src, f"{filename}.sha256", revision).read_text().split()
            sha256 = side[0] if side else None
        except HubError as err:
            if "not found (404)" not in str(err) and "offline" not in str(err):
                raise
    if sha256 is None and block.get("file") == filename and block.get("sha256"):
        sha256 = str(block["sha256"])
    if sha256 is None or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise HubError(
            f"hf:{src.repo_id}@{revision}: no valid sha256 recorded for {filename!r} "
            "(a .sha256 sidecar or the card's hades_zoo.sha256); refusing to load an "
            "unverified file. Pass sha256= or re-push with `hades-zoo push`."
        )
    return revision, filename, sha256.lower()


def _fetch_verified(source: str | HubSource, filename: str | None,
                    sha256: str | None) -> tuple[HubSource, str, str, bytes, str]:
    """Download and sha256-check the dataset file: (src, commit, filename, data, sha)."""
    src = source if isinstance(source, HubSource) else parse_hub_source(source)
    if filename is not None:
        check_repo_filename(filename)
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise HubSourceError(f"sha256 {sha256!r} is not 64 hex digits.")
    revision = src.revision or "main"
    if filename is None or sha256 is None:
        revision, filename, sha256 = _expected_sha(src, revision, filename, sha256)
    path = _download(src, filename, revision)
    commit = _commit_of(path, filename)
    for attempt in (1, 2):
        data = path.read_bytes()
        try:
            verify_sha256(data, sha256, source=f"hf:{src.repo_id}@{commit}/{filename}")
            return src, commit, filename, data, sha256
        except DatasetFormatError as err:
            if attempt == 2 or _offline():
                fix = ("unset HF_HUB_OFFLINE so it can be fetched again" if _offline()
                       else "the repo file does not match its card: pin a revision "
                       "(hf:org/name@<commit>) or ask the owner to re-push")
                raise HubError(f"{err} Fetched {attempt} time(s); {fix}.") from err
            logger.warning("%s; downloading it again", err)
            path = _download(src, filename, commit, force=True)
    raise AssertionError("unreachable")  # pragma: no cover


def load_from_hub(source: str | HubSource, *, filename: str | None = None,
                  sha256: str | None = None) -> Any:
    """Load a dataset from a Hub dataset repo, sha256-checked.

    Reusable by a registry that records ``repo_id``, ``revision``, ``filename`` and
    ``sha256``: pass them and the card is not read.

    Args:
        source: ``hf:<org>/<name>[@revision]`` (branch, tag or commit) or a HubSource.
        filename: the ``.safetensors`` file in the repo (default: the card's).
        sha256: its expected hex sha256 (default: the card's, else a sidecar).

    Returns:
        The ``SyntheticDataset``.

    Raises:
        HubSourceError: malformed repo id, revision, file name or sha256.
        HubError: Hub failures, offline with an empty cache, no recorded sha256, or a
            sha256 mismatch that persists after one forced re-download.
        DatasetFormatError: unsupported ``format_version`` or invalid arrays.
    """
    src, commit, filename, data, _ = _fetch_verified(source, filename, sha256)
    return _checked(dataset_from_bytes(data, source=f"hf:{src.repo_id}@{commit}/{filename}"))


def pull_from_hub(source: str | HubSource, *, out: str | Path | None = None,
                  filename: str | None = None, sha256: str | None = None) -> PullResult:
    """Download a dataset repo's files, check them and copy them to a folder.

    Args:
        source: ``hf:<org>/<name>[@revision]``.
        out: destination folder (default:
            ``cache_dir()/hub/datasets--<org>--<name>/<commit>``).
        filename, sha256: as in :func:`load_from_hub`.

    Returns:
        PullResult with the verified dataset file, the card and the recipe (when the
        repo has them), each written atomically.

    Raises:
        Same as :func:`load_from_hub`; UnsafeNameError (nothing written) for a dataset
        whose id, or a repo file whose name, cannot be a local file name.
    """
    src, commit, filename, data, sha = _fetch_verified(source, filename, sha256)
    _checked(dataset_from_bytes(data, source=f"hf:{src.repo_id}@{commit}/{filename}"))
    org, name = src.repo_id.split("/")
    directory = Path(out) if out is not None else child_path(
        child_path(cache_dir() / "hub", f"datasets--{org}--{name}", what="Hub repo id"),
        commit, what="commit")
    extras = (CARD_FILE, RECIPE_FILE, f"{filename}.sha256")
    # every local name through the one gate before the first file is written
    local = {rel: repo_path(directory, rel) for rel in (filename, *extras)}
    written = [atomic_write_bytes(local[filename], data)]
    for extra in extras:
        try:
            extra_path = _download(src, extra, commit)
        except HubError as err:
            if "not found (404)" in str(err) or "offline" in str(err):
                continue
            raise
        written.append(atomic_write_bytes(local[extra], extra_path.read_bytes()))
    logger.info("pulled hf:%s@%s into %s", src.repo_id, commit, directory)
    return PullResult(f"hf:{src.repo_id}@{commit}", commit, directory, written[0], sha,
                      tuple(written))
