"""Evolve the zoo's own entries beside the direct-ES baseline (issue: distil from scratch).

For each recipe ``recipes/<id>.yaml`` given (own entries, tag ``.hz``):

1. ``hades-zoo distill recipes/<id>.yaml --out runs/own/<id>`` (resumable);
2. the baseline: direct ES on the weights of the same policy network, from the same
   init, with the same evaluation protocol, given the same number of environment steps
   (``--set variant=ES --set num_inits=1 ... --max-env-steps <HaDES total>``) into
   ``runs/own/<id>.es``;
3. ``hades-zoo certify runs/own/<id> --seeds 5`` (certificate in the entry's card);
4. one plot per entry of both learning curves against env steps and wall time
   (``results/own/<id>.png``) and one table (``results/own/TABLE.md``,
   ``results/own/own_entries.json``);
5. for an entry already in the zoo (``cards/<id>.md``), the card's "Target and
   baselines" section: the issue's target for its env, met or the measured gap, the
   ES baseline, a constant-action baseline where one was measured
   (``results/own/constant_<id>.json``, ``scripts/constant_action_baseline.py``) and the
   hand-written notes of what was tried (``results/own/notes.json``).

Usage (run by hand; each step resumes where it stopped)::

    python scripts/own_entries.py recipes/cartpole-F-2.hz.yaml recipes/cartpole-R-2.hz.yaml
    python scripts/own_entries.py --render-only recipes/*.hz*.yaml   # tables and cards only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "own"
OUT = REPO / "results" / "own"
# The ES baseline searches policy weights: a weight-space step size, not the dataset's.
ES_SETTINGS = ("es.sigma_init=0.05", "es.lrate_init=0.03")
# es_centre_returns scores const-normalised envs with their stats (before 2026-11-30 it
# did not: rows without this marker are measured again).
CENTRE_NORM = "const-stats"

# The own entries' targets (issue "Distil from scratch", certificate means), by env
# and variant: (text, threshold or None when the target is a baseline).
TARGETS = {
    ("CartPole-v1", "F"): ("500", 500.0), ("CartPole-v1", "R"): ("500", 500.0),
    ("Acrobot-v1", "F"): (">= -90", -90.0), ("Acrobot-v1", "R"): (">= -90", -90.0),
    ("Pendulum-v1", "F"): (">= -250", -250.0), ("Pendulum-v1", "R"): (">= -250", -250.0),
    ("Breakout-MinAtar", "F"): (">= 17 (60% of the paper entry's 28.0)", 17.0),
    ("Breakout-MinAtar", "R"): (">= 5 (60% of the paper entry's 8.8)", 5.0),
    ("Freeway-MinAtar", "F"): ("above the best constant-action policy, same protocol", None),
    ("Freeway-MinAtar", "R"): ("above the best constant-action policy, same protocol", None),
    ("inverted_double_pendulum", "F"): (">= 9000", 9000.0),
    ("inverted_double_pendulum", "R"): (">= 9000", 9000.0),
    ("hopper", "F"): (">= 1500 within 60 min", 1500.0),
    ("hopper", "R"): (">= 1200", 1200.0),
    # MuJoCo Playground (issue 20), set before the runs: half the 1000 a step-perfect
    # episode earns (swung up and held for about half the episode).
    ("CartpoleSwingup", "F"): (">= 500", 500.0),
    ("PendulumSwingup", "F"): (">= 500", 500.0),
}


def _se_diff(a: list[float], b: list[float], paired: bool) -> tuple[float, float]:
    """Mean difference a - b and its standard error (paired: same episodes)."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired and len(a) == len(b):
        d = a - b
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
    return (float(a.mean() - b.mean()),
            float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))))


def target_section(entry: str, row: dict, env: str, variant: str,
                   constant: dict | None, note: str) -> str:
    """The card's "Target and baselines" section of one own entry (markdown)."""
    h, e = row["hades"], row["es"]
    cert = h["certificate_returns"]
    n = len(cert)
    lines = []
    check = _target_check(row, env, variant, constant)
    if check is not None:
        text, met, gap, diff, se = check
        if gap is not None:
            verdict = "**met**" if met else f"**missed** by {gap:.1f}"
        elif diff is not None:
            verdict = (f"**{'met' if met else 'missed'}**: {diff:+.1f} ± {se:.1f} (s.e., "
                       f"paired over the same {n} seeds' episodes) against the best "
                       f"constant action")
        else:
            verdict = "not measured (no constant-action baseline on record)"
        lines.append(f"- Target: {text}. Certificate {h['certificate_mean']:.1f} ± "
                     f"{h['certificate_std']:.1f} ({n} BC seeds): {verdict}.")
    lines.append(f"- Evolved in {h['wall_seconds'] / 60:.1f} min of wall time on "
                 f"{row.get('machine', 'this machine')}, {h['generations']} generations, "
                 f"{h['env_steps']:,} environment steps.")
    if constant is not None:
        per = ", ".join(f"action {a}: {_mean(r):.1f}" for a, r in
                        sorted(constant["returns"].items()))
        lines.append(f"- Constant-action policies on the certificate's episodes "
                     f"({constant['protocol']['seeds']} seeds): {per} "
                     f"(`scripts/constant_action_baseline.py`).")
    if e is not None:
        centre = e.get("centre_returns") or []
        es_line = (f"- Direct ES on the weights of the same policy, same init and eval "
                   f"protocol, {e['env_steps']:,.0f} environment steps "
                   f"({e['wall_seconds'] / 60:.1f} min): final population mean "
                   f"{e['final_population_mean']:.1f} (HaDES "
                   f"{h['final_population_mean']:.1f})")
        if centre:
            diff, se = _se_diff(cert, centre, paired=False)
            es_line += (f"; its mean policy scores {_mean(centre):.1f} ± {_std(centre):.1f} "
                        f"on {len(centre)} seeds, certificate - ES = {diff:+.1f} "
                        f"(2 s.e. {2 * se:.1f})")
        lines.append(es_line + ". Curves: `results/own/" + entry + ".png`.")
    if note:
        lines.append(f"- What was tried: {note}")
    return "\n".join(lines)


def es_centre_returns(es_folder: Path, seeds: int = 5, seed: int = 0) -> list[float]:
    """The ES baseline's result, its mean policy (``policy.safetensors``), scored like a
    certificate: the recipe's evaluation protocol with ``seeds`` keys split from
    ``key(seed)`` (as ``protocol_returns``), so it compares with the HaDES certificate."""
    import jax
    import numpy as np
    from safetensors.numpy import load_file

    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.engine.tasks.control import ControlTask

    recipe = load_recipe(es_folder / "recipe.yaml")
    task = ControlTask(recipe)
    flat = load_file(str(es_folder / "policy.safetensors"))
    template = task.init_params(jax.random.PRNGKey(0))
    params = jax.tree_util.tree_map_with_path(
        lambda p, x: np.asarray(flat[jax.tree_util.keystr(p)], x.dtype), template)
    mean = var = None
    if recipe.env.obs_norm == "const":  # as `hades-zoo distill` ran it (cli/make.py)
        from hades_zoo.data.normalization import load_stats

        mean, var = load_stats(recipe.env.name)
    fitness = task.make_fitness_fn(mean, var)
    keys = jax.random.split(jax.random.key(seed), seeds)
    returns = jax.jit(jax.vmap(lambda k: fitness(k, params)[0]))(keys)
    return [float(x) for x in np.asarray(returns)]


def _run(args: list[str]) -> None:
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True)


def _rows(folder: Path) -> list[dict]:
    path = folder / "metrics.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _wall(rows: list[dict]) -> list[tuple[float, float, float, float]]:
    """(env_steps_total, wall_seconds, mean_return, max_return) at chunk ends."""
    return [(r["env_steps_total"], r["wall_seconds"], r["mean_return"], r["max_return"])
            for r in rows if r.get("wall_seconds") is not None]


def plot(entry: str, hades: list[dict], es: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for rows, name, color in ((hades, "HaDES (population mean)", "C0"),
                              (es, "direct ES on weights (population mean)", "C3")):
        pts = _wall(rows)
        if not pts:
            continue
        steps, wall, mean, _ = zip(*pts)
        axes[0].plot(steps, mean, color=color, label=name)
        axes[1].plot(wall, mean, color=color, label=name)
    axes[0].set_xlabel("environment steps")
    axes[1].set_xlabel("wall time (s)")
    for ax in axes:
        ax.set_ylabel("episode return")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{entry}: HaDES vs direct ES at equal environment steps", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _std(xs: list[float]) -> float:
    m = _mean(xs)
    return (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5


def render(table: dict) -> str:
    """The markdown table of every own entry beside its ES baseline."""
    lines = [
        "| entry | HaDES certificate (BC seeds: 5 unless n= says) | HaDES final pop. mean "
        "| generations | env steps | wall | ES final pop. mean (max) "
        "| ES mean policy (the certificate's seeds) "
        "| ES generations | ES env steps | ES wall | HaDES >= ES (final population means) "
        "| HaDES >= ES (certificate vs mean policy) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for entry, row in sorted(table.items()):
        h, e = row["hades"], row["es"]
        centre = None if e is None else e.get("centre_returns")
        es = ("-",) * 5 if e is None else (
            f"{e['final_population_mean']:.1f} ({e['final_population_max']:.1f})",
            "-" if not centre else f"{_mean(centre):.1f} ± {_std(centre):.1f}",
            str(e["generations"]), f"{e['env_steps']:,.0f}", f"{e['wall_seconds'] / 60:.1f} min")
        holds = "-" if e is None else (
            "yes" if h["final_population_mean"] >= e["final_population_mean"] else "no")
        holds += " | " + ("-" if not centre else
                          "yes" if h["certificate_mean"] >= _mean(centre) else "no")
        n = len(h.get("certificate_returns") or ()) or 5
        lines.append(
            f"| {entry} | {h['certificate_mean']:.1f} ± {h['certificate_std']:.1f}"
            f"{'' if n == 5 else f' (n={n})'} | "
            f"{h['final_population_mean']:.1f} | {h['generations']} | {h['env_steps']:,} | "
            f"{h['wall_seconds'] / 60:.1f} min | " + " | ".join(es) + f" | {holds} |")
    return "\n".join(lines) + "\n"


def _target_check(row: dict, env: str, variant: str, constant: dict | None):
    """``(text, met, gap, diff, se)`` of one row against its target, or None when its
    env has none: ``gap`` (threshold - certificate) for a threshold target, ``diff`` /
    ``se`` (paired, certificate - best constant action) for a baseline target; ``met``
    is None when the baseline was not measured."""
    target = TARGETS.get((env, variant))
    if target is None:
        return None
    text, threshold = target
    h = row["hades"]
    if threshold is not None:
        gap = threshold - h["certificate_mean"]
        return text, gap <= 0, gap, None, None
    if constant is None:
        return text, None, None, None, None
    diff, se = _se_diff(h["certificate_returns"],
                        constant["returns"][str(constant["best_action"])], paired=True)
    return text, diff > 0, None, diff, se


def target_verdict(row: dict, env: str, variant: str, constant: dict | None) -> tuple[str, str]:
    """(target text, 'yes' / 'no (gap)' / '-') of one table row."""
    check = _target_check(row, env, variant, constant)
    if check is None:
        return "-", "-"
    text, met, gap, diff, se = check
    if gap is not None:
        return text, "yes" if met else f"no ({gap:.1f} short)"
    if diff is None:
        return text, "not measured"
    return text, (f"yes (+{diff:.1f} ± {se:.1f} paired)" if met
                  else f"no ({diff:+.1f} ± {se:.1f} paired)")


def summary_rows(table: dict, recipes: dict[str, Path]) -> str:
    """Markdown rows for results/README.md's own-entries table (entries in ``recipes``)."""
    from hades_zoo.data.recipe_io import load_recipe

    out = []
    for entry in sorted(recipes):
        row = table.get(entry)
        if row is None:
            continue
        recipe = load_recipe(recipes[entry])
        constant_path = OUT / f"constant_{entry}.json"
        constant = json.loads(constant_path.read_text()) if constant_path.exists() else None
        text, met = target_verdict(row, recipe.env.name, recipe.variant, constant)
        h, e = row["hades"], row["es"]
        n = len(h["certificate_returns"])
        cert = f"{h['certificate_mean']:.1f} ± {h['certificate_std']:.1f}" + (
            "" if n == 5 else f" (n={n})")
        if e is None or not e.get("centre_returns"):
            es_cols = "- | - | - | -"
        else:
            c = e["centre_returns"]
            diff, se = _se_diff(h["certificate_returns"], c, paired=False)
            verdict = ("tie" if diff == 0 else "within noise" if abs(diff) <= 2 * se
                       else "HaDES ahead" if diff > 0 else "ES ahead")
            es_cols = (f"{_mean(c):.1f} ± {_std(c):.1f} | {diff:+.1f} ({2 * se:.1f}) | "
                       f"{verdict} | {h['final_population_mean']:.1f} / "
                       f"{e['final_population_mean']:.1f}")
        out.append(f"| {entry} | {text} | {cert} | {met} | "
                   f"{h['wall_seconds'] / 60:.1f} min | {es_cols} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipes", nargs="+", type=Path)
    parser.add_argument("--es-generations", type=int, default=100000,
                        help="ES baseline generation cap (the env-step budget stops it)")
    parser.add_argument("--skip-es", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--runs", type=Path, default=RUNS,
                        help="folder of the run folders <id> and <id>.es (default: "
                             "runs/own in the checkout)")
    parser.add_argument("--summary", action="store_true",
                        help="print the rows of results/README.md's own-entries table "
                             "for these recipes and exit")
    parser.add_argument("--render-only", action="store_true",
                        help="run nothing: rebuild the table, plots and cards from the "
                             "finished runs")
    args = parser.parse_args()
    exe = str(Path(sys.executable).with_name("hades-zoo"))
    table_path = OUT / "own_entries.json"
    table = json.loads(table_path.read_text()) if table_path.exists() else {}
    if args.summary:
        print(summary_rows(table, {r.name.removesuffix(".yaml"): r for r in args.recipes}))
        return
    for recipe in args.recipes:
        entry = recipe.name.removesuffix(".yaml")
        folder, es_folder = args.runs / entry, args.runs / f"{entry}.es"
        t0 = time.time()
        if args.render_only:
            if not (folder / "certificate.json").exists():
                print(f"{entry}: no finished, certified run in {folder}; skipped")
                continue
        else:
            _run([exe, "distill", str(recipe), "--out", str(folder)])
        rows = _rows(folder)
        budget = rows[-1]["env_steps_total"]
        if not args.skip_es and not args.render_only:
            _run([exe, "distill", str(recipe), "--out", str(es_folder),
                  "--set", "variant=ES", "--set", "num_inits=1",
                  "--set", f"es.generations={args.es_generations}",
                  *[x for s in ES_SETTINGS for x in ("--set", s)],
                  "--max-env-steps", str(budget)])
        if not (folder / "certificate.json").exists():
            _run([exe, "certify", str(folder), "--seeds", str(args.seeds)])
        cert = json.loads((folder / "certificate.json").read_text())
        evo = json.loads((folder / "evolution.json").read_text())
        es_rows = _rows(es_folder)
        if es_rows and es_rows[-1]["env_steps_total"] < budget:
            print(f"{entry}: the ES baseline in {es_folder} is at "
                  f"{es_rows[-1]['env_steps_total']:,.0f} of {budget:,.0f} env steps "
                  "(not finished): left out of the table and plot", flush=True)
            es_rows = []
        plot(entry, rows, es_rows, OUT / f"{entry}.png")
        es_last = _wall(es_rows)[-1] if es_rows else None
        centre = (table.get(entry, {}).get("es") or {}).get("centre_returns")
        old_es = table.get(entry, {}).get("es") or {}
        stale = (old_es.get("centre_norm") != CENTRE_NORM  # measured by an older rule
                 or es_last is None or old_es.get("env_steps") != es_last[0])  # another run
        if es_last is not None and (centre is None or stale
                                    or len(centre) != len(cert["returns"])):
            centre = es_centre_returns(es_folder, seeds=len(cert["returns"]))
        table[entry] = {
            "hades": {"certificate_mean": cert["mean"], "certificate_std": cert["std"],
                      "certificate_returns": cert["returns"],
                      "final_population_mean": rows[-1]["mean_return"],
                      "generations": evo["generations"], "env_steps": evo["env_steps"],
                      "wall_seconds": evo["wall_seconds"]},
            "es": None if es_last is None else {
                "final_population_mean": es_last[2], "final_population_max": es_last[3],
                "generations": es_rows[-1]["generation"], "env_steps": es_last[0],
                "wall_seconds": es_last[1], "centre_returns": centre,
                "centre_norm": CENTRE_NORM,
                "centre_mean": float(sum(centre) / len(centre))},
            "machine": evo["machine"],
            "pipeline_seconds": (table.get(entry, {}).get("pipeline_seconds")
                                 if args.render_only else round(time.time() - t0, 1)),
        }
        OUT.mkdir(parents=True, exist_ok=True)
        row = table[entry]  # other runs of this script may have written rows meanwhile
        table = json.loads(table_path.read_text()) if table_path.exists() else {}
        table[entry] = row
        table_path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        (OUT / "TABLE.md").write_text(render(table))
        if (REPO / "cards" / f"{entry}.md").exists():
            write_target_section(entry, table[entry], recipe)
        print(json.dumps({entry: table[entry]}, indent=1), flush=True)


def write_target_section(entry: str, row: dict, recipe_path: Path) -> None:
    """Set the "Target and baselines" section of ``cards/<entry>.md``."""
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.zoo.results import TARGET_SECTION, write_card_section

    recipe = load_recipe(recipe_path)
    constant_path = OUT / f"constant_{entry}.json"
    constant = json.loads(constant_path.read_text()) if constant_path.exists() else None
    notes_path = OUT / "notes.json"
    notes = json.loads(notes_path.read_text()) if notes_path.exists() else {}
    body = target_section(entry, row, recipe.env.name, recipe.variant, constant,
                          notes.get(entry, ""))
    write_card_section(REPO, entry, TARGET_SECTION, body)


if __name__ == "__main__":
    main()
