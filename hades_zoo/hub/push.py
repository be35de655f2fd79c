"""Upload: ``push_to_hub`` writes ``save_pretrained``'s folder to a dataset repo in one
commit (``create_repo`` + ``create_commit``), keeping an existing card unless asked.

A ``tag`` that already exists is refused before anything is uploaded. A kept card gets
the new ``hades_zoo:`` block (file, sha256, protocol) in place of its old one, so card
and ``<file>.sha256`` sidecar always agree (``pull`` refuses a repo where they do not);
its prose and other metadata stay as the owner wrote them.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import sha256_bytes
from hades_zoo.errors import DatasetFormatError, HubError
from hades_zoo.hub.cards import card_block
from hades_zoo.hub.client import (
    CARD_FILE,
    _api,
    _client_endpoint,
    _hub_error,
    _offline,
    _said,
    _tagged,
    _unreachable,
)
from hades_zoo.hub.folder import RepoFile, save_pretrained
from hades_zoo.hub.refs import (
    _check_repo_id,
    _check_revision,
)

logger = logging.getLogger(__name__)

__all__ = ["LOCAL_ONLY", "PushResult", "push_folder", "push_to_hub"]


@dataclasses.dataclass(frozen=True)
class PushResult:
    """What :func:`push_to_hub` uploaded (or, with ``dry_run``, would upload).

    Attributes:
        repo_id: target repo.
        revision: target branch (``None``: default branch).
        files: the files of the commit, sorted by path.
        card_kept: an existing README.md was kept (not in ``files`` unless its
            ``hades_zoo:`` block had to be updated, see ``card_block_updated``).
        dry_run: nothing was uploaded.
        commit: the new commit sha (``None`` for a dry run).
        commit_url: URL of the commit (``None`` for a dry run).
        tag: tag created on the commit, if any.
        card_block_updated: the kept card's ``hades_zoo:`` block was replaced by the
            new one (its text and other metadata kept); README.md is then in
            ``files``.
        not_compared: a dry run that could not ask the Hub (unreachable, or
            ``HF_HUB_OFFLINE``): why, in words; ``files`` are then listed as for a
            new repo (a real push would keep an existing README.md and refuse a
            taken ``tag``). None when it asked, or had nothing to ask.
    """

    repo_id: str
    revision: str | None
    files: tuple[RepoFile, ...]
    card_kept: bool
    dry_run: bool
    commit: str | None = None
    commit_url: str | None = None
    tag: str | None = None
    card_block_updated: bool = False
    not_compared: str | None = None


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
        dry_run: list what would be uploaded and upload nothing (read-only
            requests check for an existing card unless ``overwrite_card``, and for
            ``tag``; with the Hub unreachable or ``HF_HUB_OFFLINE`` set, the files
            are listed as for a new repo, and ``not_compared`` says why).
        overwrite_card: replace an existing README.md.
        commit_message: default ``Upload <id> with hades_zoo``.
        certificate: reproduction certificate for the card.

    Returns:
        PushResult (files with sizes and sha256; commit sha unless dry run).

    Raises:
        HubSourceError: invalid repo id, revision or tag (before any request).
        DatasetFormatError: invalid dataset.
        HubError: the Hub refused or failed a request (401/403/404/5xx/timeout), or
            ``tag`` already exists (reason ``conflict``, before any upload).
    """
    from hades_zoo.data.dataset import SyntheticDataset

    _check_repo_id(repo_id)
    _check_revision(revision)
    _check_revision(tag, "tag")
    if not isinstance(ds, SyntheticDataset):
        raise DatasetFormatError(
            f"push_to_hub takes a SyntheticDataset, got {type(ds).__name__}; load it "
            "first (hades_zoo.load('file:<path>') or a zoo id), or push an entry folder "
            "with push_folder."
        )
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
                   overwrite_card=overwrite_card, commit_message=commit_message)


def _upload(folder: Path, files: tuple[RepoFile, ...], repo_id: str, *, name: str,
            revision: str | None, tag: str | None, private: bool, token: str | None,
            dry_run: bool, overwrite_card: bool, commit_message: str | None,
            repo_type: str = "dataset") -> PushResult:
    """Check the tag, create the repo/branch, then one ``create_commit`` of ``files``
    (exactly the files listed: resume state and hidden files are already left out)
    to a ``repo_type`` repo (``dataset``, or ``model`` for a saved policy)."""
    from huggingface_hub import CommitOperationAdd

    api = _api(token)
    committing = False
    asks = tag is not None or not overwrite_card
    not_compared = _cannot_ask(api.endpoint) if dry_run and asks else None
    try:
        if tag is not None and not_compared is None:
            _check_tag_free(api, repo_id, tag, repo_type)
        if not dry_run:
            # a Hub that accepts connections and never answers: huggingface_hub's
            # create_repo then waited without end (a reviewer, 150 s); the check is
            # bounded by HADES_ZOO_HUB_TIMEOUT and reported as the push's failure
            failure = _unreachable()
            if failure is not None:
                raise failure
            api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
            if revision is not None:
                api.create_branch(repo_id, branch=revision, repo_type=repo_type,
                                  exist_ok=True)
        remote = (None if overwrite_card or not_compared is not None
                  else _remote_card(api, repo_id, revision, repo_type))
        card_kept = remote is not None
        new_card = (_card_with_block(remote, folder / CARD_FILE, repo_type)
                    if card_kept else None)
        uploaded = tuple(f for f in files if not (card_kept and f.path == CARD_FILE))
        if new_card is not None:
            uploaded = tuple(sorted(
                (*uploaded, RepoFile(CARD_FILE, len(new_card), sha256_bytes(new_card))),
                key=lambda f: f.path))
        if dry_run:
            logger.info("dry run: would upload %d files to %s", len(uploaded), repo_id)
            return PushResult(repo_id, revision, uploaded, card_kept, True, tag=tag,
                              card_block_updated=new_card is not None,
                              not_compared=not_compared)
        operations = [
            CommitOperationAdd(path_in_repo=f.path,
                               path_or_fileobj=(new_card if f.path == CARD_FILE
                                                and new_card is not None
                                                else str(folder / f.path)))
            for f in uploaded
        ]
        committing = True
        with _client_endpoint(api.endpoint):
            info = api.create_commit(
                repo_id, operations, repo_type=repo_type, revision=revision,
                commit_message=commit_message or f"Upload {name} with hades_zoo",
            )
        committing = False
    except HubError:
        raise
    except Exception as err:
        if isinstance(err, DatasetFormatError):
            raise
        raise _hub_error(err, action="push to", repo_id=repo_id, revision=revision,
                         write=True, landed=committing and _at_commit(err),
                         repo_type=repo_type) from err
    if tag is not None:
        _tag_commit(api, repo_id, tag, info, repo_type)
    logger.info("pushed %s to %s@%s (commit %s)", name, repo_id, revision or "main",
                info.oid)
    return PushResult(repo_id, revision, uploaded, card_kept, False, commit=info.oid,
                      commit_url=str(info.commit_url), tag=tag,
                      card_block_updated=new_card is not None)


def _cannot_ask(endpoint: str) -> str | None:
    """Why a dry run cannot compare with the repo (``HF_HUB_OFFLINE``, or the Hub at
    ``endpoint`` unreachable: ``client._unreachable``), in words; None when it can."""
    if _offline():
        return "HF_HUB_OFFLINE is set"
    failure = _unreachable()
    if failure is None:
        return None
    return f"the Hub at {endpoint} cannot be reached ({_said(failure)})"


def _at_commit(err: BaseException) -> bool:
    """Whether a failure inside ``create_commit`` could have followed the commit request
    itself (False: it failed uploading LFS objects or asking the upload modes, before
    the commit was sent). Without a request to tell, assume it could."""
    cur: BaseException | None = err
    for _ in range(10):
        if cur is None:
            break
        url = _request_url(cur)
        if url is not None:
            return "/commit/" in url
        cur = cur.__cause__ or cur.__context__
    return True


def _request_url(err: BaseException) -> str | None:
    """The URL of the request an HTTP client error was raised for, if it says.

    requests' errors carry ``.request.url`` (a str); httpx / httpx2 errors a ``URL``
    object, and raise RuntimeError (not AttributeError) when no request was set; an
    error with a response knows its request through it."""
    for owner in (err, getattr(err, "response", None)):
        if owner is None:
            continue
        try:
            url = owner.request.url
        except (AttributeError, RuntimeError):
            continue
        if url is not None:
            return str(url)
    return None


def _delete_tag_hint(repo_id: str, tag: str, repo_type: str = "dataset") -> str:
    return (f"HfApi().delete_tag({repo_id!r}, tag={tag!r}, repo_type={repo_type!r}) "
            "or the repo's Hub page")


def _check_tag_free(api: Any, repo_id: str, tag: str, repo_type: str = "dataset") -> None:
    """Refuse a tag that already exists in the repo, before anything is uploaded.

    Raises:
        HubError: reason ``conflict``, naming the tag, its commit and the fix.
    """
    try:
        refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    except Exception as err:
        failure = _hub_error(err, action="list the tags of", repo_id=repo_id,
                             repo_type=repo_type)
        if failure.reason in ("not_found_repo", "unauthorized"):
            return  # no repo yet (or no access): create_repo says which
        raise failure from err
    for ref in refs.tags:
        if ref.name == tag:
            raise _tagged("conflict", (
                f"push to {repo_id}: tag {tag!r} already exists (on commit "
                f"{ref.target_commit[:12]}); nothing was uploaded. Fix: pass another "
                f"--tag (e.g. {_next_tag(tag, [t.name for t in refs.tags])!r}), or delete "
                f"the old tag first ({_delete_tag_hint(repo_id, tag, repo_type)}). If it "
                "tags your "
                f"earlier push of these same files, there is nothing to do "
                f"(`hades-zoo pull hf:{repo_id}@{tag}` shows it)."
            ))


def _next_tag(tag: str, taken: list[str]) -> str:
    """A free tag like ``tag``: ``v1`` -> ``v2``, else ``tag-2``."""
    m = re.fullmatch(r"(.*?)(\d+)", tag)
    stem, n = (m.group(1), int(m.group(2))) if m else (f"{tag}-", 1)
    while f"{stem}{n + 1}" in taken:
        n += 1
    return f"{stem}{n + 1}"


def _tag_commit(api: Any, repo_id: str, tag: str, info: Any,
                repo_type: str = "dataset") -> None:
    """Tag the pushed commit; a failure says that the commit itself landed."""
    try:
        api.create_tag(repo_id, tag=tag, revision=info.oid, repo_type=repo_type)
    except Exception as err:
        failure = _hub_error(err, action=f"tag {tag!r} on", repo_id=repo_id,
                             revision=info.oid, write=True, repo_type=repo_type)
        raise _tagged(failure.reason, (
            f"the commit landed ({info.commit_url}) but tagging it failed: {failure} "
            f"Fix: tag commit {info.oid} yourself (HfApi().create_tag({repo_id!r}, "
            f"tag=..., revision={info.oid!r}, repo_type={repo_type!r})); pushing again "
            "with another --tag also works (unchanged files are skipped)."
        )) from err


def _remote_card(api: Any, repo_id: str, revision: str | None,
                 repo_type: str = "dataset") -> str | None:
    """The repo's README.md text at ``revision``, or None (no card, or no repo)."""
    if not api.file_exists(repo_id, CARD_FILE, repo_type=repo_type, revision=revision):
        return None
    with tempfile.TemporaryDirectory(prefix="hades_zoo-card-") as tmp:
        path = api.hf_hub_download(repo_id, CARD_FILE, repo_type=repo_type,
                                   revision=revision, local_dir=tmp, force_download=True)
        return Path(path).read_text(encoding="utf-8", errors="replace")


def _card_with_block(remote: str, local_card: Path,
                     repo_type: str = "dataset") -> bytes | None:
    """The remote card with the local card's ``hades_zoo:`` block, or None when its
    block already matches (or there is no local card to take one from)."""
    from huggingface_hub import DatasetCard, ModelCard

    card_class = DatasetCard if repo_type == "dataset" else ModelCard

    try:
        block = card_block(local_card.read_text(encoding="utf-8"))
    except (OSError, DatasetFormatError):
        return None
    try:
        if card_block(remote) == block:
            return None
    except DatasetFormatError:
        pass  # no (readable) block: give it one
    try:
        card = card_class(remote, ignore_metadata_errors=True)
    except Exception as err:  # a YAML header huggingface_hub cannot parse
        raise DatasetFormatError(
            f"the repo's README.md has an invalid YAML header ({err}); fix it on the "
            "Hub, or pass --overwrite-card (overwrite_card=True) to replace it."
        ) from err
    card.data["hades_zoo"] = block
    return str(card).encode()
