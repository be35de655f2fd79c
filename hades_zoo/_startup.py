"""A Ctrl-C while ``import hades_zoo`` runs: held, then raised once the imports are done.

The imports (jax, flax, optax, ...) take the first ~2 s of every ``hades-zoo`` command.
Python's SIGINT handler raises ``KeyboardInterrupt`` between two bytecodes, and during
the imports the garbage collector often runs jax's ``_xla_gc_callback``, where the
exception is printed as "Exception ignored" and dropped: ``hades-zoo train SRC --out o``
stopped in its first seconds went on, wrote ``o/`` and exited 0, or printed an
importlib traceback (a reviewer, 2026-12-03). :func:`guarded_imports` records the
signal instead and, once the imports are done, stops: in the ``hades-zoo`` program
with "Stopped (Ctrl-C)." and exit status 130, as every command does
(``cli.base._fail_cleanly``); in any other program by raising ``KeyboardInterrupt``.

Standard library only: it runs before anything else of hades_zoo is imported.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["guarded_imports"]


@contextlib.contextmanager
def guarded_imports() -> Iterator[None]:
    """Hold SIGINT for the ``with`` block, then act on it (module docstring).

    Only Python's own handler is replaced, in the main thread: a program that set
    its own SIGINT handler (or ignores SIGINT) keeps it.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        _stop()


def _stop() -> None:
    if _is_the_cli():
        print("Stopped (Ctrl-C).", file=sys.stderr, flush=True)
        os._exit(128 + signal.SIGINT)
    raise KeyboardInterrupt


def _is_the_cli() -> bool:
    """Whether this process is the ``hades-zoo`` program (its console script, or
    ``python -m hades_zoo.cli``)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if len(argv) > 1 and os.path.basename(argv[1]) == "hades-zoo":
        return True
    return any(a == "-m" and argv[i + 1:i + 2] in (["hades_zoo.cli"], ["hades_zoo"])
               for i, a in enumerate(argv))
