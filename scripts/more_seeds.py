"""Re-measure certificates with more BC seeds (a check on seed noise).

For each id: ``protocol_returns`` with ``--seeds`` seeds starting at ``--seed`` (the
certificates use seed 0, so the default seed 1 draws fresh keys), written to
``--out`` as {id: {seeds, seed, mean, std, sem, recorded, ratio, returns, seconds}}.
Uses the JIT cache, so ids of one protocol (e.g. ``.s1`` / ``.s2``) compile once.

    PYTHONPATH=$PWD python scripts/more_seeds.py walker2d-R-64 walker2d-R-64.s2 \\
        --seeds 16 --out results/certificate_more_seeds.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ids", nargs="+")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="JSON file to update")
    args = p.parse_args()

    from hades_zoo.data.cache import enable_compilation_cache

    enable_compilation_cache()
    import hades_zoo as hz
    from hades_zoo.engine.evaluation import protocol_returns

    out = json.loads(args.out.read_text()) if args.out and args.out.exists() else {}
    for i in args.ids:
        ds = hz.load(i)
        t = time.perf_counter()
        r = protocol_returns(ds, seeds=args.seeds, seed=args.seed)
        rec = ds.info.fitness
        out[i] = {"seeds": args.seeds, "seed": args.seed, "mean": float(np.mean(r)),
                  "std": float(np.std(r)), "sem": float(np.std(r) / np.sqrt(args.seeds)),
                  "recorded": rec, "ratio": float(np.mean(r) / rec),
                  "returns": [round(float(x), 2) for x in r],
                  "seconds": round(time.perf_counter() - t, 1)}
        print(i, json.dumps(out[i]), flush=True)
        if args.out:
            args.out.write_text(json.dumps(dict(sorted(out.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
