"""Issue 21 item 5, the CPU idea for the image gap: search in a basis of real class
images (``image.search_basis``) instead of a 10 x 10 offset (``search_resolution``).

Scores finished ``hades-zoo distill`` run folders with the protocol's 20 classifiers
(10 seeds x 2 inits, 1000 full-batch SGD steps each) on the 10,000 real test images,
and prints each run's fitness curve (``metrics.jsonl``: the truncated-fitness accuracy
on the generation's 512 training images) beside it. See README.md for the runs.

    python experiments/image_basis/compare.py RUN_DIR [RUN_DIR ...] \
        --data-dir ../shared/data/fashion-mnist --json experiments/image_basis/result.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def curve(folder: Path) -> list[dict]:
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    return [{"generation": r["generation"], "mean_loss": r["mean_loss"],
             "accuracy": r.get("accuracy")} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import hades_zoo as hz
    from hades_zoo.zoo.image_eval import evaluate_image_dataset

    out = {}
    for folder in args.runs:
        ds = hz.load(str(folder))
        res = evaluate_image_dataset(ds, split="test", seeds=args.seeds,
                                     data_dir=args.data_dir)
        acc = res["per_seed"]["accuracy"]
        rows = curve(folder)
        last5 = [r["mean_loss"] for r in rows[-5:]]
        out[folder.name] = {
            "search": ({"search_basis": ds.recipe.image.search_basis}
                       if ds.recipe.image.search_basis
                       else {"search_resolution": ds.recipe.image.search_resolution}),
            "generations": rows[-1]["generation"] if rows else 0,
            "test_accuracy": statistics.fmean(acc), "per_seed": acc,
            "first_mean_loss": rows[0]["mean_loss"] if rows else None,
            "last5_mean_loss": statistics.fmean(last5) if last5 else None,
            "eval_seconds": res["seconds"]}
        print(json.dumps({folder.name: out[folder.name]}), flush=True)
    print("\n| run | search | generations | test accuracy (20 classifiers) | "
          "population mean loss, gen 1 -> mean of last 5 |")
    print("|---|---|---:|---:|---|")
    for name, r in out.items():
        print(f"| {name} | {r['search']} | {r['generations']} | "
              f"{100 * r['test_accuracy']:.1f} % | {r['first_mean_loss']:.4f} -> "
              f"{r['last5_mean_loss']:.4f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
