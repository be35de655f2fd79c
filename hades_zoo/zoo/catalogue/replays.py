"""Each entry's replay for the catalogue: made by a render function, or reused.

The render function is passed in (``replay=``), so the catalogue does not depend on
how a replay is made; by default it is ``hades_zoo.zoo.replay.render_source``,
imported when the first replay is asked for::

    render_source(source, out_path, *, episodes=1, seed=0, width=320, height=240,
                  fps=None, max_seconds=10.0) -> RenderResult
    # RenderResult: path, returns, frames, fps, seconds

A replay that cannot be made (the function is not installed, the renderer raises a
``HadesZooError`` such as a missing GL backend, or an ``ImportError`` for a missing
package) is not an error of the catalogue: the entry's page says ``no replay:
<reason>``. Only a failed write of the site itself (``StorageError``: full disk) and a
stop (Ctrl-C) end the build.

Reuse: a replay is keyed by the entry id, the sha256 of its dataset file and the
render settings. ``--replays DIR`` is a cache: ``DIR/<id>.<sha256[:16]>.<mp4|gif>``
beside a ``.json`` record of the settings and the result (returns, frames, fps);
a replay made by this build is stored there too, so the next build (or a build
stopped half-way and started again) renders only what changed. A rebuild over an
earlier catalogue also reuses that catalogue's replays of unchanged entries. The key
does not hold the renderer's version: after a change to how replays look, delete the
cache folder (or pass a new one) to render them all again.

MP4 is asked for first (a few hundred KB for ten seconds); when the render function
raises ``ImportError`` for it (no ffmpeg writer), GIF (Pillow) is tried.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_copy, atomic_write_bytes
from hades_zoo.data.paths import child_path
from hades_zoo.errors import CatalogueError, HadesZooError, StorageError

__all__ = ["FORMATS", "Replay", "ReplayMaker", "ReplaySettings", "default_replay"]

log = logging.getLogger(__name__)

#: replay file suffix -> how a page shows it
FORMATS = {"mp4": "video", "gif": "image"}

ReplayFn = Callable[..., Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplaySettings:
    """How replays are rendered (every one the same; part of the cache key).

    Attributes:
        episodes: episodes played per replay.
        seed: the render's seed (policy training and episodes).
        width, height: frame size in pixels.
        max_seconds: clip length cap in seconds.
        formats: suffixes tried in order (``mp4`` then ``gif``).
    """

    episodes: int = 1
    seed: int = 0
    width: int = 320
    height: int = 240
    max_seconds: float = 10.0
    formats: tuple[str, ...] = ("mp4", "gif")

    def key(self) -> dict[str, Any]:
        """The settings that change the picture (the cache record compares them)."""
        return {"episodes": self.episodes, "seed": self.seed, "width": self.width,
                "height": self.height, "max_seconds": self.max_seconds}


@dataclasses.dataclass(frozen=True)
class Replay:
    """One entry's replay in the site.

    Attributes:
        file: its file name under the site's ``replays/`` (None: no replay).
        kind: ``video`` or ``image`` (how the page embeds it), or None.
        reason: why there is none ("" when there is one).
        returns: episode returns the render reported.
        frames, fps, seconds: what the render reported (0 when unknown).
        reused: taken from the cache or the earlier catalogue, not rendered now.
    """

    file: str | None
    kind: str | None = None
    reason: str = ""
    returns: tuple[float, ...] = ()
    frames: int = 0
    fps: float = 0.0
    seconds: float = 0.0
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_replay() -> ReplayFn:
    """``hades_zoo.zoo.replay.render_source``, imported now.

    Raises:
        ImportError: this installation has no replay renderer.
    """
    from hades_zoo.zoo.replay import render_source  # lazy: optional, heavy

    return render_source


def _record(result: Any, settings: ReplaySettings, sha256: str, fmt: str
            ) -> dict[str, Any]:
    def num(name: str, kind: type) -> Any:
        try:
            return kind(getattr(result, name, 0) or 0)
        except (TypeError, ValueError):
            return kind(0)

    try:
        returns = [float(x) for x in (getattr(result, "returns", ()) or ())]
    except (TypeError, ValueError):
        returns = []
    return {"sha256": sha256, "format": fmt, "settings": settings.key(),
            "returns": returns, "frames": num("frames", int), "fps": num("fps", float),
            "seconds": num("seconds", float)}


class ReplayMaker:
    """Makes or reuses replays for one build (module doc).

    Args:
        replay: the render function, or None for ``default_replay()``.
        settings: the render settings.
        cache: the ``--replays`` folder (created if missing), or None.
        reuse_from: earlier catalogue ``replays/`` folders to take matching files from.
    """

    def __init__(self, replay: ReplayFn | None, settings: ReplaySettings,
                 cache: Path | None = None, reuse_from: Iterable[Path] = ()):
        self._fn = replay
        self._fn_error = ""
        self.settings = settings
        self.cache = cache
        self.reuse_from = tuple(reuse_from)
        self.made = self.reused = self.missing = 0

    def _function(self) -> ReplayFn | None:
        if self._fn is None and not self._fn_error:
            try:
                self._fn = default_replay()
            except ImportError as err:
                self._fn_error = (f"this installation has no replay renderer "
                                  f"(hades_zoo.zoo.replay.render_source: {err})")
        return self._fn

    def _name(self, dataset_id: str, sha256: str, fmt: str) -> str:
        return child_path(Path("."), dataset_id, suffix=f".{sha256[:16]}.{fmt}",
                          what="dataset id").name

    def _find(self, dataset_id: str, sha256: str
              ) -> tuple[Path, dict[str, Any], Replay] | None:
        """A stored replay of this dataset file made with these settings, or None."""
        for folder in ((self.cache,) if self.cache else ()) + self.reuse_from:
            for fmt in self.settings.formats:
                path = folder / self._name(dataset_id, sha256, fmt)
                record = _read_record(path.with_suffix(".json"))
                if (record is None or not path.is_file() or path.stat().st_size == 0
                        or record.get("sha256") != sha256
                        or record.get("settings") != self.settings.key()):
                    continue
                try:
                    return path, record, _replay(path.name, record, reused=True)
                except (TypeError, ValueError):  # a damaged record: make it again
                    continue
        return None

    def make(self, dataset_id: str, sha256: str, source: str, dest: Path) -> Replay:
        """The replay of one entry, written into ``dest`` (the site's ``replays/``).

        Raises:
            StorageError: a file could not be written (the build stops).
        """
        found = self._find(dataset_id, sha256)
        if found is not None:
            path, record, replay = found
            self._place(path, dest / path.name)
            _write_record(dest / (path.stem + ".json"), record)
            if self.cache is not None and path.parent != self.cache:
                self._store(path, record)  # from the earlier site: cache it too
            self.reused += 1
            return replay
        fn = self._function()
        if fn is None:
            self.missing += 1
            return Replay(None, reason=self._fn_error)
        reasons = []
        for fmt in self.settings.formats:
            target = dest / self._name(dataset_id, sha256, fmt)
            try:
                result = fn(source, target, episodes=self.settings.episodes,
                            seed=self.settings.seed, width=self.settings.width,
                            height=self.settings.height, fps=None,
                            max_seconds=self.settings.max_seconds)
            except StorageError:
                raise
            except ImportError as err:  # e.g. no ffmpeg for mp4: try the next format
                reasons.append(f"{fmt}: ImportError: {err}")
                target.unlink(missing_ok=True)
                continue
            except HadesZooError as err:
                reasons.append(f"{type(err).__name__}: {err}")
                target.unlink(missing_ok=True)
                break
            except Exception as err:
                log.exception("replay of %s failed", dataset_id)
                reasons.append(f"unexpected {type(err).__name__}: {err} (a bug: please "
                               "report it)")
                target.unlink(missing_ok=True)
                break
            written = Path(getattr(result, "path", target) or target)
            if written != target and written.is_file():
                shutil.move(str(written), target)
            if not target.is_file() or target.stat().st_size == 0:
                reasons.append(f"the renderer wrote no {fmt} file")
                break
            record = _record(result, self.settings, sha256, fmt)
            _write_record(dest / (target.stem + ".json"), record)
            if self.cache is not None:
                self._store(target, record)
            self.made += 1
            return _replay(target.name, record, reused=False)
        self.missing += 1
        return Replay(None, reason="; ".join(reasons) or "not rendered")

    def _store(self, path: Path, record: dict[str, Any]) -> None:
        """Keep a replay in the cache: the file first, then the record naming it."""
        atomic_copy(path, self.cache / path.name)
        _write_record(self.cache / (path.stem + ".json"), record)

    @staticmethod
    def _place(src: Path, dst: Path) -> None:
        try:
            dst.hardlink_to(src)  # same file system: no copy
        except OSError:
            shutil.copyfile(src, dst)


def _write_record(path: Path, record: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())


def _read_record(path: Path) -> dict[str, Any] | None:
    """A replay's ``.json`` record (bounded read: the cache is the user's folder), or
    None when missing or unreadable (then the replay is made again)."""
    from hades_zoo.data.untrusted import load_json, read_regular_file

    if not path.is_file():
        return None
    try:
        data = load_json(read_regular_file(path, what="replay record",
                                           error=CatalogueError, max_bytes=1 << 20),
                         source=str(path), what="replay record", error=CatalogueError)
    except HadesZooError:
        return None
    return data if isinstance(data, dict) else None


def _replay(name: str, record: dict[str, Any], *, reused: bool) -> Replay:
    fmt = name.rsplit(".", 1)[-1]
    return Replay(name, kind=FORMATS.get(fmt, "image"),
                  returns=tuple(float(x) for x in record.get("returns", ())),
                  frames=int(record.get("frames", 0)), fps=float(record.get("fps", 0.0)),
                  seconds=float(record.get("seconds", 0.0)), reused=reused)
