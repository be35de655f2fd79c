"""hades_zoo: the dataset zoo and hub for behaviour distillation (HaDES).

Lupu et al., "Behaviour Distillation", ICLR 2024.

Layers (docs/ARCHITECTURE.md), imports pointing down only:
``cli -> zoo -> hub -> engine -> data -> errors``. This module re-exports the public
API and nothing else.
"""

from importlib import metadata as _metadata

from hades_zoo import _moved, _startup

_moved.install()

with _startup.guarded_imports():  # a Ctrl-C in these ~2 s is not lost
    from hades_zoo.data.cache import set_compilation_cache
    from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset, save_dataset
    from hades_zoo.data.recipe import (
        BCConfig,
        DatasetConfig,
        EnvConfig,
        ESConfig,
        EvalConfig,
        ImageConfig,
        PolicyConfig,
        Recipe,
    )
    from hades_zoo.data.recipe_io import load_recipe
    from hades_zoo.engine.acting import ActState, PolicyInfo, TrainedPolicy, make_env
    from hades_zoo.engine.distill import DistillResult, distill
    from hades_zoo.engine.envs import (
        Env,
        EnvProvider,
        EnvSpec,
        from_brax_like,
        from_gymnax,
        register_env,
        register_provider,
    )
    from hades_zoo.engine.evaluation import (
        EpisodeReturns,
        Trajectories,
        evaluate,
        protocol_returns,
        rollout,
        train_and_evaluate,
        train_policy,
    )
    from hades_zoo.engine.image_data import load_split
    from hades_zoo.errors import (
        DataNotFoundError,
        DatasetFormatError,
        DistributedError,
        EnvError,
        HadesZooError,
        HubError,
        HubSourceError,
        MemoryBudgetError,
        MissingEnvProviderError,
        OutputFormatError,
        PolicyFormatError,
        RecipeError,
        RecipeMismatchError,
        RenderError,
        UnknownDatasetError,
    )
    from hades_zoo.hub import (
        from_pretrained,
        load_from_hub,
        load_policy,
        pull_from_hub,
        push_to_hub,
        save_pretrained,
    )
    from hades_zoo.zoo.image_eval import certify_image_dataset, evaluate_image_dataset
    from hades_zoo.zoo.loading import (
        AmbiguousSourceError,
        SourceNotFoundError,
        load,
        load_dataset_file,
    )
    from hades_zoo.zoo.multitask import MultiTaskDataset, merge
    from hades_zoo.zoo.registry import info, list_datasets
    from hades_zoo.zoo.replay import RenderResult, render


def _version() -> str:
    """The installed distribution's version; from a source checkout on ``PYTHONPATH``
    (no installed metadata), pyproject.toml's version tagged ``+source``."""
    try:
        return _metadata.version("hades_zoo")
    except _metadata.PackageNotFoundError:
        import re
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        found = (re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.M)
                 if pyproject.exists() else None)
        return f"{found.group(1)}+source" if found else "0+unknown"


__version__ = _version()

__all__ = [
    "BCConfig", "DatasetConfig", "DatasetFormatError", "DatasetInfo", "DistillResult",
    "ESConfig", "EnvConfig", "EnvError", "EpisodeReturns", "EvalConfig", "HadesZooError",
    "HubError", "HubSourceError", "PolicyConfig", "Recipe", "RecipeError",
    "RecipeMismatchError", "SyntheticDataset",
    "TrainedPolicy", "UnknownDatasetError", "distill", "evaluate", "load",
    "load_dataset_file", "load_recipe", "protocol_returns", "save_dataset",
    "train_and_evaluate", "train_policy", "__version__",
    # sources and the compilation cache
    "AmbiguousSourceError", "SourceNotFoundError", "set_compilation_cache",
    # zoo
    "MultiTaskDataset", "info", "list_datasets", "merge",
    # images
    "ImageConfig", "DataNotFoundError", "certify_image_dataset", "evaluate_image_dataset",
    "load_split",
    # scale out
    "DistributedError", "MemoryBudgetError",
    # hub
    "from_pretrained", "load_from_hub", "pull_from_hub", "push_to_hub", "save_pretrained",
    # policies: act, roll out, keep, share
    "ActState", "PolicyFormatError", "PolicyInfo", "Trajectories", "load_policy",
    "make_env", "rollout",
    # envs of your own (docs/ENVIRONMENTS.md)
    "Env", "EnvProvider", "EnvSpec", "MissingEnvProviderError", "from_brax_like",
    "from_gymnax", "register_env", "register_provider",
    # watch: a policy playing, as a video
    "OutputFormatError", "RenderError", "RenderResult", "render",
]
