"""A policy you can use, keep and share (issue 18, deliverables 1-3).

Acting (``TrainedPolicy.init_state`` / ``act``), ``make_env``, ``rollout`` against
``evaluate``; the policy folder (``save_pretrained`` / ``load_policy``: bit-for-bit,
strict, written as one step); the Hub model repo on the fake Hub (push -> pull -> act,
offline, tampered files); the CLI (``train --out DIR``, ``eval DIR``, ``push DIR``).
Everything runs on gymnax CartPole (cheap); one policy is trained per module.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.cache import sha256_bytes
from hades_zoo.data.dataset import save_dataset
from hades_zoo.errors import HubError, PolicyFormatError, StorageError, UnsafeNameError

from .conftest import make_dataset

WRITE = "hf_write"


def _const_dataset():
    """CartPole with ``obs_norm: const`` (statistics in the dataset), 20 BC steps."""
    ds = make_dataset()
    r = ds.recipe
    recipe = r.replace(env=dataclasses.replace(r.env, obs_norm="const"),
                       bc=dataclasses.replace(r.bc, steps=20))
    return ds.replace(recipe=recipe, obs_mean=np.array([0.1, 0.0, 0.02, -0.1], np.float32),
                      obs_var=np.array([1.0, 2.0, 0.05, 3.0], np.float32))


@pytest.fixture(scope="module")
def policy():
    """A const-normalised CartPole policy with an evaluation recorded."""
    return hz.train_and_evaluate(_const_dataset(), seed=0, episodes=2)[0]


@pytest.fixture(scope="module")
def running_policy():
    ds = make_dataset()
    r = ds.recipe
    return hz.train_policy(ds.replace(recipe=r.replace(
        env=dataclasses.replace(r.env, obs_norm="running"),
        bc=dataclasses.replace(r.bc, steps=20))), seed=1)


def _obs(n=16, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def _same_actions(a, b, obs):
    for key in (None, jax.random.key(7)):
        x, sx = a.act(obs, a.init_state(), key)
        y, sy = b.act(obs, b.init_state(), key)
        assert np.array_equal(np.asarray(x), np.asarray(y)), key
        assert all(np.array_equal(u, v) for u, v in zip(sx.norm, sy.norm))


# --------------------------------------------------------------------- acting
def test_act_is_functional_jittable_and_vmappable(policy):
    obs = _obs()
    state = policy.init_state()
    greedy, state2 = policy.act(obs, state)
    assert greedy.shape == (16,) and greedy.dtype == jnp.int32
    assert all(np.array_equal(u, v) for u, v in zip(state.norm, state2.norm))  # const
    one, _ = policy.act(obs[3], state)
    assert one.shape == () and int(one) == int(greedy[3])
    jitted = jax.jit(policy.act)(obs, state)[0]
    assert np.array_equal(jitted, greedy)
    mapped = jax.vmap(lambda o: policy.act(o, state)[0])(obs)
    assert np.array_equal(mapped, greedy)
    # the protocol's const normalisation is inside: same as the module on normalised obs
    mean, var = policy.norm_arrays()
    logits = policy.module.apply(policy.params, (obs - mean) / jnp.sqrt(var + 1e-8))[0]
    assert np.array_equal(np.argmax(logits, -1), greedy)
    key = jax.random.key(1)
    sampled, _ = policy.act(obs, state, key)
    assert np.array_equal(sampled, jax.random.categorical(key, logits))
    with pytest.raises(ValueError, match="needs a key"):
        policy.act(obs, state, greedy=False)
    with pytest.raises(ValueError, match=r"shape \(4,\) or \(batch, 4\)"):
        policy.act(np.zeros(5), state)


def test_rollout_returns_equal_evaluate(policy):
    for greedy in (None, False):
        res = hz.evaluate(policy, episodes=3, seed=5, greedy=greedy)
        traj = hz.rollout(policy, episodes=3, seed=5, greedy=greedy)
        assert np.array_equal(traj.returns, res.returns), greedy
    t = traj
    assert t.observations.shape == (3, 500, 4) and t.observations.dtype == np.float32
    assert t.actions.shape == (3, 500) and t.rewards.shape == (3, 500)
    assert t.dones.shape == t.mask.shape == (3, 500) and t.dones.dtype == bool
    assert np.array_equal(t.lengths, t.mask.sum(1)) and t.episodes == 3
    np.testing.assert_allclose((t.rewards * t.mask).sum(1), t.returns, rtol=1e-6)
    for i, n in enumerate(t.lengths):  # mask: up to and including the first done
        assert t.mask[i, :n].all() and not t.mask[i, n:].any()
        assert n == 500 or t.dones[i, n - 1]
    # greedy rollout: its actions are act's on its observations
    greedy_t = hz.rollout(policy, episodes=3, seed=5)
    assert np.array_equal(policy.act(greedy_t.observations[:, 0],
                                     policy.init_state())[0], greedy_t.actions[:, 0])


@pytest.mark.slow
def test_rollout_returns_equal_evaluate_on_brax(hopper_dataset):
    """brax hopper (positional), 20-step episodes, greedy and sampled: equal bit for bit
    (measured 2026-12: ~16 s of compile per program on 2 CPU cores, hence slow)."""
    r = hopper_dataset.recipe
    ds = hopper_dataset.replace(recipe=r.replace(
        env=dataclasses.replace(r.env, episode_length=20)))
    pol = hz.train_policy(ds)
    for greedy in (True, False):
        traj = hz.rollout(pol, episodes=2, seed=1, greedy=greedy)
        assert traj.actions.shape == (2, 20, 3)
        assert np.array_equal(traj.returns,
                              hz.evaluate(pol, episodes=2, seed=1, greedy=greedy).returns)


def test_a_loop_of_ones_own_with_make_env_matches_rollout(running_policy):
    """make_env + init_state/act (running statistics carried in the state) replay
    rollout's episodes step for step, from the same keys."""
    pol, n, seed = running_policy, 3, 2
    env = hz.make_env(pol)
    assert env is hz.make_env(pol.recipe.env)  # the protocol's env (cached)
    assert env.spec.max_episode_steps == 500
    traj = hz.rollout(pol, episodes=n, seed=seed, greedy=False, batching="vmap")

    @jax.jit
    def step(key, obs, env_state, state):
        key, k_act, k_step = jax.random.split(key, 3)
        action, state = pol.act(obs, state, k_act)
        obs2, env_state, reward, done = jax.vmap(env.step)(
            jax.random.split(k_step, n), env_state, action)
        return key, obs, action, reward, done, obs2, env_state, state

    key = jax.random.key(seed + 1_000_003)
    k_reset, key = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, n))
    state = pol.init_state()
    for t in range(int(traj.lengths.max())):
        key, seen, action, reward, done, obs, env_state, state = step(
            key, obs, env_state, state)
        assert np.array_equal(seen, traj.observations[:, t]), t
        assert np.array_equal(action, traj.actions[:, t]), t
        assert np.array_equal(reward, traj.rewards[:, t]), t
    assert float(state.norm.count) > 1  # the running statistics moved


# --------------------------------------------------------------------- keeping
def test_save_and_load_act_bit_for_bit(policy, tmp_path):
    files = policy.save_pretrained(tmp_path / "pol")
    assert [f.path for f in files] == ["README.md", "config.json", "model.safetensors"]
    for source in (tmp_path / "pol", f"file:{tmp_path / 'pol'}",
                   str(tmp_path / "pol" / "config.json")):
        back = hz.load_policy(source)
        _same_actions(policy, back, _obs())
    assert back.info == policy.info and back.recipe == policy.recipe
    assert np.array_equal(back.obs_var, policy.obs_var)
    assert np.array_equal(hz.rollout(back, episodes=2, seed=3).returns,
                          hz.rollout(policy, episodes=2, seed=3).returns)
    config = json.loads((tmp_path / "pol" / "config.json").read_text())
    assert config["format_version"] == 1 and config["normalisation"]["kind"] == "const"
    assert config["dataset"]["sha256"] == sha256_bytes(
        hz.data.dataset.dataset_to_bytes(_const_dataset()))
    assert config["training"]["seed"] == 0 and config["training"]["bc"]["steps"] == 20
    assert config["weights"]["sha256"] == files[2].sha256
    assert {"params/Dense_0/kernel", "params/Dense_2/bias", "obs_norm/mean",
            "training/bc_losses"} <= set(config["weights"]["tensors"])
    # deterministic bytes; a second save replaces the folder and keeps a user's file
    (tmp_path / "pol" / "NOTES.txt").write_text("mine\n")
    assert policy.save_pretrained(tmp_path / "pol") == files
    assert (tmp_path / "pol" / "NOTES.txt").read_text() == "mine\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_running_policy_round_trip(running_policy, tmp_path):
    hz.TrainedPolicy.save_pretrained(running_policy, tmp_path / "run")
    back = hz.TrainedPolicy.from_pretrained(tmp_path / "run")
    _same_actions(running_policy, back, _obs())
    state, state2 = back.init_state(), running_policy.init_state()
    for t in range(3):  # statistics carried through several calls
        a, state = back.act(_obs(seed=t), state)
        b, state2 = running_policy.act(_obs(seed=t), state2)
        assert np.array_equal(a, b)
    assert float(state.norm.count) == pytest.approx(48 + 1e-4)


def _tamper(folder: Path, name: str, edit) -> None:
    path = folder / name
    path.write_bytes(edit(path.read_bytes()))


def _edit_config(folder: Path, change, *, fix_card: bool = True) -> None:
    """Edit config.json; the card's recorded sha256 follows when ``fix_card``."""
    old = (folder / "config.json").read_bytes()
    config = json.loads(old)
    change(config)
    new = json.dumps(config).encode()
    (folder / "config.json").write_bytes(new)
    if fix_card:
        card = folder / "README.md"
        card.write_text(card.read_text().replace(sha256_bytes(old), sha256_bytes(new)))


def test_strict_loading_errors(policy, tmp_path):
    def fresh(name):
        policy.save_pretrained(tmp_path / name)
        return tmp_path / name

    with pytest.raises(PolicyFormatError, match="no such policy folder; for a Hub model "
                       "repo write hf:org/x"):
        hz.load_policy("org/x")
    (tmp_path / "ds").mkdir()
    with pytest.raises(PolicyFormatError, match="not a policy folder: it has no config"):
        hz.load_policy(tmp_path / "ds")
    cases = {
        "flipped weights": (lambda f: _tamper(f, "model.safetensors",
                                              lambda b: b[:-1] + bytes([b[-1] ^ 1])),
                            "model.safetensors: sha256 mismatch"),
        "truncated weights": (lambda f: _tamper(f, "model.safetensors", lambda b: b[:50]),
                              "sha256 mismatch"),
        "missing weights": (lambda f: (f / "model.safetensors").unlink(),
                            "cannot read .*model.safetensors"),
        "config edited, card not": (lambda f: _edit_config(
            f, lambda c: c.update(seed=1), fix_card=False),
            "config.json: sha256 mismatch \\(the card records"),
        "unknown format_version": (lambda f: _edit_config(
            f, lambda c: c.update(format_version=99)), "format_version 99 is not supported"),
        "not JSON": (lambda f: ((f / "README.md").unlink(),
                                (f / "config.json").write_text("{nope")),
                     "not a valid JSON config"),
        "deep JSON": (lambda f: ((f / "README.md").unlink(),
                                 (f / "config.json").write_text("[" * 100_000)),
                      "not a valid JSON config"),
        "shape listed wrong": (lambda f: _edit_config(
            f, lambda c: c["weights"]["tensors"].update({"params/Dense_0/bias": [3]})),
            "'params/Dense_0/bias' has shape \\[64\\] \\(config.json: \\[3\\]\\)"),
        "other network": (lambda f: _edit_config(f, lambda c: (
            c["network"].update(width=32), c["recipe"]["policy"].update(width=32))),
            "tensor 'params/Dense_0/bias' has shape \\[64\\].*needs \\[32\\]"),
        "network vs recipe": (lambda f: _edit_config(
            f, lambda c: c["network"].update(depth=3)), "disagrees with its recipe"),
        "weights of another policy": (lambda f: _edit_config(
            f, lambda c: c["weights"].update(sha256="0" * 64)), "sha256 mismatch"),
    }
    for name, (damage, match) in cases.items():
        folder = fresh(name.replace(" ", "_"))
        damage(folder)
        with pytest.raises(PolicyFormatError, match=match):
            hz.load_policy(folder)
    folder = fresh("hostile")
    _edit_config(folder, lambda c: c["dataset"].update(id="../../victim"))
    with pytest.raises(UnsafeNameError, match="dataset id '../../victim'"):
        hz.load_policy(folder)


def test_writers_refuse_before_writing(policy, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    with pytest.raises(PolicyFormatError, match="not a policy folder .*refusing to replace"):
        policy.save_pretrained(other)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageError, match="it is a file"):
        policy.save_pretrained(tmp_path / "file")
    hostile = policy.replace(info=dataclasses.replace(policy.info,
                                                      dataset_id="../../victim"))
    with pytest.raises(UnsafeNameError, match="dataset id '../../victim'"):
        hostile.save_pretrained(tmp_path / "h")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "other"]


@pytest.mark.parametrize("stop_at", ["fsync1", "fsync3", "fsync4", "exchange", "cleanup",
                                     "fallback-aside", "fallback-swap"])
def test_a_stop_at_any_instant_leaves_old_or_new(policy, tmp_path, monkeypatch, stop_at):
    """Replacing a policy folder: interrupted anywhere, it is the old policy or the
    new one, whole, and no temporary folder is left."""
    import hades_zoo.data.atomic_folder as af

    folder = tmp_path / "pol"
    policy.save_pretrained(folder)
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    newer = policy.replace(info=dataclasses.replace(policy.info, seed=99))
    calls = {"fsync": 0, "rename": 0}
    real_fsync, real_rename, real_rmtree = af.os.fsync, af.os.rename, af.shutil.rmtree

    def fsync(fd):
        calls["fsync"] += 1
        if stop_at == f"fsync{calls['fsync']}":
            raise KeyboardInterrupt
        return real_fsync(fd)

    def rename(a, b):
        calls["rename"] += 1
        if stop_at == "fallback-swap" and calls["rename"] == 2:
            raise KeyboardInterrupt
        if stop_at == "fallback-aside":
            raise KeyboardInterrupt
        return real_rename(a, b)

    def exchange(a, b):
        if stop_at == "exchange":
            raise KeyboardInterrupt
        return False if stop_at.startswith("fallback") else real_exchange(a, b)

    real_exchange = af._exchange
    monkeypatch.setattr(af.os, "fsync", fsync)
    monkeypatch.setattr(af.os, "rename", rename)
    monkeypatch.setattr(af, "_exchange", exchange)
    if stop_at == "cleanup":
        monkeypatch.setattr(af.shutil, "rmtree", lambda p, **kw: (_ for _ in ()).throw(
            KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        newer.save_pretrained(folder)
    monkeypatch.setattr(af.shutil, "rmtree", real_rmtree)
    got = hz.load_policy(folder)
    assert got.info.seed == (99 if stop_at == "cleanup" else 0)
    if stop_at != "cleanup":
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pol"]


# --------------------------------------------------------------------- sharing
def test_push_pull_act_offline_and_tampered(policy, hub_server, monkeypatch):
    hub_server.requests.clear()
    res = policy.push_to_hub("org/pol", token=WRITE, tag="v1")
    assert [f.path for f in res.files] == ["README.md", "config.json", "model.safetensors"]
    assert "org/pol" not in hub_server.repos  # a model repo, not a dataset repo
    remote = hub_server.files("models/org/pol")
    assert sum(r.startswith("POST /api/models/org/pol/commit/")
               for r in hub_server.requests) == 1
    from huggingface_hub import ModelCard

    card = ModelCard(remote["README.md"].decode())
    meta = card.data.to_dict()
    assert meta["library_name"] == "hades_zoo"
    assert {"CartPole-v1", "behaviour-distillation", "reinforcement-learning"} <= set(
        meta["tags"])
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "CartPole-v1"
    metric = result["metrics"][0]
    assert metric["type"] == "mean_reward"
    assert metric["value"] == f"{policy.info.eval_mean:.2f} +/- {policy.info.eval_std:.2f}"
    text = remote["README.md"].decode()
    assert 'hz.load_policy("hf:org/pol")' in text and "policy.act(obs, state)" in text
    for source in ("hf:org/pol", "hf:org/pol@v1", f"hf:org/pol@{res.commit}"):
        _same_actions(policy, hz.load_policy(source), _obs())
    # offline, from huggingface_hub's cache, no request
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_server.requests.clear()
    _same_actions(policy, hz.load_policy("hf:org/pol"), _obs())
    assert hub_server.requests == []
    monkeypatch.delenv("HF_HUB_OFFLINE")
    # the repo's weights altered behind the card's back: refused after a re-fetch
    bad = bytearray(remote["model.safetensors"])
    bad[-1] ^= 1
    hub_server.add_commit("models/org/pol", "main", {"model.safetensors": bytes(bad)})
    with pytest.raises(HubError, match="model.safetensors: sha256 mismatch.*Fetched 2"):
        hz.load_policy("hf:org/pol")
    _same_actions(policy, hz.load_policy("hf:org/pol@v1"), _obs())  # the tag still holds
    monkeypatch.setenv("HF_TOKEN", "hf_read")
    with pytest.raises(HubError, match="model repo not found"):
        hz.load_policy("hf:org/missing")


def test_push_evaluates_when_nothing_is_recorded(running_policy, hub_server):
    assert running_policy.info.eval_mean is None
    res = running_policy.push_to_hub("org/run", token=WRITE, episodes=2)
    card = hub_server.files("models/org/run")["README.md"].decode()
    assert "mean_reward" in card and " +/- " in card
    assert [f.path for f in res.files][0] == "README.md"
    dry = running_policy.push_to_hub("org/run2", token=WRITE, evaluate=False,
                                     dry_run=True)
    assert dry.dry_run and "models/org/run2" not in hub_server.repos


def test_cli_train_out_eval_push(tmp_path, hub_server, monkeypatch):
    src = save_dataset(_const_dataset(), tmp_path / "cp.safetensors")
    runner = CliRunner()
    pol = tmp_path / "pol"
    r = runner.invoke(cli, ["train", str(src), "--steps", "5", "--episodes", "2",
                            "--out", str(pol), "--json"])
    assert r.exit_code == 0, r.output
    trained = json.loads(r.output)
    assert trained["policy"] == str(pol)
    assert sorted(p.name for p in pol.iterdir()) == ["README.md", "config.json",
                                                     "model.safetensors"]
    r = runner.invoke(cli, ["train", str(src), "--out", str(tmp_path / "p.safetensors")])
    assert r.exit_code == 2 and "pass a folder, e.g. --out pol/" in r.output

    import hades_zoo.engine.evaluation as api

    def no_training(*a, **k):
        raise AssertionError("eval DIR retrained")

    monkeypatch.setattr(api, "train_and_evaluate", no_training)
    r = runner.invoke(cli, ["eval", str(pol), "--episodes", "2", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["returns"] == trained["returns"] and out["policy"] == str(pol)
    assert out["recorded_mean_return"] == pytest.approx(trained["mean_return"])
    monkeypatch.setenv("HF_TOKEN", WRITE)
    r = runner.invoke(cli, ["push", str(pol), "--repo-id", "org/cli-pol"])
    assert r.exit_code == 0, r.output
    card = hub_server.files("models/org/cli-pol")["README.md"].decode()
    assert 'hz.load_policy("hf:org/cli-pol")' in card  # rendered again for the repo
    _same_actions(hz.load_policy(pol), hz.load_policy("hf:org/cli-pol"), _obs())
    _tamper(pol, "model.safetensors", lambda b: b[:-1] + bytes([b[-1] ^ 1]))
    for args in (["eval", str(pol)], ["push", str(pol), "--repo-id", "org/x"]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 1 and "PolicyFormatError" in r.output, r.output
        assert "sha256 mismatch" in r.output and len(r.output.strip().splitlines()) == 1


def test_dataset_card_shows_how_to_train_and_push_a_policy():
    from hades_zoo.hub.cards import render_card

    text = str(render_card(make_dataset(), repo_id="org/cp"))
    assert "hades-zoo train hf:org/cp --out pol/" in text
    assert "hades-zoo push pol/ --repo-id <your-org>/cartpole-R-2-policy" in text


def test_cli_train_out_with_a_trailing_slash_is_shown_once(tmp_path):
    """``--out pol/`` printed 'wrote pol// (...)'."""
    src = save_dataset(_const_dataset(), tmp_path / "cp.safetensors")
    pol = tmp_path / "pol"
    r = CliRunner().invoke(cli, ["train", str(src), "--steps", "5", "--episodes", "1",
                                 "--out", f"{pol}/"])
    assert r.exit_code == 0, r.output
    assert f"wrote {pol}/ (model.safetensors" in r.output, r.output
    assert "//" not in r.output and f"`hades-zoo eval {pol}`" in r.output
