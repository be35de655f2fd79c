"""How sensitive a dataset's protocol return is to tiny BC changes (a certificate aid).

Trains on the stored protocol with lr x (1 + e), e in {0, +-1e-5, +-1e-4, +-1e-3}, and
BC steps (steps - 1, steps, steps + 1), 2 seeds each (one compile: ``transfer_grid``).
A return that jumps between these neighbours is fragile to BC numerics; one that
does not move is a systematic difference.

    PYTHONPATH=$PWD python scripts/bc_sensitivity.py spaceinvaders-minatar-F-16
"""

from __future__ import annotations

import sys

import numpy as np


def main(ids: list[str]) -> int:
    import hades_zoo as hz
    from hades_zoo.zoo.transfer import transfer_grid

    eps = (-1e-3, -1e-4, -1e-5, 0.0, 1e-5, 1e-4, 1e-3)
    for i in ids:
        ds = hz.load(i)
        lr, s = ds.recipe.bc.lr, ds.recipe.bc.steps
        res = transfer_grid(ds, widths=(ds.recipe.policy.width,),
                            lrs=[lr * (1 + e) for e in eps], steps=(s - 1, s, s + 1),
                            seeds=2)
        print(f"{i}: recorded {ds.info.fitness:.2f}; mean return per lr x (1+e) (rows "
              f"e={list(eps)}) and BC steps {[s - 1, s, s + 1]} (columns):")
        print(np.round(res.returns[0].mean(-1), 1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
