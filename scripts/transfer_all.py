"""Score transfer for every seed-0 Brax and MinAtar zoo entry on one grid (resumable).

Every entry is trained over the same named grid (default ``common``: widths 64, 256,
1024 x BC lrs 1e-3, 1e-2 x BC steps 100, 300 x 2 seeds) so its score compares with
the others'. After each entry: ``results/transfer/<id>.{json,png}``, the card's
Transfer section, ``results/transfer/envs/<env>.png`` (F and R side by side), the
table in ``results/README.md`` and the packaged ``hades_zoo/zoo/entries/transfer.json``
(what ``hades-zoo list --sort transfer`` reads). Entries with a result on the same
grid are skipped (``--force`` redoes them), so a stopped run resumes.

    PYTHONPATH=$PWD python scripts/transfer_all.py --list      # what would run
    PYTHONPATH=$PWD python scripts/transfer_all.py             # all of it
    PYTHONPATH=$PWD python scripts/transfer_all.py 'hopper-*' 'breakout-*'  # any ids
    PYTHONPATH=$PWD python scripts/transfer_all.py --rerender  # files from the JSONs

Results measured elsewhere: copy their ``results/transfer/*.json`` here, then
``--rerender``. To spread the entries over N processes on a bigger machine, run
``--shard K/N --json-only`` for K = 1..N side by side (each writes only its entries'
JSONs, so the processes never write the same file), then ``--rerender`` once.
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def select(patterns: list[str], default: list[str], zoo_ids) -> list[str]:
    """No patterns: ``default``. Else every zoo id matching a pattern (fnmatch), the
    ``default`` ones first in their order, then the others by id."""
    if not patterns:
        return list(default)
    hit = [i for i in zoo_ids if any(fnmatch.fnmatchcase(i, p) for p in patterns)]
    return [i for i in default if i in hit] + sorted(set(hit) - set(default))


def main(argv: list[str] | None = None, *, grid=None, load_fn=None) -> int:
    """Run the driver. ``grid`` (a ``TransferGrid``) and ``load_fn`` (id -> dataset)
    replace the named grid and the zoo loader (tests use a tiny grid)."""
    from hades_zoo.zoo.transfer import GRIDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="fnmatch patterns over the ids")
    parser.add_argument("--grid", choices=sorted(GRIDS), default="common")
    parser.add_argument("--force", action="store_true", help="redo entries already done")
    parser.add_argument("--repo", type=Path, default=None, help="source checkout")
    parser.add_argument("--list", action="store_true", help="print what would run; stop")
    parser.add_argument("--shard", default="1/1", metavar="K/N",
                        help="measure only every N-th entry to run, from the K-th")
    parser.add_argument("--json-only", action="store_true",
                        help="write only each entry's JSON (no plots, cards, tables)")
    parser.add_argument("--rerender", action="store_true",
                        help="rewrite plots, cards, figures, table and packaged scores "
                             "from the stored JSONs; measure nothing")
    args = parser.parse_args(argv)

    from hades_zoo.zoo import results, transfer_zoo
    from hades_zoo.zoo.registry import entries

    grid = GRIDS[args.grid] if grid is None else grid
    root = results.repo_root(args.repo)
    zoo = entries()
    order = select(args.patterns, transfer_zoo.default_ids(zoo), zoo)
    if args.rerender:
        written = transfer_zoo.render_all(root)
        print(f"re-rendered {len(written)} files from {root / 'results' / 'transfer'}")
        return 0
    done = {i for i in order if transfer_zoo.is_done(root, i, grid)}
    todo = [i for i in order if args.force or i not in done]
    try:
        k, n = (int(x) for x in args.shard.split("/"))
        if not 1 <= k <= n:
            raise ValueError
    except ValueError:
        parser.error(f"--shard must be K/N with 1 <= K <= N, got {args.shard!r}")
    todo = todo[k - 1::n]
    print(f"grid {grid.name!r}: widths {list(grid.widths)} x lrs {list(grid.lrs)} x "
          f"steps {list(grid.steps)} x {grid.seeds} seeds; {len(order)} entries, "
          f"{len(done)} done, {len(todo)} to run", flush=True)
    if args.list:
        print("\n".join(todo))
        return 0
    if not todo:
        transfer_zoo.render_all(root)
        return 0

    from hades_zoo.data.cache import enable_compilation_cache

    if load_fn is None:
        from hades_zoo.zoo.loading import load as load_fn
    enable_compilation_cache()  # entries of one protocol share compiled programs
    seconds = {i: transfer_zoo.load_result(root, i).seconds for i in done}
    return _run(root, todo, grid, zoo, load_fn, seconds, json_only=args.json_only)


def _measure_json(root, ds, grid):
    """Measure ``ds`` on ``grid`` and write only its JSON (``--json-only``)."""
    import dataclasses
    import json

    from hades_zoo.data.cache import atomic_write_bytes
    from hades_zoo.zoo import transfer_zoo
    from hades_zoo.zoo.transfer import transfer_grid

    res = transfer_grid(ds, widths=grid.widths, lrs=grid.lrs, steps=grid.steps,
                        seeds=grid.seeds)
    res = dataclasses.replace(res, grid=grid.name)
    path = transfer_zoo.result_path(root, res.dataset_id, res.grid_name)
    atomic_write_bytes(path, json.dumps(res.to_dict(), indent=1).encode())
    return res


def _run(root, todo, grid, zoo, load_fn, seconds, json_only=False) -> int:
    """Measure ``todo`` under a rich progress bar (plain lines when not a terminal)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from hades_zoo.zoo import transfer_zoo

    console = Console()
    failures = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("transfer", total=len(todo) * len(grid.widths), eta="")
        for n, i in enumerate(todo):
            left = transfer_zoo.seconds_estimate(seconds, todo[n:], zoo)
            eta = "" if math.isnan(left) else f"~{left / 60:.0f} min left (est.)"
            progress.update(task, description=f"{i} ({n + 1}/{len(todo)})", eta=eta)
            t0 = time.time()
            try:
                if json_only:
                    res = _measure_json(root, load_fn(i), grid)
                    progress.advance(task, len(grid.widths))
                    console.print(f"{i:<38} top-50% mean {res.top50_mean:10.4g}  "
                                  f"[{time.time() - t0:.0f} s]", soft_wrap=True)
                    continue
                res = transfer_zoo.run_entry(
                    root, load_fn(i), grid,
                    progress_fn=lambda w, r: progress.advance(task))
            except Exception:  # noqa: BLE001 keep going; the entry stays "not yet measured"
                failures += 1
                console.print(f"{i}: FAILED\n{traceback.format_exc()}", soft_wrap=True)
                progress.update(task, completed=(n + 1) * len(grid.widths))
                continue
            seconds[i] = res.seconds
            score = ("n/a (recorded <= 0)" if res.score is None
                     else f"{res.score:.3f}")
            console.print(f"{i:<38} score {score:>20}  top-50% mean {res.top50_mean:10.4g}"
                          f"  [{time.time() - t0:.0f} s]", soft_wrap=True)
            ids = transfer_zoo.report_ids(root, zoo)
            transfer_zoo.write_env_figures(root, ids, zoo)
            transfer_zoo.write_table(root, ids, zoo)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
