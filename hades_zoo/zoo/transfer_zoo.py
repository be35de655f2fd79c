"""Transfer over the zoo: every seed-0 Brax and MinAtar entry scored on one grid.

``transfer.transfer_grid`` measures one dataset. This module, the maintainer's (it
writes the source checkout: ``hades-zoo transfer ID --update-zoo``,
``scripts/transfer_all.py``; a user's result goes to ``zoo.outputs``), files the results
of many zoo entries, on one named grid (``transfer.GRIDS``; ``common`` by default) so that their
scores compare:

- ``results/transfer/<id>.{json,png}``: the ``common`` grid (what cards and
  ``hades-zoo list`` show); ``results/transfer/<grid>/<id>.{json,png}`` any other
  (``full`` holds hopper-R-4's paper-sized grid).
- ``cards/<id>.md``, section "Transfer": the ``common`` result, plus a line per other
  grid measured.
- ``results/transfer/envs/<env>.png``: per env, HaDES-F and HaDES-R side by side, the
  top-50% mean return against policy width for each entry, with its recorded fitness
  as a dashed line (paper Figs. 7-14).
- ``results/README.md``: the table between ``<!-- transfer-table:start/end -->``.
- ``hades_zoo/zoo/entries/transfer.json``: the scores, packaged with the zoo, so an
  installed ``hades-zoo list`` (which has no ``results/``) shows them
  (``registry.TRANSFER_FILE``).

A result counts as done (``is_done``) when its JSON exists with the same grid axes and
seed count: a stopped run resumes where it stopped. Every file except the JSON is
derived from the JSONs (``render_all``), so results measured on another machine are
filed by copying their JSONs into ``results/transfer/`` and re-rendering.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.ids import parse_dataset_id
from hades_zoo.data.paths import child_path
from hades_zoo.zoo import results
from hades_zoo.zoo.plot_style import styled
from hades_zoo.zoo.registry import TRANSFER_FILE, ZooEntry, entries
from hades_zoo.zoo.transfer import (
    COMMON_GRID,
    GRIDS,
    TransferGrid,
    TransferResult,
    plot_transfer,
    render_transfer_section,
    transfer_grid,
)

__all__ = [
    "BRAX_ENVS",
    "MINATAR_ENVS",
    "default_ids",
    "report_ids",
    "result_path",
    "load_result",
    "is_done",
    "run_entry",
    "write_result",
    "render_all",
    "packaged_scores",
    "render_table",
    "plot_env",
    "seconds_estimate",
]

BRAX_ENVS = ("ant", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
             "inverted_double_pendulum", "reacher", "walker2d")
MINATAR_ENVS = ("Asterix-MinAtar", "Breakout-MinAtar", "SpaceInvaders-MinAtar")
TABLE_SECTION = "transfer-table"
RESULTS_DIR = Path("results") / "transfer"


def default_ids(zoo: Mapping[str, ZooEntry] | None = None) -> list[str]:
    """Seed-0 ids (no ``.s<N>`` tag) of the 8 Brax envs and the 3 MinAtar games, in
    env order (MinAtar first: quick), then by id, so that entries of one protocol run
    one after the other and share compiled programs."""
    zoo = entries() if zoo is None else zoo
    order = {env: i for i, env in enumerate(MINATAR_ENVS + BRAX_ENVS)}
    ids = [i for i, e in zoo.items() if e.env in order and parse_dataset_id(i).seed == 0]
    return sorted(ids, key=lambda i: (order[zoo[i].env], i))


def report_ids(root: Path, zoo: Mapping[str, ZooEntry] | None = None) -> list[str]:
    """``default_ids`` plus any other zoo id with a stored result (the table's rows)."""
    zoo = entries() if zoo is None else zoo
    ids = default_ids(zoo)
    return ids + sorted(i for i in _all_results(root) if i in zoo and i not in ids)


def result_path(root: Path, dataset_id: str, grid: str = COMMON_GRID) -> Path:
    """Where ``dataset_id``'s result on ``grid`` lives (``.json``; the plot: ``.png``)."""
    folder = root / RESULTS_DIR if grid == COMMON_GRID else child_path(
        root / RESULTS_DIR, grid, what="grid name")
    return child_path(folder, dataset_id, suffix=".json", what="dataset id")


def load_result(root: Path, dataset_id: str, grid: str = COMMON_GRID
                ) -> TransferResult | None:
    """The stored result, or None if there is none."""
    path = result_path(root, dataset_id, grid)
    if not path.is_file():
        return None
    return TransferResult.from_dict(json.loads(path.read_text()))


def is_done(root: Path, dataset_id: str, grid: TransferGrid) -> bool:
    """Whether ``dataset_id`` has a stored result on exactly this grid."""
    res = load_result(root, dataset_id, grid.name)
    return res is not None and grid.matches(res.widths, res.lrs, res.steps,
                                            res.returns.shape[-1])


def run_entry(root: Path, ds, grid: TransferGrid, *, progress_fn=None
              ) -> TransferResult:
    """Measure ``ds`` on ``grid`` and file it (``write_result``)."""
    res = transfer_grid(ds, widths=grid.widths, lrs=grid.lrs, steps=grid.steps,
                        seeds=grid.seeds, progress_fn=progress_fn)
    res = dataclasses.replace(res, grid=grid.name)
    write_result(root, res)
    return res


def write_result(root: Path, res: TransferResult, *, card: bool = True) -> Path:
    """Write ``res``'s JSON and plot; then its card section (if ``card``) and the
    packaged scores. Returns the JSON path."""
    path = result_path(root, res.dataset_id, res.grid_name)
    atomic_write_bytes(path, json.dumps(res.to_dict(), indent=1).encode())
    try:
        plot_transfer(res, path.with_suffix(".png"))
    except ImportError:  # the JSON is the result; the plot is redrawn by render_all
        pass
    if card and results.card_path(root, res.dataset_id).exists():
        write_card(root, res.dataset_id)
    write_packaged_scores(root)
    return path


def _all_results(root: Path) -> dict[str, dict[str, TransferResult]]:
    """``{dataset_id: {grid name: result}}`` for every stored JSON."""
    out: dict[str, dict[str, TransferResult]] = {}
    base = root / RESULTS_DIR
    for path in sorted(base.glob("*.json")) + sorted(base.glob("*/*.json")):
        res = TransferResult.from_dict(json.loads(path.read_text()))
        grid = COMMON_GRID if path.parent == base else path.parent.name
        out.setdefault(res.dataset_id, {})[grid] = res
    return out


def write_card(root: Path, dataset_id: str) -> Path | None:
    """Set the card's Transfer section from the stored results (``common`` first)."""
    found = _all_results(root).get(dataset_id, {})
    if not found:
        return None
    shown = found.get(COMMON_GRID) or next(iter(found.values()))
    others = [(found[g], _rel(result_path(root, dataset_id, g), root))
              for g in sorted(found) if found[g] is not shown]
    body = render_transfer_section(
        shown, _rel(result_path(root, dataset_id, shown.grid_name).with_suffix(".png"),
                    root), others=others)
    return results.write_card_section(root, dataset_id, results.TRANSFER_SECTION, body)


def _current(res: TransferResult, grid: str) -> bool:
    """False for a result filed under a named grid whose axes have changed since."""
    return grid not in GRIDS or GRIDS[grid].matches(res.widths, res.lrs, res.steps,
                                                    res.returns.shape[-1])


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def packaged_scores(root: Path) -> dict[str, Any]:
    """The packaged ``transfer.json``: per zoo id and grid, score, raw top-50% mean,
    recorded fitness (what the registry shows; ``shown_grid`` names the grid)."""
    scores, zoo = {}, entries()
    for dataset_id, by_grid in sorted(_all_results(root).items()):
        if dataset_id not in zoo:  # a file measured with `hades-zoo transfer PATH`
            continue
        scores[dataset_id] = {
            g: {"score": r.score, "top50_mean": r.top50_mean, "recorded": r.recorded,
                "note": r.score_note}
            for g, r in sorted(by_grid.items()) if _current(r, g)}
    return {"transfer_version": 1, "shown_grid": COMMON_GRID,
            "grids": {name: g.to_dict() for name, g in GRIDS.items()},
            "definition": "score = mean over widths of the top-50% (lr, steps) configs' "
                          "mean return / recorded fitness (null when the recorded "
                          "fitness is <= 0: top50_mean is the raw return)",
            "scores": scores}


def write_packaged_scores(root: Path) -> Path:
    """Write ``hades_zoo/zoo/entries/transfer.json`` under ``root`` (atomic)."""
    path = root / "hades_zoo" / "zoo" / "entries" / TRANSFER_FILE
    atomic_write_bytes(path, (json.dumps(packaged_scores(root), indent=1) + "\n").encode())
    from hades_zoo.zoo import registry

    registry.refresh_transfer_scores()
    return path


def render_all(root: Path, ids: Iterable[str] | None = None) -> list[Path]:
    """Re-derive everything from the stored JSONs: plots, cards, per-env figures, the
    README table and the packaged scores. Returns the files written."""
    zoo = entries()
    ids = report_ids(root, zoo) if ids is None else list(ids)
    found = _all_results(root)
    written = []
    for dataset_id, by_grid in found.items():
        for grid, res in by_grid.items():
            try:
                written.append(Path(plot_transfer(
                    res, result_path(root, dataset_id, grid).with_suffix(".png"))))
            except ImportError:
                break
        if results.card_path(root, dataset_id).exists():
            written.append(write_card(root, dataset_id))
    written += write_env_figures(root, ids, zoo)
    written.append(write_table(root, ids, zoo))
    written.append(write_packaged_scores(root))
    return written


def write_env_figures(root: Path, ids: Iterable[str],
                      zoo: Mapping[str, ZooEntry]) -> list[Path]:
    """``results/transfer/envs/<env>.png`` for every env with a ``common`` result."""
    found = _all_results(root)
    by_env: dict[str, list[TransferResult]] = {}
    for i in ids:
        if COMMON_GRID in found.get(i, {}):
            by_env.setdefault(zoo[i].env, []).append(found[i][COMMON_GRID])
    out = []
    for env, res in by_env.items():
        path = child_path(root / RESULTS_DIR / "envs", env.lower(), suffix=".png",
                          what="env name")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            out.append(Path(plot_env(env, res, path)))
        except ImportError:
            break
    return out


@styled
def plot_env(env: str, res: list[TransferResult], path) -> str:
    """HaDES-F and HaDES-R side by side: top-50% mean return vs width per entry (band:
    ± std of the top-half configs' per-seed returns), recorded fitness dashed.

    Raises:
        ImportError: matplotlib is missing (``pip install 'hades_zoo[plot]'``).
    """
    from hades_zoo.zoo.plot_style import save_figure
    from hades_zoo.zoo.plotting import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True, sharey=True)
    for ax, variant in zip(axes, ("F", "R")):
        mine = [r for r in res if parse_dataset_id(r.dataset_id).variant == variant]
        for n, r in enumerate(mine):
            colour = f"C{n}"
            std = [r.top_half(i).std() for i in range(len(r.widths))]
            ax.plot(r.widths, r.top50, "o-", c=colour, label=_short(r.dataset_id))
            ax.fill_between(r.widths, r.top50 - std, r.top50 + std, color=colour,
                            alpha=0.15, lw=0)
            if r.recorded is not None:
                ax.axhline(r.recorded, ls="--", c=colour, lw=1)
        widths = sorted({w for r in res for w in r.widths})
        ax.set_xscale("log", base=2)
        ax.set_xlim(widths[0] / 1.3, widths[-1] * 1.3)
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.set_xlabel("policy width")
        ax.set_title(f"HaDES-{variant}" + ("" if mine else " (not measured)"))
        ax.grid(axis="y")
        if mine:
            ax.legend(fontsize=7, loc="best")
    axes[0].set_ylabel("top-50% mean return")
    fig.suptitle(f"{env}: transfer to other widths (grid '{res[0].grid_name}'; dashed: "
                 "recorded fitness)")
    fig.tight_layout()
    save_figure(fig, path)
    return str(path)


def _short(dataset_id: str) -> str:
    """``hopper-R-4`` -> ``R-4``; ``asterix-minatar-F-16.g5000`` -> ``F-16.g5000``."""
    base, _, tags = dataset_id.partition(".")
    short = "-".join(base.rsplit("-", 2)[1:])
    return f"{short}.{tags}" if tags else short


def render_table(root: Path, ids: Iterable[str], zoo: Mapping[str, ZooEntry]) -> str:
    """The README table: every id in ``ids``, measured on ``common`` or not yet."""
    ids, found = list(ids), _all_results(root)
    grid = GRIDS[COMMON_GRID]
    widths = " | ".join(str(w) for w in grid.widths)
    lines = [
        (f"| id | recorded | top-50% mean at width {widths} | mean over widths | score "
         "| seconds |"),
        "|---|---:|" + "---:|" * len(grid.widths) + "---:|---:|---:|",
    ]
    measured = 0
    for i in ids:
        r = found.get(i, {}).get(COMMON_GRID)
        rec = zoo[i].fitness
        rec_s = "" if rec is None else f"{rec:.4g}"
        if r is None or not grid.matches(r.widths, r.lrs, r.steps, r.returns.shape[-1]):
            lines.append(f"| {i} | {rec_s} |" + " |" * len(grid.widths)
                         + " | not yet measured | |")
            continue
        measured += 1
        score = "n/a (recorded <= 0)" if r.score is None else f"**{r.score:.3f}**"
        lines.append(f"| {i} | {rec_s} | " + " | ".join(f"{v:.4g}" for v in r.top50)
                     + f" | {r.top50_mean:.4g} | {score} | {r.seconds:.0f} |")
    lines += ["", f"{measured} of {len(ids)} entries measured on grid '{COMMON_GRID}'."]
    return "\n".join(lines)


def write_table(root: Path, ids: Iterable[str], zoo: Mapping[str, ZooEntry]) -> Path:
    """Set the table section of ``results/README.md`` (added at the end if missing)."""
    path = root / "results" / "README.md"
    text = path.read_text() if path.exists() else "# Results\n"
    atomic_write_bytes(path, results.set_card_section(
        text, TABLE_SECTION, render_table(root, list(ids), zoo)).encode())
    return path


def seconds_estimate(done: Mapping[str, float], todo: Iterable[str],
                     zoo: Mapping[str, ZooEntry]) -> float:
    """Seconds left: per env the mean of its measured entries, else the mean of all
    measured entries of its backend (``math.nan`` with nothing measured)."""
    by_env: dict[str, list[float]] = {}
    by_backend: dict[str, list[float]] = {}
    for i, s in done.items():
        by_env.setdefault(zoo[i].env, []).append(s)
        by_backend.setdefault(zoo[i].backend, []).append(s)
    total = 0.0
    for i in todo:
        pool = by_env.get(zoo[i].env) or by_backend.get(zoo[i].backend)
        if not pool:
            return math.nan
        total += sum(pool) / len(pool)
    return total

