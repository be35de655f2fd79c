"""The ``hades-zoo`` click group and what every command shares: one-line errors (exit 1),
the JIT cache, quiet third-party loggers. What a SOURCE argument names is decided by
``hades_zoo.zoo.loading.resolve_source``, as for ``hz.load``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator

import click

from hades_zoo.errors import HadesZooError

__all__ = ["Number", "OutPath", "StoppedExit", "cli", "main"]


#: OSError numbers that mean "cannot store": full disk, quota, read-only, no permission.
_STORAGE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS,
                   errno.EACCES, errno.EPERM}


def _fail_cleanly(fn):
    """Turn HadesZooError into a one-line message (line breaks become spaces) and exit
    status 1.

    A full disk or a read-only / forbidden path met by a write that does not go
    through ``hades_zoo.data.cache``'s atomic writes (an append, a plot) is reported
    the same way, as a StorageError naming the path; so is any other path the OS
    refuses (a name too long, a file or device where a folder belongs). A closed
    stdout (``hades-zoo list | head -1``) is no error: nothing more is printed.

    Ctrl-C ends the command with "Stopped (Ctrl-C)." and exit status 130 (click alone
    says "Aborted!" and exits 1). The signal is recorded before it is raised
    (``engine.run_folder.stop_requests``): one that lands in a garbage-collector
    callback, where Python prints "Exception ignored" and drops it, is raised again
    outside it, and a command that still ends after one exits 130, not 0.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from hades_zoo.engine.run_folder import stop_requests

        try:
            with stop_requests() as stops:
                result = _one_line_errors(fn, args, kwargs)
                stops.end()  # a Ctrl-C that Python swallowed is still a stop
                return result
        except KeyboardInterrupt:  # distill says more and raises StoppedExit itself
            click.echo("Stopped (Ctrl-C).", err=True)
            raise StoppedExit(128 + signal.SIGINT) from None

    return wrapper


def _one_line_errors(fn, args, kwargs):
    """``fn(*args, **kwargs)``, its errors as :func:`_fail_cleanly` says."""
    try:
        return fn(*args, **kwargs)
    except HadesZooError as err:  # one line, even for a wrapped YAML error
        text = re.sub(r"\s*\n\s*", " ", str(err))
        raise click.ClickException(f"{type(err).__name__}: {text}") from None
    except BrokenPipeError:  # stdout closed by the reader (``| head``): click
        raise                 # ends quietly (status 1), as for its own output
    except OSError as err:
        if err.errno in _STORAGE_ERRNOS:
            from hades_zoo.data.cache import storage_error

            typed = storage_error(err, err.filename, atomic=False)
            raise click.ClickException(f"{type(typed).__name__}: {typed}") from None
        # any other path the OS refuses (a name too long, a device or a file
        # where a folder belongs, /proc): one line naming it, never a traceback
        from hades_zoo.data.untrusted import show_path

        where = show_path(str(err.filename)) if err.filename else "a path"
        raise click.ClickException(
            f"StorageError: cannot use {where}: {err.strerror or err}; check the "
            "path (each name at most 255 bytes, a folder where a folder belongs)."
        ) from None


def _jit_cache() -> bool:
    """JAX's persistent compilation cache, as the Python API turns it on
    (``hades_zoo.data.cache.use_compilation_cache``: under $HADES_ZOO_CACHE/jax unless
    HADES_ZOO_JIT_CACHE=0 or JAX already has a folder); a repeated command then skips
    most compilation. True if a cache is in use."""
    from hades_zoo.data.cache import use_compilation_cache

    return use_compilation_cache() is not None



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
    click.get_current_context().with_resource(_configure_logging(verbose))
    if verbose <= 0:
        click.get_current_context().with_resource(_quiet_huggingface_hub())


@contextlib.contextmanager
def _quiet_huggingface_hub() -> Iterator[None]:
    """huggingface_hub's warnings off for one command (they come back on exit).

    huggingface_hub logs to stderr through a handler of its own, at WARNING ("'...'
    thrown while requesting HEAD ...", "Retrying in 8s [Retry 5/5]" when it retries
    a 5xx or a stalled request); the command's one-line error, or its result, says
    what happened. HF_HUB_VERBOSITY, when set, is the user's choice and is kept; -v
    leaves the warnings on. huggingface_hub sets its level from HF_HUB_VERBOSITY when
    it is first imported, which a command does lazily.
    """
    if os.environ.get("HF_HUB_VERBOSITY"):
        yield
        return
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    os.environ["HF_HUB_VERBOSITY"] = "error"  # read when huggingface_hub is imported
    hub_logger.setLevel(logging.ERROR)  # if it already is
    try:
        yield
    finally:
        os.environ.pop("HF_HUB_VERBOSITY", None)
        hub_logger.setLevel(level)


@contextlib.contextmanager
def _configure_logging(verbose: int) -> Iterator[None]:
    """No log output by default (the terminal shows what hades_zoo says; huggingface_hub's
    warnings off, ``_quiet_huggingface_hub``); -v: hades_zoo's DEBUG log on stderr;
    -vv: every library's.

    For the command only: the logger's handler, level and propagation are put back when
    it ends, so a command run in-process (``cli.main(...)``, click's ``CliRunner``)
    leaves the caller's logging as it found it (a ``-v`` command once left hades_zoo's
    logger at DEBUG for the rest of the test suite).
    """
    if verbose <= 0:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    target = logging.getLogger() if verbose >= 2 else logging.getLogger("hades_zoo")
    level, propagate = target.level, target.propagate
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    if verbose == 1:  # a library may have configured the root logger: print once
        target.propagate = False
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.setLevel(level)
        target.propagate = propagate


# =============================================================================
# Hub: push / pull / verify (hades_zoo.hub)
# =============================================================================
def _load_any(source: str):
    """(dataset, how its sha256 was checked) for a folder, file, hf:... or zoo id
    (``hades_zoo.zoo.loading.load_checked``)."""
    from hades_zoo.zoo.loading import load_checked

    return load_checked(source)


def _human(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def _zoo_entry(source: str):
    """The registry entry when SOURCE names a zoo id (bare or ``zoo:``), else None."""
    from hades_zoo.zoo.loading import resolve_source
    from hades_zoo.zoo.registry import entries

    src = resolve_source(source)
    return entries().get(src.value) if src.kind == "zoo" else None


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


class Number(click.ParamType):
    """A float option that is a number: NaN is refused everywhere (``FloatRange``
    lets it through: every comparison with NaN is false), infinity unless
    ``allow_inf``; ``min`` is inclusive unless ``min_open``.

    ``--max-env-steps nan`` once ran no generation and reported success.
    """

    name = "number"

    def __init__(self, min: float | None = None, *, min_open: bool = False,
                 allow_inf: bool = False) -> None:
        self.min, self.min_open, self.allow_inf = min, min_open, allow_inf

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number.", param, ctx)
        if number != number:
            self.fail("NaN is not a number; give a number.", param, ctx)
        if number in (float("inf"), float("-inf")) and not self.allow_inf:
            self.fail(f"{value!r} is not finite; give a finite number.", param, ctx)
        if self.min is not None and (number < self.min
                                     or (self.min_open and number == self.min)):
            bound = f"> {self.min:g}" if self.min_open else f">= {self.min:g}"
            self.fail(f"{value!r} is out of range: give a number {bound}.", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"Number(min={self.min!r})"


class OutPath(click.ParamType):
    """A path a command writes to (``--out``), through the one gate
    ``hades_zoo.data.destinations``, when the command line is read: before any work.

    An empty path is a usage error (exit 2): ``Path("")`` is the current folder, so
    ``--out ""`` once wrote a run into it (distill, certify, transfer, merge) or
    crashed with a traceback (plot, render). A path inside the installed package
    (``OutputPathError``), a file or device where a folder belongs or a folder that
    cannot be written (``StorageError``) end the command with their one-line error
    (exit 1), as every ``HadesZooError`` does.

    Args:
        kind: ``"folder"`` (created if missing) or ``"file"`` (in such a folder).
    """

    name = "path"

    def __init__(self, kind: str = "folder") -> None:
        if kind not in ("folder", "file"):
            raise ValueError(f"kind must be 'folder' or 'file', not {kind!r}")
        self.kind = kind

    def convert(self, value, param, ctx):
        text = os.fspath(value)
        if not text.strip():
            self.fail(f"{text!r} is an empty path; give a {self.kind}, e.g. "
                      + ("runs/x." if self.kind == "folder" else "out.png."), param, ctx)
        from hades_zoo.data.destinations import check_out_file, check_out_folder

        flag = param.opts[0] if param is not None and param.opts else "--out"
        try:
            (check_out_folder if self.kind == "folder" else check_out_file)(text,
                                                                        what=flag)
        except HadesZooError as err:
            message = re.sub(r"\s*\n\s*", " ", str(err))
            raise click.ClickException(f"{type(err).__name__}: {message}") from None
        return text

    def __repr__(self) -> str:
        return f"OutPath({self.kind!r})"


class StoppedExit(SystemExit):
    """A command stopped by a signal, after saying so (exit status 128 + signum).

    :func:`main` ends the process on it without tearing the interpreter down.
    """


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``| head``), a closed stream
            pass


def _exit_code(code: object) -> int:
    """The status ``sys.exit(code)`` gives (None: 0; an int; anything else is printed
    to stderr: 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _leave(code: int) -> None:
    """End the process as a normal exit does, without the interpreter's teardown.

    Runs what a normal exit runs for the user (waits for non-daemon threads, then the
    ``atexit`` handlers: logging's flush, temporary folders' cleanup, ...), flushes
    stdout and stderr, and ends with ``os._exit``. Skipped: deleting every module
    and jaxlib's / LLVM's C++ teardown, ~0.2 s of a ~3 s ``hades-zoo eval`` on a
    2-core CPU (measured 2026-12-02: 0.14 s after ``import jax`` alone, 0.21 s after
    hades_zoo's imports), which does nothing a user can see.
    """
    import atexit
    import os
    import threading

    # the command is done: a Ctrl-C now would only print "Exception ignored" from an
    # atexit handler (jax's) and change nothing
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers a normal exit runs, in order
    _flush_standard_streams()
    os._exit(code)


def main() -> None:
    """Console-script entry point.

    A command stopped by Ctrl-C or SIGTERM (:class:`StoppedExit`, raised once its files
    are whole and its message is out) leaves through ``os._exit`` after flushing
    stdout, stderr and the logs: XLA's threads may still be compiling or running the
    stopped program, and jaxlib's teardown at interpreter exit then crashed (SIGSEGV,
    or SIGABRT "pure virtual method called"; 2 of 6 stops during a compilation,
    2026-12-02, jaxlib 0.10.2). The run folder's lock is released by the kernel.

    Any other end (success, a one-line error, ``--help``) runs the ``atexit``
    handlers and skips only the interpreter's teardown (:func:`_leave`); an
    uncaught exception ends the process the usual way (traceback, teardown).
    """
    try:
        cli(prog_name="hades-zoo")
    except StoppedExit as stop:
        import os

        _flush_standard_streams()
        logging.shutdown()
        os._exit(int(stop.code))
    except SystemExit as done:  # click's standalone mode always ends this way
        _leave(_exit_code(done.code))
