"""xLSTM's sLSTM and mLSTM cells, on whichever Keras backend is active.

The references are float64 NumPy implementations written from the paper's
equations (Beck et al. 2024, section 2 and appendix A), independent of the
cells' code: the sLSTM with its heads' block-diagonal recurrent matrix built
out in full, the mLSTM with its matrix memory updated one step at a time.
Stateful use and training inside `Bidirectional` are tested here for every
cell of lstm_apps.cells.xlstm and lstm_apps.cells.min_rnn.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

import lstm_apps
from lstm_apps import cells
from lstm_apps.cells import MLSTMCell, ScanRNN, SLSTMCell
from lstm_apps.gates import trace_gates
from tests._reference import on_tensorflow_else, sigmoid

# The tests marked `backend` also run under JAX and torch (.ci/run); the
# others (training, saving, registration, tracing) exercise no backend-specific
# code of these cells and run on TensorFlow only, keeping those stages short.

#: The cells of lstm_apps.cells.xlstm and lstm_apps.cells.min_rnn, by name.
NEW_CELLS = ("slstm", "mlstm", "minlstm", "mingru")


def _np(x):
    return np.asarray(ops.convert_to_numpy(x))


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _randomized(cell, features, rng, scale=0.5):
    cell.build((None, features))
    cell.set_weights([rng.normal(0, scale, w.shape).astype("float32") for w in cell.get_weights()])
    return cell


def _predict(layer, x):
    """`layer(x)` through `Model.predict`: a compiled loop, fast over long sequences."""
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    return model.predict(x, batch_size=len(x), verbose=0)


def _weights(cell):
    """kernel, recurrent_kernel, bias of an sLSTM cell, as float64 arrays."""
    return (_np(w).astype(np.float64) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))


def slstm_reference(x, kernel, recurrent, bias, forget_gate="sigmoid"):
    """sLSTM with the stabiliser, float64: returns every h, and every (i', f', n, m)."""
    x = x.astype(np.float64)
    batch, steps, _ = x.shape
    _, heads, d, _ = recurrent.shape
    units = heads * d
    full = np.zeros((units, 4 * units))  # block-diagonal, gate blocks i, f, z, o
    for g in range(4):
        for k in range(heads):
            full[k * d : (k + 1) * d, g * units + k * d : g * units + (k + 1) * d] = recurrent[g, k]
    h = c = n = m = np.zeros((batch, units))
    hs, extra = [], []
    for t in range(steps):
        pre = x[:, t] @ kernel + h @ full + bias
        i_t, f_t, z_t, o_t = np.split(pre, 4, axis=-1)
        log_f = f_t if forget_gate == "exp" else _log_sigmoid(f_t)
        m_new = i_t if t == 0 else np.maximum(log_f + m, i_t)
        i_s, f_s = np.exp(i_t - m_new), np.exp(log_f + m - m_new)
        c = f_s * c + i_s * np.tanh(z_t)
        n = f_s * n + i_s
        h = sigmoid(o_t) * c / n
        m = m_new
        hs.append(h)
        extra.append((i_s, f_s, n, m))
    return np.stack(hs, axis=1), extra


def mlstm_reference(x, kernel, bias, heads, stabilised=True, forget_gate="sigmoid",
                    details=False):
    """mLSTM step by step, float64; without the stabiliser when `stabilised` is False.

    With `details`, also returns, per step, a dict of i', f', m (per head), the
    denominator (per head), o, v and the read-out C q (per unit), each stacked over
    time: `(h, {key: (batch, time, ...)})`.
    """
    x = x.astype(np.float64)
    batch, steps, _ = x.shape
    units = (kernel.shape[1] - 2 * heads) // 4
    d = units // heads
    c_mat = np.zeros((batch, heads, d, d))
    n = np.zeros((batch, heads, d))
    m = np.zeros((batch, heads))
    hs, extra = [], []
    for t in range(steps):
        pre = x[:, t] @ kernel + bias
        blocks = [pre[:, j * units : (j + 1) * units] for j in range(4)]
        q, k, v, o = (b.reshape(batch, heads, d) for b in blocks)
        k = k / np.sqrt(d)
        i_t, f_t = pre[:, 4 * units : 4 * units + heads], pre[:, 4 * units + heads :]
        log_f = f_t if forget_gate == "exp" else _log_sigmoid(f_t)
        if stabilised:
            m_new = np.maximum(log_f + m, i_t)
            i_g, f_g = np.exp(i_t - m_new), np.exp(log_f + m - m_new)
            floor = np.exp(-m_new)
            m = m_new
        else:
            i_g, f_g, floor = np.exp(i_t), np.exp(log_f), np.ones_like(i_t)
        c_mat = f_g[..., None, None] * c_mat + i_g[..., None, None] * (
            v[..., :, None] * k[..., None, :]
        )
        n = f_g[..., None] * n + i_g[..., None] * k
        num = np.einsum("bhvk,bhk->bhv", c_mat, q)
        den = np.maximum(np.abs(np.sum(n * q, axis=-1)), floor) + (1e-6 if stabilised else 0)
        h = sigmoid(o).reshape(batch, heads, d) * num / den[..., None]
        hs.append(h.reshape(batch, units))
        extra.append({"i": i_g, "f": f_g, "m": m, "n": den, "o": sigmoid(o).reshape(batch, units),
                      "g": v.reshape(batch, units), "c": num.reshape(batch, units)})
    if details:
        return np.stack(hs, axis=1), {k: np.stack([e[k] for e in extra], 1) for k in extra[0]}
    return np.stack(hs, axis=1)


@pytest.mark.backend
@pytest.mark.parametrize(
    "heads, forget_gate",
    on_tensorflow_else(
        [(1, "sigmoid"), (2, "sigmoid"), (1, "exp"), (2, "exp")], [(2, "sigmoid"), (1, "exp")]
    ),
)
def test_slstm_matches_numpy_reference(heads, forget_gate):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 10, 4)).astype("float32")
    cell = _randomized(SLSTMCell(6, num_heads=heads, forget_gate=forget_gate), 4, rng)
    kernel, recurrent, bias = _weights(cell)
    want, extra = slstm_reference(x, kernel, recurrent, bias, forget_gate)
    got = keras.layers.RNN(cell, return_sequences=True, return_state=True)(x)
    np.testing.assert_allclose(_np(got[0]), want, rtol=1e-4, atol=1e-5)
    _, f_s, n, m = extra[-1]
    np.testing.assert_allclose(_np(got[3]), n, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(got[4]), m, rtol=1e-4, atol=1e-5)


def test_slstm_heads_are_block_diagonal():
    """With two heads, the first head's outputs do not move when the second
    head's inputs do: the recurrent weights join units of one head only."""
    rng = np.random.default_rng(1)
    cell = SLSTMCell(4, num_heads=2)
    cell.build((None, 4))
    kernel = np.zeros((4, 16), "float32")
    for g in range(4):  # input features 0-1 feed head 0, features 2-3 head 1
        kernel[:2, g * 4 : g * 4 + 2] = rng.normal(size=(2, 2))
        kernel[2:, g * 4 + 2 : g * 4 + 4] = rng.normal(size=(2, 2))
    cell.kernel.assign(kernel)
    cell.recurrent_kernel.assign(rng.normal(size=(4, 2, 2, 2)).astype("float32"))
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = rng.normal(size=(2, 8, 4)).astype("float32")
    y = x.copy()
    y[:, :, 2:] = rng.normal(size=(2, 8, 2))
    a, b = _np(layer(x)), _np(layer(y))
    np.testing.assert_allclose(a[..., :2], b[..., :2], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a[..., 2:], b[..., 2:])


@pytest.mark.backend
@pytest.mark.parametrize(
    "heads, forget_gate",
    on_tensorflow_else([(1, "sigmoid"), (2, "sigmoid"), (2, "exp")], [(2, "exp")]),
)
def test_mlstm_matches_numpy_reference_stabilised_or_not(heads, forget_gate):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 10, 4)).astype("float32")
    cell = _randomized(MLSTMCell(6, num_heads=heads, forget_gate=forget_gate), 4, rng)
    kernel, bias = (w.astype(np.float64) for w in cell.get_weights())
    want = mlstm_reference(x, kernel, bias, heads, forget_gate=forget_gate)
    # The stabiliser changes nothing but the scale the states are kept at
    # (up to the reference implementation's eps).
    unstabilised = mlstm_reference(x, kernel, bias, heads, False, forget_gate)
    np.testing.assert_allclose(unstabilised, want, rtol=1e-4)
    stepped = keras.layers.RNN(cell, return_sequences=True)(x)
    parallel = ScanRNN(cell, return_sequences=True)(x)
    np.testing.assert_allclose(_np(stepped), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(parallel), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("heads", [1, 2])
def test_matches_the_xlstm_package_with_copied_weights(heads):
    """Against NX-AI's reference code (`pip install xlstm`, PyTorch; its
    pure-PyTorch "vanilla" sLSTM loop and stabilised parallel mLSTM, which
    need no GPU), where it is installed: the same weights in its layout."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("xlstm")
    from xlstm.blocks.mlstm.backends import parallel_stabilized_simple
    from xlstm.blocks.slstm.src.vanilla import slstm_forward, slstm_pointwise_function_registry

    rng = np.random.default_rng(8)
    x = rng.normal(size=(3, 12, 4)).astype("float32")
    batch, steps, _ = x.shape
    # sLSTM: the package's loop with its head-wise recurrent matrix R
    # (heads, 4 * d, d), gate order i, f, z, o as here.
    cell = _randomized(SLSTMCell(6, num_heads=heads), 4, rng, scale=1.0)
    kernel, recurrent, bias = _weights(cell)
    d = 6 // heads
    r = recurrent.transpose(1, 2, 0, 3).reshape(heads, d, 4 * d).transpose(0, 2, 1)
    wx = torch.from_numpy(np.einsum("bti,ig->tbg", x.astype(np.float64), kernel))
    states, _, _ = slstm_forward(
        wx, torch.zeros((4, batch, 6), dtype=torch.float64), torch.from_numpy(r.copy()),
        torch.from_numpy(bias), slstm_pointwise_function_registry["slstm"],
    )
    want = states[0, 1:].numpy().transpose(1, 0, 2)  # h of every step, (batch, time, units)
    got = keras.layers.RNN(cell, return_sequences=True)(x)
    np.testing.assert_allclose(_np(got), want, rtol=1e-4, atol=1e-5)
    # mLSTM: the package's parallel form gives h~; the output gate multiplies it.
    cell = _randomized(MLSTMCell(6, num_heads=heads), 4, rng, scale=1.0)
    kernel, bias = (w.astype(np.float64) for w in cell.get_weights())
    pre = x.astype(np.float64) @ kernel + bias
    q, k, v, o = (
        pre[..., j * 6 : (j + 1) * 6].reshape(batch, steps, heads, d).transpose(0, 2, 1, 3)
        for j in range(4)
    )
    gates = pre[..., 24:].reshape(batch, steps, 2, heads).transpose(2, 0, 3, 1)[..., None]
    h_tilde = parallel_stabilized_simple(
        *(torch.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v, gates[0], gates[1]))
    ).numpy()
    want = (sigmoid(o) * h_tilde).transpose(0, 2, 1, 3).reshape(batch, steps, 6)
    for layer in (keras.layers.RNN, ScanRNN):
        got = layer(cell, return_sequences=True)(x)
        np.testing.assert_allclose(_np(got), want, rtol=1e-4, atol=1e-5, err_msg=layer.__name__)


_MASK = np.ones((4, 9), bool)
_MASK[0, :3] = False
_MASK[1, 5:] = False
_MASK[2, 4] = False
_MASK[3, :] = False


@pytest.mark.backend
@pytest.mark.parametrize(
    "options",
    on_tensorflow_else(
        [
            {},
            {"go_backwards": True},
            {"mask": True},
            {"mask": True, "go_backwards": True},
            {"mask": True, "zero_output_for_mask": True},
            {"initial_state": True},
        ],
        [{"mask": True, "go_backwards": True}, {"initial_state": True}],
    ),
    ids=lambda o: "-".join(o) or "plain",
)
def test_mlstm_parallel_form_equals_recurrent_form(options):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    cell = _randomized(MLSTMCell(4, num_heads=2), 3, rng, scale=1.0)
    kwargs = dict(return_sequences=True, return_state=True)
    kwargs.update({k: v for k, v in options.items() if k not in ("mask", "initial_state")})
    call = {}
    if options.get("mask"):
        call["mask"] = _MASK
    if options.get("initial_state"):
        # A state the recurrent form reached: the parallel form resumes from it.
        start = rng.normal(size=(4, 5, 3)).astype("float32")
        warm = keras.layers.RNN(cell, return_state=True)(start)
        call["initial_state"] = list(warm[1:])
    want = keras.layers.RNN(cell, **kwargs)(x, **call)
    for layer in (ScanRNN(cell, **kwargs), lstm_apps.LSTM(4, "mlstm", num_heads=2, **kwargs)):
        if isinstance(layer, lstm_apps.LSTM):
            layer.build(x.shape)
            layer.cell.set_weights(cell.get_weights())
        got = layer(x, **call)
        for g, w in zip(got, want):
            np.testing.assert_allclose(_np(g), _np(w), rtol=1e-4, atol=1e-5)


def test_no_overflow_at_1000_steps_with_large_gate_preactivations():
    # TensorFlow only: 1,000 eager steps take a minute on torch and JAX; the
    # stabiliser's ops are the ones the `backend` tests check there.
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(2, 1000, 2)) * 10).astype("float32")
    slstm = _randomized(SLSTMCell(2), 2, rng, scale=5.0)  # gate pre-activations ~ +-70
    # Large gate pre-activations, moderate q, k, v, o (whose products alone
    # would make the float64 comparison ill-conditioned).
    mlstm = _randomized(MLSTMCell(2), 2, rng, scale=0.1)
    kernel = _np(mlstm.kernel).copy()
    kernel[:, 8:] = rng.normal(0, 10.0, kernel[:, 8:].shape)
    mlstm.kernel.assign(kernel)
    pre = np.abs(x.reshape(-1, 2) @ slstm.get_weights()[0])
    assert pre.max() > 100  # exp() of these overflows float32 without the stabiliser
    kernel, recurrent, bias = _weights(slstm)
    want, _ = slstm_reference(x, kernel, recurrent, bias)
    got = _predict(keras.layers.RNN(slstm, return_sequences=True), x)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    kernel, bias = (w.astype(np.float64) for w in mlstm.get_weights())
    want = mlstm_reference(x, kernel, bias, 1)
    layers = (keras.layers.RNN(mlstm, return_sequences=True), ScanRNN(mlstm, return_sequences=True))
    for layer in layers:
        got = _predict(layer, x)
        assert np.all(np.isfinite(got))
        # float32 against float64 over 1,000 steps: a few outputs differ by
        # ~1e-4 (torch, JAX); an error in the equations differs by O(1).
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", NEW_CELLS)
def test_training_bidirectional_with_dropout(name):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 6, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")
    heads = {"num_heads": 2} if name in ("slstm", "mlstm") else {}
    model = keras.Sequential(
        [
            keras.Input((6, 3)),
            keras.layers.Bidirectional(lstm_apps.LSTM(4, name, dropout=0.2, seed=1, **heads)),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert not np.allclose(before[0], model.get_weights()[0])
    assert tuple(model.predict(x, verbose=0).shape) == (8, 1)


@pytest.mark.backend
@pytest.mark.parametrize("name", on_tensorflow_else(NEW_CELLS, ["mlstm", "mingru"]))
def test_stateful_two_halves_equal_one_sequence(name):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    whole = lstm_apps.LSTM(4, name, return_sequences=True)
    want = _np(whole(x))
    stateful = lstm_apps.LSTM(4, name, return_sequences=True, stateful=True)
    stateful.build(x.shape)
    stateful.set_weights(whole.get_weights())
    got = np.concatenate([_np(stateful(x[:, :4])), _np(stateful(x[:, 4:]))], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_arguments_are_checked():
    divisor = r"argument `num_heads`, expected a divisor of `units` \(6\), got 4"
    with pytest.raises(ValueError, match=divisor):
        SLSTMCell(6, num_heads=4)
    choice = r"argument `forget_gate`, expected one of \['sigmoid', 'exp'\], got 'tanh'"
    with pytest.raises(ValueError, match=choice):
        MLSTMCell(4, forget_gate="tanh")
    with pytest.raises(ValueError, match="argument `recurrent_dropout`, expected 0 "):
        MLSTMCell(4, recurrent_dropout=0.2)


def test_registered_by_name():
    assert cells.names("xlstm") == ["slstm", "mlstm"]
    assert isinstance(cells.create("slstm", 4, num_heads=2), SLSTMCell)
    layer = lstm_apps.LSTM(8, variant="slstm", num_heads=4)
    assert tuple(layer(np.zeros((2, 3, 5), "float32")).shape) == (2, 8)
    assert layer.cell.num_heads == 4
    assert lstm_apps.LSTM.from_config(layer.get_config()).cell.num_heads == 4


def test_slstm_gate_trace_shows_stabilised_gates_normaliser_and_stabiliser():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 3)).astype("float32")
    inputs = keras.Input((7, 3))
    layer = lstm_apps.LSTM(4, "slstm", num_heads=2, return_sequences=True, name="rnn")
    model = keras.Model(inputs, layer(inputs))
    model.set_weights([rng.normal(0, 2.0, w.shape).astype("float32") for w in model.get_weights()])
    trace = lstm_apps.trace_gates(model, x)["rnn"]
    assert trace.cell == "slstm"
    assert list(trace.values) == ["i", "f", "o", "g", "n", "m", "c", "h"]
    np.testing.assert_allclose(trace["h"], _np(model(x)), rtol=1e-5, atol=1e-6)
    cell = layer.cell
    kernel, recurrent, bias = _weights(cell)
    _, extra = slstm_reference(x, kernel, recurrent, bias)
    i_s, f_s, n, m = (np.stack([e[k] for e in extra], axis=1) for k in range(4))
    for key, want in (("i", i_s), ("f", f_s), ("n", n), ("m", m)):
        np.testing.assert_allclose(trace[key], want, rtol=1e-4, atol=1e-5, err_msg=key)
    # In (0, 1]; f' also at the first step only once there is a state to forget.
    assert np.all((trace["i"] > 0) & (trace["i"] <= 1))
    assert np.all((trace["f"][:, 1:] > 0) & (trace["f"][:, 1:] <= 1))
    # The timescale view reads the stabilised forget gate f'.
    memory = trace.timescales()
    np.testing.assert_allclose(memory["forget_mean"], f_s.mean(axis=(0, 1)), rtol=1e-4)
    want_timescale, _ = lstm_apps.gates.memory_timescales(f_s.mean(axis=(0, 1)))
    np.testing.assert_allclose(memory["timescale"], want_timescale, rtol=1e-3)


#: What the trace of each cell beyond the LSTM family holds: keys, absent, computed.
TRACE_LAYOUT = {
    "mlstm": (["i", "f", "o", "g", "n", "m", "c", "h"], {}, {}),
    "minlstm": (["i", "f", "g", "c", "h"], {"o": 1.0}, {}),
    "mingru": (["i", "f", "g", "c", "h"], {"o": 1.0}, {"f": "1 - i"}),
}


def test_every_cell_of_the_family_is_traceable():
    from lstm_apps.gates import is_traceable
    from lstm_apps.recipes._common import gates_traceable

    for name in cells.names():
        assert is_traceable(cells.create(name, 2)), name
        assert gates_traceable(name), name
    assert not is_traceable(keras.layers.GRUCell(2)) and not gates_traceable("gru")


@pytest.mark.parametrize("name", ["mlstm", "minlstm", "mingru"])
def test_trace_of_the_parallel_cells_equals_the_layer_outputs(name):
    """h of the scanned layer, of both halves of a Bidirectional and of a
    go_backwards step loop, on a masked input (leading and trailing masks)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3, 7, 3)).astype("float32")
    x[1, 5:] = 0.0
    x[2, :2] = 0.0
    heads = {"num_heads": 2} if name == "mlstm" else {}
    inputs = keras.Input((7, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    scanned = lstm_apps.LSTM(4, name, return_sequences=True, name="rnn", **heads)(masked)
    both = keras.layers.Bidirectional(
        lstm_apps.LSTM(4, name, return_sequences=True, **heads), name="bi"
    )(masked)
    back = keras.layers.RNN(cells.create(name, 4, **heads), return_sequences=True,
                            go_backwards=True, name="back")(inputs)
    model = keras.Model(inputs, [scanned, both, back])
    model.set_weights([rng.normal(0, 0.7, w.shape).astype("float32")
                       for w in model.get_weights()])
    out_rnn, out_bi, out_back = model.predict_on_batch(x)
    trace = trace_gates(model, x)
    assert trace.keys == ["rnn", "bi", "bi/backward", "back/backward"]
    keys, absent, computed = TRACE_LAYOUT[name]
    mask = np.any(x != 0.0, axis=-1)
    for t, want in ((trace["rnn"], out_rnn), (trace["bi"], out_bi[..., :4]),
                    (trace["bi", "backward"], out_bi[..., 4:])):
        assert (t.cell, list(t.values), dict(t.absent), dict(t.computed)) == (
            name, keys, absent, computed)
        np.testing.assert_array_equal(t.mask, mask)
        for key, values in t.values.items():
            assert values.shape == (3, 7, 4) and values.dtype == np.float32, key
            assert np.isnan(values[~mask]).all() and np.isfinite(values[mask]).all(), key
        np.testing.assert_allclose(t["h"][mask], want[mask], rtol=1e-4, atol=1e-5,
                                   err_msg=t.key)
    t = trace["back"]
    assert t.go_backwards and t.mask.all()
    np.testing.assert_allclose(t["h"], out_back[:, ::-1], rtol=1e-4, atol=1e-5)
    # The status the tables show: absent o, the minGRU's computed f.
    summary = trace.summary()
    rows = summary[(summary.layer == "rnn") & (summary.direction == "forward")]
    status = dict(zip(rows.gate, rows.status))
    assert status["o"] == ("learned" if name == "mlstm" else "absent")
    assert status["f"] == ("computed" if name == "mingru" else "learned")
    assert status["c"] == status["h"] == "state"
    if absent:
        with pytest.raises(KeyError, match="absent, the cell uses the constant 1.0"):
            trace["rnn"]["o"]
    else:
        assert trace["rnn"]["o"].shape == (3, 7, 4)


@pytest.mark.parametrize("name", ["minlstm", "mingru"])
def test_min_cell_trace_holds_its_gates_and_recurrence(name):
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = lstm_apps.LSTM(5, name, return_sequences=True, name="rnn")
    model = keras.Sequential([keras.Input((6, 3)), layer])
    model.set_weights([rng.normal(0, 1.0, w.shape).astype("float32")
                       for w in model.get_weights()])
    t = trace_gates(model, x)["rnn"]
    kernel, bias = (_np(w).astype(np.float64) for w in (layer.cell.kernel, layer.cell.bias))
    z = x.astype(np.float64) @ kernel + bias
    if name == "minlstm":  # blocks f, i, h
        f, i = sigmoid(z[..., :5]), sigmoid(z[..., 5:10])
        want_f, want_i = f / (f + i), i / (f + i)
        candidate = z[..., 10:]
    else:  # blocks z, h
        want_i = sigmoid(z[..., :5])
        want_f, candidate = 1.0 - want_i, z[..., 5:]
    for key, want in (("f", want_f), ("i", want_i), ("g", candidate)):
        np.testing.assert_allclose(t[key], want, rtol=1e-4, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(t["f"] + t["i"], 1.0, atol=1e-6)
    # The state is h, and it follows h_t = f h_{t-1} + i g.
    np.testing.assert_array_equal(t["c"], t["h"])
    h_prev = np.concatenate([np.zeros_like(t["h"][:, :1]), t["h"][:, :-1]], axis=1)
    np.testing.assert_allclose(t["h"], t["f"] * h_prev + t["i"] * t["g"], rtol=1e-5, atol=1e-5)


def test_mlstm_trace_holds_per_head_gates_normaliser_and_stabiliser():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2, 6, 3)).astype("float32")
    layer = lstm_apps.LSTM(6, "mlstm", num_heads=3, return_sequences=True, name="rnn")
    model = keras.Sequential([keras.Input((6, 3)), layer])
    model.set_weights([rng.normal(0, 1.0, w.shape).astype("float32")
                       for w in model.get_weights()])
    t = trace_gates(model, x)["rnn"]
    kernel, bias = (_np(w).astype(np.float64) for w in (layer.cell.kernel, layer.cell.bias))
    h, want = mlstm_reference(x, kernel, bias, 3, details=True)
    np.testing.assert_allclose(t["h"], h, rtol=1e-4, atol=1e-5)
    for key in ("i", "f", "m", "n"):  # per head: each head's value on its 2 units
        np.testing.assert_allclose(t[key], np.repeat(want[key], 2, axis=-1), rtol=1e-4,
                                   atol=1e-5, err_msg=key)
        np.testing.assert_array_equal(t[key][..., 0::2], t[key][..., 1::2])
    for key in ("o", "g", "c"):
        np.testing.assert_allclose(t[key], want[key], rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(t["h"], t["o"] * t["c"] / t["n"], rtol=1e-5, atol=1e-6)
    assert np.all((t["i"] > 0) & (t["i"] <= 1) & (t["f"] > 0) & (t["f"] <= 1))
    # The timescale view reads the stabilised f', one per head.
    memory = t.timescales()
    forget = np.repeat(want["f"].mean(axis=(0, 1)), 2)
    np.testing.assert_allclose(memory["forget_mean"], forget, rtol=1e-4)
    np.testing.assert_allclose(memory["timescale"], 1.0 / (1.0 - forget), rtol=1e-3)


def test_mlstm_stuck_units_skip_the_stabilised_gates():
    # Zero kernel and every bias at 8: the input term sets the stabiliser at every
    # step (m = 8), so i' = 1 throughout by construction: not a stuck unit. The
    # output gate, sigmoid(8), and the constant h are.
    cell = MLSTMCell(4, num_heads=2, kernel_initializer="zeros",
                     bias_initializer=keras.initializers.Constant(8.0))
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.RNN(cell, name="rnn")])
    layer = trace_gates(model, np.random.default_rng(0).random((3, 6, 3)))["rnn"]
    np.testing.assert_allclose(layer.values["i"], 1.0)
    np.testing.assert_allclose(layer.values["m"], 8.0)
    assert layer.stuck_units() == {u: ["o > 0.9", "h constant"] for u in range(4)}


def test_cells_command_lists_the_new_cells(capsys):
    from lstm_apps.commands import cells as command

    assert command.run(None) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in ("slstm", "mlstm", "minlstm", "mingru"):
        assert sum(line.split()[0] == name for line in lines) == 1


def test_recipes_build_the_new_cells_by_name():
    from lstm_apps.recipes._common import recipe_cells, recurrent_stack

    classes = {"slstm": SLSTMCell, "mlstm": MLSTMCell, "minlstm": cells.MinLSTMCell,
               "mingru": cells.MinGRUCell}
    assert set(classes) <= set(recipe_cells())
    x = np.zeros((2, 5, 3), "float32")
    for name, klass in classes.items():
        stack = recurrent_stack(name.upper(), 4, layers=2, bidirectional=True)
        assert [type(layer.forward_layer.cell) for layer in stack] == [klass, klass]
        out = keras.Sequential([keras.Input((5, 3)), *stack])(x)
        assert tuple(out.shape) == (2, 8)
    # The cells without recurrent weights say why they refuse recurrent dropout.
    for name in ("mlstm", "minlstm", "mingru"):
        with pytest.raises(ValueError, match="has no recurrent weights to drop"):
            recurrent_stack(name, 4, recurrent_dropout=0.1)


def test_slstm_stuck_units_skip_the_stabilised_gates():
    # Zero weights and every bias at 8: the input term sets the stabiliser at every
    # step, so i' = 1 throughout, by construction: not a stuck unit. The output
    # gate, sigmoid(8), and the constant h are.
    cell = SLSTMCell(4, kernel_initializer="zeros", recurrent_initializer="zeros",
                     bias_initializer=keras.initializers.Constant(8.0))
    model = keras.Sequential([keras.Input((6, 3)), keras.layers.RNN(cell, name="rnn")])
    layer = trace_gates(model, np.random.default_rng(0).random((3, 6, 3)))["rnn"]
    assert float(np.nanmin(layer.values["i"])) == 1.0
    assert layer.stuck_units() == {u: ["o > 0.9", "h constant"] for u in range(4)}
