"""Results in the repository: the certificate table and dataset-card sections.

Only the maintainer writes here (``--update-zoo`` from a checkout, ``scripts/``); user
commands file their results in a run folder or ``--out`` (``zoo.outputs``).

Measurements about zoo entries live in two places in the source checkout:

- ``results/certificates.json``: one record per dataset id (machine readable), merged
  per id and written atomically; ``results/CERTIFICATES.md`` is rendered from it and
  lists every zoo entry, with "not yet certified" for those without a record.
- ``cards/<id>.md``: the human-readable card. Sections that measurements fill sit
  between markers ``<!-- <name>:start -->`` / ``<!-- <name>:end -->`` so that
  ``scripts/build_zoo.py`` can rebuild a card and keep them.

The ratio column is ``mean / recorded`` for returns; for image datasets, whose
fitness is a loss (``"metric": "loss"`` records), it is ``recorded / mean``, so that
for both a ratio >= 1 means "at least as good as recorded". For published datasets the recorded number is
the mean fitness of the ES's *final perturbed population* (a training-time figure, see
each card's Provenance), so it is not an upper bound for the dataset itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.data.paths import child_path
from hades_zoo.errors import HadesZooError

__all__ = [
    "CERT_SECTION",
    "TRANSFER_SECTION",
    "MULTITASK_SECTION",
    "repo_root",
    "card_path",
    "load_table",
    "record_certificate",
    "render_table",
    "render_certificate_section",
    "set_card_section",
    "get_card_section",
    "explain",
    "write_card_section",
    "analysis_note",
    "certificate_note",
]

CERT_SECTION = "reproduction-certificate"
TRANSFER_SECTION = "transfer"
MULTITASK_SECTION = "multitask"
TARGET_SECTION = "target"
_HEADINGS = {CERT_SECTION: "Reproduction certificate", TRANSFER_SECTION: "Transfer",
             MULTITASK_SECTION: "Multi-task", TARGET_SECTION: "Target and baselines"}
TABLE_JSON = Path("results") / "certificates.json"
TABLE_MD = Path("results") / "CERTIFICATES.md"


def repo_root(repo: str | Path | None = None) -> Path:
    """The source checkout that holds ``cards/`` and ``results/``: the maintainer's
    place (``--update-zoo``, ``scripts/``); user commands never write there.

    Defaults to the folder above the imported ``hades_zoo`` package (an editable or
    source install).

    Raises:
        HadesZooError: ``repo`` is None and the package is installed (under
            ``site-packages``/``dist-packages``), or there is no ``cards/`` folder
            (an installed wheel has none).
    """
    fix = ("updating the packaged zoo is a maintainer step run from a source "
           "checkout of hades_zoo (pass --repo <checkout>); to keep your own results, "
           "give a run folder or --out DIR instead of --update-zoo.")
    if repo is not None:
        root = Path(repo)
    else:  # the folder above the package (hades_zoo/zoo/results.py: parents[2];
        # tests/test_architecture.py checks it, should this module move again)
        root = Path(__file__).resolve().parents[2]
        if any(part in ("site-packages", "dist-packages") for part in root.parts):
            raise HadesZooError(f"hades_zoo is installed in {root}, not run from a "
                                f"source checkout: {fix}")
    if not (root / "cards").is_dir():
        raise HadesZooError(f"{root} has no cards/ folder, so it is not a source "
                            f"checkout: {fix}")
    return root


# ------------------------------------------------------------------- cards
def card_path(root: Path, dataset_id: str) -> Path:
    """``root/cards/<id>.md``, the id through the one gate (``data.paths``).

    Raises:
        UnsafeNameError: an id that cannot be a file name (``../victim``).
    """
    return child_path(Path(root) / "cards", dataset_id, suffix=".md", what="dataset id")


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def get_card_section(text: str, name: str) -> str | None:
    """The body between ``name``'s markers, or None if the card has no such section."""
    start, end = _markers(name)
    m = re.search(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), text, re.S)
    return m.group(1) if m else None


def set_card_section(text: str, name: str, body: str) -> str:
    """``text`` with ``name``'s section body replaced (or added before Citation)."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.escape(start) + r"\n.*?\n?" + re.escape(end)  # an empty body too
    if re.search(pattern, text, re.S):
        return re.sub(pattern, lambda _: block, text, count=1, flags=re.S)
    section = f"## {_HEADINGS.get(name, name.title())}\n\n{block}\n\n"
    idx = text.find("## Citation")
    if idx < 0:
        return text.rstrip("\n") + "\n\n" + section
    return text[:idx] + section + text[idx:]


def write_card_section(root: Path, dataset_id: str, name: str, body: str) -> Path:
    """Set one section of ``cards/<id>.md`` (atomic write).

    Raises:
        HadesZooError: the card does not exist (UnsafeNameError: an unsafe id).
    """
    path = card_path(root, dataset_id)
    if not path.exists():
        raise HadesZooError(f"no card {path}: only zoo entries have cards.")
    atomic_write_bytes(path, set_card_section(path.read_text(), name, body).encode())
    return path


# ------------------------------------------------------------------- table
def analysis_note(root: Path, dataset_id: str) -> str:
    """A hand-written, measured analysis for one id from
    ``results/certificate_analysis.json`` (empty if none)."""
    path = root / "results" / "certificate_analysis.json"
    if not path.exists():
        return ""
    return json.loads(path.read_text()).get(dataset_id, "")


def certificate_note(root: Path, record: Mapping[str, Any], notes: str = "",
                     es_best: float | None = None) -> str:
    """The note stored with a certificate: ``explain`` + the measured analysis, if any."""
    analysis = analysis_note(root, record["dataset_id"])
    return "; ".join(n for n in (explain(record, notes, es_best, analysed=bool(analysis)),
                                 analysis) if n)


def load_table(root: Path) -> dict[str, dict[str, Any]]:
    """``{dataset_id: record}`` from ``results/certificates.json`` (empty if absent)."""
    path = root / TABLE_JSON
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("certificates", {})


def explain(record: Mapping[str, Any], notes: str = "", es_best: float | None = None,
            *, analysed: bool = False) -> str:
    """A reading of a certificate that misses 95%, from measured numbers only.

    Rules, in order: a recorded pop-mean of ~0 (collapsed run: ratio meaningless);
    the entry's own note that the final population was far below its best; bimodal
    per-seed returns; the 95% mark within one seed-std (BC-seed noise); every seed
    below the mark (not noise: cause not identified, unless ``analysed``: a measured
    analysis follows). ``es_best`` is the best member of the final ES population.
    """
    mean, rec = record["mean"], record.get("recorded")
    if rec is None:
        return ""
    if record.get("metric") == "loss":
        return _explain_loss(record)
    if abs(rec) < 1.0:
        return (f"recorded pop-mean {rec:.3g} is ~0 (collapsed ES population), so the "
                f"ratio is meaningless; measured {mean:.1f}"
                + (f" vs final-population best {es_best:.1f}" if es_best is not None
                   else ""))
    if record.get("reproduced_95"):
        return ""
    rets = list(record.get("returns") or [mean])
    std, n = record.get("std", 0.0), len(rets)
    target = 0.95 * rec if rec >= 0 else rec / 0.95
    parts = []
    if "collapsed" in notes or "well below" in notes:
        parts.append(f"recorded {rec:.1f} is the mean over a noisy perturbed final "
                     "population (the entry's note: well below its best candidate)")
    low = [r for r in rets if rec > 0 and r < 0.1 * rec]
    if low and max(rets) >= 0.5 * rec:
        high = [r for r in rets if r >= 0.1 * rec]
        parts.append(
            f"bimodal per-seed returns: {len(low)}/{n} seeds near 0 "
            f"({min(low):.1f}..{max(low):.1f}), {len(high)}/{n} at "
            f"{min(high):.1f}..{max(high):.1f}"
            + ("; with the fixed HaDES-F init BC gives the same policy for every seed, "
               "so this spread is evaluation randomness (episodes that fail)"
               if record.get("variant") == "F" else ""))
    elif abs(target - mean) <= std:
        parts.append(f"the 95% mark {target:.1f} is within one seed-std ({std:.1f}) of "
                     f"the mean {mean:.1f}; per-seed {min(rets):.1f}..{max(rets):.1f}, "
                     f"{sum(r >= target for r in rets)}/{n} seeds reach it "
                     + ("(seed noise: with the fixed HaDES-F init every seed trains the "
                        "same policy, so it is evaluation noise)"
                        if record.get("variant") == "F" else "(BC-seed noise)"))
    elif all(r < target for r in rets):
        parts.append(f"all {n} seeds ({min(rets):.1f}..{max(rets):.1f}) miss the 95% "
                     f"mark {target:.1f}: not seed noise; "
                     + ("see the measured analysis" if analysed
                        else "cause not identified yet"))
    if es_best is not None:
        parts.append(f"final-population best {es_best:.1f}")
    return "; ".join(parts)


def _explain_loss(record: Mapping[str, Any]) -> str:
    """``explain`` for a minimised loss (image datasets): lower is better."""
    mean, std, rec = record["mean"], record.get("std", 0.0), record["recorded"]
    parts = []
    split, fit_split = record.get("measured_split"), record.get("fitness_split", "train")
    if split and split != fit_split:
        n = (record.get("splits") or {}).get(split, {}).get("examples")
        parts.append(f"the recorded loss was measured on the real {fit_split} images, "
                     f"which are not available here; mean ± std are on '{split}'"
                     + (f" ({n} images)" if n else "")
                     + " instead, so the ratio compares different image sets")
    if not record.get("reproduced_95"):
        mark = rec / 0.95
        rets = list(record.get("returns") or [mean])
        parts.append(f"measured loss {mean:.4f} ± {std:.4f} vs the 95% mark {mark:.4f} "
                     f"({sum(r <= mark for r in rets)}/{len(rets)} seeds reach it)")
    acc, rec_acc = record.get("accuracy"), record.get("recorded_train_accuracy")
    if acc is not None and rec_acc is not None:
        parts.append(f"accuracy {acc:.3f} vs recorded train accuracy {rec_acc:.3f}")
    return "; ".join(parts)


def record_certificate(root: Path, record: Mapping[str, Any], *,
                       all_ids: Iterable[str] = (),
                       entry_info: Mapping[str, Mapping[str, Any]] | None = None) -> None:
    """Merge one certificate record into the JSON table and re-render the markdown.

    Args:
        root: the source checkout.
        record: ``Certificate.to_dict()`` plus ``env``, ``variant`` (and ``note``).
        all_ids: every zoo id, so that uncertified ones are listed as such.
        entry_info: ``{id: {"env", "variant", "fitness"}}`` for those rows.
    """
    table = load_table(root)
    table[record["dataset_id"]] = dict(record)
    data = {"schema": 1, "ratio": "mean / recorded; recorded = dataset's stored fitness",
            "certificates": dict(sorted(table.items()))}
    atomic_write_bytes(root / TABLE_JSON, (json.dumps(data, indent=1) + "\n").encode())
    atomic_write_bytes(root / TABLE_MD,
                       render_table(table, all_ids=all_ids, entry_info=entry_info).encode())


def _fmt(x: float | None, digits: int = 1) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def render_table(table: Mapping[str, Mapping[str, Any]], *, all_ids: Iterable[str] = (),
                 entry_info: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The markdown certificate table (certified first, then the rest)."""
    entry_info = entry_info or {}
    lines = [
        "# Reproduction certificates",
        "",
        "Each certified entry was retrained from scratch on its own stored protocol "
        "(`hades-zoo certify ID`, i.e. `hades_zoo.zoo.certify.certify`): for every BC seed, "
        "`num_inits` policies are behaviour-cloned from the variant's init and evaluated "
        "exactly as during distillation (num_envs x num_steps, pooled completed "
        "episodes). *recorded* is the dataset's stored fitness (for published datasets "
        "the mean over the ES's final perturbed population); *ratio* = mean / recorded; "
        "*>=95%?* uses 95% of recorded (for negative-return envs: at most 1/0.95 times "
        "as bad). Rows are rendered from `results/certificates.json`.",
        "",
        "| id | env | variant | recorded | reproduced (mean ± std) | seeds | ratio | "
        ">=95%? | seconds | date | machine | note |",
        "|---|---|---|---:|---:|---:|---:|:-:|---:|---|---|---|",
    ]
    for i, r in sorted(table.items()):
        if r.get("metric") == "loss":
            lines.append(_loss_row(i, r))
            continue
        ok = r.get("reproduced_95")
        if r.get("recorded") is not None and abs(r["recorded"]) < 1.0:
            ok = None  # collapsed run: nothing meaningful to compare with
        lines.append(
            f"| {i} | {r.get('env', '')} | {r.get('variant', '')} | {_fmt(r.get('recorded'))} "
            f"| {r['mean']:.1f} ± {r['std']:.1f} | {len(r['returns'])} "
            f"| {_fmt(r.get('ratio'), 3)} | {'yes' if ok else ('n/a' if ok is None else 'NO')} "
            f"| {r.get('seconds', '')} | {r.get('date', '')} | {r.get('machine', '')} "
            f"| {r.get('note', '')} |"
        )
    rest = sorted(set(all_ids) - set(table))
    for i in rest:
        e = entry_info.get(i, {})
        lines.append(f"| {i} | {e.get('env', '')} | {e.get('variant', '')} | "
                     f"{_fmt(e.get('fitness'))} | not yet certified | | | | | | | |")
    n = len(table)
    lines += ["", f"{n} certified, {len(rest)} not yet certified.", ""]
    return "\n".join(lines)


def _loss_row(i: str, r: Mapping[str, Any]) -> str:
    """A table row for a loss certificate (image datasets): 4 decimals, accuracy."""
    ok = r.get("reproduced_95")
    note = "; ".join(n for n in (
        f"loss on {r.get('measured_split')}; accuracy {r.get('accuracy', 0):.4f} vs "
        f"recorded train accuracy {_fmt(r.get('recorded_train_accuracy'), 4)}",
        r.get("note", "")) if n)
    return (f"| {i} | {r.get('env', '')} | {r.get('variant', '')} | "
            f"{_fmt(r.get('recorded'), 4)} | {r['mean']:.4f} ± {r['std']:.4f} | "
            f"{len(r['returns'])} | {_fmt(r.get('ratio'), 3)} | "
            f"{'yes' if ok else ('n/a' if ok is None else 'NO')} | {r.get('seconds', '')} "
            f"| {r.get('date', '')} | {r.get('machine', '')} | {note} |")


def _render_loss_section(record: Mapping[str, Any], protocol: str) -> str:
    ok = record.get("reproduced_95")
    status = {True: "reproduced (loss <= recorded / 0.95)",
              False: "loss above recorded / 0.95", None: "no recorded loss"}[ok]
    lines = [
        f"**Status: {status}.** Retrained from scratch with {len(record['returns'])} "
        f"seeds on the stored protocol{(' (' + protocol + ')') if protocol else ''}. "
        "Loss = cross-entropy / 10 (lower is better); ratio = recorded / measured.",
        "",
        "| real split | images | loss (mean ± std) | accuracy (mean ± std) |",
        "|---|---:|---:|---:|",
    ]
    for split, m in record.get("splits", {}).items():
        lines.append(f"| {split} | {m['examples']} | {m['loss']:.4f} ± {m['loss_std']:.4f} "
                     f"| {m['accuracy']:.4f} ± {m['accuracy_std']:.4f} |")
    lines += ["", f"Recorded: loss {_fmt(record.get('recorded'), 4)} and accuracy "
              f"{_fmt(record.get('recorded_train_accuracy'), 4)} on the 60k real training "
              f"images (final ES population means); ratio {_fmt(record.get('ratio'), 3)}.",
              ""]
    if record.get("note"):
        lines += [f"Note: {record['note']}", ""]
    lines.append(_measured_line(record, " --data-dir DIR"))
    return "\n".join(lines)


def _measured_line(record: Mapping[str, Any], certify_args: str = "") -> str:
    """The closing line of a card's certificate section: when, where, how to redo it."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(record.get("versions", {}).items()))
    return (f"Measured {record.get('date', '')} on {record.get('machine', '')} in "
            f"{record.get('seconds', '')} s (compile included); {versions}. "
            f"Reproduce: `hades-zoo certify {record['dataset_id']}{certify_args}`.")


def render_certificate_section(record: Mapping[str, Any], *, protocol: str = "") -> str:
    """The card's certificate section for one record."""
    if record.get("metric") == "loss":
        return _render_loss_section(record, protocol)
    ok = record.get("reproduced_95")
    if record.get("recorded") is not None and abs(record["recorded"]) < 1.0:
        ok = None
    status = {True: "reproduced (>= 95% of recorded)", False: "below 95% of recorded",
              None: "no meaningful recorded fitness to compare with"}[ok]
    rets = ", ".join(f"{r:.1f}" for r in record["returns"])
    ratio = record.get("ratio")
    lines = [
        f"**Status: {status}.** Retrained from scratch with {len(record['returns'])} BC "
        f"seeds on the stored protocol{(' (' + protocol + ')') if protocol else ''}.",
        "",
        "| recorded | reproduced (mean ± std) | ratio | per-seed returns |",
        "|---:|---:|---:|---|",
        f"| {_fmt(record.get('recorded'))} | {record['mean']:.1f} ± {record['std']:.1f} "
        f"| {_fmt(ratio, 3)} | {rets} |",
        "",
    ]
    if record.get("note"):
        lines += [f"Note: {record['note']}", ""]
    lines.append(_measured_line(record))
    return "\n".join(lines)
