"""Stored traced programs (``hades_zoo.engine.compiled``): the same numbers as the
direct ``jax.jit``, reused across calls, and a cache that damaged, foreign or
unwritable files cannot break."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from hades_zoo.engine import compiled
from hades_zoo.engine import evaluation as api
from hades_zoo.engine import programs as stored
from hades_zoo.errors import StorageError
from tests.conftest import ROOT

SMALL = {"width": 16, "steps": 10}  # overrides: a quick compile


@pytest.fixture
def programs(tmp_path, monkeypatch):
    """Stored programs on, in a fresh folder (JAX's process-wide cache stays off)."""
    folder = tmp_path / "programs"
    monkeypatch.setattr(compiled, "programs_dir", lambda: folder)
    return folder


def _direct(monkeypatch, fn):
    """``fn()`` with stored programs off: the plain ``jax.jit`` path."""
    with monkeypatch.context() as m:
        m.setattr(compiled, "programs_dir", lambda: None)
        return fn()


def _job(ds):
    pol = api.train_policy(ds, seed=3, **SMALL)
    res = api.evaluate(pol, episodes=2, seed=1)
    traj = api.rollout(pol, episodes=2, seed=1)
    pol2, res2 = api.train_and_evaluate(ds, seed=3, episodes=2, **SMALL)
    return {"params": np.concatenate([np.ravel(x) for x in
                                      jax.tree_util.tree_leaves(pol.params)]),
            "losses": np.asarray(pol.bc_losses), "returns": res.returns,
            "rollout_returns": traj.returns, "rollout_obs": traj.observations,
            "te_returns": res2.returns, "te_losses": np.asarray(pol2.bc_losses)}


def _same(a: dict, b: dict) -> None:
    for name, value in a.items():
        assert value.dtype == b[name].dtype, name
        assert value.tobytes() == b[name].tobytes(), name  # bit for bit


def _sources(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = compiled.program

    def spy(*args, **kwargs):
        prog = real(*args, **kwargs)
        seen.append(prog.source)
        return prog

    monkeypatch.setattr(compiled, "program", spy)
    return seen


def test_stored_programs_give_the_direct_jit_numbers_bit_for_bit(
        tiny_dataset, programs, monkeypatch):
    direct = _direct(monkeypatch, lambda: _job(tiny_dataset))
    seen = _sources(monkeypatch)
    first = _job(tiny_dataset)  # traces and stores
    second = _job(tiny_dataset)  # reads what the first stored
    _same(direct, first)
    _same(direct, second)
    # train_policy, evaluate, rollout, train_and_evaluate (BC, episodes): on CPU with
    # 2 episodes (the quick-compile tier) rollout and evaluate run one stored program
    assert seen == ["traced", "traced", "cache", "cache", "cache"] + ["cache"] * 5
    names = sorted(p.name.split("-")[0] for p in programs.iterdir())
    assert names == ["bc", "episodes"], names  # shared by the API and train_and_evaluate
    assert not [p for p in programs.iterdir() if p.name.startswith(".")]  # no temp files


def test_a_stored_program_is_reused_without_building_the_env(
        tiny_dataset, programs, monkeypatch):
    pol = api.train_policy(tiny_dataset, **SMALL)
    api.evaluate(pol, episodes=2)

    def no_env(*a, **k):
        raise AssertionError("the env was built although the programs are stored")

    monkeypatch.setattr(stored, "ControlTask", no_env)
    again = api.evaluate(api.train_policy(tiny_dataset, **SMALL), episodes=2)
    assert again.returns.tobytes() == api.evaluate(pol, episodes=2).returns.tobytes()


def test_keys_tell_protocols_and_shapes_apart(tiny_dataset, programs):
    pol = api.train_policy(tiny_dataset, **SMALL)
    for episodes, greedy in ((2, None), (3, None), (2, False)):
        api.evaluate(pol, episodes=episodes, greedy=greedy)
    api.train_policy(tiny_dataset, width=16, steps=11)
    names = [p.name for p in programs.iterdir()]
    assert sum(n.startswith("episodes-") for n in names) == 3
    assert sum(n.startswith("bc-") for n in names) == 2


def _stored(programs, prefix):
    (path,) = [p for p in programs.iterdir() if p.name.startswith(prefix)]
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped-byte", "empty",
                                    "foreign-key", "other-program", "folder"])
def test_a_damaged_or_foreign_program_is_ignored_with_a_warning_and_rebuilt(
        damage, tiny_dataset, programs, monkeypatch, caplog):
    pol = api.train_policy(tiny_dataset, **SMALL)
    want = api.evaluate(pol, episodes=2).returns
    path = _stored(programs, "episodes-")
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00not a program" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped-byte":
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign-key":  # a valid file made for another key, under this name
        key = compiled.program_key("episodes", {"other": 1}, ())
        path.write_bytes(compiled._pack(key, data[-1000:]))
    elif damage == "other-program":  # the BC program's file under the episodes' name
        path.write_bytes(_stored(programs, "bc-").read_bytes())
    else:
        path.unlink()
        path.mkdir()
    seen = _sources(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="hades_zoo.engine.compiled"):
        got = api.evaluate(pol, episodes=2).returns
    assert got.tobytes() == want.tobytes()
    assert seen == ["traced"]
    assert any(str(path) in r.getMessage() for r in caplog.records), caplog.text
    if damage != "folder":  # rebuilt: the next call reads it
        seen.clear()
        assert api.evaluate(pol, episodes=2).returns.tobytes() == want.tobytes()
        assert seen == ["cache"]


def test_a_cache_that_cannot_be_written_still_runs(tiny_dataset, tmp_path, monkeypatch,
                                                   caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the programs folder would be")
    monkeypatch.setattr(compiled, "programs_dir", lambda: blocker / "programs")
    monkeypatch.setattr(compiled, "_WARNED_WRITE", set())
    with caplog.at_level(logging.WARNING, logger="hades_zoo.engine.compiled"):
        pol = api.train_policy(tiny_dataset, **SMALL)
        got = api.evaluate(pol, episodes=2).returns
    want = _direct(monkeypatch, lambda: api.evaluate(pol, episodes=2).returns)
    assert got.tobytes() == want.tobytes()
    warnings = [r for r in caplog.records if "cannot store traced programs" in r.getMessage()]
    assert len(warnings) == 1  # once per folder, not per program
    assert blocker.read_text().startswith("a file")


def test_a_read_only_cache_is_read(tiny_dataset, programs, monkeypatch, caplog):
    pol = api.train_policy(tiny_dataset, **SMALL)
    want = api.evaluate(pol, episodes=2).returns

    def read_only(path, data):
        raise StorageError(30, f"cannot write {path}: the file system is read-only.")

    monkeypatch.setattr(compiled, "atomic_write_bytes", read_only)
    seen = _sources(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="hades_zoo.engine.compiled"):
        got = api.evaluate(api.train_policy(tiny_dataset, **SMALL), episodes=2).returns
    assert got.tobytes() == want.tobytes()
    assert seen == ["cache", "cache"] and not caplog.records


def test_the_key_holds_software_versions_and_the_code(tiny_dataset):
    key = compiled.program_key("bc", {"x": 1}, ())
    assert key["versions"]["jax"] and key["versions"]["brax"] != "absent"
    assert len(key["hades_zoo_code"]) == 64 and key["backend"]


def test_eval_twice_in_fresh_processes_stores_then_reuses(tiny_dataset, tmp_path):
    """The CLI with the caches on (as a user runs it): the second run reads both
    programs and prints the same returns."""
    from hades_zoo.data.dataset import save_dataset

    path = tmp_path / "ds.safetensors"
    save_dataset(tiny_dataset, path)
    env = {**os.environ, "HADES_ZOO_JIT_CACHE": "1", "HADES_ZOO_CACHE": str(tmp_path / "c"),
           "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    code = ("import sys, json, hades_zoo.engine.compiled as c; seen = []; real = c.program\n"
            "def spy(*a, **k):\n p = real(*a, **k); seen.append(p.source); return p\n"
            "c.program = spy\n"
            "from hades_zoo.cli import cli\n"
            "try:\n cli.main(['eval', sys.argv[1], '--episodes', '2', '--json'],"
            " standalone_mode=False)\nexcept SystemExit:\n pass\n"
            "print(json.dumps(seen))\n")
    outs = []
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", code, str(path)], env=env,
                             capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stderr[-2000:]
        lines = run.stdout.strip().splitlines()
        outs.append((json.loads(lines[-2])["returns"], json.loads(lines[-1])))
    assert outs[0][0] == outs[1][0]
    assert outs[0][1] == ["traced", "traced"] and outs[1][1] == ["cache", "cache"]
    assert len(list((tmp_path / "c" / "programs").iterdir())) == 2


@pytest.mark.slow
def test_hopper_returns_equal_the_direct_jit_bit_for_bit(hopper_dataset, programs,
                                                          monkeypatch):
    """A brax env (the README's kind of job), small protocol: same bits."""
    def job():
        pol, res = api.train_and_evaluate(hopper_dataset, seed=0, episodes=2)
        return {"returns": res.returns, "losses": np.asarray(pol.bc_losses)}

    direct = _direct(monkeypatch, job)
    _same(direct, job())
    _same(direct, job())
