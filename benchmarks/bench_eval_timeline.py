"""When each stage of one ``hades-zoo eval`` runs, in which thread, and what each of
JAX's persistent-cache hits costs (``benchmarks/README.md``, "A warm job's timeline").

Runs the CLI's ``eval ID --episodes N`` in this process with timestamps around
``engine.compiled.program`` / ``Program.lower``, the compiles and the runs (each run
waited for), and times every executable JAX reads from its cache
(``compilation_cache.get_executable_and_time``: read, decompress, XLA's deserialize),
then reads the slowest one ``--reload`` more times and prints the mean. Seconds are
from the start of this script (Python's own start-up, ~0.05 s, not included).

    HADES_ZOO_CACHE=/tmp/warm python benchmarks/bench_eval_timeline.py   # twice: the
    # first run fills the cache (cold), the second is the warm job

The patches only wrap functions (same arguments, same results); the job's returns are
printed as the command prints them.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

T0 = time.perf_counter()
EVENTS: list[tuple[float, str, str]] = []


def mark(what: str) -> None:
    EVENTS.append((time.perf_counter() - T0, threading.current_thread().name, what))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--id", default="hopper-R-64")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--reload", type=int, default=3,
                   help="extra reads of the slowest cached executable (0: none)")
    args = p.parse_args()

    import hades_zoo  # noqa: F401

    mark("import hades_zoo done")
    import jax
    from jax._src import compilation_cache

    from hades_zoo.engine import compiled, programs

    loads: list[tuple[str, float, tuple]] = []
    get = compilation_cache.get_executable_and_time

    def timed_get(key, *rest):
        start = time.perf_counter()
        out = get(key, *rest)
        loads.append((key, time.perf_counter() - start, rest))
        return out

    compilation_cache.get_executable_and_time = timed_get

    program = compiled.program

    def timed_program(kind, *rest):
        mark(f"{kind}: find / trace the program")
        out = program(kind, *rest)
        mark(f"{kind}: program ready ({out.source})")
        return out

    compiled.program = timed_program  # programs.py calls compiled.program(...)

    lower = compiled.Program.lower

    class Lowered:
        def __init__(self, lowered, name):
            self._lowered, self._name = lowered, name

        def compile(self, *options):
            mark(f"{self._name}: compile / cache load")
            executable = self._lowered.compile(*options)
            mark(f"{self._name}: compiled")

            def run(*call_args):
                mark(f"{self._name}: run")
                out = jax.block_until_ready(executable(*call_args))
                mark(f"{self._name}: ran")
                return out

            return run

        def __getattr__(self, name):
            return getattr(self._lowered, name)

    def timed_lower(self, *call_args):
        name = self.path.name.split("-")[0] if self.path is not None else "program"
        mark(f"{name}: lower")
        out = lower(self, *call_args)
        mark(f"{name}: lowered")
        return Lowered(out, name)

    compiled.Program.lower = timed_lower
    assert programs.compiled is compiled

    from hades_zoo.cli.base import cli

    try:
        cli(["eval", args.id, "--episodes", str(args.episodes)], prog_name="hades-zoo")
    except SystemExit as done:
        mark(f"command ended (exit {done.code})")
    print(f"\n{'s':>7}  {'thread':<24} event", file=sys.stderr)
    for t, thread, what in EVENTS:
        print(f"{t:7.3f}  {thread[:24]:<24} {what}", file=sys.stderr)
    print("\nJAX cache hits (read + decompress + deserialize):", file=sys.stderr)
    for key, seconds, _ in loads:
        print(f"  {seconds * 1e3:8.1f} ms  {key[:60]}", file=sys.stderr)
    if loads and args.reload > 0:
        key, _, rest = max(loads, key=lambda row: row[1])
        start = time.perf_counter()
        for _ in range(args.reload):
            get(key, *rest)
        mean = (time.perf_counter() - start) / args.reload
        print(f"the slowest again, {args.reload} times in this process: "
              f"{mean * 1e3:.0f} ms each ({key[:40]})", file=sys.stderr)


if __name__ == "__main__":
    main()
