"""Inspect datasets without training anything: ``list``, ``info``, ``plot``, ``verify``.
"""

from __future__ import annotations

import json

import click

from hades_zoo.cli.base import (
    _fail_cleanly,
    _load_any,
    _resolve_source,
    _zoo_entry,
    cli,
)

__all__ = ["info", "verify", "list_cmd", "plot"]


@cli.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def info(source: str, as_json: bool) -> None:
    """Show a dataset's protocol, fitness and provenance."""
    import dataclasses

    from hades_zoo.zoo.loading import load as load_source

    ds = load_source(_resolve_source(source))
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


@cli.command()
@click.argument("source", metavar="ID_OR_PATH")
@_fail_cleanly
def verify(source: str) -> None:
    """Check a dataset's sha256 (against its card), format_version and arrays.

    ID_OR_PATH is a .safetensors file, a save_pretrained folder, hf:ORG/NAME[@REV] or a
    zoo id. Exits 1 with the cause on the first failure.
    """
    from hades_zoo.data.format import FORMAT_VERSION

    ds, sha_note = _load_any(source)
    ds.validate()
    click.echo(f"OK {ds.dataset_id}: format_version {FORMAT_VERSION} supported, "
               f"{ds.size} pairs, arrays valid, {sha_note}")


@cli.command(name="list")
@click.argument("pattern", required=False, default="*")
@click.option("--sort", "sort_by", type=click.Choice(["id", "transfer"]), default="id",
              show_default=True,
              help="transfer: entries with a transfer score first, highest first; the "
                   "rest after, by id.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of entries.")
@_fail_cleanly
def list_cmd(pattern: str, sort_by: str, as_json: bool) -> None:
    """List zoo datasets whose id matches PATTERN (shell-style, default '*').

    The transfer column is the transfer-robustness score on the common grid (see
    `hades-zoo transfer --help`); [x] is the raw top-50% mean return of an entry whose
    recorded fitness is <= 0, where a ratio means nothing.

    \b
    Examples:
      hades-zoo list
      hades-zoo list 'hopper-*' --json
      hades-zoo list '*-F-*'
      hades-zoo list '*.hz*'          # the zoo's own entries (origin hades_zoo)
      hades-zoo list --sort transfer  # most transfer-robust first
    """
    from hades_zoo.zoo.registry import entries, list_datasets

    ids = list_datasets(pattern)
    table = entries()
    if sort_by == "transfer":
        scored = sorted((i for i in ids if table[i].transfer_score is not None),
                        key=lambda i: (-table[i].transfer_score, i))
        ids = scored + [i for i in ids if table[i].transfer_score is None]
    if as_json:
        click.echo(json.dumps([table[i].to_dict() for i in ids], indent=1))
        return
    if not ids:
        click.echo(f"no zoo dataset matches {pattern!r}; try `hades-zoo list`.", err=True)
        return
    width = max(len(i) for i in ids)
    click.echo(f"{'id':<{width}}  {'env':<24} var {'D':>4} {'fitness':>12} "
               f"{'transfer':>9}  origin")
    for i in ids:
        e = table[i]
        fit = "" if e.fitness is None else f"{e.fitness:12.4g}"
        flag = "  (!)" if e.notes and ("collapsed" in e.notes or "below" in e.notes) else ""
        fit = fit or " " * 12
        click.echo(f"{i:<{width}}  {e.env:<24} {e.variant:^3} {e.size:>4} {fit} "
                   f"{_transfer_cell(e):>9}  {e.origin}{flag}")
    click.echo(f"{len(ids)} dataset(s); (!) = see `hades-zoo info ID` for caveats; "
               "transfer: score on the common grid, [x] = raw top-50% mean (recorded "
               "fitness <= 0).")


def _transfer_cell(entry) -> str:
    """The list's transfer column: the score, [raw top-50% mean] or blank."""
    if entry.transfer_score is not None:
        return f"{entry.transfer_score:.3f}"
    if entry.transfer_top50_mean is not None:
        return f"[{entry.transfer_top50_mean:.4g}]"
    return ""


@cli.command()
@click.argument("source")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output image; its suffix picks the format (.png, .pdf, .svg, any "
                   "format matplotlib writes).")
@_fail_cleanly
def plot(source: str, out: str) -> None:
    """Draw the state-action pairs of SOURCE (zoo id, .safetensors path, file:, hf:).

    Axes name what they show, read from the env definitions: observation features
    (hopper: torso z (height), rooty (torso) angle, thigh_joint angle, ...), actions
    (thigh_joint torque; MinAtar noop/left/right/fire) and MinAtar channels by object
    (Breakout: paddle, ball, trail, brick).

    \b
    Example:
      hades-zoo plot breakout-minatar-F-16 --out breakout.png
    """
    from hades_zoo.zoo.loading import load as load_source
    from hades_zoo.zoo.plotting import check_plot_path, plot_dataset

    try:
        check_plot_path(out)  # before any work: a bad suffix costs nothing
        ds = load_source(_resolve_source(source))
        path = plot_dataset(ds, out)
    except ImportError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {path}")
