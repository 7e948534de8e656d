"""The torch backend's loops of `lstm_apps.LSTM`: PyTorch's fused kernel for
the standard cell (`lstm_apps.cells._torch_fused`) and the direct loop for
every cell, against Keras's own loop.

`.ci/run` runs these in its torch stage (`KERAS_BACKEND=torch pytest -m
backend`); on the other backends they skip.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import lstm_apps
from lstm_apps.cells import _torch_fused

BACKEND = keras.backend.backend()

pytestmark = [
    pytest.mark.backend,
    pytest.mark.skipif(
        BACKEND != "torch", reason="torch._VF.lstm and the direct loop run on the torch backend"
    ),
]


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _outputs(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _run(layer, x, mask=None, initial_state=None, training=False):
    """The layer's outputs and d(sum of squares of all outputs)/d(weights, x)."""
    import torch

    x = torch.tensor(x, requires_grad=True)
    for v in layer.trainable_variables:
        v.value.grad = None
    kwargs = {"training": training}
    if mask is not None:
        kwargs["mask"] = mask
    if initial_state is not None:
        kwargs["initial_state"] = initial_state
    outs = _outputs(layer(x, **kwargs))
    sum(torch.sum(o**2) for o in outs).backward()
    grads = [_np(v.value.grad) for v in layer.trainable_variables] + [_np(x.grad)]
    return [_np(o) for o in outs], grads


def _pair(variant, options, x):
    """`lstm_apps.LSTM` and `keras.layers.RNN` of the same cell class, same weights."""
    ours = lstm_apps.LSTM(5, variant, **options)
    cell_options = {k: v for k, v in options.items() if k in ("dropout", "seed", "use_bias")}
    ref = keras.layers.RNN(
        lstm_apps.cells.create(variant, 5, **cell_options),
        **{k: v for k, v in options.items() if k not in cell_options},
    )
    ours(x)
    ref(x)
    rng = np.random.default_rng(3)
    weights = [rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in ours.get_weights()]
    ours.set_weights(weights)
    ref.set_weights(weights)
    return ours, ref


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts the calls that `torch._VF.lstm` ran (not the fallbacks)."""
    calls = []
    lstm = _torch_fused.lstm

    def spy(*args, **kwargs):
        result = lstm(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(_torch_fused, "lstm", spy)
    return calls


def _assert_same(a, b):
    for got, want in zip(a, b, strict=True):
        np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-5)


def _mask(kind):
    mask = np.ones((4, 9), bool)
    if kind == "right":
        mask[1, 6:] = False
        mask[2, 2:] = False
        mask[3, 1:] = False
    elif kind == "holes":
        mask[1, 3] = False
        mask[2, :4] = False  # left padding
    elif kind == "empty_row":
        mask[2, :] = False
    return mask


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(return_sequences=True, return_state=True),
        dict(return_sequences=True, go_backwards=True),
        dict(use_bias=False, return_state=True),
    ],
)
def test_fused_kernel_equals_keras_loop(options, fused_calls):
    x = np.random.default_rng(0).normal(size=(4, 9, 3)).astype("float32")
    ours, ref = _pair("standard", options, x)
    fused_calls.clear()
    got = _run(ours, x)
    assert fused_calls == [True]
    want = _run(ref, x)
    _assert_same(got[0], want[0])  # outputs and states
    _assert_same(got[1], want[1])  # gradients of the weights and the inputs
    # ... and it is keras.layers.LSTM's result (same weight layout).
    lstm = keras.layers.LSTM(5, **options)
    lstm(x)
    lstm.set_weights(ours.get_weights())
    _assert_same(got[0], _run(lstm, x)[0])


@pytest.mark.parametrize("kind", ["right", "holes", "empty_row"])
@pytest.mark.parametrize(
    "options",
    [
        dict(return_sequences=True, return_state=True),
        dict(return_sequences=True, zero_output_for_mask=True),
        dict(zero_output_for_mask=True, return_state=True),
        dict(go_backwards=True, return_sequences=True),
    ],
)
def test_fused_kernel_with_masks(kind, options, fused_calls):
    x = np.random.default_rng(1).normal(size=(4, 9, 3)).astype("float32")
    mask = _mask(kind)
    ours, ref = _pair("standard", options, x)
    fused_calls.clear()
    got = _run(ours, x, mask=mask)
    packed = kind == "right" and not options.get("go_backwards")
    assert fused_calls == [packed]  # the others fall back to the direct loop
    want = _run(ref, x, mask=mask)
    _assert_same(got[0], want[0])
    _assert_same(got[1], want[1])


def test_fused_kernel_with_initial_state_and_input_dropout(fused_calls):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    state = [rng.normal(size=(4, 5)).astype("float32") for _ in range(2)]
    options = dict(return_sequences=True, return_state=True, dropout=0.4, seed=5)
    ours, ref = _pair("standard", options, x)
    fused_calls.clear()
    got = _run(ours, x, mask=_mask("right"), initial_state=state, training=True)
    assert fused_calls == [True]
    want = _run(ref, x, mask=_mask("right"), initial_state=state, training=True)
    _assert_same(got[0], want[0])
    _assert_same(got[1], want[1])
    # Dropout really applied: the same layer at inference differs.
    assert np.abs(_run(ours, x, initial_state=state)[0][0] - got[0][0]).max() > 1e-3


def test_fused_kernel_applies_only_where_the_cell_is_the_kernel():
    def applies(variant="standard", training=False, unroll=False, **kwargs):
        return _torch_fused.applies(lstm_apps.cells.create(variant, 4, **kwargs), training, unroll)

    assert applies()
    assert applies(dropout=0.3, training=True)  # applied to the inputs first
    assert applies(recurrent_dropout=0.3, training=False)
    assert not applies(recurrent_dropout=0.3, training=True)
    assert not applies(unroll=True)
    assert not applies(activation="relu")
    assert not applies(recurrent_activation="hard_sigmoid")
    for variant in ("peephole", "coupled", "np", "nig", "fgr"):
        assert applies(variant) == (variant == "np")  # NP is the standard LSTM


def test_fused_kernel_trains_in_a_model(fused_calls):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 9, 3)).astype("float32")
    y = np.sum(x[:, :, :1], axis=1)
    model = keras.Sequential([keras.Input((9, 3)), lstm_apps.LSTM(8), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    fused_calls.clear()
    model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert fused_calls and all(fused_calls)
    assert model.evaluate(x, y, verbose=0) < before


@pytest.mark.parametrize("variant", ["peephole", "coupled", "fgr", "nog"])
@pytest.mark.parametrize(
    "options, mask_kind, with_state",
    [
        (dict(return_sequences=True, return_state=True), None, False),
        (dict(return_sequences=True, go_backwards=True), "holes", False),
        (dict(return_sequences=True, zero_output_for_mask=True), "right", True),
        (dict(return_state=True), "holes", True),
    ],
)
def test_direct_loop_equals_keras_loop(variant, options, mask_kind, with_state):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 9, 3)).astype("float32")
    ours, ref = _pair(variant, options, x)
    mask = _mask(mask_kind) if mask_kind else None
    state = None
    if with_state:
        state = [rng.normal(size=(4, size)).astype("float32") for size in ours.cell.state_size]
    got = _run(ours, x, mask=mask, initial_state=state)
    want = _run(ref, x, mask=mask, initial_state=state)
    _assert_same(got[0], want[0])
    _assert_same(got[1], want[1])


@pytest.mark.parametrize("variant", ["standard", "peephole"])
def test_stateful_training_on_torch(variant):
    # The state variables are assigned in place after each batch; training
    # across batches must not trip autograd, and must match a fresh layer
    # fed the kept states explicitly.
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    y = rng.normal(size=(4, 1)).astype("float32")
    layer = lstm_apps.LSTM(5, variant, stateful=True)
    model = keras.Sequential([keras.Input(batch_shape=(4, 6, 3)), layer, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    kept = [_np(state) for state in layer.states]
    plain = lstm_apps.LSTM(5, variant, return_state=True)
    plain(x)
    plain.set_weights(layer.get_weights())
    _, h, c = plain(x, initial_state=kept)
    model.layers[0](x)  # one more step of the stateful layer from the kept states
    np.testing.assert_allclose(_np(layer.states[0]), _np(h), atol=1e-5)
    np.testing.assert_allclose(_np(layer.states[1]), _np(c), atol=1e-5)
