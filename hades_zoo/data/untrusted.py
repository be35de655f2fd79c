"""Reading input that nobody vouched for: files given as paths, JSON in a file's
metadata, recipe YAML. Every reader here has a bound, so a hostile or broken input
gets a typed error naming it and the fix, never a hang, a ``MemoryError`` or a
``RecursionError``:

- :func:`read_regular_file`: the path must be a regular file (not a FIFO, which
  blocks forever, a device such as ``/dev/zero``, which never ends, or a folder) of
  at most ``max_bytes``; a name too long for the file system and a link that points
  nowhere are named as such.
- :func:`load_json`: JSON nested at most :data:`MAX_JSON_DEPTH` levels.
- :func:`read_npz`: a numpy ``.npz`` archive whose members' sizes are read from their
  ``.npy`` headers before anything is decompressed: at most :data:`MAX_NPZ_MEMBERS`
  members and ``max_bytes`` of arrays in all, no pickled objects (a 1.5 MB zip can
  declare a 1.6 GB array).
- :func:`load_yaml`: YAML without aliases (``*name``: a "billion laughs" document
  expands exponentially, a self-referencing one never ends), without a key given
  twice (PyYAML keeps the last silently), nested at most :data:`MAX_JSON_DEPTH`
  levels.

Callers pass the ``HadesZooError`` subclass of their input (``DatasetFormatError``
for a dataset, ``RecipeError`` for a recipe); ``tests/test_adversarial_inputs.py``
replays every kind against every loader.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import yaml

from hades_zoo.errors import HadesZooError

__all__ = ["MAX_JSON_DEPTH", "MAX_DATASET_BYTES", "MAX_RECIPE_BYTES", "MAX_NPZ_MEMBERS",
           "read_npz", "show_path",
           "read_regular_file", "check_path_given", "link_target", "is_dir", "load_json",
           "load_yaml"]

#: Deepest nesting of lists/objects accepted in metadata JSON and recipe YAML. A
#: recipe is 3 levels deep, a dataset's metadata 4; 64 leaves room for provenance.
MAX_JSON_DEPTH = 64
#: Largest dataset file read (1 GiB; the zoo's largest is 70 KB, a D=100k humanoid
#: dataset about 100 MB).
MAX_DATASET_BYTES = 1 << 30
#: Largest recipe file read (1 MiB; recipes are about 1 KB).
MAX_RECIPE_BYTES = 1 << 20
#: Most members of an ``.npz`` archive read (a reference export has about 10).
MAX_NPZ_MEMBERS = 1_000
#: Longest ``.npy`` header read (numpy's own default bound).
_MAX_NPY_HEADER = 10_000

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)", "reading it waits for a writer forever"),
    (stat.S_ISCHR, "a character device", "reading it may never end"),
    (stat.S_ISBLK, "a block device", "it is a whole disk, not a file"),
    (stat.S_ISSOCK, "a socket", "it cannot be read as a file"),
)


def show_path(path: object, limit: int = 120) -> str:
    """``path`` (or any text) for a message: control characters escaped, shortened
    (with its length) when long."""
    text = str(path)
    if not text.isprintable():
        text = repr(text)[1:-1]
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 6
    return f"{text[:head]}...{text[-tail:]} ({len(text)} characters)"


def link_target(path: str | Path) -> str | None:
    """What the symbolic link ``path`` points to, or None when it is not a link."""
    try:
        return os.readlink(path) if os.path.islink(path) else None
    except (OSError, ValueError):
        return None


def is_dir(path: str | Path) -> bool:
    """``os.path.isdir`` that is False (never raises) for a name too long or invalid."""
    return os.path.isdir(path)


def check_path_given(path: str | Path, *, what: str, error: type[HadesZooError]) -> None:
    """Refuse an empty (or blank) path string before ``Path("")`` turns it into ``.``,
    the working folder, and the message names a folder the user never typed.

    Raises:
        error: ``path`` is ``""`` or only spaces.
    """
    if isinstance(path, str) and not path.strip():
        raise error(f"the {what} path is {'empty' if not path else 'blank'} ({path!r}); "
                    f"give the path of a {what} file.")


def _not_regular(path: Path, mode: int, what: str) -> str | None:
    """Why a file of ``mode`` cannot be read as ``what``, or None when it is regular."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{show_path(path)} is a folder, not a {what} file; give the file's path"
    for test, kind, why in _KINDS:
        if test(mode):
            return (f"{show_path(path)} is {kind}, not a {what} file ({why}); give the "
                    f"path of a regular {what} file")
    return f"{show_path(path)} is not a regular file; give the path of a {what} file"


def read_regular_file(path: str | Path, *, what: str, error: type[HadesZooError],
                      max_bytes: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    The file is checked (``os.stat``) before it is opened, opened non-blocking and
    checked again (``os.fstat``) so that a FIFO swapped in meanwhile cannot block, and
    read no further than ``max_bytes + 1``.

    Args:
        path: the file (a link is followed; its target must be a regular file).
        what: what the file should hold, for messages (``"dataset"``, ``"recipe"``).
        error: the ``HadesZooError`` subclass to raise.
        max_bytes: the largest size accepted.

    Raises:
        error: an empty path string, missing, a folder, a FIFO, a device or a socket,
            a link to nothing, a name too long, unreadable, or larger than
            ``max_bytes``; the message names the path and the fix.
    """
    check_path_given(path, what=what, error=error)
    path = Path(path)
    shown = show_path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise error(_stat_failure(path, err, what)) from None
    except ValueError as err:  # an embedded NUL byte
        raise error(f"{shown} is not a valid path ({err}); check the path.") from None
    problem = _not_regular(path, mode, what)
    if problem:
        raise error(problem + ".")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise error(f"cannot read {what} {shown}: {err.strerror}.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        problem = _not_regular(path, info.st_mode, what)
        if problem:
            raise error(problem + ".")
        if info.st_size > max_bytes:
            raise error(_too_large(shown, info.st_size, what, max_bytes))
        try:  # read(n) allocates n bytes first: ask for the file's size, not the bound
            data = f.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since fstat: read on, to the bound
                data += f.read(max_bytes + 1 - len(data))
        except OSError as err:
            raise error(f"cannot read {what} {shown}: {err.strerror}.") from None
    if len(data) > max_bytes:
        raise error(_too_large(shown, len(data), what, max_bytes))
    return data


def _too_large(shown: str, size: int, what: str, max_bytes: int) -> str:
    return (f"{shown} is {size:,} bytes or more; a {what} file is at most "
            f"{max_bytes:,} bytes, so this is not a {what} file: check the path.")


def _stat_failure(path: Path, err: OSError, what: str) -> str:
    shown = show_path(path)
    if err.errno == errno.ENAMETOOLONG:
        return (f"{shown} is too long a name for the file system (at most 255 bytes "
                f"per name); give the path of a {what} file or a dataset id.")
    target = link_target(path)
    if target is not None and err.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
        return (f"{shown} is a symbolic link to {show_path(target)}, which does not "
                f"exist; point the link at a {what} file or give the file's own path.")
    return f"cannot read {what} {shown}: {err.strerror}; check the path."


# ---------------------------------------------------------------------- JSON and YAML
def _depth(value: Any) -> int:
    """Nesting depth of lists/dicts in ``value`` (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        elif not isinstance(node, (list, tuple)):
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:  # deeper than the bound: no need to look further
            stack.extend((child, level + 1) for child in node)
    return deepest


def _too_deep(source: str, what: str) -> str:
    return (f"{source}: {what} is nested more than {MAX_JSON_DEPTH} levels deep (lists "
            "or objects inside each other); no hades_zoo file is, so it was damaged or "
            "made by hand: regenerate it.")


def load_json(text: str | bytes, *, source: str, what: str,
              error: type[HadesZooError]) -> Any:
    """``json.loads`` bounded to :data:`MAX_JSON_DEPTH` levels of nesting.

    Args:
        text: the JSON text.
        source: where it came from (a file and key), for messages.
        what: what it is (``"metadata key 'recipe'"``), for messages.
        error: the ``HadesZooError`` subclass to raise.

    Raises:
        error: invalid JSON, or nested too deep.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(_too_deep(source, what)) from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a 5000-digit int
        raise error(f"{source}: {what} is not valid JSON ({show_path(err, 200)}); "
                    "regenerate it.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise error(_too_deep(source, what))
    return value


class _AliasFound(yaml.YAMLError):
    def __init__(self, anchor: str, mark) -> None:
        super().__init__(anchor)
        self.anchor, self.mark = anchor, mark


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, first, second) -> None:
        super().__init__(key)
        self.key, self.first, self.second = key, first, second


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that stops at the first alias (``*name``, ``<<: *name``)
    and at a key given twice in one mapping (PyYAML keeps the last silently)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasFound(event.anchor, event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict[object, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key: PyYAML names it below
                continue
            if first is not key_node.start_mark:
                raise _DuplicateKey(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, *, source: str, error: type[HadesZooError]) -> Any:
    """``yaml.safe_load`` without aliases or repeated keys, bounded to
    :data:`MAX_JSON_DEPTH` levels.

    Raises:
        error: invalid YAML, an alias or a key given twice (named with its lines),
            or nested too deep.
    """
    try:
        value = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except _AliasFound as err:
        line = f" (line {err.mark.line + 1})" if err.mark is not None else ""
        raise error(
            f"{source}: uses the YAML alias *{err.anchor}{line}; recipes may not use "
            "aliases (*name, <<: *name: an anchor &name alone is harmless), which can "
            "expand exponentially or refer to themselves: write the values out."
        ) from None
    except _DuplicateKey as err:
        raise error(
            f"{source}: key {err.key!r} is given twice in one mapping (lines "
            f"{err.first.line + 1} and {err.second.line + 1}); YAML would silently "
            "keep the last: remove one."
        ) from None
    except RecursionError:
        raise error(_too_deep(source, "the YAML")) from None
    except yaml.YAMLError as err:
        raise error(f"{source} is not valid YAML: {err}") from None
    except ValueError as err:  # PyYAML's int() of a number with over 4300 digits
        raise error(f"{source}: a value cannot be read ({show_path(err, 200)}); "
                    "write numbers of a sane size.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise error(_too_deep(source, "the YAML"))
    return value


def read_npz(data: bytes, *, source: str, error: type[HadesZooError],
             what: str = ".npz archive", max_bytes: int = MAX_DATASET_BYTES
             ) -> dict[str, Any]:
    """The arrays of an ``.npz`` archive (``np.load(..., allow_pickle=False)``'s keys
    and values), bounded before anything is decompressed.

    A zip compresses a constant array about 1000:1, so the file's size (bounded by
    ``read_regular_file``) says nothing of its arrays'. Each member's ``.npy`` header
    (its first bytes: shape and dtype) is read first, and the archive is refused when
    its members' declared sizes, or their arrays, add up to more than ``max_bytes``;
    only then is each array read (``np.lib.format.read_array``, no pickles). A member
    that is not ``.npy`` is kept as bytes, as ``np.load`` does.

    Raises:
        error: naming ``source``, the member, its shape and dtype, and the bound; or a
            corrupt archive.
    """
    import numpy as np

    fmt = np.lib.format
    out: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise error(f"{source}: an .npz of {len(infos):,} members; at most "
                            f"{MAX_NPZ_MEMBERS:,} are read: check the file.")
            total = 0
            for info in infos:
                name = info.filename
                if not name.endswith(".npy"):
                    total += info.file_size
                    if total > max_bytes:
                        raise error(_npz_too_large(source, name, f"{info.file_size:,} "
                                                   "bytes", max_bytes))
                    out[name] = zf.read(info)
                    continue
                with zf.open(info) as f:
                    shape, dtype = _npy_header(f, fmt, source, name, error)
                if dtype.hasobject:
                    raise error(f"{source}: not a readable {what}: member {name!r} "
                                f"holds Python objects (dtype {dtype}), which would need "
                                "unpickling; give a plain numpy archive (np.savez) of "
                                "numeric or string arrays.")
                total += math.prod(shape) * dtype.itemsize
                if total > max_bytes:
                    raise error(_npz_too_large(
                        source, name, f"shape {shape}, dtype {dtype}", max_bytes))
                with zf.open(info) as f:
                    out[name[:-len(".npy")]] = fmt.read_array(f, allow_pickle=False)
    except HadesZooError:  # ours, above: already names the member (some are ValueErrors)
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zipfile.LargeZipFile,
            NotImplementedError, RuntimeError) as err:  # RuntimeError: an encrypted member
        raise error(f"{source}: not a readable {what} ({err}); give a plain numpy "
                    "archive (np.savez) without pickled objects.") from err
    return out


def _npy_header(f, fmt, source: str, name: str, error: type[HadesZooError]
                ) -> tuple[tuple[int, ...], Any]:
    """``(shape, dtype)`` from an ``.npy`` stream's first bytes; at most
    ``_MAX_NPY_HEADER`` header bytes are decompressed."""
    magic = f.read(8)
    if len(magic) < 8 or not magic.startswith(b"\x93NUMPY"):
        raise error(f"{source}: member {name!r} is not an .npy array (no NUMPY magic).")
    major = magic[6]
    width = 2 if major == 1 else 4
    size_bytes = f.read(width)
    length = int.from_bytes(size_bytes, "little")
    if major not in (1, 2, 3) or len(size_bytes) < width or length > _MAX_NPY_HEADER:
        raise error(f"{source}: member {name!r} has an .npy header numpy cannot read "
                    f"(version {major}, {length:,} bytes).")
    header = f.read(length)
    # version 3 differs from 2 only in the header's text encoding (utf-8, not latin-1)
    prefix = magic[:6] + bytes([min(major, 2), 0]) + size_bytes + header
    buf = io.BytesIO(prefix)
    fmt.read_magic(buf)
    reader = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
    shape, _fortran, dtype = reader(buf)
    return tuple(int(n) for n in shape), dtype


def _npz_too_large(source: str, name: str, what: str, max_bytes: int) -> str:
    return (f"{source}: member {name!r} ({what}) brings the archive's arrays over "
            f"{max_bytes:,} bytes, the most read from one file (it may be a zip that "
            "expands without bound); nothing was decompressed: check the file, or "
            "export a smaller one.")
