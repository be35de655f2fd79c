"""Wall time of the README's main job, ``hades-zoo eval hopper-R-64 --episodes 10``, and
of the same job through the Python API, cold and warm, with the split and the floor.

Each cell is one fresh Python process, timed from outside (wall and CPU seconds):

- ``cli``: the command (``hades_zoo.cli``'s ``eval ID --episodes N --json``) run
  in-process by a child that times its stages;
- ``api``: ``ds = hz.load(ID); pol = hz.train_policy(ds); hz.evaluate(pol,
  episodes=N)``, the same way;
- with ``--plain`` also the uninstrumented ``python -m hades_zoo.cli eval ...`` and
  API snippet (the instrumentation only waits for each executable, as the job does);
- ``cold``: ``HADES_ZOO_CACHE`` (and so JAX's compilation cache and the stored
  programs of ``hades_zoo.engine.compiled``) in a fresh empty temporary folder;
  ``warm``: the folder the cold run filled.

The split (seconds of wall time inside the process): ``import numpy``, ``import
ml_dtypes`` (which jax imports first; its cost depends on its version, so the table
prints the versions each checkout imported), ``import jax`` (the rest of it), the rest of the
imports (``hades_zoo``, flax, optax; brax when the env is built), ``load`` (the
dataset), ``env`` (building the env, brax's import included), ``trace`` (jaxpr
tracing and lowering to StableHLO, JAX's monitoring events), ``export``
(``engine.compiled``: serializing / reading stored programs, minus the env and
tracing inside it), ``compile`` (XLA), ``cache load`` (reading compiled executables
from JAX's cache), ``bc run`` and ``rollout run`` (the executables, waited for),
``other`` (the rest: arrays, dispatch, printing). The floor is the work itself: the
BC and rollout executables called again in the same process after the job (warm,
compiled), with the same arguments. ``cpu`` is user + system CPU seconds of the
process (on a shared machine the wall seconds stretch with the load; CPU seconds much
less).

``--checkout DIR`` (repeatable) runs every cell with ``PYTHONPATH=DIR``, so a
before/after comparison (e.g. ``--checkout /path/to/main --checkout .``) is measured
side by side in one run; DIR may also be a folder with a symlink to the package and
another version of a dependency beside it (``pip install --no-deps --target DIR
ml_dtypes==0.6.0``), which ``PYTHONPATH`` puts first. ``--imports`` also prints the
slowest imports of the command's modules (``python -X importtime``).

    PYTHONPATH=$PWD python benchmarks/bench_eval.py [--id hopper-R-64] [--episodes 10]
        [--checkout DIR ...] [--repeat 1] [--imports] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The child that runs one job in-process and times its stages (stdout: one JSON line).
SPLIT = r"""
import json, os, sys, time
T0 = time.perf_counter()
MODE, ID, EPISODES = sys.argv[1], sys.argv[2], int(sys.argv[3])
split = {}
import numpy
split["import numpy"] = time.perf_counter() - T0
t = time.perf_counter()
import ml_dtypes  # jax imports it first thing; its own row (0.7.0: ~0.9 s, 0.6.0: ~0.01 s)
split["import ml_dtypes"] = time.perf_counter() - t
t = time.perf_counter()
import jax
split["import jax"] = time.perf_counter() - t
versions = {"jax": jax.__version__, "numpy": numpy.__version__,
            "ml_dtypes": ml_dtypes.__version__}
from collections import defaultdict
events = defaultdict(float)
counts = defaultdict(int)
def _event(name, secs, **kw):
    events[name] += secs
    counts[name] += 1
jax.monitoring.register_event_duration_secs_listener(_event)
t = time.perf_counter()
import hades_zoo.engine.envs as envs
import hades_zoo.engine.evaluation as evaluation
try:
    from hades_zoo.engine import compiled
except ImportError:
    compiled = None
if MODE == "cli":
    import hades_zoo.cli as cli
else:
    import hades_zoo as hz
split["import rest"] = time.perf_counter() - t
timed = defaultdict(float)
def wrap(owner, name, label):
    fn = getattr(owner, name)
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            timed[label] += time.perf_counter() - t
    setattr(owner, name, wrapper)
# env construction (brax's import included), as ControlTask calls it
orig_make_env = envs.make_env
def make_env(cfg):
    t = time.perf_counter()
    try:
        return orig_make_env(cfg)
    finally:
        timed["env"] += time.perf_counter() - t
envs.make_env = make_env
import hades_zoo.engine.tasks.control as control
control.make_env = make_env
if compiled is not None:
    wrap(compiled, "program", "program")
import hades_zoo.zoo.loading as loading
wrap(loading, "load", "load")
runs = []
from jax._src import stages
orig_call = stages.Compiled.__call__
def call(self, *args):
    t = time.perf_counter()
    out = jax.block_until_ready(orig_call(self, *args))
    kind = "rollout run" if isinstance(args[1], dict) else "bc run"
    timed[kind] += time.perf_counter() - t
    runs.append((kind, self, args))
    return out
stages.Compiled.__call__ = call
class _Jax:  # evaluation's jax.jit(f)(*args) as lower + compile + a timed Compiled call
    def __getattr__(self, name):
        return getattr(jax, name)
    def jit(self, f, **kw):
        jitted = jax.jit(f, **kw)
        def run(*a):
            return jitted.lower(*a).compile()(*a)
        run.lower = jitted.lower
        return run
evaluation.jax = _Jax()
t_job = time.perf_counter()
if MODE == "cli":
    import contextlib, io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            cli.cli.main(["eval", ID, "--episodes", str(EPISODES), "--json"],
                         prog_name="hades-zoo", standalone_mode=False)
        except SystemExit:
            pass
    returns = json.loads(buf.getvalue().strip().splitlines()[-1])["returns"]
else:
    ds = hz.load(ID)
    pol = hz.train_policy(ds)
    returns = [float(r) for r in hz.evaluate(pol, episodes=EPISODES).returns]
job = time.perf_counter() - t_job
stages.Compiled.__call__ = orig_call
floor = {}
for kind, exe, args in runs:
    t = time.perf_counter()
    jax.block_until_ready(exe(*args))
    floor[kind] = floor.get(kind, 0.0) + time.perf_counter() - t
total = time.perf_counter() - T0
trace = (events["/jax/core/compile/jaxpr_trace_duration"]
         + events["/jax/core/compile/jaxpr_to_mlir_module_duration"])
split["load"] = timed["load"]
split["env"] = timed["env"]
split["trace"] = trace
split["export"] = max(0.0, timed["program"] - timed["env"] - trace) if compiled else 0.0
split["compile"] = events["/jax/core/compile/backend_compile_duration"]
split["cache load"] = events["/jax/compilation_cache/cache_retrieval_time_sec"]
split["bc run"] = timed["bc run"]
split["rollout run"] = timed["rollout run"]
split["other"] = job - sum(split[k] for k in ("load", "env", "trace", "export", "compile",
                                              "cache load", "bc run", "rollout run"))
import resource
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"split": split, "job": job, "total": total, "floor": floor,
                  "cpu": ru.ru_utime + ru.ru_stime, "returns": returns,
                  "compiles": counts["/jax/core/compile/backend_compile_duration"],
                  "cache_hits": counts["/jax/compilation_cache/cache_retrieval_time_sec"],
                  "brax_imported": "brax" in sys.modules, "versions": versions}))
"""

API = r"""
import sys
import hades_zoo as hz
ds = hz.load(sys.argv[1])
pol = hz.train_policy(ds)
print([float(r) for r in hz.evaluate(pol, episodes=int(sys.argv[2])).returns])
"""

SPLIT_KEYS = ("import numpy", "import ml_dtypes", "import jax", "import rest", "load", "env", "trace", "export", "compile",
              "cache load", "bc run", "rollout run", "other")


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, last stdout line) of one fresh process, run in the
    checkout (``python -c`` puts the working directory first on ``sys.path``)."""
    cpu0, t0 = _child_cpu(), time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False,
                         cwd=env["PYTHONPATH"])
    wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    if out.returncode:
        raise RuntimeError(f"{cmd[:4]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return wall, cpu, out.stdout.strip().splitlines()[-1]


def _cells(checkout: str, args: argparse.Namespace) -> dict:
    """cli / api, cold / warm, outside and split, for one checkout."""
    env0 = {**os.environ, "PYTHONPATH": checkout, "JAX_PLATFORMS": "cpu",
            "OPENBLAS_NUM_THREADS": "1"}
    py = sys.executable
    # bytecode compiled once, untimed (a fresh checkout would pay it in its first cell)
    _run([py, "-c", "import hades_zoo.cli, hades_zoo.engine.evaluation; print(1)"], env0)
    rows: dict = {}
    for mode in ("cli", "api"):
        outside = ([py, "-m", "hades_zoo.cli", "eval", args.id, "--episodes",
                    str(args.episodes), "--json"] if mode == "cli"
                   else [py, "-c", API, args.id, str(args.episodes)])
        split = [py, "-c", SPLIT, mode, args.id, str(args.episodes)]
        cells = ((" split", split),) + ((("", outside),) if args.plain else ())
        for kind, cmd in cells:
            with tempfile.TemporaryDirectory() as cache:
                env = {**env0, "HADES_ZOO_CACHE": cache}
                for phase in ("cold", "warm"):
                    wall, cpu, line = _run(cmd, env)
                    cell = {"wall": wall, "cpu": cpu}
                    if kind:
                        cell.update(json.loads(line))
                    else:
                        out = json.loads(line)
                        cell["returns"] = out["returns"] if mode == "cli" else out
                    rows[f"{mode}{kind} {phase}"] = cell
                    print(f"  {checkout}: {mode}{kind} {phase}: {wall:6.2f} s wall, "
                          f"{cpu:6.2f} s CPU, load {os.getloadavg()[0]:.1f}", flush=True)
    return rows


def _imports(checkout: str, top: int = 15) -> list[tuple[str, float]]:
    """Slowest top-level packages (self time, seconds) imported by ``eval``'s modules."""
    env = {**os.environ, "PYTHONPATH": checkout, "JAX_PLATFORMS": "cpu"}
    code = ("import hades_zoo.cli, hades_zoo.engine.evaluation, hades_zoo.zoo.loading\n"
            "from hades_zoo.data.recipe import EnvConfig\n"
            "from hades_zoo.engine.envs import make_env\n"
            "make_env(EnvConfig(name='hopper', backend='positional'))  # brax, as eval\n")
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env,
                         capture_output=True, text=True, check=False, cwd=checkout).stderr
    total: dict[str, float] = {}
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            top_name = m.group(2).split(".")[0]
            total[top_name] = total.get(top_name, 0.0) + int(m.group(1)) / 1e6
    return sorted(total.items(), key=lambda kv: -kv[1])[:top]


def _table(results: dict) -> str:
    cols = [(c, cell) for c, rows in results.items() for cell in
            ("cli cold", "cli warm", "api cold", "api warm")]
    head = "| | " + " | ".join(f"{Path(c).name or c} {cell}" for c, cell in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]

    def row(name, get):
        vals = []
        for c, cell in cols:
            try:
                vals.append(get(results[c], cell))
            except (KeyError, TypeError):
                vals.append("")
        lines.append(f"| {name} | " + " | ".join(vals) + " |")

    row("wall s, plain process", lambda r, c: f"{r[c]['wall']:.2f}")
    row("CPU s, plain process", lambda r, c: f"{r[c]['cpu']:.2f}")
    row("wall s", lambda r, c: f"{r[c + '_split']['wall']:.2f}")
    row("CPU s (user + system)", lambda r, c: f"{r[c + '_split']['cpu']:.2f}")
    for key in SPLIT_KEYS:
        row(f"  {key}", lambda r, c, k=key: f"{r[c + '_split']['split'][k]:.2f}")
    row("XLA compiles / cache hits", lambda r, c: (f"{r[c + '_split']['compiles']} / "
                                                   f"{r[c + '_split']['cache_hits']}"))
    row("brax imported", lambda r, c: str(r[c + "_split"]["brax_imported"]))
    row("jax / numpy / ml_dtypes", lambda r, c: " / ".join(
        r[c + "_split"]["versions"][m] for m in ("jax", "numpy", "ml_dtypes")))
    row("floor: bc + rollout s", lambda r, c: (
        f"{sum(r[c + '_split']['floor'].values()):.2f}"))
    row("wall / floor", lambda r, c: (
        f"{r[c + '_split']['wall'] / sum(r[c + '_split']['floor'].values()):.1f}"))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--id", default="hopper-R-64")
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--checkout", action="append", default=None,
                   help="PYTHONPATH of the hades_zoo to time (repeatable; default: .)")
    p.add_argument("--repeat", type=int, default=1, help="rounds (best wall kept)")
    p.add_argument("--plain", action="store_true",
                   help="also time uninstrumented processes (the command as a user runs "
                        "it, python -m hades_zoo.cli / the API snippet)")
    p.add_argument("--imports", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    checkouts = [str(Path(c).resolve()) for c in (args.checkout or ["."])]
    out: dict = {"id": args.id, "episodes": args.episodes,
                 "date": datetime.datetime.now().isoformat(timespec="minutes"),
                 "machine": f"{platform.processor() or platform.machine()}, "
                            f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
                 "load_avg_1min_start": os.getloadavg()[0], "results": {}}
    for _ in range(args.repeat):
        for checkout in checkouts:  # interleaved, so both see the same load
            rows = _cells(checkout, args)
            flat = {}
            for name, cell in rows.items():
                mode, *rest = name.split(" ")
                flat[f"{mode} {rest[-1]}" + ("_split" if len(rest) == 2 else "")] = cell
            best = out["results"].get(checkout)
            if best is None or (sum(v["wall"] for v in flat.values())
                                < sum(v["wall"] for v in best.values())):  # least loaded
                out["results"][checkout] = flat
    out["load_avg_1min_end"] = os.getloadavg()[0]
    returns = {json.dumps(cell["returns"]) for rows in out["results"].values()
               for cell in rows.values()}
    out["returns_identical"] = len(returns) == 1
    print(f"\n{out['id']}, {args.episodes} episodes; {out['machine']}; {out['date']}; "
          f"1-min load {out['load_avg_1min_start']:.1f} -> {out['load_avg_1min_end']:.1f}")
    print(_table(out["results"]))
    print(f"returns identical in every cell: {out['returns_identical']}")
    if args.imports:
        for checkout in checkouts:
            slow = _imports(checkout)
            out.setdefault("imports", {})[checkout] = slow
            print(f"\nslowest imports (self time, -X importtime), {checkout}:")
            for name, secs in slow:
                print(f"  {secs:6.3f} s  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
