"""The Hub client: endpoint, offline mode and timeouts read at call time, the HfApi, and
huggingface_hub errors turned into ``HubError`` messages that name the fix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from hades_zoo.data.cache import (
    hf_cache_dir,
)
from hades_zoo.errors import HubError

logger = logging.getLogger(__name__)


DEFAULT_ENDPOINT = "https://huggingface.co"


CARD_FILE = "README.md"


# ----------------------------------------------------------------------- environment
def _endpoint() -> str:
    """HF_ENDPOINT at call time (huggingface_hub only reads it at import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _offline() -> bool:
    """HF_HUB_OFFLINE at call time."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _timeout() -> float:
    """Seconds to wait for the Hub's answer to a metadata request."""
    try:
        return float(os.environ.get("HADES_ZOO_HUB_TIMEOUT", "10"))
    except ValueError:
        return 10.0


def _library() -> dict[str, str]:
    from importlib import metadata

    try:
        version = metadata.version("hades_zoo")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = "0+unknown"
    return {"library_name": "hades_zoo", "library_version": version}


_ENDPOINT_LOCK = threading.Lock()


@contextlib.contextmanager
def _client_endpoint(endpoint: str) -> Iterator[None]:
    """Make huggingface_hub's import-time ENDPOINT constant match ``endpoint``.

    ``HfApi(endpoint=...)`` sends every request to ``endpoint``, but ``CommitInfo``
    parses the returned commit URL with ``RepoUrl(url)`` against the constant read at
    import; when HF_ENDPOINT changed since, a successful commit would surface as a
    ValueError. Held under a lock and restored on exit.
    """
    from huggingface_hub import constants

    with _ENDPOINT_LOCK:
        saved = constants.ENDPOINT
        constants.ENDPOINT = endpoint
        try:
            yield
        finally:
            constants.ENDPOINT = saved


def _api(token: str | None = None) -> Any:
    """An HfApi bound to the current endpoint."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=_endpoint(), token=token, **_library())


def _hub_error(err: BaseException, *, action: str, repo_id: str,
               revision: str | None = None, filename: str | None = None) -> HubError:
    """Translate a huggingface_hub / requests failure into a HubError naming the fix."""
    import requests
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision or 'main'}" + (f"/{filename}" if filename else "")
    head = f"{action} {where} at {_endpoint()}"
    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, (OfflineModeIsEnabled,)) or (
            isinstance(e, LocalEntryNotFoundError) and _offline()
        ):
            return HubError(
                f"{head}: offline (HF_HUB_OFFLINE=1) and the file is not in the cache "
                f"({hf_cache_dir()}); unset HF_HUB_OFFLINE and fetch it once "
                f"(`hades-zoo pull hf:{repo_id}`)."
            )
        if isinstance(e, GatedRepoError):
            return HubError(f"{head}: the repo is gated; request access on its Hub page "
                            "and set HF_TOKEN to a token of the approved account.")
        if isinstance(e, requests.HTTPError) and getattr(e, "response", None) is not None:
            status = e.response.status_code
            if status == 401:
                return HubError(
                    f"{head}: not authorised (401): the repo is private or does not "
                    "exist, or the token is invalid; set HF_TOKEN (or run "
                    "`huggingface-cli login`) and check the repo id."
                )
            if status == 403:
                return HubError(
                    f"{head}: forbidden (403): the token lacks permission (pushing needs "
                    "a token with write access to the namespace); use a write token or "
                    "ask the repo owner for access."
                )
            if status == 404 or isinstance(e, (RevisionNotFoundError, EntryNotFoundError)):
                if isinstance(e, RevisionNotFoundError):
                    what = f"revision {revision!r} does not exist; check the branch, tag or commit"
                elif isinstance(e, EntryNotFoundError):
                    what = f"file {filename!r} is not in the repo at this revision"
                else:
                    what = "dataset repo not found; check the repo id (is it a dataset repo?)"
                return HubError(f"{head}: not found (404): {what}.")
            if status == 429:
                return HubError(f"{head}: rate limited (429); wait a minute and retry.")
            if status >= 500:
                return HubError(
                    f"{head}: server error ({status}); the Hub or the mirror in "
                    "HF_ENDPOINT is failing, retry later or use another endpoint."
                )
            return HubError(f"{head}: HTTP {status}: {e}")
        if isinstance(e, requests.Timeout):
            return HubError(
                f"{head}: timed out; check the network and HF_ENDPOINT, or raise "
                "HADES_ZOO_HUB_TIMEOUT (seconds)."
            )
        if isinstance(e, requests.ConnectionError):
            return HubError(
                f"{head}: cannot connect; check the network and HF_ENDPOINT, or set "
                "HF_HUB_OFFLINE=1 to use cached files."
            )
    return HubError(f"{head} failed: {type(err).__name__}: {err}")
