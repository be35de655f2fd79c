"""Wall time of the README's Python snippet with and without the compilation cache.

The Python API turns JAX's persistent compilation cache on at first use, as the CLI
does (``hades_zoo.data.cache.use_compilation_cache``). Each row is the snippet in a
fresh Python process (import included), with ``HADES_ZOO_CACHE`` in a fresh temporary
folder:

1. ``off``: ``HADES_ZOO_JIT_CACHE=0`` (what the API did before: compile every run);
2. ``cold``: the cache on, empty;
3. ``warm``: the cache the cold run filled;
4. ``cli warm``: ``hades-zoo eval ID --episodes N --json`` on that warm cache.

The snippet is the README's with a smaller entry and fewer episodes by default (the
shared 2-core CPU this was written on takes minutes per cold hopper-R-64 run)::

    ds = hz.load(ID); pol = hz.train_policy(ds, seed=0)
    res = hz.evaluate(pol, episodes=N); hz.protocol_returns(ds, seeds=S)

    PYTHONPATH=$PWD python benchmarks/bench_api_cache.py [--id hopper-R-4]
        [--episodes 2] [--seeds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

SNIPPET = r"""
import sys
import hades_zoo as hz
ds = hz.load(sys.argv[1])
pol = hz.train_policy(ds, seed=0)
res = hz.evaluate(pol, episodes=int(sys.argv[2]))
if int(sys.argv[3]):
    hz.protocol_returns(ds, seeds=int(sys.argv[3]))
print(res.mean_return)
"""


def _run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--id", default="hopper-R-4")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2,
                        help="protocol_returns seeds (0: leave it out)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    py = [sys.executable, "-c", SNIPPET, args.id, str(args.episodes), str(args.seeds)]
    cli = [sys.executable, "-m", "hades_zoo.cli", "eval", args.id, "--episodes",
           str(args.episodes), "--json"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "HADES_ZOO_CACHE": tmp}
        rows["off"] = _run(py, {**base, "HADES_ZOO_JIT_CACHE": "0"})
        on = {**base, "HADES_ZOO_JIT_CACHE": "1"}
        rows["cold"] = _run(py, on)
        rows["warm"] = _run(py, on)
        rows["cli warm"] = _run(cli, on)
    out = {"id": args.id, "episodes": args.episodes, "seeds": args.seeds,
           "seconds": {k: round(v, 1) for k, v in rows.items()},
           "machine": f"{platform.processor() or platform.machine()} x{os.cpu_count()}",
           "load_avg_1min_end": round(os.getloadavg()[0], 2),
           "date": datetime.date.today().isoformat()}
    for k, v in rows.items():
        print(f"{k:>9}: {v:6.1f} s")
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
