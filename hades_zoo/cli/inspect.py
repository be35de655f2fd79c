"""Inspect datasets without training anything: ``list``, ``info``, ``show``, ``plot``,
``verify``; and the envs that can be distilled: ``envs``.
"""

from __future__ import annotations

import json

import click

from hades_zoo.cli.base import (
    OutPath,
    _fail_cleanly,
    _human,
    _load_any,
    _zoo_entry,
    cli,
)

__all__ = ["info", "show", "verify", "list_cmd", "plot", "envs"]


@cli.command()
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_fail_cleanly
def info(source: str, as_json: bool) -> None:
    """Show a dataset's protocol, fitness and provenance."""
    import dataclasses

    from hades_zoo.zoo.loading import load as load_source

    ds = load_source(source)
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
    if ds.info.env_provider is not None:  # files that record one (distilled since)
        data["env_provider"] = dataclasses.asdict(ds.info.env_provider)
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
    if ds.info.env_provider is not None:
        click.echo(f"  env provider: {ds.info.env_provider.describe()}")
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


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of providers.")
@_fail_cleanly
def envs(as_json: bool) -> None:
    """List the env providers and their envs: built in, registered, and those of
    installed packages (entry-point group hades_zoo.envs).

    A recipe names an env as env: {name: ENV, backend: BACKEND}; brax envs take one
    of brax's physics backends, a provider of your own its name
    (docs/ENVIRONMENTS.md). A package whose entry point fails is listed with the
    error; a provider whose package is not installed (the playground extra) says so
    and how to install it.

    \b
    Examples:
      hades-zoo envs
      hades-zoo envs --json
    """
    from hades_zoo.engine.envs import describe_providers

    rows = describe_providers()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        if row["provider"] is None:
            click.echo(f"(failed) {row['entry_point']}: {row['error']}")
            continue
        version = f" {row['version']}" if row["version"] else ""
        origin = row["origin"]
        if origin.endswith("(built in)"):
            origin = "built in"
        elif row["package"] and origin.startswith(f"package {row['package']!r} ("):
            origin = origin[len(f"package {row['package']!r} ("):-1].replace(
                " in group 'hades_zoo.envs'", "")
        installed = row.get("installed", True)
        missing = ("not installed: " + (row["install"] or f"pip install {row['package']}")
                   if not installed else "")
        where = ", ".join(x for x in (f"package {row['package']}" if row["package"]
                                      else "", origin, missing) if x)
        click.echo(f"{row['provider']}{version} ({where}): backend "
                   f"{' | '.join(row['backends'])}"
                   + (f"; shims {', '.join(row['compat'])}" if row["compat"] else ""))
        listed = ", ".join(row["envs"]) if row["envs"] else (row["error"] or "no envs")
        click.echo(f"  {'once installed: ' if not installed and row['envs'] else ''}"
                   f"{listed}")
    click.echo("A recipe names one as env: {name: ENV, backend: BACKEND}; your own: "
               "docs/ENVIRONMENTS.md.")


def _transfer_cell(entry) -> str:
    """The list's transfer column: the score, [raw top-50% mean] or blank."""
    if entry.transfer_score is not None:
        return f"{entry.transfer_score:.3f}"
    if entry.transfer_top50_mean is not None:
        return f"[{entry.transfer_top50_mean:.4g}]"
    return ""


@cli.command()
@click.argument("source")
@click.option("--out", "out", required=True, type=OutPath("file"),
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
        ds = load_source(source)
        path = plot_dataset(ds, out)
    except ImportError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("source", metavar="ID_OR_PATH")
@_fail_cleanly
def show(source: str) -> None:
    """Summarise a dataset: protocol, sizes, fitness, certificate, transfer, files.

    ID_OR_PATH is a zoo id, a .safetensors file, an entry folder (distill --out,
    pull --out, save_pretrained) or hf:ORG/NAME[@REV] (pulled into the cache). Ends
    with the commands that load, train, certify and share it. Nothing is trained.
    `hades-zoo info ID --json` gives the raw protocol as JSON.

    \b
    Examples:
      hades-zoo show hopper-R-4
      hades-zoo show runs/cartpole-F-2.hz
      hades-zoo show hf:ORG/cartpole-F-2.hz
    """
    from hades_zoo.zoo.summary import describe

    summary = describe(source, commands=set(cli.commands))
    _render_summary(summary)


def _render_summary(s) -> None:
    """The rich tables of ``show``; plain text (120 columns, no colour, no trailing
    blanks) when stdout is not a terminal."""
    import io

    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = click.get_text_stream("stdout")
    tty = bool(getattr(out, "isatty", lambda: False)())
    console = (Console(file=out, highlight=False) if tty else
               Console(file=io.StringIO(), width=120, no_color=True, highlight=False))
    ds = s.dataset

    def table(title: str, rows, headers=("", "")) -> None:
        t = Table(title=title, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_header=any(headers), header_style="bold")
        for i, h in enumerate(headers):
            t.add_column(h, style="cyan" if i == 0 else None, overflow="fold")
        for row in rows:
            t.add_row(*(str(x) for x in row))
        console.print(t)

    kind = {"zoo": "zoo entry", "file": "file", "folder": "entry folder",
            "hf": "Hub dataset"}[s.source.kind]
    console.print(f"[bold]{ds.dataset_id}[/bold]  ({kind}: {s.location})",
                  markup=True)
    if ds.info.notes:
        console.print(f"note: {ds.info.notes}", markup=False)
    console.print()
    table("Protocol", s.protocol())
    table("Sizes", s.sizes())
    table("Fitness", [("recorded fitness", _num(ds.info.fitness)),
                      ("what it measures", ds.info.fitness_kind or "n/a")])
    table("Certificate", _certificate_rows(s))
    table("Transfer", _transfer_rows(s))
    table("Provenance", _provenance_rows(s))
    table("Files", [(f.name, _human(f.size), f.sha256[:12]) for f in s.files],
          headers=("file", "size", "sha256"))
    commands = list(s.commands)
    if "render" not in cli.commands:
        commands.append(("render", "(not in this version of hades-zoo)"))
    table("Commands", commands)
    if not tty:
        text = console.file.getvalue()
        click.echo("\n".join(line.rstrip() for line in text.splitlines()))


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.6g}"


def _certificate_rows(s) -> list[tuple[str, str]]:
    c = s.certificate
    if c is None:
        return [("status", "not certified here"),
                ("measure it", f"hades-zoo certify {s.source.given}"
                 + ("" if s.source.kind == "folder" else " --out results"))]
    rows = [("reproduced", f"{_num(c.get('mean'))} ± {_num(c.get('std'))} over "
             f"{len(c.get('returns', []))} seed(s) vs recorded "
             f"{_num(c.get('recorded'))}")]
    if c.get("ratio") is not None:
        rows.append(("ratio", f"{c['ratio']:.3f}"
                     + ("" if c.get("reproduced_95") is None
                        else f" (>= 95%: {c['reproduced_95']})")))
    for key in ("date", "machine", "note"):
        if c.get(key):
            rows.append((key, str(c[key])))
    rows.append(("from", s.certificate_from))
    return rows


def _transfer_rows(s) -> list[tuple[str, str]]:
    t = s.transfer
    if t is None:
        return [("status", "no transfer score recorded"),
                ("measure it", f"hades-zoo transfer {s.source.given}"
                 + ("" if s.source.kind == "folder" else " --out results"))]
    score = t.get("score")
    rows = [("score", "n/a (recorded fitness <= 0)" if score is None
             else f"{score:.3f}")]
    if t.get("top50_mean") is not None:
        rows.append(("top-50% mean return", f"{t['top50_mean']:.4g}"))
    rows += [("grid", str(t.get("grid"))), ("from", s.transfer_from)]
    return rows


def _provenance_rows(s) -> list[tuple[str, str]]:
    rows = []
    prov = s.dataset.info.provenance
    if s.entry is not None:
        rows.append(("origin", s.entry.origin))
        if s.entry.source and s.entry.source != prov.get("source"):
            rows.append(("zoo source", s.entry.source))
        if s.entry.hub is not None:
            rows.append(("hub", f"{s.entry.hub.repo_id}@{s.entry.hub.revision}"))
    for key, value in prov.items():
        if key in ("certificate", "reproduction_certificate"):
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        rows.append((key, text if len(text) <= 200 else text[:197] + "..."))
    return rows
