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

import re
from pathlib import Path

from hades_zoo.data.cache import atomic_write_bytes, cache_dir
from hades_zoo.data.paths import check_name

__all__ = ["pulled_root", "pulled_folder", "record_ref", "find_pulled"]

_COMMIT_RE = re.compile(r"[0-9a-f]{40}")


def pulled_root(repo_id: str) -> Path:
    """``<cache root>/hub/datasets--<org>--<name>`` (``repo_id`` already validated)."""
    org, name = repo_id.split("/")
    return cache_dir() / "hub" / f"datasets--{org}--{name}"


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
