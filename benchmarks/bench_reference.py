"""Benchmark: the authors' HaDES code and hades_zoo, side by side, same config, one session.

Runs, back to back on this machine:

1. the authors' ``policy_distillation/distill_brax.py`` (github.com/FLAIROx/
   behaviour-distillation) in a throwaway venv with its pinned stack (made by
   ``benchmarks/bench_reference.sh``), on ``--env hopper --popsize 64 --dataset_size 64
   --width 64 --epochs 200 --rollouts 2 --eval_envs 4 --generations 6``, timing every
   generation from its own ``Lap time`` lines (generation 0 includes compilation and is
   left out; the median of the others is its s/gen). Its fitness is the pooled window
   (every candidate's 2 x 4 envs step 1024 times), so its s/gen does not depend on how
   long the hoppers stand: one figure serves early and late in a run.
2. ``benchmarks/bench_generation.py`` on the same config (HaDES-R k=2, pop 64, D 64,
   W 64, 200 BC steps, 4 envs), on ``--devices`` XLA CPU devices, once per row:
   ``pooled`` (the reference's window), and ``episodes`` with the ``continuous``
   scheduler (``engine.continuous``) early in a run (random datasets: the hoppers fall
   within tens of steps), ``first`` (the run's first generation, timed again and again:
   every timed generation is on random datasets, where ``early``'s timed generations
   have already evolved for one to three) and late (the packaged ``hopper-R-64``
   dataset as the ES mean).

It prints s/gen of each, the ratios reference / hades_zoo and the load averages before
and after each run. The machine may be shared: every ratio is of two figures measured
minutes apart in this session, and the load averages say how fair that was.

The authors' code is not fetched here: pass the folder holding it (a checkout or an
export of the repository: ``policy_distillation/``, ``purejaxrl/``,
``normalize_params/``). It is copied to a temporary folder and run there, with a stub
``wandb`` module (the script logs to wandb; nothing is sent). Needs no network::

    python benchmarks/bench_reference.py --code /tmp/behaviour-distillation \\
        --ref-python /work/venv-ref/bin/python [--devices 2] [--generations 6]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

REFERENCE_ARGS = ["--env", "hopper", "--popsize", "64", "--dataset_size", "64",
                  "--width", "64", "--epochs", "200", "--rollouts", "2",
                  "--eval_envs", "4"]

WANDB_STUB = '''"""Stub of wandb for timing the authors' code offline: records nothing."""
summary = {}


class _Run:
    def finish(self, *a, **k):
        pass


def init(*a, **k):
    return _Run()


def define_metric(*a, **k):
    pass


def log(*a, **k):
    pass
'''


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


def run_reference(code: str, python: str, generations: int, workdir: str) -> dict:
    """Run distill_brax.py; per-generation lap times from its output."""
    src = os.path.join(workdir, "code")
    shutil.copytree(code, src, ignore=shutil.ignore_patterns(".git", "results"))
    stub = os.path.join(workdir, "stub")
    os.makedirs(stub)
    with open(os.path.join(stub, "wandb.py"), "w") as fh:
        fh.write(WANDB_STUB)
    env = dict(os.environ, PYTHONPATH=stub, JAX_PLATFORMS="cpu", WANDB_MODE="disabled")
    env.pop("XLA_FLAGS", None)  # one CPU device: the script pmaps only over several
    cmd = [python, "distill_brax.py", *REFERENCE_ARGS, "--generations", str(generations),
           "--folder", os.path.join(workdir, "out") + "/"]
    before = _load()
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=os.path.join(src, "policy_distillation"), env=env, check=False,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit(f"the reference run failed (exit {out.returncode})")
    laps = [float(x) for x in re.findall(r"Lap time: ([0-9.]+)s", out.stdout)]
    fitness = [float(x) for x in re.findall(r"Fitness: (-?[0-9.]+)", out.stdout)]
    if len(laps) < 2:
        raise SystemExit("the reference run printed fewer than 2 lap times:\n"
                         + out.stdout[-2000:])
    return {"name": "reference distill_brax.py (1 CPU device)", "laps_s": laps,
            "gen_s": statistics.median(laps[1:]), "first_gen_s": laps[0],
            "mean_fitness": fitness, "wall_s": wall, "load_before": before,
            "load_after": _load()}


def run_hades(devices: int, generations: int, mode: str, scheduler: str,
              population: str) -> dict:
    """One bench_generation.py child: s/gen of the same config."""
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cmd = [sys.executable, os.path.join(HERE, "bench_generation.py"), "--child",
           "--generations", str(generations), "--mode", mode, "--scheduler", scheduler,
           "--population", population, "--no-floor"]
    before = _load()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit(f"bench_generation.py failed (exit {out.returncode})")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    label = "pooled" if mode == "pooled" else f"episodes, {scheduler}"
    return {"name": f"hades_zoo {label}, {population} ({devices} devices)",
            "gen_s": res["gen_s_median"], "laps_s": res["gen_s_all"],
            "compile_s": res["compile_s"], "env_steps": res["env_steps_per_gen"],
            "mean_fitness": res["mean_return_per_gen"], "load_before": before,
            "load_after": _load(), "population": population}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", required=True,
                        help="folder with the authors' repository (policy_distillation/ ...)")
    parser.add_argument("--ref-python", default="/work/venv-ref/bin/python",
                        help="python of the venv with the authors' pinned stack")
    parser.add_argument("--generations", type=int, default=6,
                        help="reference generations (the first, compiling, is left out)")
    parser.add_argument("--hades-generations", type=int, default=3)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--rows", default="pooled:early,continuous:early,continuous:first,"
                                          "continuous:late,block:early",
                        help="hades_zoo rows, SCHEDULER:POPULATION (pooled = the window)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    if not os.path.isdir(os.path.join(args.code, "policy_distillation")):
        raise SystemExit(f"{args.code} has no policy_distillation/ folder: pass the "
                         "authors' repository (see the module docstring).")

    results = []
    with tempfile.TemporaryDirectory(prefix="hades-reference-") as tmp:
        print(f"reference ... (load {_load()})", flush=True)
        results.append(run_reference(args.code, args.ref_python, args.generations, tmp))
        print(json.dumps(results[-1]), flush=True)
    for row in args.rows.split(","):
        scheduler, population = row.split(":")
        mode = "pooled" if scheduler == "pooled" else "episodes"
        print(f"hades_zoo {row} ... (load {_load()})", flush=True)
        results.append(run_hades(args.devices, args.hades_generations, mode,
                                 "block" if mode == "pooled" else scheduler, population))
        print(json.dumps(results[-1]), flush=True)

    ref = results[0]["gen_s"]
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; hopper "
          "(positional), pop 64, D 64, W 64, 200 BC steps, 2 BC runs per candidate, 4 "
          "eval envs\n")
    print("| code | s/gen (median) | gens timed | env steps / gen | reference s/gen / "
          "this | load before | load after |")
    print("|---|---:|---:|---:|---:|---|---|")
    for r in results:
        steps = r.get("env_steps")
        steps = f"{statistics.mean(steps):,.0f}" if steps else "524,288 (window)"
        timed = len(r["laps_s"]) - 1 if r is results[0] else len(r["laps_s"])
        print(f"| {r['name']} | {r['gen_s']:.2f} | {timed} | {steps} | "
              f"{ref / r['gen_s']:.2f}x | {r['load_before']} | {r['load_after']} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M"), "rows": results}, fh,
                      indent=1)


if __name__ == "__main__":
    main()
