"""Where a user's command may write (docs/RELIABILITY.md, "Output paths"): a folder
of the user's files is never a distill run folder; the installed package, an empty
path and an unusable folder are refused before any work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import recipe_to_dict
from hades_zoo.errors import NotARunFolderError
from tests.conftest import REPO


def _write(tmp_path, recipe, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe)))
    return path


def _user_folder(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir()
    mine = {"README.md": "my notes", "recipe.yaml": "mine: 1\n",
            "metrics.jsonl": '{"mine": 1}\n', "certificate.json": "{}",
            "replay.mp4": "video"}
    for name, text in mine.items():
        (folder / name).write_text(text)
    return folder, mine


@pytest.mark.parametrize("no_resume", [False, True])
def test_distill_refuses_a_folder_of_user_files(tmp_path, tiny_recipe, no_resume):
    folder, mine = _user_folder(tmp_path)
    args = ["distill", str(_write(tmp_path, tiny_recipe)), "--out", str(folder),
            "--no-replay"] + (["--no-resume"] if no_resume else [])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1, r.output
    assert "NotARunFolderError" in r.output and "not a hades_zoo distill run" in r.output
    assert "removed" not in r.output and "Traceback" not in r.output
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine
    with pytest.raises(NotARunFolderError, match="new or empty folder"):
        hz.distill(tiny_recipe, out_dir=folder)
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine


def test_distill_takes_an_empty_folder_and_resumes_or_restarts_a_run(tmp_path,
                                                                     tiny_recipe):
    out = tmp_path / "run"
    out.mkdir()  # empty: fine
    recipe = str(_write(tmp_path, tiny_recipe))
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay",
                                 "--generations", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay"])
    assert r.exit_code == 0, r.output  # resumed
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(out), "--no-replay",
                                 "--no-resume"])
    assert r.exit_code == 0 and "removed the previous run's outputs" in r.output
    # what a run stopped before its first checkpoint leaves is still "empty"
    fresh = tmp_path / "stopped"
    fresh.mkdir()
    (fresh / ".lock").write_text("pid=1\n")
    (fresh / "metrics.jsonl").write_text("")
    r = CliRunner().invoke(cli, ["distill", recipe, "--out", str(fresh), "--no-replay"])
    assert r.exit_code == 0, r.output


PACKAGE = Path(hz.__file__).parent

#: every command that writes to a user-given path, with arguments that would work
#: or fail later: the gate answers when the command line is read, before any work
WRITERS = {
    "distill": (["distill", str(REPO / "recipes/cartpole-R-2.yaml"), "--no-replay"], "folder"),
    "certify": (["certify", "cartpole-R-2.hz", "--seeds", "1"], "folder"),
    "transfer": (["transfer", "cartpole-R-2.hz", "--seeds", "1"], "folder"),
    "merge": (["merge", "cartpole-R-2.hz", "hopper-R-4"], "folder"),
    "train": (["train", "cartpole-R-2.hz"], "folder"),
    "pull": (["pull", "hf:org/x"], "folder"),
    "catalogue": (["catalogue", "--only", "cartpole-R-2.hz"], "folder"),
    "import-reference": (["import-reference", "missing.npz"], "file"),
    "render": (["render", "cartpole-R-2.hz"], "file"),
    "plot": (["plot", "cartpole-R-2.hz"], "file"),
}


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_no_command_writes_into_the_installed_package(command):
    args, kind = WRITERS[command]
    before = _tree(PACKAGE / "zoo" / "entries")
    target = PACKAGE / "zoo" / "entries" / ("x.png" if kind == "file" else "")
    r = CliRunner().invoke(cli, [*args, "--out", str(target)])
    assert r.exit_code == 1, r.output
    assert "OutputPathError: --out" in r.output, r.output
    assert "inside the installed hades_zoo package" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert _tree(PACKAGE / "zoo" / "entries") == before


def test_the_package_gate_follows_links_and_is_the_catalogues(tmp_path):
    from hades_zoo.data.destinations import check_out_folder
    from hades_zoo.errors import OutputPathError

    (tmp_path / "link").symlink_to(PACKAGE / "zoo")
    with pytest.raises(OutputPathError, match="inside the installed hades_zoo package"):
        check_out_folder(tmp_path / "link" / "entries")
    with pytest.raises(OutputPathError, match="inside the installed"):
        hz.distill(hz.load_recipe(REPO / "recipes/cartpole-R-2.yaml"),
                   out_dir=PACKAGE / "zoo" / "entries")


@pytest.mark.parametrize("command", sorted(WRITERS))
@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_out_is_one_usage_error_everywhere(command, empty, tmp_path,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)  # were it taken as ".", files would land here
    args, _ = WRITERS[command]
    r = CliRunner().invoke(cli, [*args, "--out", empty])
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--out'" in r.output and "empty path" in r.output
    assert "Traceback" not in r.output
    assert [p.name for p in tmp_path.iterdir() if p.name != "hades_zoo_cache"
            and p.name != "hf_home"] == []


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_an_unusable_out_is_refused_before_any_work(command, tmp_path, monkeypatch):
    args, kind = WRITERS[command]
    afile = tmp_path / "afile"
    afile.write_text("mine")
    places = ["/dev/null/x", str(afile / "x")]
    if kind == "folder":
        places += ["/dev/null", str(afile)]
    for place in places:
        r = CliRunner().invoke(cli, [*args, "--out", place])
        assert r.exit_code == 1, (place, r.output)
        assert "StorageError: --out" in r.output and "not a folder" in r.output
    assert afile.read_text() == "mine"
    # a read-only folder (root may write anywhere: ask as a user would be answered)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False
                            if Path(p) == locked and mode & os.W_OK else real(p, mode))
    place = locked / ("sub/x.png" if kind == "file" else "sub")
    r = CliRunner().invoke(cli, [*args, "--out", str(place)])
    assert r.exit_code == 1, r.output
    assert "StorageError: --out" in r.output and "cannot write in" in r.output
    assert list(locked.iterdir()) == []



@pytest.mark.parametrize("name", ["checkpoint", "policy", "Checkpoint"])
def test_a_recipe_name_a_run_folder_reserves_is_refused(name, tmp_path, tiny_recipe):
    from hades_zoo.errors import RecipeError

    path = _write(tmp_path, tiny_recipe)
    r = CliRunner().invoke(cli, ["distill", str(path), "--out", str(tmp_path / "run"),
                                 "--set", f"name={name}", "--no-replay"])
    assert r.exit_code == 1, r.output
    assert "RecipeError: " in r.output and f"recipe name '{name}' is reserved" in r.output
    assert not (tmp_path / "run").exists()
    with pytest.raises(RecipeError, match="is reserved"):
        hz.load_recipe(_write(tmp_path, tiny_recipe.replace(name=name), "r.yaml"))
    with pytest.raises(RecipeError, match="is reserved"):
        hz.distill(tiny_recipe.replace(name=name), out_dir=tmp_path / "run")


def test_the_reserved_names_are_what_a_run_folder_holds():
    from hades_zoo.data.recipe import RESERVED_NAMES
    from hades_zoo.engine.checkpoint import CKPT_TENSORS
    from hades_zoo.engine.run_files import POLICY_FILE

    own = {n.removesuffix(".safetensors") for n in (CKPT_TENSORS, POLICY_FILE)}
    assert own == set(RESERVED_NAMES)


def test_import_reference_replaces_a_dataset_and_nothing_else(tmp_path):
    from hades_zoo.data.dataset import save_dataset
    from hades_zoo.errors import OutputPathError
    from tests.test_importer import HOPPER

    out = tmp_path / "h.safetensors"
    out.write_bytes(b"my own safetensors, not a dataset")
    r = CliRunner().invoke(cli, ["import-reference", str(HOPPER), "--out", str(out)])
    assert r.exit_code == 1, r.output
    assert "OutputPathError" in r.output and "is not a hades_zoo dataset file" in r.output
    assert out.read_bytes() == b"my own safetensors, not a dataset"
    with pytest.raises(OutputPathError, match="refusing to replace it"):
        save_dataset(hz.load("cartpole-R-2.hz"), out)
    out.unlink()
    for _ in range(2):  # new, then an earlier dataset: replaced
        r = CliRunner().invoke(cli, ["import-reference", str(HOPPER), "--out", str(out)])
        assert r.exit_code == 0, r.output
    assert hz.load(f"file:{out}").dataset_id == "hopper-R-4"
