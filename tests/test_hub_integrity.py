"""Hub and cache integrity (issue 17, part "hub"), on the fake Hub at 127.0.0.1.

Damaged blobs in huggingface_hub's cache are fetched again; a pulled copy loads when
that cache cannot answer, or the error says exactly what is missing; a card and a
sidecar that disagree are refused; a push never suggests HF_HUB_OFFLINE, says whether
it may have landed, and refuses an existing tag before uploading anything.
"""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.cache import hf_cache_dir
from hades_zoo.errors import HubError
from hades_zoo.hub import load_from_hub, pull_from_hub, push_to_hub
from hades_zoo.hub.pulled import pulled_root
from tests.test_hub import WRITE, assert_same, writes

REPO = "datasets--org--cp"


def _blob(filename: str):
    """The blob (real file) behind the cached snapshot entry of ``filename``."""
    [entry] = (hf_cache_dir() / REPO / "snapshots").glob(f"*/{filename}")
    return entry.resolve()


def _gets(hub, filename: str) -> int:
    return sum(r.startswith("GET") and r.endswith("/" + filename) for r in hub.requests)


# ------------------------------------------------------------------ damaged blobs
@pytest.mark.parametrize("damage", ["empty", "truncate"])
@pytest.mark.parametrize("filename", ["README.md", "cartpole-R-2.safetensors.sha256"])
def test_damaged_cached_blob_is_fetched_again(hub_server, tiny_dataset, damage, filename,
                                              monkeypatch):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    load_from_hub("hf:org/cp")
    blob = _blob(filename)
    data = blob.read_bytes()
    blob.write_bytes(b"" if damage == "empty" else data[: len(data) // 2])
    hub_server.requests.clear()
    assert_same(load_from_hub("hf:org/cp"), tiny_dataset)  # every pull, not just once
    assert _gets(hub_server, filename) == 1
    assert _blob(filename).read_bytes() == data  # huggingface_hub replaced the blob
    hub_server.requests.clear()
    assert_same(load_from_hub("hf:org/cp"), tiny_dataset)
    assert _gets(hub_server, filename) == 0  # healed: no more downloads
    # offline nothing can be fetched: a damaged card is an error naming the copy and
    # the fix; without a sidecar the card's sha256 still checks the file
    _blob(filename).write_bytes(b"")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if filename != "README.md":
        assert_same(load_from_hub("hf:org/cp"), tiny_dataset)
        return
    with pytest.raises(HubError, match=rf"{filename}.*cached copy .* is damaged.*unset "
                                       "HF_HUB_OFFLINE"):
        load_from_hub("hf:org/cp")


def test_damaged_recipe_blob_is_fetched_again_on_pull(hub_server, tiny_dataset,
                                                      tmp_path):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    pull_from_hub("hf:org/cp", out=tmp_path / "a")
    recipe = (tmp_path / "a" / "recipe.yaml").read_bytes()
    _blob("recipe.yaml").write_bytes(b"")
    res = pull_from_hub("hf:org/cp", out=tmp_path / "b")
    assert (res.directory / "recipe.yaml").read_bytes() == recipe


def test_card_without_hades_zoo_block_is_not_fetched_twice(hub_server, tiny_dataset):
    """An intact card that is simply not hades_zoo's: one download, a clear error."""
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    hub_server.add_commit("org/cp", "main", {"README.md": b"# just prose\n"})
    with pytest.raises(HubError, match="no 'hades_zoo:' block"):
        load_from_hub("hf:org/cp")
    assert _gets(hub_server, "README.md") == 1


# ------------------------------------------------------------------ offline fallback
def test_pulled_copy_loads_when_the_hf_cache_cannot_resolve(hub_server, tiny_dataset,
                                                            monkeypatch):
    res = push_to_hub(tiny_dataset, "org/cp", tag="v1", token=WRITE)
    pull_from_hub("hf:org/cp@v1")  # into hades_zoo's cache: records refs/v1
    assert (pulled_root("org/cp") / "refs" / "v1").read_text().strip() == res.commit
    shutil.rmtree(hf_cache_dir() / REPO / "refs")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_server.requests.clear()
    assert_same(load_from_hub("hf:org/cp@v1"), tiny_dataset)
    assert_same(hz.load("hf:org/cp@v1"), tiny_dataset)
    assert hub_server.requests == []
    # the whole huggingface_hub cache gone, and the server failing instead of offline
    monkeypatch.delenv("HF_HUB_OFFLINE")
    shutil.rmtree(hf_cache_dir())
    hub_server.fail("* /datasets/org/cp/resolve/*", 501)
    assert_same(load_from_hub("hf:org/cp@v1"), tiny_dataset)
    assert_same(load_from_hub(f"hf:org/cp@{res.commit}"), tiny_dataset)


def test_offline_error_says_exactly_what_is_missing(hub_server, tiny_dataset,
                                                    monkeypatch):
    res = push_to_hub(tiny_dataset, "org/cp", tag="v1", token=WRITE)
    pulled = pull_from_hub("hf:org/cp@v1")
    shutil.rmtree(hf_cache_dir() / REPO / "refs")
    (pulled_root("org/cp") / "refs" / "v1").unlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubError) as info:
        load_from_hub("hf:org/cp@v1")
    text = str(info.value)
    assert "not in the cache" not in text
    assert "has no record of which commit 'v1' is (refs/v1 is missing)" in text
    assert f"refs/v1 is missing) (it holds commit(s) {res.commit[:12]}" in text
    assert "hf:org/cp@<commit>" in text
    assert_same(load_from_hub(f"hf:org/cp@{res.commit}"), tiny_dataset)
    # the pulled dataset file itself deleted: named
    (pulled_root("org/cp") / "refs" / "v1").write_text(res.commit + "\n")
    pulled.dataset_file.unlink()
    with pytest.raises(HubError, match=rf"No pulled copy to fall back on: "
                                       rf"{pulled.dataset_file} is missing"):
        load_from_hub("hf:org/cp@v1")


# ------------------------------------------------------------------ card vs sidecar
def test_card_and_sidecar_that_disagree_are_refused(hub_server, tiny_dataset, tmp_path):
    res = push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    card_sha = {f.path: f.sha256 for f in res.files}["cartpole-R-2.safetensors"]
    other = "ab" * 32
    hub_server.add_commit("org/cp", "main", {
        "cartpole-R-2.safetensors.sha256": f"{other}  cartpole-R-2.safetensors\n".encode()})
    for call in (lambda: load_from_hub("hf:org/cp"),
                 lambda: pull_from_hub("hf:org/cp", out=tmp_path / "out")):
        with pytest.raises(HubError) as info:
            call()
        text = str(info.value)
        assert card_sha in text and other in text and "--overwrite-card" in text
        assert info.value.reason == "inconsistent"
    assert not (tmp_path / "out").exists()
    # choosing explicitly is the documented way out
    assert_same(load_from_hub("hf:org/cp", sha256=card_sha), tiny_dataset)
    out = CliRunner().invoke(cli, ["pull", "hf:org/cp", "--out", str(tmp_path / "o2")])
    assert out.exit_code == 1 and "records sha256" in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_a_read_whose_connection_drops_once_is_tried_again(hub_server, tiny_dataset):
    """A download is idempotent: one dropped connection (a keep-alive connection the
    server had just closed: CI, stop 23, through olah) is retried once; a connection
    that keeps dropping is a typed 'cannot connect'."""
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    hub_server.drop("* /datasets/org/cp/resolve/*", times=1)
    assert_same(load_from_hub("hf:org/cp"), tiny_dataset)
    hub_server.clear_faults()
    hub_server.drop("* /datasets/org/cp2/resolve/*")
    with pytest.raises(HubError, match="cannot connect") as info:
        load_from_hub("hf:org/cp2")
    assert info.value.reason == "connection"


# ------------------------------------------------------------------ push
def test_dropped_connection_during_push(hub_server, tiny_dataset):
    hub_server.drop("POST /api/datasets/org/cp/commit/*", times=1)
    with pytest.raises(HubError) as info:
        push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    text = str(info.value)
    assert "HF_HUB_OFFLINE" not in text
    assert "may or may not have landed" in text and "/datasets/org/cp/commits/main" in text
    assert info.value.reason == "connection"
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)  # the advised retry works
    assert_same(load_from_hub("hf:org/cp"), tiny_dataset)
    # dropped before the commit started: nothing was uploaded, and it says so
    hub_server.drop("POST /api/repos/create", times=1)
    with pytest.raises(HubError, match="no commit was made") as info:
        push_to_hub(tiny_dataset, "org/cp2", token=WRITE)
    assert "HF_HUB_OFFLINE" not in str(info.value)
    # a 5xx on the commit: may have landed, too
    hub_server.fail("POST /api/datasets/org/cp/commit/*", 502, times=1)
    with pytest.raises(HubError, match=r"server error \(502\).*may or may not have "
                                       "landed.*retry later"):
        push_to_hub(tiny_dataset.replace(states=tiny_dataset.states + 1), "org/cp",
                    token=WRITE)


def test_push_to_an_existing_tag_is_refused_before_any_upload(hub_server, tiny_dataset,
                                                              tmp_path, monkeypatch):
    first = push_to_hub(tiny_dataset, "org/cp", tag="v1", token=WRITE)
    changed = tiny_dataset.replace(states=tiny_dataset.states + 1)
    hub_server.requests.clear()
    for dry_run in (True, False):
        with pytest.raises(HubError, match=r"tag 'v1' already exists \(on commit "
                           rf"{first.commit[:12]}\); nothing was uploaded.*--tag.*'v2'"
                           r".*delete_tag") as info:
            push_to_hub(changed, "org/cp", tag="v1", token=WRITE, dry_run=dry_run)
        assert info.value.reason == "conflict"
    assert writes(hub_server) == []
    assert hub_server.resolve("org/cp", "main") == first.commit
    # the CLI: one line, exit 1, and still nothing uploaded
    src = tmp_path / "cp.safetensors"
    changed.save(src)
    monkeypatch.setenv("HF_TOKEN", WRITE)
    out = CliRunner().invoke(cli, ["push", str(src), "--repo-id", "org/cp", "--tag", "v1"])
    assert out.exit_code == 1 and "tag 'v1' already exists" in out.output
    assert len(out.output.strip().splitlines()) == 1
    assert writes(hub_server) == []
    out = CliRunner().invoke(cli, ["push", str(src), "--repo-id", "org/cp", "--tag", "v2"])
    assert out.exit_code == 0, out.output
    assert hub_server.resolve("org/cp", "v2") != first.commit


def test_tag_taken_between_check_and_tagging_says_the_commit_landed(
        hub_server, tiny_dataset, monkeypatch):
    push_to_hub(tiny_dataset, "org/cp", tag="v1", token=WRITE)
    monkeypatch.setattr("hades_zoo.hub.push._check_tag_free", lambda *a: None)
    changed = tiny_dataset.replace(states=tiny_dataset.states + 1)
    with pytest.raises(HubError, match=r"the commit landed .* but tagging it failed.*"
                                       r"conflict \(409\)"):
        push_to_hub(changed, "org/cp", tag="v1", token=WRITE)
    assert_same(load_from_hub("hf:org/cp"), changed)


# ------------------------------------------------------------------ adversarial
def test_two_datasets_in_one_repo_follow_the_card(hub_server, tiny_dataset,
                                                  hopper_dataset, tmp_path):
    push_to_hub(tiny_dataset, "org/mixed", token=WRITE)
    push_to_hub(hopper_dataset, "org/mixed", token=WRITE)  # card block now names hopper
    assert_same(load_from_hub("hf:org/mixed"), hopper_dataset)
    assert_same(load_from_hub("hf:org/mixed", filename="cartpole-R-2.safetensors"),
                tiny_dataset)  # its own sidecar
    res = pull_from_hub("hf:org/mixed", out=tmp_path / "m")
    assert res.dataset_file.name == "hopper-R-4.safetensors"


@pytest.mark.parametrize("bad", [
    {"README.md": b"---\nhades_zoo: [1, 2]\n---\n"},
    {"README.md": b"---\nhades_zoo: {file: 7}\n---\n"},
    {"README.md": b"---\nhades_zoo: {file: ../x.safetensors, sha256: 1}\n---\n"},
    {"README.md": b"---\n: : :\n---\n"},
    {"README.md": b"\xff\xfe not utf-8"},
    {"cartpole-R-2.safetensors.sha256": b"\x00\x01"},
    {"cartpole-R-2.safetensors": b"not a safetensors file"},
])
def test_hostile_repo_contents_raise_typed_errors(hub_server, tiny_dataset, bad,
                                                  tmp_path):
    from hades_zoo.errors import HadesZooError

    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    hub_server.add_commit("org/cp", "main", bad)
    with pytest.raises(HadesZooError):
        load_from_hub("hf:org/cp")
    with pytest.raises(HadesZooError):
        pull_from_hub("hf:org/cp", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()  # nothing unverified was written


@pytest.mark.parametrize("kwargs,match", [
    ({"source": 123}, "must be a string"),
    ({"source": None}, "must be a string"),
    ({"source": "hf:org/cp", "sha256": 12}, "not 64 hex"),
    ({"source": "hf:org/cp", "filename": ["x"]}, "invalid file name"),
    ({"source": "hf:org/cp", "filename": 3, "sha256": "0" * 64}, "invalid file name"),
])
def test_wrong_types_are_typed_errors(hub_server, kwargs, match):
    from hades_zoo.errors import HubSourceError

    with pytest.raises(HubSourceError, match=match):
        load_from_hub(**kwargs)
    with pytest.raises(HubSourceError, match=match):
        pull_from_hub(**kwargs)
    assert hub_server.requests == []


def test_server_errors_on_every_read_are_typed(hub_server, tiny_dataset, tmp_path):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    for pattern in ("* /datasets/org/cp/resolve/*/README.md",
                    "* /datasets/org/cp/resolve/*/cartpole-R-2.safetensors.sha256",
                    "* /datasets/org/cp/resolve/*/cartpole-R-2.safetensors",
                    "* /datasets/org/cp/resolve/*/recipe.yaml"):
        hub_server.clear_faults()
        hub_server.fail(pattern, 501)
        with pytest.raises(HubError, match=r"server error \(501\)"):
            pull_from_hub("hf:org/cp", out=tmp_path / "o")
    hub_server.clear_faults()
    assert json.dumps(pull_from_hub("hf:org/cp", out=tmp_path / "o").sha256)


@pytest.mark.parametrize("pattern", ["POST /api/datasets/org/cp/preupload/*",
                                     "PUT /lfs-upload/*"])
def test_push_failing_before_its_commit_says_no_commit_was_made(hub_server, tiny_dataset,
                                                                pattern):
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    head = hub_server.resolve("org/cp", "main")
    hub_server.fail(pattern, 501)
    with pytest.raises(HubError, match=r"server error \(501\).*no commit was made"):
        push_to_hub(tiny_dataset.replace(states=tiny_dataset.states + 1), "org/cp",
                    token=WRITE)
    assert hub_server.resolve("org/cp", "main") == head


def test_more_wrong_inputs_are_typed(hub_server, tiny_dataset, tmp_path, monkeypatch):
    from hades_zoo.errors import (
        DatasetFormatError,
        HubSourceError,
        StorageError,
        UnknownDatasetError,
    )

    with pytest.raises(DatasetFormatError, match="takes a SyntheticDataset, got str"):
        push_to_hub("cartpole-R-2", "org/cp", token=WRITE)
    with pytest.raises(HubSourceError, match="out= must be a folder path"):
        pull_from_hub("hf:org/cp", out=123)
    with pytest.raises(UnknownDatasetError, match="must be a str or Path, got int"):
        hz.load(5)
    assert hub_server.requests == []
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    home = tmp_path / "hf-home-file"
    home.write_text("x")
    monkeypatch.setenv("HF_HOME", str(home))
    with pytest.raises(StorageError, match=rf"{home} is a file, not a folder.*point "
                                           "HF_HOME"):
        load_from_hub("hf:org/cp")


def test_cli_push_says_the_kept_card_block_was_updated(hub_server, tiny_dataset,
                                                       tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", WRITE)
    push_to_hub(tiny_dataset, "org/cp", token=WRITE)
    src = tmp_path / "cp.safetensors"
    tiny_dataset.replace(states=tiny_dataset.states + 1).save(src)
    out = CliRunner().invoke(cli, ["push", str(src), "--repo-id", "org/cp"])
    assert out.exit_code == 0, out.output
    assert "kept the existing README.md, its hades_zoo block updated" in out.output
    assert "uploaded README.md" in out.output
