"""The README's user commands write only where they were told (issue 17, deliverable 2).

Every command a user copies from the README that writes a file runs here, from a
temporary working directory, with HADES_ZOO_CACHE and HF_HOME in ``tmp_path`` (the
autouse ``tmp_cache`` fixture). Afterwards ``git status --porcelain`` of the checkout is
what it was before, and the files of the package folder (``hades_zoo/``, minus
``__pycache__``) and of ``cards/``, ``results/``, ``recipes/`` hash the same (bytes,
mtime and inode, so rewriting the same bytes counts), so the
check also holds where the package is not a git checkout. The zoo's transfer score as
``hades-zoo list`` shows it does not change, though a user's run named like a zoo entry
(``runs/cartpole-F-2.hz``) is measured.

Cost (one test, ~15 s on a shared 2-core CPU): ``distill`` is real, on the README's
``recipes/cartpole-F-2.hz.yaml`` cut to 1 generation of 4 candidates with ``--set``.
The compute of the other commands on zoo ids (brax hopper and halfcheetah, tens of
seconds to compile each) is replaced by cheap stand-ins of the real types:
``evaluation.train_and_evaluate`` (eval, train) and ``evaluation.evaluate`` (eval of
a policy folder), ``certify.protocol_returns``
(certify), ``transfer.transfer_grid`` (transfer) and ``multitask_train.run_multitask``
(merge). What they return goes through the real write paths: cards, JSONs, plots,
policy folders. ``plot``, ``render`` (CartPole, 0.2 s of video), ``import-reference``,
``push`` and ``pull`` (to the fake Hub) are real.

Not run, and why: ``scripts/*.py`` and ``--update-zoo`` are the maintainer's steps that
update the checkout by design (``tests/test_transfer_zoo.py`` runs them in a copy);
the GPU / SLURM / multi-host ``distill`` lines and the image ``distill`` need devices or
real MNIST; ``certify fashionmnist-R-10 --no-write`` writes nothing by definition.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hades_zoo.cli import cli

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "hades_zoo"
WATCHED = (PACKAGE, REPO / "cards", REPO / "results", REPO / "recipes")
FIXTURES = Path(__file__).parent / "fixtures"


def _tree_hash(roots) -> dict[str, tuple]:
    """``{relative path: (sha256, mtime, inode)}`` of every file under ``roots`` (no
    ``__pycache__``): a rewrite with the same bytes (atomic: a new inode) counts too."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                st = path.stat()
                out[str(path.relative_to(REPO))] = (
                    hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns,
                    st.st_ino)
    return out


def _git_status() -> str | None:
    """``git status --porcelain`` of the checkout, or None where it is not one."""
    if shutil.which("git") is None:
        return None
    r = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain",
                        "--untracked-files=all"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


@pytest.fixture
def cheap_compute(monkeypatch):
    """Stand-ins for the expensive inner compute (see the module docstring)."""
    import hades_zoo.engine.evaluation as api
    from hades_zoo.zoo import certify, multitask_train, transfer
    from hades_zoo.zoo.multitask_result import MultiTaskResult

    def train_and_evaluate(ds, *, seed=0, episodes=10, greedy=None, batching="auto",
                           **ov):
        import jax

        from hades_zoo.engine.envs import env_spec
        from hades_zoo.engine.policy import init_policy_params, make_policy

        recipe = api.with_overrides(ds.recipe, **ov)
        spec = env_spec(recipe.env)  # no physics built
        module = make_policy(recipe.policy, spec.action_dim, spec.discrete)
        policy = api.TrainedPolicy(
            params=init_policy_params(module, jax.random.key(seed), spec.obs_dim),
            bc_losses=np.array([0.5, 0.25], np.float32), obs_mean=ds.obs_mean,
            obs_var=ds.obs_var, module=module, recipe=recipe,
            info=api._policy_info(ds, seed, ov))
        res = api.EpisodeReturns(np.linspace(1.0, 2.0, episodes))
        return policy.with_evaluation(res, seed=seed), res

    def evaluate(policy, *, episodes=10, **kw):
        return api.EpisodeReturns(np.linspace(1.0, 2.0, episodes))

    def transfer_grid(ds, *, widths, lrs, steps, seeds, progress_fn=None):
        shape = (len(widths), len(lrs), len(steps), seeds)
        returns = np.full(shape, 0.5 * (ds.info.fitness or 1.0))
        return transfer.TransferResult(ds.dataset_id, tuple(widths), tuple(lrs),
                                       tuple(steps), returns, ds.info.fitness, 0.1)

    def run_multitask(datasets, *, seeds=3, layout="disjoint", **kw):
        n = len(datasets)
        wrong = np.zeros((n, n, seeds))
        wrong[np.arange(n), np.arange(n)] = np.nan
        dims = tuple(d.obs_dim for d in datasets)
        return MultiTaskResult(
            dataset_ids=tuple(d.dataset_id for d in datasets),
            returns=np.ones((n, seeds)), single=np.full((n, seeds), 2.0),
            recorded=tuple(d.info.fitness for d in datasets), recipe={}, seconds=0.1,
            layout=layout, wrong=wrong,
            obs_offsets=tuple(int(x) for x in np.cumsum((0,) + dims[:-1])),
            obs_dims=dims, act_dims=tuple(d.actions.shape[1] for d in datasets))

    monkeypatch.setattr(api, "train_and_evaluate", train_and_evaluate)
    monkeypatch.setattr(api, "evaluate", evaluate)
    monkeypatch.setattr(certify, "protocol_returns",
                        lambda ds, seeds, seed: np.linspace(0.9, 1.1, seeds)
                        * (ds.info.fitness or 1.0))
    monkeypatch.setattr(transfer, "transfer_grid", transfer_grid)
    monkeypatch.setattr(multitask_train, "run_multitask", run_multitask)


def _run(*args: str, env: dict | None = None) -> str:
    r = CliRunner(env=env).invoke(cli, list(args))
    assert r.exit_code == 0, f"hades-zoo {' '.join(args)}:\n{r.output}"
    return r.output


def test_readme_commands_write_only_into_the_run_folder_or_out(
        tmp_path, monkeypatch, cheap_compute, hub_server):
    git_before, files_before = _git_status(), _tree_hash(WATCHED)
    listed = json.loads(_run("list", "cartpole-F-2.hz", "--json"))[0]["transfer_score"]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    recipe = str(REPO / "recipes" / "cartpole-F-2.hz.yaml")
    tiny = ["--set", "es.generations=1", "--set", "es.popsize=4", "--set",
            "es.log_every=1", "--set", "bc.steps=5", "--set", "eval.num_steps=20",
            "--set", "policy.width=8"]

    # Command line
    _run("list", "hopper-*")
    _run("eval", "hopper-R-64", "--episodes", "10", "--json")
    _run("plot", "breakout-minatar-F-16", "--out", "breakout.png")
    _run("plot", "hopper-R-64", "--out", "hopper.png")
    _run("render", "cartpole-F-2.hz", "--out", "cartpole.gif", "--max-seconds", "0.2")
    npz = FIXTURES / "brax__distill__hopper__D4__seed0.npz"
    _run("import-reference", str(npz), "--out", "hopper-import.safetensors")
    _run("-v", "eval", "hopper-R-4")
    # (the whole zoo with replays is the maintainer's script's job: one entry here)
    _run("catalogue", "--out", "site/", "--only", "cartpole-R-2.hz", "--no-replays")
    # Distil a zoo entry from scratch: a user's run whose id equals a zoo id
    run = Path("runs") / "cartpole-F-2.hz"
    _run("distill", recipe, "--out", str(run), *tiny)
    _run("certify", str(run), "--seeds", "2")
    _run("eval", str(run), "--episodes", "10")
    _run("eval", str(run / "cartpole-F-2.hz.safetensors"), "--episodes", "2")
    _run("push", str(run), "--repo-id", "org/cartpole-F-2.hz",
         env={"HF_TOKEN": "hf_write"})
    _run("pull", "hf:org/cartpole-F-2.hz", "--out", "pulled")
    for source in ("hopper-R-64", str(run), "hf:org/cartpole-F-2.hz"):
        _run("show", source)  # writes nothing but the hf: copy in the cache
    # Check, stress and combine datasets
    _run("train", "hopper-R-4", "--json")
    _run("train", "hopper-R-4", "--width", "256", "--lr", "1e-3", "--out", "pol/")
    _run("eval", "pol/", "--episodes", "10")
    _run("push", "pol/", "--repo-id", "org/hopper-R-4-policy", env={"HF_TOKEN": "hf_write"})
    out = _run("certify", "hopper-R-4")
    assert "not saved" in out and "--out DIR" in out
    _run("certify", "hopper-R-4", "--out", "certs")
    out = _run("transfer", "hopper-R-4")
    assert "not saved" in out
    _run("transfer", "hopper-R-4", "--out", "transfer")
    _run("transfer", "hopper-R-4", "--grid", "full", "--out", "transfer")
    _run("transfer", str(run))
    _run("list", "--sort", "transfer")
    _run("merge", "halfcheetah-R-64", "hopper-R-64", "--layout", "disjoint", "--out",
         "hc+hopper")

    # the results are where the user asked for them
    card = (run / "README.md").read_text()
    assert "## Reproduction certificate" in card and "## Transfer" in card
    assert f"`hades-zoo transfer {run} --grid common`" in card
    assert {"certificate.json", "transfer.json", "transfer.png"} <= {
        p.name for p in run.iterdir()}
    assert json.loads((run / "transfer.json").read_text())[
        "dataset_id"] == "cartpole-F-2.hz"
    assert json.loads((Path("certs") / "hopper-R-4.certificate.json").read_text())[
        "dataset_id"] == "hopper-R-4"
    assert {str(p) for p in Path("transfer").rglob("*")} == {
        "transfer/hopper-R-4.json", "transfer/hopper-R-4.png", "transfer/full",
        "transfer/full/hopper-R-4.json", "transfer/full/hopper-R-4.png"}
    assert {p.name for p in work.iterdir()} == {
        "breakout.png", "hopper.png", "cartpole.gif", "hopper-import.safetensors", "runs",
        "pulled", "pol", "certs", "transfer", "hc+hopper", "site"}
    assert {p.name for p in Path("pol").iterdir()} == {"README.md", "config.json",
                                                      "model.safetensors"}
    # ... and nowhere in the checkout or the package
    assert _git_status() == git_before, "a user command changed the checkout"
    files_after = _tree_hash(WATCHED)
    changed = sorted(k for k in files_before.keys() | files_after.keys()
                     if files_before.get(k) != files_after.get(k))
    assert not changed, f"user commands wrote into the package / checkout: {changed}"
    from hades_zoo.zoo import registry

    registry.refresh_transfer_scores()  # read the packaged file again
    assert json.loads(_run("list", "cartpole-F-2.hz", "--json"))[0][
        "transfer_score"] == listed


# ----------------------------------------------------------- the writers, unit-size
def _transfer_result(dataset_id, grid):
    from hades_zoo.zoo.transfer import GRIDS, TransferResult

    g = GRIDS[grid]
    returns = np.full((len(g.widths), len(g.lrs), len(g.steps), g.seeds), 250.0)
    return TransferResult(dataset_id, g.widths, g.lrs, g.steps, returns, 500.0, 1.0,
                          grid=grid)


def _entry_folder(tmp_path):
    folder = tmp_path / "runs" / "cartpole-F-2.hz"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# cartpole-F-2.hz\n\n## Citation\n\nx\n")
    return folder


def test_transfer_into_an_entry_folder_keeps_every_grid(tmp_path):
    from hades_zoo.zoo import results
    from hades_zoo.zoo.outputs import record_transfer_in_folder

    folder = _entry_folder(tmp_path)
    record_transfer_in_folder(_transfer_result("cartpole-F-2.hz", "full"), folder)
    record_transfer_in_folder(_transfer_result("cartpole-F-2.hz", "common"), folder)
    names = {p.name for p in folder.iterdir()}
    assert {"transfer.json", "transfer.png", "transfer-full.json",
            "transfer-full.png"} <= names
    card = (folder / "README.md").read_text()
    body = results.get_card_section(card, results.TRANSFER_SECTION)
    assert body.startswith("**Transfer-robustness score: 0.500**")
    assert "Also measured on grid 'full'" in body and "`transfer-full.json`" in body
    assert f"`hades-zoo transfer {folder} --grid common`" in body
    assert "plot: `transfer.png`" in body and card.index("## Transfer") < card.index(
        "## Citation")


def test_image_certificate_into_an_entry_folder(tmp_path):
    from hades_zoo.zoo import results
    from hades_zoo.zoo.outputs import record_certificate_record_in_folder

    folder = _entry_folder(tmp_path)
    rec = {"dataset_id": "mnist-R-10", "metric": "loss", "returns": [0.05, 0.06],
           "mean": 0.055, "std": 0.005, "recorded": 0.0352, "ratio": 0.64,
           "reproduced_95": False, "recorded_train_accuracy": 0.9,
           "splits": {"test": {"examples": 200, "loss": 0.055, "loss_std": 0.005,
                               "accuracy": 0.8, "accuracy_std": 0.01}},
           "date": "2026-12-02", "machine": "cpu", "seconds": 1.0, "versions": {}}
    record_certificate_record_in_folder(rec, folder)
    body = results.get_card_section((folder / "README.md").read_text(),
                                    results.CERT_SECTION)
    assert "| test | 200 |" in body
    assert f"`hades-zoo certify {folder} --data-dir DIR`" in body
    assert json.loads((folder / "certificate.json").read_text())["mean"] == 0.055


def test_out_names_go_through_the_gate(tmp_path):
    from hades_zoo.errors import UnsafeNameError
    from hades_zoo.zoo.outputs import out_transfer_path, write_certificate_out

    assert out_transfer_path(tmp_path, "hopper-R-4", "full") == (
        tmp_path / "full" / "hopper-R-4.json")
    with pytest.raises(UnsafeNameError, match="dataset id"):
        out_transfer_path(tmp_path, "../victim", "common")
    with pytest.raises(UnsafeNameError, match="dataset id"):
        write_certificate_out({"dataset_id": "../victim"}, tmp_path / "out")
    assert not (tmp_path / "victim.certificate.json").exists()


def test_a_folder_without_a_card_is_refused_before_measuring(tmp_path, monkeypatch):
    from hades_zoo.zoo import certify

    monkeypatch.setattr(certify, "protocol_returns",
                        lambda *a, **k: pytest.fail("measured before refusing"))
    folder = tmp_path / "plain"
    folder.mkdir()
    for cmd in ("certify", "transfer"):
        r = CliRunner().invoke(cli, [cmd, str(folder)])
        assert r.exit_code == 1 and "has no README.md card" in r.output, r.output
        assert "--out DIR" in r.output and len(r.output.strip().splitlines()) == 1
    assert list(folder.iterdir()) == []
