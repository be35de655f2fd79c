"""Benchmark: evaluation that stops when the episodes end, vs the pooled window.

Config: the zoo's own hopper recipe (``recipes/hopper-F-4.hz.yaml``: HaDES-F, pop 64,
D 4, W 64, 100 BC steps, 4 greedy eval envs, 1000-step episodes, positional brax,
running obs normalisation) on all local CPU devices. Two populations:

- early: random datasets (states and actions ~ N(0, 1)): most hoppers fall within
  tens of steps;
- late: the dataset of a finished run (``--dataset``, default the packaged
  ``hopper-F-4.hz``) plus the recipe's sigma of noise: most hoppers run the whole
  1000-step episode.

For each population it times one population fitness call (BC + evaluation of every
candidate; compiled once, then every case timed round-robin, median of ``--repeats``
rounds) with these protocols:

- ``pooled``: 4 envs x 1000 steps with auto-reset, the reference window;
- ``episodes, block``: one episode per env; each device steps its whole block of
  candidates (one ``vmap``) until their longest episode has ended;
- ``episodes, chunk 1`` (``--chunk1``): ``es.eval_chunk = 1``, every candidate stops
  on its own;
- ``episodes, continuous``: ``eval.scheduler: continuous`` (``engine.continuous``):
  a pool of evaluation slots refilled as evaluations end, shrunk as it drains; at the
  default pool settings, and at each ``--pools FRACTION:SHRINK`` given.

Columns: *steps needed* are the env steps of the candidates' own episodes (what
``metrics.jsonl`` and ``--max-env-steps`` count: per evaluation, ``num_envs`` x its
longest episode, since with running normalisation an evaluation's envs step together);
*simulated* are the env steps the program actually stepped (for ``block``: every
device steps its block x ``num_envs`` envs until its longest episode ends; for
``continuous``: the pool's slots, busy or idle; for ``pooled``: the whole window).
*steps/s* is steps needed per second of the generation (BC included), compared with
the floor measured in the same run: the pure rollout of the same pop x envs for 1000
steps at full batch on the same devices (``make_population_evaluator`` over the same
mesh: each device one ``vmap`` of the env step and the policy forward over its block's
envs; no BC, no early stop, no scheduling). *without BC vs floor*: the same, with
the generation's seconds minus those of its BC runs alone (*BC only*: the population's
BC, timed in the same rounds). Until 2026-12-02 the floor ran on one
device only, so it was slower than a whole pooled generation on two.

*Step cost by batch size* (``--curve``): the same pure rollout with 1, 2, 4, 8
candidates per device (4 to 32 envs), timed in the same rounds: seconds per
device-iteration (one batched env step on every device) by envs per device. On CPU an
iteration has a large fixed part (XLA runs a few thousand small kernels per env step
whatever the batch), so small batches cost more per env step. *Model bound*: a device
must run at least as many iterations as its longest evaluation has steps, carrying all
of its candidates' env steps, so it needs at least ``longest x hull(work / longest)``
seconds (``hull``: the convex envelope of the measured cost per iteration by batch
size); the bound of a generation is the slowest device's plus the BC runs. It is a
model (the curve uses the pooled rollout's step), not a proof. Run by hand::

    python benchmarks/bench_episodes.py [--repeats 3] [--chunk1] [--pools 1:4,0.25:2]
                                        [--curve 1,2,4,8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="recipes/hopper-F-4.hz.yaml")
    parser.add_argument("--dataset", default="hopper-F-4.hz")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk1", action="store_true",
                        help="also time es.eval_chunk: 1 (one more compile)")
    parser.add_argument("--pools", default="",
                        help="extra continuous pool settings FRACTION:SHRINK,...")
    parser.add_argument("--only", default="",
                        help="comma-separated protocol names to run (default all)")
    parser.add_argument("--curve", default="1,2,4,8",
                        help="candidates per device of the extra pure rollouts that "
                             "measure the step cost by batch size (the model bound); "
                             "'' for none")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()

    import os

    os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count="
                                       f"{min(os.cpu_count() or 1, 8)}")
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh

    import hades_zoo as hz
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.engine import continuous
    from hades_zoo.engine.distill import make_population_fitness
    from hades_zoo.engine.parallel import local_block, make_population_evaluator
    from hades_zoo.engine.policy import init_policy_params
    from hades_zoo.engine.rollout import make_evaluate
    from hades_zoo.engine.tasks.control import ControlTask

    base = load_recipe(args.recipe)
    devices = jax.local_devices()
    mesh = Mesh(np.array(devices), ("pop",))
    pop, n = base.es.popsize, base.eval.num_envs
    key = jax.random.key(0)
    template = ControlTask(base).solution_template()
    early = {k: jax.random.normal(jax.random.fold_in(key, i), (pop, *v.shape))
             for i, (k, v) in enumerate(sorted(template.items()))}
    trained = hz.load(args.dataset)
    late = {"states": jnp.asarray(trained.states)[None]
            + base.es.sigma_init * jax.random.normal(key, (pop, *trained.states.shape)),
            "actions": jnp.asarray(trained.actions)[None]
            + base.es.sigma_init * jax.random.normal(key, (pop, *trained.actions.shape))}

    default_pool = (continuous.SLOTS_FRACTION, continuous.SHRINK)
    protocols = {"pooled": dict(mode="pooled"),
                 "episodes, block": dict(mode="episodes")}
    if args.chunk1:
        protocols["episodes, chunk 1"] = dict(mode="episodes", chunk=1)
    protocols[f"episodes, continuous {default_pool[0]:g}:{default_pool[1]}"] = dict(
        mode="episodes", scheduler="continuous", pool=default_pool)
    for spec in filter(None, args.pools.split(",")):
        frac, shrink = spec.split(":")
        protocols[f"episodes, continuous {float(frac):g}:{int(shrink)}"] = dict(
            mode="episodes", scheduler="continuous", pool=(float(frac), int(shrink)))
    if args.only:
        keep = args.only.split(",")
        protocols = {k: v for k, v in protocols.items() if any(w in k for w in keep)}

    # Every case is compiled first, then timed round-robin (``--repeats`` rounds, the
    # median of each), so a machine that speeds up or slows down during the run moves
    # every case alike and the ratios stay side by side.
    cases = []  # (protocol, phase, jitted fn, args, protocol settings)
    block = local_block(pop, len(devices), 0)
    for name, p in protocols.items():
        recipe = base.replace(
            eval=dataclasses.replace(base.eval, mode=p["mode"],
                                     scheduler=p.get("scheduler", "block")),
            es=dataclasses.replace(base.es, eval_chunk=p.get("chunk", 0)))
        continuous.SLOTS_FRACTION, continuous.SHRINK = p.get("pool", default_pool)
        task = ControlTask(recipe)
        fit = jax.jit(make_population_fitness(recipe, task.make_fitness_fn(), mesh))
        for phase, population in (("early", early), ("late", late)):
            cases.append((name, phase, fit, (key, population), p))

    # The floor: the pure rollout of the same env batch (pop x envs x 1000 steps), on
    # the same mesh as the generations (each device rolls out its block of candidates
    # in one vmap, as `pooled` does), without BC: fixed random policies.
    task = ControlTask(base.replace(eval=dataclasses.replace(base.eval, mode="pooled")))
    ev = make_evaluate(task.env, task.module, task.recipe.eval, base.env.obs_norm)
    params = jax.vmap(lambda k: init_policy_params(task.module, k, task.spec.obs_dim))(
        jax.random.split(key, pop))
    mean, var = task.norm_arrays()

    def rollout_only(k, candidate):
        res = ev(k, candidate["params"], mean, var)
        return res.mean_return, {"env_steps": res.env_steps}

    floor = jax.jit(make_population_evaluator(rollout_only, mesh, pop))

    # BC alone (the generations' other work): the population's BC runs, no rollout.
    bc_task = ControlTask(base)

    def bc_only(k, sol):
        y, w = bc_task.targets_and_weights(sol)
        _, losses = bc_task.train(k, sol["states"], y, w)
        return losses[-1], {"env_steps": jnp.zeros((), jnp.int32)}

    bc = jax.jit(make_population_evaluator(bc_only, mesh, pop))
    # The floor at smaller batches: the same pure rollout with c candidates per device
    # (c x envs envs stepped per device-iteration), for the step cost by batch size.
    curve = [int(c) for c in filter(None, args.curve.split(","))
             if int(c) * len(devices) < pop]
    for c in curve:
        m = c * len(devices)
        small = jax.tree.map(lambda a, m=m: a[:m], params)
        fn = jax.jit(make_population_evaluator(rollout_only, mesh, m))
        cases.append((f"curve {c}", "-", fn, (key, {"params": small}), None))
    cases.append(("BC only", "early", bc, (key, early), None))
    cases.append(("floor", "-", floor, (key, {"params": params}), None))

    outs, compile_s = [], []
    for name, phase, fn, a, p in cases:  # the pool settings are read when tracing
        continuous.SLOTS_FRACTION, continuous.SHRINK = (p or {}).get("pool", default_pool)
        t0 = time.perf_counter()
        outs.append(jax.block_until_ready(fn(*a)))
        compile_s.append(time.perf_counter() - t0)
        print(f"compiled {name} {phase}: {compile_s[-1]:.1f} s", flush=True)
    continuous.SLOTS_FRACTION, continuous.SHRINK = default_pool
    laps: list[list[float]] = [[] for _ in cases]
    for _ in range(args.repeats):
        for i, (_, _, fn, a, _) in enumerate(cases):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*a))
            laps[i].append(time.perf_counter() - t0)
    secs = [statistics.median(t) for t in laps]

    bc_s = secs[-2]
    gen_cases = cases[:-2 - len(curve)]
    secs_of = {case[0]: sec for case, sec in zip(cases, secs)}  # curve names are unique
    laps_of = {case[0]: lap for case, lap in zip(cases, laps)}
    print(json.dumps({"bc only": "population BC runs", "seconds": bc_s,
                      "compile_s": compile_s[-2], "laps": laps[-2]}), flush=True)
    rows = []
    for (name, phase, _, _, p), (ret, aux), c, s, lap in zip(gen_cases, outs, compile_s,
                                                              secs, laps):
        steps = np.asarray(aux["env_steps"], np.float64)
        per_device = _per_device(steps, len(devices),
                                 local_block(pop, len(devices), p.get("chunk", 0)), n)
        if p["mode"] == "pooled":
            simulated = pop * n * base.eval.num_steps
        elif "simulated_steps" in aux:
            simulated = float(np.sum(np.asarray(aux["simulated_steps"], np.float64)))
        elif p.get("chunk"):
            simulated = float(np.sum(steps))
        else:  # each device steps its block until its longest evaluation ends
            # (padding repeats the first candidates; exact for num_inits 1)
            simulated = sum(block * n * d["longest"] for d in per_device)
        rows.append({"protocol": name, "phase": phase, "seconds": s, "compile_s": c,
                     "laps": lap,
                     "env_steps": float(np.sum(steps)), "simulated_steps": simulated,
                     "steps_per_s": float(np.sum(steps)) / s,
                     "mean_return": float(jnp.mean(ret)),
                     "per_device": per_device})
        print(json.dumps(rows[-1]), flush=True)
    s, c = secs[-1], compile_s[-1]
    floor_steps = float(jnp.sum(outs[-1][1]["env_steps"]))
    floor_rate = floor_steps / s
    print(json.dumps({"floor": "pure rollout", "seconds": s, "compile_s": c,
                      "laps": laps[-1], "env_steps": floor_steps,
                      "steps_per_s": floor_rate}), flush=True)
    # Seconds per device-iteration (one batched env step of every device) by envs per
    # device: the curve's rollouts and the floor, each 1000 steps (num_steps).
    per_iter = {c * n: secs_of[f"curve {c}"] / base.eval.num_steps for c in curve}
    per_iter[block * n] = s / base.eval.num_steps

    load = os.getloadavg()
    print(f"\n{len(devices)} devices, pop {pop}, {n} envs, {base.eval.num_steps}-step "
          f"episodes, median of {args.repeats} round-robin rounds; load average at the end "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print("| protocol | phase | s / generation | compile s | steps needed | simulated "
          "| steps/s | vs floor | without BC vs floor | s/gen vs pooled | s/gen vs block |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ref = {(r["protocol"], r["phase"]): r["seconds"] for r in rows}
    for r in rows:
        vs_pooled = ref.get(("pooled", r["phase"]))
        vs_block = ref.get(("episodes, block", r["phase"]))
        print(f"| {r['protocol']} | {r['phase']} | {r['seconds']:.2f} | "
              f"{r['compile_s']:.0f} | {r['env_steps']:,.0f} | "
              f"{r['simulated_steps']:,.0f} | {r['steps_per_s']:,.0f} | "
              f"{r['steps_per_s'] / floor_rate:.2f} | "
              f"{r['env_steps'] / (r['seconds'] - bc_s) / floor_rate:.2f} | "
              + (f"{r['seconds'] / vs_pooled:.2f}" if vs_pooled else "-") + " | "
              + (f"{r['seconds'] / vs_block:.2f}" if vs_block else "-") + " |")
    print(f"| floor: pure rollout | - | {s:.2f} | {c:.0f} | {floor_steps:,.0f} | "
          f"{floor_steps:,.0f} | {floor_rate:,.0f} | 1.00 | 1.00 | - | - |")
    print(f"| BC only (the population's BC runs) | - | {bc_s:.2f} | {compile_s[-2]:.0f} "
          "| - | - | - | - | - | - | - |")
    bounds = _print_bound(rows, per_iter, bc_s, floor_rate, block * n)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows, "floor": {"seconds": s, "env_steps": floor_steps,
                                               "steps_per_s": floor_rate},
                       "bc_only": {"seconds": bc_s, "laps": laps[-2]},
                       "seconds_per_iteration": {str(k): v for k, v in per_iter.items()},
                       "curve_laps": {str(c * n): laps_of[f"curve {c}"] for c in curve},
                       "model_bound": bounds,
                       "devices": len(devices), "load_average": load,
                       "date": time.strftime("%Y-%m-%d %H:%M")}, fh, indent=1)


def _per_device(steps, num_devices: int, block: int, num_envs: int) -> list[dict]:
    """Per device: ``work`` (env steps its candidates' episodes need) and ``longest``
    (steps of its longest evaluation), from the candidates' ``env_steps`` (``num_envs``
    x an evaluation's longest episode, exact for one evaluation per candidate). Devices
    take the padded population in blocks of ``block``; padding repeats the first
    candidates."""
    import numpy as np

    padded = np.resize(np.asarray(steps, np.float64), num_devices * block)
    return [{"work": float(np.sum(b)), "longest": float(np.max(b)) / num_envs}
            for b in padded.reshape(num_devices, block)]


def _hull(per_iter: dict[int, float], batch: float) -> float:
    """The lower convex envelope of the measured seconds per iteration at ``batch``
    envs per device (linear between measured sizes; above the largest, its cost per
    env)."""
    pts = sorted(per_iter.items())
    if batch >= pts[-1][0]:
        return pts[-1][1] * batch / pts[-1][0]
    best = float("inf")
    for i, (b0, t0) in enumerate(pts):
        for b1, t1 in pts[i:]:
            if b0 <= batch <= b1:
                w = 0.0 if b1 == b0 else (batch - b0) / (b1 - b0)
                best = min(best, t0 + w * (t1 - t0))
    return best if best < float("inf") else pts[0][1]


def _print_bound(rows, per_iter, bc_s, floor_rate, full) -> list[dict]:
    """Print the step cost by batch size and, for every ``episodes`` row, the model
    bound: a device must run at least ``longest`` iterations (its longest evaluation
    steps one env step per iteration) carrying its ``work`` env steps in all, so it
    needs at least ``longest x hull(work / longest)`` seconds, ``hull`` the convex
    envelope of the measured cost per iteration by batch size; the generation needs the
    slowest device's bound plus its BC. It is a model (the curve is measured with the
    pooled rollout's step, the pool adds its bookkeeping), not a proof."""
    print("\nStep cost by batch size (pure rollout, seconds per device-iteration):\n")
    print("| envs per device | ms per iteration | steps/s per device | vs full batch |")
    print("|---:|---:|---:|---:|")
    full_rate = full / per_iter[full]
    for b, t in sorted(per_iter.items()):
        print(f"| {b} | {t * 1e3:.2f} | {b / t:,.0f} | {b / t / full_rate:.2f} |")
    print("\nModel bound (slowest device: longest x hull(work / longest), plus BC):\n")
    print("| protocol | phase | longest | work per device | envs per iteration | bound s "
          "| measured s | bound vs floor | measured / bound |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    out = []
    for r in rows:
        if r["protocol"] == "pooled":
            continue
        devs = r["per_device"]
        t_dev = [d["longest"] * _hull(per_iter, d["work"] / d["longest"]) for d in devs]
        i = max(range(len(devs)), key=lambda j: t_dev[j])
        bound = t_dev[i] + bc_s
        vs_floor = r["env_steps"] / bound / floor_rate
        out.append({"protocol": r["protocol"], "phase": r["phase"], "bound_s": bound,
                    "bound_vs_floor": vs_floor, "measured_s": r["seconds"]})
        print(f"| {r['protocol']} | {r['phase']} | {devs[i]['longest']:.0f} | "
              f"{devs[i]['work']:,.0f} | {devs[i]['work'] / devs[i]['longest']:.1f} | "
              f"{bound:.2f} | {r['seconds']:.2f} | {vs_floor:.2f} | "
              f"{r['seconds'] / bound:.2f} |")
    return out


if __name__ == "__main__":
    main()
