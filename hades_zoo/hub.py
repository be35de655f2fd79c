"""Hub: dataset repos on the Hugging Face Hub (or a mirror) as a dataset source.

Layout of a dataset repo (``repo_type="dataset"``), written by :func:`save_pretrained`
and uploaded by :func:`push_to_hub` in one commit:

- ``<id>.safetensors``: the dataset (``hades_zoo.io``);
- ``README.md``: the dataset card (``hades_zoo.cards``), whose ``hades_zoo:`` block
  records the file name, its sha256 and ``format_version``;
- ``<id>.safetensors.sha256``: its sha256 (``sha256sum`` format), committed with it;
- ``recipe.yaml``: the recipe that regenerates the data;
- ``data/train-00000-of-00001.parquet``: one row per state-action pair, for
  ``datasets.load_dataset`` and the Hub viewer.

Reads (:func:`load_from_hub`, :func:`pull_from_hub`) go through huggingface_hub and
its cache, pin the commit the card was read at, and check the sha256 recorded in the
card; a mismatch is fetched again once with ``force_download`` and then raises
``HubError``. ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME`` / ``HF_HUB_CACHE`` are
read at call time (huggingface_hub itself reads them once, at import). Every
repo id, revision and file name is checked before any request. Nothing downloaded is
executed or unpickled: safetensors, YAML (safe loader) and JSON only.

This is the ``ModelHubMixin`` layering (``huggingface_hub/hub_mixin.py``) written for
dataset repos.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hades_zoo.cache import (
    atomic_write_bytes,
    cache_dir,
    hf_cache_dir,
    sha256_bytes,
    verify_sha256,
)
from hades_zoo.cards import PARQUET_FILE, RECIPE_FILE, card_block, render_card
from hades_zoo.errors import DatasetFormatError, HubError, HubSourceError
from hades_zoo.hub_refs import (
    HubSource,
    _check_repo_id,
    _check_revision,
    check_repo_filename,
    parse_hub_source,
)

__all__ = [
    "HubSource",
    "RepoFile",
    "PushResult",
    "PullResult",
    "parse_hub_source",
    "check_repo_filename",
    "save_pretrained",
    "from_pretrained",
    "push_to_hub",
    "pull_from_hub",
    "load_from_hub",
    "parquet_bytes",
]

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
CARD_FILE = "README.md"


@dataclasses.dataclass(frozen=True)
class RepoFile:
    """One file of a dataset repo: repo path, size in bytes and hex sha256."""

    path: str
    size: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What :func:`push_to_hub` uploaded (or, with ``dry_run``, would upload).

    Attributes:
        repo_id: target repo.
        revision: target branch (``None``: default branch).
        files: the files of the commit, sorted by path.
        card_kept: an existing README.md was left in place (not in ``files``).
        dry_run: nothing was uploaded.
        commit: the new commit sha (``None`` for a dry run).
        commit_url: URL of the commit (``None`` for a dry run).
        tag: tag created on the commit, if any.
    """

    repo_id: str
    revision: str | None
    files: tuple[RepoFile, ...]
    card_kept: bool
    dry_run: bool
    commit: str | None = None
    commit_url: str | None = None
    tag: str | None = None


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


# ----------------------------------------------------------------------- environment
def _endpoint() -> str:
    """HF_ENDPOINT at call time (huggingface_hub only reads it at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _offline() -> bool:
    """HF_HUB_OFFLINE at call time."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _timeout() -> float:
    """Seconds to wait for the Hub's answer to a metadata request."""
    try:
        return float(os.environ.get("HADES_ZOO_HUB_TIMEOUT", "10"))
    except ValueError:
        return 10.0


def _library() -> dict[str, str]:
    from importlib import metadata

    try:
        version = metadata.version("hades_zoo")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "0+unknown"
    return {"library_name": "hades_zoo", "library_version": version}


_ENDPOINT_LOCK = threading.Lock()


@contextlib.contextmanager
def _client_endpoint(endpoint: str) -> Iterator[None]:
    """Make huggingface_hub's import-time ENDPOINT constant match ``endpoint``.

    ``HfApi(endpoint=...)`` sends every request to ``endpoint``, but ``CommitInfo``
    parses the returned commit URL with ``RepoUrl(url)`` against the constant read at
    import; when HF_ENDPOINT changed since, a successful commit would surface as a
    ValueError. Held under a lock and restored on exit.
    """
    from huggingface_hub import constants

    with _ENDPOINT_LOCK:
        saved = constants.ENDPOINT
        constants.ENDPOINT = endpoint
        try:
            yield
        finally:
            constants.ENDPOINT = saved


def _api(token: str | None = None) -> Any:
    """An HfApi bound to the current endpoint."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=_endpoint(), token=token, **_library())


def _hub_error(err: BaseException, *, action: str, repo_id: str,
               revision: str | None = None, filename: str | None = None) -> HubError:
    """Translate a huggingface_hub / requests failure into a HubError naming the fix."""
    import requests
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision or 'main'}" + (f"/{filename}" if filename else "")
    head = f"{action} {where} at {_endpoint()}"
    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, (OfflineModeIsEnabled,)) or (
            isinstance(e, LocalEntryNotFoundError) and _offline()
        ):
            return HubError(
                f"{head}: offline (HF_HUB_OFFLINE=1) and the file is not in the cache "
                f"({hf_cache_dir()}); unset HF_HUB_OFFLINE and fetch it once "
                f"(`hades-zoo pull hf:{repo_id}`)."
            )
        if isinstance(e, GatedRepoError):
            return HubError(f"{head}: the repo is gated; request access on its Hub page "
                            "and set HF_TOKEN to a token of the approved account.")
        if isinstance(e, requests.HTTPError) and getattr(e, "response", None) is not None:
            status = e.response.status_code
            if status == 401:
                return HubError(
                    f"{head}: not authorised (401): the repo is private or does not "
                    "exist, or the token is invalid; set HF_TOKEN (or run "
                    "`huggingface-cli login`) and check the repo id."
                )
            if status == 403:
                return HubError(
                    f"{head}: forbidden (403): the token lacks permission (pushing needs "
                    "a token with write access to the namespace); use a write token or "
                    "ask the repo owner for access."
                )
            if status == 404 or isinstance(e, (RevisionNotFoundError, EntryNotFoundError)):
                if isinstance(e, RevisionNotFoundError):
                    what = f"revision {revision!r} does not exist; check the branch, tag or commit"
                elif isinstance(e, EntryNotFoundError):
                    what = f"file {filename!r} is not in the repo at this revision"
                else:
                    what = "dataset repo not found; check the repo id (is it a dataset repo?)"
                return HubError(f"{head}: not found (404): {what}.")
            if status == 429:
                return HubError(f"{head}: rate limited (429); wait a minute and retry.")
            if status >= 500:
                return HubError(
                    f"{head}: server error ({status}); the Hub or the mirror in "
                    "HF_ENDPOINT is failing, retry later or use another endpoint."
                )
            return HubError(f"{head}: HTTP {status}: {e}")
        if isinstance(e, requests.Timeout):
            return HubError(
                f"{head}: timed out; check the network and HF_ENDPOINT, or raise "
                "HADES_ZOO_HUB_TIMEOUT (seconds)."
            )
        if isinstance(e, requests.ConnectionError):
            return HubError(
                f"{head}: cannot connect; check the network and HF_ENDPOINT, or set "
                "HF_HUB_OFFLINE=1 to use cached files."
            )
    return HubError(f"{head} failed: {type(err).__name__}: {err}")


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
        DatasetFormatError: invalid dataset or dataset id.
    """
    from hades_zoo.io import dataset_to_bytes
    from hades_zoo.recipes import dump_recipe

    directory = Path(directory)
    data = dataset_to_bytes(ds)
    sha = sha256_bytes(data)
    card = render_card(ds, certificate=certificate, sha256=sha, repo_id=repo_id,
                       license=license)
    name = f"{ds.info.dataset_id}.safetensors"
    contents = {
        name: data,
        f"{name}.sha256": f"{sha}  {name}\n".encode(),
        CARD_FILE: str(card).encode(),
        RECIPE_FILE: dump_recipe(ds.recipe).encode(),
        PARQUET_FILE: parquet_bytes(ds),
    }
    files = []
    for rel, content in sorted(contents.items()):
        atomic_write_bytes(directory / rel, content)
        files.append(RepoFile(rel, len(content), sha256_bytes(content)))
    logger.info("wrote %s (%d files)", directory, len(files))
    return tuple(files)


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
        found = sorted(directory.glob("*.safetensors"))
        if len(found) != 1:
            raise DatasetFormatError(
                f"{directory}: expected one .safetensors file (or a README.md card naming "
                f"it), found {len(found)}; pass filename=."
            )
        return found[0], None
    check_repo_filename(filename)
    sidecar = directory / f"{filename}.sha256"
    if sidecar.is_file():  # committed with the file; a kept card may be older
        recorded = (sidecar.read_text().split() or [recorded])[0]
    return directory / filename, recorded


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
    from hades_zoo.io import dataset_from_bytes

    text = str(dir_or_repo)
    if not text.startswith("hf:"):
        path = Path(dir_or_repo)
        if path.is_dir():
            file, recorded = _local_dataset_file(path, filename)
            try:
                data = file.read_bytes()
            except OSError as err:
                raise DatasetFormatError(f"cannot read {file}: {err.strerror}.") from err
            expected = sha256 or recorded
            if expected:
                verify_sha256(data, expected, source=str(file))
            return dataset_from_bytes(data, source=str(file))
        if path.is_file():
            from hades_zoo.io import load_dataset_file

            return load_dataset_file(path)
        if isinstance(dir_or_repo, Path) or text.startswith((".", "/", "~")):
            raise DatasetFormatError(f"{text}: no such folder; check the path.")
    return load_from_hub(text, filename=filename, sha256=sha256)


def push_to_hub(
    ds: Any,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    private: bool = False,
    token: str | None = None,
    dry_run: bool = False,
    overwrite_card: bool = False,
    commit_message: str | None = None,
    certificate: dict[str, Any] | None = None,
) -> PushResult:
    """Upload ``ds`` to a Hub dataset repo in one commit.

    Creates the repo (``exist_ok``) and the branch ``revision`` if missing, writes
    :func:`save_pretrained` into a temporary folder and uploads it with one
    ``upload_folder`` commit; an existing README.md card is kept unless
    ``overwrite_card``. ``tag`` then tags that commit.

    Args:
        ds: a ``SyntheticDataset`` with a recipe.
        repo_id: ``org/name``.
        revision: target branch (default: the repo's default branch).
        tag: tag to create on the new commit (e.g. ``v1``).
        private: create the repo private (ignored when it exists).
        token: Hub token (default: ``HF_TOKEN`` / the saved login).
        dry_run: list what would be uploaded and upload nothing (one read-only
            request checks for an existing card unless ``overwrite_card``).
        overwrite_card: replace an existing README.md.
        commit_message: default ``Upload <id> with hades_zoo``.
        certificate: reproduction certificate for the card.

    Returns:
        PushResult (files with sizes and sha256; commit sha unless dry run).

    Raises:
        HubSourceError: invalid repo id, revision or tag (before any request).
        DatasetFormatError: invalid dataset.
        HubError: the Hub refused or failed a request (401/403/404/5xx/timeout).
    """
    _check_repo_id(repo_id)
    _check_revision(revision)
    _check_revision(tag, "tag")
    api = _api(token)
    with tempfile.TemporaryDirectory(prefix="hades_zoo-push-") as tmp:
        files = save_pretrained(ds, tmp, certificate=certificate, repo_id=repo_id)
        try:
            if not dry_run:
                api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
                if revision is not None:
                    api.create_branch(repo_id, branch=revision, repo_type="dataset",
                                      exist_ok=True)
            card_kept = not overwrite_card and _remote_card_exists(api, repo_id, revision)
            uploaded = tuple(f for f in files if not (card_kept and f.path == CARD_FILE))
            if dry_run:
                logger.info("dry run: would upload %d files to %s", len(uploaded), repo_id)
                return PushResult(repo_id, revision, uploaded, card_kept, True, tag=tag)
            with _client_endpoint(api.endpoint):
                info = api.upload_folder(
                    folder_path=tmp,
                    repo_id=repo_id,
                    repo_type="dataset",
                    revision=revision,
                    commit_message=commit_message
                    or f"Upload {ds.info.dataset_id} with hades_zoo",
                    ignore_patterns=[CARD_FILE] if card_kept else None,
                )
            if tag is not None:
                api.create_tag(repo_id, tag=tag, revision=info.oid, repo_type="dataset")
        except HubError:
            raise
        except Exception as err:
            if isinstance(err, DatasetFormatError):
                raise
            raise _hub_error(err, action="push to", repo_id=repo_id,
                             revision=revision) from err
    logger.info("pushed %s to %s@%s (commit %s)", ds.info.dataset_id, repo_id,
                revision or "main", info.oid)
    return PushResult(repo_id, revision, uploaded, card_kept, False, commit=info.oid,
                      commit_url=str(info.commit_url), tag=tag)


def _remote_card_exists(api: Any, repo_id: str, revision: str | None) -> bool:
    """Whether the repo already has a README.md at ``revision`` (False if no repo)."""
    return bool(api.file_exists(repo_id, CARD_FILE, repo_type="dataset",
                                revision=revision))


# ----------------------------------------------------------------------- reading
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
    from hades_zoo.io import dataset_from_bytes

    src, commit, filename, data, _ = _fetch_verified(source, filename, sha256)
    return dataset_from_bytes(data, source=f"hf:{src.repo_id}@{commit}/{filename}")


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
        Same as :func:`load_from_hub`.
    """
    from hades_zoo.io import dataset_from_bytes

    src, commit, filename, data, sha = _fetch_verified(source, filename, sha256)
    dataset_from_bytes(data, source=f"hf:{src.repo_id}@{commit}/{filename}")
    org, name = src.repo_id.split("/")
    directory = Path(out) if out is not None else (
        cache_dir() / "hub" / f"datasets--{org}--{name}" / commit)
    written = [atomic_write_bytes(directory / filename, data)]
    for extra in (CARD_FILE, RECIPE_FILE, f"{filename}.sha256"):
        try:
            extra_path = _download(src, extra, commit)
        except HubError as err:
            if "not found (404)" in str(err) or "offline" in str(err):
                continue
            raise
        written.append(atomic_write_bytes(directory / extra, extra_path.read_bytes()))
    logger.info("pulled hf:%s@%s into %s", src.repo_id, commit, directory)
    return PullResult(f"hf:{src.repo_id}@{commit}", commit, directory, written[0], sha,
                      tuple(written))
