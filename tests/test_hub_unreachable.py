"""An unreachable Hub (refused connection, failed DNS lookup, silent network) fails a
download at once, without huggingface_hub's retries; the CLI prints its own line and
no retry chatter; ``push --dry-run`` lists its files without the network.

No timing asserts: no sleep may happen (``time.sleep`` recorded, never slept) and no
download may reach huggingface_hub's network path (``hf_hub_download`` recorded).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.errors import HubError
from hades_zoo.hub import (
    client,
    load_from_hub,
    pull_from_hub,
    push_to_hub,
    save_pretrained,
)
from tests.test_hub import WRITE, assert_same


@pytest.fixture
def sleeps(monkeypatch):
    """Every ``time.sleep`` (huggingface_hub's backoff, hades_zoo's own retry): recorded,
    not slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def downloads(monkeypatch):
    """The ``local_files_only`` of every ``hf_hub_download`` call (True: no request)."""
    import huggingface_hub

    real = huggingface_hub.hf_hub_download
    calls: list[bool] = []

    def spy(*args, **kwargs):
        calls.append(bool(kwargs.get("local_files_only")))
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", spy)
    return calls


@pytest.fixture
def probes(monkeypatch):
    """Each endpoint the reachability probe asked."""
    real = client._probe
    asked: list[str] = []

    def spy(endpoint):
        asked.append(endpoint)
        return real(endpoint)

    monkeypatch.setattr(client, "_probe", spy)
    return asked


@pytest.fixture
def closed_endpoint(monkeypatch):
    """HF_ENDPOINT at a 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    return url


@pytest.fixture
def silent_endpoint(monkeypatch):
    """HF_ENDPOINT at a 127.0.0.1 port that accepts connections and never answers (the
    kernel completes the handshake of an unaccepted socket), HADES_ZOO_HUB_TIMEOUT 0.2 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("HADES_ZOO_HUB_TIMEOUT", "0.2")
        yield


def _no_dns(monkeypatch) -> None:
    """Every DNS lookup fails as it does without a network."""
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


LOADS = {
    "load_from_hub": lambda: load_from_hub("hf:me/cartpole"),
    "pull_from_hub": lambda: pull_from_hub("hf:me/cartpole"),
    "load_policy": lambda: hz.load_policy("hf:me/cartpole-policy"),
}


@pytest.mark.parametrize("load", list(LOADS))
@pytest.mark.parametrize("network", ["refused", "no-dns"])
def test_a_download_from_an_unreachable_hub_fails_at_once(load, network, closed_endpoint,
                                                          monkeypatch, sleeps, downloads,
                                                          probes):
    if network == "no-dns":
        monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
        _no_dns(monkeypatch)
    with pytest.raises(HubError) as info:
        LOADS[load]()
    text = str(info.value)
    assert info.value.reason == "connection", text
    assert "cannot connect" in text and "HF_HUB_OFFLINE=1" in text and "HF_ENDPOINT" in text
    said = "Connection refused" if network == "refused" else "Name or service not known"
    assert said in text
    assert sleeps == []  # no backoff, no second try
    assert probes == [client._endpoint()]  # one request, no retry
    assert all(downloads)  # huggingface_hub asked its cache only
    with pytest.raises(HubError):  # the answer is kept a few seconds: no second probe
        LOADS[load]()
    assert len(probes) == 1 and sleeps == []


def test_a_silent_network_fails_within_the_timeout(silent_endpoint, sleeps, downloads):
    """A server that accepts the connection and never answers: one request, bounded by
    HADES_ZOO_HUB_TIMEOUT."""
    with pytest.raises(HubError, match="timed out.*HADES_ZOO_HUB_TIMEOUT") as info:
        load_from_hub("hf:me/cartpole")
    assert info.value.reason == "timeout"
    assert sleeps == [] and all(downloads)


def test_cached_files_still_load_with_the_hub_unreachable(hub_server, tiny_dataset,
                                                          closed_endpoint, monkeypatch,
                                                          sleeps):
    """huggingface_hub answers a failed request from its cache; so does the probe's
    failure (no HF_HUB_OFFLINE needed, and no pulled copy)."""
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    res = push_to_hub(tiny_dataset, "org/cp", tag="v1", token=WRITE)
    load_from_hub("hf:org/cp@v1")
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint)
    for source in ("hf:org/cp@v1", f"hf:org/cp@{res.commit}"):
        assert_same(load_from_hub(source), tiny_dataset)
    assert sleeps == []
    # and offline, as before
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert_same(load_from_hub("hf:org/cp@v1"), tiny_dataset)


def test_the_probe_goes_through_the_proxy(monkeypatch):
    """With HTTP_PROXY set, the endpoint's host is not looked up here: the proxy is
    asked (it answers), so the Hub counts as reachable."""
    from huggingface_hub.utils import close_session

    asked: list[str] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def answer():
        conn, _ = server.accept()
        with conn:
            asked.append(conn.recv(4096).decode("latin-1").splitlines()[0])
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    real_getaddrinfo = socket.getaddrinfo

    def no_dns_for_the_hub(host, *args, **kwargs):
        if host == "hub.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns_for_the_hub)
    close_session()  # huggingface_hub's client reads the proxy settings when made
    try:
        assert client._unreachable() is None
    finally:
        close_session()
        server.close()
    thread.join(5)
    assert asked == ["HEAD http://hub.invalid/ HTTP/1.1"]


# --------------------------------------------------------------------- CLI
@pytest.fixture
def hub_log():
    """Records huggingface_hub logs at WARNING or above (what its own stderr handler
    prints)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("huggingface_hub")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_cli_download_from_an_unreachable_hub_is_one_line(closed_endpoint, tmp_path,
                                                          sleeps, hub_log):
    for args in (["pull", "hf:me/cartpole", "--out", str(tmp_path / "pulled")],
                 ["eval", "hf:me/cartpole"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and "HubError" in lines[0] and "cannot connect" in lines[0]
    assert sleeps == [] and hub_log == []
    assert not (tmp_path / "pulled").exists()


def test_cli_keeps_huggingface_hub_retry_warnings_for_verbose(hub_server, tiny_dataset,
                                                              tmp_path, sleeps, hub_log,
                                                              monkeypatch):
    """A 503 that huggingface_hub retries (it sleeps and logs "Retrying in 1s"): the
    command says nothing of it; -v shows it."""
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    for flags, shown in (([], False), (["-v"], True)):
        hub_server.fail("HEAD /datasets/org/cp/resolve/*/README.md", 503, times=2)
        sleeps.clear()
        hub_log.clear()
        out = tmp_path / f"pulled{len(flags)}"
        monkeypatch.setenv("HF_HOME", str(tmp_path / f"hf{len(flags)}"))  # nothing cached
        res = CliRunner().invoke(cli, [*flags, "pull", "hf:org/cp", "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert sleeps == [1]  # huggingface_hub did retry
        said = [r.getMessage() for r in hub_log]
        assert any("Retrying in" in m for m in said) is shown, said
        assert hub_logger.level == level  # restored after the command


def _push_dry(args: list[str]):
    return CliRunner().invoke(cli, ["push", *args, "--repo-id", "me/x", "--dry-run"])


def test_cli_push_dry_run_lists_files_with_the_hub_unreachable(tiny_dataset, tmp_path,
                                                               closed_endpoint, sleeps,
                                                               monkeypatch):
    src = tmp_path / "cartpole-R-2.safetensors"
    tiny_dataset.save(src)
    folder = tmp_path / "entry"
    save_pretrained(tiny_dataset, folder)
    for args in ([str(src)], [str(folder)], [str(src), "--tag", "v1"]):
        res = _push_dry(args)
        assert res.exit_code == 0, res.output
        assert "would upload cartpole-R-2.safetensors" in res.output, res.output
        assert "would upload README.md" in res.output
        assert f"not compared with the repo: the Hub at {closed_endpoint} cannot be " \
               "reached (" in res.output
        assert res.output.strip().splitlines()[-1] == "dry run: nothing uploaded to me/x"
    assert sleeps == []
    # nothing to compare: no note
    res = _push_dry([str(src), "--overwrite-card"])
    assert res.exit_code == 0 and "not compared" not in res.output, res.output
    # offline: said so, and no request
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    res = _push_dry([str(src)])
    assert res.exit_code == 0 and "not compared with the repo: HF_HUB_OFFLINE is set" \
        in res.output, res.output
    # bad input is refused as by a real push
    res = CliRunner().invoke(cli, ["push", str(src), "--repo-id", "me/x y", "--dry-run"])
    assert res.exit_code == 1 and "HubSourceError" in res.output
    res = _push_dry([str(tmp_path / "missing.safetensors")])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1


def test_push_dry_run_with_a_reachable_hub_compares(hub_server, tiny_dataset):
    dry = push_to_hub(tiny_dataset, "org/cp", token=WRITE, dry_run=True)
    assert dry.not_compared is None and not dry.card_kept


@pytest.mark.parametrize("endpoint", ["notaurl", "http://", "ftp://x", "http:///path"])
def test_a_malformed_endpoint_is_one_error_naming_hf_endpoint(monkeypatch, tmp_path,
                                                              endpoint):
    """A reviewer's case: ``HF_ENDPOINT=notaurl`` made a dry-run push say "the
    connection failed ... no commit was made", and pull "Request URL is missing an
    'http://'" for a value that had one."""
    from click.testing import CliRunner

    from hades_zoo.cli import cli

    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    for args in (["pull", "hf:me/x", "--out", str(tmp_path / "p")],
                 ["push", "cartpole-F-2.hz", "--repo-id", "me/x", "--dry-run"]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 1, res.output
        assert "is not an http(s) URL" in res.output and "HF_ENDPOINT" in res.output
        assert "Traceback" not in res.output
    assert not (tmp_path / "p").exists()


def test_a_push_to_a_silent_hub_fails_within_the_timeout(silent_endpoint, tiny_dataset,
                                                         sleeps):
    """A reviewer's case: a Hub that accepts connections and never answers made a
    real push wait in ``create_repo`` without end. The reachability check goes first,
    bounded by HADES_ZOO_HUB_TIMEOUT; nothing is committed."""
    with pytest.raises(HubError, match="timed out") as info:
        push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    assert info.value.reason == "timeout" and "no commit was made" in str(info.value)
    assert sleeps == []
