"""Fidelity harness: rebuild published HaDES datasets' protocols, compare returns.

Reads the authors' reference exports (``npz`` + ``index.csv``), converts each file
with ``hades_zoo.zoo.importer`` (protocol from the file's own stored config), retrains
``--seeds`` BC seeds on that protocol and prints recorded vs reproduced return.

    python scripts/fidelity.py                      # the issue's 4 + inverted_double_pendulum
    python scripts/fidelity.py --match 'walker2d'   # any subset (regex on the npz name)
    python scripts/fidelity.py --idp-stock          # also IDP on brax 0.14's own env
    python scripts/fidelity.py --json out.json

The reference folder defaults to ../shared/reference-datasets (a build-time resource,
not needed at run time by the package).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import sys
from pathlib import Path

DEFAULT_FILES = (
    "brax__distill__hopper__D4__seed0",
    "brax__no_virtual_batch_norm__distill__hopper__D64__seed0",
    "brax__distill__walker2d__D4__seed0",
    "brax__no_virtual_batch_norm__distill__halfcheetah__D64__seed0",
    "brax__no_virtual_batch_norm__distill__inverted_double_pendulum__D64__seed0",
    "brax__no_virtual_batch_norm__overfit__inverted_double_pendulum__D64__seed0",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--reference", type=Path,
                        default=here.parent / "shared" / "reference-datasets")
    parser.add_argument("--match", default=None, help="regex over npz names (default: set)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--idp-stock", action="store_true",
                        help="also evaluate inverted_double_pendulum without the brax-0.9 shim")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from hades_zoo.zoo.certify import certify
    from hades_zoo.zoo.importer import import_reference

    index = list(csv.DictReader((args.reference / "index.csv").open()))
    names = [Path(r["npz"]).stem for r in index]
    chosen = ([n for n in names if re.search(args.match, n)] if args.match
              else [n for n in DEFAULT_FILES if n in names])
    if not chosen:
        print("no reference file matches", file=sys.stderr)
        return 1
    rows = []
    print(f"{'dataset':<34} {'recorded':>10} {'reproduced (mean ± std)':>26} {'ratio':>6} "
          f"{'>=95%':>5} {'s':>5}", flush=True)
    for name in chosen:
        ds = import_reference(args.reference / "npz" / f"{name}.npz")
        variants = [("", ds)]
        if args.idp_stock and ds.recipe.env.compat:
            env = dataclasses.replace(ds.recipe.env, compat="")
            variants.append((" [stock brax 0.14]", ds.replace(recipe=ds.recipe.replace(env=env))))
        for suffix, d in variants:
            cert = certify(d, seeds=args.seeds)
            label = d.dataset_id + suffix
            ok = cert.reproduced()
            print(f"{label:<34} {cert.recorded:10.1f} {cert.mean:14.1f} ± {cert.std:<9.1f} "
                  f"{cert.ratio:6.3f} {'yes' if ok else 'NO':>5} {cert.seconds:5.0f}", flush=True)
            rows.append({"npz": name, "label": label, **cert.to_dict()})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
