"""Upload: ``push_to_hub`` writes ``save_pretrained``'s folder to a dataset repo in one
commit (``create_repo`` + ``upload_folder``), keeping an existing card unless asked.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Any

from hades_zoo.errors import DatasetFormatError, HubError
from hades_zoo.hub.client import CARD_FILE, _api, _client_endpoint, _hub_error
from hades_zoo.hub.folder import RepoFile, save_pretrained
from hades_zoo.hub.refs import (
    _check_repo_id,
    _check_revision,
)

logger = logging.getLogger(__name__)

__all__ = ["PushResult", "push_to_hub", "push_folder", "LOCAL_ONLY"]


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
    with tempfile.TemporaryDirectory(prefix="hades_zoo-push-") as tmp:
        files = save_pretrained(ds, tmp, certificate=certificate, repo_id=repo_id)
        return _upload(Path(tmp), files, repo_id, name=ds.info.dataset_id,
                       revision=revision, tag=tag, private=private, token=token,
                       dry_run=dry_run, overwrite_card=overwrite_card,
                       commit_message=commit_message)


#: Files of an entry folder that stay local: resume state, not part of the entry.
LOCAL_ONLY = ("checkpoint.safetensors", "checkpoint.json")


def push_folder(
    directory: str | Path,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    private: bool = False,
    token: str | None = None,
    dry_run: bool = False,
    overwrite_card: bool = False,
    commit_message: str | None = None,
) -> PushResult:
    """Upload an entry folder as it is (``hades-zoo distill --out DIR``) in one commit.

    The folder's dataset is checked first: found through its README.md card, its
    sha256 equal to the one the card (or sidecar) records, the format and the env
    (``from_pretrained``). Every file is uploaded except the resume state
    (``LOCAL_ONLY``) and hidden files; an existing remote README.md is kept unless
    ``overwrite_card``.

    Args:
        directory: the entry folder.
        repo_id, revision, tag, private, token, dry_run, overwrite_card,
            commit_message: as in :func:`push_to_hub`.

    Returns:
        PushResult.

    Raises:
        DatasetFormatError: no folder, no dataset, or a dataset that fails its checks.
        HubSourceError, HubError: as in :func:`push_to_hub`.
    """
    from hades_zoo.data.cache import sha256_file
    from hades_zoo.hub.folder import check_folder_settled, from_pretrained

    _check_repo_id(repo_id)
    _check_revision(revision)
    _check_revision(tag, "tag")
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetFormatError(f"{directory}: no such folder to push.")
    ds = from_pretrained(directory)  # sha256, format and env checks
    check_folder_settled(directory)  # dataset, sidecar and card: one version
    files = tuple(sorted(
        (RepoFile(p.relative_to(directory).as_posix(), p.stat().st_size, sha256_file(p))
         for p in directory.rglob("*")
         if p.is_file() and p.name not in LOCAL_ONLY
         and not any(part.startswith(".") for part in p.relative_to(directory).parts)),
        key=lambda f: f.path))
    return _upload(directory, files, repo_id, name=ds.info.dataset_id, revision=revision,
                   tag=tag, private=private, token=token, dry_run=dry_run,
                   overwrite_card=overwrite_card, commit_message=commit_message,
                   ignore=LOCAL_ONLY + (".*",))


def _upload(folder: Path, files: tuple[RepoFile, ...], repo_id: str, *, name: str,
            revision: str | None, tag: str | None, private: bool, token: str | None,
            dry_run: bool, overwrite_card: bool, commit_message: str | None,
            ignore: tuple[str, ...] = ()) -> PushResult:
    """Create the repo/branch, then one ``upload_folder`` commit of ``folder``."""
    api = _api(token)
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
        patterns = list(ignore) + ([CARD_FILE] if card_kept else [])
        with _client_endpoint(api.endpoint):
            info = api.upload_folder(
                folder_path=str(folder),
                repo_id=repo_id,
                repo_type="dataset",
                revision=revision,
                commit_message=commit_message or f"Upload {name} with hades_zoo",
                ignore_patterns=patterns or None,
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
    logger.info("pushed %s to %s@%s (commit %s)", name, repo_id, revision or "main",
                info.oid)
    return PushResult(repo_id, revision, uploaded, card_kept, False, commit=info.oid,
                      commit_url=str(info.commit_url), tag=tag)


def _remote_card_exists(api: Any, repo_id: str, revision: str | None) -> bool:
    """Whether the repo already has a README.md at ``revision`` (False if no repo)."""
    return bool(api.file_exists(repo_id, CARD_FILE, repo_type="dataset",
                                revision=revision))
