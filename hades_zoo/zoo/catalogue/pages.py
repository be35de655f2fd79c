"""The catalogue's HTML: Jinja2 templates (package data) filled from the entry facts.

Why plain templates with Jinja2 rather than a static-site generator (MkDocs, Sphinx,
Hugo, Pelican): every fact is already a Python object here (``facts.EntryFacts``); a
generator would want markdown files written first, a theme and a config of its own
(Hugo: a Go binary), and its themes and search fetch scripts and fonts from CDNs
unless configured not to. Jinja2 is maintained (Pallets), already installed with our
stack (brax and Flask need it), escapes every value (autoescape), and two templates
cover the site: ``index.html`` and ``entry.html`` (on ``base.html``). The script and
style sheet are small files of ours (``static/``), copied into the site, so it works
offline from ``file://`` or any static server.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from hades_zoo.zoo.catalogue.facts import CERT_STATUSES, ORIGINS, EntryFacts
from hades_zoo.zoo.catalogue.replays import Replay

__all__ = ["fmt_num", "heat", "render_entry", "render_index"]

VARIANTS = {"F": "HaDES-F: one fixed policy initialisation",
            "R": "HaDES-R: fresh random initialisations",
            "RR": "HaDES-RR: randomised architecture and training",
            "ES": "direct ES on the policy's weights (baseline)"}


@functools.lru_cache(maxsize=1)
def _env():
    try:
        import jinja2
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError("the catalogue needs Jinja2: pip install 'jinja2>=3.1'") from err
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hades_zoo.zoo.catalogue", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters["num"] = fmt_num
    env.filters["tojson_attr"] = lambda v: "" if v is None else json.dumps(v)
    return env


def fmt_num(x: Any, digits: int | None = None) -> str:
    """A number for people: ``digits`` decimals, else integers as they are and
    floats with 1 decimal for |x| >= 10, 3 significant digits below (7.00); "" for None / NaN."""
    if x is None or isinstance(x, bool):
        return "" if x is None else str(x)
    if isinstance(x, int) and digits is None:
        return f"{x:,}"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return ""
    if digits is not None:
        return f"{x:,.{digits}f}"
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:#.3g}"


def heat(value: float, low: float, high: float) -> str:
    """An inline background colour from red (``low``) to green (``high``)."""
    t = 0.5 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
    return f"background-color: hsl({round(120 * t)}, 55%, 82%)"


def _grid_view(facts: EntryFacts) -> dict[str, Any] | None:
    grid = facts.transfer_grid
    if grid is None:
        return None
    values = [v for _, row in grid.rows for v in row]
    if grid.recorded is not None and grid.recorded > 0:
        low, high = 0.0, grid.recorded  # a ratio: at the recorded fitness is green
    else:
        low, high = min(values), max(values)
    rows = [{"lr": lr, "steps": steps,
             "cells": [{"value": v, "style": heat(v, low, high)} for v in row]}
            for (lr, steps), row in grid.rows]
    return {"grid": grid, "rows": rows,
            "top50": [{"value": v, "style": heat(v, low, high)} for v in grid.top50]}


def _certificate_view(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not record:
        return None
    loss = record.get("metric") == "loss"
    digits = 4 if loss else 1
    versions = ", ".join(f"{k} {v}" for k, v in sorted(
        (record.get("versions") or {}).items()))
    return {"loss": loss, "digits": digits,
            "returns": [fmt_num(r, digits) for r in record.get("returns") or []],
            "splits": record.get("splits") or {}, "versions": versions,
            "record": record}


def _provenance_json(facts: EntryFacts) -> str:
    return json.dumps(facts.summary.dataset.info.provenance, indent=1, sort_keys=True)


def _certificate_source(facts: EntryFacts) -> str:
    """Where the certificate was found, without the builder's absolute paths."""
    where = facts.summary.certificate_from
    if facts.checkout is not None and where.startswith(str(facts.checkout)):
        return where[len(str(facts.checkout)):].lstrip("/\\")
    return where


def render_entry(facts: EntryFacts, replay: Replay, *, files: Mapping[str, str],
                 related: Sequence[tuple[str, str]], site: Mapping[str, Any],
                 plot_reason: str = "") -> str:
    """One entry's page (``entries/<id>.html``).

    Args:
        facts: the entry's facts.
        replay: its replay (or why there is none).
        files: the site files the page links, relative to the page (``dataset_plot``,
            ``curve``, ``baseline``, ``transfer_plot``, ``replay``, ``dataset_file``,
            ``recipe_file``), present only when written.
        related: ``(id, link)`` of the other built entries of the same env.
        site: what every page shows (``version``, ``built``, ``n_entries``).
        plot_reason: why there is no dataset plot (when ``files`` has none).
    """
    s, e = facts.summary, facts.entry
    return _env().get_template("entry.html").render(
        root="../", title=e.dataset_id, f=facts, s=s, e=e, ds=s.dataset,
        origin=ORIGINS.get(e.origin, e.origin), variant_text=VARIANTS.get(e.variant, ""),
        cert=_certificate_view(s.certificate), cert_text=CERT_STATUSES[facts.cert_status],
        grid=_grid_view(facts), replay=replay, files=files, related=related,
        provenance=_provenance_json(facts), cert_source=_certificate_source(facts),
        plot_reason=plot_reason, **site)


def render_index(rows: Sequence[Mapping[str, Any]], *, site: Mapping[str, Any]) -> str:
    """The index page: every built entry, with filters and sorting (``static/``)."""

    def options(key: str) -> list[str]:
        return sorted({str(r[key]) for r in rows}, key=lambda v: (
            (0, float(v), "") if v.replace(".", "", 1).isdigit() else (1, 0.0, v)))

    counts = {"published": sum(r["origin"] == "published" for r in rows),
              "own": sum(r["origin"] == "own" for r in rows),
              "reproduced": sum(r["certificate"] == "reproduced" for r in rows),
              "replays": sum(bool(r["replay"]) for r in rows)}
    return _env().get_template("index.html").render(
        root="", title="catalogue", main_class="wide", rows=rows, counts=counts,
        envs=options("env"), variants=options("variant"), sizes=options("size"),
        origins=options("origin"), certificates=[c for c in CERT_STATUSES
                                                 if any(r["certificate"] == c
                                                        for r in rows)],
        variant_texts=VARIANTS, cert_texts=CERT_STATUSES, **site)
