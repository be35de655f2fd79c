"""Use datasets: train policies on them and measure them: ``eval``, ``train``, ``certify``,
``transfer``, ``merge``.

Just over 400 lines (about 630): five commands of 60 to 100 lines each, mostly click
options, help text and output formatting; the work is done in ``engine`` and ``zoo``.
``certify`` and ``transfer`` share ``_destination``: where a result goes (the entry
folder given, ``--out``, or with ``--update-zoo`` the packaged zoo of a source
checkout; see ``hades_zoo.zoo.outputs``), checked before anything is measured.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click

from hades_zoo.cli.base import (
    Number,
    OutPath,
    _csv,
    _fail_cleanly,
    _jit_cache,
    _overrides,
    _zoo_entry,
    cli,
)
from hades_zoo.cli.progress import StepProgress
from hades_zoo.data.limits import MAX_EPISODES, MAX_SEEDS

__all__ = ["eval_cmd", "train", "certify", "transfer", "merge"]


@cli.command(name="eval")
@click.argument("source")
@click.option("--episodes", type=click.IntRange(min=1, max=MAX_EPISODES), default=10, show_default=True)
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
@click.option("--seeds", type=click.IntRange(min=1, max=MAX_SEEDS), default=1, show_default=True,
              help="Image datasets: classifiers trained (each pools num_inits inits).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def eval_cmd(source: str, episodes: int, seed: int, greedy: bool | None, batching: str,
             data_dir: str | None, split: str, seeds: int, as_json: bool) -> None:
    """Train a policy on SOURCE with its stored protocol and evaluate it; or evaluate
    a saved policy (a folder with config.json) without retraining.

    SOURCE is a .safetensors path, file:<path>, a zoo id or hf:<org>/<name>[@rev], or
    a policy folder (`hades-zoo train ... --out DIR`).
    For an image dataset (mnist-R-10, ...) the protocol's CNN is trained on the
    synthetic images and scored (loss, accuracy) on real images.

    \b
    Examples:
      hades-zoo eval runs/cartpole/cartpole-R-2.safetensors --episodes 10 --json
      hades-zoo eval pol/ --episodes 10          # a saved policy: no training
      hades-zoo eval mnist-R-10 --data-dir ~/data/mnist --json
    """
    t_start = time.time()
    import hades_zoo.engine.evaluation as api
    from hades_zoo.zoo.loading import load as load_source

    _jit_cache()
    t0 = time.time()
    folder = _policy_folder(source)
    if folder is not None:
        _eval_policy(folder, episodes=episodes, seed=seed, greedy=greedy,
                     batching=batching, as_json=as_json, times=(t_start, t0))
        return
    ds = load_source(source)
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


def _policy_folder(source: str) -> Path | None:
    """SOURCE as a policy folder (a folder with a config.json), else None."""
    path = Path(source[len("file:"):] if source.startswith("file:") else source)
    if (":" not in source or source.startswith("file:")) and os.path.isfile(
            path / "config.json"):  # never raises (a 10k-character name is no folder)
        return path
    return None


def _eval_policy(folder: Path, *, episodes, seed, greedy, batching, as_json,
                 times) -> None:
    """The saved-policy branch of ``eval``: load it (checked), evaluate, no training."""
    import hades_zoo.engine.evaluation as api
    from hades_zoo.hub.policy_repo import load_policy

    t_start, t0 = times
    policy = load_policy(folder)
    t_load = time.time()
    res = api.evaluate(policy, episodes=episodes, seed=seed, greedy=greedy,
                       batching=batching)
    info = policy.info
    out = {
        "policy": str(folder),
        "dataset_id": info.dataset_id,
        "env": policy.recipe.env.name,
        "backend": policy.recipe.env.backend,
        "mean_return": res.mean_return,
        "std_return": res.std_return,
        "episodes": res.episodes,
        "returns": [float(r) for r in res.returns],
        "recorded_mean_return": info.eval_mean,
        "seconds": {"import": round(t0 - t_start, 3), "load": round(t_load - t0, 3),
                    "evaluate": round(time.time() - t_load, 3)},
    }
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"{folder} (policy trained on {info.dataset_id}): mean return "
                   f"{res.mean_return:.2f} ± {res.std_return:.2f} over {res.episodes} "
                   "episodes, no retraining")


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


@cli.command()
@click.argument("source")
@click.option("--width", type=int, default=None, help="Hidden width override.")
@click.option("--depth", type=int, default=None, help="Hidden layers override.")
@click.option("--activation", default=None, help="tanh or relu.")
@click.option("--lr", type=Number(min=0, min_open=True), default=None, help="BC learning rate override.")
@click.option("--steps", type=int, default=None, help="BC steps override.")
@click.option("--seed", type=int, default=0, show_default=True, help="Init / eval seed.")
@click.option("--episodes", type=click.IntRange(min=1, max=MAX_EPISODES), default=10, show_default=True)
@click.option("--out", "out", type=OutPath("folder"), default=None,
              help="Save the policy as a folder: model.safetensors, config.json and "
                   "a README.md model card (load it with hz.load_policy, evaluate it "
                   "with `hades-zoo eval DIR`, share it with `hades-zoo push DIR`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def train(source, width, depth, activation, lr, steps, seed, episodes, out, as_json):
    """Train a policy on SOURCE (protocol + overrides), evaluate it, optionally save it.

    A width/depth/activation change replaces a HaDES-F fixed init by a fresh one.
    --out DIR writes a policy folder (new, empty, or a policy folder to replace; the
    folder changes as one step): model.safetensors (weights), config.json (network,
    normalisation, dataset id and sha256, BC settings and seed, the protocol) and a
    README.md model card with this evaluation.

    \b
    Examples:
      hades-zoo train hopper-R-4 --json
      hades-zoo train breakout-minatar-F-16 --width 256 --lr 1e-3 --out pol/
      hades-zoo push pol/ --repo-id me/breakout-policy     # a Hub model repo
    """
    import dataclasses

    import hades_zoo.engine.evaluation as api
    from hades_zoo.zoo.loading import load as load_source

    if out is not None and out.endswith(".safetensors"):
        raise click.UsageError(
            f"--out {out}: a policy is saved as a folder (model.safetensors, "
            "config.json, README.md); pass a folder, e.g. --out pol/.")
    _jit_cache()
    t0 = time.time()
    ds = load_source(source)
    ov = _overrides(width, depth, activation, lr, steps)
    api.with_overrides(ds.recipe, **ov)  # range-check before anything is compiled
    if out is not None:
        from hades_zoo.hub.policy_repo import check_destination

        check_destination(Path(out))  # before training
    policy, res = api.train_and_evaluate(ds, seed=seed, episodes=episodes, **ov)
    data = {"dataset_id": ds.dataset_id, "overrides": ov, "seed": seed,
            "mean_return": res.mean_return, "std_return": res.std_return,
            "episodes": res.episodes, "returns": [float(r) for r in res.returns],
            "final_bc_loss": float(policy.bc_losses[-1]),
            "recorded_fitness": ds.info.fitness, "seconds": round(time.time() - t0, 2)}
    if out:
        from hades_zoo.hub.policy_repo import save_policy

        origin = None if source.startswith("file:") else source
        policy = policy.replace(info=dataclasses.replace(policy.info,
                                                         dataset_source=origin))
        save_policy(policy, out)
        data["policy"] = out
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"{ds.dataset_id} {ov or ''}: mean return {res.mean_return:.2f} ± "
               f"{res.std_return:.2f} over {res.episodes} episodes "
               f"(recorded fitness {ds.info.fitness})")
    if out:
        import shlex

        shown = os.path.normpath(out)  # --out pol/ or pol//: 'pol', not 'pol//'
        arg = shlex.quote(shown)
        click.echo(f"wrote {shown}{os.sep} (model.safetensors, config.json, README.md); "
                   f"`hades-zoo eval {arg}` evaluates it, `hades-zoo push {arg} "
                   "--repo-id ORG/NAME` shares it")


def _destination(source: str, *, out_dir, no_write: bool, update_zoo: bool, repo):
    """Where ``certify`` / ``transfer`` file SOURCE's result, checked before measuring:
    ``(entry folder or None, checkout root for --update-zoo or None)``.

    An entry folder records into itself; ``--out`` is the user's folder; a zoo id,
    file or hf: source without ``--out`` is printed only. ``--update-zoo`` (the
    maintainer's) needs a zoo id (never a path: a user's run whose id equals a zoo id
    must not reach the zoo's card) and a source checkout.
    """
    from hades_zoo.errors import HadesZooError
    from hades_zoo.zoo.outputs import entry_card
    from hades_zoo.zoo.results import repo_root

    if no_write and (out_dir is not None or update_zoo):
        raise click.UsageError("--no-write writes nothing: drop --out / --update-zoo, "
                               "or drop --no-write.")
    if repo is not None and not update_zoo:
        raise click.UsageError("--repo names the checkout that --update-zoo writes; "
                               "add --update-zoo (maintainers), or keep your result "
                               "with --out DIR.")
    from hades_zoo.zoo.loading import resolve_source

    src = resolve_source(source)
    folder = src.path if src.kind == "folder" else None
    if update_zoo:
        if src.kind != "zoo" or _zoo_entry(source) is None:
            raise HadesZooError(
                f"--update-zoo files results of the packaged zoo, and {source!r} is "
                "not a zoo id (`hades-zoo list`); a run folder records into itself "
                "(drop --update-zoo), a file or hf: source into --out DIR.")
        return None, repo_root(repo)
    if folder is not None and not no_write:
        entry_card(folder)
        _hold_for_this_command(folder)
    return (None if no_write else folder), None


def _hold_for_this_command(folder: Path) -> None:
    """Hold the run folder's lock (``engine.run_folder``) until the command ends, so
    a certificate or transfer result is not written while a distill rewrites the
    card (the distill's next checkpoint would drop it): refused at once, naming the
    distill, before anything is measured."""
    import contextlib
    import sys

    from hades_zoo.engine.run_folder import hold_run_folder

    stack = contextlib.ExitStack()
    stack.enter_context(hold_run_folder(folder, command=" ".join(sys.argv)))
    click.get_current_context().call_on_close(stack.close)


def _zoo_card(root: Path, dataset_id: str) -> Path:
    """``root/cards/<id>.md`` (through the one name gate)."""
    from hades_zoo.data.paths import child_path

    return child_path(root / "cards", dataset_id, suffix=".md", what="dataset id")


def _not_saved(what: str) -> None:
    click.echo("  not saved: a zoo id, file or hf: source is printed only; add --out "
               f"DIR to keep {what} (an entry folder records into its own card).",
               err=True)


@cli.command()
@click.argument("source")
@click.option("--seeds", type=click.IntRange(min=1, max=MAX_SEEDS), default=5, show_default=True,
              help="BC seeds (each pools the recipe's num_inits runs).")
@click.option("--out", "out_dir", type=OutPath("folder"), default=None,
              help="Folder for <id>.certificate.json (created if missing).")
@click.option("--no-write", is_flag=True,
              help="Measure and print only; write nothing (not even an entry folder).")
@click.option("--update-zoo", is_flag=True,
              help="Maintainers, in a source checkout: file the certificate of a zoo "
                   "id in results/certificates.json, results/CERTIFICATES.md and "
                   "cards/<id>.md. Refused for an installed package and for paths.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="With --update-zoo: the source checkout (default: the one hades_zoo "
                   "is imported from).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Image datasets: folder with the real IDX .gz files.")
@click.option("--json", "as_json", is_flag=True, help="Print the certificate as JSON.")
@_fail_cleanly
def certify(source, seeds, out_dir, no_write, update_zoo, repo, data_dir, as_json):
    """Retrain SOURCE on its own protocol with SEEDS BC seeds; record a certificate.

    \b
    Where the certificate goes (nothing is written into the installed package or
    the source checkout unless --update-zoo):
      entry folder (distill --out DIR, pull --out DIR): its README.md card gains the
        "Reproduction certificate" section, the folder a certificate.json;
      --out DIR: DIR/<id>.certificate.json (any SOURCE);
      zoo id, .safetensors file or hf: without --out: printed only.

    \b
    Examples:
      hades-zoo certify runs/cartpole-F-2.hz            # into the run's own card
      hades-zoo certify hopper-R-4 --out certs     # certs/hopper-R-4.certificate.json
      hades-zoo certify breakout-minatar-F-16 --seeds 5 --json
      hades-zoo certify hopper-R-4 --update-zoo         # maintainers: the zoo's card
    """
    from hades_zoo.zoo.certify import certify as run_certify
    from hades_zoo.zoo.loading import load as load_source

    _jit_cache()
    folder, root = _destination(source, out_dir=out_dir, no_write=no_write,
                                update_zoo=update_zoo, repo=repo)
    ds = load_source(source)
    # every path named after the id through the one gate, before measuring
    if root is not None:
        _zoo_card(root, ds.dataset_id)
    if out_dir is not None:
        from hades_zoo.zoo.outputs import out_certificate_path

        out_certificate_path(out_dir, ds.dataset_id)
    if ds.recipe.image is not None:
        rec = _certify_image(ds, seeds=seeds, root=root, folder=folder,
                             data_dir=data_dir)
    else:
        with StepProgress(quiet=as_json):
            cert = run_certify(ds, seeds=seeds)
        rec = cert.to_dict()
        if folder is not None:
            from hades_zoo.zoo.certify import record_certificate_in_folder

            rec = record_certificate_in_folder(cert, ds, folder)
        elif root is not None:
            from hades_zoo.zoo.certify import record_certificate_in_repo

            rec = record_certificate_in_repo(cert, ds, root)
    written = [] if folder is None else [folder / "README.md",
                                         folder / "certificate.json"]
    if root is not None:
        written += [root / "results" / "certificates.json",
                    _zoo_card(root, ds.dataset_id)]
    if out_dir is not None:
        from hades_zoo.zoo.outputs import write_certificate_out

        written.append(write_certificate_out(rec, out_dir))
    if as_json:
        click.echo(json.dumps(rec))
        return
    if rec.get("metric") == "loss":
        _echo_image_certificate(ds, rec, seeds)
    else:
        ratio = "n/a" if rec["ratio"] is None else f"{rec['ratio']:.3f}"
        click.echo(f"{ds.dataset_id}: reproduced {rec['mean']:.2f} ± {rec['std']:.2f} "
                   f"({seeds} seeds) vs recorded {rec['recorded']}; ratio {ratio}; "
                   f">=95%: {rec['reproduced_95']}; {rec['seconds']} s")
    if rec.get("note"):
        click.echo(f"  note: {rec['note']}")
    if written:
        click.echo("  wrote " + ", ".join(map(str, written)))
    elif not no_write:
        _not_saved("the certificate")


def _certify_image(ds, *, seeds, root, folder, data_dir) -> dict:
    """The image branch of ``certify`` (see ``hades_zoo.zoo.image_eval``)."""
    from hades_zoo.zoo.image_eval import certify_image_dataset

    rec = certify_image_dataset(ds, seeds=seeds, data_dir=data_dir)
    if folder is not None:
        from hades_zoo.zoo.outputs import record_certificate_record_in_folder

        rec = record_certificate_record_in_folder(rec, folder)
    elif root is not None:
        from hades_zoo.zoo.certify import record_image_certificate_in_repo

        rec = record_image_certificate_in_repo(rec, root)
    return rec


def _echo_image_certificate(ds, rec, seeds) -> None:
    acc = rec["recorded_train_accuracy"]
    click.echo(f"{ds.dataset_id}: loss {rec['mean']:.4f} ± {rec['std']:.4f} on "
               f"{rec['measured_split']} ({seeds} seeds) vs recorded {rec['recorded']:.4f}; "
               f"ratio recorded/mean {rec['ratio']:.3f}; accuracy {rec['accuracy']:.4f} "
               f"vs recorded train accuracy {acc if acc is None else round(acc, 4)}; "
               f"{rec['seconds']} s")


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
@click.option("--seeds", type=click.IntRange(min=1, max=MAX_SEEDS), default=None,
              help="Replace its BC seeds per config.")
@click.option("--out", "out_dir", type=OutPath("folder"), default=None,
              help="Folder for <id>.json and <id>.png (other grids than common: "
                   "<out>/<grid>/<id>.*), created if missing.")
@click.option("--no-write", is_flag=True,
              help="Measure and print only; write nothing (not even an entry folder).")
@click.option("--update-zoo", is_flag=True,
              help="Maintainers, in a source checkout: file the result of a zoo id in "
                   "results/transfer/, the card's Transfer section and the packaged "
                   "hades_zoo/zoo/entries/transfer.json (what `hades-zoo list` shows). "
                   "Refused for an installed package and for paths.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="With --update-zoo: the source checkout (default: the one hades_zoo "
                   "is imported from).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_fail_cleanly
def transfer(source, grid, widths, lrs, steps, seeds, out_dir, no_write, update_zoo,
             repo, as_json):
    """Train SOURCE over a width x lr x steps grid (paper Fig. 4); score transfer.

    Score = mean over widths of the top-50% configs' mean return / recorded fitness
    (n/a for a recorded fitness <= 0: the raw top-50% mean is reported).

    \b
    Where the result goes (nothing is written into the installed package or the
    source checkout unless --update-zoo):
      entry folder (distill --out DIR, pull --out DIR): its README.md card gains the
        "Transfer" section, the folder transfer.json + transfer.png (other grids:
        transfer-<grid>.json/.png);
      --out DIR: DIR/<id>.json + DIR/<id>.png (other grids: DIR/<grid>/<id>.*);
      zoo id, .safetensors file or hf: without --out: printed only.
    `hades-zoo list` shows the packaged scores, which maintainers measure with
    --update-zoo or `python scripts/transfer_all.py` in a source checkout.

    \b
    Examples:
      hades-zoo transfer runs/cartpole-F-2.hz               # into the run's own card
      hades-zoo transfer hopper-R-4 --out transfer      # transfer/hopper-R-4.{json,png}
      hades-zoo transfer hopper-R-4 --grid full --out transfer
      hades-zoo transfer breakout-minatar-F-16 --widths 64,512 --seeds 2 --json
    """
    from hades_zoo.zoo.loading import load as load_source
    from hades_zoo.zoo.transfer import GRIDS, transfer_grid

    _jit_cache()
    folder, root = _destination(source, out_dir=out_dir, no_write=no_write,
                                update_zoo=update_zoo, repo=repo)
    ds = load_source(source)
    # every path named after the id through the one gate, before measuring
    if out_dir is not None:
        from hades_zoo.zoo.outputs import out_transfer_path

        out_transfer_path(out_dir, ds.dataset_id, grid)
    if root is not None:
        from hades_zoo.zoo.transfer_zoo import result_path

        _zoo_card(root, ds.dataset_id), result_path(root, ds.dataset_id)
    base = GRIDS[grid]

    def progress(w, r):
        if not as_json:
            click.echo(f"  width {w}: config means "
                       + " ".join(f"{x:.1f}" for x in r.mean(-1).ravel()))

    with StepProgress(quiet=as_json):
        res = transfer_grid(ds, widths=widths or base.widths, lrs=lrs or base.lrs,
                            steps=steps or base.steps, seeds=seeds or base.seeds,
                            progress_fn=progress)
    data = res.to_dict()
    written = []
    if folder is not None:
        from hades_zoo.zoo.outputs import record_transfer_in_folder

        written += [record_transfer_in_folder(res, folder), folder / "README.md"]
    if out_dir is not None:
        from hades_zoo.zoo.outputs import write_transfer_out

        path, png = write_transfer_out(res, out_dir)
        written.append(path)
        if png is None:
            click.echo("  (no plot: matplotlib is missing; pip install "
                       "'hades_zoo[plot]')", err=True)
    if root is not None:
        from hades_zoo.zoo.transfer_zoo import write_result

        is_zoo_card = _zoo_card(root, ds.dataset_id).exists()
        written.append(write_result(root, res, card=is_zoo_card))
    if as_json:
        click.echo(json.dumps(data))
        return
    score = ("n/a (recorded fitness <= 0 or unknown)" if res.score is None
             else f"{res.score:.3f}")
    click.echo(f"{ds.dataset_id}: transfer score {score} on grid '{res.grid_name}'; "
               f"top-50% mean {res.top50_mean:.1f}; per width "
               + ", ".join(f"{w}: {v:.1f}" for w, v in zip(res.widths, res.top50))
               + f" ({res.seconds:.0f} s)")
    if written:
        click.echo("  wrote " + ", ".join(map(str, written)))
    elif not no_write:
        _not_saved("<id>.json and its plot")


def _refuse_duplicates(sources, datasets) -> None:
    """One dataset given twice (under one name or two): its "wrong dataset" bar would
    compare it with itself (a reviewer: ``merge cartpole-R-2.hz cartpole-R-2.hz`` ran
    and drew a meaningless bar)."""
    for i, a in enumerate(datasets):
        for j in range(i):
            if a.recipe == datasets[j].recipe and a.same_arrays(datasets[j]):
                raise click.UsageError(
                    f"{sources[j]!r} and {sources[i]!r} are the same dataset; merge "
                    "needs different datasets (one per task).")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out_dir", required=True, type=OutPath("folder"),
              help="Folder for multitask.json and multitask.png.")
@click.option("--seeds", type=click.IntRange(min=1, max=MAX_SEEDS), default=3, show_default=True)
@click.option("--no-baseline", is_flag=True,
              help="Skip the single-task runs (normalise by recorded fitness only).")
@click.option("--reuse-certificates", is_flag=True,
              help="Take a single-task baseline from results/certificates.json when it "
                   "has exactly --seeds returns (certify uses seed 0, as merge does).")
@click.option("--width", type=int, default=None)
@click.option("--depth", type=int, default=None)
@click.option("--activation", default=None)
@click.option("--lr", type=Number(min=0, min_open=True), default=None)
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
    datasets = [load_source(s) for s in sources]
    _refuse_duplicates(sources, datasets)
    ov = _overrides(width, depth, activation, lr, steps)
    multitask_recipe(merge_ds(datasets, layout=layout), **ov)  # errors before compiling
    single = {}
    if reuse_certificates:
        from hades_zoo.errors import HadesZooError
        from hades_zoo.zoo.results import load_table, repo_root

        try:
            root = repo_root()
        except HadesZooError:
            raise HadesZooError(
                "--reuse-certificates reads results/certificates.json of a source "
                "checkout, and hades_zoo is not run from one; drop "
                "--reuse-certificates (the single-task baselines are then measured)."
            ) from None
        single = {i: r["returns"] for i, r in load_table(root).items()
                  if len(r["returns"]) == seeds}
    with StepProgress(quiet=as_json):
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
