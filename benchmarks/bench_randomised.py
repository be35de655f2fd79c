"""Seconds per generation of HaDES-RR (the randomised inner loop, ``variant: RR``)
against HaDES-R with the same env, popsize and num_inits, measured side by side in
one run.

Default pair: ``recipes/acrobot-R-3.hz.yaml`` (gymnax Acrobot-v1, pop 64, 2 inits,
width 64 x depth 2, 50 BC steps, 2 greedy episodes of at most 500 steps) and
``experiments/transfer_rr/acrobot-RR-3.yaml`` (the same, with every BC run drawing
width 32/64/128, depth 1-3, tanh/relu, lr 0.003-0.03, 25-75 steps). A third
program, ``R max``, is HaDES-R at RR's largest width, depth and step count (the floor
of RR: its masked program computes at that size). ``--wide`` adds RR at
``InnerLoopConfig``'s default ranges (widths 32-256, depths 1-3, 50-300 steps).

Each program is built as ``distill`` builds it (``_generation.build``) and compiled
for one generation (compile time reported); then the programs run one generation in
turn (R, RR, R, RR, ...) ``--generations`` times each, so load on a shared machine
falls on both alike, and the median s/gen and the ratio to R are printed, with the
env steps each generation simulated (``eval.mode: episodes`` stops early, so a ratio
is only a cost ratio when those match).

``--parts`` also times the three parts of the inner loop alone, for one
generation's ``popsize x num_inits`` BC runs as one flat ``vmap`` (median of 3, compile
excluded): init (RR: draw + init), BC, and the evaluation of the trained policies.

    nice -n 10 python benchmarks/bench_randomised.py --generations 5 --json rr.json
    nice -n 10 python benchmarks/bench_randomised.py --generations 0 --parts
    python benchmarks/bench_randomised.py --pop 8 --generations 2   # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--r-recipe", default="recipes/acrobot-R-3.hz.yaml")
    parser.add_argument("--rr-recipe",
                        default="experiments/transfer_rr/acrobot-RR-3.yaml")
    parser.add_argument("--generations", type=int, default=5,
                        help="generations timed per program")
    parser.add_argument("--pop", type=int, default=None, help="override es.popsize")
    parser.add_argument("--wide", action="store_true",
                        help="also time RR at InnerLoopConfig's default ranges")
    parser.add_argument("--parts", action="store_true",
                        help="also time init, BC and evaluation alone")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import _generation as g
    import jax

    from hades_zoo.data.inner_loop import InnerLoopConfig

    r = g.shrink(g.load(args.r_recipe), popsize=args.pop)
    rr = g.shrink(g.load(args.rr_recipe), popsize=args.pop)
    for field in ("env", "es", "eval", "num_inits", "dataset"):
        if getattr(r, field) != getattr(rr, field):
            raise SystemExit(f"the two recipes differ in {field}: not a like-for-like "
                             "pair")
    il = rr.inner_loop
    r_max = r.replace(
        policy=dataclasses.replace(r.policy, width=il.max_width, depth=il.max_depth),
        bc=dataclasses.replace(r.bc, steps=il.max_steps)).validate()
    programs = {"R": r, "RR": rr, "R max": r_max}
    if args.wide:
        programs["RR wide"] = rr.replace(inner_loop=InnerLoopConfig()).validate()

    parts = {name: time_parts(recipe) for name, recipe in programs.items()} \
        if args.parts else {}
    if args.generations < 1:
        print(g.machine())
        print_parts(parts)
        return
    runs, rows = {}, {}
    for name, recipe in programs.items():
        print(f"compiling {name}", file=sys.stderr, flush=True)
        step, state, _ = g.build(recipe)
        t0 = time.perf_counter()
        compiled = step.lower(state, 1).compile()
        rows[name] = {"compile_s": time.perf_counter() - t0, "times": [],
                      "env_steps": []}
        runs[name] = [compiled, state]
    load_before = os.getloadavg()
    for _ in range(args.generations):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run[1], metrics = run[0](run[1])
            jax.block_until_ready(metrics)
            rows[name]["times"].append(time.perf_counter() - t0)
            rows[name]["env_steps"].append(float(metrics["env_steps"][0]))
    load_after = os.getloadavg()

    base = statistics.median(rows["R"]["times"])
    print(g.machine())
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print(f"pop {r.es.popsize}, {r.num_inits} inits, {r.env.name}; "
          f"{args.generations} generations each, interleaved")
    print(f"{'program':<8} {'inner loop':<58} {'compile s':>9} {'s/gen':>7} "
          f"{'vs R':>5} {'env steps/gen':>13}")
    out = []
    for name, recipe in programs.items():
        row = rows[name]
        gen_s = statistics.median(row["times"])
        il = recipe.inner_loop
        what = (f"W {recipe.policy.width} x D {recipe.policy.depth}, "
                f"{recipe.bc.steps} BC steps" if il is None else
                f"W {list(il.widths)} D {list(il.depths)} steps {list(il.bc_steps)}")
        steps = statistics.median(row["env_steps"])
        print(f"{name:<8} {what:<58} {row['compile_s']:>9.1f} {gen_s:>7.2f} "
              f"{gen_s / base:>5.2f} {steps:>13,.0f}")
        out.append({"program": name, "inner_loop": what, "compile_s": row["compile_s"],
                    "seconds_per_generation": gen_s, "ratio_to_R": gen_s / base,
                    "times": row["times"], "env_steps": row["env_steps"],
                    "recipe": dataclasses.asdict(recipe)})
    print_parts(parts)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"date": datetime.date.today().isoformat(),
                       "machine": g.machine(),
                       "load_before": load_before, "load_after": load_after,
                       "generations": args.generations, "rows": out, "parts": parts},
                      fh, indent=1)


def time_parts(recipe) -> dict[str, float]:
    """Seconds for init, BC and evaluation of ``popsize x num_inits`` runs (one flat
    vmap each; median of 3 calls after a compiling one)."""
    import jax
    import jax.numpy as jnp

    from hades_zoo.engine.tasks.control import ControlTask

    print(f"timing the parts of {recipe.name} ({recipe.variant})", file=sys.stderr,
          flush=True)
    task = ControlTask(recipe)
    n = recipe.es.popsize * recipe.num_inits
    keys = jax.random.split(jax.random.key(0), n)
    states = 0.1 * jax.random.normal(jax.random.key(1), task.solution_template()[
        "states"].shape)
    targets, weights = task.targets_and_weights({"states": states})
    mean, var = task.norm_arrays()
    if recipe.variant == "RR":
        loop = task.randomised
        init = jax.vmap(lambda k: loop.init_params(k, loop.sample(k)))
        bc = jax.vmap(lambda v: loop._train(v, states, targets, weights,
                                            jnp.float32(recipe.bc.lr),
                                            jnp.int32(loop.cfg.max_steps))[0])
        evaluate = task.evaluate_randomised
    else:
        init = jax.vmap(task.init_params)
        bc = jax.vmap(lambda p: task._bc_train(p, states, targets, weights)[0])
        evaluate = task.evaluate
    ev = jax.vmap(lambda k, p: evaluate(k, p, mean, var))

    def seconds(f, *a):
        f = jax.jit(f)
        out = jax.block_until_ready(f(*a))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            jax.block_until_ready(f(*a))
            times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    init_s, params = seconds(init, keys)
    bc_s, trained = seconds(bc, params)
    eval_s, res = seconds(ev, keys, trained)
    return {"runs": n, "init_s": init_s, "bc_s": bc_s, "eval_s": eval_s,
            "eval_env_steps": float(jnp.sum(res.env_steps))}


def print_parts(parts: dict[str, dict[str, float]]) -> None:
    if not parts:
        return
    print(f"{'parts':<8} {'runs':>5} {'init s':>7} {'BC s':>7} {'eval s':>7} "
          f"{'eval env steps':>14}")
    for name, p in parts.items():
        print(f"{name:<8} {p['runs']:>5} {p['init_s']:>7.3f} {p['bc_s']:>7.3f} "
              f"{p['eval_s']:>7.3f} {p['eval_env_steps']:>14,.0f}")


if __name__ == "__main__":
    main()
