"""Tests of the gate figures in `lstm_apps.plots`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

import lstm_apps
from lstm_apps import _io
from lstm_apps.plots import plot_gate_heatmap, plot_gate_histograms, plot_gate_lines

TOKENS = ["the", "plot", "was", "dull", "", ""]


@pytest.fixture(scope="module")
def trace():
    """A traced batch with padding (mask) and a Bidirectional coupled layer."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    x = lstm_apps.LSTM(5, return_sequences=True, name="rnn")(x)
    x = keras.layers.Bidirectional(lstm_apps.LSTM(3, variant="coupled"), name="bi")(x)
    model = keras.Model(inputs, x)
    ids = np.array([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12]])
    return lstm_apps.trace_gates(model, ids, tokens=[TOKENS, list("abcdef")])


def test_heatmap_shows_units_by_time_with_tokens(trace):
    figure = plot_gate_heatmap(trace, "rnn", gate="f", sample=0)
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    shown = ax.images[0].get_array()
    expected = trace["rnn"]["f"][0].T  # (units, time)
    assert shown.shape == (5, 6)
    np.testing.assert_array_equal(shown.mask, ~np.broadcast_to(trace["rnn"].mask[0], (5, 6)))
    np.testing.assert_allclose(shown.filled(np.nan), expected)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["the", "plot", "was", "dull", "·", "·"]
    assert "forget gate f" in ax.get_title() and "sample 0" in ax.get_title()
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_heatmap_panels_units_and_own_tokens(trace):
    figure = plot_gate_heatmap(
        trace,
        "bi",
        gate=["i", "f", "c"],
        sample=1,
        direction="backward",
        units=[2, 0],
        tokens=list("uvwxyz"),
        layout=None,
    )
    image_axes = [ax for ax in figure.axes if ax.images and ax.get_ylabel() == "unit"]
    assert len(image_axes) == 3
    t = trace["bi", "backward"]
    np.testing.assert_allclose(image_axes[1].images[0].get_array(), t["f"][1][:, [2, 0]].T)
    assert "computed as 1 - f" in image_axes[0].get_title()
    assert "(backward)" in image_axes[0].get_title()
    assert [x.get_text() for x in image_axes[-1].get_xticklabels()] == list("uvwxyz")
    low, high = image_axes[2].images[0].get_clim()
    assert low == -high > -np.inf  # the cell state has a symmetric scale


def test_heatmap_thins_out_long_token_axes(trace):
    figure = plot_gate_heatmap(trace, "rnn", sample=1, max_labels=3)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["a", "c", "e"]


def test_lines_for_the_most_varying_units(trace):
    figure = plot_gate_lines(trace, "rnn", gate="f", sample=1, units=2)
    ax = figure.axes[0]
    values = trace["rnn"]["f"][1]
    top2 = list(np.argsort(-values.std(axis=0), kind="stable")[:2])
    assert [line.get_label() for line in ax.get_lines()] == [f"unit {u}" for u in top2]
    for line, unit in zip(ax.get_lines(), top2):
        np.testing.assert_allclose(line.get_ydata(), values[:, unit])
    assert ax.get_ylim() == (-0.02, 1.02)


def test_lines_shade_masked_steps(trace):
    figure = plot_gate_lines(trace, "rnn", gate=["f", "o"], sample=0, units=[1])
    top, bottom = figure.axes[:2]
    assert len(top.patches) == 1 and len(bottom.patches) == 1  # steps 4 and 5 are padding
    assert top.patches[0].get_x() == pytest.approx(3.5)
    assert top.patches[0].get_width() == pytest.approx(2.0)
    assert np.isnan(top.get_lines()[0].get_ydata()[4:]).all()


def test_histograms_count_processed_steps_only(trace):
    figure = plot_gate_histograms(trace, "rnn", gates=["i", "f", "o", "g", "c"], bins=10)
    t = trace["rnn"]
    processed = int(t.mask.sum()) * t.units
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 5
    for ax in axes:
        assert sum(p.get_height() for p in ax.patches) == processed
    assert [ax.get_title() for ax in axes[:2]] == ["input gate i", "forget gate f"]
    assert len(axes[1].get_lines()) == 2  # the saturation thresholds 0.1 and 0.9


def test_histograms_mark_absent_and_computed_gates(trace):
    figure = plot_gate_histograms(trace, "bi", direction="backward")
    assert figure.axes[0].get_title() == "input gate i = 1 - f"
    nig = lstm_apps.trace_gates(
        keras.Sequential([keras.Input((3, 2)), lstm_apps.LSTM(2, variant="nig", name="r")]),
        np.ones((1, 3, 2)),
    )
    figure = plot_gate_histograms(nig)
    assert figure.axes[0].get_title() == "input gate i: absent (i = 1)"
    assert not figure.axes[0].patches


def test_figures_save_atomically(trace, tmp_path):
    path = _io.save_figure(tmp_path / "heat.png", plot_gate_heatmap(trace))
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["heat.png"]


def test_bad_arguments(trace):
    with pytest.raises(TypeError, match=r"`trace`, expected a GateTrace.*got dict"):
        plot_gate_heatmap({})
    with pytest.raises(
        ValueError,
        match=r"`gate`, expected one of \['i', 'f', 'o', 'g', 'c', "
        r"'h'\], got 'x'",
    ):
        plot_gate_heatmap(trace, "bi", gate="x")
    nig = lstm_apps.trace_gates(
        keras.Sequential([keras.Input((3, 2)), lstm_apps.LSTM(2, variant="nig", name="r")]),
        np.ones((1, 3, 2)),
    )
    with pytest.raises(
        ValueError,
        match=r"layer 'r' \(nig cell\) has no gate 'i', the cell "
        r"uses i = 1",
    ):
        plot_gate_lines(nig, gate="i")
    with pytest.raises(ValueError, match=r"`sample`, expected an integer in \[0, 1\].*got 2"):
        plot_gate_heatmap(trace, sample=2)
    with pytest.raises(
        ValueError,
        match=r"`units`, expected unit indices in \[0, 4\], got "
        r"\[7\]",
    ):
        plot_gate_lines(trace, units=[7])
    with pytest.raises(ValueError, match=r"`units`, expected a positive number"):
        plot_gate_heatmap(trace, units=0)
    with pytest.raises(ValueError, match=r"`tokens`, expected one label per time step \(6\)"):
        plot_gate_heatmap(trace, tokens=["a"])
    with pytest.raises(ValueError, match=r"`layout`, expected one of"):
        plot_gate_heatmap(trace, layout="grid")
    with pytest.raises(ValueError, match=r"`layer`, expected one of the traced layers"):
        plot_gate_histograms(trace, "nope")
    with pytest.raises(ValueError, match=r"`gates`, expected a list of names"):
        plot_gate_histograms(trace, gates=["x"])
    with pytest.raises(ValueError, match=r"`bins`, expected a positive integer, got 0"):
        plot_gate_histograms(trace, bins=0)


def test_timescales_histogram_per_layer_and_direction(trace):
    from lstm_apps.plots.gates import plot_timescales

    figure = plot_timescales(trace)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title().split(":")[0] for ax in visible] == ["rnn", "bi", "bi/backward"]
    for ax, t in zip(visible, trace):
        timescale = t.timescales()["timescale"]
        counts = [patch.get_height() for patch in ax.patches]
        assert sum(counts) == np.isfinite(timescale).sum() == t.units
        assert ax.get_xscale() == "log"
        (median_line,) = ax.lines
        assert median_line.get_xdata()[0] == pytest.approx(np.median(timescale))
        assert f"median {np.median(timescale):.3g} steps" in ax.get_title()
    only = plot_timescales(trace, layers="bi/backward")
    assert [ax.get_title().split(":")[0] for ax in only.axes] == ["bi/backward"]
    both = plot_timescales(trace, layers=["bi"])
    assert len([ax for ax in both.axes if ax.get_visible()]) == 2


def test_timescales_bad_arguments(trace):
    from lstm_apps.plots.gates import plot_timescales

    with pytest.raises(TypeError, match="`trace`"):
        plot_timescales(trace["rnn"])
    with pytest.raises(ValueError, match=r"`layers`.*got 'nope'"):
        plot_timescales(trace, layers=["nope"])
    with pytest.raises(ValueError, match="`bins`"):
        plot_timescales(trace, bins=0)


def test_dates_label_the_time_axis():
    import datetime

    import pandas as pd

    model = keras.Sequential([keras.Input((6, 2)), lstm_apps.LSTM(3, name="rnn")])
    x = np.random.default_rng(0).random((2, 6, 2))
    days = pd.date_range("2024-03-30", periods=6, freq="D")
    hours = np.arange("2024-01-01T00", "2024-01-01T06", dtype="datetime64[h]")
    trace = lstm_apps.trace_gates(model, x, tokens=[days, hours])
    assert trace.time_label == "date"
    assert trace.tokens[0][:3] == ["2024-03-30", "2024-03-31", "2024-04-01"]
    assert trace.tokens[1][1] == "2024-01-01 01:00"
    figure = plot_gate_lines(trace, gate="f", sample=0)
    assert figure.axes[0].get_xlabel() == "date"
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()][:2] == [
        "2024-03-30", "2024-03-31"]
    dated = lstm_apps.trace_gates(model, x, tokens=[[datetime.date(2024, 1, d) for d in
                                                     range(1, 7)]] * 2)
    assert dated.tokens[1][-1] == "2024-01-06"
    assert lstm_apps.trace_gates(model, x, tokens=[list("abcdef")] * 2).time_label == "token"
    assert lstm_apps.trace_gates(model, x).time_label == "time step"
    with pytest.raises(ValueError, match=r"`tokens`, expected one list of token strings "
                                         r"\(or dates\) per sample \(2 lists\)"):
        lstm_apps.trace_gates(model, x, tokens=[[1, 2, 3, 4, 5, 6]] * 2)


def test_heatmap_colour_scale_covers_an_unbounded_candidate():
    # The minLSTM's candidate (identity activation) and output are not bounded by 1
    # as tanh's are: the colour scale spans them instead of clipping at +-1.
    layer = lstm_apps.LSTM(3, "minlstm", return_sequences=True, name="rnn",
                           bias_initializer=keras.initializers.Constant(4.0))
    model = keras.Sequential([keras.Input((5, 2)), layer])
    trace = lstm_apps.trace_gates(model, np.ones((1, 5, 2), "float32"))
    top = float(np.abs(trace["rnn"]["g"][0]).max())
    assert top > 1.0
    image = plot_gate_heatmap(trace, "rnn", gate="g").axes[0].images[0]
    assert image.get_clim() == pytest.approx((-top, top))
    bounded = plot_gate_heatmap(lstm_apps.trace_gates(
        keras.Sequential([keras.Input((5, 2)), lstm_apps.LSTM(3, name="rnn")]),
        np.ones((1, 5, 2), "float32")), "rnn", gate="g").axes[0].images[0]
    assert bounded.get_clim() == (-1.0, 1.0)
