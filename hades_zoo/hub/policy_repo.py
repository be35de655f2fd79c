"""Keep and share trained policies: a policy folder (``save_policy``), read back from a
folder or a Hub model repo (``load_policy``), uploaded as a Hub model repo
(``push_policy``, ``push_policy_folder``).

A policy folder (and a model repo) holds exactly:

- ``model.safetensors``: the weights (``hub.policy_format``);
- ``config.json``: everything needed to rebuild and check it, including the
  weights' sha256;
- ``README.md``: the model card (``hub.policy_card``), whose ``hades_zoo:`` block
  records the sha256 of ``config.json`` and of ``model.safetensors``.

The folder is written as one step (``data.atomic_folder``): a reader or a stop at any
instant sees the old policy or the new one. Reading checks the weights against the
config's sha256 and, when the card records them, both files against the card; from
the Hub the card is required (it pins the commit every file is read at) and a file
that fails its sha256 is fetched once more, then refused (``HubError``). Once read,
a repo loads offline (``HF_HUB_OFFLINE=1``) from huggingface_hub's cache.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from hades_zoo.data.atomic_folder import check_replaceable, write_folder
from hades_zoo.data.cache import sha256_bytes
from hades_zoo.data.untrusted import MAX_DATASET_BYTES, read_regular_file
from hades_zoo.engine.acting import TrainedPolicy
from hades_zoo.errors import HubError, PolicyFormatError
from hades_zoo.hub.client import CARD_FILE, _offline, _tagged
from hades_zoo.hub.folder import RepoFile
from hades_zoo.hub.policy_card import policy_card_block, render_policy_card
from hades_zoo.hub.policy_format import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    parse_config,
    policy_from_bytes,
    policy_to_bytes,
)
from hades_zoo.hub.pull import _commit_of, _download, _fetch_parsed
from hades_zoo.hub.push import PushResult, _upload
from hades_zoo.hub.refs import _check_repo_id, _check_revision, parse_hub_source

logger = logging.getLogger(__name__)

__all__ = [
    "POLICY_FILES",
    "check_destination",
    "is_policy_folder",
    "load_policy",
    "push_policy",
    "push_policy_folder",
    "save_policy",
]

#: The files of a policy folder / model repo.
POLICY_FILES = (CARD_FILE, CONFIG_FILE, WEIGHTS_FILE)


# ----------------------------------------------------------------------- writing
def _evaluated(policy: TrainedPolicy, evaluate: bool, episodes: int) -> TrainedPolicy:
    """The policy with an evaluation recorded (measured now when asked and missing)."""
    if not evaluate or policy.info.eval_mean is not None:
        return policy
    from hades_zoo.engine.evaluation import evaluate as run_evaluate

    return policy.with_evaluation(run_evaluate(policy, episodes=episodes, seed=0), seed=0)


def _policy_files(policy: TrainedPolicy, repo_id: str | None,
                  license: str) -> dict[str, bytes]:
    config, weights = policy_to_bytes(policy)
    card = render_policy_card(policy, config_sha256=sha256_bytes(config),
                              weights_sha256=sha256_bytes(weights), repo_id=repo_id,
                              license=license)
    return {CARD_FILE: str(card).encode(), CONFIG_FILE: config, WEIGHTS_FILE: weights}


def is_policy_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder with a hades_zoo policy ``config.json``."""
    path = Path(path)
    if not os.path.isdir(path) or not os.path.lexists(path / CONFIG_FILE):
        return False
    try:
        parse_config(_read(path / CONFIG_FILE), source=str(path))
    except PolicyFormatError:
        return False
    return True


def check_destination(directory: Path) -> None:
    """A policy may go into a missing or empty folder, or replace a policy folder.

    Raises:
        PolicyFormatError: ``directory`` holds files and is no policy folder.
        StorageError: ``directory`` is a file, the current folder (or holds it) or a
            mount point (``data.atomic_folder.check_replaceable``).
    """
    check_replaceable(directory)
    if not directory.is_dir() or not any(directory.iterdir()):
        return
    if not is_policy_folder(directory):
        raise PolicyFormatError(
            f"{directory} holds files and is not a policy folder (no hades_zoo policy "
            f"{CONFIG_FILE}); refusing to replace it. Pass a new or empty folder, e.g. "
            f"--out {directory / 'policy'}.")


def save_policy(policy: TrainedPolicy, directory: str | Path, *,
                repo_id: str | None = None, license: str = "apache-2.0",
                evaluate: bool = False, episodes: int = 10) -> tuple[RepoFile, ...]:
    """Write a policy folder: ``model.safetensors``, ``config.json``, ``README.md``.

    Args:
        policy: the ``TrainedPolicy``.
        directory: a new or empty folder, or a policy folder to replace; replaced as
            one step (files of an old policy folder that these do not name are kept).
        repo_id: Hub model repo for the card's load snippet.
        license: card license.
        evaluate: when the policy records no evaluation, measure one first
            (``episodes`` episodes, seed 0) for the card's ``model-index``.
        episodes: episodes of that evaluation.

    Returns:
        The files written (path, size, sha256), sorted by path.

    Raises:
        UnsafeNameError: the policy's dataset id is not a plain name (nothing written).
        PolicyFormatError: ``directory`` holds other files; a policy without recipe.
        StorageError: the folder cannot be written (the old one is unchanged).
    """
    directory = Path(directory)
    policy_to_bytes(policy)  # the gate and the checks, before any work or write
    check_destination(directory)
    files = _policy_files(_evaluated(policy, evaluate, episodes), repo_id, license)
    write_folder(directory, files)
    logger.info("wrote policy folder %s", directory)
    return tuple(RepoFile(k, len(v), sha256_bytes(v)) for k, v in sorted(files.items()))


# ----------------------------------------------------------------------- reading
def _read(path: Path) -> bytes:
    """A policy file's bytes: a regular file of sane size (a FIFO or a link to
    ``/dev/zero`` is refused, not read forever)."""
    try:
        return read_regular_file(path, what="policy file", error=PolicyFormatError,
                                 max_bytes=MAX_DATASET_BYTES)
    except PolicyFormatError as err:
        raise PolicyFormatError(f"{err}; a policy folder holds "
                                f"{', '.join(POLICY_FILES)}.") from None


def _load_folder(directory: Path) -> TrainedPolicy:
    if not os.path.lexists(directory / CONFIG_FILE):
        raise PolicyFormatError(
            f"{directory} is not a policy folder: it has no {CONFIG_FILE}. A policy "
            "folder is what `hades-zoo train SOURCE --out DIR` or "
            "policy.save_pretrained(DIR) writes (a dataset folder is loaded with "
            "hz.load).")
    config, weights = _read(directory / CONFIG_FILE), _read(directory / WEIGHTS_FILE)
    card = directory / CARD_FILE
    if os.path.lexists(card):  # a FIFO or odd card is refused, not skipped
        text = _read(card).decode("utf-8", errors="replace")
        try:
            block = policy_card_block(text, source=str(card))
        except PolicyFormatError:
            block = None  # a card of the user's own: the config still checks the weights
        if block is not None:
            _check_against_card(block, config, weights, str(directory))
    return policy_from_bytes(config, weights, source=str(directory))


def _check_against_card(block: dict, config: bytes, weights: bytes, where: str) -> None:
    for name, data, key in ((CONFIG_FILE, config, "config_sha256"),
                            (WEIGHTS_FILE, weights, "weights_sha256")):
        recorded = block.get(key)
        if recorded is not None and sha256_bytes(data) != str(recorded).lower():
            raise PolicyFormatError(
                f"{where}/{name}: sha256 mismatch (the card records {recorded}, the file "
                f"has {sha256_bytes(data)}); the file is truncated or altered. Save the "
                "policy again, or delete the folder and fetch it again.")


def _verified(src, filename: str, commit: str, sha256: str) -> bytes:
    """A repo file at ``commit`` whose sha256 must be ``sha256`` (one forced re-fetch)."""
    for attempt in (1, 2):
        path = _download(src, filename, commit, force=attempt == 2, repo_type="model")
        data = path.read_bytes()
        if sha256_bytes(data) == sha256.lower():
            return data
        if attempt == 2 or _offline():
            fix = ("unset HF_HUB_OFFLINE so it can be fetched again" if _offline() else
                   "pin a revision (hf:org/name@<commit>) or ask the owner to re-push")
            raise HubError(
                f"hf:{src.repo_id}@{commit}/{filename}: sha256 mismatch (the card "
                f"records {sha256}, the file has {sha256_bytes(data)}); refusing an "
                f"altered policy. Fetched {attempt} time(s); {fix}.")
        logger.warning("hf:%s@%s/%s fails its sha256; downloading it again",
                       src.repo_id, commit, filename)
    raise AssertionError("unreachable")  # pragma: no cover


def _load_hub(source: str) -> TrainedPolicy:
    src = parse_hub_source(source)
    revision = src.revision or "main"
    try:
        card_path, block = _fetch_parsed(
            src, CARD_FILE, revision,
            lambda p: policy_card_block(p.read_text(encoding="utf-8"), source=str(p)),
            repo_type="model")
    except HubError as err:
        if err.reason == "not_found_entry":
            raise _tagged("not_found_entry", (
                f"hf:{src.repo_id}@{revision}: the model repo has no README.md card "
                "recording the policy's sha256; push it with `hades-zoo push DIR "
                "--repo-id ...`.")) from err
        raise
    commit = _commit_of(card_path, CARD_FILE)
    for key in ("config_sha256", "weights_sha256"):
        if not isinstance(block.get(key), str) or len(block[key]) != 64:
            raise HubError(f"hf:{src.repo_id}@{commit}: the card records no valid {key}; "
                           "refusing an unverified policy. Push it again.")
    config = _verified(src, CONFIG_FILE, commit, block["config_sha256"])
    weights = _verified(src, WEIGHTS_FILE, commit, block["weights_sha256"])
    return policy_from_bytes(config, weights, source=f"hf:{src.repo_id}@{commit}")


def load_policy(source: str | Path) -> TrainedPolicy:
    """Load a saved policy, every file checked.

    Args:
        source: a policy folder (a path, ``file:<path>``, or a file inside it), or
            ``hf:<org>/<name>[@revision]``: a Hub model repo.

    Returns:
        The ``TrainedPolicy``; it acts bit-for-bit as the one saved.

    Raises:
        PolicyFormatError: no such folder, not a policy folder, a missing, corrupt or
            altered file (sha256 against the config and the card), an unknown
            ``format_version``, weights that do not fit the config.
        UnsafeNameError: the dataset id it records is not a plain name.
        HubSourceError: a malformed ``hf:`` source (before any request).
        HubError: Hub failures; no card recording the sha256; a file that fails its
            sha256 twice; offline without the files in huggingface_hub's cache.
    """
    text = str(source)
    if isinstance(source, Path) or not text.startswith("hf:"):
        path = Path(text.removeprefix("file:"))
        if path.is_file() and path.name in POLICY_FILES:
            path = path.parent
        if not path.is_dir():
            hint = (f"; for a Hub model repo write hf:{text}" if
                    text.count("/") == 1 and not path.exists() and ":" not in text
                    else "")
            raise PolicyFormatError(f"{text}: no such policy folder{hint}.")
        return _load_folder(path)
    return _load_hub(text)


# ----------------------------------------------------------------------- pushing
def _check_push_args(repo_id: str, revision: str | None, tag: str | None) -> None:
    _check_repo_id(repo_id)
    _check_revision(revision)
    _check_revision(tag, "tag")


def push_policy(policy: TrainedPolicy, repo_id: str, *, revision: str | None = None,
                tag: str | None = None, private: bool = False, token: str | None = None,
                dry_run: bool = False, overwrite_card: bool = False,
                commit_message: str | None = None, evaluate: bool = True,
                episodes: int = 10, license: str = "apache-2.0") -> PushResult:
    """Upload ``policy`` to a Hub model repo in one commit, with its model card.

    Args:
        policy: the ``TrainedPolicy``.
        repo_id: ``org/name`` of the model repo (created if missing).
        revision, tag, private, token, dry_run, overwrite_card, commit_message: as in
            ``hades_zoo.hub.push_to_hub`` (an existing README.md is kept, its
            ``hades_zoo:`` block updated, unless ``overwrite_card``).
        evaluate: when the policy records no evaluation, measure one first
            (``episodes`` episodes, seed 0) for the card's ``model-index``.
        episodes: episodes of that evaluation.
        license: card license.

    Returns:
        PushResult.

    Raises:
        HubSourceError: invalid repo id, revision or tag (before anything else).
        UnsafeNameError: the policy's dataset id is not a plain name.
        HubError: as in ``push_to_hub``.
    """
    _check_push_args(repo_id, revision, tag)
    policy_to_bytes(policy)  # the gate, before evaluating
    policy = _evaluated(policy, evaluate, episodes)
    with tempfile.TemporaryDirectory(prefix="hades_zoo-push-") as tmp:
        folder = Path(tmp) / "policy"
        files = save_policy(policy, folder, repo_id=repo_id, license=license)
        return _upload(folder, files, repo_id, name=f"policy of {policy.info.dataset_id}",
                       revision=revision, tag=tag, private=private, token=token,
                       dry_run=dry_run, overwrite_card=overwrite_card,
                       commit_message=commit_message, repo_type="model")


def push_policy_folder(directory: str | Path, repo_id: str, *,
                       revision: str | None = None, tag: str | None = None,
                       private: bool = False, token: str | None = None,
                       dry_run: bool = False, overwrite_card: bool = False,
                       commit_message: str | None = None) -> PushResult:
    """Upload a policy folder (``hades-zoo train ... --out DIR``) to a Hub model repo.

    The folder is loaded first (every check of :func:`load_policy`; its card must
    record the sha256 of both files). Exactly its ``README.md``, ``config.json`` and
    ``model.safetensors`` are uploaded, in one commit; a card that is the one
    hades_zoo rendered is rendered again naming ``repo_id`` (same sha256 block).

    Raises:
        PolicyFormatError: not a policy folder, or it fails a check.
        HubSourceError, HubError: as in :func:`push_policy`.
    """
    _check_push_args(repo_id, revision, tag)
    directory = Path(directory)
    policy = load_policy(directory)
    card = _read(directory / CARD_FILE).decode("utf-8", errors="replace")
    policy_card_block(card, source=str(directory / CARD_FILE))  # required here
    config, weights = _read(directory / CONFIG_FILE), _read(directory / WEIGHTS_FILE)
    with tempfile.TemporaryDirectory(prefix="hades_zoo-push-") as tmp:
        folder = Path(tmp)
        rendered = _policy_files(policy, None, "apache-2.0")
        if rendered[CARD_FILE].decode() == card and rendered[CONFIG_FILE] == config:
            card = _policy_files(policy, repo_id, "apache-2.0")[CARD_FILE].decode()
        contents = {CARD_FILE: card.encode(), CONFIG_FILE: config, WEIGHTS_FILE: weights}
        for name, data in contents.items():
            (folder / name).write_bytes(data)
        files = tuple(RepoFile(k, len(v), sha256_bytes(v))
                      for k, v in sorted(contents.items()))
        return _upload(folder, files, repo_id, name=f"policy of {policy.info.dataset_id}",
                       revision=revision, tag=tag, private=private, token=token,
                       dry_run=dry_run, overwrite_card=overwrite_card,
                       commit_message=commit_message, repo_type="model")

