"""Progress of long library calls (certify, transfer, merge), as log records.

Library code never writes to the terminal: a long call announces each of its steps
(what is compiled, trained or evaluated, how many steps of how many, the seconds so
far) as an INFO record of the ``hades_zoo.progress`` logger whose ``progress``
attribute is a :class:`ProgressEvent`. The CLI shows them (a live rich bar on a
terminal, plain lines otherwise: ``hades_zoo.cli.progress.StepProgress``); a Python
user sees them with ``logging.basicConfig(level=logging.INFO)`` or can read the
events from a handler of their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator

__all__ = ["ProgressEvent", "Steps", "LOGGER_NAME", "duration"]

LOGGER_NAME = "hades_zoo.progress"
logger = logging.getLogger(LOGGER_NAME)


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One step of a long call starting or ending.

    Attributes:
        task: the whole call, dataset id first, e.g.
            ``"hopper-R-4: protocol returns, 5 seeds x 2 inits"``.
        step: what this step does, e.g. ``"compile BC (200 steps) + evaluation
            (4 envs x 1024 steps)"``.
        done: steps finished (this one included once it has ended).
        total: steps in all.
        elapsed: seconds since the task started.
        finished: False when the step starts, True when it has ended.
        seconds: the step's own wall time (when it has ended), else None.
    """

    task: str
    step: str
    done: int
    total: int
    elapsed: float
    finished: bool
    seconds: float | None = None

    def line(self) -> str:
        """The event as one line of text (what the log record says)."""
        if self.finished:
            return (f"{self.task}: {self.step} done in {duration(self.seconds)} "
                    f"[{self.done}/{self.total}, {self.elapsed:.1f} s]")
        return (f"{self.task}: {self.step}... "
                f"[{self.done}/{self.total}, {self.elapsed:.1f} s]")


def duration(seconds: float | None) -> str:
    """A step's wall time for a message: ``4.6 s``; under a tenth of a second in
    milliseconds (``12 ms``), which ``0.0 s`` hid: a compiled run of a small protocol
    takes milliseconds after seconds of compiling."""
    if seconds is None:
        return "? s"
    if seconds < 0.0995:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0005 else "<1 ms"
    return f"{seconds:.1f} s"


class Steps:
    """The steps of one task: ``with steps.step("compile"): ...`` logs start and end.

    Args:
        task: what the whole call does (shown before every step).
        total: how many steps it has.
    """

    def __init__(self, task: str, total: int):
        self.task, self.total, self.done = task, max(int(total), 1), 0
        self._t0 = time.perf_counter()

    def _emit(self, step: str, finished: bool, seconds: float | None = None) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        event = ProgressEvent(self.task, step, self.done, self.total,
                              time.perf_counter() - self._t0, finished, seconds)
        logger.info("%s", event.line(), extra={"progress": event})

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        """Log that ``what`` starts, run the block, log that it ended (not on error)."""
        self._emit(what, False)
        t = time.perf_counter()
        yield
        self.done = min(self.done + 1, self.total)
        self._emit(what, True, time.perf_counter() - t)
