"""Certify many zoo entries: retrain each on its protocol, record the certificate.

Entries are taken in the order of the patterns (fnmatch over zoo ids), each id once.
Resumable: ids already in ``results/certificates.json`` are skipped unless --force.
Every certificate is written (table + card) as soon as it is measured.

    PYTHONPATH=$PWD python scripts/certify_zoo.py                 # the priority list
    PYTHONPATH=$PWD python scripts/certify_zoo.py 'hopper-*' --seeds 5
    PYTHONPATH=$PWD python scripts/certify_zoo.py --list           # what would run

Default priority: Brax seed-0 entries (``*-R-64``, ``*-F-64``, hopper-R-4,
walker2d-R-4), then MinAtar / misc seed-0 entries.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
import traceback
from pathlib import Path

DEFAULT_PATTERNS = (
    "hopper-R-4", "walker2d-R-4", "hopper-R-64", "hopper-F-64",
    "inverted_double_pendulum-R-64", "inverted_double_pendulum-F-64",
    "walker2d-R-64", "walker2d-F-64", "halfcheetah-R-64", "halfcheetah-F-64",
    "reacher-R-64", "reacher-F-64", "ant-R-64", "ant-F-64",
    "humanoid-R-64", "humanoid-F-64", "humanoidstandup-R-64", "humanoidstandup-F-64",
    "*-minatar-?-16", "pong-misc-F-3",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", default=list(DEFAULT_PATTERNS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--force", action="store_true", help="re-certify certified ids")
    parser.add_argument("--repo", type=Path, default=None, help="source checkout")
    parser.add_argument("--list", action="store_true", help="print the ids and stop")
    parser.add_argument("--rerender", action="store_true",
                        help="re-derive notes, rewrite table + card sections; no runs")
    args = parser.parse_args()

    from hades_zoo.zoo import results
    from hades_zoo.zoo.registry import entries

    ids = sorted(entries())
    order: list[str] = []
    for pat in args.patterns:
        order += [i for i in ids if fnmatch.fnmatchcase(i, pat) and i not in order]
    root = results.repo_root(args.repo)
    if args.rerender:
        return _rerender(root)
    done = set(results.load_table(root))
    todo = [i for i in order if args.force or i not in done]
    print(f"{len(order)} matching, {len(order) - len(todo)} already certified, "
          f"{len(todo)} to run", flush=True)
    if args.list:
        print("\n".join(todo))
        return 0

    import hades_zoo as hz
    from hades_zoo.data.cache import enable_compilation_cache
    from hades_zoo.zoo.certify import certify, record_certificate_in_repo

    # Entries of one protocol (seeds .s1/.s2) compile to the same program: reuse it.
    enable_compilation_cache()

    failures = 0
    for i in todo:
        t0 = time.time()
        try:
            ds = hz.load(i)
            cert = certify(ds, seeds=args.seeds)
            rec = record_certificate_in_repo(cert, ds, root)
        except Exception:  # keep going; the id stays "not yet certified"
            failures += 1
            print(f"{i}: FAILED\n{traceback.format_exc()}", flush=True)
            continue
        ratio = "" if rec["ratio"] is None else f"{rec['ratio']:.3f}"
        print(f"{i:<34} recorded {rec['recorded']!s:>10.10} reproduced {rec['mean']:10.2f} "
              f"± {rec['std']:8.2f} ratio {ratio:>6} ok={rec['reproduced_95']} "
              f"[{time.time() - t0:.0f}s] {rec['note']}", flush=True)
    return 1 if failures else 0


def _rerender(root: Path) -> int:
    """Recompute each stored record's note and rewrite the table and card sections."""
    import hades_zoo as hz
    from hades_zoo.zoo import results
    from hades_zoo.zoo.registry import entries

    table, zoo = results.load_table(root), entries()
    info = {i: {"env": e.env, "variant": e.variant, "fitness": e.fitness}
            for i, e in zoo.items()}
    for i, rec in table.items():
        ds = hz.load(i)
        es_best = ds.info.provenance.get("final_population_max_fitness")
        rec["note"] = results.certificate_note(root, rec, zoo[i].notes if i in zoo else "",
                                               es_best)
        if (root / "cards" / f"{i}.md").exists():
            results.write_card_section(root, i, results.CERT_SECTION,
                                       results.render_certificate_section(
                                           rec, protocol=rec.get("protocol", "")))
        results.record_certificate(root, rec, all_ids=zoo.keys(), entry_info=info)
    print(f"re-rendered {len(table)} certificates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
