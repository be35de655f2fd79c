"""Observation / action / channel names, read from the env definitions: one name per
real observation entry and action for every env the zoo uses, and the names mean
what the env puts there."""

import numpy as np
import pytest

from hades_zoo.data.recipe import EnvConfig
from hades_zoo.engine.envs import BRAX_SPECS, env_spec, make_env
from hades_zoo.engine.envs import names
from hades_zoo.errors import EnvError

BRAX = [EnvConfig(name=n, backend="positional") for n in sorted(BRAX_SPECS)] + [
    EnvConfig(name="inverted_double_pendulum", backend="positional", compat="brax-0.9")]
GYMNAX = [EnvConfig(name=n, backend="gymnax") for n in (
    "CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCar-v0",
    "MountainCarContinuous-v0", "Breakout-MinAtar", "Asterix-MinAtar",
    "SpaceInvaders-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar", "Pong-misc")] + [
    EnvConfig(name="SpaceInvaders-MinAtar", backend="gymnax", compat="gymnax-0.0.6")]


@pytest.mark.parametrize("cfg", BRAX + GYMNAX, ids=lambda c: f"{c.name}{c.compat}")
def test_one_name_per_observation_entry_and_action(cfg):
    spec = env_spec(cfg)
    obs, act = names.observation_names(cfg), names.action_names(cfg)
    assert len(obs) == spec.obs_dim and len(act) == spec.action_dim
    assert all(isinstance(n, str) and n for n in obs + act)
    if cfg.backend != "gymnax" or names.channel_names(cfg) is None:
        assert len(set(obs)) == len(obs), "feature names must be distinct"


def test_hopper_names_from_its_mjcf_and_get_obs():
    cfg = EnvConfig(name="hopper", backend="positional")
    obs = names.observation_names(cfg)
    assert obs[:5] == ["torso z (height)", "rooty (torso) angle", "thigh_joint angle",
                       "leg_joint angle", "foot_joint angle"]
    assert obs[5:8] == ["rootx (torso) velocity", "rootz (torso) velocity",
                        "rooty (torso) angular velocity"]
    assert names.action_names(cfg) == ["thigh_joint torque", "leg_joint torque",
                                       "foot_joint torque"]
    assert names.channel_names(cfg) is None
    # the entry named "torso z (height)" is the torso's height: 1.25 m at reset in
    # brax's hopper.xml (plus reset noise of at most 0.005)
    obs0, _ = make_env(cfg).reset(np.asarray([0, 0], np.uint32))
    assert abs(float(obs0[obs.index("torso z (height)")]) - 1.25) < 0.01


def test_humanoid_names_cover_positions_inertia_velocities_forces():
    obs = names.observation_names(EnvConfig(name="humanoid", backend="positional"))
    assert obs[0] == "root (torso) z (height)" and obs[22] == "root (torso) velocity x"
    assert obs[45] == "torso com inertia xx" and obs[54] == "torso mass"
    assert obs[-1] == "actuator left_elbow (left_lower_arm) torque"


def test_minatar_channels_and_actions_from_gymnax():
    cfg = EnvConfig(name="Breakout-MinAtar", backend="gymnax")
    assert names.channel_names(cfg) == ["paddle", "ball", "trail", "brick"]
    assert names.action_names(cfg) == ["noop", "left", "right"]
    si = EnvConfig(name="SpaceInvaders-MinAtar", backend="gymnax")
    assert names.action_names(si) == ["noop", "left", "right", "fire"]
    assert names.channel_names(si)[0] == "cannon"
    # the channel named "paddle" holds one cell, on the bottom row, at reset
    import jax

    obs, _ = make_env(cfg).reset(jax.random.key(0))
    frame = np.asarray(obs).reshape(10, 10, 4)
    paddle = frame[..., names.channel_names(cfg).index("paddle")]
    assert paddle.sum() == 1 and paddle[9].sum() == 1
    assert names.observation_names(cfg)[4 * 10 * 9 + 0] == "paddle at (row 9, col 0)"


def test_classic_control_names_from_get_obs():
    cp = EnvConfig(name="CartPole-v1", backend="gymnax")
    assert names.observation_names(cp) == ["x", "x_dot", "theta", "theta_dot"]
    assert names.action_names(cp)[1].startswith("push right")
    acro = EnvConfig(name="Acrobot-v1", backend="gymnax")
    assert names.observation_names(acro)[:2] == ["cos(joint_angle1)", "sin(joint_angle1)"]
    assert names.action_names(acro) == ["torque -1", "torque 0", "torque +1"]
    pend = EnvConfig(name="Pendulum-v1", backend="gymnax")
    assert names.action_names(pend) == ["torque (clipped to ±2)"]


def test_bad_envs_name_the_problem():
    with pytest.raises(EnvError, match="unknown env 'hoper'"):
        names.observation_names(EnvConfig(name="hoper", backend="positional"))
    with pytest.raises(EnvError, match="image-classification dataset"):
        names.action_names(EnvConfig(name="MNIST", backend="image"))
    with pytest.raises(EnvError, match="no observation names for env 'Catch-bsuite'.*"
                                       "add the env to hades_zoo/engine/envs/gymnax/"
                                       "names.py"):
        names.observation_names(EnvConfig(name="Catch-bsuite", backend="gymnax"))
    assert names.channel_names(EnvConfig(name="Catch-bsuite", backend="gymnax")) is None
    with pytest.raises(EnvError, match="3 action names for env 'hopper' but it has 4"):
        names._checked(EnvConfig(name="hopper", backend="positional"),
                       ["a", "b", "c"], 4, "action")
