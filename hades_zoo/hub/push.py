"""Upload: ``push_to_hub`` writes ``save_pretrained``'s folder to a dataset repo in one
commit (``create_repo`` + ``upload_folder``), keeping an existing card unless asked.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from typing import Any

from hades_zoo.errors import DatasetFormatError, HubError
from hades_zoo.hub.client import CARD_FILE, _api, _client_endpoint, _hub_error
from hades_zoo.hub.folder import RepoFile, save_pretrained
from hades_zoo.hub.refs import (
    _check_repo_id,
    _check_revision,
)

logger = logging.getLogger(__name__)

__all__ = ["PushResult", "push_to_hub"]


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
