"""Progress of a distillation: a live rich bar on a terminal, plain lines otherwise.

Shown after every chunk of ``es.log_every`` generations: generation, ETA,
generations/s and environment steps/s (over the last chunk, so the first chunk's
compile time does not skew them), population mean and best-so-far return (or loss
for image recipes). With an environment-step budget (``distill --max-env-steps``) the
bar and the ETA follow the env steps used, whichever of the two limits comes first.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

__all__ = ["DistillProgress"]


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
