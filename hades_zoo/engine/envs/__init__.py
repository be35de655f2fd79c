"""Environments behind one functional API, built by env providers (one folder per family).

``make_env(EnvConfig) -> Env`` returns pure, jittable single-env functions
(``contract``):

- ``reset(key) -> (obs (obs_dim,), state)``
- ``step(key, state, action) -> (obs, state, reward, done)``

``step`` auto-resets: when ``done`` is true the returned ``obs``/``state`` already
belong to the next episode. gymnax resets to a freshly sampled initial state; brax's
``AutoResetWrapper`` (as in the reference protocol) resets each env to the initial
state drawn at its first ``reset``. Observations are flat float32 vectors; brax
actions are clipped to [-1, 1] before stepping (the reference ``ClipAction``).

Which code builds an env is its provider's (``provider.EnvProvider``, found by
``registry``): the recipe's ``env.backend`` selects it. Built in: ``brax/`` (backends
positional, spring, generalized, mjx), ``gymnax/`` (``gymnax``), ``image/``
(``image``); each folder holds its adapter, names and compat shims. Users add their
own with ``register_env`` (``registered``) / ``register_provider`` or a package's
``hades_zoo.envs`` entry point (``entry_points``); ``adapters`` turns gymnax-style
and brax / MuJoCo Playground-style env objects into factories; ``contract`` states
and checks what an env must be (docs/ENVIRONMENTS.md). ``names`` asks the provider
for observation / action names; ``quiet`` captures third-party output while a
backend loads.
"""

from __future__ import annotations

from hades_zoo.engine.envs.adapters import from_brax_like, from_gymnax
from hades_zoo.engine.envs.brax import BRAX_SPECS
from hades_zoo.engine.envs.contract import Env, EnvSpec, check_env
from hades_zoo.engine.envs.entry_points import ENTRY_POINT_GROUP
from hades_zoo.engine.envs.image import IMAGE_SPECS
from hades_zoo.engine.envs.provider import EnvProvider
from hades_zoo.engine.envs.registered import register_env
from hades_zoo.engine.envs.registry import (
    describe_providers,
    env_spec,
    known_envs,
    make_env,
    provider_for,
    provider_record,
    providers,
    register_provider,
    render_for,
)
from hades_zoo.errors import EnvError, MissingEnvProviderError

__all__ = [
    "BRAX_SPECS",
    "ENTRY_POINT_GROUP",
    "IMAGE_SPECS",
    "Env",
    "EnvProvider",
    "EnvSpec",
    "check_dataset_fits_env",
    "check_env",
    "describe_providers",
    "env_spec",
    "from_brax_like",
    "from_gymnax",
    "known_envs",
    "make_env",
    "provider_for",
    "provider_record",
    "providers",
    "register_env",
    "register_provider",
    "render_for",
    "spec_as_recorded",
]


def _spec_of_dataset(ds):
    """``env_spec`` of a dataset's env; a missing provider names the package the
    dataset recorded (``info.env_provider``)."""
    return spec_as_recorded(ds.recipe.env, ds.info.env_provider,
                            what=f"dataset {ds.info.dataset_id!r}")


def spec_as_recorded(cfg, record, *, what: str):
    """``env_spec(cfg)`` of a file that recorded its env provider (``record``: an
    ``EnvProviderRecord`` or None); ``what`` names the file in the message.

    Raises:
        MissingEnvProviderError: no provider serves ``cfg.backend``; with a record, the
            message says what to install (its package and version) or, for an env
            registered by a program, to register it first.
        EnvError: as ``env_spec``.
    """
    try:
        return env_spec(cfg)
    except MissingEnvProviderError as err:
        if record is None:
            raise
        install = record.install_command()
        how = (f"install it ({install}" + (f"; it was made with version {record.version}"
                                           if record.version else "") + ")"
               if install else
               f"register the env first: it was made by a program that called "
               f"hades_zoo.register_env({cfg.name!r}, ..., provider={record.name!r})")
        raise MissingEnvProviderError(
            f"{what} needs env {cfg.name!r} of env provider {record.describe()}, which "
            f"is not installed: {how}, then load it again.") from err


def check_dataset_fits_env(ds) -> None:
    """Raise EnvError when a dataset's arrays do not match its env's spaces: the
    observation size, the action kind, the action size (continuous), the label range
    and the ``label_logits`` width (discrete: one column per action).

    Raises:
        MissingEnvProviderError: the env's provider is not installed; the message
            names the package (and version) the dataset recorded.
        EnvError: as above, or an unknown env.
    """
    spec = _spec_of_dataset(ds)
    if ds.obs_dim != spec.obs_dim:
        raise EnvError(
            f"dataset {ds.info.dataset_id!r} has states of size {ds.obs_dim} but env "
            f"{ds.recipe.env.name!r} ({ds.recipe.env.backend}) observes {spec.obs_dim} "
            "values; was it distilled for another env or env version?"
        )
    if spec.discrete != ds.discrete:
        kind = "discrete" if spec.discrete else "continuous"
        raise EnvError(
            f"env {ds.recipe.env.name!r} has {kind} actions but dataset "
            f"{ds.info.dataset_id!r} stores {'labels' if ds.discrete else 'actions'}."
        )
    if not spec.discrete and ds.actions.shape[1] != spec.action_dim:
        raise EnvError(
            f"dataset {ds.info.dataset_id!r} has actions of size {ds.actions.shape[1]} but "
            f"env {ds.recipe.env.name!r} takes {spec.action_dim}."
        )
    if spec.discrete and ds.label_logits is not None:
        width = int(ds.label_logits.shape[1])
        if width != spec.action_dim:
            raise EnvError(
                f"dataset {ds.info.dataset_id!r} has label_logits of width {width} but "
                f"env {ds.recipe.env.name!r} has {spec.action_dim} actions; the logits "
                "need one column per action: was it distilled for another env? "
                "Regenerate it for this env."
            )
    if spec.discrete and ds.labels is not None:
        import numpy as np

        if int(np.max(np.asarray(ds.labels))) >= spec.action_dim:
            raise EnvError(
                f"dataset {ds.info.dataset_id!r} has labels up to "
                f"{int(np.max(np.asarray(ds.labels)))} but env {ds.recipe.env.name!r} has "
                f"{spec.action_dim} actions."
            )
