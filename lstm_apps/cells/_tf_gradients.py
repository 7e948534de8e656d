"""Lean gradients for the elementwise ops of a cell step in TensorFlow graphs.

When a model is traced with an unknown batch size (a `tf.data` pipeline
batched without `drop_remainder`, or the retrace Keras makes for a last,
smaller batch), every `Mul`, `AddV2` and `Sub` of the step multiplies or adds two
`(None, units)` tensors. TensorFlow's gradients for these ops cannot tell
statically that the two shapes are equal, so for each op they compute both
shapes in the forward loop and keep them for every step, then run a
`BroadcastGradientArgs` and a `Sum` and `Reshape` per operand in every
backward step. In a step that is 11 extra ops per product or sum, where the
useful work is one or two ops.

In a cell step both operands of every product and sum are per-sample tensors
of the same shape by construction. Inside `same_shape_gradients()` those ops
get gradients that pass the incoming gradient through (`AddV2`), negate it
for the second operand (`Sub`) or multiply it by the other operand (`Mul`).
Where the static shapes of the operands differ (a broadcast `(units,)` vector
or scalar), the gradient reduces over the broadcast axes as TensorFlow's own
does.

Training speed relative to `keras.layers.LSTM` with an unknown batch size
(`benchmarks/bench_cells.py --feed dataset`, 2-core CPU; each cell with and
without these gradients in the same process, median of 3 processes for W1 and
2 for W2): W1 peephole 0.79 -> 0.94, standard 0.99 -> 1.03, coupled
1.06 -> 1.33; W2 peephole 0.91 -> 1.22, standard 1.25 -> 1.42, coupled
1.37 -> 1.66. The peephole cell's backward loop body has 87 ops instead of
174. With a known batch size TensorFlow already builds these gradients.

The cells use them in training calls (`training=True`, as in `fit`) traced
into a graph; inference, eager execution and the JAX and torch backends are
unaffected. TensorFlow applies such overrides where it builds gradients
symbolically: the backward pass of a while loop (the RNN's time loop) and
`tf.gradients`. A `GradientTape` recording ops outside a loop keeps
TensorFlow's own gradients.
"""

from __future__ import annotations

import contextlib
from typing import Any

import keras

__all__ = ["same_shape_gradients"]

_MUL = "LstmAppsSameShapeMul"
_ADD = "LstmAppsSameShapeAddV2"
_SUB = "LstmAppsSameShapeSub"

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    def _same_static_shape(x: Any, y: Any) -> bool:
        return x.shape.rank is not None and x.shape.as_list() == y.shape.as_list()

    def _unbroadcast(grads: Any, x: Any, y: Any) -> tuple[Any, Any]:
        """Reduce `grads = (dx, dy)` over the axes that broadcasting expanded."""
        gx, gy = grads
        sx, sy = tf.shape(x), tf.shape(y)
        rx, ry = tf.raw_ops.BroadcastGradientArgs(s0=sx, s1=sy)
        return (
            tf.reshape(tf.reduce_sum(gx, rx), sx),
            tf.reshape(tf.reduce_sum(gy, ry), sy),
        )

    def _register(op_type: str, operand_grads: Any) -> None:
        """Registers `op_type`'s gradient: `operand_grads(grad, x, y)`, reduced
        over broadcast axes where the operands' static shapes differ."""

        def _gradient(op: Any, grad: Any) -> tuple[Any, Any]:
            x, y = op.inputs
            grads = operand_grads(grad, x, y)
            return grads if _same_static_shape(x, y) else _unbroadcast(grads, x, y)

        try:
            tf.RegisterGradient(op_type)(_gradient)
        except KeyError:  # registered by an earlier import (importlib.reload)
            pass

    _register(_MUL, lambda grad, x, y: (grad * y, grad * x))
    _register(_ADD, lambda grad, x, y: (grad, grad))
    _register(_SUB, lambda grad, x, y: (grad, -grad))


def same_shape_gradients(active: bool = True) -> contextlib.AbstractContextManager[Any]:
    """Context in which new `Mul`/`AddV2`/`Sub` ops of a TensorFlow graph get
    the same-shape gradients above.

    A no-op unless `active`, eagerly, and on other backends. The cells turn
    it on for training calls only: a SavedModel (`model.export`) stores the
    gradient function of every op that has one of its own, and cannot store
    these, which read the op's inputs.
    """
    if not active or keras.backend.backend() != "tensorflow" or tf.executing_eagerly():
        return contextlib.nullcontext()
    return tf.compat.v1.get_default_graph().gradient_override_map(
        {"Mul": _MUL, "AddV2": _ADD, "Sub": _SUB}
    )
