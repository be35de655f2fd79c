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
    # hopper-R-4 is shown in raw units: each column's name carries its unit
    for name in ("torso z (height) [m]", "rooty (torso) angle [rad]",
                 "thigh_joint angle [rad]", "foot_joint angular velocity [rad/s]",
                 "thigh_joint torque",
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


def test_brax_colour_bars_are_full_height_and_name_their_unit(hopper_dataset):
    """The actions panel is narrow: its colour bar used to be a stub (fraction of the
    panel's width); both bars now span their heatmap and say what the colour is."""
    import matplotlib.pyplot as plt

    from hades_zoo.zoo.plot_style import STYLE

    for ds, state_label in ((hz.load("hopper-R-64"), "standard deviations from"),
                            (hopper_dataset, "raw value, in the unit")):
        fig = plot_dataset(ds)
        fig.canvas.draw()  # the bars' axes are placed at draw time
        heatmaps = [ax for ax in fig.axes if ax.get_images()]
        bars = [ax for ax in fig.axes if not ax.get_images()]
        assert len(heatmaps) == 2 and len(bars) == 2
        for ax, bar in zip(heatmaps, bars, strict=True):
            h, b = ax.get_position(), bar.get_position()
            assert b.height == pytest.approx(h.height, rel=0.02)  # full height
            assert b.x0 > h.x1  # beside its heatmap
        labels = [bar.get_ylabel() for bar in bars]
        assert labels[0].startswith(state_label) and labels[1].startswith("action")
        assert heatmaps[0].title.get_fontsize() == STYLE["axes.titlesize"]
        plt.close(fig)
    fig = plot_dataset(hopper_dataset)  # raw units: each column says its unit
    texts = _texts(fig)
    for name in ("torso z (height) [m]", "thigh_joint angle [rad]",
                 "rootx (torso) velocity [m/s]", "foot_joint angular velocity [rad/s]"):
        assert name in texts, name
    plt.close(fig)


def test_every_figure_is_drawn_in_the_one_style(tmp_path):
    """Learning curve, transfer plot, multi-task bars and dataset plots run inside
    zoo.plot_style.STYLE (its title size, no top/right spines)."""
    import matplotlib
    import matplotlib.figure

    from hades_zoo.zoo import entry, multitask_result, plotting, transfer, transfer_zoo
    from hades_zoo.zoo.plot_style import STYLE

    seen = []
    real = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kwargs):
        seen.append((matplotlib.rcParams["axes.titlesize"],
                     matplotlib.rcParams["axes.spines.top"], kwargs.get("dpi")))
        return real(fig, *args, **kwargs)

    matplotlib.figure.Figure.savefig = spy
    try:
        entry.curve_png([{"generation": 1, "mean_return": 1.0, "max_return": 2.0,
                          "env_steps_total": 10}], title="t")
        plotting.plot_dataset(hz.load("cartpole-F-2.hz"), tmp_path / "p.png")
    finally:
        matplotlib.figure.Figure.savefig = real
    assert seen == [(STYLE["axes.titlesize"], False, STYLE["savefig.dpi"])] * 2
    for fn in (transfer.plot_transfer, transfer_zoo.plot_env,
               multitask_result.plot_multitask, plotting.plot_dataset, entry.curve_png):
        assert getattr(fn, "__wrapped__", None) is not None, fn  # @styled
