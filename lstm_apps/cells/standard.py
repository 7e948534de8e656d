"""The standard LSTM cell, weight-compatible with `keras.layers.LSTMCell`."""

from __future__ import annotations

import keras

from lstm_apps.cells._base import GateSpec, LSTMCellBase

__all__ = ["StandardLSTMCell"]


@keras.saving.register_keras_serializable(package="lstm_apps")
class StandardLSTMCell(LSTMCellBase):
    """The standard LSTM cell (Hochreiter & Schmidhuber 1997, with forget gate).

    Equations (Greff et al.'s "NP" variant, the LSTM of most libraries):

        i = sigma(x W_i + h R_i + b_i)
        f = sigma(x W_f + h R_f + b_f)
        g = tanh(x W_c + h R_c + b_c)
        o = sigma(x W_o + h R_o + b_o)
        c' = f * c + i * g
        h' = o * tanh(c')

    The weights have exactly the layout of `keras.layers.LSTMCell`: `kernel`
    `(input_dim, 4 * units)`, `recurrent_kernel` `(units, 4 * units)` and
    `bias` `(4 * units,)`, gate order i, f, c, o, so weights copy in both
    directions with `set_weights(get_weights())`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the block input and of the cell output.
            Default: hyperbolic tangent (`tanh`).
        recurrent_activation: Activation of the gates. Default: `sigmoid`.
        use_bias: Whether the layer uses a bias vector. Default: `True`.
        kernel_initializer: Initializer for `kernel`. Default:
            `"glorot_uniform"`.
        recurrent_initializer: Initializer for `recurrent_kernel`. Default:
            `"orthogonal"`.
        bias_initializer: Initializer for `bias`. Default: `"zeros"`.
        unit_forget_bias: If `True`, add 1 to the forget gate's bias at
            initialization (Jozefowicz et al. 2015). Default: `True`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers of the three weights. Default: `None`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints of the three weights. Default: `None`.
        dropout: Float in [0, 1). Fraction of the input units to drop, with
            one mask per sequence. Default: 0.
        recurrent_dropout: Float in [0, 1). Fraction of the recurrent units
            to drop, one mask per sequence. Default: 0.
        seed: Random seed for dropout (and for the chrono draw).
        chrono_t_max: `None`, or an integer >= 2: chrono initialisation
            (Tallec & Ollivier 2018) of the forget bias, log(U(1, T_max - 1)),
            and of the input bias, its negative (see `ChronoInitializer`);
            overrides `unit_forget_bias`. Default: `None`.
        gate_clamp: `None`, or gate name -> constant in [0, 1] at which the
            gate is held (e.g. `{"forget": 1.0}`); see
            `lstm_apps.gates.clamp_gates`. Default: `None`.
        gate_clamp_units: Unit indices that `gate_clamp` applies to
            (`None`: all units). Default: `None`.

    Call arguments:
        inputs: A 2-D tensor `(batch, features)`.
        states: `[h, c]`, each `(batch, units)`.
        training: Whether dropout is applied.

    Returns:
        `(h, [h, c])`.

    Example:

    >>> import numpy as np, keras
    >>> from lstm_apps.cells import StandardLSTMCell
    >>> layer = keras.layers.RNN(StandardLSTMCell(4), return_sequences=True)
    >>> tuple(layer(np.ones((2, 5, 3), "float32")).shape)
    (2, 5, 4)
    >>> cell = StandardLSTMCell(4, chrono_t_max=100)
    >>> cell.build((None, 3))
    >>> forget = np.asarray(cell.bias)[4:8]  # gate order i, f, c, o
    >>> bool(np.all((forget >= 0) & (forget <= np.log(99))))
    True
    """

    _spec = GateSpec()
