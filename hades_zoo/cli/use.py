"""Use datasets: train policies on them and measure them: ``eval``, ``train``, ``certify``,
``transfer``, ``merge``.

Just over 400 lines (about 445): five commands of about 60 lines each, mostly click options and
output formatting; the work is done in ``engine`` and ``zoo``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from hades_zoo.cli.base import (
    _csv,
    _fail_cleanly,
    _jit_cache,
    _overrides,
    _resolve_source,
    cli,
)

__all__ = ["eval_cmd", "train", "certify", "transfer", "merge"]


@cli.command(name="eval")
@click.argument("source")
@click.option("--episodes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="BC / eval seed.")
@click.option("--greedy/--sample", default=None,
              help="Act with the mode or sample (default: the dataset's protocol).")
@click.option("--batching", type=click.Choice(["auto", "vmap", "map"]), default="auto",
              show_default=True,
              help="How episodes are stepped together: vmap (fast to run, slow to "
                   "compile), map (half the compile, slower per episode), auto (map on "
                   "CPU for <= 32 episodes).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Image datasets: folder with the real IDX .gz files (default: "
                   "$HADES_ZOO_DATA/<mnist|fashion-mnist>, then the cache's data/).")
@click.option("--split", type=click.Choice(["test", "train", "train5k"]), default="test",
              show_default=True, help="Image datasets: real split to score on.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Image datasets: classifiers trained (each pools num_inits inits).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def eval_cmd(source: str, episodes: int, seed: int, greedy: bool | None, batching: str,
             data_dir: str | None, split: str, seeds: int, as_json: bool) -> None:
    """Train a policy on SOURCE with its stored protocol and evaluate it.

    SOURCE is a .safetensors path, file:<path>, a zoo id or hf:<org>/<name>[@rev].
    For an image dataset (mnist-R-10, ...) the protocol's CNN is trained on the
    synthetic images and scored (loss, accuracy) on real images.

    \b
    Examples:
      hades-zoo eval runs/cartpole/cartpole-R-2.safetensors --episodes 10 --json
      hades-zoo eval mnist-R-10 --data-dir ~/data/mnist --json
    """
    t_start = time.time()
    import hades_zoo.engine.evaluation as api
    from hades_zoo.zoo.loading import load as load_source

    _jit_cache()
    t0 = time.time()
    ds = load_source(_resolve_source(source))
    t_load = time.time()
    if ds.recipe.image is not None:
        _eval_image(ds, split=split, seeds=seeds, seed=seed, data_dir=data_dir,
                    as_json=as_json, times=(t_start, t0, t_load))
        return
    policy, res = api.train_and_evaluate(ds, seed=seed, episodes=episodes, greedy=greedy,
                                         batching=batching)
    t_eval = time.time()
    out = {
        "dataset_id": ds.dataset_id,
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "mean_return": res.mean_return,
        "std_return": res.std_return,
        "episodes": res.episodes,
        "returns": [float(r) for r in res.returns],
        "recorded_fitness": ds.info.fitness,
        "seconds": {"import": round(t0 - t_start, 3), "load": round(t_load - t0, 3),
                    "train_and_evaluate": round(t_eval - t_load, 3)},
    }
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"{ds.dataset_id}: mean return {res.mean_return:.2f} ± "
                   f"{res.std_return:.2f} over {res.episodes} episodes "
                   f"(recorded fitness {ds.info.fitness})")


def _eval_image(ds, *, split, seeds, seed, data_dir, as_json, times) -> None:
    """The image branch of ``eval``: train the CNN, score it on real images."""
    from hades_zoo.zoo.image_eval import evaluate_image_dataset

    t_start, t0, t_load = times
    res = evaluate_image_dataset(ds, split=split, seeds=seeds, seed=seed,
                                 data_dir=data_dir)
    out = {
        "dataset_id": ds.dataset_id,
        "env": ds.recipe.env.name,
        "backend": ds.recipe.env.backend,
        "split": res["split"],
        "examples": res["examples"],
        "seeds": seeds,
        "loss": res["loss"],
        "cross_entropy": res["cross_entropy"],
        "accuracy": res["accuracy"],
        "per_seed": res["per_seed"],
        "recorded_fitness": ds.info.fitness,
        "recorded_fitness_kind": ds.info.fitness_kind,
        "recorded_train_accuracy": ds.info.provenance.get("final_mean_train_accuracy"),
        "data_dir": res["data_dir"],
        "seconds": {"import": round(t0 - t_start, 3), "load": round(t_load - t0, 3),
                    "train_and_evaluate": round(time.time() - t_load, 3)},
    }
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"{ds.dataset_id}: {res['split']} accuracy {res['accuracy']:.4f}, loss "
                   f"{res['loss']:.4f} (cross-entropy {res['cross_entropy']:.3f}) on "
                   f"{res['examples']} real images, {seeds} seed(s) (recorded train loss "
                   f"{ds.info.fitness:.4f})")


def _save_policy(policy, path: Path, sidecar: dict) -> Path:
    """Policy params as safetensors (flattened key paths) + a JSON sidecar."""
    import jax
    import numpy as np
    from safetensors.numpy import save as save_bytes

    from hades_zoo.data.cache import atomic_write_bytes

    flat = {jax.tree_util.keystr(p): np.asarray(v) for p, v in
            jax.tree_util.tree_leaves_with_path(policy.params)}
    meta = {"format": "hades_zoo-policy", "sidecar": path.with_suffix(".json").name}
    atomic_write_bytes(path, save_bytes(flat, metadata=meta))
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(sidecar, indent=1).encode())
    return path


@cli.command()
@click.argument("source")
@click.option("--width", type=int, default=None, help="Hidden width override.")
@click.option("--depth", type=int, default=None, help="Hidden layers override.")
@click.option("--activation", default=None, help="tanh or relu.")
@click.option("--lr", type=float, default=None, help="BC learning rate override.")
@click.option("--steps", type=int, default=None, help="BC steps override.")
@click.option("--seed", type=int, default=0, show_default=True, help="Init / eval seed.")
@click.option("--episodes", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Save the policy: <out>.safetensors params + <out>.json sidecar.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def train(source, width, depth, activation, lr, steps, seed, episodes, out, as_json):
    """Train a policy on SOURCE (protocol + overrides), evaluate it, optionally save it.

    A width/depth/activation change replaces a HaDES-F fixed init by a fresh one.

    \b
    Examples:
      hades-zoo train hopper-R-4 --json
      hades-zoo train breakout-minatar-F-16 --width 256 --lr 1e-3 --out pol.safetensors
    """
    import dataclasses

    import hades_zoo.engine.evaluation as api
    from hades_zoo.zoo.loading import load as load_source

    _jit_cache()
    t0 = time.time()
    ds = load_source(_resolve_source(source))
    ov = _overrides(width, depth, activation, lr, steps)
    api.with_overrides(ds.recipe, **ov)  # range-check before anything is compiled
    policy, res = api.train_and_evaluate(ds, seed=seed, episodes=episodes, **ov)
    data = {"dataset_id": ds.dataset_id, "overrides": ov, "seed": seed,
            "mean_return": res.mean_return, "std_return": res.std_return,
            "episodes": res.episodes, "returns": [float(r) for r in res.returns],
            "final_bc_loss": float(policy.bc_losses[-1]),
            "recorded_fitness": ds.info.fitness, "seconds": round(time.time() - t0, 2)}
    if out:
        data["policy"] = str(_save_policy(policy, Path(out), {
            **data, "policy": dataclasses.asdict(policy.recipe.policy),
            "obs_norm": policy.recipe.env.obs_norm, "env": policy.recipe.env.name}))
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"{ds.dataset_id} {ov or ''}: mean return {res.mean_return:.2f} ± "
               f"{res.std_return:.2f} over {res.episodes} episodes "
               f"(recorded fitness {ds.info.fitness})")
    if out:
        click.echo(f"wrote {data['policy']} (+ .json sidecar)")


@cli.command()
@click.argument("source")
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True,
              help="BC seeds (each pools the recipe's num_inits runs).")
@click.option("--no-write", is_flag=True, help="Measure only; do not touch results/ or cards/.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Source checkout holding cards/ and results/ (default: this one).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Image datasets: folder with the real IDX .gz files.")
@click.option("--json", "as_json", is_flag=True, help="Print the certificate as JSON.")
@_fail_cleanly
def certify(source, seeds, no_write, repo, data_dir, as_json):
    """Retrain SOURCE on its own protocol with SEEDS BC seeds; record a certificate.

    Writes results/certificates.json, results/CERTIFICATES.md and the card's
    "Reproduction certificate" section (zoo ids); for an entry folder
    (`hades-zoo distill --out DIR`) the folder's README.md and certificate.json.

    \b
    Examples:
      hades-zoo certify hopper-R-4
      hades-zoo certify breakout-minatar-F-16 --seeds 5 --no-write --json
    """
    from hades_zoo.zoo.certify import certify as run_certify
    from hades_zoo.zoo.certify import record_certificate_in_repo
    from hades_zoo.zoo.loading import load as load_source
    from hades_zoo.zoo.results import repo_root

    _jit_cache()
    folder = Path(source) if os.path.isdir(source) else None  # never raises
    root = None if no_write or folder else repo_root(repo)  # fail before measuring
    ds = load_source(_resolve_source(source))
    if ds.recipe.image is not None:
        _certify_image(ds, seeds=seeds, root=root, data_dir=data_dir, as_json=as_json)
        return
    cert = run_certify(ds, seeds=seeds)
    rec = cert.to_dict()
    if folder is not None and not no_write:
        from hades_zoo.zoo.certify import record_certificate_in_folder

        rec = record_certificate_in_folder(cert, ds, folder)
    elif not no_write:
        rec = record_certificate_in_repo(cert, ds, root)
    if as_json:
        click.echo(json.dumps(rec))
        return
    ratio = "n/a" if rec["ratio"] is None else f"{rec['ratio']:.3f}"
    click.echo(f"{ds.dataset_id}: reproduced {rec['mean']:.2f} ± {rec['std']:.2f} "
               f"({seeds} seeds) vs recorded {rec['recorded']}; ratio {ratio}; "
               f">=95%: {rec['reproduced_95']}; {rec['seconds']} s")
    if rec.get("note"):
        click.echo(f"  note: {rec['note']}")


def _certify_image(ds, *, seeds, root, data_dir, as_json) -> None:
    """The image branch of ``certify`` (see ``hades_zoo.zoo.image_eval``)."""
    from hades_zoo.zoo.image_eval import certify_image_dataset

    rec = certify_image_dataset(ds, seeds=seeds, data_dir=data_dir)
    if root is not None:
        from hades_zoo.zoo.certify import record_image_certificate_in_repo

        rec = record_image_certificate_in_repo(rec, root)
    if as_json:
        click.echo(json.dumps(rec))
        return
    acc = rec["recorded_train_accuracy"]
    click.echo(f"{ds.dataset_id}: loss {rec['mean']:.4f} ± {rec['std']:.4f} on "
               f"{rec['measured_split']} ({seeds} seeds) vs recorded {rec['recorded']:.4f}; "
               f"ratio recorded/mean {rec['ratio']:.3f}; accuracy {rec['accuracy']:.4f} "
               f"vs recorded train accuracy {acc if acc is None else round(acc, 4)}; "
               f"{rec['seconds']} s")
    if rec.get("note"):
        click.echo(f"  note: {rec['note']}")


@cli.command()
@click.argument("source")
@click.option("--grid", "grid", type=click.Choice(["common", "full"]), default="common",
              show_default=True,
              help="Named grid. common: widths 64,256,1024 x lrs 1e-3,1e-2 x steps "
                   "100,300 x 2 seeds (every zoo entry's score); full: widths "
                   "64..1024 x lrs 1e-4,1e-3,1e-2 x steps 100,300,500 x 3 seeds.")
@click.option("--widths", callback=_csv(int), default=None,
              help="Replace the grid's widths (the grid becomes 'custom').")
@click.option("--lrs", callback=_csv(float), default=None, help="Replace its lrs.")
@click.option("--steps", callback=_csv(int), default=None, help="Replace its steps.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Replace its BC seeds per config.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Also write <id>.json and <id>.png here.")
@click.option("--no-write", is_flag=True,
              help="Do not write results/transfer/, the card or the packaged scores.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Source checkout holding cards/ and results/ (default: this one).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_fail_cleanly
def transfer(source, grid, widths, lrs, steps, seeds, out_dir, no_write, repo, as_json):
    """Train SOURCE over a width x lr x steps grid (paper Fig. 4); score transfer.

    Score = mean over widths of the top-50% configs' mean return / recorded fitness
    (n/a for a recorded fitness <= 0: the raw top-50% mean is reported). Results go
    to results/transfer/<id>.{json,png} for the common grid (what the card and
    `hades-zoo list` show), results/transfer/<grid>/<id>.{json,png} for any other.
    `python scripts/transfer_all.py` scores every seed-0 Brax and MinAtar entry.

    \b
    Examples:
      hades-zoo transfer hopper-R-4                       # the common grid
      hades-zoo transfer hopper-R-4 --grid full
      hades-zoo transfer breakout-minatar-F-16 --widths 64,512 --seeds 2 --no-write
    """
    from hades_zoo.zoo import results
    from hades_zoo.zoo.loading import load as load_source
    from hades_zoo.zoo.transfer import GRIDS, plot_transfer, transfer_grid

    _jit_cache()
    if not no_write:
        results.repo_root(repo)  # fail before measuring
    ds = load_source(_resolve_source(source))
    base = GRIDS[grid]

    def progress(w, r):
        if not as_json:
            click.echo(f"  width {w}: config means "
                       + " ".join(f"{x:.1f}" for x in r.mean(-1).ravel()))

    res = transfer_grid(ds, widths=widths or base.widths, lrs=lrs or base.lrs,
                        steps=steps or base.steps, seeds=seeds or base.seeds,
                        progress_fn=progress)
    data = res.to_dict()
    if out_dir is not None:
        from hades_zoo.data.cache import atomic_write_bytes

        out = Path(out_dir)
        atomic_write_bytes(out / f"{ds.dataset_id}.json", json.dumps(data, indent=1).encode())
        try:
            plot_transfer(res, out / f"{ds.dataset_id}.png")
        except ImportError as err:
            click.echo(f"  (no plot: {err})", err=True)
    if not no_write:
        from hades_zoo.zoo.transfer_zoo import write_result

        is_zoo_card = (results.repo_root(repo) / "cards" / f"{ds.dataset_id}.md").exists()
        path = write_result(results.repo_root(repo), res, card=is_zoo_card)
        if not as_json:
            click.echo(f"  wrote {path}" + (" and the card's Transfer section"
                                            if is_zoo_card else ""))
    if as_json:
        click.echo(json.dumps(data))
        return
    score = ("n/a (recorded fitness <= 0 or unknown)" if res.score is None
             else f"{res.score:.3f}")
    click.echo(f"{ds.dataset_id}: transfer score {score} on grid '{res.grid_name}'; "
               f"top-50% mean {res.top50_mean:.1f}; per width "
               + ", ".join(f"{w}: {v:.1f}" for w, v in zip(res.widths, res.top50))
               + f" ({res.seconds:.0f} s)")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for multitask.json and multitask.png.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--no-baseline", is_flag=True,
              help="Skip the single-task runs (normalise by recorded fitness only).")
@click.option("--reuse-certificates", is_flag=True,
              help="Take a single-task baseline from results/certificates.json when it "
                   "has exactly --seeds returns (certify uses seed 0, as merge does).")
@click.option("--width", type=int, default=None)
@click.option("--depth", type=int, default=None)
@click.option("--activation", default=None)
@click.option("--lr", type=float, default=None)
@click.option("--steps", type=int, default=None)
@click.option("--layout", type=click.Choice(["disjoint", "shared"]), default="disjoint",
              show_default=True,
              help="disjoint: each env's states in their own input columns (paper §5.3); "
                   "shared: every state zero-padded on the right, all from column 0.")
@click.option("--wrong/--no-wrong", default=True, show_default=True,
              help="Also train on each dataset alone and run it in the OTHER envs (the "
                   "paper's wrong-dataset bar).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_fail_cleanly
def merge(sources, out_dir, seeds, no_baseline, reuse_certificates, width, depth,
          activation, lr, steps, layout, wrong, as_json):
    """Train ONE policy on the merged SOURCES and evaluate it in every env with that
    dataset's own protocol, beside the right and wrong datasets (paper Fig. 5).

    Per env i: right = BC on D_i alone (own protocol); wrong = BC on another env's
    D_j alone, its states in their merged input columns; merged. Each is divided by
    the mean right return (mean ± standard error over --seeds). BC/policy config of
    the merged and wrong runs: the first dataset's, unless overridden.

    \b
    Examples:
      hades-zoo merge halfcheetah-R-64 hopper-R-64 --seeds 10 \\
          --out results/multitask/halfcheetah-R-64+hopper-R-64
      hades-zoo merge breakout-minatar-F-16 spaceinvaders-minatar-F-16 --out /tmp/m
    """
    import dataclasses

    from hades_zoo.data.cache import atomic_write_bytes
    from hades_zoo.zoo.loading import load as load_source
    from hades_zoo.zoo.multitask import merge as merge_ds
    from hades_zoo.zoo.multitask_train import (
        multitask_recipe,
        plot_multitask,
        run_multitask,
    )

    if len(sources) < 2:
        raise click.ClickException("merge needs at least two datasets.")
    _jit_cache()
    datasets = [load_source(_resolve_source(s)) for s in sources]
    ov = _overrides(width, depth, activation, lr, steps)
    multitask_recipe(merge_ds(datasets, layout=layout), **ov)  # errors before compiling
    single = {}
    if reuse_certificates:
        from hades_zoo.zoo.results import load_table, repo_root

        single = {i: r["returns"] for i, r in load_table(repo_root()).items()
                  if len(r["returns"]) == seeds}
    res = run_multitask(datasets, seeds=seeds, baseline=not no_baseline,
                        single_returns=single, layout=layout, wrong=wrong, **ov)
    if single:
        res = dataclasses.replace(res, recipe={**res.recipe, "single_task_baseline":
                                               "reused from results/certificates.json "
                                               f"for {sorted(set(single) & set(res.dataset_ids))}"})
    data = res.to_dict()
    out = Path(out_dir)
    atomic_write_bytes(out / "multitask.json", json.dumps(data, indent=1).encode())
    try:
        plot_multitask(res, out / "multitask.png")
    except ImportError as err:
        click.echo(f"  (no plot: {err})", err=True)
    if as_json:
        click.echo(json.dumps(data))
        return
    for row in data["tasks"]:
        bars = [("right", row["right"])] + [
            (f"wrong ({w['trained_on']})", w) for w in (row["wrong"] or [])]
        bars = [(name, b) for name, b in bars if b is not None] + [("merged", row["merged"])]
        click.echo(f"in {row['dataset_id']}: " + "; ".join(
            f"{name} {b['mean']:.1f}" + ("" if b["normalised"] is None
                                         else f" ({b['normalised']:.3f})")
            for name, b in bars) + f"; recorded {row['recorded']}")
    click.echo(f"wrote {out / 'multitask.json'} ({res.seconds:.0f} s)")
