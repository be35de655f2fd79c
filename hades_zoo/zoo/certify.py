"""Reproduction certificates: retrain a dataset on its own protocol, compare to record.

A certificate measures the dataset's fitness exactly as during distillation
(``api.protocol_returns``: ``num_inits`` BC runs from the variant's init, evaluated on
``num_envs`` x ``num_steps`` with pooled completed episodes) for several BC seeds, and
puts it beside the recorded fitness. The recorded number for published datasets is the
mean over the *perturbed* final population, a training-time figure, so a ratio near or
above 1 is what a faithful protocol gives.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.engine.evaluation import protocol_returns

__all__ = ["Certificate", "certify", "record_certificate_in_repo", "record_certificate_in_folder",
           "record_image_certificate_in_repo", "machine_description"]


@dataclasses.dataclass(frozen=True)
class Certificate:
    """Measured vs recorded fitness of one dataset.

    Attributes:
        dataset_id: the dataset.
        returns: per-BC-seed protocol returns.
        recorded: the recorded fitness (None if unknown).
        seconds: wall time of the measurement (compile included).
        machine: where it was measured.
        versions: library versions used.
        date: UTC date of the measurement.
    """

    dataset_id: str
    returns: tuple[float, ...]
    recorded: float | None
    seconds: float
    machine: str
    versions: dict[str, str]
    date: str

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    @property
    def ratio(self) -> float | None:
        """mean / recorded (for negative-reward envs use ``reproduced`` instead)."""
        if self.recorded in (None, 0):
            return None
        return self.mean / self.recorded

    def reproduced(self, fraction: float = 0.95) -> bool | None:
        """Whether the mean reaches ``fraction`` of the recorded fitness.

        For negative returns (reacher) "95% of" means "at most 1/0.95 times as bad".
        """
        if self.recorded is None:
            return None
        if self.recorded >= 0:
            return self.mean >= fraction * self.recorded
        return self.mean >= self.recorded / fraction

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(mean=self.mean, std=self.std, ratio=self.ratio,
                 reproduced_95=self.reproduced())
        return d


def certify(ds: SyntheticDataset, *, seeds: int = 5, seed: int = 0) -> Certificate:
    """Measure ``ds`` on its own protocol with ``seeds`` BC seeds."""
    t0 = time.perf_counter()
    returns = protocol_returns(ds, seeds=seeds, seed=seed)
    seconds = time.perf_counter() - t0
    versions = {}
    for name in ("hades_zoo", "jax", "flax", "brax", "gymnax"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return Certificate(
        dataset_id=ds.dataset_id, returns=tuple(float(r) for r in returns),
        recorded=ds.info.fitness, seconds=round(seconds, 1), machine=machine_description(),
        versions=versions, date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
    )


def machine_description() -> str:
    """``'<cpu model> x<cores>, <os>'`` (or the accelerator) for result tables."""
    import os

    import jax

    dev = jax.devices()[0]
    if dev.platform != "cpu":
        return f"{dev.device_kind} x{jax.device_count()}, {platform.system()}"
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} CPU x{os.cpu_count()}, {platform.system()}"


def _protocol(ds: SyntheticDataset) -> str:
    r = ds.recipe
    init = "fixed init" if r.policy.init_seed is not None else f"{r.num_inits} fresh inits"
    return (f"{r.env.name} on {r.env.backend}, {init}, {r.policy.depth} x "
            f"{r.policy.width} {r.policy.activation}, {r.bc.steps} BC steps, "
            f"{r.eval.num_envs} envs x {r.eval.num_steps} steps")


def record_certificate_in_repo(cert: Certificate, ds: SyntheticDataset,
                               repo: str | Path | None = None) -> dict:
    """Write ``cert`` into ``results/certificates.json``, ``results/CERTIFICATES.md``
    and the certificate section of ``cards/<id>.md`` of the source checkout.

    Returns:
        The stored record (``Certificate.to_dict()`` plus env, variant, protocol, note).

    Raises:
        HadesZooError: no source checkout (see ``results.repo_root``). A dataset
            without ``cards/<id>.md`` only gets a table row.
    """
    from hades_zoo.zoo import results
    from hades_zoo.zoo.registry import entries

    root = results.repo_root(repo)
    card = results.card_path(root, cert.dataset_id)  # the one gate, before any write
    table = entries()
    entry = table.get(cert.dataset_id)
    es_best = ds.info.provenance.get("final_population_max_fitness")
    rec = cert.to_dict()
    rec.update(env=ds.recipe.env.name, variant=ds.recipe.variant, protocol=_protocol(ds))
    rec["note"] = results.certificate_note(root, rec, entry.notes if entry else "",
                                           es_best)
    if card.exists():
        results.write_card_section(root, cert.dataset_id, results.CERT_SECTION,
                                   results.render_certificate_section(
                                       rec, protocol=rec["protocol"]))
    info = {i: {"env": e.env, "variant": e.variant, "fitness": e.fitness}
            for i, e in table.items()}
    results.record_certificate(root, rec, all_ids=table.keys(), entry_info=info)
    return rec


def record_image_certificate_in_repo(rec: dict, repo: str | Path | None = None) -> dict:
    """Write an image certificate record (``image_eval.certify_image_dataset``) into
    ``results/`` and the card of the source checkout, like
    ``record_certificate_in_repo``.

    Raises:
        HadesZooError: no source checkout (see ``results.repo_root``).
    """
    from hades_zoo.zoo import results
    from hades_zoo.zoo.registry import entries

    root = results.repo_root(repo)
    table = entries()
    dataset_id = rec["dataset_id"]
    if results.card_path(root, dataset_id).exists():
        results.write_card_section(root, dataset_id, results.CERT_SECTION,
                                   results.render_certificate_section(
                                       rec, protocol=rec.get("protocol", "")))
    info = {i: {"env": e.env, "variant": e.variant, "fitness": e.fitness}
            for i, e in table.items()}
    results.record_certificate(root, rec, all_ids=table.keys(), entry_info=info)
    return rec


def record_certificate_in_folder(cert: Certificate, ds: SyntheticDataset,
                                 directory: str | Path) -> dict:
    """Write ``cert`` into an entry folder (``hades-zoo distill --out DIR``): its
    ``README.md`` card gets the "Reproduction certificate" section and the folder a
    ``certificate.json``; the ``target`` recorded in the recipe's entry notes is not
    needed: the ratio is against the dataset's recorded fitness (the final
    population mean).

    Returns:
        The stored record (as ``record_certificate_in_repo``).

    Raises:
        HadesZooError: the folder has no README.md card.
    """
    import json

    from hades_zoo.data.cache import atomic_write_bytes
    from hades_zoo.errors import HadesZooError
    from hades_zoo.zoo import results

    directory = Path(directory)
    card = directory / "README.md"
    if not card.is_file():
        raise HadesZooError(
            f"{directory} has no README.md card; certify an entry folder written by "
            "`hades-zoo distill --out DIR` (or save_pretrained)."
        )
    rec = cert.to_dict()
    rec.update(env=ds.recipe.env.name, variant=ds.recipe.variant, protocol=_protocol(ds))
    rec["note"] = results.explain(rec, ds.info.notes)
    body = results.render_certificate_section(rec, protocol=rec["protocol"]).replace(
        f"`hades-zoo certify {cert.dataset_id}`", f"`hades-zoo certify {directory}`")
    text = results.set_card_section(card.read_text(encoding="utf-8"),
                                    results.CERT_SECTION, body)
    atomic_write_bytes(card, text.encode())
    atomic_write_bytes(directory / "certificate.json",
                       (json.dumps(rec, indent=1, sort_keys=True) + "\n").encode())
    return rec
