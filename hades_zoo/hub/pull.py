"""Download: ``load_from_hub`` and ``pull_from_hub`` read a dataset repo at a pinned commit
through huggingface_hub's cache and check the sha256 its card records.

A cached file that is damaged (an emptied or truncated blob: its content no longer
matches the etag huggingface_hub named it by, or it does not parse) is fetched again
once with ``force_download``; the card and the ``<file>.sha256`` sidecar must agree on
the sha256; when huggingface_hub cannot answer (offline, server down) a copy written
by ``pull`` (``hades_zoo.hub.pulled``) is read instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import (
    atomic_write_bytes,
    hf_cache_dir,
    storage_error,
    verify_sha256,
)
from hades_zoo.data.dataset import dataset_from_bytes
from hades_zoo.engine.envs import check_dataset_fits_env
from hades_zoo.errors import DatasetFormatError, HubError, HubSourceError, StorageError
from hades_zoo.hub.cards import RECIPE_FILE
from hades_zoo.hub.client import (
    CARD_FILE,
    _endpoint,
    _hub_error,
    _is_commit,
    _library,
    _offline,
    _tagged,
    _timeout,
    _unreachable,
    hf_repo_cache,
)
from hades_zoo.hub.pulled import pulled_folder, read_pulled, record_ref
from hades_zoo.hub.recorded import agreed_sha256, parse_card, parse_sidecar
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


#: Failures that huggingface_hub's cache could not answer but a pulled copy can.
_UNREACHABLE = ("offline", "connection", "timeout", "server", "rate_limited")


def _download(src: HubSource, filename: str, revision: str | None, *,
              force: bool = False, repo_type: str = "dataset") -> Path:
    """hf_hub_download with the call-time endpoint, cache and offline switch.

    A Hub that cannot be reached (``client._unreachable``: refused, DNS failure, no
    answer within ``HADES_ZOO_HUB_TIMEOUT``) fails at once, without huggingface_hub's
    retries: the file comes from huggingface_hub's cache if it holds it (as
    huggingface_hub itself answers a failed request), else the HubError says
    ``cannot connect`` / ``timed out``. A connection dropped without an answer is
    tried once more (a read is idempotent, and an HTTP client reusing a keep-alive
    connection the server just closed, as uvicorn does after 5 idle seconds, sees
    exactly that); timeouts and HTTP errors are not retried here (huggingface_hub
    retries what it deems transient).

    Raises:
        HubError: as ``client._hub_error`` words it (reason set).
        StorageError: huggingface_hub's cache cannot be written.
    """
    import time

    from huggingface_hub import hf_hub_download

    def fetch(local_only: bool) -> Path:
        return Path(hf_hub_download(
            src.repo_id, filename, repo_type=repo_type, revision=revision,
            endpoint=_endpoint(), cache_dir=hf_cache_dir(),
            local_files_only=local_only, force_download=force and not local_only,
            etag_timeout=_timeout(), **_library(),
        ))

    offline = _offline()
    failure = (None if offline or _cached(src, filename, revision, repo_type, force)
               else _unreachable())
    if failure is not None:
        if not force:
            try:
                return fetch(local_only=True)
            except Exception as err:  # noqa: BLE001 - not cached: say why
                logger.debug("hf:%s/%s is not in huggingface_hub's cache either: %s",
                             src.repo_id, filename, err)
        raise _download_error(failure, src, filename, revision, repo_type) from failure
    for attempt in (1, 2):
        try:
            return fetch(local_only=offline)
        except Exception as err:
            typed = _download_error(err, src, filename, revision, repo_type)
            if attempt == 1 and getattr(typed, "reason", None) == "connection":
                logger.info("download hf:%s/%s: the connection dropped (%s); trying "
                            "once more", src.repo_id, filename, err)
                time.sleep(0.5)
                continue
            raise typed from err
    raise AssertionError("unreachable")


def _cached(src: HubSource, filename: str, revision: str | None, repo_type: str,
            force: bool) -> bool:
    """Whether huggingface_hub serves this file from its cache without a request (a
    commit pinned, its snapshot file present): no need to ask if the Hub is there."""
    if force or not _is_commit(revision):
        return False
    return (hf_repo_cache(src.repo_id, repo_type) / "snapshots" / revision
            / filename).exists()


def _download_error(err: BaseException, src: HubSource, filename: str,
                    revision: str | None, repo_type: str) -> Exception:
    """``err`` as a StorageError (a local write failed) or a typed HubError."""
    if _is_storage_failure(err):
        typed = storage_error(err, getattr(err, "filename", None) or hf_cache_dir(),
                              atomic=False)
        return StorageError(typed.errno, (
            f"download hf:{src.repo_id}@{revision}/{filename}: {typed} "
            f"huggingface_hub keeps downloads in {hf_cache_dir()}: point HF_HOME (or "
            "HF_HUB_CACHE) at a writable folder with free space."
        ), typed.filename)
    return _hub_error(err, action="download", repo_id=src.repo_id, revision=revision,
                      filename=filename, repo_type=repo_type)


def _is_storage_failure(err: BaseException) -> bool:
    """A local write failure (full disk, read-only, a file in the way), not a network
    one (huggingface_hub's HTTP errors are OSErrors too)."""
    import errno

    from hades_zoo.hub.client import is_transport_error

    return (isinstance(err, OSError) and not is_transport_error(err)
            and err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC),
                              errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                              errno.EEXIST))


def _commit_of(path: Path, filename: str) -> str:
    """The commit sha of a huggingface_hub snapshot path ``.../snapshots/<sha>/<file>``."""
    return path.parts[-(len(filename.split("/")) + 1)]


def _blob_intact(path: Path) -> bool | None:
    """Whether a cached file still matches the etag its blob is named by.

    huggingface_hub names each blob by the file's etag: the git blob sha1 of a regular
    file, the sha256 of an LFS file. True / False when the name is one of those, None
    when it is something else (some mirrors) and the content cannot be judged.
    """
    try:
        name = path.resolve().name
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", name):
            return None
        data = path.read_bytes()
    except OSError:
        return False
    if len(name) == 64:
        return hashlib.sha256(data).hexdigest() == name
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == name


def _fetch_parsed(src: HubSource, filename: str, revision: str,
                  parse: Callable[[Path], Any], *, repo_type: str = "dataset"
                  ) -> tuple[Path, Any]:
    """Download ``filename`` and ``parse`` it; a damaged cached copy is fetched again.

    A copy whose blob no longer matches its etag (emptied, truncated), or that fails
    to parse while its etag cannot vouch for it, is downloaded again once with
    ``force_download`` (through huggingface_hub, which replaces the blob).

    Raises:
        HubError: download failures; offline with a damaged copy (reason
            ``offline``); the file still fails ``parse`` after a fresh download.
    """
    path = _download(src, filename, revision, repo_type=repo_type)
    commit = _commit_of(path, filename)
    where = f"hf:{src.repo_id}@{commit}/{filename}"
    intact = _blob_intact(path)
    problem: Exception | None = None
    if intact is not False:
        try:
            return path, parse(path)
        except (DatasetFormatError, ValueError, OSError) as err:
            if intact:  # the file is what the repo holds: no use fetching it again
                raise HubError(f"hf:{src.repo_id}@{commit}: {err}") from err
            problem = err
    damage = (f"{problem}" if problem is not None else
              f"{path.stat().st_size}-byte file that does not match its etag "
              f"(emptied or truncated)")
    if _offline():
        raise _tagged("offline", (
            f"{where}: huggingface_hub's cached copy ({path.resolve()}) is damaged: "
            f"{damage}; unset HF_HUB_OFFLINE so it is fetched again."
        ))
    logger.warning("%s: cached copy is damaged (%s); downloading it again", where, damage)
    path = _download(src, filename, commit, force=True, repo_type=repo_type)
    try:
        return path, parse(path)
    except (DatasetFormatError, ValueError, OSError) as err:
        raise HubError(f"hf:{src.repo_id}@{commit}: {err} (fetched twice)") from err


def _expected_sha(src: HubSource, revision: str, filename: str | None,
                  sha256: str | None) -> tuple[str, str, str]:
    """(revision, filename, sha256): the file the card names and its recorded sha256.

    The sha256 comes from the ``<file>.sha256`` sidecar, which is committed together
    with the file, and from the card's ``hades_zoo`` block; when both record one they
    must agree. When the card is read, the returned revision is the commit it was
    read at, so every file is fetched from that one commit even if the branch moves
    meanwhile.
    """
    block: dict[str, Any] = {}
    if filename is None:
        try:
            card_path, block = _fetch_parsed(src, CARD_FILE, revision, parse_card)
        except HubError as err:
            if err.reason == "not_found_entry":
                raise HubError(
                    f"hf:{src.repo_id}@{revision}: the repo has no README.md dataset card "
                    "naming the dataset file; re-push it with `hades-zoo push` (in "
                    "Python, load_from_hub(..., filename=, sha256=) names the file)."
                ) from err
            raise
        revision = _commit_of(card_path, CARD_FILE)
        filename = block.get("file")
        if not isinstance(filename, str):
            raise HubError(
                f"hf:{src.repo_id}@{revision}: the card's hades_zoo block names no "
                "dataset file; re-push it with `hades-zoo push` (in Python, "
                "load_from_hub(..., filename=, sha256=) names the file)."
            )
    check_repo_filename(filename)
    where = f"hf:{src.repo_id}@{revision}"
    side = None
    if sha256 is None:
        try:
            side = _fetch_parsed(src, f"{filename}.sha256", revision, parse_sidecar)[1]
        except HubError as err:
            if err.reason not in ("not_found_entry", "offline"):
                raise
        sha256 = agreed_sha256(where, filename, block, side)
    if sha256 is None or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise HubError(
            f"{where}: no valid sha256 recorded for {filename!r} "
            "(a .sha256 sidecar or the card's hades_zoo.sha256); refusing to load an "
            "unverified file. Pass sha256= or re-push with `hades-zoo push`."
        )
    return revision, filename, sha256.lower()


def _fetch_verified(source: str | HubSource, filename: str | None,
                    sha256: str | None) -> tuple[HubSource, str, str, bytes, str]:
    """Download and sha256-check the dataset file: (src, commit, filename, data, sha).

    When huggingface_hub cannot answer (offline, server unreachable or failing), a
    copy written by ``pull`` is read instead (sha256-checked the same way).
    """
    src = source if isinstance(source, HubSource) else parse_hub_source(source)
    if filename is not None:
        check_repo_filename(filename)
    if sha256 is not None and (not isinstance(sha256, str)
                               or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256)):
        raise HubSourceError(f"sha256 {sha256!r} is not 64 hex digits.")
    revision = src.revision or "main"
    try:
        return _fetch_remote(src, revision, filename, sha256)
    except HubError as err:
        if err.reason not in _UNREACHABLE:
            raise
        return (src, *read_pulled(src.repo_id, revision, filename, sha256, err))


def _fetch_remote(src: HubSource, revision: str, filename: str | None,
                  sha256: str | None) -> tuple[HubSource, str, str, bytes, str]:
    """:func:`_fetch_verified` through huggingface_hub only."""
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
        sha256: its expected hex sha256 (default: the sidecar's, which must agree
            with the card's).

    Returns:
        The ``SyntheticDataset``.

    Raises:
        HubSourceError: malformed repo id, revision, file name or sha256.
        HubError: Hub failures, offline with neither huggingface_hub's cache nor a
            pulled copy (the message says what is missing), no recorded sha256, a
            card and sidecar that disagree, or a sha256 mismatch that persists after
            one forced re-download.
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
            ``cache_dir()/hub/datasets--<org>--<name>/<commit>``, and the revision
            is recorded so the copy loads offline: ``hades_zoo.hub.pulled``).
        filename, sha256: as in :func:`load_from_hub`.

    Returns:
        PullResult with the verified dataset file, the card and the recipe (when the
        repo has them), each written atomically.

    Raises:
        Same as :func:`load_from_hub`; UnsafeNameError (nothing written) for a dataset
        whose id, or a repo file whose name, cannot be a local file name;
        StorageError when the destination cannot be written (full disk, read-only, a
        file in the way; files written before stay intact).
    """
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise HubSourceError(f"out= must be a folder path (str or Path), got "
                             f"{type(out).__name__}.")
    src, commit, filename, data, sha = _fetch_verified(source, filename, sha256)
    _checked(dataset_from_bytes(data, source=f"hf:{src.repo_id}@{commit}/{filename}"))
    directory = Path(out) if out is not None else pulled_folder(src.repo_id, commit)
    extras = (CARD_FILE, RECIPE_FILE, f"{filename}.sha256")
    # every local name through the one gate before the first file is written
    local = {rel: repo_path(directory, rel) for rel in (filename, *extras)}
    written = [atomic_write_bytes(local[filename], data)]
    for extra in extras:
        try:
            content = _fetch_parsed(src, extra, commit, Path.read_bytes)[1]
        except HubError as err:
            if err.reason in ("not_found_entry", "offline"):
                continue
            raise
        written.append(atomic_write_bytes(local[extra], content))
    if out is None:
        record_ref(src.repo_id, src.revision or "main", commit)
    logger.info("pulled hf:%s@%s into %s", src.repo_id, commit, directory)
    return PullResult(f"hf:{src.repo_id}@{commit}", commit, directory, written[0], sha,
                      tuple(written))
