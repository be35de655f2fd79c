"""HaDES-RR's recipe section: the ranges its randomised inner loop draws from.

``InnerLoopConfig`` is the ``inner_loop:`` section of a ``variant: RR`` recipe
(``hades_zoo.data.recipe.Recipe``); ``hades_zoo.engine.randomised`` runs it. Its own
module because it is one concept with its own validation; ``recipe`` re-exports it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from hades_zoo.data.limits import MAX_BC_STEPS, MAX_POLICY_DEPTH, MAX_POLICY_WIDTH
from hades_zoo.errors import RecipeError, close_matches

__all__ = ["ACTIVATIONS", "InnerLoopConfig"]


# Policy activations, in the order the randomised inner loop indexes them.
ACTIVATIONS = ("tanh", "relu")


@dataclasses.dataclass(frozen=True, kw_only=True)
class InnerLoopConfig:
    """HaDES-RR's randomised inner loop (``variant: RR``): what every BC run draws.

    Lupu et al. (ICLR 2024, section 5.2) suggest that randomising the architecture and
    the BC hyperparameters, not only the init (HaDES-R), gives datasets that transfer
    better. Under HaDES-RR each of a candidate's ``num_inits`` BC runs draws, with its
    fresh init, a width, a depth and an activation (uniformly from the lists), a BC
    learning rate (log-uniform on ``bc_lr``) and a number of BC steps (uniform integer
    on ``bc_steps``, both ends included); Adam's ``eps`` and the gradient clip stay
    ``bc.eps`` / ``bc.max_grad_norm``. The draws come from the generation's key, so
    with ``eval.common_random_numbers`` every candidate gets the same ones.

    These ranges are used during distillation only. Training and evaluating the
    resulting dataset (``train_policy``, ``protocol_returns``, ``hades-zoo eval`` /
    ``certify``) use the nominal ``policy:`` and ``bc:`` sections, as for HaDES-R.

    Attributes:
        widths: hidden widths to draw from (each in 1..16384, no repeats;
            ``data.limits.MAX_POLICY_WIDTH``).
        depths: hidden-layer counts to draw from (each in 1..64, no repeats;
            ``MAX_POLICY_DEPTH``).
        activations: activations to draw from: ``tanh``, ``relu``.
        bc_lr: ``[low, high]``, 0 < low <= high < 10: the BC Adam learning rate,
            log-uniform.
        bc_steps: ``[low, high]``, 1 <= low <= high <= 100000: the BC steps.
    """

    widths: tuple[int, ...] = (32, 64, 128, 256)
    depths: tuple[int, ...] = (1, 2, 3)
    activations: tuple[Literal["tanh", "relu"], ...] = ACTIVATIONS
    bc_lr: tuple[float, float] = (1e-3, 3e-2)
    bc_steps: tuple[int, int] = (50, 300)

    @property
    def max_width(self) -> int:
        return max(self.widths)

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def max_steps(self) -> int:
        return self.bc_steps[1]

    def validate(self, path: str = "inner_loop") -> None:
        for name, hi in (("widths", MAX_POLICY_WIDTH), ("depths", MAX_POLICY_DEPTH)):
            values = getattr(self, name)
            if not values:
                raise RecipeError(f"{path}.{name} is empty; list at least one value, "
                                  f"e.g. {name}: [{64 if name == 'widths' else 2}].")
            for v in values:
                if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                    raise RecipeError(f"{path}.{name}: {v!r} is not an integer in "
                                      f"[1, {hi}]; fix that entry.")
            if len(set(values)) != len(values):
                raise RecipeError(f"{path}.{name} lists a value twice "
                                  f"({list(values)}); list each value once (they are "
                                  "drawn uniformly).")
        if not self.activations or len(set(self.activations)) != len(self.activations):
            raise RecipeError(f"{path}.activations must list 'tanh' and/or 'relu' once "
                              f"each, got {list(self.activations)}.")
        for a in self.activations:
            if a not in ACTIVATIONS:
                raise RecipeError(f"{path}.activations: {a!r} is not 'tanh' or 'relu'."
                                  + close_matches(str(a), ACTIVATIONS))
        _check_range(self.bc_lr, f"{path}.bc_lr", "a learning rate", 0.0, 10.0,
                     "e.g. bc_lr: [1.0e-3, 3.0e-2]")
        _check_range(self.bc_steps, f"{path}.bc_steps", "a step count", 1, MAX_BC_STEPS,
                     "e.g. bc_steps: [50, 300]")
        for v in self.bc_steps:
            if isinstance(v, bool) or not isinstance(v, int):
                raise RecipeError(f"{path}.bc_steps: {v!r} is not an integer.")


def _check_range(pair: tuple, path: str, what: str, lo: float, hi: float, example: str
                 ) -> None:
    """``pair`` is ``[low, high]`` with ``lo < low <= high`` (``lo <= low`` for ints)
    and ``high <= hi`` (``< hi`` for floats)."""
    ok = len(pair) == 2 and all(not isinstance(v, bool) and isinstance(v, (int, float))
                                for v in pair)
    if ok:
        low, high = pair
        floats = isinstance(lo, float)
        ok = (low > lo if floats else low >= lo) and low <= high and (
            high < hi if floats else high <= hi)
    if not ok:
        bounds = f"{lo} < low <= high < {hi}" if isinstance(lo, float) else \
            f"{lo} <= low <= high <= {hi}"
        raise RecipeError(f"{path} must be [low, high] ({what}, {bounds}), got "
                          f"{list(pair)!r}; {example}.")
