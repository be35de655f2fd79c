"""Distillation budget (paper Fig. 6): return vs dataset size D beside direct ES.

Reads the own entries ``runs/own/<env>-F-<D>.hz`` (certificates, 5 BC seeds) and the
ES baseline ``runs/own/<env>-F-<D0>.hz.es`` (its mean policy scored like a certificate,
from ``results/own/own_entries.json``) and writes ``results/own/budget_<env>.{png,json}``.

    python scripts/budget_sweep.py acrobot --sizes 3 4 16 64 256 --es-entry acrobot-F-3.hz
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS, OUT = REPO / "runs" / "own", REPO / "results" / "own"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("env")
    parser.add_argument("--sizes", type=int, nargs="+", required=True)
    parser.add_argument("--es-entry", required=True, help="own entry whose ES run is the baseline")
    args = parser.parse_args()
    points = []
    for d in args.sizes:
        folder = RUNS / f"{args.env}-F-{d}.hz"
        if not (folder / "certificate.json").exists():
            raise SystemExit(f"{folder} has no certificate.json: run `python "
                             f"scripts/own_entries.py --skip-es recipes/{folder.name}.yaml` "
                             "first (nothing was written).")
        cert = json.loads((folder / "certificate.json").read_text())
        evo = json.loads((folder / "evolution.json").read_text())
        points.append({"size": d, "certificate_mean": cert["mean"], "certificate_std": cert["std"],
                       "certificate_returns": cert["returns"], "generations": evo["generations"],
                       "env_steps": evo["env_steps"], "wall_seconds": evo["wall_seconds"]})
    es = json.loads((OUT / "own_entries.json").read_text())[args.es_entry]["es"]
    result = {"env": args.env, "variant": "F", "points": points,
              "es_baseline": {"entry": f"{args.es_entry}.es", **es},
              "protocol": "each point: its own entry's recipe (same net, BC, eval and ES "
                          "settings, only dataset.size differs), certified with 5 BC seeds"}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"budget_{args.env}.json").write_text(json.dumps(result, indent=1) + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.8))
    xs = [p["size"] for p in points]
    ax.errorbar(xs, [p["certificate_mean"] for p in points],
                yerr=[p["certificate_std"] for p in points], marker="o", capsize=3,
                label="HaDES-F (certificate, mean ± std over 5 BC seeds)")
    centre = es.get("centre_returns")
    if centre:
        m = sum(centre) / len(centre)
        s = (sum((x - m) ** 2 for x in centre) / len(centre)) ** 0.5
        ax.axhline(m, color="C3", label=f"direct ES, mean policy ({es['env_steps'] / 1e6:.1f}M env steps)")
        ax.axhspan(m - s, m + s, color="C3", alpha=0.15)
    ax.axhline(es["final_population_mean"], color="C3", ls="--", lw=1,
               label="direct ES, final population mean")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("dataset size D (state-action pairs)")
    ax.set_ylabel("episode return")
    ax.set_title(f"{args.env}: distillation budget (paper Fig. 6)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(OUT / f"budget_{args.env}.png", dpi=110)
    print(json.dumps(result["points"], indent=1))


if __name__ == "__main__":
    main()
