"""Progress on the terminal: a live rich bar on a terminal, plain lines otherwise.

``DistillProgress``: shown after every chunk of ``es.log_every`` generations:
generation, ETA, generations/s and environment steps/s (over the last chunk, so the
first chunk's compile time does not skew them), population mean and best-so-far
return (or loss for image recipes). With an environment-step budget (``distill
--max-env-steps``) the bar and the ETA follow the env steps used, whichever of the
two limits comes first.

``StepProgress``: the steps that ``certify``, ``transfer`` and ``merge`` log
(``hades_zoo.engine.progress``: what is compiled, trained and evaluated, step k of n,
seconds so far), on stderr so that ``--json`` output stays one object on stdout.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click

__all__ = ["DistillProgress", "StepProgress"]


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


class DistillProgress:
    """Context manager; call it as ``progress(generation, metrics_row)``.

    Args:
        name: the run's dataset id.
        total: the generation the run stops at.
        start: the generation it resumes from.
        live: a rich live bar (default: when stdout is a terminal).
        max_env_steps: the run's environment-step budget, if any.
    """

    def __init__(self, name: str, total: int, start: int = 0, *, live: bool | None = None,
                 max_env_steps: float | None = None):
        self.name, self.total, self.start = name, total, start
        self.budget = max_env_steps
        self.live = sys.stdout.isatty() if live is None else live
        self._t = self._t0 = time.perf_counter()
        self._gen, self._steps = start, 0.0
        self._bar: Any = None

    def __enter__(self) -> DistillProgress:
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                *(() if self.budget else (MofNCompleteColumn(), TextColumn("gen"))),
                TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[stats]}"),
                transient=False)
            self._bar.start()
            total, done = (self.budget, 0) if self.budget else (self.total, self.start)
            self._task = self._bar.add_task(self.name, total=total, completed=done,
                                            stats="compiling...")
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, generation: int, m: dict[str, Any]) -> None:
        now = time.perf_counter()
        dt = max(now - self._t, 1e-9)
        gens = generation - self._gen
        gen_rate = gens / dt
        steps = float(m.get("env_steps_total") or 0.0)
        step_rate = (steps - self._steps) / dt if self._steps or gens else 0.0
        self._t, self._gen, self._steps = now, generation, steps
        eta = (self.total - generation) / gen_rate if gen_rate > 0 else float("nan")
        if self.budget and step_rate > 0:
            eta = min(eta, max(self.budget - steps, 0.0) / step_rate)
        if "mean_loss" in m:
            stats = (f"loss mean {m['mean_loss']:.4f} min {m['min_loss']:.4f} "
                     f"acc {m['accuracy']:.3f}")
        else:
            stats = (f"return mean {m['mean_return']:.1f} best {m['best_return_so_far']:.1f}"
                     f" | {_si(step_rate)} steps/s")
        stats += f" | {gen_rate:.2f} gen/s"
        if self.budget:
            stats = f"{_si(steps)}/{_si(self.budget)} env steps | " + stats
        if self._bar is not None:
            if self.budget:
                stats = f"gen {generation} | " + stats
            self._bar.update(self._task, completed=min(steps, self.budget) if self.budget
                             else generation, stats=stats)
            return
        click.echo(f"gen {generation:5d}/{self.total}  {stats}  "
                   f"[{now - self._t0:7.1f}s, ETA {eta:7.0f}s]")
        sys.stdout.flush()  # a log file is block-buffered: show each chunk as it ends


class StepProgress(logging.Handler):
    """Context manager: show the ``hades_zoo.progress`` log while a command runs.

    One rich bar per task (a ``merge`` shows its own steps and, below, the
    baseline's ``protocol_returns``) when stderr is a terminal; otherwise one plain
    line on stderr per step start and end.

    Args:
        live: rich bars (default: when stderr is a terminal).
        quiet: no plain lines (``--json`` on a non-terminal: the output is for a
            program); a live bar is still shown on a terminal.
    """

    def __init__(self, *, live: bool | None = None, quiet: bool = False):
        super().__init__(logging.INFO)
        self.live = sys.stderr.isatty() if live is None else live
        self.quiet = quiet
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._level = logging.NOTSET

    def __enter__(self) -> StepProgress:
        from hades_zoo.engine.progress import LOGGER_NAME

        if self.live:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                       TextColumn, TimeElapsedColumn)
            from rich.table import Column

            # the counts and the clock keep their width; the texts shrink first
            self._bar = Progress(
                TextColumn("[bold]{task.fields[name]}", table_column=Column(
                    no_wrap=True, overflow="ellipsis", ratio=1)),
                BarColumn(bar_width=12), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}", table_column=Column(
                    no_wrap=True, overflow="ellipsis", ratio=1)),
                console=Console(stderr=True), transient=False, expand=True)
            self._bar.start()
        elif self.quiet:
            return self
        logger = logging.getLogger(LOGGER_NAME)
        self._level = logger.level
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        from hades_zoo.engine.progress import LOGGER_NAME

        logger = logging.getLogger(LOGGER_NAME)
        if self in logger.handlers:
            logger.removeHandler(self)
            logger.setLevel(self._level)
        if self._bar is not None:
            self._bar.stop()

    def emit(self, record: logging.LogRecord) -> None:
        from hades_zoo.engine.progress import duration

        event = getattr(record, "progress", None)
        if event is None:
            return
        if self._bar is None:
            click.echo(event.line(), err=True)
            sys.stderr.flush()
            return
        if event.task not in self._tasks:
            self._tasks[event.task] = self._bar.add_task(
                event.step, total=event.total, name=event.task)
        self._bar.update(self._tasks[event.task], completed=event.done,
                         description=(f"{event.step} ({duration(event.seconds)})"
                                      if event.finished else f"{event.step}..."))
