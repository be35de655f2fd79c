"""The standing adversarial suite for bad input (issue 17, deliverable 4).

Every kind of hostile or broken input is replayed against every loader that reads it;
each must raise a typed ``HadesZooError`` whose message names the problem (and, on
the command line, exit 1 with one line), never hang, exhaust memory or traceback.

To cover a new loader, add it to ``DATASET_LOADERS`` / ``RECIPE_LOADERS`` (or a CLI
command to ``DATASET_COMMANDS``); to cover a new kind, add a builder to
``DATASET_KINDS`` / ``RECIPE_KINDS``. The list of kinds and what each gets is in
docs/RELIABILITY.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data import format as fmt
from hades_zoo.data.dataset import (
    DatasetInfo,
    dataset_metadata,
    dataset_to_bytes,
    read_dataset_file,
)
from hades_zoo.data.recipe import MAX_RECIPE_INT, Recipe
from hades_zoo.data.recipe_io import load_recipe
from hades_zoo.data.untrusted import MAX_JSON_DEPTH, MAX_RECIPE_BYTES
from hades_zoo.errors import (
    DatasetFormatError,
    EnvError,
    HadesZooError,
    OutputFormatError,
    RecipeError,
)
from hades_zoo.hub.folder import from_pretrained
from hades_zoo.zoo.loading import load, load_dataset_file
from tests.conftest import REPO, make_dataset

RECIPE = REPO / "recipes" / "cartpole-R-2.yaml"
DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in json / yaml before the bounds
needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"),
                                 reason="POSIX special files")


def _raw(path: Path, arrays: dict, meta: dict) -> Path:
    """Write safetensors bytes as given, bypassing hades_zoo's own checks."""
    from safetensors.numpy import save

    path.write_bytes(save({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                          metadata=dict(meta)))
    return path


def _edited(path: Path, *, meta_key: str | None = None, edit=None, arrays=None) -> Path:
    """The tiny CartPole dataset with one metadata value or its arrays changed."""
    ds = make_dataset()
    meta, arr = dataset_metadata(ds), ds.arrays()
    if meta_key is not None:
        meta[meta_key] = edit(meta[meta_key])
    if arrays is not None:
        arr = arrays(arr)
    return _raw(path, arr, meta)


def _info_edit(**changes):
    return lambda text: json.dumps({**json.loads(text), **changes})


def _recipe_edit(section, key, value):
    def edit(text):
        data = json.loads(text)
        data[section][key] = value
        return json.dumps(data)
    return edit


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _logits(width):
    def change(arr):
        arr = dict(arr)
        arr.pop("labels")
        arr["label_logits"] = np.zeros((2, width), np.float32)
        return arr
    return change


# ---------------------------------------------------------------------------------
# Dataset files. kind -> (builder(tmp_path) -> path, error, match, level); the level
# says which loaders see it: "file" every reader of a path (read_metadata too),
# "file+folder" also as the dataset inside a folder, "file-link" a link given as the
# path, "file-only" readers of one file (not folders), "data" readers of the arrays and
# recipe, "env" loaders that check the env (not read_dataset_file).
DATASET_KINDS = {
    **{f"json-deep-{key}": (
        lambda t, key=key: _edited(t / "d.safetensors", meta_key=key,
                                   edit=lambda _: '{"a":' + DEEP + "}"),
        DatasetFormatError, f"'{key}' is nested more than 64", "file+folder")
       for key in ("recipe", "info", "library")},
    "json-huge-number": (lambda t: _edited(t / "d.safetensors", meta_key="library",
                                           edit=lambda _: '{"a":' + "1" * 5000 + "}"),
                         DatasetFormatError,
                         "'library' is not valid JSON .*4300 digits", "file+folder"),
    "json-deep-provenance": (lambda t: _edited(
        t / "d.safetensors", meta_key="info",
        edit=_info_edit(provenance_json='{"a":' + DEEP + "}")),
        DatasetFormatError, "provenance_json is nested more than 64", "data"),
    "provenance-not-object": (lambda t: _edited(t / "d.safetensors", meta_key="info",
                                                edit=_info_edit(provenance_json="[1]")),
                              DatasetFormatError,
                              r"provenance_json must be a JSON object.*got list",
                              "data"),
    "provenance-not-json": (lambda t: _edited(t / "d.safetensors", meta_key="info",
                                              edit=_info_edit(provenance_json="{x")),
                            DatasetFormatError, "provenance_json is not valid JSON",
                            "data"),
    "info-wrong-type": (lambda t: _edited(t / "d.safetensors", meta_key="info",
                                          edit=_info_edit(fitness="high")),
                        DatasetFormatError, "info.fitness must be int or float or null",
                        "data"),
    "info-unknown-key": (lambda t: _edited(t / "d.safetensors", meta_key="info",
                                           edit=_info_edit(colour="red")),
                         DatasetFormatError, "info has unknown key.*'colour'", "data"),
    "size-disagrees": (lambda t: _edited(t / "d.safetensors", meta_key="recipe",
                                         edit=_recipe_edit("dataset", "size", 7)),
                       DatasetFormatError, "dataset.size=7 but the arrays hold 2 pairs",
                       "data"),
    "metadata-env-disagrees": (lambda t: _edited(t / "d.safetensors", meta_key="env",
                                                 edit=lambda _: "Acrobot-v1"),
                               DatasetFormatError,
                               "metadata 'env' is 'Acrobot-v1' but the recipe says",
                               "data"),
    "recipe-nan-in-file": (lambda t: _edited(t / "d.safetensors", meta_key="recipe",
                                             edit=_recipe_edit("es", "sigma_init",
                                                               float("nan"))),
                           DatasetFormatError, "es.sigma_init: nan is not a finite",
                           "data"),
    "format-version-huge": (lambda t: _edited(t / "d.safetensors",
                                              meta_key="format_version",
                                              edit=lambda _: "9" * 5000),
                            DatasetFormatError, "format_version .* is not supported",
                            "data"),
    "label-logits-too-wide": (lambda t: _edited(t / "d.safetensors", arrays=_logits(5)),
                              EnvError, "label_logits of width 5 but env 'CartPole-v1' "
                              "has 2 actions", "env"),
    "label-logits-too-narrow": (lambda t: _edited(t / "d.safetensors",
                                                  arrays=_logits(1)),
                                EnvError, "label_logits of width 1", "env"),
    "header-length-huge": (lambda t: _huge_header(t / "d.safetensors"),
                           DatasetFormatError,
                           "corrupt or truncated safetensors header",
                           "file+folder"),
    "fifo": (lambda t: _fifo(t, "d.safetensors"), DatasetFormatError,
             r"is a FIFO \(named pipe\), not a dataset file", "file+folder"),
    "device": (lambda t: Path("/dev/zero"), DatasetFormatError,
               "is a character device, not a dataset file", "file+folder"),
    "folder-as-file": (lambda t: _folder(t), DatasetFormatError,
                       "is a folder, not a dataset file", "file-only"),
    "link-to-non-dataset": (lambda t: _link(t, t / "notes.txt"), DatasetFormatError,
                            r"\(a link to .*notes.txt\).*not a hades_zoo dataset: "
                            "point it at a dataset file", "file-link"),
    "link-to-nothing": (lambda t: _link(t, t / "gone.safetensors", make=False),
                        DatasetFormatError,
                        "is a symbolic link to .*gone.safetensors, which does not "
                        "exist",
                        "file"),
    "name-10k-characters": (lambda t: t / ("a" * 10_000 + ".safetensors"),
                            DatasetFormatError,
                            r"\(10\d\d\d characters\) is too long a name", "file"),
    "missing": (lambda t: t / "missing.safetensors", DatasetFormatError,
                "cannot read dataset .*missing.safetensors: No such file", "file"),
}


def _huge_header(path: Path) -> Path:
    data = bytearray(dataset_to_bytes(make_dataset()))
    data[:8] = (2**62).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    return path


def _folder(tmp_path: Path) -> Path:
    path = tmp_path / "folder.safetensors"
    path.mkdir()
    return path


def _link(tmp_path: Path, target: Path, *, make: bool = True) -> Path:
    if make:
        target.write_text("my notes, not a dataset\n")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    return link


def _in_folder(path: Path, tmp_path: Path) -> Path:
    """A save_pretrained-like folder (no card) holding ``path``'s file as its
    dataset."""
    folder = tmp_path / "entry"
    folder.mkdir()
    target = folder / "cartpole-R-2.safetensors"
    if path.is_fifo():
        os.mkfifo(target)
    elif path.is_char_device():
        target.symlink_to(path)  # the folder's dataset is a link to the device
    else:
        target.write_bytes(path.read_bytes())
    return folder


# loader -> (call(path, tmp_path), levels it sees)
FILE = {"file", "file+folder", "file-link"}
DATASET_LOADERS = {
    "read_metadata": (lambda p, t: fmt.read_metadata(p), {*FILE, "file-only"}),
    "read_dataset_file": (lambda p, t: read_dataset_file(p),
                          {*FILE, "file-only", "data"}),
    "load_dataset_file": (lambda p, t: load_dataset_file(p), {*FILE, "data", "env"}),
    "load(file:)": (lambda p, t: load(f"file:{p}"), {*FILE, "data", "env"}),
    "from_pretrained(file)": (lambda p, t: from_pretrained(p), {*FILE, "data", "env"}),
    "from_pretrained(folder)": (lambda p, t: from_pretrained(_in_folder(p, t)),
                                {"file+folder", "data", "env"}),
}


@pytest.mark.parametrize("kind, loader", [
    (kind, loader) for kind, (*_, level) in DATASET_KINDS.items()
    for loader, (_, levels) in DATASET_LOADERS.items() if level in levels])
def test_every_dataset_loader_refuses_every_bad_dataset_with_a_typed_error(
        kind, loader, tmp_path):
    build, error, match, _ = DATASET_KINDS[kind]
    call, _ = DATASET_LOADERS[loader]
    if kind.startswith(("fifo", "device", "link")) and not hasattr(os, "mkfifo"):
        pytest.skip("POSIX special files")
    path = build(tmp_path)
    if kind == "device" and not path.exists():
        pytest.skip("no /dev/zero")
    with pytest.raises(error, match=match) as info:
        call(path, tmp_path)
    text = str(info.value)
    assert "delete" not in text or not kind.startswith("link"), text
    assert len(text) < 2000, "messages stay short (long names are shortened)"


DATASET_COMMANDS = {
    "info": lambda p, t: ["info", str(p)],
    "verify": lambda p, t: ["verify", str(p)],
    "eval": lambda p, t: ["eval", str(p)],
    "plot": lambda p, t: ["plot", str(p), "--out", str(t / "p.png")],
    "train": lambda p, t: ["train", str(p), "--out", str(t / "pol")],
    "certify": lambda p, t: ["certify", str(p), "--seeds", "1"],
    "push": lambda p, t: ["push", str(p), "--repo-id", "org/x", "--dry-run"],
}
CLI_KINDS = ["json-deep-recipe", "provenance-not-object", "size-disagrees",
             "label-logits-too-wide", "fifo", "device", "link-to-non-dataset",
             "name-10k-characters"]


@needs_posix
@pytest.mark.parametrize("command", list(DATASET_COMMANDS))
@pytest.mark.parametrize("kind", CLI_KINDS)
def test_every_dataset_command_exits_1_with_one_line(kind, command, tmp_path):
    build, error, match, _ = DATASET_KINDS[kind]
    path = build(tmp_path)
    if not os.path.lexists(path) and kind == "device":
        pytest.skip("no /dev/zero")
    res = CliRunner().invoke(cli, DATASET_COMMANDS[command](path, tmp_path))
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and f"{error.__name__}:" in lines[0], res.output
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "p.png").exists()
    assert not (tmp_path / "policy.safetensors").exists()


def test_a_zoo_id_of_10k_characters_is_refused_in_one_short_line():
    res = CliRunner().invoke(cli, ["info", "a" * 10_000])
    assert res.exit_code == 1
    assert len(res.output.strip().splitlines()) == 1 and len(res.output) < 1000


# ---------------------------------------------------------------------------------
# Writing refuses what reading would refuse.
@pytest.mark.parametrize("change, match", [
    (lambda ds: ds.replace_info(provenance_json="[1, 2]"),
     "provenance_json must be a JSON object"),
    (lambda ds: ds.replace_info(fitness="500"), "info.fitness must be"),
    (lambda ds: ds.replace(recipe=ds.recipe.replace(
        dataset=dataclasses.replace(ds.recipe.dataset, size=5))),
     "dataset.size=5 but the arrays hold 2 pairs"),
])
def test_a_dataset_that_reading_would_refuse_is_not_written(change, match, tmp_path):
    ds = change(make_dataset())
    with pytest.raises(DatasetFormatError, match=match):
        ds.save(tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_provenance_property_is_typed():
    info = DatasetInfo(provenance_json='"a string"')
    with pytest.raises(DatasetFormatError, match="must be a JSON object"):
        info.provenance


# ---------------------------------------------------------------------------------
# Recipe files. kind -> (content bytes, match)
BASE = RECIPE.read_text()
_LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
           + "".join(f"{chr(98 + i)}: &{chr(98 + i)} ["
                     + ",".join(["*" + chr(97 + i)] * 9) + "]\n" for i in range(8)))
RECIPE_KINDS = {
    "json-deep": ('{"name": ' + DEEP + "}", "nested more than 64 levels"),
    "yaml-deep": (BASE + "\nextra: " + DEEP + "\n", "nested more than 64 levels"),
    "yaml-deep-block": (BASE + "\n" + "".join("  " * i + f"k{i}:\n" for i in range(200))
                        + "  " * 200 + "v: 1\n", "nested more than 64 levels"),
    "billion-laughs": (_LAUGHS, r"uses the YAML alias \*a \(line 2\)"),
    "self-reference": (BASE + "\nfoo: &x [*x]\n", r"alias \*x"),
    "merge-key": ("base: &b {size: 2}\n"
                  + BASE.replace("dataset:", "dataset:\n  <<: *b", 1), r"alias \*b"),
    "binary": (bytes(range(256)) * 4, r"is not UTF-8 text \(byte 0x80 at offset 128\)"),
    "latin-1": (BASE.replace("name:", "# café\nname:", 1).encode("latin-1"),
                r"is not UTF-8 text \(byte 0xe9"),
    "nul-bytes": (b"name: x\x00\n", "is not valid YAML"),
    "too-large": (BASE + "#" * (MAX_RECIPE_BYTES + 1), "a recipe file is at most"),
    "duplicate-key": (BASE.replace("es:\n", "es:\n  sigma_init: .nan\n", 1),
                      r"key 'sigma_init' is given twice in one mapping "
                      r"\(lines 27 and 31\)"),
}


def _recipe_file(tmp_path: Path, content) -> Path:
    path = tmp_path / "r.yaml"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("kind", list(RECIPE_KINDS))
def test_every_bad_recipe_file_gets_a_recipe_error(kind, tmp_path):
    content, match = RECIPE_KINDS[kind]
    path = _recipe_file(tmp_path, content)
    with pytest.raises(RecipeError, match=match):
        load_recipe(path)


@needs_posix
@pytest.mark.parametrize("path, match", [
    ("fifo", r"FIFO \(named pipe\), not a recipe file"),
    ("/dev/zero", "character device, not a recipe file"),
    ("long", "too long a name"),
])
def test_special_recipe_paths_get_a_recipe_error(path, match, tmp_path):
    if path == "fifo":
        path = _fifo(tmp_path, "r.yaml")
    elif path == "long":
        path = tmp_path / ("r" * 10_000 + ".yaml")
    elif not os.path.exists(path):
        pytest.skip("no /dev/zero")
    with pytest.raises(RecipeError, match=match):
        load_recipe(path)


@pytest.mark.parametrize("kind", ["json-deep", "billion-laughs", "binary"])
def test_distill_of_a_bad_recipe_exits_1_with_one_line_and_writes_nothing(kind,
                                                                          tmp_path):
    path = _recipe_file(tmp_path, RECIPE_KINDS[kind][0])
    res = CliRunner().invoke(cli, ["distill", str(path), "--out",
                                   str(tmp_path / "run")])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "RecipeError:" in lines[0], res.output
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------------------------
# Recipe numbers: one generic check over every numeric field of the tree.
def _numeric_fields(cls=Recipe, prefix=""):
    """(dotted path, kind) of every float / int field (tuples: their first item)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint, path = hints[f.name], f"{prefix}{f.name}"
        args = [a for a in (typing.get_args(hint) or (hint,)) if a is not type(None)]
        sub = next((a for a in args if dataclasses.is_dataclass(a)), None)
        if sub is not None:
            yield from _numeric_fields(sub, path + ".")
            continue
        if typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            if item in (int, float):
                yield path, f"tuple-{item.__name__}"
        elif float in args:
            yield path, "float"
        elif int in args:
            yield path, "int"


NUMERIC = list(_numeric_fields())


def test_the_walk_finds_the_fields_the_issue_names():
    names = {p for p, _ in NUMERIC}
    assert {"bc.max_grad_norm", "es.sigma_init", "es.lrate_init", "dataset.init_std",
            "es.popsize", "es.generations", "dataset.size", "inner_loop.bc_lr"} <= names


@pytest.mark.parametrize("field, kind", NUMERIC, ids=[p for p, _ in NUMERIC])
def test_every_recipe_number_refuses_nan_inf_and_huge_values_naming_its_path(field,
                                                                           kind):
    if kind == "float":
        bad = [".nan", ".inf", "-.inf", "1e999"]
    elif kind == "int":
        bad = [str(MAX_RECIPE_INT), str(10**12), str(-MAX_RECIPE_INT)]
    elif kind == "tuple-float":
        bad = ["[.nan, 0.1]"]
    else:
        bad = [f"[{MAX_RECIPE_INT}, {MAX_RECIPE_INT + 1}]"]
    for value in bad:
        where = field + ("[0]" if kind.startswith("tuple") else "")
        problem = "is not a finite number" if "float" in kind else "is out of range"
        match = rf"--set {field}=.*: {re.escape(where)}: .*{problem}"
        if field == "recipe_version":  # checked first, with its own message
            match = rf"recipe_version={value} is not supported"
        with pytest.raises(RecipeError, match=match):
            load_recipe(RECIPE, [f"{field}={value}"])


def test_recipe_numbers_in_the_file_itself_are_checked_too(tmp_path):
    path = _recipe_file(tmp_path, BASE.replace("lrate_init: 0.1", "lrate_init: .inf"))
    with pytest.raises(RecipeError, match="es.lrate_init: inf is not a finite number"):
        load_recipe(path)


@pytest.mark.parametrize("override", [
    "bc.max_grad_norm=.nan", "es.popsize=1000000000000", "es.sigma_init=.nan",
    "es.lrate_init=.inf", "dataset.init_std=.nan"])
def test_distill_refuses_bad_numbers_before_any_work(override, tmp_path):
    res = CliRunner().invoke(cli, ["distill", str(RECIPE), "--set", override,
                                   "--out", str(tmp_path / "run")])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "RecipeError:" in lines[0], res.output
    assert override.split("=")[0] in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override, match", [
    ("env.name=" + "a" * 10_000, "env.name: a string of 10,000 characters"),
    ("variant=" + "c" * 10_000, "variant: a string of 10,000 characters"),
    ("es.popsize=" + "1" * 5000, "a value cannot be read .*4300 digits"),
    ("x" * 10_000 + "=1", r"x\.\.\.x+ \(10000 characters\) is not a recipe field"),
])
def test_huge_override_values_get_a_short_recipe_error(override, match):
    with pytest.raises(RecipeError, match=match) as info:
        load_recipe(RECIPE, [override])
    assert len(str(info.value)) < 600, "the value is shortened in the message"


def test_a_huge_string_in_a_recipe_file_is_refused(tmp_path):
    path = _recipe_file(tmp_path, BASE.replace("CartPole-v1", "C" * 5000))
    with pytest.raises(RecipeError, match="env.name: a string of 5,000 characters"):
        load_recipe(path)


def test_an_alias_in_an_override_value_is_refused():
    with pytest.raises(RecipeError, match=r"override 'es.popsize=\*a'.*alias"):
        load_recipe(RECIPE, ["es.popsize=*a"])


def test_json_depth_bound_is_generous_for_real_files():
    assert MAX_JSON_DEPTH >= 16  # a recipe is 3 deep, metadata 4


# ---------------------------------------------------------------------------------
# verify and plot
def test_verify_of_a_folder_without_a_card_does_not_claim_a_sha256_check(tmp_path):
    folder = tmp_path / "nocard"
    make_dataset().save(folder / "cartpole-R-2.safetensors")
    res = CliRunner().invoke(cli, ["verify", str(folder)])
    assert res.exit_code == 0, res.output
    assert "matches" not in res.output and "sha256 not checked" in res.output


def test_verify_of_a_save_pretrained_folder_still_checks_the_card(tmp_path):
    make_dataset().save_pretrained(tmp_path / "repo")
    res = CliRunner().invoke(cli, ["verify", str(tmp_path / "repo")])
    assert res.exit_code == 0 and "sha256 matches the card" in res.output, res.output


@pytest.mark.parametrize("out, match", [("x.xyz", r"suffix '\.xyz' is not an image "
                                                   r"format.*\.png.*\.svg"),
                                        ("x", "no suffix names the image format")])
def test_plot_refuses_an_unknown_suffix_before_any_work(out, match, tmp_path):
    pytest.importorskip("matplotlib")
    # the source does not exist: the suffix is checked first
    res = CliRunner().invoke(cli, ["plot", "no-such-R-1", "--out", str(tmp_path / out)])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "OutputFormatError:" in lines[0], res.output
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / out).exists()


def test_plot_dataset_checks_the_suffix_too(tmp_path):
    pytest.importorskip("matplotlib")
    from hades_zoo.zoo.plotting import plot_dataset

    with pytest.raises(OutputFormatError, match=r"\.xyz"):
        plot_dataset(make_dataset(), tmp_path / "x.xyz")


def test_every_error_here_is_a_hades_zoo_error():
    for error in (DatasetFormatError, EnvError, RecipeError, OutputFormatError):
        assert issubclass(error, HadesZooError)


# ---------------------------------------------------------------------------------
# Reference .npz files (import-reference): the same kinds of path, and JSON configs.
def _reference_with_deep_config(tmp_path: Path) -> Path:
    from tests.conftest import FIXTURES

    with np.load(FIXTURES / "brax__distill__hopper__D4__seed0.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["config_json"] = np.array('{"a":' + DEEP + "}")
    path = tmp_path / "deep.npz"
    np.savez(path, **arrays)
    return path


@needs_posix
@pytest.mark.parametrize("kind, match", [
    ("fifo", r"FIFO \(named pipe\), not a reference .npz file"),
    ("device", "character device, not a reference .npz file"),
    ("deep-config", "config_json is nested more than 64 levels"),
])
def test_import_reference_refuses_special_files_and_deep_json(kind, match, tmp_path):
    from hades_zoo.zoo.reference import read_reference

    if kind == "fifo":
        path = _fifo(tmp_path, "ref.npz")
    elif kind == "device":
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero")
    else:
        path = _reference_with_deep_config(tmp_path)
    with pytest.raises(DatasetFormatError, match=match):
        read_reference(path)
    res = CliRunner().invoke(cli, ["import-reference", str(path), "--out",
                                   str(tmp_path / "x.safetensors")])
    assert res.exit_code == 1, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "DatasetFormatError:" in lines[0], res.output
