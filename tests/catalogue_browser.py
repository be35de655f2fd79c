"""Open a built catalogue in a real headless Chromium (Playwright driving the
distribution's browser: no browser download) and check it as a person would see it.

Chromium: ``$HADES_ZOO_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH,
else ``/usr/bin/chromium`` (Debian: ``apt-get install chromium``). Without it the
check fails with how to install it, unless ``HADES_ZOO_NO_BROWSER=1`` (then skipped).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["check_site", "chromium_path", "expectations", "serve"]

_HOW = ("install Chromium from the distribution (Debian/Ubuntu: `apt-get install "
        "chromium`) or point HADES_ZOO_CHROMIUM at a Chromium binary, and install the "
        "test extra (`pip install -e '.[test]'`, which brings playwright; no browser "
        "download is needed); or set HADES_ZOO_NO_BROWSER=1 to skip this check")


def _unavailable(what: str) -> None:
    if os.environ.get("HADES_ZOO_NO_BROWSER") == "1":
        pytest.skip(f"{what}; HADES_ZOO_NO_BROWSER=1")
    pytest.fail(f"{what}: {_HOW}.", pytrace=False)


def chromium_path() -> str:
    """The Chromium binary to drive (fails or skips the test when there is none)."""
    given = os.environ.get("HADES_ZOO_CHROMIUM")
    found = given or shutil.which("chromium") or shutil.which("chromium-browser") or (
        "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if not found or not os.access(found, os.X_OK):
        _unavailable(f"no Chromium found ({given or 'chromium not on PATH'})")
    return found


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A browser that drops a connection (a cancelled preload) is not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                    timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


_REFS = """() => {
  const out = [];
  for (const a of document.querySelectorAll('a[href]')) out.push(['a', a.href]);
  for (const i of document.querySelectorAll('img')) out.push(['img', i.src]);
  for (const v of document.querySelectorAll('video')) out.push(['video', v.src]);
  for (const l of document.querySelectorAll('link[href]')) out.push(['link', l.href]);
  for (const s of document.querySelectorAll('script[src]')) out.push(['script', s.src]);
  return out;
}"""

_BROKEN_MEDIA = """async () => {
  const bad = [];
  for (const i of document.querySelectorAll('img')) {
    if (!i.complete) await new Promise(r => { i.onload = i.onerror = r; });
    if (!i.naturalWidth) bad.push(i.src);
  }
  for (const v of document.querySelectorAll('video')) {
    if (v.readyState < 1 && !v.error) {
      await new Promise(r => { v.onloadedmetadata = v.onerror = r; setTimeout(r, 5000); });
    }
    if (v.error || v.readyState < 1) bad.push(v.src);
  }
  return bad;
}"""


class _Page:
    """A page with every console error, page error and failed request recorded."""

    def __init__(self, browser, base: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.base = base
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(
            f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", self._request_failed)
        self.page.on("response", lambda r: self.problems.append(
            f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def _request_failed(self, request) -> None:
        """Record a failed request, except one the browser cancelled itself.

        ``net::ERR_ABORTED`` is Chromium dropping a request still in flight when the
        page navigates on (the favicon is fetched after ``load``, so the next ``goto``
        often cancels it): not a fault of the site. Every reference is fetched again
        by :func:`_check_refs` and must answer HTTP 200, so a missing file still fails.
        """
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def visit(self, path: str) -> list[tuple[str, str]]:
        """Open ``path``; check its media; return its references."""
        resp = self.page.goto(f"{self.base}/{path}", wait_until="load")
        assert resp is not None and resp.status == 200, path
        broken = self.page.evaluate(_BROKEN_MEDIA)
        assert not broken, f"{path}: broken image/video {broken}"
        return [tuple(r) for r in self.page.evaluate(_REFS)]

    def visible_rows(self) -> list[dict[str, str]]:
        return self.page.eval_on_selector_all(
            "#entries tbody tr:not([hidden])",
            "rows => rows.map(r => Object.assign({}, r.dataset))")


def _check_refs(base: str, page: str, refs: list[tuple[str, str]],
                ids_of: dict[str, set[str]], visit_ids) -> None:
    """Every reference resolves: same-origin files exist (HTTP 200), fragments name
    an element of their page; resources never come from another origin."""
    for kind, url in refs:
        parts = urllib.parse.urlsplit(url)
        if not url.startswith(base):
            assert kind == "a", f"{page}: {kind} loads {url} from another origin"
            continue
        target = urllib.parse.urlunsplit(parts._replace(fragment=""))
        assert _status(target) == 200, f"{page}: broken {kind} {url}"
        if parts.fragment:
            path = parts.path.lstrip("/") or "index.html"
            if path not in ids_of:
                ids_of[path] = visit_ids(path)
            assert parts.fragment in ids_of[path], f"{page}: no #{parts.fragment} in {path}"


def _check_index(p: _Page, expect: dict) -> None:
    """Filters and sorting change the visible rows (and survive a reload)."""
    page = p.page
    assert len(p.visible_rows()) == expect["all"]
    page.select_option("#f-variant", "F")
    assert len(rows := p.visible_rows()) == expect["variant=F"]
    assert {r["variant"] for r in rows} == {"F"}
    assert page.inner_text("#count").startswith(f"{len(rows)} of {expect['all']}")
    page.select_option("#f-variant", "")
    page.select_option("#f-origin", "own")
    assert len(rows := p.visible_rows()) == expect["origin=own"]
    assert {r["origin"] for r in rows} == {"own"}
    page.reload(wait_until="load")  # the filter is kept in the address
    assert len(p.visible_rows()) == expect["origin=own"]
    page.click("#f-reset")
    page.fill("#f-transfer", "0.5")
    assert len(rows := p.visible_rows()) == expect["transfer>=0.5"]
    assert all(float(r["transfer"]) >= 0.5 for r in rows)
    page.fill("#f-transfer", "")
    text, ids = expect["search"]
    page.fill("#f-text", text)
    assert sorted(r["id"] for r in p.visible_rows()) == sorted(ids)
    page.fill("#f-text", "")
    before = [r["id"] for r in p.visible_rows()]  # by id, digits as numbers
    page.click("th[data-key=size] button")
    sizes = [int(r["size"]) for r in p.visible_rows()]
    assert sizes == expect["sizes_desc"] and sizes != sorted(sizes), sizes
    assert page.get_attribute("th[data-key=size]", "aria-sort") == "descending"
    page.click("th[data-key=size] button")
    assert [int(r["size"]) for r in p.visible_rows()] == sorted(expect["sizes_desc"])
    page.click("th[data-key=id] button")
    assert [r["id"] for r in p.visible_rows()] == before


def expectations(site: Path, search: str) -> dict:
    """What the index's filters should show, counted from ``catalogue.json`` (for a
    site whose rows are not known in advance, e.g. the whole zoo)."""
    import json

    rows = json.loads((site / "catalogue.json").read_text())["entries"]
    return {"all": len(rows), "variant=F": sum(r["variant"] == "F" for r in rows),
            "origin=own": sum(r["origin"] == "own" for r in rows),
            "transfer>=0.5": sum((r["transfer_score"] or -1) >= 0.5 for r in rows),
            "sizes_desc": sorted((r["size"] for r in rows), reverse=True),
            "search": (search, [r["id"] for r in rows if search in r["id"]])}


def check_site(site: Path, artifacts: Path, *, entry: str, expect: dict) -> list[Path]:
    """Visit every page of the catalogue in ``site``; check (module doc) and return
    the screenshots written into ``artifacts`` (index and ``entry``'s page).

    ``expect``: the index's row counts under filters (keys as :func:`expectations`).
    """
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    artifacts.mkdir(parents=True, exist_ok=True)
    pages = ["index.html"] + sorted(f"entries/{p.name}" for p in
                                    (site / "entries").glob("*.html"))
    shots = [artifacts / "catalogue-index.png", artifacts / f"catalogue-{entry}.png"]
    with serve(site) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=["--no-sandbox"])
        try:
            p = _Page(browser, base)
            ids_of: dict[str, set[str]] = {}

            def visit_ids(path: str) -> set[str]:
                p.visit(path)
                return set(p.page.eval_on_selector_all("[id]", "e => e.map(x => x.id)"))

            for path in pages:
                refs = p.visit(path)
                ids_of[path] = set(p.page.eval_on_selector_all(
                    "[id]", "e => e.map(x => x.id)"))
                _check_refs(base, path, refs, ids_of, visit_ids)
            p.visit("index.html")
            p.page.screenshot(path=str(shots[0]), full_page=True)
            _check_index(p, expect)
            p.visit(f"entries/{entry}.html")
            p.page.click("button.copy")
            p.page.wait_for_selector("button.copy.done", timeout=3000)
            p.page.screenshot(path=str(shots[1]), full_page=True)
            assert not p.problems, p.problems
        finally:
            browser.close()
    return shots
