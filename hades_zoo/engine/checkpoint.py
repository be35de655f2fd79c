"""Distillation checkpoints: the ES state as safetensors plus a JSON sidecar.

``checkpoint.safetensors`` holds every leaf of the ``DistillState`` pytree under its
key path (``es_state.mean``, ``key`` as raw uint32 key data, ...). The sidecar
``checkpoint.json`` holds the generation, the recipe and the leaf names, so a resume
refuses a checkpoint written by another recipe. Both are written atomically; the JSON
goes last and names the tensors' sha256, so a crash between the two is detected.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from hades_zoo.data.cache import atomic_write_bytes
from hades_zoo.errors import DatasetFormatError, DivergedError, RecipeMismatchError

__all__ = ["read_generation", "save_checkpoint", "load_checkpoint", "recipe_differences",
           "check_finite_state", "nonfinite_leaves", "CKPT_TENSORS", "CKPT_JSON"]

CKPT_TENSORS = "checkpoint.safetensors"
CKPT_JSON = "checkpoint.json"
#: evosax's records of the best candidate seen: NaN / inf before the first generation,
#: and never read by the search, so they are not checked for finiteness.
_RECORDS = ("best_solution", "best_fitness")
#: What a diverged run's message tells the user to do.
_DIVERGED_FIX = ("lower es.sigma_init or es.lrate_init (or dataset.init_std), then run "
                 "the command again with --no-resume to start over (resume=False in "
                 "Python)")


def _leaves(tree: Any) -> dict[str, np.ndarray]:
    out = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        name = jax.tree_util.keystr(path)
        if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out[name] = np.asarray(leaf)
    return out


def nonfinite_leaves(leaves: dict[str, np.ndarray]) -> dict[str, int]:
    """The float leaves (``_leaves`` names) holding NaN/inf, with how many; evosax's
    best-candidate records (``_RECORDS``) are skipped."""
    bad = {}
    for name, value in leaves.items():
        if value.dtype.kind == "f" and not any(r in name for r in _RECORDS):
            n = int(value.size - np.count_nonzero(np.isfinite(value)))
            if n:
                bad[name] = n
    return bad


def check_finite_state(directory: str | Path, state: Any, *, generation: int) -> None:
    """Refuse an ES state with NaN/inf values before anything of it is written.

    A run whose search step overflows (``es.sigma_init``, ``es.lrate_init`` too large)
    goes NaN; a checkpoint of it would be resumed by every rerun of the same command
    and fail the same way. ``directory`` keeps what it held (its last good checkpoint).

    Raises:
        DivergedError: naming the leaves, the generation, the last good checkpoint and
            ``--no-resume``.
    """
    bad = nonfinite_leaves(_leaves(state))
    if not bad:
        return
    last = read_generation(directory)
    held = (f"{directory} keeps its last good checkpoint, at generation {last} (resuming "
            "it would diverge the same way)" if last else
            f"{directory} holds no checkpoint of this run")
    names = ", ".join(f"{k.lstrip('.')} ({v})" for k, v in list(bad.items())[:4])
    raise DivergedError(
        f"the run diverged: after generation {generation} the ES state has "
        f"{sum(bad.values())} NaN/inf value(s) ({names}), so nothing of it was written; "
        f"{held}; {_DIVERGED_FIX}.")


def save_checkpoint(directory: str | Path, state: Any, *, generation: int,
                    recipe_json: str) -> None:
    """Write ``state`` (a pytree) and its sidecar into ``directory``.

    Raises:
        DivergedError: ``state`` holds NaN/inf (``check_finite_state``); nothing is
            written.
    """
    from safetensors.numpy import save

    directory = Path(directory)
    check_finite_state(directory, state, generation=generation)
    data = save({k: np.ascontiguousarray(v) for k, v in _leaves(state).items()})
    atomic_write_bytes(directory / CKPT_TENSORS, data)
    sidecar = {
        "generation": generation,
        "recipe": json.loads(recipe_json),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    atomic_write_bytes(directory / CKPT_JSON, json.dumps(sidecar, indent=1).encode())


def load_checkpoint(directory: str | Path, template: Any, *, recipe_json: str
                    ) -> tuple[Any, int] | None:
    """Restore a checkpoint into the structure of ``template``.

    Returns:
        ``(state, generation)``, or None when ``directory`` holds no checkpoint.

    Raises:
        DatasetFormatError: the checkpoint is corrupt.
        RecipeMismatchError: it was written by another recipe (also a
            ``DatasetFormatError``); the message names the fields that differ.
        DivergedError: it holds NaN/inf values (written before ``save_checkpoint``
            refused them): its run cannot go on.
    """
    from safetensors.numpy import load

    directory = Path(directory)
    side, tens = directory / CKPT_JSON, directory / CKPT_TENSORS
    if not side.exists():
        if tens.exists():  # never start over silently: that discards the run
            raise DatasetFormatError(
                f"{tens} has no {CKPT_JSON} beside it (deleted or moved, or the run was "
                f"killed while writing its first checkpoint), so the run it holds cannot "
                f"be resumed. Put {CKPT_JSON} back, or pass --no-resume (resume=False in "
                "Python) to start over in this folder, which discards it."
            )
        return None
    try:
        sidecar = json.loads(side.read_text())
        data = tens.read_bytes()
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetFormatError(
            f"unreadable checkpoint in {directory} ({err}); delete {CKPT_JSON} and "
            f"{CKPT_TENSORS} to start over."
        ) from err
    then, now = _without_length(sidecar.get("recipe")), _without_length(json.loads(recipe_json))
    if then != now:
        raise RecipeMismatchError(
            f"the checkpoint in {directory} was written by another recipe: "
            f"{recipe_differences(then, now)}. To start over in this folder pass "
            "--no-resume (resume=False in Python); to keep that run, give another "
            "--out; to resume it, use the recipe (and --set overrides) it was written "
            "with."
        )
    if hashlib.sha256(data).hexdigest() != sidecar.get("sha256"):
        raise DatasetFormatError(
            f"{tens} does not match the sha256 in {CKPT_JSON} (interrupted write?); "
            "delete both files to start over."
        )
    arrays = load(data)
    bad = nonfinite_leaves(arrays)
    if bad:
        raise DivergedError(
            f"the checkpoint in {directory} (generation {sidecar.get('generation')}) holds "
            f"{sum(bad.values())} NaN/inf value(s) ({', '.join(k.lstrip('.') for k in bad)}): "
            f"its run diverged, and resuming it cannot go on; {_DIVERGED_FIX}.")
    paths_leaves = jax.tree_util.tree_leaves_with_path(template)
    leaves = []
    for path, leaf in paths_leaves:
        name = jax.tree_util.keystr(path)
        if name not in arrays:
            raise DatasetFormatError(f"checkpoint lacks {name}; it was written by another version.")
        value = arrays[name]
        if value.size != np.size(leaf) and not jax.dtypes.issubdtype(
                getattr(leaf, "dtype", None), jax.dtypes.prng_key):
            raise DatasetFormatError(
                f"checkpoint leaf {name} has {value.size} values, expected {np.size(leaf)}.")
        if jax.dtypes.issubdtype(getattr(leaf, "dtype", None), jax.dtypes.prng_key):
            value = jax.random.wrap_key_data(value)
        else:
            # safetensors stores 0-d arrays as shape (1,): restore the template's shape.
            value = jax.numpy.asarray(value, dtype=leaf.dtype).reshape(np.shape(leaf))
        leaves.append(value)
    generation = sidecar.get("generation")
    counters = [np.asarray(arrays[jax.tree_util.keystr(path)]).ravel()
                for path, _ in paths_leaves
                if jax.tree_util.keystr(path).endswith("generation_counter")]
    if (not isinstance(generation, int) or isinstance(generation, bool)
            or any(c.size != 1 or int(c[0]) != generation for c in counters)):
        held = ", ".join(str(int(c[0])) for c in counters if c.size == 1) or "?"
        raise DatasetFormatError(
            f"{side} says generation {generation!r} but {tens} holds an ES state at "
            f"generation {held} (an edited or mixed-up checkpoint); put the matching "
            f"{CKPT_JSON} back, or pass --no-resume (resume=False in Python) to start over."
        )
    treedef = jax.tree_util.tree_structure(template)
    return jax.tree_util.tree_unflatten(treedef, leaves), generation


def read_generation(directory: str | Path) -> int:
    """The generation a checkpoint in ``directory`` was written at (0 if none or
    unreadable; ``load_checkpoint`` reports what is wrong with an unreadable one)."""
    side = Path(directory) / CKPT_JSON
    try:
        return int(json.loads(side.read_text()).get("generation", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def _without_length(recipe: Any) -> Any:
    """A recipe's JSON minus ``es.generations``: the number of generations does not
    change any generation before it (schedules are per generation), so a run may be
    resumed with more generations (extended) or fewer (closed where it stands)."""
    if not isinstance(recipe, dict):
        return recipe
    out = json.loads(json.dumps(recipe))
    if isinstance(out.get("es"), dict):
        out["es"].pop("generations", None)
    return out


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A recipe's JSON as ``{"es.popsize": 8, ...}`` (lists and scalars are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def recipe_differences(then: Any, now: Any, *, limit: int = 6) -> str:
    """The fields two recipes' JSON differ in, as ``es.popsize: 8 in the checkpoint, 16
    now; seed: 0 in the checkpoint, 5 now`` (at most ``limit``, then how many more)."""
    a, b = _flat(then if then is not None else {}), _flat(now)
    missing = object()

    def show(value: Any) -> str:
        return "absent" if value is missing else json.dumps(value)

    rows = []
    for key in sorted(set(a) | set(b)):
        old, new = a.get(key, missing), b.get(key, missing)
        if old != new:
            rows.append(f"{key}: {show(old)} in the checkpoint, {show(new)} now")
    if not rows:  # not two mappings (an unreadable sidecar's recipe)
        return "its recorded recipe is not the one given"
    more = f"; and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(rows[:limit]) + more
