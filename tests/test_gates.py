"""Tests of `lstm_apps.trace_gates` / `GateTrace` and the `lstm-apps gates` command."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

import lstm_apps
from lstm_apps import cells
from lstm_apps.gates import GateTrace, LayerTrace, trace_gates

ALL_CELLS = cells.names("lstm")  # sLSTM tracing: tests/test_xlstm.py
STEPS, FEATURES = 6, 3


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _every_cell_model():
    """One input, one return_sequences layer per cell name plus a keras LSTM."""
    inputs = keras.Input((STEPS, FEATURES))
    outputs = [
        lstm_apps.LSTM(4, variant=name, return_sequences=True, name=name)(inputs)
        for name in ALL_CELLS
    ]
    outputs.append(keras.layers.LSTM(4, return_sequences=True, name="keras_lstm")(inputs))
    return keras.Model(inputs, outputs)


def _layer_outputs(model, names, x):
    probe = keras.Model(model.inputs[0], [model.get_layer(n).output for n in names])
    out = probe.predict_on_batch(x)
    return list(out) if isinstance(out, list) else [out]


def _spec(layer_trace: LayerTrace, model):
    cell = model.get_layer(layer_trace.layer).cell
    return getattr(cell, "spec", None)


# ------------------------------------------------------------- correctness
@pytest.mark.backend
def test_traced_h_equals_layer_output_for_every_cell():
    model = _every_cell_model()
    x = _rand(3, STEPS, FEATURES)
    trace = trace_gates(model, x)
    names = ALL_CELLS + ["keras_lstm"]
    assert trace.names == names
    outputs = _layer_outputs(model, names, x)
    for name, expected in zip(names, outputs):
        t = trace[name]
        assert t.direction == "forward" and t.units == 4
        for key, values in t.values.items():
            assert values.shape == (3, STEPS, 4), (name, key)
            assert values.dtype == np.float32
        np.testing.assert_allclose(t["h"], expected, atol=2e-5, err_msg=name)
        assert t.mask.all()


@pytest.mark.backend
def test_gates_satisfy_the_cell_equations_for_every_variant():
    """c_t = f c_{t-1} + i g and h = o act(c): checks every traced gate value."""
    model = _every_cell_model()
    x = _rand(2, STEPS, FEATURES, seed=1)
    trace = trace_gates(model, x)
    for t in trace:
        spec = _spec(t, model) if t.cell != "keras_lstm" else cells.GateSpec()
        # absent gates are reported absent, with the constant 1
        for gate in ("i", "f", "o"):
            present = spec.has_gate(gate)
            assert (gate in t.values) == present, (t.layer, gate)
            assert (gate in t.absent) == (not present), (t.layer, gate)
            assert t.status(gate) == (
                "absent"
                if not present
                else "computed"
                if spec.coupled and gate == "i"
                else "learned"
            )
        one = np.ones_like(t["c"])
        i, f, o = (t.values.get(k, one) for k in ("i", "f", "o"))
        c_prev = np.concatenate([np.zeros_like(t["c"][:, :1]), t["c"][:, :-1]], axis=1)
        np.testing.assert_allclose(t["c"], f * c_prev + i * t["g"], atol=2e-5, err_msg=t.layer)
        out_c = np.tanh(t["c"]) if spec.output_activation else t["c"]
        np.testing.assert_allclose(t["h"], o * out_c, atol=2e-5, err_msg=t.layer)
        for gate in ("i", "f", "o"):
            if gate in t.values:
                assert np.all((t[gate] >= 0) & (t[gate] <= 1)), (t.layer, gate)
        if spec.coupled:
            assert t.computed == {"i": "1 - f"}
            np.testing.assert_allclose(t["i"], 1.0 - t["f"], atol=1e-6)
        else:
            assert t.computed == {}


def test_absent_gate_lookup_explains_itself():
    model = _every_cell_model()
    trace = trace_gates(model, _rand(1, STEPS, FEATURES), layers=["nog"])
    assert trace.names == ["nog"] and trace["nog"].absent == {"o": 1.0}
    with pytest.raises(KeyError, match=r"no gate 'o'.*absent.*constant 1.0"):
        trace["nog"]["o"]


def test_keras_lstm_with_other_activations_and_no_bias():
    layer = keras.layers.LSTM(
        5,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        use_bias=False,
        return_sequences=True,
        name="rnn",
    )
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), layer])
    x = _rand(2, STEPS, FEATURES, seed=2)
    trace = trace_gates(model, x)
    np.testing.assert_allclose(trace["rnn"]["h"], model.predict_on_batch(x), atol=2e-5)
    assert trace["rnn"].cell == "keras_lstm"


def test_plain_rnn_over_keras_lstm_cell_and_final_cell_state():
    inputs = keras.Input((STEPS, FEATURES))
    seq, h, c = keras.layers.RNN(
        keras.layers.LSTMCell(3), return_sequences=True, return_state=True, name="rnn"
    )(inputs)
    model = keras.Model(inputs, [seq, h, c])
    x = _rand(2, STEPS, FEATURES, seed=3)
    seq_out, _, c_out = model.predict_on_batch(x)
    t = trace_gates(model, x)["rnn"]
    np.testing.assert_allclose(t["h"], seq_out, atol=2e-5)
    np.testing.assert_allclose(t["c"][:, -1], c_out, atol=2e-5)


@pytest.mark.backend
def test_bidirectional_with_mask_both_directions_in_input_order():
    lengths = np.array([8, 5, 2])
    ids = np.zeros((3, 8), "int32")
    for row, n in enumerate(lengths):
        ids[row, :n] = np.arange(1, n + 1) + row
    inputs = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(20, 4, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(
        lstm_apps.LSTM(3, variant="peephole", return_sequences=True), name="bi"
    )(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True), name="bi2")(x)
    model = keras.Model(inputs, x)
    trace = trace_gates(model, ids)
    assert trace.keys == ["bi", "bi/backward", "bi2", "bi2/backward"]
    expected_mask = np.arange(8)[None, :] < lengths[:, None]
    (bi_out,) = _layer_outputs(model, ["bi"], ids)
    (bi2_out,) = _layer_outputs(model, ["bi2"], ids)
    for name, out, units in (("bi", bi_out, 3), ("bi2", bi2_out, 2)):
        forward, backward = trace[name, "forward"], trace[name, "backward"]
        assert backward.go_backwards and not forward.go_backwards
        for t, half in ((forward, out[..., :units]), (backward, out[..., units:])):
            np.testing.assert_array_equal(t.mask, expected_mask)
            np.testing.assert_allclose(t["h"][expected_mask], half[expected_mask], atol=2e-5)
            assert np.isnan(t["f"][~expected_mask]).all()
            assert np.isfinite(t["f"][expected_mask]).all()
    # The backward direction starts at each sequence's last real step, from zeros.
    back = trace["bi", "backward"]
    for row, n in enumerate(lengths):
        c_last = back["c"][row, n - 1]
        np.testing.assert_allclose(c_last, back["i"][row, n - 1] * back["g"][row, n - 1], atol=2e-5)
    # Statistics leave masked steps out.
    summary = trace.summary().set_index(["layer", "direction", "gate"])
    assert summary.loc[("bi", "forward", "f"), "count"] == lengths.sum() * 3
    valid = trace["bi"]["f"][expected_mask]
    assert summary.loc[("bi", "forward", "f"), "mean"] == pytest.approx(valid.mean(), rel=1e-6)


def test_go_backwards_layer_is_reported_in_input_order():
    layer = lstm_apps.LSTM(3, return_sequences=True, go_backwards=True, name="rnn")
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), layer])
    x = _rand(2, STEPS, FEATURES, seed=4)
    t = trace_gates(model, x)["rnn"]
    assert t.direction == "backward" and t.go_backwards
    # Keras returns the output of a go_backwards layer reversed in time.
    np.testing.assert_allclose(t["h"], model.predict_on_batch(x)[:, ::-1], atol=2e-5)
    # In input order, the last step is the first processed: c = i * g there.
    np.testing.assert_allclose(t["c"][:, -1], t["i"][:, -1] * t["g"][:, -1], atol=2e-6)


def test_stacked_layers_inside_a_nested_model():
    inner = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            lstm_apps.LSTM(4, variant="coupled", return_sequences=True, name="first"),
            keras.layers.LSTM(2, return_sequences=True, name="second"),
        ],
        name="encoder",
    )
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    x = _rand(2, STEPS, FEATURES, seed=5)
    trace = trace_gates(model, x)
    assert trace.names == ["encoder/first", "encoder/second"]
    np.testing.assert_allclose(trace["encoder/second"]["h"], inner.predict_on_batch(x), atol=2e-5)
    assert trace_gates(model, x, layers="encoder/second").names == ["encoder/second"]


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.rnn = lstm_apps.LSTM(3, variant="fgr", return_sequences=True, name="rnn")
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.head(self.rnn(x))


def test_subclassed_model():
    model = _Subclassed()
    x = _rand(2, STEPS, FEATURES, seed=9)
    model(x)
    t = trace_gates(model, x)["rnn"]
    np.testing.assert_allclose(t["h"], keras.ops.convert_to_numpy(model.rnn(x)), atol=2e-5)


def test_tracing_changes_neither_weights_nor_states_nor_layers():
    layer = lstm_apps.LSTM(3, return_sequences=True, stateful=True, name="rnn")
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES), batch_size=2), layer, keras.layers.Dense(1)]
    )
    model(_rand(2, STEPS, FEATURES, seed=6))  # non-zero states now
    weights = [w.copy() for w in model.get_weights()]
    states = [keras.ops.convert_to_numpy(s).copy() for s in layer.states]
    config = model.get_config()
    x = _rand(2, STEPS, FEATURES, seed=7)
    trace = trace_gates(model, x)
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(states, layer.states):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    assert model.get_config() == config
    assert "call" not in vars(layer)
    # The trace started from the layer's current states, like the layer does.
    hidden = keras.Model(model.inputs[0], layer.output)
    np.testing.assert_allclose(trace["rnn"]["h"], hidden.predict_on_batch(x), atol=2e-5)


def _dropout_model():
    """LSTMs with dropout (their cells own seed generators) and a Dropout layer."""
    inputs = keras.Input((STEPS, FEATURES))
    x = lstm_apps.LSTM(
        4, dropout=0.2, recurrent_dropout=0.2, seed=1, return_sequences=True, name="rnn"
    )(inputs)
    x = keras.layers.Dropout(0.3, seed=2, name="drop")(x)
    x = keras.layers.Bidirectional(
        keras.layers.LSTM(3, dropout=0.2, recurrent_dropout=0.2, seed=3), name="bi"
    )(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def _seed_states(model):
    """Every seed generator state variable of the model, found two ways."""
    found = {id(v): v for v in model.variables if "seed_generator" in v.path}
    owners = [
        model.get_layer("rnn").cell,
        model.get_layer("drop"),
        model.get_layer("bi").forward_layer.cell,
        model.get_layer("bi").backward_layer.cell,
    ]
    for owner in owners:
        found.setdefault(id(owner.seed_generator.state), owner.seed_generator.state)
    return list(found.values())


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


@pytest.mark.backend
def test_tracing_leaves_the_seed_generators_as_it_found_them():
    # Keras RNN layers draw dropout masks from their cells' seed generators
    # on every call, even with training=False; a trace must not move them, or
    # a training run with a GateMonitor draws other masks than one without.
    model = _dropout_model()
    x = _rand(2, STEPS, FEATURES, seed=8)
    model(x, training=True)  # states away from their initial values
    variables = _seed_states(model)
    assert len(variables) == 4
    before = _values(variables)
    trace_gates(model, x)
    for variable, saved in zip(variables, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(variable), saved)
    # The check can fail: a plain inference call does move the LSTM's generator.
    model(x, training=False)
    rnn_state = model.get_layer("rnn").cell.seed_generator.state
    assert not np.array_equal(keras.ops.convert_to_numpy(rnn_state), before[0])


@pytest.mark.backend
def test_a_trace_does_not_change_the_next_dropout_masks():
    # Generators made without a seed too: on PyTorch, Keras's dropout then
    # draws from torch's global random state, which a trace must also keep.
    model = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            lstm_apps.LSTM(4, dropout=0.3, recurrent_dropout=0.3, return_sequences=True),
            keras.layers.LSTM(3, dropout=0.3, recurrent_dropout=0.3),
        ]
    )
    x = _rand(3, STEPS, FEATURES, seed=9)
    variables = [v for v in model.variables if "seed_generator" in v.path]
    start = _values(variables)

    def next_training_output(trace_first):
        for variable, value in zip(variables, start):
            variable.assign(value)
        keras.utils.set_random_seed(5)
        if trace_first:
            trace_gates(model, x)
        return keras.ops.convert_to_numpy(model(x, training=True))

    np.testing.assert_array_equal(next_training_output(True), next_training_output(False))


class _Boom(keras.layers.Layer):
    armed = False

    def call(self, x):
        if _Boom.armed:
            raise RuntimeError("boom")
        return x


def test_wrapper_and_seed_states_are_restored_when_the_model_fails():
    layer = lstm_apps.LSTM(2, dropout=0.5, seed=4, return_sequences=True, name="rnn")
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), layer, _Boom()])
    state = layer.cell.seed_generator.state
    before = keras.ops.convert_to_numpy(state).copy()
    _Boom.armed = True
    try:
        with pytest.raises(RuntimeError, match="boom"):
            trace_gates(model, _rand(1, STEPS, FEATURES))
    finally:
        _Boom.armed = False
    assert "call" not in vars(layer)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(state), before)


# ---------------------------------------------------------------- tables
def _small_trace():
    inputs = keras.Input((4,), dtype="int32")
    x = keras.layers.Embedding(10, 3, mask_zero=True)(inputs)
    x = lstm_apps.LSTM(2, variant="nig", return_sequences=True, name="rnn")(x)
    model = keras.Model(inputs, x)
    ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    return trace_gates(model, ids)


def test_to_dataframe_is_a_long_table_of_processed_steps():
    trace = _small_trace()
    table = trace.to_dataframe()
    assert list(table.columns) == ["layer", "direction", "gate", "sample", "time", "unit", "value"]
    t = trace["rnn"]
    # 5 quantities (no input gate) x 5 processed steps x 2 units
    assert len(table) == 5 * int(t.mask.sum()) * 2
    assert set(table["gate"]) == {"f", "o", "g", "c", "h"}
    rows = table.set_index(["gate", "sample", "time", "unit"])["value"]
    for gate, sample, time, unit in [("f", 0, 2, 1), ("h", 1, 1, 0), ("c", 0, 0, 0)]:
        assert rows[(gate, sample, time, unit)] == t[gate][sample, time, unit]
    assert not ((table["sample"] == 1) & (table["time"] >= 2)).any()
    full = trace.to_dataframe(include_masked=True)
    assert len(full) == 5 * 8 * 2
    assert full.loc[full["masked"], "value"].isna().all()
    assert full.loc[~full["masked"], "value"].notna().all()


def test_summary_statistics_match_numpy():
    trace = _small_trace()
    t = trace["rnn"]
    summary = trace.summary().set_index("gate")
    assert list(summary.index) == ["i", "f", "o", "g", "c", "h"]
    assert summary.loc["i", "status"] == "absent" and summary.loc["i", "count"] == 0
    assert np.isnan(summary.loc["i", "mean"])
    for gate, (low, high) in {"f": (0.1, 0.9), "o": (0.1, 0.9), "g": (-0.9, 0.9)}.items():
        values = t[gate][t.mask].astype(np.float64)
        row = summary.loc[gate]
        assert row["status"] == "learned"
        assert row["count"] == values.size
        assert row["mean"] == pytest.approx(values.mean())
        assert row["std"] == pytest.approx(values.std())
        assert row["saturated_low"] == pytest.approx(np.mean(values < low))
        assert row["saturated_high"] == pytest.approx(np.mean(values > high))
    assert summary.loc["c", "status"] == "state" and np.isnan(summary.loc["c", "saturated_low"])
    assert summary.loc["c", "mean_abs"] == pytest.approx(np.abs(t["c"][t.mask]).mean())


def test_saturation_counts_extreme_gates():
    """A forget bias of +10 / -10 saturates the forget gate high / low."""
    layer = lstm_apps.LSTM(2, return_sequences=True, name="rnn")
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), layer])
    bias = np.zeros(8, "float32")
    bias[2:4] = [10.0, -10.0]  # forget block, unit 0 open, unit 1 closed
    layer.cell.bias.assign(bias)
    layer.cell.kernel.assign(np.zeros((FEATURES, 8), "float32"))
    layer.cell.recurrent_kernel.assign(np.zeros((2, 8), "float32"))
    row = trace_gates(model, _rand(3, STEPS, FEATURES)).summary().set_index("gate").loc["f"]
    assert row["saturated_high"] == pytest.approx(0.5)
    assert row["saturated_low"] == pytest.approx(0.5)


_TF_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TextVectorization takes strings inside a model only on the TensorFlow backend",
)


@_TF_ONLY
def test_text_model_reads_tokens_from_text_vectorization():
    vectorizer = keras.layers.TextVectorization(
        max_tokens=50, output_sequence_length=5, name="vectorize"
    )
    vectorizer.adapt(["the film was great", "the plot was dull and slow"])
    inputs = keras.Input((1,), dtype="string")
    x = vectorizer(inputs)
    x = keras.layers.Embedding(50, 4, mask_zero=True)(x)
    x = lstm_apps.LSTM(3, name="rnn")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    trace = trace_gates(model, ["the film was great", "dull"])
    assert trace.tokens == [["the", "film", "was", "great", ""], ["dull", "", "", "", ""]]
    np.testing.assert_array_equal(trace["rnn"].mask.sum(axis=1), [4, 1])
    own = [["a", "b", "c", "d", "e"], ["f", "g", "h", "i", "j"]]
    assert trace_gates(model, np.array(["x", "y"]), tokens=own).tokens == own


# ------------------------------------------------------------- bad input
def _dense_model():
    return keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            keras.layers.Dense(2),
            keras.layers.GlobalAveragePooling1D(),
        ]
    )


def test_model_without_lstm_lists_the_layer_types():
    with pytest.raises(
        ValueError,
        match=r"no LSTM layer.*found layers of types: Dense, "
        r"GlobalAveragePooling1D\.",
    ):
        trace_gates(_dense_model(), _rand(1, STEPS, FEATURES))
    gru = keras.Sequential([keras.Input((STEPS, FEATURES)), keras.layers.GRU(2, name="g")])
    with pytest.raises(
        ValueError,
        match=r"types: GRU\. Recurrent layers without LSTM "
        r"gates: 'g' \(a GRU over a GRUCell\)",
    ):
        trace_gates(gru, _rand(1, STEPS, FEATURES))


def test_unknown_layer_name_lists_the_traceable_ones():
    model = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            lstm_apps.LSTM(2, return_sequences=True, name="a"),
            keras.layers.GRU(2, return_sequences=True, name="g"),
            keras.layers.Bidirectional(keras.layers.LSTM(2), name="b"),
        ]
    )
    x = _rand(1, STEPS, FEATURES)
    with pytest.raises(ValueError, match=r"`layers`.*\['a', 'b'\], got 'nope'"):
        trace_gates(model, x, layers=["nope"])
    with pytest.raises(ValueError, match=r"layer 'g' is a GRU over a GRUCell, which has no"):
        trace_gates(model, x, layers="g")
    with pytest.raises(TypeError, match=r"`layers`, expected None, a layer name"):
        trace_gates(model, x, layers=3)
    # inner names of a Bidirectional select it
    assert trace_gates(model, x, layers=["forward_lstm"]).keys == ["b", "b/backward"]


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((2, STEPS + 1, FEATURES)), r"shape \(None, 6, 3\).*got shape \(2, 7, 3\)"),
        (np.zeros((2, STEPS)), r"got shape \(2, 6\)"),
        (np.array(["some text"]), r"float32; got shape \(1,\) and dtype <U9"),
        ("some text", r"single string 'some text'; wrap it in a list"),
        (np.zeros((0, STEPS, FEATURES)), r"non-empty batch"),
    ],
)
def test_inputs_of_wrong_shape_or_dtype(inputs, message):
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), lstm_apps.LSTM(2)])
    with pytest.raises((ValueError, TypeError), match=r"argument `inputs`.*" + message):
        trace_gates(model, inputs)


def test_float_ids_for_an_integer_input_and_strings_for_numbers():
    inputs = keras.Input((4,), dtype="int32")
    model = keras.Model(inputs, keras.layers.LSTM(2)(keras.layers.Embedding(9, 2)(inputs)))
    with pytest.raises(ValueError, match=r"dtype int32; got shape \(1, 4\) and dtype float64"):
        trace_gates(model, np.array([[1.5, 2, 3, 4]]))
    assert len(trace_gates(model, np.array([[1.0, 2, 3, 4]]))) == 1  # whole numbers are fine


def test_not_a_model_or_not_built():
    with pytest.raises(TypeError, match=r"`model`, expected a keras.Model, got LSTM"):
        trace_gates(lstm_apps.LSTM(2), np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"unbuilt model"):
        trace_gates(keras.Sequential([lstm_apps.LSTM(2)]), np.zeros((1, 2, 2)))


def test_gate_trace_lookup_errors():
    trace = _small_trace()
    with pytest.raises(ValueError, match=r"traced layers \['rnn'\], got 'x'"):
        trace.get("x")
    with pytest.raises(ValueError, match=r"has no backward direction"):
        trace.get("rnn", "backward")
    with pytest.raises(ValueError, match=r"`direction`.*got 'up'"):
        trace.get("rnn", "up")
    assert isinstance(trace, GateTrace) and "rnn: nig 2x4x2" in repr(trace)


def test_public_api():
    assert lstm_apps.trace_gates is trace_gates
    assert {"trace_gates", "GateTrace", "GateMonitor"} <= set(lstm_apps.__all__)
    from lstm_apps import plots

    assert {"plot_gate_heatmap", "plot_gate_lines", "plot_gate_histograms"} <= set(plots.__all__)


# -------------------------------------------------------------------- CLI
def _sentiment_model(path):
    vectorizer = keras.layers.TextVectorization(max_tokens=40, output_sequence_length=6)
    vectorizer.adapt(["a great film", "a dull slow plot", "great acting"])
    inputs = keras.Input((1,), dtype="string")
    x = keras.layers.Embedding(40, 4, mask_zero=True)(vectorizer(inputs))
    x = keras.layers.Bidirectional(lstm_apps.LSTM(3, variant="coupled"), name="bi")(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.save(path)
    return model


@_TF_ONLY
def test_cli_gates_on_text(tmp_path, capsys):
    from lstm_apps.cli import main

    model = _sentiment_model(tmp_path / "model.keras")
    out = tmp_path / "out"
    code = main(
        [
            "gates",
            str(tmp_path / "model.keras"),
            "--text",
            "a great film",
            "--text",
            "dull plot",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Traced bi, bi/backward on 2 text(s)." in printed
    # each text's prediction beside its tokens
    predictions = model.predict(np.asarray(["a great film", "dull plot"], dtype=object),
                                verbose=0)
    assert f"text[0]: prediction {float(predictions[0, 0]):.4g}; tokens: a great film" in printed
    assert f"text[1]: prediction {float(predictions[1, 0]):.4g}; tokens: dull plot" in printed
    names = sorted(p.name for p in out.iterdir())
    assert "bi_heatmap_1.png" in names and "bi_backward_lines_0.png" in names
    assert "bi_histograms.png" in names and "bi_backward_histograms.png" in names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    for name in names:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "trace.csv")
    expected = trace_gates(model, ["a great film", "dull plot"]).to_dataframe()
    assert len(table) == len(expected)
    np.testing.assert_allclose(table["value"], expected["value"], atol=1e-5)
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.loc[summary["gate"] == "i", "status"]) == {"computed"}


@_TF_ONLY
def test_cli_clamps_a_text_model(tmp_path, capsys):
    """--clamp on a model that reads raw text: the twin keeps the vocabulary."""
    from lstm_apps.cli import main
    from lstm_apps.gates import clamp_gates

    model = _sentiment_model(tmp_path / "model.keras")
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    texts = np.asarray(["a great film", "dull plot"], dtype=object)
    twin = clamp_gates(model, {"forget": 0.0})
    before, after = model.predict(texts, verbose=0), twin.predict(texts, verbose=0)
    assert np.abs(after - before).max() > 1e-4  # the clamp changes what the model says
    assert float(np.nanmax(trace_gates(twin, texts)["bi"]["f"])) == 0.0  # NaN: padding
    code = main(["gates", str(tmp_path / "model.keras"), "--text", "a great film",
                 "--text", "dull plot", "--clamp", "forget=0", "--label", "1", "--label", "0",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Clamped forget=0 in bi (all units):" in printed
    for sample in range(2):
        assert (f"output[{sample}]: {float(before[sample, 0]):.4g} -> "
                f"{float(after[sample, 0]):.4g}") in printed
    assert "  loss: " in printed and "  accuracy: " in printed


def test_cli_gates_on_csv(tmp_path, capsys):
    from lstm_apps.cli import main

    model = keras.Sequential(
        [keras.Input((5, 2)), lstm_apps.LSTM(3, name="rnn"), keras.layers.Dense(1)]
    )
    model.save(tmp_path / "m.keras")
    values = _rand(8, 2, seed=8)
    pd.DataFrame({"date": range(8), "a": values[:, 0], "b": values[:, 1]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    code = main(
        [
            "gates",
            str(tmp_path / "m.keras"),
            "--csv",
            str(tmp_path / "s.csv"),
            "--columns",
            "a",
            "b",
            "--units",
            "2",
        ]
    )
    assert code == 0
    out = tmp_path / "gates"
    assert (out / "rnn_heatmap_0.png").exists() and (out / "rnn_lines_0.png").exists()
    assert "using the last 5 rows" in capsys.readouterr().out
    table = pd.read_csv(out / "trace.csv")
    direct = trace_gates(model, values[None, -5:]).to_dataframe()
    np.testing.assert_allclose(table["value"], direct["value"], atol=1e-5)
    # Three numeric columns (date, a, b) do not fit two features: clear error.
    code = main(["gates", str(tmp_path / "m.keras"), "--csv", str(tmp_path / "s.csv")])
    assert code == 2
    assert "takes 2 features per step" in capsys.readouterr().err


def test_cli_gates_errors(tmp_path, capsys):
    from lstm_apps.cli import main

    assert main(["gates", str(tmp_path / "missing.keras"), "--text", "x"]) == 2
    assert "model file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["gates", str(tmp_path / "missing.keras")])  # --text or --csv is required


def test_cli_gates_clamp_prints_the_change(tmp_path, capsys):
    from lstm_apps.cli import main

    model = keras.Sequential(
        [keras.Input((5, 2)), lstm_apps.LSTM(3, name="rnn"), keras.layers.Dense(1)]
    )
    model.compile(loss="mse", metrics=["mae"])
    values = _rand(5, 2, seed=3)
    model.fit(values[None], np.ones((1, 1)), epochs=1, verbose=0)  # builds the optimizer
    model.save(tmp_path / "m.keras")
    pd.DataFrame({"a": values[:, 0], "b": values[:, 1]}).to_csv(tmp_path / "s.csv", index=False)
    args = ["gates", str(tmp_path / "m.keras"), "--csv", str(tmp_path / "s.csv")]
    code = main([*args, "--clamp", "forget=0", "--clamp", "input=0", "--label", "0.5"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Clamped forget=0, input=0 in rnn (all units):" in printed
    # With i = 0 and f = 0 the cell state is 0 at every step: h = 0, so the
    # clamped output is the Dense bias.
    before = float(model.predict(values[None], verbose=0)[0, 0])
    bias = float(np.asarray(model.layers[-1].bias)[0])
    assert f"output[0]: {before:.4g} -> {bias:.4g}\n" in printed
    assert f"mean |output change|: {abs(before - bias):.4g}" in printed
    assert f"loss: {(before - 0.5) ** 2:.4g} -> {(bias - 0.5) ** 2:.4g}" in printed
    assert "mae:" in printed

    assert main([*args, "--clamp", "forget"]) == 2
    assert "expected GATE=VALUE" in capsys.readouterr().err
    assert main([*args, "--clamp", "cell=1"]) == 2
    assert "--clamp: Received an invalid gate name 'cell'" in capsys.readouterr().err
    assert main([*args, "--clamp", "forget=1", "--label", "1", "--label", "2"]) == 2
    assert "expected one per input (1)" in capsys.readouterr().err
    assert main([*args, "--label", "1"]) == 2
    assert "go with --clamp" in capsys.readouterr().err


def test_gate_probe_checks_once_and_forgets_its_tracer_when_copied():
    import copy

    from lstm_apps.gates import GateProbe

    model = keras.Sequential([keras.Input((5, 2)), lstm_apps.LSTM(3, name="rnn")])
    x = _rand(4, 5, 2)
    probe = GateProbe(x)
    assert probe.batch_size == 4
    np.testing.assert_allclose(
        probe.trace(model)["rnn"]["h"], trace_gates(model, x)["rnn"]["h"], atol=1e-6
    )
    np.testing.assert_allclose(
        probe.trace(model, compiled=True)["rnn"]["h"],
        trace_gates(model, x)["rnn"]["h"],
        atol=1e-5,
    )
    assert probe._bound is not None
    twin = copy.deepcopy(probe)
    assert twin._bound is None and twin.inputs is not probe.inputs
    np.testing.assert_array_equal(twin.inputs, probe.inputs)
    with pytest.raises(TypeError, match="`probe`.*got None"):
        GateProbe(None)
    with pytest.raises(ValueError, match="`sample_batch`.*non-empty batch"):
        GateProbe(np.zeros((0, 5, 2)), argument="sample_batch")
    with pytest.raises(ValueError, match="`tokens`"):
        GateProbe(x, tokens=[["a"]])
    with pytest.raises(ValueError, match=r"`probe`.*shape \(None, 5, 2\)"):
        GateProbe(np.zeros((2, 5, 3))).prepare(model)
