"""Model cards: the README.md (a huggingface_hub ``ModelCard``) of a saved policy.

The YAML header carries the Hub metadata, laid out as huggingface_sb3 / rl-zoo3 cards
are: ``library_name: hades_zoo``, ``tags`` (the env, ``behaviour-distillation``,
``reinforcement-learning``, ...), ``datasets`` (the Hub dataset it was trained on,
when it came from one) and a ``model-index`` whose one result is the evaluation:
``mean_reward`` as ``"<mean> +/- <std>"`` on the env. A ``hades_zoo:`` block records
what a loader checks: the sha256 of ``config.json`` and of ``model.safetensors``, the
``format_version``, the dataset id and sha256. The body is for people: what the policy
is, copy-paste code to load it and act, the evaluation, the protocol, the files.
Nothing in a card is executed.
"""

from __future__ import annotations

import json
from typing import Any

from hades_zoo.errors import PolicyFormatError
from hades_zoo.hub.cards import CITATION

__all__ = ["policy_card_block", "policy_tags", "render_policy_card"]



def policy_tags(policy: Any) -> list[str]:
    """The card's tags: the env first, then the library's."""
    return [policy.recipe.env.name, "behaviour-distillation", "reinforcement-learning",
            "hades", "hades_zoo"]


def _hub_dataset(source: str | None) -> str | None:
    """``org/name`` of an ``hf:org/name[@rev]`` dataset source, else None."""
    if not source or not source.startswith("hf:"):
        return None
    return source[3:].partition("@")[0] or None


def _dataset_line(info: Any) -> str:
    repo = _hub_dataset(info.dataset_source)
    sha = f" (sha256 `{info.dataset_sha256}`)" if info.dataset_sha256 else ""
    if repo:
        return (f"[`{info.dataset_id}`](https://huggingface.co/datasets/{repo}) from the "
                f"Hub dataset `{info.dataset_source}`{sha}")
    if info.dataset_source:
        return f"`{info.dataset_id}` (`hz.load({info.dataset_source!r})`){sha}"
    return f"`{info.dataset_id}`{sha}"


def render_policy_card(policy: Any, *, config_sha256: str, weights_sha256: str,
                       repo_id: str | None = None, license: str = "apache-2.0") -> Any:
    """Render the model card of a saved policy.

    Args:
        policy: the ``TrainedPolicy``.
        config_sha256, weights_sha256: hex sha256 of its ``config.json`` and
            ``model.safetensors`` (``hub.policy_format.policy_to_bytes``).
        repo_id: the Hub model repo (``org/name``) for the load snippet, if known.
        license: card license.

    Returns:
        ``huggingface_hub.ModelCard``; ``str(card)`` is the README.md text.
    """
    from huggingface_hub import ModelCard, ModelCardData, metadata_eval_result

    from hades_zoo.hub.policy_format import (
        CONFIG_FILE,
        POLICY_FORMAT,
        POLICY_FORMAT_VERSION,
        WEIGHTS_FILE,
    )

    info, r = policy.info, policy.recipe
    env = r.env.name
    block = {
        "format": POLICY_FORMAT, "format_version": POLICY_FORMAT_VERSION,
        "config": CONFIG_FILE, "config_sha256": config_sha256,
        "weights": WEIGHTS_FILE, "weights_sha256": weights_sha256,
        "dataset_id": info.dataset_id, "dataset_sha256": info.dataset_sha256,
        "dataset_source": info.dataset_source, "env": env, "backend": r.env.backend,
        "obs_norm": r.env.obs_norm,
    }
    meta: dict[str, Any] = {"library_name": "hades_zoo", "license": license,
                            "tags": policy_tags(policy)}
    hub_ds = _hub_dataset(info.dataset_source)
    if hub_ds:
        meta["datasets"] = [hub_ds]
    evaluated = info.eval_mean is not None
    if evaluated:
        meta.update(metadata_eval_result(
            model_pretty_name=f"HaDES BC policy on {info.dataset_id}",
            task_pretty_name="reinforcement-learning", task_id="reinforcement-learning",
            metrics_pretty_name="mean_reward", metrics_id="mean_reward",
            metrics_value=f"{info.eval_mean:.2f} +/- {info.eval_std:.2f}",
            dataset_pretty_name=env, dataset_id=env))
    data = ModelCardData(**meta, hades_zoo=block)
    source = f"hf:{repo_id}" if repo_id else "file:<this folder>"
    kind = "discrete" if policy.discrete else "continuous"
    ev = (f"{info.eval_mean:.2f} +/- {info.eval_std:.2f} over {info.eval_episodes} "
          f"episodes ({'greedy' if info.eval_greedy else 'sampled'} actions, seed "
          f"{info.eval_seed})" if evaluated else
          "not evaluated yet: `hz.evaluate(policy, episodes=10)`")
    overrides = ", ".join(f"{k}={v}" for k, v in info.overrides) or "none"
    p = r.policy
    body = f"""
# HaDES policy trained on `{info.dataset_id}` ({env})

An MLP policy for `{env}` ({r.env.backend}, {kind} actions) trained from scratch by
behaviour cloning on the behaviour-distillation dataset {_dataset_line(info)}
(HaDES, Lupu et al., ICLR 2024). Mean return: {ev}.

## Use

```python
import jax
import hades_zoo as hz

policy = hz.load_policy("{source}")   # sha256-checked against this card
env = hz.make_env(policy)             # {env}, built as the protocol builds it
obs, env_state = env.reset(jax.random.key(0))
state = policy.init_state()           # the {r.env.obs_norm!r} observation normaliser
action, state = policy.act(obs, state)                # greedy; key=... samples
obs, env_state, reward, done = env.step(jax.random.key(1), env_state, action)

traj = hz.rollout(policy, episodes=10, seed=0)        # arrays; traj.returns (10,)
print(traj.returns.mean())
```

## Evaluation

| env | episodes | mean_reward |
|---|---|---|
| `{env}` | {info.eval_episodes if evaluated else "-"} | {f"{info.eval_mean:.2f} +/- {info.eval_std:.2f}" if evaluated else "-"} |

## Training

| piece | value |
|---|---|
| dataset | {_dataset_line(info)} |
| network | MLP width {p.width}, depth {p.depth}, {p.activation}; {"categorical" if policy.discrete else "diagonal Gaussian"} head |
| observations | obs_norm `{r.env.obs_norm}` |
| BC | lr {r.bc.lr}, {r.bc.steps} steps, seed {info.seed}; overrides: {overrides} |
| init | {f"fixed, module.init(PRNGKey({p.init_seed}))" if p.init_seed is not None else "fresh, from the seed"} |

## Files

- `{WEIGHTS_FILE}`: the parameters by pytree path (`params/Dense_0/kernel`, ...),
  the const normalisation statistics (`obs_norm/mean`, `obs_norm/var`) and the BC
  loss curve; sha256 `{weights_sha256}`.
- `{CONFIG_FILE}`: network, normalisation, dataset (id and sha256), BC settings and
  seed, the evaluation, the full protocol (recipe), the hades_zoo version and the
  format_version ({POLICY_FORMAT_VERSION}); sha256 `{config_sha256}`.

## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def policy_card_block(text: str, *, source: str) -> dict[str, Any]:
    """The ``hades_zoo:`` block of a policy's README.md text.

    Raises:
        PolicyFormatError: an unreadable YAML header, or no block recording the
            sha256 of ``config.json``.
    """
    from huggingface_hub import ModelCard

    try:
        block = ModelCard(text, ignore_metadata_errors=True).data.to_dict().get(
            "hades_zoo")
    except Exception as err:  # noqa: BLE001 - a YAML header huggingface_hub cannot parse
        raise PolicyFormatError(f"{source}: the model card's YAML header is invalid "
                                f"({err}); save or push the policy again.") from None
    if not isinstance(block, dict) or not isinstance(block.get("config_sha256"), str):
        raise PolicyFormatError(
            f"{source}: the model card has no hades_zoo block recording the sha256 of "
            "config.json (it was not written by hades_zoo); refusing an unverified "
            "policy. Push it again with `hades-zoo push DIR --repo-id ...`.")
    return json.loads(json.dumps(block))  # plain data
