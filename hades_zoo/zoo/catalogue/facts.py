"""What the catalogue shows about one zoo entry, gathered once (no training).

:func:`gather` starts from ``zoo.summary.describe`` (what ``hades-zoo show`` prints:
protocol, sizes, certificate, transfer score, files, copy-paste commands) and adds what
only a page can show, found in the source checkout when there is one
(``zoo.results.repo_root``; an installed wheel has none, and its pages say so):

- the transfer grid of the ``common`` grid (``results/transfer/<id>.json`` and its
  plot, ``zoo.transfer_zoo.result_path``);
- for an entry evolved here: the learning curve ``cards/<id>.curve.png`` (written by
  ``zoo.entry`` when it was distilled), the comparison with direct ES on the policy's
  weights ``results/own/<id>.png``, and the Evolution facts of its provenance;
- the recipe as YAML (the one embedded in the dataset, which made it).

:func:`index_row` turns the facts into the JSON-able row the index page and
``catalogue.json`` hold (the filters and sort keys).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np

from hades_zoo.data.paths import child_path
from hades_zoo.data.recipe_io import dump_recipe
from hades_zoo.errors import HadesZooError
from hades_zoo.zoo.registry import ZooEntry
from hades_zoo.zoo.summary import Summary, describe

__all__ = [
    "CERT_STATUSES",
    "ORIGINS",
    "EntryFacts",
    "TransferGrid",
    "certificate_status",
    "checkout_root",
    "gather",
    "index_row",
]

log = logging.getLogger(__name__)

#: certificate status -> what the index and the page call it
CERT_STATUSES = {"reproduced": "reproduced (>= 95% of recorded)",
                 "below": "below 95% of recorded",
                 "not comparable": "no meaningful recorded fitness",
                 "not certified": "not certified here"}
#: registry origin -> what the catalogue calls it
ORIGINS = {"paper": "published", "hades_zoo": "own"}


@dataclasses.dataclass(frozen=True)
class TransferGrid:
    """The ``common`` transfer grid of one entry, as a table.

    Attributes:
        widths: the column headers (policy widths).
        rows: ``((lr, steps), (mean return per width, ...))``, one per config.
        top50: mean return of the top-50% configs per width.
        score, top50_mean, recorded: the score (None without a positive record),
            its numerator and denominator.
        seeds: BC seeds per config.
        plot: the result's figure (``results/transfer/<id>.png``), if drawn.
        source: the JSON it was read from (repo-relative).
    """

    widths: tuple[int, ...]
    rows: tuple[tuple[tuple[float, int], tuple[float, ...]], ...]
    top50: tuple[float, ...]
    score: float | None
    top50_mean: float
    recorded: float | None
    seeds: int
    plot: Path | None
    source: str


@dataclasses.dataclass(frozen=True)
class EntryFacts:
    """Everything one entry page shows.

    Attributes:
        entry: the registry entry.
        summary: ``zoo.summary.describe``'s gathering (dataset, protocol, certificate,
            transfer score, files, commands).
        cert_status: a key of ``CERT_STATUSES``.
        transfer_grid: the grid table (None: not measured, or no checkout).
        curve: the learning curve figure of an entry evolved here (None otherwise).
        baseline_plot: HaDES vs direct ES on the weights (own entries that have it).
        evolution: the ``evolution`` block of the dataset's provenance (own entries).
        recipe_yaml: the embedded recipe as YAML.
        checkout: the source checkout the extras were read from (None: none found).
    """

    entry: ZooEntry
    summary: Summary
    cert_status: str
    transfer_grid: TransferGrid | None
    curve: Path | None
    baseline_plot: Path | None
    evolution: dict[str, Any] | None
    recipe_yaml: str
    checkout: Path | None

    @property
    def dataset_id(self) -> str:
        return self.entry.dataset_id


def checkout_root() -> Path | None:
    """The source checkout holding ``cards/`` and ``results/``, or None (installed)."""
    from hades_zoo.zoo.results import repo_root

    try:
        return repo_root()
    except HadesZooError:
        return None


def certificate_status(record: dict[str, Any] | None) -> str:
    """``reproduced`` / ``below`` / ``not comparable`` / ``not certified`` for a
    certificate record (``results/certificates.json`` form), with the rule of
    ``zoo.results.render_table``: a recorded return of about 0 (a collapsed run)
    makes the ratio meaningless."""
    if not record:
        return "not certified"
    recorded = record.get("recorded")
    if record.get("metric") != "loss" and recorded is not None and abs(recorded) < 1.0:
        return "not comparable"
    ok = record.get("reproduced_95")
    if ok is None:
        return "not comparable"
    return "reproduced" if ok else "below"


def _file_in(root: Path | None, folder: str, dataset_id: str, suffix: str) -> Path | None:
    if root is None:
        return None
    path = child_path(root / folder, dataset_id, suffix=suffix, what="dataset id")
    return path if path.is_file() else None


def _transfer_grid(root: Path | None, dataset_id: str) -> TransferGrid | None:
    if root is None:
        return None
    from hades_zoo.zoo.transfer_zoo import load_result, result_path

    try:
        res = load_result(root, dataset_id)
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("transfer result of %s unreadable: %s", dataset_id, err)
        return None
    if res is None:
        return None
    means = np.asarray(res.returns).mean(axis=-1)  # (widths, lrs, steps)
    rows = tuple(((float(lr), int(steps)),
                  tuple(float(means[w, li, si]) for w in range(len(res.widths))))
                 for li, lr in enumerate(res.lrs) for si, steps in enumerate(res.steps))
    path = result_path(root, dataset_id)
    plot = path.with_suffix(".png")
    return TransferGrid(widths=tuple(int(w) for w in res.widths), rows=rows,
                        top50=tuple(float(x) for x in res.top50), score=res.score,
                        top50_mean=res.top50_mean, recorded=res.recorded,
                        seeds=int(res.returns.shape[-1]),
                        plot=plot if plot.is_file() else None,
                        source=str(path.relative_to(root)))


def _describe(dataset_id: str, commands: frozenset[str]) -> Summary:
    from hades_zoo.zoo.loading import AmbiguousSourceError

    try:
        return describe(dataset_id, commands=commands)
    except AmbiguousSourceError:  # a file of that name in the working folder
        return describe("zoo:" + dataset_id, commands=commands)


def gather(entry: ZooEntry, *, root: Path | None,
           commands: frozenset[str] = frozenset()) -> EntryFacts:
    """Collect one entry's facts (``describe`` + the checkout's extras).

    Args:
        entry: a registry entry (``zoo.registry.entries()``).
        root: the source checkout (``checkout_root()``), or None.
        commands: the CLI commands that exist (the page lists commands of those only;
            ``render`` among them adds the render command).

    Returns:
        The :class:`EntryFacts`.

    Raises:
        DatasetFormatError, EnvError: as ``zoo.registry.load_zoo_dataset`` (a damaged
            installation).
    """
    summary = _describe(entry.dataset_id, commands)
    ds = summary.dataset
    own = entry.origin == "hades_zoo"
    evolution = ds.info.provenance.get("evolution") if own else None
    return EntryFacts(
        entry=entry, summary=summary,
        cert_status=certificate_status(summary.certificate),
        transfer_grid=_transfer_grid(root, entry.dataset_id),
        curve=_file_in(root, "cards", entry.dataset_id, ".curve.png") if own else None,
        baseline_plot=(_file_in(root, "results/own", entry.dataset_id, ".png")
                       if own else None),
        evolution=evolution if isinstance(evolution, dict) else None,
        recipe_yaml=dump_recipe(ds.recipe),
        checkout=root)


def _num(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def index_row(facts: EntryFacts, page: str, replay: bool) -> dict[str, Any]:
    """The index row of one entry (JSON-able; ``catalogue.json`` holds the same).

    Keys: ``id``, ``page`` (relative link), ``env``, ``backend``, ``variant``,
    ``size`` (D, pairs), ``seed``, ``origin`` (``published`` / ``own``), ``fitness``
    (recorded) and ``fitness_kind``, ``metric`` (``return`` or ``loss``),
    ``certificate`` (a ``CERT_STATUSES`` key), ``certified_mean`` / ``_std`` /
    ``ratio`` (None when not certified), ``transfer_score``, ``transfer_top50_mean``,
    ``replay`` (whether the page has one).
    """
    e, cert = facts.entry, facts.summary.certificate or {}
    return {
        "id": e.dataset_id, "page": page, "env": e.env, "backend": e.backend,
        "variant": e.variant, "size": e.size, "seed": e.seed,
        "origin": ORIGINS.get(e.origin, e.origin),
        "fitness": _num(e.fitness), "fitness_kind": e.fitness_kind,
        "metric": "loss" if e.fitness_kind.endswith("loss") else "return",
        "certificate": facts.cert_status,
        "certified_mean": _num(cert.get("mean")), "certified_std": _num(cert.get("std")),
        "ratio": _num(cert.get("ratio")),
        "transfer_score": _num(e.transfer_score),
        "transfer_top50_mean": _num(e.transfer_top50_mean),
        "replay": replay,
    }
