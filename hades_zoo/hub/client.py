"""The Hub client: endpoint, offline mode and timeouts read at call time, the HfApi, and
huggingface_hub errors turned into ``HubError`` messages that name the fix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
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
    """HF_ENDPOINT at call time (huggingface_hub only reads it at import).

    Raises:
        HubError: HF_ENDPOINT is not an http(s) URL with a host (``notaurl``,
            ``http://``, ``ftp://x`` were reported as a failed connection, or as
            "Request URL is missing an 'http://'").
    """
    raw = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    endpoint = raw.strip().rstrip("/")
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _tagged("endpoint", (
            f"HF_ENDPOINT={raw!r} is not an http(s) URL with a host; set it to the "
            f"Hub's address (e.g. {DEFAULT_ENDPOINT}, or http://127.0.0.1:PORT for a "
            "local Hub) or unset it."))
    return endpoint


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


#: How long a probe's answer stands, per endpoint (seconds): a Hub that answered is
#: not asked again for a while (one request per pull, not one per file); one that did
#: not is, soon (a user who fixes the network retries at once).
_PROBE_KEEP = {"reachable": 30.0, "unreachable": 5.0}
_PROBES: dict[str, tuple[float, BaseException | None]] = {}
_PROBE_LOCK = threading.Lock()


def _unreachable() -> BaseException | None:
    """Why the Hub at the current endpoint cannot be reached, or None when it answers.

    huggingface_hub meets a download whose first request cannot connect (and whose
    file it has not cached) by trying it six times more with backoff (1, 2, 4, 8, 8 s
    of sleep), logging each try: with the network down a command took ~50 s and
    printed a dozen lines before its one-line error. One ``HEAD`` of the endpoint,
    without retries and within ``HADES_ZOO_HUB_TIMEOUT``, tells that case apart
    first. It goes through huggingface_hub's own HTTP client (``get_session``), so
    ``HTTP(S)_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` and a client set with
    ``set_client_factory`` apply as to the download; any answer, whatever its status,
    counts as reachable (the download reports an HTTP error itself, and retries a
    5xx or 429 as before). The answer is kept for ``_PROBE_KEEP`` seconds.

    Returns:
        The HTTP client's error when no connection could be opened (refused, DNS
        failure, no route, a proxy that is down) or no answer came in time; None
        otherwise (including an error of another kind, left to the download).
    """
    import time

    endpoint = _endpoint()
    now = time.monotonic()
    with _PROBE_LOCK:
        kept = _PROBES.get(endpoint)
    if kept is not None and kept[0] > now:
        return kept[1]
    failure = _probe(endpoint)
    keep = _PROBE_KEEP["unreachable" if failure is not None else "reachable"]
    with _PROBE_LOCK:
        _PROBES[endpoint] = (time.monotonic() + keep, failure)
    if failure is not None:
        logger.info("the Hub at %s cannot be reached: %s: %s", endpoint,
                    type(failure).__name__, failure)
    return failure


def _probe(endpoint: str) -> BaseException | None:
    """One ``HEAD {endpoint}/`` through huggingface_hub's session: its connect error or
    timeout, else None."""
    from huggingface_hub.utils import get_session

    session = get_session()
    # requests (huggingface_hub < 1.0) does not follow a HEAD's redirect; httpx does
    # when the client says so (huggingface_hub's does): one request either way
    follow = ({} if type(session).__module__.startswith("requests")
              else {"follow_redirects": False})
    try:
        session.head(f"{endpoint}/", timeout=_timeout(), **follow).close()
    except Exception as err:  # noqa: BLE001 - other kinds: the download says
        kinds = _transport_errors()
        if isinstance(err, kinds.timeout + kinds.connect):
            return err
        logger.debug("probe of %s: %s: %s (left to the download)", endpoint,
                     type(err).__name__, err)
    return None


def _tagged(reason: str, message: str) -> HubError:
    """A HubError whose ``reason`` says which kind of failure it is."""
    err = HubError(message)
    err.reason = reason
    return err


def hf_repo_cache(repo_id: str, repo_type: str = "dataset") -> Path:
    """huggingface_hub's cache folder of a repo (``datasets--org--name``,
    ``models--org--name``)."""
    org, name = repo_id.split("/")
    return hf_cache_dir() / f"{repo_type}s--{org}--{name}"


def repo_url(repo_id: str, repo_type: str = "dataset") -> str:
    """The repo's page at the current endpoint (models have no ``/models`` prefix)."""
    return f"{_endpoint()}/" + ("datasets/" if repo_type == "dataset" else "") + repo_id


def _is_commit(revision: str | None) -> bool:
    return bool(revision) and re.fullmatch(r"[0-9a-f]{40}", revision) is not None


def _offline_missing(repo_id: str, revision: str | None, filename: str | None,
                     repo_type: str = "dataset") -> str:
    """What huggingface_hub's cache lacks to answer offline, in words."""
    repo = hf_repo_cache(repo_id, repo_type)
    rev = revision or "main"
    if not (repo / "snapshots").is_dir():
        return f"nothing of this repo is in huggingface_hub's cache ({repo})"
    if _is_commit(rev):
        commit = rev
    else:
        ref = repo / "refs" / rev
        if not ref.is_file():
            return (f"huggingface_hub's cache ({repo}) has no record of which commit "
                    f"{rev!r} is (refs/{rev} is missing)")
        commit = ref.read_text().strip()
    if filename and not (repo / "snapshots" / commit / filename).exists():
        return (f"{filename} of commit {commit[:12]} is not in huggingface_hub's cache "
                f"({repo})")
    return f"huggingface_hub's cache ({repo}) cannot serve the file"


def _hub_error(err: BaseException, *, action: str, repo_id: str,
               revision: str | None = None, filename: str | None = None,
               write: bool = False, landed: bool = True,
               repo_type: str = "dataset") -> HubError:
    """Translate a huggingface_hub / HTTP client (requests, httpx, httpx2) failure into a HubError naming the fix.

    Args:
        err: the exception raised by huggingface_hub (its cause chain is searched).
        action: what was attempted (``download``, ``push to``), for the message.
        repo_id, revision, filename: what it was attempted on.
        write: a write (push, tag): a dropped connection, a timeout or a 5xx then
            says the change may or may not have landed and how to check, instead
            of suggesting ``HF_HUB_OFFLINE`` (which only serves reads).
        landed: with ``write``, whether the change could have reached the Hub (the
            commit request was under way); False says nothing was uploaded yet.
        repo_type: ``dataset`` or ``model`` (a saved policy), for the messages.

    Returns:
        The HubError to raise, its ``reason`` set.
    """
    from huggingface_hub.utils import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RevisionNotFoundError,
    )

    where = f"{repo_id}@{revision or 'main'}" + (f"/{filename}" if filename else "")
    head = f"{action} {where} at {_endpoint()}"
    landed = (
        f"the push may or may not have landed: check the repo's commits "
        f"({repo_url(repo_id, repo_type)}/commits/{revision or 'main'}), then run the "
        "same command again (files identical to the repo's are skipped, so a repeat "
        "is harmless)"
    ) if landed else (
        "no commit was made; check the network and HF_ENDPOINT, then run the "
        "same command again"
    )
    chain: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for e in chain:
        if isinstance(e, (OfflineModeIsEnabled,)) or (
            isinstance(e, LocalEntryNotFoundError) and _offline()
        ):
            missing = _offline_missing(repo_id, revision, filename, repo_type)
            return _tagged("offline", (
                f"{head}: offline (HF_HUB_OFFLINE=1) and {missing}; unset "
                f"HF_HUB_OFFLINE and fetch it once (`hades-zoo pull hf:{repo_id}"
                + (f"@{revision}" if revision else "") + "`)."
            ))
        if isinstance(e, GatedRepoError):
            return _tagged("gated", f"{head}: the repo is gated; request access on its "
                           "Hub page and set HF_TOKEN to a token of the approved account.")
        status = http_status(e)
        if status is not None:
            if status == 401:
                return _tagged("unauthorized", (
                    f"{head}: not authorised (401): the repo is private or does not "
                    "exist, or the token is invalid; set HF_TOKEN (or run "
                    "`huggingface-cli login`) and check the repo id."
                ))
            if status == 403:
                return _tagged("forbidden", (
                    f"{head}: forbidden (403): the token lacks permission (pushing needs "
                    "a token with write access to the namespace); use a write token or "
                    "ask the repo owner for access."
                ))
            if status == 404 or isinstance(e, (RevisionNotFoundError, EntryNotFoundError)):
                if isinstance(e, RevisionNotFoundError):
                    reason = "not_found_revision"
                    what = f"revision {revision!r} does not exist; check the branch, tag or commit"
                elif isinstance(e, EntryNotFoundError):
                    reason = "not_found_entry"
                    what = f"file {filename!r} is not in the repo at this revision"
                else:
                    reason = "not_found_repo"
                    what = (f"{repo_type} repo not found; check the repo id (is it a "
                            f"{repo_type} repo?)")
                return _tagged(reason, f"{head}: not found (404): {what}.")
            if status == 409:
                return _tagged("conflict", f"{head}: conflict (409): {_server_says(e)}; "
                               "the name is taken: choose another one or delete it.")
            if status == 429:
                return _tagged("rate_limited",
                               f"{head}: rate limited (429); wait a minute and retry.")
            if status >= 500:
                fix = (landed + " (retry later if it keeps failing)" if write else
                       "retry later or use another endpoint")
                return _tagged("server", (
                    f"{head}: server error ({status}); the Hub or the mirror in "
                    f"HF_ENDPOINT is failing; {fix}."
                ))
            return _tagged("http", f"{head}: HTTP {status}: {_server_says(e)}.")
        if isinstance(e, _transport_errors().timeout):
            if write:
                return _tagged("timeout", f"{head}: timed out; {landed}.")
            return _tagged("timeout", (
                f"{head}: timed out; check the network and HF_ENDPOINT, or raise "
                "HADES_ZOO_HUB_TIMEOUT (seconds)."
            ))
        if isinstance(e, _transport_errors().connection):
            if write:
                return _tagged("connection",
                               f"{head}: the connection failed or dropped; {landed}.")
            return _tagged("connection", (
                f"{head}: cannot connect ({_said(e)}); check the network and "
                "HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use cached files."
            ))
    return _tagged("other", f"{head} failed: {type(err).__name__}: {err}")


@dataclasses.dataclass(frozen=True)
class TransportErrors:
    """Exception classes of the HTTP clients huggingface_hub may use, by kind.

    huggingface_hub < 1.0 raises ``requests`` errors; 1.x ``httpx`` ones; 2.x ``httpx2``
    ones (its ``HfHubHTTPError`` derives from ``httpx2.HTTPError``). Each tuple holds
    the classes of whichever of those clients is installed.
    """

    timeout: tuple[type[BaseException], ...]
    connection: tuple[type[BaseException], ...]
    request: tuple[type[BaseException], ...]
    #: no connection could be opened at all: refused, DNS failure, no route, a
    #: proxy that is down (a subset of ``connection``, which includes drops)
    connect: tuple[type[BaseException], ...] = ()


@functools.lru_cache(maxsize=1)
def _transport_errors() -> TransportErrors:
    import importlib

    timeout: list[type[BaseException]] = [TimeoutError]
    connection: list[type[BaseException]] = [ConnectionError]
    request: list[type[BaseException]] = []
    connect: list[type[BaseException]] = [ConnectionRefusedError]
    for name in ("requests", "httpx", "httpx2"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if name == "requests":
            timeout.append(mod.Timeout)
            connection.append(mod.ConnectionError)
            request.append(mod.RequestException)
            connect.append(mod.ConnectionError)  # requests has no narrower class
        else:
            timeout.append(mod.TimeoutException)
            connection.append(mod.TransportError)  # connect, read, write, protocol
            request.append(mod.HTTPError)
            connect.append(mod.ConnectError)
    return TransportErrors(tuple(timeout), tuple(connection), tuple(request),
                           tuple(connect))


def is_transport_error(err: BaseException) -> bool:
    """Whether ``err`` came from the HTTP client (any status, timeout or dropped
    connection) rather than from the local file system."""
    kinds = _transport_errors()
    return isinstance(err, kinds.request + kinds.timeout) or http_status(err) is not None


def http_status(err: BaseException) -> int | None:
    """The HTTP status of an error that carries a response (requests' ``HTTPError``,
    httpx's ``HTTPStatusError``, huggingface_hub's ``HfHubHTTPError``), else None."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _said(err: BaseException) -> str:
    """The first line of an error's text, at most 120 characters (its class name when
    it has none): ``[Errno 111] Connection refused``, ``[Errno -2] Name or service not
    known``."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 120 else text[:117] + "..."


def _server_says(err: BaseException) -> str:
    """The server's own message for an HTTP error (its X-Error-Message), else str()."""
    response = getattr(err, "response", None)
    said = response.headers.get("X-Error-Message") if response is not None else None
    return said or str(err).splitlines()[0]
