"""Build the whole zoo's catalogue by hand and say what it cost (wall time, size).

The same as ``hades-zoo catalogue``, with the replay cache kept beside the site so
a second run renders only what changed, and a last line to paste into a report:

    PYTHONPATH=$PWD python scripts/build_catalogue.py site/ [--replays replays-cache/]
        [--no-replays] [--only GLOB ...] [--replays-of all|first-seed]

Then open ``site/index.html`` in a browser (no network needed), or serve it:
``python -m http.server -d site 8000``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from hades_zoo.zoo.catalogue.build import REPLAYS_OF


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--replays", default="replays-cache",
                        help="replay cache folder (default: replays-cache)")
    parser.add_argument("--no-replays", action="store_true")
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--replays-of", default="all", choices=REPLAYS_OF)
    args = parser.parse_args(argv)

    from hades_zoo.cli import cli
    from hades_zoo.zoo.catalogue import build_catalogue

    started = time.monotonic()
    res = build_catalogue(
        args.out, only=args.only, replays=not args.no_replays,
        replays_dir=None if args.no_replays else args.replays,
        replays_of=args.replays_of,
        commands=set(cli.commands),
        progress_fn=lambda done, total, ident, note: print(
            f"[{done}/{total}] {ident}: {note} ({time.monotonic() - started:.0f} s)",
            file=sys.stderr, flush=True))
    replays = ("without replays" if args.no_replays else
               f"replays {res.replays_made} made, {res.replays_reused} reused, "
               f"{res.replays_missing} missing")
    print(f"{len(res.ids)} entries -> {res.out}: {res.total_bytes / 2**20:.1f} MiB, "
          f"{res.seconds:.0f} s wall, {replays}; {platform.node()}, "
          f"{time.strftime('%Y-%m-%d')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
