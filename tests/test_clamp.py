"""Clamping gates of a trained model: `lstm_apps.gates.clamp_gates` and `gate_clamp`."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import lstm_apps
from lstm_apps.cells import StandardLSTMCell
from lstm_apps.gates import clamp_gates


def _x(batch=3, steps=8, features=2, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features)).astype("float32")


def _model():
    model = keras.Sequential(
        [
            keras.Input((8, 2)),
            lstm_apps.LSTM(4, return_sequences=True, seed=1, name="rnn"),
            keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), name="bi"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, name="head"),
        ]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_original_is_unchanged_and_twin_has_its_weights():
    model = _model()
    x = _x()
    before = model.predict(x, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    twin = clamp_gates(model, {"forget": 0.0})
    assert twin is not model
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.get_layer("rnn").gate_clamp is None
    assert twin.get_layer("rnn").gate_clamp == {"f": 0.0}
    # The twin computes something else, and a later change to it does not
    # reach the original.
    assert not np.allclose(twin.predict(x, verbose=0), before)
    twin.get_layer("head").kernel.assign(np.zeros((6, 1), "float32"))
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    # Compiled like the original: evaluate gives the metric change.
    y = np.zeros((3, 1), "float32")
    assert len(twin.evaluate(x, y, verbose=0)) == 2


@pytest.mark.backend
def test_forget_zero_means_no_state_carries_over():
    model = _model()
    twin = clamp_gates(model, {"f": 0})
    trace = lstm_apps.trace_gates(twin, _x())
    for key in ("rnn", "bi", "bi/backward"):
        t = trace[key]
        np.testing.assert_array_equal(t["f"], 0.0)
        # c_t = 0 * c_{t-1} + i_t g_t: nothing of c_{t-1} is left.
        np.testing.assert_allclose(t["c"], t["i"] * t["g"], atol=1e-6)
    # The original's cell state does carry over.
    t = lstm_apps.trace_gates(model, _x())["rnn"]
    assert not np.allclose(t["c"], t["i"] * t["g"], atol=1e-3)


@pytest.mark.backend
def test_input_zero_forget_one_keeps_the_initial_state():
    model = _model()
    twin = clamp_gates(model, {"input": 0.0, "forget_gate": 1.0}, layers="rnn")
    t = lstm_apps.trace_gates(twin, _x())["rnn"]
    np.testing.assert_array_equal(t["c"], 0.0)  # nothing written, zero initial state
    np.testing.assert_array_equal(t["h"], 0.0)


@pytest.mark.backend
def test_output_one_and_forget_one_on_a_cell():
    cell = StandardLSTMCell(3, gate_clamp={"o": 1.0, "f": 1.0}, seed=0)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    h, _, c = rnn(_x(2, 6, 2))
    h, c = keras.ops.convert_to_numpy(h), keras.ops.convert_to_numpy(c)
    assert np.allclose(h[:, -1], np.tanh(c), atol=1e-6)  # o = 1: h = tanh(c)
    model = keras.Sequential(
        [keras.Input((6, 2)), keras.layers.RNN(cell, return_sequences=True, name="raw")]
    )
    t = lstm_apps.trace_gates(model, _x(2, 6, 2))["raw"]
    # f = 1: c_t - c_{t-1} = i_t g_t, the state only accumulates.
    np.testing.assert_allclose(np.diff(t["c"], axis=1), (t["i"] * t["g"])[:, 1:], atol=1e-5)


@pytest.mark.backend
def test_units_and_layers_choose_what_is_clamped():
    model = _model()
    x = _x()
    original = lstm_apps.trace_gates(model, x)
    twin = clamp_gates(model, {"forget": 1.0}, layers=["bi"], units=[0, 2])
    trace = lstm_apps.trace_gates(twin, x)
    np.testing.assert_array_equal(trace["rnn"]["f"], original["rnn"]["f"])  # not chosen
    for key in ("bi", "bi/backward"):
        f = trace[key]["f"]
        np.testing.assert_array_equal(f[..., [0, 2]], 1.0)
        assert not np.any(f[..., 1] == 1.0)
    assert twin.get_layer("bi").forward_layer.gate_clamp_units == [0, 2]


def test_nested_model_and_coupled_cell():
    inner = keras.Sequential(
        [keras.Input((8, 2)), lstm_apps.LSTM(3, variant="coupled", name="cifg")], name="inner"
    )
    model = keras.Sequential([keras.Input((8, 2)), inner, keras.layers.Dense(1)])
    twin = clamp_gates(model, {"forget": 1.0})
    t = lstm_apps.trace_gates(twin, _x())["inner/cifg"]
    np.testing.assert_array_equal(t["f"], 1.0)
    np.testing.assert_array_equal(t["i"], 0.0)  # i = 1 - f follows
    np.testing.assert_array_equal(t["c"], 0.0)


def test_twin_saves_and_loads(tmp_path):
    twin = clamp_gates(_model(), {"output": 0.5}, units=1)
    path = tmp_path / "twin.keras"
    twin.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("rnn").gate_clamp == {"o": 0.5}
    assert loaded.get_layer("rnn").gate_clamp_units == [1]
    x = _x()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), twin.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize(
    "gates, kwargs, error, match",
    [
        ({"cell": 1.0}, {}, ValueError, r"invalid gate name 'cell' in argument `gates`"),
        ({"forget": 1.5}, {}, ValueError, r"gate 'forget' in argument `gates`.*\[0, 1\].*1.5"),
        ({"forget": True}, {}, ValueError, r"`gates`.*got True"),
        ({}, {}, ValueError, r"`gates`, expected at least one gate"),
        (["forget"], {}, ValueError, r"`gates`, expected None or a mapping"),
        ({"f": 1.0, "forget": 0.0}, {}, ValueError, r"gate 'f' twice"),
        ({"f": 1.0}, {"layers": "nope"}, ValueError, r"`layers`.*got 'nope'"),
        ({"f": 1.0}, {"units": [5]}, ValueError, r"`units`.*\[0, 2\].*got \[5\]"),
        ({"f": 1.0}, {"units": []}, ValueError, r"`units`"),
    ],
)
def test_bad_arguments_fail_clearly(gates, kwargs, error, match):
    with pytest.raises(error, match=match):
        clamp_gates(_model(), gates, **kwargs)


def test_gates_a_cell_does_not_have():
    coupled = keras.Sequential(
        [keras.Input((4, 2)), lstm_apps.LSTM(2, variant="coupled", name="c")]
    )
    with pytest.raises(ValueError, match=r"`gates`.*1 - f.*clamp the forget gate.*layer 'c'"):
        clamp_gates(coupled, {"input": 0.0})
    nfg = keras.Sequential([keras.Input((4, 2)), lstm_apps.LSTM(2, variant="nfg", name="n")])
    with pytest.raises(ValueError, match=r"`gates`.*has no such gate.*layer 'n'"):
        clamp_gates(nfg, {"forget": 1.0})
    with pytest.raises(ValueError, match=r"`gate_clamp`.*has no such gate"):
        lstm_apps.LSTM(2, variant="nog", gate_clamp={"output": 1.0})
    with pytest.raises(ValueError, match=r"`gate_clamp_units` without `gate_clamp`"):
        StandardLSTMCell(2, gate_clamp_units=[0])
    with pytest.raises(ValueError, match=r"`gate_clamp_units`.*\[0, 1\]"):
        StandardLSTMCell(2, gate_clamp={"f": 1.0}, gate_clamp_units=[2])


def test_models_that_cannot_be_clamped():
    with pytest.raises(TypeError, match="`model`"):
        clamp_gates("model.keras", {"forget": 1.0})

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = lstm_apps.LSTM(2, name="rnn")

        def call(self, x):
            return self.rnn(x)

    sub = Sub()
    sub(_x(1, 4, 2))
    with pytest.raises(ValueError, match="subclassed model"):
        clamp_gates(sub, {"forget": 1.0})


@pytest.mark.backend
def test_keras_cells_become_lstm_apps_cells_with_the_same_weights():
    inputs = keras.Input((8, 2))
    masked = keras.layers.Masking(0.0)(inputs)
    x = keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True, name="raw")(masked)
    x = keras.layers.LSTM(2, name="klstm")(x)
    model = keras.Model(inputs, x)
    data = _x()
    data[0, 5:] = 0.0  # masked steps
    # An all-open clamp point: o = 1 changes the outputs, the rest is the
    # original computation on the same weights.
    twin = clamp_gates(model, {"output": 1.0})
    assert isinstance(twin.get_layer("klstm"), lstm_apps.LSTM)
    assert isinstance(twin.get_layer("raw").cell, StandardLSTMCell)
    trace, original = lstm_apps.trace_gates(twin, data), lstm_apps.trace_gates(model, data)
    for key in ("raw", "klstm"):
        t, o = trace[key], original[key]
        np.testing.assert_array_equal(t["o"][t.mask], 1.0)
        np.testing.assert_array_equal(t.mask, o.mask)
        np.testing.assert_allclose(t["h"][t.mask], np.tanh(t["c"][t.mask]), atol=1e-6)
    # Same weights: at the first step (zero state, before o acts through the
    # recurrence) the first layer's other gates are the original's.
    for gate in ("i", "f", "g", "c"):
        np.testing.assert_allclose(trace["raw"][gate][:, 0], original["raw"][gate][:, 0], atol=1e-6)
        assert not np.allclose(trace["raw"][gate][1], original["raw"][gate][1], atol=1e-4)
    out = twin.predict(data, verbose=0)
    h = trace["klstm"]["h"]
    np.testing.assert_allclose(out[0], h[0, 4], atol=1e-5)  # the last unmasked step
    np.testing.assert_allclose(out[1:], h[1:, -1], atol=1e-5)


@pytest.mark.parametrize(
    "name, klass, why",
    [
        ("slstm", "SLSTMCell", "rescaled by the stabiliser m"),
        ("mlstm", "MLSTMCell", "one per head"),
        ("minlstm", "MinLSTMCell", r"normalised \(f' \+ i' = 1\)"),
        ("mingru", "MinGRUCell", "sets both i = z and f = 1 - z"),
    ],
)
def test_cells_without_gate_clamp_are_named_and_other_layers_still_clamp(name, klass, why):
    # Gate tracing covers these cells, clamping does not (they take no `gate_clamp`):
    # choosing one is an error naming the layer, the cell and why; the model's
    # LSTM layers can still be clamped with `layers`.
    heads = {"num_heads": 2} if name in ("slstm", "mlstm") else {}
    model = keras.Sequential([
        keras.Input((6, 2)),
        lstm_apps.LSTM(4, return_sequences=True, name="lstm"),
        keras.layers.Bidirectional(lstm_apps.LSTM(4, name, **heads), name="new"),
    ])
    match = (rf"Received layer 'new' \(a {klass}, '{name}'\) for clamping: `clamp_gates` "
             rf"covers the LSTM cells.*take `gate_clamp`; the {klass} does not: .*{why}.*"
             r"Choose other layers with `layers`")
    with pytest.raises(ValueError, match=match):
        clamp_gates(model, {"forget": 1.0})
    with pytest.raises(ValueError, match=match):
        clamp_gates(model, {"forget": 1.0}, layers="new")
    twin = clamp_gates(model, {"forget": 0.0}, layers="lstm")
    assert twin.get_layer("lstm").gate_clamp == {"f": 0.0}
    x = _x(2, 6, 2)
    assert float(np.nanmax(lstm_apps.trace_gates(twin, x)["lstm"]["f"])) == 0.0
    # The layer over the new cell is copied as it is, weights included.
    new = twin.get_layer("new")
    assert type(new.forward_layer.cell).__name__ == klass
    for a, b in zip(new.get_weights(), model.get_layer("new").get_weights()):
        np.testing.assert_array_equal(a, b)
