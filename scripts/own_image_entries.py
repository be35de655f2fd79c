"""Certify the zoo's own image entries under the paper's protocol (issue: distil from scratch).

The issue's image targets are *test* accuracies in the paper's protocol: 3 evolution
runs, each dataset scored by 20 freshly initialised classifiers (CNN, 1000 full-batch
SGD steps at lr 0.1, Lupu et al. 2024, Sec. 5.3). For an own image recipe ``<id>``
whose runs are packaged in the zoo as ``<id>``, ``<id>.s1``, ``<id>.s2`` (those that
are; ``scripts/build_zoo.py --add-own runs/own/<run>``), this script:

1. certifies each run with ``hades-zoo certify <run id> --seeds 10 --update-zoo``
   (10 seeds x ``num_inits`` 2 fresh inits = the protocol's 20 classifiers; the
   certificate, in ``results/certificates.json`` and the card, holds the ``test``
   split beside the fitness split) unless it already has a 10-seed certificate;
2. measures, with the same 20 classifiers on the test split, two references on this
   code: the ES start (the class-mean images of the fitness split) and the paper's
   published datasets of that env (``<env>-R-10``, ``.s1``, ``.s2``);
3. writes ``results/own/image_references.json`` (by env),
   ``results/own/image_entries.json``, ``results/own/IMAGE_TABLE.md`` and a figure of
   the images (``results/own/<id>.png``: start, each run, the paper's), and for each
   run already in the zoo (``cards/<run id>.md``) its card's "Target and
   baselines" section: the target, met or the measured gap, the references, the
   notes of what was tried (``results/own/notes.json``).

Usage (run by hand, after the runs were packaged; each step is skipped when its
output exists)::

    python scripts/own_image_entries.py recipes/fashionmnist-R-10.hz.yaml
    python scripts/own_image_entries.py --render-only recipes/*mnist-R-10.hz.yaml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "results" / "own"
TABLE_JSON = OUT / "image_entries.json"
REFS_JSON = OUT / "image_references.json"  # by env: measured once, reused
SEEDS = 10  # x num_inits (2) = the paper's 20 classifiers per run

# Test accuracy targets (issue "Distil from scratch"): the paper's figures.
TARGETS = {"FashionMNIST": (("test accuracy >= 80.2 % (the paper's, 3 runs x 20 "
                            "classifiers)"), 0.802),
           "MNIST": ("test accuracy >= 90.1 % (the paper's), or the measured gap", 0.901)}
PUBLISHED = {"FashionMNIST": "fashionmnist-R-10", "MNIST": "mnist-R-10"}


def run_ids(entry: str) -> list[str]:
    """The zoo ids of ``entry``'s runs (seed 0, then ``.s1``, ``.s2``) that are packaged."""
    from hades_zoo.zoo import registry

    known = registry.entries()
    return [i for i in (entry, f"{entry}.s1", f"{entry}.s2") if i in known]


def certificate(dataset_id: str) -> dict | None:
    """The certificate of ``dataset_id`` in ``results/certificates.json``, if any."""
    table = _read_json(REPO / "results" / "certificates.json")
    return table.get("certificates", {}).get(dataset_id)


def test_accuracies(ds, seeds: int = SEEDS) -> list[float]:
    """Per-seed test accuracy of ``ds`` (each seed: ``num_inits`` classifiers)."""
    from hades_zoo.zoo.image_eval import evaluate_image_dataset

    return evaluate_image_dataset(ds, split="test", seeds=seeds)["per_seed"]["accuracy"]


def start_images(recipe):
    """``(images (D, H*W*C), name of the real split)``: the ES start exactly as
    ``distill`` builds it (``engine.distill._image_task``: class means of the fitness
    images)."""
    from hades_zoo.engine.distill import _image_task

    task = _image_task(recipe, None, None, None)
    return task.initial_states, task.data_name


def references(recipe, seeds: int = SEEDS) -> dict:
    """Test accuracy of the ES start and of the paper's datasets, same protocol."""
    import hades_zoo as hz
    from hades_zoo.data.dataset import SyntheticDataset
    from hades_zoo.engine.tasks.image import fixed_image_labels

    states, data_name = start_images(recipe)
    labels = fixed_image_labels(recipe.dataset.size, recipe.image.num_classes)
    start = SyntheticDataset(states=states, labels=labels,
                             recipe=recipe.replace(name=f"{recipe.name}.start"))
    out = {"start": {"what": f"class-mean images of {data_name} (the ES start)",
                     "accuracy": test_accuracies(start, seeds)}}
    base = PUBLISHED[recipe.env.name]
    for pid in (base, f"{base}.s1", f"{base}.s2"):
        out[pid] = {"what": "the paper's published dataset",
                    "accuracy": test_accuracies(hz.load(pid), seeds)}
    return out


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def reference_record(recipe) -> dict:
    """The references of ``recipe``'s env from ``REFS_JSON``, measured if missing."""
    env = recipe.env.name
    refs = _read_json(REFS_JSON)
    if env not in refs:
        measured = references(recipe)
        # re-read: another run of this script may have written meanwhile
        refs = {**_read_json(REFS_JSON), env: measured}
        OUT.mkdir(parents=True, exist_ok=True)
        REFS_JSON.write_text(json.dumps(refs, indent=1, sort_keys=True) + "\n")
    return refs[env]


def plot_images(entry: str, recipe, run_ids_: list[str], path: Path) -> Path:
    """One figure: the ES start (class means), each own run, the paper's dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import hades_zoo as hz

    img = recipe.image
    rows = [("ES start", start_images(recipe)[0])]
    rows += [(i, np.asarray(hz.load(i).states)) for i in run_ids_]
    rows.append((f"paper {PUBLISHED[recipe.env.name]}",
                 np.asarray(hz.load(PUBLISHED[recipe.env.name]).states)))
    d = recipe.dataset.size
    fig, axes = plt.subplots(len(rows), d, figsize=(1.1 * d, 1.2 * len(rows)), squeeze=False)
    for r, (name, states) in enumerate(rows):
        for c in range(d):
            ax = axes[r][c]
            ax.imshow(states[c].reshape(img.height, img.width), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=6, rotation=0, ha="right", va="center")
    fig.suptitle(f"{entry}: the 10 images (pixel / 255, shown clipped to [0, 1])", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mean(xs) -> float:
    return float(sum(xs) / len(xs))


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def summarise(entry: str, recipe, runs: dict, refs: dict) -> dict:
    """The row of one image recipe: per-run and pooled test accuracy vs its target."""
    text, threshold = TARGETS[recipe.env.name]
    per_run = {k: _mean(v["test_accuracy"]) for k, v in runs.items()}
    pooled = _mean(list(per_run.values()))
    published = [_mean(v["accuracy"]) for k, v in refs.items() if k != "start"]
    return {"entry": entry, "env": recipe.env.name, "target": text,
            "threshold": threshold, "runs": runs, "per_run_accuracy": per_run,
            "accuracy": pooled, "met": pooled >= threshold,
            "gap_points": round(100 * (threshold - pooled), 2),
            "start_accuracy": _mean(refs["start"]["accuracy"]),
            "published_accuracy": _mean(published) if published else None}


def render(table: dict) -> str:
    lines = [("| entry | runs | test accuracy (runs x 20 classifiers) | per run | target "
             "| met | ES start (class means) | paper's datasets, this code | generations "
             "| wall per run |"),
             "|---|---:|---:|---|---|---|---:|---:|---:|---|"]
    for entry, row in sorted(table.items()):
        runs = row["runs"]
        walls = ", ".join(f"{r['wall_seconds'] / 60:.0f}" for r in runs.values())
        gens = sorted({r["generations"] for r in runs.values()})
        lines.append(
            f"| {entry} | {len(runs)} | {_pct(row['accuracy'])} | "
            + ", ".join(_pct(a) for a in row["per_run_accuracy"].values())
            + f" | {row['target']} | "
            + ("yes" if row["met"] else f"no ({row['gap_points']:.1f} points short)")
            + f" | {_pct(row['start_accuracy'])} | "
            + ("-" if row["published_accuracy"] is None else _pct(row["published_accuracy"]))
            + f" | {', '.join(map(str, gens))} | {walls} min |")
    return "\n".join(lines) + "\n"


def target_section(row: dict, run_id: str, note: str) -> str:
    """The card's "Target and baselines" section of one run of an image recipe."""
    run = row["runs"][run_id]
    n = len(row["runs"])
    verdict = ("**met**" if row["met"] else
               f"**missed** by {row['gap_points']:.1f} points")
    lines = [
        (f"- Target: {row['target']}. This code's protocol score over the recipe's {n} "
        f"run{'s' if n > 1 else ''} (each 20 classifiers on the 10,000 test images): "
        f"{_pct(row['accuracy'])} ({', '.join(f'{k}: {_pct(a)}' for k, a in row['per_run_accuracy'].items())}): "
        f"{verdict}."),
        (f"- This run ({run_id}): test accuracy {_pct(_mean(run['test_accuracy']))} "
        f"(20 classifiers), evolved in {run['wall_seconds'] / 60:.1f} min of wall time on "
        f"{run['machine']}, {run['generations']} generations."),
        f"- Same protocol, same classifiers, this code: the ES start (class-mean images) "
        f"{_pct(row['start_accuracy'])}"
        + ("" if row["published_accuracy"] is None else
           f"; the paper's published datasets {_pct(row['published_accuracy'])}")
        + ". Table: `results/own/IMAGE_TABLE.md`.",
    ]
    if note:
        lines.append(f"- What was tried: {note}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipes", nargs="+", type=Path)
    parser.add_argument("--references-only", action="store_true",
                        help="only measure the references (ES start, the paper's "
                             "datasets) of these recipes' envs")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: rebuild the table and cards from the record")
    args = parser.parse_args()
    import hades_zoo as hz
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.zoo.results import TARGET_SECTION, write_card_section

    exe = str(Path(sys.executable).with_name("hades-zoo"))
    table = _read_json(TABLE_JSON)
    notes = _read_json(OUT / "notes.json")
    for path in args.recipes:
        recipe = load_recipe(path)
        entry = recipe.name
        if args.references_only:
            reference_record(recipe)
            continue
        if not args.render_only:
            runs = {}
            for run_id in run_ids(entry):
                cert = certificate(run_id)
                if cert is None or len(cert["returns"]) != SEEDS:
                    subprocess.run([exe, "certify", run_id, "--seeds", str(SEEDS),
                                    "--update-zoo", "--repo", str(REPO)], check=True)
                    cert = certificate(run_id)
                evo = hz.load(run_id).info.provenance["evolution"]
                if "test" not in cert["splits"]:
                    raise SystemExit(f"{run_id}: its certificate has no test split")
                runs[run_id] = {
                    "test_accuracy": cert["splits"]["test"]["per_seed_accuracy"],
                    "fitness_split_accuracy": cert["accuracy"],
                    "measured_split": cert["measured_split"],
                    "generations": evo["generations"],
                    "wall_seconds": evo["wall_seconds"], "machine": evo["machine"]}
            if not runs:
                print(f"{entry}: no run of it is in the zoo yet (scripts/build_zoo.py "
                      "--add-own runs/own/<id>); skipped")
                continue
            refs = reference_record(recipe)
            table[entry] = summarise(entry, recipe, runs, refs)
            OUT.mkdir(parents=True, exist_ok=True)
            TABLE_JSON.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
            (OUT / "IMAGE_TABLE.md").write_text(render(table))
        row = table.get(entry)
        if row is None:
            continue
        plot_images(entry, recipe, list(row["runs"]), OUT / f"{entry}.png")
        for run_id in row["runs"]:
            if (REPO / "cards" / f"{run_id}.md").exists():
                write_card_section(REPO, run_id, TARGET_SECTION,
                                   target_section(row, run_id, notes.get(entry, "")))
        print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
