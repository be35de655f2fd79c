"""hades-zoo catalogue: the static site (hades_zoo.zoo.catalogue, hades_zoo.cli.browse).

One small build (an own classic-control entry, a published MinAtar entry, an own image
entry and a published Brax entry) with a fake replay that writes a tiny GIF is shared
by the tests; the browser test (tests/catalogue_browser.py) opens it in a real
headless Chromium.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.errors import CatalogueError, HadesZooError, StorageError
from hades_zoo.zoo.catalogue import build_catalogue, is_catalogue, select_ids
from hades_zoo.zoo.catalogue import replays as replays_mod
from tests.conftest import REPO

SUBSET = ("cartpole-R-2.hz", "breakout-minatar-F-16", "mnist-R-10.hz", "hopper-R-4")
COMMANDS = frozenset({"eval", "train", "certify", "transfer", "push", "render"})


@dataclasses.dataclass
class FakeResult:
    path: Path
    returns: tuple[float, ...]
    frames: int
    fps: float
    seconds: float


#: the entry whose fake replay is a real H.264 MP4 when imageio's ffmpeg plugin is
#: installed (so the browser checks a <video> too); every other one falls back to GIF
VIDEO_ENTRY = "hopper-R-4"
HAS_FFMPEG = all(importlib.util.find_spec(m) for m in ("imageio", "imageio_ffmpeg"))


def _write_mp4(path: Path) -> None:
    import imageio.v2 as iio
    import numpy as np

    with iio.get_writer(path, fps=10, codec="libx264", pixelformat="yuv420p") as out:
        for i in range(10):
            out.append_data(np.full((48, 64, 3), (25 * i, 120, 200 - 15 * i), np.uint8))


class FakeReplay:
    """Writes a 4-frame GIF; asked for an MP4 it raises ImportError (no ffmpeg), as a
    renderer without imageio's ffmpeg plugin would, except for ``video`` ids when
    that plugin is installed."""

    def __init__(self, fail: dict[str, BaseException] | None = None,
                 video: tuple[str, ...] = ()):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail or {}
        self.video = video if HAS_FFMPEG else ()

    def __call__(self, source, out_path, *, episodes=1, seed=0, width=320, height=240,
                 fps=None, max_seconds=10.0):
        from PIL import Image

        out_path = Path(out_path)
        self.calls.append((source, out_path.suffix))
        ident = source.removeprefix("zoo:")
        if ident in self.fail:
            raise self.fail[ident]
        if out_path.suffix == ".mp4":
            if ident not in self.video:
                raise ImportError("writing MP4 needs imageio's ffmpeg plugin")
            _write_mp4(out_path)
            return FakeResult(out_path, (float(len(ident)),), 10, 10.0, 1.0)
        frames = [Image.new("RGB", (32, 24), (60 * i, 120, 200 - 50 * i))
                  for i in range(4)]
        frames[0].save(out_path, save_all=True, append_images=frames[1:], duration=100,
                       loop=0)
        return FakeResult(out_path, (float(len(ident)),), 4, 10.0, 0.4)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The shared small catalogue: (site folder, its result, the fake's calls)."""
    base = tmp_path_factory.mktemp("catalogue")
    fake = FakeReplay(video=(VIDEO_ENTRY,))
    res = build_catalogue(base / "site", only=list(SUBSET), replay=fake,
                          replays_dir=base / "cache", commands=COMMANDS)
    return base / "site", res, fake


def _page(site_dir: Path, ident: str) -> str:
    return (site_dir / "entries" / f"{ident}.html").read_text()


def test_catalogue_writes_an_index_and_a_page_per_entry(site):
    site_dir, res, fake = site
    assert sorted(res.ids) == sorted(SUBSET)
    assert is_catalogue(site_dir)
    record = json.loads((site_dir / "catalogue.json").read_text())
    rows = {r["id"]: r for r in record["entries"]}
    assert set(rows) == set(SUBSET)
    assert rows["cartpole-R-2.hz"]["origin"] == "own"
    assert rows["breakout-minatar-F-16"]["origin"] == "published"
    assert rows["breakout-minatar-F-16"]["variant"] == "F"
    assert rows["mnist-R-10.hz"]["metric"] == "loss"
    assert rows["hopper-R-4"]["transfer_score"] == pytest.approx(0.694, abs=1e-3)
    assert all(r["replay"] for r in rows.values())
    # mp4 asked first, then the GIF fallback (MP4 for VIDEO_ENTRY when it can be)
    assert sorted(fake.calls) == sorted([(f"zoo:{i}", s) for i in SUBSET
                                         for s in (".mp4", ".gif")
                                         if not (i in fake.video and s == ".gif")])
    if fake.video:
        assert '<video src="../replays/hopper-R-4.' in _page(site_dir, VIDEO_ENTRY)
    assert res.replays_made == len(SUBSET) and res.replays_missing == 0
    index = (site_dir / "index.html").read_text()
    for ident in SUBSET:
        assert f'href="entries/{ident}.html"' in index
        page = _page(site_dir, ident)
        for section in ("replay", "dataset", "curve", "certificate", "transfer",
                        "protocol", "recipe", "provenance", "commands"):
            assert f'<section id="{section}">' in page, (ident, section)
        assert f"hades-zoo train {ident} --out" in page
        assert f"hades-zoo render {ident} --out replay.mp4" in page
        assert f"hades-zoo push {ident} --repo-id" in page
        assert f"hz.load(&#34;{ident}&#34;)" in page
        assert (site_dir / "media" / f"{ident}.dataset.png").stat().st_size > 1000
        assert (site_dir / "data" / f"{ident}.safetensors").is_file()
    own = _page(site_dir, "cartpole-R-2.hz")
    assert "cartpole-R-2.hz.curve.png" in own and "cartpole-R-2.hz.baseline.png" in own
    assert "reproduced (&gt;= 95% of recorded)" in own
    assert "run's curve was not published" in _page(site_dir, "hopper-R-4")
    hopper = _page(site_dir, "hopper-R-4")
    assert "width 1024" in hopper and "results/transfer/hopper-R-4.json" in hopper
    # nothing from the builder's machine (no absolute checkout path) and nothing
    # fetched from elsewhere (no CDN: every src and href is relative)
    for html in [index] + [_page(site_dir, i) for i in SUBSET]:
        assert str(REPO) not in html
        assert not re.search(r'(src|href)="(https?:)?//', html)


def test_replay_cache_and_the_earlier_site_are_reused(site, tmp_path):
    site_dir, _, _ = site
    cache = site_dir.parent / "cache"
    assert len(list(cache.glob("*.gif")) + list(cache.glob("*.mp4"))) == len(SUBSET)
    fake = FakeReplay()
    res = build_catalogue(tmp_path / "s", only=["cartpole-R-2.hz"], replay=fake,
                          replays_dir=cache, commands=COMMANDS)
    assert fake.calls == [] and res.replays_reused == 1
    assert "episode return 15.0." in _page(tmp_path / "s", "cartpole-R-2.hz")
    # a rebuild over an earlier catalogue reuses its replays without a cache
    again = build_catalogue(tmp_path / "s", only=["cartpole-R-2.hz"], replay=fake)
    assert fake.calls == [] and again.replays_reused == 1
    # other render settings: rendered again
    third = build_catalogue(tmp_path / "s", only=["cartpole-R-2.hz"], replay=fake,
                            settings=replays_mod.ReplaySettings(max_seconds=2.0))
    assert third.replays_made == 1 and len(fake.calls) == 2
    # a damaged record in the cache (a FIFO, not JSON, nested too deep): made again
    record = next(cache.glob("cartpole-R-2.hz.*.json"))
    for n, bad in enumerate(("not json", "[" * 100 + "]" * 100, '{"sha256": 5}')):
        record.write_text(bad)
        fake.calls.clear()
        res = build_catalogue(tmp_path / f"x{n}", only=["cartpole-R-2.hz"],
                              replay=fake, replays_dir=cache)
        assert res.replays_made == 1 and len(fake.calls) == 2, bad
        assert json.loads(record.read_text())["sha256"]  # written again, whole
    record.unlink()
    os.mkfifo(record)
    fake.calls.clear()
    res = build_catalogue(tmp_path / "t", only=["cartpole-R-2.hz"], replay=fake,
                          replays_dir=cache)
    assert res.replays_made == 1


def test_a_replay_that_cannot_be_made_is_said_on_the_page(tmp_path, monkeypatch):
    class RenderError(HadesZooError):
        pass

    fake = FakeReplay(fail={"cartpole-R-2.hz": RenderError(
        "no GL backend: apt-get install libosmesa6 and set MUJOCO_GL=osmesa")})
    res = build_catalogue(tmp_path / "a", only=["cartpole-R-2.hz"], replay=fake)
    assert res.replays_missing == 1
    page = _page(tmp_path / "a", "cartpole-R-2.hz")
    assert "no replay: RenderError: no GL backend" in page
    assert fake.calls == [("zoo:cartpole-R-2.hz", ".mp4")]  # a RenderError: no retry
    # an ImportError for every format
    fake = FakeReplay(fail={"cartpole-R-2.hz": ImportError("No module named 'mujoco'")})
    build_catalogue(tmp_path / "b", only=["cartpole-R-2.hz"], replay=fake)
    assert "no replay: mp4: ImportError: No module named &#39;mujoco&#39;; gif: " \
           "ImportError" in _page(tmp_path / "b", "cartpole-R-2.hz")

    # no renderer installed (the default function cannot be imported)
    def missing():
        raise ImportError("No module named 'hades_zoo.zoo.replay'")

    monkeypatch.setattr(replays_mod, "default_replay", missing)
    build_catalogue(tmp_path / "c", only=["cartpole-R-2.hz"])
    assert "no replay: this installation has no replay renderer" in _page(
        tmp_path / "c", "cartpole-R-2.hz")
    build_catalogue(tmp_path / "d", only=["cartpole-R-2.hz"], replays=False)
    assert "no replay: the catalogue was built with --no-replays" in _page(
        tmp_path / "d", "cartpole-R-2.hz")


def test_first_seed_renders_only_seed_0_and_own_entries(tmp_path):
    fake = FakeReplay()
    ids = ["cartpole-R-2.hz", "fashionmnist-R-10.hz.s1", "hopper-R-64", "hopper-R-64.s1"]
    res = build_catalogue(tmp_path / "s", only=ids, replay=fake, replays_of="first-seed")
    assert sorted({c[0] for c in fake.calls}) == [
        "zoo:cartpole-R-2.hz", "zoo:fashionmnist-R-10.hz.s1", "zoo:hopper-R-64"]
    assert res.replays_missing == 1 and res.no_replay[0][0] == "hopper-R-64.s1"
    page = _page(tmp_path / "s", "hopper-R-64.s1")
    assert "seed-0 and own entries only" in page
    assert "hades-zoo render hopper-R-64.s1 --out hopper-R-64.s1.mp4" in page
    with pytest.raises(CatalogueError, match="replays_of must be one of all, first-seed"):
        build_catalogue(tmp_path / "t", only=ids, replay=fake, replays_of="some")
    assert not (tmp_path / "t").exists()


def test_out_must_be_new_empty_or_an_earlier_catalogue(tmp_path):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(CatalogueError, match="holds files and is not a hades_zoo "
                                             "catalogue"):
        build_catalogue(other, only=["cartpole-R-2.hz"], replays=False)
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CatalogueError, match="is a file"):
        build_catalogue(tmp_path / "afile", replays=False)
    package = Path(__import__("hades_zoo").__file__).parent
    with pytest.raises(CatalogueError, match="inside the installed hades_zoo package"):
        build_catalogue(package / "site", replays=False)
    assert not (package / "site").exists()
    (tmp_path / "link").symlink_to(other)
    with pytest.raises(CatalogueError, match="symbolic link"):
        build_catalogue(tmp_path / "link", replays=False)
    with pytest.raises(CatalogueError, match="inside --out"):
        build_catalogue(tmp_path / "s", replays_dir=tmp_path / "s" / "cache")
    with pytest.raises(CatalogueError, match="--only 'nope-R-4' matches no zoo id"):
        build_catalogue(tmp_path / "s", only=["nope-R-4"], replays=False)
    assert not (tmp_path / "s").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    build_catalogue(empty, only=["cartpole-R-2.hz"], replays=False)
    assert (empty / "entries" / "cartpole-R-2.hz.html").is_file()


def test_a_rebuild_replaces_the_site_whole_and_a_failed_one_keeps_the_old(tmp_path):
    out = tmp_path / "site"
    build_catalogue(out, only=["cartpole-R-2.hz", "cartpole-F-2.hz"], replays=False)
    build_catalogue(out, only=["cartpole-R-2.hz"], replays=False)
    assert sorted(p.name for p in (out / "entries").iterdir()) == [
        "cartpole-R-2.hz.html"]
    before = (out / "index.html").read_bytes()
    for stop in (KeyboardInterrupt(), StorageError(28, "cannot write: disk full")):
        fake = FakeReplay(fail={"cartpole-F-2.hz": stop})
        with pytest.raises(type(stop)):
            build_catalogue(out, only=["cartpole-*"], replay=fake)
        assert (out / "index.html").read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no temp left


def test_without_a_checkout_the_pages_use_the_packaged_facts(tmp_path, monkeypatch):
    """An installed wheel has no cards/ or results/: the transfer score comes from the
    packaged entries/transfer.json, and nothing of the checkout is read."""
    from hades_zoo.zoo.catalogue import build as build_mod

    monkeypatch.setattr(build_mod, "checkout_root", lambda: None)
    res = build_catalogue(tmp_path / "s", only=["breakout-minatar-F-16"], replays=False)
    assert res.checkout is None
    page = _page(tmp_path / "s", "breakout-minatar-F-16")
    assert "score <b>0.150</b>" in page and "source checkout" in page
    assert not list((tmp_path / "s" / "media").glob("*.transfer.png"))


def test_an_entry_page_renders_with_any_part_missing_or_odd():
    """Every branch of the entry template (StrictUndefined: a missing key fails):
    no files at all, a certificate record with only some keys, a loss record, no
    evolution record, no transfer, no replay."""
    from hades_zoo.zoo.catalogue.facts import checkout_root, gather
    from hades_zoo.zoo.catalogue.pages import render_entry
    from hades_zoo.zoo.catalogue.replays import Replay
    from hades_zoo.zoo.registry import entries

    entry = entries()["cartpole-R-2.hz"]
    facts = gather(entry, root=checkout_root(), commands=COMMANDS)
    site = {"version": "0", "built": "today", "n_entries": 1}
    records = [None, {}, {"mean": 1.0}, {"metric": "loss", "mean": 0.1, "returns": [0.1],
                                         "splits": {"test": {"examples": 3}}},
               {"recorded": 0.2, "reproduced_95": None, "versions": {"jax": "1"}}]
    for n, record in enumerate(records):
        summary = dataclasses.replace(facts.summary, certificate=record)
        odd = dataclasses.replace(
            facts, summary=summary, evolution=None if n % 2 else facts.evolution,
            transfer_grid=None, curve=None, baseline_plot=None,
            entry=dataclasses.replace(entry, transfer_score=None,
                                      transfer_top50_mean=n or None, notes="a note"))
        html = render_entry(odd, Replay(None, reason="why not"), files={},
                            related=[], site=site, plot_reason="no matplotlib")
        assert "no replay: why not" in html and "no dataset plot: no matplotlib" in html
    video = render_entry(facts, Replay("x.mp4", kind="video", returns=(1.0, 2.0)),
                         files={"replay": "../replays/x.mp4"}, related=[("a", "a.html")],
                         site=site)
    assert '<video src="../replays/x.mp4"' in video and "episode returns 1.00, 2.00." in video


def test_select_ids():
    assert select_ids(["cartpole-*"]) == ["cartpole-F-2.hz", "cartpole-R-2.hz"]
    assert len(select_ids()) == len(select_ids(["*"])) >= 150
    with pytest.raises(CatalogueError, match="Did you mean: hopper-R-4"):
        select_ids(["hoper-R-4"])


def test_cli_catalogue(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["catalogue", "--out", str(tmp_path / "s"), "--only",
                              "cartpole-R-2.hz", "--no-replays"])
    assert res.exit_code == 0, res.output
    assert "index + 1 entry page(s)" in res.output
    assert (tmp_path / "s" / "index.html").is_file()
    page = _page(tmp_path / "s", "cartpole-R-2.hz")
    assert "hades-zoo certify cartpole-R-2.hz" in page
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    res = runner.invoke(cli, ["catalogue", "--out", str(tmp_path / "busy")])
    assert res.exit_code == 1
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: CatalogueError: ")
    res = runner.invoke(cli, ["catalogue", "--out", str(tmp_path / "t"), "--no-replays",
                              "--replays", str(tmp_path / "c")])
    assert res.exit_code == 2 and "contradict" in res.output


def test_the_site_in_a_real_browser(site, tmp_path, capsys):
    """Every page loads in headless Chromium with no console error and no broken
    link, image or video; the index's filters and sorting change the rows; writes a
    screenshot of the index and of one entry page (``$HADES_ZOO_ARTIFACTS``)."""
    from tests.catalogue_browser import check_site

    site_dir, _, _ = site
    artifacts = Path(os.environ.get("HADES_ZOO_ARTIFACTS") or tmp_path)
    shots = check_site(site_dir, artifacts, entry="hopper-R-4", expect={
        "all": len(SUBSET), "variant=F": 1, "origin=own": 2, "transfer>=0.5": 1,
        "sizes_desc": [16, 10, 4, 2], "search": ("hopper", ["hopper-R-4"])})
    with capsys.disabled():
        print("\ncatalogue screenshots: " + ", ".join(str(p) for p in shots)
              + ("" if HAS_FFMPEG else " (no imageio-ffmpeg: no <video> was checked)"))
    assert all(p.stat().st_size > 10_000 for p in shots)


@pytest.mark.slow
def test_the_whole_zoo_builds_and_browses(tmp_path):
    """Every packaged entry (no replays): every page renders, loads in Chromium with
    no console error or broken reference, and the index's filters count right
    (13 min on the shared 2-core VM under load ~23, 2026-12-02)."""
    from tests.catalogue_browser import check_site, expectations

    res = build_catalogue(tmp_path / "site", replays=False, commands=COMMANDS)
    assert len(res.ids) == len(select_ids())
    artifacts = Path(os.environ.get("HADES_ZOO_ARTIFACTS") or tmp_path)
    check_site(tmp_path / "site", artifacts / "whole-zoo", entry="hopper-R-64",
               expect=expectations(tmp_path / "site", "hopper"))
