"""Memory of one HaDES generation: XLA's compiled memory analysis and process peak RSS.

Two reports (each configuration in a fresh subprocess, one XLA CPU device):

``chunks``: the compiled memory of one generation of a paper recipe (default
``recipes/hopper-R-64.yaml``: pop 2048, width 512, D 64, 4 envs x 1024 steps, 2 inits)
for each ``eval_chunk`` (candidates evaluated at once). Compiled, never run.

``paper51``: paper section 5.1's comparison, HaDES-F vs direct ES (variant ``ES``:
the policy weights are the population), pop 256, widths 64 / 256 / 1024, hopper and
Breakout-MinAtar (each env's published HaDES-F recipe otherwise). For each
configuration:

- compiled memory (temp + argument + output bytes) of the full protocol, compiled only;
- process peak RSS (``getrusage`` ``ru_maxrss``) of a fresh process that compiles and
  runs one generation. Running the full protocol at width 1024 takes far more than
  5 CPU-minutes here, so this run uses ``--rss-bc-steps`` BC steps and
  ``--rss-env-steps`` env steps per env (the loops are ``lax.scan``s, whose memory does
  not grow with their length); its compiled memory is printed too, so the two can be
  compared. The peak RSS includes the Python process, JAX and XLA's compiler; the RSS
  before compiling is printed as the baseline.

    nice -n 10 python benchmarks/bench_memory.py chunks --json chunks.json
    nice -n 10 python benchmarks/bench_memory.py paper51 --json paper51.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

RECIPES = {"hopper": "recipes/hopper-F-64.yaml",
           "breakout": "recipes/breakout-minatar-F-16.yaml"}


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f}" if n < 100 * 2**20 else f"{n / 2**20:,.0f}"


def _child(args: argparse.Namespace) -> dict:
    import _generation as g

    from hades_zoo.engine.memory import compiled_memory

    recipe = g.shrink(g.load(args.recipe), popsize=args.pop, width=args.width,
                      variant=args.variant, bc_steps=args.bc_steps,
                      env_steps=args.env_steps)
    out = {"recipe": args.recipe, "variant": recipe.variant, "popsize": recipe.es.popsize,
           "width": recipe.policy.width, "dataset_size": recipe.dataset.size,
           "num_inits": recipe.num_inits, "bc_steps": recipe.bc.steps,
           "num_envs": recipe.eval.num_envs, "env_steps": recipe.eval.num_steps,
           "eval_chunk": args.chunk, "machine": g.machine()}
    step, state, _ = g.build(recipe, args.chunk)
    out["rss_before_compile"] = g.rss_bytes()
    t0 = time.perf_counter()
    compiled = step.lower(state, 1).compile()
    out["compile_s"] = time.perf_counter() - t0
    out["compiled"] = compiled_memory(compiled).as_dict()
    out["max_rss_after_compile"] = g.max_rss_bytes()
    if args.run:
        import jax

        t0 = time.perf_counter()
        state, metrics = compiled(state)
        jax.block_until_ready(metrics)
        out["run_s"] = time.perf_counter() - t0
        out["max_rss_after_run"] = g.max_rss_bytes()
    return out


def _spawn(args: argparse.Namespace, **child) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "child"]
    for k, v in child.items():
        if v is True:
            cmd.append(f"--{k.replace('_', '-')}")
        elif v is not None and v is not False:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    env = dict(os.environ, JAX_PLATFORMS="cpu", HADES_ZOO_JIT_CACHE="0",
               XLA_FLAGS="--xla_force_host_platform_device_count=1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        return {"error": proc.stderr[-2000:], **child}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(res), flush=True)
    return res


def chunks(args: argparse.Namespace) -> list[dict]:
    rows = [_spawn(args, recipe=args.recipe, chunk=c)
            for c in [int(x) for x in args.chunks.split(",")]]
    chunk_table(rows, args.recipe)
    return rows


def chunk_table(rows: list[dict], recipe: str) -> None:
    """The per-chunk markdown table from measured rows."""
    print(f"\n{recipe}: compiled memory of one generation, 1 CPU device")
    print("| eval_chunk | temp MiB | argument KiB | output KiB | total MiB | compile s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['chunk']} | failed: {r['error'].splitlines()[-1][:80]} |")
            continue
        m = r["compiled"]
        chunk = r["eval_chunk"] or f"0 (all {r['popsize']})"
        print(f"| {chunk} | {_mib(m['temp_bytes'])} | {m['argument_bytes'] / 1024:.1f} | "
              f"{m['output_bytes'] / 1024:.1f} | {_mib(m['total_bytes'])} | "
              f"{r['compile_s']:.0f} |")


def paper51(args: argparse.Namespace) -> list[dict]:
    parts = args.parts.split(",")
    rows = []
    for env in args.envs.split(","):
        for width in [int(w) for w in args.widths.split(",")]:
            for variant in ("F", "ES"):
                row = {"env": env, "width": width, "variant": variant, "pop": args.pop}
                base = {"recipe": RECIPES[env], "pop": args.pop, "width": width,
                        "variant": variant}
                if "full" in parts:
                    row["full"] = _spawn(args, **base)
                if "rss" in parts:
                    row["rss_run"] = _spawn(args, **base, bc_steps=args.rss_bc_steps,
                                            env_steps=args.rss_env_steps, run=True)
                if "chunk" in parts:
                    row["chunked"] = _spawn(args, **base, chunk=args.chunk)
                rows.append(row)
    table(rows)
    return rows


def _merge(rows: list[dict]) -> list[dict]:
    """Rows of several paper51 runs (same env, width, variant) merged, order kept."""
    merged: dict[tuple, dict] = {}
    for r in rows:
        merged.setdefault((r["env"], r["width"], r["variant"]), {}).update(r)
    return list(merged.values())


def table(rows: list[dict]) -> None:
    """The paper51 markdown table from measured rows (missing parts print as -)."""
    rows = _merge(rows)

    def mem(part):
        return "-" if part is None else ("failed" if "error" in part
                                         else _mib(part["compiled"]["total_bytes"]))

    rss = next((r["rss_run"] for r in rows if "rss_run" in r and "error" not in r["rss_run"]),
               None)
    chunk = next((r["chunked"]["eval_chunk"] for r in rows
                  if "chunked" in r and "error" not in r["chunked"]), None)
    print("\none generation, 1 CPU device, MiB. Compiled = XLA memory analysis (temp + "
          "argument + output), compiled only.")
    if rss:
        print(f"Peak RSS: a fresh process compiles and runs one generation with "
              f"{rss['bc_steps']} BC steps and {rss['env_steps']} env steps per env "
              "(getrusage ru_maxrss; includes Python, JAX and the XLA compiler).")
    print(f"| env | width | method | compiled | compiled, eval_chunk {chunk} | "
          "compiled, RSS-run protocol | RSS before compile | peak RSS after compile | "
          "peak RSS after the generation | run s |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        name = "HaDES-F" if r["variant"] == "F" else "direct ES"
        small = r.get("rss_run")
        ok = small is not None and "error" not in small
        rss_cols = (f"{_mib(small['rss_before_compile'])} | "
                    f"{_mib(small['max_rss_after_compile'])} | "
                    f"{_mib(small['max_rss_after_run'])} | {small['run_s']:.1f}"
                    if ok else "- | - | - | -")
        print(f"| {r['env']} | {r['width']} | {name} | {mem(r.get('full'))} | "
              f"{mem(r.get('chunked'))} | {mem(small)} | {rss_cols} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("chunks", help="compiled memory per eval_chunk")
    c.add_argument("--recipe", default="recipes/hopper-R-64.yaml")
    c.add_argument("--chunks", default="0,1024,512,256,128,64,32,16,8,4,2,1")
    p = sub.add_parser("paper51", help="HaDES-F vs direct ES, section 5.1")
    p.add_argument("--envs", default="hopper,breakout")
    p.add_argument("--widths", default="64,256,1024")
    p.add_argument("--pop", type=int, default=256)
    p.add_argument("--rss-bc-steps", type=int, default=10)
    p.add_argument("--rss-env-steps", type=int, default=64)
    p.add_argument("--parts", default="full,rss,chunk",
                   help="full: compile the full protocol; rss: compile + run the "
                        "shortened one; chunk: compile the full protocol with --chunk")
    p.add_argument("--chunk", type=int, default=1)
    t = sub.add_parser("table", help="print a table again from --json files")
    t.add_argument("files", nargs="+")
    for q in (c, p):
        q.add_argument("--json", help="also write every measurement here")
    k = sub.add_parser("child")
    k.add_argument("--recipe", required=True)
    k.add_argument("--chunk", type=int, default=0)
    k.add_argument("--pop", type=int)
    k.add_argument("--width", type=int)
    k.add_argument("--variant", choices=["F", "R", "ES"])
    k.add_argument("--bc-steps", type=int)
    k.add_argument("--env-steps", type=int)
    k.add_argument("--run", action="store_true")
    args = parser.parse_args()
    if args.cmd == "child":
        print(json.dumps(_child(args)))
        return
    if args.cmd == "table":
        rows = []
        for name in args.files:
            with open(name) as fh:
                rows += json.load(fh)["rows"]
        if rows and "env" not in rows[0]:
            chunk_table(rows, rows[0]["recipe"])
        else:
            table(rows)
        return
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    rows = chunks(args) if args.cmd == "chunks" else paper51(args)
    print(f"\nstarted {started}; command: python benchmarks/bench_memory.py "
          f"{' '.join(sys.argv[1:])}; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"started": started, "argv": sys.argv[1:], "rows": rows}, fh,
                      indent=1)


if __name__ == "__main__":
    main()
