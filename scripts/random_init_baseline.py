"""Single-task protocol returns of HaDES-F datasets trained from a FRESH init.

A HaDES-F dataset was evolved for one fixed initialisation; this measures what it gives
without it (5 BC seeds, seed 0, each seed a fresh init, the dataset's own protocol
otherwise), the fair baseline for multi-task runs whose merged input size rules the
fixed init out.

    PYTHONPATH=$PWD python scripts/random_init_baseline.py humanoid-F-64 humanoidstandup-F-64 \\
        --out results/multitask/f_random_init_baseline.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ids", nargs="+")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--out", default=None)
    args = p.parse_args()

    import hades_zoo as hz
    from hades_zoo.engine.evaluation import protocol_returns

    out = {}
    for i in args.ids:
        ds = hz.load(i)
        r = ds.recipe
        fresh = dataclasses.replace(
            r, policy=dataclasses.replace(r.policy, init_seed=None), variant="R")
        t = time.perf_counter()
        rets = protocol_returns(ds.replace(recipe=fresh), seeds=args.seeds, seed=0)
        out[i] = {"random_init_returns": [float(x) for x in rets],
                  "mean": float(np.mean(rets)), "std": float(np.std(rets)),
                  "seconds": round(time.perf_counter() - t, 1)}
        print(i, out[i], flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
