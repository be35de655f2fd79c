"""Keeping a run folder whole: one writer at a time, and writes a Ctrl-C cannot cut.

- :func:`hold_run_folder` locks ``DIR/.lock`` (``fcntl.flock``, exclusive, not
  waiting) for as long as a ``distill`` writes ``DIR``; the file holds the holder's pid,
  host and start time, so a second ``distill`` on the same folder refuses at once with
  a ``RunFolderBusyError`` that names the other process. The kernel releases the
  lock when the holder exits, however it exits: a killed process leaves no stale lock,
  only the hidden file (``push`` does not upload it); a run that ends removes it. The
  lock is
  re-entrant within one process (the CLI holds it around ``engine.distill``, which
  takes it too).
- :func:`deferred_interrupts` holds SIGINT and SIGTERM back while a chunk's files are
  written (metrics row, checkpoint, entry) and delivers them right after, so Ctrl-C
  always stops a run between two whole checkpoints. A second signal during the block
  is delivered at once (the writes themselves are ordered so that even then, or after a
  SIGKILL, the folder's dataset still verifies; ``hub.folder``).
- :func:`stop_requests` makes a stop signal impossible to lose: Python runs a signal
  handler between two bytecodes of the main thread, and when those belong to a
  garbage-collector callback or a ``__del__`` (jax's ``_xla_gc_callback`` runs often)
  the ``KeyboardInterrupt`` it raises is printed as "Exception ignored" and dropped. The
  signal is recorded first; one that lands in such a callback is delivered again a
  moment later, outside it; and the run loop calls ``check()`` at each chunk's end,
  which raises a recorded stop that was still lost.
"""

from __future__ import annotations

import _thread
import _weakrefset
import contextlib
import datetime as _dt
import gc
import json
import logging
import os
import signal
import socket
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

from hades_zoo.data.destinations import check_out_folder
from hades_zoo.engine.checkpoint import CKPT_JSON
from hades_zoo.engine.run_files import METRICS_FILE
from hades_zoo.errors import NotARunFolderError, RunFolderBusyError

__all__ = ["LOCK_FILE", "StopRequests", "check_run_folder", "deferred_interrupts",
           "hold_run_folder", "is_run_folder", "lock_holder", "stop_requests"]

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"

# folder (resolved) -> [open lock file, depth]: the lock is re-entrant per process
_held: dict[Path, list] = {}
_held_guard = threading.Lock()


def lock_holder(directory: str | Path) -> str:
    """What ``DIR/.lock`` says about its holder (``pid 12 on host, started ...``)."""
    try:
        text = (Path(directory) / LOCK_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "another process"
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "pid" not in fields:
        return "another process"
    return (f"pid {fields['pid']} on {fields.get('host', '?')}, started "
            f"{fields.get('started', '?')}"
            + (f": {fields['command']}" if fields.get("command") else ""))


#: Keys every row of distill's ``metrics.jsonl`` has (``engine.distill``).
_ROW_KEYS = frozenset({"generation", "env_steps_total", "wall_seconds"})


def is_run_folder(directory: str | Path) -> bool:
    """Whether ``directory`` holds a distill run: its checkpoint (``checkpoint.json``,
    written with every chunk and kept when the run ends), or distill's
    ``metrics.jsonl``: empty (a run writes it so as it starts, and ``--no-resume``
    empties it right after removing the checkpoint) or starting with a row of its
    own (a JSON object with ``generation``, ``env_steps_total``, ``wall_seconds``).
    At every instant of a run, a stop or a ``--no-resume``, one of them is there."""
    directory = Path(directory)
    if (directory / CKPT_JSON).is_file():
        return True
    metrics = directory / METRICS_FILE
    try:
        if not metrics.is_file() or metrics.is_symlink():
            return False
        with open(metrics, "rb") as fh:
            first = fh.readline(1 << 16)
        if not first.strip():
            return metrics.stat().st_size == 0
        row = json.loads(first)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(row, dict) and _ROW_KEYS <= row.keys()


def _busy(directory: Path) -> bool:
    """Whether another process holds ``directory``'s lock (``_lock`` then says who)."""
    try:
        import fcntl

        fd = os.open(directory / LOCK_FILE, os.O_RDWR)
    except (ImportError, OSError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases it if taken
    return False


def check_run_folder(directory: str | Path, *, what: str = "--out") -> None:
    """Refuse a ``distill`` output folder that would overwrite or remove a user's
    files: it may be missing, empty (but for a stale ``.lock``), a run folder
    (:func:`is_run_folder`), which distill resumes (``--no-resume``: starts over),
    or one another distill holds (``hold_run_folder`` then says so).

    Raises:
        OutputPathError, StorageError: ``data.destinations.check_out_folder``.
        NotARunFolderError: ``directory`` holds other files and is no run folder.
    """
    check_out_folder(directory, what=what)  # the package, a file, a read-only place
    directory = Path(directory)
    if (not directory.is_dir() or is_run_folder(directory) or _busy(directory)):
        return
    others = sorted(c.name for c in directory.iterdir() if c.name != LOCK_FILE)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise NotARunFolderError(
            f"{what} {directory} holds files ({shown}) and is not a hades_zoo distill "
            f"run folder (no {CKPT_JSON}, no metrics.jsonl of a run); distill would "
            "overwrite them (or remove them with --no-resume). Give a new or empty "
            f"folder, e.g. {what} {directory / 'run'}.")


@contextlib.contextmanager
def hold_run_folder(directory: str | Path, *, command: str = "",
                    new_or_run: bool = False) -> Iterator[Path]:
    """Hold the exclusive lock of a run folder for the block (a folder made for it
    is removed again when nothing was written into it).

    Args:
        directory: the run folder (``distill --out``).
        command: what holds it, written into the lock file for the message others get.
        new_or_run: ``distill``'s hold: first (not when re-entered)
            :func:`check_run_folder`, so a folder of a user's files is refused
            before the lock or anything else is written into it.

    Yields:
        The lock file's path.

    Raises:
        RunFolderBusyError: another process holds the lock.
        NotARunFolderError: ``new_or_run`` and ``directory`` holds other files.
    """
    directory = Path(directory)
    with _held_guard:
        held = directory.resolve() in _held
    if new_or_run and not held:
        check_run_folder(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    key = directory.resolve()
    path = directory / LOCK_FILE
    with _held_guard:
        if key in _held:
            _held[key][1] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield path
        finally:
            with _held_guard:
                # the outer hold may already have released the key (a Ctrl-C that
                # unwinds the outer block first): nothing left to count down
                if key in _held:
                    _held[key][1] -= 1
        return
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - not POSIX: no locking
        log.warning("no fcntl on this platform: %s is not locked", directory)
        yield path
        return
    fd = _lock(path, directory)
    try:
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        info = (f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={started}\n"
                f"command={' '.join(command.split())}\n")
        os.pwrite(fd, info.encode(), 0)
        with _held_guard:
            _held[key] = [fd, 1]
        try:
            yield path
        finally:
            with _held_guard:
                del _held[key]
            with contextlib.suppress(OSError):
                path.unlink()  # while still held: a waiting opener sees a new file
            if created:
                with contextlib.suppress(OSError):
                    directory.rmdir()  # made for this run and still empty
    finally:
        os.close(fd)  # releases the flock


def _lock(path: Path, directory: Path) -> int:
    """Open and flock ``path``; retry when the file was replaced meanwhile (a holder
    unlinks it when it is done)."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunFolderBusyError(
                f"{directory} is being written by another hades-zoo distill "
                f"({lock_holder(directory)}); wait for it to finish or stop it, or "
                "give this run another --out folder."
            ) from None
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        mine = os.fstat(fd)
        if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            os.ftruncate(fd, 0)
            return fd
        os.close(fd)


@contextlib.contextmanager
def deferred_interrupts(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                        ) -> Iterator[None]:
    """Hold ``signals`` back during the block, then deliver the first one received.

    A second signal during the block is delivered at once (an escape hatch). Outside
    the main thread (where Python cannot set handlers) the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    old: dict[int, object] = {}

    def hold(signum, frame):
        if received:
            _restore(old)
            signal.raise_signal(signum)
            return
        received.append(signum)
        log.info("signal %d held until this checkpoint's files are written", signum)

    for sig in signals:
        prev = signal.getsignal(sig)
        if prev in (signal.SIG_IGN, None):
            continue  # ignored (e.g. nohup): leave it so
        old[sig] = prev
        signal.signal(sig, hold)
    try:
        yield
    finally:
        _restore(old)
    if received:
        signal.raise_signal(received[0])


class StopRequests:
    """The stop signals received while :func:`stop_requests` is active.

    ``received`` lists them in order; a stop is *owed* from the moment it is received
    until it has been raised once (by the handler, or by :meth:`check`).
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._handlers: dict[int, object] = {}
        self._owed: list[int] = []
        self._redelivering = False

    def check(self) -> None:
        """Raise a stop that was received but not raised yet (Python swallowed it);
        else return.

        Raises:
            KeyboardInterrupt (or what the handler that was in place raises).
        """
        if not self._owed:
            return
        signum = self._owed[0]
        self._owed.clear()
        self._raise(signum, None)

    def end(self) -> None:
        """At the end of the work: raise the first stop received, if any, whether or
        not it was raised before. A stop whose exception was dropped where
        :func:`_in_finaliser` cannot tell (another library's weakref callback, a
        ``try`` that swallowed it) then still ends the command as a stop, not with
        exit status 0; one that was raised and handled never gets here.

        Raises:
            KeyboardInterrupt (or what the handler that was in place raises).
        """
        if self.received:
            self._owed.clear()
            self._raise(self.received[0], None)

    def _raise(self, signum: int, frame) -> None:
        handler = self._handlers.get(signum)
        if callable(handler):
            handler(signum, frame)  # signal.default_int_handler, a CLI's SIGTERM handler
        raise KeyboardInterrupt(signum)

    def _record(self, signum: int, frame) -> None:
        """The signal handler: record, then raise unless inside a finaliser."""
        if self._redelivering:
            self._redelivering = False
            if not self._owed:
                return  # check() raised it meanwhile
        else:
            self.received.append(signum)
            self._owed.append(signum)
        if _in_finaliser(frame):
            # raised here it would be printed as "Exception ignored" and dropped:
            # delivered again in a moment, outside (and check() is the backstop)
            timer = threading.Timer(0.02, self._redeliver, args=(signum,))
            timer.daemon = True
            timer.start()
            return
        self._owed.clear()
        self._raise(signum, frame)

    def _redeliver(self, signum: int) -> None:
        if self._owed:
            self._redelivering = True
            _thread.interrupt_main(signum)


@contextlib.contextmanager
def stop_requests(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
                  ) -> Iterator[StopRequests]:
    """Record each stop signal before its handler raises, for :meth:`StopRequests.check`.

    Only signals whose handler is a Python callable are wrapped (SIGINT's
    ``default_int_handler``, a CLI's SIGTERM handler); ``SIG_DFL`` / ``SIG_IGN`` stay
    as they are (a default SIGTERM still ends the process, ``nohup`` still ignores).
    Outside the main thread nothing is wrapped and ``check()`` never raises.
    """
    stops = StopRequests()
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return
    for sig in signals:
        prev = signal.getsignal(sig)
        if callable(prev):
            stops._handlers[sig] = prev
            signal.signal(sig, stops._record)
    try:
        yield stops
    finally:
        for sig, handler in stops._handlers.items():
            if signal.getsignal(sig) == stops._record:
                signal.signal(sig, handler)


#: The standard library's weakref callbacks (``WeakKeyDictionary`` / ``WeakValueDictionary``
#: / ``WeakSet`` removals, ``weakref.finalize``) live in these files: an exception raised
#: while one runs is printed as "Exception ignored" and dropped (a reviewer, 2026-12-03:
#: a Ctrl-C in ``distill``'s replay phase landed in ``WeakKeyDictionary``'s ``remove``, the
#: replay was still written and the command exited 0).
_WEAKREF_FILES = frozenset(os.path.abspath(m.__file__) for m in (weakref, _weakrefset))


def _in_finaliser(frame) -> bool:
    """Whether ``frame`` runs inside a garbage-collector callback, a ``__del__`` or one
    of the standard library's weakref callbacks, where Python prints an exception as
    "Exception ignored" and drops it. (Code of weakref.py that is not a callback counts
    too: the stop then comes 20 ms later, which costs nothing.)"""
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        code = frame.f_code
        if (code in codes or code.co_name == "__del__"
                or os.path.abspath(code.co_filename) in _WEAKREF_FILES):
            return True
        frame = frame.f_back
    return False


def _restore(old: dict[int, object]) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)
    old.clear()
