"""Memory timescales: 1 / (1 - f) and ln 0.5 / ln f per unit, from gate traces."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest

import lstm_apps
from lstm_apps.gates import memory_timescales


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _constant_forget_model(variant, forget_bias):
    """Zero kernels: every gate is sigmoid(its bias) at every step, whatever the input."""
    units = len(forget_bias)
    layer = lstm_apps.LSTM(
        units,
        variant=variant,
        kernel_initializer="zeros",
        recurrent_initializer="zeros",
        unit_forget_bias=False,
        return_sequences=True,
        name="rnn",
    )
    model = keras.Sequential([keras.Input((7, 2)), layer])
    blocks = layer.cell.spec.blocks
    bias = np.zeros((len(blocks), units), "float32")
    if "f" in blocks:
        bias[blocks.index("f")] = forget_bias
    layer.cell.bias.assign(bias.ravel())
    for weight in layer.cell.weights:  # peepholes see c: zero them for a constant f
        if weight.path.endswith("peephole_weights"):
            weight.assign(np.zeros(weight.shape, "float32"))
    return model


@pytest.mark.parametrize("variant", ["standard", "coupled", "peephole", "nig"])
def test_timescale_of_a_constant_cell_is_one_over_one_minus_sigmoid_b(variant):
    b = np.array([-2.0, 0.0, 1.0, 3.0], "float32")
    model = _constant_forget_model(variant, b)
    x = np.random.default_rng(0).normal(size=(5, 7, 2)).astype("float32")
    trace = lstm_apps.trace_gates(model, x)
    f = _sigmoid(b.astype(np.float64))
    memory = trace["rnn"].timescales()
    np.testing.assert_allclose(memory["forget_mean"], f, rtol=1e-5)
    np.testing.assert_allclose(memory["timescale"], 1.0 / (1.0 - f), rtol=1e-4)
    np.testing.assert_allclose(memory["half_life"], np.log(0.5) / np.log(f), rtol=1e-4)

    table = trace.timescales()
    assert list(table.unit) == [0, 1, 2, 3] and table.has_forget_gate.all()
    np.testing.assert_allclose(table.timescale, 1.0 / (1.0 - f), rtol=1e-4)

    summary = trace.summary().set_index("gate")
    assert summary.loc["f", "timescale"] == pytest.approx(np.median(1.0 / (1.0 - f)), rel=1e-4)
    assert summary.loc["f", "half_life"] == pytest.approx(
        np.median(np.log(0.5) / np.log(f)), rel=1e-4
    )
    assert summary.drop(index="f")[["timescale", "half_life"]].isna().all().all()

    frame = trace.to_dataframe(timescales=True)
    assert list(frame.columns)[-2:] == ["timescale", "half_life"]
    by_unit = frame.groupby("unit")["timescale"].agg(["min", "max"])
    np.testing.assert_allclose(by_unit["min"], 1.0 / (1.0 - f), rtol=1e-4)
    np.testing.assert_allclose(by_unit["max"], by_unit["min"])
    assert "timescale" not in trace.to_dataframe().columns


def test_masked_steps_do_not_count():
    # A learned cell (random kernels): f varies with the input; masked steps
    # (all-zero inputs) must be left out of the mean.
    model = keras.Sequential(
        [keras.Input((6, 2)), keras.layers.Masking(0.0), lstm_apps.LSTM(3, name="rnn", seed=1)]
    )
    x = np.random.default_rng(1).uniform(0.5, 1.0, size=(2, 6, 2)).astype("float32")
    x[0, 4:] = 0.0
    trace = lstm_apps.trace_gates(model, x)
    t = trace["rnn"]
    expected = np.concatenate([t["f"][0, :4], t["f"][1]]).mean(axis=0)
    np.testing.assert_allclose(t.timescales()["forget_mean"], expected, rtol=1e-6)


def test_cell_without_forget_gate_says_so(caplog):
    model = keras.Sequential([keras.Input((5, 2)), lstm_apps.LSTM(3, variant="nfg", name="rnn")])
    trace = lstm_apps.trace_gates(model, np.ones((2, 5, 2), "float32"))
    assert not trace["rnn"].has_forget_gate
    with caplog.at_level(logging.INFO, logger="lstm_apps.gates"):
        table = trace.timescales()
    assert not table.has_forget_gate.any()
    assert table[["forget_mean", "timescale", "half_life"]].isna().all().all()
    assert "'rnn' (nfg cell) has no forget gate" in caplog.text
    assert np.isnan(trace.summary().set_index("gate").loc["f", "timescale"])


def test_memory_timescales_edges():
    timescale, half_life = memory_timescales([0.0, 0.5, 1.0, np.nan])
    np.testing.assert_array_equal(timescale[:3], [1.0, 2.0, np.inf])
    np.testing.assert_array_equal(half_life[:3], [0.0, 1.0, np.inf])
    assert np.isnan(timescale[3]) and np.isnan(half_life[3])


def _constant_family_model(name, bias):
    """Zero kernel, chosen biases: every gate of the cell is constant over time."""
    heads = {"num_heads": 2} if name == "mlstm" else {}
    layer = lstm_apps.LSTM(4, name, kernel_initializer="zeros", return_sequences=True,
                           name="rnn", **heads)
    model = keras.Sequential([keras.Input((7, 2)), layer])
    layer.cell.bias.assign(np.asarray(bias, "float32"))
    return model


@pytest.mark.parametrize("name", ["minlstm", "mingru", "mlstm"])
def test_timescales_of_the_newer_cells_read_their_forget_quantity(name):
    # The forget quantity, constant here: minLSTM f' = f / (f + i), minGRU 1 - z,
    # mLSTM f' = sigmoid(b_f) per head (i~ = 0 >= log f sets m = 0 at every step).
    b = np.array([-2.0, 0.0, 1.0, 3.0])
    if name == "minlstm":  # blocks f, i, h
        bias = np.concatenate([b, -b / 2, np.ones(4)])
        f, i = _sigmoid(b), _sigmoid(-b / 2)
        forget = f / (f + i)
    elif name == "mingru":  # blocks z, h
        bias = np.concatenate([b, np.ones(4)])
        forget = 1.0 - _sigmoid(b)
    else:  # blocks q, k, v, o (4 units each), then i and f (one per head)
        bias = np.concatenate([np.ones(16), [0.0, 0.0], b[[0, 3]]])
        forget = np.repeat(_sigmoid(b[[0, 3]]), 2)
    model = _constant_family_model(name, bias)
    x = np.random.default_rng(0).normal(size=(3, 7, 2)).astype("float32")
    trace = lstm_apps.trace_gates(model, x)
    t = trace["rnn"]
    assert t.has_forget_gate
    np.testing.assert_allclose(t["f"], np.broadcast_to(forget, t["f"].shape), rtol=1e-5)
    memory = t.timescales()
    np.testing.assert_allclose(memory["forget_mean"], forget, rtol=1e-5)
    np.testing.assert_allclose(memory["timescale"], 1.0 / (1.0 - forget), rtol=1e-4)
    np.testing.assert_allclose(memory["half_life"], np.log(0.5) / np.log(forget), rtol=1e-4)
    summary = trace.summary().set_index("gate")
    assert summary.loc["f", "timescale"] == pytest.approx(
        np.median(1.0 / (1.0 - forget)), rel=1e-4)
    table = trace.timescales()
    assert table.has_forget_gate.all()
    np.testing.assert_allclose(table.timescale, 1.0 / (1.0 - forget), rtol=1e-4)
    if name != "mlstm":
        # What the timescale assumes: the state h decays by exactly f at each step
        # (h_t - i g_t = f h_{t-1}).
        h = t["h"]
        np.testing.assert_allclose(h[:, 1:] - t["i"][:, 1:] * t["g"][:, 1:],
                                   forget * h[:, :-1], rtol=1e-5, atol=1e-6)
