"""Hub references: parse and validate ``hf:`` sources, repo ids, revisions, file names.

Every check runs before any request, so a malformed or path-like input never reaches
the network or the cache (``HubSourceError``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hades_zoo.data.paths import child_path
from hades_zoo.errors import HubSourceError

__all__ = ["HubSource", "parse_hub_source", "check_repo_filename", "repo_path"]

# Hub naming rules (huggingface_hub.utils._validators): letters, digits, '-', '_', '.',
# no '--' or '..', at most 96 characters per part.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
_REV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_PATH_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$")
_SOURCE_HELP = "use hf:<org>/<name>[@revision], e.g. hf:my-org/cartpole-R-2@v1"


@dataclasses.dataclass(frozen=True)
class HubSource:
    """A parsed ``hf:<org>/<name>[@revision]`` source.

    Attributes:
        repo_id: ``org/name`` of a dataset repo.
        revision: branch, tag or commit sha; ``None`` means the default branch.
    """

    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"hf:{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


# ----------------------------------------------------------------------- validation
def _check_repo_id(repo_id: str) -> str:
    """Validate ``org/name`` (raises HubSourceError)."""
    if not isinstance(repo_id, str):
        raise HubSourceError(f"repo id must be a string, got {type(repo_id).__name__}.")
    parts = repo_id.split("/")
    ok = len(parts) == 2 and all(
        _NAME_RE.match(p) and ".." not in p and "--" not in p for p in parts
    )
    if not ok:
        raise HubSourceError(
            f"invalid Hub repo id {repo_id!r}: it must be '<org>/<name>' made of letters, "
            "digits, '-', '_' and '.', without '..', '--', absolute paths or spaces; "
            f"{_SOURCE_HELP}."
        )
    return repo_id


def _check_revision(revision: str | None, what: str = "revision") -> str | None:
    """Validate a branch / tag / commit name (raises HubSourceError)."""
    if revision is None:
        return None
    if (
        not isinstance(revision, str)
        or not _REV_RE.match(revision)
        or ".." in revision
        or "//" in revision
        or revision.endswith(("/", ".lock", "."))
    ):
        raise HubSourceError(
            f"invalid {what} {revision!r}: use a branch, tag or commit sha of letters, "
            "digits, '.', '_', '-' and '/' (no '..'), e.g. 'main', 'v1'."
        )
    return revision


def check_repo_filename(filename: str) -> str:
    """Validate a path inside a repo: relative, no ``..``, plain characters.

    Args:
        filename: e.g. ``hopper-R-64.safetensors`` or ``data/train-0.parquet``.

    Returns:
        ``filename`` unchanged.

    Raises:
        HubSourceError: absolute path, ``..``, backslash, empty part or odd
            characters.
    """
    parts = filename.split("/") if isinstance(filename, str) else [""]
    if (
        not isinstance(filename, str)
        or filename.startswith("/")
        or "\\" in filename
        or not all(_PATH_PART_RE.match(p) and p not in (".", "..") for p in parts)
        or ".." in filename
    ):
        raise HubSourceError(
            f"invalid file name in repo {filename!r}: use a relative path of letters, "
            "digits, '.', '_' and '-' without '..' (e.g. 'hopper-R-64.safetensors')."
        )
    return filename


def parse_hub_source(source: str) -> HubSource:
    """Parse ``hf:<org>/<name>[@revision]`` (the ``hf:`` prefix is optional here).

    Args:
        source: the source string.

    Returns:
        HubSource.

    Raises:
        HubSourceError: malformed repo id or revision (no request is made).
    """
    if not isinstance(source, str):
        raise HubSourceError(f"Hub source must be a string, got {type(source).__name__}.")
    body = source[3:] if source.startswith("hf:") else source
    repo_id, sep, revision = body.partition("@")
    if sep and not revision:
        raise HubSourceError(f"{source!r}: empty revision after '@'; {_SOURCE_HELP}.")
    return HubSource(_check_repo_id(repo_id), _check_revision(revision or None))


def repo_path(directory: str | Path, filename: str) -> Path:
    """Where the repo file ``filename`` (``x.safetensors``, ``data/train-0.parquet``)
    lives in a local copy of the repo under ``directory``.

    The name is checked as a repo path (:func:`check_repo_filename`), then each of its
    parts goes through the one gate, ``hades_zoo.data.paths.child_path``: the result is
    always inside ``directory``.

    Raises:
        HubSourceError: not a plain relative repo path.
        UnsafeNameError: a part that cannot be a file name.
    """
    *folders, name = check_repo_filename(filename).split("/")
    path = Path(directory)
    for folder in folders:
        path = child_path(path, folder, what="Hub file name")
    return child_path(path, name, what="Hub file name")
