"""Open a dataset from any source: a file, an entry folder, a zoo id or the Hub.

:func:`resolve_source` is the one place that decides what a source string names; the
Python API (``hz.load``) and every CLI command go through it, so they accept the same
sources with the same rules:

- an explicit prefix always wins: ``file:<path>`` (a ``.safetensors`` file or an entry
  folder), ``hf:<org>/<name>[@rev]``, ``zoo:<id>``;
- a bare existing path is a file or an entry folder (``save_pretrained``,
  ``hades-zoo distill --out DIR``, ``pull --out DIR``);
- a bare string that is both a registered zoo id and an existing path (a folder
  ``hopper-R-4`` in the working directory) is an error naming both choices
  (:class:`AmbiguousSourceError`): ``zoo:hopper-R-4`` or ``./hopper-R-4``;
- a bare string that looks like a path (a ``/``, a leading ``.`` or ``~``, a
  ``.safetensors`` suffix) and does not exist is an error naming the path it looked
  for (:class:`SourceNotFoundError`);
- anything else is a zoo id (an unknown one is an error with close matches).

Every path checks that the arrays fit the dataset's env (observation size, action
kind and size) before returning, so a dataset that loads can be trained and evaluated.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path
from typing import Literal

from hades_zoo.data.cache import use_compilation_cache
from hades_zoo.data.dataset import SyntheticDataset, read_dataset_file
from hades_zoo.data.ids import InvalidDatasetIdError
from hades_zoo.data.untrusted import is_dir, show_path
from hades_zoo.engine.envs import check_dataset_fits_env
from hades_zoo.errors import DatasetFormatError, UnknownDatasetError

__all__ = ["load", "load_dataset_file", "load_checked", "resolve_source", "Source",
           "AmbiguousSourceError", "SourceNotFoundError", "PREFIXES"]

#: The explicit source prefixes; one of them always wins over a guess.
PREFIXES = ("file:", "hf:", "zoo:")

_HOW = ("a zoo id ('cartpole-R-2.hz'), a path to a .safetensors file or entry folder, "
        "'file:<path>', 'hf:<org>/<name>[@revision]' or 'zoo:<id>'")


class AmbiguousSourceError(UnknownDatasetError):
    """A bare source that is both a zoo id and an existing local path."""


class SourceNotFoundError(InvalidDatasetIdError):
    """A bare source written as a path (``runs/x.safetensors``) that does not exist.

    Also an ``InvalidDatasetIdError`` (so an ``UnknownDatasetError`` and a
    ``ValueError``): it is not a zoo id either.
    """


@dataclasses.dataclass(frozen=True)
class Source:
    """What a source string names (see the module docstring for the rules).

    Attributes:
        kind: ``"zoo"``, ``"hf"``, ``"file"`` or ``"folder"``.
        value: the zoo id, the ``hf:`` reference, or the path (as given, ``~``
            expanded).
        given: the source as written.
    """

    kind: Literal["zoo", "hf", "file", "folder"]
    value: str
    given: str

    @property
    def path(self) -> Path | None:
        """The local path of a ``file`` / ``folder`` source, else None."""
        return Path(self.value) if self.kind in ("file", "folder") else None


def _local(path: str, given: str) -> Source:
    return Source("folder" if is_dir(path) else "file", path, given)  # never raises


def _name_too_long(path: str) -> bool:
    """True when the file system refuses ``path`` as too long (ENAMETOOLONG)."""
    try:
        os.lstat(path)
    except OSError as err:
        return err.errno == errno.ENAMETOOLONG
    except ValueError:  # a NUL byte
        return False
    return False


def _looks_like_path(text: str) -> bool:
    return (os.sep in text or "/" in text or text.startswith((".", "~"))
            or text.endswith(".safetensors"))


def _registered(text: str) -> bool:
    from hades_zoo.data.ids import is_dataset_id
    from hades_zoo.zoo.registry import list_datasets

    return is_dataset_id(text) and text in list_datasets(text)


def resolve_source(source: str | os.PathLike) -> Source:
    """Decide what ``source`` names: a zoo id, a Hub repo, a file or an entry folder.

    Args:
        source: a ``str`` or ``Path``; see the module docstring for the rules.

    Returns:
        The :class:`Source`; nothing is read (a missing file is reported by the
        loader, naming the path).

    Raises:
        AmbiguousSourceError: a bare registered zoo id that is also an existing
            path; the message names both spellings.
        SourceNotFoundError: a bare path-like source that does not exist.
        UnknownDatasetError: ``source`` is not a str or path, or a prefix with
            nothing after it. An empty or blank ``source`` is an
            ``InvalidDatasetIdError`` (one) saying so.
    """
    if isinstance(source, os.PathLike):
        return _local(os.fspath(source), str(source))
    if not isinstance(source, str):
        raise UnknownDatasetError(
            f"a dataset source must be a str or Path, got {type(source).__name__}: "
            f"{_HOW}.")
    if not source.strip():
        raise InvalidDatasetIdError(
            f"the dataset source is {'empty' if not source else 'blank'} ({source!r}): "
            f"give {_HOW}; `hades-zoo list` shows the zoo ids.")
    for prefix in PREFIXES:
        if source.startswith(prefix):
            rest = source[len(prefix):]
            if not rest:
                raise UnknownDatasetError(f"{source!r} names nothing after {prefix!r}; "
                                          f"give {_HOW}.")
            if prefix == "file:":
                return _local(os.path.expanduser(rest), source)
            return Source("hf" if prefix == "hf:" else "zoo",
                          source if prefix == "hf:" else rest, source)
    path = os.path.expanduser(source)
    # lexists: a dangling link, a FIFO or a device is the reader's to name
    if source and os.path.lexists(path):
        if _registered(source):
            what = "folder" if os.path.isdir(path) else "file"
            raise AmbiguousSourceError(
                f"{source!r} is both a zoo id and a local {what} "
                f"({os.path.abspath(path)}); say which one: 'zoo:{source}' for the zoo "
                f"entry, './{source}' (or 'file:{source}') for the local {what}.")
        return _local(path, source)
    if _looks_like_path(source):
        if _name_too_long(path):  # the reader names it ("too long a name")
            return _local(path, source)
        raise SourceNotFoundError(
            f"{show_path(source)!r}: no such file or folder "
            f"({show_path(os.path.abspath(path))}), and it is "
            "not a zoo id. Check the path (an explicit 'file:<path>' also works); a "
            "Hub dataset is written 'hf:<owner>/<repo>[@revision]'; `hades-zoo "
            "list` shows the zoo ids.")
    return Source("zoo", source, source)


def load_dataset_file(path: str | Path) -> SyntheticDataset:
    """Read a ``.safetensors`` dataset file and check it against its env.

    ``path`` may also be an entry folder (``hades-zoo distill --out DIR``, or
    ``save_pretrained``): its dataset is found through its card and checked against
    the sha256 the card records (``hades_zoo.hub.folder.from_pretrained``).

    Raises:
        DatasetFormatError: missing, truncated or corrupt file; unknown
            ``format_version``; invalid arrays or metadata (the key is named).
        EnvError: the arrays do not fit the env named in the recipe.
    """
    use_compilation_cache()
    if is_dir(path):  # never raises (a name too long is read_dataset_file's to name)
        from hades_zoo.hub.folder import from_pretrained
        from hades_zoo.hub.policy_repo import is_policy_folder

        if is_policy_folder(path):
            raise DatasetFormatError(
                f"{show_path(str(path))} is a saved policy (config.json + "
                "model.safetensors), not a dataset: evaluate it with `hades-zoo eval "
                "DIR`, load it with hz.load_policy(DIR).")

        return from_pretrained(Path(path))
    if _recorded_beside(Path(path)):  # a sidecar or card records its sha256: check it
        from hades_zoo.hub.folder import from_pretrained

        return from_pretrained(Path(path).parent, filename=Path(path).name)
    ds = read_dataset_file(path)
    check_dataset_fits_env(ds)
    return ds


def _recorded_beside(path: Path) -> bool:
    """Whether a ``<file>.sha256`` sidecar or a README.md card naming the file lies
    beside it (an entry folder's file is then checked as its folder would be)."""
    if not os.path.isfile(path):  # never raises; odd files are the reader's to name
        return False
    if os.path.isfile(path.parent / f"{path.name}.sha256"):
        return True
    card = path.parent / "README.md"
    if not os.path.isfile(card):
        return False
    from hades_zoo.hub.cards import card_block

    try:
        return card_block(card.read_text(encoding="utf-8", errors="replace")
                          ).get("file") == path.name
    except DatasetFormatError:
        return False


def load(source: str | Path) -> SyntheticDataset:
    """Load a dataset, from the same sources as the CLI.

    Args:
        source: a zoo id such as ``hopper-R-64`` (packaged zoo, then its Hub
            location); a path to a ``.safetensors`` file or to an entry folder
            (``hades-zoo distill --out DIR``, ``save_pretrained``, ``pull --out``),
            as a ``str`` or ``Path``; ``file:<path>``, ``hf:<org>/<name>[@rev]`` or
            ``zoo:<id>`` to say which explicitly. A bare string that is both a zoo
            id and an existing path is refused with both spellings
            (:func:`resolve_source`).

    Returns:
        The dataset, its arrays checked against its env.

    Raises:
        UnknownDatasetError (also AmbiguousSourceError, SourceNotFoundError):
            an unknown id, a missing path, or a bare zoo id that is also a path.
        DatasetFormatError: an unreadable, altered or invalid file.
        EnvError: arrays that do not fit the env.
        HubError: see ``load_from_hub``.

    Example:
        >>> ds = hz.load("runs/cartpole/cartpole-R-2.safetensors")  # or the folder
    """
    src = resolve_source(source)
    use_compilation_cache()
    if src.kind == "hf":
        from hades_zoo.hub import load_from_hub

        return load_from_hub(src.value)
    if src.kind == "zoo":
        from hades_zoo.zoo.registry import load_zoo_dataset

        return load_zoo_dataset(src.value)
    return load_dataset_file(src.value)


def load_checked(source: str | Path) -> tuple[SyntheticDataset, str]:
    """:func:`load`, and how the file's sha256 was checked (what ``verify`` prints).

    A ``.safetensors`` file next to its ``.sha256`` sidecar or a README.md card that
    names it is read as its folder would be (``from_pretrained``), so its sha256 is
    checked against what they record.

    Returns:
        ``(dataset, note)``; the note says whether a recorded sha256 was checked.
    """
    src = resolve_source(source)
    checked = "sha256 matches the card"
    if src.kind == "hf":
        return load(source), checked
    if src.kind == "folder":
        return load(source), _folder_note(Path(src.value), None)
    if src.kind == "file" and _recorded_beside(Path(src.value)):
        path = Path(src.value)
        return load(source), _folder_note(path.parent, path.name)
    if src.kind == "zoo":
        return load(source), "sha256 matches the zoo index"
    return load(source), "no card to check the sha256 against"


def _folder_note(directory: Path, filename: str | None) -> str:
    """How ``from_pretrained`` checked a folder's dataset: against the sidecar or the
    card, or not at all when neither records a sha256."""
    from hades_zoo.hub.folder import local_dataset_file

    file, recorded = local_dataset_file(directory, filename)
    if recorded is None:
        return "sha256 not checked: no card or sidecar records it"
    if os.path.isfile(directory / "README.md"):
        return "sha256 matches the card"
    return f"sha256 matches {file.name}.sha256 (no card)"
