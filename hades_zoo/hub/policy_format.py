"""The saved-policy format: a ``TrainedPolicy`` as ``config.json`` + ``model.safetensors``.

``model.safetensors`` holds float32 tensors named by their pytree path:

- ``params/Dense_0/kernel`` ... ``params/Dense_<depth>/bias`` (and ``params/log_std``
  for a continuous policy): the flax parameters;
- ``obs_norm/mean``, ``obs_norm/var`` (obs_dim,): the constant normalisation
  statistics (the ``const`` protocol uses them; kept whenever the policy has them);
- ``training/bc_losses`` (steps,): the BC loss curve.

Its metadata says ``format: hades_zoo-policy`` and the ``format_version``. Bytes are
deterministic (sorted header), so a policy has one sha256.

``config.json`` (UTF-8 JSON object, sorted keys) holds ``format``, ``format_version``,
``library_name``, ``hades_zoo_version`` and ``library_versions``; ``network`` (MLP
obs / action sizes, discrete or Gaussian head, width, depth, activation);
``normalisation`` (``kind`` none / const / running, epsilon, the running start);
``dataset`` (``id``, ``sha256``, ``source``); ``training`` (BC seed, overrides, BC
settings, init, final loss); ``evaluation`` (or null); ``recipe`` (the full protocol,
as in dataset files); ``weights`` (``file``, ``sha256``, the name and shape of every
tensor). Reading checks all of it (:func:`policy_from_bytes`). Nothing is pickled.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np

from hades_zoo.data.cache import sha256_bytes
from hades_zoo.data.format import encode, library_versions
from hades_zoo.data.paths import check_name
from hades_zoo.data.recipe_io import recipe_from_dict, recipe_to_dict
from hades_zoo.engine.acting import PolicyInfo, TrainedPolicy
from hades_zoo.errors import (
    EnvError,
    MissingEnvProviderError,
    PolicyFormatError,
    RecipeError,
    UnsafeNameError,
)

__all__ = [
    "CONFIG_FILE",
    "POLICY_FORMAT",
    "POLICY_FORMAT_VERSION",
    "SUPPORTED_POLICY_VERSIONS",
    "WEIGHTS_FILE",
    "parse_config",
    "policy_from_bytes",
    "policy_to_bytes",
]

POLICY_FORMAT = "hades_zoo-policy"
POLICY_FORMAT_VERSION = 1
SUPPORTED_POLICY_VERSIONS = (1,)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
_NORM_EPS = 1e-8


def _flatten(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Nested dicts of arrays -> ``{"a/b": array}``: the pytree path joined by ``/``."""
    out: dict[str, np.ndarray] = {}
    for key in sorted(tree):
        value = tree[key]
        name = f"{prefix}/{key}" if prefix else str(key)
        if hasattr(value, "keys"):
            out.update(_flatten(value, name))
        else:
            out[name] = np.asarray(value, np.float32)
    return out


def _nest(flat: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Inverse of :func:`_flatten` for the names under ``prefix/`` (kept as the top key:
    ``params/Dense_0/kernel`` -> ``{"params": {"Dense_0": {"kernel": ...}}}``)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        if not name.startswith(prefix + "/"):
            continue
        node = out
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _version() -> str:
    return library_versions().get("hades_zoo", "0+unknown")


def _check_dataset_id(dataset_id: Any, source: str) -> str:
    """The gate (``data.paths``): a policy's dataset id is a plain name."""
    try:
        return check_name(dataset_id, what="dataset id")
    except UnsafeNameError as err:
        raise UnsafeNameError(
            f"{source}: {err} It is the id of the dataset this policy was trained on; "
            "refusing a policy that carries it.") from None


def policy_to_bytes(policy: TrainedPolicy) -> tuple[bytes, bytes]:
    """``(config.json bytes, model.safetensors bytes)`` of ``policy`` (deterministic).

    Raises:
        UnsafeNameError: the policy's dataset id is not a plain name.
        PolicyFormatError: the policy has no recipe or module.
    """
    from hades_zoo.engine.envs import provider_record

    if policy.recipe is None or policy.module is None:
        raise PolicyFormatError(
            "cannot save a policy without its recipe and module; train it with "
            "hz.train_policy(ds) (or load it with hz.load_policy).")
    info = policy.info
    _check_dataset_id(info.dataset_id, "<policy>")
    tensors = _flatten(policy.params)
    if set(policy.params) != {"params"}:
        raise PolicyFormatError("a policy's params are flax variables {'params': ...}; "
                                f"got top-level keys {sorted(policy.params)}.")
    if policy.obs_mean is not None and policy.obs_var is not None:
        tensors["obs_norm/mean"] = np.asarray(policy.obs_mean, np.float32)
        tensors["obs_norm/var"] = np.asarray(policy.obs_var, np.float32)
    losses = np.asarray(policy.bc_losses, np.float32).reshape(-1)
    tensors["training/bc_losses"] = losses
    weights = encode(tensors, {"format": POLICY_FORMAT,
                               "format_version": str(POLICY_FORMAT_VERSION)})
    r = policy.recipe
    kind = r.env.obs_norm
    config = {
        "format": POLICY_FORMAT,
        "format_version": POLICY_FORMAT_VERSION,
        "library_name": "hades_zoo",
        "hades_zoo_version": _version(),
        "library_versions": library_versions(),
        "network": {
            "kind": "mlp", "obs_dim": policy.obs_dim, "action_dim": policy.action_dim,
            "discrete": policy.discrete,
            "head": "categorical" if policy.discrete else "diagonal-gaussian",
            "width": r.policy.width, "depth": r.policy.depth,
            "activation": r.policy.activation,
        },
        "normalisation": {
            "kind": kind, "epsilon": _NORM_EPS,
            "tensors": ["obs_norm/mean", "obs_norm/var"] if kind == "const" else [],
            **({"running_start": {"mean": 0.0, "var": 1.0, "count": 1e-4},
                "shared_over_batch": True} if kind == "running" else {}),
        },
        "dataset": {"id": info.dataset_id, "sha256": info.dataset_sha256,
                    "source": info.dataset_source},
        "training": {
            "seed": info.seed, "overrides": dict(info.overrides),
            "bc": dataclasses.asdict(r.bc),
            "init": (f"fixed: module.init(PRNGKey({r.policy.init_seed}))"
                     if r.policy.init_seed is not None else "fresh, from the seed"),
            "final_bc_loss": float(losses[-1]) if losses.size else None,
        },
        "evaluation": None if info.eval_mean is None else {
            "mean_return": info.eval_mean, "std_return": info.eval_std,
            "episodes": info.eval_episodes, "seed": info.eval_seed,
            "greedy": info.eval_greedy},
        "recipe": recipe_to_dict(r),
        # what a reader must install to rebuild the env (docs/ENVIRONMENTS.md)
        "env_provider": dataclasses.asdict(provider_record(r.env)),
        "weights": {"file": WEIGHTS_FILE, "sha256": sha256_bytes(weights),
                    "tensors": {k: list(v.shape) for k, v in sorted(tensors.items())}},
    }
    text = json.dumps(config, indent=1, sort_keys=True, allow_nan=False) + "\n"
    return text.encode(), weights


def parse_config(data: bytes, *, source: str) -> dict[str, Any]:
    """``config.json`` bytes -> its object, with the format and version checked.

    Raises:
        PolicyFormatError: not UTF-8 JSON, not an object, nested absurdly deep, not a
            hades_zoo policy config, or an unknown ``format_version``.
    """
    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise PolicyFormatError(
            f"{source}: not a valid JSON config ({type(err).__name__}: "
            f"{str(err)[:120]}); save the policy again (policy.save_pretrained) or "
            "fetch it again.") from None
    if not isinstance(config, dict) or config.get("format") != POLICY_FORMAT:
        raise PolicyFormatError(
            f"{source}: not a hades_zoo policy config (its 'format' is not "
            f"{POLICY_FORMAT!r}); a policy folder is what `hades-zoo train ... --out DIR` "
            "or policy.save_pretrained(DIR) writes.")
    version = config.get("format_version")
    if isinstance(version, bool) or version not in SUPPORTED_POLICY_VERSIONS:
        raise PolicyFormatError(
            f"{source}: policy format_version {version!r} is not supported by this "
            f"hades_zoo (reads {', '.join(map(str, SUPPORTED_POLICY_VERSIONS))}); "
            "upgrade hades_zoo (`pip install -U hades_zoo`).")
    return config


def _section(config: dict, key: str, source: str) -> dict[str, Any]:
    value = config.get(key)
    if not isinstance(value, dict):
        raise PolicyFormatError(f"{source}: config.json lacks the {key!r} object; save "
                                "the policy again.")
    return value


def _read_tensors(data: bytes, source: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load

    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    try:
        if n <= 0 or 8 + n > len(data):
            raise ValueError(f"header length {n}, file {len(data)} bytes")
        meta = json.loads(data[8:8 + n]).get("__metadata__") or {}
        tensors = load(data)
    except Exception as err:  # noqa: BLE001 - safetensors raises its own SafetensorError
        raise PolicyFormatError(
            f"{source}: corrupt or truncated weights file ({err}); save the policy "
            "again or fetch it again.") from None
    if meta.get("format") != POLICY_FORMAT:
        raise PolicyFormatError(f"{source}: not a hades_zoo policy weights file "
                                f"(metadata format {meta.get('format')!r}).")
    return tensors


def _provider_of(config: dict):
    """The config's ``env_provider`` record, or None (policies saved before it was
    recorded, or a malformed one: the env's own error is then raised)."""
    from hades_zoo.data.env_provider import EnvProviderRecord

    value = config.get("env_provider")
    fields = {f.name for f in dataclasses.fields(EnvProviderRecord)}
    if (not isinstance(value, dict) or not value.get("name") or set(value) - fields
            or not all(isinstance(v, str) for v in value.values())):
        return None
    return EnvProviderRecord(**value)


def policy_from_bytes(config_data: bytes, weights_data: bytes, *,
                      source: str) -> TrainedPolicy:
    """A ``TrainedPolicy`` from its two files, every part checked.

    Args:
        config_data: ``config.json`` bytes.
        weights_data: ``model.safetensors`` bytes.
        source: where they came from, for messages.

    Returns:
        The policy; it acts bit-for-bit as the one saved.

    Raises:
        MissingEnvProviderError: the env's provider is not installed (the message
            names what the config recorded: the package to install, or the env to
            register).
        PolicyFormatError: see :func:`parse_config`; weights whose sha256 differs
            from the config's; corrupt weights; a tensor missing, extra, of another
            shape or dtype than the config and the network need, or not finite; a
            config whose network disagrees with its recipe or its env.
        UnsafeNameError: the dataset id it records is not a plain name.
    """
    import jax
    import jax.numpy as jnp

    from hades_zoo.engine.envs import spec_as_recorded
    from hades_zoo.engine.policy import make_policy

    config = parse_config(config_data, source=f"{source}/{CONFIG_FILE}")
    where = f"{source}/{WEIGHTS_FILE}"
    declared = _section(config, "weights", source)
    sha = sha256_bytes(weights_data)
    if sha != str(declared.get("sha256", "")).lower():
        raise PolicyFormatError(
            f"{where}: sha256 mismatch (config.json records {declared.get('sha256')}, "
            f"the file has {sha}, {len(weights_data)} bytes); the weights are truncated "
            "or altered. Save the policy again, or delete the folder and fetch it again.")
    dataset = _section(config, "dataset", source)
    _check_dataset_id(dataset.get("id"), source)
    try:
        recipe = recipe_from_dict(_section(config, "recipe", source))
    except RecipeError as err:
        raise PolicyFormatError(f"{source}/{CONFIG_FILE}: invalid recipe: {err}") from None
    net = _section(config, "network", source)
    mine = {"width": recipe.policy.width, "depth": recipe.policy.depth,
            "activation": recipe.policy.activation}
    if any(net.get(k) != v for k, v in mine.items()):
        raise PolicyFormatError(
            f"{source}/{CONFIG_FILE}: network {({k: net.get(k) for k in mine})} "
            f"disagrees with its recipe's policy {mine}; save the policy again.")
    try:
        spec = spec_as_recorded(recipe.env, _provider_of(config),
                                what=f"policy {source}")
    except MissingEnvProviderError:
        raise
    except EnvError as err:
        raise PolicyFormatError(f"{source}: {err}") from None
    if (net.get("obs_dim"), net.get("action_dim"), net.get("discrete")) != (
            spec.obs_dim, spec.action_dim, spec.discrete):
        raise PolicyFormatError(
            f"{source}/{CONFIG_FILE}: network obs_dim {net.get('obs_dim')}, action_dim "
            f"{net.get('action_dim')}, discrete {net.get('discrete')} does not fit env "
            f"{recipe.env.name!r} ({spec.obs_dim}, {spec.action_dim}, {spec.discrete}).")
    module = make_policy(recipe.policy, spec.action_dim, spec.discrete)
    shapes = jax.eval_shape(module.init, jax.random.key(0),
                            jnp.zeros((spec.obs_dim,), jnp.float32))
    want = {k: list(v.shape) for k, v in _flatten(
        jax.tree_util.tree_map(lambda s: np.zeros(s.shape, np.float32), shapes)).items()}
    tensors = _read_tensors(weights_data, where)
    losses = tensors.get("training/bc_losses")
    if losses is not None and losses.ndim == 1:
        want["training/bc_losses"] = list(losses.shape)  # any number of steps
    else:
        want["training/bc_losses"] = ["steps"]
    if "obs_norm/mean" in tensors or recipe.env.obs_norm == "const":
        want["obs_norm/mean"] = want["obs_norm/var"] = [spec.obs_dim]
    got = {k: list(v.shape) for k, v in tensors.items()}
    listed = declared.get("tensors")
    for problem, names in (("missing", sorted(set(want) - set(got))),
                           ("unexpected", sorted(set(got) - set(want)))):
        if names:
            raise PolicyFormatError(f"{where}: {problem} tensor(s) {names} for this "
                                    "network; save the policy again.")
    for name, shape in sorted(want.items()):
        if got[name] != shape or (isinstance(listed, dict) and listed.get(name) != shape):
            raise PolicyFormatError(
                f"{where}: tensor {name!r} has shape {got[name]} (config.json: "
                f"{listed.get(name) if isinstance(listed, dict) else None}) but the "
                f"network needs {shape}; the config and the weights do not belong "
                "together.")
        if tensors[name].dtype != np.float32 or not np.all(np.isfinite(tensors[name])):
            raise PolicyFormatError(f"{where}: tensor {name!r} is not finite float32 "
                                    f"(dtype {tensors[name].dtype}).")
    params = jax.tree_util.tree_map(jnp.asarray, _nest(tensors, "params"))
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    ev = config.get("evaluation") if isinstance(config.get("evaluation"), dict) else {}
    overrides = training.get("overrides") if isinstance(training.get("overrides"),
                                                        dict) else {}
    info = PolicyInfo(
        dataset_id=dataset["id"], dataset_sha256=dataset.get("sha256"),
        dataset_source=dataset.get("source"), seed=training.get("seed"),
        overrides=tuple(sorted(overrides.items())), eval_mean=ev.get("mean_return"),
        eval_std=ev.get("std_return"), eval_episodes=ev.get("episodes"),
        eval_seed=ev.get("seed"), eval_greedy=ev.get("greedy"))
    has_stats = "obs_norm/mean" in tensors
    return TrainedPolicy(
        params=params, bc_losses=jnp.asarray(tensors["training/bc_losses"]),
        obs_mean=tensors["obs_norm/mean"] if has_stats else None,
        obs_var=tensors["obs_norm/var"] if has_stats else None,
        module=module, recipe=recipe, info=info)
