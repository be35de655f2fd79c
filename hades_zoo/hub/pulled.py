"""hades_zoo's own copies of pulled repos: where ``pull`` puts them and which commit a
revision named.

``hades-zoo pull hf:org/name[@rev]`` (no ``--out``) writes the verified files to
``<cache root>/hub/datasets--org--name/<commit>/`` and records the revision it was
asked for in ``.../refs/<rev>`` (the commit sha, as huggingface_hub does in its own
cache). When huggingface_hub's cache cannot answer (offline and its ``refs/`` file
gone, the server down, an emptied blob), ``load_from_hub`` reads this copy instead:
:func:`find_pulled` resolves the revision and says exactly what is missing when it
cannot.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_write_bytes, cache_dir, verify_sha256
from hades_zoo.data.paths import check_name, child_path
from hades_zoo.errors import DatasetFormatError, HubError
from hades_zoo.hub.client import CARD_FILE, _tagged
from hades_zoo.hub.recorded import agreed_sha256, parse_card, parse_sidecar
from hades_zoo.hub.refs import check_repo_filename

logger = logging.getLogger(__name__)

__all__ = ["pulled_root", "pulled_folder", "record_ref", "find_pulled", "read_pulled"]

_COMMIT_RE = re.compile(r"[0-9a-f]{40}")


def pulled_root(repo_id: str) -> Path:
    """``<cache root>/hub/datasets--<org>--<name>`` (``repo_id`` already validated)."""
    org, name = repo_id.split("/")
    return child_path(cache_dir() / "hub", f"datasets--{org}--{name}", what="Hub repo id")


def pulled_folder(repo_id: str, commit: str) -> Path:
    """The folder ``pull`` writes commit ``commit`` of ``repo_id`` to."""
    return pulled_root(repo_id) / check_name(commit, what="commit")


def _ref_path(repo_id: str, revision: str) -> Path:
    parts = [check_name(p, what="revision") for p in revision.split("/")]
    return pulled_root(repo_id).joinpath("refs", *parts)


def record_ref(repo_id: str, revision: str, commit: str) -> Path | None:
    """Record that ``revision`` of ``repo_id`` was ``commit`` when it was pulled
    (nothing to record when ``revision`` is a commit sha).

    Raises:
        StorageError: the cache cannot be written (names the path and the fix).
    """
    if _COMMIT_RE.fullmatch(revision):
        return None
    return atomic_write_bytes(_ref_path(repo_id, revision), f"{commit}\n".encode())


def find_pulled(repo_id: str, revision: str) -> tuple[Path | None, str]:
    """The pulled folder of ``revision``, or None and what is missing, in words.

    Args:
        repo_id: ``org/name``.
        revision: a branch, tag or commit sha.

    Returns:
        ``(folder, "")`` when a pulled copy of that revision exists, else
        ``(None, reason)`` naming the missing path (and the commits that are there).
    """
    root = pulled_root(repo_id)
    commits = sorted(p.name for p in root.iterdir()
                     if p.is_dir() and _COMMIT_RE.fullmatch(p.name)) if root.is_dir() else []
    have = (f" (it holds commit(s) {', '.join(c[:12] for c in commits)}: load one with "
            f"hf:{repo_id}@<commit>)") if commits else ""
    if not commits:
        return None, f"nothing of {repo_id} was pulled into hades_zoo's cache ({root})"
    if _COMMIT_RE.fullmatch(revision):
        commit = revision
    else:
        ref = _ref_path(repo_id, revision)
        try:
            commit = ref.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None, (f"hades_zoo's cache has no record of which commit {revision!r} "
                          f"was ({ref} is missing){have}")
        if not _COMMIT_RE.fullmatch(commit):
            return None, f"hades_zoo's cache record {ref} is damaged{have}"
    folder = root / commit
    if not folder.is_dir():
        return None, (f"hades_zoo's cache has no pulled copy of commit {commit[:12]} "
                      f"({folder} is missing){have}")
    return folder, ""


def read_pulled(repo_id: str, revision: str, filename: str | None, sha256: str | None,
                cause: HubError) -> tuple[str, str, bytes, str]:
    """The pulled copy of ``revision``, sha256-checked, read because huggingface_hub's
    cache could not answer (``cause``).

    Args:
        repo_id: ``org/name``.
        revision: branch, tag or commit sha.
        filename: the dataset file (default: the one the copy's card names).
        sha256: its expected sha256 (default: the copy's sidecar, which must agree
            with its card).
        cause: the HubError huggingface_hub's cache gave.

    Returns:
        ``(commit, filename, data, sha256)``.

    Raises:
        HubError: ``cause`` (same ``reason``) with what the pulled copy lacks
            appended, or the copy's card and sidecar disagree, or it fails its sha256.
    """
    folder, missing = find_pulled(repo_id, revision)
    block: dict[str, Any] = {}
    if folder is not None and filename is None:
        try:
            block = parse_card(folder / CARD_FILE)
        except (OSError, ValueError) as err:
            folder, missing = None, f"its card {folder / CARD_FILE} is unreadable ({err})"
        else:
            filename = block.get("file") if isinstance(block.get("file"), str) else None
            if filename is None:
                folder, missing = None, f"its card {folder / CARD_FILE} names no file"
    if folder is not None:
        check_repo_filename(filename)
        file = folder / filename
        if not file.is_file():
            folder, missing = None, f"{file} is missing"
    if folder is None:
        raise _tagged(cause.reason, f"{cause} No pulled copy to fall back on: {missing}.")
    if sha256 is None:
        try:
            side = parse_sidecar(folder / f"{filename}.sha256")
        except (OSError, ValueError):
            side = None
        sha256 = agreed_sha256(str(folder), filename, block, side)
    if sha256 is None:
        raise _tagged(cause.reason, f"{cause} The pulled copy in {folder} records no "
                      f"sha256 for {filename}; pull it again once online.")
    data = file.read_bytes()
    try:
        verify_sha256(data, sha256, source=str(file))
    except DatasetFormatError as err:
        raise _tagged(cause.reason, f"{cause} The pulled copy failed its check: {err}"
                      ) from err
    logger.warning("read the copy pulled into %s (%s)", folder, cause)
    return folder.name, filename, data, sha256.lower()
