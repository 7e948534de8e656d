"""Correctness of the cell family, on whichever Keras backend is active.

`.ci/run` runs this module under KERAS_BACKEND=tensorflow, jax and torch.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import lstm_apps
from lstm_apps import cells
from tests._reference import reference_name, run_reference, weights_of

pytestmark = pytest.mark.backend

#: The LSTM family (the cells `LSTMCellBase` configures); other families
#: registered beside it have their own test modules.
ALL = [name for name in cells.names() if isinstance(cells.create(name, 1), cells.LSTMCellBase)]
BACKEND = keras.backend.backend()


def _on_tensorflow_else(names, elsewhere):
    """`names` on TensorFlow, `elsewhere` on the other backends.

    For the tests of code paths that only TensorFlow runs in production
    (the chunked loop) and for the float64 gradient check, which TensorFlow
    runs strictly: on JAX and torch fewer cases show that the same code is
    backend-neutral, and keep `.ci/run`'s two extra stages short.
    """
    return list(names) if BACKEND == "tensorflow" else list(elsewhere)


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _randomize(layer, rng, scale=0.5):
    layer.set_weights([rng.normal(0, scale, w.shape).astype(w.dtype) for w in layer.get_weights()])


def _grads(layer, x, variables, training=False):
    """d(sum(out**2)) / d(variables), `out` the layer's (first) output, on the active backend."""

    def first(out):
        return out[0] if isinstance(out, (list, tuple)) else out

    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(first(layer(x, training=training))))
        return [_np(g) for g in tape.gradient(loss, [v.value for v in variables])]
    if BACKEND == "torch":
        for v in variables:
            v.value.grad = None
        loss = ops.sum(ops.square(first(layer(x, training=training))))
        loss.backward()
        return [_np(v.value.grad) for v in variables]
    if BACKEND == "jax":
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        def loss_fn(values):
            out, _ = layer.stateless_call(values, non_trainable, x, training=training)
            return ops.sum(ops.square(first(out)))

        grads = jax.grad(loss_fn)(trainable)
        index = {id(v): k for k, v in enumerate(layer.trainable_variables)}
        return [_np(grads[index[id(v)]]) for v in variables]
    raise NotImplementedError(BACKEND)


# --------------------------------------------------------------------------
# The standard cell is keras.layers.LSTM.


@pytest.mark.parametrize(
    "wrapper, masked, go_backwards",
    [
        # `lstm_apps.LSTM` runs its own loops (per backend), plain and with a
        # mask read backwards; in a plain `keras.layers.RNN`, Keras's loop
        # handles masks and direction and the cell only sees the steps.
        ("lstm_apps.LSTM", False, False),
        ("lstm_apps.LSTM", True, True),
        ("keras.layers.RNN", True, True),
    ],
)
def test_standard_equals_keras_lstm(wrapper, masked, go_backwards):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 7, 3)).astype("float32")
    mask = None
    if masked:
        mask = np.ones((4, 7), bool)
        mask[1, 5:] = False
        mask[2, 2:] = False
    kwargs = dict(return_sequences=True, return_state=True, go_backwards=go_backwards)
    ref = keras.layers.LSTM(5, **kwargs)
    if wrapper == "lstm_apps.LSTM":
        ours = lstm_apps.LSTM(5, variant="standard", **kwargs)
    else:
        ours = keras.layers.RNN(lstm_apps.StandardLSTMCell(5), **kwargs)
    ref.build(x.shape)
    ours.build(x.shape)
    _randomize(ref, rng)
    ours.set_weights(ref.get_weights())
    for got, want in zip(ours(x, mask=mask), ref(x, mask=mask)):
        np.testing.assert_allclose(_np(got), _np(want), atol=1e-5)

    # ... and the weights copied back the other way give the same again.
    _randomize(ours, rng)
    ref.set_weights(ours.get_weights())
    np.testing.assert_allclose(_np(ours(x)[0]), _np(ref(x)[0]), atol=1e-5)

    seq_ref = keras.layers.LSTM(5, return_sequences=True, go_backwards=go_backwards)
    seq_ours = lstm_apps.LSTM(5, return_sequences=True, go_backwards=go_backwards)
    seq_ref.build(x.shape)
    seq_ours.build(x.shape)
    seq_ours.set_weights(ours.get_weights())
    seq_ref.set_weights(ours.get_weights())
    g_ours = _grads(seq_ours, x, seq_ours.trainable_variables)
    g_ref = _grads(seq_ref, x, seq_ref.trainable_variables)
    for a, b in zip(g_ours, g_ref):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_standard_weight_layout_is_keras():
    x = np.zeros((2, 3, 6), "float32")
    ours, ref = lstm_apps.StandardLSTMCell(4), keras.layers.LSTMCell(4)
    keras.layers.RNN(ours).build(x.shape)
    keras.layers.RNN(ref).build(x.shape)
    assert [w.path.split("/")[-1] for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in ref.weights]
    # unit_forget_bias fills only the forget slice (i, f, c, o) with ones
    np.testing.assert_array_equal(_np(ours.bias), _np(ref.bias))
    assert _np(ours.bias)[4:8].tolist() == [1.0] * 4


@pytest.mark.parametrize("name", ["standard", "peephole", "coupled", "fgr"])
def test_step_adds_the_bias_after_the_recurrent_term_on_request(name):
    # The per-step loop projects x without the bias and lets `step` add it
    # after h R (Keras's order); both splits must give the same step.
    rng = np.random.default_rng(5)
    layer = lstm_apps.LSTM(4, name)
    layer.build((2, 3, 3))
    _randomize(layer, rng)
    cell = layer.cell
    x = ops.convert_to_tensor(rng.normal(size=(2, 3)).astype("float32"))
    states = [
        ops.convert_to_tensor(rng.normal(size=(2, size)).astype("float32"))
        for size in cell.state_size
    ]
    h_default, s_default, gates_default = cell.step(cell.project_inputs(x), states)
    h_late, s_late, gates_late = cell.step(
        cell.project_inputs(x, with_bias=False), states, add_bias=True
    )
    h_none, _, _ = cell.step(cell.project_inputs(x, with_bias=False), states)
    np.testing.assert_allclose(_np(h_late), _np(h_default), atol=1e-6)
    for a, b in zip(s_late, s_default):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6)
    assert sorted(gates_late) == sorted(gates_default)
    assert not np.allclose(_np(h_none), _np(h_default), atol=1e-3)


def test_peephole_with_zero_peepholes_is_standard():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 9, 4)).astype("float32")
    std = lstm_apps.LSTM(6, "standard", return_sequences=True)
    pee = lstm_apps.LSTM(6, "peephole", return_sequences=True, peephole_initializer="zeros")
    std.build(x.shape)
    pee.build(x.shape)
    _randomize(std, rng)
    want = _np(std(x))
    pee.set_weights(std.get_weights() + [np.zeros(6, "float32")] * 3)
    np.testing.assert_allclose(_np(pee(x)), want, atol=1e-6)
    pee.set_weights(std.get_weights() + [np.full(6, 0.5, "float32")] * 3)
    assert np.abs(_np(pee(x)) - want).max() > 1e-3


# --------------------------------------------------------------------------
# Every cell against the NumPy equations.


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("masked", [False, True])
def test_matches_numpy_reference(name, masked):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.ones((3, 6), bool)
    if masked:
        mask[0, 4:] = False
        mask[2, 1:] = False
    layer = lstm_apps.LSTM(5, name, return_sequences=True, return_state=True)
    layer.build(x.shape)
    _randomize(layer, rng)
    out, h, c, *rest = layer(x, mask=mask if masked else None)
    want_out, want_h, want_c = run_reference(
        name, weights_of(layer.cell), x.astype("float64"), mask=mask if masked else None
    )
    np.testing.assert_allclose(_np(out), want_out, atol=2e-5)
    np.testing.assert_allclose(_np(h), want_h, atol=2e-5)
    np.testing.assert_allclose(_np(c), want_c, atol=2e-5)
    assert len(rest) == (1 if name == "fgr" else 0)


@pytest.mark.parametrize("name", ["peephole", "coupled", "nig", "fgr"])
def test_plain_keras_rnn_matches_lstm_layer(name):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    ours = lstm_apps.LSTM(4, name, return_sequences=True, go_backwards=True)
    plain = keras.layers.RNN(cells.create(name, 4), return_sequences=True, go_backwards=True)
    ours.build(x.shape)
    plain.build(x.shape)
    _randomize(ours, rng)
    plain.set_weights(ours.get_weights())
    np.testing.assert_allclose(_np(plain(x)), _np(ours(x)), atol=1e-5)


def test_coupled_cell_structure():
    cell = lstm_apps.CoupledLSTMCell(4)
    keras.layers.RNN(cell)(np.zeros((1, 2, 3), "float32"))
    assert tuple(cell.kernel.shape) == (3, 12)
    assert tuple(cell.recurrent_kernel.shape) == (4, 12)
    assert tuple(cell.bias.shape) == (12,)
    # gate order f, c, o: unit_forget_bias fills the first block
    assert _np(cell.bias).tolist() == [1.0] * 4 + [0.0] * 8
    pcell = lstm_apps.CoupledLSTMCell(4, peephole=True)
    keras.layers.RNN(pcell)(np.zeros((1, 2, 3), "float32"))
    assert [w.path.split("/")[-1] for w in pcell.weights][3:] == [
        "forget_gate_peephole_weights",
        "output_gate_peephole_weights",
    ]


def test_constant_initializers_match_reference_and_keras():
    # As Keras's own LSTM tests: arange inputs and constant weights.
    x = np.arange(72).reshape((3, 6, 4)).astype("float32") / 72.0
    init = dict(
        kernel_initializer=keras.initializers.Constant(0.01),
        recurrent_initializer=keras.initializers.Constant(0.02),
        bias_initializer=keras.initializers.Constant(0.03),
    )
    ref = keras.layers.LSTM(3, return_sequences=True, **init)
    std = lstm_apps.LSTM(3, "standard", return_sequences=True, **init)
    standard = _np(std(x))
    np.testing.assert_allclose(standard, _np(ref(x)), atol=1e-6)
    for name in ["peephole", "coupled", "fgr", "noaf"]:
        layer = (
            lstm_apps.LSTM(
                3,
                name,
                return_sequences=True,
                peephole_initializer=keras.initializers.Constant(0.1),
                **init,
            )
            if name != "coupled"
            else lstm_apps.LSTM(3, name, return_sequences=True, **init)
        )
        got = _np(layer(x))
        want, _, _ = run_reference(name, weights_of(layer.cell), x.astype("float64"))
        np.testing.assert_allclose(got, want, atol=1e-6)
        assert not np.allclose(got, standard, atol=1e-4), name


@pytest.mark.parametrize(
    "name", _on_tensorflow_else(["peephole", "cifg", "fgr", "nog"], ["peephole", "fgr"])
)
def test_finite_difference_gradients(name):
    # The layer's gradients against central differences of the float64 NumPy
    # reference, at every weight: the reference is the function the layer
    # computes (checked here, and for every cell in
    # test_matches_numpy_reference), and it evaluates in microseconds where
    # each call of the layer runs (on JAX: compiles) a time loop.
    # A strict float64 check on TensorFlow. On JAX (float32 unless x64 is on
    # for the whole process) and torch (whose float64 forward pass here still
    # carries ~1e-7 relative noise), a float32 check with a looser bar.
    dtype, eps, atol, rtol = (
        ("float64", 1e-6, 1e-6, 1e-5) if BACKEND == "tensorflow" else ("float32", 1e-3, 2e-3, 2e-2)
    )
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 4, 3)).astype(dtype)
    layer = lstm_apps.LSTM(3, name, return_sequences=True, dtype=dtype)
    layer.build(x.shape)
    _randomize(layer, rng)
    weights = weights_of(layer.cell)

    def loss():
        return float(np.sum(run_reference(name, weights, x.astype("float64"))[0] ** 2))

    np.testing.assert_allclose(
        float(np.sum(_np(layer(x)).astype("float64") ** 2)), loss(), rtol=rtol * 1e-2
    )
    variables = layer.trainable_variables
    analytic = _grads(layer, x, variables)
    for var, grad in zip(variables, analytic, strict=True):
        value = weights[reference_name(var)]
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            f_plus = loss()
            value[index] = saved - eps
            f_minus = loss()
            value[index] = saved
            numeric = (f_plus - f_minus) / (2 * eps)
            assert abs(numeric - grad[index]) < atol + rtol * abs(numeric), (var.path, index)


# --------------------------------------------------------------------------
# Everywhere a user puts a Keras cell.


@pytest.mark.parametrize("name", ["standard", "peephole", "coupled", "fgr"])
def test_masking_from_embedding(name):
    tokens = np.array([[3, 4, 5, 0, 0], [6, 7, 0, 0, 0]])
    emb = keras.layers.Embedding(10, 4, mask_zero=True)
    layer = lstm_apps.LSTM(3, name)
    model = keras.Sequential([keras.Input((5,), dtype="int32"), emb, layer])
    out = _np(model(tokens))
    # masked steps are skipped: same as feeding only the unmasked prefix
    for row, length in [(0, 3), (1, 2)]:
        alone = _np(layer(emb(tokens[row : row + 1, :length])))
        np.testing.assert_allclose(out[row : row + 1], alone, atol=1e-6)


def test_return_state_stateful_and_unroll():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = lstm_apps.LSTM(4, "peephole", return_sequences=True, return_state=True)
    seq, h, c = layer(x)
    assert tuple(seq.shape) == (2, 6, 4) and tuple(h.shape) == tuple(c.shape) == (2, 4)
    np.testing.assert_allclose(_np(seq)[:, -1], _np(h), atol=1e-6)

    unrolled = lstm_apps.LSTM(4, "peephole", return_sequences=True, unroll=True)
    unrolled.build(x.shape)
    unrolled.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(unrolled(x)), _np(seq), atol=1e-5)

    stateful = lstm_apps.LSTM(4, "peephole", stateful=True)
    model = keras.Sequential([keras.Input(batch_shape=(2, 3, 3)), stateful])
    stateful.set_weights(layer.get_weights())
    first = model(x[:, :3])
    second = _np(model(x[:, 3:]))
    np.testing.assert_allclose(second, _np(h), atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(_np(model(x[:, :3])), _np(first), atol=1e-6)


def test_stacked_bidirectional_in_functional_sequential_subclassed():
    # The coupled and the peephole cell (without / with peepholes), each in
    # `lstm_apps.LSTM` and in a plain `keras.layers.RNN`, in the three kinds
    # of model: each trains (its loss falls over three updates).
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 5, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")

    inputs = keras.Input((5, 3))
    h = keras.layers.Bidirectional(lstm_apps.LSTM(4, "coupled", return_sequences=True))(inputs)
    h = keras.layers.RNN(cells.create("peephole", 4))(h)
    functional = keras.Model(inputs, keras.layers.Dense(1)(h))

    sequential = keras.Sequential(
        [
            keras.Input((5, 3)),
            lstm_apps.LSTM(4, "peephole", return_sequences=True),
            lstm_apps.LSTM(4, "coupled"),
            keras.layers.Dense(1),
        ]
    )

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = keras.layers.Bidirectional(keras.layers.RNN(cells.create("coupled", 4)))
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.rnn(inputs))

    for model in (functional, sequential, Sub()):
        model.compile(optimizer="adam", loss="mse")
        # One batch an epoch: each epoch's loss is the loss before its update.
        losses = model.fit(x, y, epochs=4, batch_size=8, verbose=0).history["loss"]
        assert losses[-1] < losses[0], (type(model).__name__, losses)


@pytest.mark.parametrize("wrapper", ["lstm_apps.LSTM", "keras.layers.RNN"])
def test_dropout_mask_fixed_across_time(wrapper):
    units = 16
    cell_kwargs = dict(
        dropout=0.5,
        kernel_initializer="zeros",
        recurrent_initializer="zeros",
        unit_forget_bias=False,
        seed=7,
    )
    if wrapper == "lstm_apps.LSTM":
        layer = lstm_apps.LSTM(units, return_sequences=True, **cell_kwargs)
        cell = layer.cell
    else:
        cell = lstm_apps.StandardLSTMCell(units, **cell_kwargs)
        layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.ones((8, 12, units), "float32")
    layer.build(x.shape)
    kernel = np.zeros((units, 4 * units), "float32")
    kernel[:, 2 * units : 3 * units] = np.eye(units)  # block input g = x
    cell.kernel.assign(kernel)
    out = _np(layer(x, training=True))
    dropped = np.all(out == 0.0, axis=1)  # (batch, units): zero at every step
    kept = np.all(out != 0.0, axis=1)
    assert np.all(dropped | kept), "a unit was dropped at some steps only"
    assert dropped.any() and kept.any()
    assert np.all(_np(layer(x, training=False)) != 0.0)


def test_recurrent_dropout_trains_and_is_off_at_inference():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    layer = lstm_apps.LSTM(8, "peephole", recurrent_dropout=0.4, dropout=0.2, seed=3)
    plain = lstm_apps.LSTM(8, "peephole")
    layer.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(_np(layer(x, training=False)), _np(plain(x)), atol=1e-6)
    assert np.abs(_np(layer(x, training=True)) - _np(plain(x))).max() > 1e-3


def test_mixed_float16():
    # The four cells of distinct structure stacked in one model: one fit.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        rng = np.random.default_rng(9)
        x = rng.normal(size=(8, 5, 3)).astype("float32")
        layers = [
            lstm_apps.LSTM(3, name, return_sequences=True)
            for name in ("standard", "peephole", "coupled", "fgr")
        ]
        model = keras.Sequential(
            [keras.Input((5, 3)), *layers, keras.layers.Dense(1, dtype="float32")]
        )
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, rng.normal(size=(8, 5, 1)), epochs=1, verbose=0)
        for layer in layers:
            name = layer.cell.__class__.__name__
            assert keras.backend.standardize_dtype(layer(x).dtype) == "float16", name
            assert all(w.dtype == "float32" for w in layer.weights), name
        assert np.all(np.isfinite(_np(model(x))))
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --------------------------------------------------------------------------
# Configuration, names and errors.


@pytest.mark.parametrize("name", ALL)
def test_config_round_trip(name):
    layer = lstm_apps.LSTM(
        3,
        name,
        dropout=0.1,
        recurrent_dropout=0.2,
        activation="relu",
        kernel_regularizer="l2",
        seed=5,
        return_sequences=True,
        go_backwards=True,
    )
    clone = lstm_apps.LSTM.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    cell = cells.create(name, 3, unit_forget_bias=False, use_bias=False)
    cell_clone = type(cell).from_config(cell.get_config())
    assert cell_clone.get_config() == cell.get_config()
    assert cell_clone.spec == cell.spec
    assert "units" in cell.get_config() and "seed" in cell.get_config()


def test_full_keras_argument_list():
    import inspect

    keras_args = set(inspect.signature(keras.layers.LSTMCell.__init__).parameters) - {
        "self",
        "kwargs",
    }
    for klass in (
        lstm_apps.StandardLSTMCell,
        lstm_apps.PeepholeLSTMCell,
        lstm_apps.CoupledLSTMCell,
    ):
        ours = klass(2)
        ref = keras.layers.LSTMCell(2)
        for arg in keras_args:
            assert arg in ours.get_config(), (klass.__name__, arg)
            if arg in ("activation", "recurrent_activation"):
                continue
            assert ours.get_config()[arg] == ref.get_config()[arg], (klass.__name__, arg)


def test_names_and_lookup():
    assert cells.names()[:3] == ["standard", "peephole", "coupled"]
    assert {"nig", "nfg", "nog", "niaf", "noaf", "np", "cifg", "fgr"} <= set(cells.names())
    assert cells.get("PEEPHOLE") is lstm_apps.PeepholeLSTMCell
    assert cells.get("cifg")(2).spec == lstm_apps.CoupledLSTMCell(2, peephole=True).spec
    assert cells.get("np")(2).spec == lstm_apps.StandardLSTMCell(2).spec
    with pytest.raises(ValueError, match=r"argument `name`.*'standard'.*'fgr'.*got 'lstm2'"):
        cells.get("lstm2")
    with pytest.raises(ValueError, match=r"argument `variant`.*got 'xyz'"):
        lstm_apps.VariantLSTMCell(2, variant="xyz")
    with pytest.raises(
        ValueError, match=r"argument `variant`, expected one of \[.*'coupled'.*got 'nope'"
    ):
        lstm_apps.LSTM(2, variant="nope")
    with pytest.raises(ValueError, match=r"argument `variant`.*got 3"):
        lstm_apps.LSTM(2, variant=3)


def test_layer_exposes_the_cell_arguments():
    layer = lstm_apps.LSTM(4, "peephole", dropout=0.2, recurrent_dropout=0.1, seed=3)
    assert layer.dropout == 0.2 and layer.recurrent_dropout == 0.1 and layer.seed == 3
    assert layer.activation is layer.cell.activation is keras.activations.tanh
    assert layer.peephole_initializer is layer.cell.peephole_initializer
    assert layer.use_bias and layer.unit_forget_bias and layer.units == 4
    assert lstm_apps.LSTM(4, "coupled", peephole=True).peephole is True
    reference = keras.layers.LSTM(4)
    keras_names = [
        "activation",
        "recurrent_activation",
        "use_bias",
        "kernel_initializer",
        "recurrent_initializer",
        "bias_initializer",
        "unit_forget_bias",
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
        "dropout",
        "recurrent_dropout",
    ]
    for name in keras_names:
        assert hasattr(reference, name)
        assert getattr(layer, name) is getattr(layer.cell, name), name


def test_layer_checks_features_and_dtype_before_the_loop():
    layer = lstm_apps.LSTM(4)
    layer(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(
        ValueError, match=r"built for 3 features per step, got 5 \(input shape \(2, 5, 5\)\)"
    ):
        layer(np.zeros((2, 5, 5), "float32"))
    model = keras.Sequential([keras.Input((None, 3)), lstm_apps.LSTM(4, "coupled")])
    with pytest.raises(ValueError, match="built for 3 features per step, got 4"):
        model(np.zeros((2, 6, 4), "float32"))
    with pytest.raises(
        TypeError, match=r"argument `sequences`.*expected a numeric tensor.*got dtype str"
    ):
        lstm_apps.LSTM(4)(np.full((2, 5, 3), "a"))
    assert tuple(layer(np.zeros((2, 5, 3), "int32")).shape) == (2, 4)  # ints are cast


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(units=0), ValueError, r"`units`, expected a positive integer, got 0"),
        (dict(units=-3), ValueError, r"`units`.*got -3"),
        (dict(units=2.5), ValueError, r"`units`.*got 2.5\."),
        (dict(units="8"), ValueError, r"`units`.*got '8'\."),
        (dict(units=True), ValueError, r"`units`.*got True"),
        (
            dict(units=4, dropout=1.0),
            ValueError,
            r"`dropout`, expected a float in \[0, 1\), got 1.0",
        ),
        (dict(units=4, dropout=-0.1), ValueError, r"`dropout`.*got -0.1"),
        (dict(units=4, recurrent_dropout=1.5), ValueError, r"`recurrent_dropout`.*got 1.5"),
        (dict(units=4, dropout="x"), TypeError, r"`dropout`.*got 'x'\."),
        (dict(units=4, activation="swishy"), ValueError, r"`activation`.*got 'swishy'"),
        (dict(units=4, recurrent_activation="nope"), ValueError, r"`recurrent_activation`.*'nope'"),
        (dict(units=4, kernel_initializer="bogus"), ValueError, r"`kernel_initializer`.*'bogus'"),
    ],
)
@pytest.mark.parametrize("klass", ["StandardLSTMCell", "PeepholeLSTMCell", "CoupledLSTMCell"])
def test_bad_arguments(klass, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        getattr(lstm_apps, klass)(**kwargs)


def test_non_3d_input():
    layer = lstm_apps.LSTM(3)
    with pytest.raises(
        ValueError, match=r"expected ndim=3, found ndim=2. Full shape received: \(4, 5\)"
    ):
        layer(np.zeros((4, 5), "float32"))
    with pytest.raises(ValueError, match=r"3-D.*received step input shape"):
        keras.layers.RNN(lstm_apps.PeepholeLSTMCell(3))(np.zeros((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match="`peephole`.*only the 'coupled'"):
        lstm_apps.LSTM(3, "standard", peephole=True)


# --------------------------------------------------------------------------
# Loops: `lstm_apps.LSTM` may run several steps per loop iteration (time
# chunking), or its one-step loop on transposed step tensors (feature-major);
# both are on by default on TensorFlow only, and must not change any result.


@pytest.fixture
def chunk_calls(monkeypatch):
    """Records the cell's loop calls, `steps` for a chunk and "fm" for a
    feature-major step; returns a function that selects the loop."""
    from lstm_apps.cells._base import LSTMCellBase
    from lstm_apps.layers import lstm as layers  # the module holding the loop settings

    calls = []
    chunk, feature_major = LSTMCellBase._call_chunk, LSTMCellBase._call_feature_major

    def chunk_spy(self, inputs, states, training, loop):
        calls.append(loop.steps)
        return chunk(self, inputs, states, training, loop)

    def feature_major_spy(self, inputs, states, training, loop):
        calls.append("fm")
        return feature_major(self, inputs, states, training, loop)

    monkeypatch.setattr(LSTMCellBase, "_call_chunk", chunk_spy)
    monkeypatch.setattr(LSTMCellBase, "_call_feature_major", feature_major_spy)

    def set_chunk(steps, min_steps=1, feature_major=False):
        monkeypatch.setattr(layers, "_MAX_TIME_CHUNK", steps)
        monkeypatch.setattr(layers, "_MIN_CHUNKED_STEPS", min_steps)
        monkeypatch.setattr(layers, "_FEATURE_MAJOR", feature_major)
        calls.clear()
        return calls

    return set_chunk


def _loop_cases(names, options, elsewhere):
    """`(name, options)` cases: on TensorFlow, options `k` with `names[k]`
    (a list of cell names); elsewhere, options `k` with the cell named
    `elsewhere[k]`, where there is one.

    The loops' handling of options (masks, direction, states, dropout) is
    the same code for every cell, which only brings its `step` and its
    number of states: each cell is paired with some of the options, not
    all. Only TensorFlow runs these loops in production; on JAX and torch a
    few cases show the same code is backend-neutral.
    """
    if BACKEND != "tensorflow":
        names = [[name] if name else [] for name in elsewhere]
    return [
        pytest.param(name, option, id=f"{name}-{k}")
        for k, option in enumerate(options)
        for name in names[k]
    ]


@pytest.mark.parametrize(
    "name, options",
    _loop_cases(
        # fgr, with its third state (the previous gates), under every options.
        [["standard", "fgr"], ["peephole", "fgr"], ["coupled", "fgr"]],
        [
            dict(),
            dict(return_sequences=True, go_backwards=True),
            dict(return_state=True, dropout=0.3, recurrent_dropout=0.2, seed=5),
        ],
        [None, "peephole", "peephole"],
    ),
)
def test_time_chunking_is_exact(name, options, chunk_calls):
    x = np.random.default_rng(11).normal(size=(3, 10, 4)).astype("float32")
    _assert_chunking_is_exact(name, options, chunk_calls, x, grads=True)


#: The loops compared, `(steps, feature_major)`, and the calls each must make.
_LOOPS = {(1, False): set(), (1, True): {"fm"}, (5, False): {5}}


def _assert_chunking_is_exact(name, options, chunk_calls, x, grads=False, **call_kwargs):
    """Keras's loop vs the feature-major loop vs five steps per iteration:
    same outputs (and gradients), each path really taken."""
    training = "dropout" in options
    results = {}
    for (steps, feature_major), expected in _LOOPS.items():
        layer = lstm_apps.LSTM(5, name, **options)
        layer.build(x.shape)
        layer.set_weights(_fixed_weights(layer))
        calls = chunk_calls(steps, feature_major=feature_major)
        out = layer(x, training=training, **call_kwargs)
        result = [_np(o) for o in (out if isinstance(out, (list, tuple)) else [out])]
        if grads:
            result += _grads(layer, x, layer.trainable_weights, training=training)
        assert set(calls) == expected
        results[steps, feature_major] = result
    for loop in list(_LOOPS)[1:]:
        for a, b in zip(results[1, False], results[loop], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


def _fixed_weights(layer):
    rng = np.random.default_rng(12)
    return [rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in layer.get_weights()]


def test_time_chunking_applies_only_where_it_is_exact_and_pays(chunk_calls):
    x = np.ones((2, 10, 3), "float32")
    calls = chunk_calls(5)
    lstm_apps.LSTM(4)(x)
    assert calls and set(calls) == {5}
    calls = chunk_calls(5)
    lstm_apps.LSTM(4)(np.ones((2, 7, 3), "float32"))  # 7 is prime: one step per iteration
    assert calls == []
    calls = chunk_calls(5, min_steps=20)
    lstm_apps.LSTM(4)(x)  # short sequences: one step per iteration
    assert calls == []
    calls = chunk_calls(5)
    lstm_apps.LSTM(4)(np.ones((2, 8, 3), "float32"))  # the largest divisor <= 5
    assert calls and set(calls) == {4}
    for layer in [lstm_apps.LSTM(4, unroll=True)]:
        calls = chunk_calls(5)
        layer(x)
        assert calls == []
    calls = chunk_calls(5)
    mask = np.ones((2, 10), bool)
    lstm_apps.LSTM(4)(x, mask=mask)
    assert calls and set(calls) == {5}
    calls = chunk_calls(5)
    # A given initial h: Keras outputs 0, not h, for leading masked steps.
    lstm_apps.LSTM(4)(x, mask=mask, initial_state=[np.ones((2, 4), "float32")] * 2)
    assert calls == []
    calls = chunk_calls(5)
    lstm_apps.LSTM(4, zero_output_for_mask=True)(
        x, mask=mask, initial_state=[np.ones((2, 4), "float32")] * 2
    )
    assert calls and set(calls) == {5}
    wide = lstm_apps.LSTM(65)
    calls = chunk_calls(5)
    wide(x, training=True)  # wide training loops stay unchunked
    assert calls == []
    wide(x, training=False)
    assert calls and set(calls) == {5}


def test_feature_major_loop_applies_where_it_is_exact(chunk_calls):
    x = np.ones((2, 10, 3), "float32")
    mask = np.ones((2, 10), bool)
    state = [np.ones((2, 4), "float32")] * 2
    calls = chunk_calls(1, feature_major=True)
    lstm_apps.LSTM(4)(x)
    assert set(calls) == {"fm"}
    calls.clear()
    lstm_apps.LSTM(4, unroll=True)(x, mask=mask)
    assert set(calls) == {"fm"}
    calls.clear()
    # A given initial h: Keras outputs 0, not h, for leading masked steps.
    lstm_apps.LSTM(4)(x, mask=mask, initial_state=state)
    assert calls == []
    lstm_apps.LSTM(4, zero_output_for_mask=True)(x, mask=mask, initial_state=state)
    assert set(calls) == {"fm"}
    calls = chunk_calls(5, feature_major=True)
    lstm_apps.LSTM(4)(x)  # chunking comes first
    assert set(calls) == {5}


@pytest.mark.parametrize(
    "name, options",
    _loop_cases(
        [["standard"], ["peephole", "coupled"], ["coupled"], ["peephole", "standard"], ["coupled"]],
        [
            dict(return_sequences=True),
            dict(return_sequences=True, go_backwards=True, return_state=True),
            dict(return_sequences=True, zero_output_for_mask=True),
            dict(zero_output_for_mask=True, initial_state=True),
            dict(go_backwards=True),
        ],
        [None, "peephole", None, "peephole", None],
    ),
)
def test_time_chunking_with_masks_is_exact(name, options, chunk_calls):
    options = dict(options)
    rng = np.random.default_rng(13)
    x = rng.normal(size=(4, 10, 3)).astype("float32")
    lengths = np.array([10, 7, 3, 1])
    mask = np.arange(10)[None, :] < lengths[:, None]  # right padding
    mask[3] = mask[3][::-1]  # and one left-padded row
    mask[1, 4] = False  # and a hole
    kwargs = {}
    if options.pop("initial_state", False):
        kwargs["initial_state"] = [rng.normal(size=(4, 5)).astype("float32")] * 2
    _assert_chunking_is_exact(name, options, chunk_calls, x, mask=mask, **kwargs)
