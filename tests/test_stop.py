"""A run folder is valid after any stop (issue 17, deliverable 3).

- SIGINT at several instants of a real ``hades-zoo distill`` (a chain of processes on
  one folder, each resuming the last): exit 130 with a message and no traceback; the
  folder verifies, evaluates and resumes to the end.
- A stop at every single file write of ``write_entry`` (an exception raised by the
  atomic write): the folder still loads and verifies, and the next write settles it.
- ``--out/.lock``: a second distill refuses at once, naming the first.
- a torn last line of ``metrics.jsonl`` is dropped on resume.
- ``--no-resume`` over another run's folder removes that run's outputs, nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli
from hades_zoo.data.cache import sha256_file
from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
from hades_zoo.data.recipe_io import dump_recipe
from hades_zoo.engine.run_files import (
    CheckpointEvent,
    append_metrics,
    read_metrics,
)
from hades_zoo.errors import DatasetFormatError
from hades_zoo.hub import folder as hub_folder
from hades_zoo.hub.folder import check_folder_settled, from_pretrained
from hades_zoo.zoo.entry import (
    entry_generation,
    previous_outputs,
    remove_previous_outputs,
    write_entry,
)

from tests.distill_runs import CLI, ROOT, child_env

GENS = 6


@pytest.fixture(autouse=True)
def _sigint_is_delivered():
    """These tests send SIGINT. A suite started as a background job of a
    non-interactive shell (``bash .ci/run &``, ``nohup ... &``) inherits SIGINT
    *ignored*, Python keeps it so, and every child inherits it: a Ctrl-C could never
    arrive (CI, 2026-12-03: three tests failed that way). For their duration they take
    Python's own handler, which children do not inherit (a handler resets on exec)."""
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    if before is not None:  # None: a handler not set from Python, left as it is
        signal.signal(signal.SIGINT, before)


def _tiny(tiny_recipe, generations=GENS):
    return tiny_recipe.replace(es=dataclasses.replace(tiny_recipe.es,
                                                      generations=generations))


def _rows(out: Path) -> int:
    try:
        return (out / "metrics.jsonl").read_bytes().count(b"\n")
    except OSError:
        return 0


def _check_folder(out: Path, *, evaluate: bool = False) -> int | None:
    """verify (and eval) the folder when it holds an entry; its generation (or None)."""
    gen = entry_generation(out)
    if gen is None:  # not yet an entry: nothing but resume state and the lock
        assert not list(out.glob("*.sha256")), sorted(out.iterdir())
        assert not (out / "README.md").exists()
        return None
    r = CliRunner().invoke(cli, ["verify", str(out)])
    assert r.exit_code == 0 and "OK tiny-R-2" in r.output, r.output
    check_folder_settled(out)  # Ctrl-C waits for the checkpoint's files: settled
    if evaluate:
        r = CliRunner().invoke(cli, ["eval", str(out), "--episodes", "1", "--json"])
        assert r.exit_code == 0, r.output
    return gen


def _another_runs_folder(out: Path, dataset) -> set[str]:
    """``out`` as another run left it, plus two files distill does not know."""
    hub_folder.save_pretrained(dataset, out)
    for name in ("metrics.jsonl", "curve.png", "evolution.json", "certificate.json",
                 "policy.safetensors", "checkpoint.safetensors"):
        (out / name).write_text("old")
    (out / "checkpoint.json").write_text(json.dumps({"recipe": {"name": "old-R-2"}}))
    (out / "old-R-2.safetensors").write_text("old")
    (out / "notes.txt").write_text("mine")
    (out / "unknown.safetensors").write_text("mine")
    return {"notes.txt", "unknown.safetensors"}


def test_sigint_at_many_instants_leaves_folders_that_verify_and_resume(
        tmp_path, tiny_recipe, cartpole_dataset):
    """One folder, a chain of processes: ``--no-resume`` over another run's folder
    (a second distill refuses meanwhile; stopped while compiling), then stops in a
    checkpoint's writes and mid-generation, each resuming the last; a torn metrics
    line; the last run resumes to the end."""
    recipe = tmp_path / "tiny.yaml"
    dump_recipe(_tiny(tiny_recipe), recipe)
    out = tmp_path / "run"
    foreign = _another_runs_folder(out, cartpole_dataset)
    env = child_env(1, tmp_path / "cache")

    def start(*args):
        return subprocess.Popen([*CLI, "distill", str(recipe), "--out", str(out), *args],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def gone(path):
        return lambda: not path.exists()

    # (extra args, wait until, then sleep; check the folder with eval too)
    instants = [
        (["--no-resume"], gone(out / "cartpole-R-2.safetensors"), 0.3, False),  # compiling
        ([], lambda: _rows(out) >= 1, 0.0, False),  # in the checkpoint's writes
        ([], lambda: _rows(out) >= 3, 0.12, True),  # mid-generation
    ]
    seen = []
    for i, (args, ready, delay, evaluate) in enumerate(instants):
        proc = start(*args)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not ready():
            time.sleep(0.005)
        if i == 0:  # a second distill on the running (compiling) folder refuses
            r = CliRunner().invoke(cli, ["distill", str(recipe), "--out", str(out)])
            assert r.exit_code == 1 and "RunFolderBusyError" in r.output, r.output
            assert f"pid {proc.pid}" in r.output and "another --out" in r.output
        time.sleep(delay)
        rows = _rows(out)
        proc.send_signal(signal.SIGINT)
        stdout, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "distill stopped (Ctrl-C)" in err, err
        again = "without --no-resume" if args else "the same command again"
        assert f"run {'the command again ' if args else ''}{again} to" in err, err
        gen = _check_folder(out, evaluate=evaluate)
        seen.append(gen)
        stopped_at = re.search(r"stopped \(Ctrl-C\) at generation (\d+);", err)
        assert stopped_at and int(stopped_at[1]) >= (gen or 0), err
        if i == 0:
            assert "--no-resume: removed the previous run's outputs" in stdout, stdout
        if gen is not None:
            assert f"holds a valid entry at generation {gen}" in err, err
            assert len(read_metrics(out / "metrics.jsonl")) >= gen
        else:
            assert "holds no entry yet" in err, err
            assert rows == 0, rows  # a checkpoint's writes are never cut in two
        assert not (out / ".lock").exists()  # released (and removed) on the way out
    assert seen[-1] is not None and seen[-1] < GENS, seen
    # --no-resume left only what it does not know of the other run
    assert not {p.name for p in out.iterdir()} & {
        "cartpole-R-2.safetensors", "cartpole-R-2.safetensors.sha256", "old-R-2.safetensors",
        "certificate.json", "policy.safetensors"}
    assert all((out / name).read_text() == "mine" for name in foreign)
    # a torn last metrics line (a stop while appending it) does not stop the resume
    with (out / "metrics.jsonl").open("a") as fh:
        fh.write('{"generation": 99, "mean_ret')
    proc = start()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert [r["generation"] for r in read_metrics(out / "metrics.jsonl")] == list(
        range(1, GENS + 1))
    assert _check_folder(out) == GENS
    assert "cartpole-R-2" not in (out / "README.md").read_text()


# ---------------------------------------------------------------- every write, in-process
def _dataset(recipe, shift: float, gen: int) -> SyntheticDataset:
    states = np.array([[0.0, 0.0, -0.2, -1.0], [0.0, 0.0, 0.2, 1.0]], np.float32) + shift
    info = DatasetInfo(dataset_id=recipe.name, fitness=10.0 * gen,
                       fitness_kind="final_population_mean_return",
                       provenance_json=json.dumps({"generations": gen}))
    return SyntheticDataset(states=states, labels=np.array([0, 1], np.int32),
                            recipe=recipe, info=info)


def _event(recipe, gen: int) -> CheckpointEvent:
    rows = tuple({"generation": g, "mean_return": 10.0 * g, "max_return": 20.0 * g,
                  "min_return": 0.0, "best_return_so_far": 20.0 * g,
                  "env_steps_total": 100 * g, "wall_seconds": float(g)}
                 for g in range(1, gen + 1))
    return CheckpointEvent(gen, 3, _dataset(recipe, 0.1 * gen, gen), None, rows,
                           float(gen), gen == 3)


class _Stop(KeyboardInterrupt):
    pass


def _count_writes(monkeypatch, directory, recipe, gen) -> int:
    calls = []
    real = hub_folder.atomic_write_bytes
    monkeypatch.setattr(hub_folder, "atomic_write_bytes",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    write_entry(directory, _event(recipe, gen), recipe, machine="test")
    monkeypatch.setattr(hub_folder, "atomic_write_bytes", real)
    return len(calls)


def test_a_stop_at_every_write_leaves_a_folder_that_verifies(tmp_path, tiny_recipe,
                                                             monkeypatch):
    from hades_zoo.zoo import entry

    monkeypatch.setattr(entry, "curve_png", lambda rows, title: b"png")  # fast
    recipe = tiny_recipe
    base = tmp_path / "gen1"
    n_first = _count_writes(monkeypatch, base, recipe, 1)
    n = _count_writes(monkeypatch, tmp_path / "count", recipe, 1)  # a fresh folder
    assert n == n_first
    shutil.rmtree(tmp_path / "count")
    shutil.copytree(base, tmp_path / "count")
    n = _count_writes(monkeypatch, tmp_path / "count", recipe, 2)  # gen 1 -> gen 2
    assert n >= 7  # parquet, recipe, curve, evolution, sidecar x2, dataset, card
    real = hub_folder.atomic_write_bytes
    unsettled = 0
    for first in (True, False):
        for k in range(1, (n_first if first else n) + 1):
            folder = tmp_path / f"{'new' if first else 'old'}-{k}"
            if not first:
                shutil.copytree(base, folder)
            calls = []

            def failing(path, data, calls=calls, k=k):
                calls.append(path)
                if len(calls) == k:
                    raise _Stop(f"stopped at write {k}: {Path(path).name}")
                return real(path, data)

            monkeypatch.setattr(hub_folder, "atomic_write_bytes", failing)
            with pytest.raises(_Stop):
                write_entry(folder, _event(recipe, 2), recipe, machine="test")
            monkeypatch.setattr(hub_folder, "atomic_write_bytes", real)
            gen = entry_generation(folder)
            if first and gen is None:  # the dataset is not written yet: no entry
                assert not (folder / "tiny-R-2.safetensors").exists()
            else:
                assert gen in ((2,) if first else (1, 2)), (k, gen)
                ds = from_pretrained(folder)  # sha256 checked against the sidecar
                assert ds.info.provenance["generations"] == gen
                r = CliRunner().invoke(cli, ["verify", str(folder)])
                assert r.exit_code == 0, (k, r.output)
                try:
                    check_folder_settled(folder)
                except DatasetFormatError as err:
                    assert "run the same `hades-zoo distill` command again" in str(err)
                    unsettled += 1
            # the next checkpoint's write settles the folder
            write_entry(folder, _event(recipe, 3), recipe, machine="test")
            check_folder_settled(folder)
            assert entry_generation(folder) == 3
            side = (folder / "tiny-R-2.safetensors.sha256").read_text().split()
            assert side == [sha256_file(folder / "tiny-R-2.safetensors"),
                            "tiny-R-2.safetensors"]
    assert unsettled >= 2  # the instants between sidecar (two sha256s) and card exist


def test_write_entry_writes_the_dataset_once_and_keeps_an_unchanged_one(
        tmp_path, tiny_recipe, monkeypatch):
    calls = []
    real = hub_folder.atomic_write_bytes
    monkeypatch.setattr(hub_folder, "atomic_write_bytes",
                        lambda p, d: calls.append(Path(p).name) or real(p, d))
    write_entry(tmp_path, _event(tiny_recipe, 1), tiny_recipe, machine="test")
    assert calls.count("tiny-R-2.safetensors") == 1 and calls[-1] == "README.md"
    calls.clear()
    write_entry(tmp_path, _event(tiny_recipe, 1), tiny_recipe, machine="test")
    assert "tiny-R-2.safetensors" not in calls  # same bytes: not rewritten
    assert "tiny-R-2.safetensors.sha256" not in calls


# ---------------------------------------------------------------------------- the lock
def test_a_second_distill_on_a_held_folder_refuses_naming_the_holder(tmp_path,
                                                                     tiny_recipe):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\nfrom hades_zoo.engine.run_folder import hold_run_folder\n"
         f"with hold_run_folder({str(out)!r}, command='hades-zoo distill x'):\n"
         "    print('held', flush=True)\n    sys.stdin.read()\n"],
        cwd=ROOT, env=child_env(1, tmp_path / "cache"), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        recipe = tmp_path / "tiny.yaml"
        dump_recipe(tiny_recipe, recipe)
        for extra in ([], ["--no-resume"]):
            t0 = time.monotonic()
            r = CliRunner().invoke(cli, ["distill", str(recipe), "--out", str(out), *extra])
            assert r.exit_code == 1, r.output
            assert "RunFolderBusyError" in r.output and f"pid {holder.pid}" in r.output
            assert "hades-zoo distill x" in r.output and "another --out" in r.output
            assert time.monotonic() - t0 < 10  # at once, before any compilation
        assert not (out / "metrics.jsonl").exists()
    finally:
        holder.kill()  # however the holder ends, the kernel releases its lock
        holder.communicate()
    from hades_zoo.engine.run_folder import hold_run_folder

    with hold_run_folder(out):
        assert (out / ".lock").read_text().startswith("pid=")
    assert not (out / ".lock").exists()


# ------------------------------------------------------------------------ metrics.jsonl
def test_metrics_torn_last_line_is_dropped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    append_metrics(path, [{"generation": 1, "x": 1.0}, {"generation": 2, "x": None}])
    assert path.read_text().count("\n") == 2
    with path.open("a") as fh:
        fh.write('{"generation": 3, "x"')
    with caplog.at_level(logging.WARNING):
        rows = read_metrics(path)
    assert [r["generation"] for r in rows] == [1, 2]
    assert "torn last line 3" in caplog.text
    path.write_text('{"generation": 1}\n{"generation": 2}')  # whole JSON, no newline
    assert [r["generation"] for r in read_metrics(path)] == [1]
    path.write_text('{"generation": 1}\nnot json\n{"generation": 3}\n')
    with pytest.raises(DatasetFormatError, match=r"line 2 .*--no-resume"):
        read_metrics(path)


# --------------------------------------------------------------------------- --no-resume
def test_no_resume_removes_what_it_recognises_and_nothing_else(tmp_path, cartpole_dataset):
    out = tmp_path / "run"
    hub_folder.save_pretrained(cartpole_dataset, out)
    saved = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    foreign = _another_runs_folder(out, cartpole_dataset)
    planned = [p.relative_to(out).as_posix() for p in previous_outputs(out, ["tiny-R-2"])]
    assert planned[:3] == ["checkpoint.json", "checkpoint.safetensors", "metrics.jsonl"]
    assert planned.index("cartpole-R-2.safetensors.sha256") < planned.index(
        "cartpole-R-2.safetensors")
    assert set(planned) == saved | {
        "metrics.jsonl", "curve.png", "evolution.json", "certificate.json",
        "policy.safetensors", "checkpoint.safetensors", "checkpoint.json",
        "old-R-2.safetensors"}
    removed = remove_previous_outputs(out, ["tiny-R-2"])
    assert [p.relative_to(out).as_posix() for p in removed] == planned
    # metrics.jsonl is emptied, not removed: the folder stays a run folder
    # (engine.run_folder.is_run_folder), so a stop now is resumed, not refused
    assert {p.relative_to(out).as_posix() for p in out.rglob("*")} == foreign | {
        "metrics.jsonl"}
    assert (out / "metrics.jsonl").read_bytes() == b""


class _RaisesInDel:
    """Sends SIGINT from a ``__del__``: Python prints the KeyboardInterrupt as
    'Exception ignored' and drops it, as it did in jax's ``_xla_gc_callback`` (CI,
    stop 23: a Ctrl-C swallowed there let the run finish with exit status 0)."""

    def __del__(self):
        signal.raise_signal(signal.SIGINT)


def test_a_stop_swallowed_by_a_gc_callback_is_raised_again_by_check():
    from hades_zoo.engine.run_folder import stop_requests

    with stop_requests() as stops:
        stops.check()  # nothing received: returns
        # raised inside __del__ it would be lost: delivered again, outside, a moment later
        with pytest.raises(KeyboardInterrupt):
            _RaisesInDel()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.001)
        assert stops.received == [signal.SIGINT]
        stops.check()  # raised once: nothing owed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_check_raises_a_stop_that_was_lost_anyway():
    from hades_zoo.engine.run_folder import stop_requests

    with stop_requests() as stops:
        stops._owed.append(signal.SIGINT)  # as if its KeyboardInterrupt was dropped
        with pytest.raises(KeyboardInterrupt):
            stops.check()
        stops.check()


def test_a_stop_in_a_weakref_callback_is_raised_again_outside():
    """A Ctrl-C that lands in the standard library's weakref callbacks (here
    ``weakref.finalize``; a reviewer met it in ``WeakKeyDictionary``'s ``remove``
    during distill's replay) is not dropped: delivered again outside, a moment later."""
    import gc
    import weakref

    from hades_zoo.engine.run_folder import stop_requests

    class Thing:
        pass

    with stop_requests() as stops:
        with pytest.raises(KeyboardInterrupt):
            thing = Thing()
            weakref.finalize(thing, signal.raise_signal, signal.SIGINT)
            del thing
            gc.collect()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.001)
        assert stops.received == [signal.SIGINT]


def test_a_command_that_ends_after_a_dropped_stop_exits_130():
    """A stop whose KeyboardInterrupt was dropped where nothing can tell (a weakref
    callback of user code) still ends the command as a stop: exit 130, not 0."""
    import weakref

    import click

    from hades_zoo.cli.base import StoppedExit, _fail_cleanly

    class Thing:
        pass

    ran = []

    @_fail_cleanly
    def command():
        thing = Thing()
        keep = weakref.ref(thing, lambda ref: signal.raise_signal(signal.SIGINT))
        del thing  # the callback runs here; its KeyboardInterrupt is dropped
        ran.append(keep)
        return "done"

    with click.Context(click.Command("x")):
        with pytest.raises(StoppedExit) as stop:
            command()
    assert ran and stop.value.code == 128 + signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_distill_stops_at_the_chunk_end_after_a_swallowed_ctrl_c(tmp_path, tiny_recipe):
    from hades_zoo.engine.checkpoint import read_generation
    from hades_zoo.engine.distill import distill

    rec = _tiny(tiny_recipe)
    seen = []

    def progress(gen, row):
        seen.append(gen)
        if gen == 2:
            _RaisesInDel()

    with pytest.raises(KeyboardInterrupt):
        distill(rec, out_dir=tmp_path / "run", progress_fn=progress)
    time.sleep(0.2)  # a second delivery would interrupt here
    assert seen[-1] == 2 < GENS and read_generation(tmp_path / "run") == 2
    check_folder_settled(tmp_path / "run")


# ---------------------------------------------------------------- every command: Ctrl-C
def _command_interrupted_by(how: str):
    """A throwaway command under ``_fail_cleanly`` that gets SIGINT ``how``: ``plain``
    (raised where it lands) or ``swallowed`` (inside a ``__del__``, then the command
    goes on and would end with status 0)."""
    import click

    from hades_zoo.cli.base import _fail_cleanly

    @click.command()
    @_fail_cleanly
    def work():
        if how == "plain":
            signal.raise_signal(signal.SIGINT)
        else:
            _RaisesInDel()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the redelivery comes within ~20 ms
            time.sleep(0.001)
        click.echo("finished")

    return work


@pytest.mark.parametrize("how", ["plain", "swallowed"])
def test_ctrl_c_stops_any_command_with_status_130(how):
    """A newcomer's review (2026-12-03): outside ``distill`` Ctrl-C gave click's
    "Aborted!" and status 1, and one landing in jax's ``_xla_gc_callback`` was dropped:
    ``train --out`` then ran to the end and exited 0."""
    res = CliRunner().invoke(_command_interrupted_by(how), [])
    assert res.exit_code == 130, res.output
    assert "Stopped (Ctrl-C)." in res.output
    assert "finished" not in res.output and "Aborted" not in res.output
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_a_cli_train_exits_130_and_writes_nothing(tmp_path):
    """A real ``hades-zoo train --out`` stopped by SIGINT once it is working: one line,
    status 130, no traceback, no policy folder and no temporary folder left."""
    env = child_env(1, tmp_path / "cache")  # empty: the env is built, then ~10 s compile
    cmd = CLI + ["-v", "train", "hopper-R-4", "--episodes", "2", "--out",
                 str(tmp_path / "pol")]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # -v logs brax's notices while the env is built: then it traces and compiles
    first = proc.stderr.readline()
    assert "loading brax hopper" in first, first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = first + err
    assert proc.returncode == 130, (out, err)
    assert "Stopped (Ctrl-C)." in err and "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_ctrl_c_during_the_imports_is_held_then_raised():
    """``import hades_zoo`` runs under ``_startup.guarded_imports``: a SIGINT there was
    dropped in jax's gc callback (``train`` stopped at 0.5 s wrote its folder and exited
    0). Held, it is raised once the block is done; the handler is Python's again."""
    from hades_zoo._startup import guarded_imports

    reached = []
    with pytest.raises(KeyboardInterrupt):
        with guarded_imports():
            signal.raise_signal(signal.SIGINT)
            reached.append("the imports went on")
    assert reached and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with guarded_imports():  # nothing received: nothing raised
        pass


@pytest.mark.parametrize("argv,cli", [
    (["/v/bin/python", "/v/bin/hades-zoo", "train", "x"], True),
    (["python", "-m", "hades_zoo.cli", "eval", "x"], True),
    (["python", "-c", "import hades_zoo"], False),
    (["python", "-m", "pytest", "-q"], False),
])
def test_only_the_hades_zoo_program_exits_on_a_held_ctrl_c(monkeypatch, argv, cli):
    from hades_zoo import _startup

    monkeypatch.setattr(sys, "orig_argv", argv, raising=False)
    assert _startup._is_the_cli() is cli
