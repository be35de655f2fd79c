"""The one gate from a name to a path: dataset ids, recipe names, tags and Hub file
names become file names only through :func:`check_name` / :func:`child_path`.

A dataset's id is data: it comes from a file's metadata, a recipe's ``name:`` (or
``--set name=...``), a Hub repo's card. Joined to a folder unchecked, ``../victim``
or ``/etc/x`` writes outside the folder the user gave. Every writer therefore builds
its paths with :func:`child_path`, which refuses any name that is not a single plain
path component (``tests/test_hostile_names.py`` walks every writer with such names).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hades_zoo.errors import UnsafeNameError

__all__ = ["MAX_NAME_BYTES", "check_name", "child_path", "extension_only",
           "name_only_extension_message"]

#: The longest file name (in UTF-8 bytes) that common file systems accept.
MAX_NAME_BYTES = 255


def _describe(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 80 else f"{text[:60]}...' ({len(text)} characters)"


def check_name(name: object, *, what: str = "name") -> str:
    """Check that ``name`` is one plain path component, safe to join to a folder.

    Args:
        name: a dataset id, recipe name, tag or file name (with its suffix).
        what: what the name is, for the message (``"dataset id"``, ``"recipe name"``).

    Returns:
        ``name`` unchanged.

    Raises:
        UnsafeNameError: not a string, empty, ``.``/``..`` or containing ``..``, ``/``
            or ``\\``, absolute or a drive (``C:``), a control character (U+0000-001F,
            U+007F-009F, line and paragraph separators), or longer than 255 UTF-8 bytes.
            The message names the value and the fix.
    """
    fix = (f"; use a {what} made of letters, digits, '-', '_' and '.' (e.g. "
           "'cartpole-R-2'), at most 255 bytes")
    if not isinstance(name, str):
        raise UnsafeNameError(f"{what} must be a string, got {type(name).__name__}{fix}.")
    shown = _describe(name)
    if not name or name.strip() != name or not name.strip():
        raise UnsafeNameError(f"{what} {shown} is empty or has leading/trailing spaces{fix}.")
    if "/" in name or "\\" in name:
        raise UnsafeNameError(
            f"{what} {shown} contains a path separator ('/' or '\\'): it would write "
            f"outside the folder it is meant for{fix}.")
    if name in (".", "..") or ".." in name:
        raise UnsafeNameError(f"{what} {shown} contains '..'{fix}.")
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        raise UnsafeNameError(f"{what} {shown} looks like an absolute (drive) path{fix}.")
    bad = [c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    if bad:
        raise UnsafeNameError(
            f"{what} {shown} contains the control character {bad[0]!r}{fix}.")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise UnsafeNameError(
            f"{what} {shown} is {size} bytes long; file names are limited to "
            f"{MAX_NAME_BYTES}{fix}.")
    return name


def child_path(directory: str | Path, name: str, *, suffix: str = "",
               what: str = "name") -> Path:
    """``directory / (name + suffix)``, after :func:`check_name` on the whole file name.

    Args:
        directory: the folder the file belongs in.
        name: the untrusted part (dataset id, recipe name, tag).
        suffix: a trusted suffix such as ``".safetensors"``.
        what: what ``name`` is, for the message.

    Returns:
        The path; it is a direct child of ``directory``.

    Raises:
        UnsafeNameError: see :func:`check_name`.
    """
    check_name(name, what=what)
    filename = check_name(name + suffix, what=what)
    path = Path(directory) / filename
    if path.parent != Path(directory):  # pragma: no cover - check_name forbids it
        raise UnsafeNameError(f"{what} {_describe(name)} leaves {directory}.")
    return path


def extension_only(path: str | Path) -> str | None:
    """The extension when ``path``'s file name is nothing but one (``out/.gif`` ->
    ``".gif"``), else None.

    ``Path(".gif").suffix`` is ``""`` (a hidden file named ``gif``), so a suffix check
    alone would say "no suffix" and suggest ``.gif.mp4``; an output writer asks this
    first and says the file needs a name.
    """
    name = Path(path).name
    if len(name) > 1 and name.startswith(".") and name.count(".") == 1:
        return name
    return None


def name_only_extension_message(path: str | Path, example_stem: str,
                                suffixes: tuple[str, ...] | list[str]) -> str | None:
    """The message for an output file whose name is only an extension (``--out .gif``),
    or None when ``path`` has a name: suggests ``<example_stem><ext>`` beside it (the
    ``ext`` given when it is one of ``suffixes``, else the first of them)."""
    ext = extension_only(path)
    if ext is None:
        return None
    path = Path(path)
    good = ext.lower() in suffixes
    use = ext.lower() if good else suffixes[0]
    tail = "" if good else (
        f", and not a format written here ({', '.join(suffixes[:4])}"
        f"{', ...' if len(suffixes) > 4 else ''})")
    return (f"{path}: the file name {ext!r} is only an extension{tail}; give the file "
            f"a name, e.g. {path.with_name(example_stem + use)}.")
