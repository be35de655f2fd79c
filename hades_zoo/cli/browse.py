"""Browse the zoo: ``catalogue``, a static site of every entry to click through."""

from __future__ import annotations

import click

from hades_zoo.cli.base import OutPath, _fail_cleanly, cli

__all__ = ["catalogue"]


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


@cli.command()
@click.option("--out", "out", required=True, type=OutPath("folder"),
              help="The site folder: new, empty, or an earlier catalogue (replaced as "
                   "a whole, in one step).")
@click.option("--only", "only", multiple=True, metavar="GLOB",
              help="Only zoo ids matching this shell-style glob (repeatable), e.g. "
                   "--only 'hopper-*' --only '*.hz'.")
@click.option("--replays", "replays_dir", type=OutPath("folder"), default=None,
              help="A folder caching the replays by entry id + sha256: reused when "
                   "there, and every replay made is stored there for the next build.")
@click.option("--no-replays", is_flag=True,
              help="Render no replays (fast); the pages say there is none.")
@click.option("--replays-of", "replays_of", type=click.Choice(["all", "first-seed"]),
              default="all", show_default=True,
              help="first-seed: replays for seed-0 and own entries only (a brax "
                   "replay takes ~2 min of CPU); the other pages say how to make "
                   "theirs.")
@_fail_cleanly
def catalogue(out: str, only: tuple[str, ...], replays_dir: str | None,
              no_replays: bool, replays_of: str) -> None:
    """Write a static site of the zoo: an index with filters and sorting, and one
    page per entry (replay, dataset plot, learning curve, certificate, transfer
    grid, recipe, provenance, commands). It needs no network: open OUT/index.html.

    \b
    Examples:
      hades-zoo catalogue --out site/ --replays replays-cache/
      hades-zoo catalogue --out site/ --only 'cartpole-*' --no-replays
      hades-zoo catalogue --out site/ --replays cache/ --replays-of first-seed
      python -m http.server -d site 8000   # then http://127.0.0.1:8000/
    """
    if no_replays and replays_dir is not None:
        raise click.UsageError("--no-replays and --replays contradict each other: "
                               "drop one (--replays reuses and stores replays).")
    from hades_zoo.zoo.catalogue import build_catalogue

    def progress(done: int, total: int, dataset_id: str, note: str) -> None:
        click.echo(f"[{done}/{total}] {dataset_id}: {note}", err=True)

    res = build_catalogue(out, only=list(only) or None, replays=not no_replays,
                          replays_dir=replays_dir, replays_of=replays_of,
                          commands=set(cli.commands),
                          progress_fn=progress)
    click.echo(f"wrote {res.out}: index + {len(res.ids)} entry page(s), "
               f"{_size(res.total_bytes)}, in {res.seconds:.0f} s")
    if not no_replays:
        click.echo(f"replays: {res.replays_made} made, {res.replays_reused} reused, "
                   f"{res.replays_missing} missing")
        reasons = sorted({reason for _, reason in res.no_replay})
        if len(reasons) == 1:
            click.echo(f"  no replay: {reasons[0]}", err=True)
        elif reasons:
            for dataset_id, reason in res.no_replay[:5]:
                click.echo(f"  {dataset_id}: no replay: {reason}", err=True)
            if len(res.no_replay) > 5:
                click.echo(f"  ... and {len(res.no_replay) - 5} more (each page says "
                           "why)", err=True)
    if res.checkout is None:
        click.echo("note: no source checkout found, so certificates and transfer grids "
                   "come only from the packaged files.", err=True)
    click.echo(f"open {res.out / 'index.html'} in a browser (works offline)")
