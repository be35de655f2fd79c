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
