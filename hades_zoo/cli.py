"""The ``hades-zoo`` command line (click). The only module that writes to the terminal.

Errors from bad input exit with status 1 and one line naming the cause and the fix.
"""

from __future__ import annotations

import os
import sys

# Use every CPU core as its own XLA device so the ES population is sharded across
# them (must happen before jax is imported). HADES_ZOO_CPU_DEVICES overrides.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    _n = os.environ.get("HADES_ZOO_CPU_DEVICES") or str(min(os.cpu_count() or 1, 8))
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={_n}"
    ).strip()

import functools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from hades_zoo.errors import HadesZooError  # noqa: E402

__all__ = ["main", "cli"]


def _fail_cleanly(fn):
    """Turn HadesZooError into a one-line message and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HadesZooError as err:
            raise click.ClickException(f"{type(err).__name__}: {err}") from None

    return wrapper


def _jit_cache() -> bool:
    """Persistent XLA compilation cache under $HADES_ZOO_CACHE/jax (HADES_ZOO_JIT_CACHE=0
    turns it off); a repeated command then skips most compilation. True if enabled."""
    from hades_zoo.cache import enable_compilation_cache

    return enable_compilation_cache() is not None


def _resolve_source(source: str) -> str:
    """A CLI argument may be a path to an existing file; the API wants 'file:'."""
    if ":" not in source and (source.endswith(".safetensors") or Path(source).exists()):
        return "file:" + source
    return source


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hades_zoo")
def cli() -> None:
    """hades-zoo: tiny synthetic datasets that train RL policies zero-shot (HaDES).

    \b
    Examples:
      hades-zoo distill recipes/cartpole-R-2.yaml --out runs/cartpole
      hades-zoo eval runs/cartpole/cartpole-R-2.safetensors --episodes 10 --json
      hades-zoo train hopper-R-4 --width 256 --out policy.safetensors
      hades-zoo certify hopper-R-4 --seeds 5
      hades-zoo transfer hopper-R-4 --widths 64,512 --steps 100,200 --seeds 2
      hades-zoo merge halfcheetah-R-64 hopper-R-64 --out runs/multitask
    """


@cli.command()
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: <id>.safetensors, metrics.jsonl, checkpoints.")
@click.option("--no-resume", is_flag=True, help="Ignore an existing checkpoint in --out.")
@click.option("--generations", type=click.IntRange(min=1), default=None,
              help="Stop after this many generations in total (resume later).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Image recipes: folder with the real IDX .gz files.")
@click.option("--split", "image_split", default=None,
              type=click.Choice(["train", "test", "train5k"]),
              help="Image recipes: real split the fitness uses (default: the recipe's).")
@_fail_cleanly
def distill(recipe: str, out_dir: str, no_resume: bool, generations: int | None,
            data_dir: str | None, image_split: str | None) -> None:
    """Run a RECIPE (YAML): evolve a synthetic dataset with HaDES.

    \b
    Examples:
      hades-zoo distill recipes/cartpole-R-2.yaml --out runs/cartpole
      hades-zoo distill recipes/fashionmnist-R-10.yaml --out runs/fm --data-dir DIR
    """
    from hades_zoo.distill import distill as run_distill
    from hades_zoo.normalization import load_stats
    from hades_zoo.recipes import load_recipe

    _jit_cache()
    rec = load_recipe(recipe)
    mean = var = None
    if rec.env.obs_norm == "const":
        mean, var = load_stats(rec.env.name)
    start = time.time()

    def progress(gen: int, m: dict) -> None:
        if "mean_loss" in m:
            click.echo(
                f"gen {gen:5d}/{rec.es.generations}  loss mean {m['mean_loss']:.5f}  "
                f"min {m['min_loss']:.5f}  accuracy {m['accuracy']:.4f}  "
                f"[{time.time() - start:6.1f}s]")
            return
        click.echo(
            f"gen {gen:5d}/{rec.es.generations}  return mean {m['mean_return']:9.2f}  "
            f"max {m['max_return']:9.2f}  bc_loss {m['bc_loss']:.4f}  "
            f"[{time.time() - start:6.1f}s]"
        )

    result = run_distill(rec, out_dir=out_dir, progress_fn=progress, resume=not no_resume,
                         obs_mean=mean, obs_var=var, max_generations=generations,
                         data_dir=data_dir, image_split=image_split)
    out = Path(out_dir)
    if result.dataset is not None:
        path = out / f"{rec.name}.safetensors"
        result.dataset.save(path)
        click.echo(f"wrote {path} ({result.generations} generations, "
                   f"{time.time() - start:.1f}s)")
    else:
        import jax
        import numpy as np
        from safetensors.numpy import save_file

        flat = {jax.tree_util.keystr(p): np.asarray(v) for p, v in
                jax.tree_util.tree_leaves_with_path(result.policy_params)}
        save_file(flat, str(out / "policy.safetensors"))
        click.echo(f"wrote {out / 'policy.safetensors'} (ES baseline policy)")


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
    import hades_zoo.api as api

    _jit_cache()
    t0 = time.time()
    ds = api.load(_resolve_source(source))
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
    from hades_zoo.image_eval import evaluate_image_dataset

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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def info(source: str, as_json: bool) -> None:
    """Show a dataset's protocol, fitness and provenance."""
    import dataclasses

    import hades_zoo.api as api

    ds = api.load(_resolve_source(source))
    data = {
        "dataset_id": ds.dataset_id,
        "size": ds.size,
        "obs_dim": ds.obs_dim,
        "kind": "discrete" if ds.discrete else "continuous",
        "recipe": dataclasses.asdict(ds.recipe),
        "fitness": ds.info.fitness,
        "fitness_kind": ds.info.fitness_kind,
        "provenance": ds.info.provenance,
        "notes": ds.info.notes,
    }
    entry = _zoo_entry(source)
    if entry is not None:
        data["zoo"] = entry.to_dict()
    if as_json:
        click.echo(json.dumps(data, indent=1))
        return
    click.echo(repr(ds))
    for key in ("fitness", "fitness_kind", "notes"):
        if data[key]:
            click.echo(f"  {key}: {data[key]}")
    if entry is not None:
        click.echo(f"  zoo file: {entry.file} (sha256 {entry.sha256})")
        click.echo(f"  source: {entry.source}")
        click.echo(f"  card: {entry.card}  recipe: {entry.recipe}")
    click.echo(f"  protocol: {json.dumps(data['recipe'])}")

# =============================================================================
# Hub: push / pull / verify (hades_zoo.hub)
# =============================================================================
def _load_any(source: str):
    """(dataset, how its sha256 was checked) for a folder, file, hf:... or zoo id.

    A ``.safetensors`` file next to a README.md card that names it is checked against
    the card's sha256.
    """
    import hades_zoo.api as api
    from hades_zoo.hub import from_pretrained

    path = Path(source)
    if ":" not in source and path.is_dir():
        return from_pretrained(path), "sha256 matches the card"
    if ":" not in source and path.is_file() and (path.parent / "README.md").is_file():
        from hades_zoo.cards import card_block
        from hades_zoo.errors import DatasetFormatError

        try:
            named = card_block((path.parent / "README.md").read_text()).get("file")
        except DatasetFormatError:
            named = None
        if named == path.name:
            return (from_pretrained(path.parent, filename=path.name),
                    "sha256 matches the card")
    if source.startswith("hf:"):
        return api.load(source), "sha256 matches the card"
    return api.load(_resolve_source(source)), "no card to check the sha256 against"


def _human(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


@cli.command()
@click.argument("source", metavar="PATH_OR_ID")
@click.option("--repo-id", required=True, help="Target dataset repo, ORG/NAME.")
@click.option("--tag", default=None, help="Tag the new commit (e.g. v1).")
@click.option("--revision", default=None, help="Target branch (created if missing).")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--dry-run", is_flag=True, help="List what would be uploaded; upload nothing.")
@click.option("--overwrite-card", is_flag=True, help="Replace an existing README.md card.")
@_fail_cleanly
def push(source: str, repo_id: str, tag: str | None, revision: str | None, private: bool,
         dry_run: bool, overwrite_card: bool) -> None:
    """Upload a dataset (file, folder or id) to a Hub dataset repo in one commit.

    Uses HF_TOKEN (or `huggingface-cli login`) and HF_ENDPOINT.

    \b
    Example:
      hades-zoo push runs/cartpole/cartpole-R-2.safetensors --repo-id me/cartpole --tag v1
    """
    from hades_zoo.hub import push_to_hub

    ds, _ = _load_any(source)
    res = push_to_hub(ds, repo_id, revision=revision, tag=tag, private=private,
                      dry_run=dry_run, overwrite_card=overwrite_card)
    verb = "would upload" if res.dry_run else "uploaded"
    for f in res.files:
        click.echo(f"{verb} {f.path}  {_human(f.size)}  sha256 {f.sha256}")
    if res.card_kept:
        click.echo("kept the existing README.md (pass --overwrite-card to replace it)")
    if res.dry_run:
        click.echo(f"dry run: nothing uploaded to {repo_id}")
    else:
        click.echo(f"commit {res.commit} {res.commit_url}" + (f" tag {tag}" if tag else ""))


@cli.command()
@click.argument("source", metavar="hf:ORG/NAME[@REV]")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the files (default: the hades_zoo cache).")
@_fail_cleanly
def pull(source: str, out_dir: str | None) -> None:
    """Download a Hub dataset repo, check its sha256 and copy its files.

    \b
    Example:
      hades-zoo pull hf:me/cartpole@v1 --out data/cartpole
    """
    from hades_zoo.errors import HubSourceError
    from hades_zoo.hub import pull_from_hub

    if not source.startswith("hf:"):
        raise HubSourceError(f"{source!r}: pull takes hf:ORG/NAME[@REV], e.g. hf:me/cartpole@v1.")
    res = pull_from_hub(source, out=out_dir)
    click.echo(f"{res.source} -> {res.directory}")
    click.echo(f"  {res.dataset_file.name}  sha256 {res.sha256} (verified)")


@cli.command()
@click.argument("source", metavar="ID_OR_PATH")
@_fail_cleanly
def verify(source: str) -> None:
    """Check a dataset's sha256 (against its card), format_version and arrays.

    ID_OR_PATH is a .safetensors file, a save_pretrained folder, hf:ORG/NAME[@REV] or a
    zoo id. Exits 1 with the cause on the first failure.
    """
    from hades_zoo.io import FORMAT_VERSION

    ds, sha_note = _load_any(source)
    ds.validate()
    click.echo(f"OK {ds.dataset_id}: format_version {FORMAT_VERSION} supported, "
               f"{ds.size} pairs, arrays valid, {sha_note}")


# ============================================================================ zoo
# Zoo commands: list, import-reference, plot (and the zoo lines of `info`).


def _zoo_entry(source: str):
    """The registry entry when SOURCE is a zoo id, else None."""
    from hades_zoo.ids import is_dataset_id
    from hades_zoo.registry import entries

    return entries().get(source) if is_dataset_id(source) else None


@cli.command(name="list")
@click.argument("pattern", required=False, default="*")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of entries.")
@_fail_cleanly
def list_cmd(pattern: str, as_json: bool) -> None:
    """List zoo datasets whose id matches PATTERN (shell-style, default '*').

    \b
    Examples:
      hades-zoo list
      hades-zoo list 'hopper-*' --json
      hades-zoo list '*-F-*'
    """
    from hades_zoo.registry import entries, list_datasets

    ids = list_datasets(pattern)
    table = entries()
    if as_json:
        click.echo(json.dumps([table[i].to_dict() for i in ids], indent=1))
        return
    if not ids:
        click.echo(f"no zoo dataset matches {pattern!r}; try `hades-zoo list`.", err=True)
        return
    width = max(len(i) for i in ids)
    click.echo(f"{'id':<{width}}  {'env':<24} var {'D':>4} {'fitness':>12}")
    for i in ids:
        e = table[i]
        fit = "" if e.fitness is None else f"{e.fitness:12.4g}"
        flag = "  (!)" if e.notes and ("collapsed" in e.notes or "below" in e.notes) else ""
        click.echo(f"{i:<{width}}  {e.env:<24} {e.variant:^3} {e.size:>4} {fit}{flag}")
    click.echo(f"{len(ids)} dataset(s); (!) = see `hades-zoo info ID` for caveats.")


@cli.command(name="import-reference")
@click.argument("npz_file", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output .safetensors file.")
@click.option("--id", "dataset_id", default=None,
              help="Dataset id (default: derived from the file's own config).")
@_fail_cleanly
def import_reference_cmd(npz_file: str, out: str, dataset_id: str | None) -> None:
    """Convert a reference HaDES .npz export (FLAIROx/behaviour-distillation) into a
    hades_zoo .safetensors dataset with its complete protocol.

    \b
    Example:
      hades-zoo import-reference brax__distill__hopper__D4__seed0.npz --out hopper.safetensors
    """
    from hades_zoo.importer import import_reference
    from hades_zoo.io import save_dataset

    ds = import_reference(npz_file, dataset_id=dataset_id)
    path = save_dataset(ds, out)
    click.echo(f"wrote {path}: {ds!r}, recorded fitness {ds.info.fitness:.4g} "
               f"({ds.info.fitness_kind})")
    if ds.info.notes:
        click.echo(f"  notes: {ds.info.notes}")


@cli.command()
@click.argument("source")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output image (.png, .pdf, .svg).")
@_fail_cleanly
def plot(source: str, out: str) -> None:
    """Draw the state-action pairs of SOURCE (zoo id, .safetensors path, file:, hf:).

    \b
    Example:
      hades-zoo plot breakout-minatar-F-16 --out breakout.png
    """
    import hades_zoo.api as api
    from hades_zoo.plotting import plot_dataset

    ds = api.load(_resolve_source(source))
    try:
        path = plot_dataset(ds, out)
    except ImportError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {path}")

# ================================================================ issue 3: reproduce
# train (with overrides), certify, transfer, merge: commands that retrain policies on
# zoo datasets and record what they measure (results/, cards/).


def _overrides(width, depth, activation, lr, steps) -> dict:
    return {k: v for k, v in (("width", width), ("depth", depth),
                              ("activation", activation), ("lr", lr), ("steps", steps))
            if v is not None}


def _csv(kind):
    """click callback: a comma-separated list of ``kind``."""

    def parse(ctx, param, value):
        if value is None:
            return None
        try:
            items = [kind(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"expected comma-separated {kind.__name__}s, got "
                                     f"{value!r}") from None
        if not items:
            raise click.BadParameter("empty list")
        return items

    return parse


def _save_policy(policy, path: Path, sidecar: dict) -> Path:
    """Policy params as safetensors (flattened key paths) + a JSON sidecar."""
    import jax
    import numpy as np
    from safetensors.numpy import save as save_bytes

    from hades_zoo.cache import atomic_write_bytes

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

    import hades_zoo.api as api

    _jit_cache()
    t0 = time.time()
    ds = api.load(_resolve_source(source))
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
    "Reproduction certificate" section (zoo ids only).

    \b
    Examples:
      hades-zoo certify hopper-R-4
      hades-zoo certify breakout-minatar-F-16 --seeds 5 --no-write --json
    """
    import hades_zoo.api as api
    from hades_zoo.certify import certify as run_certify
    from hades_zoo.certify import record_certificate_in_repo

    from hades_zoo.results import repo_root

    _jit_cache()
    root = None if no_write else repo_root(repo)  # fail before measuring
    ds = api.load(_resolve_source(source))
    if ds.recipe.image is not None:
        _certify_image(ds, seeds=seeds, root=root, data_dir=data_dir, as_json=as_json)
        return
    cert = run_certify(ds, seeds=seeds)
    rec = cert.to_dict()
    if not no_write:
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
    """The image branch of ``certify`` (see ``hades_zoo.image_eval``)."""
    from hades_zoo.image_eval import certify_image_dataset

    rec = certify_image_dataset(ds, seeds=seeds, data_dir=data_dir)
    if root is not None:
        from hades_zoo.certify import record_image_certificate_in_repo

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
@click.option("--widths", callback=_csv(int), default="64,128,256,512,1024",
              show_default=True)
@click.option("--lrs", callback=_csv(float), default="1e-4,1e-3,1e-2", show_default=True)
@click.option("--steps", callback=_csv(int), default="100,300,500", show_default=True)
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for <id>.json and <id>.png (default: results/transfer).")
@click.option("--no-write", is_flag=True, help="Do not write the card's Transfer section.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Source checkout holding cards/ and results/ (default: this one).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_fail_cleanly
def transfer(source, widths, lrs, steps, seeds, out_dir, no_write, repo, as_json):
    """Train SOURCE over a width x lr x steps grid (paper Fig. 4); score transfer.

    Score = mean over widths of the top-50% configs' mean return / recorded fitness.

    \b
    Examples:
      hades-zoo transfer hopper-R-4 --widths 64,512 --lrs 1e-3,5e-3 --steps 100,200
      hades-zoo transfer breakout-minatar-F-16 --seeds 2 --out /tmp/tr --no-write
    """
    import hades_zoo.api as api
    from hades_zoo import results
    from hades_zoo.transfer import plot_transfer, render_transfer_section, transfer_grid

    _jit_cache()
    if not no_write:
        results.repo_root(repo)  # fail before measuring
    ds = api.load(_resolve_source(source))

    def progress(w, r):
        if not as_json:
            click.echo(f"  width {w}: config means "
                       + " ".join(f"{x:.1f}" for x in r.mean(-1).ravel()))

    res = transfer_grid(ds, widths=widths, lrs=lrs, steps=steps, seeds=seeds,
                        progress_fn=progress)
    data = res.to_dict()
    if out_dir is None and not no_write:
        out_dir = results.repo_root(repo) / "results" / "transfer"
    plot_name = None
    if out_dir is not None:
        out = Path(out_dir)
        from hades_zoo.cache import atomic_write_bytes

        atomic_write_bytes(out / f"{ds.dataset_id}.json", json.dumps(data, indent=1).encode())
        try:
            plot_name = plot_transfer(res, out / f"{ds.dataset_id}.png")
        except ImportError as err:
            click.echo(f"  (no plot: {err})", err=True)
    if not no_write:
        root = results.repo_root(repo)
        if plot_name:
            try:
                plot_name = str(Path(plot_name).resolve().relative_to(root.resolve()))
            except ValueError:
                pass
        results.write_card_section(root, ds.dataset_id, results.TRANSFER_SECTION,
                                   render_transfer_section(res, plot_name))
    if as_json:
        click.echo(json.dumps(data))
        return
    score = "n/a" if res.score is None else f"{res.score:.3f}"
    click.echo(f"{ds.dataset_id}: transfer score {score}; top-50% per width "
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
@click.option("--layout", type=click.Choice(["shared", "disjoint"]), default="shared",
              show_default=True,
              help="shared: every state zero-padded on the right (paper §5.3); disjoint: "
                   "each env's state in its own input columns.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_fail_cleanly
def merge(sources, out_dir, seeds, no_baseline, reuse_certificates, width, depth,
          activation, lr, steps, layout, as_json):
    """Train ONE policy on the merged SOURCES (zero-padded) and evaluate it in every
    env with that dataset's own protocol (paper Fig. 5).

    BC/policy config: the first dataset's, unless overridden. Normalised score =
    multi-task return / the dataset's own single-task return (same seeds, same eval).

    \b
    Examples:
      hades-zoo merge halfcheetah-R-64 hopper-R-64 --out results/multitask/hc+hopper
      hades-zoo merge breakout-minatar-F-16 spaceinvaders-minatar-F-16 --out /tmp/m
    """
    import dataclasses

    import hades_zoo.api as api
    from hades_zoo.cache import atomic_write_bytes
    from hades_zoo.multitask import multitask_recipe, plot_multitask, run_multitask
    from hades_zoo.multitask import merge as merge_ds

    if len(sources) < 2:
        raise click.ClickException("merge needs at least two datasets.")
    _jit_cache()
    datasets = [api.load(_resolve_source(s)) for s in sources]
    ov = _overrides(width, depth, activation, lr, steps)
    multitask_recipe(merge_ds(datasets, layout=layout), **ov)  # errors before compiling
    single = {}
    if reuse_certificates:
        from hades_zoo.results import load_table, repo_root

        single = {i: r["returns"] for i, r in load_table(repo_root()).items()
                  if len(r["returns"]) == seeds}
    res = run_multitask(datasets, seeds=seeds, baseline=not no_baseline,
                        single_returns=single, layout=layout, **ov)
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
        single = "" if row["single_mean"] is None else \
            f"; single-task {row['single_mean']:.1f} ± {row['single_std']:.1f}"
        norm = "n/a" if row["normalised"] is None else f"{row['normalised']:.3f}"
        click.echo(f"{row['dataset_id']}: multi-task {row['multitask_mean']:.1f} ± "
                   f"{row['multitask_std']:.1f}{single}; normalised {norm}; "
                   f"recorded {row['recorded']}")
    click.echo(f"wrote {out / 'multitask.json'} ({res.seconds:.0f} s)")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="hades-zoo")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
