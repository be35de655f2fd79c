"""hades_zoo: the dataset zoo and hub for behaviour distillation (HaDES).

Lupu et al., "Behaviour Distillation", ICLR 2024.
"""

from importlib import metadata as _metadata

from hades_zoo.api import (
    EpisodeReturns,
    TrainedPolicy,
    evaluate,
    load,
    protocol_returns,
    train_and_evaluate,
    train_policy,
)
from hades_zoo.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.distill import DistillResult, distill
from hades_zoo.errors import (
    DataNotFoundError,
    DatasetFormatError,
    EnvError,
    HadesZooError,
    HubError,
    HubSourceError,
    RecipeError,
    UnknownDatasetError,
)
from hades_zoo.hub import (
    from_pretrained,
    load_from_hub,
    pull_from_hub,
    push_to_hub,
    save_pretrained,
)
from hades_zoo.io import load_dataset_file, save_dataset
from hades_zoo.multitask import MultiTaskDataset, merge
from hades_zoo.registry import info, list_datasets
from hades_zoo.image_eval import certify_image_dataset, evaluate_image_dataset
from hades_zoo.image_data import load_split
from hades_zoo.recipes import (
    BCConfig,
    DatasetConfig,
    EnvConfig,
    ESConfig,
    EvalConfig,
    ImageConfig,
    PolicyConfig,
    Recipe,
    load_recipe,
)

__version__ = _metadata.version("hades_zoo")

__all__ = [
    "BCConfig", "DatasetConfig", "DatasetFormatError", "DatasetInfo", "DistillResult",
    "ESConfig", "EnvConfig", "EnvError", "EpisodeReturns", "EvalConfig", "HadesZooError",
    "HubError", "HubSourceError", "PolicyConfig", "Recipe", "RecipeError", "SyntheticDataset",
    "TrainedPolicy", "UnknownDatasetError", "distill", "evaluate", "load",
    "load_dataset_file", "load_recipe", "protocol_returns", "save_dataset",
    "train_and_evaluate", "train_policy", "__version__",
    # zoo
    "MultiTaskDataset", "info", "list_datasets", "merge",
    # images
    "ImageConfig", "DataNotFoundError", "certify_image_dataset", "evaluate_image_dataset",
    "load_split",
    # hub
    "from_pretrained", "load_from_hub", "pull_from_hub", "push_to_hub", "save_pretrained",
]
