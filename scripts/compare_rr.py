"""HaDES-R vs HaDES-RR (randomised inner loop) at equal compute: transfer and return.

Reads ``runs/transfer_rr/<R|RR>-s<seed>/`` written by the commands in
``experiments/transfer_rr/README.md`` (``distill``, ``certify --seeds 5``, ``transfer
--widths 64,256,1024 --lrs 1e-3,1e-2 --steps 100,300 --seeds 5 --json``) and writes
``results/transfer_rr/compare.{json,png}`` and prints a markdown table (runs whose
``transfer/done`` marker is missing are still running and are left out).

    python scripts/compare_rr.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RUNS, OUT = REPO / "runs" / "transfer_rr", REPO / "results" / "transfer_rr"


def _run(folder: Path) -> dict:
    cert = json.loads((folder / "certificate.json").read_text())
    evo = json.loads((folder / "evolution.json").read_text())
    tr = json.loads((folder / "transfer.json").read_text())
    means = np.array([g["mean"] for g in tr["grid"]])
    return {"run": folder.name, "certificate_mean": cert["mean"], "certificate_std": cert["std"],
            "top50_per_width": tr["top50_per_width"], "top50_mean": tr["top50_mean"],
            "grid_mean": float(means.mean()), "grid_worst": float(means.min()),
            "env_steps": evo["env_steps"], "generations": evo["generations"],
            "wall_seconds": evo["wall_seconds"], "grid": tr["grid"],
            "transfer_grid": {k: tr[k] for k in ("widths", "lrs", "steps", "seeds")}}


def main() -> None:
    runs = {arm: [_run(p) for p in sorted(RUNS.glob(f"{arm}-s*"))
                  if (p / "transfer" / "done").exists() and (p / "certificate.json").exists()]
            for arm in ("R", "RR")}
    missing = [arm for arm, rs in runs.items() if not rs]
    if missing:  # never overwrite the stored comparison with an empty one
        raise SystemExit(f"no finished runs of arm(s) {', '.join(missing)} under {RUNS} "
                         "(each needs certificate.json and transfer/done): run the commands "
                         "in experiments/transfer_rr/README.md first; "
                         f"{OUT / 'compare.json'} is left as it is.")
    summary = {}
    for arm, rs in runs.items():
        def stat(key, rs=rs):
            x = np.array([r[key] for r in rs])
            return {"mean": float(x.mean()), "sem": float(x.std(ddof=1) / np.sqrt(len(x)))
                    if len(x) > 1 else None, "values": x.tolist()}
        summary[arm] = {k: stat(k) for k in ("certificate_mean", "top50_mean", "grid_mean",
                                             "grid_worst", "env_steps", "wall_seconds")}
        summary[arm]["seeds"] = len(rs)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "compare.json").write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))

    rows = [("| arm | evolution seeds | certificate at the recipe's settings | transfer top-50% "
             "mean | transfer grid mean | worst grid config | env steps | wall |"),
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for arm, s in summary.items():
        def f(k, fmt="{:.1f}", s=s):
            v = s[k]
            sem = "" if v["sem"] is None else f" ± {fmt.format(v['sem'])}"
            return fmt.format(v["mean"]) + sem
        rows.append(f"| HaDES-{arm} | {s['seeds']} | {f('certificate_mean')} | {f('top50_mean')} | "
                    f"{f('grid_mean')} | {f('grid_worst')} | {s['env_steps']['mean'] / 1e6:.2f}M | "
                    f"{s['wall_seconds']['mean'] / 60:.1f} min |")
    print("\n".join(rows))
    print("\nper run:")
    for arm, rs in runs.items():
        for r in rs:
            print(f"{r['run']:8s} cert {r['certificate_mean']:7.1f}  top50 {r['top50_mean']:7.1f}  "
                  f"grid mean {r['grid_mean']:7.1f}  worst {r['grid_worst']:7.1f}  "
                  f"per width {', '.join(f'{w}: {v:.1f}' for w, v in r['top50_per_width'].items())}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for arm, color in (("R", "C0"), ("RR", "C2")):
        for i, r in enumerate(runs[arm]):
            ws = [int(w) for w in r["top50_per_width"]]
            axes[0].plot(ws, list(r["top50_per_width"].values()), marker="o", color=color,
                         alpha=0.7, label=f"HaDES-{arm}" if i == 0 else None)
            cfg = [g["mean"] for g in r["grid"]]
            axes[1].plot(range(len(cfg)), cfg, marker=".", color=color, alpha=0.6,
                         label=f"HaDES-{arm}" if i == 0 else None)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("policy width")
    axes[0].set_ylabel("top-50% config mean return")
    g = runs["R"][0]["grid"] if runs["R"] else []
    axes[1].set_xticks(range(len(g)), [f"{c['width']}/{c['lr']:g}/{c['steps']}" for c in g],
                       rotation=60, fontsize=6)
    axes[1].set_ylabel("config mean return (5 BC seeds)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Acrobot: HaDES-R vs HaDES-RR (randomised inner loop), one line per "
                 "evolution seed", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT / "compare.png", dpi=110)


if __name__ == "__main__":
    main()
