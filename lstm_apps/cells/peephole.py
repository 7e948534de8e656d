"""The peephole LSTM cell of Gers & Schmidhuber (2000)."""

from __future__ import annotations

import keras

from lstm_apps.cells._base import GateSpec, LSTMCellBase

__all__ = ["PeepholeLSTMCell"]


@keras.saving.register_keras_serializable(package="lstm_apps")
class PeepholeLSTMCell(LSTMCellBase):
    """LSTM cell with diagonal peephole connections (Gers & Schmidhuber 2000).

    This is the "vanilla" LSTM of Greff et al. (2017): the input and forget
    gates see the previous cell state, the output gate sees the new one.

        i = sigma(x W_i + h R_i + p_i * c + b_i)
        f = sigma(x W_f + h R_f + p_f * c + b_f)
        g = tanh(x W_c + h R_c + b_c)
        c' = f * c + i * g
        o = sigma(x W_o + h R_o + p_o * c' + b_o)
        h' = o * tanh(c')

    `kernel`, `recurrent_kernel` and `bias` have the layout of
    `keras.layers.LSTMCell` (gate order i, f, c, o); the peepholes are three
    vectors of shape `(units,)` named `input_gate_peephole_weights`,
    `forget_gate_peephole_weights` and `output_gate_peephole_weights`, the
    names of TF 2.x's `tf.keras.experimental.PeepholeLSTMCell`, in that order
    after the three standard weights. With all three peepholes at zero the
    cell computes exactly the standard LSTM.

    Args:
        units: Positive integer, dimensionality of the output space.
        peephole_initializer: Initializer of the three peephole vectors.
            Default: `"glorot_uniform"` (what TF 2.x's `PeepholeLSTMCell` used,
            through its kernel initializer), uniform in about
            `+-sqrt(3 / units)`. Use `"zeros"` to start as a standard LSTM.
        peephole_regularizer: Regularizer of the peephole vectors.
        peephole_constraint: Constraint of the peephole vectors.
        chrono_t_max, gate_clamp, gate_clamp_units: As for
            `StandardLSTMCell` (chrono sets the forget and input biases).
        **kwargs: Every other argument of `keras.layers.LSTMCell`
            (`activation`, `recurrent_activation`, `use_bias`, the
            initializers, regularizers and constraints, `unit_forget_bias`,
            `dropout`, `recurrent_dropout`, `seed`), same defaults and meaning.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, c]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h, c])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import PeepholeLSTMCell
    >>> cell = PeepholeLSTMCell(4)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 5, 3), "float32")).shape)
    (2, 4)
    >>> [w.path.split("/")[-1] for w in cell.weights][3:]
    ['input_gate_peephole_weights', 'forget_gate_peephole_weights', 'output_gate_peephole_weights']
    """

    _spec = GateSpec(peepholes=("i", "f", "o"))
