"""Watching from the command line and in entries: ``hades-zoo render``, ``distill --out``
writing ``replay.mp4`` and its card section, ``push`` / ``verify`` / ``--no-resume``
with a replay in the folder."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.data.recipe_io import recipe_to_dict


def test_cli_render_prints_the_path_returns_and_size(tmp_path):
    out = tmp_path / "cp.gif"
    r = CliRunner().invoke(cli, ["render", "cartpole-F-2.hz", "--out", str(out),
                                 "--width", "64", "--height", "48", "--max-seconds", "0.2"])
    assert r.exit_code == 0, r.output
    assert re.search(rf"wrote {re.escape(str(out))}: 1 episode\(s\), return 500\.0 "
                     r"\(500 steps\), shown up to step 10; 10 frames at 50 fps \(0\.2 s\), "
                     r"64x48, [\d.]+ KiB", r.output), r.output
    assert out.stat().st_size > 0


@pytest.mark.parametrize("args, message", [
    (["--out", "x.webm"], (r"OutputFormatError: x\.webm: suffix '\.webm' is not a "
                           r"video format hades_zoo writes; end the file name in \.mp4")),
    (["--out", "x.gif", "--fps", "100"], r"RenderError: a GIF plays at most 50 frames/s"),
    (["--out", "x.mp4", "--height", "241"], (r"RenderError: an MP4 .* needs even frame "
                                             "sides; height is 241")),
    (["--out", "x.mp4", "--width", "8"], (r"RenderError: width must be an integer number "
                                          r"of pixels in \[32, 1920\], got 8")),
])
def test_cli_render_errors_are_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["render", "cartpole-F-2.hz", *args])
    assert r.exit_code == 1 and re.search(message, r.output), r.output
    assert len(r.output.strip().splitlines()) == 1 and not any(tmp_path.iterdir())


def test_cli_render_of_an_unknown_source_names_it(tmp_path):
    r = CliRunner().invoke(cli, ["render", "nope-F-2", "--out", str(tmp_path / "x.gif")])
    assert r.exit_code == 1 and "UnknownDatasetError: unknown dataset id 'nope-F-2'" in (
        r.output)


def _write(tmp_path, recipe):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe_to_dict(recipe)))
    return str(path)


def test_distill_writes_the_replay_its_card_shows(tmp_path, tiny_recipe, monkeypatch):
    import imageio.v3 as iio

    from hades_zoo.errors import RenderError
    from hades_zoo.hub.push import push_folder
    from hades_zoo.zoo import entry_replay

    monkeypatch.setattr(entry_replay, "ENTRY_SECONDS", 1.0)  # 30 frames, not 300
    out, recipe = tmp_path / "entry", _write(tmp_path, tiny_recipe)
    runner = CliRunner()

    # a replay that cannot be made is a warning: the run and its entry stand
    def no_gl(directory, **_):
        raise RenderError("MuJoCo cannot open an offscreen OpenGL context")

    monkeypatch.setattr(entry_replay, "write_entry_replay", no_gl)
    r = runner.invoke(cli, ["distill", recipe, "--out", str(out), "--replay"])
    assert r.exit_code == 0, r.output
    assert "warning: no replay: RenderError: MuJoCo cannot open" in r.output
    assert "run the same command again to add it" in r.output
    assert not list(out.glob("replay.*")) and hz.load(f"file:{out}").size == 2
    monkeypatch.undo()
    monkeypatch.setattr(entry_replay, "ENTRY_SECONDS", 1.0)

    # the same command again: nothing left to evolve, the replay is added
    r = runner.invoke(cli, ["distill", recipe, "--out", str(out), "--replay"])
    assert r.exit_code == 0, r.output
    video = out / "replay.mp4"
    assert f"wrote {video}" in r.output and "shown on the card" in r.output
    assert iio.imread(video, index=None, plugin="FFMPEG").shape[1:] == (240, 320, 3)
    card = (out / "README.md").read_text()
    sha = (out / "tiny-R-2.safetensors.sha256").read_text().split()[0]
    assert '<video src="replay.mp4" controls' in card and "## Replay" in card
    assert f"dataset sha256 `{sha}`" in card and "at generation 2" in card
    # once shown, a rerun does not render it again
    stamp = video.stat().st_mtime_ns
    r = runner.invoke(cli, ["distill", recipe, "--out", str(out), "--replay"])
    assert r.exit_code == 0 and video.stat().st_mtime_ns == stamp, r.output

    # verify and push take the folder with its replay
    r = runner.invoke(cli, ["verify", str(out)])
    assert r.exit_code == 0 and r.output.startswith("OK tiny-R-2"), r.output
    pushed = push_folder(out, "org/tiny", dry_run=True, overwrite_card=True)
    assert "replay.mp4" in {f.path for f in pushed.files}

    # --no-resume removes it with the rest of the old run
    r = runner.invoke(cli, ["distill", recipe, "--out", str(out), "--no-resume",
                            "--no-replay", "--generations", "1"])
    assert r.exit_code == 0, r.output
    assert "replay.mp4" in r.output.split("removed the previous run's outputs")[1]
    assert not video.exists() and "## Replay" not in (out / "README.md").read_text()
    assert np.isfinite(hz.load(f"file:{out}").states).all()


def test_an_image_entry_replay_is_a_gif_grid(tmp_path):
    """Image datasets: the replay is the labelled grid, as a GIF (no episodes)."""
    from hades_zoo.zoo.entry_replay import write_entry_replay

    hz.load("mnist-R-10").save_pretrained(tmp_path / "m")
    path = write_entry_replay(tmp_path / "m")
    assert path.name == "replay.gif" and path.stat().st_size > 1000
    card = (tmp_path / "m" / "README.md").read_text()
    assert "![replay of mnist-R-10](replay.gif)" in card
    assert "10 synthetic images" in card


def test_render_of_a_hub_model_repo_plays_the_saved_policy(tmp_path, hub_server):
    """``hf:org/pol`` names no dataset repo: the policy's model repo is played."""
    pol = hz.train_policy(hz.load("cartpole-F-2.hz"), seed=0)
    pol.push_to_hub("org/pol", token="hf_write")
    res = hz.render("hf:org/pol", tmp_path / "pol.gif", width=64, height=48,
                    max_seconds=0.1)
    assert res.frames == 5 and np.array_equal(
        res.returns, hz.evaluate(pol, episodes=1, seed=0).returns)
    with pytest.raises(hz.HubError, match="not found|not authorised"):  # the dataset's
        hz.render("hf:org/nothing-here", tmp_path / "x.gif")


def test_no_renderer_warning_does_not_suggest_rerunning(tmp_path, monkeypatch, capsys):
    """A rerun cannot add a replay for an env without a renderer; it can once OpenGL or
    a package is fixed."""
    from hades_zoo.cli import make
    from hades_zoo.data.recipe import EnvConfig
    from hades_zoo.engine.render import renderer_for
    from hades_zoo.errors import NoRendererError, RenderError
    from hades_zoo.zoo import entry_replay

    def none(directory, **_):  # what write_entry_replay meets for a Catch-bsuite entry
        renderer_for(EnvConfig(name="Catch-bsuite", backend="gymnax"))

    monkeypatch.setattr(entry_replay, "write_entry_replay", none)
    make._replay(tmp_path)
    err = capsys.readouterr().err
    assert "NoRendererError: no renderer for env 'Catch-bsuite'" in err
    assert "register_renderer" in err and "this env has no renderer" in err
    assert "run the same command again" not in err
    assert issubclass(NoRendererError, RenderError)

    def no_gl(directory, **_):
        raise RenderError("MuJoCo cannot open an offscreen OpenGL context")

    monkeypatch.setattr(entry_replay, "write_entry_replay", no_gl)
    make._replay(tmp_path)
    assert "once that is fixed, run the same command again" in capsys.readouterr().err
