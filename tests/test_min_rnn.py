"""minLSTM / minGRU cells and their parallel scan, on whichever Keras backend is active.

Stateful use and training inside `Bidirectional` are tested with the xLSTM
cells, in test_xlstm.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import lstm_apps
from lstm_apps import cells
from lstm_apps.cells import MinGRUCell, MinLSTMCell, ScanRNN
from tests._reference import on_tensorflow_else, sigmoid

# The tests marked `backend` also run under JAX and torch (.ci/run); the
# others (training, saving, registration, tracing) exercise no backend-specific
# code of these cells and run on TensorFlow only, keeping those stages short.

NAMES = ("minlstm", "mingru")


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _reference(name, x, kernel, bias, h0=None):
    """The paper's sequential equations in float64 NumPy (identity candidate)."""
    x = x.astype(np.float64)
    units = kernel.shape[1] // (3 if name == "minlstm" else 2)
    h = np.zeros((x.shape[0], units)) if h0 is None else h0.astype(np.float64)
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + bias
        if name == "minlstm":
            f, i = sigmoid(z[:, :units]), sigmoid(z[:, units : 2 * units])
            h = f / (f + i) * h + i / (f + i) * z[:, 2 * units :]
        else:
            gate = sigmoid(z[:, :units])
            h = (1 - gate) * h + gate * z[:, units:]
        out.append(h)
    return np.stack(out, axis=1)


def _cell_with_weights(name, units, features, rng, scale=1.0):
    cell = cells.create(name, units)
    cell.build((None, features))
    cell.set_weights([rng.normal(0, scale, w.shape).astype("float32") for w in cell.get_weights()])
    return cell


@pytest.mark.backend
@pytest.mark.parametrize("name", NAMES)
def test_step_and_scan_match_numpy_reference(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 4)).astype("float32")
    h0 = rng.normal(size=(3, 5)).astype("float32")
    cell = _cell_with_weights(name, 5, 4, rng)
    kernel, bias = (w.astype(np.float64) for w in cell.get_weights())
    want = _reference(name, x, kernel, bias, h0)
    stepped = keras.layers.RNN(cell, return_sequences=True)(x, initial_state=[h0])
    scanned = ScanRNN(cell, return_sequences=True)(x, initial_state=[h0])
    np.testing.assert_allclose(_np(stepped), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(scanned), want, rtol=1e-5, atol=1e-5)


_MASK = np.ones((4, 9), bool)
_MASK[0, :3] = False  # leading masked steps
_MASK[1, 5:] = False  # trailing
_MASK[2, 4] = False  # one in the middle
_MASK[3, :] = False  # nothing processed


@pytest.mark.backend
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "options",
    on_tensorflow_else(
        [
            {},
            {"go_backwards": True},
            {"mask": True},
            {"mask": True, "go_backwards": True},
            {"mask": True, "zero_output_for_mask": True},
            {"mask": True, "initial_state": True},
        ],
        [
            {"mask": True, "go_backwards": True},
            {"mask": True, "zero_output_for_mask": True},
            {"mask": True, "initial_state": True},
        ],
    ),
    ids=lambda o: "-".join(o) or "plain",
)
def test_scan_equals_keras_step_loop(name, options):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    cell = _cell_with_weights(name, 4, 3, rng)
    kwargs = dict(return_sequences=True, return_state=True)
    kwargs.update({k: v for k, v in options.items() if k not in ("mask", "initial_state")})
    call = {}
    if options.get("mask"):
        call["mask"] = _MASK
    if options.get("initial_state"):
        call["initial_state"] = [rng.normal(size=(4, 4)).astype("float32")]
    want = keras.layers.RNN(cell, **kwargs)(x, **call)
    for layer in (ScanRNN(cell, **kwargs), lstm_apps.LSTM(4, name, **kwargs)):
        if isinstance(layer, lstm_apps.LSTM):
            layer.build(x.shape)
            layer.cell.set_weights(cell.get_weights())
        got = layer(x, **call)
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-5, atol=1e-5)


@pytest.mark.backend
@pytest.mark.parametrize("name", on_tensorflow_else(NAMES, ["minlstm"]))
def test_scan_gradients_equal_step_gradients(name):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    model_step = keras.Sequential([keras.Input((7, 3)), keras.layers.RNN(cells.create(name, 4))])
    model_scan = keras.Sequential([keras.Input((7, 3)), ScanRNN(cells.create(name, 4))])
    model_scan.set_weights(model_step.get_weights())
    initial = model_step.get_weights()
    y = rng.normal(size=(2, 4)).astype("float32")
    for model in (model_step, model_scan):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.train_on_batch(x, y)
    for a, b in zip(model_step.get_weights(), model_scan.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(initial[0], model_scan.get_weights()[0])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="argument `units`, expected a positive integer"):
        MinLSTMCell(0)
    with pytest.raises(ValueError, match="argument `recurrent_dropout`, expected 0 "):
        MinGRUCell(4, recurrent_dropout=0.1)
    with pytest.raises(TypeError, match="argument `use_bias`, expected a bool"):
        MinGRUCell(4, use_bias="yes")


def test_unit_forget_bias_initialises_the_keep_gates():
    lstm, gru = MinLSTMCell(3), MinGRUCell(3)
    lstm.build((None, 2))
    gru.build((None, 2))
    np.testing.assert_array_equal(_np(lstm.bias), [1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(_np(gru.bias), [-1, -1, -1, 0, 0, 0])


@pytest.mark.parametrize("name", [*NAMES, "mlstm"])
def test_unknown_sequence_length_in_a_compiled_model(name):
    """Traced with the time dimension unknown (`keras.Input((None, 3))`, as
    the forecasting models are), the parallel form still equals the step loop."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 11, 3)).astype("float32")
    x[0, :4] = 0.0  # masked by the Masking layer
    inputs = keras.Input((None, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    layer = lstm_apps.LSTM(5, name, return_sequences=True)
    model = keras.Model(inputs, layer(masked))
    stepped = keras.Model(inputs, keras.layers.RNN(layer.cell, return_sequences=True)(masked))
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, stepped.predict(x, verbose=0), rtol=1e-4, atol=2e-5)
