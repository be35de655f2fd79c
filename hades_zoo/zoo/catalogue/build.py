"""Build the catalogue: a static site of every zoo entry (``hades-zoo catalogue``).

:func:`build_catalogue` writes, into ``out`` only::

    index.html              every entry: filters (env, variant, D, origin, certificate,
                            transfer score) and sorting, in the page's own script
    entries/<id>.html       one page per entry (``pages.render_entry``)
    media/<id>.*.png        dataset plot, learning curve, ES baseline, transfer plot
    replays/<id>.<sha>.mp4  the replays (or .gif; ``replays.ReplayMaker``)
    data/<id>.safetensors   the dataset and its recipe (<id>.yaml), to download
    assets/                 style sheet, script, icon (package data: no network)
    catalogue.json          the index rows as data; it also marks the folder as a
                            catalogue, so a later build may replace it

The site is built in a hidden sibling folder and swapped in as one step
(``data.atomic_folder.replace_folder``): a reader, a stop or a failure sees the old
site or the new one. ``out`` may be missing, empty or an earlier catalogue; any other
folder, a file, a symbolic link or a place inside the installed package is refused
(``CatalogueError``) before anything is built. Names of files come from zoo ids
through ``data.paths.child_path``.
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from hades_zoo.data.atomic_folder import replace_folder
from hades_zoo.data.destinations import check_outside_package
from hades_zoo.data.paths import child_path
from hades_zoo.data.untrusted import load_json, read_regular_file
from hades_zoo.errors import CatalogueError, HadesZooError, close_matches
from hades_zoo.zoo.catalogue.facts import EntryFacts, checkout_root, gather, index_row
from hades_zoo.zoo.catalogue.pages import render_entry, render_index
from hades_zoo.zoo.catalogue.replays import (
    Replay,
    ReplayFn,
    ReplayMaker,
    ReplaySettings,
)
from hades_zoo.zoo.registry import ZooEntry, entries, packaged_file

__all__ = [
    "GENERATOR",
    "MARKER",
    "CatalogueResult",
    "build_catalogue",
    "check_out",
    "is_catalogue",
    "select_ids",
]

log = logging.getLogger(__name__)

MARKER = "catalogue.json"
GENERATOR = "hades_zoo catalogue"
CATALOGUE_VERSION = 1
_ASSETS = ("style.css", "catalogue.js", "favicon.svg")

ProgressFn = Callable[[int, int, str, str], None]


@dataclasses.dataclass(frozen=True)
class CatalogueResult:
    """What a build wrote.

    Attributes:
        out: the site folder.
        ids: the entries it holds.
        replays_made / replays_reused / replays_missing: replays rendered now, taken
            from the cache or the earlier site, and entries without one.
        no_replay: ``(id, reason)`` of those without one.
        total_bytes: the site's size on disk (file sizes; hard links counted).
        seconds: wall time of the build.
        checkout: the source checkout certificates and results were read from.
    """

    out: Path
    ids: tuple[str, ...]
    replays_made: int
    replays_reused: int
    replays_missing: int
    no_replay: tuple[tuple[str, str], ...]
    total_bytes: int
    seconds: float
    checkout: Path | None


def is_catalogue(folder: Path) -> bool:
    """Whether ``folder`` holds a catalogue written by :func:`build_catalogue`."""
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        data = load_json(read_regular_file(marker, what="catalogue record",
                                           error=CatalogueError, max_bytes=64 << 20),
                         source=str(marker), what="catalogue record",
                         error=CatalogueError)
    except HadesZooError:
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def check_out(out: str | Path, *, replays_dir: str | Path | None = None) -> Path:
    """The absolute ``--out`` folder, after checking a catalogue may go there.

    Raises:
        CatalogueError: ``out`` is the file-system root, a symbolic link, a file, a
            folder inside the installed package, or a folder holding files that is
            not an earlier catalogue; ``replays_dir`` is a file or lies inside
            ``out`` (the site is replaced as a whole).
    """
    path = Path(os.path.abspath(os.fspath(out)))
    fix = "pass a new or empty folder, or the folder of an earlier catalogue"
    if path.name == "":
        raise CatalogueError(f"--out {out}: the file-system root cannot be a "
                             f"catalogue; {fix}.")
    if path.is_symlink():
        raise CatalogueError(f"--out {out} is a symbolic link; the catalogue replaces "
                             "its folder as a whole, so give the folder it points to.")
    if path.exists() and not path.is_dir():
        raise CatalogueError(f"--out {out} is a file; {fix}.")
    check_outside_package(out, what="--out", error=CatalogueError)  # the one gate
    if path.is_dir() and any(path.iterdir()) and not is_catalogue(path):
        raise CatalogueError(
            f"--out {out} holds files and is not a hades_zoo catalogue (no {MARKER} "
            f"written by hades-zoo catalogue); refusing to replace it: {fix}.")
    if replays_dir is not None:
        cache = Path(os.path.abspath(os.fspath(replays_dir)))
        if cache.exists() and not cache.is_dir():
            raise CatalogueError(f"--replays {replays_dir} is a file; pass a folder "
                                 "(created if missing) to keep the rendered replays.")
        if cache == path or path in cache.parents:
            raise CatalogueError(
                f"--replays {replays_dir} is inside --out {out}, which is replaced as a "
                "whole; keep the replay cache beside the site (e.g. --replays "
                "replays-cache).")
    return path


def select_ids(only: Sequence[str] | None = None,
               zoo: dict[str, ZooEntry] | None = None) -> list[str]:
    """The zoo ids to build: all, or those matching any ``only`` glob (fnmatch).

    Raises:
        CatalogueError: a pattern matches no zoo id (with close matches).
    """
    zoo = entries() if zoo is None else zoo
    if not only:
        return sorted(zoo)
    chosen: set[str] = set()
    for pattern in only:
        hits = [i for i in zoo if fnmatch.fnmatchcase(i, pattern)]
        if not hits:
            raise CatalogueError(
                f"--only {pattern!r} matches no zoo id.{close_matches(pattern, zoo)} "
                "Zoo ids are case-sensitive (`hades-zoo list` shows them); a glob "
                "such as 'hopper-*' selects several.")
        chosen.update(hits)
    return sorted(chosen)


def _previous_replays(out: Path) -> list[Path]:
    folder = out / "replays"
    return [folder] if is_catalogue(out) and folder.is_dir() else []


def _version() -> str:
    try:
        return metadata.version("hades_zoo")
    except metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return "0+unknown"


def _copy_assets(site: Path) -> None:
    assets = site / "assets"
    assets.mkdir()
    static = resources.files("hades_zoo.zoo.catalogue") / "static"
    for name in _ASSETS:
        (assets / name).write_bytes((static / name).read_bytes())


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _entry_files(facts: EntryFacts, site: Path) -> tuple[dict[str, str], str]:
    """Write one entry's plots and downloads; ``(name -> link from its page, why
    there is no dataset plot)``."""
    from hades_zoo.zoo.plotting import plot_dataset, pyplot

    ident = facts.dataset_id
    media, data = site / "media", site / "data"
    files: dict[str, str] = {}

    def put(key: str, folder: Path, suffix: str, src: Path | None) -> None:
        if src is not None:
            dst = child_path(folder, ident, suffix=suffix, what="dataset id")
            shutil.copyfile(src, dst)
            files[key] = f"../{folder.name}/{dst.name}"

    reason = ""
    plot = child_path(media, ident, suffix=".dataset.png", what="dataset id")
    try:
        plot_dataset(facts.summary.dataset, plot)
        files["dataset_plot"] = f"../media/{plot.name}"
    except ImportError as err:  # matplotlib missing: pages say so
        reason = str(err)
    finally:
        try:
            pyplot().close("all")
        except ImportError:
            pass
    put("curve", media, ".curve.png", facts.curve)
    put("baseline", media, ".baseline.png", facts.baseline_plot)
    grid = facts.transfer_grid
    put("transfer_plot", media, ".transfer.png", grid.plot if grid else None)
    packaged = packaged_file(facts.entry)
    if packaged is not None:
        dst = child_path(data, ident, suffix=".safetensors", what="dataset id")
        dst.write_bytes(packaged.read_bytes())
        files["dataset_file"] = f"../data/{dst.name}"
    recipe = child_path(data, ident, suffix=".yaml", what="dataset id")
    _write_text(recipe, facts.recipe_yaml)
    files["recipe_file"] = f"../data/{recipe.name}"
    return files, reason


#: which entries get a replay (``build_catalogue(replays_of=...)``)
REPLAYS_OF = ("all", "first-seed")


def _gets_replay(entry: Any, replays_of: str) -> bool:
    return replays_of == "all" or entry.seed == 0 or entry.origin == "hades_zoo"


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_catalogue(out: str | Path, *, only: Sequence[str] | None = None,
                    replays: bool = True, replay: ReplayFn | None = None,
                    replays_dir: str | Path | None = None,
                    settings: ReplaySettings | None = None,
                    replays_of: str = "all",
                    commands: Iterable[str] = (),
                    progress_fn: ProgressFn | None = None) -> CatalogueResult:
    """Write the catalogue site of the packaged zoo into ``out`` (module doc).

    Args:
        out: the site folder: missing, empty, or an earlier catalogue (replaced).
        only: globs of zoo ids to include (default: every entry).
        replays: False: no replays (the pages say so); nothing is rendered.
        replay: the render function (``replays`` module doc); None: the installed
            ``hades_zoo.zoo.replay.render_source`` when there is one.
        replays_dir: a folder that caches replays by id + sha256 + settings (read,
            and written with every replay made); None: no cache.
        settings: render settings for every replay (default ``ReplaySettings()``).
        replays_of: ``"all"``: every entry gets a replay; ``"first-seed"``: only
            seed-0 entries and the zoo's own entries (a brax replay costs ~2 min of
            CPU under OSMesa; the other seeds' pages say how to make theirs).
        commands: the CLI commands that exist; the pages list only those
            (``render`` adds the render command).
        progress_fn: ``(done, total, dataset_id, note)`` after each entry.

    Returns:
        The :class:`CatalogueResult`.

    Raises:
        CatalogueError: ``out`` or ``replays_dir`` refused, ``only`` matches
            nothing, or ``replays_of`` is unknown (before any work).
        StorageError: a write failed (full disk, permission); ``out`` is unchanged.
        DatasetFormatError, EnvError: a damaged installed zoo entry.
    """
    started = time.monotonic()
    settings = ReplaySettings() if settings is None else settings
    if replays_of not in REPLAYS_OF:
        raise CatalogueError(f"replays_of must be one of {', '.join(REPLAYS_OF)}, got "
                             f"{replays_of!r}.")
    target = check_out(out, replays_dir=replays_dir)
    zoo = entries()
    ids = select_ids(only, zoo)
    cache = Path(os.path.abspath(os.fspath(replays_dir))) if replays_dir else None
    if cache is not None and replays:
        cache.mkdir(parents=True, exist_ok=True)
    maker = ReplayMaker(replay, settings, cache, _previous_replays(target))
    root = checkout_root()
    has = frozenset(commands)
    site_info = {"version": _version(), "n_entries": len(ids),
                 "built": datetime.date.today().isoformat()}
    by_env: dict[str, list[str]] = {}
    for ident in ids:
        by_env.setdefault(zoo[ident].env, []).append(ident)
    rows: list[dict[str, Any]] = []
    no_replay: list[tuple[str, str]] = []

    def fill(site: Path) -> None:
        _copy_assets(site)
        for name in ("entries", "media", "data", "replays"):
            (site / name).mkdir()
        for done, ident in enumerate(ids, 1):
            entry = zoo[ident]
            facts = gather(entry, root=root, commands=has)
            files, plot_reason = _entry_files(facts, site)
            if replays and not _gets_replay(entry, replays_of):
                rep = Replay(None, reason=(
                    "this catalogue renders the replays of seed-0 and own entries "
                    f"only; make this one with `hades-zoo render {ident} --out "
                    f"{ident}.mp4`"))
            elif replays:
                rep = maker.make(ident, entry.sha256, "zoo:" + ident, site / "replays")
            else:
                rep = Replay(None, reason="the catalogue was built with --no-replays")
            if rep.file:
                files["replay"] = f"../replays/{rep.file}"
            else:
                no_replay.append((ident, rep.reason))
            page = child_path(site / "entries", ident, suffix=".html", what="dataset id")
            related = [(other, f"{child_path(Path('.'), other, suffix='.html').name}")
                       for other in by_env[entry.env] if other != ident]
            _write_text(page, render_entry(facts, rep, files=files, related=related,
                                           site=site_info, plot_reason=plot_reason))
            row = index_row(facts, f"entries/{page.name}", bool(rep.file))
            row["replay_file"] = f"replays/{rep.file}" if rep.file else None
            row["replay_reason"] = rep.reason
            rows.append(row)
            if progress_fn is not None:
                note = ("replay reused" if rep.reused else "replay made") if rep.file \
                    else "no replay"
                progress_fn(done, len(ids), ident, note)
        _write_text(site / "index.html", render_index(rows, site=site_info))
        record = {"generator": GENERATOR, "catalogue_version": CATALOGUE_VERSION,
                  "hades_zoo_version": site_info["version"], "built": site_info["built"],
                  "replay_settings": settings.key() if replays else None,
                  "entries": rows}
        _write_text(site / MARKER, json.dumps(record, indent=1) + "\n")

    replace_folder(target, fill)
    return CatalogueResult(
        out=target, ids=tuple(ids), replays_made=maker.made,
        replays_reused=maker.reused,
        replays_missing=len(no_replay), no_replay=tuple(no_replay),
        total_bytes=_folder_bytes(target), seconds=time.monotonic() - started,
        checkout=root)
