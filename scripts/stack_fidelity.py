"""Rerun the zoo's certificates on the installed stack and compare them with the stored ones.

Every entry of ``results/certificates.json`` was certified with 5 BC seeds on the stack
its record names (jax 0.7.2, flax 0.12.0, ...). This script measures the same call
(``hades_zoo.zoo.certify.certify(ds, seeds=n)`` with the stored certificate's n: same
seeds, same keys, same protocol)
on the stack installed now and writes one record per entry to
``results/stack/<jax version>.json`` as soon as it is measured (resumable: ids already
there are skipped). ``--report`` prints, per entry, whether the per-seed returns are
bit-identical, how far the mean moved (absolute and in stored standard deviations) and
whether the ">= 95 % of recorded" verdict changed.

    PYTHONPATH=$PWD python scripts/stack_fidelity.py                 # certificate priority order
    PYTHONPATH=$PWD python scripts/stack_fidelity.py 'acrobot-*'     # a subset
    PYTHONPATH=$PWD python scripts/stack_fidelity.py --report        # compare what is measured

Run it niced in the background: the whole zoo took about 3 h of CPU on this 2-core VM
for the stored certificates.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from certify_zoo import DEFAULT_PATTERNS


def _versions() -> dict[str, str]:
    out = {}
    for name in ("jax", "jaxlib", "flax", "brax", "gymnax", "optax", "evosax", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _out_path() -> Path:
    return ROOT / "results" / "stack" / f"jax-{metadata.version('jax')}.json"


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"versions": _versions(),
                                                               "records": {}}


def _save(path: Path, doc: dict) -> None:
    from hades_zoo.data.cache import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())


def _stored() -> dict:
    return json.loads((ROOT / "results" / "certificates.json").read_text())["certificates"]


def measure(patterns: list[str]) -> int:
    """Certify the stored entries matching ``patterns`` (in that order) on this stack."""
    import hades_zoo as hz
    from hades_zoo.data.cache import enable_compilation_cache
    from hades_zoo.zoo.certify import certify
    from hades_zoo.zoo.image_eval import certify_image_dataset

    # image entries: the offline MNIST / Fashion-MNIST files of the build checkout
    # (HADES_ZOO_DATA holds one folder per dataset: mnist/, fashion-mnist/)
    shared = ROOT.parent / "shared" / "data"
    if "HADES_ZOO_DATA" not in os.environ and shared.is_dir():
        os.environ["HADES_ZOO_DATA"] = str(shared)
    data_dir = None

    stored = _stored()
    order: list[str] = []
    for pat in patterns:
        order += [i for i in sorted(stored) if fnmatch.fnmatchcase(i, pat) and i not in order]
    path = _out_path()
    doc = _load(path)
    # an entry is certified with as many seeds as its stored certificate has returns
    # (5 for most; more for some own entries): a record with another count is redone
    todo = [i for i in order if len(doc["records"].get(i, {}).get("returns", ()))
            != len(stored[i]["returns"])]
    print(f"{len(order)} entries, {len(order) - len(todo)} already measured on "
          f"{path.name}, {len(todo)} to run", flush=True)
    enable_compilation_cache()
    failures = 0
    for i in todo:
        t0 = time.time()
        try:
            ds = hz.load(i)
            if ds.recipe.image is not None:  # per-seed losses on the stored split
                rec = certify_image_dataset(ds, seeds=len(stored[i]["returns"]),
                                            data_dir=data_dir)
                if rec.get("measured_split") != stored[i].get("measured_split"):
                    raise RuntimeError(f"measured {rec.get('measured_split')!r}, stored "
                                       f"{stored[i].get('measured_split')!r}")
                cert = argparse.Namespace(returns=rec["returns"], seconds=rec["seconds"],
                                          date=rec["date"], machine=rec["machine"])
            else:
                cert = certify(ds, seeds=len(stored[i]["returns"]))
        except Exception:  # noqa: BLE001  (keep going; the id stays unmeasured)
            failures += 1
            print(f"{i}: FAILED\n{traceback.format_exc()}", flush=True)
            continue
        doc["records"][i] = {"returns": list(cert.returns), "seconds": cert.seconds,
                             "date": cert.date, "machine": cert.machine}
        _save(path, doc)
        old = stored[i]["returns"]
        same = list(cert.returns) == list(old)
        print(f"{i:<36} {'identical' if same else 'moved':9} new "
              f"{sum(cert.returns) / len(cert.returns):10.2f} stored "
              f"{sum(old) / len(old):10.2f} [{time.time() - t0:.0f}s]", flush=True)
    return 1 if failures else 0


def report() -> int:
    """Print the comparison of every measured stack with the stored certificates."""
    import numpy as np

    stored = _stored()
    ratio_min = 0.95  # the certificates' ">= 95 % of recorded" (results/CERTIFICATES.md)
    for path in sorted((ROOT / "results" / "stack").glob("jax-*.json")):
        doc = json.loads(path.read_text())
        recs = doc["records"]
        print(f"## {path.name}: {len(recs)} of {len(stored)} entries; stack "
              + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()))
        print("| id | per-seed returns | stored mean ± std | new mean | moved | moved / std "
              "| >=95% stored -> new | stored on |")
        print("|---|---|---:|---:|---:|---:|---|---|")
        identical = flips = 0
        for i, rec in sorted(recs.items()):
            old = stored[i]
            if len(rec["returns"]) != len(old["returns"]):
                print(f"| {i} | measured with {len(rec['returns'])} of "
                      f"{len(old['returns'])} seeds: run it again | | | | | |")
                continue
            o, n = np.asarray(old["returns"]), np.asarray(rec["returns"])
            same = bool(np.array_equal(o, n))
            identical += same
            before, after = (_passes(m, old["recorded"], ratio_min, old.get("metric"))
                             for m in (o.mean(), n.mean()))
            flips += before != after
            std = o.std() or float("nan")
            f = ".4f" if old.get("metric") == "loss" else ".1f"
            print(f"| {i} | {'identical' if same else 'differ'} | {o.mean():{f}} ± {o.std():{f}} "
                  f"| {n.mean():{f}} | {n.mean() - o.mean():+{f}} | "
                  f"{(n.mean() - o.mean()) / std:+.2f} | {before} -> {after} | "
                  f"{_short(old.get('machine'))}{'' if old.get('machine') == rec['machine'] else ' (another CPU)'} |")
        print(f"\n{identical} of {len(recs)} bit-identical per seed; {flips} verdicts changed.\n")
    _stack_against_stack(sorted((ROOT / "results" / "stack").glob("jax-*.json")), stored)
    return 0


def _stack_against_stack(paths: list[Path], stored: dict) -> None:
    """Two stacks measured on one machine, entry by entry: what the stack alone moved.

    A stored certificate may come from another CPU (its ``machine``), and XLA's CPU
    code differs between CPUs (vector widths, fused operations): against it, a
    difference mixes the machine and the stack. Two records made here differ only by
    the stack.
    """
    import numpy as np

    def version(path: Path) -> tuple[int, ...]:  # jax-0.10.2.json -> (0, 10, 2)
        return tuple(int(x) for x in re.findall(r"\d+", path.stem))

    # older stack first: "moved" is newer - older
    docs = [(p, json.loads(p.read_text())) for p in sorted(paths, key=version)]
    for (pa, a), (pb, b) in ((x, y) for k, x in enumerate(docs) for y in docs[k + 1:]):
        both = sorted(i for i in set(a["records"]) & set(b["records"])
                      if a["records"][i]["machine"] == b["records"][i]["machine"]
                      and len(a["records"][i]["returns"]) == len(b["records"][i]["returns"]))
        if not both:
            continue
        na, nb = pa.stem, pb.stem
        print(f"## {na} -> {nb} on the same machine: {len(both)} entries")
        print(f"| id | machine | per-seed returns | {na} mean | {nb} mean | moved | "
              f"moved / stored std | >=95% stored: {na} -> {nb} |")
        print("|---|---|---|---:|---:|---:|---:|---|")
        identical = flips = 0
        for i in both:
            ra, rb = (np.asarray(d["records"][i]["returns"]) for d in (a, b))
            same = bool(np.array_equal(ra, rb))
            identical += same
            std = np.asarray(stored[i]["returns"]).std() or float("nan")
            before, after = (_passes(m, stored[i]["recorded"], 0.95,
                                     stored[i].get("metric"))
                             for m in (ra.mean(), rb.mean()))
            flips += before != after
            print(f"| {i} | {_short(a['records'][i]['machine'])} | "
                  f"{'identical' if same else 'differ'} | {ra.mean():.2f} | {rb.mean():.2f} "
                  f"| {rb.mean() - ra.mean():+.2f} | {(rb.mean() - ra.mean()) / std:+.2f} "
                  f"| {before} -> {after} |")
        print(f"\n{identical} of {len(both)} bit-identical per seed between the two stacks "
              f"on the same machine; {flips} verdicts changed.\n")


def _short(machine: str | None) -> str:
    return (machine or "?").replace(" Processor", "").replace(", Linux", "")


def _passes(mean: float, recorded: float | None, ratio: float,
            metric: str | None = None) -> bool | None:
    """The certificate's verdict: at least ``ratio`` of the recorded fitness (for a
    negative recorded return: at most 1/ratio times as bad); None when undefined or
    for an image entry (its returns are losses: another convention,
    ``zoo.image_eval``)."""
    if recorded is None or recorded == 0 or metric == "loss":
        return None
    return bool(mean >= ratio * recorded if recorded > 0 else mean >= recorded / ratio)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", default=None)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        return report()
    return measure(args.patterns or [*DEFAULT_PATTERNS, "*.hz", "*"])


if __name__ == "__main__":
    sys.exit(main())
