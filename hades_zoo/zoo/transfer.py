"""Transfer: how well a dataset trains policies it was not distilled for (HaDES Fig. 4).

Lupu et al. (ICLR 2024, §5.2, Fig. 4) train policies of other widths with a grid of
BC learning rates and step counts on a distilled dataset and plot, per width, the
returns of the best half of the hyperparameter configurations.

``transfer_grid(ds, widths=, lrs=, steps=, seeds=)`` does this with the dataset's own
protocol otherwise unchanged (depth, activation, optimiser, env, normalisation,
evaluation: ``num_inits`` BC runs per seed, ``num_envs`` x ``num_steps``, pooled
completed episodes, i.e. what ``protocol_returns`` measures). Per width there is one
compiled function: learning rates are a traced ``vmap`` axis, step counts are
checkpoints of one BC run of ``max(steps)`` steps, seeds are a ``vmap`` axis. The
dataset's arrays are arguments of that function, not constants baked into it, so
datasets of one protocol (an env's ``.g5000`` / ``.w256.g5000`` variants, seeds
``.s1`` / ``.s2``) run the same compiled program: in one process it is reused, across
processes JAX's persistent cache finds it.

Named grids (``GRIDS``) make results comparable: ``common`` is the one grid every
seed-0 zoo entry is scored on (``scripts/transfer_all.py``; small enough for a 2-core
CPU), ``full`` is the paper-sized grid (``DEFAULT_*``, 3 seeds). A result records its
grid's name (``custom`` for any other grid).

A width other than the stored one cannot use a HaDES-F fixed init; those policies
start from fresh inits (as ``with_overrides`` does).

**Transfer-robustness score**::

    top50(w) = mean of the ceil(n/2) largest config means at width w
               (config mean = mean return over seeds; n = len(lrs) * len(steps))
    score    = mean_w top50(w) / recorded fitness

1.0 means the best half of the grid reaches the recorded fitness at every width on
average. It is only meaningful for positive recorded fitness: for a recorded fitness
<= 0 (reacher, a collapsed ant run) the score is None and ``top50_mean`` (the mean over
widths of ``top50(w)``, a raw return) is what to report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_zoo.data.cache import use_compilation_cache
from hades_zoo.data.dataset import SyntheticDataset
from hades_zoo.data.limits import MAX_SEEDS, check_count
from hades_zoo.engine.bc import make_bc_train_sweep
from hades_zoo.engine.evaluation import _task_and_arrays, with_overrides
from hades_zoo.engine.progress import Steps
from hades_zoo.engine.tasks.control import ControlTask
from hades_zoo.errors import RecipeError
from hades_zoo.zoo.plot_style import styled

__all__ = ["TransferResult", "TransferGrid", "transfer_grid", "plot_transfer",
           "grid_name", "GRIDS", "COMMON_GRID", "DEFAULT_WIDTHS", "DEFAULT_LRS",
           "DEFAULT_STEPS"]

DEFAULT_WIDTHS = (64, 128, 256, 512, 1024)
DEFAULT_LRS = (1e-4, 1e-3, 1e-2)
DEFAULT_STEPS = (100, 300, 500)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransferGrid:
    """A named (widths, lrs, steps, seeds) grid.

    Attributes:
        name: what results on this grid are filed under.
        widths: policy hidden-layer widths.
        lrs: BC Adam learning rates.
        steps: BC step counts (strictly increasing).
        seeds: BC seeds per config (each pools the protocol's ``num_inits`` runs).
    """

    name: str
    widths: tuple[int, ...]
    lrs: tuple[float, ...]
    steps: tuple[int, ...]
    seeds: int

    def matches(self, widths, lrs, steps, seeds: int) -> bool:
        """Whether these axes and seed count are this grid."""
        return (tuple(int(w) for w in widths) == self.widths
                and tuple(float(x) for x in lrs) == self.lrs
                and tuple(int(s) for s in steps) == self.steps and int(seeds) == self.seeds)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


COMMON_GRID = "common"
# common: 3 widths x 2 lrs x 2 step counts x 2 seeds = 24 trained policies per width
# pair; sized from measured seconds per entry on the shared 2-core CPU
# (results/README.md, "Transfer").
GRIDS = {
    COMMON_GRID: TransferGrid(name=COMMON_GRID, widths=(64, 256, 1024), lrs=(1e-3, 1e-2),
                              steps=(100, 300), seeds=2),
    "full": TransferGrid(name="full", widths=DEFAULT_WIDTHS, lrs=DEFAULT_LRS,
                         steps=DEFAULT_STEPS, seeds=3),
}


def grid_name(widths, lrs, steps, seeds: int) -> str:
    """The name of the named grid with exactly these axes, else ``"custom"``."""
    for grid in GRIDS.values():
        if grid.matches(widths, lrs, steps, seeds):
            return grid.name
    return "custom"


@dataclasses.dataclass(frozen=True)
class TransferResult:
    """Returns over a (width, lr, steps, seed) grid.

    Attributes:
        dataset_id: the dataset.
        widths, lrs, steps: the grid axes.
        returns: (widths, lrs, steps, seeds) protocol returns.
        recorded: the dataset's recorded fitness (None if unknown).
        seconds: wall time (compile included).
        grid: the grid's name (``grid_name``; ``None``: derive it from the axes).
        machine: where it was measured (device kind, jax version), since returns of
            one grid differ in the last digits between CPU and GPU arithmetic.
    """

    dataset_id: str
    widths: tuple[int, ...]
    lrs: tuple[float, ...]
    steps: tuple[int, ...]
    returns: np.ndarray
    recorded: float | None
    seconds: float = 0.0
    grid: str | None = None
    machine: str = ""

    @property
    def grid_name(self) -> str:
        """``grid`` if set, else the named grid with these axes (or ``custom``)."""
        if self.grid is not None:
            return self.grid
        return grid_name(self.widths, self.lrs, self.steps, self.returns.shape[-1])

    def top_half(self, w_index: int) -> np.ndarray:
        """Per-seed returns of the best ceil(n/2) configs at width ``w_index``, (k, seeds)."""
        per = self.returns[w_index].reshape(-1, self.returns.shape[-1])
        k = math.ceil(per.shape[0] / 2)
        order = np.argsort(-per.mean(axis=1), kind="stable")
        return per[order[:k]]

    @property
    def top50(self) -> np.ndarray:
        """(widths,) mean return of the top-50% configs per width."""
        return np.array([self.top_half(i).mean() for i in range(len(self.widths))])

    @property
    def top50_mean(self) -> float:
        """Mean over widths of ``top50``: the score's numerator, a raw return."""
        return float(self.top50.mean())

    @property
    def score(self) -> float | None:
        """Transfer-robustness score (module doc); None without a positive record."""
        if self.recorded is None or self.recorded <= 0:
            return None
        return float(self.top50_mean / self.recorded)

    @property
    def score_note(self) -> str:
        """Why there is no score ("" when there is one)."""
        if self.recorded is None:
            return "no recorded fitness: no score; top50_mean is the raw return"
        if self.recorded <= 0:
            return (f"recorded fitness {self.recorded:.4g} <= 0: a ratio is meaningless; "
                    "top50_mean is the raw return")
        return ""

    def to_dict(self) -> dict[str, Any]:
        grid = []
        for wi, w in enumerate(self.widths):
            for li, lr in enumerate(self.lrs):
                for si, s in enumerate(self.steps):
                    r = self.returns[wi, li, si]
                    grid.append({"width": w, "lr": lr, "steps": s,
                                 "mean": float(r.mean()), "std": float(r.std()),
                                 "returns": [float(x) for x in r]})
        return {
            "dataset_id": self.dataset_id, "grid_name": self.grid_name,
            "widths": list(self.widths),
            "lrs": list(self.lrs), "steps": list(self.steps),
            "seeds": int(self.returns.shape[-1]), "recorded": self.recorded,
            "top50_per_width": {str(w): float(v) for w, v in zip(self.widths, self.top50)},
            "top50_mean": self.top50_mean,
            "score": self.score, "score_note": self.score_note,
            "score_definition": "mean over widths of the top-50% config mean return, "
                                "divided by the recorded fitness",
            "seconds": round(self.seconds, 1),
            **({"machine": self.machine} if self.machine else {}), "grid": grid,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransferResult:
        """Inverse of ``to_dict`` (e.g. to re-plot ``results/transfer/<id>.json``)."""
        widths, lrs, steps = tuple(d["widths"]), tuple(d["lrs"]), tuple(d["steps"])
        returns = np.zeros((len(widths), len(lrs), len(steps), int(d["seeds"])))
        for g in d["grid"]:
            returns[widths.index(g["width"]), lrs.index(g["lr"]),
                    steps.index(g["steps"])] = g["returns"]
        return cls(dataset_id=d["dataset_id"], widths=widths, lrs=lrs, steps=steps,
                   returns=returns, recorded=d["recorded"], seconds=d.get("seconds", 0.0),
                   grid=d.get("grid_name"), machine=d.get("machine", ""))


def _pool(res) -> jax.Array:
    """Pool completed episodes over the leading (init) axis; keeps other axes."""
    episodes = jnp.sum(res.episodes, axis=0)
    pooled = jnp.sum(res.return_sum, axis=0) / jnp.maximum(episodes, 1)
    return jnp.where(episodes > 0, pooled, jnp.mean(res.partial_return, axis=0))


def _program_key(recipe) -> tuple:
    """What a width's compiled program depends on: not the id, the ES, the master seed,
    the BC lr (traced) or step count (the grid's checkpoints)."""
    bc = dataclasses.replace(recipe.bc, lr=0.0, steps=0)
    return (recipe.env, recipe.policy, bc, recipe.eval, recipe.dataset, recipe.num_inits,
            recipe.variant, recipe.image)


_PROGRAMS: dict[tuple, Any] = {}  # (_program_key, steps) -> jitted program
_MAX_PROGRAMS = 8


def _width_program(recipe, steps: tuple[int, ...]):
    """Jitted ``f(keys (seeds,), lrs (L,), states, targets, weights, mean, var) ->
    returns (L, len(steps), seeds)``, one per ``(_program_key(recipe), steps)``."""
    key = (_program_key(recipe), steps)
    if key not in _PROGRAMS:
        while len(_PROGRAMS) >= _MAX_PROGRAMS:  # oldest first: the driver goes env by env
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = _build_program(recipe, steps)
    return _PROGRAMS[key]


def _build_program(recipe, steps: tuple[int, ...]):
    """The jitted program of ``_width_program``."""
    task = ControlTask(recipe)
    train = make_bc_train_sweep(task.module, recipe.bc, steps)
    k = recipe.num_inits

    def one_seed(key, lr, data):  # same key structure as ControlTask.make_fitness_fn
        states, targets, weights, mean, var = data

        def one_init(kk):
            k_init, k_eval = jax.random.split(kk)
            stacked, _ = train(task.init_params(k_init), states, targets, weights, lr)
            return jax.vmap(lambda p: task.evaluate(k_eval, p, mean, var))(stacked)

        return _pool(jax.vmap(one_init)(jax.random.split(key, k)))  # (len(steps),)

    def f(keys, lrs, *data):
        per_seed = jax.vmap(jax.vmap(one_seed, in_axes=(None, 0, None)),
                            in_axes=(0, None, None))
        return jnp.moveaxis(per_seed(keys, lrs, data), 0, -1)  # (L, S, seeds)

    return jax.jit(f)


def _width_fn(ds: SyntheticDataset, width: int, steps: tuple[int, ...]):
    """``f(keys (seeds,), lrs (L,)) -> returns (L, len(steps), seeds)`` for ``ds``; the
    dataset's arrays are arguments of a program shared by datasets of one protocol."""
    recipe = with_overrides(ds.recipe, width=width)
    task, states, targets, weights = _task_and_arrays(ds, recipe)
    mean, var = task.norm_arrays(ds.obs_mean, ds.obs_var)
    program = _width_program(recipe, tuple(steps))
    return lambda keys, lrs: program(keys, lrs, states, targets, weights, mean, var)


def transfer_grid(ds: SyntheticDataset, *, widths: Sequence[int] = DEFAULT_WIDTHS,
                  lrs: Sequence[float] = DEFAULT_LRS, steps: Sequence[int] = DEFAULT_STEPS,
                  seeds: int = 3, seed: int = 0, progress_fn=None) -> TransferResult:
    """Protocol returns of ``ds`` over the (width, lr, steps) grid, ``seeds`` BC seeds.

    Args:
        ds: a dataset with a recipe.
        widths / lrs / steps: grid axes (validated like ``with_overrides``).
        seeds: BC seeds per config (each pools ``num_inits`` runs).
        progress_fn: called as ``progress_fn(width, top50_at_width)`` after each width
            (each width's start and end are also logged: ``hades_zoo.engine.progress``).

    Returns:
        TransferResult.

    Raises:
        RecipeError: an out-of-range grid value or an empty axis.
    """
    import time

    widths, lrs = tuple(int(w) for w in widths), tuple(float(x) for x in lrs)
    steps = tuple(int(s) for s in steps)
    if not widths or not lrs or not steps:
        raise RecipeError("transfer grid axes must be non-empty (widths, lrs, steps).")
    check_count(seeds, "seeds", MAX_SEEDS, "number of BC seeds")
    for w in widths:
        with_overrides(ds.recipe, width=w)
    for lr in lrs:
        with_overrides(ds.recipe, lr=lr)
    for s in steps:
        with_overrides(ds.recipe, steps=s)
    if len(set(steps)) != len(steps) or list(steps) != sorted(steps):
        raise RecipeError(f"steps must be strictly increasing, got {list(steps)}.")
    use_compilation_cache()
    t0 = time.perf_counter()
    keys = jax.random.split(jax.random.key(seed), seeds)
    out = []
    grid = grid_name(widths, lrs, steps, seeds)
    bar = Steps(f"{ds.dataset_id}: transfer grid {grid}", total=len(widths))
    for w in widths:  # host loop over static shapes only
        with bar.step(f"width {w}: BC with {len(lrs)} lr(s) to {max(steps)} steps x "
                      f"{seeds} seed(s) x {ds.recipe.num_inits} inits, evaluate"):
            r = np.asarray(_width_fn(ds, w, steps)(keys, jnp.asarray(lrs)))
        out.append(r)
        if progress_fn is not None:
            progress_fn(w, r)
    return TransferResult(dataset_id=ds.dataset_id, widths=widths, lrs=lrs, steps=steps,
                          returns=np.stack(out), recorded=ds.info.fitness,
                          seconds=time.perf_counter() - t0,
                          grid=grid_name(widths, lrs, steps, seeds), machine=_machine())


def _machine() -> str:
    """``"<device kind> x<count>, jax <version>"`` of the default backend."""
    devices = jax.devices()
    return f"{devices[0].device_kind} x{len(devices)}, jax {jax.__version__}"


@styled
def plot_transfer(result: TransferResult, path) -> str:
    """Box plot of the top-50% configs' per-seed returns per width (Fig. 4 style).

    Raises:
        ImportError: matplotlib is missing (``pip install 'hades_zoo[plot]'``).
    """
    from hades_zoo.zoo.plot_style import save_figure
    from hades_zoo.zoo.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(result.widths) + 2.5, 3.5))
    data = [result.top_half(i).ravel() for i in range(len(result.widths))]
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(result.widths) + 1), [str(w) for w in result.widths])
    if result.recorded is not None:
        ax.axhline(result.recorded, ls="--", c="grey", lw=1, label="recorded fitness")
        lo, hi = ax.get_ylim()  # axhline does not autoscale: keep the record in view
        pad = 0.05 * (max(hi, result.recorded) - min(lo, result.recorded))
        ax.set_ylim(min(lo, result.recorded - pad), max(hi, result.recorded + pad))
        ax.legend(loc="lower right")
    score = "" if result.score is None else f", score {result.score:.2f}"
    ax.set_title(f"{result.dataset_id}: top-50% configs per width{score}")
    ax.set_xlabel("policy width")
    ax.set_ylabel("episode return")
    ax.grid(axis="y")
    fig.tight_layout()
    save_figure(fig, path)
    return str(path)


def render_transfer_section(result: TransferResult, plot_name: str | None = None, *,
                            others: Sequence[tuple[TransferResult, str]] = ()) -> str:
    """The card's Transfer section: ``result`` in full, one line per ``(result, json
    path)`` in ``others`` (the same dataset on other grids)."""
    d = result.to_dict()
    if d["score"] is not None:
        head = (f"**Transfer-robustness score: {d['score']:.3f}** = mean over widths of "
                "the mean return of the top-50% (lr, steps) configs "
                f"({result.top50_mean:.1f}), divided by the recorded fitness "
                f"({_f(result.recorded)}).")
    else:
        head = ("**Transfer-robustness score: n/a** (" + result.score_note.split(":")[0]
                + f"); mean over widths of the top-50% configs' mean return: "
                f"**{result.top50_mean:.1f}**.")
    lines = [
        (f"{head} Grid '{result.grid_name}': widths {list(result.widths)}, lrs "
         f"{list(result.lrs)}, BC steps {list(result.steps)}, {d['seeds']} BC seeds "
         "per config, each evaluated on the dataset's own protocol."),
        "",
        "| width | " + " | ".join(str(w) for w in result.widths) + " |",
        "|---|" + "---:|" * len(result.widths),
        "| top-50% mean return | " + " | ".join(f"{v:.1f}" for v in result.top50) + " |",
        "",
        f"Measured in {d['seconds']} s (compile included). Reproduce: `hades-zoo "
        f"transfer {result.dataset_id} {_grid_args(result)}`"
        + (f"; plot: `{plot_name}`." if plot_name else "."),
    ]
    for other, path in others:
        score = ("n/a" if other.score is None else f"{other.score:.3f}")
        lines += ["", (f"Also measured on grid '{other.grid_name}' (widths "
                       f"{list(other.widths)}, lrs {list(other.lrs)}, BC steps "
                       f"{list(other.steps)}, {other.returns.shape[-1]} seeds): score "
                       f"{score}, top-50% mean {other.top50_mean:.1f} (`{path}`).")]
    return "\n".join(lines)


def _grid_args(result: TransferResult) -> str:
    """The ``hades-zoo transfer`` options that measure ``result``'s grid."""
    if result.grid_name in GRIDS and GRIDS[result.grid_name].matches(
            result.widths, result.lrs, result.steps, result.returns.shape[-1]):
        return f"--grid {result.grid_name}"
    return (f"--widths {','.join(map(str, result.widths))} "
            f"--lrs {','.join(f'{x:g}' for x in result.lrs)} "
            f"--steps {','.join(map(str, result.steps))} --seeds {result.returns.shape[-1]}")


def _f(x):
    return "unknown" if x is None else f"{x:.1f}"
