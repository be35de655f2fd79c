"""hub/: sharing datasets through the Hugging Face Hub (or a mirror).

Owns: dataset repo folders (``folder``), upload (``push``), download with sha256
checks (``pull``), saved policies as folders and Hub model repos (``policy_format``,
``policy_card``, ``policy_repo``), what a repo records about its file (``recorded``: card and sidecar),
the copies ``pull`` keeps in hades_zoo's cache (``pulled``), repo ids and revisions
(``refs``), dataset cards (``cards``) and the Hub client (``client``). May import: ``hades_zoo.engine``, ``hades_zoo.data``,
``hades_zoo.errors`` (never ``zoo`` or ``cli``).

Hub: dataset repos on the Hugging Face Hub (or a mirror) as a dataset source.

Layout of a dataset repo (``repo_type="dataset"``), written by :func:`save_pretrained`
and uploaded by :func:`push_to_hub` in one commit:

- ``<id>.safetensors``: the dataset (``hades_zoo.data.format``);
- ``README.md``: the dataset card (``hades_zoo.hub.cards``), whose ``hades_zoo:`` block
  records the file name, its sha256 and ``format_version``;
- ``<id>.safetensors.sha256``: its sha256 (``sha256sum`` format), committed with it;
- ``recipe.yaml``: the recipe that regenerates the data;
- ``data/train-00000-of-00001.parquet``: one row per state-action pair, for
  ``datasets.load_dataset`` and the Hub viewer.

Reads (:func:`load_from_hub`, :func:`pull_from_hub`) go through huggingface_hub and
its cache, pin the commit the card was read at, and check the sha256 recorded in the
card; a mismatch is fetched again once with ``force_download`` and then raises
``HubError``. ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, ``HF_HOME`` / ``HF_HUB_CACHE`` are
read at call time (huggingface_hub itself reads them once, at import). Every
repo id, revision and file name is checked before any request. Nothing downloaded is
executed or unpickled: safetensors, YAML (safe loader) and JSON only.

This is the ``ModelHubMixin`` layering (``huggingface_hub/hub_mixin.py``) written for
dataset repos.
"""

from hades_zoo.data.dataset import register_sharing as _register_sharing
from hades_zoo.engine.acting import register_policy_sharing as _register_policy_sharing
from hades_zoo.hub.folder import (
           RepoFile,
           from_pretrained,
           parquet_bytes,
           save_pretrained,
)
from hades_zoo.hub.policy_repo import (
           load_policy,
           push_policy,
           push_policy_folder,
           save_policy,
)
from hades_zoo.hub.pull import PullResult, load_from_hub, pull_from_hub
from hades_zoo.hub.push import PushResult, push_folder, push_to_hub
from hades_zoo.hub.refs import HubSource, check_repo_filename, parse_hub_source

__all__ = ["HubSource", "check_repo_filename", "parse_hub_source", "PullResult", "PushResult", "RepoFile", "from_pretrained", "load_from_hub",
           "parquet_bytes", "pull_from_hub", "push_folder", "push_to_hub", "save_pretrained",
           "load_policy", "push_policy", "push_policy_folder", "save_policy"]

# SyntheticDataset.save_pretrained / from_pretrained / push_to_hub (data/ defines the
# methods, this layer supplies them: data/ never imports hub/).
_register_sharing(save_pretrained=save_pretrained, from_pretrained=from_pretrained,
                  push_to_hub=push_to_hub)
# TrainedPolicy.save_pretrained / from_pretrained / push_to_hub, the same way.
_register_policy_sharing(save_pretrained=save_policy, from_pretrained=load_policy,
                         push_to_hub=push_policy)
