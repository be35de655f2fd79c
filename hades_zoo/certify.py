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

import numpy as np

from hades_zoo.api import protocol_returns
from hades_zoo.dataset import SyntheticDataset

__all__ = ["Certificate", "certify"]


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
    import os

    machine = f"{platform.machine()} CPU x{os.cpu_count()}, {platform.system()}"
    return Certificate(
        dataset_id=ds.dataset_id, returns=tuple(float(r) for r in returns),
        recorded=ds.info.fitness, seconds=round(seconds, 1), machine=machine,
        versions=versions, date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
    )
