"""The same-shape gradients of `lstm_apps.cells._tf_gradients` (TensorFlow graphs only)."""

from __future__ import annotations

import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

import lstm_apps
from lstm_apps import cells
from lstm_apps.cells._tf_gradients import same_shape_gradients
from tests.test_cells import _randomize

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="gradient overrides apply to TensorFlow graphs only",
)


def _randomized(layer, x, rng):
    layer(x)
    _randomize(layer, rng)
    return layer


def _eager_and_graph_grads(layer, x, signature):
    """d(sum(out * u))/d(weights, x), eagerly and in a graph traced with `signature`."""
    x = tf.constant(x)
    weights = [v.value for v in layer.trainable_variables]

    def grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x, training=True)
            out = tf.cast(out, "float32")
            loss = tf.reduce_sum(out * tf.sin(tf.range(out.shape[-1], dtype="float32")))
        return tape.gradient(loss, weights + [x])

    graph = tf.function(grads, input_signature=[signature])
    return grads(x), graph(x)


#: The cells of distinct structure (peepholes, coupled gates, the gate
#: recurrence's third state); the other variants drop a gate or an
#: activation from the same step.
_DISTINCT = ["standard", "peephole", "coupled", "fgr"]


@pytest.mark.parametrize(
    "name, units",
    # Every cell in the chunked loop (5 units); one step per iteration (70
    # units, the same step's ops in another loop) for the distinct ones.
    [(name, 5) for name in cells.names("lstm")] + [(name, 70) for name in _DISTINCT],
)
def test_graph_gradients_with_unknown_batch_match_eager(name, units):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 20, 4)).astype("float32")
    layer = _randomized(lstm_apps.LSTM(units, name, return_sequences=True), x, rng)
    eager, graph = _eager_and_graph_grads(layer, x, tf.TensorSpec((None, 20, 4)))
    assert len(eager) == len(layer.trainable_variables) + 1
    for want, got, what in zip(eager, graph, [v.path for v in layer.trainable_variables] + ["x"]):
        # Graph and eager kernels sum in different orders: float32 rounding
        # of the largest terms (|x grads| reach ~80 here) bounds the error.
        atol = 2e-5 + 5e-6 * float(np.abs(want.numpy()).max())
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=atol, rtol=1e-4, err_msg=what)


@pytest.mark.parametrize("name", ["peephole", "coupled"])
@pytest.mark.parametrize("units", [5, 70])
def test_graph_gradients_with_unknown_batch_match_eager_in_mixed_float16(name, units):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        rng = np.random.default_rng(5)
        x = rng.normal(size=(3, 20, 4)).astype("float32")
        layer = _randomized(lstm_apps.LSTM(units, name, return_sequences=True), x, rng)
        eager, graph = _eager_and_graph_grads(layer, x, tf.TensorSpec((None, 20, 4)))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for want, got in zip(eager, graph):
        assert got.dtype == want.dtype
        # float16 sums over 20 steps: allow a few units in the last place of
        # the largest entry.
        atol = 5e-3 * float(np.abs(want.numpy()).max())
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=atol, rtol=1e-2)


@pytest.mark.parametrize("name", ["peephole", "coupled", "fgr"])
def test_graph_gradients_in_keras_rnn_with_mask_match_eager(name):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 9, 4)).astype("float32")
    x[0, 6:] = 0.0
    x[2, 3:] = 0.0
    model = keras.Sequential(
        [keras.layers.Masking(), keras.layers.RNN(cells.get(name)(6), return_sequences=True)]
    )
    model = _randomized(model, x, rng)
    eager, graph = _eager_and_graph_grads(model, x, tf.TensorSpec((None, None, 4)))
    for want, got in zip(eager, graph):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5, rtol=1e-4)


def _loop_gradient_ops(layer, signature):
    """Op counts of the backward while-loop bodies of `layer`'s gradient graph."""

    @tf.function(input_signature=[signature])
    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(loss, layer.trainable_weights)

    library = grads.get_concrete_function().graph.as_graph_def().library
    counts = collections.Counter()
    for function in library.function:
        if "_grad_" in function.signature.name and "body" in function.signature.name:
            counts.update(node.op for node in function.node_def)
    assert counts, "no backward while loop found"
    return counts


def test_unknown_batch_backward_loop_has_no_broadcast_bookkeeping():
    unknown_batch = tf.TensorSpec((None, 30, 8))
    # Keras's own LSTM, for contrast: TensorFlow's gradients of its products
    # and sums reduce over broadcast axes found at run time.
    keras_lstm = keras.layers.LSTM(80)
    keras_lstm(np.zeros((2, 30, 8), "float32"))
    assert _loop_gradient_ops(keras_lstm, unknown_batch)["BroadcastGradientArgs"] >= 5
    for name in ("standard", "peephole", "coupled"):
        layer = lstm_apps.LSTM(80, name)  # 80 units: one step per loop iteration in training
        layer(np.zeros((2, 30, 8), "float32"))
        ops = _loop_gradient_ops(layer, unknown_batch)
        assert ops["BroadcastGradientArgs"] == 0, (name, ops)
        assert ops["Sum"] == 0 and ops["Reshape"] == 0, (name, ops)


@pytest.mark.parametrize(
    "y_shape",
    [(3,), (1, 3), ()],
    ids=["vector", "row", "scalar"],
)
def test_broadcast_operands_get_reduced_gradients(y_shape):
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(4, 3)).astype("float32"))
    y = tf.constant(rng.normal(size=y_shape).astype("float32"))

    def grads(x, y, override):
        # Symbolic gradients, as in the time loop's backward pass (a tape
        # outside a while loop records TensorFlow's own gradients).
        with same_shape_gradients(override):
            out = (x * y + y) * x + x - (y - x * x)
        return tf.gradients(tf.reduce_sum(out * out), [x, y])

    signature = [tf.TensorSpec((None, 3)), tf.TensorSpec(y_shape)]
    plain = tf.function(lambda x, y: grads(x, y, False), input_signature=signature)(x, y)
    overridden_fn = tf.function(lambda x, y: grads(x, y, True), input_signature=signature)
    overridden = overridden_fn(x, y)
    graph = overridden_fn.get_concrete_function().graph
    assert any(
        op.type == "Mul" and op.get_attr("_gradient_op_type") == b"LstmAppsSameShapeMul"
        for op in graph.get_operations()
        if "_gradient_op_type" in op.node_def.attr
    )
    for want, got in zip(plain, overridden):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_reimporting_the_module_keeps_the_registered_gradients():
    import importlib

    from lstm_apps.cells import _tf_gradients

    importlib.reload(_tf_gradients)  # registers the same op types again
    x = tf.constant([[1.0, 2.0]])
    w = tf.constant([[3.0, -4.0]])

    @tf.function
    def grad(x):
        # Symbolic gradients, as in the time loop's backward pass (a tape
        # outside a while loop records TensorFlow's own gradients).
        with _tf_gradients.same_shape_gradients(active=True):
            y = x * w
        return tf.gradients(tf.reduce_sum(y), x)[0]

    assert "LstmAppsSameShapeMul" in str(grad.get_concrete_function(x).graph.as_graph_def())
    np.testing.assert_allclose(grad(x).numpy(), w.numpy())


def test_eager_execution_is_untouched():
    assert tf.executing_eagerly()
    with same_shape_gradients():
        x = tf.constant([[1.0, 2.0]])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * tf.constant([3.0, 4.0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[3.0, 4.0]])


def test_inference_graphs_keep_tensorflows_gradients_and_export(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 12, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    model = keras.Sequential(
        [keras.Input((12, 3)), lstm_apps.LSTM(70, "peephole"), keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    # Training traced with an unknown batch size, then a SavedModel export,
    # which stores a gradient function for every op that has its own.
    model.fit(
        tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0, shuffle=False
    )
    inference = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec((None, 12, 3))
    )
    assert not any(
        "_gradient_op_type" in node.attr
        for function in inference.graph.as_graph_def().library.function
        for node in function.node_def
    )
    model.export(str(tmp_path / "exported"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(
        reloaded.serve(tf.constant(x)).numpy(), model.predict(x, verbose=0), atol=1e-5
    )
