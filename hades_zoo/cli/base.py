"""The ``hades-zoo`` click group and what every command shares: one-line errors (exit 1),
sources given as paths, the JIT cache, quiet third-party loggers.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import sys
from pathlib import Path

import click

from hades_zoo.errors import HadesZooError

__all__ = ["cli", "main"]


#: OSError numbers that mean "cannot store": full disk, quota, read-only, no permission.
_STORAGE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS,
                   errno.EACCES, errno.EPERM}


def _fail_cleanly(fn):
    """Turn HadesZooError into a one-line message (line breaks become spaces) and exit
    status 1.

    A full disk or a read-only / forbidden path met by a write that does not go
    through ``hades_zoo.data.cache``'s atomic writes (an append, a plot) is reported
    the same way, as a StorageError naming the path.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HadesZooError as err:  # one line, even for a wrapped YAML error
            text = re.sub(r"\s*\n\s*", " ", str(err))
            raise click.ClickException(f"{type(err).__name__}: {text}") from None
        except OSError as err:
            if err.errno not in _STORAGE_ERRNOS:
                raise
            from hades_zoo.data.cache import storage_error

            typed = storage_error(err, err.filename, atomic=False)
            raise click.ClickException(f"{type(typed).__name__}: {typed}") from None

    return wrapper


def _jit_cache() -> bool:
    """Persistent XLA compilation cache under $HADES_ZOO_CACHE/jax (HADES_ZOO_JIT_CACHE=0
    turns it off); a repeated command then skips most compilation. True if enabled."""
    from hades_zoo.data.cache import enable_compilation_cache

    return enable_compilation_cache() is not None


def _resolve_source(source: str) -> str:
    """A CLI argument may be a path to an existing file; the API wants 'file:'.

    ``os.path.lexists`` never raises (a name too long for the file system is then
    read as an id, or named by the reader when it ends in ``.safetensors``) and sees a
    FIFO, a device or a dangling link, which the reader names."""
    if ":" in source:
        return source
    if source.endswith(".safetensors") or os.path.lexists(source):
        return "file:" + source
    return source


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hades_zoo")
@click.option("-v", "--verbose", count=True,
              help="Log to stderr: -v hades_zoo's log, including the third-party output "
                   "it captures (brax/mujoco notices); -vv every library's log.")
def cli(verbose: int) -> None:
    """hades-zoo: tiny synthetic datasets that train RL policies zero-shot (HaDES).

    \b
    Examples:
      hades-zoo distill recipes/cartpole-R-2.yaml --out runs/cartpole
      hades-zoo eval runs/cartpole/cartpole-R-2.safetensors --episodes 10 --json
      hades-zoo train hopper-R-4 --width 256 --out pol/
      hades-zoo push pol/ --repo-id me/hopper-policy
      hades-zoo certify hopper-R-4 --seeds 5
      hades-zoo transfer hopper-R-4 --widths 64,512 --steps 100,200 --seeds 2
      hades-zoo merge halfcheetah-R-64 hopper-R-64 --out runs/multitask
    """
    _configure_logging(verbose)


def _configure_logging(verbose: int) -> None:
    """No log output by default (the terminal shows what hades_zoo says); -v: hades_zoo's
    DEBUG log on stderr; -vv: every library's."""
    if verbose <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    target = logging.getLogger() if verbose >= 2 else logging.getLogger("hades_zoo")
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    if verbose == 1:  # a library may have configured the root logger: print once
        target.propagate = False


# =============================================================================
# Hub: push / pull / verify (hades_zoo.hub)
# =============================================================================
def _load_any(source: str):
    """(dataset, how its sha256 was checked) for a folder, file, hf:... or zoo id.

    A ``.safetensors`` file next to a README.md card that names it is checked against
    the card's sha256.
    """
    from hades_zoo.hub import from_pretrained
    from hades_zoo.zoo.loading import load as load_source

    path = Path(source)
    if ":" not in source and os.path.isdir(source):
        return from_pretrained(path), _sha_note(path, None)
    if (":" not in source and os.path.isfile(source)
            and os.path.isfile(path.parent / "README.md")):
        from hades_zoo.errors import DatasetFormatError
        from hades_zoo.hub.cards import card_block

        try:
            named = card_block((path.parent / "README.md").read_text()).get("file")
        except DatasetFormatError:
            named = None
        if named == path.name:
            return (from_pretrained(path.parent, filename=path.name),
                    _sha_note(path.parent, path.name))
    if source.startswith("hf:"):
        return load_source(source), "sha256 matches the card"
    return load_source(_resolve_source(source)), "no card to check the sha256 against"


def _sha_note(directory: Path, filename: str | None) -> str:
    """How ``from_pretrained`` checked a folder's dataset: against the sidecar or the
    card, or not at all when neither records a sha256."""
    from hades_zoo.hub.folder import local_dataset_file

    file, recorded = local_dataset_file(directory, filename)
    if recorded is None:
        return "sha256 not checked: no card or sidecar records it"
    if os.path.isfile(directory / "README.md"):
        return "sha256 matches the card"
    return f"sha256 matches {file.name}.sha256 (no card)"


def _human(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def _zoo_entry(source: str):
    """The registry entry when SOURCE is a zoo id, else None."""
    from hades_zoo.data.ids import is_dataset_id
    from hades_zoo.zoo.registry import entries

    return entries().get(source) if is_dataset_id(source) else None


def _overrides(width, depth, activation, lr, steps) -> dict:
    return {k: v for k, v in (("width", width), ("depth", depth),
                              ("activation", activation), ("lr", lr), ("steps", steps))
            if v is not None}


def _csv(kind):
    """click callback: a comma-separated list of ``kind``."""

    def parse(ctx, param, value):
        if value is None:
            return None
        try:
            items = [kind(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"expected comma-separated {kind.__name__}s, got "
                                     f"{value!r}") from None
        if not items:
            raise click.BadParameter("empty list")
        return items

    return parse


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hades-zoo")


