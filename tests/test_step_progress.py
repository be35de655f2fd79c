"""Progress of certify / transfer / merge: logged steps (hades_zoo.engine.progress),
shown by the CLI on stderr (cli/progress.StepProgress), results unchanged."""

from __future__ import annotations

import dataclasses
import json
import logging

import jax
import numpy as np
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.cli.progress import StepProgress
from hades_zoo.data.dataset import save_dataset
from hades_zoo.engine.evaluation import _task_and_arrays
from hades_zoo.engine.progress import LOGGER_NAME, ProgressEvent, Steps
from tests.test_reproduce import _tiny_cartpole


def _events(caplog) -> list[ProgressEvent]:
    return [r.progress for r in caplog.records if hasattr(r, "progress")]


def test_protocol_returns_logs_compile_and_run_and_keeps_its_numbers(caplog):
    ds = _tiny_cartpole()
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        got = hz.protocol_returns(ds, seeds=2)
    # what protocol_returns computed before it was split into compile and run
    task, states, targets, weights = _task_and_arrays(ds, ds.recipe)
    mean, var = task.norm_arrays(ds.obs_mean, ds.obs_var)

    def run(keys, states, mean, var, targets, weights, init):
        fitness = task.make_fitness_fn(mean, var, targets, weights, init_params=init,
                                       randomised=False)
        return jax.vmap(fitness, in_axes=(0, None))(keys, {"states": states})[0]

    keys = jax.random.split(jax.random.key(0), 2)
    want = jax.jit(run)(keys, states, mean, var, targets, weights, task.fixed_params)
    np.testing.assert_array_equal(got, np.asarray(want))
    events = _events(caplog)
    assert [(e.done, e.total, e.finished) for e in events] == [
        (0, 2, False), (1, 2, True), (1, 2, False), (2, 2, True)]
    assert events[0].task == "cartpole-R-2: protocol returns, 2 seeds x 2 inits"
    assert events[0].step.startswith(
        "build the env, compile BC (10 steps) + evaluation (2 envs x 60")
    assert events[2].step == "train 4 policies and evaluate them"
    assert events[-1].seconds is not None and events[-1].elapsed >= events[-1].seconds


def test_nothing_is_built_when_nobody_listens(monkeypatch):
    built = []
    monkeypatch.setattr("hades_zoo.engine.progress.ProgressEvent",
                        lambda *a, **k: built.append(a))
    steps = Steps("t", 1)
    with steps.step("s"):
        pass
    assert built == [] and steps.done == 1


def test_cli_certify_shows_steps_on_stderr(tmp_path):
    """The real small case: a tiny certify, its steps as plain lines on stderr."""
    path = save_dataset(_tiny_cartpole(), tmp_path / "cp.safetensors")
    r = CliRunner().invoke(cli, ["certify", str(path), "--seeds", "1", "--no-write"])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    assert lines[0].startswith("cartpole-R-2: protocol returns, 1 seeds x 2 inits: "
                               "build the env, compile BC (10 steps) + evaluation")
    assert lines[0].endswith("[0/2, 0.0 s]") and "done in" in lines[1]
    assert "train 2 policies and evaluate them done in" in lines[3]
    assert "[2/2," in lines[3] and "reproduced" in r.stdout


def _fake_protocol_returns(ds, seeds, seed):
    steps = Steps(f"{ds.dataset_id}: protocol returns", 1)
    with steps.step("compile"):
        return np.full(seeds, 480.0)


def test_cli_json_output_stays_one_object(tmp_path, monkeypatch):
    monkeypatch.setattr("hades_zoo.zoo.certify.protocol_returns",
                        _fake_protocol_returns)
    path = save_dataset(_tiny_cartpole(), tmp_path / "cp.safetensors")
    r = CliRunner().invoke(cli, ["certify", str(path), "--seeds", "2", "--no-write"])
    assert r.exit_code == 0 and "cartpole-R-2: protocol returns: compile" in r.stderr
    r = CliRunner().invoke(cli, ["certify", str(path), "--seeds", "2", "--no-write",
                                 "--json"])
    assert r.exit_code == 0 and r.stderr == "", r.output
    assert json.loads(r.output)["returns"] == [480.0, 480.0]


def test_cli_transfer_says_what_it_trains(tmp_path, monkeypatch):
    monkeypatch.setattr("hades_zoo.zoo.transfer._width_fn", lambda ds, w, steps: (
        lambda keys, lrs: np.zeros((len(lrs), len(steps), len(keys)))))
    a = save_dataset(_tiny_cartpole(), tmp_path / "a.safetensors")
    r = CliRunner().invoke(cli, ["transfer", str(a), "--widths", "8,16", "--lrs",
                                 "1e-2", "--steps", "5", "--seeds", "1", "--no-write"])
    assert r.exit_code == 0, r.output
    assert ("cartpole-R-2: transfer grid custom: width 8: BC with 1 lr(s) to 5 "
            "steps x 1 seed(s) x 2 inits, evaluate...") in r.stderr
    assert "width 16" in r.stderr and "[2/2," in r.stderr.splitlines()[-1]


def test_cli_merge_says_what_it_trains_and_evaluates(tmp_path, monkeypatch):
    from hades_zoo.zoo import multitask_train

    monkeypatch.setattr(multitask_train, "_train_groups", lambda mt, recipe, groups,
                        seeds, seed: ({"w": np.zeros((len(groups), seeds, 1))}, None,
                                      None))
    monkeypatch.setattr(multitask_train, "_evaluate_in_env",
                        lambda mt, i, params, module, keys: np.ones(len(keys)))
    monkeypatch.setattr("hades_zoo.engine.evaluation.protocol_returns",
                        _fake_protocol_returns)
    ds = _tiny_cartpole()
    a = save_dataset(ds, tmp_path / "a.safetensors")
    copy = ds.replace(info=dataclasses.replace(ds.info, dataset_id="cartpole-R-2.copy"))
    same = save_dataset(copy, tmp_path / "same.safetensors")
    r = CliRunner().invoke(cli, ["merge", str(a), str(same), "--seeds", "1",
                                 "--out", str(tmp_path / "m")])  # the same arrays
    assert r.exit_code == 2 and "are the same dataset" in r.output, r.output
    assert not (tmp_path / "m").exists()
    copy = copy.replace(states=copy.states + 0.01)
    b = save_dataset(copy, tmp_path / "b.safetensors")
    r = CliRunner().invoke(cli, ["merge", str(a), str(b), "--seeds", "1",
                                 "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    err = r.stderr
    assert ("cartpole-R-2 + cartpole-R-2.copy: merged, 1 seeds: train the merged policy "
            "+ 2 single-dataset (wrong): 1 seeds x 2 inits, 10 BC steps...") in err
    assert ("evaluate in CartPole-v1 (cartpole-R-2.copy's protocol): merged + 1 wrong"
            in err)
    assert ("right-dataset baseline: cartpole-R-2.copy alone, own protocol done in"
            in err)
    assert "cartpole-R-2.copy: protocol returns: compile" in err  # the nested task
    assert "[5/5," in err.splitlines()[-1] and "in cartpole-R-2:" in r.stdout


def test_live_bars_run_without_a_terminal():
    with StepProgress(live=True):
        steps = Steps("outer", 2)
        with steps.step("a"):
            inner = Steps("inner", 1)
            with inner.step("b"):
                pass
        with steps.step("c"):
            pass
    assert not logging.getLogger(LOGGER_NAME).handlers  # removed afterwards


def test_a_step_of_milliseconds_is_not_shown_as_zero_seconds():
    """certify printed 'train 2 policies ... done in 0.0 s [2/2, 4.6 s]': the run takes
    milliseconds after seconds of building and compiling; the line now says so."""
    from hades_zoo.engine.progress import ProgressEvent, duration

    assert duration(0.0123) == "12 ms" and duration(0.0001) == "<1 ms"
    assert duration(0.1) == "0.1 s" and duration(4.56) == "4.6 s"
    line = ProgressEvent("t", "train", 2, 2, 4.6, True, 0.02).line()
    assert line == "t: train done in 20 ms [2/2, 4.6 s]"
