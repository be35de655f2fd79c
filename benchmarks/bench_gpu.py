"""Seconds per generation and env steps per second of a paper recipe on the local
accelerators (written for GPUs: ``pip install 'hades_zoo[cuda]'``).

Default: the paper's hopper HaDES-F recipe (``recipes/hopper-F-64.yaml``: pop 2048,
width 512, D 64, 200 BC steps, 4 envs x 1024 steps), sharded over every visible device
(``jax.devices()``; the population is padded to a multiple of their number). It
compiles one generation (reporting its XLA memory per device), runs ``--generations``
generations one jitted call each, and prints the median s/gen and

    env steps / s = popsize x num_inits x num_envs x env steps / (s / gen),

the simulated steps only (BC is the other half of the work). ``--max-memory 60GiB``
picks the evaluation chunk for a memory budget per device, as ``hades-zoo distill``
does; ``--eval-chunk N`` sets it.

    pip install -e '.[cuda]'
    python benchmarks/bench_gpu.py --generations 5 --json gpu.json
    python benchmarks/bench_gpu.py --pop 64 --generations 2   # a quick CPU smoke run

It refuses to call a CPU figure a GPU one: the printed device line says what ran.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/hopper-F-64.yaml")
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--pop", type=int, default=None, help="override es.popsize")
    parser.add_argument("--eval-chunk", type=int, default=0)
    parser.add_argument("--max-memory", default=None, metavar="SIZE")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import _generation as g
    import jax

    from hades_zoo.engine.memory import (
        choose_eval_chunk,
        compiled_memory,
        format_bytes,
        parse_memory_size,
    )

    recipe = g.shrink(g.load(args.recipe), popsize=args.pop)
    devices = jax.devices()
    chunk = args.eval_chunk
    if args.max_memory:
        def lower(c):
            step, state, _ = g.build(recipe, c)
            return step.lower(state, 1)

        chunk = choose_eval_chunk(lower, recipe.es.popsize, len(devices),
                                  parse_memory_size(args.max_memory)).chunk
    step, state, _ = g.build(recipe, chunk)
    t0 = time.perf_counter()
    compiled = step.lower(state, 1).compile()
    compile_s = time.perf_counter() - t0
    memory = compiled_memory(compiled)
    times = []
    for _ in range(args.generations):
        t0 = time.perf_counter()
        state, metrics = compiled(state)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t0)
    gen_s = statistics.median(times)
    steps = g.env_steps_per_generation(recipe)
    res = {
        "recipe": args.recipe, "popsize": recipe.es.popsize, "variant": recipe.variant,
        "width": recipe.policy.width, "eval_chunk": chunk, "machine": g.machine(),
        "devices": len(devices), "platform": devices[0].platform,
        "compile_s": compile_s, "compiled_memory_per_device": memory.as_dict(),
        "gen_s_all": times, "gen_s_median": gen_s, "env_steps_per_gen": steps,
        "env_steps_per_s": steps / gen_s,
        "mean_return_last_gen": float(jax.device_get(metrics["mean_return"])[-1]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    print(json.dumps(res))
    print(f"\n{res['machine']}")
    print(f"{args.recipe}: pop {recipe.es.popsize}, variant {recipe.variant}, "
          f"width {recipe.policy.width}, eval_chunk {chunk or 'all'}")
    print(f"compile {compile_s:.1f} s; compiled memory per device "
          f"{format_bytes(memory.total_bytes)} (temp {format_bytes(memory.temp_bytes)})")
    print(f"{gen_s:.3f} s/gen (median of {args.generations}; first {times[0]:.3f} s), "
          f"{steps / gen_s:,.0f} env steps/s on {len(devices)} x {devices[0].device_kind}")
    if devices[0].platform == "cpu":
        print("note: this ran on CPU; it is not a GPU figure.")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
