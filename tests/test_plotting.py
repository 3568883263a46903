"""Tests for chainrule.plotting and the --plot options: real PNG files of the expected size."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli import main
from chainrule.data import build_model, read_table
from chainrule.plotting import DPI, PANEL_INCHES, plot_gradient_norms, plot_training

PANEL = (round(PANEL_INCHES[0] * DPI), round(PANEL_INCHES[1] * DPI))


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk; fails for anything else."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert data[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def not_blank(path) -> bool:
    """The picture has more than one colour (read back with matplotlib)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    return pixels.shape[2] in (3, 4) and np.ptp(pixels[..., :3]) > 0.5


def trained(name: str):
    table = read_table(name)
    model = build_model(table, hidden=[8], seed=0)
    history = model.network.fit(model.inputs(table.X), model.targets(table.target), epochs=30)
    return table, model, history


def test_training_plot_with_decision_boundary(tmp_path):
    table, model, history = trained("blobs")
    path = tmp_path / "curves.png"
    assert plot_training(path, history, model, table.X, table.target) == (2 * PANEL[0], PANEL[1])
    assert png_size(path) == (2 * PANEL[0], PANEL[1])
    assert not_blank(path)


def test_training_plot_without_boundary_for_more_inputs(tmp_path):
    table, model, history = trained("parity")
    path = tmp_path / "curves.png"
    plot_training(path, history, model, table.X, table.target)
    assert png_size(path) == PANEL


def test_gradient_norm_plot(tmp_path):
    _, _, history = trained("xor")
    path = tmp_path / "grads.png"
    plot_gradient_norms(path, history)
    assert png_size(path) == PANEL and not_blank(path)


def test_train_and_doctor_plot_options(tmp_path):
    runner = CliRunner()
    curves, grads = tmp_path / "c.png", tmp_path / "g.png"
    result = runner.invoke(main, ["train", "moons", "--epochs", "40", "--plot", str(curves),
                                  "--out", str(tmp_path / "m.chainrule"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert png_size(curves) == (2 * PANEL[0], PANEL[1]) and not_blank(curves)
    result = runner.invoke(main, ["doctor", "xor", "--layers", "2", "--activation", "sigmoid",
                                  "--epochs", "100", "--plot", str(grads), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    assert png_size(grads) == PANEL


def test_without_matplotlib_the_message_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ImportError, match=r"pip install chainrule\[plot\]"):
        plot_gradient_norms(tmp_path / "g.png", trained("xor")[2])
    result = CliRunner().invoke(main, ["train", "xor", "--plot", str(tmp_path / "c.png"),
                                       "--out", str(tmp_path / "m.chainrule")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: plots need matplotlib: pip install chainrule[plot]"
    assert not (tmp_path / "m.chainrule").exists()  # refused before training
