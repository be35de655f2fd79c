"""A multi-task measurement: the paper's three bars per env, as numbers, JSON and a figure.

For every env i of a merge (``hades_zoo.zoo.multitask_train.run_multitask``), Lupu et
al. (ICLR 2024, §5.3, Fig. 5) compare three policies, each normalised by the first:

- right: BC on D_i alone with D_i's own protocol, evaluated in env i;
- wrong: BC on another env's dataset D_j alone, evaluated in env i. The states of D_j
  have another size, so they keep the columns the merge gives them (``disjoint``:
  D_j's own input columns; env i's observation fills env i's columns, zeros
  elsewhere; the first ``act_dim_i`` outputs are the action);
- merged: BC on the merge of all datasets, evaluated in env i the same way.

Bars are mean ± standard error over BC seeds (ddof=1, / sqrt(seeds)), both divided by
the mean right-dataset return.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

import numpy as np

from hades_zoo.zoo.plot_style import styled

__all__ = ["MultiTaskResult", "plot_multitask", "NORMALISED_DEFINITION", "BARS_DEFINITION"]


def _stderr(x: np.ndarray) -> float | None:
    """Standard error of the mean (ddof=1); None for fewer than two values."""
    x = np.asarray(x, np.float64)
    return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else None


@dataclasses.dataclass(frozen=True)
class MultiTaskResult:
    """Multi-task returns per env, beside the right and wrong datasets' returns.

    Attributes:
        dataset_ids: the merged datasets, in order.
        returns: (tasks, seeds) merged-dataset returns (env i: its own protocol).
        single: (tasks, seeds) right-dataset returns (``protocol_returns``), or None.
        recorded: recorded fitness per task (None entries if unknown).
        recipe: the merged run's protocol (dict).
        seconds: wall time.
        layout: the merge layout (``merge``).
        wrong: (tasks, tasks, seeds): ``wrong[i, j]`` = returns in env i of the
            policy trained on D_j's pairs only (merged protocol and input layout);
            NaN on the diagonal. None when not measured.
        obs_offsets, obs_dims, act_dims: (tasks,) where each env's observation sits
            in the merged input, and the true sizes.
        machine, date: where and when (UTC) it was measured.
    """

    dataset_ids: tuple[str, ...]
    returns: np.ndarray
    single: np.ndarray | None
    recorded: tuple[float | None, ...]
    recipe: dict
    seconds: float = 0.0
    layout: str = "disjoint"
    wrong: np.ndarray | None = None
    obs_offsets: tuple[int, ...] = ()
    obs_dims: tuple[int, ...] = ()
    act_dims: tuple[int, ...] = ()
    machine: str = ""
    date: str = ""

    @property
    def right_means(self) -> np.ndarray | None:
        """(tasks,) mean right-dataset return: the normaliser of every bar."""
        return None if self.single is None else self.single.mean(1)

    def _norm(self, x: np.ndarray, i: int) -> tuple[float | None, float | None]:
        """(mean, stderr) of returns ``x`` in env i / mean right-dataset return."""
        s = None if self.single is None else float(self.right_means[i])
        if s is None or s <= 0:
            return None, None
        se = _stderr(x)
        return float(np.mean(x) / s), (None if se is None else se / s)

    @property
    def normalised(self) -> list[float | None]:
        """Mean merged return / mean right-dataset return, per env."""
        return [self._norm(self.returns[i], i)[0] for i in range(len(self.dataset_ids))]

    @property
    def vs_recorded(self) -> list[float | None]:
        return [float(m / r) if r else None
                for m, r in zip(self.returns.mean(1), self.recorded)]

    def bars(self, i: int) -> list[tuple[str, float | None, float | None]]:
        """Env i's bars ``(label, normalised mean, normalised stderr)``: right,
        wrong (one per other dataset), merged."""
        out = []
        if self.single is not None:
            out.append(("right: " + self.dataset_ids[i], *self._norm(self.single[i], i)))
        if self.wrong is not None:
            out += [("wrong: " + d, *self._norm(self.wrong[i, j], i))
                    for j, d in enumerate(self.dataset_ids) if j != i]
        out.append(("merged (" + self.layout + ")", *self._norm(self.returns[i], i)))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultiTaskResult:
        """The inverse of ``to_dict`` (e.g. to redraw a figure from its JSON).

        Raises:
            DatasetFormatError: a ``multitask.json`` without per-bar returns (written
                before the three-bar format); re-run ``hades-zoo merge``.
        """
        from hades_zoo.errors import DatasetFormatError

        rows = d.get("tasks") or []
        if not rows or any("merged" not in r for r in rows):
            raise DatasetFormatError(
                "this multitask.json has no per-bar returns (it predates the right / "
                "wrong / merged format); re-run `hades-zoo merge ... --out DIR`.")
        ids = tuple(d["datasets"])
        returns = np.array([r["merged"]["returns"] for r in rows])
        single = (None if any(r["right"] is None for r in rows)
                  else np.array([r["right"]["returns"] for r in rows]))
        wrong = None
        if all(r["wrong"] for r in rows):
            wrong = np.full((len(ids), len(ids), returns.shape[1]), np.nan)
            for i, r in enumerate(rows):
                for w in r["wrong"]:
                    wrong[i, ids.index(w["trained_on"])] = w["returns"]
        cols = [r.get("input_columns") for r in rows]
        return cls(
            dataset_ids=ids, returns=returns, single=single,
            recorded=tuple(r["recorded"] for r in rows), recipe=d.get("protocol", {}),
            seconds=float(d.get("seconds", 0.0)), layout=d["layout"], wrong=wrong,
            obs_offsets=tuple(c[0] for c in cols) if all(cols) else (),
            obs_dims=tuple(c[1] - c[0] for c in cols) if all(cols) else (),
            act_dims=(tuple(r["action_outputs"][1] for r in rows) if all(cols) else ()),
            machine=d.get("machine", ""), date=d.get("date", ""))

    def to_dict(self) -> dict[str, Any]:
        def stats(x, i):
            norm, norm_se = self._norm(x, i)
            return {"returns": [float(v) for v in x], "mean": float(np.mean(x)),
                    "std": float(np.std(x)), "stderr": _stderr(x),
                    "normalised": norm, "normalised_stderr": norm_se}

        rows = []
        for i, d in enumerate(self.dataset_ids):
            row = {
                "dataset_id": d, "multitask_mean": float(self.returns[i].mean()),
                "multitask_std": float(self.returns[i].std()),
                "multitask_returns": [float(x) for x in self.returns[i]],
                "single_mean": None if self.single is None else float(self.single[i].mean()),
                "single_std": None if self.single is None else float(self.single[i].std()),
                "recorded": self.recorded[i], "normalised": self.normalised[i],
                "vs_recorded": self.vs_recorded[i],
                "merged": stats(self.returns[i], i),
                "right": None if self.single is None else stats(self.single[i], i),
                "wrong": None if self.wrong is None else [
                    {"trained_on": e, **stats(self.wrong[i, j], i)}
                    for j, e in enumerate(self.dataset_ids) if j != i],
            }
            if self.obs_offsets:
                row["input_columns"] = [self.obs_offsets[i],
                                        self.obs_offsets[i] + self.obs_dims[i]]
                row["action_outputs"] = [0, self.act_dims[i]]
            rows.append(row)
        return {"datasets": list(self.dataset_ids), "layout": self.layout,
                "seeds": int(self.returns.shape[1]),
                "normalised_definition": NORMALISED_DEFINITION,
                "bars": BARS_DEFINITION,
                "input_width": (int(self.obs_offsets[-1] + self.obs_dims[-1])
                                if self.layout == "disjoint" and self.obs_offsets
                                else (max(self.obs_dims) if self.obs_dims else None)),
                "protocol": self.recipe, "seconds": round(self.seconds, 1),
                "machine": self.machine, "date": self.date, "tasks": rows}


NORMALISED_DEFINITION = (
    "mean return in env i / mean right-dataset return in env i (the dataset's own "
    "protocol), same seeds; normalised_stderr = stderr (ddof=1, / sqrt(seeds)) of the "
    "returns / the same mean right-dataset return")
BARS_DEFINITION = {
    "right": "BC on D_i alone with D_i's own protocol (protocol_returns), evaluated in "
             "env i: the normaliser",
    "wrong": "BC on D_j's pairs only, with the merged run's protocol and input layout "
             "(D_j's states in their own merged input columns), evaluated in env i with "
             "env i's normalised observation in env i's columns (zeros elsewhere) and "
             "the first act_dim_i outputs as the action",
    "merged": "BC on all merged pairs (merged run's protocol), evaluated the same way",
}


def _env_name(dataset_id: str) -> str:
    return dataset_id.rsplit("-", 2)[0] if dataset_id.count("-") >= 2 else dataset_id


def placement_caption(result: MultiTaskResult) -> str:
    """How each env's observation sits in the merged input (the figure's caption)."""
    if not result.obs_offsets:
        return ""
    width = (result.obs_offsets[-1] + result.obs_dims[-1] if result.layout == "disjoint"
             else max(result.obs_dims))
    cols = "; ".join(f"{_env_name(d)} obs -> columns [{o}, {o + n})"
                     for d, o, n in zip(result.dataset_ids, result.obs_offsets,
                                        result.obs_dims, strict=True))
    acts = ", ".join(f"{_env_name(d)} {a}" for d, a in
                     zip(result.dataset_ids, result.act_dims, strict=True))
    return (f"Input: {width} columns, layout {result.layout}: {cols}; zeros elsewhere. "
            f"Actions: the first act_dim outputs ({acts}). Wrong: BC on D_j alone, its "
            "states in D_j's columns, run in env i with env i's observation in env i's "
            "columns. Right: BC on D_i alone, its own protocol (= 1). Bars: mean ± s.e. "
            f"over {result.returns.shape[1]} BC seeds, / mean right return.")


@styled
def plot_multitask(result: MultiTaskResult, path) -> str:
    """The paper's Fig. 5 for one merge: right, wrong, merged bars per env.

    Args:
        result: a ``run_multitask`` result. Without the right-dataset baseline the
            merged bars are divided by the recorded fitness instead.
        path: the image file to write (format from its suffix).

    Returns:
        ``str(path)``.

    Raises:
        ImportError: matplotlib is missing (``pip install hades_zoo[plot]``).
    """
    from hades_zoo.zoo.plot_style import save_figure
    from hades_zoo.zoo.plotting import pyplot

    plt = pyplot()

    envs = len(result.dataset_ids)
    if result.single is None:  # no normaliser measured: merged / recorded only
        groups = [[("merged / recorded", v, None)] for v in result.vs_recorded]
        ylabel = "merged return / recorded fitness"
    else:
        groups = [result.bars(i) for i in range(envs)]
        ylabel = "return / right-dataset return"
    colours = {"right": "tab:grey", "wrong": "tab:orange", "merged": "tab:blue"}
    nbars = max(len(g) for g in groups)
    width = 0.8 / nbars
    fig, ax = plt.subplots(figsize=(1.2 + envs * (0.9 * nbars + 0.6), 4.4))
    for i, bars in enumerate(groups):
        for b, (label, mean, se) in enumerate(bars):
            x = i + (b - (len(bars) - 1) / 2) * width
            kind = label.split(":")[0].split(" ")[0]
            ax.bar(x, mean if mean is not None else 0.0, width * 0.92,
                   yerr=se, capsize=3, color=colours.get(kind, "tab:blue"))
            if mean is not None:
                ax.text(x, max(mean, 0) + (se or 0) + 0.02, f"{mean:.2f}",
                        ha="center", va="bottom", fontsize=7)
            ax.text(x, -0.03, label.replace(": ", ":\n"), rotation=90, ha="center",
                    va="top", fontsize=6, transform=ax.get_xaxis_transform())
    ax.axhline(1.0, ls="--", c="grey", lw=1)
    tops = [(m or 0) + (e or 0) for bars in groups for _, m, e in bars]
    ax.set_ylim(top=max(tops + [1.0]) + 0.12)
    longest = max(len(line) for bars in groups for label, _, _ in bars
                  for line in label.split(": "))
    ax.set_xticks(range(envs), [f"in {_env_name(d)}" for d in result.dataset_ids])
    ax.tick_params(axis="x", pad=8 + 3.6 * longest, length=0)  # below the bar labels
    ax.set_ylabel(ylabel)
    ax.set_title(f"one policy, {' + '.join(result.dataset_ids)} merged ({result.layout})")
    caption = placement_caption(result)
    fig.text(0.01, 0.01, textwrap.fill(caption, 150), fontsize=6, va="bottom")
    fig.tight_layout(rect=(0, 0.02 + 0.012 * caption.count(";"), 1, 1))
    save_figure(fig, path)
    return str(path)
