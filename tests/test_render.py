"""engine/render: each family's drawer, the frame timing, the writers (MP4 / GIF read
back), a policy's video end to end, and the errors that come before any work."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import hades_zoo as hz
from hades_zoo.data.recipe import IMAGE_BACKEND, EnvConfig
from hades_zoo.engine.render import (
    FAMILIES,
    Episode,
    Renderer,
    draw_brax,
    draw_classic,
    draw_images,
    draw_minatar,
    family_of,
    register_renderer,
    render_policy,
    renderer_for,
)
from hades_zoo.engine.render.play import frame_steps
from hades_zoo.engine.render.video import encode_video, playable_fps, write_video
from hades_zoo.errors import OutputFormatError, RenderError
from tests.conftest import REPO

W, H = 64, 48


def _episode(obs, actions, states=None):
    t = len(obs)
    return Episode(observations=np.asarray(obs, np.float32), actions=np.asarray(actions),
                   rewards=np.ones(t, np.float32), states=states, steps=np.arange(t),
                   running_returns=np.arange(1, t + 1, dtype=np.float64),
                   episode_return=float(t), length=t)


def _check(frames, t):
    assert frames.shape == (t, H, W, 3) and frames.dtype == np.uint8
    assert frames.std() > 5  # a drawing, not a blank frame
    assert not np.array_equal(frames[0], frames[-1])  # it moves with the input


# ------------------------------------------------------------------- drawers
@pytest.mark.gl
def test_brax_frames_draw_the_recorded_joint_positions():
    from hades_zoo.engine.envs.brax.adapter import brax_scene

    cfg = EnvConfig(name="hopper", backend="positional")
    model, dt = brax_scene(cfg)
    assert dt == pytest.approx(0.008) and FAMILIES["brax"].control_rate(cfg) == 125.0
    q = np.repeat(np.asarray(model.qpos0)[None], 3, 0)
    q[:, 3] = [0.0, 0.6, 1.2]  # bend the thigh joint
    frames = draw_brax(cfg, _episode(np.zeros((3, 11)), np.zeros((3, 3)), q), width=W,
                       height=H)
    _check(frames, 3)
    assert model.vis.global_.offwidth == 640  # the cached model was not modified


def test_minatar_frames_colour_channels_and_name_the_action():
    cfg = EnvConfig(name="Breakout-MinAtar", backend="gymnax")
    rng = np.random.default_rng(0)
    obs = (rng.random((3, 10, 10, 4)) < 0.2).reshape(3, -1)
    frames = draw_minatar(cfg, _episode(obs, [0, 1, 2]), width=W * 2, height=H * 2)
    assert frames.shape == (3, H * 2, W * 2, 3) and frames.std() > 5
    assert not np.array_equal(frames[0], frames[1])
    # an empty screen is black in the game square: the channels make the colour
    empty = draw_minatar(cfg, _episode(np.zeros((1, 400)), [0]), width=W * 2, height=H * 2)
    assert empty[0, H, 10].max() < 40 and frames[:, :, :60].max() > 100


@pytest.mark.parametrize("name, obs, actions", [
    ("CartPole-v1", [[0, 0, -0.2, 0], [0.5, 0, 0.0, 0], [1.0, 0, 0.2, 0]], [0, 1, 0]),
    ("Acrobot-v1", [[1, 0, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0], [-1, 0, 0, 1, 0, 0]],
     [0, 1, 2]),
    ("Pendulum-v1", [[1, 0, 0], [0, 1, 0], [-1, 0, 0]], [[1.5], [0.0], [-1.5]]),
    ("MountainCar-v0", [[-1.0, 0], [-0.5, 0], [0.4, 0]], [0, 1, 2]),
])
def test_classic_control_is_drawn_from_the_observation(name, obs, actions):
    frames = draw_classic(EnvConfig(name=name, backend="gymnax"),
                          _episode(np.asarray(obs, np.float32), actions), width=W,
                          height=H)
    _check(frames, 3)


def test_image_datasets_are_a_labelled_grid():
    cfg = EnvConfig(name="FashionMNIST", backend=IMAGE_BACKEND)
    images = np.random.default_rng(0).random((10, 784))
    frames = draw_images(cfg, Episode(observations=images, actions=np.arange(10),
                                      rewards=np.zeros(10)), width=W * 4, height=H * 4)
    assert frames.shape == (1, H * 4, W * 4, 3) and frames.std() > 5


def test_the_family_table_and_registered_renderers():
    assert family_of(EnvConfig(name="walker2d", backend="generalized")) == "brax"
    assert family_of(EnvConfig(name="SpaceInvaders-MinAtar", backend="gymnax")) == "minatar"
    assert family_of(EnvConfig(name="Pendulum-v1", backend="gymnax")) == "classic"
    assert family_of(EnvConfig(name="MNIST", backend=IMAGE_BACKEND)) == "image"
    with pytest.raises(RenderError, match="no renderer for env 'Catch-bsuite'.*"
                                          "register_renderer"):
        renderer_for(EnvConfig(name="Catch-bsuite", backend="gymnax"))
    mine = dataclasses.replace(FAMILIES["classic"], family="mine")
    register_renderer("Catch-bsuite", mine)
    try:
        assert renderer_for(EnvConfig(name="Catch-bsuite", backend="gymnax")) is mine
        with pytest.raises(ValueError, match="already has a renderer"):
            register_renderer("Catch-bsuite", mine)
    finally:
        from hades_zoo.engine import render

        render._BY_ENV.pop("Catch-bsuite")
    with pytest.raises(TypeError):
        register_renderer("x", object())  # type: ignore[arg-type]
    assert isinstance(FAMILIES["brax"], Renderer)


# ------------------------------------------------------------------- timing, writers
def test_frame_steps_play_in_real_time():
    assert np.array_equal(frame_steps(1000, 125.0, 125.0), np.arange(1000))
    steps = frame_steps(1000, 125.0, 30.0)
    assert len(steps) == 240 and steps[0] == 0 and steps[-1] <= 999
    assert np.all(np.diff(steps) >= 4) and np.all(np.diff(steps) <= 5)
    assert len(frame_steps(7, 50.0, 25.0)) == 4 and len(frame_steps(0, 50, 50)) == 0
    assert playable_fps(".gif", 30) == pytest.approx(100 / 3)  # whole centiseconds
    assert playable_fps(".mp4", 125) == 125
    with pytest.raises(RenderError, match="at most 50 frames/s"):
        playable_fps(".gif", 60)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_videos_are_written_atomically_and_read_back(tmp_path, suffix):
    import imageio.v3 as iio

    frames = np.zeros((12, H, W, 3), np.uint8)
    for i in range(12):
        frames[i, :, i * 4:(i + 1) * 4] = (255, 40 + 10 * i, 0)
    out = write_video(tmp_path / f"v{suffix}", [frames[:5], frames[5:]], fps=25)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left
    back = iio.imread(out, index=None, **({"plugin": "FFMPEG"} if suffix == ".mp4" else {}))
    assert back.shape[:3] == (12, H, W)
    assert np.abs(back[..., :3].astype(int) - frames).mean() < 12  # lossy, but the same
    with pytest.raises(RenderError, match="no frames"):
        encode_video([], suffix, 25.0)


def test_bad_suffix_and_missing_mp4_writer_fail_before_any_work(tmp_path, monkeypatch):
    # an unknown source: the suffix is refused before the source is even looked at
    with pytest.raises(OutputFormatError, match=r"'\.avi' is not a video format.*\.mp4"):
        hz.render("no-such-source-F-2", tmp_path / "x.avi")
    with pytest.raises(OutputFormatError, match="no suffix"):
        hz.render("no-such-source-F-2", tmp_path / "x")
    with pytest.raises(RenderError, match="even frame sides"):
        hz.render("no-such-source-F-2", tmp_path / "x.mp4", width=321)
    with pytest.raises(RenderError, match="at most 50"):
        hz.render("no-such-source-F-2", tmp_path / "x.gif", fps=60)
    from hades_zoo.engine.render import video

    monkeypatch.setattr(video, "mp4_available", lambda: False)
    with pytest.raises(RenderError, match=r"pip install 'hades_zoo\[render\]'") as err:
        hz.render("no-such-source-F-2", tmp_path / "x.mp4")
    assert isinstance(err.value, ImportError)  # a missing package, for who falls back
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name, example", [(".gif", "replay.gif"), (".MP4", "replay.mp4"),
                                           (".avi", "replay.mp4")])
def test_a_file_name_that_is_only_an_extension_is_named_so(tmp_path, name, example):
    """``--out .gif`` suggested '.gif.mp4'; the file needs a name."""
    with pytest.raises(OutputFormatError, match="is only an extension") as err:
        hz.render("no-such-source-F-2", tmp_path / name)
    assert str(tmp_path / example) in str(err.value) and ".gif.mp4" not in str(err.value)
    from hades_zoo.zoo.plotting import check_plot_path

    with pytest.raises(OutputFormatError, match=r"only an extension.*plot\.png"):
        check_plot_path(tmp_path / ".png")
    with pytest.raises(hz.DatasetFormatError, match=r"only an extension.*dataset\.safetensors"):
        hz.load("cartpole-F-2.hz").save(tmp_path / ".safetensors")
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def cartpole_policy():
    """A policy that balances (the zoo's cartpole-F-2.hz: 500 steps)."""
    return hz.train_policy(hz.load("cartpole-F-2.hz"), seed=0)


def test_a_policy_video_plays_the_evaluated_episodes(tmp_path, cartpole_policy):
    import imageio.v3 as iio

    pol = cartpole_policy
    res = render_policy(pol, tmp_path / "cp.gif", episodes=2, seed=3, width=W, height=H,
                        fps=25, max_seconds=0.6)
    assert np.array_equal(res.returns, hz.evaluate(pol, episodes=2, seed=3).returns)
    # 25 of CartPole's 50 steps/s: every other step; 0.6 s = 15 frames, all episode 1
    assert res.frames == 15 and res.fps == 25 and res.seconds == pytest.approx(0.6)
    assert list(res.steps_shown) == [29, 0] and res.size == (tmp_path / "cp.gif").stat().st_size
    # a GIF keeps a run of identical frames as one longer frame: it plays 0.6 s
    from PIL import Image, ImageSequence

    with Image.open(res.path) as im:
        durations = [f.info["duration"] for f in ImageSequence.Iterator(im)]
    assert sum(durations) == 600 and min(durations) == 40
    assert len(iio.imread(res.path, index=None)) == len(durations)


def test_max_seconds_inf_is_whole_episodes(tmp_path, cartpole_policy):
    """``max_seconds=inf`` once raised OverflowError after the rollout (2026-12-03)."""
    whole = render_policy(cartpole_policy, tmp_path / "a.gif", width=W, height=H, fps=5)
    inf = render_policy(cartpole_policy, tmp_path / "b.gif", width=W, height=H, fps=5,
                        max_seconds=float("inf"))
    assert inf.frames == whole.frames == 50  # 500 steps at 50 steps/s: 10 s at 5 fps
    huge = render_policy(cartpole_policy, tmp_path / "d.gif", width=W, height=H, fps=5,
                         max_seconds=1e308)  # max_seconds x fps overflowed an int
    assert huge.frames == 50
    with pytest.raises(RenderError, match="max_seconds"):
        render_policy(cartpole_policy, tmp_path / "c.gif", max_seconds=float("nan"))
    for fps in (1e-9, 0.05):  # PIL overflowed on a GIF's frame delay; ffmpeg got -r 0
        with pytest.raises(RenderError, match=r"fps must be in \[0.1, 240\]"):
            render_policy(cartpole_policy, tmp_path / "e.gif", fps=fps)
    assert not (tmp_path / "c.gif").exists()


def test_hz_render_of_a_saved_policy_folder(tmp_path, cartpole_policy):
    import imageio.v3 as iio

    folder = tmp_path / "pol"
    cartpole_policy.save_pretrained(folder)
    res = hz.render(folder, tmp_path / "pol.mp4", width=W, height=H, max_seconds=0.2)
    assert res.frames == 10 and res.fps == 50.0  # CartPole's rate: every step
    assert res.returns.shape == (1,)
    assert iio.imread(res.path, index=None, plugin="FFMPEG").shape[:3] == (10, H, W)


def test_an_image_dataset_renders_its_grid(tmp_path):
    res = hz.render("mnist-R-10", tmp_path / "grid.gif", width=W * 4, height=H * 4)
    assert res.frames == 1 and res.returns.size == 0 and res.size > 1000


def test_no_gl_backend_is_a_render_error_naming_the_fix(tmp_path):
    """MuJoCo without a usable OpenGL backend (simulated: MUJOCO_GL=bogus): the CLI
    says so on one line, before anything is trained."""
    env = {**os.environ, "MUJOCO_GL": "bogus", "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "hades_zoo.cli", "render", "hopper-R-4",
                        "--out", str(tmp_path / "h.mp4")], env=env, capture_output=True,
                       text=True, timeout=600, check=False)
    assert r.returncode == 1, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: RenderError: MUJOCO_GL='bogus' is not an OpenGL")
    assert "apt-get install libosmesa6" in line and "MUJOCO_GL=osmesa" in line
    assert not (tmp_path / "h.mp4").exists()


def test_a_backend_that_failed_is_not_tried_again():
    """GLFW without a display: the second context attempt aborted the process
    (libc++abi, SIGABRT) instead of raising; now every call raises the same error."""
    code = ("from hades_zoo.engine.render.gl import check_mujoco_gl\n"
            "from hades_zoo.errors import RenderError\n"
            "for _ in range(3):\n"
            "    try:\n        check_mujoco_gl()\n"
            "    except RenderError as err:\n        print('RenderError', err)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(MUJOCO_GL="glfw", PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and len(set(lines)) == 1
    assert "cannot open an offscreen OpenGL context (MUJOCO_GL='glfw')" in lines[0]


@pytest.mark.slow
@pytest.mark.gl
def test_brax_rollout_records_q_and_renders(tmp_path, hopper_dataset):
    """hopper, 20-step episodes: the recorded q is the state the observation shows
    (obs[1:5] = q[2:6], brax hopper.py:269-273), returns equal evaluate's, and the
    video has one frame per step (~40 s of compile on 2 loaded cores, hence slow)."""
    from hades_zoo.engine.render.brax_frames import record_brax

    r = hopper_dataset.recipe
    ds = hopper_dataset.replace(recipe=r.replace(
        env=dataclasses.replace(r.env, episode_length=20)))
    pol = hz.train_policy(ds)
    traj = hz.rollout(pol, episodes=2, seed=1, record_state=record_brax)
    assert traj.states.shape == (2, 20, 6)
    np.testing.assert_allclose(traj.observations[..., 1:5], traj.states[..., 2:6],
                               atol=1e-5)
    # the same episodes; on CPU the program that also records q may be fused
    # differently from evaluate's, in the last bits (6.6e-6 relative here, 2026-12-03;
    # equal for hopper-R-64's full episodes): evaluation.rollout's docstring
    np.testing.assert_allclose(traj.returns, hz.evaluate(pol, episodes=2, seed=1).returns,
                               rtol=1e-4)
    res = render_policy(pol, tmp_path / "h.mp4", seed=1, width=W, height=H)
    assert res.frames == int(traj.lengths[0]) and res.fps == 125.0
