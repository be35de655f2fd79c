"""Kinds a newcomer's try found after the integrity work landed (2026-12-02), one test
each: a tampered file beside its sidecar, paths the OS refuses, a policy too large to
build, special files in a policy folder, a nested hold released out of order, and a
certificate written into a folder a distill holds."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.errors import DatasetFormatError, PolicyFormatError, RecipeError
from hades_zoo.hub import save_pretrained

from .conftest import REPO, make_dataset


def _one_line(result, kind: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"Error: {kind}:" in lines[0], result.output
    return lines[0]


def test_a_tampered_file_beside_its_sidecar_is_refused_when_loaded_as_a_file(tmp_path):
    import hades_zoo as hz

    save_pretrained(make_dataset(), tmp_path / "entry")
    (tmp_path / "entry" / "README.md").unlink()  # the sidecar alone must be enough
    (file,) = (tmp_path / "entry").glob("*.safetensors")
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF  # one byte of the last array
    file.write_bytes(bytes(data))
    for source in (str(file), f"file:{file}"):
        with pytest.raises(DatasetFormatError, match="sha256 mismatch"):
            hz.load(source)
    _one_line(CliRunner().invoke(cli, ["verify", str(file)]), "DatasetFormatError")


@pytest.mark.parametrize("args", [
    ["plot", "cartpole-R-2.hz", "--out", "b" * 300 + ".png"],
    ["distill", str(REPO / "recipes" / "cartpole-R-2.yaml"), "--out", os.devnull],
])
def test_paths_the_os_refuses_are_one_line_errors(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _one_line(CliRunner().invoke(cli, args), "StorageError")
    # a name too long: "check the path"; /dev/null: refused by the --out gate
    # (data.destinations) before any work, as a file or device where a folder belongs
    assert "check the path" in line or "not a folder" in line, line


def test_a_stored_policy_too_large_to_build_is_a_recipe_error():
    ds = make_dataset()
    huge = dataclasses.replace(ds.recipe.policy, width=2**30)
    with pytest.raises(RecipeError, match=r"policy.width=1073741824 is over 16384"):
        ds.recipe.replace(policy=huge).validate()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_special_files_in_a_policy_folder_are_refused_not_read(tmp_path):
    import hades_zoo as hz

    pol = hz.train_policy(make_dataset(), steps=5)
    pol.save_pretrained(tmp_path / "pol", evaluate=False)
    for name in ("model.safetensors", "README.md", "config.json"):
        bad = tmp_path / f"bad-{name}"
        bad.mkdir()
        for f in (tmp_path / "pol").iterdir():
            if f.name != name:
                (bad / f.name).write_bytes(f.read_bytes())
        os.mkfifo(bad / name)
        with pytest.raises(PolicyFormatError, match="FIFO|not a regular file|no config"):
            hz.load_policy(str(bad))


def test_a_nested_hold_released_after_the_outer_one_does_not_raise(tmp_path):
    from hades_zoo.engine.run_folder import hold_run_folder

    outer = hold_run_folder(tmp_path / "run")
    inner = hold_run_folder(tmp_path / "run")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # a Ctrl-C unwinding the outer block first
    inner.__exit__(None, None, None)
    assert not (tmp_path / "run" / ".lock").exists()


def test_certify_of_a_folder_a_distill_holds_is_refused_before_measuring(tmp_path):
    folder = tmp_path / "run"
    save_pretrained(make_dataset(), folder)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom hades_zoo.engine.run_folder import hold_run_folder\n"
         f"with hold_run_folder({str(folder)!r}, command='hades-zoo distill x'):\n"
         "    print('held', flush=True)\n    sys.stdin.read()\n"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        card = (folder / "README.md").read_bytes()
        for cmd in (["certify", str(folder), "--seeds", "1"],
                    ["transfer", str(folder), "--widths", "8", "--steps", "5",
                     "--seeds", "1"]):
            line = _one_line(CliRunner().invoke(cli, cmd), "RunFolderBusyError")
            assert f"pid {holder.pid}" in line
        assert (folder / "README.md").read_bytes() == card
        assert not (folder / "certificate.json").exists()
    finally:
        holder.kill()
        holder.communicate()


def test_a_section_set_to_a_value_is_not_silently_replaced_by_a_later_set():
    from hades_zoo.data.recipe_io import load_recipe

    with pytest.raises(RecipeError, match=r"es is a section, but it holds 1"):
        load_recipe(REPO / "recipes" / "cartpole-R-2.yaml",
                    ["es=1", "es.popsize=8"])


def test_a_policy_folder_given_to_a_dataset_command_says_what_it_is(tmp_path):
    import hades_zoo as hz

    hz.train_policy(make_dataset(), steps=5).save_pretrained(tmp_path / "pol",
                                                            evaluate=False)
    with pytest.raises(DatasetFormatError, match="is a saved policy"):
        hz.load(str(tmp_path / "pol"))
    line = _one_line(CliRunner().invoke(cli, ["info", str(tmp_path / "pol")]),
                     "DatasetFormatError")
    assert "hades-zoo eval" in line


def test_a_file_that_is_not_a_dataset_is_not_to_be_deleted(tmp_path):
    notes = tmp_path / "notes.safetensors"
    notes.write_text("hello!")
    line = _one_line(CliRunner().invoke(cli, ["info", str(notes)]), "DatasetFormatError")
    assert "delete" not in line and "check the path" in line
