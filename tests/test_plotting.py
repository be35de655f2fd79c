"""Dataset plots: PNGs for brax and MinAtar entries; clear error without matplotlib."""

import sys

import pytest
from click.testing import CliRunner

import hades_zoo as hz
from hades_zoo.cli import cli
from hades_zoo.zoo.plotting import observation_shape, plot_dataset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("dataset_id", ["hopper-R-64", "breakout-minatar-F-16"])
def test_writes_png(tmp_path, dataset_id):
    out = plot_dataset(hz.load(dataset_id), tmp_path / "sub" / f"{dataset_id}.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_minatar_frames_shape():
    assert observation_shape(hz.load("breakout-minatar-F-16")) == (10, 10, 4)
    assert observation_shape(hz.load("hopper-R-4")) == (11,)


def test_cli_plot(tmp_path):
    out = tmp_path / "p.png"
    res = CliRunner().invoke(cli, ["plot", "hopper-R-4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install hades_zoo\[plot\]"):
        plot_dataset(hz.load("hopper-R-4"), tmp_path / "x.png")
    res = CliRunner().invoke(
        cli, ["plot", "hopper-R-4", "--out", str(tmp_path / "x.png")]
    )
    assert res.exit_code == 1 and "pip install hades_zoo[plot]" in res.output


def _texts(fig):
    """Every string the figure shows: titles, axis labels, tick labels, legends."""
    out = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return {t for t in out if t}


def test_brax_plot_names_features_and_torques():
    import matplotlib.pyplot as plt

    fig = plot_dataset(hz.load("hopper-R-4"))
    texts = _texts(fig)
    for name in ("torso z (height)", "rooty (torso) angle", "thigh_joint angle",
                 "foot_joint angular velocity", "thigh_joint torque",
                 "foot_joint torque", "observation feature", "actuator"):
        assert name in texts, name
    assert "observation dim" not in texts
    plt.close(fig)


def test_minatar_plot_names_channels_and_actions():
    import matplotlib.pyplot as plt

    ds = hz.load("breakout-minatar-F-16")
    fig = plot_dataset(ds)
    texts = _texts(fig)
    assert {"ch 0: paddle", "ch 1: ball", "ch 2: trail", "ch 3: brick"} <= texts
    assert not any(t == "ch 0" for t in texts)
    titles = [t for t in texts if t.startswith("#")]
    assert titles and all(t.split(": ")[1].split(" ")[0] in ("noop", "left", "right")
                          for t in titles)
    plt.close(fig)


def test_vector_discrete_plot_names_features_and_actions(tmp_path):
    import dataclasses

    import matplotlib.pyplot as plt
    import numpy as np

    from hades_zoo.data.dataset import DatasetInfo, SyntheticDataset
    from hades_zoo.data.recipe_io import load_recipe

    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    r = load_recipe(repo / "recipes" / "cartpole-R-2.yaml")
    ds = SyntheticDataset(
        states=np.array([[0.0, 0.0, -0.2, -1.0], [0.0, 0.0, 0.2, 1.0]], np.float32),
        labels=np.array([0, 1], np.int32), mask=np.array([True, True]),
        recipe=dataclasses.replace(r), info=DatasetInfo(dataset_id="cartpole-R-2"))
    fig = plot_dataset(ds)
    texts = _texts(fig)
    assert {"x", "x_dot", "theta", "theta_dot"} <= texts
    assert "#1: push right (+force_mag)" in texts
    plt.close(fig)
